/**
 * The reader reading into its own memory (issue 15's receive path): reads
 * land in `room()` (a reused staging buffer, or straight into the PDU under
 * way), and P-DATA-TFs of data at our maximum length come in buffers of a
 * pool that the last consumer gives back with `release()`. What the reader
 * hands out must stay intact while its staging buffer is read into again,
 * and a pool buffer must be reused only once released: each test poisons
 * the memory that may be reused and checks what it was given, byte for byte.
 */

import assert from "node:assert/strict";
import { encodePdu } from "../../lib/pdu/codec.ts";
import { PduReader, poisonReleasedBuffers, type ReadPdu } from "../../lib/pdu/reader.ts";
import type { PDataTfPdu, Pdu } from "../../lib/pdu/types.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import { PDU_VECTORS } from "../../testing/pdu_vectors.ts";

const POISON = 0xee;

/** Byte equality, without a diff of large arrays in the failure message. */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A P-DATA-TF of one PDV whose data (`n` bytes, `n` even) tells `seed` apart. */
function pdata(seed: number, n: number, isCommand = false): PDataTfPdu {
  const data = new Uint8Array(n);
  for (let k = 0; k < n; k++) data[k] = (seed * 131 + k * 7 + (k >> 9)) & 0xff;
  return { type: "P-DATA-TF", pdvs: [{ contextId: 1, isCommand, isLast: false, data }] };
}

/** A deterministic generator of read sizes. */
function sizes(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const kind = x % 4;
    return kind === 0 ? 1 + (x % 7) : kind === 1 ? 1 + (x % 5000) : 1 + (x % 200_000);
  };
}

/**
 * Feeds `stream` through room()/filled() in reads of the sizes `next` gives
 * (never more than the room), poisoning the staging buffer after every
 * read's PDUs are taken; returns every PDU.
 */
function readByRoom(reader: PduReader, stream: Uint8Array, next: () => number): ReadPdu[] {
  const out: ReadPdu[] = [];
  let at = 0;
  while (at < stream.length) {
    const room = reader.room();
    const n = Math.min(room.length, next(), stream.length - at);
    room.set(stream.subarray(at, at + n));
    at += n;
    reader.filled(n);
    for (let r = reader.next(); r !== null; r = reader.next()) out.push(r);
    // Whatever the reader reads into next, nothing handed out may be a view of it.
    const again = reader.room();
    if (again.length > 0) again.fill(POISON);
  }
  return out;
}

Deno.test("room/filled: PDUs of every kind and size arrive byte for byte, and keep their bytes while the reader reads on", () => {
  const pdus: Pdu[] = [];
  for (let i = 0; i < 120; i++) {
    const n = [2, 16, 4090, 16_378, 16_384, 40_000, 131_066, 200_000][i % 8];
    pdus.push(pdata(i, n, i % 11 === 3));
  }
  const bytes = pdus.map((p) => encodePdu(p));
  const all = [...PDU_VECTORS.map((v) => v.bytes), ...bytes];
  const stream = concatBytes(all);
  for (const seed of [1, 2, 3, 4]) {
    const reader = new PduReader({ maxPDataLength: 0 });
    const got = readByRoom(reader, stream, sizes(seed));
    assert.equal(got.length, all.length);
    for (const [i, r] of got.entries()) {
      assert.ok(same(r.raw, all[i]), `PDU ${i} (seed ${seed}) changed`);
    }
  }
});

Deno.test("room/filled: a PDU far from complete is read straight into its own buffer", () => {
  const reader = new PduReader({ maxPDataLength: 131_072 });
  const pdu = encodePdu(pdata(7, 100_000));
  let room = reader.room();
  room.set(pdu.subarray(0, 1000));
  reader.filled(1000);
  assert.equal(reader.next(), null);
  room = reader.room();
  // The rest of this PDU, and nothing more: the bytes that follow are another PDU's.
  assert.equal(room.length, pdu.length - 1000);
  room.set(pdu.subarray(1000));
  reader.filled(pdu.length - 1000);
  const r = reader.next()!;
  assert.ok(same(r.raw, pdu));
  assert.equal(r.raw.buffer, room.buffer, "read in place, not copied");
});

