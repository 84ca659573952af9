/**
 * A DICOM application entity as acceptor: listens, negotiates each
 * association (PS3.8 7.1), and serves DIMSE requests through per-command
 * handlers (PS3.7 9.1). Associations are served concurrently; one peer's
 * bad bytes end that peer's association only. Every connection holds a
 * place in the server's connection budget (budget.ts: caps within the
 * descriptors the process may open) and has a deadline in every state:
 * the listener's TLS handshake and ARTIM before the association, then the
 * wait for each request, socket inactivity and the transfer floor.
 *
 * @module
 */
import { maxPdvDataLength } from "../dimse/fragment.ts";
import type { DimseMessage } from "../dimse/messages.ts";
import type { Logger } from "../log/logger.ts";
import type { AssociateAcPdu, AssociateRjPdu, AssociateRqPdu, Pdu } from "../pdu/types.ts";
import { listenTcp } from "../transport/tcp.ts";
import { describeReject } from "../ul/reasons.ts";
import type { TlsFailureKind } from "../transport/tls_errors.ts";
import type {
  ConnectionGate,
  ConnectionPlace,
  Endpoint,
  Transport,
  TransportListener,
} from "../transport/transport.ts";
import {
  type AbortSource,
  acceptAssociation,
  CLOSED_BEFORE_RQ,
  type UlAssociation,
  UlUsageError,
} from "../ul/association.ts";
import {
  type AssociationHooks,
  ConnectionBudget,
  type ConnectionLimits,
  type DescriptorLimit,
  descriptorsNeeded,
  FIRST_PROBE_DESCRIPTORS,
  type OverloadEnd,
  type OverloadStart,
  PROBE_DESCRIPTORS,
  readDescriptorLimit,
  resolveLimits,
} from "./budget.ts";
import {
  type ChannelEvent,
  DEFAULT_CHUNK,
  DimseChannel,
  type SlowTransfer,
  type TransferFloor,
} from "./channel.ts";
import {
  type AcceptedContext,
  acceptedContexts,
  type AcceptorPolicy,
  answerAssociateRq,
  negotiatedAsyncWindow,
  REJECT,
} from "./negotiation.ts";

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
  | ({ event: "association-ended"; peer: string; callingAeTitle: string } & AssociationSummary)
  | ({ event: "overload" } & OverloadStart)
  | ({ event: "overload-ended" } & OverloadEnd)
  | ({ event: "stopped" } & ServerTotals);

/**
 * What happens to a connection, as the server reports it to whoever words
 * it (`ServerOptions.report`): a tool's engine says it in its tool's
 * words, a program's logger gets neutral lines ({@link neutralReporter}).
 * Every incident is reported once.
 */
export type ServerIncident =
  /** An A-ASSOCIATE-RQ arrived. */
  | { kind: "received"; peer: string; rq: AssociateRqPdu; ourMaxPdu: number }
  /** The A-ASSOCIATE-AC about to go out. */
  | { kind: "answering"; peer: string; rq: AssociateRqPdu; ac: AssociateAcPdu; ourMaxPdu: number }
  /**
   * The association was rejected: `refused` is the screen's own line
   * (`ServerOptions.refuse`), `unusable` why the requestor's maximum PDU
   * length leaves no room for data.
   */
  | { kind: "rejected"; peer: string; rj: AssociateRjPdu; refused?: string; unusable?: string }
  /** The negotiation ended with an abort (the peer's, or a protocol error). */
  | { kind: "aborted-while-negotiating"; peer: string; source: AbortSource; reason: string }
  /** Connected and closed without a byte: a health check or a port scan. */
  | { kind: "closed-silently"; peer: string }
  /** The connection failed before any association (bad bytes, timeout). */
  | { kind: "request-failed"; peer: string; reason: string }
  /** Accepted; `maxSendPdv`: our PDV size for the peer. */
  | {
    kind: "accepted";
    peer: string;
    rq: AssociateRqPdu;
    ac: AssociateAcPdu;
    ourMaxPdu: number;
    maxSendPdv: number;
    contexts: AcceptedContext[];
  }
  /** The server ends the association with an A-ABORT, for `cause`; `error`: the peer's fault. */
  | { kind: "ending"; peer: string; cause: EndingCause; reason: string; error: boolean }
  /** A handler asked for the association to be aborted. */
  | { kind: "aborting"; peer: string }
  /** Released at the peer's request. */
  | { kind: "released"; peer: string }
  /** Aborted: by the peer, by us (stopping, making room), or the provider (a fault). */
  | { kind: "aborted"; peer: string; source: AbortSource; reason: string };

/** Why the server ends an association. */
export type EndingCause =
  | { kind: "context-not-accepted"; command: string; contextId: number }
  | { kind: "cannot-handle"; command: string }
  | { kind: "slow"; text: string }
  | { kind: "timeout"; seconds: number }
  | { kind: "protocol-error"; reason: string }
  | { kind: "unexpected"; event: string };

