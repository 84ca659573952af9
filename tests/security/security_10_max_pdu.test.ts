/**
 * docs/SECURITY_CLASSES.md #10: our maximum PDU length versus the peer's (PS3.8
 * D.1: the maximum length of the variable field of every P-DATA-TF the
 * receiver accepts; 0 means no limit). Both directions over real loopback
 * TCP, for peer maxima 0, 4096, 16384, odd ones (9, 13, 4097, 16383) and
 * 2^32-1: our storescu (the CLI) sends a 40 KB image to a fake SCP that
 * announces the maximum, and a raw SCU announcing it sends C-STOREs to our
 * server. Every P-DATA-TF either of ours sends must fit the peer's maximum
 * and every PDV must be even (PS3.8 9.3.5.1: fragments of an even-length
 * stream, cut at even sizes); the data arrives whole. A maximum too small
 * for any PDV (1..7) ends the association with a reason, never with an
 * exception. A P-DATA-TF over our own maximum is aborted: see
 * security_03_allocation.test.ts (one byte over: A-ABORT 2/6).
 *
 * Already covered elsewhere: dimse_fragment.test.ts (maxPdvDataLength and
 * fragmentMessage for every peer maximum, 2^32-1 in one PDU),
 * storescu_cli.test.ts (--max-send-pdu 4096), ul_association.test.ts
 * (sendPData over the peer's maximum is a usage error).
 */
import assert from "node:assert/strict";
import { concatBytes } from "../../lib/util/bytes.ts";
import { MessageAssembler } from "../../lib/dimse/fragment.ts";
import { encodeCommandSet } from "../../lib/dimse/command.ts";
import { messageToCommandSet } from "../../lib/dimse/messages.ts";
import { decodeFileMeta } from "../../lib/dicom/part10.ts";
import { encodePdu } from "../../lib/pdu/codec.ts";
import type { PDataTfPdu, Pdu } from "../../lib/pdu/types.ts";
import { ConnTransport } from "../../lib/transport/tcp.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN as ELE } from "../../lib/dicom/uids.ts";
import { writeImageFile } from "../../testing/dicom_files.ts";
import {
  assertNextServed,
  associated,
  associateRqBytes,
  commandPdv,
  cStoreRq,
  dataPdv,
  HOST,
  MR,
  mrDataset,
  pdata,
  RawPeer,
  until,
  withScp,
} from "../../testing/bad_peer.ts";
import { runTool, show } from "../../testing/procs.ts";
import { withTempDir } from "../../testing/temp_files.ts";

const MAXIMA = [0, 9, 13, 4096, 4097, 16383, 16384, 0xffffffff];

/** Asserts every P-DATA-TF fits `max` (0: any) and every PDV is even; returns their count. */
function assertFits(pdus: { pdu: PDataTfPdu; length: number }[], max: number, what: string) {
  for (const { pdu, length } of pdus) {
    if (max > 0) assert.ok(length - 6 <= max, `${what}: a P-DATA-TF of ${length - 6} > ${max}`);
    for (const pdv of pdu.pdvs) {
      assert.equal(pdv.data.length % 2, 0, `${what}: a PDV of ${pdv.data.length} bytes`);
    }
  }
  return pdus.length;
}

/**
 * A fake storage SCP: accepts every context in its first syntax with
 * Maximum Length Received `max`, answers each C-STORE with success, and
 * records every P-DATA-TF received and each data set's bytes.
 */
async function fakeScp(max: number, fn: (port: number) => Promise<void>) {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const datasets: Uint8Array[] = [];
  const pdus: { pdu: PDataTfPdu; length: number }[] = [];
  const aborts: Pdu[] = [];
  const served = (async () => {
    const peer = new RawPeer(new ConnTransport(await listener.accept()));
    try {
      const rq = await peer.expect("A-ASSOCIATE-RQ");
      await peer.write(encodePdu({
        type: "A-ASSOCIATE-AC",
        protocolVersion: 1,
        calledAeTitle: rq.calledAeTitle,
        callingAeTitle: rq.callingAeTitle,
        applicationContext: rq.applicationContext,
        presentationContexts: rq.presentationContexts.map((pc) => ({
          id: pc.id,
          result: 0,
          transferSyntax: pc.transferSyntaxes[0],
        })),
        userInformation: {
          maxLength: max,
          implementationClassUid: "1.2.3.4",
          roleSelections: [],
          extendedNegotiations: [],
          commonExtendedNegotiations: [],
        },
      }));
      const assembler = new MessageAssembler();
      let data: Uint8Array[] = [];
      for (;;) {
        const got = await peer.next(10_000);
        assert.notEqual(got, "timeout", "fake SCP: nothing came");
        if (got === "closed" || got === "timeout") return;
        if (got.type === "A-ABORT") {
          aborts.push(got);
          return;
        }
        if (got.type === "A-RELEASE-RQ") {
          await peer.write(encodePdu({ type: "A-RELEASE-RP" }));
          return;
        }
        assert.equal(got.type, "P-DATA-TF");
        pdus.push(peer.received.at(-1) as { pdu: PDataTfPdu; length: number });
        for (const pdv of (got as PDataTfPdu).pdvs) {
          for (const ev of assembler.push(pdv)) {
            if (ev.kind === "data") {
              data.push(ev.chunk.slice());
              if (!ev.last) continue;
              datasets.push(concatBytes(data));
              data = [];
              await peer.write(pdata(commandPdv(
                ev.contextId,
                encodeCommandSet(messageToCommandSet({
                  type: "C-STORE-RSP",
                  messageIdBeingRespondedTo: 1,
                  affectedSopClassUid: MR,
                  status: 0,
                })),
              )));
            }
          }
        }
      }
    } finally {
      peer.close();
    }
  })();
  try {
    await fn((listener.addr as Deno.NetAddr).port);
    await served;
  } finally {
    listener.close();
  }
  return { datasets, pdus, aborts };
}

