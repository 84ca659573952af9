/**
 * The runtime of the DICOM upper-layer protocol machine (PS3.8 9.2): it reads
 * PDUs from a {@link Transport}, turns each into its Table 9-10 event, looks
 * the (state, event) pair up in `state_machine.ts` and executes the action.
 * Local-user primitives (P-DATA, A-RELEASE, A-ABORT requests and responses)
 * go through the same table.
 *
 * Guarantees:
 * - every transition is logged at trace level and reported to `onTransition`;
 * - writes are serialized, one PDU at a time, in order;
 * - no exception escapes and no promise rejects unhandled, whatever the peer
 *   sends; a local primitive the table does not allow throws {@link UlUsageError}
 *   (or rejects with it) to its caller;
 * - every timer is cleared when the machine reaches Sta1, and `closed`
 *   resolves then.
 *
 * Besides the ARTIM timer of the standard (Sta2 and Sta13, PS3.8 9.1.5), the
 * runtime bounds the waits the table leaves open: no A-ASSOCIATE-AC/RJ in
 * Sta5 and no A-RELEASE-RP in Sta7/Sta10/Sta11 within `artimTimeoutMs`, or
 * neither data read nor a write completed within `idleTimeoutMs` once
 * associated (a peer gone silent, or one that stopped reading), issue an
 * A-ABORT request on the user's behalf (Evt15, AA-1). Such a peer will not
 * close the connection after our A-ABORT either, so Sta13 then lasts only
 * until the A-ABORT is out ({@link CLOSE_NOW_MS}), not another ARTIM period:
 * a timeout of n seconds ends the connection after n seconds, not 2n.
 *
 * @module
 */

import type { Logger } from "../log/logger.ts";
import { encodePdu } from "../pdu/codec.ts";
import {
  frameOf,
  PDATA_OVERHEAD,
  pDataTfDataLength,
  pDataTfPduLength,
  runRoom,
  writePDataTf,
} from "../pdu/pdata.ts";
import { PduDecodeError } from "../pdu/errors.ts";
import { type PduLimits, PduReader, type ReadPdu, SMALL_PDU_MAX } from "../pdu/reader.ts";
import {
  ABORT_REASON,
  type AbortPdu,
  type AssociateAcPdu,
  type AssociateRjPdu,
  type AssociateRqPdu,
  type PDataTfPdu,
  type Pdu,
} from "../pdu/types.ts";
import type { Transport } from "../transport/transport.ts";
import { Slab } from "../util/bytes.ts";
import { Fifo } from "../util/fifo.ts";
import { Timer } from "./artim.ts";
import { describePeerAbort } from "./reasons.ts";
import {
  type ActionName,
  describeTransition,
  type Event,
  EVENTS,
  type NextState,
  resolveNext,
  type State,
  STATES,
  TRANSITIONS,
} from "./state_machine.ts";

/** The part of the project's {@link Logger} the runtime uses. */
export type UlLogger = Pick<Logger, "trace" | "debug" | "info" | "warn" | "error" | "isEnabled">;

/** Options of one upper-layer connection. */
export interface UlOptions {
  /**
   * Where transitions (trace), protocol errors, peer aborts and timeouts
   * (debug) are logged: the upper layer reports what happened in its
   * indications (typed causes), and the layer that owns the user's context
   * logs the incident once. Only a bug (a callback that threw, an internal
   * error) is logged here at error level, never demoted.
   */
  logger: UlLogger;
  /** ARTIM timeout (PS3.8 9.1.5), DCMTK's -ta (default 30 s). */
  artimTimeoutMs: number;
  /**
   * Inactivity timeout once associated (-ts): no data read and no write completed within
   * it aborts; 0 or absent = none.
   */
  idleTimeoutMs?: number;
  /** Limits handed to the PDU reader; the P-DATA limit is replaced by our negotiated maximum. */
  limits?: Partial<PduLimits>;
  /**
   * Called on every transition; the runtime also logs it at trace level as
   * "Sta6 + Evt10 (P-DATA-TF PDU received) -> DT-2 -> Sta6".
   */
  onTransition?: (t: { state: State; event: Event; action: ActionName; next: State }) => void;
  /**
   * Called with every PDU's raw bytes sent/received (for -d hex dumps). A
   * received P-DATA-TF's memory is reused once its data events are released
   * (ChannelEvent `release`): a hook that keeps `raw` or a PDV copies it.
   */
  onPdu?: (dir: "sent" | "received", pdu: Pdu, raw: Uint8Array) => void;
}

/**
 * Who ended an association abnormally: the peer (A-ABORT PDU), the
 * upper-layer provider (A-P-ABORT: transport closed, malformed or unexpected
 * PDU, timeout) or the local user (`abort()`).
 */
export type AbortSource = "peer" | "provider" | "local";

/** An indication to the local user, in the order the peer caused them. */
export type UlIndication =
  | {
    kind: "p-data";
    pdu: PDataTfPdu;
    /**
     * Gives the PDU's memory back to the reader for a later PDU (see
     * ReadPdu.release): set only for a PDU of data PDVs in a pool buffer.
     * Call it once nothing holds any PDV's data any more; never calling it
     * is safe.
     */
    release?: () => void;
  }
  /** The peer sent A-RELEASE-RQ (Evt12, AR-2): answer with `respondRelease()`. */
  | { kind: "release-requested" }
  /** A-ABORT or A-P-ABORT indication; the connection is closed or closing. */
  | { kind: "aborted"; source: AbortSource; abort?: AbortPdu; reason: string }
  /** The release completed and the connection is closed. */
  | { kind: "released" };

/** How {@link Association.abort} ends the connection. */
export interface AbortOptions {
  /**
   * Close the connection as soon as the A-ABORT is written (at most
   * {@link CLOSE_NOW_MS} later) instead of waiting up to ARTIM for the peer
   * to close it (Sta13): for a peer that stopped answering (a timeout),
   * which will not close it either.
   */
  closeNow?: boolean;
  /** Why, in plain words, for the "aborted" indication (default "aborted by the local user"). */
  reason?: string;
}

