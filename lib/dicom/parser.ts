/**
 * A push-based, streaming data set tokenizer (PS3.5 7.1 data elements, 7.5
 * sequences and items, A.4 encapsulated pixel data).
 *
 * Bytes go in as they arrive, in chunks of any size; tokens come out: one
 * per element header, item, delimitation and fragment, and values as
 * `value` tokens that are views of the input chunks (never copied, never
 * gathered), so a 1 GB Pixel Data element flows through in pieces. Nesting is
 * kept on an explicit stack, bounded by `maxDepth`, so deep input fails with
 * an error rather than a stack overflow. Every declared length is checked
 * against the enclosing item or sequence before it is used, and nothing is
 * ever allocated from a declared length.
 *
 * @module
 */

import { formatTag, tagVr } from "./dictionary.ts";
import { DicomParseError } from "./errors.ts";
import { IMPLICIT_LE, type Layout } from "./transfer_syntax.ts";
import { knownVrOf, vrInfo } from "./vr.ts";
import { readU16, readU32 } from "../util/bytes.ts";

/** The value length that means "undefined, ended by a delimitation item" (PS3.5 7.1.1). */
export const UNDEFINED_LENGTH = 0xffffffff;
/** Item tag (FFFE,E000), PS3.5 7.5. */
export const ITEM = 0xfffee000;
/** Item Delimitation Item tag (FFFE,E00D), PS3.5 7.5. */
export const ITEM_DELIMITATION = 0xfffee00d;
/** Sequence Delimitation Item tag (FFFE,E0DD), PS3.5 7.5. */
export const SEQUENCE_DELIMITATION = 0xfffee0dd;
/** Pixel Data (7FE0,0010), the element that may be encapsulated (PS3.5 A.4). */
const PIXEL_DATA = 0x7fe00010;

/** Nesting limit when none is given: sequences within sequences, 32 deep. */
export const DEFAULT_MAX_DEPTH = 32;

/** Limits that bound what the parser accepts. */
export interface ParserLimits {
  /** Deepest nesting of sequences accepted (default {@linkcode DEFAULT_MAX_DEPTH}). */
  maxDepth?: number;
  /** Longest value or fragment accepted, in bytes (default: any defined length). */
  maxValueLength?: number;
}

/**
 * A data element with a value of defined length (PS3.5 7.1): `length` bytes
 * follow as `value` tokens, none when the length is 0.
 */
export interface ElementToken {
  /** Token kind. */
  kind: "element";
  /** `(group << 16) | element`. */
  tag: number;
  /**
   * The VR from the header (explicit VR), else from the dictionary
   * ({@linkcode tagVr}); an unrecognised explicit VR reads as UN.
   */
  vr: string;
  /** Value length in bytes (may be odd in faulty input). */
  length: number;
  /** Number of sequences the element is nested in (0 at top level). */
  depth: number;
}

/**
 * A sequence (PS3.5 7.5): `item-start`/`item-end` pairs follow, then
 * `sequence-end` (also for a defined length, when its bytes are used up).
 */
export interface SequenceToken {
  /** Token kind. */
  kind: "sequence";
  /** `(group << 16) | element`. */
  tag: number;
  /**
   * SQ, or UN for an element of unknown VR and undefined length, whose
   * items are implicit VR little endian whatever the transfer syntax
   * (PS3.5 6.2.2).
   */
  vr: string;
  /** Declared length, undefined for undefined length. */
  length: number | undefined;
  /** Number of sequences the element is nested in (0 at top level). */
  depth: number;
  /** The layout of the items' contents. */
  items: Layout;
}

/** The start of an item of a sequence (PS3.5 7.5.1); its elements follow, then `item-end`. */
export interface ItemStartToken {
  /** Token kind. */
  kind: "item-start";
  /** Declared length, undefined for undefined length. */
  length: number | undefined;
}

/** The end of an item: its delimitation item or the end of its declared length. */
export interface ItemEndToken {
  /** Token kind. */
  kind: "item-end";
}

/**
 * Encapsulated pixel data (PS3.5 A.4): an OB or OW element of undefined
 * length whose `fragment` tokens (the Basic Offset Table first) follow,
 * then `sequence-end`.
 */
export interface EncapsulatedToken {
  /** Token kind. */
  kind: "encapsulated";
  /** `(group << 16) | element`, normally Pixel Data (7FE0,0010). */
  tag: number;
  /** OB or OW. */
  vr: string;
  /** Number of sequences the element is nested in (0 at top level). */
  depth: number;
}

/** One item of encapsulated pixel data: `length` bytes follow as `value` tokens. */
export interface FragmentToken {
  /** Token kind. */
  kind: "fragment";
  /** Fragment length in bytes. */
  length: number;
}

