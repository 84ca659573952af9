/**
 * Command set codec (PS3.7 6.3.1, 9.3, Annex E).
 *
 * A command set is a list of group 0000 elements, always encoded in the
 * Implicit VR Little Endian transfer syntax whatever the presentation
 * context (PS3.7 6.3.1): tag (group, element: two little-endian uint16),
 * value length (little-endian uint32), value. The first element is
 * (0000,0000) CommandGroupLength, the number of bytes that follow it
 * (PS3.7 E.1).
 *
 * A decoded command set is a {@linkcode CommandSet}: a record keyed by the
 * Annex E keyword, whose value type follows the element's VR.
 *
 * @module
 */

import { DimseDecodeError, formatTag } from "./errors.ts";
import { readU16, readU32, Slab } from "../util/bytes.ts";

/** The value representations used by command elements (PS3.7 Annex E, PS3.5 6.2). */
export type CommandVr = "UL" | "US" | "UI" | "AE" | "AT" | "LO" | "SH" | "LT" | "CS" | "IS";

/** One row of the command dictionary. */
export interface CommandElementDef {
  /** `(group << 16) | element`; the group is always 0000. */
  readonly tag: number;
  /** Keyword of PS3.7 Annex E (retired ones keep their name, PS3.7 Table E.2-1). */
  readonly keyword: string;
  /** Value representation (PS3.5 6.2). */
  readonly vr: CommandVr;
  /** Value multiplicity 1-n (a list) rather than 1. */
  readonly multi: boolean;
  /** Retired in PS3.7 Table E.2-1. */
  readonly retired: boolean;
}

/**
 * Every command element of PS3.7 Annex E: Table E.1-1 (current) and
 * Table E.2-1 (retired, still decoded so that old peers are understood).
 */
