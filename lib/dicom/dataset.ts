/**
 * A whole data set as a tree (PS3.5 7.1, 7.5), for tests, comparisons and
 * small data sets such as file meta information: decode from bytes, encode
 * to bytes, compare two data sets element by element.
 *
 * Values are kept as raw bytes in the byte order of the transfer syntax
 * they were read in (UN values always little endian, PS3.5 6.2.2);
 * comparisons normalise the byte order by VR.
 *
 * @module
 */

import { deflateRaw, inflateRaw } from "./deflate.ts";
import { formatTag } from "./dictionary.ts";
import { DicomParseError } from "./errors.ts";
import { VrResolver } from "./multi_vr.ts";
import {
  DatasetParser,
  type DatasetToken,
  itemsLayout,
  type ParserLimits,
  UNDEFINED_LENGTH,
} from "./parser.ts";
import { concatBytes } from "../util/bytes.ts";
import { IMPLICIT_VR_LITTLE_ENDIAN } from "./uids.ts";
import { type Layout, tsEncoding } from "./transfer_syntax.ts";
import { decodeText, swapInPlace, vrInfo } from "./vr.ts";
import { ChunkSink, DatasetEncoder, headerSize, outputVr } from "./writer.ts";

/**
 * One data element: a value (bytes), the items of a sequence (VR SQ, or UN
 * with undefined length: PS3.5 6.2.2), or the fragments of encapsulated
 * pixel data, Basic Offset Table first (VR OB or OW, PS3.5 A.4).
 */
export interface Element {
  /** `(group << 16) | element`. */
  tag: number;
  /** Two-letter VR (from the header, or the dictionary for implicit VR). */
  vr: string;
  /** Value bytes, sequence items, or encapsulated fragments. */
  value: Uint8Array | Dataset[] | Uint8Array[];
}

/** A data set or item: its elements in tag order. */
export type Dataset = Element[];

/** True when `e` holds encapsulated fragments (an array value with VR OB or OW). */
export function isFragments(e: Element): e is Element & { value: Uint8Array[] } {
  return Array.isArray(e.value) && (e.vr === "OB" || e.vr === "OW");
}

/** True when `e` is a sequence (an array value that is not fragments). */
export function isSequence(e: Element): e is Element & { value: Dataset[] } {
  return Array.isArray(e.value) && !isFragments(e);
}

function encodingOf(ts: string) {
  const enc = tsEncoding(ts);
  if (!enc) throw new DicomParseError("unsupported", `unknown transfer syntax ${ts}`);
  return enc;
}

/**
 * Decodes a whole data set (inflating it first for the deflated syntax).
 *
 * @throws {DicomParseError} on malformed input, an unknown syntax, or exceeded limits
 */
export function decodeDataset(bytes: Uint8Array, ts: string, limits: ParserLimits = {}): Dataset {
  const enc = encodingOf(ts);
  const input = enc.deflated ? inflateRaw(bytes) : bytes;
  const parser = new DatasetParser(enc, limits);
  const resolver = new VrResolver(enc);
  const builder = new TreeBuilder();
  for (const t of parser.push(input)) builder.add(resolver.resolve(t));
  parser.end();
  return builder.root;
}

/** Builds the tree from tokens, with explicit stacks (no recursion). */
class TreeBuilder {
  readonly root: Dataset = [];
  readonly #datasets: Dataset[] = [this.root];
  readonly #containers: (Dataset[] | Uint8Array[])[] = [];
  #pieces: Uint8Array[] = [];
  #done: (value: Uint8Array) => void = () => {};

