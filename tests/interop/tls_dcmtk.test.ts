/**
 * DICOM over TLS (PS3.15 Annex B) between our tools and DCMTK 3.6.7's, both
 * directions, echo and store: mutual TLS (both present certificates, -rc),
 * anonymous TLS (+tla against -vc / -ic), an encrypted key (+pw, +ps from
 * piped stdin), and our server refusing a client without a certificate
 * with a named log line, then serving the next good peer. Files sent are
 * compared element by element with what arrived.
 */
import assert from "node:assert/strict";
import { datasetDifferences } from "../../lib/dicom/dataset.ts";
import { newUid } from "../../lib/util/uid.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN } from "../../lib/dicom/uids.ts";
import { sharedTestPki as pki, type TestPki, tlsArgs } from "../../testing/certs.ts";
import { readPart10, writeImageFile } from "../../testing/dicom_files.ts";
import {
  type Background,
  dcmtkAvailable,
  type Finished,
  runCommand,
  runTool,
  show,
  startStorescp,
  withTool,
} from "../../testing/procs.ts";
import { listDir, withTempDir } from "../../testing/temp_files.ts";

const HAVE_DCMTK = dcmtkAvailable();
const HOST = "localhost";

/** Two small MR images in `<dir>/out`, with their instance UIDs. */
async function images(dir: string): Promise<{ path: string; uid: string }[]> {
  await Deno.mkdir(`${dir}/out`, { recursive: true });
  const out = [];
  for (const name of ["a.dcm", "b.dcm"]) {
    const uid = newUid();
    const path = `${dir}/out/${name}`;
    await writeImageFile(path, {
      rows: 64,
      cols: 64,
      ts: EXPLICIT_VR_LITTLE_ENDIAN,
      sopInstanceUid: uid,
    });
    out.push({ path, uid });
  }
  return out;
}

/** Every file sent arrived in `inDir` as MR.<uid>, equal element by element. */
async function assertArrived(files: { path: string; uid: string }[], inDir: string) {
  assert.deepEqual(
    (await listDir(inDir)).filter((f) => f.startsWith("MR.")).sort(),
    files.map((f) => `MR.${f.uid}`).sort(),
  );
  for (const f of files) {
    const sent = await readPart10(f.path);
    const got = await readPart10(`${inDir}/MR.${f.uid}`);
    assert.deepEqual(datasetDifferences(sent.dataset, got.dataset, sent.ts, got.ts), []);
  }
}

/** DCMTK's storescp with `args` (TLS options) writing into `<dir>/in`, stopped afterwards. */
async function withDcmtkScp(
  dir: string,
  args: string[],
  fn: (port: number, proc: Background) => Promise<void>,
): Promise<void> {
  await Deno.mkdir(`${dir}/in`, { recursive: true });
  const { proc, port } = await startStorescp(["-d", "-od", `${dir}/in`, ...args]);
  try {
    await fn(port, proc);
  } finally {
    await proc.stop();
  }
}

/**
 * echoscu, then storescu of `files`, over anonymous TLS (+tla, trusting our
 * CA) to `port`; `run` starts our tools (runTool) or DCMTK's (runCommand).
 * Both must succeed.
 */
async function anonymousEchoAndStore(
  run: (tool: string, args: string[]) => Promise<Finished>,
  p: TestPki,
  port: number,
  files: { path: string }[],
): Promise<void> {
  const peer = ["+tla", "+cf", p.ca, HOST, String(port)];
  const e = await run("echoscu", peer);
  assert.equal(e.code, 0, show(e));
  const s = await run("storescu", [...peer, ...files.map((f) => f.path)]);
  assert.equal(s.code, 0, show(s));
}

/** One of our servers with `-v` and `args`, stopped afterwards. */
const withOurScp = (
  tool: string,
  args: string[],
  fn: (port: number, proc: Background) => Promise<void>,
) => withTool(tool, ["-v", ...args], fn);

const tlsTest = (name: string, fn: (p: TestPki, dir: string) => Promise<void>) =>
  Deno.test({
    name,
    ignore: !HAVE_DCMTK,
    fn: () => withTempDir("dimse-tls-dcmtk-", async (dir) => fn(await pki(), dir)),
  });

// ---------------------------------------------------------------------------
// Our clients, DCMTK's storescp

tlsTest(
  "our echoscu +tls -> DCMTK storescp +tls: mutual TLS, both certificates verified",
  async (p, dir) => {
    await withDcmtkScp(dir, tlsArgs(p, p.server), async (port, scp) => {
      const r = await runTool("echoscu", [
        "-v",
        "--json",
        ...tlsArgs(p, p.client),
        HOST,
        String(port),
      ]);
      assert.equal(r.code, 0, show(r));
      const tls = JSON.parse(r.stdout.trimEnd().split("\n").pop()!).tls;
      assert.equal(tls.peerSubject, "CN=localhost");
      assert.equal(tls.peerVerified, true);
      // DCMTK verified our certificate (-rc is its default) and says whose it was.
      await scp.waitFor((s) => /Received Echo Request/.test(s.stderr));
      assert.match(scp.stderr, /D: {3}Subject {5}: \/CN=dimse-client\n/);
    });
  },
);