export const COMMAND_DICTIONARY = [
  // PS3.7 Table E.1-1
  { tag: 0x00000000, keyword: "CommandGroupLength", vr: "UL", multi: false, retired: false },
  { tag: 0x00000002, keyword: "AffectedSOPClassUID", vr: "UI", multi: false, retired: false },
  { tag: 0x00000003, keyword: "RequestedSOPClassUID", vr: "UI", multi: false, retired: false },
  { tag: 0x00000100, keyword: "CommandField", vr: "US", multi: false, retired: false },
  { tag: 0x00000110, keyword: "MessageID", vr: "US", multi: false, retired: false },
  { tag: 0x00000120, keyword: "MessageIDBeingRespondedTo", vr: "US", multi: false, retired: false },
  { tag: 0x00000600, keyword: "MoveDestination", vr: "AE", multi: false, retired: false },
  { tag: 0x00000700, keyword: "Priority", vr: "US", multi: false, retired: false },
  { tag: 0x00000800, keyword: "CommandDataSetType", vr: "US", multi: false, retired: false },
  { tag: 0x00000900, keyword: "Status", vr: "US", multi: false, retired: false },
  { tag: 0x00000901, keyword: "OffendingElement", vr: "AT", multi: true, retired: false },
  { tag: 0x00000902, keyword: "ErrorComment", vr: "LO", multi: false, retired: false },
  { tag: 0x00000903, keyword: "ErrorID", vr: "US", multi: false, retired: false },
  { tag: 0x00001000, keyword: "AffectedSOPInstanceUID", vr: "UI", multi: false, retired: false },
  { tag: 0x00001001, keyword: "RequestedSOPInstanceUID", vr: "UI", multi: false, retired: false },
  { tag: 0x00001002, keyword: "EventTypeID", vr: "US", multi: false, retired: false },
  { tag: 0x00001005, keyword: "AttributeIdentifierList", vr: "AT", multi: true, retired: false },
  { tag: 0x00001008, keyword: "ActionTypeID", vr: "US", multi: false, retired: false },
  {
    tag: 0x00001020,
    keyword: "NumberOfRemainingSuboperations",
    vr: "US",
    multi: false,
    retired: false,
  },
  {
    tag: 0x00001021,
    keyword: "NumberOfCompletedSuboperations",
    vr: "US",
    multi: false,
    retired: false,
  },
  {
    tag: 0x00001022,
    keyword: "NumberOfFailedSuboperations",
    vr: "US",
    multi: false,
    retired: false,
  },
  {
    tag: 0x00001023,
    keyword: "NumberOfWarningSuboperations",
    vr: "US",
    multi: false,
    retired: false,
  },
  {
    tag: 0x00001030,
    keyword: "MoveOriginatorApplicationEntityTitle",
    vr: "AE",
    multi: false,
    retired: false,
  },
  { tag: 0x00001031, keyword: "MoveOriginatorMessageID", vr: "US", multi: false, retired: false },
  // PS3.7 Table E.2-1 (retired)
  { tag: 0x00000001, keyword: "CommandLengthToEnd", vr: "UL", multi: false, retired: true },
  { tag: 0x00000010, keyword: "CommandRecognitionCode", vr: "SH", multi: false, retired: true },
  { tag: 0x00000200, keyword: "Initiator", vr: "AE", multi: false, retired: true },
  { tag: 0x00000300, keyword: "Receiver", vr: "AE", multi: false, retired: true },
  { tag: 0x00000400, keyword: "FindLocation", vr: "AE", multi: false, retired: true },
  { tag: 0x00000850, keyword: "NumberOfMatches", vr: "US", multi: false, retired: true },
  { tag: 0x00000860, keyword: "ResponseSequenceNumber", vr: "US", multi: false, retired: true },
  { tag: 0x00004000, keyword: "DialogReceiver", vr: "LT", multi: false, retired: true },
  { tag: 0x00004010, keyword: "TerminalType", vr: "LT", multi: false, retired: true },
  { tag: 0x00005010, keyword: "MessageSetID", vr: "SH", multi: false, retired: true },
  { tag: 0x00005020, keyword: "EndMessageID", vr: "SH", multi: false, retired: true },
  { tag: 0x00005110, keyword: "DisplayFormat", vr: "LT", multi: false, retired: true },
  { tag: 0x00005120, keyword: "PagePositionID", vr: "LT", multi: false, retired: true },
  { tag: 0x00005130, keyword: "TextFormatID", vr: "CS", multi: false, retired: true },
  { tag: 0x00005140, keyword: "NormalReverse", vr: "CS", multi: false, retired: true },
  { tag: 0x00005150, keyword: "AddGrayScale", vr: "CS", multi: false, retired: true },
  { tag: 0x00005160, keyword: "Borders", vr: "CS", multi: false, retired: true },
  { tag: 0x00005170, keyword: "Copies", vr: "IS", multi: false, retired: true },
  { tag: 0x00005180, keyword: "CommandMagnificationType", vr: "CS", multi: false, retired: true },
  { tag: 0x00005190, keyword: "Erase", vr: "CS", multi: false, retired: true },
  { tag: 0x000051a0, keyword: "Print", vr: "CS", multi: false, retired: true },
  { tag: 0x000051b0, keyword: "Overlays", vr: "US", multi: true, retired: true },
] as const satisfies readonly CommandElementDef[];

/** One row of {@linkcode COMMAND_DICTIONARY}, with its literal keyword and VR. */
export type CommandDictionaryEntry = (typeof COMMAND_DICTIONARY)[number];

/** The JavaScript type of a value of the given dictionary row. */
export type CommandValueOf<D extends CommandDictionaryEntry> = D extends
  { vr: "UL" | "US"; multi: false } ? number
  : D extends { vr: "US" | "AT" } ? number[]
  : string;

/** Keywords a {@linkcode CommandSet} may carry (all but the computed group length). */
export type CommandKeyword = Exclude<CommandDictionaryEntry["keyword"], "CommandGroupLength">;

