/**
 * Byte helpers every layer shares: joining buffers, text as one byte per
 * character (AE titles and UIDs in PDUs, ISO 646 text in data sets), and
 * integers read by hand from bytes (no DataView: one needs its bytes off
 * the heap, an allocation of its own per buffer).
 *
 * @module
 */

/** Bytes as a string, one character per byte (lossless for any byte value). */
export function latin1(b: Uint8Array): string {
  // In slices of one call each (not a string grown per byte): UIDs, AE titles and names are
  // short, and a whole A-ASSOCIATE-RQ holds hundreds of them.
  if (b.length <= LATIN1_SLICE) return String.fromCharCode.apply(null, b as unknown as number[]);
  let s = "";
  for (let i = 0; i < b.length; i += LATIN1_SLICE) {
    s += String.fromCharCode.apply(null, b.subarray(i, i + LATIN1_SLICE) as unknown as number[]);
  }
  return s;
}

/** Bytes turned into characters by one call (well below any engine's limit on arguments). */
const LATIN1_SLICE = 4096;

/** A string of characters U+0000..U+00FF as one byte each; RangeError otherwise. */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new RangeError(`character U+${c.toString(16)} cannot be sent in a PDU`);
    out[i] = c;
  }
  return out;
}

/** Joins byte arrays into one new array (one allocation, one copy of each part). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * The unsigned 16-bit integer at `at`: little-endian in data sets and command
 * sets of a little-endian syntax (PS3.5 7.3), big-endian in PDUs (PS3.8 9.3.1).
 */
export function readU16(b: Uint8Array, at: number, littleEndian: boolean): number {
  return littleEndian ? b[at] | (b[at + 1] << 8) : (b[at] << 8) | b[at + 1];
}

/** The unsigned 32-bit integer at `at`, in the byte order given (see {@link readU16}). */
export function readU32(b: Uint8Array, at: number, littleEndian: boolean): number {
  return littleEndian
    ? (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0
    : ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/**
 * Memory handed out in small pieces that are never written again by us: each
 * `take` gets the next unused bytes of the current block, and a full block is
 * left to the garbage collector with the last view of it. Small encoded
 * messages (command sets, lone command PDUs) then cost a view instead of an
 * ArrayBuffer of their own (in Deno a backing store and its bookkeeping, the
 * dearest part of encoding one), and nobody's bytes change under them, so
 * they may be kept (a test double, a dump) as freely as a buffer of their own.
 * A kept view pins at most one block.
 */
export class Slab {
  /** The current block: bytes from `take`'s answer on are the caller's to write, once. */
  bytes: Uint8Array = new Uint8Array(0);
  /** A DataView of `bytes` (made once per block). */
  view: DataView = new DataView(this.bytes.buffer);
  #used = 0;
  readonly #blockSize: number;

  /** `blockSize`: bytes per block; nothing larger may be taken. */
  constructor(blockSize: number) {
    this.#blockSize = blockSize;
  }

  /**
   * Reserves `length` bytes (at most the block size) and returns where they
   * start in `bytes` (which may be a new block: read `bytes` and `view` after).
   */
  take(length: number): number {
    if (this.#used + length > this.bytes.length) {
      this.bytes = new Uint8Array(this.#blockSize);
      this.view = new DataView(this.bytes.buffer);
      this.#used = 0;
    }
    const at = this.#used;
    this.#used += length;
    return at;
  }

  /** A copy of `src` (at most the block size) in memory of this slab. */
  copy(src: Uint8Array): Uint8Array {
    const at = this.take(src.length);
    const out = this.bytes.subarray(at, at + src.length);
    out.set(src);
    return out;
  }
}