Deno.test("room/filled: a header claiming more than our maximum is refused before anything is allocated for it", () => {
  const reader = new PduReader({ maxPDataLength: 16_384 });
  const header = Uint8Array.of(0x04, 0, 0, 0, 0x40, 0x01); // 16,385 bytes
  const room = reader.room();
  room.set(header);
  reader.filled(header.length);
  assert.throws(() => reader.next(), /exceeds our maximum length received of 16384/);
});

Deno.test("pool: a P-DATA buffer is reused only after release, once, and poisoned when given back", () => {
  const reader = new PduReader();
  reader.setMaxPDataLength(16_384);
  const stream = concatBytes([
    encodePdu(pdata(1, 16_372)), // a full PDU: pool
    encodePdu(pdata(2, 16_372)),
    encodePdu(pdata(3, 16_372)),
    encodePdu(pdata(4, 16_372)),
    encodePdu(pdata(5, 16_372, true)), // a command: never pooled
    encodePdu(pdata(6, 100)), // small: exact memory, never pooled
  ]);
  const want = (i: number) => pdata(i, 16_372).pdvs[0].data;
  poisonReleasedBuffers(POISON);
  try {
    const all = readByRoom(reader, stream, () => 16_390 * 6);
    assert.equal(all.length, 6);
    const [a, b, c, d, command, small] = all;
    for (const r of [a, b, c, d]) assert.ok(r.release, "a full data PDU is lent from the pool");
    assert.equal(command.release, undefined);
    assert.equal(small.release, undefined);
    assert.equal(new Set([a, b, c, d].map((r) => r.raw.buffer)).size, 4, "four distinct buffers");
    // Released: poisoned at once, and the next PDU read into it.
    const aData = (a.pdu as PDataTfPdu).pdvs[0].data;
    assert.ok(same(aData, want(1)));
    a.release!();
    assert.ok(aData.every((x) => x === POISON), "a released buffer is poisoned");
    a.release!(); // a second call does nothing
    for (const [i, r] of [b, c, d].entries()) {
      assert.ok(same((r.pdu as PDataTfPdu).pdvs[0].data, want(i + 2)), `PDU ${i + 2} intact`);
    }
    const more = readByRoom(
      reader,
      concatBytes([encodePdu(pdata(7, 16_372)), encodePdu(pdata(8, 16_372))]),
      () => 40_000,
    );
    assert.equal(more[0].raw.buffer, a.raw.buffer, "the released buffer is reused");
    assert.notEqual(more[1].raw.buffer, a.raw.buffer, "given back once, used once");
    for (const r of [b, c, d]) assert.notEqual(more[1].raw.buffer, r.raw.buffer);
    assert.ok(same((more[0].pdu as PDataTfPdu).pdvs[0].data, want(7)));
    assert.ok(same((more[1].pdu as PDataTfPdu).pdvs[0].data, want(8)));
    for (const [i, r] of [b, c, d].entries()) {
      assert.ok(same((r.pdu as PDataTfPdu).pdvs[0].data, want(i + 2)), `PDU ${i + 2} intact`);
    }
  } finally {
    poisonReleasedBuffers(undefined);
  }
});

Deno.test("pool: every buffer the upper layer can hold at once comes back, so a burst read again takes no fresh memory", () => {
  const reader = new PduReader();
  reader.setMaxPDataLength(16_384);
  // 32 full 16 KiB PDUs held at once: the upper layer's 256 KiB queue plus the PDUs of one
  // 256 KiB staging read, handed on before it looks at its queue again.
  const burst = (from: number) =>
    readByRoom(
      reader,
      concatBytes(Array.from({ length: 32 }, (_, i) => encodePdu(pdata(from + i, 16_372)))),
      () => 256 * 1024,
    );
  const first = burst(0);
  const lent = new Set(first.map((r) => r.raw.buffer));
  assert.equal(lent.size, 32, "32 distinct buffers lent");
  for (const r of first) r.release!();
  const again = burst(100);
  for (const [i, r] of again.entries()) {
    assert.ok(lent.has(r.raw.buffer), `PDU ${i} of the second burst in a fresh buffer`);
    assert.ok(same((r.pdu as PDataTfPdu).pdvs[0].data, pdata(100 + i, 16_372).pdvs[0].data));
  }
  assert.equal(new Set(again.map((r) => r.raw.buffer)).size, 32, "each buffer used once");
});
