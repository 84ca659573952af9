/**
 * Bad input to our echoscp over real TCP (docs/SECURITY_CLASSES.md #3, #9, #11):
 * non-DICOM traffic, lengths that would make us allocate, PDUs out of
 * order, truncated and slow-dripped requests. For each: the server answers
 * with an A-ABORT or closes, writes exactly one log line about it, and
 * serves the next good client. Also: concurrency and a clean SIGTERM.
 */
import assert from "node:assert/strict";
import { encodePdu } from "../../lib/pdu/codec.ts";
import { PduReader } from "../../lib/pdu/reader.ts";
import type { Pdu } from "../../lib/pdu/types.ts";
import { runEchoScu } from "../../lib/cli/echoscu/engine.ts";
import { buildAssociateRq, repeatedContexts } from "../../lib/ae/negotiation.ts";
import { IMPLICIT_VR_LITTLE_ENDIAN, VERIFICATION_SOP_CLASS } from "../../lib/dicom/uids.ts";
import { tlsClientHelloStart } from "../../testing/bad_peer.ts";
import { echoScuOptions } from "../../testing/echo_peers.ts";
import {
  type Background,
  dcmtkAvailable,
  runCommand,
  startTool,
  withTool,
} from "../../testing/procs.ts";

const HAVE_DCMTK = dcmtkAvailable();
const HOST = "127.0.0.1";

/** A valid A-ASSOCIATE-RQ for the Verification SOP Class. */
function associateRq(callingAeTitle = "BADINPUT"): Uint8Array {
  return encodePdu(buildAssociateRq({
    aeTitle: callingAeTitle,
    calledAeTitle: "ECHOSCP",
    maxPdu: 16384,
    presentationContexts: repeatedContexts(
      VERIFICATION_SOP_CLASS,
      [IMPLICIT_VR_LITTLE_ENDIAN],
      1,
    ),
  }));
}

/** PS3.8 Table 9-26 reasons an A-ABORT from the service provider may carry. */
const PROVIDER_REASONS = [0, 1, 2, 4, 5, 6];

/**
 * Reads what the server sends back until it closes, a whole A-ABORT PDU has
 * arrived, or `timeoutMs` passes; then closes our end. Returns the bytes.
 */
async function readReply(conn: Deno.Conn, timeoutMs: number): Promise<Uint8Array> {
  const got: number[] = [];
  const buf = new Uint8Array(4096);
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }, timeoutMs);
  try {
    for (;;) {
      // An A-ABORT is all we expect; once we have it the server waits for us to close (Sta13).
      if (got.length >= 10 && got[0] === 0x07) break;
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        break; // reset by the server, or closed by our timer
      }
      if (n === null) break;
      got.push(...buf.subarray(0, n));
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed by the timer.
    }
  }
  return new Uint8Array(got);
}

/** Asserts the reply is nothing (the server closed) or exactly one A-ABORT PDU. */
function assertAbortOrClose(reply: Uint8Array, what: string): void {
  if (reply.length === 0) return;
  const hex = [...reply].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  assert.equal(reply.length, 10, `${what}: one A-ABORT PDU expected, got ${hex}`);
  assert.deepEqual([...reply.subarray(0, 8)], [0x07, 0, 0, 0, 0, 4, 0, 0], `${what}: ${hex}`);
  const [source, reason] = [reply[8], reply[9]];
  // AA-1 (Sta2, PS3.8 Table 9-9) sends a service-user A-ABORT, reason not significant (0):
  // DCMTK's storescp answers a P-DATA-TF before association the same way. A provider
  // A-ABORT (AA-8) carries a Table 9-26 reason.
  const ok = (source === 0 && reason === 0) ||
    (source === 2 && PROVIDER_REASONS.includes(reason));
  assert.ok(ok, `${what}: A-ABORT source ${source} reason ${reason}`);
}

/** A good client after the bad one: DCMTK's echoscu when installed, else ours (in process). */
async function goodClientServed(port: number): Promise<void> {
  if (HAVE_DCMTK) {
    const r = await runCommand("echoscu", ["-v", HOST, String(port)], 20_000);
    assert.equal(r.code, 0, `DCMTK echoscu after bad input:\n${r.stderr}`);
    assert.match(r.stderr, /I: Received Echo Response \(Success\)/);
    return;
  }
  const result = await ourEcho(port, "GOOD");
  assert.equal(result.outcome, "success", JSON.stringify(result));
}

function ourEcho(port: number, aet: string, repeat = 1) {
  return runEchoScu(
    echoScuOptions(port, { callingAeTitle: aet, calledAeTitle: "ECHOSCP", repeat }),
  );
}

