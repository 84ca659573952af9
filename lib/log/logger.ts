/**
 * DCMTK-style logging (a small subset of log4cplus as used by DCMTK's oflog).
 *
 * Levels, in ascending order of severity: trace < debug < info < warn < error < fatal.
 * A logger writes a record only when its level is at least the logger's threshold;
 * the special threshold `off` suppresses everything except forced records.
 *
 * The default setup reproduces DCMTK's console output: every line of a message is
 * prefixed with the one-letter level (`D: `, `I: `, ...) and written to stderr.
 *
 * @module
 */
import { stderr, stdout, writeAllSync } from "../util/std_streams.ts";

/** A log level, from the most verbose (`trace`) to the most severe (`fatal`). */
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

/** A logger or appender threshold: a level, or `off` to suppress all (non-forced) records. */
export type LogThreshold = LogLevel | "off";

/** All log levels in ascending order of severity. */
export const LOG_LEVELS: readonly LogLevel[] = [
  "trace",
  "debug",
  "info",
  "warn",
  "error",
  "fatal",
];

const LEVEL_VALUE: Readonly<Record<LogThreshold, number>> = {
  trace: 0,
  debug: 10000,
  info: 20000,
  warn: 30000,
  error: 40000,
  fatal: 50000,
  off: 60000,
};

/** The numeric log4cplus value of a level or threshold (trace = 0 ... fatal = 50000, off = 60000). */
export function levelValue(level: LogThreshold): number {
  return LEVEL_VALUE[level];
}

/** The upper-case level name as printed by log4cplus' `%p` (e.g. `WARN`). */
export function levelName(level: LogLevel): string {
  return level.toUpperCase();
}

/** The one-letter level prefix as printed by DCMTK's `%P` (e.g. `W`). */
export function levelLetter(level: LogLevel): string {
  return level[0].toUpperCase();
}

/**
 * Parses a level name the way log4cplus' LogLevelManager does (case-insensitive):
 * `fatal`, `error`, `warn`, `info`, `debug`, `trace`, plus `off` and `all` (= trace).
 * Returns undefined for anything else (DCMTK: "Invalid log level for --log-level option").
 */
export function parseLogThreshold(text: string): LogThreshold | undefined {
  const t = text.trim().toLowerCase();
  if (t === "all") return "trace";
  if (t === "off") return "off";
  return (LOG_LEVELS as readonly string[]).includes(t) ? t as LogLevel : undefined;
}

/** One log event as handed to appenders. */
export interface LogRecord {
  /** Severity of the event. */
  readonly level: LogLevel;
  /** Full name of the logger that produced it (`root` for the root logger). */
  readonly logger: string;
  /** The message; may contain newlines. */
  readonly message: string;
  /** Time of the event. */
  readonly time: Date;
}

/** Formats a record into the text written by an appender. */
export interface Layout {
  /** Returns the complete text for the record, including line ends. */
  format(record: LogRecord): string;
}

/** A destination for log records (console, file, memory, ...). */
export interface Appender {
  /** Records below this threshold are dropped by the appender (default: none dropped). */
  readonly threshold?: LogThreshold;
  /** Writes one record; must not throw for ordinary I/O on a healthy destination. */
  append(record: LogRecord): void;
  /** Releases resources (open files). Optional. */
  close?(): void;
}

/** The logger API used throughout the toolkit. */
export interface Logger {
  /** Full logger name, e.g. `dcmtk.apps.echoscu` (`root` for the root logger). */
  readonly name: string;
  /** Logs at fatal level. */
  fatal(msg: string): void;
  /** Logs at error level. */
  error(msg: string): void;
  /** Logs at warn level. */
  warn(msg: string): void;
  /** Logs at info level. */
  info(msg: string): void;
  /** Logs at debug level. */
  debug(msg: string): void;
  /** Logs at trace level. */
  trace(msg: string): void;
  /** Logs at the given level (subject to the threshold). */
  log(level: LogLevel, msg: string): void;
  /** Logs at the given level regardless of the logger's threshold (log4cplus `forcedLog`). */
  forcedLog(level: LogLevel, msg: string): void;
  /** True when a message at this level would be written; use it to guard expensive dumps. */
  isEnabled(level: LogLevel): boolean;
  /** The logger named `<this name>.<suffix>` (or `<suffix>` below the root logger). */
  child(suffix: string): Logger;
}