/** The end of a sequence or of encapsulated pixel data. */
export interface SequenceEndToken {
  /** Token kind. */
  kind: "sequence-end";
}

/** A piece of the value of the last element or fragment, in input byte order. */
export interface ValueToken {
  /** Token kind. */
  kind: "value";
  /** A view of the input chunk: valid as long as the caller keeps that chunk unchanged. */
  bytes: Uint8Array;
  /** True on the value's last piece. */
  last: boolean;
}

/** What the parser emits. */
export type DatasetToken =
  | ElementToken
  | SequenceToken
  | ItemStartToken
  | ItemEndToken
  | EncapsulatedToken
  | FragmentToken
  | SequenceEndToken
  | ValueToken;

const ITEM_END: ItemEndToken = Object.freeze({ kind: "item-end" });
const SEQUENCE_END: SequenceEndToken = Object.freeze({ kind: "sequence-end" });

/**
 * The layout of the items of a sequence with VR `vr` in a scope of layout
 * `parent`: implicit VR little endian for UN (PS3.5 6.2.2: "In the case of
 * undefined length sequences, the value shall remain in implicit VR form"),
 * else that of the scope.
 */
export function itemsLayout(parent: Layout, vr: string): Layout {
  return vr === "UN" ? IMPLICIT_LE : parent;
}

const DATASET = 0;
const SEQUENCE = 1;
const FRAGMENTS = 2;

interface Frame {
  kind: typeof DATASET | typeof SEQUENCE | typeof FRAGMENTS;
  /** The tag of the sequence, or of the element holding the item (0 at top level). */
  tag: number;
  /** Stream offset where a defined length ends; Infinity for undefined length. */
  end: number;
  /** The nearest defined end of this frame and all that enclose it. */
  limit: number;
  layout: Layout;
}

function isUpper(c: number): boolean {
  return c >= 0x41 && c <= 0x5a;
}

/** Streaming tokenizer of one data set. */
export class DatasetParser {
  readonly #maxDepth: number;
  readonly #maxValueLength: number;
  readonly #stack: Frame[];
  #pos = 0;
  #depth = 0;
  #valueLeft = 0;
  #valueTag = 0;
  // Read by hand (readU16/readU32), not through a DataView: a DataView needs the bytes off the
  // heap, an allocation of its own per parser (one per data set storescu sends), which
  // showed among storescu's costliest steps per file.
  readonly #hdr = new Uint8Array(12);
  #hdrLen = 0;
  #hdrNeed = 8;

  /**
   * Creates a parser for a data set in `layout` (a {@linkcode TsEncoding}
   * will do; a deflated one must be inflated by the caller first).
   *
   * @param layout explicit or implicit VR, byte order
   * @param limits nesting depth and value length limits
   */
  constructor(layout: Layout, limits: ParserLimits = {}) {
    this.#maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.#maxValueLength = limits.maxValueLength ?? UNDEFINED_LENGTH - 1;
    const top = { explicitVr: layout.explicitVr, littleEndian: layout.littleEndian };
    this.#stack = [{ kind: DATASET, tag: 0, end: Infinity, limit: Infinity, layout: top }];
  }

  /**
   * Consumes the next chunk of the data set and returns the tokens it
   * completes. Value tokens are views of `chunk`.
   *
   * @throws {DicomParseError} on malformed input or exceeded limits
   */
  push(chunk: Uint8Array): DatasetToken[] {
    const out: DatasetToken[] = [];
    this.#feed(chunk, out);
    return out;
  }

  /**
   * Consumes the next chunk as {@linkcode DatasetParser.push} does, with the
   * same checks and errors, and makes no tokens: for a caller that only
   * needs the data set to be well formed (storescu checks every data set it
   * sends as it is, and a token and a view per element were most of the
   * garbage it made per file).
   *
   * @throws {DicomParseError} on malformed input or exceeded limits
   */
  check(chunk: Uint8Array): void {
    this.#feed(chunk, undefined);
  }

