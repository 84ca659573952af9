/**
 * Specific Character Set (0008,0005): decoding and encoding of the text
 * values it governs (PS3.5 6.1, PS3.3 C.12.1.1.2).
 *
 * Supported: the default repertoire (ISO-IR 6, ASCII); the single-byte
 * sets ISO_IR 100, 101, 109, 110, 144, 127, 126, 138, 148, 203, 166 and 13,
 * with or without code extensions; ISO 2022 code extensions with escape
 * sequences (PS3.5 6.1.2.5) for JIS X 0208 (ISO 2022 IR 87), JIS X 0212
 * (IR 159), JIS X 0201 katakana and romaji (IR 13), KS X 1001 (IR 149) and
 * GB 2312 (IR 58); and the sets without code extensions ISO_IR 192
 * (UTF-8), GB18030 and GBK. Decoding uses the platform's TextDecoder for
 * the national sets; the single-byte tables are ISO 8859 exactly (not the
 * Windows code pages that WHATWG gives some of their labels).
 *
 * Nothing is ever decoded by guess: a term we do not know, a byte that has
 * no character in the declared set, or an escape sequence where code
 * extensions are not in use is a {@linkcode CharsetError}, or, when the
 * caller asks to go on, a U+FFFD in the text together with a report.
 *
 * @module
 */

/**
 * Machine-readable reason of a {@linkcode CharsetError}:
 *
 * - `unknown-charset`: a Specific Character Set term this module does not
 *   know, or a combination PS3.3 C.12.1.1.2 does not allow;
 * - `undecodable`: bytes that are no text in the declared character set;
 * - `unencodable`: a character the declared character set cannot hold.
 */
export type CharsetErrorCode = "unknown-charset" | "undecodable" | "unencodable";

/** Text that cannot be decoded or encoded in its Specific Character Set. */
export class CharsetError extends Error {
  /** Short machine code of the failure. */
  readonly code: CharsetErrorCode;
  /** The Specific Character Set concerned, as its terms joined with `\`. */
  readonly charset: string;

  /**
   * Creates the error.
   *
   * @param code machine code of the failure
   * @param charset the Specific Character Set value concerned
   * @param message human-readable description
   */
  constructor(code: CharsetErrorCode, charset: string, message: string) {
    super(message);
    this.name = "CharsetError";
    this.code = code;
    this.charset = charset;
  }
}

/**
 * The VRs whose values Specific Character Set governs (PS3.5 6.1.2.3):
 * the others hold the default repertoire only.
 */
export const CHARSET_VRS: ReadonlySet<string> = new Set(["SH", "LO", "ST", "LT", "UC", "UT", "PN"]);

const ESC = 0x1b;

/** A single-byte set invoked in G1 (the bytes 0xA0-0xFF). */
interface SingleByteSet {
  kind: "single";
  /** PS3.3 Table C.12-3 term number, e.g. 100 for ISO-IR 100. */
  ir: number;
  /** TextDecoder label whose 0xA0-0xFF half equals the ISO 8859 part. */
  label: string;
  /** The escape sequence designating it to G1 (PS3.3 Table C.12-3), after ESC. */
  escape: readonly number[];
}

/** The G0 sets of ISO 2022 (the bytes 0x21-0x7E). */
type G0 = "ascii" | "romaji" | "jisx0208" | "jisx0212";

/** The G1 sets besides the single-byte ones. */
type G1 = SingleByteSet | "katakana" | "ksx1001" | "gb2312" | "none";

// ESC sequences (PS3.3 Tables C.12-3, C.12-4), without the ESC.
const G0_ESCAPES: readonly [readonly number[], G0][] = [
  [[0x28, 0x42], "ascii"], // ESC ( B: ISO-IR 6
  [[0x28, 0x4a], "romaji"], // ESC ( J: ISO-IR 14, JIS X 0201 romaji
  [[0x24, 0x42], "jisx0208"], // ESC $ B: ISO-IR 87
  [[0x24, 0x28, 0x44], "jisx0212"], // ESC $ ( D: ISO-IR 159
];
const G1_MULTI_ESCAPES: readonly [readonly number[], G1][] = [
  [[0x29, 0x49], "katakana"], // ESC ) I: ISO-IR 13
  [[0x24, 0x29, 0x43], "ksx1001"], // ESC $ ) C: ISO-IR 149
  [[0x24, 0x29, 0x41], "gb2312"], // ESC $ ) A: ISO-IR 58
];

