/**
 * The DICOM data dictionary (PS3.6 Section 6, PS3.7 Annex E): tag -> VR,
 * VM, keyword and DCMTK's name, for implicit-VR decoding, transcoding and
 * `-d` dumps.
 *
 * The entries come from DCMTK's dicom.dic, compiled into
 * dictionary_data.js by scripts/gen_dictionary.ts. The data is one
 * string, indexed by tag on the first lookup; each entry is parsed when its
 * tag is first looked up.
 *
 * @module
 */

import { DICTIONARY_DATA } from "./dictionary_data.js";

/** One data dictionary entry. */
export interface DictEntry {
  /** The tag, `(group << 16) | element`; for repeating groups the tag asked for. */
  readonly tag: number;
  /**
   * The VR as the dictionary gives it: a PS3.5 6.2 VR, or one of DCMTK's
   * ambiguous pseudo-VRs: `xs` (US or SS), `ox` (OB or OW), `px` (Pixel Data:
   * OB or OW), `lt` (US, SS or OW), `up` (UL used as a DICOMDIR offset),
   * `na` (items and delimiters, which have no VR). {@link tagVr} resolves them.
   */
  readonly vr: string;
  /** The value multiplicity, e.g. `1`, `1-n`, `2-2n` (PS3.5 6.4). */
  readonly vm: string;
  /** The PS3.6 keyword, e.g. `PatientName` (without DCMTK's `RETIRED_` prefix). */
  readonly keyword: string;
  /** DCMTK's dictionary name as `dcmdump` prints it, e.g. `RETIRED_CurveData`. */
  readonly name: string;
  /** True for attributes PS3.6 lists as retired. */
  readonly retired: boolean;
}

// A parsed dicom.dic tag field: group and element ranges (PS3.6 "xx" notation).
interface DictTagPattern {
  /** First group of the range. */
  groupLo: number;
  /** Last group of the range (= groupLo for a single group). */
  groupHi: number;
  /** Which groups of the range apply: every other one from groupLo (`even`, the default), odd ones (`odd`), or all (`all`). */
  groupParity: Parity;
  /** First element of the range. */
  elementLo: number;
  /** Last element of the range (= elementLo for a single element). */
  elementHi: number;
  /** As groupParity, for the element range. */
  elementParity: Parity;
}

// Which numbers of a dicom.dic range apply.
type Parity = "even" | "odd" | "all";

// One range bound: "gggg" or "gggg-gggg", "gggg-o-gggg", "gggg-u-gggg" (dicom.dic header).
const RANGE = /^([0-9A-Fa-f]{4})(?:-(?:([ou])-)?([0-9A-Fa-f]{4}))?$/;

function parseRange(text: string): [number, number, Parity] | undefined {
  const m = RANGE.exec(text);
  if (!m) return undefined;
  const lo = parseInt(m[1], 16);
  const hi = m[3] === undefined ? lo : parseInt(m[3], 16);
  // dicom.dic: "By default the repeating notation only represents even numbers".
  const parity: Parity = m[2] === "o" ? "odd" : m[2] === "u" ? "all" : "even";
  return hi < lo ? undefined : [lo, hi, parity];
}

// Parses a dicom.dic tag field without parentheses, e.g. `0010,0010`,
// `6000-60FF,3000`, `0009-o-FFFF,0010-u-00FF`. Undefined when malformed.
function parseTagPattern(text: string): DictTagPattern | undefined {
  const [g, e, extra] = text.split(",");
  if (e === undefined || extra !== undefined) return undefined;
  const group = parseRange(g);
  const element = parseRange(e);
  if (!group || !element) return undefined;
  return {
    groupLo: group[0],
    groupHi: group[1],
    groupParity: group[2],
    elementLo: element[0],
    elementHi: element[1],
    elementParity: element[2],
  };
}

// Whether `v` lies in a dicom.dic range bound: a single value, or every (odd, even) value of a
// range as its parity says.
function inRange(v: number, lo: number, hi: number, parity: Parity): boolean {
  if (lo === hi) return v === lo;
  return v >= lo && v <= hi && (parity === "all" || (parity === "even") === (v % 2 === 0));
}

const RETIRED_PREFIX = "RETIRED_";

