/**
 * What echoscp and storescp tell a person at the default log level (issue
 * 16, receivers; issue 11, the pipelined abort): one line when ready (where,
 * TCP or TLS, AE title, output folder), nothing for a health check (a
 * connection opened and closed without a PDU; debug level only), one line
 * per association when it ends (-v), one line of totals at SIGINT/SIGTERM,
 * and one error line for PDUs sent out of turn.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { encodePdu } from "../../lib/pdu/codec.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN, VERIFICATION_SOP_CLASS } from "../../lib/dicom/uids.ts";
import { associateRqBytes, cStoreRq, MR, pdata } from "../../testing/bad_peer.ts";
import { sharedTestPki, tlsArgs } from "../../testing/certs.ts";
import { writeImageFile } from "../../testing/dicom_files.ts";
import { type Background, runTool, show, startTool } from "../../testing/procs.ts";
import { withTempDir } from "../../testing/temp_files.ts";

const HOST = "127.0.0.1";

/** Runs `fn` against a server tool started with `args`; returns it stopped with `signal`. */
async function serving(
  tool: string,
  args: string[],
  fn: (port: number, proc: Background) => Promise<void>,
  signal: Deno.Signal = "SIGTERM",
): Promise<{ code: number; stderr: string; proc: Background }> {
  const { proc, port } = await startTool(tool, ["--bind", HOST, ...args]);
  try {
    await fn(port, proc);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const { code } = await proc.stop(signal);
  return { code, stderr: proc.stderr, proc };
}

/** Opens a TCP connection and closes it without a byte, as a load balancer's health check does. */
async function healthCheck(port: number): Promise<void> {
  const conn = await Deno.connect({ hostname: HOST, port });
  await new Promise((r) => setTimeout(r, 50));
  conn.close();
}

/** Waits (bounded) until the server has ended `n` connections (their --json events). */
async function connectionsEnded(proc: Background, n: number): Promise<void> {
  const ends = new Set(["association-released", "association-aborted", "connection-error"]);
  await proc.waitFor((p) => p.events().filter((e) => ends.has(String(e.type))).length >= n);
}

Deno.test("echoscp and storescp: one line when ready (TCP or TLS, AE title, folder), none with -q", async () => {
  const pki = await sharedTestPki();
  await withTempDir("scp_ready_", async (od) => {
    const echo = await serving("echoscp", [], async () => {});
    assert.match(
      echo.stderr.split("\n")[0],
      /^I: echoscp listening on 127\.0\.0\.1:\d+ \(TCP\), AE title ECHOSCP$/,
      echo.stderr,
    );
    const tls = await serving(
      "storescp",
      ["-aet", "ARCHIVE", "-od", od, ...tlsArgs(pki, pki.server)],
      async () => {},
    );
    assert.match(
      tls.stderr.split("\n")[0],
      new RegExp(
        `^I: storescp listening on 127\\.0\\.0\\.1:\\d+ \\(TLS\\), AE title ARCHIVE, storing ` +
          `into ${od.replaceAll(".", "\\.")}$`,
      ),
      tls.stderr,
    );
    const quiet = await serving("storescp", ["-q", "-od", od], async () => {});
    assert.equal(quiet.stderr, "", "-q: not a line");
  });
});

Deno.test("a health check (connect, close, no PDU) is no error: debug level only, on TCP and TLS ports", async () => {
  const pki = await sharedTestPki();
  for (const tls of [false, true]) {
    const extra = tls ? tlsArgs(pki, pki.server) : [];
    const quiet = await serving("echoscp", extra, async (port) => {
      await healthCheck(port);
      // A good echo after it: the check left nothing behind.
      const good = await runTool("echoscu", [
        ...(tls ? tlsArgs(pki, pki.client) : []),
        HOST,
        String(port),
      ]);
      assert.equal(good.code, 0, show(good));
    });
    const what = tls ? "TLS" : "TCP";
    assert.deepEqual(quiet.stderr.split("\n").filter((l) => /^[WEF]: /.test(l)), [], what);
    const debug = await serving("echoscp", ["-d", ...extra], async (port, proc) => {
      await healthCheck(port);
      await proc.waitFor((p) => /without a (PDU|TLS handshake)/.test(p.stderr));
    });
    assert.match(
      debug.stderr,
      tls
        ? /^D: Connection from 127\.0\.0\.1:\d+ closed without a TLS handshake$/m
        : /^D: Connection from 127\.0\.0\.1:\d+ closed without a PDU$/m,
      what,
    );
  }
});

Deno.test("storescp -v: one line per association when it ends; SIGINT and SIGTERM: one line of totals", async () => {
  await withTempDir("scp_totals_", async (dir) => {
    const od = `${dir}/od`;
    await Deno.mkdir(od);
    for (const i of [1, 2]) {
      await writeImageFile(`${dir}/in${i}.dcm`, {
        rows: 32,
        cols: 32,
        sopInstanceUid: `1.2.3.${i}`,
      });
    }
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const verbose = await serving("storescp", ["-v", "-od", od], async (port, proc) => {
        const r = await runTool("storescu", [
          HOST,
          String(port),
          `${dir}/in1.dcm`,
          `${dir}/in2.dcm`,
        ]);
        assert.equal(r.code, 0, show(r));
        await connectionsEnded(proc, 1);
        await healthCheck(port);
      }, signal);
      assert.equal(verbose.code, 0, verbose.stderr);
      const lines = verbose.stderr.split("\n");
      assert.equal(
        lines.filter((l) => / released after /.test(l)).length,
        1,
        "one line for the association, none for the health check",
      );
      assert.match(
        verbose.stderr,
        /^I: Association from STORESCU at 127\.0\.0\.1:\d+ released after \d+\.\d s: 2 requests, 2 stored \(0\.0 MB\), 0 failed$/m,
      );
      assert.match(
        lines.at(-2)!,
        /^I: Served 1 association in \d+(\.\d)? s: 2 requests, 2 stored \(0\.0 MB\), 0 failed$/,
        signal,
      );
      const ended = verbose.proc.events().find((e) => e.type === "association-ended");
      assert.deepEqual(
        {
          callingAeTitle: ended?.callingAeTitle,
          requests: ended?.requests,
          failed: ended?.failed,
          stored: ended?.stored,
          outcome: ended?.outcome,
        },
        { callingAeTitle: "STORESCU", requests: 2, failed: 0, stored: 2, outcome: "released" },
      );
      assert.equal((ended?.peer as { host: string }).host, HOST);
      assert.ok(Number(ended?.bytes) > 2 * 32 * 32 * 2, "bytes of both data sets");
    }
    // At the default level: the ready line and the totals, nothing per association.
    await Deno.remove(od, { recursive: true });
    await Deno.mkdir(od);
    const plain = await serving("storescp", ["-od", od], async (port) => {
      const r = await runTool("storescu", [HOST, String(port), `${dir}/in1.dcm`]);
      assert.equal(r.code, 0, show(r));
    });
    const lines = plain.stderr.split("\n");
    assert.equal(lines.length, 3, plain.stderr);
    assert.match(lines[0], /^I: storescp listening on /);
    assert.match(
      lines[1],
      /^I: Served 1 association in .*: 1 request, 1 stored \(0\.0 MB\), 0 failed$/,
    );
  });
});