Deno.test("class 10: every PDU we send fits the peer's maximum, every PDV even", async (t) => {
  await withTempDir("dimse_security_10_", async (dir) => {
    const file = `${dir}/image.dcm`;
    await writeImageFile(file, { rows: 128, cols: 160, sopInstanceUid: "1.2.3.10" });
    const bytes = await Deno.readFile(file);
    const dataset = bytes.subarray(decodeFileMeta(bytes).length);
    for (const max of MAXIMA) {
      await t.step(`our storescu, peer maximum ${max}`, async () => {
        let run = { code: -1, stdout: "", stderr: "" };
        const got = await fakeScp(max, async (port) => {
          run = await runTool("storescu", ["-xs", HOST, String(port), file]);
        });
        assert.equal(run.code, 0, show(run));
        assert.equal(got.datasets.length, 1);
        assert.deepEqual(got.datasets[0], dataset, "the data set arrives whole");
        const n = assertFits(got.pdus, max, `storescu, ${max}`);
        if (max > 0 && max < dataset.length) assert.ok(n > dataset.length / max);
      });
    }
  });

  await withScp({ maxPdu: 16384 }, async (scp) => {
    for (const max of MAXIMA) {
      await t.step(`our storescp, peer maximum ${max}`, async () => {
        const { peer } = await associated(scp.port, { maxPdu: max, contexts: [[MR, ELE]] });
        for (const [i, uid] of [`1.2.3.10.${max}.1`, `1.2.3.10.${max}.2`].entries()) {
          const from = peer.received.length;
          await peer.write(pdata(commandPdv(1, cStoreRq(uid, i + 1))));
          await peer.write(pdata(dataPdv(1, mrDataset({ sopInstance: uid }))));
          const rsp = await peer.response();
          assert.ok(typeof rsp === "object" && "command" in rsp, JSON.stringify(rsp));
          assert.equal(rsp.command.Status, 0);
          assertFits(
            peer.received.slice(from) as { pdu: PDataTfPdu; length: number }[],
            max,
            `storescp, ${max}`,
          );
        }
        await peer.release();
      });
    }
    for (const max of [1, 6, 7]) {
      await t.step(`our storescp, peer maximum ${max}: too small for any PDV`, async () => {
        const mark = scp.mark();
        const peer = await RawPeer.connect(scp.port);
        await peer.write(associateRqBytes({ maxPdu: max, contexts: [[MR, ELE]] }));
        // Refused before anything is accepted: rejected-permanent, service-user, no reason
        // given (PS3.8 Table 9-21), the reason in the log.
        assert.deepEqual(await peer.next(5000), {
          type: "A-ASSOCIATE-RJ",
          result: 1,
          source: 1,
          reason: 1,
        });
        peer.close();
        await until(
          () => scp.linesSince(mark).some((l) => l.startsWith("I: Association Rejected")),
          "the line",
        );
        assert.deepEqual(scp.linesSince(mark).filter((l) => /^[WEF]: /.test(l)), []);
        assert.ok(
          scp.linesSince(mark).includes(
            `I: Association Rejected: peer maximum PDU length ${max} is below 8: ` +
              "a PDV needs 6 bytes of header and an even, non-empty data field",
          ),
          scp.linesSince(mark).join("\n"),
        );
      });
    }
    await assertNextServed(scp, "class 10");
  });
});

Deno.test("class 10: our storescu facing a peer maximum too small for any PDV", async (t) => {
  await withTempDir("dimse_security_10_", async (dir) => {
    const file = `${dir}/image.dcm`;
    await writeImageFile(file, { rows: 8, cols: 8 });
    for (const max of [1, 7]) {
      await t.step(`peer maximum ${max}: a fatal line, an A-ABORT, exit 66`, async () => {
        let run = { code: -1, stdout: "", stderr: "" };
        const got = await fakeScp(max, async (port) => {
          run = await runTool("storescu", [HOST, String(port), file]);
        });
        assert.deepEqual(got.aborts, [{ type: "A-ABORT", source: 0, reason: 0 }]);
        assert.equal(got.pdus.length, 0, "nothing sent");
        // 66: the association failed, as when the peer aborts it (echoscu's code).
        assert.equal(run.code, 66, show(run));
        assert.ok(!/Uncaught/.test(run.stderr), run.stderr);
        assert.match(
          run.stderr,
          new RegExp(
            `^F: Association Request Failed: peer maximum PDU length ${max} is below 8`,
            "m",
          ),
        );
      });
    }
  });
});