/** An established association (Sta6 and the release states that follow it). */
export interface UlAssociation {
  /** The current state of the protocol machine. */
  readonly state: State;
  /** Bytes read from the peer so far (for rate limits: raw bytes, complete PDUs or not). */
  readonly bytesReceived: number;
  /** When bytes were last read from the peer (`performance.now()` time; the start before any). */
  readonly lastActivity: number;
  /** The peer's Maximum Length Received (PS3.8 D.1); 0 = unlimited. */
  readonly peerMaxPdu: number;
  /** Our Maximum Length Received as negotiated; 0 = unlimited (the reader's own limit applies). */
  readonly ourMaxPdu: number;
  /**
   * The next indication, in order. After "aborted" or "released", every
   * further call resolves with that same terminal indication.
   */
  receive(): Promise<UlIndication>;
  /**
   * The next indication if one is already queued, taken at once; undefined
   * when none is (or a `receive()` is still waiting: it comes first). The
   * same order and terminal rule as `receive()`, without a promise: a
   * consumer draining PDUs read in one batch pays no turn per PDU.
   * Optional, for wrappers and test doubles: absent means "use receive()".
   */
  poll?(): UlIndication | undefined;
  /**
   * P-DATA request (Evt9: DT-1 in Sta6, AR-7 in Sta8); resolves once the PDU
   * is written. Rejects with {@link UlUsageError} in any other state, or when
   * the PDU is longer than `peerMaxPdu`. The PDVs' bytes are copied before
   * this returns, so the caller may reuse their memory at once; except for a
   * PDU laid out in a `PDataFrame` or a `PDataRun`, which may be written from
   * that memory itself: it may be refilled only once the promise has settled.
   */
  sendPData(pdu: PDataTfPdu): Promise<void>;
  /**
   * A-RELEASE request (Evt11, AR-1). Resolves once the connection is closed:
   * "released", or `{ aborted }` when the peer aborted, closed the connection
   * or sent no A-RELEASE-RP within `artimTimeoutMs` (the runtime then aborts).
   * A release collision (PS3.8 AR-8, Sta9..Sta12) is answered by the runtime
   * itself, for the requestor (AR-9) and the acceptor (AR-4) alike.
   */
  release(): Promise<"released" | { aborted: string }>;
  /** A-RELEASE response (Evt14, AR-4) to a "release-requested" indication; resolves once closed. */
  respondRelease(): Promise<void>;
  /**
   * A-ABORT request (Evt15, AA-1: A-ABORT source 0, then Sta13 until the
   * peer closes or ARTIM expires, or with `closeNow` only until the A-ABORT
   * is written); resolves once closed. Does nothing more once the
   * association is over (Sta13, Sta1).
   */
  abort(opts?: AbortOptions): Promise<void>;
  /** Resolves when the transport is closed (Sta1). */
  readonly closed: Promise<void>;
}

/** Outcome of {@link requestAssociation}. */
export type RequestResult =
  | { kind: "accepted"; association: UlAssociation; ac: AssociateAcPdu }
  | { kind: "rejected"; rj: AssociateRjPdu }
  | { kind: "aborted"; source: "peer" | "provider"; abort?: AbortPdu; reason: string };

/** Outcome of {@link acceptAssociation}. */
export type AcceptResult =
  | { kind: "accepted"; association: UlAssociation; rq: AssociateRqPdu; ac: AssociateAcPdu }
  | { kind: "rejected"; rq: AssociateRqPdu; rj: AssociateRjPdu }
  | {
    kind: "aborted";
    source: "peer" | "provider";
    abort?: AbortPdu;
    reason: string;
    rq?: AssociateRqPdu;
    /** Bytes the peer sent before the end: 0 for a connection opened and closed (a health check). */
    received: number;
  };

/** The acceptor's answer to an A-ASSOCIATE indication. */
export type AssociateDecision = (
  rq: AssociateRqPdu,
) => AssociateAcPdu | AssociateRjPdu | Promise<AssociateAcPdu | AssociateRjPdu>;

/** A local primitive that PS3.8 Table 9-10 does not allow in the current state. */
export class UlUsageError extends Error {
  /** `message` says which primitive and which state. */
  constructor(message: string) {
    super(message);
    this.name = "UlUsageError";
  }
}

/**
 * Requestor side. The caller has connected `transport`; the runtime drives
 * Evt1 (AE-1 -> Sta4) and at once Evt2 (AE-2: send the A-ASSOCIATE-RQ ->
 * Sta5). Resolves with the association on A-ASSOCIATE-AC (AE-3); every other
 * outcome resolves once the transport is closed. Rejects, without touching
 * the transport, when `rq` cannot be encoded.
 */
export function requestAssociation(
  transport: Transport,
  rq: AssociateRqPdu,
  opts: UlOptions,
): Promise<RequestResult> {
  return new Machine(transport, opts, "requestor").request(rq);
}

/**
 * Acceptor side. Drives Evt5 (AE-5 -> Sta2, ARTIM started) and waits for the
 * A-ASSOCIATE-RQ (Evt6, AE-6). An RQ whose protocol version lacks bit 0 is
 * rejected by the provider (result 1, source 2, reason 2); otherwise `decide`
 * answers it with an A-ASSOCIATE-AC (Evt7, AE-7) or -RJ (Evt8, AE-8). If
 * `decide` throws, the RQ is rejected (permanent, service-user, no reason
 * given) and the error logged. Resolves with the association once the AC is
 * sent; every other outcome resolves once the transport is closed.
 */
export function acceptAssociation(
  transport: Transport,
  opts: UlOptions,
  decide: AssociateDecision,
): Promise<AcceptResult> {
  return new Machine(transport, opts, "acceptor").accept(decide);
}

type Role = "requestor" | "acceptor";

/** What an event carries into its action. */
interface Input {
  /** The PDU received (PDU events) or to send (Evt2, Evt7, Evt8, Evt9). */
  pdu?: Pdu;
  /** Evt2: the A-ASSOCIATE-RQ as `request` encoded it (checked there), sent as it is. */
  raw?: Uint8Array;
  /** For Evt19: the decode error. */
  decodeError?: PduDecodeError;
  /** For Evt10: gives the P-DATA-TF's memory back (see ReadPdu.release). */
  release?: () => void;
  /** For Evt15: who asked for the abort and why, in plain words; `closeNow`: see AbortOptions. */
  abortBy?: { source: AbortSource; reason: string; closeNow?: boolean };
}

