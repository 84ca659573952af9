/**
 * docs/SECURITY_CLASSES.md #3: allocation sized by the peer before checking. Over
 * real loopback TCP against the server in process: every PDU type's header
 * claiming 0xFFFFFFFF bytes, before and after association; a P-DATA-TF at
 * our maximum (taken) and one byte over it; an A-ASSOCIATE-RQ over the
 * 1 MiB limit; a PDV claiming more than its PDU; a P-DATA-TF dripped slower
 * than -td. Each: the A-ABORT PS3.8 Table 9-10 gives (AA-1 before
 * association: service-user, 0; AA-8 after: service-provider, invalid PDU
 * parameter value), one log line, the next peer served. And the memory the
 * server holds for half-sent PDUs follows the bytes received, not the
 * lengths claimed.
 *
 * Already covered elsewhere: pdu_abuse.test.ts (the reader refuses each
 * over-limit header from its 6 bytes; P-DATA at max/max+1; 64 MiB cap for
 * "unlimited"; A-ASSOCIATE over 1 MiB), echoscp_bad_input.test.ts (against
 * the echoscp CLI before association: 0xFFFFFFFF A-ASSOCIATE-RQ and
 * P-DATA-TF, 1 MiB + 1, drips faster and slower than ARTIM).
 */
import assert from "node:assert/strict";
import { PDU_TYPE } from "../../lib/pdu/types.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN as ELE } from "../../lib/dicom/uids.ts";
import {
  assertAbort,
  assertNextServed,
  associated,
  associateRqBytes,
  commandPdv,
  cStoreRq,
  dataPdv,
  MR,
  mrDataset,
  pdata,
  RawPeer,
  type ScpUnderTest,
  until,
  withScp,
} from "../../testing/bad_peer.ts";

/** A PDU header: type, reserved, PDU-length (PS3.8 9.3.1). */
function header(type: number, length: number): Uint8Array {
  const h = new Uint8Array(6);
  h[0] = type;
  new DataView(h.buffer).setUint32(2, length);
  return h;
}

const TYPES = Object.entries(PDU_TYPE) as [string, number][];

/** One log line since `mark` at warning level or worse, matching `re`. */
function assertOneLine(scp: ScpUnderTest, mark: number, re: RegExp): void {
  const lines = scp.linesSince(mark).filter((l) => /^[WEF]: /.test(l));
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(lines[0], re);
}

/**
 * What a refused input must leave: `peer` gets an A-ABORT (source, reason)
 * or the close, and the server logs exactly one error line since `mark`,
 * matching `re`.
 */
async function assertAborted(
  scp: ScpUnderTest,
  peer: RawPeer,
  mark: number,
  [source, reason]: [number, number],
  what: string,
  re: RegExp,
): Promise<void> {
  assertAbort(await peer.abortOrClose(), source, reason, what);
  await errorLogged(scp, mark);
  assertOneLine(scp, mark, re);
}

/** Waits until the server has logged an error line since `mark`. */
function errorLogged(scp: ScpUnderTest, mark: number): Promise<void> {
  return until(() => scp.linesSince(mark).some((l) => /^[WEF]: /.test(l)), "the log line");
}

/**
 * Where a PDU header claiming 0xFFFFFFFF bytes arrives: how the peer gets
 * there, the A-ABORT (source, reason) it gets back (PS3.8 Table 9-10,
 * Table 9-26) and the one line the server logs for PDU type `name`.
 */
const PHASES: {
  when: string;
  reach: (scp: ScpUnderTest) => Promise<RawPeer>;
  abort: [source: number, reason: number];
  line: (name: string) => RegExp;
}[] = [
  {
    when: "before association",
    reach: (scp) => RawPeer.connect(scp.port),
    // Sta2 + Evt19: AA-1, an A-ABORT from the service user.
    abort: [0, 0],
    line: (name) =>
      new RegExp(
        `^E: Association Request Failed \\(127\\.0\\.0\\.1:\\d+\\): malformed PDU: ${name} ` +
          "PDU-length 4294967295( exceeds|, must be 4)",
      ),
  },
  {
    when: "associated",
    reach: async (scp) => (await associated(scp.port)).peer,
    // Sta6 + Evt19: AA-8, a provider A-ABORT, invalid PDU parameter value.
    abort: [2, 6],
    line: (name) =>
      new RegExp(
        `^E: Association Aborted \\(127\\.0\\.0\\.1:\\d+\\): malformed PDU: ${name} ` +
          "PDU-length 4294967295",
      ),
  },
];

/** A MR data set of exactly `n` bytes (n even, > 100). */
function datasetOf(n: number, uid: string): Uint8Array {
  const base = mrDataset({ sopInstance: uid, pixels: 0 }).length;
  const d = mrDataset({ sopInstance: uid, pixels: n - base });
  assert.equal(d.length, n);
  return d;
}

