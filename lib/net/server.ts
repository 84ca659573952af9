/**
 * A DICOM application entity as acceptor: listens, negotiates each
 * association (PS3.8 7.1), and serves DIMSE requests through per-command
 * handlers (PS3.7 9.1). Associations are served concurrently; one peer's
 * bad bytes end that peer's association only.
 *
 * @module
 */
import { maxPdvDataLength } from "../dimse/fragment.ts";
import type { DimseMessage } from "../dimse/messages.ts";
import type { Logger } from "../log/logger.ts";
import { formatAssociateDump } from "../pdu/dump.ts";
import type { AssociateAcPdu, AssociateRjPdu, AssociateRqPdu } from "../pdu/types.ts";
import { listenTcp } from "../transport/tcp.ts";
import type { TlsFailureKind } from "../transport/tls_errors.ts";
import type { Endpoint, Transport, TransportListener } from "../transport/transport.ts";
import {
  acceptAssociation,
  type Association,
  type UlLogger,
  UlUsageError,
} from "../ul/association.ts";
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from "../version.ts";
import { describeReject } from "./diagnose.ts";
import { type ChannelEvent, DEFAULT_CHUNK, DimseChannel } from "./dimse_channel.ts";
import {
  type AcceptedContext,
  acceptedContexts,
  type AcceptorPolicy,
  answerAssociateRq,
  REJECT,
} from "./negotiation.ts";
import { pduLogger } from "./pdu_log.ts";

/** Structured server events: what `--json` prints, one object per line. */
export type ServerEvent =
  | { event: "listening"; host: string; port: number }
  | { event: "association-received"; peer: string; callingAeTitle: string; calledAeTitle: string }
  | { event: "association-accepted"; peer: string; contexts: AcceptedContext[] }
  | { event: "association-rejected"; peer: string; reason: string }
  | { event: "request"; peer: string; command: string; messageId: number; status: number }
  | { event: "association-released"; peer: string }
  | { event: "association-aborted"; peer: string; reason: string }
  | { event: "connection-error"; peer: string; reason: string; tlsFailure?: TlsFailureKind }
  | { event: "tls-established"; peer: string; tls: TlsConnectionInfo }
  | { event: "stopped" };

/** A TLS connection's details as --json records carry them (null: the peer sent no certificate). */
export interface TlsConnectionInfo {
  /** Negotiated protocol version, e.g. "TLSv1.3". */
  protocol: string;
  /** Negotiated cipher suite. */
  cipher: string;
  /** The peer certificate's subject. */
  peerSubject: string | null;
  /** The peer certificate's issuer. */
  peerIssuer: string | null;
  /** Whether the peer's certificate was verified against the trust list. */
  peerVerified: boolean;
}

/** What a command handler gets to answer one request. */
export interface RequestContext {
  /** Where the response goes. */
  channel: DimseChannel;
  /** Presentation context ID of the request: the response uses the same. */
  contextId: number;
  /** The accepted context the request arrived on. */
  context: AcceptedContext;
  /** The peer's address, host:port. */
  peer: string;
  /** The peer's A-ASSOCIATE-RQ (AE titles, user information). */
  rq: AssociateRqPdu;
  /** The server's logger. */
  log: Logger;
  /** -td: how long to wait for each message or data fragment; undefined = for ever. */
  dimseTimeoutMs?: number;
}

/**
 * What ended a request before it could be answered (a peer's A-ABORT, a lost
 * connection, a timeout, a protocol error while a data set was arriving):
 * the server ends the association as if it had received the event itself.
 */
export interface RequestInterrupted {
  /** The association-level event the handler received instead of its data. */
  interrupted: ChannelEvent;
}

/**
 * Answers one request; returns the response status for events, "abort" to
 * end the association with an A-ABORT, or the event that interrupted it.
 */
export type CommandHandler = (
  message: DimseMessage,
  ctx: RequestContext,
) => Promise<number | "abort" | RequestInterrupted>;

/**
 * Whose log lines the server writes: pynetdicom's (echoscp) or DCMTK's
 * storescp (`Association Acknowledged (Max Send PDV: n)`, `Association
 * Release`), which users of that tool's logs expect.
 */
export type ServerLogStyle = "pynetdicom" | "dcmtk";

