/**
 * Data sets as text, in the layout of DCMTK 3.6.7's `dcmdump` and of the
 * identifiers its findscu prints (DcmObject::print): one line per element,
 *
 * ```
 * (0010,0010) PN [Smith^John]                             #  10, 1 PatientName
 * ```
 *
 * tag in lower-case hex, VR, value (text in brackets, numbers and bytes
 * separated by `\`, a known UID as `=Name`), padded to 40 columns, then
 * `#`, the value length, the value multiplicity and DCMTK's name of the
 * attribute. Items are indented two spaces per level and framed by their
 * delimitation lines. Unlike DCMTK, text is shown decoded from its Specific
 * Character Set (charset.ts), so names in any script read as they should;
 * bytes the set cannot decode show as U+FFFD and are reported.
 *
 * @module
 */

import {
  type Attribute,
  type AttributeLimits,
  type Attributes,
  declaredCharset,
  encodedValue,
  isTextVr,
  rawCharset,
  type RawElement,
  rawValue,
  readTree,
  sortedAttributes,
} from "./attributes.ts";
import { type CharsetProblemHandler, SpecificCharacterSet } from "./charset.ts";
import { lookupTag, tagVr } from "./dictionary.ts";
import { UNDEFINED_LENGTH } from "./parser.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN, transferSyntaxName } from "./uids.ts";
import { uidName } from "./uid_names.ts";

/** Options of {@linkcode formatDataset} and {@linkcode formatAttributes}. */
export interface DatasetFormatOptions {
  /**
   * Shorten values longer than a line as dcmdump does by default (`...`);
   * off by default, as in findscu's output (DCMTK's `+L` of dcmdump).
   */
  shortenLongValues?: boolean;
  /**
   * Called for text its Specific Character Set cannot decode, which is then
   * shown with U+FFFD; without it, such text throws a CharsetError.
   */
  onCharsetProblem?: CharsetProblemHandler;
}

/** DCMTK's DCM_OptPrintValueLength: the value column is padded to this width. */
const VALUE_WIDTH = 40;
/** DCMTK's DCM_OptPrintLineLength: longer values are shortened when asked. */
const LINE_LENGTH = 70;

/** One printed element or item: the parts DCMTK's printInfoLine puts on a line. */
interface Line {
  level: number;
  tag: number;
  vr: string;
  value: string;
  length: number;
  vm: number;
  name: string;
}

