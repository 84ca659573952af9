/**
 * Small PDUs (commands, responses) are encoded into, and copied out of the
 * reader's staging buffer into, memory shared with other small PDUs (a
 * `Slab`) instead of a buffer each. What goes to the transport and what is
 * handed up must still be the caller's to keep: each test keeps thousands of
 * them (many slabs' worth, sizes around the 1 KiB limit) and checks them only
 * at the end, so a slab written again, or a view handed out twice, fails here.
 */
import assert from "node:assert/strict";
import { encodePdu } from "../../lib/pdu/codec.ts";
import { PduReader, type ReadPdu } from "../../lib/pdu/reader.ts";
import type { PDataTfPdu } from "../../lib/pdu/types.ts";
import { concatBytes, Slab } from "../../lib/util/bytes.ts";
import { requestorInSta6 } from "../../testing/ul_peer.ts";

const COUNT = 2000;

/** PDU `i`: one PDV of 0..1100 data bytes (PDUs from 12 bytes to past 1 KiB), distinct. */
function pdata(i: number): PDataTfPdu {
  const data = new Uint8Array((i * 37) % 1101);
  for (let k = 0; k < data.length; k++) data[k] = (i * 13 + k * 7) & 0xff;
  return {
    type: "P-DATA-TF",
    pdvs: [{ contextId: 1 + (i % 3), isCommand: i % 2 === 0, isLast: true, data }],
  };
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

Deno.test("Slab: pieces taken are distinct, zeroed, and a full block is replaced, not reused", () => {
  const slab = new Slab(64);
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < 100; i++) {
    const n = 1 + (i % 20);
    const at = slab.take(n);
    const piece = slab.bytes.subarray(at, at + n);
    assert.ok(piece.every((b) => b === 0), `piece ${i} is fresh memory`);
    assert.equal(slab.view.buffer, slab.bytes.buffer);
    piece.fill(i + 1);
    pieces.push(piece);
  }
  pieces.forEach((p, i) => assert.ok(p.every((b) => b === i + 1), `piece ${i} kept its bytes`));
});

Deno.test("lone small P-DATA-TFs: each write's bytes stay as sent while thousands follow", async () => {
  const h = await requestorInSta6();
  const written: Uint8Array[] = [];
  const write = h.ours.write.bind(h.ours);
  // The very views handed to the transport, kept (not copied).
  h.ours.write = (data: Uint8Array) => {
    written.push(data);
    return write(data);
  };
  for (let i = 0; i < COUNT; i++) {
    const pdu = pdata(i);
    const sent = h.assoc.sendPData(pdu);
    // The caller's data may be reused once sendPData returns: poison it.
    pdu.pdvs[0].data.fill(0xee);
    await sent;
    h.peer.drain();
  }
  assert.equal(written.length, COUNT);
  for (let i = 0; i < COUNT; i++) {
    assert.ok(same(written[i], encodePdu(pdata(i))), `PDU ${i} after all the writes`);
  }
  await h.assoc.abort();
});

Deno.test("small PDUs read through the staging buffer keep their bytes through later reads", () => {
  const stream = concatBytes(Array.from({ length: COUNT }, (_, i) => encodePdu(pdata(i))));
  const reader = new PduReader();
  const kept: ReadPdu[] = [];
  // Reads of odd sizes into the reader's room, as the upper layer makes them.
  for (let off = 0, n = 1; off < stream.length; n = (n * 7 + 93) % 3001 + 1) {
    const room = reader.room();
    const take = Math.min(n, room.length, stream.length - off);
    room.set(stream.subarray(off, off + take));
    off += take;
    reader.filled(take);
    for (let r = reader.next(); r !== null; r = reader.next()) kept.push(r);
  }
  assert.equal(kept.length, COUNT);
  for (let i = 0; i < COUNT; i++) {
    const pdv = (kept[i].pdu as PDataTfPdu).pdvs[0];
    assert.ok(same(pdv.data, pdata(i).pdvs[0].data), `PDV ${i} after all the reads`);
    assert.ok(same(kept[i].raw, encodePdu(pdata(i))), `PDU ${i} after all the reads`);
  }
});

Deno.test("a small P-DATA-TF split over reads (DCMTK writes a PDV header and its value apart) lands in slab memory and keeps its bytes", () => {
  const reader = new PduReader();
  const kept: ReadPdu[] = [];
  const read = (bytes: Uint8Array) => {
    const room = reader.room();
    room.set(bytes);
    reader.filled(bytes.length);
    for (let r = reader.next(); r !== null; r = reader.next()) kept.push(r);
  };
  for (let i = 0; i < COUNT; i++) {
    const raw = encodePdu(pdata(i));
    // DCMTK's order: the PDU header and the PDV item header (12 bytes), then the PDV's value.
    read(raw.subarray(0, 12));
    read(raw.subarray(12));
    assert.equal(kept.length, i + 1, `PDU ${i} is whole after its second read`);
  }
  for (let i = 0; i < COUNT; i++) {
    const raw = kept[i].raw;
    assert.ok(same(raw, encodePdu(pdata(i))), `PDU ${i} after all the reads`);
    assert.ok(same((kept[i].pdu as PDataTfPdu).pdvs[0].data, pdata(i).pdvs[0].data));
    // Up to 1 KiB: memory shared with other small PDUs, no ArrayBuffer of its own.
    if (raw.length <= 1024) assert.ok(raw.buffer.byteLength > raw.length, `PDU ${i} in a slab`);
  }
});