/** The input of an event that carries none (never written: actions only read their input). */
const NO_INPUT: Input = Object.freeze({});

type End =
  | { kind: "released" }
  | { kind: "aborted"; source: AbortSource; abort?: AbortPdu; reason: string };

/** States in which the runtime bounds the wait for the peer's answer. */
const AWAITING_PEER: ReadonlySet<State> = new Set(["Sta5", "Sta7", "Sta10", "Sta11"]);
/** States of an established association (data transfer and release). */
const ASSOCIATED: ReadonlySet<State> = new Set([
  "Sta6",
  "Sta7",
  "Sta8",
  "Sta9",
  "Sta10",
  "Sta11",
  "Sta12",
]);
/**
 * Undelivered indications, or bytes of P-DATA in them, after which reading
 * pauses until the user calls receive(): what a peer can make us hold while
 * we are busy (answering it, or writing to a peer that does not read) is
 * bounded by this, not by our maximum PDU length.
 */
const HIGH_WATER = 16;
const HIGH_WATER_BYTES = 256 * 1024;
/**
 * Sta13 after an A-ABORT sent to a peer that stopped answering: long enough
 * for the A-ABORT to be written (the read loop drains what the peer sent
 * meanwhile, so the close is orderly), short enough that a timeout of n
 * seconds is over within n + 0.5 s.
 */
export const CLOSE_NOW_MS = 100;
/** The reason of an acceptor's connection closed by the peer before any A-ASSOCIATE-RQ (AA-5). */
export const CLOSED_BEFORE_RQ = "peer closed the connection before sending A-ASSOCIATE-RQ";

// PS3.8 Table 9-21: protocol-version-not-supported is an ACSE-related
// provider reason (source 2), not a presentation-related one (source 3).
const PROTOCOL_VERSION_NOT_SUPPORTED: AssociateRjPdu = {
  type: "A-ASSOCIATE-RJ",
  result: 1,
  source: 2,
  reason: 2,
};
const DECIDE_FAILED: AssociateRjPdu = { type: "A-ASSOCIATE-RJ", result: 1, source: 1, reason: 1 };

class Machine implements UlAssociation {
  state: State = "Sta1";
  peerMaxPdu = 0;
  ourMaxPdu = 0;
  bytesReceived = 0;
  lastActivity = performance.now();
  readonly closed: Promise<void>;

  readonly #transport: Transport;
  readonly #opts: UlOptions;
  readonly #log: UlLogger;
  readonly #role: Role;
  readonly #reader: PduReader;
  #resolveClosed!: () => void;
  #writes: Promise<void> = Promise.resolve();
  #batch: WriteBatch | undefined;
  /** Batch buffers written and free again (at most SPARE_BUFFERS). */
  #spareBuffers: Uint8Array[] = [];
  /** A batch is with the transport: the peer has not yet taken all of it. */
  #writing = false;
  /** Batches chained to #writes, not yet handed to the transport, in the order they began. */
  readonly #waitingBatches = new Fifo<WriteBatch>();
  /** The batch handed to the transport last (#writing: its write is under way). */
  #inFlight: WriteBatch | undefined;
  readonly #artim = new Timer();
  readonly #peerWait = new Timer();
  readonly #idle = new Timer();
  readonly #queue = new Fifo<UlIndication>();
  /** P-DATA bytes in #queue. */
  #queuedBytes = 0;
  readonly #waiters = new Fifo<(ind: UlIndication) => void>();
  #resume: (() => void) | undefined;
  #end: End | undefined;
  #discardInput = false;
  #rq: AssociateRqPdu | undefined;
  #rj: AssociateRjPdu | undefined;
  #decide: AssociateDecision | undefined;
  #established = false;
  #onEstablished: ((ac: AssociateAcPdu) => void) | undefined;
  #onFailed: (() => void) | undefined;

