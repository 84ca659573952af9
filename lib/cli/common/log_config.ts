/**
 * Support for DCMTK's `--log-config` files: log4cplus-style property files.
 *
 * Supported keys (unknown keys are ignored):
 * - `log4cplus.rootLogger = LEVEL[, appender...]`
 * - `log4cplus.logger.NAME = [LEVEL|INHERIT][, appender...]`, `log4cplus.additivity.NAME = false`
 * - `log4cplus.appender.NAME = log4cplus::ConsoleAppender | FileAppender | RollingFileAppender |
 *   DailyRollingFileAppender | NullAppender` (`log4cplus.` prefix also accepted; rolling = file)
 * - `.File`, `.Append`, `.ImmediateFlush` (writes are always immediate), `.Threshold`,
 *   `.logToStdErr` (console; default stdout, as in log4cplus)
 * - `.layout = log4cplus::PatternLayout | SimpleLayout | TTCCLayout`,
 *   `.layout.ConversionPattern`
 * - `${VAR}` expansion (recursive): the file's own properties, `appname`, `hostname`, `pid`,
 *   `date`, `time`, then the environment; unknown variables are left as they are.
 *
 * @module
 */

import { missingPermission, PermissionError } from "../../util/permission.ts";
import {
  type Appender,
  ConsoleAppender,
  FileAppender,
  type Layout,
  levelLetter,
  levelName,
  LineLayout,
  type LoggerConfig,
  LogHierarchy,
  type LogRecord,
  type LogThreshold,
  parseLogThreshold,
  SIMPLE_LAYOUT,
} from "../../log/logger.ts";

/** Error in a log configuration; the message is meant to be printed as `<tool>: <message>`. */
export class LogConfigError extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "LogConfigError";
  }
}

/** Parses log4cplus property text: `key = value` lines, `#` comments, blank lines ignored. */
export function parseProperties(text: string): Map<string, string> {
  const props = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    props.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return props;
}

/**
 * Expands `${name}` references, first from `vars`, then from the environment (when
 * `env` is given), recursively (up to a fixed depth); unknown names stay unexpanded.
 */
export function expandVariables(
  value: string,
  vars: ReadonlyMap<string, string>,
  env?: (name: string) => string | undefined,
): string {
  let cur = value;
  for (let depth = 0; depth < 16; depth++) {
    const next = cur.replace(/\$\{([^}]*)\}/g, (m, name: string) => {
      const v = vars.get(name) ?? env?.(name);
      return v ?? m;
    });
    if (next === cur) break;
    cur = next;
  }
  return cur;
}

// ---------------------------------------------------------------------------
// PatternLayout

const pad2 = (n: number) => String(n).padStart(2, "0");
const pad3 = (n: number) => String(n).padStart(3, "0");
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/**
 * Formats a date with a strftime subset plus log4cplus' `%q` (milliseconds, 3 digits) and
 * `%Q` (milliseconds with fraction, `ddd.ddd`). Supported: %Y %y %m %d %e %H %I %M %S %p
 * %j %a %A %b %B %h %z %Z %F %T %s %%. Unknown sequences are copied unchanged.
 * @param utc use UTC (log4cplus `%d`) instead of local time (`%D`)
 */