/** How the server is set up. */
export interface ServerOptions {
  /** Address to listen on (0.0.0.0, 127.0.0.1, ::1...). */
  hostname: string;
  /** Port to listen on; 0 = any free port (see `local`). */
  port: number;
  /** Where DCMTK/pynetdicom-style log lines go. */
  logger: Logger;
  /** How associations are answered. */
  policy: AcceptorPolicy;
  /** Handlers by command type (e.g. "C-ECHO-RQ"); any other command aborts the association. */
  handlers: Partial<Record<DimseMessage["type"], CommandHandler>>;
  /** -ta: ARTIM timeout for association setup and release. */
  acseTimeoutMs: number;
  /** -td: how long to wait for the next request; 0/undefined = for ever. */
  dimseTimeoutMs?: number;
  /** -ts: socket inactivity timeout; 0 = none. */
  socketTimeoutMs?: number;
  /** Concurrent associations; beyond it requests get a transient rejection. 0 = unlimited. */
  maxAssociations?: number;
  /** Receives every structured event (what --json prints). */
  onEvent?: (e: ServerEvent) => void;
  /** Opens the listener; plain TCP unless given (TLS plugs in here). */
  listen?: (hostname: string, port: number) => TransportListener;
  /** How association events are worded in the log (default "pynetdicom"). */
  logStyle?: ServerLogStyle;
  /** DCMTK's +v: the A-ASSOCIATE-RQ/AC dumps at info rather than debug level. */
  showPresentationContexts?: boolean;
  /**
   * Screens each A-ASSOCIATE-RQ before negotiation (DCMTK's --refuse and
   * --reject): a returned line is logged and the association rejected,
   * permanent, by the service user, no reason given (PS3.8 Table 9-21).
   */
  refuse?: (rq: AssociateRqPdu) => string | undefined;
}

/** The association lines that differ between the two log styles. */
const WORDING: Record<ServerLogStyle, { released: string; peerAborted: string }> = {
  pynetdicom: { released: "Association Released", peerAborted: "Association Aborted (by peer)" },
  dcmtk: { released: "Association Release", peerAborted: "Association Aborted" },
};

/** A running server. */
export class DicomServer {
  readonly #o: ServerOptions;
  readonly #listener: TransportListener;
  readonly #active = new Map<Transport, Association | undefined>();
  readonly #tasks = new Set<Promise<void>>();
  #stopping = false;
  /** Resolves once the accept loop has ended and every association is finished. */
  readonly done: Promise<void>;

  private constructor(o: ServerOptions, listener: TransportListener) {
    this.#o = o;
    this.#listener = listener;
    this.done = this.#acceptLoop();
  }

  /** Starts listening; throws if the port cannot be bound. */
  static start(o: ServerOptions): DicomServer {
    const listener = (o.listen ?? ((hostname, port) => listenTcp({ hostname, port })))(
      o.hostname,
      o.port,
    );
    const server = new DicomServer(o, listener);
    o.onEvent?.({ event: "listening", host: listener.local.host, port: listener.local.port });
    return server;
  }

  /** Where the server listens (the real port when 0 was asked for). */
  get local(): Endpoint {
    return this.#listener.local;
  }

  /** Associations being served now. */
  get activeAssociations(): number {
    return this.#active.size;
  }

