/**
 * The reader reading into its own memory (issue 15's receive path): reads
 * land in `room()` (a reused staging buffer, or straight into the PDU under
 * way), and P-DATA-TFs of data at our maximum length are lent (a view of
 * the staging buffer, or a buffer of a pool) until the last consumer gives
 * them back with `release()`. What the reader hands out must stay intact
 * while it reads on, and lent memory must be read into again only once
 * everything lent from it is released: each test poisons the memory that
 * may be reused and checks what it was given, byte for byte.
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

/** 32 full 16 KiB data PDUs from `from` on, read in reads of 256 KiB. */
function burst(reader: PduReader, from: number): ReadPdu[] {
  return readByRoom(
    reader,
    concatBytes(Array.from({ length: 32 }, (_, i) => encodePdu(pdata(from + i, 16_372)))),
    () => 256 * 1024,
  );
}

/** The data of the first PDV of a read P-DATA-TF. */
const dataOf = (r: ReadPdu) => (r.pdu as PDataTfPdu).pdvs[0].data;

Deno.test("stage: data PDUs are lent from the staging buffer, which is read into again only once all are released, and each is poisoned when given back", () => {
  const reader = new PduReader();
  reader.setMaxPDataLength(16_384);
  // Reads that fill the stage grow it to 256 KiB.
  for (const r of burst(reader, 1000)) r.release?.();
  const stream = concatBytes([
    encodePdu(pdata(1, 16_372)), // full data PDUs: lent from the stage
    encodePdu(pdata(2, 16_372)),
    encodePdu(pdata(3, 16_372)),
    encodePdu(pdata(4, 16_372)),
    encodePdu(pdata(5, 16_372, true)), // a command: copied out, never lent
    encodePdu(pdata(6, 100)), // small: copied out, never lent
  ]);
  const want = (i: number) => pdata(i, 16_372).pdvs[0].data;
  poisonReleasedBuffers(POISON);
  try {
    const stage = reader.room();
    // One read; readByRoom then poisons whatever the reader would read into next.
    const all = readByRoom(reader, stream, () => stream.length);
    assert.equal(all.length, 6);
    const [a, b, c, d, command, small] = all;
    for (const r of [a, b, c, d]) {
      assert.ok(r.release, "a full data PDU is lent");
      assert.equal(r.raw.buffer, stage.buffer, "a view of the stage: not copied");
    }
    for (const r of [command, small]) {
      assert.equal(r.release, undefined);
      assert.notEqual(r.raw.buffer, stage.buffer, "copied out of the stage");
    }
    assert.notEqual(reader.room().buffer, stage.buffer, "a stage with PDUs lent is not read into");
    for (const [i, r] of all.entries()) {
      assert.ok(same(dataOf(r), pdata(i + 1, i === 5 ? 100 : 16_372).pdvs[0].data), `PDU ${i}`);
    }
    // Released: poisoned at once; the others keep their bytes while the reader reads on.
    a.release!();
    assert.ok(dataOf(a).every((x) => x === POISON), "a released PDU is poisoned");
    a.release!(); // a second call does nothing
    const more = readByRoom(
      reader,
      concatBytes([encodePdu(pdata(7, 16_372)), encodePdu(pdata(8, 16_372))]),
      () => 40_000,
    );
    for (const r of more) assert.notEqual(r.raw.buffer, stage.buffer, "b, c, d are still lent");
    for (const [i, r] of [b, c, d].entries()) {
      assert.ok(same(dataOf(r), want(i + 2)), `PDU ${i + 2}`);
    }
    assert.ok(same(dataOf(more[0]), want(7)));
    assert.ok(same(dataOf(more[1]), want(8)));
    // All of its PDUs back: the stage is read into again, and only then.
    b.release!();
    c.release!();
    for (const r of more) r.release?.();
    assert.ok(same(dataOf(d), want(4)));
    assert.notEqual(reader.room().buffer, stage.buffer, "d is still lent");
    d.release!();
    const again = burst(reader, 2000);
    assert.ok(again.some((r) => r.raw.buffer === stage.buffer), "the stage is reused");
    for (const [i, r] of again.entries()) {
      assert.ok(same(dataOf(r), pdata(2000 + i, 16_372).pdvs[0].data), `burst PDU ${i}`);
    }
    for (const r of [command, small]) assert.ok(!r.raw.every((x) => x === POISON));
  } finally {
    poisonReleasedBuffers(undefined);
  }
});

Deno.test("stage: every buffer the upper layer can hold at once comes back, so a burst read again takes no fresh memory", () => {
  const reader = new PduReader();
  reader.setMaxPDataLength(16_384);
  for (const r of burst(reader, 1000)) r.release?.();
  // 32 full 16 KiB PDUs held at once: the upper layer's 256 KiB queue plus the PDUs of one
  // 256 KiB staging read, handed on before it looks at its queue again.
  const first = burst(reader, 0);
  const seen = new Set(first.map((r) => r.raw.buffer));
  for (const r of first) assert.ok(r.release, "lent");
  for (const r of first) r.release!();
  seen.add(reader.room().buffer);
  for (let round = 1; round <= 3; round++) {
    const again = burst(reader, 100 * round);
    for (const [i, r] of again.entries()) {
      assert.ok(seen.has(r.raw.buffer), `round ${round}: PDU ${i} in fresh memory`);
      assert.ok(same(dataOf(r), pdata(100 * round + i, 16_372).pdvs[0].data));
    }
    for (const r of again) r.release?.();
  }
});