Deno.test("class 3: lengths claimed by the peer are checked before anything is allocated", async (t) => {
  await withScp({ dimseTimeoutMs: 1000 }, async (scp) => {
    for (const [name, type] of TYPES) {
      for (const phase of PHASES) {
        await t.step(`${phase.when}: ${name} header claiming 0xFFFFFFFF`, async () => {
          const peer = await phase.reach(scp);
          const mark = scp.mark();
          await peer.write(header(type, 0xffffffff));
          await assertAborted(scp, peer, mark, phase.abort, name, phase.line(name));
        });
      }
    }

    await t.step("a P-DATA-TF of exactly our maximum (16384) is taken", async () => {
      const { peer } = await associated(scp.port, { contexts: [[MR, ELE]] });
      const uid = "1.2.826.0.1.3680043.2.1125.3.1";
      await peer.write(pdata(commandPdv(1, cStoreRq(uid))));
      const full = pdata(dataPdv(1, datasetOf(16384 - 6, uid)));
      assert.equal(full.length, 6 + 16384);
      await peer.write(full);
      const rsp = await peer.response();
      assert.ok(typeof rsp === "object" && "command" in rsp, JSON.stringify(rsp));
      assert.equal(rsp.command.Status, 0);
      await peer.release();
    });

    await t.step("a P-DATA-TF one byte over our maximum", async () => {
      const { peer } = await associated(scp.port, { contexts: [[MR, ELE]] });
      const mark = scp.mark();
      const uid = "1.2.826.0.1.3680043.2.1125.3.2";
      await peer.write(pdata(commandPdv(1, cStoreRq(uid))));
      await peer.write(pdata(dataPdv(1, datasetOf(16384 - 6 + 2, uid))).subarray(0, 6));
      await assertAborted(
        scp,
        peer,
        mark,
        [2, 6],
        "max + 1",
        /^E: Association Aborted \(127\.0\.0\.1:\d+\): malformed PDU: P-DATA-TF PDU-length 16386 exceeds our maximum length received of 16384$/,
      );
      assert.deepEqual(await scp.files(), ["od/MR.1.2.826.0.1.3680043.2.1125.3.1"]);
    });

    await t.step("an A-ASSOCIATE-RQ over the 1 MiB limit", async () => {
      const mark = scp.mark();
      const peer = await RawPeer.connect(scp.port);
      const rq = associateRqBytes();
      new DataView(rq.buffer).setUint32(2, 1024 * 1024 + 1);
      await peer.write(rq);
      await assertAborted(
        scp,
        peer,
        mark,
        [0, 0],
        "RQ over the limit",
        /A-ASSOCIATE-RQ PDU-length 1048577 exceeds the A-ASSOCIATE limit of 1048576$/,
      );
    });

    for (const claim of [9, 0xffff, 0xffffffff]) {
      await t.step(`a PDV claiming ${claim} bytes in a P-DATA-TF of 8`, async () => {
        const { peer } = await associated(scp.port);
        const mark = scp.mark();
        const pdu = pdata(commandPdv(1, new Uint8Array(2)));
        new DataView(pdu.buffer).setUint32(6, claim);
        await peer.write(pdu);
        await assertAborted(
          scp,
          peer,
          mark,
          [2, 6],
          "PDV over its PDU",
          /^E: Association Aborted \(127\.0\.0\.1:\d+\): malformed PDU: P-DATA-TF: needs \d+ more bytes but only 4 remain$/,
        );
      });
    }

    await t.step("a P-DATA-TF dripped slower than -td (1 s) is cut off", async () => {
      const { peer } = await associated(scp.port);
      const mark = scp.mark();
      const pdu = pdata(commandPdv(1, new Uint8Array(64)));
      let sent = 0;
      const end = Date.now() + 4000;
      while (sent < pdu.length && Date.now() < end) {
        if (!(await peer.write(pdu.subarray(sent, sent + 1)))) break;
        sent++;
        const got = await peer.next(100);
        if (got !== "timeout") {
          assertAbort(got, 0, 0, "drip");
          break;
        }
      }
      assert.ok(sent < pdu.length, "cut off before the PDU was complete");
      peer.close();
      await errorLogged(scp, mark);
      assertOneLine(scp, mark, /^E: DIMSE timeout: no request within 1 s$/);
    });

    await assertNextServed(scp, "class 3");
  });

  // Half-sent PDUs, each claiming the most its type may: what the server holds.
  for (
    const [what, maxPdu, claim, prepare] of [
      ["A-ASSOCIATE-RQ headers claiming 1 MiB", 16384, 1024 * 1024, false],
      ["P-DATA-TF headers claiming 64 MiB (our maximum 0: unlimited)", 0, 64 * 1024 * 1024, true],
    ] as const
  ) {
    await t.step(`memory: 8 ${what}, 100 bytes sent each`, async () => {
      await withScp({ maxPdu, acseTimeoutMs: 10_000, dimseTimeoutMs: 10_000 }, async (scp) => {
        const peers: RawPeer[] = [];
        for (let i = 0; i < 8; i++) {
          peers.push(prepare ? (await associated(scp.port)).peer : await RawPeer.connect(scp.port));
        }
        const before = Deno.memoryUsage().external;
        for (const peer of peers) {
          await peer.write(header(prepare ? 0x04 : 0x01, claim));
          await peer.write(new Uint8Array(100));
        }
        // Give the server time to read what was sent (loopback: well under a millisecond each).
        await new Promise((r) => setTimeout(r, 300));
        const grown = Deno.memoryUsage().external - before;
        const mark = scp.mark();
        for (const peer of peers) peer.close();
        await until(
          () => scp.linesSince(mark).filter((l) => /^E: /.test(l)).length === 8,
          "a line per closed peer",
        );
        assert.ok(
          grown < 8 * claim / 16,
          `external memory grew by ${grown} bytes for ${8 * claim} bytes claimed`,
        );
        await assertNextServed(scp, what);
      });
    });
  }
});
