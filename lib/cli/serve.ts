/**
 * The life of an SCP tool's server: start listening, serve until SIGINT or
 * SIGTERM (or until the caller's `stop`), stop cleanly. echoscp and
 * storescp share it.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import { DicomServer, type ServerOptions } from "../net/server.ts";
import type { TransportListener } from "../transport/transport.ts";
import { EXIT_OK } from "./tool.ts";

/** Exit code when the port cannot be bound (DCMTK's network range: cannot initialize network). */
export const EXIT_CANNOT_LISTEN = 60;

/** What a tool serves with: the server's options, and a listener that binds asynchronously. */
export interface ServeOptions extends ServerOptions {
  /** Opens the listener (TLS binds asynchronously); replaces `listen` when given. */
  openListener?: (hostname: string, port: number) => Promise<TransportListener>;
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
    const { openListener, ...rest } = options;
    const listener = await openListener?.(options.hostname, options.port);
    server = DicomServer.start(listener ? { ...rest, listen: () => listener } : rest);
  } catch (err) {
    if (!isBindError(err)) throw err;
    logger.fatal(`cannot listen on port ${options.port}: ${err.message}`);
    return EXIT_CANNOT_LISTEN;
  }
  logger.debug(`Listening on ${server.local.host}:${server.local.port}`);
  const shutdown = () => {
    logger.info("Shutting down");
    server.stop();
  };
  // Windows delivers only SIGINT (Ctrl+C) to console programs.
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, shutdown);
  stop?.then(shutdown);
  await server.done;
  for (const s of signals) Deno.removeSignalListener(s, shutdown);
  return EXIT_OK;
}
