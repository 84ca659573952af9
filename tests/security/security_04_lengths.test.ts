/**
 * docs/SECURITY_CLASSES.md #4: length overflow or underflow in items, sub-items and
 * PDVs, over real loopback TCP. Both directions: every item and sub-item of
 * an A-ASSOCIATE-RQ with every user information sub-item, sent to our
 * server with the lengths 0, 1, remaining+1 and 0xFFFF, and the same for an
 * A-ASSOCIATE-AC sent by a fake SCP to our SCU; a presentation context
 * shorter than its sub-items; unknown item types, skipped by their length
 * (PS3.8 9.3.1: accepted, the association served); PDVs of length 0, 1,
 * past the end and 0xFFFFFFFF once associated. Each bad input: the A-ABORT
 * of PS3.8 Table 9-10 (server in Sta2: AA-1, source 0; SCU in Sta5 and
 * server in Sta6: AA-8, source 2 with the decoder's Table 9-26 reason), one
 * log line, the next peer served.
 *
 * Already covered elsewhere: pdu_abuse.test.ts runs the same length
 * matrix through decodePdu (the reason of each case), pdu_vectors.test.ts
 * the well-formed items, pdu_property.test.ts random mutations. This file
 * checks that the network paths (server and SCU) turn each into the right
 * abort, one line, and carry on.
 */
import assert from "node:assert/strict";
import { createMemoryLogger } from "../../lib/log/logger.ts";
import { runEchoScu } from "../../lib/cli/echoscu/engine.ts";
import { encodePdu } from "../../lib/pdu/codec.ts";
import { ConnTransport } from "../../lib/transport/tcp.ts";
import type { AssociateAcPdu, AssociateRqPdu } from "../../lib/pdu/types.ts";
import {
  EXPLICIT_VR_LITTLE_ENDIAN as ELE,
  IMPLICIT_VR_LITTLE_ENDIAN as IVR,
  VERIFICATION_SOP_CLASS,
} from "../../lib/dicom/uids.ts";
import {
  assertAbort,
  assertNextServed,
  associated,
  HOST,
  pdata,
  RawPeer,
  type ScpUnderTest,
  until,
  withScp,
} from "../../testing/bad_peer.ts";
import { echoScuOptions } from "../../testing/echo_peers.ts";
import { FULL_USER_INFORMATION, itemPositions, withU16 } from "../../testing/pdu_vectors.ts";

/** Every item and sub-item, with each length of the class other than its own. */
function lengthCases(raw: Uint8Array): { name: string; bytes: Uint8Array }[] {
  const out = [];
  for (const item of itemPositions(raw)) {
    const remaining = item.containerEnd - (item.at + 4);
    const declared = (raw[item.at + 2] << 8) | raw[item.at + 3];
    for (const length of [0, 1, remaining + 1, 0xffff]) {
      if (length === declared) continue;
      out.push({
        name: `item 0x${item.type.toString(16)} at ${item.at}, length ${length}`,
        bytes: withU16(raw, item.at + 2, length),
      });
    }
  }
  return out;
}

/** An RQ for Verification carrying every user information sub-item an RQ may carry. */
function fullRq(): AssociateRqPdu {
  const { userIdentityAc: _, ...userInformation } = FULL_USER_INFORMATION;
  return {
    type: "A-ASSOCIATE-RQ",
    protocolVersion: 1,
    calledAeTitle: "STORESCP",
    callingAeTitle: "LENGTHS",
    applicationContext: "1.2.840.10008.3.1.1.1",
    presentationContexts: [{
      id: 1,
      abstractSyntax: VERIFICATION_SOP_CLASS,
      transferSyntaxes: [ELE, IVR],
    }],
    userInformation,
  };
}

/** The AC a fake SCP answers our echo SCU with: Verification accepted, every AC sub-item. */
function fullAc(): AssociateAcPdu {
  const { userIdentityRq: _, ...userInformation } = FULL_USER_INFORMATION;
  return {
    type: "A-ASSOCIATE-AC",
    protocolVersion: 1,
    calledAeTitle: "FAKESCP",
    callingAeTitle: "ECHOSCU",
    applicationContext: "1.2.840.10008.3.1.1.1",
    presentationContexts: [{ id: 1, result: 0, transferSyntax: IVR }],
    userInformation,
  };
}

function errorLines(scp: ScpUnderTest, mark: number): string[] {
  return scp.linesSince(mark).filter((l) => /^[WEF]: /.test(l));
}

/**
 * A fake SCP on a loopback port that answers each A-ASSOCIATE-RQ with the
 * next of `answers` and reports the first PDU our SCU sends back.
 */
async function fakeScp(
  answers: Uint8Array[],
  fn: (port: number, replies: Promise<unknown>[]) => Promise<void>,
) {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const replies: Promise<unknown>[] = [];
  const served = (async () => {
    for (const answer of answers) {
      const conn = await listener.accept();
      replies.push((async () => {
        const peer = new RawPeer(new ConnTransport(conn));
        await peer.expect("A-ASSOCIATE-RQ");
        await peer.write(answer);
        const back = await peer.next(5000);
        peer.close();
        return back;
      })());
    }
  })();
  try {
    await fn((listener.addr as Deno.NetAddr).port, replies);
    await served;
  } finally {
    listener.close();
  }
}