/**
 * Neutral lines for a program's logger: each with the peer, no tool's
 * wording; protocol faults at error level, the rest at info or debug.
 */
export function neutralReporter(log: Logger): (i: ServerIncident) => void {
  return (i) => {
    const at = i.peer;
    switch (i.kind) {
      case "received":
        log.debug(
          `${at}: association requested by ${i.rq.callingAeTitle} for ${i.rq.calledAeTitle}`,
        );
        return;
      case "answering":
        return;
      case "rejected":
        log.info(
          `${at}: association rejected (result ${i.rj.result}, source ${i.rj.source}, reason ` +
            `${i.rj.reason})${i.refused ? `: ${i.refused}` : i.unusable ? `: ${i.unusable}` : ""}`,
        );
        return;
      case "aborted-while-negotiating":
        log[i.source === "peer" ? "info" : "error"](
          `${at}: aborted while negotiating: ${i.reason}`,
        );
        return;
      case "closed-silently":
        log.debug(`${at}: closed without a PDU`);
        return;
      case "request-failed":
        log.error(`${at}: connection failed: ${i.reason}`);
        return;
      case "accepted":
        log.info(
          `${i.rq.callingAeTitle}->${i.rq.calledAeTitle}(${at}): accepted, ${i.contexts.length} ` +
            "presentation contexts",
        );
        return;
      case "ending":
        log[i.error ? "error" : "info"](`${at}: aborting: ${i.reason}`);
        return;
      case "aborting":
        log.info(`${at}: aborting at the handler's request`);
        return;
      case "released":
        log.info(`${at}: released`);
        return;
      case "aborted":
        log[i.source === "provider" ? "error" : "info"](
          `${at}: aborted (${i.source}): ${i.reason}`,
        );
        return;
    }
  };
}

/** What one association brought, when it ended. */
export interface AssociationSummary extends AssociationTally {
  /** How it ended: released, or aborted (by either side, or a deadline). */
  outcome: "released" | "aborted";
  /** From the A-ASSOCIATE-RQ to the end, milliseconds. */
  ms: number;
}

/** What the requests of one association brought; handlers add what they stored. */
export interface AssociationTally {
  /** DIMSE requests answered. */
  requests: number;
  /** Requests answered with a failure status (neither success nor warning). */
  failed: number;
  /** Data sets stored. */
  stored: number;
  /** Data set bytes received. */
  bytes: number;
}

/** What a server did since it started (the `stopped` event, the line at shutdown). */
export interface ServerTotals {
  /** Associations accepted. */
  associations: number;
  /** Association requests rejected. */
  rejected: number;
  /** Associations that ended with an abort (either side, or a timeout). */
  aborted: number;
  /** DIMSE requests answered. */
  requests: number;
  /** Requests answered with a failure status. */
  failed: number;
  /** Data sets stored. */
  stored: number;
  /** Data set bytes received. */
  bytes: number;
  /** Connections closed at once, or while waiting to associate, over the connection caps. */
  refused: number;
  /** Seconds since the server started. */
  seconds: number;
}

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
  /** Our A-ASSOCIATE-AC. */
  ac: AssociateAcPdu;
  /** The server's logger. */
  log: Logger;
  /** -td: how long to wait for each message or data fragment; undefined = for ever. */
  dimseTimeoutMs?: number;
  /** The association's tally: a handler that stores a data set adds it (`stored`, `bytes`). */
  tally: AssociationTally;
  /**
   * Present when the association's Asynchronous Operations Window lets the
   * peer have more than one request outstanding (PS3.7 D.3.3.3): a handler
   * calls it once it has read all it needs from the channel (its data set,
   * whole); the server then reads the next requests while this one is being
   * answered, up to the window. From then on the handler only sends (its
   * response); the signal returned aborts when the association ends
   * ("ended") or the peer cancels the request ({@link CANCEL_REASON}).
   */
  detach?: () => AbortSignal;
}

/** The reason a detached request's signal aborts with when the peer sent a C-CANCEL-RQ for it. */
export const CANCEL_REASON = "C-CANCEL-RQ";

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
 * end the association with an A-ABORT, "timeout" to do so because the peer
 * let a deadline pass (logged by the handler; the connection is then closed
 * without waiting for the peer), or the event that interrupted it.
 */
