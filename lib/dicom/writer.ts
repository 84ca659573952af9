/**
 * Data set encoding: element, item and delimitation headers in each layout
 * (PS3.5 7.1.2, 7.1.3, 7.5), and a streaming encoder that re-encodes parser
 * tokens from one layout into another, byte-swapping values by VR (PS3.5
 * 7.3) and writing sequences and items with undefined length.
 *
 * @module
 */

import { formatTag } from "./dictionary.ts";
import { DicomParseError } from "./errors.ts";
import {
  type DatasetToken,
  ITEM,
  ITEM_DELIMITATION,
  itemsLayout,
  SEQUENCE_DELIMITATION,
  UNDEFINED_LENGTH,
} from "./parser.ts";
import type { Layout } from "./transfer_syntax.ts";
import { legacyVr, swapInPlace, vrInfo } from "./vr.ts";

/** Largest chunk a {@linkcode ChunkSink} hands out. */
const MAX_CHUNK = 256 * 1024;
/** Small writes are gathered into chunks of up to this size. */
const STAGING = 64 * 1024;
/**
 * The staging buffer starts this small and doubles as needed: encoding a
 * few elements (the file meta information of each file storescp receives)
 * then does not pay for zeroing 64 KiB, which cost more than the encoding.
 */
const FIRST_STAGING = 1024;
/** Writes at least this long are handed out as they are (no copy). */
const DIRECT = 16 * 1024;

/**
 * Collects encoded bytes into chunks of bounded size: small writes (headers,
 * short values) are copied together, large ones pass through as views.
 */
export class ChunkSink {
  #buf = new Uint8Array(FIRST_STAGING);
  #len = 0;
  #ready: Uint8Array[] = [];

