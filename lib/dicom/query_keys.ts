/**
 * Query keys in DCMTK's path syntax (DcmPathProcessor, what findscu,
 * movescu and getscu take after `-k`), parsed and applied to attributes:
 *
 * - `gggg,eeee=value`, `(gggg,eeee)=value`, `Keyword=value`: set a value
 *   (VR from the dictionary; `\` separates values);
 * - `gggg,eeee`, `Keyword`, `Keyword=`: an empty value (universal match);
 * - `Sequence`: an empty sequence, kept as it is when it exists;
 * - `Sequence[n]`: items 0..n exist;
 * - `Sequence[n].Keyword=value`, nested as deep as needed:
 *   `ScheduledProcedureStepSequence[0].ScheduledProtocolCodeSequence[0].CodeValue=X`.
 *
 * Keys apply in order, later ones over earlier ones and over a query
 * file's. Errors are {@linkcode QueryKeyError}s with a one-line message.
 * Verified against DCMTK 3.6.7's findscu by the identifiers both encode.
 *
 * @module
 */

import {
  type Attribute,
  attribute,
  type Attributes,
  findAttribute,
  setAttribute,
} from "./attributes.ts";
import { formatTag, tagVr } from "./dictionary.ts";
import { keywordTag } from "./keywords.ts";
import { isKnownVr, vrInfo } from "./vr.ts";

/** A query key that cannot be parsed or applied; the message is one line. */
export class QueryKeyError extends Error {
  /** The key as given. */
  readonly key: string;

  /**
   * Creates the error; the message names the key.
   *
   * @param key the key as given
   * @param reason what is wrong with it
   */
  constructor(key: string, reason: string) {
    super(`bad key '${key}': ${reason}`);
    this.name = "QueryKeyError";
    this.key = key;
  }
}

/** One step of a key path: an attribute, and an item of it when the path goes on. */
export interface KeyStep {
  /** `(group << 16) | element`. */
  tag: number;
  /** The item index (`[n]`), for a sequence. */
  item?: number;
}

/** A parsed key: where, and the value text when `=` was given. */
export interface QueryKey {
  /** The key as given. */
  text: string;
  /** The path, outermost attribute first. */
  path: KeyStep[];
  /** The text after `=`; undefined without `=`. */
  value?: string;
}

const TAG = /^\(?([0-9A-Fa-f]{1,4}),([0-9A-Fa-f]{1,4})\)?$/;
const STEP = /^((?:\([0-9A-Fa-f]{1,4},[0-9A-Fa-f]{1,4}\))|[^.[\]()]+)(?:\[([^\]]*)\])?/;

/** The tag of one path element: a tag in either form, or a dictionary keyword. */
function stepTag(key: string, text: string): number {
  const m = TAG.exec(text);
  if (m && (text.startsWith("(") === text.endsWith(")"))) {
    return ((parseInt(m[1], 16) << 16) | parseInt(m[2], 16)) >>> 0;
  }
  const tag = keywordTag(text);
  if (tag === undefined) {
    throw new QueryKeyError(
      key,
      `unknown attribute '${text}': neither a tag (gggg,eeee) nor a dictionary keyword`,
    );
  }
  return tag;
}

/**
 * Parses a key in DCMTK's syntax (see the module documentation).
 *
 * @throws QueryKeyError for a malformed path, an unknown keyword, a wildcard item
 */
export function parseQueryKey(text: string): QueryKey {
  const eq = text.indexOf("=");
  const pathText = eq < 0 ? text : text.slice(0, eq);
  const value = eq < 0 ? undefined : text.slice(eq + 1);
  if (pathText === "") throw new QueryKeyError(text, "no attribute before '='");
  const path: KeyStep[] = [];
  let rest = pathText;
  for (;;) {
    const m = STEP.exec(rest);
    if (!m) throw new QueryKeyError(text, `cannot read an attribute at '${rest}'`);
    const step: KeyStep = { tag: stepTag(text, m[1]) };
    if (m[2] !== undefined) {
      if (m[2] === "*") {
        throw new QueryKeyError(text, "item wildcard [*] is not allowed in a query key");
      }
      if (!/^\d+$/.test(m[2])) {
        throw new QueryKeyError(text, `item index '[${m[2]}]' is not a number`);
      }
      step.item = Number(m[2]);
    }
    path.push(step);
    rest = rest.slice(m[0].length);
    if (rest === "") break;
    if (step.item === undefined) {
      throw new QueryKeyError(
        text,
        `'${m[1]}' is followed by '${rest}': only an item ([n]) may follow an attribute`,
      );
    }
    if (!rest.startsWith(".")) throw new QueryKeyError(text, `expected '.' before '${rest}'`);
    rest = rest.slice(1);
  }
  const last = path[path.length - 1];
  if (value !== undefined && last.item !== undefined) {
    throw new QueryKeyError(text, "an item cannot hold a value: name an attribute in it");
  }
  return { text, path, value };
}