/**
 * `count` full data PDUs at our maximum length, read as a socket with more
 * always queued reads them (each read fills the room given); for each read:
 * the room's length and the PDUs it completed.
 */
function bulk(max: number, count: number): { room: Uint8Array; got: ReadPdu[] }[] {
  const reader = new PduReader();
  reader.setMaxPDataLength(max);
  const stream = concatBytes(Array.from({ length: count }, (_, i) => encodePdu(pdata(i, max - 6))));
  const reads: { room: Uint8Array; got: ReadPdu[] }[] = [];
  let done = 0;
  for (let at = 0; at < stream.length;) {
    const room = reader.room();
    const n = Math.min(room.length, stream.length - at);
    room.set(stream.subarray(at, at + n));
    at += n;
    reader.filled(n);
    const got: ReadPdu[] = [];
    for (let r = reader.next(); r !== null; r = reader.next()) got.push(r);
    reads.push({ room, got });
    for (const r of got) {
      assert.ok(same(dataOf(r), pdata(done++, max - 6).pdvs[0].data), `${max}: PDU ${done - 1}`);
      r.release?.();
    }
  }
  assert.equal(done, count);
  return reads;
}

Deno.test("stage: a bulk transfer at our maximum length is read in whole PDUs, each lent from the stage, none copied out", () => {
  for (const max of [16_384, 65_536, 131_072]) {
    const size = max + 6;
    // 2 MiB: the stage's growth, then eight reads or more at its full size.
    const reads = bulk(max, Math.ceil(2 * 1024 * 1024 / size));
    // The stage grows with the first reads; from the first read of whole PDUs into it on,
    // every read is of whole PDUs, all lent (the last one takes what is left).
    const first = reads.findIndex(({ room }) => room.length >= 128 * 1024);
    const steady = reads.slice(first + 1, -1);
    assert.ok(steady.length >= 4, `${max}: reads at full size`);
    for (const [i, { room, got }] of steady.entries()) {
      assert.equal(room.length % size, 0, `${max}: read ${i} ends on a PDU's end`);
      assert.ok(room.length >= 128 * 1024, `${max}: read ${i} is large (${room.length})`);
      assert.equal(got.length, room.length / size, `${max}: read ${i} completes its PDUs`);
      for (const r of got) {
        assert.ok(r.release, `${max}: read ${i}: lent`);
        assert.equal(
          r.raw.buffer,
          room.buffer,
          `${max}: read ${i}: a view of the stage, not copied`,
        );
      }
    }
  }
});

Deno.test("stage: PDUs held across reads of every size keep their bytes, at 16 and 128 KiB maxima", () => {
  poisonReleasedBuffers(POISON);
  try {
    for (const max of [16_384, 131_072]) {
      const lengths = [max - 6, max - 6, max - 6, 2, 100, max - 6, 4090, max / 2, max - 6];
      const pdus = Array.from(
        { length: 150 },
        (_, i) => pdata(i, lengths[i % lengths.length], i % 37 === 5),
      );
      const stream = concatBytes(pdus.map((p) => encodePdu(p)));
      for (const seed of [1, 2, 3]) {
        const reader = new PduReader();
        reader.setMaxPDataLength(max);
        const next = sizes(seed);
        // PDUs still held, and after how many more reads each is given back.
        const held: { r: ReadPdu; i: number; left: number }[] = [];
        let count = 0;
        const check = (r: ReadPdu, i: number, when: string) =>
          assert.ok(same(r.raw, encodePdu(pdus[i])), `${max}/${seed}: PDU ${i} ${when}`);
        for (let at = 0; at < stream.length;) {
          const room = reader.room();
          // Reads as large as the room (a full socket) or of any size below it.
          const n = Math.min(
            room.length,
            seed % 2 === 0 ? room.length : next(),
            stream.length - at,
          );
          room.set(stream.subarray(at, at + n));
          at += n;
          reader.filled(n);
          for (let r = reader.next(); r !== null; r = reader.next()) {
            check(r, count, "on arrival");
            held.push({ r, i: count, left: count % 5 });
            count++;
          }
          for (const h of held.splice(0)) {
            if (h.left-- > 0) held.push(h);
            else {
              check(h.r, h.i, "when given back");
              h.r.release?.();
            }
          }
          // Whatever the reader reads into next must be no PDU still held.
          reader.room().fill(POISON);
        }
        for (const h of held) check(h.r, h.i, "at the end");
        assert.equal(count, pdus.length);
      }
    }
  } finally {
    poisonReleasedBuffers(undefined);
  }
});
