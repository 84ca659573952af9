/**
 * docs/SECURITY_CLASSES.md #9: framing across reads, against the server over real
 * loopback TCP and over TLS. A peer's whole exchange (A-ASSOCIATE-RQ, a
 * C-ECHO-RQ, a C-STORE-RQ with its data set, A-RELEASE-RQ) with every PDU
 * split at every byte boundary (one association per cut of the RQ, each
 * also cutting the P-DATA-TFs and the A-RELEASE-RQ at a boundary of theirs),
 * dripped one byte per write, and sent all in one write (several PDUs per
 * read, per TLS record); several PDVs in one P-DATA-TF. Each exchange must
 * get the same answers: A-ASSOCIATE-AC, two successful responses,
 * A-RELEASE-RP, and no error line.
 *
 * Already covered elsewhere: pdu_reader.test.ts (the reader at every split
 * of every PDU, in memory), ul_association.test.ts (the state machine fed
 * one byte at a time and several PDUs per write, over a memory transport),
 * transport_tcp.test.ts (chunks keep their bytes across reads),
 * transport_tls.test.ts (4 MiB each way over TLS).
 */
import assert from "node:assert/strict";
import { concatBytes } from "../../lib/util/bytes.ts";
import { encodePdu } from "../../lib/pdu/codec.ts";
import { listenTls } from "../../lib/transport/tls.ts";
import type { Transport } from "../../lib/transport/transport.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN as ELE, VERIFICATION_SOP_CLASS } from "../../lib/dicom/uids.ts";
import { opensslAvailable, sharedTestPki } from "../../testing/certs.ts";
import { connectLoopback, serving } from "../../testing/tls_loopback.ts";
import {
  assertNextServed,
  associateRqBytes,
  commandPdv,
  cStoreRq,
  dataPdv,
  HOST,
  MR,
  mrDataset,
  pdata,
  RawPeer,
  type ScpUnderTest,
  withScp,
} from "../../testing/bad_peer.ts";
import { encodeCommandSet } from "../../lib/dimse/command.ts";
import { messageToCommandSet } from "../../lib/dimse/messages.ts";

const RQ = associateRqBytes({ contexts: [[VERIFICATION_SOP_CLASS, ELE], [MR, ELE]] });
const ECHO = pdata(commandPdv(
  1,
  encodeCommandSet(messageToCommandSet({
    type: "C-ECHO-RQ",
    messageId: 1,
    affectedSopClassUid: VERIFICATION_SOP_CLASS,
  })),
));
let stores = 0;
/**
 * A C-STORE-RQ and its data set in one P-DATA-TF (two PDVs), of a new
 * instance each time (all of the same length), so that none overwrites.
 */
function store(): Uint8Array {
  const uid = `1.2.826.0.1.3680043.2.1125.9.${100000 + ++stores}`;
  return pdata(
    commandPdv(3, cStoreRq(uid, 2)),
    dataPdv(3, mrDataset({ sopInstance: uid, pixels: 200 })),
  );
}
const STORE_LENGTH = store().length;
const RELEASE = encodePdu({ type: "A-RELEASE-RQ" });

/** How the exchange's bytes go out. */
type Writing = (peer: RawPeer, pdu: Uint8Array, index: number) => Promise<void>;

/** Each PDU in two writes, cut at `cuts[i]`, with a pause so that the server reads each part. */
const cutAt = (cuts: number[]): Writing => async (peer, pdu, i) => {
  const cut = cuts[i] % pdu.length;
  await peer.write(pdu.subarray(0, cut));
  await new Promise((r) => setTimeout(r, 1));
  await peer.write(pdu.subarray(cut));
};

/** Runs the exchange, each PDU written by `writing`, and checks every answer. */
async function exchange(transport: Transport, writing: Writing, what: string): Promise<void> {
  const peer = new RawPeer(transport);
  try {
    await writing(peer, RQ, 0);
    await peer.expect("A-ASSOCIATE-AC");
    await writing(peer, ECHO, 1);
    const echo = await peer.response();
    assert.ok(typeof echo === "object" && "command" in echo, `${what}: ${JSON.stringify(echo)}`);
    assert.equal(echo.command.Status, 0, what);
    await writing(peer, store(), 2);
    const stored = await peer.response();
    assert.ok(
      typeof stored === "object" && "command" in stored,
      `${what}: ${JSON.stringify(stored)}`,
    );
    assert.equal(stored.command.Status, 0, what);
    await writing(peer, RELEASE, 3);
    await peer.expect("A-RELEASE-RP");
  } finally {
    peer.close();
  }
}

