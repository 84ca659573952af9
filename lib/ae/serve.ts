/**
 * `serve()`: a DICOM application entity as acceptor, built from services
 * that compose (`[verification(), storage({ store: fileStore({ dir }) })]`).
 * Associations are negotiated from what the services accept, requests are
 * dispatched to the service registered for their command and SOP class,
 * and each connection lives within the server's budget and deadlines
 * (server.ts).
 *
 * @module
 */
import { NULL_LOGGER } from "../log/logger.ts";
import type { Logger } from "../log/logger.ts";
import type { TlsCredentials, TlsSettings } from "../transport/tls.ts";
import type { ConnectionGate } from "../transport/transport.ts";
import { type DimseMessageType, hasDataset } from "../dimse/messages.ts";
import type { ConnectionLimits } from "./budget.ts";
import type { ChannelEvent, TransferFloor } from "./channel.ts";
import { ChunkQueue } from "./chunks.ts";
import type { AcceptorPolicy } from "./negotiation.ts";
import {
  CANCEL_REASON,
  type CommandHandler,
  DicomServer,
  type RequestInterrupted,
  type ServerEvent,
  type ServerIncident,
} from "./server.ts";
import { CANCELLED, dispatchRequest, type Service } from "./service.ts";

/** Options of {@link serve}: everything but the services has a default. */
export interface ServeOptions {
  /** Our AE title (default "DIMSE-DENO"). */
  aeTitle?: string;
  /** Port to listen on (0: any free port; `server.local.port` tells which). */
  port: number;
  /** Address to listen on (default 0.0.0.0). */
  hostname?: string;
  /** The services offered; the first that answers a request's command and SOP class serves it. */
  services: readonly Service[];
  /** Accept only these calling AE titles (default: any). */
  acceptCallingAeTitles?: readonly string[];
  /** Require the called AE title to be ours (default: any is accepted). */
  requireCalledAeTitle?: boolean;
  /** Our Maximum Length Received (default 16384). */
  maxPdu?: number;
  /**
   * Grants a requestor that proposes an Asynchronous Operations Window
   * (PS3.7 D.3.3.3) up to this many outstanding requests per association
   * (the lower of its proposal and this): that many handlers of one
   * association run at once, each answered as it finishes. Default 1: no
   * window item answered, one request at a time (as DCMTK).
   */
  asyncWindow?: number;
  /** Caps on connections (default: derived from the process's descriptor limit). */
  budget?: Partial<ConnectionLimits>;
  /** Deadlines, milliseconds: ARTIM (default 30 s), each request (default 60 s), inactivity (60 s). */
  timeouts?: { acseMs?: number; dimseMs?: number; idleMs?: number };
  /** The slowest a message may arrive (default 1 KiB/s over 30 s; `null`: none). */
  transferFloor?: TransferFloor | null;
  /** DICOM TLS: settings and credentials (loadTlsCredentials). */
  tls?: { settings: TlsSettings; credentials: TlsCredentials };
  /** Where the server's lines go (default: nowhere). */
  logger?: Logger;
  /** Every server event (listening, association accepted or ended, overload...). */
  onEvent?: (e: ServerEvent) => void;
  /** Every incident, for a program that words them itself (default: neutral lines to `logger`). */
  report?: (incident: ServerIncident) => void;
}

/** The default transfer floor: 1 KiB/s over 30 s windows. */
const DEFAULT_FLOOR: TransferFloor = { bytesPerSecond: 1024, windowMs: 30_000 };

/**
 * Starts serving; resolves with the running {@link DicomServer} once it
 * listens (`stop()` ends it, `done` resolves when it has ended), rejects
 * when the port cannot be bound.
 *
 * @example A receiver that counts and stores files
 * ```ts ignore
 * import { fileStore, serve, storage, verification } from "jsr:@dimse-deno/dimse";
 * let count = 0;
 * const store = fileStore({ dir: "./incoming", onStored: () => count++ });
 * const server = await serve({
 *   aeTitle: "STORE-SCP",
 *   port: 11112,
 *   services: [verification(), storage({ store })],
 * });
 * ```
 */
export async function serve(o: ServeOptions): Promise<DicomServer> {
  const w = o.asyncWindow;
  if (w !== undefined && (!Number.isInteger(w) || w < 1 || w > 0xffff)) {
    throw new RangeError(`asyncWindow is 1 to 65535 outstanding requests, not ${w}`);
  }
  const aeTitle = o.aeTitle ?? "DIMSE-DENO";
  const logger = o.logger ?? NULL_LOGGER;
  const acseTimeoutMs = o.timeouts?.acseMs ?? 30_000;
  const policy: AcceptorPolicy = {
    aeTitle,
    maxPdu: o.maxPdu ?? 16384,
    allowedCallingAeTitles: o.acceptCallingAeTitles ? [...o.acceptCallingAeTitles] : undefined,
    requireCalledAeTitle: o.requireCalledAeTitle,
    abstractSyntaxes: new ServiceSyntaxes(o.services),
    answerRoles: true,
    maxOperationsPerformed: o.asyncWindow,
  };
  const handlers: Partial<Record<DimseMessageType, CommandHandler>> = {};
  for (const s of o.services) {
    for (const command of s.commands) handlers[command] = serviceHandler(o.services);
  }
  let listen;
  if (o.tls) {
    const tls = o.tls;
    const { listenTls } = await import("../transport/tls.ts");
    listen = (hostname: string, port: number, gate: ConnectionGate) =>
      listenTls(hostname, port, tls.settings, {
        credentials: tls.credentials,
        gate,
        handshakeTimeoutMs: acseTimeoutMs,
      });
  }
  return await DicomServer.open({
    hostname: o.hostname ?? "0.0.0.0",
    port: o.port,
    logger,
    policy,
    handlers,
    acseTimeoutMs,
    dimseTimeoutMs: o.timeouts?.dimseMs ?? 60_000,
    socketTimeoutMs: o.timeouts?.idleMs ?? 60_000,
    transferFloor: o.transferFloor === null ? undefined : o.transferFloor ?? DEFAULT_FLOOR,
    limits: o.budget,
    onEvent: o.onEvent,
    report: o.report,
    listen,
  });
}