Deno.test("class 4: lengths of items, sub-items and PDVs that lie", async (t) => {
  await withScp({}, async (scp) => {
    const rq = encodePdu(fullRq());
    await t.step("the unaltered RQ with every sub-item is accepted", async () => {
      const peer = await RawPeer.connect(scp.port);
      await peer.write(rq);
      await peer.expect("A-ASSOCIATE-AC");
      await peer.release();
    });
    for (const c of lengthCases(rq)) {
      await t.step(`A-ASSOCIATE-RQ to the server: ${c.name}`, async () => {
        const mark = scp.mark();
        const peer = await RawPeer.connect(scp.port);
        await peer.write(c.bytes);
        // Sta2 + Evt19: AA-1, an A-ABORT from the service user (PS3.8 Table 9-10).
        assertAbort(await peer.abortOrClose(), 0, 0, c.name);
        await until(() => errorLines(scp, mark).length > 0, "the log line");
        const lines = errorLines(scp, mark);
        assert.equal(lines.length, 1, lines.join("\n"));
        assert.match(
          lines[0],
          /^E: Association Request Failed \(127\.0\.0\.1:\d+\): malformed PDU: \S/,
        );
      });
    }

    const pc = itemPositions(rq).find((p) => p.type === 0x20)!;
    const pcLength = (rq[pc.at + 2] << 8) | rq[pc.at + 3];
    for (const shortBy of [1, 2, 5, 8]) {
      await t.step(
        `a presentation context ${shortBy} bytes shorter than its sub-items`,
        async () => {
          const mark = scp.mark();
          const peer = await RawPeer.connect(scp.port);
          await peer.write(withU16(rq, pc.at + 2, pcLength - shortBy));
          assertAbort(await peer.abortOrClose(), 0, 0, "short presentation context");
          await until(() => errorLines(scp, mark).length > 0, "the log line");
          assert.match(
            errorLines(scp, mark)[0],
            /malformed PDU: A-ASSOCIATE-RQ.*presentation context/,
          );
        },
      );
    }

    await t.step("unknown item types are skipped by their length", async () => {
      // An unknown item (type 0x77) among the items, and one (0x6F) among the user information sub-items.
      const unknown = [0x77, 0, 0, 5, 1, 2, 3, 4, 5];
      const ui = itemPositions(rq).find((p) => p.type === 0x50)!;
      const uiLength = (rq[ui.at + 2] << 8) | rq[ui.at + 3];
      const bytes = Uint8Array.from([
        ...rq.subarray(0, 74),
        ...unknown,
        ...rq.subarray(74, ui.at + 4),
        0x6f,
        0,
        0,
        3,
        9,
        9,
        9,
        ...rq.subarray(ui.at + 4),
      ]);
      const view = new DataView(bytes.buffer);
      view.setUint32(2, bytes.length - 6);
      view.setUint16(ui.at + unknown.length + 2, uiLength + 7);
      const mark = scp.mark();
      const peer = await RawPeer.connect(scp.port);
      await peer.write(bytes);
      const ac = await peer.expect("A-ASSOCIATE-AC");
      assert.equal(ac.presentationContexts[0].result, 0);
      await peer.release();
      assert.deepEqual(errorLines(scp, mark), []);
    });

    for (
      const [name, length] of [["0", 0], ["1", 1], ["past the end", 7], [
        "0xFFFFFFFF",
        0xffffffff,
      ]] as const
    ) {
      await t.step(`associated: a PDV item length of ${name}`, async () => {
        const { peer } = await associated(scp.port);
        const mark = scp.mark();
        const pdu = pdata({ contextId: 1, command: true, last: true, data: new Uint8Array(4) });
        new DataView(pdu.buffer).setUint32(6, length);
        await peer.write(pdu);
        // Sta6 + Evt19: AA-8, source 2, invalid PDU parameter value (Table 9-26).
        assertAbort(await peer.abortOrClose(), 2, 6, name);
        await until(() => errorLines(scp, mark).length > 0, "the log line");
        const lines = errorLines(scp, mark);
        assert.equal(lines.length, 1, lines.join("\n"));
        assert.match(
          lines[0],
          /^E: Association Aborted \(127\.0\.0\.1:\d+\): malformed PDU: (P-DATA-TF: needs|PDV item length [01] is below the minimum of 2)/,
        );
      });
    }
    await assertNextServed(scp, "class 4");
  });

  // Our SCU against a fake SCP answering with an AC whose lengths lie.
  const ac = encodePdu(fullAc());
  const cases = lengthCases(ac);
  await fakeScp(cases.map((c) => c.bytes), async (port, replies) => {
    for (const [i, c] of cases.entries()) {
      await t.step(`A-ASSOCIATE-AC to our SCU: ${c.name}`, async () => {
        const log = createMemoryLogger({ level: "info" });
        const r = await runEchoScu(
          echoScuOptions(port, { calledAeTitle: "FAKESCP", logger: log }),
        );
        assert.equal(r.outcome, "association-failed", JSON.stringify(r));
        // Sta5 + Evt19: AA-8, a provider A-ABORT with the decoder's reason.
        const back = await replies[i];
        assert.ok(
          typeof back === "object" && back !== null && "type" in back && back.type === "A-ABORT" &&
            "source" in back && back.source === 2,
          JSON.stringify(back),
        );
        // The upper layer's own E: line comes first (not quieted in the SCUs, as in the server).
        const lines = log.sink.lines.filter((l) => /^F: /.test(l));
        assert.equal(lines.length, 1, log.sink.text);
        assert.match(lines[0], /^F: Association Request Failed: malformed PDU: /);
      });
    }
  });
});