export function formatDate(date: Date, fmt: string, utc: boolean): string {
  const Y = utc ? date.getUTCFullYear() : date.getFullYear();
  const mo = utc ? date.getUTCMonth() : date.getMonth();
  const d = utc ? date.getUTCDate() : date.getDate();
  const H = utc ? date.getUTCHours() : date.getHours();
  const Mi = utc ? date.getUTCMinutes() : date.getMinutes();
  const S = utc ? date.getUTCSeconds() : date.getSeconds();
  const wd = utc ? date.getUTCDay() : date.getDay();
  const ms = date.getMilliseconds();
  const start = utc ? Date.UTC(Y, 0, 1) : new Date(Y, 0, 1).getTime();
  const dayStart = utc ? Date.UTC(Y, mo, d) : new Date(Y, mo, d).getTime();
  const yday = Math.round((dayStart - start) / 86400000) + 1;
  const off = utc ? 0 : -date.getTimezoneOffset();
  const tz = `${off >= 0 ? "+" : "-"}${pad2(Math.floor(Math.abs(off) / 60))}${
    pad2(Math.abs(off) % 60)
  }`;
  let out = "";
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i];
    if (c !== "%" || i + 1 >= fmt.length) {
      out += c;
      continue;
    }
    const f = fmt[++i];
    switch (f) {
      case "Y":
        out += String(Y);
        break;
      case "y":
        out += pad2(Y % 100);
        break;
      case "m":
        out += pad2(mo + 1);
        break;
      case "d":
        out += pad2(d);
        break;
      case "e":
        out += String(d).padStart(2, " ");
        break;
      case "H":
        out += pad2(H);
        break;
      case "I":
        out += pad2(H % 12 === 0 ? 12 : H % 12);
        break;
      case "M":
        out += pad2(Mi);
        break;
      case "S":
        out += pad2(S);
        break;
      case "p":
        out += H < 12 ? "AM" : "PM";
        break;
      case "j":
        out += String(yday).padStart(3, "0");
        break;
      case "a":
        out += DAYS[wd].slice(0, 3);
        break;
      case "A":
        out += DAYS[wd];
        break;
      case "b":
      case "h":
        out += MONTHS[mo].slice(0, 3);
        break;
      case "B":
        out += MONTHS[mo];
        break;
      case "z":
        out += tz;
        break;
      case "Z":
        out += utc ? "GMT" : tz;
        break;
      case "F":
        out += `${Y}-${pad2(mo + 1)}-${pad2(d)}`;
        break;
      case "T":
        out += `${pad2(H)}:${pad2(Mi)}:${pad2(S)}`;
        break;
      case "s":
        out += String(Math.floor(date.getTime() / 1000));
        break;
      case "q":
        out += pad3(ms);
        break;
      case "Q":
        out += `${pad3(ms)}.000`;
        break;
      case "%":
        out += "%";
        break;
      default:
        out += `%${f}`;
    }
  }
  return out;
}

interface Conversion {
  readonly kind: "conv";
  readonly char: string;
  readonly left: boolean;
  readonly min: number;
  readonly max: number;
  readonly option: string | undefined;
}
type PatternToken = { readonly kind: "lit"; readonly text: string } | Conversion;

const CONVERSION_CHARS = "mnpPcdDi%hHtrxXMFLlb";

function tokenizePattern(pattern: string): PatternToken[] {
  const tokens: PatternToken[] = [];
  let lit = "";
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c !== "%") {
      lit += c;
      i++;
      continue;
    }
    const m = /^%(-?)(\d*)(?:\.(\d+))?(.)?/.exec(pattern.slice(i))!;
    const ch = m[4];
    if (ch === undefined || !CONVERSION_CHARS.includes(ch)) {
      // log4cplus reports "Unexpected char" and copies the text literally
      lit += m[0];
      i += m[0].length;
      continue;
    }
    i += m[0].length;
    if (ch === "%" && m[0] === "%%") {
      lit += "%";
      continue;
    }
    let option: string | undefined;
    if (pattern[i] === "{") {
      const end = pattern.indexOf("}", i);
      if (end > i) {
        option = pattern.slice(i + 1, end);
        i = end + 1;
      }
    }
    if (lit) tokens.push({ kind: "lit", text: lit });
    lit = "";
    tokens.push({
      kind: "conv",
      char: ch,
      left: m[1] === "-",
      min: m[2] ? Number(m[2]) : 0,
      max: m[3] ? Number(m[3]) : Infinity,
      option,
    });
  }
  if (lit) tokens.push({ kind: "lit", text: lit });
  return tokens;
}

/** Context values used by {@link createPatternLayout} for `%i`, `%h`, `%H`, `%r`. */
export interface PatternContext {
  /** Process id for `%i` and `%t` (default `Deno.pid`). */
  readonly pid?: number;
  /** Host name for `%h` / `%H` (default `Deno.hostname()` or `localhost`). */
  readonly hostname?: string;
  /** Reference time for `%r` in ms since epoch (default: layout creation time). */
  readonly startTime?: number;
}

function safeHostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

/**
 * Creates a log4cplus PatternLayout as modified by DCMTK: the pattern is applied to every
 * line of a multi-line message. Conversions: %m %n %p %P %c (with `{N}`: last N name
 * components) %d{fmt} (UTC) %D{fmt} (local; default fmt `%Y-%m-%d %H:%M:%S`) %i %t %h %H
 * %r %% ; source-location conversions (%M %F %L %l %b) and %x/%X produce empty text.
 * Format modifiers: `-` (left-justify), minimum width, `.max` (keeps the last max chars).
 */