/**
 * Once associated, the rest of the exchange in one write: the server reads
 * several PDUs at once. (Before the A-ASSOCIATE-AC nothing more may be sent:
 * a P-DATA-TF right behind the RQ is an unexpected PDU in Sta3, PS3.8
 * Table 9-10, and rightly aborted.)
 */
async function allAtOnce(transport: Transport, what: string): Promise<void> {
  const peer = new RawPeer(transport);
  try {
    await peer.write(RQ);
    await peer.expect("A-ASSOCIATE-AC");
    await peer.write(concatBytes([ECHO, store(), RELEASE]));
    for (const status of [0, 0]) {
      const r = await peer.response();
      assert.ok(typeof r === "object" && "command" in r, `${what}: ${JSON.stringify(r)}`);
      assert.equal(r.command.Status, status);
    }
    await peer.expect("A-RELEASE-RP");
  } finally {
    peer.close();
  }
}

/** One byte per write, each after a turn of the event loop: the server reads them one by one. */
const oneByteAtATime: Writing = async (peer, pdu) => {
  for (let i = 0; i < pdu.length; i++) {
    await peer.write(pdu.subarray(i, i + 1));
    await new Promise((r) => setTimeout(r, 0));
  }
};

function assertQuiet(scp: ScpUnderTest, mark: number, what: string): void {
  const errors = scp.linesSince(mark).filter((l) => /^[WEF]: /.test(l));
  assert.deepEqual(errors, [], what);
}

/** Runs every framing of the exchange against `scp`, connecting with `connect`. */
async function framings(
  t: Deno.TestContext,
  scp: ScpUnderTest,
  connect: () => Promise<Transport>,
  everyNth: number,
): Promise<void> {
  const mark = scp.mark();
  const first = stores;
  await t.step(
    `every cut of the A-ASSOCIATE-RQ (${RQ.length} bytes), with cuts of the others`,
    async () => {
      for (let cut = 1; cut < RQ.length; cut += everyNth) {
        // The other PDUs cut too, at positions that sweep their whole length.
        await exchange(await connect(), cutAt([cut, cut, cut, cut]), `cut ${cut}`);
      }
    },
  );
  await t.step(
    `every cut of the P-DATA-TFs (${ECHO.length} and ${STORE_LENGTH} bytes)`,
    async () => {
      for (let cut = 0; cut < STORE_LENGTH; cut += everyNth * 4) {
        // Each association takes four cuts of the STORE (and of the ECHO) in a row.
        const peer = new RawPeer(await connect());
        await peer.write(RQ);
        await peer.expect("A-ASSOCIATE-AC");
        for (let k = 0; k < 4; k++) {
          for (const pdu of [ECHO, store()]) {
            await cutAt([(cut + k) % pdu.length || 1])(peer, pdu, 0);
            const r = await peer.response();
            assert.ok(typeof r === "object" && "command" in r && r.command.Status === 0);
          }
        }
        await peer.release();
      }
    },
  );
  await t.step("one byte per write, the whole exchange", async () => {
    await exchange(await connect(), oneByteAtATime, "one byte per write");
  });
  await t.step("once associated, the rest of the exchange in one write", async () => {
    await allAtOnce(await connect(), "one write");
  });
  assertQuiet(scp, mark, "no error line for any framing");
  const stored = stores - first;
  // Every C-STORE stored its instance, and nothing else is there.
  const files = await scp.files();
  assert.equal(files.length, stored, "one file per store");
  assert.ok(files.every((f) => /^od\/MR\.1\.2\.826\.0\.1\.3680043\.2\.1125\.9\.1\d{5}$/.test(f)));
}

Deno.test("class 9: framing across reads, over TCP", async (t) => {
  await withScp({}, async (scp) => {
    await framings(t, scp, () => RawPeer.connect(scp.port).then((p) => p.transport), 1);
    await assertNextServed(scp, "class 9, TCP");
  });
});

Deno.test({
  name: "class 9: framing across reads, over TLS (records split and joined)",
  ignore: !(await opensslAvailable()),
  async fn(t) {
    const pki = await sharedTestPki();
    const listener = await listenTls(HOST, 0, serving(pki.server));
    await withScp({ listen: () => listener }, async (scp) => {
      const connect = () => connectLoopback(scp.port, { trustedFiles: [pki.ca] });
      // Every third cut: a TLS handshake per association is the cost.
      await framings(t, scp, connect, 3);
    });
  },
});
