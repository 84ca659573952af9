/**
 * Big-endian byte writer and bounds-checked reader for the upper-layer PDUs
 * (PS3.8 9.3.1: every multi-byte field is big-endian, "most significant
 * byte first"), plus the field combinators the item and PDU codecs are built
 * from.
 *
 * @module
 */

import { PduDecodeError } from "./errors.ts";
import { ABORT_REASON } from "./types.ts";
import { latin1Bytes, readU16, readU32 } from "../util/bytes.ts";

/** Encodes ASCII text as its bytes (see {@link ByteWriter.latin1}). */
const ASCII = new TextEncoder();

const INVALID = ABORT_REASON.invalidPduParameterValue;

/** A growable writer. Lengths are back-patched by {@link ByteWriter.lengthPrefixed}. */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;

  /**
   * Writes into `target` when given (from its start; a new buffer is taken
   * only if the output outgrows it), else into a buffer of `target` bytes
   * that grows as needed.
   */
  constructor(target: number | Uint8Array = 256) {
    this.#buf = typeof target === "number" ? new Uint8Array(target) : target;
    this.#view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
  }

  #reserve(n: number): number {
    const at = this.#len;
    const need = at + n;
    if (need > this.#buf.length) {
      const grown = new Uint8Array(Math.max(need, this.#buf.length * 2));
      grown.set(this.#buf.subarray(0, at));
      this.#buf = grown;
      this.#view = new DataView(grown.buffer);
    }
    this.#len = need;
    return at;
  }

  u8(v: number): void {
    checkUint(v, 0xff, "8-bit field");
    const at = this.#reserve(1);
    this.#buf[at] = v;
  }

  u16(v: number): void {
    checkUint(v, 0xffff, "16-bit field");
    const at = this.#reserve(2);
    this.#view.setUint16(at, v);
  }

  u32(v: number): void {
    checkUint(v, 0xffffffff, "32-bit field");
    const at = this.#reserve(4);
    this.#view.setUint32(at, v);
  }

  bytes(b: Uint8Array): void {
    // #reserve may replace #buf, so it must run before #buf is read.
    const at = this.#reserve(b.length);
    // Bytes already where they go (a P-DATA frame's data) are not copied onto themselves.
    if (b.buffer === this.#buf.buffer && b.byteOffset === this.#buf.byteOffset + at) return;
    this.#buf.set(b, at);
  }

  /**
   * A string of characters U+0000..U+00FF, one byte each; RangeError
   * otherwise (as {@link latin1Bytes}). ASCII, which every UID and most AE
   * titles are, goes through one native `encodeInto` instead of a new array
   * and a loop per character: a 128-context A-ASSOCIATE-RQ holds about 400
   * UIDs, encoded in a process's first association.
   */
  latin1(s: string): void {
    const at = this.#reserve(s.length);
    const into = this.#buf.subarray(at, this.#len);
    const { read, written } = ASCII.encodeInto(s, into);
    // Not all ASCII: UTF-8 is not Latin-1, so the bytes are made one per character.
    if (read !== s.length || written !== s.length) into.set(latin1Bytes(s));
  }

  zeros(n: number): void {
    const at = this.#reserve(n);
    this.#buf.fill(0, at, this.#len);
  }

  /**
   * Writes a `size`-byte length field, runs `body`, then patches the field
   * with the number of bytes `body` wrote. The encoder never trusts a stored
   * length (PS3.8 9.3.1). Throws RangeError if the body does not fit.
   */
  lengthPrefixed(size: 2 | 4, body: () => void): void {
    const at = this.#reserve(size);
    body();
    const n = this.#len - at - size;
    if (size === 2) {
      checkUint(n, 0xffff, "16-bit length");
      this.#view.setUint16(at, n);
    } else {
      checkUint(n, 0xffffffff, "32-bit length");
      this.#view.setUint32(at, n);
    }
  }

  /** The bytes written, as a view of exactly that length. */
  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }
}

function checkUint(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`${what}: ${v} is not an integer in 0..${max}`);
  }
}

/**
 * A cursor over `bytes[start, end)`. Every read checks the remaining bytes
 * first and throws PduDecodeError(invalidPduParameterValue) past the end, so
 * no declared length is ever used before it is checked.
 */