/**
 * A decoded command set: each present element under its PS3.7 Annex E
 * keyword. UL/US values are numbers, AT values and US lists are arrays of
 * numbers (an AT as `(group << 16) | element`), the other VRs are strings
 * without their trailing NUL/space padding.
 *
 * (0000,0000) CommandGroupLength is not part of it: the encoder computes it
 * and the decoder checks it.
 */
export type CommandSet = {
  [D in CommandDictionaryEntry as D["keyword"] extends CommandKeyword ? D["keyword"] : never]?:
    CommandValueOf<D>;
};

/** Any value a {@linkcode CommandSet} element may hold. */
export type CommandValue = number | number[] | string;

/** Limits applied by {@linkcode decodeCommandSet}. */
export interface CommandSetLimits {
  /** Largest accepted command set, in bytes. */
  maxLength: number;
}

/** Default {@linkcode CommandSetLimits.maxLength}: 64 KiB. */
export const DEFAULT_MAX_COMMAND_SET_LENGTH = 64 * 1024;

/** Command Data Set Type value meaning "no data set follows" (PS3.7 E.1). */
export const NO_DATASET = 0x0101;

/** Maximum value length of the string VRs (PS3.5 Table 6.2-1). */
const MAX_STRING_LENGTH: Record<Exclude<CommandVr, "UL" | "US" | "AT">, number> = {
  UI: 64,
  AE: 16,
  SH: 16,
  LO: 64,
  LT: 10240,
  CS: 16,
  IS: 12,
};

const DEF_BY_TAG: ReadonlyMap<number, CommandDictionaryEntry> = new Map(
  COMMAND_DICTIONARY.map((d) => [d.tag, d]),
);
const ENCODE_ORDER: readonly CommandDictionaryEntry[] = COMMAND_DICTIONARY.filter((d) =>
  d.tag !== 0
).sort((a, b) => a.tag - b.tag);

/** Each encoded keyword's index in ENCODE_ORDER. */
const INDEX_BY_KEYWORD: ReadonlyMap<string, number> = new Map(
  ENCODE_ORDER.map((d, i) => [d.keyword, i]),
);
/**
 * Scratch of encodeCommandSet (synchronous, so one of each serves every
 * call): the ENCODE_ORDER indices of the elements present, in tag order,
 * and their value lengths.
 */
const PRESENT = new Uint8Array(ENCODE_ORDER.length);
const LENGTHS = new Uint32Array(ENCODE_ORDER.length);

/** The tag of every command element, by keyword (PS3.7 Annex E). */
export const COMMAND_TAG = Object.fromEntries(
  COMMAND_DICTIONARY.map((d) => [d.keyword, d.tag]),
) as Readonly<Record<CommandDictionaryEntry["keyword"], number>>;

/** The numbers of a UL/US/AT value, checked for type (one number, or a list if `multi`). */
function numbersOf(def: CommandDictionaryEntry, value: CommandValue, multi: boolean): number[] {
  const list: unknown[] = multi && Array.isArray(value) ? value : [value];
  for (const v of list) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      throw new TypeError(
        `${where(def)}: expected ${multi ? "non-negative integers" : "a non-negative integer"}`,
      );
    }
  }
  return list as number[];
}

/** An element in error messages: "(0000,0110) MessageID". Built only when a value is wrong. */
function where(def: CommandDictionaryEntry): string {
  return `${formatTag(def.tag)} ${def.keyword}`;
}

/**
 * The length of one element's value once encoded, strings padded to even
 * length (PS3.5 6.2); throws when the value does not fit its VR. A single
 * number (the common case: message IDs, statuses) is checked without a list.
 */