const encoder = new TextEncoder();

/** A function that formats one message line; used by {@link LineLayout}. */
export type LineFormatter = (record: LogRecord, line: string) => string;

/**
 * A layout that applies a formatter to every line of the message separately, as DCMTK's
 * PatternLayout does (a multi-line message gets the prefix on every line).
 */
export class LineLayout implements Layout {
  readonly #fmt: LineFormatter;

  /** Creates a layout applying `fmt` to each line of a message. */
  constructor(fmt: LineFormatter) {
    this.#fmt = fmt;
  }

  /** Formats each line of the message with the line formatter and concatenates the results. */
  format(record: LogRecord): string {
    const lines = record.message.split("\n");
    let out = "";
    for (const line of lines) out += this.#fmt(record, line);
    return out;
  }
}

/** DCMTK's default console layout, `%P: %m%n`: `W: text\n` for each message line. */
export const DCMTK_DEFAULT_LAYOUT: Layout = new LineLayout((r, line) =>
  `${levelLetter(r.level)}: ${line}\n`
);

/** log4cplus' SimpleLayout: `LEVEL - message\n` (the message is not split into lines). */
export const SIMPLE_LAYOUT: Layout = {
  format: (r) => `${levelName(r.level)} - ${r.message}\n`,
};

/** Writes formatted records synchronously to stderr (default) or stdout. */
export class ConsoleAppender implements Appender {
  /** Threshold of this appender. */
  readonly threshold?: LogThreshold;
  readonly #layout: Layout;
  readonly #stream: "stderr" | "stdout";

  /**
   * @param opts.layout layout (default: DCMTK's `%P: %m%n`)
   * @param opts.stream `stderr` (DCMTK's default) or `stdout` (log4cplus' ConsoleAppender default)
   * @param opts.threshold optional appender threshold
   */
  constructor(
    opts: { layout?: Layout; stream?: "stderr" | "stdout"; threshold?: LogThreshold } = {},
  ) {
    this.#layout = opts.layout ?? DCMTK_DEFAULT_LAYOUT;
    this.#stream = opts.stream ?? "stderr";
    this.threshold = opts.threshold;
  }

  /** Formats and writes the record. */
  append(record: LogRecord): void {
    const data = encoder.encode(this.#layout.format(record));
    (this.#stream === "stderr" ? stderr : stdout).writeAll(data);
  }
}

/** Writes formatted records synchronously to a file (log4cplus File/RollingFile appenders). */
export class FileAppender implements Appender {
  /** Threshold of this appender. */
  readonly threshold?: LogThreshold;
  /** Path of the log file. */
  readonly path: string;
  readonly #layout: Layout;
  #file: Deno.FsFile | undefined;

  /**
   * Opens (creates) the file immediately; throws Deno errors if it cannot be opened.
   * @param path file name
   * @param opts.append append to an existing file (log4cplus default: false = truncate)
   * @param opts.layout layout (default: SimpleLayout)
   * @param opts.threshold optional appender threshold
   */
  constructor(
    path: string,
    opts: { append?: boolean; layout?: Layout; threshold?: LogThreshold } = {},
  ) {
    this.path = path;
    this.#layout = opts.layout ?? SIMPLE_LAYOUT;
    this.threshold = opts.threshold;
    this.#file = Deno.openSync(path, {
      write: true,
      create: true,
      append: opts.append ?? false,
      truncate: !(opts.append ?? false),
    });
  }