  add(t: DatasetToken): void {
    const ds = this.#datasets[this.#datasets.length - 1];
    switch (t.kind) {
      case "element": {
        const el: Element = { tag: t.tag, vr: t.vr, value: new Uint8Array(0) };
        ds.push(el);
        this.#done = (v) => el.value = v;
        return;
      }
      case "value":
        this.#pieces.push(t.bytes);
        if (t.last) {
          this.#done(concatBytes(this.#pieces));
          this.#pieces = [];
        }
        return;
      case "sequence":
      case "encapsulated": {
        const value: Dataset[] | Uint8Array[] = [];
        ds.push({ tag: t.tag, vr: t.vr, value });
        this.#containers.push(value);
        return;
      }
      case "item-start": {
        const item: Dataset = [];
        (this.#containers[this.#containers.length - 1] as Dataset[]).push(item);
        this.#datasets.push(item);
        return;
      }
      case "item-end":
        this.#datasets.pop();
        return;
      case "fragment": {
        const fragments = this.#containers[this.#containers.length - 1] as Uint8Array[];
        if (t.length === 0) fragments.push(new Uint8Array(0));
        else this.#done = (v) => fragments.push(v);
        return;
      }
      case "sequence-end":
        this.#containers.pop();
        return;
    }
  }
}

/** Options of {@linkcode encodeDataset}. */
export interface EncodeOptions {
  /**
   * Write sequences and items with defined lengths (computed here) rather
   * than undefined lengths with delimitation items (PS3.5 7.5.1, 7.5.2).
   */
  definedLengths?: boolean;
  /** zlib level for the deflated syntax (default 6). */
  compressionLevel?: number;
}

/**
 * Encodes a data set whose values are in the byte order of `ts` (as
 * {@linkcode decodeDataset} returns them), deflating it for the deflated
 * syntax (padded to even length, PS3.5 A.5). Encapsulated pixel data is always written with undefined length.
 *
 * @throws {DicomParseError} for an unknown syntax, or fragments in a syntax other than explicit VR little endian
 */
export function encodeDataset(ds: Dataset, ts: string, options: EncodeOptions = {}): Uint8Array {
  const enc = encodingOf(ts);
  const layout: Layout = { explicitVr: enc.explicitVr, littleEndian: enc.littleEndian };
  const sink = new ChunkSink();
  const declaredLengths = options.definedLengths ?? false;
  const encoder = new DatasetEncoder(layout, layout, sink, { declaredLengths });
  for (const t of treeTokens(ds, layout, 0, declaredLengths)) encoder.encode(t);
  sink.flush();
  const bytes = concatBytes(sink.take());
  return enc.deflated ? deflateRaw(bytes, options.compressionLevel) : bytes;
}

function* treeTokens(
  ds: Dataset,
  layout: Layout,
  depth: number,
  lengths: boolean,
): Generator<DatasetToken> {
  for (const el of ds) {
    const { tag, vr } = el;
    if (isFragments(el)) {
      yield { kind: "encapsulated", tag, vr, depth };
      for (const f of el.value) {
        yield { kind: "fragment", length: f.length };
        if (f.length > 0) yield { kind: "value", bytes: f, last: true };
      }
      yield { kind: "sequence-end" };
    } else if (isSequence(el)) {
      const items = itemsLayout(layout, vr);
      const defined = lengths && hasDefinedLength(el);
      const length = defined ? itemsLength(el.value, items) : undefined;
      yield { kind: "sequence", tag, vr, length, depth, items };
      for (const item of el.value) {
        yield { kind: "item-start", length: defined ? datasetLength(item, items) : undefined };
        yield* treeTokens(item, items, depth + 1, lengths);
        yield { kind: "item-end" };
      }
      yield { kind: "sequence-end" };
    } else {
      const value = el.value as Uint8Array;
      yield { kind: "element", tag, vr, length: value.length, depth };
      if (value.length > 0) yield { kind: "value", bytes: value, last: true };
    }
  }
}

/**
 * Whether a sequence may be written with a defined length: not a UN one, which
 * PS3.5 6.2.2 reads as items only when its length is undefined (a defined one
 * reads back as a value, in implicit VR under the dictionary's VR).
 */
function hasDefinedLength(el: Element): boolean {
  return el.vr !== "UN";
}

/** Encoded size of items with defined lengths: 8-byte item headers, no delimiters (PS3.5 7.5.1). */
function itemsLength(items: Dataset[], layout: Layout): number {
  return items.reduce((n, item) => n + 8 + datasetLength(item, layout), 0);
}

/** Encoded size of a data set written with defined lengths in `layout`. */
function datasetLength(ds: Dataset, layout: Layout): number {
  let n = 0;
  for (const el of ds) {
    if (isFragments(el)) {
      // Undefined length: fragment items, then the sequence delimiter (PS3.5 A.4).
      n += headerSize(el.vr, layout) + el.value.reduce((m, f) => m + 8 + f.length, 0) + 8;
    } else if (isSequence(el)) {
      const items = itemsLayout(layout, el.vr);
      n += headerSize(el.vr, layout) + (hasDefinedLength(el)
        ? itemsLength(el.value, items)
        // Item and sequence delimiters (PS3.5 7.5.2).
        : el.value.reduce((m, item) => m + 16 + datasetLength(item, items), 0) + 8);
    } else {
      const length = (el.value as Uint8Array).length;
      n += headerSize(outputVr(el.vr, length, layout), layout) + length;
    }
  }
  return n;
}

/** The text value of a top-level element, padding removed (PS3.5 6.2); undefined if absent or not a value. */
export function stringValue(ds: Dataset, tag: number): string | undefined {
  const el = ds.find((e) => e.tag === tag);
  return el && el.value instanceof Uint8Array ? decodeText(el.value) : undefined;
}

/**
 * The differences between two data sets, compared element by element in
 * logical form: values of the same VR compare equal whatever the byte order
 * of their syntax (PS3.5 7.3); text values compare without their padding;
 * a binary value compares equal to itself with one NUL byte of padding (an
 * odd length made even). VRs are compared only where both sides carry them
 * (explicit VR), and UN matches any VR (PS3.5 6.2.2). Group lengths
 * (gggg,0000) are skipped: they are retired outside groups 0000 and 0002
 * (PS3.5 7.2) and change with the encoding. Sequence and item lengths are
 * not compared. Returns an empty list when the data sets are equal.
 */
export function datasetDifferences(a: Dataset, b: Dataset, aTs: string, bTs: string): string[] {
  const out: string[] = [];
  compareDatasets(a, b, encodingOf(aTs), encodingOf(bTs), "", out);
  return out;
}

function compareDatasets(
  a: Dataset,
  b: Dataset,
  la: Layout,
  lb: Layout,
  path: string,
  out: string[],
): void {
  const byTag = (ds: Dataset) =>
    ds.filter((e) => (e.tag & 0xffff) !== 0).sort((x, y) => x.tag - y.tag);
  const xs = byTag(a);
  const ys = byTag(b);
  let i = 0;
  let j = 0;
  while (i < xs.length || j < ys.length) {
    const x = xs[i];
    const y = ys[j];
    if (y === undefined || (x !== undefined && x.tag < y.tag)) {
      out.push(`${path}${formatTag(x.tag)} ${x.vr}: only in the first data set`);
      i++;
    } else if (x === undefined || y.tag < x.tag) {
      out.push(`${path}${formatTag(y.tag)} ${y.vr}: only in the second data set`);
      j++;
    } else {
      compareElements(x, y, la, lb, path, out);
      i++;
      j++;
    }
  }
}

function compareElements(
  x: Element,
  y: Element,
  la: Layout,
  lb: Layout,
  path: string,
  out: string[],
): void {
  const label = `${path}${formatTag(x.tag)}`;
  if (la.explicitVr && lb.explicitVr && x.vr !== y.vr && x.vr !== "UN" && y.vr !== "UN") {
    out.push(`${label}: VR ${x.vr} != ${y.vr}`);
    return;
  }
  const vr = x.vr === "UN" ? y.vr : x.vr;
  if (isSequence(x) !== isSequence(y)) {
    const [sx, sy] = [unSequence(x, y), unSequence(y, x)];
    if (sx && sy) return compareElements(sx, sy, la, lb, path, out);
  }
  if (isSequence(x) && isSequence(y)) {
    if (x.value.length !== y.value.length) {
      out.push(`${label} ${vr}: ${x.value.length} items != ${y.value.length} items`);
      return;
    }
    const ia = itemsLayout(la, x.vr);
    const ib = itemsLayout(lb, y.vr);
    x.value.forEach((item, k) =>
      compareDatasets(item, y.value[k], ia, ib, `${label} ${vr} item ${k + 1} > `, out)
    );
  } else if (isFragments(x) && isFragments(y)) {
    if (x.value.length !== y.value.length) {
      out.push(`${label} ${vr}: ${x.value.length} fragments != ${y.value.length} fragments`);
      return;
    }
    x.value.forEach((f, k) => {
      const d = bytesDifference(f, y.value[k]);
      if (d) out.push(`${label} ${vr} fragment ${k + 1}: ${d}`);
    });
  } else if (x.value instanceof Uint8Array && y.value instanceof Uint8Array) {
    const na = littleEndianValue(x.value, x.vr === "UN" ? "UN" : vr, la);
    const nb = littleEndianValue(y.value, y.vr === "UN" ? "UN" : vr, lb);
    if (vrInfo(vr).text) {
      const sa = decodeText(na);
      const sb = decodeText(nb);
      if (sa !== sb) out.push(`${label} ${vr}: '${sa}' != '${sb}'`);
    } else {
      const d = bytesDifference(na, nb);
      if (d) out.push(`${label} ${vr}: ${d}`);
    }
  } else {
    out.push(`${label}: ${shape(x)} != ${shape(y)}`);
  }
}

/**
 * `e` as a sequence, to compare with the sequence `other`: as it is if it
 * is one; read as items in implicit VR little endian if it is a UN value
 * (PS3.5 6.2.2: a UN value whose VR becomes known "is encoded in Little
 * Endian byte ordering with implicit VR encoding"), as DCMTK writes
 * unknown sequences of defined length in implicit VR; else undefined.
 */
function unSequence(e: Element, other: Element): Element | undefined {
  if (isSequence(e)) return e;
  if (!(e.value instanceof Uint8Array) || e.vr !== "UN" || !isSequence(other)) return undefined;
  // Wrapped in an undefined length, which implicit VR reads as a sequence (PS3.5 7.5.1).
  const wrapped = new Uint8Array(e.value.length + 16);
  const v = new DataView(wrapped.buffer);
  v.setUint16(0, e.tag >>> 16, true);
  v.setUint16(2, e.tag & 0xffff, true);
  v.setUint32(4, UNDEFINED_LENGTH, true);
  wrapped.set(e.value, 8);
  v.setUint16(8 + e.value.length, 0xfffe, true);
  v.setUint16(10 + e.value.length, 0xe0dd, true);
  try {
    const [parsed] = decodeDataset(wrapped, IMPLICIT_VR_LITTLE_ENDIAN);
    return { tag: e.tag, vr: "UN", value: parsed.value };
  } catch {
    return undefined;
  }
}

function shape(e: Element): string {
  return isSequence(e) ? `sequence (${e.vr})` : isFragments(e) ? "fragments" : `value (${e.vr})`;
}

/** `bytes` in little endian order: swapped by VR when read big endian, UN being little endian already. */
function littleEndianValue(bytes: Uint8Array, vr: string, layout: Layout): Uint8Array {
  const unit = vrInfo(vr).swap;
  if (layout.littleEndian || vr === "UN" || unit === 1) return bytes;
  const copy = bytes.slice();
  swapInPlace(copy, unit);
  return copy;
}

/** Why two binary values differ, or undefined when equal (one trailing NUL pad allowed). */
function bytesDifference(a: Uint8Array, b: Uint8Array): string | undefined {
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  const padded = long.length === short.length + 1 && short.length % 2 === 1 &&
    long[long.length - 1] === 0;
  if (long.length !== short.length && !padded) {
    return `length ${a.length} != ${b.length}`;
  }
  for (let k = 0; k < short.length; k++) {
    if (a[k] !== b[k]) {
      return a.length <= 16
        ? `${hex(a)} != ${hex(b)}`
        : `values differ from byte ${k} (${a[k]} != ${b[k]})`;
    }
  }
  return undefined;
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((v) => v.toString(16).padStart(2, "0")).join(" ");
}
