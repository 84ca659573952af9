/**
 * P-DATA frames: a PDU buffer with room for N data bytes behind its headers,
 * so that data placed there (a file's data set read straight into it) is
 * sent without being copied. encodePdu writes the headers in place for a
 * frame's PDV, and never writes in front of any other PDV's data.
 */

import assert from "node:assert/strict";
import { decodePdu, encodePdu } from "../../lib/pdu/codec.ts";
import { PDATA_OVERHEAD, PDataFrame, PDataRun, RUN_FRONT } from "../../lib/pdu/pdata.ts";
import type { PDataTfPdu } from "../../lib/pdu/types.ts";
import { openDicomFile } from "../../lib/dicom/part10.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import {
  acceptAssociation,
  requestAssociation,
  type UlAssociation,
} from "../../lib/ul/association.ts";
import { memoryTransportPair } from "../../testing/memory_transport.ts";
import { associateAc, associateRq, recordingLogger } from "../../testing/ul_peer.ts";
import { writeImageFile } from "../../testing/dicom_files.ts";
import { hex } from "../../testing/hex.ts";

/** The same PDU with its data in a buffer of its own. */
function copied(pdu: PDataTfPdu): PDataTfPdu {
  return { ...pdu, pdvs: pdu.pdvs.map((p) => ({ ...p, data: p.data.slice() })) };
}

Deno.test("frame: the headers are written in front of the data, which is not copied", () => {
  const frame = new PDataFrame(8);
  frame.data.set([0xde, 0xad, 0xbe, 0xef]);
  const raw = encodePdu(frame.pdu(1, true, true, 4));
  // PS3.8 9.3.5: type 04, reserved, PDU-length 10; item-length 6, context 1, control 03.
  assert.deepEqual(raw, hex("04 00 0000000a 00000006 01 03 deadbeef"));
  assert.equal(raw.buffer, frame.bytes.buffer, "the frame's own bytes");
  assert.equal(raw.byteOffset, 0);
  frame.data[0] = 0x11;
  assert.equal(raw[PDATA_OVERHEAD], 0x11, "the PDU is the frame's memory, not a copy");

  for (const length of [0, 1, 2, 7, 8]) {
    for (const [isCommand, isLast] of [[false, false], [false, true], [true, false]]) {
      const f = new PDataFrame(8);
      for (let i = 0; i < 8; i++) f.data[i] = 0x40 + i;
      const pdu = f.pdu(255, isCommand, isLast, length);
      const expected = encodePdu(copied(pdu));
      const got = encodePdu(pdu);
      assert.deepEqual(got, expected, `${length} bytes`);
      assert.equal(got.buffer, f.bytes.buffer);
      assert.deepEqual(decodePdu(got.slice()), copied(pdu));
    }
  }
});

Deno.test("frame: any other PDV's data is copied, and nothing in front of it is written", () => {
  // Data 12 bytes into a buffer that is no frame: the bytes before it are the caller's.
  const plain = new Uint8Array(20).fill(0xaa);
  plain.set([1, 2, 3, 4], PDATA_OVERHEAD);
  const pdu: PDataTfPdu = {
    type: "P-DATA-TF",
    pdvs: [{ contextId: 3, isCommand: false, isLast: true, data: plain.subarray(12, 16) }],
  };
  const raw = encodePdu(pdu);
  assert.notEqual(raw.buffer, plain.buffer);
  assert.deepEqual(raw, encodePdu(copied(pdu)));
  assert.deepEqual(plain.subarray(0, 12), new Uint8Array(12).fill(0xaa));

  // A frame's data not right behind its headers, or with a second PDV: copied as well.
  const frame = new PDataFrame(16);
  const offset: PDataTfPdu = {
    type: "P-DATA-TF",
    pdvs: [{ contextId: 1, isCommand: false, isLast: false, data: frame.data.subarray(2, 6) }],
  };
  assert.notEqual(encodePdu(offset).buffer, frame.bytes.buffer);
  const two: PDataTfPdu = {
    type: "P-DATA-TF",
    pdvs: [...frame.pdu(1, false, false, 4).pdvs, { ...offset.pdvs[0], isLast: true }],
  };
  assert.notEqual(encodePdu(two).buffer, frame.bytes.buffer);
  assert.deepEqual(frame.bytes.subarray(0, PDATA_OVERHEAD), new Uint8Array(PDATA_OVERHEAD));

  // Gathered into a write buffer (the upper layer's batches): copied there.
  const into = new Uint8Array(64);
  const gathered = encodePdu(frame.pdu(1, false, true, 4), into);
  assert.equal(gathered.buffer, into.buffer);
  assert.deepEqual(frame.bytes.subarray(0, PDATA_OVERHEAD), new Uint8Array(PDATA_OVERHEAD));
});

Deno.test("frame: lengths it cannot hold are refused", () => {
  for (const bad of [-1, 1.5, 2 ** 32]) assert.throws(() => new PDataFrame(bad), RangeError);
  const frame = new PDataFrame(4);
  assert.throws(() => frame.pdu(1, false, true, 5), RangeError);
  assert.throws(() => frame.pdu(1, false, true, -1), RangeError);
});