/** Runs `fn` against our echoscp (`-v --bind 127.0.0.1 --json`), always stopping it. */
async function withEchoscp(
  args: string[],
  fn: (port: number, scp: Background) => Promise<void>,
): Promise<void> {
  const scp = await withTool("echoscp", ["-v", ...args], fn);
  assert.equal(scp.code, 0, `echoscp exit code; stderr:\n${scp.stderr}`);
}

/** Events that end one connection without an association being served. */
const CONNECTION_ENDS = new Set([
  "connection-error",
  "association-aborted",
  "association-rejected",
]);

interface BadCase {
  name: string;
  /** Sends the bad input on a fresh connection (and may close its write side). */
  send: (conn: Deno.TcpConn) => Promise<void>;
  /** What the single log line must say. */
  line: RegExp;
}

const encoder = new TextEncoder();

const BAD_INPUTS: BadCase[] = [
  {
    name: "random bytes",
    send: async (c) => {
      // First byte 0x80 and up is no PDU type, whatever the rest.
      const bytes = crypto.getRandomValues(new Uint8Array(512));
      bytes[0] |= 0x80;
      await c.write(bytes);
    },
    line:
      /^E: Association Request Failed \(127\.0\.0\.1:\d+\): malformed PDU: unrecognized PDU type 0x[89a-f][0-9a-f]$/,
  },
  {
    name: "an HTTP GET",
    send: async (c) => {
      await c.write(encoder.encode("GET / HTTP/1.1\r\nHost: pacs\r\nUser-Agent: probe\r\n\r\n"));
    },
    line: /malformed PDU: unrecognized PDU type 0x47: looks like HTTP$/,
  },
  {
    name: "a TLS ClientHello",
    send: async (c) => {
      await c.write(tlsClientHelloStart());
    },
    line: /malformed PDU: unrecognized PDU type 0x16: looks like a TLS ClientHello/,
  },
  {
    name: "a PDU header claiming 0xFFFFFFFF bytes",
    send: async (c) => {
      await c.write(new Uint8Array([0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x01]));
    },
    line: /malformed PDU: A-ASSOCIATE-RQ PDU-length 4294967295 exceeds the A-ASSOCIATE limit/,
  },
  {
    name: "a P-DATA-TF header claiming 0xFFFFFFFF bytes",
    send: async (c) => {
      await c.write(new Uint8Array([0x04, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00]));
    },
    line: /Association Request Failed .*P-DATA-TF/,
  },
  {
    name: "an A-ASSOCIATE-RQ over 1 MiB declared",
    send: async (c) => {
      const rq = associateRq();
      new DataView(rq.buffer).setUint32(2, 1024 * 1024 + 1);
      await c.write(rq);
    },
    line:
      /malformed PDU: A-ASSOCIATE-RQ PDU-length 1048577 exceeds the A-ASSOCIATE limit of 1048576$/,
  },
  {
    name: "an A-ASSOCIATE-RQ truncated, then the connection closed",
    send: async (c) => {
      await c.write(associateRq().subarray(0, 40));
      await c.closeWrite();
    },
    line: /^E: Association Request Failed \(127\.0\.0\.1:\d+\): peer closed the connection/,
  },
  {
    name: "a P-DATA-TF before association",
    send: async (c) => {
      // P-DATA-TF, one PDV of 2 bytes on context 1, command, last.
      await c.write(new Uint8Array([0x04, 0, 0, 0, 0, 8, 0, 0, 0, 4, 1, 3, 0, 0]));
    },
    line: /^E: Association Request Failed \(127\.0\.0\.1:\d+\): unexpected P-DATA-TF PDU in Sta2/,
  },
  {
    name: "an A-RELEASE-RQ before association",
    send: async (c) => {
      await c.write(encodePdu({ type: "A-RELEASE-RQ" }));
    },
    line: /unexpected A-RELEASE-RQ PDU in Sta2/,
  },
];
// Connect, then close (a health check) is no error: it is logged at debug level only
// (issue 16), tested in tests/cli/scp_lines.test.ts.

