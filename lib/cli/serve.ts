/**
 * The life of an SCP tool's server: start listening, serve until SIGINT or
 * SIGTERM (or until the caller's `stop`), stop cleanly. echoscp and
 * storescp share it.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import { DicomServer, type ServerOptions } from "../net/server.ts";
import { EXIT_OK } from "./tool.ts";

/** Exit code when the port cannot be bound (DCMTK's network range: cannot initialize network). */
export const EXIT_CANNOT_LISTEN = 60;

/**
 * Starts a server with `options` and serves until a signal or `stop`;
 * resolves with the exit code: 0, or {@link EXIT_CANNOT_LISTEN} (with one
 * fatal log line) when the address is taken or not ours to bind.
 */
export async function serveUntilStopped(
  options: ServerOptions,
  logger: Logger,
  stop?: Promise<void>,
): Promise<number> {
  let server: DicomServer;
  try {
    server = DicomServer.start(options);
  } catch (err) {
    if (!(err instanceof Deno.errors.AddrInUse || err instanceof Deno.errors.PermissionDenied)) {
      throw err;
    }
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