const SINGLE_BYTE: readonly SingleByteSet[] = [
  { kind: "single", ir: 100, label: "windows-1252", escape: [0x2d, 0x41] }, // Latin-1: ESC - A
  { kind: "single", ir: 101, label: "iso-8859-2", escape: [0x2d, 0x42] },
  { kind: "single", ir: 109, label: "iso-8859-3", escape: [0x2d, 0x43] },
  { kind: "single", ir: 110, label: "iso-8859-4", escape: [0x2d, 0x44] },
  { kind: "single", ir: 144, label: "iso-8859-5", escape: [0x2d, 0x4c] },
  { kind: "single", ir: 127, label: "iso-8859-6", escape: [0x2d, 0x47] },
  { kind: "single", ir: 126, label: "iso-8859-7", escape: [0x2d, 0x46] },
  { kind: "single", ir: 138, label: "iso-8859-8", escape: [0x2d, 0x48] },
  { kind: "single", ir: 148, label: "windows-1254", escape: [0x2d, 0x4d] }, // Latin-5
  { kind: "single", ir: 203, label: "iso-8859-15", escape: [0x2d, 0x62] },
  { kind: "single", ir: 166, label: "windows-874", escape: [0x2d, 0x54] }, // TIS 620
];

/** One code element a term declares: what it puts in G0 and G1 (PS3.5 6.1.2.5.4). */
interface CodeElement {
  g0?: G0;
  g1?: G1;
}

/** What a term of PS3.3 C.12.1.1.2 stands for. */
type TermMeaning =
  | { kind: "iso2022"; element: CodeElement }
  | { kind: "whole"; label: "utf-8" | "gb18030" | "gbk" };

function termMeaning(term: string): TermMeaning | undefined {
  if (term === "" || term === "ISO_IR 6" || term === "ISO 2022 IR 6") {
    return { kind: "iso2022", element: { g0: "ascii", g1: "none" } };
  }
  if (term === "ISO_IR 192") return { kind: "whole", label: "utf-8" };
  if (term === "GB18030") return { kind: "whole", label: "gb18030" };
  if (term === "GBK") return { kind: "whole", label: "gbk" };
  const m = /^(?:ISO_IR|ISO 2022 IR) (\d+)$/.exec(term);
  if (!m) return undefined;
  const ir = Number(m[1]);
  const single = SINGLE_BYTE.find((s) => s.ir === ir);
  if (single) return { kind: "iso2022", element: { g0: "ascii", g1: single } };
  if (ir === 13) return { kind: "iso2022", element: { g0: "romaji", g1: "katakana" } };
  // The multi-byte sets exist only with code extensions (PS3.3 Table C.12-4).
  if (!term.startsWith("ISO 2022")) return undefined;
  if (ir === 87) return { kind: "iso2022", element: { g0: "jisx0208" } };
  if (ir === 159) return { kind: "iso2022", element: { g0: "jisx0212" } };
  if (ir === 149) return { kind: "iso2022", element: { g1: "ksx1001" } };
  if (ir === 58) return { kind: "iso2022", element: { g1: "gb2312" } };
  return undefined;
}

const decoders = new Map<string, TextDecoder>();

/** A fatal TextDecoder for `label`, made once. */
function decoder(label: string): TextDecoder {
  let d = decoders.get(label);
  if (!d) decoders.set(label, d = new TextDecoder(label, { fatal: true }));
  return d;
}

const tables = new Map<string, (string | undefined)[]>();

/**
 * The characters of bytes 0xA0-0xFF in a single-byte set (undefined where it
 * has none). Bytes 0x80-0x9F are C1 controls, which DICOM text never holds
 * (PS3.5 6.1.3), so they are left out whatever the label says there.
 */
function upperHalf(set: SingleByteSet): (string | undefined)[] {
  let table = tables.get(set.label);
  if (!table) {
    const loose = new TextDecoder(set.label);
    table = Array.from({ length: 96 }, (_, i) => {
      const c = loose.decode(new Uint8Array([0xa0 + i]));
      return c === "\ufffd" ? undefined : c;
    });
    tables.set(set.label, table);
  }
  return table;
}