for (const bad of BAD_INPUTS) {
  Deno.test(`echoscp, bad input: ${bad.name} -> A-ABORT or close, one log line, next served`, async () => {
    await withEchoscp(["-ta", "5"], async (port, scp) => {
      const linesBefore = scp.stderrLines().length;
      const endsBefore = scp.events().filter((e) => CONNECTION_ENDS.has(String(e.type))).length;
      const conn = await Deno.connect({ hostname: HOST, port });
      conn.setNoDelay(true);
      // The server may reset before taking every byte: what it answers is what counts.
      await bad.send(conn).catch(() => {});
      const reply = await readReply(conn, 8_000);
      assertAbortOrClose(reply, bad.name);
      // The connection's end is reported once (event) and logged once (stderr).
      await scp.waitFor(
        (b) => b.events().filter((e) => CONNECTION_ENDS.has(String(e.type))).length > endsBefore,
        10_000,
      );
      await scp.waitFor((b) => b.stderrLines().length > linesBefore, 5_000);
      await goodClientServed(port);
      const all = scp.stderrLines();
      const nextClient = all.findIndex((l, i) =>
        i >= linesBefore && l === "I: Association Received"
      );
      assert.ok(nextClient > 0, `the good client was received:\n${scp.stderr}`);
      const about = all.slice(linesBefore, nextClient);
      assert.equal(about.length, 1, `exactly one line about the bad input:\n${about.join("\n")}`);
      assert.match(about[0], bad.line);
      assert.equal(
        scp.events().filter((e) => CONNECTION_ENDS.has(String(e.type))).length,
        endsBefore + 1,
        "one connection-ending event",
      );
    });
  });
}

Deno.test("echoscp, bad input: every first byte that is no PDU type gets the same treatment", async () => {
  // The whole class, not one example: all 249 non-PDU first bytes, 16 connections at a time.
  const valid = new Set([1, 2, 3, 4, 5, 6, 7]);
  const firsts = Array.from({ length: 256 }, (_, i) => i).filter((b) => !valid.has(b));
  await withEchoscp(["-ta", "5"], async (port, scp) => {
    for (let i = 0; i < firsts.length; i += 16) {
      await Promise.all(
        firsts.slice(i, i + 16).map(async (first) => {
          const conn = await Deno.connect({ hostname: HOST, port });
          await conn.write(new Uint8Array([first, 0, 0, 0, 0, 4, 0, 0, 0, 0])).catch(() => {});
          assertAbortOrClose(await readReply(conn, 8_000), `first byte ${first}`);
        }),
      );
    }
    await scp.waitFor(
      (b) => b.events().filter((e) => e.type === "connection-error").length === firsts.length,
      15_000,
    );
    await goodClientServed(port);
    const errors = scp.stderrLines().filter((l) => /^[WEF]: /.test(l));
    assert.equal(errors.length, firsts.length, "one line per bad connection");
    assert.ok(
      errors.every((l) => /unrecognized PDU type 0x[0-9a-f]{2}/.test(l)),
      errors.join("\n"),
    );
  });
});

Deno.test("echoscp: a valid A-ASSOCIATE-RQ dripped one byte every 20 ms is still accepted", async () => {
  await withEchoscp([], async (port, scp) => {
    const conn = await Deno.connect({ hostname: HOST, port });
    conn.setNoDelay(true);
    try {
      const rq = associateRq("DRIP");
      for (const b of rq) {
        await conn.write(new Uint8Array([b]));
        await new Promise((r) => setTimeout(r, 20));
      }
      const ac = await readPdu(conn, 5_000);
      assert.equal(ac?.type, "A-ASSOCIATE-AC");
      // Release it properly: A-RELEASE-RQ, A-RELEASE-RP.
      await conn.write(encodePdu({ type: "A-RELEASE-RQ" }));
      const rp = await readPdu(conn, 5_000);
      assert.equal(rp?.type, "A-RELEASE-RP");
    } finally {
      conn.close();
    }
    const ev = await scp.waitForEvent((e) => e.type === "association-released");
    assert.ok(ev.peer);
    assert.equal(scp.stderrLines().filter((l) => /^[WEF]: /.test(l)).length, 0, scp.stderr);
    await goodClientServed(port);
  });
});

Deno.test("echoscp: a drip slower than -ta is cut off by ARTIM (one line), next served", async () => {
  await withEchoscp(["-ta", "1"], async (port, scp) => {
    const conn = await Deno.connect({ hostname: HOST, port });
    conn.setNoDelay(true);
    const t0 = performance.now();
    const rq = associateRq("SLOW");
    let closed = false;
    for (const b of rq) {
      try {
        await conn.write(new Uint8Array([b]));
      } catch {
        closed = true;
        break;
      }
      if (performance.now() - t0 > 5_000) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const reply = await readReply(conn, 5_000);
    assertAbortOrClose(reply, "slow drip");
    assert.ok(closed || reply.length === 0 || reply[0] === 0x07);
    const ev = await scp.waitForEvent((e) => e.type === "connection-error", 5_000);
    assert.match(String(ev.diagnosis), /ARTIM timeout: no A-ASSOCIATE-RQ within 1 s/);
    await goodClientServed(port);
    const errors = scp.stderrLines().filter((l) => /^[WEF]: /.test(l));
    assert.equal(errors.length, 1, scp.stderr);
  });
});

Deno.test("echoscp: 20 concurrent associations all succeed", async () => {
  await withEchoscp([], async (port, scp) => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => ourEcho(port, `SCU${i}`, 3)),
    );
    for (const r of results) assert.equal(r.outcome, "success", JSON.stringify(r));
    assert.equal(results.flatMap((r) => r.echoes).length, 60);
    await scp.waitFor(
      (b) => b.events().filter((e) => e.type === "association-released").length === 20,
      10_000,
    );
    const calling = scp.events()
      .filter((e) => e.type === "association-received")
      .map((e) => String(e.callingAeTitle))
      .sort();
    assert.deepEqual(calling, Array.from({ length: 20 }, (_, i) => `SCU${i}`).sort());
    assert.equal(scp.stderrLines().filter((l) => /^[WEF]: /.test(l)).length, 0, scp.stderr);
  });
});

