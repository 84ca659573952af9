/**
 * Command line parsing with the rules and messages of DCMTK's OFCommandLine /
 * OFConsoleApplication (3.6.7): declarative option tables, `+`/`-` short names, long-name
 * expansion, `@file` command files, exclusive options, rightmost-wins option blocks,
 * sscanf-compatible integer values, DCMTK's usage text layout, and the shared logging
 * options (`-q/-v/-d/-ll/-lc/--arguments`).
 *
 * @module
 */

import { type Appender, type Logger, LogHierarchy, parseLogThreshold } from "../../log/logger.ts";
import type { LogThreshold } from "../../log/logger.ts";
import type * as LogConfigModule from "./log_config.ts";
import { missingPermission, PermissionError } from "../../util/permission.ts";

// ---------------------------------------------------------------------------
// spec types

/** Column widths of the option table (DCMTK's `setOptionColumns`/`addGroup` values). */
export interface ColumnWidths {
  /** Minimum width of the long option column. */
  readonly long: number;
  /** Minimum width of the short option column. */
  readonly short: number;
}

/** One command line option. */
export interface OptionDef {
  /** Long name including dashes, e.g. `--max-pdu`. */
  readonly long: string;
  /** Short name, e.g. `-pdu`, `+tls`, `-x=` (DCMTK short names start with `+` or `-`). */
  readonly short?: string;
  /** Help for the values, e.g. `[n]umber of bytes: integer (4096..131072)`. */
  readonly valueHelp?: string;
  /** Number of values following the option (default: 1 if valueHelp is set, else 0). */
  readonly valueCount?: number;
  /** Help text: one string (may contain `\n`) or one string per line. */
  readonly help: string | readonly string[];
  /** Exclusive option (like --help, --version): mandatory parameters are not required. */
  readonly exclusive?: boolean;
  /** Internal option: accepted but not shown in the usage text. */
  readonly internal?: boolean;
  /** Id of a block of mutually exclusive alternatives; the rightmost given wins. */
  readonly block?: string;
}

/** A subgroup of options in the usage text (indented by 2 under its group). */
export interface OptionSubgroup {
  /** Title, e.g. `application entity titles:`. */
  readonly title: string;
  /** Minimum column widths for this subgroup (default: the spec's columns). */
  readonly columns?: ColumnWidths;
  /** Options of the subgroup. */
  readonly options: readonly OptionDef[];
}

/** A group of options in the usage text, e.g. `network options:`. */
export interface OptionGroup {
  /** Title, e.g. `general options:`. */
  readonly title: string;
  /** Minimum column widths for the group's direct options (default: the spec's columns). */
  readonly columns?: ColumnWidths;
  /** Options directly in the group (shown before the subgroups). */
  readonly options?: readonly OptionDef[];
  /** Subgroups. */
  readonly subgroups?: readonly OptionSubgroup[];
}

/**
 * Parameter multiplicity, as DCMTK's OFCmdParam modes: `mandatory` (exactly one),
 * `optional` (0..1), `multiMandatory` (1..n), `multiOptional` (0..n).
 */
export type ParamMode = "mandatory" | "optional" | "multiMandatory" | "multiOptional";

/** A positional parameter. */
export interface ParamDef {
  /** Name as shown in usage and in "Missing parameter <name>". */
  readonly name: string;
  /** Help text (may contain `\n`); parameters without help are not listed. */
  readonly help?: string;
  /** Multiplicity (default `mandatory`). */
  readonly mode?: ParamMode;
}

/** The complete declarative description of a tool's command line. */
export interface CommandLineSpec {
  /** Tool name, e.g. `echoscu`. */
  readonly tool: string;
  /** One-line description, e.g. `DICOM verification (C-ECHO) SCU`. */
  readonly description: string;
  /** Positional parameters in order. */
  readonly params: readonly ParamDef[];
  /** Option groups in order. */
  readonly groups: readonly OptionGroup[];
  /** Default column widths (default `{long: 19, short: 4}` like DCMTK's network tools). */
  readonly columns?: ColumnWidths;
  /** Minimum width of the parameter name column (default `long + short + 4`). */
  readonly paramColumn?: number;
  /** The exit codes, listed at the end of the usage text. */
  readonly exitCodes?: readonly ExitCodeDoc[];
}