  /** Stops accepting, aborts associations still open, and waits for them to end. */
  async stop(): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      this.#listener.close();
      // All at once: each abort waits in Sta13 for its peer to close (at most ARTIM).
      await Promise.all(
        [...this.#active].map(([transport, assoc]) =>
          assoc ? assoc.abort().catch(() => transport.close()) : transport.close()
        ),
      );
    }
    await this.done;
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      const transport = await this.#listener.accept();
      if (transport === null) break;
      const task = this.#serve(transport).finally(() => {
        this.#active.delete(transport);
        this.#tasks.delete(task);
      });
      this.#tasks.add(task);
    }
    await Promise.all(this.#tasks);
    this.#o.onEvent?.({ event: "stopped" });
  }

  async #serve(transport: Transport): Promise<void> {
    const o = this.#o;
    const log = o.logger;
    const peer = `${transport.remote.host}:${transport.remote.port}`;
    this.#active.set(transport, undefined);
    const screen: { refused?: string } = {};
    try {
      const outcome = await acceptAssociation(
        transport,
        {
          logger: quietUpperLayer(log, peer),
          artimTimeoutMs: o.acseTimeoutMs,
          idleTimeoutMs: o.socketTimeoutMs,
          limits: { maxPDataLength: o.policy.maxPdu },
          onPdu: pduLogger(log),
        },
        (rq) => this.#decide(rq, peer, screen),
      );
      if (outcome.kind === "rejected") {
        const reason = describeReject(outcome.rj).join(", ");
        log.info(screen.refused ?? `Association Rejected: ${reason}`);
        o.onEvent?.({ event: "association-rejected", peer, reason });
        return;
      }
      if (outcome.kind === "aborted") {
        if (outcome.rq) {
          log.info(`Association Aborted: ${outcome.reason}`);
          o.onEvent?.({ event: "association-aborted", peer, reason: outcome.reason });
        } else {
          log.error(`Association Request Failed (${peer}): ${outcome.reason}`);
          o.onEvent?.({ event: "connection-error", peer, reason: outcome.reason });
        }
        return;
      }
      this.#active.set(transport, outcome.association);
      if (this.#stopping) {
        await outcome.association.abort();
        return;
      }
      await this.#serveAssociation(outcome.association, outcome.rq, outcome.ac, peer);
      // An abort leaves the UL in Sta13 until the peer closes or ARTIM expires: the
      // association is finished (and our A-ABORT written) only then, so `done` waits.
      await outcome.association.closed;
    } catch (err) {
      // A handler bug must not take the server down: end this association only.
      log.error(`Association with ${peer} failed: ${err instanceof Error ? err.message : err}`);
      o.onEvent?.({ event: "association-aborted", peer, reason: String(err) });
      const assoc = this.#active.get(transport);
      if (assoc) await assoc.abort().catch(() => transport.close());
      else transport.close();
    }
  }

  #decide(
    rq: AssociateRqPdu,
    peer: string,
    screen: { refused?: string },
  ): AssociateAcPdu | AssociateRjPdu {
    const o = this.#o;
    const log = o.logger;
    log.info("Association Received");
    o.onEvent?.({
      event: "association-received",
      peer,
      callingAeTitle: rq.callingAeTitle,
      calledAeTitle: rq.calledAeTitle,
    });
    const dcmtk = o.logStyle === "dcmtk";
    const dumpLevel = dcmtk && o.showPresentationContexts ? "info" : "debug";
    if (log.isEnabled(dumpLevel)) {
      log[dumpLevel](`${dcmtk ? "" : "Request "}Parameters:\n${this.#dump("A-ASSOCIATE-RQ", rq)}`);
    }
    screen.refused = unusableMaxLength(rq) ?? o.refuse?.(rq);
    if (screen.refused !== undefined) return { type: "A-ASSOCIATE-RJ", ...REJECT.noReason };
    const max = o.maxAssociations ?? 0;
    // The association being negotiated is already counted in #active.
    if (max > 0 && this.#active.size > max) {
      return { type: "A-ASSOCIATE-RJ", result: 2, source: 3, reason: 2 };
    }
    const answer = answerAssociateRq(rq, o.policy);
    // DCMTK dumps the AC after its "Association Acknowledged" line (#serveAssociation).
    if (answer.type === "A-ASSOCIATE-AC" && !dcmtk && log.isEnabled("debug")) {
      log.debug(`Accept Parameters:\n${this.#dump("A-ASSOCIATE-AC", rq, answer)}`);
    }
    return answer.type === "A-ASSOCIATE-RJ" && this.#stopping
      ? { type: "A-ASSOCIATE-RJ", ...REJECT.noReason }
      : answer;
  }

  /** The DCMTK-style parameter block of the association being negotiated. */
  #dump(kind: "A-ASSOCIATE-RQ" | "A-ASSOCIATE-AC", rq: AssociateRqPdu, ac?: AssociateAcPdu) {
    return formatAssociateDump(kind, {
      rq,
      ac,
      we: "acceptor",
      ourImplementationClassUid: IMPLEMENTATION_CLASS_UID,
      ourImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
      ourMaxPdu: this.#o.policy.maxPdu,
    });
  }

  async #serveAssociation(
    assoc: Association,
    rq: AssociateRqPdu,
    ac: AssociateAcPdu,
    peer: string,
  ): Promise<void> {
    const o = this.#o;
    const log = o.logger;
    const contexts = new Map(acceptedContexts(rq, ac).map((c) => [c.id, c]));
    const channel = new DimseChannel(assoc);
    const style = o.logStyle ?? "pynetdicom";
    if (style === "dcmtk") {
      log.info(`Association Acknowledged (Max Send PDV: ${channel.maxSendPdv})`);
      if (contexts.size === 0) log.info("    (but no valid presentation contexts)");
      const level = o.showPresentationContexts ? "info" : "debug";
      if (log.isEnabled(level)) log[level](this.#dump("A-ASSOCIATE-AC", rq, ac));
    } else {
      log.info("Association Accepted");
    }
    o.onEvent?.({ event: "association-accepted", peer, contexts: [...contexts.values()] });
    const end = async (reason: string, level: "info" | "error") => {
      log[level](reason);
      log.info("Aborting Association");
      await assoc.abort();
      o.onEvent?.({ event: "association-aborted", peer, reason });
    };
    // An event a handler received in place of its data, handled here as if read here.
    let interrupted: ChannelEvent | undefined;
    for (;;) {
      const ev: ChannelEvent = interrupted ?? await channel.receive(o.dimseTimeoutMs);
      interrupted = undefined;
      switch (ev.kind) {
        case "command": {
          const context = contexts.get(ev.contextId);
          const handler = o.handlers[ev.message.type];
          if (!context) {
            return await end(
              `Received ${ev.message.type} on presentation context ${ev.contextId}, ` +
                "which was not accepted",
              "error",
            );
          }
          if (!handler) return await end(`Cannot handle ${ev.message.type}`, "info");
          const status = await handler(ev.message, {
            channel,
            contextId: ev.contextId,
            context,
            peer,
            rq,
            log,
            dimseTimeoutMs: o.dimseTimeoutMs,
          }).catch((err) => endedUnderHandler(err, assoc, channel));
          if (status === "abort") {
            log.info("Aborting Association");
            await assoc.abort();
            o.onEvent?.({ event: "association-aborted", peer, reason: "handler aborted" });
            return;
          }
          if (typeof status === "object") {
            interrupted = status.interrupted;
            break;
          }
          o.onEvent?.({
            event: "request",
            peer,
            command: ev.message.type,
            messageId: "messageId" in ev.message
              ? ev.message.messageId
              : ev.message.messageIdBeingRespondedTo,
            status,
          });
          break;
        }
        case "release-requested":
          await assoc.respondRelease();
          log.info(WORDING[style].released);
          o.onEvent?.({ event: "association-released", peer });
          return;
        case "aborted":
          // A protocol error, a timeout or a lost connection is an error; the peer's
          // A-ABORT and our own (server stopping) are not.
          if (ev.source === "peer") log.info(WORDING[style].peerAborted);
          else if (ev.source === "local") log.info(`Association Aborted (${ev.reason})`);
          else log.error(`Association Aborted (${peer}): ${ev.reason}`);
          o.onEvent?.({ event: "association-aborted", peer, reason: ev.reason });
          return;
        case "timeout":
          return await end(
            `DIMSE timeout: no request within ${o.dimseTimeoutMs! / 1000} s`,
            "error",
          );
        case "protocol-error":
          return await end(`Protocol error: ${ev.reason}`, "error");
        case "data":
        case "released":
          return await end(`Unexpected ${ev.kind} from the peer`, "error");
      }
    }
  }
}