Deno.test("echoscp: SIGTERM with an association open aborts it and exits 0 with a stopped event", async () => {
  const { proc, port } = await startTool("echoscp", ["-v", "--bind", HOST]);
  const conn = await Deno.connect({ hostname: HOST, port });
  try {
    await conn.write(associateRq("HOLDER"));
    assert.equal((await readPdu(conn, 5_000))?.type, "A-ASSOCIATE-AC");
    await proc.waitForEvent((e) => e.type === "association-accepted");
    // Like any DICOM peer, we close once we get the A-ABORT.
    const reply = readReply(conn, 10_000);
    const t0 = performance.now();
    const status = await proc.stop("SIGTERM");
    assert.ok(performance.now() - t0 < 10_000, "shutdown is prompt");
    assert.equal(status.code, 0, proc.stderr);
    assert.deepEqual([...await reply], [0x07, 0, 0, 0, 0, 4, 0, 0, 0, 0], "a service-user A-ABORT");
    const events = proc.events().map((e) => e.type);
    assert.equal(events.at(-1), "stopped");
    assert.ok(events.includes("association-aborted"), events.join(", "));
    assert.match(proc.stderr, /^I: Shutting down$/m);
    assert.equal(proc.stderrLines().filter((l) => /^[WEF]: /.test(l)).length, 0, proc.stderr);
  } finally {
    try {
      conn.close();
    } catch {
      // readReply closed it.
    }
    await proc.stop("SIGKILL");
  }
});

Deno.test("echoscp: SIGTERM with two peers that never close: both aborted at once, exit within -ta", async () => {
  const { proc, port } = await startTool("echoscp", ["--bind", HOST, "-ta", "2"]);
  const conns: Deno.TcpConn[] = [];
  try {
    for (const aet of ["STUBBORN1", "STUBBORN2"]) {
      const conn = await Deno.connect({ hostname: HOST, port });
      conns.push(conn);
      await conn.write(associateRq(aet));
      assert.equal((await readPdu(conn, 5_000))?.type, "A-ASSOCIATE-AC");
    }
    await proc.waitFor((b) =>
      b.events().filter((e) => e.type === "association-accepted").length === 2
    );
    const t0 = performance.now();
    const stopped = proc.stop("SIGTERM");
    // Neither peer waits for the other: both A-ABORTs come well before ARTIM (2 s).
    const aborts = await Promise.all(conns.map((c) => readPdu(c, 1_500)));
    assert.deepEqual(aborts, [
      { type: "A-ABORT", source: 0, reason: 0 },
      { type: "A-ABORT", source: 0, reason: 0 },
    ]);
    const status = await stopped;
    const ms = performance.now() - t0;
    assert.equal(status.code, 0, proc.stderr);
    assert.ok(ms < 8_000, `stopped after ${ms} ms`);
    assert.equal(proc.events().at(-1)?.type, "stopped");
  } finally {
    for (const c of conns) c.close();
    await proc.stop("SIGKILL");
  }
});

/** Reads one whole PDU (bounded), or null if the connection closed first. */
async function readPdu(conn: Deno.Conn, timeoutMs: number): Promise<Pdu | null> {
  const reader = new PduReader();
  const buf = new Uint8Array(4096);
  const end = Date.now() + timeoutMs;
  for (;;) {
    const item = reader.next();
    if (item) return item.pdu;
    const left = end - Date.now();
    if (left <= 0) throw new Error("timed out waiting for a PDU");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const n = await Promise.race([
      conn.read(buf),
      new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), left)),
    ]).finally(() => clearTimeout(timer));
    if (n === "timeout") throw new Error("timed out waiting for a PDU");
    if (n === null) return null;
    reader.push(buf.slice(0, n));
  }
}
