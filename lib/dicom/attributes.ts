/**
 * Small data sets in memory, with typed values: query keys, C-FIND
 * matches, C-GET and C-MOVE identifiers (PS3.4 C.4), a query file. Each
 * attribute holds its tag, VR and values (strings, numbers or bytes by VR,
 * items for a sequence); text values are decoded in the data set's
 * Specific Character Set (charset.ts).
 *
 * Encoding and decoding go through the data set codec (parser.ts,
 * writer.ts) in the four uncompressed transfer syntaxes: implicit VR little
 * endian, explicit VR little and big endian, deflated explicit VR little
 * endian (PS3.5 A.1-A.3, A.5). Sequences and items are written with
 * defined lengths, as DCMTK writes identifiers on the network. Decoding is
 * bounded ({@linkcode AttributeLimits}): a peer's identifier cannot make us
 * allocate, nest or count past our limits.
 *
 * @module
 */

import { CharsetError, type CharsetProblemHandler, SpecificCharacterSet } from "./charset.ts";
import { type Dataset, type Element, encodeDataset } from "./dataset.ts";
import { inflateRaw } from "./deflate.ts";
import { formatTag, lookupTag, tagVr } from "./dictionary.ts";
import { DicomParseError } from "./errors.ts";
import { PIXEL_REPRESENTATION, VrResolver, WAVEFORM_BITS_ALLOCATED } from "./multi_vr.ts";
import { DatasetParser, UNDEFINED_LENGTH } from "./parser.ts";
import { decodeFileMeta, type FileMeta, guessTransferSyntax } from "./part10.ts";
import { IMPLICIT_LE, type Layout, tsEncoding } from "./transfer_syntax.ts";
import { swapInPlace, vrInfo } from "./vr.ts";

/**
 * The values of an attribute, by VR (PS3.5 6.2):
 * - AE AS CS DA DS DT IS LO PN SH TM UC UI: strings, one per value (split
 *   at `\`), without padding; LT ST UT UR: one string;
 * - US SS UL SL FL FD: numbers; SV UV: bigints; AT: tags as
 *   `(group << 16) | element`;
 * - OB OD OF OL OV OW UN: the bytes, little endian;
 * - SQ: the items, each an {@linkcode Attributes}.
 *
 * An empty list (or no bytes) is a zero-length value: in a query, a
 * universal match (PS3.4 C.2.2.2.3).
 */
export type AttributeValue = string[] | number[] | bigint[] | Uint8Array | Attributes[];

/** One data element with its value decoded (PS3.5 7.1). */
export interface Attribute {
  /** `(group << 16) | element`. */
  tag: number;
  /** Two-letter VR (PS3.5 6.2). */
  vr: string;
  /** The value, typed by VR ({@linkcode AttributeValue}). */
  value: AttributeValue;
}

/** A data set or item: attributes, in ascending tag order once encoded. */
export type Attributes = Attribute[];

/** What a decode accepts from a peer. */
export interface AttributeLimits {
  /** Largest encoded (and, for deflate, inflated) data set, in bytes (default 4 MiB). */
  maxLength?: number;
  /** Deepest nesting of sequences (default 16). */
  maxDepth?: number;
  /** Most elements and items in all (default 100,000). */
  maxElements?: number;
}

/** The limits {@linkcode decodeAttributes} applies when none are given. */
export const DEFAULT_ATTRIBUTE_LIMITS: Readonly<Required<AttributeLimits>> = Object.freeze({
  maxLength: 4 * 1024 * 1024,
  maxDepth: 16,
  maxElements: 100_000,
});

/** Options of {@linkcode decodeAttributes}. */
export interface DecodeAttributesOptions {
  /** Bounds on the input. */
  limits?: AttributeLimits;
  /**
   * Called for text that its Specific Character Set cannot decode (or an
   * unknown set): the text then holds U+FFFD where bytes were bad, and
   * decoding goes on. Without it, such text throws a CharsetError.
   */
  onCharsetProblem?: CharsetProblemHandler;
}