Deno.test("frame: a file's data set read straight into frames goes out as they are", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dimse_frame_" });
  const [ours, theirs] = memoryTransportPair();
  try {
    const path = `${dir}/f.dcm`;
    await writeImageFile(path, {
      rows: 160,
      cols: 160,
      sopInstanceUid: "1.2.3.4",
      studyUid: "1.2.3.5",
      seriesUid: "1.2.3.6",
    });
    const bytes = await Deno.readFile(path);
    const sent: Uint8Array[] = [];
    const opts = (onPdu?: (dir: "sent" | "received", pdu: unknown, raw: Uint8Array) => void) => ({
      logger: recordingLogger(),
      artimTimeoutMs: 2000,
      onPdu,
    });
    const accepting = acceptAssociation(theirs, opts(), () => associateAc(16384));
    const requested = await requestAssociation(
      ours,
      associateRq(16384),
      opts((dir, _pdu, raw) => dir === "sent" && sent.push(raw)),
    );
    const accepted = await accepting;
    assert.equal(requested.kind, "accepted");
    assert.equal(accepted.kind, "accepted");
    const sender = (requested as { association: UlAssociation }).association;
    const receiver = (accepted as { association: UlAssociation }).association;

    const file = await openDicomFile(path, "file-only");
    using reader = file.dataset();
    const frames = [new PDataFrame(16384 - 6), new PDataFrame(16384 - 6)];
    const framed = new Set(frames.map((f) => f.bytes.buffer));
    sent.length = 0;
    for (let i = 0; reader.remaining > 0; i++) {
      // A frame is filled again once the PDU sent from it has been written.
      const frame = frames[i % 2];
      const n = reader.readInto(frame.data);
      await sender.sendPData(frame.pdu(1, false, reader.remaining === 0, n));
    }
    const received: Uint8Array[] = [];
    for (let last = false; !last;) {
      const ind = await receiver.receive();
      assert.equal(ind.kind, "p-data");
      const pdv = (ind as { pdu: PDataTfPdu }).pdu.pdvs[0];
      received.push(pdv.data);
      last = pdv.isLast;
    }
    assert.deepEqual(concatBytes(received), bytes.subarray(file.info.datasetOffset));
    assert.ok(sent.length > 2);
    assert.ok(sent.every((raw) => framed.has(raw.buffer)), "every PDU went out of its frame");
    await sender.abort();
  } finally {
    ours.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run: PDVs of pdvLength back to back behind RUN_FRONT bytes, each encoded in place", () => {
  const memory = new Uint8Array(PDataRun.size(6, 16) + 3);
  assert.equal(PDataRun.size(6, 16), RUN_FRONT + 16 + 3 * PDATA_OVERHEAD);
  const run = new PDataRun(memory, 6, 16);
  assert.equal(run.length, 16);
  assert.deepEqual(run.slots.map((s) => [s.byteOffset, s.length]), [
    [RUN_FRONT + 12, 6],
    [RUN_FRONT + 30, 6],
    [RUN_FRONT + 48, 4],
  ]);
  run.slots.forEach((s, i) => s.fill(i + 1));
  const pdus = run.pdus(5);
  assert.deepEqual(pdus.map((p) => p.pdvs[0].isLast), [false, false, true]);
  for (const [i, pdu] of pdus.entries()) {
    const alone = encodePdu(copied(pdu));
    const inPlace = encodePdu(pdu);
    // Written in front of the slot, the data where it was put: the bytes of the PDU.
    assert.equal(inPlace.buffer, memory.buffer);
    assert.equal(inPlace.byteOffset, run.slots[i].byteOffset - PDATA_OVERHEAD);
    assert.deepEqual(inPlace, alone);
  }
  // A view of a slot that is not the slot itself is copied, never written in front of.
  const view = run.slots[1].subarray(0);
  const other: PDataTfPdu = {
    type: "P-DATA-TF",
    pdvs: [{ contextId: 5, isCommand: false, isLast: false, data: view }],
  };
  assert.notEqual(encodePdu(other).buffer, memory.buffer);
});

Deno.test("run: pdus asked again with the same context and end are the same PDUs; other arguments make new ones, flagged as asked", () => {
  const run = new PDataRun(new Uint8Array(PDataRun.size(6, 16)), 6, 16);
  const ending = run.pdus(5);
  assert.equal(run.pdus(5, true), ending);
  const flags = (pdus: readonly PDataTfPdu[]) =>
    pdus.map((p) => [p.pdvs[0].contextId, p.pdvs[0].isLast]);
  const going = run.pdus(5, false);
  assert.notEqual(going, ending);
  assert.deepEqual(flags(going), [[5, false], [5, false], [5, false]]);
  const other = run.pdus(7, false);
  assert.deepEqual(flags(other), [[7, false], [7, false], [7, false]]);
  assert.deepEqual(flags(run.pdus(7)), [[7, false], [7, false], [7, true]]);
  // Always views of the slots, so that a refilled run goes out with its new bytes.
  assert.ok(run.pdus(7).every((p, i) => p.pdvs[0].data === run.slots[i]));
});

Deno.test("run: lengths that cannot be laid out are refused", () => {
  const memory = new Uint8Array(PDataRun.size(8, 100));
  for (const pdv of [0, 1, 7, 2.5]) assert.throws(() => new PDataRun(memory, pdv, 100), RangeError);
  for (const length of [0, -2, 1.5]) {
    assert.throws(() => new PDataRun(memory, 8, length), RangeError);
  }
  assert.throws(() => new PDataRun(memory.subarray(1), 8, 100), /needs/);
  assert.equal(new PDataRun(memory, 8, 100).slots.length, 13);
});