  constructor(transport: Transport, opts: UlOptions, role: Role) {
    this.#transport = transport;
    this.#opts = opts;
    this.#log = opts.logger;
    this.#role = role;
    this.#reader = new PduReader(opts.limits);
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  request(rq: AssociateRqPdu): Promise<RequestResult> {
    // Encoded once, here: a request that cannot be encoded fails before any event, and
    // AE-2 sends these bytes (with 128 presentation contexts an encoding is milliseconds
    // of a one-shot tool's start).
    let raw: Uint8Array;
    try {
      raw = encodePdu(rq);
    } catch (err) {
      return Promise.reject(err);
    }
    this.#rq = rq;
    const result = new Promise<RequestResult>((resolve) => {
      this.#onEstablished = (ac) => resolve({ kind: "accepted", association: this, ac });
      this.#onFailed = () => {
        if (this.#rj) resolve({ kind: "rejected", rj: this.#rj });
        else resolve({ kind: "aborted", ...this.#establishmentFailure() });
      };
    });
    this.#dispatch("Evt1");
    this.#dispatch("Evt2", { pdu: rq, raw });
    this.#startReading();
    return result;
  }

  accept(decide: AssociateDecision): Promise<AcceptResult> {
    const result = new Promise<AcceptResult>((resolve) => {
      this.#onEstablished = (ac) =>
        resolve({ kind: "accepted", association: this, rq: this.#rq!, ac });
      this.#onFailed = () => {
        const rq = this.#rq;
        if (this.#rj && rq) resolve({ kind: "rejected", rq, rj: this.#rj });
        else {
          resolve({
            kind: "aborted",
            ...this.#establishmentFailure(),
            ...(rq ? { rq } : {}),
            received: this.bytesReceived,
          });
        }
      };
    });
    this.#decide = decide;
    this.#dispatch("Evt5");
    this.#startReading();
    return result;
  }

  #establishmentFailure(): { source: "peer" | "provider"; abort?: AbortPdu; reason: string } {
    const end = this.#end;
    if (end?.kind !== "aborted") {
      return { source: "provider", reason: "association not established" };
    }
    return {
      source: end.source === "peer" ? "peer" : "provider",
      ...(end.abort ? { abort: end.abort } : {}),
      reason: end.reason,
    };
  }

  // ---- Association (local-user primitives) ----

  receive(): Promise<UlIndication> {
    // No executor closure per call: every message received is waited for here.
    const { promise, resolve } = Promise.withResolvers<UlIndication>();
    this.#waiters.push(resolve);
    // Nothing queued (an SCU waiting for its response): the next indication is handed
    // straight to this waiter (#indicate); reading goes on if it was paused.
    if (this.#queue.length > 0) this.#deliver();
    else this.#resume?.();
    return promise;
  }

  poll(): UlIndication | undefined {
    if (this.#waiters.length > 0 || this.#queue.length === 0) return undefined;
    const ind = this.#take();
    if (!this.#full()) this.#resume?.();
    return ind;
  }

  sendPData(pdu: PDataTfPdu): Promise<void> {
    try {
      // The PDU-length field (PS3.8 9.3.5): what the peer's maximum limits.
      const length = pDataTfPduLength(pdu) - 6;
      if (this.peerMaxPdu !== 0 && length > this.peerMaxPdu) {
        throw new UlUsageError(
          `P-DATA-TF of ${length} bytes exceeds the peer's maximum PDU length ${this.peerMaxPdu}`,
        );
      }
      return this.#dispatch("Evt9", { pdu }) ?? Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  release(): Promise<"released" | { aborted: string }> {
    try {
      this.#dispatch("Evt11");
    } catch (err) {
      return Promise.reject(err);
    }
    return this.closed.then(() => {
      const end = this.#end;
      return end?.kind === "aborted" ? { aborted: end.reason } : "released";
    });
  }

  respondRelease(): Promise<void> {
    try {
      this.#dispatch("Evt14");
    } catch (err) {
      return Promise.reject(err);
    }
    return this.closed;
  }

  abort(opts: AbortOptions = {}): Promise<void> {
    if (this.state !== "Sta1" && this.state !== "Sta13") {
      this.#dispatch("Evt15", {
        abortBy: {
          source: "local",
          reason: opts.reason ?? "aborted by the local user",
          closeNow: opts.closeNow,
        },
      });
    }
    return this.closed;
  }

  // ---- the table ----

  /** Looks up Table 9-10 and executes the action; returns the write of DT-1/AR-7. */
  #dispatch(event: Event, input: Input = NO_INPUT): Promise<void> | undefined {
    const from = this.state;
    // The table itself, not transition(): a function less on every message's path.
    const t = TRANSITIONS[event][from];
    if (t.kind === "invalid-local-primitive") {
      throw new UlUsageError(
        `${EVENTS[event].description} is not allowed in ${from} (${STATES[from]})`,
      );
    }
    if (t.kind === "impossible") {
      throw new Error(`internal error: ${event} (${EVENTS[event].label}) cannot occur in ${from}`);
    }
    // A fixed next state (every P-DATA) taken as it is: no call per message for a decision.
    const next = t.next.kind === "fixed"
      ? t.next.state
      : resolveNext(t.next, this.#answer(t.next, input));
    this.state = next;
    const action = t.action;
    if (this.#log.isEnabled("trace")) {
      this.#log.trace(describeTransition(from, event, action, next));
    }
    if (next !== from) {
      // The wait for the peer's answer runs only in those states (AE-2 and AR-1 start it
      // there); the idle timer only while associated (#restartIdle starts it only then, so
      // a transition that stays in a state has nothing to stop: every P-DATA's).
      if (AWAITING_PEER.has(from) && !AWAITING_PEER.has(next)) this.#peerWait.stop();
      if (!ASSOCIATED.has(next)) this.#idle.stop();
    }
    const onTransition = this.#opts.onTransition;
    if (onTransition) {
      this.#callback("onTransition", () => onTransition({ state: from, event, action, next }));
    }
    // The data transfer actions (PS3.8 9.2.2: DT-1/AR-7 send a P-DATA-TF, DT-2/AR-6 indicate
    // one) are every message's: taken here, so that the large switch of the other actions
    // stays cold (V8 compiles it only if it runs often: a compile per process saved).
    switch (action) {
      case "DT-1":
      case "AR-7":
        return this.#send(input.pdu!);
      case "DT-2":
      case "AR-6":
        this.#indicate({ kind: "p-data", pdu: input.pdu as PDataTfPdu, release: input.release });
        return;
    }
    return this.#act(action, from, event, input);
  }

  /** Answers the decision of AE-6 or AR-8 (PS3.8 9.2.2). */
  #answer(next: NextState, input: Input): boolean {
    if (next.kind === "fixed") return true;
    if (next.decision === "is-association-requestor") return this.#role === "requestor";
    const rq = input.pdu as AssociateRqPdu;
    return (rq.protocolVersion & 1) === 1;
  }

  /**
   * Executes one action of PS3.8 9.2.2 other than the data transfer ones (see #dispatch);
   * `this.state` is already the next state.
   */
  #act(
    action: Exclude<ActionName, "DT-1" | "AR-7" | "DT-2" | "AR-6">,
    from: State,
    event: Event,
    input: Input,
  ): undefined {
    switch (action) {
      case "AE-1":
        // The caller connected the transport before handing it over.
        return;
      case "AE-2":
        this.#send(input.pdu!, input.raw);
        this.#peerWait.start(
          this.#opts.artimTimeoutMs,
          () => this.#timeout("no A-ASSOCIATE-AC/RJ"),
        );
        return;
      case "AE-3": {
        const ac = input.pdu as AssociateAcPdu;
        this.#negotiated(this.#rq!, ac);
        this.#established = true;
        this.#onEstablished?.(ac);
        return;
      }
      case "AE-4":
        this.#rj = input.pdu as AssociateRjPdu;
        this.#finish();
        return;
      case "AE-5":
        this.#startArtim();
        return;
      case "AE-6": {
        this.#artim.stop();
        this.#rq = input.pdu as AssociateRqPdu;
        if (this.state === "Sta3") {
          this.#askUser(this.#rq);
        } else {
          this.#log.debug(
            `A-ASSOCIATE-RQ with unsupported protocol version ${this.#rq.protocolVersion}: rejecting`,
          );
          this.#rj = PROTOCOL_VERSION_NOT_SUPPORTED;
          this.#send(this.#rj);
          this.#startArtim();
        }
        return;
      }
      case "AE-7": {
        const ac = input.pdu as AssociateAcPdu;
        this.#send(ac);
        this.#negotiated(ac, this.#rq!);
        this.#established = true;
        this.#onEstablished?.(ac);
        return;
      }
      case "AE-8":
        this.#rj = input.pdu as AssociateRjPdu;
        this.#send(this.#rj);
        this.#startArtim();
        return;
      case "AR-1":
        this.#send({ type: "A-RELEASE-RQ" });
        this.#peerWait.start(this.#opts.artimTimeoutMs, () => this.#timeout("no A-RELEASE-RP"));
        return;
      case "AR-2":
        this.#indicate({ kind: "release-requested" });
        return;
      case "AR-3":
        this.#setEnd({ kind: "released" });
        this.#finish();
        return;
      case "AR-4":
        this.#setEnd({ kind: "released" });
        this.#send({ type: "A-RELEASE-RP" });
        this.#startArtim();
        return;
      case "AR-5":
        this.#finish();
        return;
      case "AR-8":
        // Release collision: the user is inside release(), so the runtime
        // gives the A-RELEASE response for it. The requestor answers now
        // (Sta9 + Evt14, AR-9); the acceptor after the peer's A-RELEASE-RP
        // (Sta12 + Evt14, AR-4, after AR-10).
        this.#log.debug(`A-RELEASE collision as association-${this.#role}`);
        if (this.state === "Sta9") this.#dispatch("Evt14");
        return;
      case "AR-9":
        this.#send({ type: "A-RELEASE-RP" });
        return;
      case "AR-10":
        this.#dispatch("Evt14");
        return;
      case "AA-1": {
        const by = input.abortBy ?? this.#protocolError(from, input);
        this.#setEnd({ kind: "aborted", source: by.source, reason: by.reason });
        this.#send({ type: "A-ABORT", source: 0, reason: 0 });
        const artim = this.#opts.artimTimeoutMs;
        this.#startArtim(input.abortBy?.closeNow ? Math.min(artim, CLOSE_NOW_MS) : artim);
        return;
      }
      case "AA-2":
        if (event === "Evt16") this.#peerAborted(input.pdu as AbortPdu);
        else if (event === "Evt18" && from === "Sta2") {
          this.#setEnd({
            kind: "aborted",
            source: "provider",
            reason: `ARTIM timeout: no A-ASSOCIATE-RQ within ${this.#seconds()}`,
          });
        }
        this.#finish();
        return;
      case "AA-3":
        this.#peerAborted(input.pdu as AbortPdu);
        this.#finish();
        return;
      case "AA-4":
        this.#setEnd({
          kind: "aborted",
          source: "provider",
          reason: from === "Sta5"
            ? "peer closed the connection without answering"
            : "peer closed the connection",
        });
        this.#finish();
        return;
      case "AA-5":
        this.#setEnd({ kind: "aborted", source: "provider", reason: CLOSED_BEFORE_RQ });
        this.#finish();
        return;
      case "AA-6":
        this.#log.debug(`ignoring ${input.pdu!.type} PDU received in ${from}`);
        return;
      case "AA-7": {
        const { abortReason } = this.#protocolError(from, input);
        this.#send({ type: "A-ABORT", source: 2, reason: abortReason });
        return;
      }
      case "AA-8": {
        const { abortReason, reason } = this.#protocolError(from, input);
        this.#setEnd({ kind: "aborted", source: "provider", reason });
        this.#send({ type: "A-ABORT", source: 2, reason: abortReason });
        this.#startArtim();
        return;
      }
    }
  }

  /** The A-ABORT reason and plain words for an unexpected (AA-8, AA-7, AA-1) or malformed PDU. */
  #protocolError(from: State, input: Input): {
    source: "provider";
    abortReason: number;
    reason: string;
  } {
    const err = input.decodeError;
    if (err) {
      return {
        source: "provider",
        abortReason: err.abortReason,
        reason: `malformed PDU: ${err.message}`,
      };
    }
    const reason = `unexpected ${input.pdu!.type} PDU in ${from} (${STATES[from]})`;
    this.#log.debug(reason);
    return { source: "provider", abortReason: ABORT_REASON.unexpectedPdu, reason };
  }

  #peerAborted(abort: AbortPdu): void {
    const reason = describePeerAbort(abort);
    this.#log.debug(reason);
    this.#setEnd({ kind: "aborted", source: "peer", abort, reason });
  }

  #negotiated(ours: AssociateRqPdu | AssociateAcPdu, theirs: AssociateRqPdu | AssociateAcPdu) {
    this.ourMaxPdu = ours.userInformation.maxLength ?? 0;
    this.peerMaxPdu = theirs.userInformation.maxLength ?? 0;
    this.#reader.setMaxPDataLength(this.ourMaxPdu);
    this.#restartIdle();
  }

  /** Sta3: the A-ASSOCIATE indication goes to the user's `decide`. */
  #askUser(rq: AssociateRqPdu): void {
    const decide = this.#decide!;
    Promise.resolve()
      .then(() => decide(rq))
      .catch((err: unknown) => {
        this.#log.error(`association decision failed: ${errorText(err)}; rejecting`);
        return DECIDE_FAILED;
      })
      .then((answer) => {
        // The peer may have aborted or closed meanwhile (AA-3, AA-4, AA-8).
        if (this.state !== "Sta3") return;
        this.#dispatch(answer.type === "A-ASSOCIATE-AC" ? "Evt7" : "Evt8", { pdu: answer });
      })
      .catch((err: unknown) => this.#internalError(err));
  }

  // ---- side effects ----

  /**
   * Queues a PDU for the transport, in order. PDUs sent while an earlier
   * write is still in flight join one batch written with a single call (up
   * to {@link MAX_BATCH} bytes): a streamed data set then costs one write per
   * batch rather than one per PDU, and a lone PDU waits for nothing. Joining
   * PDUs are encoded straight into the batch's buffer (one copy of the data),
   * and so is a P-DATA-TF of {@link POOLED_MIN} bytes or more that starts a
   * batch: batch buffers are reused once written, so a long stream allocates
   * nothing per PDU. A P-DATA-TF laid out in a `PDataFrame` goes out from its
   * own memory when it is alone, and the PDUs of a `PDataRun` from the run's
   * (see #inPlace); every other PDU's bytes are copied before this returns.
   * `raw`: the PDU encoded already, in memory of its own (the
   * A-ASSOCIATE-RQ, see `request`).
   */
  #send(pdu: Pdu, raw?: Uint8Array): Promise<void> {
    const open = this.#batch;
    // Already encoded, and nothing waiting to be joined (the A-ASSOCIATE-RQ comes first).
    if (raw !== undefined && !open) return this.#startBatch(pdu, raw);
    const size = pdu.type === "P-DATA-TF" ? pDataTfPduLength(pdu) : undefined;
    if (open && size !== undefined && this.#inPlace(open, pdu as PDataTfPdu, size)) {
      return open.written;
    }
    // A batch in a run's memory takes nothing more: what lies behind the run is not ours.
    if (
      open && (open.buffer === undefined || open.pooled) && open.length + (size ?? 0) <= MAX_BATCH
    ) {
      if (open.buffer === undefined) {
        open.buffer = this.#takeBuffer();
        open.pooled = true;
        open.buffer.set(open.first);
      }
      if (size !== undefined) {
        // P-DATA-TF, its size known: written at the batch's end, no view of it made.
        const at = open.length;
        writePDataTf(pdu as PDataTfPdu, open.buffer, at, size);
        open.length += size;
        if (this.#opts.onPdu) this.#onPdu("sent", pdu, open.buffer.subarray(at, open.length));
        return open.written;
      }
      const slot = open.buffer.subarray(open.length);
      const raw = encodePdu(pdu, slot);
      if (raw.buffer !== slot.buffer || open.length + raw.length > MAX_BATCH) {
        // It did not fit (only possible for a PDU of unknown size): it starts the next batch.
        return this.#startBatch(pdu, raw);
      }
      this.#onPdu("sent", pdu, raw);
      open.length += raw.length;
      return open.written;
    }
    if (
      size !== undefined && size >= POOLED_MIN && size <= MAX_BATCH &&
      frameOf(pdu as PDataTfPdu) === undefined
    ) {
      const buffer = this.#takeBuffer();
      return this.#startBatch(pdu, encodePdu(pdu, buffer), buffer);
    }
    if (size !== undefined && size <= SMALL_PDU_MAX && frameOf(pdu as PDataTfPdu) === undefined) {
      // A lone command or response: carved from memory never written again, not a buffer of
      // its own (an ArrayBuffer per message was the largest item of our code per echo).
      const at = SMALL_PDUS.take(size);
      const bytes = SMALL_PDUS.bytes;
      writePDataTf(pdu as PDataTfPdu, bytes, at, size);
      return this.#startBatch(pdu, bytes.subarray(at, at + size));
    }
    return this.#startBatch(pdu, encodePdu(pdu));
  }

  /**
   * Adds a PDU of a `PDataRun` to the open batch where it lies, when the
   * batch ends right in front of its header room: the header is written
   * there and the data stays where it was read (no copy; the batch then
   * lies in the run's memory). A batch of one PDU in memory of its own (the
   * message's command) is moved into the room the run keeps in front of its
   * first PDU when it fits. False when neither holds: the PDU is then copied
   * as any other.
   */
  #inPlace(open: WriteBatch, pdu: PDataTfPdu, size: number): boolean {
    // A batch in a reused buffer copies whatever joins it (a stream's PDUs: no lookup each).
    if (open.pooled || pdu.pdvs.length !== 1) return false;
    const data = pdu.pdvs[0].data;
    const room = runRoom(data);
    if (room === undefined) return false;
    const header = data.byteOffset - PDATA_OVERHEAD;
    if (open.buffer === undefined) {
      const first = open.first;
      if (first.buffer === data.buffer && first.byteOffset + first.length === header) {
        open.start = first.byteOffset; // a PDU of the same run, encoded in place
      } else if (open.length <= room) {
        open.start = header - open.length;
        new Uint8Array(data.buffer, open.start, open.length).set(first);
      } else return false;
      open.buffer = new Uint8Array(data.buffer); // not pooled: the run's memory
    } else if (open.buffer.buffer !== data.buffer || open.start + open.length !== header) {
      return false;
    }
    writePDataTf(pdu, open.buffer, header, size);
    open.length += size;
    if (this.#opts.onPdu) this.#onPdu("sent", pdu, open.buffer.subarray(header, header + size));
    return true;
  }

  /** A batch buffer: one written before, or a new one. */
  #takeBuffer(): Uint8Array {
    return this.#spareBuffers.pop() ?? new Uint8Array(MAX_BATCH);
  }

  /** `buffer`: the batch's own (raw at its start), when the first PDU was encoded into one. */
  #startBatch(pdu: Pdu, raw: Uint8Array, buffer?: Uint8Array): Promise<void> {
    if (this.#opts.onPdu) this.#onPdu("sent", pdu, raw);
    const batch: WriteBatch = {
      type: pdu.type,
      first: raw,
      buffer,
      start: 0,
      pooled: buffer !== undefined,
      length: raw.length,
      written: SETTLED,
    };
    this.#batch = batch;
    // The batch stays open to PDUs sent in this same turn until the writes before it are
    // done; then it goes out. Plain callbacks, not an async function, and made once per
    // association, not per batch (the batch waits in #waitingBatches): every message passes
    // here, and its closures were ~130 B of an echo's allocation.
    this.#waitingBatches.push(batch);
    batch.written = this.#writes.then(this.#writeNext);
    this.#writes = batch.written.then(undefined, this.#writeFailed);
    return batch.written;
  }

  /**
   * The next batch's turn: the writes before it are done. #writes chains the turns, so they
   * come in the order the batches began, which is #waitingBatches' order.
   */
  readonly #writeNext = (): Promise<void> => this.#writeBatch(this.#waitingBatches.shift()!);

  /** A batch's write failed: the connection is lost (Evt17), unless it ended already. */
  readonly #writeFailed = (err: unknown): void =>
    this.#guard(() => {
      if (this.state === "Sta1") return;
      this.#log.debug(`writing ${this.#inFlight?.type} failed: ${errorText(err)}`);
      this.#dispatch("Evt17");
    });

  /** Hands a batch to the transport; resolves once it is written. */
  #writeBatch(batch: WriteBatch): Promise<void> {
    if (this.#batch === batch) this.#batch = undefined;
    // The association ended while this batch waited its turn (the connection closed under it):
    // its sends fail as a send made now would, not with the closed transport's own error.
    if (this.#isIdle()) return Promise.reject(this.#endedUnderWrite());
    this.#writing = true;
    this.#inFlight = batch;
    let writing: Promise<void>;
    try {
      const { buffer, start } = batch;
      writing = this.#transport.write(buffer?.subarray(start, start + batch.length) ?? batch.first);
    } catch (err) {
      this.#writing = false;
      throw err;
    }
    return writing.then(this.#written, this.#writeRejected);
  }

  /** The batch in flight is written (writes go out one at a time). */
  readonly #written = (): void => {
    const batch = this.#inFlight!;
    this.#inFlight = undefined;
    this.#writing = false;
    // A write taken is progress as much as a read: a long data set goes out while the
    // peer stays silent until its response (-ts must not cut that off).
    this.#restartIdle();
    // Written: the buffer serves a later batch, so a long stream reuses two
    // buffers (one being written, one filling) instead of leaving one per
    // batch for the garbage collector.
    if (
      batch.buffer && batch.pooled && this.#spareBuffers.length < SPARE_BUFFERS &&
      this.state !== "Sta1"
    ) {
      this.#spareBuffers.push(batch.buffer);
    }
  };

  /** The write of the batch in flight failed (#inFlight stays, for #writeFailed's line). */
  readonly #writeRejected = (err: unknown): never => {
    this.#writing = false;
    throw this.#isIdle() ? this.#endedUnderWrite() : err;
  };

  /** The failure of a write whose association ended (Sta1) before it was made. */
  #endedUnderWrite(): UlUsageError {
    return new UlUsageError(
      `a write queued in an association now ended is not allowed in Sta1 (${STATES.Sta1})`,
    );
  }

  #startArtim(ms = this.#opts.artimTimeoutMs): void {
    this.#artim.start(ms, () =>
      this.#guard(() => {
        this.#log.debug(`ARTIM expired in ${this.state}`);
        this.#dispatch("Evt18");
      }));
  }

  /** `now`: the clock just read, if it was (a clock read is an op call, and this runs per read). */
  #restartIdle(now?: number): void {
    const ms = this.#opts.idleTimeoutMs ?? 0;
    if (ms <= 0 || !ASSOCIATED.has(this.state)) return;
    // Restarted on every read and write: one callback made once, not a closure each time.
    this.#idle.start(ms, this.#idleExpired, now);
  }

  readonly #idleExpired = (): void =>
    this.#guard(() => {
      if (this.#resume) return this.#restartIdle(); // reading paused by the user, not the peer
      const ms = this.#opts.idleTimeoutMs ?? 0;
      // A write still pending means the peer stopped reading (docs/SECURITY_CLASSES.md #8).
      const reason = this.#writing
        ? `write timeout: the peer has not taken our data within ${ms / 1000} s`
        : `idle timeout: no data from peer within ${ms / 1000} s`;
      this.#log.debug(`${reason}; aborting`);
      this.#dispatch("Evt15", { abortBy: { source: "provider", reason, closeNow: true } });
    });

  /** The answer the peer owes did not come: the runtime aborts for the user (Evt15). */
  #timeout(what: string): void {
    this.#guard(() => {
      const reason = `ARTIM timeout: ${what} within ${this.#seconds()}`;
      this.#log.debug(`${reason}; aborting`);
      this.#dispatch("Evt15", { abortBy: { source: "provider", reason, closeNow: true } });
    });
  }

  #seconds(): string {
    return `${this.#opts.artimTimeoutMs / 1000} s`;
  }

  #setEnd(end: End): void {
    if (this.#end) return;
    this.#end = end;
    if (end.kind === "aborted") this.#indicate(end);
  }

  /** Sta1: every timer stopped, transport closed, every waiter answered. */
  #finish(): void {
    this.#artim.stop();
    this.#peerWait.stop();
    this.#idle.stop();
    this.#spareBuffers = [];
    this.#reader.dispose();
    this.#transport.close();
    if (!this.#end) {
      this.#end = { kind: "aborted", source: "provider", reason: "connection closed" };
      this.#indicate(this.#end);
    } else if (this.#end.kind === "released") {
      this.#indicate({ kind: "released" });
    }
    this.#resume?.();
    this.#resolveClosed();
    if (!this.#established) this.#onFailed?.();
  }

  #indicate(ind: UlIndication): void {
    if (this.#queue.length === 0 && this.#waiters.length > 0 && ind.kind === "p-data") {
      // A receive() waits and nothing is queued before this (every response an SCU waits
      // for): handed to it at once, not through the queue. Reading was not paused (the queue
      // is empty), so there is nothing to resume.
      this.#waiters.shift()!(ind);
      return;
    }
    this.#queue.push(ind);
    if (ind.kind === "p-data") this.#queuedBytes += pDataTfDataLength(ind.pdu);
    this.#deliver();
  }

  #deliver(): void {
    while (this.#waiters.length > 0 && this.#queue.length > 0) {
      this.#waiters.shift()!(this.#take());
    }
    if (!this.#full()) this.#resume?.();
  }

  /** The first queued indication, taken off the queue unless it is the terminal one. */
  #take(): UlIndication {
    const ind = this.#queue.peek()!;
    const terminal = ind.kind === "aborted" || ind.kind === "released";
    if (!terminal) this.#queue.shift();
    if (ind.kind === "p-data") this.#queuedBytes -= pDataTfDataLength(ind.pdu);
    return ind;
  }

  /** Enough is waiting for the user: reading pauses. */
  #full(): boolean {
    return this.#queue.length >= HIGH_WATER || this.#queuedBytes >= HIGH_WATER_BYTES;
  }

  // ---- reading ----

  #startReading(): void {
    this.#readLoop().catch((err: unknown) => this.#internalError(err));
  }

  async #readLoop(): Promise<void> {
    const reader = this.#reader;
    const idle = (this.#opts.idleTimeoutMs ?? 0) > 0;
    // One step per read, from the transport's bytes to the indication: every message passes
    // here, and each function of its own on that path is one more for V8 to compile per process.
    while (this.state !== "Sta1") {
      if (this.#full() && ASSOCIATED.has(this.state)) {
        await new Promise<void>((resolve) => this.#resume = resolve);
        this.#resume = undefined;
        continue;
      }
      // Into the reader's memory: a PDU's body straight into its buffer, the rest into one
      // reused staging buffer.
      let n: number | null;
      try {
        n = await this.#transport.readInto(reader.room());
      } catch (err) {
        if ((this.state as State) !== "Sta1") {
          this.#log.debug(`transport read failed: ${errorText(err)}`);
        }
        n = null;
      }
      // Sta1 again meanwhile: the connection is over (the cast: TypeScript keeps the
      // narrowing of the loop's test across the await).
      if ((this.state as State) === "Sta1") return;
      if (n === null) {
        this.#dispatch("Evt17");
        return;
      }
      this.bytesReceived += n;
      this.lastActivity = performance.now();
      if (idle) this.#restartIdle(this.lastActivity);
      if (this.#discardInput) continue;
      reader.filled(n);
      // Every whole PDU the reader holds now, handed on.
      for (;;) {
        let item: ReadPdu | null;
        try {
          item = reader.next();
        } catch (err) {
          if (!(err instanceof PduDecodeError)) throw err;
          this.#log.debug(`malformed PDU from peer: ${err.message}`);
          this.#discardInput = true;
          this.#dispatch("Evt19", { decodeError: err });
          break;
        }
        if (item === null) break;
        const { pdu, raw, release } = item;
        if (this.#opts.onPdu) this.#onPdu("received", pdu, raw);
        this.#dispatch(PDU_EVENTS[pdu.type], { pdu, release });
        if ((this.state as State) === "Sta1") return;
      }
    }
  }

  /** Sta1 again: the connection is over (a method, so that checks after an await are not narrowed away). */
  #isIdle(): boolean {
    return this.state === "Sta1";
  }

  // ---- robustness ----

  #guard(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.#internalError(err);
    }
  }

  /** Reports a PDU to `onPdu`, if set (no closure is made per PDU otherwise). */
  #onPdu(dir: "sent" | "received", pdu: Pdu, raw: Uint8Array): void {
    const onPdu = this.#opts.onPdu;
    if (onPdu) this.#callback("onPdu", () => onPdu(dir, pdu, raw));
  }

  #callback(name: string, f: () => void): void {
    try {
      f();
    } catch (err) {
      this.#log.error(`${name} callback threw: ${errorText(err)}`);
    }
  }

  /** A bug in this runtime or the codec: log it and drop the connection. */
  #internalError(err: unknown): void {
    this.#log.error(`internal error in the upper layer: ${errorText(err)}`);
    if (this.state === "Sta1") return;
    this.state = "Sta1";
    this.#setEnd({ kind: "aborted", source: "provider", reason: "internal error" });
    this.#finish();
  }
}