/** One exit code as --help lists it. */
export interface ExitCodeDoc {
  /** The code, or a rule such as `status >> 8`. */
  readonly code: string;
  /** What it means. */
  readonly meaning: string;
}

/** Default column widths of DCMTK's network tools (LONGCOL 19, SHORTCOL 4). */
export const DEFAULT_COLUMNS: ColumnWidths = { long: 19, short: 4 };

// ---------------------------------------------------------------------------
// errors and integer values

/** A command line error; `message` is DCMTK's one-line text (without `error: `). */
export class OptionError extends Error {
  /** Creates the error with DCMTK's message. */
  constructor(message: string) {
    super(message);
    this.name = "OptionError";
  }
}

/** Bounds for integer values (inclusive, as DCMTK's getValueAndCheckMin/MinMax). */
export interface IntRange {
  /** Smallest allowed value. */
  readonly min?: number | bigint;
  /** Largest allowed value. */
  readonly max?: number | bigint;
}

/** Options for the typed option getters. */
export interface IntValueOptions extends IntRange {
  /** Which value of a multi-value option to read (default 0). */
  readonly index?: number;
}

const C_SPACE = " \t\n\v\f\r";
const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);
const ULONG_MAX = (1n << 64n) - 1n;

function skipSpace(text: string): number {
  let i = 0;
  while (i < text.length && C_SPACE.includes(text[i])) i++;
  return i;
}

/**
 * Reads a signed integer like C's `sscanf("%li")` on LP64: leading white space, sign,
 * `0x` hex / leading-`0` octal / decimal, trailing garbage ignored, saturating at the
 * 64-bit limits. Returns undefined when no digits can be read.
 */
export function scanSigned(text: string): bigint | undefined {
  let i = skipSpace(text);
  let neg = false;
  if (text[i] === "+" || text[i] === "-") neg = text[i++] === "-";
  let base = 10;
  let digits = "0123456789";
  if (text[i] === "0" && (text[i + 1] === "x" || text[i + 1] === "X")) {
    if (/[0-9a-fA-F]/.test(text[i + 2] ?? "")) {
      base = 16;
      digits = "0123456789abcdef";
      i += 2;
    } else {
      return 0n;
    }
  } else if (text[i] === "0") {
    base = 8;
    digits = "01234567";
  }
  let value = 0n;
  let n = 0;
  while (i < text.length) {
    const d = digits.indexOf(text[i].toLowerCase());
    if (d < 0) break;
    value = value * BigInt(base) + BigInt(d);
    i++;
    n++;
  }
  if (n === 0) return undefined;
  if (neg) return -value < LONG_MIN ? LONG_MIN : -value;
  return value > LONG_MAX ? LONG_MAX : value;
}

/**
 * Reads an unsigned integer like C's `sscanf("%lu")` on LP64: leading white space, sign,
 * decimal digits, trailing garbage ignored; overflow gives 2^64-1 and a negative number
 * wraps around (so `-5` becomes 2^64-5). Returns undefined when no digits can be read.
 */
export function scanUnsigned(text: string): bigint | undefined {
  let i = skipSpace(text);
  let neg = false;
  if (text[i] === "+" || text[i] === "-") neg = text[i++] === "-";
  const m = /^[0-9]+/.exec(text.slice(i));
  if (!m) return undefined;
  const value = BigInt(m[0]);
  if (value > ULONG_MAX) return ULONG_MAX;
  return neg && value !== 0n ? (1n << 64n) - value : value;
}

type RangeStatus = "ok" | "underflow" | "overflow";

function checkRange(v: bigint, range: IntRange): RangeStatus {
  if (range.min !== undefined && v < BigInt(range.min)) return "underflow";
  if (range.max !== undefined && v > BigInt(range.max)) return "overflow";
  return "ok";
}