  /**
   * Appends the first `n` bytes of `bytes`; a large piece is kept as a view,
   * so its backing memory must not change until the chunk is consumed.
   */
  write(bytes: Uint8Array, n: number = bytes.length): void {
    if (n >= DIRECT) {
      this.flush();
      for (let o = 0; o < n; o += MAX_CHUNK) {
        this.#ready.push(bytes.subarray(o, Math.min(n, o + MAX_CHUNK)));
      }
      return;
    }
    if (this.#len + n > this.#buf.length) this.#makeRoom(n);
    if (n === bytes.length) this.#buf.set(bytes, this.#len);
    else this.#buf.set(bytes.subarray(0, n), this.#len);
    this.#len += n;
  }

  /** Room for `n` more bytes (`n` < DIRECT): a larger buffer, or a flush once it is full size. */
  #makeRoom(n: number): void {
    if (this.#len + n > STAGING) this.flush();
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const grown = new Uint8Array(Math.min(size, STAGING));
    grown.set(this.#buf.subarray(0, this.#len));
    this.#buf = grown;
  }

  /** Closes the chunk being gathered, so that {@linkcode ChunkSink.take} returns it. */
  flush(): void {
    if (this.#len === 0) return;
    this.#ready.push(this.#buf.slice(0, this.#len));
    this.#len = 0;
  }

  /** The complete chunks so far, in order (the one being gathered stays until flushed). */
  take(): Uint8Array[] {
    const out = this.#ready;
    this.#ready = [];
    return out;
  }
}

/**
 * The VR an element of VR `vr` and value length `length` is written with in
 * `layout`: for explicit VR, new VRs become OB if `disableNewVr` (DCMTK's
 * `-u`), and a VR with a 16-bit length field whose value is longer than
 * 0xFFFF becomes UN, since PS3.5 6.2.2 gives UN to "Data Elements [...] whose
 * value length exceeds 65534 and therefore cannot be encoded as a 16-bit
 * unsigned integer in the Value Length Field" (such values come from
 * implicit VR, where every length is 32-bit).
 */
export function outputVr(vr: string, length: number, layout: Layout, disableNewVr = false): string {
  if (!layout.explicitVr) return vr;
  const out = disableNewVr ? legacyVr(vr) : vr;
  return !vrInfo(out).longLength && length > 0xffff ? "UN" : out;
}

/** Size of the header of an element of (output) VR `vr` in `layout`: 8 or 12 bytes (PS3.5 7.1.2, 7.1.3). */
export function headerSize(vr: string, layout: Layout): number {
  return layout.explicitVr && vrInfo(vr).longLength ? 12 : 8;
}

/**
 * True when a value of VR `vr` in `from` must be byte-swapped to be written
 * as VR `outVr` in `to`. A UN value is always little endian: PS3.5 6.2.2
 * says it "shall not be byte-swapped" and that it "is encoded in Little
 * Endian byte ordering with implicit VR encoding, irrespective of the
 * current Transfer Syntax". A value of another VR relabelled OB (DCMTK's
 * `-u`) is a byte string from then on, which no reader swaps back, so it
 * keeps its little endian bytes too: DCMTK's `dcmconv -u +tb` writes an OF
 * 1.0 as OB 00 00 80 3F.
 */
function swapUnit(vr: string, outVr: string, from: Layout, to: Layout): 1 | 2 | 4 | 8 {
  const fromLe = vr === "UN" || from.littleEndian;
  const toLe = outVr === "UN" || (outVr === "OB" && vr !== "OB") || to.littleEndian;
  return fromLe === toLe ? 1 : vrInfo(vr).swap;
}

interface Scope {
  /** Layout of the source items. */
  src: Layout;
  /** Layout of the items as written. */
  dst: Layout;
  /** Written with undefined length, so a delimitation item must close it. */
  delimit: boolean;
}

/** Options of a {@linkcode DatasetEncoder}. */
export interface EncoderOptions {
  /** Write post-1993 VRs as OB, as DCMTK's `-u` (see {@linkcode legacyVr}). */
  disableNewVr?: boolean;
  /**
   * Write the lengths that sequence and item tokens declare rather than
   * undefined lengths. Only for a caller that computed them for the output
   * layout; a transcoder leaves this off, since re-encoding can change sizes.
   */
  declaredLengths?: boolean;
  /**
   * Leave out group lengths (gggg,0000): re-encoding changes the sizes
   * they count, and outside groups 0000 and 0002 they are retired and
   * optional (PS3.5 7.2), so dropping them is right where recomputing them
   * would need the whole group ahead.
   */
  dropGroupLengths?: boolean;
}

/**
 * Re-encodes a token stream read in one layout into another, writing into a
 * {@linkcode ChunkSink}. Values are byte-swapped by VR when the byte order
 * changes (PS3.5 7.3); sequences and items get undefined lengths with
 * delimitation items (PS3.5 7.5.2) unless `declaredLengths` is set.
 */
export class DatasetEncoder {
  readonly #sink: ChunkSink;
  readonly #disableNewVr: boolean;
  readonly #declaredLengths: boolean;
  readonly #dropGroupLengths: boolean;
  #skipping = false;
  readonly #stack: Scope[];
  readonly #scratch = new Uint8Array(12);
  readonly #view = new DataView(this.#scratch.buffer);
  #swap: 1 | 2 | 4 | 8 = 1;
  readonly #carry = new Uint8Array(8);
  #carryLen = 0;

  /**
   * Creates an encoder.
   *
   * @param from layout the tokens were read in
   * @param to layout to write
   * @param sink where the bytes go
   * @param options VR and length choices
   */
  constructor(from: Layout, to: Layout, sink: ChunkSink, options: EncoderOptions = {}) {
    this.#sink = sink;
    this.#disableNewVr = options.disableNewVr ?? false;
    this.#declaredLengths = options.declaredLengths ?? false;
    this.#dropGroupLengths = options.dropGroupLengths ?? false;
    this.#stack = [{ src: from, dst: to, delimit: false }];
  }

  /**
   * Encodes one token.
   *
   * @throws {DicomParseError} `unsupported` for encapsulated pixel data in a layout other than explicit VR little endian (PS3.5 A.4)
   */
  encode(t: DatasetToken): void {
    const scope = this.#stack[this.#stack.length - 1];
    switch (t.kind) {
      case "element": {
        if (this.#dropGroupLengths && (t.tag & 0xffff) === 0) {
          this.#skipping = t.length > 0;
          return;
        }
        const vr = outputVr(t.vr, t.length, scope.dst, this.#disableNewVr);
        this.#swap = swapUnit(t.vr, vr, scope.src, scope.dst);
        this.#elementHeader(t.tag, vr, t.length, scope.dst);
        return;
      }
      case "value":
        if (this.#skipping) this.#skipping = !t.last;
        else if (this.#swap === 1) this.#sink.write(t.bytes);
        else this.#swapped(t.bytes, t.last);
        return;
      case "sequence": {
        // OB cannot hold items, so with new VRs disabled a UN sequence is
        // written as the SQ it is (DCMTK reads UN of undefined length as SQ).
        const vr = t.vr === "UN" && this.#disableNewVr && scope.dst.explicitVr ? "SQ" : t.vr;
        const length = this.#length(t.length);
        this.#elementHeader(t.tag, vr, length, scope.dst);
        const dst = itemsLayout(scope.dst, vr);
        this.#stack.push({ src: t.items, dst, delimit: length === UNDEFINED_LENGTH });
        return;
      }
      case "item-start": {
        const length = this.#length(t.length);
        this.#itemHeader(ITEM, length, scope.dst);
        this.#stack.push({ ...scope, delimit: length === UNDEFINED_LENGTH });
        return;
      }
      case "item-end":
        this.#close(ITEM_DELIMITATION);
        return;
      case "encapsulated":
        if (!scope.dst.explicitVr || !scope.dst.littleEndian) {
          throw new DicomParseError(
            "unsupported",
            `encapsulated ${formatTag(t.tag)} can only be written in explicit VR little endian ` +
              `(PS3.5 A.4)`,
          );
        }
        this.#elementHeader(t.tag, t.vr, UNDEFINED_LENGTH, scope.dst);
        this.#stack.push({ ...scope, delimit: true });
        return;
      case "fragment":
        this.#swap = 1; // fragments are byte streams (PS3.5 A.4)
        this.#itemHeader(ITEM, t.length, scope.dst);
        return;
      case "sequence-end":
        this.#close(SEQUENCE_DELIMITATION);
        return;
    }
  }

  #length(declared: number | undefined): number {
    return this.#declaredLengths && declared !== undefined ? declared : UNDEFINED_LENGTH;
  }

  #close(delimiter: number): void {
    const scope = this.#stack.pop()!;
    if (scope.delimit) this.#itemHeader(delimiter, 0, scope.dst);
  }

  #elementHeader(tag: number, vr: string, length: number, layout: Layout): void {
    const v = this.#view;
    const le = layout.littleEndian;
    v.setUint16(0, tag >>> 16, le);
    v.setUint16(2, tag & 0xffff, le);
    if (!layout.explicitVr) {
      v.setUint32(4, length, le);
      this.#sink.write(this.#scratch, 8);
      return;
    }
    this.#scratch[4] = vr.charCodeAt(0);
    this.#scratch[5] = vr.charCodeAt(1);
    if (vrInfo(vr).longLength) {
      v.setUint16(6, 0);
      v.setUint32(8, length, le);
      this.#sink.write(this.#scratch, 12);
    } else {
      v.setUint16(6, length, le);
      this.#sink.write(this.#scratch, 8);
    }
  }

  /** An item or delimitation header: tag and 32-bit length, never a VR (PS3.5 7.5). */
  #itemHeader(tag: number, length: number, layout: Layout): void {
    const v = this.#view;
    const le = layout.littleEndian;
    v.setUint16(0, tag >>> 16, le);
    v.setUint16(2, tag & 0xffff, le);
    v.setUint32(4, length, le);
    this.#sink.write(this.#scratch, 8);
  }

  /** Byte-swaps a value piece, keeping a partial unit split across pieces for the next one. */
  #swapped(bytes: Uint8Array, last: boolean): void {
    const unit = this.#swap as 2 | 4 | 8;
    const total = this.#carryLen + bytes.length;
    if (!last && total < unit) {
      this.#carry.set(bytes, this.#carryLen);
      this.#carryLen = total;
      return;
    }
    const whole = last ? total : total - (total % unit);
    const used = whole - this.#carryLen;
    // slice() copies without zero-filling first: the common case, nothing carried.
    const out = this.#carryLen === 0 ? bytes.slice(0, used) : new Uint8Array(whole);
    if (this.#carryLen > 0) {
      out.set(this.#carry.subarray(0, this.#carryLen));
      out.set(bytes.subarray(0, used), this.#carryLen);
    }
    this.#carryLen = bytes.length - used;
    this.#carry.set(bytes.subarray(used));
    swapInPlace(out, unit); // an odd tail on the last piece stays as it is
    if (whole > 0) this.#sink.write(out);
  }
}