function valueLength(def: CommandDictionaryEntry, value: CommandValue): number {
  switch (def.vr) {
    case "UL":
    case "US": {
      const size = def.vr === "UL" ? 4 : 2;
      if (typeof value === "number" && Number.isInteger(value) && value >= 0) {
        if (value >= 2 ** (8 * size)) {
          throw new RangeError(`${where(def)}: ${value} exceeds ${def.vr}`);
        }
        return size;
      }
      const list = numbersOf(def, value, def.multi);
      for (const v of list) {
        if (v >= 2 ** (8 * size)) throw new RangeError(`${where(def)}: ${v} exceeds ${def.vr}`);
      }
      return list.length * size;
    }
    case "AT": {
      const list = numbersOf(def, value, true);
      for (const v of list) {
        if (v > 0xffffffff) throw new RangeError(`${where(def)}: ${v} is not a tag`);
      }
      return list.length * 4;
    }
    default: {
      if (typeof value !== "string") throw new TypeError(`${where(def)}: expected a string`);
      const padded = value.length % 2 === 0 ? value.length : value.length + 1;
      if (padded > MAX_STRING_LENGTH[def.vr]) {
        throw new RangeError(
          `${where(def)}: ${value.length} characters exceed the ${def.vr} maximum of ${
            MAX_STRING_LENGTH[def.vr]
          }`,
        );
      }
      for (let i = 0; i < value.length; i++) {
        const c = value.charCodeAt(i);
        if (c > 0xff) {
          throw new RangeError(`${where(def)}: character U+${c.toString(16)} not encodable`);
        }
      }
      return padded;
    }
  }
}

/** Writes a value {@link valueLength} has checked, `length` bytes at `offset`. */
function writeValue(
  out: Uint8Array,
  view: DataView,
  offset: number,
  def: CommandDictionaryEntry,
  value: CommandValue,
  length: number,
): void {
  switch (def.vr) {
    case "UL":
    case "US": {
      const list = typeof value === "number" ? undefined : value as number[];
      if (def.vr === "UL") {
        if (list) list.forEach((v, i) => view.setUint32(offset + i * 4, v, true));
        else view.setUint32(offset, value as number, true);
      } else {
        if (list) list.forEach((v, i) => view.setUint16(offset + i * 2, v, true));
        else view.setUint16(offset, value as number, true);
      }
      return;
    }
    case "AT": {
      const list = Array.isArray(value) ? value : [value as number];
      list.forEach((v, i) => {
        // PS3.5 6.2: an AT is the group number then the element number, each a uint16.
        view.setUint16(offset + i * 4, v >>> 16, true);
        view.setUint16(offset + i * 4 + 2, v & 0xffff, true);
      });
      return;
    }
    default: {
      const text = value as string;
      for (let i = 0; i < text.length; i++) out[offset + i] = text.charCodeAt(i);
      // PS3.5 6.2: UI values are padded with NUL, the other strings with a space.
      if (length > text.length) out[offset + text.length] = def.vr === "UI" ? 0x00 : 0x20;
    }
  }
}

/**
 * Encodes a command set (PS3.7 6.3.1, E.1): elements in ascending tag order,
 * Implicit VR Little Endian, preceded by (0000,0000) CommandGroupLength
 * computed here. UI values are padded to even length with NUL, the other
 * strings with a space.
 *
 * Every message goes through here: values are checked and sized in a first
 * pass and written straight into the one output buffer in a second, without
 * a buffer per element.
 *
 * @throws TypeError or RangeError if a value does not fit its VR.
 */
export function encodeCommandSet(elements: CommandSet): Uint8Array {
  const record = elements as Record<string, CommandValue | undefined>;
  // The elements present, in tag order: a message has a handful of the 47 keywords.
  let count = 0;
  for (const keyword in record) {
    const i = INDEX_BY_KEYWORD.get(keyword);
    if (i === undefined || record[keyword] === undefined) continue;
    let j = count++;
    for (; j > 0 && PRESENT[j - 1] > i; j--) PRESENT[j] = PRESENT[j - 1];
    PRESENT[j] = i;
  }
  return encodePresent(record, count);
}

