/**
 * The life of an SCP tool's server: start listening, say so, serve until
 * SIGINT or SIGTERM (or until the caller's `stop`), stop cleanly and say
 * what was done. echoscp and storescp share it.
 *
 * @module
 */
import type { Logger } from "../../log/logger.ts";
import { DicomServer, type ServerOptions, type ServerTotals } from "../../ae/server.ts";
import type { Endpoint } from "../../transport/transport.ts";
import { EXIT_OK } from "./tool.ts";
import { loadServerDumps, type ServerLogStyle, toolServerOptions } from "./server_lines.ts";

/** Exit code when the port cannot be bound (DCMTK's network range: cannot initialize network). */
export const EXIT_CANNOT_LISTEN = 60;

/** What a tool serves with: the server's options, its words, and its "ready" line. */
export interface ServeOptions extends Omit<ServerOptions, "report" | "onPdu"> {
  /** Whose words the association lines are in: pynetdicom's (echoscp) or DCMTK's (storescp). */
  style: ServerLogStyle;
  /** DCMTK's +v: the A-ASSOCIATE-RQ/AC dumps at info rather than debug level. */
  showPresentationContexts?: boolean;
  /**
   * The line printed once listening (at the default level; not with -q):
   * given where, it says what is served, e.g. "storescp listening on
   * 0.0.0.0:104 (TCP), AE title STORESCP, storing into /data".
   */
  readyLine?: (local: Endpoint) => string;
}

/** A failure to bind: Deno's errors (TCP) or node's codes (node:tls). */
function isBindError(err: unknown): err is Error {
  if (err instanceof Deno.errors.AddrInUse || err instanceof Deno.errors.PermissionDenied) {
    return true;
  }
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && (code === "EADDRINUSE" || code === "EACCES" ||
    code === "EADDRNOTAVAIL");
}

/**
 * A line shown at the default log level (warnings and up) and above, but
 * not with -q: what a user running the tool by hand must see (where it
 * listens, what it did), though it is no warning.
 */
export function notice(logger: Logger, line: string): void {
  if (logger.isEnabled("warn")) logger.forcedLog("info", line);
}

/**
 * Starts a server with `options` and serves until a signal or `stop`;
 * resolves with the exit code: 0, or {@link EXIT_CANNOT_LISTEN} (with one
 * fatal log line) when the address is taken or not ours to bind.
 */
export async function serveUntilStopped(
  options: ServeOptions,
  logger: Logger,
  stop?: Promise<void>,
): Promise<number> {
  let server: DicomServer;
  try {
    server = await DicomServer.open({
      ...options,
      ...toolServerOptions(
        options.style,
        logger,
        options,
        await loadServerDumps(options.style, logger, options),
      ),
    });
  } catch (err) {
    if (!isBindError(err)) throw err;
    logger.fatal(`cannot listen on port ${options.port}: ${err.message}`);
    return EXIT_CANNOT_LISTEN;
  }
  const shutdown = () => {
    logger.info("Shutting down");
    server.stop();
  };
  // Windows delivers only SIGINT (Ctrl+C) to console programs. The handlers come before the
  // ready line: a SIGTERM sent as soon as it is read must stop the server cleanly, not kill
  // the process (exit 143), which a loaded machine showed.
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, shutdown);
  if (options.readyLine) notice(logger, options.readyLine(server.local));
  stop?.then(shutdown);
  await server.done;
  for (const s of signals) Deno.removeSignalListener(s, shutdown);
  notice(logger, totalsLine(server.totals));
  return EXIT_OK;
}

/** "Served 12 associations in 3.2 s: 40 requests, 38 stored (12.0 MB), 2 failed; ...". */
export function totalsLine(t: ServerTotals): string {
  const extra = [
    t.rejected && `${t.rejected} rejected`,
    t.aborted && `${t.aborted} aborted`,
    t.refused && `${t.refused} connections refused over capacity`,
  ].filter(Boolean);
  const stored = t.stored || t.bytes
    ? `, ${t.stored} stored (${(t.bytes / 1e6).toFixed(1)} MB)`
    : "";
  return `Served ${t.associations} association${t.associations === 1 ? "" : "s"} in ` +
    `${duration(t.seconds)}: ${t.requests} request${t.requests === 1 ? "" : "s"}${stored}, ` +
    `${t.failed} failed${extra.length ? `; ${extra.join(", ")}` : ""}`;
}

/** "3.2 s", "4 min 12 s", "2 h 3 min". */
function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds - 60 * m)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