export type CommandHandler = (
  message: DimseMessage,
  ctx: RequestContext,
) => Promise<number | "abort" | "timeout" | RequestInterrupted>;

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
  /** -ta: ARTIM timeout for association setup and release (and a TLS listener's handshakes). */
  acseTimeoutMs: number;
  /**
   * -td: how long to wait for the next request, and for each fragment of a
   * data set, however many bytes short of it arrive; 0/undefined = for ever.
   */
  dimseTimeoutMs?: number;
  /** -ts: socket inactivity timeout; 0 = none. */
  socketTimeoutMs?: number;
  /**
   * The slowest a message may arrive (see {@link TransferFloor}), so that a
   * slow drip cannot hold an association; none when absent.
   */
  transferFloor?: TransferFloor;
  /**
   * Caps on connections not yet associated, associations and connections
   * per peer address; each one not given is derived from the descriptor
   * limit (see `resolveLimits` in budget.ts), and one given that does not
   * fit it is lowered (with a warning).
   */
  limits?: Partial<ConnectionLimits>;
  /** Descriptors one association holds: 1 (its socket), 2 for a storage SCP writing a file. */
  descriptorsPerAssociation?: number;
  /** Descriptors the process may still open; found out when absent (`readDescriptorLimit`). */
  freeDescriptors?: number;
  /** Receives every structured event (what --json prints). */
  onEvent?: (e: ServerEvent) => void;
  /**
   * Opens the listener; plain TCP unless given (TLS plugs in here). `gate`
   * is the server's connection budget, for a listener that works on a
   * connection before handing it over (a TLS handshake).
   */
  listen?: (
    hostname: string,
    port: number,
    gate: ConnectionGate,
  ) => TransportListener | Promise<TransportListener>;
  /**
   * Says each incident of a connection (see {@link ServerIncident}): a
   * tool's engine in its tool's words; {@link neutralReporter} of `logger`
   * when absent.
   */
  report?: (incident: ServerIncident) => void;
  /** Every PDU sent and received, with its bytes (a tool's -d dumps); a received P-DATA-TF's memory
   * may be reused once its data events are released: copy what you keep. */
  onPdu?: (dir: "sent" | "received", pdu: Pdu, raw: Uint8Array) => void;
  /**
   * Screens each A-ASSOCIATE-RQ before negotiation: a returned text is
   * reported (`rejected.refused`) and the association rejected, permanent,
   * by the service user, no reason given (PS3.8 Table 9-21).
   */
  refuse?: (rq: AssociateRqPdu) => string | undefined;
}