/**
 * The encoding order of the command elements among `keywords` (other names
 * are left out), for {@link encodeCommandSetInOrder}: a caller whose sets
 * always have the same keys (one message type's) works it out once.
 */
export function commandOrder(keywords: Iterable<string>): Uint8Array {
  const indexes: number[] = [];
  for (const keyword of keywords) {
    const i = INDEX_BY_KEYWORD.get(keyword);
    if (i !== undefined && !indexes.includes(i)) indexes.push(i);
  }
  return Uint8Array.from(indexes.sort((a, b) => a - b));
}

/**
 * {@link encodeCommandSet} of a set whose keys are those `order` was made
 * from ({@link commandOrder}): the same bytes and errors, without finding
 * and sorting its keys per call. Keys outside `order` are not encoded.
 * The result is a view into memory shared with other command sets (never
 * written again once encoded): its `buffer` is not its own.
 */
export function encodeCommandSetInOrder(elements: CommandSet, order: Uint8Array): Uint8Array {
  const record = elements as Record<string, CommandValue | undefined>;
  let count = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    if (record[ENCODE_ORDER[i].keyword] !== undefined) PRESENT[count++] = i;
  }
  return encodePresent(record, count, true);
}

/**
 * Where the value of element `tag` starts in an encoded command set (12 bytes
 * of CommandGroupLength, then tag, length and value per element; PS3.7 E.1),
 * or -1 when the set does not hold it.
 */
export function commandValueOffset(set: Uint8Array, tag: number): number {
  for (let at = 12; at + 8 <= set.length;) {
    const t = ((readU16(set, at, true) << 16) | readU16(set, at + 2, true)) >>> 0;
    if (t === tag) return at + 8;
    at += 8 + readU32(set, at + 4, true);
  }
  return -1;
}

/**
 * A copy of the encoded command set `set` (at most 1 KiB), in the memory of
 * {@link encodeCommandSetInOrder}, with the US value at `at` (a message ID,
 * PS3.7 E.1) replaced by `value` (0..0xFFFF, checked by the caller): the
 * set of a message that differs from `set`'s only there, without encoding
 * its other elements again. `set` is only read.
 */
export function commandSetWithId(set: Uint8Array, at: number, value: number): Uint8Array {
  const out = SLAB.copy(set);
  out[at] = value & 0xff;
  out[at + 1] = value >>> 8;
  return out;
}

/**
 * Memory shared by the command sets of {@link encodeCommandSetInOrder} (see
 * {@link Slab}): a message sent costs a view instead of a buffer of its own.
 */
const SLAB = new Slab(8192);
/** The largest command set carved from the slab; a larger one gets its own buffer. */
const SLAB_MAX = 1024;

/**
 * Sizes, checks and writes the `count` elements of PRESENT (in tag order) of
 * `record`: into a buffer of its own, or (`shared`) into the slab.
 */
function encodePresent(
  record: Record<string, CommandValue | undefined>,
  count: number,
  shared = false,
): Uint8Array {
  let groupLength = 0;
  for (let k = 0; k < count; k++) {
    const i = PRESENT[k];
    groupLength += 8 +
      (LENGTHS[k] = valueLength(ENCODE_ORDER[i], record[ENCODE_ORDER[i].keyword]!));
  }
  const length = 12 + groupLength;
  let out: Uint8Array;
  let view: DataView;
  let start = 0;
  if (shared && length <= SLAB_MAX) {
    start = SLAB.take(length);
    out = SLAB.bytes;
    view = SLAB.view;
  } else {
    out = new Uint8Array(length);
    view = new DataView(out.buffer);
  }
  // (0000,0000) CommandGroupLength, UL of 4 bytes: the tag and length words, then the value.
  view.setUint32(start, 0, true);
  view.setUint32(start + 4, 4, true);
  view.setUint32(start + 8, groupLength, true);
  let offset = start + 12;
  for (let k = 0; k < count; k++) {
    const def = ENCODE_ORDER[PRESENT[k]];
    const value = record[def.keyword]!;
    const length = LENGTHS[k];
    view.setUint16(offset, def.tag >>> 16, true);
    view.setUint16(offset + 2, def.tag & 0xffff, true);
    view.setUint32(offset + 4, length, true);
    writeValue(out, view, offset + 8, def, value, length);
    offset += 8 + length;
  }
  return shared && length <= SLAB_MAX ? out.subarray(start, start + length) : out;
}