/** Where a text value's code extensions reset to their initial state (PS3.5 6.1.2.5.3). */
function isDelimiter(byte: number, vr: string): boolean {
  return byte === 0x5c || byte === 0x0d || byte === 0x0a || byte === 0x0c || byte === 0x09 ||
    (vr === "PN" && (byte === 0x5e || byte === 0x3d));
}

/** Receives a problem found while decoding leniently. */
export type CharsetProblemHandler = (error: CharsetError) => void;

/**
 * The Specific Character Set of a data set or item: decodes and encodes the
 * values of the VRs it governs ({@linkcode CHARSET_VRS}).
 */
export class SpecificCharacterSet {
  /** The terms, as (0008,0005) holds them (value 1 may be empty). */
  readonly terms: readonly string[];
  readonly #whole?: "utf-8" | "gb18030" | "gbk";
  readonly #extensions: boolean;
  readonly #initial: { g0: G0; g1: G1 };
  readonly #elements: readonly CodeElement[];

  private constructor(terms: readonly string[]) {
    this.terms = terms;
    const label = terms.join("\\");
    const meanings = terms.map((term) => {
      const meaning = termMeaning(term);
      if (!meaning) {
        throw new CharsetError(
          "unknown-charset",
          label,
          `unknown Specific Character Set '${term}' (PS3.3 C.12.1.1.2)`,
        );
      }
      return meaning;
    });
    const whole = meanings.find((m) => m.kind === "whole");
    if (whole) {
      if (terms.length > 1) {
        throw new CharsetError(
          "unknown-charset",
          label,
          `Specific Character Set '${label}': ${
            terms.find((t) => termMeaning(t)?.kind === "whole")
          } allows no code extensions (PS3.3 C.12.1.1.2)`,
        );
      }
      this.#whole = whole.label;
    }
    this.#elements = meanings.map((m) => m.kind === "iso2022" ? m.element : {});
    const first = this.#elements[0] ?? {};
    if (first.g0 === "jisx0208" || first.g0 === "jisx0212") {
      throw new CharsetError(
        "unknown-charset",
        label,
        `Specific Character Set '${label}': ${terms[0]} cannot be value 1 (PS3.3 C.12.1.1.2)`,
      );
    }
    this.#initial = { g0: first.g0 ?? "ascii", g1: first.g1 ?? "none" };
    this.#extensions = terms.length > 1 || terms.some((t) => t.startsWith("ISO 2022"));
  }

  /**
   * The character set of a (0008,0005) value: its values as a list, or as
   * the text with `\` between them; empty or absent means the default
   * repertoire. Leading and trailing spaces of each term are ignored.
   *
   * @throws CharsetError `unknown-charset` for a term this module does not know
   */
  static of(value?: string | readonly string[]): SpecificCharacterSet {
    const terms = (typeof value === "string" ? value.split("\\") : value ?? []).map((t) =>
      t.trim()
    );
    // Empty values after value 1 designate nothing; an empty value 1 alone is the default.
    while (terms.length > 0 && terms[terms.length - 1] === "") terms.pop();
    return new SpecificCharacterSet(terms);
  }

  /** True for the default repertoire (no (0008,0005), or an empty one). */
  get isDefault(): boolean {
    return this.terms.length === 0;
  }