tlsTest("our storescu +tls -> DCMTK storescp +tls: the files arrive equal", async (p, dir) => {
  const files = await images(dir);
  await withDcmtkScp(dir, tlsArgs(p, p.server), async (port) => {
    const r = await runTool("storescu", [
      ...tlsArgs(p, p.client),
      "--json",
      HOST,
      String(port),
      ...files.map((f) => f.path),
    ]);
    assert.equal(r.code, 0, show(r));
    assert.equal(JSON.parse(r.stdout.trimEnd().split("\n").pop()!).tls.peerVerified, true);
    await assertArrived(files, `${dir}/in`);
  });
});

tlsTest(
  "our storescu +tls with an encrypted key, password piped to +ps -> DCMTK storescp",
  async (p, dir) => {
    const files = await images(dir);
    await withDcmtkScp(dir, tlsArgs(p, p.server), async (port) => {
      const args = ["+tls", p.serverKeyEncrypted, p.server.cert, "+cf", p.ca, HOST, String(port)];
      const r = await runTool("storescu", [...args, files[0].path], 30_000, `${p.keyPassword}\n`);
      assert.equal(r.code, 0, show(r));
      await assertArrived([files[0]], `${dir}/in`);
    });
  },
);

for (const check of ["-ic", "-vc"]) {
  tlsTest(
    `our echoscu and storescu +tla -> DCMTK storescp +tls ${check}: anonymous TLS`,
    async (p, dir) => {
      const files = await images(dir);
      await withDcmtkScp(dir, [...tlsArgs(p, p.server), check], async (port) => {
        await anonymousEchoAndStore(runTool, p, port, files);
        await assertArrived(files, `${dir}/in`);
      });
    },
  );
}

tlsTest(
  "our echoscu +tla -> DCMTK storescp -rc: refused, and told why to look at the peer",
  async (p, dir) => {
    await withDcmtkScp(dir, tlsArgs(p, p.server), async (port, scp) => {
      const r = await runTool("echoscu", ["+tla", "+cf", p.ca, HOST, String(port)]);
      assert.equal(r.code, 66, show(r));
      assert.match(r.stderr, /it may refuse our certificate or require one \(\+tls key cert\)/);
      await scp.waitFor((s) => /peer did not return a certificate/.test(s.stderr));
    });
  },
);

// ---------------------------------------------------------------------------
// DCMTK's clients, our servers

tlsTest(
  "DCMTK echoscu +tls -> our echoscp +tls: mutual TLS, the client's certificate in --json",
  async (p) => {
    await withOurScp("echoscp", tlsArgs(p, p.server), async (port, scp) => {
      const r = await runCommand("echoscu", ["-v", ...tlsArgs(p, p.client), HOST, String(port)]);
      assert.equal(r.code, 0, show(r));
      const ev = await scp.waitForEvent((e) => e.type === "tls-established");
      assert.deepEqual(ev.tls, {
        ...(ev.tls as object),
        peerSubject: "CN=dimse-client",
        peerVerified: true,
      });
      await scp.waitForEvent((e) => e.type === "association-released");
    });
  },
);

tlsTest(
  "DCMTK storescu +tls -> our storescp +tls (encrypted key, +pw): the files arrive equal",
  async (p, dir) => {
    const files = await images(dir);
    await Deno.mkdir(`${dir}/in`);
    const server = ["+tls", p.serverKeyEncrypted, p.server.cert, "+pw", p.keyPassword, "+cf", p.ca];
    await withOurScp("storescp", [...server, "-od", `${dir}/in`], async (port, scp) => {
      const r = await runCommand("storescu", [
        ...tlsArgs(p, p.client),
        HOST,
        String(port),
        ...files.map((f) => f.path),
      ]);
      assert.equal(r.code, 0, show(r));
      await scp.waitForEvent((e) => e.type === "association-released");
      await assertArrived(files, `${dir}/in`);
    });
  },
);

for (const check of ["-vc", "-ic"]) {
  tlsTest(
    `DCMTK echoscu and storescu +tla -> our storescp +tls ${check}: anonymous TLS`,
    async (p, dir) => {
      const files = await images(dir);
      await Deno.mkdir(`${dir}/in`);
      await withOurScp(
        "storescp",
        [...tlsArgs(p, p.server), check, "-od", `${dir}/in`],
        async (port, scp) => {
          await anonymousEchoAndStore(runCommand, p, port, files);
          await scp.waitFor((b) =>
            b.events().filter((x) => x.type === "association-released").length === 2
          );
          await assertArrived(files, `${dir}/in`);
          const ev = scp.events().find((x) => x.type === "tls-established")!;
          assert.deepEqual(ev.tls, {
            ...(ev.tls as object),
            peerSubject: null,
            peerVerified: false,
          });
        },
      );
    },
  );
}

tlsTest(
  "our echoscp -rc refuses DCMTK's +tla client with a named line, then serves the next",
  async (p) => {
    await withOurScp("echoscp", tlsArgs(p, p.server), async (port, scp) => {
      const anon = await runCommand("echoscu", ["+tla", "+cf", p.ca, HOST, String(port)]);
      assert.notEqual(anon.code, 0, show(anon));
      const ev = await scp.waitForEvent((e) => e.type === "connection-error");
      assert.equal(ev.tlsFailure, "no-peer-certificate");
      assert.match(
        scp.stderr,
        /^E: TLS connection from 127\.0\.0\.1:\d+ refused: the client presented no certificate, but one is required \(-rc\)$/m,
      );
      const good = await runCommand("echoscu", [
        "-v",
        ...tlsArgs(p, p.client),
        HOST,
        String(port),
      ]);
      assert.equal(good.code, 0, show(good));
      await scp.waitForEvent((e) => e.type === "association-released");
    });
  },
);