export class ByteReader {
  #pos: number;

  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    readonly end = bytes.length,
    /** Named in error messages, e.g. "user information item". */
    readonly what = "PDU",
  ) {
    this.#pos = start;
  }

  get remaining(): number {
    return this.end - this.#pos;
  }

  #take(n: number): number {
    if (n > this.remaining) {
      throw new PduDecodeError(
        `${this.what}: needs ${n} more bytes but only ${this.remaining} remain`,
        INVALID,
      );
    }
    const at = this.#pos;
    this.#pos += n;
    return at;
  }

  u8(): number {
    return this.bytes[this.#take(1)];
  }

  u16(): number {
    const at = this.#take(2);
    return readU16(this.bytes, at, false);
  }

  u32(): number {
    const at = this.#take(4);
    return readU32(this.bytes, at, false);
  }

  /** The next `n` bytes as a view (no copy). */
  bytesView(n: number): Uint8Array {
    const at = this.#take(n);
    return this.bytes.subarray(at, at + n);
  }

  /** Everything left, as a view. */
  rest(): Uint8Array {
    return this.bytesView(this.remaining);
  }

  skip(n: number): void {
    this.#take(n);
  }

  /** A reader over the next `n` bytes (checked against what remains), which this one skips. */
  sub(n: number, what: string): ByteReader {
    const at = this.#take(n);
    return new ByteReader(this.bytes, at, at + n, what);
  }

  /** Throws unless every byte was consumed (a fixed layout with trailing bytes is malformed). */
  expectEnd(): void {
    if (this.remaining !== 0) {
      throw new PduDecodeError(
        `${this.what}: ${this.remaining} unexpected trailing bytes`,
        INVALID,
      );
    }
  }
}

/** One field of a byte layout: how to read it and how to write it. */
export interface Field<V> {
  read(r: ByteReader): V;
  write(w: ByteWriter, v: V): void;
}

export const u8: Field<number> = { read: (r) => r.u8(), write: (w, v) => w.u8(v) };
export const u16: Field<number> = { read: (r) => r.u16(), write: (w, v) => w.u16(v) };
export const u32: Field<number> = { read: (r) => r.u32(), write: (w, v) => w.u32(v) };

/** A one-byte flag: 0 false, anything else true when read; written as 0 or 1. */
export const flag: Field<boolean> = {
  read: (r) => r.u8() !== 0,
  write: (w, v) => w.u8(v ? 1 : 0),
};

/** `n` reserved bytes: written as zeros, not tested when read (PS3.8 9.3.1). */
export function reserved(n: number): Field<void> {
  return { read: (r) => r.skip(n), write: (w) => w.zeros(n) };
}

/** Bytes preceded by their 2-byte length (e.g. PS3.7 D.3.3.7 primary field). */
export const bytes16: Field<Uint8Array> = {
  read: (r) => r.bytesView(r.u16()),
  write: (w, v) => w.lengthPrefixed(2, () => w.bytes(v)),
};

/** All the bytes up to the end of the enclosing item. */
export const bytesRest: Field<Uint8Array> = {
  read: (r) => r.rest(),
  write: (w, v) => w.bytes(v),
};

/**
 * A value that takes no bytes: the PDU type in a record, which the 6-byte
 * header already carries.
 */
export function constant<const V>(value: V): Field<V> {
  return { read: () => value, write: () => {} };
}

/** A field of some other type carried by `field`, with conversions both ways. */
export function mapped<A, B>(field: Field<A>, read: (a: A) => B, write: (b: B) => A): Field<B> {
  return {
    read: (r) => read(field.read(r)),
    write: (w, v) => field.write(w, write(v)),
  };
}

/** A named field of a record, or an anonymous (reserved) one. */
export type Entry<T> = { [K in keyof T]: readonly [K, Field<T[K]>] }[keyof T] | Field<void>;

/**
 * A record laid out as the given fields in order: the table form lets each
 * entry sit next to the byte offsets the standard gives for it.
 */
export function record<T>(...entries: Entry<T>[]): Field<T> {
  return {
    read(r) {
      const out: Partial<T> = {};
      for (const e of entries) {
        if (Array.isArray(e)) {
          const [key, field] = e as readonly [keyof T, Field<T[keyof T]>];
          out[key] = field.read(r);
        } else (e as Field<void>).read(r);
      }
      return out as T;
    },
    write(w, v) {
      for (const e of entries) {
        if (Array.isArray(e)) {
          const [key, field] = e as readonly [keyof T, Field<T[keyof T]>];
          field.write(w, v[key]);
        } else (e as Field<void>).write(w, undefined);
      }
    },
  };
}