/** A running server. */
export class DicomServer implements AsyncDisposable {
  readonly #o: ServerOptions;
  readonly #report: (incident: ServerIncident) => void;
  readonly #listener: TransportListener;
  readonly #budget: ConnectionBudget;
  readonly #active = new Map<Transport, UlAssociation | undefined>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #started = performance.now();
  readonly #totals = {
    associations: 0,
    rejected: 0,
    aborted: 0,
    requests: 0,
    failed: 0,
    stored: 0,
    bytes: 0,
  };
  #stopping = false;
  /** Resolves once the accept loop has ended and every association is finished. */
  readonly done: Promise<void>;

  private constructor(o: ServerOptions, listener: TransportListener, budget: ConnectionBudget) {
    this.#o = o;
    this.#report = o.report ?? neutralReporter(o.logger);
    this.#listener = listener;
    this.#budget = budget;
    this.done = this.#acceptLoop();
    o.onEvent?.({ event: "listening", host: listener.local.host, port: listener.local.port });
  }

  /**
   * Starts listening; throws if the port cannot be bound. `o.listen`, when
   * given, must return its listener at once (see {@link DicomServer.open}).
   */
  static start(o: ServerOptions): DicomServer {
    const budget = DicomServer.#budgetFor(o);
    const listener = (o.listen ?? listenPlainTcp)(o.hostname, o.port, budget);
    if (listener instanceof Promise) {
      budget.close();
      throw new TypeError(
        "DicomServer.start: use DicomServer.open for a listener that binds later",
      );
    }
    return new DicomServer(o, listener, budget);
  }

  /** Starts listening with a listener that may bind asynchronously (TLS); rejects if it cannot. */
  static async open(o: ServerOptions): Promise<DicomServer> {
    const budget = DicomServer.#budgetFor(o);
    try {
      return new DicomServer(
        o,
        await (o.listen ?? listenPlainTcp)(o.hostname, o.port, budget),
        budget,
      );
    } catch (err) {
      budget.close();
      throw err;
    }
  }

  /** The connection budget of `o`, its caps resolved against the descriptor limit. */
  static #budgetFor(o: ServerOptions): ConnectionBudget {
    const log = o.logger;
    const perAssociation = o.descriptorsPerAssociation ?? 1;
    const need = descriptorsNeeded(o.limits ?? {}, perAssociation);
    const resolve = (found: DescriptorLimit | undefined): ConnectionLimits => {
      const free = o.freeDescriptors ?? found!.free;
      const { limits, lowered } = resolveLimits(free, perAssociation, o.limits);
      for (const line of lowered) {
        log.warn(`${line} (raise the open file limit: ulimit -n, or LimitNOFILE= for systemd)`);
      }
      log.debug(
        `Connection limits: ${limits.maxPending} waiting to associate, ${limits.maxAssociations} ` +
          `associations, ${limits.maxPerPeer} per peer address (${
            found?.atLeast ? "at least " : ""
          }` +
          `${free} files free${found ? `, from ${found.source}` : ""})`,
      );
      return limits;
    };
    const found = o.freeDescriptors === undefined
      ? readDescriptorLimit(need, FIRST_PROBE_DESCRIPTORS)
      : undefined;
    // A probe that stopped at its first bound counts on once a cap is met.
    const partial = found?.source === "probe" && found.atLeast && found.free < PROBE_DESCRIPTORS;
    const budget: ConnectionBudget = new ConnectionBudget(resolve(found), {
      onOverload: (e) => {
        log.warn(overloadLine(e, budget));
        o.onEvent?.({ event: "overload", ...e });
      },
      onOverloadEnd: (e) => {
        log.warn(overloadEndLine(e));
        o.onEvent?.({ event: "overload-ended", ...e });
      },
      // The fuller count runs while connections hold descriptors: what they hold is free to
      // the caps too, or a crowd that meets a cap would shrink the caps it met.
      widen: partial
        ? () => {
          const found = readDescriptorLimit(need);
          const held = budget.pending + budget.associations * perAssociation;
          return resolve({ ...found, free: found.free + held });
        }
        : undefined,
    });
    return budget;
  }

  /** Where the server listens (the real port when 0 was asked for). */
  get local(): Endpoint {
    return this.#listener.local;
  }

  /** The caps the server enforces. */
  get limits(): ConnectionLimits {
    return this.#budget.limits;
  }

  /** Associations being served now. */
  get activeAssociations(): number {
    return this.#budget.associations;
  }

  /** Connections accepted and not yet associated (TLS handshakes included). */
  get pendingConnections(): number {
    return this.#budget.pending;
  }

  /** What the server did since it started. */
  get totals(): ServerTotals {
    return {
      ...this.#totals,
      refused: this.#budget.refused,
      seconds: Math.round((performance.now() - this.#started) / 100) / 10,
    };
  }

  /** Stops the server (`await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** Stops accepting, aborts associations still open, and waits for them to end. */
  async stop(): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      this.#listener.close();
      // All at once, and without waiting for peers to close after our A-ABORT.
      await Promise.all(
        [...this.#active].map(([transport, assoc]) =>
          assoc ? assoc.abort({ closeNow: true }).catch(() => transport.close()) : transport.close()
        ),
      );
    }
    await this.done;
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      const transport = await this.#listener.accept();
      if (transport === null) break;
      // A gated listener (TLS) admitted it before its handshake and releases its place
      // when its socket closes; a plain TCP connection is admitted here.
      const own = transport.place === undefined;
      const place = transport.place ??
        this.#budget.admit(transport.remote, () => transport.close());
      if (!place) {
        transport.close();
        continue;
      }
      const task = this.#serve(transport, place).finally(() => {
        this.#active.delete(transport);
        this.#tasks.delete(task);
        if (own) {
          transport.close();
          place.release();
        }
      });
      this.#tasks.add(task);
    }
    await Promise.all(this.#tasks);
    this.#budget.close();
    this.#o.onEvent?.({ event: "stopped", ...this.totals });
  }

  async #serve(transport: Transport, place: ConnectionPlace): Promise<void> {
    const o = this.#o;
    const log = o.logger;
    const peer = `${transport.remote.host}:${transport.remote.port}`;
    this.#active.set(transport, undefined);
    const screen: { refused?: string } = {};
    const tally: AssociationTally = { requests: 0, failed: 0, stored: 0, bytes: 0 };
    // What the budget needs to end this association to make room for another: when the
    // peer last sent anything (never "quiet" while it waits for our answer), and how.
    const live: LiveAssociation = { handling: false };
    const hooks: AssociationHooks = {
      lastActivity: () => {
        const { association, channel, handling } = live;
        if (!association || (handling && !channel?.arriving)) return performance.now();
        return association.lastActivity;
      },
      evict: () => {
        if (!live.association) return transport.close();
        live.association.abort({ closeNow: true, reason: EVICTED }).catch(() => transport.close());
      },
    };
    let began = 0;
    let ended: AssociationSummary["outcome"] = "aborted";
    try {
      const outcome = await acceptAssociation(
        transport,
        {
          logger: log,
          artimTimeoutMs: o.acseTimeoutMs,
          idleTimeoutMs: o.socketTimeoutMs,
          limits: { maxPDataLength: o.policy.maxPdu },
          onPdu: o.onPdu,
        },
        (rq) => {
          began = performance.now();
          return this.#decide(rq, peer, place, transport.remote, hooks, screen);
        },
      );
      if (outcome.kind === "rejected") {
        this.#report({ kind: "rejected", peer, rj: outcome.rj, ...screen });
        const reason = rejectText(outcome.rj);
        o.onEvent?.({ event: "association-rejected", peer, reason });
        this.#totals.rejected++;
        return;
      }
      if (outcome.kind === "aborted") {
        if (outcome.rq) {
          // The peer's own A-ABORT is its choice; anything else (a PDU out of turn, such as
          // P-DATA sent with the A-ASSOCIATE-RQ before our answer) is a protocol error.
          this.#report({
            kind: "aborted-while-negotiating",
            peer,
            source: outcome.source,
            reason: outcome.reason,
          });
          o.onEvent?.({ event: "association-aborted", peer, reason: outcome.reason });
          this.#totals.aborted++;
        } else if (outcome.received === 0 && outcome.reason === CLOSED_BEFORE_RQ) {
          // Connected and closed without a byte: a health check or port scan, not an error.
          this.#report({ kind: "closed-silently", peer });
        } else {
          this.#report({ kind: "request-failed", peer, reason: outcome.reason });
          o.onEvent?.({ event: "connection-error", peer, reason: outcome.reason });
        }
        return;
      }
      live.association = outcome.association;
      this.#active.set(transport, outcome.association);
      this.#totals.associations++;
      if (this.#stopping) {
        await outcome.association.abort({ closeNow: true });
        return;
      }
      ended = await this.#serveAssociation(
        outcome.association,
        outcome.rq,
        outcome.ac,
        peer,
        tally,
        live,
      );
      // An abort leaves the UL in Sta13 until the peer closes or ARTIM expires: the
      // association is finished (and our A-ABORT written) only then, so `done` waits.
      await outcome.association.closed;
      this.#summarize(peer, outcome.rq.callingAeTitle, tally, ended, began);
    } catch (err) {
      // A handler bug must not take the server down: end this association only.
      log.error(`Association with ${peer} failed: ${err instanceof Error ? err.message : err}`);
      o.onEvent?.({ event: "association-aborted", peer, reason: String(err) });
      const assoc = this.#active.get(transport);
      if (assoc) await assoc.abort({ closeNow: true }).catch(() => transport.close());
      else transport.close();
    }
  }

  /** The association's line and event when it ends; adds it to the totals. */
  #summarize(
    peer: string,
    callingAeTitle: string,
    tally: AssociationTally,
    outcome: AssociationSummary["outcome"],
    began: number,
  ): void {
    const t = this.#totals;
    t.requests += tally.requests;
    t.failed += tally.failed;
    t.stored += tally.stored;
    t.bytes += tally.bytes;
    if (outcome === "aborted") t.aborted++;
    const ms = Math.round(performance.now() - began);
    const log = this.#o.logger;
    if (log.isEnabled("info")) {
      log.info(
        `Association from ${callingAeTitle} at ${peer} ${outcome} after ` +
          `${(ms / 1000).toFixed(1)} s: ${tallyText(tally)}`,
      );
    }
    this.#o.onEvent?.({
      event: "association-ended",
      peer,
      callingAeTitle,
      ...tally,
      outcome,
      ms,
    });
  }

  #decide(
    rq: AssociateRqPdu,
    peer: string,
    place: ConnectionPlace,
    remote: Endpoint,
    hooks: AssociationHooks,
    screen: { refused?: string; unusable?: string },
  ): AssociateAcPdu | AssociateRjPdu {
    const o = this.#o;
    const ourMaxPdu = o.policy.maxPdu;
    this.#report({ kind: "received", peer, rq, ourMaxPdu });
    o.onEvent?.({
      event: "association-received",
      peer,
      callingAeTitle: rq.callingAeTitle,
      calledAeTitle: rq.calledAeTitle,
    });
    screen.unusable = unusableMaxLength(rq);
    if (screen.unusable === undefined) screen.refused = o.refuse?.(rq);
    if (screen.unusable !== undefined || screen.refused !== undefined) {
      return { type: "A-ASSOCIATE-RJ", ...REJECT.noReason };
    }
    const answer = answerAssociateRq(rq, o.policy);
    if (answer.type === "A-ASSOCIATE-RJ") {
      return this.#stopping ? { type: "A-ASSOCIATE-RJ", ...REJECT.noReason } : answer;
    }
    if (!this.#budget.associate(place, remote, hooks)) {
      // PS3.8 Table 9-21: rejected-transient, service-provider (presentation), local-limit-exceeded.
      return { type: "A-ASSOCIATE-RJ", result: 2, source: 3, reason: 2 };
    }
    this.#report({ kind: "answering", peer, rq, ac: answer, ourMaxPdu });
    return answer;
  }

  /** Serves the requests of one association; how it ended. */
  async #serveAssociation(
    assoc: UlAssociation,
    rq: AssociateRqPdu,
    ac: AssociateAcPdu,
    peer: string,
    tally: AssociationTally,
    live: LiveAssociation,
  ): Promise<"released" | "aborted"> {
    const o = this.#o;
    const log = o.logger;
    const contexts = new Map(acceptedContexts(rq, ac).map((c) => [c.id, c]));
    const channel = new DimseChannel(assoc, { floor: o.transferFloor });
    live.channel = channel;
    this.#report({
      kind: "accepted",
      peer,
      rq,
      ac,
      ourMaxPdu: o.policy.maxPdu,
      maxSendPdv: channel.maxSendPdv,
      contexts: [...contexts.values()],
    });
    o.onEvent?.({ event: "association-accepted", peer, contexts: [...contexts.values()] });
    /** Ends the association with an A-ABORT; `unresponsive`: the peer let a deadline pass. */
    const end = async (cause: EndingCause, error: boolean, unresponsive = false) => {
      const reason = endingText(cause, peer);
      this.#report({ kind: "ending", peer, cause, reason, error });
      await assoc.abort({ closeNow: unresponsive });
      o.onEvent?.({ event: "association-aborted", peer, reason });
      return "aborted" as const;
    };
    // The window the peer was granted (PS3.7 D.3.3.3): beyond one, handlers detach once
    // their request is read and are answered while the next requests are read.
    const granted = negotiatedAsyncWindow(rq, ac).maxOperationsInvoked;
    const window = granted === 0 ? Infinity : granted;
    const outstanding = new Map<number, { cancel: AbortController; done: Promise<void> }>();
    /** Detached requests answered (or failed), in the order they finished. */
    const finished: { message: DimseMessage; outcome: HandlerOutcome }[] = [];
    /** Aborted when a detached request finishes, to wake the wait for the next event. */
    let wake: AbortController | undefined;
    /** Aborts at a handler's request. */
    const abortForHandler = async (status: "abort" | "timeout") => {
      this.#report({ kind: "aborting", peer });
      await assoc.abort({ closeNow: status === "timeout" });
      o.onEvent?.({ event: "association-aborted", peer, reason: "handler aborted" });
      return "aborted" as const;
    };
    /**
     * What a handler's answer makes of the association: undefined, it goes on; the event
     * it received instead of its data; the abort it asked for (the only promise: an
     * answered request costs no turn here).
     */
    const settle = (
      message: DimseMessage,
      outcome: HandlerOutcome,
    ): ChannelEvent | Promise<"aborted"> | undefined => {
      if ("error" in outcome) throw outcome.error;
      const status = outcome.status;
      if (status === "ended") return undefined; // the association ended under it: read below
      if (status === "abort" || status === "timeout") return abortForHandler(status);
      if (typeof status === "object") return status.interrupted;
      tally.requests++;
      if (isFailure(status)) tally.failed++;
      o.onEvent?.({
        event: "request",
        peer,
        command: message.type,
        messageId: "messageId" in message ? message.messageId : message.messageIdBeingRespondedTo,
        status,
      });
      return undefined;
    };
    // An event a handler received in place of its data, handled here as if read here.
    let interrupted: ChannelEvent | undefined;
    /** A handler is reading its request (not yet answered nor detached). */
    let reading = false;
    try {
      for (;;) {
        while (finished.length > 0) {
          const f = finished.shift()!;
          const next = settle(f.message, f.outcome);
          if (next instanceof Promise) return await next;
          interrupted ??= next;
        }
        let ev: ChannelEvent;
        if (interrupted) ev = interrupted;
        else if (outstanding.size === 0) ev = await channel.receive(o.dimseTimeoutMs);
        else {
          // The peer waits for our answers: no deadline on its next request meanwhile.
          wake = new AbortController();
          ev = await channel.receive(undefined, wake.signal);
          wake = undefined;
          if (ev.kind === "timeout" && !ev.slow) continue;
        }
        interrupted = undefined;
        switch (ev.kind) {
          case "command": {
            const m = ev.message;
            if (m.type === "C-CANCEL-RQ" && outstanding.has(m.messageIdBeingRespondedTo)) {
              outstanding.get(m.messageIdBeingRespondedTo)!.cancel.abort(CANCEL_REASON);
              break;
            }
            const context = contexts.get(ev.contextId);
            const handler = o.handlers[m.type];
            if (!context) {
              return await end(
                { kind: "context-not-accepted", command: m.type, contextId: ev.contextId },
                true,
              );
            }
            if (!handler) {
              return await end({ kind: "cannot-handle", command: m.type }, false);
            }
            // At the window's limit (a peer that does not keep to it): a place first. The
            // association is read meanwhile only up to here, so a C-CANCEL-RQ or an abort
            // sent while within the window is seen above.
            while (outstanding.size >= window) {
              await Promise.race([...outstanding.values()].map((r) => r.done));
            }
            const messageId = "messageId" in m ? m.messageId : -1;
            if (outstanding.has(messageId)) {
              return await end(
                {
                  kind: "protocol-error",
                  reason: `${m.type} with message ID ${messageId}, which is still outstanding`,
                },
                true,
              );
            }
            live.handling = reading = true;
            // Only within a window can a handler detach; without one no promise waits for it.
            const cancel = window > 1 ? new AbortController() : undefined;
            let detached: (() => void) | undefined;
            const detaching = cancel &&
              new Promise<"detached">((resolve) => {
                detached = () => resolve("detached");
              });
            let isDetached = false;
            const ctx: RequestContext = {
              channel,
              contextId: ev.contextId,
              context,
              peer,
              rq,
              ac,
              log,
              dimseTimeoutMs: o.dimseTimeoutMs,
              tally,
            };
            // Added, not spread into the literal: a spread costs a runtime call per request.
            if (cancel) {
              ctx.detach = () => {
                isDetached = true;
                detached!();
                return cancel.signal;
              };
            }
            const running = handler(m, ctx);
            let first: HandlerOutcome | "detached";
            let run: Promise<HandlerOutcome> | undefined;
            if (detaching) {
              run = running.then(
                asOutcome,
                (err) => handlerFailed(err, isDetached, assoc, channel),
              );
              first = await Promise.race([run, detaching]);
            } else {
              // No window: the handler's answer awaited as it is, no promise chained to it
              // and no closure made for a failure that seldom comes.
              try {
                first = { status: await running };
              } catch (err) {
                first = await handlerFailed(err, false, assoc, channel);
              }
            }
            reading = false;
            if (first === "detached") {
              outstanding.set(messageId, {
                cancel: cancel!,
                done: run!.then((outcome) => {
                  finished.push({ message: m, outcome });
                  outstanding.delete(messageId);
                  // Not quiet while a request is being read, or answers are due.
                  live.handling = reading || outstanding.size > 0;
                  wake?.abort();
                }),
              });
              break;
            }
            live.handling = outstanding.size > 0;
            const next = settle(m, first);
            if (next instanceof Promise) return await next;
            interrupted = next;
            break;
          }
          case "release-requested":
            // PS3.8 AR-7: answers still due go out before the A-RELEASE-RP.
            while (outstanding.size > 0) {
              await Promise.race([...outstanding.values()].map((r) => r.done));
            }
            for (const f of finished.splice(0)) {
              const next = settle(f.message, f.outcome);
              if (next instanceof Promise) return await next;
            }
            try {
              await assoc.respondRelease();
            } catch (err) {
              // The peer aborted or closed after its A-RELEASE-RQ, while answers due went out:
              // the association ended as that event says, not by a failure of ours.
              interrupted = (await endedBeforeSend(err, assoc, channel)).interrupted;
              break;
            }
            this.#report({ kind: "released", peer });
            o.onEvent?.({ event: "association-released", peer });
            return "released";
          case "aborted":
            this.#report({ kind: "aborted", peer, source: ev.source, reason: ev.reason });
            o.onEvent?.({ event: "association-aborted", peer, reason: ev.reason });
            return "aborted";
          case "timeout":
            return await end(
              ev.slow
                ? { kind: "slow", text: slowText(ev.slow) }
                : { kind: "timeout", seconds: o.dimseTimeoutMs! / 1000 },
              true,
              true,
            );
          case "protocol-error":
            return await end({ kind: "protocol-error", reason: ev.reason }, true);
          case "data":
          case "released":
            return await end({ kind: "unexpected", event: ev.kind }, true);
        }
      }
    } finally {
      // Requests still being answered learn that the association is over.
      for (const r of outstanding.values()) r.cancel.abort("ended");
      live.handling = false;
    }
  }
}