export function createPatternLayout(pattern: string, ctx: PatternContext = {}): Layout {
  const tokens = tokenizePattern(pattern);
  const pid = ctx.pid ?? Deno.pid;
  const start = ctx.startTime ?? Date.now();
  let host: string | undefined = ctx.hostname;
  const hostname = () => host ??= safeHostname();
  const convert = (t: Conversion, r: LogRecord, line: string): string => {
    switch (t.char) {
      case "m":
        return line;
      case "n":
        return "\n";
      case "p":
        return levelName(r.level);
      case "P":
        return levelLetter(r.level);
      case "c": {
        const n = t.option !== undefined ? Number(t.option) : NaN;
        if (!(n > 0)) return r.logger;
        return r.logger.split(".").slice(-n).join(".");
      }
      case "d":
      case "D":
        return formatDate(r.time, t.option ?? "%Y-%m-%d %H:%M:%S", t.char === "d");
      case "i":
      case "t":
        return String(pid);
      case "h":
        return hostname().split(".")[0];
      case "H":
        return hostname();
      case "r":
        return String(r.time.getTime() - start);
      case "%":
        return "%";
      default:
        return "";
    }
  };
  return new LineLayout((r, line) => {
    let out = "";
    for (const t of tokens) {
      if (t.kind === "lit") {
        out += t.text;
        continue;
      }
      let s = convert(t, r, line);
      if (s.length > t.max) s = s.slice(s.length - t.max);
      if (s.length < t.min) s = t.left ? s.padEnd(t.min, " ") : s.padStart(t.min, " ");
      out += s;
    }
    return out;
  });
}

// ---------------------------------------------------------------------------
// configuration

/** Variables and environment used while loading a configuration. */
export interface LogConfigOptions {
  /** Value of `${appname}` (DCMTK: file name part of argv[0]). */
  readonly appName?: string;
  /** Environment lookup for `${VAR}` (default `Deno.env.get`, failures ignored). */
  readonly env?: (name: string) => string | undefined;
  /** Context for pattern layouts (pid, hostname). */
  readonly pattern?: PatternContext;
  /** stdout carries something else (JSON): console appenders write to stderr whatever they say. */
  readonly stdoutReserved?: boolean;
}

function stripClassPrefix(cls: string): string | undefined {
  const m = /^log4cplus(?:::|\.)(.+)$/.exec(cls.trim());
  return m?.[1];
}

function parseBool(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  const t = v.trim().toLowerCase();
  if (t === "true") return true;
  if (t === "false") return false;
  return dflt;
}

function parseLevelValue(v: string, where: string): LogThreshold | undefined {
  const t = v.trim();
  if (t === "" || t.toUpperCase() === "INHERIT" || t.toUpperCase() === "NOTSET") return undefined;
  const level = parseLogThreshold(t);
  if (!level) {
    throw new LogConfigError(`Invalid log level '${t}' for ${where} in --log-config file`);
  }
  return level;
}

function defaultEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

function todayStrings(): { date: string; time: string } {
  const now = new Date();
  return {
    date: `${now.getFullYear()}-${pad2(now.getMonth() + 1)}-${pad2(now.getDate())}`,
    time: `${pad2(now.getHours())}:${pad2(now.getMinutes())}:${pad2(now.getSeconds())}`,
  };
}

/**
 * Builds a {@link LogHierarchy} from log4cplus property text, performing the same sanity
 * checks as DCMTK's OFLog (messages are DCMTK's). Throws {@link LogConfigError} on an
 * unusable configuration (no settings, no rootLogger, unknown appender or layout class,
 * invalid level, log file that cannot be opened). Files opened so far are closed on error.
 */