// The index of the data, built on the first lookup in one pass over its lines (1-5 ms, where
// entering every line into a map, each range expanded into its tags, about 13,000 entries,
// took 30-80 ms at the first lookup of a run): the start of each single tag's line ("gggg,eeee",
// all but 72 of the 4,991 lines; the generator sorts them by tag and refuses duplicates, so a
// tag is found by binary search), and the range lines (repeating groups) with their patterns.
// A line found is parsed into its entry when its tag is first asked for, and the entry kept.
interface DictIndex {
  /** Starts of the single-tag lines in DICTIONARY_DATA, in tag order. */
  exact: Int32Array;
  /** The range lines in data order: pattern and line start. */
  ranges: { pattern: DictTagPattern; at: number }[];
  /** Entries (or their absence) already looked up. */
  found: Map<number, DictEntry | undefined>;
}
let index: DictIndex | undefined;
// How many looked-up tags are kept when the dictionary does not hold them.
const FOUND_LIMIT = 20_000;

function dictIndex(): DictIndex {
  if (index) return index;
  const data = DICTIONARY_DATA;
  const starts: number[] = [];
  const ranges: DictIndex["ranges"] = [];
  for (let at = 0; at < data.length;) {
    let end = data.indexOf("\n", at);
    if (end < 0) end = data.length;
    if (end === at) {
      // An empty line (the first and the last).
    } else if (data.charCodeAt(at + 4) === 0x2c && data.charCodeAt(at + 9) === 0x09) {
      starts.push(at);
    } else {
      const tab = data.indexOf("\t", at);
      const tagText = data.slice(at, tab < 0 || tab > end ? end : tab);
      const pattern = parseTagPattern(tagText);
      if (!pattern) throw new Error(`dictionary_data.js: bad tag '${tagText}' (regenerate it)`);
      ranges.push({ pattern, at });
    }
    at = end + 1;
  }
  index = { exact: Int32Array.from(starts), ranges, found: new Map() };
  return index;
}

// The tag of the single-tag line starting at `at`.
function lineTag(at: number): number {
  const text = DICTIONARY_DATA.slice(at, at + 9);
  const tag = /^[0-9A-Fa-f]{4},[0-9A-Fa-f]{4}$/.test(text)
    ? parseInt(text.slice(0, 4) + text.slice(5), 16)
    : NaN;
  if (Number.isNaN(tag)) throw new Error(`dictionary_data.js: bad tag '${text}' (regenerate it)`);
  return tag;
}