  /** Formats and writes the record (no-op after close). */
  append(record: LogRecord): void {
    if (this.#file) writeAllSync(this.#file, encoder.encode(this.#layout.format(record)));
  }

  /** Closes the file. */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}

/** Collects records and their formatted text in memory; intended for tests. */
export class MemoryAppender implements Appender {
  /** Threshold of this appender. */
  readonly threshold?: LogThreshold;
  /** All records received, in order. */
  readonly records: LogRecord[] = [];
  readonly #layout: Layout;
  #text = "";

  /** @param opts.layout layout used for {@link text} (default: DCMTK's `%P: %m%n`) */
  constructor(opts: { layout?: Layout; threshold?: LogThreshold } = {}) {
    this.#layout = opts.layout ?? DCMTK_DEFAULT_LAYOUT;
    this.threshold = opts.threshold;
  }

  /** Stores the record and appends its formatted text. */
  append(record: LogRecord): void {
    this.records.push(record);
    this.#text += this.#layout.format(record);
  }

  /** All formatted output so far. */
  get text(): string {
    return this.#text;
  }

  /** The formatted output split into lines (without the final empty element). */
  get lines(): string[] {
    const l = this.#text.split("\n");
    if (l.at(-1) === "") l.pop();
    return l;
  }

  /** Forgets everything collected so far. */
  clear(): void {
    this.records.length = 0;
    this.#text = "";
  }
}

/** Per-logger configuration inside a {@link LogHierarchy}. */
export interface LoggerConfig {
  /** Threshold of this logger; undefined = inherit from the parent. */
  readonly level?: LogThreshold;
  /** Appenders attached to this logger. */
  readonly appenders?: readonly Appender[];
  /** Whether records also go to the parent's appenders (default true). */
  readonly additivity?: boolean;
}

/** Options for {@link LogHierarchy}. */
export interface LogHierarchyOptions {
  /** Threshold of the root logger (default `warn`, DCMTK's default). */
  readonly rootLevel?: LogThreshold;
  /** Appenders of the root logger (default: one DCMTK console appender on stderr). */
  readonly rootAppenders?: readonly Appender[];
  /** Configuration of named loggers, e.g. `{"dcmtk.dcmnet": {level: "info"}}`. */
  readonly loggers?: Readonly<Record<string, LoggerConfig>>;
}

/**
 * A log4cplus-like logger hierarchy: named loggers (dot-separated) inherit their level
 * from the nearest configured ancestor and send records to their own and their
 * ancestors' appenders (until an ancestor with additivity=false).
 * The configuration is fixed at construction, so levels are resolved once per logger.
 */
export class LogHierarchy {
  readonly #rootLevel: LogThreshold;
  readonly #rootAppenders: readonly Appender[];
  readonly #loggers: Readonly<Record<string, LoggerConfig>>;
  readonly #cache = new Map<string, Logger>();

  /** Creates a hierarchy; see {@link LogHierarchyOptions} for defaults. */
  constructor(opts: LogHierarchyOptions = {}) {
    this.#rootLevel = opts.rootLevel ?? "warn";
    this.#rootAppenders = opts.rootAppenders ?? [new ConsoleAppender()];
    this.#loggers = opts.loggers ?? {};
  }

  /** Returns the logger with this full name (`root` or empty for the root logger). */
  getLogger(name = "root"): Logger {
    const key = name === "" ? "root" : name;
    let logger = this.#cache.get(key);
    if (!logger) {
      logger = this.#create(key);
      this.#cache.set(key, logger);
    }
    return logger;
  }

  /** The root logger. */
  get root(): Logger {
    return this.getLogger("root");
  }