/** PS3.8 Table 9-10: the event each received PDU type is. */
const PDU_EVENTS: Readonly<Record<Pdu["type"], Event>> = {
  "A-ASSOCIATE-RQ": "Evt6",
  "A-ASSOCIATE-AC": "Evt3",
  "A-ASSOCIATE-RJ": "Evt4",
  "P-DATA-TF": "Evt10",
  "A-RELEASE-RQ": "Evt12",
  "A-RELEASE-RP": "Evt13",
  "A-ABORT": "Evt16",
};

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Encoded PDUs waiting to be written together (see `Machine.#send`). */
interface WriteBatch {
  /** The first PDU's type (for the line of a failed write). */
  type: Pdu["type"];
  /** The first PDU, encoded (a batch of one is written as is). */
  first: Uint8Array;
  /**
   * All the PDUs, `first` included, back to back from `start`, in a reused
   * buffer or in a `PDataRun`'s memory; absent for a lone PDU encoded on its own.
   */
  buffer?: Uint8Array;
  /** Where the batch begins in `buffer` (0 in a reused buffer). */
  start: number;
  /** `buffer` is one of the reused batch buffers (not a run's memory, not absent). */
  pooled: boolean;
  /** Bytes queued in the batch. */
  length: number;
  /** Resolves once the batch is written. */
  written: Promise<void>;
}

