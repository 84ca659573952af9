/**
 * Test helpers for TLS on the loopback (PS3.15 Annex B): server settings
 * presenting a test certificate, a listener that records the handshakes it
 * refused, a client connection, our echo SCU and SCP over TLS, and the
 * assertion that a promise fails with a named TLS failure.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  connectTls,
  listenTls,
  TlsError,
  type TlsFailureKind,
  type TlsSettings,
  type TlsTransport,
} from "../lib/transport/tls.ts";
import type { Endpoint, TransportListener } from "../lib/transport/transport.ts";
import { type EchoResult, runEchoScu } from "../lib/cli/echoscu/engine.ts";
import { echoScuOptions, startEchoScp } from "./echo_peers.ts";

/** Server settings presenting `pair`, not checking clients unless `extra` says so. */
export function serving(
  pair: { cert: string; key: string },
  extra: Partial<TlsSettings> = {},
): TlsSettings {
  return { keyFile: pair.key, certFile: pair.cert, verifyPeer: "ignore", ...extra };
}

/** A TLS listener on an ephemeral 127.0.0.1 port and the handshakes it refused. */
export interface RecordingListener {
  listener: TransportListener;
  port: number;
  refused: { err: TlsError; peer: Endpoint }[];
  close(): void;
}

/** Listens with `s` on an ephemeral 127.0.0.1 port, recording each refused handshake. */
export async function listenLoopback(s: TlsSettings): Promise<RecordingListener> {
  const refused: RecordingListener["refused"] = [];
  const listener = await listenTls("127.0.0.1", 0, s, {
    onHandshakeError: (err, peer) => refused.push({ err, peer }),
  });
  return { listener, port: listener.local.port, refused, close: () => listener.close() };
}

/** Connects over IPv4 to `host`:`port` with `s` (10 s handshake bound). */
export function connectLoopback(
  port: number,
  s: TlsSettings,
  host = "127.0.0.1",
): Promise<TlsTransport> {
  return connectTls(host, port, s, { timeoutMs: 10_000, family: "ipv4" });
}

/** Our echo SCP behind a {@link listenLoopback} listener with `s`; `stop()` stops both. */
export async function startTlsEchoScp(
  s: TlsSettings,
): Promise<Omit<RecordingListener, "close" | "listener"> & { stop(): Promise<void> }> {
  const srv = await listenLoopback(s);
  const server = startEchoScp(() => srv.listener);
  return { port: srv.port, refused: srv.refused, stop: () => server.stop() };
}

/**
 * One C-ECHO from our echo SCU ({@link echoScuOptions}) over TLS with `s`
 * to 127.0.0.1:`port`: its result, and what the handshake settled when it
 * connected.
 */
export async function echoOverTls(
  port: number,
  s: TlsSettings,
): Promise<{ result: EchoResult; tls?: TlsTransport["tls"] }> {
  let tls: TlsTransport["tls"] | undefined;
  const result = await runEchoScu(echoScuOptions(port, {
    connect: async (o) => {
      const t = await connectLoopback(o.port, s, o.host);
      tls = t.tls;
      return t;
    },
  }));
  return { result, tls };
}

/** Asserts that `p` rejects with a {@link TlsError} of `kind`; returns it. */
export async function expectTlsError(p: Promise<unknown>, kind: TlsFailureKind): Promise<TlsError> {
  const err = await p.then(() => undefined, (e) => e);
  assert.ok(err instanceof TlsError, `a TlsError "${kind}", got ${err}`);
  assert.equal(err.kind, kind, `${err.kind}: ${err.message} (${err.detail})`);
  return err;
}