// The start of `tag`'s own line, or -1.
function exactLine(exact: Int32Array, tag: number): number {
  let lo = 0;
  let hi = exact.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const t = lineTag(exact[mid]);
    if (t === tag) return exact[mid];
    if (t < tag) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

// The entry for `tag` from the data: of the lines that name it (its own, a range's), the last
// one, as when every line was entered into one map in data order.
function entryOf(tag: number): DictEntry | undefined {
  const ix = dictIndex();
  const known = ix.found.get(tag);
  if (known !== undefined || ix.found.has(tag)) return known;
  let at = exactLine(ix.exact, tag);
  const group = tag >>> 16;
  const element = tag & 0xffff;
  for (const r of ix.ranges) {
    const p = r.pattern;
    if (
      r.at > at && inRange(group, p.groupLo, p.groupHi, p.groupParity) &&
      inRange(element, p.elementLo, p.elementHi, p.elementParity)
    ) at = r.at;
  }
  let entry: DictEntry | undefined;
  if (at >= 0) {
    const end = DICTIONARY_DATA.indexOf("\n", at);
    const [, vr, name, vm] = DICTIONARY_DATA.slice(at, end < 0 ? undefined : end).split("\t");
    const retired = name.startsWith(RETIRED_PREFIX);
    const keyword = retired ? name.slice(RETIRED_PREFIX.length) : name;
    entry = { tag, vr, vm, keyword, name, retired };
  }
  // Bounded: the dictionary's own tags (about 13,000) are kept; tags it does not hold (private
  // elements a peer may send by the million) only up to FOUND_LIMIT in all.
  if (entry || ix.found.size < FOUND_LIMIT) ix.found.set(tag, entry);
  return entry;
}

function isPrivateCreator(group: number, element: number): boolean {
  // PS3.5 7.8.1: in an odd group, (gggg,0010-00FF) reserve blocks of private
  // elements and hold the creator's name, VR LO.
  return (group & 1) === 1 && element >= 0x0010 && element <= 0x00ff;
}

/**
 * The dictionary entry for `tag`: an exact entry, a repeating-group entry
 * (curves 50xx, overlays 60xx, variable pixel data 7Fxx, (0020,31xx)), or one
 * of the generic rules DCMTK's dictionary also has: a group length
 * (gggg,0000), VR UL (PS3.5 7.2), or a private creator (odd group, element
 * 0010-00FF), VR LO (PS3.5 7.8.1). Undefined for anything else, in particular
 * private data elements, whose meaning only their creator knows.
 */
export function lookupTag(tag: number): DictEntry | undefined {
  tag = tag >>> 0;
  const found = entryOf(tag);
  if (found) return found;
  const group = tag >>> 16;
  const element = tag & 0xffff;
  if (element === 0) {
    const name = (group & 1) === 1 ? "PrivateGroupLength" : "GenericGroupLength";
    return { tag, vr: "UL", vm: "1", keyword: "GroupLength", name, retired: false };
  }
  if (isPrivateCreator(group, element)) {
    return {
      tag,
      vr: "LO",
      vm: "1",
      keyword: "PrivateCreator",
      name: "PrivateCreator",
      retired: false,
    };
  }
  return undefined;
}

/**
 * The VR to decode `tag` with when the transfer syntax does not carry one
 * (Implicit VR Little Endian, PS3.5 A.1) and nothing else in the data set
 * tells: always a two-letter PS3.5 6.2 VR. The ambiguous dictionary VRs get
 * the VR DCMTK 3.6.7 gives them without further input (checked against
 * dcmconv); multi_vr.ts resolves them from the data set where a rule says how:
 * - `xs` (US or SS) -> `US`;
 * - `ox` (OB or OW) -> `OW` for Overlay Data (PS3.5 8.1.2, A.1), else `OB`
 *   (waveform data without Waveform Bits Allocated, curve and audio data,
 *   variable pixel data, DICONDE counts);
 * - `px` (Pixel Data) -> `OW` (PS3.5 A.1);
 * - `lt` (LUT Data: US, SS or OW) -> `OW` (PS3.5 A.1);
 * - `up` (DICOMDIR offsets) -> `UL`, its encoding (PS3.3 F.3.1);
 * - `na` (Item, Item Delimitation, Sequence Delimitation; PS3.5 7.5) -> `UN`:
 *   they have no VR and a decoder must recognise them by tag before asking.
 *
 * Group lengths are `UL`, private creators `LO`, and every other tag the
 * dictionary does not know (private data elements in particular) `UN`, to be
 * kept as opaque bytes (PS3.5 6.2.2).
 */
export function tagVr(tag: number): string {
  const found = entryOf(tag >>> 0);
  if (found) {
    switch (found.vr) {
      case "xs":
        return "US";
      case "ox":
        return isOverlayData(tag) ? "OW" : "OB";
      case "px":
      case "lt":
        return "OW";
      case "up":
        return "UL";
      case "na":
        return "UN";
      default:
        return found.vr;
    }
  }
  const element = tag & 0xffff;
  if (element === 0) return "UL";
  return isPrivateCreator(tag >>> 16, element) ? "LO" : "UN";
}

/** Overlay Data (60xx,3000), xx even (PS3.3 C.9.2). */
function isOverlayData(tag: number): boolean {
  return (tag >>> 24) === 0x60 && ((tag >>> 16) & 1) === 0 && (tag & 0xffff) === 0x3000;
}

/**
 * One entry per dictionary line whose VR is one of DCMTK's ambiguous
 * pseudo-VRs (`xs`, `ox`, `px`, `lt`, `up`), for a repeating group the
 * first group of its range.
 */
export function ambiguousVrEntries(): DictEntry[] {
  const out: DictEntry[] = [];
  for (const line of DICTIONARY_DATA.split("\n")) {
    const [tagText, vr] = line.split("\t");
    if (!["xs", "ox", "px", "lt", "up"].includes(vr)) continue;
    const p = parseTagPattern(tagText)!;
    out.push(entryOf(((p.groupLo << 16) | p.elementLo) >>> 0)!);
  }
  return out;
}

/** `(gggg,eeee)` in uppercase hex, as DCMTK prints tags in its log lines. */
export function formatTag(tag: number): string {
  const hex = (tag >>> 0).toString(16).toUpperCase().padStart(8, "0");
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

/** The PS3.6 keyword of `tag` (see {@link lookupTag}), or undefined when unknown. */
export function tagKeyword(tag: number): string | undefined {
  return lookupTag(tag)?.keyword;
}