  /**
   * The text of a value of VR `vr`, padding included. Values of VRs outside
   * {@linkcode CHARSET_VRS} are read in the default repertoire.
   *
   * Without `onProblem`, bytes that are no text of the set throw; with it,
   * each is replaced by U+FFFD and the problem is reported, once per value.
   *
   * @throws CharsetError `undecodable`
   */
  decode(bytes: Uint8Array, vr: string, onProblem?: CharsetProblemHandler): string {
    const governed = CHARSET_VRS.has(vr);
    let reported = false;
    const problem = (what: string): string => {
      const error = new CharsetError(
        "undecodable",
        this.terms.join("\\"),
        `${what} in a ${vr} value ${
          governed && !this.isDefault
            ? `of Specific Character Set '${this.terms.join("\\")}'`
            : "(default repertoire: no Specific Character Set)"
        }`,
      );
      if (!onProblem) throw error;
      if (!reported) onProblem(error);
      reported = true;
      return "\ufffd";
    };
    if (!governed || this.isDefault) return decodeAscii(bytes, problem);
    if (this.#whole) {
      try {
        return decoder(this.#whole).decode(bytes);
      } catch {
        problem(`bytes that are not ${this.#whole.toUpperCase()}`);
        return new TextDecoder(this.#whole).decode(bytes);
      }
    }
    return this.#decode2022(bytes, vr, problem);
  }

  /** Decodes with ISO 2022 designations (PS3.5 6.1.2.5). */
  #decode2022(bytes: Uint8Array, vr: string, problem: (what: string) => string): string {
    let { g0, g1 } = this.#initial;
    let out = "";
    // Multi-byte characters are gathered into runs decoded by one TextDecoder call.
    let run: number[] = [];
    let runLabel = "";
    const flush = () => {
      if (run.length === 0) return;
      try {
        out += decoder(runLabel).decode(new Uint8Array(run));
      } catch {
        out += problem(`bytes with no character in ${runName(runLabel)}`);
      }
      run = [];
    };
    const pushRun = (label: string, ...b: number[]) => {
      if (runLabel !== label) flush();
      runLabel = label;
      run.push(...b);
    };
    let i = 0;
    while (i < bytes.length) {
      const b = bytes[i];
      if (b === ESC) {
        flush();
        const seq = this.#extensions ? matchEscape(bytes, i + 1) : undefined;
        if (!seq) {
          out += problem(
            this.#extensions
              ? `an unknown escape sequence at byte ${i}`
              : `an escape sequence at byte ${i}, but '${
                this.terms.join("\\")
              }' has no code extensions`,
          );
          i++;
          continue;
        }
        if (seq.g0) g0 = seq.g0;
        if (seq.g1) g1 = seq.g1;
        i += 1 + seq.length;
        continue;
      }
      const doubleG0 = g0 === "jisx0208" || g0 === "jisx0212";
      if (b < 0x80) {
        if (doubleG0 && b >= 0x21 && b <= 0x7e) {
          const b2 = bytes[i + 1];
          if (b2 === undefined || b2 < 0x21 || b2 > 0x7e) {
            flush();
            out += problem(`a broken two-byte character at byte ${i}`);
            i++;
            continue;
          }
          if (g0 === "jisx0212") pushRun("euc-jp", 0x8f, b | 0x80, b2 | 0x80);
          else pushRun("euc-jp", b | 0x80, b2 | 0x80);
          i += 2;
          continue;
        }
        flush();
        // JIS X 0201 romaji differs from ASCII at 0x5C and 0x7E only; 0x5C stays the
        // value delimiter of PS3.5 6.2, so both sets read as ASCII.
        out += String.fromCharCode(b);
        if (isDelimiter(b, vr)) ({ g0, g1 } = this.#initial);
        i++;
        continue;
      }
      if (g1 === "ksx1001" || g1 === "gb2312") {
        const b2 = bytes[i + 1];
        if (b2 === undefined || b2 < 0xa1 || b2 === 0xff) {
          flush();
          out += problem(`a broken two-byte character at byte ${i}`);
          i++;
          continue;
        }
        pushRun(g1 === "ksx1001" ? "euc-kr" : "gbk", b, b2);
        i += 2;
        continue;
      }
      flush();
      if (g1 === "katakana" && b >= 0xa1 && b <= 0xdf) {
        out += String.fromCharCode(0xff61 + b - 0xa1); // JIS X 0201 half-width katakana
      } else if (typeof g1 === "object" && b >= 0xa0) {
        out += upperHalf(g1)[b - 0xa0] ?? problem(`byte 0x${hex2(b)} (no character)`);
      } else {
        out += problem(`byte 0x${hex2(b)} (no character)`);
      }
      i++;
    }
    flush();
    return out;
  }

  /**
   * The bytes of `text` as a value of VR `vr`, without padding: in ISO 2022
   * sets with the escape sequences it needs, returning to the initial state
   * before each delimiter and at the end (PS3.5 6.1.2.5.3). VRs outside
   * {@linkcode CHARSET_VRS} take the default repertoire only.
   *
   * @throws CharsetError `unencodable` for a character the set cannot hold
   */
  encode(text: string, vr: string): Uint8Array {
    const unencodable = (c: string): never => {
      const where = CHARSET_VRS.has(vr) && !this.isDefault
        ? `Specific Character Set '${this.terms.join("\\")}'`
        : `the default repertoire${CHARSET_VRS.has(vr) ? " (no Specific Character Set)" : ""}`;
      throw new CharsetError(
        "unencodable",
        this.terms.join("\\"),
        `'${c}' (U+${
          c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")
        }) cannot be written in a ${vr} value in ${where}`,
      );
    };
    if (!CHARSET_VRS.has(vr) || this.isDefault) {
      return Uint8Array.from(
        text,
        (c) => c.charCodeAt(0) < 0x80 ? c.charCodeAt(0) : unencodable(c),
      );
    }
    if (this.#whole === "utf-8") return new TextEncoder().encode(text);
    if (this.#whole) {
      const table = reverseTable(this.#whole);
      const out: number[] = [];
      for (const c of text) {
        if (c.charCodeAt(0) < 0x80) out.push(c.charCodeAt(0));
        else out.push(...(table.get(c) ?? unencodable(c)));
      }
      return new Uint8Array(out);
    }
    return this.#encode2022(text, vr, unencodable);
  }

  #encode2022(text: string, vr: string, unencodable: (c: string) => never): Uint8Array {
    const initial = this.#initial;
    let { g0, g1 } = initial;
    const out: number[] = [];
    const designate = (target: { g0?: G0; g1?: G1 }) => {
      if (target.g0 !== undefined && target.g0 !== g0) {
        out.push(ESC, ...G0_ESCAPES.find(([, s]) => s === target.g0)![0]);
        g0 = target.g0;
      }
      if (target.g1 !== undefined && target.g1 !== g1) {
        const escape = typeof target.g1 === "object"
          ? target.g1.escape
          : G1_MULTI_ESCAPES.find(([, s]) => s === target.g1)![0];
        out.push(ESC, ...escape);
        g1 = target.g1;
      }
    };
    for (const c of text) {
      const code = c.codePointAt(0)!;
      if (code < 0x80) {
        designate({ g0: initial.g0 === "romaji" ? "romaji" : "ascii" });
        out.push(code);
        if (isDelimiter(code, vr)) g1 = initial.g1;
        continue;
      }
      const bytes = this.#elements.map((e) => encodeIn(c, e)).find((b) => b !== undefined);
      if (!bytes) unencodable(c);
      designate(bytes![0]);
      out.push(...bytes![1]);
    }
    designate({ g0: initial.g0 });
    return new Uint8Array(out);
  }
}

/** The bytes of a non-ASCII character in one code element, with the designation it needs. */
function encodeIn(c: string, e: CodeElement): [{ g0?: G0; g1?: G1 }, number[]] | undefined {
  if (e.g0 === "jisx0208" || e.g0 === "jisx0212") {
    const pair = reverseTable(e.g0).get(c);
    return pair && [{ g0: e.g0 }, pair];
  }
  if (e.g1 === "katakana") {
    const code = c.charCodeAt(0);
    return code >= 0xff61 && code <= 0xff9f ? [{ g1: e.g1 }, [0xa1 + code - 0xff61]] : undefined;
  }
  if (e.g1 === "ksx1001" || e.g1 === "gb2312") {
    const pair = reverseTable(e.g1).get(c);
    return pair && [{ g1: e.g1 }, pair];
  }
  if (typeof e.g1 === "object") {
    const index = upperHalf(e.g1).indexOf(c);
    return index < 0 ? undefined : [{ g1: e.g1 }, [0xa0 + index]];
  }
  return undefined;
}

/** The two-byte sets we encode into, by the table that maps them. */
type PairSet = "jisx0208" | "jisx0212" | "ksx1001" | "gb2312" | "gbk" | "gb18030";

/** How the platform's decoder reads a two-byte set, and how its codes are written. */
interface PairLayout {
  /** TextDecoder label. */
  label: string;
  /** First and last lead byte, as the decoder reads it. */
  leads: readonly [number, number];
  /** First and last trail byte. */
  trails: readonly [number, number];
  /** A byte before each pair (EUC-JP's single shift 3 for JIS X 0212). */
  prefix?: number;
  /** Written as 7-bit bytes (a G0 set), else as read. */
  sevenBit: boolean;
}

const PAIR_LAYOUTS: Readonly<Record<PairSet, PairLayout>> = {
  jisx0208: { label: "euc-jp", leads: [0xa1, 0xfe], trails: [0xa1, 0xfe], sevenBit: true },
  jisx0212: {
    label: "euc-jp",
    leads: [0xa1, 0xfe],
    trails: [0xa1, 0xfe],
    prefix: 0x8f,
    sevenBit: true,
  },
  ksx1001: { label: "euc-kr", leads: [0xa1, 0xfe], trails: [0xa1, 0xfe], sevenBit: false },
  gb2312: { label: "gbk", leads: [0xa1, 0xf7], trails: [0xa1, 0xfe], sevenBit: false },
  gbk: { label: "gbk", leads: [0x81, 0xfe], trails: [0x40, 0xfe], sevenBit: false },
  gb18030: { label: "gb18030", leads: [0x81, 0xfe], trails: [0x40, 0xfe], sevenBit: false },
};

const reverseTables = new Map<PairSet, Map<string, number[]>>();

/**
 * Character -> bytes of a two-byte set, built once from the platform's
 * decoder: JIS X 0208 and 0212 as 7-bit pairs (G0), KS X 1001 and GB 2312
 * as 8-bit pairs (G1), GBK and GB18030 as their two-byte codes (GB18030's
 * four-byte codes are not built: such characters are not encodable here).
 */
function reverseTable(set: PairSet): Map<string, number[]> {
  let table = reverseTables.get(set);
  if (table) return table;
  table = new Map();
  const { label, leads, trails, prefix, sevenBit } = PAIR_LAYOUTS[set];
  // All pairs in one decode, each followed by a newline that resynchronises after a bad pair.
  const pairs: [number, number][] = [];
  const input: number[] = [];
  for (let b1 = leads[0]; b1 <= leads[1]; b1++) {
    for (let b2 = trails[0]; b2 <= trails[1]; b2++) {
      if (b2 === 0x7f) continue;
      pairs.push([b1, b2]);
      if (prefix !== undefined) input.push(prefix);
      input.push(b1, b2, 0x0a);
    }
  }
  const chars = new TextDecoder(label).decode(new Uint8Array(input)).split("\n");
  pairs.forEach(([b1, b2], k) => {
    const c = chars[k];
    if (c !== undefined && [...c].length === 1 && c !== "\ufffd" && !table!.has(c)) {
      table!.set(c, sevenBit ? [b1 & 0x7f, b2 & 0x7f] : [b1, b2]);
    }
  });
  reverseTables.set(set, table);
  return table;
}

/** The escape sequence at `at` (after its ESC), if it is one of PS3.3 C.12. */
function matchEscape(
  bytes: Uint8Array,
  at: number,
): { g0?: G0; g1?: G1; length: number } | undefined {
  const matches = (seq: readonly number[]) => seq.every((v, k) => bytes[at + k] === v);
  for (const [seq, g0] of G0_ESCAPES) if (matches(seq)) return { g0, length: seq.length };
  for (const [seq, g1] of G1_MULTI_ESCAPES) if (matches(seq)) return { g1, length: seq.length };
  for (const set of SINGLE_BYTE) {
    if (matches(set.escape)) return { g1: set, length: set.escape.length };
  }
  return undefined;
}

function decodeAscii(bytes: Uint8Array, problem: (what: string) => string): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    out += bytes[i] < 0x80
      ? String.fromCharCode(bytes[i])
      : problem(`byte 0x${hex2(bytes[i])} outside the default repertoire`);
  }
  return out;
}

function runName(label: string): string {
  return { "euc-jp": "JIS X 0208/0212", "euc-kr": "KS X 1001", gbk: "GB 2312" }[label] ?? label;
}

function hex2(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, "0");
}