/** A handler's answer, or the bug it threw (the association is then ended). */
type HandlerOutcome =
  | { status: Awaited<ReturnType<CommandHandler>> | "ended" }
  | { error: unknown };

/** A handler's answer as its outcome. */
const asOutcome = (status: Awaited<ReturnType<CommandHandler>>): HandlerOutcome => ({ status });

/** The outcome of a handler that threw `err`; `detached`: it had detached (see RequestContext). */
async function handlerFailed(
  err: unknown,
  detached: boolean,
  assoc: UlAssociation,
  channel: DimseChannel,
): Promise<HandlerOutcome> {
  try {
    return {
      // Ended under a detached handler: the reader of the association sees how.
      status: detached
        ? endedUnderDetached(err, assoc)
        : await endedBeforeSend(err, assoc, channel),
    };
  } catch (error) {
    return { error };
  }
}

/**
 * A detached handler's error when the association ended while it answered
 * (its send refused): "ended", the server's reader sees the event itself.
 * Any other error is the handler's own and goes on.
 */
function endedUnderDetached(err: unknown, assoc: UlAssociation): "ended" {
  if (!(err instanceof UlUsageError) || (assoc.state !== "Sta1" && assoc.state !== "Sta13")) {
    throw err;
  }
  return "ended";
}

