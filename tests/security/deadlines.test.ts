/**
 * Every connection has a deadline in every state (issue 11), with the
 * documented defaults: an associated peer that goes silent, and one that
 * drips its request in pieces (each of which restarts any inactivity
 * timer), are closed within about a minute over TCP and over TLS:
 * - echoscp, a command set sent in 2-byte fragments every 10 s: -td 30
 *   bounds the whole wait for the request, not each PDU (the transfer
 *   floor's first 30 s window ends with it: either may say so);
 * - storescp, a data set sent in 2-byte fragments every 10 s (each within
 *   -td 60 and -ts 60 of the last): the transfer floor, 1024 bytes/s over
 *   30 s of waiting; the dripped store leaves no `.part` file.
 * Before, echoscp held both for ever, and storescp the drip for ever and
 * the silent peer for 90 s (-ts, then a further ARTIM period waiting for it
 * to close).
 *
 * All eight peers run at once: the test takes about a minute.
 */
import assert from "node:assert/strict";
import { connectTls } from "../../lib/transport/tls.ts";
import { VERIFICATION_SOP_CLASS } from "../../lib/dicom/uids.ts";
import {
  associateRqBytes,
  commandSet,
  cStoreRq,
  MR,
  pdata,
  RawPeer,
  us,
} from "../../testing/bad_peer.ts";
import { sharedTestPki, type TestPki, tlsArgs } from "../../testing/certs.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN } from "../../lib/dicom/uids.ts";
import { startTool } from "../../testing/procs.ts";
import { listDir, withTempDir } from "../../testing/temp_files.ts";

const HOST = "127.0.0.1";
/** "Within about a minute": the longest default (60 s) and some slack. */
const ABOUT_A_MINUTE_MS = 75_000;
/** A dripping peer sends one piece this often. */
const DRIP_MS = 10_000;

/** A C-ECHO-RQ command set on context 1 (PS3.7 9.3.5.1), in PDUs of one 2-byte fragment each. */
function echoInPieces(): Uint8Array[] {
  const command = commandSet([
    [0x00000002, new TextEncoder().encode(`${VERIFICATION_SOP_CLASS}\0`)],
    [0x00000100, us(0x0030)],
    [0x00000110, us(1)],
    [0x00000800, us(0x0101)],
  ]);
  return Array.from({ length: command.length / 2 }, (_, i) =>
    pdata({
      contextId: 1,
      command: true,
      last: i === command.length / 2 - 1,
      data: command.subarray(2 * i, 2 * i + 2),
    }));
}

/** A C-STORE-RQ on context 3, then its data set in PDUs of one 2-byte fragment each. */
function storeInPieces(): Uint8Array[] {
  const command = cStoreRq("1.2.826.0.1.3680043.10.1012.1");
  return [
    pdata({ contextId: 3, command: true, last: true, data: command }),
    ...Array.from(
      { length: 20 },
      () => pdata({ contextId: 3, command: false, last: false, data: new Uint8Array(2) }),
    ),
  ];
}

/**
 * Associates with the server, then stays silent or sends the `drip` PDUs
 * one every {@link DRIP_MS}; milliseconds from the A-ASSOCIATE-AC until the
 * server closed the connection (at most 90 s: then we close).
 */
async function heldFor(
  port: number,
  tls: TestPki | undefined,
  drip: Uint8Array[] | undefined,
): Promise<number> {
  const transport = tls
    ? await connectTls(HOST, port, {
      keyFile: tls.client.key,
      certFile: tls.client.cert,
      trustedFiles: [tls.ca],
    }, { timeoutMs: 10_000, family: "ipv4" })
    : undefined;
  const peer = transport ? new RawPeer(transport) : await RawPeer.connect(port);
  await peer.write(
    associateRqBytes({
      calledAeTitle: "ANY-SCP",
      contexts: [[VERIFICATION_SOP_CLASS, EXPLICIT_VR_LITTLE_ENDIAN], [
        MR,
        EXPLICIT_VR_LITTLE_ENDIAN,
      ]],
    }),
  );
  await peer.expect("A-ASSOCIATE-AC");
  const t0 = performance.now();
  let closed = false;
  const watching = (async () => {
    while (performance.now() - t0 < 90_000) {
      const got = await peer.next(90_000 - (performance.now() - t0));
      if (got === "closed") break;
    }
    closed = true;
  })();
  for (let i = 0; drip && i < drip.length && !closed; i++) {
    await peer.write(drip[i]);
    await Promise.race([watching, new Promise((r) => setTimeout(r, DRIP_MS))]);
  }
  await watching;
  const ms = performance.now() - t0;
  peer.close();
  return ms;
}

Deno.test("silent and dripping associated peers are closed within about a minute by the default deadlines, TCP and TLS", async () => {
  const pki = await sharedTestPki();
  await withTempDir("deadlines_", async (od) => {
    const servers = await Promise.all(
      [
        ["echoscp", false],
        ["echoscp", true],
        ["storescp", false],
        ["storescp", true],
      ].map(async ([tool, tls]) => {
        const args = ["--bind", HOST, "-aet", "ANY-SCP", ...(tls ? tlsArgs(pki, pki.server) : [])];
        if (tool === "storescp") args.push("-od", od);
        const { proc, port } = await startTool(tool as string, args);
        return { tool: tool as string, tls: tls as boolean, proc, port };
      }),
    );
    try {
      const results = await Promise.all(
        servers.flatMap((s) =>
          (["silent", "drip"] as const).map(async (how) => {
            const drip = how === "silent"
              ? undefined
              : s.tool === "echoscp"
              ? echoInPieces()
              : storeInPieces();
            const ms = await heldFor(s.port, s.tls ? pki : undefined, drip);
            return { what: `${s.tool} ${s.tls ? "TLS" : "TCP"} ${how}`, ms };
          })
        ),
      );
      for (const r of results) {
        assert.ok(r.ms < ABOUT_A_MINUTE_MS, `${r.what}: held ${(r.ms / 1000).toFixed(1)} s`);
      }
      for (const s of servers) {
        // The reasons are logged: the deadline that ended each.
        const what = `${s.tool} ${s.tls ? "TLS" : "TCP"}:\n${s.proc.stderr}`;
        const lines = s.proc.stderr.split("\n");
        if (s.tool === "echoscp") {
          // -td 30 and the floor's 30 s window end the dripped request together: either says so.
          const ends = lines.filter((l) =>
            /^E: (DIMSE timeout: no request within 30 s|.* request arriving too slowly: )/.test(l)
          );
          assert.equal(ends.length, 2, what);
          assert.ok(lines.includes("E: DIMSE timeout: no request within 30 s"), what);
        } else {
          assert.ok(
            lines.some((l) => /^E: (DIMSE timeout: no request within 60 s|.*idle timeout)/.test(l)),
            what,
          );
          assert.ok(
            lines.some((l) =>
              / data set arriving too slowly: \d+ bytes in 3\d(\.\d)? s, below /.test(l)
            ),
            what,
          );
        }
      }
      assert.deepEqual((await listDir(od)).filter((f) => f.endsWith(".part")), []);
    } finally {
      await Promise.all(servers.map((s) => s.proc.stop()));
    }
  });
});