Deno.test("PDUs sent out of turn (A-ASSOCIATE-RQ, P-DATA and A-RELEASE-RQ in one write): A-ABORT and one error line at the default level", async () => {
  const rq = associateRqBytes({
    contexts: [[VERIFICATION_SOP_CLASS, EXPLICIT_VR_LITTLE_ENDIAN], [
      MR,
      EXPLICIT_VR_LITTLE_ENDIAN,
    ]],
  });
  const store = pdata({ contextId: 3, command: true, last: true, data: cStoreRq("1.2.3.4") });
  const release = encodePdu({ type: "A-RELEASE-RQ" });
  await withTempDir("scp_pipelined_", async (od) => {
    const r = await serving("storescp", ["-od", od], async (port, proc) => {
      const reply = await new Promise<Uint8Array>((resolve) => {
        const got: number[] = [];
        const socket = net.connect({ host: HOST, port }, () => {
          socket.write(new Uint8Array([...rq, ...store, ...release]));
        });
        socket.on("data", (b: Uint8Array) => {
          got.push(...b);
          // The A-ABORT is in: close, as a peer does on receiving one.
          if (got.length >= 10) socket.destroy();
        });
        socket.on("close", () => resolve(new Uint8Array(got)));
        socket.on("error", () => {});
      });
      // PS3.8 Table 9-10: P-DATA-TF in Sta3 is AA-8, an A-ABORT (source 2, unexpected PDU).
      assert.deepEqual([...reply.subarray(-10)], [0x07, 0, 0, 0, 0, 4, 0, 0, 2, 2]);
      await connectionsEnded(proc, 1);
    });
    const errors = r.stderr.split("\n").filter((l) => /^[WEF]: /.test(l));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(
      errors[0],
      /^E: Association Aborted \(127\.0\.0\.1:\d+\): unexpected P-DATA-TF PDU in Sta3 /,
    );
  });
});