/** Why the server ended an association, in words (the `association-aborted` event's reason). */
export function endingText(cause: EndingCause, peer: string): string {
  switch (cause.kind) {
    case "context-not-accepted":
      return `Received ${cause.command} on presentation context ${cause.contextId}, ` +
        "which was not accepted";
    case "cannot-handle":
      return `Cannot handle ${cause.command}`;
    case "slow":
      return `${peer}: request arriving too slowly: ${cause.text}`;
    case "timeout":
      return `DIMSE timeout: no request within ${cause.seconds} s`;
    case "protocol-error":
      return `Protocol error: ${cause.reason}`;
    case "unexpected":
      return `Unexpected ${cause.event} from the peer`;
  }
}

/** PS3.8 Table 9-21 in words: "Result: Rejected Permanent, Source: Service User, Reason: ...". */
function rejectText(rj: AssociateRjPdu): string {
  return describeReject(rj).join(", ");
}

/** "512 bytes in 30 s, below the floor of 1024 bytes/s". */
export function slowText(s: SlowTransfer): string {
  return `${s.bytes} bytes in ${s.seconds} s, below the floor of ${s.minBytesPerSecond} bytes/s`;
}

/** Whether a response status is a failure (PS3.7 C: neither success, pending, cancel nor warning). */
function isFailure(status: number): boolean {
  return status !== 0 && status !== 0x0001 && status !== 0x0107 && status !== 0x0116 &&
    (status & 0xf000) !== 0xb000 && status !== 0xfe00 && (status & 0xff00) !== 0xff00;
}