  /** The tokenizer; tokens go to `out`, none are made without it (see check). */
  #feed(chunk: Uint8Array, out: DatasetToken[] | undefined): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.#valueLeft > 0) {
        const take = Math.min(this.#valueLeft, n - i);
        this.#valueLeft -= take;
        this.#pos += take;
        out?.push({
          kind: "value",
          bytes: chunk.subarray(i, i + take),
          last: this.#valueLeft === 0,
        });
        i += take;
        if (this.#valueLeft === 0) this.#closeFinished(out);
        continue;
      }
      if (this.#hdrLen === 0 && n - i >= 12) {
        // The longest header is in the chunk whole: read where it is, not copied byte by
        // byte into #hdr first (one element in tens, a header per element).
        i += this.#header(chunk, i, 12, out);
        continue;
      }
      while (this.#hdrLen < this.#hdrNeed && i < n) this.#hdr[this.#hdrLen++] = chunk[i++];
      if (this.#hdrLen === this.#hdrNeed) this.#header(this.#hdr, 0, this.#hdrLen, out);
    }
  }

  /**
   * Declares the end of the input.
   *
   * @returns the tokens still pending (none: every token is emitted as soon as it is complete)
   * @throws {DicomParseError} `truncated` when the data set stops inside a header, value, item or sequence
   */
  end(): DatasetToken[] {
    if (this.#valueLeft > 0) {
      throw new DicomParseError(
        "truncated",
        `data set truncated: ${this.#valueLeft} bytes of ${formatTag(this.#valueTag)} missing`,
        this.#pos,
      );
    }
    if (this.#hdrLen > 0) {
      throw new DicomParseError(
        "truncated",
        `data set truncated inside an element header (${this.#hdrLen} of ${this.#hdrNeed} bytes)`,
        this.#pos,
      );
    }
    if (this.#stack.length > 1) {
      const open = this.#stack.findLast((f) => f.kind !== DATASET)!;
      throw new DicomParseError(
        "truncated",
        `data set truncated inside sequence ${formatTag(open.tag)}`,
        this.#pos,
      );
    }
    return [];
  }

  /**
   * Reads the element header at `h[o]`, of which `have` bytes are there (8,
   * or 12 when the 32-bit length form may need them); returns its length,
   * or 0 when it is of that form and only 8 bytes were there (#hdrNeed then
   * asks for 12).
   */
  #header(h: Uint8Array, o: number, have: number, out: DatasetToken[] | undefined): number {
    const frame = this.#stack[this.#stack.length - 1];
    const le = frame.layout.littleEndian;
    const tag = ((readU16(h, o, le) << 16) | readU16(h, o + 2, le)) >>> 0;
    const at = this.#pos;
    if (tag >>> 16 === 0xfffe) {
      // Items and delimiters have no VR in any syntax (PS3.5 7.5).
      this.#consumeHeader(8, frame, tag);
      this.#itemTag(tag, readU32(h, o + 4, le), frame, at, out);
      return 8;
    }
    if (frame.kind !== DATASET) {
      throw new DicomParseError(
        "bad-item",
        `expected an item (FFFE,E000) in ${formatTag(frame.tag)}, found ${formatTag(tag)}`,
        at,
      );
    }
    let vr: string;
    let length: number;
    let size = 8;
    if (frame.layout.explicitVr) {
      const c1 = h[o + 4];
      const c2 = h[o + 5];
      const known = knownVrOf(c1, c2);
      // An unrecognised VR of two upper-case letters is a VR newer than this
      // code, and every VR added since 2014 has the 32-bit length form; any
      // other unrecognised pair has the 16-bit form (as DCMTK's DcmVR reads
      // them). Either is kept as UN (PS3.5 6.2.2).
      const long = known !== undefined ? vrInfo(known).longLength : isUpper(c1) && isUpper(c2);
      vr = known ?? "UN";
      if (long) {
        if (have < 12) {
          this.#hdrNeed = 12; // PS3.5 7.1.2: 2 reserved bytes and a 32-bit length follow
          return 0;
        }
        length = readU32(h, o + 8, le);
        size = 12;
      } else {
        length = readU16(h, o + 6, le);
      }
    } else {
      vr = tagVr(tag); // PS3.5 7.1.3: the VR is implied by the tag
      length = readU32(h, o + 4, le);
    }
    this.#consumeHeader(size, frame, tag);
    if (length === UNDEFINED_LENGTH) {
      this.#openUndefined(tag, vr, frame, out);
    } else if (vr === "SQ") {
      this.#checkFits(tag, vr, length, frame);
      out?.push({ kind: "sequence", tag, vr, length, depth: this.#depth, items: frame.layout });
      this.#open(SEQUENCE, tag, this.#pos + length, frame, frame.layout);
      this.#closeFinished(out);
    } else {
      this.#checkFits(tag, vr, length, frame);
      out?.push({ kind: "element", tag, vr, length, depth: this.#depth });
      this.#startValue(tag, length, out);
    }
    return size;
  }

  #consumeHeader(size: number, frame: Frame, tag: number): void {
    if (this.#pos + size > frame.limit) {
      throw new DicomParseError(
        "overrun",
        `header of ${formatTag(tag)} crosses the end of its enclosing item`,
        this.#pos,
      );
    }
    this.#pos += size;
    this.#hdrLen = 0;
    this.#hdrNeed = 8;
  }

  #checkFits(tag: number, vr: string, length: number, frame: Frame): void {
    if (this.#pos + length > frame.limit) {
      throw new DicomParseError(
        "overrun",
        `${formatTag(tag)} ${vr} length ${length} runs past the end of its enclosing item ` +
          `or sequence (${frame.limit - this.#pos} bytes left)`,
        this.#pos,
      );
    }
  }

  #startValue(tag: number, length: number, out: DatasetToken[] | undefined): void {
    if (length > this.#maxValueLength) {
      throw new DicomParseError(
        "too-long",
        `${formatTag(tag)} length ${length} exceeds the limit of ${this.#maxValueLength} bytes`,
        this.#pos,
      );
    }
    this.#valueTag = tag;
    this.#valueLeft = length;
    if (length === 0) this.#closeFinished(out);
  }

  #openUndefined(tag: number, vr: string, frame: Frame, out: DatasetToken[] | undefined): void {
    const depth = this.#depth;
    // PS3.5 A.4: encapsulated pixel data, a sequence of fragments, is OB (or OW); an
    // explicit Pixel Data of any other VR follows PS3.5 7.1.2 like any element.
    if ((vr === "OB" || vr === "OW") && (tag === PIXEL_DATA || frame.layout.explicitVr)) {
      out?.push({ kind: "encapsulated", tag, vr, depth });
      this.#open(FRAGMENTS, tag, Infinity, frame, frame.layout);
      return;
    }
    if (frame.layout.explicitVr && vr !== "SQ" && vr !== "UN") {
      throw new DicomParseError(
        "bad-vr",
        `${formatTag(tag)} ${vr} has undefined length, which only SQ, UN, OB and OW may have ` +
          `(PS3.5 7.1.2)`,
        this.#pos,
      );
    }
    // In implicit VR any other undefined length is a sequence, known or not
    // (PS3.5 7.5.1, 6.2.2): reported as SQ when the dictionary says so, else UN.
    const seqVr = vr === "SQ" ? "SQ" : "UN";
    const items = itemsLayout(frame.layout, seqVr);
    out?.push({ kind: "sequence", tag, vr: seqVr, length: undefined, depth, items });
    this.#open(SEQUENCE, tag, Infinity, frame, items);
  }

