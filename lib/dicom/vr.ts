/**
 * Value Representations (PS3.5 6.2): which header form each takes in
 * explicit VR syntaxes (PS3.5 7.1.2), how its values are byte-swapped
 * between little and big endian (PS3.5 7.3), and how it is padded to even
 * length (PS3.5 6.2, 7.1.1).
 *
 * @module
 */

/** What the codec needs to know of one VR. */
export interface VrInfo {
  /**
   * Explicit VR header with 2 reserved bytes and a 32-bit length (12 bytes
   * in all) rather than a 16-bit length (8 bytes): PS3.5 7.1.2, Table 7.1-1.
   */
  longLength: boolean;
  /**
   * Size of the unit that is byte-swapped between little and big endian
   * (PS3.5 7.3): 1 for byte strings, 2 for US SS OW and AT (a tag is a pair
   * of 16-bit numbers, PS3.5 6.2), 4 for UL SL FL OF OL, 8 for FD OD SV UV OV.
   */
  swap: 1 | 2 | 4 | 8;
  /** Character data (PS3.5 6.2): compared and padded as text. */
  text: boolean;
  /** Padding byte to even length: NUL for UI and binary VRs, space for other text (PS3.5 6.2). */
  pad: number;
}

const SPACE = 0x20;

function info(longLength: boolean, swap: VrInfo["swap"], text: boolean, pad = 0): VrInfo {
  return { longLength, swap, text, pad };
}

const TEXT = info(false, 1, true, SPACE);
const LONG_TEXT = info(true, 1, true, SPACE);

/** Every VR of PS3.5 Table 6.2-1. */
const VRS: ReadonlyMap<string, VrInfo> = new Map([
  ["AE", TEXT],
  ["AS", TEXT],
  ["AT", info(false, 2, false)],
  ["CS", TEXT],
  ["DA", TEXT],
  ["DS", TEXT],
  ["DT", TEXT],
  ["FD", info(false, 8, false)],
  ["FL", info(false, 4, false)],
  ["IS", TEXT],
  ["LO", TEXT],
  ["LT", TEXT],
  ["OB", info(true, 1, false)],
  ["OD", info(true, 8, false)],
  ["OF", info(true, 4, false)],
  ["OL", info(true, 4, false)],
  ["OV", info(true, 8, false)],
  ["OW", info(true, 2, false)],
  ["PN", TEXT],
  ["SH", TEXT],
  ["SL", info(false, 4, false)],
  ["SQ", info(true, 1, false)],
  ["SS", info(false, 2, false)],
  ["ST", TEXT],
  ["SV", info(true, 8, false)],
  ["TM", TEXT],
  ["UC", LONG_TEXT],
  ["UI", info(false, 1, true, 0)],
  ["UL", info(false, 4, false)],
  ["UN", info(true, 1, false)],
  ["UR", LONG_TEXT],
  ["US", info(false, 2, false)],
  ["UT", LONG_TEXT],
  ["UV", info(true, 8, false)],
]);

/** True for the two-letter VRs of PS3.5 Table 6.2-1. */
export function isKnownVr(vr: string): boolean {
  return VRS.has(vr);
}

/** The VRs by their two bytes as an explicit VR header holds them (first byte high). */
const VR_CODES: ReadonlyMap<number, string> = new Map(
  [...VRS.keys()].map((vr) => [(vr.charCodeAt(0) << 8) | vr.charCodeAt(1), vr]),
);

/**
 * The VR of PS3.5 Table 6.2-1 whose two characters are the bytes `c1`, `c2`
 * (an explicit VR header's, PS3.5 7.1.2), or undefined: the header's VR
 * without making a string of it and hashing it for every element.
 */
export function knownVrOf(c1: number, c2: number): string | undefined {
  return VR_CODES.get((c1 << 8) | c2);
}

/** The properties of `vr`; an unknown VR is treated as UN. */
export function vrInfo(vr: string): VrInfo {
  return VRS.get(vr) ?? VRS.get("UN")!;
}

/**
 * VRs newer than the 1993 standard that DCMTK's `-u` (`--disable-new-vr`)
 * writes as OB instead, so that old receivers can parse the header (DCMTK
 * dcmdata DcmVR::getValidEVR with every new-VR generation flag off).
 */
const NEW_VRS = new Set(["UN", "UT", "UR", "UC", "OF", "OD", "OL", "OV", "SV", "UV"]);

/** The VR written for `vr` when new VRs are disabled: OB for the post-1993 ones, else `vr`. */
export function legacyVr(vr: string): string {
  return NEW_VRS.has(vr) ? "OB" : vr;
}

/**
 * Reverses the byte order of every `unit`-byte number of `buf` in place
 * (PS3.5 7.3). A tail shorter than `unit` (an odd-length value) is left as
 * it is. Works on 32-bit words where the buffer is aligned, so a large
 * value costs one pass of word operations rather than per-byte work.
 */
export function swapInPlace(buf: Uint8Array, unit: 2 | 4 | 8): void {
  const whole = buf.length - (buf.length % unit);
  let done = 0;
  if (buf.byteOffset % 4 === 0 && whole >= 4) {
    const words = new Uint32Array(buf.buffer, buf.byteOffset, whole >>> 2);
    swapWords(words, unit);
    done = words.length * 4;
  }
  for (let i = done; i + unit <= whole; i += unit) {
    for (let a = i, b = i + unit - 1; a < b; a++, b--) {
      const t = buf[a];
      buf[a] = buf[b];
      buf[b] = t;
    }
  }
}

function swapWords(w: Uint32Array, unit: 2 | 4 | 8): void {
  const n = w.length;
  if (unit === 2) {
    for (let i = 0; i < n; i++) {
      const x = w[i];
      w[i] = ((x & 0xff00ff00) >>> 8) | ((x & 0x00ff00ff) << 8);
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const x = w[i];
    w[i] = (x >>> 24) | ((x >>> 8) & 0xff00) | ((x & 0xff00) << 8) | (x << 24);
  }
  if (unit === 8) {
    // Each 64-bit number is two byte-reversed words that also trade places.
    for (let i = 0; i + 1 < n; i += 2) {
      const t = w[i];
      w[i] = w[i + 1];
      w[i + 1] = t;
    }
  }
}

/**
 * The bytes of a text value, padded to even length with the VR's padding
 * byte (PS3.5 6.2: NUL for UI, space for other text). Characters are
 * written as single bytes, so `text` must be within the default repertoire
 * or ISO 8859-1.
 */
export function encodeText(text: string, vr: string): Uint8Array {
  const out = new Uint8Array(text.length + (text.length & 1));
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw new RangeError(`character U+${c.toString(16)} cannot be written as ${vr}`);
    out[i] = c;
  }
  if (text.length & 1) out[text.length] = vrInfo(vr).pad;
  return out;
}

/**
 * A text value as a string: one character per byte, with the padding of
 * PS3.5 6.2 removed (trailing spaces and NULs, leading spaces).
 */
export function decodeText(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === SPACE || bytes[end - 1] === 0)) end--;
  let start = 0;
  while (start < end && bytes[start] === SPACE) start++;
  // One call per slice, the bytes as its arguments (not spread: no iterator per value).
  let s = "";
  for (let i = start; i < end; i += 8192) {
    s += String.fromCharCode.apply(
      null,
      bytes.subarray(i, Math.min(end, i + 8192)) as unknown as number[],
    );
  }
  return s;
}