/** The abstract syntaxes the services accept, as negotiation looks them up. */
class ServiceSyntaxes extends Map<string, string[]> {
  readonly #services: readonly Service[];

  constructor(services: readonly Service[]) {
    super();
    this.#services = services;
  }

  override get(uid: string): string[] | undefined {
    for (const s of this.#services) {
      const ts = s.transferSyntaxes(uid);
      if (ts) return [...ts];
    }
    return undefined;
  }

  override has(uid: string): boolean {
    return this.get(uid) !== undefined;
  }
}

/**
 * The server's handler for a command the services answer: the data set (if
 * any) is fed to the service as it arrives; a transfer that stops early is
 * handed back to the server as the event that stopped it (the service's
 * iteration throws, and its answer is not sent).
 */
function serviceHandler(services: readonly Service[]): CommandHandler {
  return async (message, ctx): Promise<number | "abort" | "timeout" | RequestInterrupted> => {
    const controller = new AbortController();
    const data = hasDataset(message) ? new ChunkQueue() : undefined;
    let status = 0;
    const answered = dispatchRequest(services, {
      message,
      context: ctx.context,
      association: {
        name: `${ctx.rq.callingAeTitle}->${ctx.rq.calledAeTitle}(${ctx.peer})`,
        peer: hostPort(ctx.peer),
        callingAeTitle: ctx.rq.callingAeTitle,
        calledAeTitle: ctx.rq.calledAeTitle,
        rq: ctx.rq,
        ac: ctx.ac,
      },
      dataset: data,
      signal: controller.signal,
      send: async (rsp, dataset) => {
        if ("status" in rsp) status = (rsp as { status: number }).status;
        await ctx.channel.send(ctx.contextId, rsp, dataset);
      },
      logger: ctx.log,
    });
    answered.catch(() => {});
    if (data) {
      const stopped = await feed(ctx, data);
      if (stopped !== undefined) {
        controller.abort(stopped);
        data.fail(typeof stopped === "string" ? stopped : stopped.interrupted.kind);
        return stopped;
      }
    }
    if (ctx.detach) {
      // Within a window the server reads on and tells of a C-CANCEL-RQ or the end.
      const ended = ctx.detach();
      const stop = () =>
        controller.abort(ended.reason === CANCEL_REASON ? CANCELLED : ended.reason);
      if (ended.aborted) stop();
      else ended.addEventListener("abort", stop, { once: true });
      const ok = await answered;
      return ok ? status : "abort";
    }
    // While the service works, the association is watched: a C-CANCEL-RQ for this
    // request aborts its signal; an abort or a lost connection ends the request.
    const done = new AbortController();
    const settled = answered.then((ok) => ok, () => false).finally(() => done.abort());
    const messageId = "messageId" in message ? message.messageId : undefined;
    while (!done.signal.aborted) {
      const ev = await ctx.channel.receive(undefined, done.signal);
      if (ev.kind === "timeout") continue;
      if (
        ev.kind === "command" && ev.message.type === "C-CANCEL-RQ" &&
        ev.message.messageIdBeingRespondedTo === messageId
      ) {
        controller.abort(CANCELLED);
        continue;
      }
      // Anything else ends the request: the server handles it as if it had read it.
      controller.abort(ev.kind);
      return { interrupted: ev };
    }
    const ok = await settled;
    await answered.catch((err) => {
      throw err;
    });
    return ok ? status : "abort";
  };
}

/** Reads the request's data set into `data`; the event that stopped it early, if one did. */
async function feed(
  ctx: Parameters<CommandHandler>[1],
  data: ChunkQueue,
): Promise<"timeout" | RequestInterrupted | undefined> {
  for (;;) {
    const ev: ChannelEvent = await ctx.channel.receive(ctx.dimseTimeoutMs);
    if (ev.kind === "data") {
      await data.push(ev.chunk, ev.last);
      // The consumer has asked for the next chunk (or left): by the queue's contract it
      // holds this one no more, and its receive buffer may be read into again.
      ev.release?.();
      if (ev.last) return undefined;
      continue;
    }
    if (ev.kind === "timeout") {
      ctx.log.error(
        ev.slow
          ? `${ctx.peer}: data set arriving too slowly`
          : `DIMSE timeout: data set incomplete after ${ctx.dimseTimeoutMs! / 1000} s`,
      );
      return "timeout";
    }
    return { interrupted: ev };
  }
}

function hostPort(peer: string): { host: string; port: number } {
  const i = peer.lastIndexOf(":");
  return { host: peer.slice(0, i), port: Number(peer.slice(i + 1)) };
}