  #itemTag(
    tag: number,
    length: number,
    frame: Frame,
    at: number,
    out: DatasetToken[] | undefined,
  ): void {
    if (frame.kind === SEQUENCE && tag === ITEM) {
      const end = length === UNDEFINED_LENGTH ? Infinity : this.#pos + length;
      if (end !== Infinity) this.#checkFits(tag, "item", length, frame);
      out?.push({ kind: "item-start", length: end === Infinity ? undefined : length });
      this.#open(DATASET, frame.tag, end, frame, frame.layout);
      this.#closeFinished(out);
      return;
    }
    if (frame.kind === FRAGMENTS && tag === ITEM) {
      if (length === UNDEFINED_LENGTH) {
        throw new DicomParseError(
          "bad-item",
          `fragment of ${
            formatTag(frame.tag)
          } has undefined length (PS3.5 A.4 requires a defined one)`,
          at,
        );
      }
      this.#checkFits(tag, "fragment", length, frame);
      out?.push({ kind: "fragment", length });
      this.#startValue(frame.tag, length, out);
      return;
    }
    const closes = frame.end === Infinity && this.#stack.length > 1 &&
      (frame.kind === DATASET ? tag === ITEM_DELIMITATION : tag === SEQUENCE_DELIMITATION);
    if (!closes) {
      throw new DicomParseError(
        "bad-item",
        `unexpected ${formatTag(tag)} in ${frame.kind === DATASET ? "a data set" : "a sequence"}` +
          (frame.tag ? ` (${formatTag(frame.tag)})` : ""),
        at,
      );
    }
    // PS3.5 7.5.2: delimitation items end undefined lengths; their own length
    // should be 0 and carries nothing, so it is not looked at.
    this.#close(out);
    this.#closeFinished(out);
  }

  #open(kind: Frame["kind"], tag: number, end: number, parent: Frame, layout: Layout): void {
    if (kind !== DATASET) {
      if (this.#depth >= this.#maxDepth) {
        throw new DicomParseError(
          "too-deep",
          `${formatTag(tag)} nests sequences deeper than the limit of ${this.#maxDepth}`,
          this.#pos,
        );
      }
      this.#depth++;
    }
    this.#stack.push({ kind, tag, end, limit: Math.min(end, parent.limit), layout });
  }

  /** Closes the innermost item or sequence. */
  #close(out: DatasetToken[] | undefined): void {
    if (this.#stack.pop()!.kind === DATASET) {
      out?.push(ITEM_END);
    } else {
      this.#depth--;
      out?.push(SEQUENCE_END);
    }
  }

  /** Closes every item and sequence of defined length whose last byte has been consumed. */
  #closeFinished(out: DatasetToken[] | undefined): void {
    while (this.#stack.length > 1 && this.#stack[this.#stack.length - 1].end === this.#pos) {
      this.#close(out);
    }
  }
}
