/**
 * Mutators: each takes valid bytes and returns damaged bytes of the kinds
 * that have broken DICOM decoders (docs/SECURITY_CLASSES.md #3, #4, #6, #7, #9,
 * #11, #12): bit flips, boundary byte values, length fields set to
 * boundary values, truncation, duplication, splicing of two inputs, and
 * inserted PDU headers, item headers and DICOM item/delimitation tags.
 *
 * @module
 */

import { concatBytes } from "../../lib/util/bytes.ts";
import type { Rng } from "./prng.ts";

/** A length field of an input, found by a structure walker. */
export interface LengthField {
  offset: number;
  size: 2 | 4;
  littleEndian: boolean;
}

/** What the mutators may know of an input's structure. */
export interface Structure {
  /** Known length fields (PDU, item, PDV lengths...); empty: guessed. */
  lengthFields?: (bytes: Uint8Array) => LengthField[];
  /** Byte order used when a length field has to be guessed. */
  littleEndian: boolean;
  /** Header bytes worth inserting (PDU types, item types, item tags). */
  inserts: readonly Uint8Array[];
}

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];

function readLength(bytes: Uint8Array, f: LengthField): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return f.size === 2
    ? v.getUint16(f.offset, f.littleEndian)
    : v.getUint32(f.offset, f.littleEndian);
}

function writeLength(bytes: Uint8Array, f: LengthField, value: number): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (f.size === 2) v.setUint16(f.offset, value & 0xffff, f.littleEndian);
  else v.setUint32(f.offset, value >>> 0, f.littleEndian);
}

/**
 * A length field to edit: a known one, or a guess (a 16- or 32-bit value
 * that does not exceed the bytes after it, as a real length would not).
 */
function chooseLengthField(bytes: Uint8Array, s: Structure, rng: Rng): LengthField | undefined {
  const known = s.lengthFields?.(bytes) ?? [];
  if (known.length > 0 && rng.chance(0.8)) return rng.pick(known);
  for (let tries = 0; tries < 16; tries++) {
    const size = rng.chance(0.5) ? 2 : 4;
    if (bytes.length < size) return undefined;
    const f: LengthField = {
      offset: rng.below(bytes.length - size + 1),
      size,
      littleEndian: rng.chance(0.8) ? s.littleEndian : !s.littleEndian,
    };
    const v = readLength(bytes, f);
    if (v > 0 && v <= bytes.length - f.offset - size) return f;
  }
  return undefined;
}

/** The boundary values a length field is set to. */
function boundaryLength(current: number, f: LengthField, bytes: Uint8Array, rng: Rng): number {
  const rest = bytes.length - f.offset - f.size;
  const max = f.size === 2 ? 0xffff : 0xffffffff;
  return rng.pick([
    0,
    1,
    2,
    current - 1,
    current + 1,
    current + 2,
    rest,
    rest + 1,
    0xffff,
    max,
    max - 1,
    0x7fffffff,
    0x80000000,
    current * 2,
  ]);
}

type Mutator = (bytes: Uint8Array, rng: Rng, s: Structure, other: () => Uint8Array) => Uint8Array;

const MUTATORS: readonly Mutator[] = [
  function bitFlips(b, rng) {
    const out = b.slice();
    for (let k = 1 + rng.below(8); k > 0 && out.length > 0; k--) {
      out[rng.below(out.length)] ^= 1 << rng.below(8);
    }
    return out;
  },
  function interestingByte(b, rng) {
    const out = b.slice();
    if (out.length > 0) out[rng.below(out.length)] = rng.pick(INTERESTING_BYTES);
    return out;
  },
  function lengthEdit(b, rng, s) {
    const f = chooseLengthField(b, s, rng);
    if (!f) return b;
    const out = b.slice();
    writeLength(out, f, boundaryLength(readLength(b, f), f, b, rng));
    return out;
  },
  function truncate(b, rng) {
    return b.slice(0, rng.below(b.length + 1));
  },
  function cutRange(b, rng) {
    if (b.length === 0) return b;
    const at = rng.below(b.length);
    const n = 1 + rng.below(Math.min(64, b.length - at));
    return concatBytes([b.subarray(0, at), b.subarray(at + n)]);
  },
  function duplicate(b, rng) {
    if (b.length === 0) return b;
    const from = rng.below(b.length);
    const n = 1 + rng.below(Math.min(256, b.length - from));
    const to = rng.below(b.length + 1);
    return concatBytes([b.subarray(0, to), b.subarray(from, from + n), b.subarray(to)]);
  },
  function splice(b, rng, _s, other) {
    const o = other();
    return concatBytes([
      b.subarray(0, rng.below(b.length + 1)),
      o.subarray(rng.below(o.length + 1)),
    ]);
  },
  function insertHeader(b, rng, s) {
    const header = rng.pick(s.inserts).slice();
    // The header's trailing length (if any) gets a random or boundary value.
    if (header.length >= 4 && rng.chance(0.5)) {
      const v = new DataView(header.buffer);
      const at = header.length - 4;
      v.setUint32(at, rng.pick([0, 1, 4, 0xffffffff, rng.below(b.length + 8)]), s.littleEndian);
    }
    const to = rng.below(b.length + 1);
    return concatBytes([b.subarray(0, to), header, b.subarray(to)]);
  },
  function randomRange(b, rng) {
    const out = b.slice();
    if (out.length === 0) return out;
    const at = rng.below(out.length);
    const end = Math.min(out.length, at + 1 + rng.below(16));
    for (let i = at; i < end; i++) out[i] = rng.below(256);
    return out;
  },
];

/**
 * One to four stacked mutations of `base`; `other` supplies a second
 * input for splicing.
 */
export function mutate(
  base: Uint8Array,
  rng: Rng,
  s: Structure,
  other: () => Uint8Array,
): Uint8Array {
  let b = base;
  for (let k = 1 + rng.below(rng.chance(0.7) ? 2 : 4); k > 0; k--) {
    b = rng.pick(MUTATORS)(b, rng, s, other);
  }
  return b;
}