/** Parses the values of a key for an attribute of VR `vr` (PS3.5 6.2). */
function parseValue(key: string, tag: number, vr: string, text: string): Attribute {
  const where = `${formatTag(tag)} ${vr}`;
  if (text === "") return attribute(tag, [], vr);
  if (vrInfo(vr).text) return attribute(tag, text, vr);
  const parts = text.split("\\");
  const bad = (part: string, what: string) =>
    new QueryKeyError(key, `'${part}' is not ${what} (value of ${where})`);
  const integer = (part: string, min: number, max: number): number => {
    if (!/^[+-]?\d+$/.test(part.trim()) || Number(part) < min || Number(part) > max) {
      throw bad(part, `an integer in ${min}..${max}`);
    }
    return Number(part);
  };
  const float = (part: string): number => {
    const n = Number(part.trim());
    if (part.trim() === "" || Number.isNaN(n)) throw bad(part, "a number");
    return n;
  };
  const hex = (digits: number) => (part: string): string => {
    if (!new RegExp(`^[0-9A-Fa-f]{1,${digits}}$`).test(part)) {
      throw bad(part, `${digits / 2 === 1 ? "a byte" : `a ${digits * 4}-bit word`} in hex`);
    }
    return part.padStart(digits, "0");
  };
  switch (vr) {
    case "US":
      return attribute(tag, parts.map((p) => integer(p, 0, 0xffff)), vr);
    case "SS":
      return attribute(tag, parts.map((p) => integer(p, -0x8000, 0x7fff)), vr);
    case "UL":
      return attribute(tag, parts.map((p) => integer(p, 0, 0xffffffff)), vr);
    case "SL":
      return attribute(tag, parts.map((p) => integer(p, -0x80000000, 0x7fffffff)), vr);
    case "SV":
    case "UV":
      return attribute(
        tag,
        parts.map((p) => {
          if (!/^[+-]?\d+$/.test(p.trim())) throw bad(p, "an integer");
          const v = BigInt(p.trim());
          const fits = vr === "SV" ? BigInt.asIntN(64, v) === v : BigInt.asUintN(64, v) === v;
          if (!fits) throw bad(p, `a 64-bit ${vr === "SV" ? "signed" : "unsigned"} integer`);
          return v;
        }),
        vr,
      );
    case "FL":
    case "FD":
      return attribute(tag, parts.map(float), vr);
    case "AT":
      return attribute(
        tag,
        parts.map((p) => {
          const m = TAG.exec(p);
          if (!m) throw bad(p, "a tag (gggg,eeee)");
          return ((parseInt(m[1], 16) << 16) | parseInt(m[2], 16)) >>> 0;
        }),
        vr,
      );
    case "OW":
    case "OL":
    case "OV": {
      const digits = { OW: 4, OL: 8, OV: 16 }[vr];
      // Words given most significant digit first, stored little endian.
      const bytes = parts.map(hex(digits)).flatMap((w) =>
        Array.from(
          { length: digits / 2 },
          (_, i) => parseInt(w.slice(digits - 2 * i - 2, digits - 2 * i), 16),
        )
      );
      return attribute(tag, Uint8Array.from(bytes), vr);
    }
    case "OF":
    case "OD": {
      const nums = parts.map(float);
      const size = vr === "OF" ? 4 : 8;
      const out = new Uint8Array(nums.length * size);
      const view = new DataView(out.buffer);
      nums.forEach((n, i) =>
        vr === "OF" ? view.setFloat32(i * 4, n, true) : view.setFloat64(i * 8, n, true)
      );
      return attribute(tag, out, vr);
    }
    default: // OB, UN: bytes in hex
      return attribute(tag, Uint8Array.from(parts.map(hex(2)), (b) => parseInt(b, 16)), vr);
  }
}

/** The VR a new attribute of `tag` takes. */
function vrOf(tag: number): string {
  const vr = tagVr(tag);
  return isKnownVr(vr) ? vr : "UN";
}

/**
 * Applies one parsed key to `attrs` in place. The parser guarantees that
 * only the last step may lack an item index.
 */
function applyKey(attrs: Attributes, key: QueryKey): void {
  let scope = attrs;
  for (const step of key.path) {
    const existing = findAttribute(scope, step.tag);
    const vr = existing?.vr ?? vrOf(step.tag);
    if (vr !== "SQ") {
      if (step.item !== undefined) {
        throw new QueryKeyError(
          key.text,
          `${formatTag(step.tag)} is ${vr}, not a sequence: it has no items`,
        );
      }
      setAttribute(scope, parseValue(key.text, step.tag, vr, key.value ?? ""));
      return;
    }
    if (step.item === undefined && key.value !== undefined) {
      throw new QueryKeyError(key.text, `${formatTag(step.tag)} is a sequence: it takes no value`);
    }
    let sequence = existing;
    if (!sequence || !Array.isArray(sequence.value)) {
      sequence = { tag: step.tag, vr: "SQ", value: [] };
      setAttribute(scope, sequence);
    }
    if (step.item === undefined) return;
    const items = sequence.value as Attributes[];
    while (items.length <= step.item) items.push([]);
    scope = items[step.item];
  }
}

/**
 * `base` (a query file's attributes, or none) with the keys applied in
 * order: a copy, `base` is left as it is.
 *
 * @throws QueryKeyError for a key that cannot apply (a value for a
 *   sequence, items of an attribute that is no sequence, a value its VR
 *   cannot hold)
 */
export function applyQueryKeys(base: Attributes, keys: readonly QueryKey[]): Attributes {
  const attrs = structuredClone(base);
  for (const key of keys) applyKey(attrs, key);
  return attrs;
}

/**
 * Parses and applies keys given as text, as a command line gives them.
 *
 * @throws QueryKeyError for the first key that cannot be parsed or applied
 */
export function queryFromKeys(keys: readonly string[], base: Attributes = []): Attributes {
  return applyQueryKeys(base, keys.map(parseQueryKey));
}