/** The error of a value whose length does not fit its VR. */
function badLength(
  def: CommandDictionaryEntry,
  length: number,
  expected: string,
): DimseDecodeError {
  return new DimseDecodeError(
    "bad-vr-length",
    `${formatTag(def.tag)} ${def.keyword}: ${def.vr} value of ${length} bytes (${expected})`,
    { tag: def.tag },
  );
}

/**
 * The last short string value decoded of each command element, by tag:
 * strings are immutable, so handing the same one out again is as good as a
 * new one. At most one per element of PS3.7 Annex E is kept.
 */
const LAST_STRING = new Map<number, string>();

/**
 * Decodes one element's value, `length` bytes at `offset` of `bytes`,
 * checking the length against the VR. Read in place: no view or buffer per
 * element or per command set (every message received passes here).
 */
function decodeValue(
  def: CommandDictionaryEntry,
  bytes: Uint8Array,
  offset: number,
  length: number,
): CommandValue {
  switch (def.vr) {
    case "UL":
    case "US": {
      const size = def.vr === "UL" ? 4 : 2;
      if (!def.multi) {
        if (length !== size) throw badLength(def, length, `expected ${size}`);
        return size === 4 ? readU32(bytes, offset, true) : readU16(bytes, offset, true);
      }
      if (length % size !== 0) throw badLength(def, length, `expected a multiple of ${size}`);
      const list: number[] = [];
      for (let at = offset; at < offset + length; at += size) {
        list.push(size === 4 ? readU32(bytes, at, true) : readU16(bytes, at, true));
      }
      return list;
    }
    case "AT": {
      if (length % 4 !== 0) throw badLength(def, length, "expected a multiple of 4");
      const list: number[] = [];
      for (let at = offset; at < offset + length; at += 4) {
        list.push(((readU16(bytes, at, true) << 16) | readU16(bytes, at + 2, true)) >>> 0);
      }
      return list;
    }
    default: {
      if (length > MAX_STRING_LENGTH[def.vr]) {
        throw badLength(def, length, `at most ${MAX_STRING_LENGTH[def.vr]}`);
      }
      // Strip the NUL (UI) or space padding; peers mix them up, so accept both.
      let end = offset + length;
      while (end > offset && (bytes[end - 1] === 0x00 || bytes[end - 1] === 0x20)) end--;
      // The same value as this element's last one (the SOP class of every echo or store of
      // a run) is that string again, compared in place rather than made anew.
      // Compared here, not in a function of its own: every string of every message passes here.
      const last = LAST_STRING.get(def.tag);
      if (last !== undefined && last.length === end - offset) {
        let i = 0;
        while (i < last.length && last.charCodeAt(i) === bytes[offset + i]) i++;
        if (i === last.length) return last;
      }
      // One string of the bytes as Latin-1 code points (a value is at most 10240 bytes).
      const text = String.fromCharCode.apply(
        null,
        bytes.subarray(offset, end) as unknown as number[],
      );
      if (end - offset <= 64) LAST_STRING.set(def.tag, text);
      return text;
    }
  }
}