/** "3 requests, 3 stored (1.5 MB), 0 failed". */
function tallyText(t: AssociationTally): string {
  const stored = t.stored || t.bytes
    ? `, ${t.stored} stored (${(t.bytes / 1e6).toFixed(1)} MB)`
    : "";
  return `${t.requests} request${t.requests === 1 ? "" : "s"}${stored}, ${t.failed} failed`;
}

/** An association being served, as the connection budget looks at it. */
interface LiveAssociation {
  association?: UlAssociation;
  channel?: DimseChannel;
  /** A handler is at work on a request (once it has arrived, the peer waits for us). */
  handling: boolean;
}

/** The reason of an association ended to make room (the budget's eviction). */
const EVICTED = "closed to make room: its peer was quiet while the server was full";

/** The line of a burst's first refusal. */
function overloadLine(e: OverloadStart, budget: ConnectionBudget): string {
  const what = {
    pending: `${budget.pending} connections are waiting to associate (limit ${e.limit})`,
    associations: `${budget.associations} associations are held (limit ${e.limit})`,
    "per-peer": `${e.peer.replace(/:\d+$/, "")} holds ${e.limit} connections (limit per address)`,
  }[e.cap];
  const action = e.action === "refused"
    ? `refusing ${e.cap === "associations" ? "association requests" : "connections"}`
    : "closing connections that sit idle to make room";
  return `Over capacity: ${what}: ${action}; further ones are counted, not logged`;
}