/**
 * A handler's error when the peer ended the association while it worked (an
 * A-ABORT, or a closed connection, read before its response went out: the
 * UL then refuses the send): the event that ended it, as if the handler had
 * received it, so that it is logged as the abort it is (SECURITY_CLASSES #8).
 * Any other error is the handler's own and goes on.
 */
async function endedUnderHandler(
  err: unknown,
  assoc: Association,
  channel: DimseChannel,
): Promise<RequestInterrupted> {
  // Sta1: the peer aborted or closed; Sta13: the UL aborted on a bad PDU (AA-8).
  if (!(err instanceof UlUsageError) || (assoc.state !== "Sta1" && assoc.state !== "Sta13")) {
    throw err;
  }
  // Indications still queued come first; an ended association then repeats its last one.
  for (;;) {
    const ev = await channel.receive();
    if (ev.kind === "aborted") return { interrupted: ev };
  }
}

/**
 * The logger handed to the upper layer of each server connection. The UL
 * logs protocol errors, peer aborts and timeouts itself (warn/error), and
 * the server reports the same outcome again, with the peer's address, when
 * the association ends: one incident, one line (SECURITY_CLASSES #11). The
 * UL's own lines stay visible at debug level (-d), prefixed with the peer.
 */
function quietUpperLayer(log: Logger, peer: string): UlLogger {
  return {
    trace: (m) => log.trace(m),
    debug: (m) => log.debug(m),
    info: (m) => log.info(m),
    warn: (m) => log.debug(`${peer}: ${m}`),
    error: (m) => log.debug(`${peer}: ${m}`),
    isEnabled: (level) => log.isEnabled(level === "warn" || level === "error" ? "debug" : level),
  };
}

/**
 * Why an association cannot be served when the requestor's Maximum Length
 * Received (PS3.8 D.1) is too small for any PDV (1..7: a PDV item takes 6
 * bytes of header and an even, non-empty value, PS3.8 9.3.5.1): the line
 * the rejection is logged with (SECURITY_CLASSES #10). Undefined when usable.
 */
function unusableMaxLength(rq: AssociateRqPdu): string | undefined {
  try {
    maxPdvDataLength(rq.userInformation.maxLength ?? 0, DEFAULT_CHUNK);
    return undefined;
  } catch (err) {
    return `Association Rejected: ${err instanceof Error ? err.message : err}`;
  }
}
