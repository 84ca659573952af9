/**
 * Test helpers for C-ECHO on the loopback: our echo SCU's settings for one
 * echo, and our echo SCP in process on an ephemeral port (plain TCP, or
 * behind a listener the test made, e.g. TLS).
 *
 * @module
 */
import { NULL_LOGGER } from "../lib/log/logger.ts";
import { echoHandler, verificationPolicy } from "../lib/cli/echoscp/echo_handler.ts";
import type { EchoScuOptions } from "../lib/cli/echoscu/engine.ts";
import { DicomServer, type ServerOptions } from "../lib/ae/server.ts";
import type { TransportListener } from "../lib/transport/transport.ts";

/**
 * Our echo SCU's settings for one C-ECHO to 127.0.0.1:`port`: IPv4, calling
 * ECHOSCU, called ANY-SCP, one transfer syntax on one context, 16 KiB PDUs,
 * 10 s connect, ACSE and DIMSE timeouts, no socket timeout, release at the
 * end, no log; `o` overrides any of them.
 */
export function echoScuOptions(port: number, o: Partial<EchoScuOptions> = {}): EchoScuOptions {
  return {
    host: "127.0.0.1",
    port,
    family: "ipv4",
    callingAeTitle: "ECHOSCU",
    calledAeTitle: "ANY-SCP",
    proposeTs: 1,
    proposePc: 1,
    maxPdu: 16384,
    connectTimeoutMs: 10_000,
    acseTimeoutMs: 10_000,
    dimseTimeoutMs: 10_000,
    socketTimeoutMs: 0,
    repeat: 1,
    abort: false,
    logger: NULL_LOGGER,
    ...o,
  };
}

/**
 * Our echo SCP in process (Verification only, AE title ANY-SCP, 16 KiB PDUs,
 * 10 s ACSE timeout, no log) on an ephemeral 127.0.0.1 port, or accepting
 * on `listen`'s listener; `more`: further server options (timeouts, the
 * transfer floor). Stop it with `stop()`.
 */
export function startEchoScp(
  listen?: () => TransportListener,
  more: Partial<ServerOptions> = {},
): DicomServer {
  return DicomServer.start({
    hostname: "127.0.0.1",
    port: 0,
    logger: NULL_LOGGER,
    policy: verificationPolicy({ aeTitle: "ANY-SCP", maxPdu: 16384, preference: "uncompressed" }),
    handlers: { "C-ECHO-RQ": echoHandler },
    acseTimeoutMs: 10_000,
    listen,
    ...more,
  });
}