/** A batch's `written` until it is chained to the writes before it. */
const SETTLED: Promise<void> = Promise.resolve();

/**
 * Where P-DATA-TF PDUs of up to {@link SMALL_PDU_MAX} bytes that start a batch
 * and are not pooled (commands, responses, short data sets) are encoded: no
 * ArrayBuffer per message, and the bytes handed to the transport (or kept by
 * an `onPdu` observer) are never written again.
 */
const SMALL_PDUS = new Slab(16384);

/** Largest batch of queued PDUs written in one transport call. */
const MAX_BATCH = 1 << 20;
/**
 * The smallest P-DATA-TF that starts its batch in a reused buffer: data
 * PDVs of a streamed data set. Smaller PDUs (commands, responses) are
 * encoded alone, so that an association that only answers holds no batch
 * buffer.
 */
const POOLED_MIN = 4096;
/**
 * Batch buffers kept for reuse. Writes go out one at a time, so a stream
 * needs two buffers, one being written while the next fills; both are
 * written by the time a store's response comes, and the next data set
 * needs both again. With one spare, every data set allocated (and zeroed)
 * a fresh 1 MiB buffer: half of storescu's CPU for 0.5 MB files. At 128
 * KiB PDUs a third batch is often full before the first is written (the
 * channel queues up to 1 MiB ahead), and with two spares 1 GiB allocated
 * hundreds of fresh buffers: storescu's copy into them (page faults) was
 * its largest item, 0.5 s; four keep every batch in reused memory.
 */
const SPARE_BUFFERS = 4;
