/**
 * A one-line progress display for a terminal: files n/N, bytes, rate and
 * time left, redrawn in place at most ~10 times a second. The formatting is
 * pure (tested without a terminal); {@link ProgressBar} only adds the
 * throttle and the carriage-return redraw, and {@link withProgressLine}
 * keeps log lines from landing in the middle of the bar.
 *
 * Sizes are decimal (1 MB = 10^6 bytes), as transfer rates are usually given.
 *
 * @module
 */
import type { Logger, LogLevel } from "../../log/logger.ts";

/** Where a batch stands. */
export interface ProgressState {
  /** Files finished (sent or failed). */
  filesDone: number;
  /** Files in the batch. */
  filesTotal: number;
  /** Bytes sent so far. */
  bytesDone: number;
  /** Bytes of the whole batch. */
  bytesTotal: number;
  /** Milliseconds since the batch started. */
  elapsedMs: number;
}

/** `950 B`, `12.3 kB`, `4.5 MB`, `1.23 GB`: decimal units, three significant digits or so. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[u]}`;
}

/** Megabytes (10^6 bytes) per second with one decimal; `0.0` before any time has passed. */
export function megabytesPerSecond(bytes: number, ms: number): string {
  return ms > 0 ? (bytes / 1000 / ms).toFixed(1) : "0.0";
}

/** `m:ss` or `h:mm:ss`; `--:--` when unknown (not finite or negative). */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "--:--";
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** Time left at the rate so far, by bytes; Infinity before anything was sent. */
export function estimateRemainingMs(p: ProgressState): number {
  if (p.bytesDone <= 0 || p.elapsedMs <= 0) return Infinity;
  return Math.max(0, p.bytesTotal - p.bytesDone) * p.elapsedMs / p.bytesDone;
}

const MIN_BAR = 10;

/**
 * The progress line, at most `columns` characters:
 * `[#######.............]  12/100 files  30.2 MB/121 MB  45.3 MB/s  ETA 0:02`.
 * The bar takes what the figures leave and is dropped when under 10 columns.
 */
export function progressLine(p: ProgressState, columns: number): string {
  const figures = `${p.filesDone}/${p.filesTotal} files  ` +
    `${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}  ` +
    `${megabytesPerSecond(p.bytesDone, p.elapsedMs)} MB/s  ` +
    `ETA ${formatDuration(estimateRemainingMs(p))}`;
  const inner = columns - figures.length - 4; // "[", "]" and two spaces
  if (inner < MIN_BAR) return figures.slice(0, Math.max(0, columns));
  const fraction = p.bytesTotal > 0
    ? Math.min(1, p.bytesDone / p.bytesTotal)
    : p.filesTotal > 0
    ? p.filesDone / p.filesTotal
    : 1;
  const filled = Math.round(fraction * inner);
  return `[${"#".repeat(filled)}${".".repeat(inner - filled)}]  ${figures}`;
}

/** A terminal the bar is drawn on. */
export interface ProgressTerminal {
  /** Writes all bytes synchronously (Deno.stderr). */
  writeSync(p: Uint8Array): number;
}

/** Options of {@link ProgressBar}. */
export interface ProgressBarOptions {
  /** Width of the terminal; default 80. */
  columns?: () => number;
  /** Least time between redraws (default 100 ms: about 10 a second). */
  minIntervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

const encoder = new TextEncoder();
/** Carriage return and "erase to end of line" (ECMA-48 EL, CSI K). */
const CLEAR = "\r\x1b[K";

/** The line, redrawn in place with a throttle. */
export class ProgressBar {
  readonly #out: ProgressTerminal;
  readonly #columns: () => number;
  readonly #minInterval: number;
  readonly #now: () => number;
  #last = -Infinity;
  #shown = "";

  /** Draws on `out` (a terminal). */
  constructor(out: ProgressTerminal, opts: ProgressBarOptions = {}) {
    this.#out = out;
    this.#columns = opts.columns ?? (() => 80);
    this.#minInterval = opts.minIntervalMs ?? 100;
    this.#now = opts.now ?? (() => performance.now());
  }

  /** Redraws with `p` unless the last redraw was too recent (`force` draws anyway). */
  update(p: ProgressState, force = false): void {
    const t = this.#now();
    if (!force && t - this.#last < this.#minInterval) return;
    this.#last = t;
    // One column spare: writing the last column makes some terminals wrap.
    this.#shown = progressLine(p, this.#columns() - 1);
    this.#write(`${CLEAR}${this.#shown}`);
  }

  /** Removes the line (before other output, and at the end). */
  clear(): void {
    if (this.#shown !== "") this.#write(CLEAR);
  }

  /** Draws the last line drawn again (after other output). */
  redraw(): void {
    if (this.#shown !== "") this.#write(`${CLEAR}${this.#shown}`);
  }

  /** Clears the line for good. */
  finish(): void {
    this.clear();
    this.#shown = "";
  }

  #write(s: string): void {
    const b = encoder.encode(s);
    let off = 0;
    while (off < b.length) off += this.#out.writeSync(b.subarray(off));
  }
}

/**
 * `logger`, with the bar cleared before every record written and drawn
 * again after it, so log lines and the bar share stderr cleanly.
 */
export function withProgressLine(logger: Logger, bar: ProgressBar): Logger {
  return routedLogger(logger, (to, level, m, forced) => {
    if (!forced && !to.isEnabled(level)) return;
    bar.clear();
    if (forced) to.forcedLog(level, m);
    else to.log(level, m);
    bar.redraw();
  });
}

/**
 * A logger whose lines go through `write`, given the logger they were meant
 * for (`logger`, or its child for a child's lines), with the same threshold.
 */
export function routedLogger(
  logger: Logger,
  write: (to: Logger, level: LogLevel, m: string, forced: boolean) => void,
): Logger {
  const wrapped: Logger = {
    name: logger.name,
    fatal: (m) => wrapped.log("fatal", m),
    error: (m) => wrapped.log("error", m),
    warn: (m) => wrapped.log("warn", m),
    info: (m) => wrapped.log("info", m),
    debug: (m) => wrapped.log("debug", m),
    trace: (m) => wrapped.log("trace", m),
    log: (level, m) => write(logger, level, m, false),
    forcedLog: (level, m) => write(logger, level, m, true),
    isEnabled: (level) => logger.isEnabled(level),
    child: (suffix) => routedLogger(logger.child(suffix), write),
  };
  return wrapped;
}