/** The line at the end of a burst. */
function overloadEndLine(e: OverloadEnd): string {
  const r = e.refused;
  const parts = [
    r.pending && `${r.pending} connections refused (waiting to associate)`,
    r["per-peer"] && `${r["per-peer"]} refused (per address)`,
    r.associations && `${r.associations} association requests rejected`,
    e.evicted && `${e.evicted} idle connections closed to make room`,
  ].filter(Boolean);
  return `Over capacity for ${e.seconds} s: ${parts.join(", ")}`;
}

/** The default listener: plain TCP; the server admits each connection itself. */
function listenPlainTcp(hostname: string, port: number): TransportListener {
  return listenTcp({ hostname, port });
}

/**
 * A send's error when the peer ended the association before it went out (an
 * A-ABORT, or a closed connection, read while a handler worked or while
 * answers due went out before our A-RELEASE-RP: the UL then refuses the
 * send): the event that ended it, as if it had been received instead, so
 * that it is logged as the abort it is (docs/SECURITY_CLASSES.md #8). Any
 * other error is the handler's (or ours) and goes on.
 */
async function endedBeforeSend(
  err: unknown,
  assoc: UlAssociation,
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
 * Why an association cannot be served when the requestor's Maximum Length
 * Received (PS3.8 D.1) is too small for any PDV (1..7: a PDV item takes 6
 * bytes of header and an even, non-empty value, PS3.8 9.3.5.1): the line
 * the rejection is logged with (docs/SECURITY_CLASSES.md #10). Undefined when usable.
 */
function unusableMaxLength(rq: AssociateRqPdu): string | undefined {
  try {
    maxPdvDataLength(rq.userInformation.maxLength ?? 0, DEFAULT_CHUNK);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