const SPECIFIC_CHARACTER_SET = 0x00080005;
/** Text VRs holding one value, in which `\` is an ordinary character (PS3.5 6.4). */
const SINGLE_VALUED_TEXT = new Set(["LT", "ST", "UT", "UR"]);
/** Text VRs whose leading spaces are padding too (PS3.5 Table 6.2-1). */
const LEADING_SPACE_PADDING = new Set(["AE", "CS", "DS", "IS", "LO", "SH", "TM"]);

/** Binary numbers: size and read/write per VR (PS3.5 6.2). */
const NUMBERS: Readonly<Record<string, { size: 2 | 4 | 8; kind: "u" | "s" | "f" | "b" }>> = {
  US: { size: 2, kind: "u" },
  SS: { size: 2, kind: "s" },
  UL: { size: 4, kind: "u" },
  SL: { size: 4, kind: "s" },
  FL: { size: 4, kind: "f" },
  FD: { size: 8, kind: "f" },
  SV: { size: 8, kind: "b" },
  UV: { size: 8, kind: "b" },
};

// ---------------------------------------------------------------------------
// The element tree as read, before values are typed

/** An element as read: its header facts and raw value, or its items. */
export interface RawElement {
  /** `(group << 16) | element`. */
  tag: number;
  /** The VR values are read with (the dictionary's, resolved, for implicit VR). */
  vr: string;
  /**
   * The VR as DCMTK shows it: the stream's in explicit VR; in implicit VR
   * the dictionary's, ambiguous ones kept (`xs`, `ox`, `lt`) and `??` for a
   * tag the dictionary does not know.
   */
  shownVr: string;
  /** The value length as read (0xFFFFFFFF: undefined length). */
  length: number;
  /** Value bytes in the byte order of `littleEndian`; absent for a sequence. */
  bytes?: Uint8Array;
  /** Byte order of `bytes`. */
  littleEndian: boolean;
  /** The items of a sequence. */
  items?: RawItem[];
}

/** An item as read. */
export interface RawItem {
  /** The item length as read (0xFFFFFFFF: undefined length). */
  length: number;
  /** Its elements. */
  elements: RawElement[];
}

/** The layout of a supported uncompressed transfer syntax, inflating a deflated data set. */
function inputOf(bytes: Uint8Array, ts: string, maxLength: number): [Uint8Array, Layout] {
  const enc = tsEncoding(ts);
  if (!enc || enc.encapsulated) {
    throw new DicomParseError(
      "unsupported",
      `transfer syntax ${ts} is not one of the four uncompressed syntaxes of PS3.5 A.1-A.3, A.5`,
    );
  }
  if (bytes.length > maxLength) {
    throw new DicomParseError(
      "too-long",
      `data set of ${bytes.length} bytes exceeds the limit of ${maxLength}`,
    );
  }
  if (!enc.deflated) return [bytes, enc];
  // A plain view of zlib's Buffer, so that values read from it are plain Uint8Arrays.
  const inflated = inflateRaw(bytes, false, maxLength);
  return [new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength), enc];
}

/** The elements whose value decides an open VR (multi_vr.ts). */
const VR_DECIDING = new Set([PIXEL_REPRESENTATION, WAVEFORM_BITS_ALLOCATED]);

/**
 * The VR DCMTK shows for an element read in implicit VR (see
 * {@linkcode RawElement.shownVr}): the dictionary's, or `??` for a tag it
 * does not know; an open one (`xs`, `ox`) as resolved when the item itself
 * holds what decides it (DCMTK looks no further), or when the enclosing
 * items decided it otherwise than by default.
 */
function implicitShownVr(tag: number, resolved: string, decidedHere: boolean): string {
  const vr = lookupTag(tag)?.vr;
  if (vr === undefined) return "??";
  if (decidedHere || resolved !== tagVr(tag)) return resolved;
  return vr === "px" ? "OW" : vr;
}