/**
 * Decodes and validates a command set (PS3.7 6.3.1, 9.3, E.1).
 *
 * Checks: size within `limits.maxLength`; every element header and value
 * inside the buffer; every tag in group 0000, defined by PS3.7 Annex E, and
 * strictly ascending; fixed-length VRs of the right length (US 2, UL 4, AT
 * a multiple of 4) and strings within their VR maximum; (0000,0000)
 * CommandGroupLength first and equal to the number of bytes after it.
 *
 * @throws DimseDecodeError on any violation.
 */
export function decodeCommandSet(
  bytes: Uint8Array,
  limits: Partial<CommandSetLimits> = {},
): CommandSet {
  const maxLength = limits.maxLength ?? DEFAULT_MAX_COMMAND_SET_LENGTH;
  if (bytes.length > maxLength) {
    throw new DimseDecodeError(
      "too-long",
      `command set of ${bytes.length} bytes exceeds the limit of ${maxLength}`,
    );
  }
  const record: Record<string, CommandValue> = {};
  let offset = 0;
  let previousTag = -1;
  while (offset < bytes.length) {
    if (bytes.length - offset < 8) {
      throw new DimseDecodeError(
        "truncated",
        `element header at offset ${offset} cut short: ${bytes.length - offset} bytes left`,
      );
    }
    // Little endian (PS3.7 6.3.1: implicit VR little endian), read in place: no call per
    // field (until V8 has compiled this loop, every call costs; --repeat 1000 runs mostly so).
    const group = bytes[offset] | (bytes[offset + 1] << 8);
    const tag = ((group << 16) | bytes[offset + 2] | (bytes[offset + 3] << 8)) >>> 0;
    const length = (bytes[offset + 4] | (bytes[offset + 5] << 8) | (bytes[offset + 6] << 16) |
      (bytes[offset + 7] << 24)) >>> 0;
    if (group !== 0x0000) {
      throw new DimseDecodeError(
        "tag-order",
        `element ${formatTag(tag)} at offset ${offset} is outside command group 0000`,
        { tag },
      );
    }
    if (tag <= previousTag) {
      throw new DimseDecodeError(
        "tag-order",
        `element ${formatTag(tag)} at offset ${offset} follows ${
          formatTag(previousTag)
        }: tags must be strictly ascending`,
        { tag },
      );
    }
    if (previousTag === -1 && tag !== 0x00000000) {
      throw new DimseDecodeError(
        "group-length",
        `command set starts with ${formatTag(tag)}, not (0000,0000) CommandGroupLength`,
        { tag: 0 },
      );
    }
    if (length > bytes.length - offset - 8) {
      throw new DimseDecodeError(
        "truncated",
        `element ${formatTag(tag)} declares ${length} bytes, only ${
          bytes.length - offset - 8
        } remain`,
        { tag },
      );
    }
    const def = DEF_BY_TAG.get(tag);
    if (def === undefined) {
      throw new DimseDecodeError(
        "unknown-element",
        `element ${formatTag(tag)} is not a PS3.7 Annex E command element`,
        { tag },
      );
    }
    // A single US or UL of its right length (most elements of every command set) here, the
    // rest (strings, lists, wrong lengths) by decodeValue.
    const at = offset + 8;
    const value = def.multi
      ? decodeValue(def, bytes, at, length)
      : def.vr === "US" && length === 2
      ? bytes[at] | (bytes[at + 1] << 8)
      : def.vr === "UL" && length === 4
      ? (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0
      : decodeValue(def, bytes, at, length);
    offset += 8 + length;
    if (tag === 0x00000000) {
      if (value !== bytes.length - offset) {
        throw new DimseDecodeError(
          "group-length",
          `CommandGroupLength says ${value} bytes, ${bytes.length - offset} follow`,
          { tag: 0 },
        );
      }
    } else {
      record[def.keyword] = value;
    }
    previousTag = tag;
  }
  if (previousTag === -1) {
    throw new DimseDecodeError("group-length", "empty command set: no CommandGroupLength", {
      tag: 0,
    });
  }
  return record as CommandSet;
}