  /** Closes all appenders (e.g. open log files). */
  close(): void {
    const all = new Set<Appender>(this.#rootAppenders);
    for (const c of Object.values(this.#loggers)) for (const a of c.appenders ?? []) all.add(a);
    for (const a of all) a.close?.();
  }

  #create(name: string): Logger {
    const chain: string[] = [];
    if (name !== "root") {
      const parts = name.split(".");
      for (let i = parts.length; i > 0; i--) chain.push(parts.slice(0, i).join("."));
    }
    let level: LogThreshold | undefined;
    const appenders: Appender[] = [];
    let additive = true;
    for (const n of chain) {
      const cfg = this.#loggers[n];
      if (!cfg) continue;
      level ??= cfg.level;
      if (additive) appenders.push(...(cfg.appenders ?? []));
      if (cfg.additivity === false) additive = false;
    }
    if (additive) appenders.push(...this.#rootAppenders);
    return new HierarchyLogger(this, name, level ?? this.#rootLevel, appenders);
  }
}

class HierarchyLogger implements Logger {
  readonly name: string;
  readonly #hierarchy: LogHierarchy;
  readonly #threshold: number;
  readonly #appenders: readonly Appender[];

  constructor(h: LogHierarchy, name: string, level: LogThreshold, appenders: readonly Appender[]) {
    this.#hierarchy = h;
    this.name = name;
    this.#threshold = LEVEL_VALUE[level];
    this.#appenders = appenders;
  }

  isEnabled(level: LogLevel): boolean {
    return LEVEL_VALUE[level] >= this.#threshold;
  }

  log(level: LogLevel, msg: string): void {
    if (LEVEL_VALUE[level] >= this.#threshold) this.forcedLog(level, msg);
  }

  forcedLog(level: LogLevel, msg: string): void {
    const record: LogRecord = { level, logger: this.name, message: msg, time: new Date() };
    const v = LEVEL_VALUE[level];
    for (const a of this.#appenders) {
      if (a.threshold === undefined || v >= LEVEL_VALUE[a.threshold]) a.append(record);
    }
  }

  fatal(msg: string): void {
    this.log("fatal", msg);
  }
  error(msg: string): void {
    this.log("error", msg);
  }
  warn(msg: string): void {
    this.log("warn", msg);
  }
  info(msg: string): void {
    this.log("info", msg);
  }
  debug(msg: string): void {
    this.log("debug", msg);
  }
  trace(msg: string): void {
    this.log("trace", msg);
  }

  child(suffix: string): Logger {
    return this.#hierarchy.getLogger(this.name === "root" ? suffix : `${this.name}.${suffix}`);
  }
}

/** Options for {@link createLogger}. */
export interface CreateLoggerOptions {
  /** Threshold (default `warn`, DCMTK's default). */
  readonly level?: LogThreshold;
  /** Logger name (default `root`); DCMTK apps use e.g. `dcmtk.apps.echoscu`. */
  readonly name?: string;
  /** Appenders (default: DCMTK console layout on stderr). */
  readonly appenders?: readonly Appender[];
}

/**
 * Creates a standalone logger backed by its own hierarchy.
 * Default: level warn, DCMTK's `%P: %m%n` layout, stderr.
 */
export function createLogger(opts: CreateLoggerOptions = {}): Logger {
  return new LogHierarchy({ rootLevel: opts.level ?? "warn", rootAppenders: opts.appenders })
    .getLogger(opts.name ?? "root");
}

/** A logger whose output is captured in memory; see {@link createMemoryLogger}. */
export interface MemoryLogger extends Logger {
  /** The appender holding the captured records and text. */
  readonly sink: MemoryAppender;
}

/** Creates a logger that captures DCMTK-formatted output in memory (for tests). */
export function createMemoryLogger(
  opts: { level?: LogThreshold; name?: string; layout?: Layout } = {},
): MemoryLogger {
  const sink = new MemoryAppender({ layout: opts.layout });
  const logger = createLogger({ level: opts.level, name: opts.name, appenders: [sink] });
  return Object.assign(logger, { sink });
}

/** A logger that discards everything (isEnabled is always false). */
export const NULL_LOGGER: Logger = createLogger({ level: "off", appenders: [] });