/**
 * Reads a whole data set into its element tree, bounded by `limits`.
 *
 * @throws {DicomParseError} on malformed input, an unsupported syntax or exceeded limits
 */
export function readTree(
  bytes: Uint8Array,
  ts: string,
  limits: AttributeLimits = {},
): RawElement[] {
  const { maxLength, maxDepth, maxElements } = { ...DEFAULT_ATTRIBUTE_LIMITS, ...limits };
  const [input, layout] = inputOf(bytes, ts, maxLength);
  const parser = new DatasetParser(layout, { maxDepth, maxValueLength: maxLength });
  // Implicit VR elements of an open VR (US or SS...) take the one their context gives.
  const resolver = new VrResolver(layout);
  const root: RawElement[] = [];
  // The element lists being filled, with the layout of their scope and whether an
  // element deciding open VRs has gone by in it.
  const scopes: { elements: RawElement[]; layout: Layout; decided: boolean }[] = [
    { elements: root, layout, decided: false },
  ];
  const sequences: { items: RawItem[]; layout: Layout }[] = [];
  let pieces: Uint8Array[] = [];
  let count = 0;
  const counted = () => {
    if (++count > maxElements) {
      throw new DicomParseError("too-long", `data set holds more than ${maxElements} elements`);
    }
  };
  for (const token of [...parser.push(input), ...parser.end()]) {
    const t = resolver.resolve(token);
    const scope = scopes[scopes.length - 1];
    switch (t.kind) {
      case "element": {
        counted();
        scope.elements.push({
          tag: t.tag,
          vr: t.vr,
          shownVr: scope.layout.explicitVr ? t.vr : implicitShownVr(t.tag, t.vr, scope.decided),
          length: t.length,
          bytes: new Uint8Array(0),
          littleEndian: scope.layout.littleEndian || t.vr === "UN",
        });
        if (VR_DECIDING.has(t.tag) && t.length >= 2) scope.decided = true;
        pieces = [];
        break;
      }
      case "value": {
        pieces.push(t.bytes);
        if (t.last) {
          const el = scope.elements[scope.elements.length - 1];
          el.bytes = pieces.length === 1 ? pieces[0].slice() : concat(pieces);
        }
        break;
      }
      case "sequence": {
        counted();
        const items: RawItem[] = [];
        scope.elements.push({
          tag: t.tag,
          vr: t.vr,
          shownVr: scope.layout.explicitVr || t.vr === "UN"
            ? t.vr
            : implicitShownVr(t.tag, t.vr, scope.decided),
          length: t.length ?? UNDEFINED_LENGTH,
          littleEndian: scope.layout.littleEndian,
          items,
        });
        sequences.push({ items, layout: t.items });
        break;
      }
      case "item-start": {
        counted();
        const sequence = sequences[sequences.length - 1];
        const item: RawItem = { length: t.length ?? UNDEFINED_LENGTH, elements: [] };
        sequence.items.push(item);
        scopes.push({ elements: item.elements, layout: sequence.layout, decided: false });
        break;
      }
      case "item-end":
        scopes.pop();
        break;
      case "sequence-end":
        sequences.pop();
        break;
      case "encapsulated":
        throw new DicomParseError(
          "unsupported",
          `encapsulated ${formatTag(t.tag)}: pixel data has no place in an identifier`,
        );
    }
  }
  return root;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Typed values

/** Removes the padding of one text value (PS3.5 6.2). */
function unpad(value: string, vr: string): string {
  let end = value.length;
  while (end > 0 && (value[end - 1] === " " || value[end - 1] === "\0")) end--;
  let start = 0;
  if (LEADING_SPACE_PADDING.has(vr)) { while (start < end && value[start] === " ") start++; }
  return value.slice(start, end);
}

/** The numbers of a binary value (PS3.5 6.2), `length` a multiple of the VR size. */
function readNumbers(raw: RawElement): number[] | bigint[] {
  const bytes = raw.bytes!;
  const spec = raw.vr === "AT" ? { size: 4, kind: "u" as const } : NUMBERS[raw.vr];
  if (bytes.length % spec.size !== 0) {
    throw new DicomParseError(
      "bad-vr",
      `${
        formatTag(raw.tag)
      } ${raw.vr} value of ${bytes.length} bytes is not a multiple of ${spec.size}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = raw.littleEndian;
  const n = bytes.length / spec.size;
  if (raw.vr === "AT") {
    return Array.from(
      { length: n },
      (_, i) => ((view.getUint16(4 * i, le) << 16) | view.getUint16(4 * i + 2, le)) >>> 0,
    );
  }
  if (spec.kind === "b") {
    return Array.from(
      { length: n },
      (_, i) => raw.vr === "SV" ? view.getBigInt64(8 * i, le) : view.getBigUint64(8 * i, le),
    );
  }
  return Array.from({ length: n }, (_, i) => {
    const at = spec.size * i;
    switch (raw.vr) {
      case "US":
        return view.getUint16(at, le);
      case "SS":
        return view.getInt16(at, le);
      case "UL":
        return view.getUint32(at, le);
      case "SL":
        return view.getInt32(at, le);
      case "FL":
        return view.getFloat32(at, le);
      default:
        return view.getFloat64(at, le);
    }
  });
}

/** Bytes of an OB/OW-like value in little endian order (PS3.5 7.3). */
function littleEndianBytes(raw: RawElement): Uint8Array {
  const unit = vrInfo(raw.vr).swap;
  const bytes = raw.bytes!.slice();
  if (!raw.littleEndian && unit > 1) swapInPlace(bytes, unit as 2 | 4 | 8);
  return bytes;
}

/**
 * The text of a raw value, padding included, decoded in `charset` (only
 * the VRs of CHARSET_VRS follow it).
 */
export function rawText(
  raw: RawElement,
  charset: SpecificCharacterSet,
  onProblem?: CharsetProblemHandler,
): string {
  return charset.decode(raw.bytes!, raw.vr, onProblem);
}

/** Whether values of this VR are text (PS3.5 6.2). */
export function isTextVr(vr: string): boolean {
  return vrInfo(vr).text;
}

/** The Specific Character Set of a raw data set or item, else `inherited`. */
export function rawCharset(
  elements: RawElement[],
  inherited: SpecificCharacterSet,
  onProblem?: CharsetProblemHandler,
): SpecificCharacterSet {
  const el = elements.find((e) => e.tag === SPECIFIC_CHARACTER_SET);
  if (!el?.bytes) return inherited;
  return charsetOf(el.bytes, onProblem);
}

/**
 * The character set a (0008,0005) value names, its bytes read as CS text
 * whatever VR they came with; an unknown term is a CharsetError, or with
 * `onProblem` a report and the default repertoire.
 */
function charsetOf(bytes: Uint8Array, onProblem?: CharsetProblemHandler): SpecificCharacterSet {
  const terms = SpecificCharacterSet.of().decode(bytes, "CS", onProblem).split("\\");
  try {
    return SpecificCharacterSet.of(terms);
  } catch (error) {
    if (!(error instanceof CharsetError) || !onProblem) throw error;
    onProblem(error);
    return SpecificCharacterSet.of();
  }
}

/** Types the values of a raw data set or item. */
function typed(
  elements: RawElement[],
  inherited: SpecificCharacterSet,
  onProblem?: CharsetProblemHandler,
): Attributes {
  const charset = rawCharset(elements, inherited, onProblem);
  return elements.map((raw): Attribute => {
    if (raw.items) {
      return {
        tag: raw.tag,
        vr: raw.vr,
        value: raw.items.map((item) => typed(item.elements, charset, onProblem)),
      };
    }
    return { tag: raw.tag, vr: raw.vr, value: typedValue(raw, charset, onProblem) };
  });
}

/**
 * The value of a raw element that is not text: its numbers (checked to be
 * whole), or its bytes in little endian order.
 *
 * @throws {DicomParseError} `bad-vr` for a length its VR cannot have
 */
export function rawValue(raw: RawElement): number[] | bigint[] | Uint8Array {
  if (raw.vr === "AT" || NUMBERS[raw.vr]) return readNumbers(raw);
  return littleEndianBytes(raw);
}

function typedValue(
  raw: RawElement,
  charset: SpecificCharacterSet,
  onProblem?: CharsetProblemHandler,
): AttributeValue {
  if (isTextVr(raw.vr)) {
    const text = rawText(raw, charset, onProblem);
    if (SINGLE_VALUED_TEXT.has(raw.vr)) {
      const value = unpad(text, raw.vr);
      return value === "" ? [] : [value];
    }
    const values = text.split("\\").map((v) => unpad(v, raw.vr));
    // A value of padding only is an empty value (PS3.5 6.2), as zero bytes are.
    return values.length === 1 && values[0] === "" ? [] : values;
  }
  return rawValue(raw);
}

/**
 * Decodes a data set in one of the four uncompressed transfer syntaxes,
 * within `options.limits`, text in its Specific Character Set (an item's
 * own (0008,0005) applies inside it).
 *
 * @throws {DicomParseError} on malformed input, an unsupported syntax or exceeded limits
 * @throws {CharsetError} for text its character set cannot decode, unless `onCharsetProblem` is given
 */
export function decodeAttributes(
  bytes: Uint8Array,
  ts: string,
  options: DecodeAttributesOptions = {},
): Attributes {
  const tree = readTree(bytes, ts, options.limits);
  return typed(tree, SpecificCharacterSet.of(), options.onCharsetProblem);
}

/**
 * Decodes a DICOM file (PS3.10: preamble, `DICM`, file meta information) or
 * a bare data set, as DCMTK's tools read a query file: a bare data set's
 * transfer syntax is guessed from its first element.
 *
 * @throws {DicomFileError} for lying or truncated file meta information
 * @throws {DicomParseError} on malformed input, an unknown or compressed syntax or exceeded limits
 * @throws {CharsetError} as {@linkcode decodeAttributes}
 */
export function decodeAttributesFile(
  bytes: Uint8Array,
  options: DecodeAttributesOptions & { path?: string } = {},
): { attributes: Attributes; transferSyntax: string; meta?: FileMeta } {
  let meta: FileMeta | undefined;
  let dataset = bytes;
  if (bytes.length >= 132 && String.fromCharCode(...bytes.subarray(128, 132)) === "DICM") {
    const read = decodeFileMeta(bytes, options.path);
    meta = read.meta;
    dataset = bytes.subarray(read.length);
  }
  const transferSyntax = meta?.transferSyntaxUid ?? guessTransferSyntax(dataset);
  if (transferSyntax === undefined) {
    throw new DicomParseError("unsupported", "cannot tell the transfer syntax of the data set");
  }
  return { attributes: decodeAttributes(dataset, transferSyntax, options), transferSyntax, meta };
}

// ---------------------------------------------------------------------------
// Encoding

/** The bytes of a value in `layout` (unpadded for text), checked against its VR. */
function valueBytes(
  a: Attribute,
  charset: SpecificCharacterSet,
  littleEndian: boolean,
): Uint8Array {
  const where = () => `${formatTag(a.tag)} ${a.vr}`;
  const value = a.value;
  if (isTextVr(a.vr)) {
    const strings = value as unknown[];
    if (!Array.isArray(value) || !strings.every((v) => typeof v === "string")) {
      throw new TypeError(`${where()}: expected a list of strings`);
    }
    if (SINGLE_VALUED_TEXT.has(a.vr) && strings.length > 1) {
      throw new RangeError(`${where()}: a ${a.vr} holds one value, not ${strings.length}`);
    }
    if (!SINGLE_VALUED_TEXT.has(a.vr) && strings.some((v) => (v as string).includes("\\"))) {
      throw new RangeError(`${where()}: a value contains '\\', the value delimiter`);
    }
    return charset.encode(strings.join("\\"), a.vr);
  }
  const spec = a.vr === "AT" ? { size: 4 as const, kind: "u" as const } : NUMBERS[a.vr];
  if (spec) {
    const list = value as unknown[];
    if (!Array.isArray(value)) throw new TypeError(`${where()}: expected a list of numbers`);
    const out = new Uint8Array(list.length * spec.size);
    const view = new DataView(out.buffer);
    list.forEach((v, i) => writeNumber(view, spec.size * i, a.vr, v, littleEndian, where));
    return out;
  }
  if (!(value instanceof Uint8Array)) throw new TypeError(`${where()}: expected bytes`);
  const unit = vrInfo(a.vr).swap;
  if (littleEndian || unit === 1 || a.vr === "UN") return value;
  const swapped = value.slice();
  swapInPlace(swapped, unit as 2 | 4 | 8);
  return swapped;
}

const RANGES: Readonly<Record<string, [number, number]>> = {
  US: [0, 0xffff],
  SS: [-0x8000, 0x7fff],
  UL: [0, 0xffffffff],
  SL: [-0x80000000, 0x7fffffff],
  AT: [0, 0xffffffff],
};

function writeNumber(
  view: DataView,
  at: number,
  vr: string,
  v: unknown,
  le: boolean,
  where: () => string,
): void {
  if (vr === "SV" || vr === "UV") {
    if (typeof v !== "bigint") throw new TypeError(`${where()}: expected bigints`);
    const ok = vr === "SV" ? BigInt.asIntN(64, v) === v : BigInt.asUintN(64, v) === v;
    if (!ok) throw new RangeError(`${where()}: ${v} out of range`);
    if (vr === "SV") view.setBigInt64(at, v, le);
    else view.setBigUint64(at, v, le);
    return;
  }
  if (typeof v !== "number" || (Number.isNaN(v) && vr !== "FL" && vr !== "FD")) {
    throw new TypeError(`${where()}: expected numbers`);
  }
  const range = RANGES[vr];
  if (range && (!Number.isInteger(v) || v < range[0] || v > range[1])) {
    throw new RangeError(`${where()}: ${v} is not an integer in ${range[0]}..${range[1]}`);
  }
  switch (vr) {
    case "US":
      return view.setUint16(at, v, le);
    case "SS":
      return view.setInt16(at, v, le);
    case "UL":
      return view.setUint32(at, v, le);
    case "SL":
      return view.setInt32(at, v, le);
    case "AT":
      view.setUint16(at, v >>> 16, le);
      return view.setUint16(at + 2, v & 0xffff, le);
    case "FL":
      return view.setFloat32(at, v, le);
    default:
      return view.setFloat64(at, v, le);
  }
}

/** A value padded to even length with its VR's padding byte (PS3.5 6.2, 7.1.1). */
function padded(bytes: Uint8Array, vr: string): Uint8Array {
  if (bytes.length % 2 === 0) return bytes;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = isTextVr(vr) ? vrInfo(vr).pad : 0;
  return out;
}

/** The Specific Character Set an attribute list declares, else `inherited`. */
export function declaredCharset(
  attrs: Attributes,
  inherited: SpecificCharacterSet,
): SpecificCharacterSet {
  const declared = attrs.find((a) => a.tag === SPECIFIC_CHARACTER_SET);
  if (!declared) return inherited;
  if (declared.value instanceof Uint8Array) return charsetOf(declared.value);
  if (!declared.value.every((v) => typeof v === "string")) {
    throw new CharsetError(
      "unknown-charset",
      "",
      `(0008,0005) holds ${declared.vr} values, not Specific Character Set terms`,
    );
  }
  return SpecificCharacterSet.of(declared.value as string[]);
}

/** Attributes sorted by tag, a repeated tag refused (PS3.5 7.1: each at most once). */
export function sortedAttributes(attrs: Attributes): Attributes {
  const sorted = [...attrs].sort((x, y) => x.tag - y.tag);
  sorted.forEach((a, i) => {
    if (i > 0 && sorted[i - 1].tag === a.tag) {
      throw new RangeError(`${formatTag(a.tag)} appears twice in one data set`);
    }
  });
  return sorted;
}

/** One attribute's encoded value (not a sequence) in a byte order, padded to even length. */
export function encodedValue(
  a: Attribute,
  charset: SpecificCharacterSet,
  littleEndian: boolean,
): Uint8Array {
  return padded(valueBytes(a, charset, littleEndian), a.vr);
}

function toDataset(attrs: Attributes, inherited: SpecificCharacterSet, layout: Layout): Dataset {
  const charset = declaredCharset(attrs, inherited);
  return sortedAttributes(attrs).map((a): Element => {
    // A UN value read with undefined length holds items (PS3.5 6.2.2); otherwise bytes.
    if (a.vr === "SQ" || (a.vr === "UN" && Array.isArray(a.value))) {
      const items = a.value as unknown[];
      if (!Array.isArray(a.value) || !items.every(Array.isArray)) {
        throw new TypeError(`${formatTag(a.tag)} SQ: expected a list of items`);
      }
      const itemLayout = a.vr === "UN" ? IMPLICIT_LE : layout;
      return {
        tag: a.tag,
        vr: a.vr,
        value: (a.value as Attributes[]).map((item) => toDataset(item, charset, itemLayout)),
      };
    }
    return { tag: a.tag, vr: a.vr, value: encodedValue(a, charset, layout.littleEndian) };
  });
}

/**
 * Encodes attributes in one of the four uncompressed transfer syntaxes:
 * in tag order, text in the Specific Character Set the data set (or an
 * item) declares, sequences and items with defined lengths (PS3.5 7.5.1).
 *
 * @throws {TypeError} or {RangeError} for a value that does not fit its VR, or a repeated tag
 * @throws {CharsetError} for text its Specific Character Set cannot hold
 * @throws {DicomParseError} `unsupported` for another transfer syntax
 */
export function encodeAttributes(attrs: Attributes, ts: string): Uint8Array {
  const enc = tsEncoding(ts);
  if (!enc || enc.encapsulated) {
    throw new DicomParseError(
      "unsupported",
      `transfer syntax ${ts} is not one of the four uncompressed syntaxes of PS3.5 A.1-A.3, A.5`,
    );
  }
  return encodeDataset(toDataset(attrs, SpecificCharacterSet.of(), enc), ts, {
    definedLengths: true,
  });
}

// ---------------------------------------------------------------------------
// Building and reading attribute lists

/**
 * An attribute with the dictionary's VR for its tag (PS3.6; US for the
 * ambiguous US/SS, OW for OB/OW, UN for a tag the dictionary does not
 * know) unless `vr` is given. A string value is split at `\` for the VRs
 * that hold several values.
 */
export function attribute(
  tag: number,
  value: AttributeValue | string = [],
  vr: string = tagVr(tag),
): Attribute {
  if (typeof value === "string") {
    const values = value === "" ? [] : SINGLE_VALUED_TEXT.has(vr) ? [value] : value.split("\\");
    return { tag, vr, value: values };
  }
  return { tag, vr, value };
}

/** The attribute of `tag` at the top level of `attrs`. */
export function findAttribute(attrs: Attributes, tag: number): Attribute | undefined {
  return attrs.find((a) => a.tag === tag);
}

/** Puts `attr` into `attrs`, replacing the one of its tag or inserting it in tag order. */
export function setAttribute(attrs: Attributes, attr: Attribute): void {
  const at = attrs.findIndex((a) => a.tag >= attr.tag);
  if (at < 0) attrs.push(attr);
  else if (attrs[at].tag === attr.tag) attrs[at] = attr;
  else attrs.splice(at, 0, attr);
}

/** The string values of a text attribute at the top level, or undefined. */
export function stringValues(attrs: Attributes, tag: number): string[] | undefined {
  const a = findAttribute(attrs, tag);
  return a && isTextVr(a.vr) && Array.isArray(a.value) ? a.value as string[] : undefined;
}