export function configureFromProperties(text: string, opts: LogConfigOptions = {}): LogHierarchy {
  const raw = parseProperties(text);
  if (raw.size === 0) {
    throw new LogConfigError("Specified --log-config file does not contain any settings");
  }
  if (![...raw.keys()].some((k) => k.startsWith("log4cplus."))) {
    throw new LogConfigError("Specified --log-config file does not contain any valid settings");
  }
  if (!raw.has("log4cplus.rootLogger")) {
    throw new LogConfigError("Specified --log-config file does not set up log4cplus.rootLogger");
  }
  const vars = new Map(raw);
  const { date, time } = todayStrings();
  if (opts.appName !== undefined) vars.set("appname", opts.appName);
  vars.set("hostname", opts.pattern?.hostname ?? safeHostname());
  vars.set("pid", String(opts.pattern?.pid ?? Deno.pid));
  vars.set("date", date);
  vars.set("time", time);
  const env = opts.env ?? defaultEnv;
  const get = (key: string): string | undefined => {
    const v = raw.get(key);
    return v === undefined ? undefined : expandVariables(v, vars, env);
  };

  const created = new Map<string, Appender | null>();
  const makeAppender = (name: string): Appender | null => {
    if (created.has(name)) return created.get(name)!;
    const prefix = `log4cplus.appender.${name}`;
    const clsText = get(prefix);
    if (clsText === undefined) {
      throw new LogConfigError(`Specified --log-config file does not define appender ${name}`);
    }
    const cls = stripClassPrefix(clsText);
    const threshold = get(`${prefix}.Threshold`) !== undefined
      ? parseLevelValue(get(`${prefix}.Threshold`)!, `appender ${name}`)
      : undefined;
    const layout = makeLayout(prefix);
    let app: Appender | null;
    switch (cls) {
      case "ConsoleAppender":
        app = new ConsoleAppender({
          layout,
          threshold,
          stream: opts.stdoutReserved || parseBool(get(`${prefix}.logToStdErr`), false)
            ? "stderr"
            : "stdout",
        });
        break;
      case "FileAppender":
      case "RollingFileAppender":
      case "DailyRollingFileAppender": {
        const file = get(`${prefix}.File`);
        if (!file) {
          throw new LogConfigError(
            `No log file specified for appender ${name} in --log-config file`,
          );
        }
        try {
          app = new FileAppender(file, {
            layout,
            threshold,
            append: parseBool(get(`${prefix}.Append`), false),
          });
        } catch (e) {
          const denied = missingPermission(e);
          if (denied) throw new PermissionError(denied, `cannot open log file ${file}`);
          throw new LogConfigError(
            `Cannot open log file ${file}: ${e instanceof Error ? e.message : String(e)}`,
          );
        }
        break;
      }
      case "NullAppender":
        app = null;
        break;
      default:
        throw new LogConfigError(
          `Specified --log-config file uses unknown appender class ${clsText} for appender ${name}`,
        );
    }
    created.set(name, app);
    return app;
  };
  const makeLayout = (prefix: string): Layout => {
    const layoutCls = get(`${prefix}.layout`);
    if (layoutCls === undefined) return SIMPLE_LAYOUT;
    switch (stripClassPrefix(layoutCls)) {
      case "SimpleLayout":
        return SIMPLE_LAYOUT;
      case "TTCCLayout":
        return createPatternLayout("%r [%t] %p %c - %m%n", opts.pattern);
      case "PatternLayout": {
        const pattern = get(`${prefix}.layout.ConversionPattern`);
        // log4cplus falls back to SimpleLayout when no pattern is given
        return pattern === undefined ? SIMPLE_LAYOUT : createPatternLayout(pattern, opts.pattern);
      }
      default:
        throw new LogConfigError(
          `Specified --log-config file uses unknown layout class ${layoutCls}`,
        );
    }
  };
  const parseLoggerValue = (value: string, where: string): LoggerConfig => {
    const [levelText, ...names] = value.split(",").map((s) => s.trim());
    const level = parseLevelValue(levelText, where);
    const appenders = names.filter((n) => n !== "").map(makeAppender).filter((a) =>
      a !== null
    ) as Appender[];
    return { level, appenders };
  };

  try {
    const root = parseLoggerValue(get("log4cplus.rootLogger")!, "log4cplus.rootLogger");
    const loggers: Record<string, LoggerConfig> = {};
    for (const key of raw.keys()) {
      if (key.startsWith("log4cplus.logger.")) {
        const name = key.slice("log4cplus.logger.".length);
        loggers[name] = { ...loggers[name], ...parseLoggerValue(get(key)!, key) };
      } else if (key.startsWith("log4cplus.additivity.")) {
        const name = key.slice("log4cplus.additivity.".length);
        loggers[name] = { ...loggers[name], additivity: parseBool(get(key), true) };
      }
    }
    return new LogHierarchy({
      // log4cplus' root logger defaults to DEBUG when its level is not given
      rootLevel: root.level ?? "debug",
      rootAppenders: root.appenders,
      loggers,
    });
  } catch (e) {
    for (const a of created.values()) a?.close?.();
    throw e;
  }
}

/**
 * Reads a `--log-config` file and builds the hierarchy. Errors (DCMTK's messages):
 * "Specified --log-config file does not exist" (also for directories),
 * "Specified --log-config file cannot be read", plus those of {@link configureFromProperties}.
 */
export function loadLogConfigFile(path: string, opts: LogConfigOptions = {}): LogHierarchy {
  const denied = (e: unknown) => {
    const p = missingPermission(e);
    if (p) throw new PermissionError(p, `cannot read --log-config file ${path}`);
  };
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (e) {
    denied(e);
    throw new LogConfigError("Specified --log-config file does not exist");
  }
  if (!info.isFile) throw new LogConfigError("Specified --log-config file does not exist");
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    denied(e);
    throw new LogConfigError("Specified --log-config file cannot be read");
  }
  return configureFromProperties(text, opts);
}