function tagText(tag: number): string {
  const hex = (tag >>> 0).toString(16).padStart(8, "0");
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

function render(line: Line): string {
  const head = `${"  ".repeat(line.level)}${tagText(line.tag)} ${line.vr} `;
  const length = line.length === UNDEFINED_LENGTH ? "u/l" : String(line.length);
  return `${head}${line.value.padEnd(VALUE_WIDTH)} # ${length.padStart(3)},${
    String(line.vm).padStart(2)
  } ${line.name}`;
}

/** Dictionary VRs that stand for a choice of VRs (PS3.6 "US or SS", "OB or OW"...). */
const AMBIGUOUS_VRS = new Set(["xs", "ox", "lt", "up"]);

/**
 * The VR DCMTK shows for an element it built from a key: the dictionary's,
 * ambiguous ones kept, `??` for a tag the dictionary does not know.
 */
function builtShownVr(tag: number, vr: string): string {
  const dictionary = lookupTag(tag)?.vr;
  if (dictionary === undefined) return vr === "UN" ? "??" : vr;
  return AMBIGUOUS_VRS.has(dictionary) && tagVr(tag) === vr ? dictionary : vr;
}

function nameOf(tag: number): string {
  return lookupTag(tag)?.name ?? "Unknown Tag & Data";
}

/** `[fraction, integer]` parts of `x`, as C's modf. */
function modf(x: number): [number, number] {
  const integer = Math.trunc(x);
  return [x - integer, integer];
}

/**
 * Rounds the digits `d[start..end]` up when the next digit (from `fract`,
 * or `next` when `fract` is 0) is over 4, carrying leftwards past the point;
 * a carry out of the first digit adds a `1` (f layout) or raises the
 * exponent (e layout). Returns the new start.
 */
function roundUp(
  d: string[],
  start: number,
  end: number,
  fract: number,
  next: number,
  exponent?: { value: number },
): number {
  const digit = fract ? modf(fract * 10)[1] : next;
  if (digit <= 4) return start;
  for (let i = end;; i--) {
    if (d[i] === ".") i--;
    if (d[i] !== "9") {
      d[i] = String(Number(d[i]) + 1);
      return start;
    }
    d[i] = "0";
    if (i === start) {
      if (exponent) {
        d[i] = "1";
        exponent.value++;
        return start;
      }
      d[start - 1] = "1";
      return start - 1;
    }
  }
}

/**
 * A floating point value as DCMTK 3.6.7 prints it (OFStandard::ftoa in its
 * `%g` form): FL and OF with 9 significant digits, FD and OD with 17. Its
 * digits come from repeated multiplication and division by ten in double
 * precision, as in the BSD printf DCMTK took them from, so the last of 17
 * digits is not always that of an exact conversion; this follows the same
 * steps to print the same digits.
 */
function formatFloat(v: number, double: boolean): string {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  let precision = double ? 17 : 9;
  const sign = v < 0 ? "-" : "";
  let [fract, integer] = modf(Math.abs(v));
  // The integer digits, least significant first, as DCMTK computes them.
  const whole: string[] = [];
  while (integer) {
    const [tmp, rest] = modf(integer / 10);
    integer = rest;
    whole.unshift(String(Math.trunc((tmp + 0.01) * 10)));
  }
  const d: string[] = [""]; // one slot before the digits for a carry
  let start = 1;
  let exponentForm = false;
  const exponent = { value: whole.length };
  if (whole.length > precision || (!whole.length && fract && fract < 0.0001)) {
    exponentForm = true;
    precision--;
    if (whole.length) {
      d.push(whole[0], ".");
      let k = 1;
      for (; precision && k < whole.length; precision--, k++) d.push(whole[k]);
      if (!precision && k < whole.length) {
        fract = 0;
        start = roundUp(d, start, d.length - 1, 0, Number(whole[k]), exponent);
      }
      exponent.value--;
    } else {
      let tmp: number;
      for (exponent.value = -1;; exponent.value--) {
        [fract, tmp] = modf(fract * 10);
        if (tmp) break;
      }
      d.push(String(tmp), ".");
    }
    if (fract) {
      let tmp: number;
      while (precision && fract) {
        [fract, tmp] = modf(fract * 10);
        d.push(String(tmp));
        precision--;
      }
      if (fract) start = roundUp(d, start, d.length - 1, fract, 0, exponent);
    }
  } else {
    if (whole.length) {
      d.push(...whole);
      precision -= whole.length;
    } else d.push("0");
    if (precision) d.push(".");
    if (fract && precision) {
      let tmp: number;
      do {
        [fract, tmp] = modf(fract * 10);
        d.push(String(tmp));
      } while (!tmp && !whole.length);
      while (--precision && fract) {
        [fract, tmp] = modf(fract * 10);
        d.push(String(tmp));
      }
    }
    if (fract) start = roundUp(d, start, d.length - 1, fract, 0);
  }
  let text = d.slice(start).join("");
  if (text.includes(".")) text = text.replace(/0+$/, "").replace(/\.$/, "");
  if (exponentForm) {
    const e = exponent.value;
    text += `e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  return sign + text;
}

/** Values joined by `\`, shortened to the line length when asked. */
function joined(parts: string[], shorten: boolean): string {
  const full = parts.join("\\");
  if (!shorten || full.length <= LINE_LENGTH) return full;
  let out = parts[0];
  for (let i = 1; i < parts.length && out.length + 1 + parts[i].length + 3 <= LINE_LENGTH; i++) {
    out += `\\${parts[i]}`;
  }
  return `${out}...`;
}

/** The printed values of a binary value and their multiplicity (PS3.5 6.2, 6.4). */
function binaryDisplay(
  vr: string,
  value: number[] | bigint[] | Uint8Array,
  shorten: boolean,
): [string, number] {
  if (value.length === 0) return ["(no value available)", 0];
  if (!(value instanceof Uint8Array)) {
    const parts = (value as (number | bigint)[]).map((v) =>
      vr === "AT"
        ? tagText(Number(v))
        : vr === "FL" || vr === "FD"
        ? formatFloat(Number(v), vr === "FD")
        : String(v)
    );
    return [joined(parts, shorten), parts.length];
  }
  // Other-byte, other-word... values: one value of many numbers (PS3.5 6.2), little endian.
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const hex = (n: number, digits: number) => n.toString(16).padStart(digits, "0");
  const each = (size: number, read: (at: number) => string) =>
    Array.from({ length: Math.floor(value.length / size) }, (_, i) => read(i * size));
  const parts = vr === "OW"
    ? each(2, (at) => hex(view.getUint16(at, true), 4))
    : vr === "OL"
    ? each(4, (at) => String(view.getUint32(at, true)))
    : vr === "OV"
    ? each(8, (at) => String(view.getBigUint64(at, true)))
    : vr === "OF"
    ? each(4, (at) => formatFloat(view.getFloat32(at, true), false))
    : vr === "OD"
    ? each(8, (at) => formatFloat(view.getFloat64(at, true), true))
    : Array.from(value, (byte) => hex(byte, 2)); // OB, UN and unknown VRs
  return [joined(parts, shorten), 1];
}

/** A text value as shown: `=Name` for a known UID, else in brackets, shortened when asked. */
function textDisplay(vr: string, text: string, shorten: boolean): [string, number] {
  if (text === "") return ["(no value available)", 0];
  const vm = vr === "LT" || vr === "ST" || vr === "UT" || vr === "UR" ? 1 : text.split("\\").length;
  if (vr === "UI") {
    // DCMTK looks the value up as a C string: up to its first NUL.
    const name = uidName(text.split("\0")[0]);
    if (name !== undefined) return [`=${name}`, vm];
  }
  if (shorten && text.length + 2 > LINE_LENGTH) {
    return [`[${text.slice(0, LINE_LENGTH - 4)}...`, vm];
  }
  return [`[${text}]`, vm];
}

/** Lines of a sequence: its own, its items framed by delimitations, its end. */
function sequenceLines(
  level: number,
  tag: number,
  vr: string,
  length: number,
  items: { length: number; lines: string[]; count: number }[],
): string[] {
  const kind = (l: number) => l === UNDEFINED_LENGTH ? "undefined" : "explicit";
  const out = [render({
    level,
    tag,
    vr,
    value: `(Sequence with ${kind(length)} length #=${items.length})`,
    length,
    vm: 1,
    name: nameOf(tag),
  })];
  for (const item of items) {
    out.push(render({
      level: level + 1,
      tag: 0xfffee000,
      vr: "na",
      value: `(Item with ${kind(item.length)} length #=${item.count})`,
      length: item.length,
      vm: 1,
      name: "Item",
    }));
    out.push(...item.lines);
    out.push(render({
      level: level + 1,
      tag: 0xfffee00d,
      vr: "na",
      value: item.length === UNDEFINED_LENGTH
        ? "(ItemDelimitationItem)"
        : "(ItemDelimitationItem for re-encoding)",
      length: 0,
      vm: 0,
      name: "ItemDelimitationItem",
    }));
  }
  out.push(render({
    level,
    tag: 0xfffee0dd,
    vr: "na",
    value: length === UNDEFINED_LENGTH
      ? "(SequenceDelimitationItem)"
      : "(SequenceDelimitationItem for re-encod.)",
    length: 0,
    vm: 0,
    name: "SequenceDelimitationItem",
  }));
  return out;
}

function rawLines(
  elements: RawElement[],
  level: number,
  inherited: SpecificCharacterSet,
  o: DatasetFormatOptions,
): string[] {
  const charset = rawCharset(elements, inherited, o.onCharsetProblem);
  const shorten = o.shortenLongValues ?? false;
  return elements.flatMap((el) => {
    if (el.items) {
      const items = el.items.map((item) => ({
        length: item.length,
        count: item.elements.length,
        lines: rawLines(item.elements, level + 2, charset, o),
      }));
      return sequenceLines(level, el.tag, el.shownVr, el.length, items);
    }
    const bytes = el.bytes!;
    let value: string;
    let vm: number;
    if (isTextVr(el.vr)) {
      const text = charset.decode(bytes, el.vr, o.onCharsetProblem);
      [value, vm] = textDisplay(el.vr, text, shorten);
    } else {
      [value, vm] = binaryDisplay(el.vr, rawValue(el) as number[] | Uint8Array, shorten);
    }
    return [render({
      level,
      tag: el.tag,
      vr: el.shownVr,
      value,
      length: el.length,
      vm,
      name: nameOf(el.tag),
    })];
  });
}

function header(ts: string): string[] {
  return ["# Dicom-Data-Set", `# Used TransferSyntax: ${transferSyntaxName(ts)}`];
}

/**
 * A data set received in transfer syntax `ts`, as findscu prints a
 * response identifier: the `# Dicom-Data-Set` and `# Used TransferSyntax`
 * lines, then one line per element. Values and lengths are shown as they
 * were received (text with its padding, sequences and items with their
 * defined or undefined lengths).
 *
 * @throws {DicomParseError} on malformed input or exceeded limits
 * @throws {CharsetError} for undecodable text, unless `onCharsetProblem` is given
 */
export function formatDataset(
  bytes: Uint8Array,
  ts: string,
  options: DatasetFormatOptions & { limits?: AttributeLimits } = {},
): string[] {
  const tree = readTree(bytes, ts, options.limits);
  return [...header(ts), ...rawLines(tree, 0, SpecificCharacterSet.of(), options)];
}

function attributeLines(
  attrs: Attributes,
  level: number,
  inherited: SpecificCharacterSet,
  shorten: boolean,
): string[] {
  const charset = declaredCharset(attrs, inherited);
  return sortedAttributes(attrs).flatMap((a: Attribute) => {
    if (a.vr === "SQ" || (a.vr === "UN" && Array.isArray(a.value))) {
      const items = (a.value as Attributes[]).map((item) => ({
        length: 0,
        count: item.length,
        lines: attributeLines(item, level + 2, charset, shorten),
      }));
      return sequenceLines(level, a.tag, a.vr, 0, items);
    }
    const bytes = encodedValue(a, charset, true);
    const [value, vm] = isTextVr(a.vr)
      ? textDisplay(a.vr, (a.value as string[]).join("\\"), shorten)
      // DCMTK shows bytes as it holds them, padded to even length.
      : binaryDisplay(a.vr, a.value instanceof Uint8Array ? bytes : a.value as number[], shorten);
    return [render({
      level,
      tag: a.tag,
      vr: builtShownVr(a.tag, a.vr),
      value,
      length: bytes.length,
      vm,
      name: nameOf(a.tag),
    })];
  });
}

/**
 * Attributes built in memory (query keys), as findscu prints its request
 * identifiers: values without padding, their encoded (padded) lengths,
 * sequences and items with explicit length 0 as DCMTK shows them before
 * encoding. `transferSyntax` names the syntax of the header line (DCMTK
 * shows Little Endian Explicit for a data set it built).
 *
 * @throws {TypeError} or {RangeError} for a value that does not fit its VR
 * @throws {CharsetError} for text its Specific Character Set cannot hold
 */
export function formatAttributes(
  attrs: Attributes,
  options: { transferSyntax?: string; shortenLongValues?: boolean } = {},
): string[] {
  return [
    ...header(options.transferSyntax ?? EXPLICIT_VR_LITTLE_ENDIAN),
    ...attributeLines(attrs, 0, SpecificCharacterSet.of(), options.shortenLongValues ?? false),
  ];
}