/**
 * Converts the value of an option to an integer with DCMTK's checks and messages:
 * `Invalid value for option --x (abc)`, `(underflow: 0)`, `(overflow: 99)`; an empty value
 * gives `Invalid value for option --x`. Unsigned values (`%lu`) reject a leading minus.
 * @param option long option name used in the message
 * @param unsigned true for OFCmdUnsignedInt options, false for OFCmdSignedInt
 * @throws OptionError
 */
export function checkIntValue(
  option: string,
  value: string,
  range: IntRange,
  unsigned: boolean,
): number {
  const suffix = (s: string) => value === "" ? "" : ` (${s}${value})`;
  const v = unsigned
    ? (text: string) => (text[skipSpace(text)] === "-" ? undefined : scanUnsigned(text))
    : scanSigned;
  const n = v(value);
  if (n === undefined) throw new OptionError(`Invalid value for option ${option}${suffix("")}`);
  const status = checkRange(n, range);
  if (status !== "ok") {
    throw new OptionError(`Invalid value for option ${option}${suffix(`${status}: `)}`);
  }
  return Number(n);
}

/**
 * Converts a parameter to an integer with DCMTK's checks and messages:
 * `Invalid parameter value abc`, `Invalid parameter value 0 (underflow)`,
 * `Invalid parameter value 70000 (overflow)`. Unsigned parameters use `%lu`
 * semantics (so `-1` is a huge number: overflow).
 * @throws OptionError
 */
export function checkIntParam(value: string, range: IntRange, unsigned: boolean): number {
  const n = unsigned ? scanUnsigned(value) : scanSigned(value);
  if (n === undefined) throw new OptionError(`Invalid parameter value ${value}`);
  const status = checkRange(n, range);
  if (status !== "ok") throw new OptionError(`Invalid parameter value ${value} (${status})`);
  return Number(n);
}

// ---------------------------------------------------------------------------
// parsing

interface OptionOccurrence {
  readonly def: OptionDef;
  readonly values: readonly string[];
}

function allOptions(spec: CommandLineSpec): OptionDef[] {
  const out: OptionDef[] = [];
  for (const g of spec.groups) {
    out.push(...(g.options ?? []));
    for (const s of g.subgroups ?? []) out.push(...s.options);
  }
  return out;
}

function valueCount(def: OptionDef): number {
  return def.valueCount ?? (def.valueHelp ? 1 : 0);
}

/** DCMTK's checkOption: `+`/`-` followed by anything but a digit, at least 2 characters. */
function isOptionLike(arg: string): boolean {
  if (arg.length < 2) return false;
  if (arg[0] !== "-" && arg[0] !== "+") return false;
  return !(arg[1] >= "0" && arg[1] <= "9");
}

/**
 * Splits the content of a command file like DCMTK 3.6.7: words separated by space, tab,
 * CR or LF; `"..."` or `'...'` quote blocks keep white space and the other quote
 * character; a closing quote always ends a word (so `''` gives an empty argument).
 */
export function splitCommandFile(text: string): string[] {
  const out: string[] = [];
  let value = "";
  let block = "";
  for (const c of text) {
    if (c === '"' || c === "'") {
      if (block === c) {
        out.push(value);
        value = "";
        block = "";
      } else if (block === "") {
        block = c;
      } else {
        value += c;
      }
    } else if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      if (block === "") {
        if (value !== "") out.push(value);
        value = "";
      } else {
        value += c;
      }
    } else {
      value += c;
    }
  }
  if (value !== "") out.push(value);
  return out;
}

function expandCommandFiles(argv: readonly string[]): string[] | OptionError {
  const out: string[] = [];
  for (const arg of argv) {
    if (arg.length > 1 && arg[0] === "@") {
      const path = arg.slice(1);
      let text: string;
      try {
        // an ifstream on a directory opens fine and reads nothing
        text = Deno.statSync(path).isDirectory ? "" : Deno.readTextFileSync(path);
      } catch (err) {
        const denied = missingPermission(err);
        if (denied) throw new PermissionError(denied, `cannot open command file '${path}'`);
        return new OptionError(`Cannot open command file '${path}'`);
      }
      out.push(...splitCommandFile(text));
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** The parsed options and parameters of a successful parse. */
export class ParsedOptions {
  readonly #spec: CommandLineSpec;
  readonly #byLong: ReadonlyMap<string, OptionDef>;
  readonly #occurrences: readonly OptionOccurrence[];
  readonly #args: readonly string[];
  /** The positional parameters, in order. */
  readonly params: readonly string[];

  /** @internal built by {@link parseCommandLine} */
  constructor(
    spec: CommandLineSpec,
    byLong: ReadonlyMap<string, OptionDef>,
    occurrences: readonly OptionOccurrence[],
    args: readonly string[],
    params: readonly string[],
  ) {
    this.#spec = spec;
    this.#byLong = byLong;
    this.#occurrences = occurrences;
    this.#args = args;
    this.params = params;
  }

  #def(long: string): OptionDef {
    const def = this.#byLong.get(long);
    if (!def) throw new Error(`option ${long} is not defined for ${this.#spec.tool}`);
    return def;
  }

  /** True if the spec defines this long option name. */
  defines(long: string): boolean {
    return this.#byLong.has(long);
  }

  /** True if the option (long name) was given at least once. */
  has(long: string): boolean {
    return this.count(long) > 0;
  }

  /** How often the option was given. */
  count(long: string): number {
    const def = this.#def(long);
    // Asked for every option a run reads: no array or iterator per call.
    const occurrences = this.#occurrences;
    let n = 0;
    for (let i = 0; i < occurrences.length; i++) if (occurrences[i].def === def) n++;
    return n;
  }

  /** The values of the last occurrence of the option ([] if absent or valueless). */
  values(long: string): readonly string[] {
    const def = this.#def(long);
    return this.#occurrences.findLast((o) => o.def === def)?.values ?? [];
  }

  /** The first value of the last occurrence (undefined if the option is absent). */
  value(long: string): string | undefined {
    return this.values(long)[0];
  }

  /** The values of every occurrence, left to right (for repeatable options like +cf). */
  occurrences(long: string): readonly (readonly string[])[] {
    const def = this.#def(long);
    return this.#occurrences.filter((o) => o.def === def).map((o) => o.values);
  }

  /** Long name of the rightmost given option of a block, or undefined if none was given. */
  winner(blockId: string): string | undefined {
    return this.#occurrences.findLast((o) => o.def.block === blockId)?.def.long;
  }

  /** Long names of all given options, left to right (duplicates kept). */
  given(): readonly string[] {
    return this.#occurrences.map((o) => o.def.long);
  }

  /**
   * Signed integer value (C `%li`, accepts hex/octal) of the last occurrence, checked
   * against the range; undefined if the option is absent. Throws {@link OptionError}.
   */
  int(long: string, opts: IntValueOptions = {}): number | undefined {
    const v = this.values(long)[opts.index ?? 0];
    return v === undefined ? undefined : checkIntValue(long, v, opts, false);
  }

  /**
   * Unsigned integer value (C `%lu`, decimal, a leading `-` is invalid) of the last
   * occurrence, checked against the range; undefined if absent. Throws {@link OptionError}.
   */
  uint(long: string, opts: IntValueOptions = {}): number | undefined {
    const v = this.values(long)[opts.index ?? 0];
    return v === undefined ? undefined : checkIntValue(long, v, opts, true);
  }

  /** Signed integer parameter (0-based index) or undefined if absent; throws {@link OptionError}. */
  paramInt(index: number, range: IntRange = {}): number | undefined {
    const v = this.params[index];
    return v === undefined ? undefined : checkIntParam(v, range, false);
  }

  /** Unsigned integer parameter (0-based index) or undefined if absent; throws {@link OptionError}. */
  paramUint(index: number, range: IntRange = {}): number | undefined {
    const v = this.params[index];
    return v === undefined ? undefined : checkIntParam(v, range, true);
  }

  /** The expanded argument list as DCMTK stores it (options as long names, with values). */
  get args(): readonly string[] {
    return this.#args;
  }

  /**
   * DCMTK's `--arguments` message, e.g.
   * `calling 'echoscu' with 6 arguments: '--arguments' '--verbose' 'localhost' '104' '--timeout' '1' \n`
   * (empty arguments are counted but not listed). It ends with a newline, so logging it
   * at info level gives DCMTK's two lines (`I: calling ... ` and `I: `).
   */
  argumentsMessage(programName: string): string {
    let s = `calling '${programName}' with ${this.#args.length} arguments: `;
    for (const a of this.#args) if (a !== "") s += `'${a}' `;
    return `${s}\n`;
  }
}

/** Result of {@link parseCommandLine}. */
export type ParseResult =
  | {
    readonly ok: true;
    /**
     * True when DCMTK prints the usage text and exits 0: `--help` was given, or there
     * are no arguments and the tool has mandatory parameters.
     */
    readonly usage: boolean;
    /** True when an exclusive option was given (parameters were not checked). */
    readonly exclusive: boolean;
    /** The parsed options (and parameters). */
    readonly options: ParsedOptions;
    /** The positional parameters (same as `options.params`). */
    readonly params: readonly string[];
  }
  | {
    readonly ok: false;
    /** DCMTK's one-line message, e.g. `Unknown option --bogus`. */
    readonly error: string;
  };

/**
 * Parses argv (without the program name) with OFCommandLine's rules:
 * `@file` arguments are expanded (one level), an argument starting with `+`/`-` and not
 * followed by a digit is an option (unknown -> `Unknown option X`), options consume their
 * values verbatim (`Missing value for option --long`), then: no arguments -> usage if there
 * are mandatory parameters; an exclusive option -> ok without parameter checks;
 * `Missing parameter <name>`; `Too many parameters`.
 */
export function parseCommandLine(spec: CommandLineSpec, argv: readonly string[]): ParseResult {
  const defs = allOptions(spec);
  const byName = new Map<string, OptionDef>();
  const byLong = new Map<string, OptionDef>();
  for (const d of defs) {
    byLong.set(d.long, d);
    if (!byName.has(d.long)) byName.set(d.long, d);
  }
  for (const d of defs) if (d.short && !byName.has(d.short)) byName.set(d.short, d);

  const expanded = expandCommandFiles(argv);
  if (expanded instanceof OptionError) return { ok: false, error: expanded.message };

  const args: string[] = [];
  const params: string[] = [];
  const occurrences: OptionOccurrence[] = [];
  let exclusive = false;
  for (let i = 0; i < expanded.length; i++) {
    const arg = expanded[i];
    if (!isOptionLike(arg)) {
      args.push(arg);
      params.push(arg);
      continue;
    }
    const def = byName.get(arg);
    if (!def) return { ok: false, error: `Unknown option ${arg}` };
    args.push(def.long);
    if (def.exclusive) exclusive = true;
    const n = valueCount(def);
    if (n >= expanded.length - i) {
      return { ok: false, error: `Missing value for option ${def.long}` };
    }
    const values = expanded.slice(i + 1, i + 1 + n);
    args.push(...values);
    occurrences.push({ def, values });
    i += n;
  }

  let minParams = 0;
  let maxParams = 0;
  for (const p of spec.params) {
    const mode = p.mode ?? "mandatory";
    if (mode === "mandatory" || mode === "multiMandatory") minParams++;
    if (mode === "multiMandatory" || mode === "multiOptional") maxParams = -1;
    else if (maxParams >= 0) maxParams++;
  }

  const options = new ParsedOptions(spec, byLong, occurrences, args, params);
  const ok = (usage: boolean, excl: boolean): ParseResult => ({
    ok: true,
    usage,
    exclusive: excl,
    options,
    params,
  });
  if (args.length === 0) return ok(minParams > 0, false);
  if (exclusive) return ok(byLong.has("--help") && options.has("--help"), true);
  if (params.length < minParams) {
    return { ok: false, error: `Missing parameter ${spec.params[params.length].name}` };
  }
  if (maxParams >= 0 && params.length > maxParams) {
    return { ok: false, error: "Too many parameters" };
  }
  return ok(false, false);
}

// ---------------------------------------------------------------------------
// usage text

function helpText(help: string | readonly string[]): string {
  return typeof help === "string" ? help : help.join("\n");
}

function syntaxString(spec: CommandLineSpec): string {
  let s = allOptions(spec).length > 0 ? " [options]" : "";
  for (const p of spec.params) {
    switch (p.mode ?? "mandatory") {
      case "mandatory":
        s += ` ${p.name}`;
        break;
      case "optional":
        s += ` [${p.name}]`;
        break;
      case "multiMandatory":
        s += ` ${p.name}...`;
        break;
      case "multiOptional":
        s += ` [${p.name}...]`;
        break;
    }
  }
  return s;
}

function paramString(spec: CommandLineSpec): string {
  const cols = spec.columns ?? DEFAULT_COLUMNS;
  let width = spec.paramColumn ?? cols.long + cols.short + 4;
  for (const p of spec.params) {
    if (!p.help) break;
    width = Math.max(width, p.name.length);
  }
  let s = "";
  for (const p of spec.params) {
    if (!p.help) continue;
    if (s === "") s = "parameters:\n";
    s += `  ${p.name.padEnd(width)}  ${p.help.replaceAll("\n", `\n${" ".repeat(width + 4)}`)}\n`;
  }
  return s;
}

type Entry =
  | { readonly kind: "group"; readonly title: string; readonly columns: ColumnWidths }
  | { readonly kind: "subgroup"; readonly title: string; readonly columns: ColumnWidths }
  | { readonly kind: "option"; readonly def: OptionDef };

function optionString(spec: CommandLineSpec): string {
  const dflt = spec.columns ?? DEFAULT_COLUMNS;
  const entries: Entry[] = [];
  for (const g of spec.groups) {
    entries.push({ kind: "group", title: g.title, columns: g.columns ?? dflt });
    for (const def of g.options ?? []) if (!def.internal) entries.push({ kind: "option", def });
    for (const sg of g.subgroups ?? []) {
      entries.push({ kind: "subgroup", title: sg.title, columns: sg.columns ?? dflt });
      for (const def of sg.options) if (!def.internal) entries.push({ kind: "option", def });
    }
  }
  let out = "";
  let newGroup = true;
  let shortSize = dflt.short;
  let longSize = dflt.long;
  let indent = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (newGroup) {
      // widen the columns for the run of options up to the next (sub)group
      for (let j = i; j < entries.length; j++) {
        const o = entries[j];
        if (o.kind !== "option") break;
        shortSize = Math.max(shortSize, o.def.short?.length ?? 0);
        longSize = Math.max(longSize, o.def.long.length);
      }
      newGroup = false;
    }
    if (e.kind === "group" || e.kind === "subgroup") {
      newGroup = true;
      longSize = e.columns.long;
      shortSize = e.columns.short;
      if (e.kind === "group") {
        out += `${e.title}\n`;
        indent = 2;
      } else {
        out += `  ${e.title}\n`;
        indent = 4;
      }
      continue;
    }
    const def = e.def;
    out += " ".repeat(indent);
    if (shortSize > 0) out += `${(def.short ?? "").padEnd(shortSize)}  `;
    out += `${def.long.padEnd(longSize)}  `;
    const descIndent = indent + shortSize + longSize + 2 + (shortSize > 0 ? 2 : 0);
    if (def.valueHelp) out += `${def.valueHelp}\n${" ".repeat(descIndent)}`;
    out += `${helpText(def.help).replaceAll("\n", `\n${" ".repeat(descIndent)}`)}\n`;
  }
  return out;
}

/**
 * The header DCMTK prints before usage and error messages:
 * `<header>\n\n<tool>: <description>\n` (the header line replaces DCMTK's `$dcmtk: ...$`).
 */
export function formatHeader(spec: CommandLineSpec, header: string): string {
  const id = header === "" ? "" : `${header}\n\n`;
  return `${id}${spec.tool}${spec.description ? `: ${spec.description}` : ""}\n`;
}

/**
 * The complete usage text (DCMTK prints it to stdout and exits 0): header, `usage:` line,
 * parameters and the option table, laid out exactly like OFCommandLine's.
 */
export function formatUsage(spec: CommandLineSpec, header: string): string {
  let s = `${formatHeader(spec, header)}usage: ${spec.tool}${syntaxString(spec)}\n`;
  const params = paramString(spec);
  if (params) s += `\n${params}`;
  const options = optionString(spec);
  if (options) s += `\n${options}`;
  if (spec.exitCodes?.length) s += `\n${exitCodeString(spec.exitCodes)}`;
  return `${s}\n`;
}

/** The `exit codes:` section of the usage text, laid out like an option group (79 columns). */
function exitCodeString(codes: readonly ExitCodeDoc[]): string {
  const width = Math.max(...codes.map((c) => c.code.length));
  const indent = 2 + width + 2;
  const wrap = (text: string): string[] => {
    const lines: string[] = [];
    let line = "";
    for (const word of text.split(" ")) {
      if (line && indent + line.length + 1 + word.length > 79) {
        lines.push(line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    return [...lines, line];
  };
  return `exit codes:\n${
    codes.map((c) =>
      `  ${c.code.padEnd(width)}  ${wrap(c.meaning).join(`\n${" ".repeat(indent)}`)}\n`
    ).join("")
  }`;
}

/**
 * DCMTK's complete error output for a command line error (printed to stderr, exit 1):
 * the header followed by `error: <message>`.
 */
export function formatError(spec: CommandLineSpec, header: string, message: string): string {
  return `${formatHeader(spec, header)}error: ${message}\n`;
}

// ---------------------------------------------------------------------------
// logging options

/** Block id of `--quiet`, `--verbose`, `--debug` (rightmost wins). */
export const LOG_VERBOSITY_BLOCK = "log-verbosity";

/**
 * The options DCMTK's OFLog::addOptions adds to every tool, in DCMTK's order:
 * `--arguments`, `-q`, `-v`, `-d`, `-ll`, `-lc`. Put them into the general group after
 * `--help`/`--version`.
 */
export function logOptionDefs(): OptionDef[] {
  return [
    { long: "--arguments", help: "print expanded command line arguments" },
    {
      long: "--quiet",
      short: "-q",
      help: "quiet mode, print no warnings and errors",
      block: LOG_VERBOSITY_BLOCK,
    },
    {
      long: "--verbose",
      short: "-v",
      help: "verbose mode, print processing details",
      block: LOG_VERBOSITY_BLOCK,
    },
    {
      long: "--debug",
      short: "-d",
      help: "debug mode, print debug information",
      block: LOG_VERBOSITY_BLOCK,
    },
    {
      long: "--log-level",
      short: "-ll",
      valueHelp: "[l]evel: string constant",
      help: ["(fatal, error, warn, info, debug, trace)", "use level l for the logger"],
    },
    {
      long: "--log-config",
      short: "-lc",
      valueHelp: "[f]ilename: string",
      help: "use config file f for the logger",
    },
  ];
}

/** `--help`, `--version`, then {@link logOptionDefs}: how every tool's general options begin. */
export function generalOptionDefs(): OptionDef[] {
  return [
    { long: "--help", short: "-h", help: "print this help text and exit", exclusive: true },
    { long: "--version", help: "print version information and exit", exclusive: true },
    ...logOptionDefs(),
  ];
}

/** Options for {@link configureLogging}. */
export interface ConfigureLoggingOptions {
  /** argv[0] as DCMTK would see it (used by `--arguments` and `${appname}`). */
  readonly programName: string;
  /** Name of the returned logger (default `dcmtk.apps.<basename of programName>`). */
  readonly loggerName?: string;
  /** Appenders to use instead of DCMTK's stderr console when no `-lc` is given (tests). */
  readonly appenders?: readonly Appender[];
  /** Environment lookup for `${VAR}` in `-lc` files (default `Deno.env.get`). */
  readonly env?: (name: string) => string | undefined;
  /** stdout carries something else (--json): console appenders of `-lc` write to stderr. */
  readonly stdoutReserved?: boolean;
  /**
   * The `-lc` file reader, lib/cli/common/log_config.ts: required when
   * {@link wantsLogConfig} is true, and loaded by the caller only then (a
   * run without `-lc` does not load the log4cplus parser at all).
   */
  readonly logConfig?: typeof LogConfigModule;
}

/**
 * True when the logging options name a `-lc` file: {@link configureLogging}
 * then needs the file reader (`ConfigureLoggingOptions.logConfig`).
 */
export function wantsLogConfig(options: ParsedOptions): boolean {
  return options.defines("--log-config") && options.has("--log-config");
}

/** Successful result of {@link configureLogging}. */
export interface LoggingSetup {
  /** Discriminant. */
  readonly ok: true;
  /** The configured hierarchy (close it at exit to close log files). */
  readonly hierarchy: LogHierarchy;
  /** The tool's logger, e.g. `dcmtk.apps.echoscu`. */
  readonly logger: Logger;
  /**
   * DCMTK's quiet mode: the root logger does not print errors (e.g. `-q`); later command
   * line errors are then not printed (but the exit code is still 1).
   */
  readonly quiet: boolean;
}

/**
 * Turns the parsed logging options into loggers exactly like DCMTK's
 * OFLog::configureFromCommandLine: rightmost of -q/-v/-d (fatal/info/debug), `-ll`
 * (conflicts with -q/-v/-d), `-lc` (conflicts with both), default warn; then, with
 * `--arguments`, the arguments message is logged at info level regardless of the level.
 * Errors (DCMTK's messages): `--log-level not allowed with --verbose, --debug or --quiet`,
 * `Invalid log level for --log-level option`, `--log-config not allowed with --log-level`,
 * `--log-config not allowed with --verbose, --debug or --quiet`, the `-lc` file errors.
 */
export function configureLogging(
  options: ParsedOptions,
  opts: ConfigureLoggingOptions,
): LoggingSetup | { readonly ok: false; readonly error: string } {
  const fail = (error: string) => ({ ok: false as const, error });
  const given = (long: string) => options.defines(long) && options.has(long);
  const appName = opts.programName.split(/[\\/]/).pop() ?? opts.programName;
  let level: LogThreshold | undefined;
  switch (options.winner(LOG_VERBOSITY_BLOCK)) {
    case "--debug":
      level = "debug";
      break;
    case "--verbose":
      level = "info";
      break;
    case "--quiet":
      level = "fatal";
      break;
  }
  const hasLevel = given("--log-level");
  if (hasLevel) {
    if (level !== undefined) {
      return fail("--log-level not allowed with --verbose, --debug or --quiet");
    }
    level = parseLogThreshold(options.value("--log-level") ?? "");
    if (level === undefined) return fail("Invalid log level for --log-level option");
  }
  let hierarchy: LogHierarchy;
  if (given("--log-config")) {
    if (hasLevel) return fail("--log-config not allowed with --log-level");
    if (level !== undefined) {
      return fail("--log-config not allowed with --verbose, --debug or --quiet");
    }
    const lc = opts.logConfig;
    if (!lc) throw new Error("configureLogging: -lc given without the log_config.ts module");
    try {
      hierarchy = lc.loadLogConfigFile(options.value("--log-config") ?? "", {
        appName,
        env: opts.env,
        stdoutReserved: opts.stdoutReserved,
      });
    } catch (e) {
      if (e instanceof lc.LogConfigError) return fail(e.message);
      throw e;
    }
  } else {
    hierarchy = new LogHierarchy({ rootLevel: level ?? "warn", rootAppenders: opts.appenders });
  }
  const root = hierarchy.root;
  if (given("--arguments")) {
    root.forcedLog("info", options.argumentsMessage(opts.programName));
  }
  return {
    ok: true,
    hierarchy,
    logger: hierarchy.getLogger(opts.loggerName ?? `dcmtk.apps.${appName}`),
    quiet: !root.isEnabled("error"),
  };
}
