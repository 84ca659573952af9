/**
 * DIMSE messages over an established association: commands and datasets
 * fragmented into P-DATA-TF PDUs that fill the peer's maximum length
 * (PS3.8 9.3.5, Annex D.1), and incoming PDVs reassembled into messages
 * (PS3.7 8.1). SCUs and SCPs of every service share it.
 *
 * @module
 */
import { type DimseMessage, encodeMessage } from "../dimse/messages.ts";
import { fragmentPdus, maxPdvDataLength, MessageAssembler } from "../dimse/fragment.ts";
import { DimseDecodeError } from "../dimse/errors.ts";
import type { AbortPdu, PDataTfPdu } from "../pdu/types.ts";
import { PDataRun, PDataRuns } from "../pdu/pdata.ts";
import type { AbortSource, UlAssociation, UlIndication } from "../ul/association.ts";
import { Fifo } from "../util/fifo.ts";
import { Deadline } from "../util/timer.ts";

/** What the channel hands its user, in arrival order. */
export type ChannelEvent =
  | { kind: "command"; contextId: number; message: DimseMessage }
  | {
    kind: "data";
    contextId: number;
    chunk: Uint8Array;
    last: boolean;
    /**
     * Gives the chunk's memory back for a later PDU to be read into, when
     * the upper layer lent it from a pool: call it once nothing holds the
     * chunk, or a view of it, any more (a consumer that copies or writes it
     * out synchronously, at once). Optional: not calling it costs only the
     * reuse; a second call does nothing.
     */
    release?: () => void;
  }
  | { kind: "release-requested" }
  | { kind: "released" }
  | { kind: "aborted"; source: AbortSource; reason: string; abort?: AbortPdu }
  /** Nothing within the time asked for; `slow`: a message arrived below the transfer floor. */
  | { kind: "timeout"; slow?: SlowTransfer }
  | { kind: "protocol-error"; reason: string };

/**
 * A transfer floor (a slow drip must not hold an association for ever):
 * while a message is arriving (a PDU or a command or data set begun but not
 * complete), every `windowMs` spent waiting for the peer must bring at
 * least `bytesPerSecond` times that wait, counted in raw bytes read.
 */
export interface TransferFloor {
  /** The lowest average rate accepted, bytes per second. */
  bytesPerSecond: number;
  /** The waiting time each judgement covers, milliseconds. */
  windowMs: number;
}

/** What a message that fell below the {@link TransferFloor} brought. */
export interface SlowTransfer {
  /** Bytes read during the window judged. */
  bytes: number;
  /** Seconds spent waiting for them. */
  seconds: number;
  /** The floor, bytes per second. */
  minBytesPerSecond: number;
}

/** Channel settings. */
export interface ChannelOptions {
  /** PDV data size when the peer sets no limit (its max length 0). */
  chunkSize?: number;
  /** Largest command set accepted from the peer. */
  maxCommandSetLength?: number;
  /** The slowest transfer accepted while a message arrives; none when absent. */
  floor?: TransferFloor;
}

/**
 * A data set to send after its command (see {@linkcode DimseChannel.send}):
 * bytes, one run of PDUs, a stream of runs, or a stream of chunks.
 */
export type OutgoingDataset = Uint8Array | PDataRun | PDataRuns | AsyncIterable<Uint8Array>;

/** Default PDV size when the peer accepts any length: large enough to amortise syscalls. */
export const DEFAULT_CHUNK = 64 * 1024;

/** One association's DIMSE message stream. */
export class DimseChannel {
  /** The association the messages travel on. */
  readonly association: UlAssociation;
  readonly #pdvLength: number;
  readonly #assembler: MessageAssembler;
  readonly #floor: TransferFloor | undefined;
  /** Events made and not yet taken (a ring: an array emptied by shift() allocates at its next push). */
  readonly #pending = new Fifo<ChannelEvent>();
  /** PDV-sized buffers for streamed data sets (see #sendStream), reused from message to message. */
  readonly #buffers: Uint8Array[] = [];
  /** A data set is streaming with #buffers. */
  #streaming = false;
  /** Times the waits of receive(). */
  readonly #deadline = new Deadline();
  /** A receive() of the upper layer not yet taken (its indication comes before any other). */
  #inflight: Promise<UlIndication> | undefined;
  /** #inflight's indication once it came (a timed wait watches it through #arrive). */
  #arrived: UlIndication | undefined;
  /** #inflight's failure once it failed. */
  #failed: { error: unknown } | undefined;
  /** The timed receive() waiting for the peer, the timer or its `stop`. */
  #waiting: TimedWait | undefined;
  /** Ends the current timed wait: the indication came, the deadline passed or `stop` aborted. */
  #wake: (() => void) | undefined;
  /** #wake while a timed receive() waits: it goes on from where it waited. */
  readonly #resume = (): void => {
    const w = this.#waiting!;
    this.#waiting = this.#wake = undefined;
    // Between waits the timer stays attached while the association is open (its read
    // pending keeps the process alive anyway); once it is closed, nothing may hold it.
    if (this.#open) this.#deadline.park();
    else this.#deadline.stop();
    w.stop?.removeEventListener("abort", this.#interrupt);
    this.#run(w, undefined);
  };
  readonly #arrive = (indication: UlIndication): void => {
    this.#arrived = indication;
    this.#wake?.();
  };
  readonly #fail = (error: unknown): void => {
    this.#failed = { error };
    this.#wake?.();
  };
  readonly #interrupt = (): void => this.#wake?.();
  /** Until the association's transport is closed: the timer may stay attached between waits. */
  #open: boolean;
  readonly #closed = (): void => {
    this.#open = false;
    // A wait under way stops it itself: the end's indication wakes it.
    if (this.#waiting === undefined) this.#deadline.stop();
  };
  /** The association's bytesReceived when the last indication was taken. */
  #bytesAtIndication = 0;
  /** While a message arrives: the floor's current window. */
  #window: { waitedMs: number; bytes: number } | undefined;

  /** Sizes PDVs for the peer's maximum PDU length (PS3.8 D.1). */
  constructor(association: UlAssociation, opts: ChannelOptions = {}) {
    this.association = association;
    this.#pdvLength = maxPdvDataLength(association.peerMaxPdu, opts.chunkSize ?? DEFAULT_CHUNK);
    this.#assembler = new MessageAssembler({
      maxCommandSetLength: opts.maxCommandSetLength ?? 64 * 1024,
    });
    this.#floor = opts.floor;
    this.#bytesAtIndication = association.bytesReceived;
    // An association object without `closed` (a partial stand-in) cannot say when it ends:
    // the timer is then detached after every wait.
    this.#open = association.closed !== undefined;
    association.closed?.then(this.#closed, this.#closed);
  }

  /** A message is arriving: a command or data set begun, or bytes of a PDU not yet whole. */
  get arriving(): boolean {
    return !this.#assembler.idle || this.association.bytesReceived > this.#bytesAtIndication;
  }

  /** Data bytes per PDV we send: the peer's maximum minus the PDV item header, made even. */
  get maxSendPdv(): number {
    return this.#pdvLength;
  }

  /**
   * Sends one command set and, when given, its data set (PS3.7 6.3.1, 8.1).
   *
   * A data set may be streamed: any chunk sizes are accepted (only the total
   * must be even, PS3.5 7.1), PDVs are filled to the peer's maximum, and the
   * last one is flagged last (PS3.8 E.2). Chunks may be reused by the
   * producer once the next one is asked for: their bytes are copied into
   * the PDU when it is queued. One data set is sent at a time on a channel:
   * a second `send` must wait until the first has resolved. At most {@link SEND_WINDOW} bytes wait for the socket, so a slow
   * peer slows the producer instead of filling memory. If the source throws,
   * the message is incomplete on the wire: the caller must abort the
   * association. A data set in a `PDataRun` (PDVs of at most
   * {@link DimseChannel.maxSendPdv} bytes) goes out from the run's memory,
   * not copied: the run may be refilled once the promise has settled. So
   * do the runs of a `PDataRuns`, each refilled as that class says.
   */
  send(contextId: number, message: DimseMessage, dataset?: OutgoingDataset): Promise<void> {
    // No async function here: a command alone (every response, every C-ECHO) is queued
    // and its write promise handed back as it is.
    let written: Promise<void>;
    try {
      // Runs that do not fit the peer's PDUs are refused before anything is queued.
      if (dataset instanceof PDataRun || dataset instanceof PDataRuns) {
        if (dataset.pdvLength > this.#pdvLength) {
          throw new RangeError(
            `PDVs of ${dataset.pdvLength} bytes: the peer takes at most ${this.#pdvLength}`,
          );
        }
        if (dataset.length % 2 !== 0) {
          throw new RangeError("odd data set length: DIMSE data sets are always even (PS3.5 7.1)");
        }
      }
      // Fragmented into P-DATA-TF PDUs (see fragmentPdus) and queued; the last PDU's write
      // promise is the caller's to handle (every earlier one is handled in #queue).
      const pdvLength = this.#pdvLength;
      written = this.#queue(fragmentPdus(contextId, true, encodeMessage(message), pdvLength));
      if (dataset === undefined) return written;
      written.catch(ignore);
      if (dataset instanceof Uint8Array) {
        return this.#queue(fragmentPdus(contextId, false, dataset, pdvLength));
      }
      if (dataset instanceof PDataRun) return this.#queue(dataset.pdus(contextId));
      if (dataset instanceof PDataRuns) return this.#sendRuns(contextId, dataset, written);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#sendStream(contextId, dataset, written);
  }

  /**
   * Sends a data set's runs in order, each queued as it comes (the upper
   * layer writes a run from its memory, PS3.8 9.3.5), the last PDV of the
   * run that completes `source.length` flagged last (E.2). Before the next
   * run is asked for, the write of the run before the one just queued is
   * awaited: the producer may then refill that run's memory, while the run
   * just queued is written (two buffers in turn, bounded memory whatever
   * the data set's length). `written`: the command's write.
   */
  async #sendRuns(contextId: number, source: PDataRuns, written: Promise<void>): Promise<void> {
    let sent = 0;
    // The write of the run before the one just queued (none before the first two).
    let before: Promise<void> | undefined;
    let last = written;
    for await (const run of source.runs) {
      if (run.pdvLength > source.pdvLength) {
        throw new RangeError(
          `a run of PDVs of ${run.pdvLength} bytes in runs of ${source.pdvLength}`,
        );
      }
      sent += run.length;
      if (sent > source.length) break;
      last = this.#queue(run.pdus(contextId, sent === source.length));
      last.catch(ignore);
      if (before) await before;
      before = last;
      // The source is asked once more after the last run: its end (a producer may count or
      // close there).
    }
    if (sent !== source.length) {
      throw new RangeError(`runs of ${sent} bytes for a data set of ${source.length}`);
    }
    await last;
  }

  /** Queues PDUs in order; the last one's write promise, which the caller must handle. */
  #queue(pdus: readonly PDataTfPdu[]): Promise<void> {
    let written: Promise<void> | undefined;
    // Indexed, not for-of: an array iterator (and, until optimised, a result per step) per message.
    for (let i = 0; i < pdus.length; i++) {
      const next = this.association.sendPData(pdus[i]);
      // PDUs joining one write batch share its promise: handled once, not once per PDU.
      if (written !== next) written?.catch(ignore);
      written = next;
    }
    return written!;
  }

  async #sendStream(
    contextId: number,
    source: AsyncIterable<Uint8Array>,
    written: Promise<void>,
  ): Promise<void> {
    const pdvLength = this.#pdvLength;
    // One PDV is held back until we know whether more follows, so that the
    // final one can carry the last-fragment bit. The upper layer copies a
    // PDU's data before sendPData returns, so the two buffers below are
    // reused from PDV to PDV: a PDV is assembled in `carry` when it spans
    // chunks, and one held back across a chunk boundary is kept in `hold`
    // (the producer may reuse the chunk once we ask for the next).
    let held: Uint8Array | undefined;
    // Another stream under way (which the caller should not allow) gets buffers of its own.
    const buffers = this.#streaming ? [] : this.#buffers;
    this.#streaming = true;
    const buffer = (i: number) => buffers[i] ??= new Uint8Array(pdvLength);
    let carry = buffer(0);
    let spare = buffer(1);
    const hold = buffer(2);
    let carried = 0;
    let unconfirmed = 0;
    let window: Promise<void> = written;
    const emit = (data: Uint8Array) => {
      if (held) {
        written = this.#sendPData(pdv(contextId, held, false));
        unconfirmed += held.length;
      }
      held = data;
    };
    try {
      for await (const chunk of source) {
        let offset = 0;
        if (carried > 0) {
          const take = Math.min(pdvLength - carried, chunk.length);
          carry.set(chunk.subarray(0, take), carried);
          carried += take;
          offset = take;
          if (carried === pdvLength) {
            emit(carry);
            // `carry` is held: the next PDV is assembled in the other buffer.
            [carry, spare] = [spare, carry];
            carried = 0;
          }
        }
        for (; chunk.length - offset >= pdvLength; offset += pdvLength) {
          emit(chunk.subarray(offset, offset + pdvLength));
        }
        if (offset < chunk.length) {
          carry.set(chunk.subarray(offset), carried);
          carried += chunk.length - offset;
        }
        if (held && held.buffer === chunk.buffer) {
          hold.set(held);
          held = hold.subarray(0, held.length);
        }
        if (unconfirmed >= SEND_WINDOW) {
          await window;
          window = written;
          unconfirmed = 0;
        }
      }
      if (carried % 2 !== 0) {
        throw new RangeError("odd data set length: DIMSE data sets are always even (PS3.5 7.1)");
      }
      if (carried > 0) emit(carry.subarray(0, carried));
      written = this.#sendPData(pdv(contextId, held ?? new Uint8Array(0), true));
    } finally {
      if (buffers === this.#buffers) this.#streaming = false;
    }
    await written;
  }

  /**
   * Queues one P-DATA-TF. Only the last PDU's promise (or the window's) is
   * awaited: once the association is gone (a peer's A-ABORT, a lost or stuck
   * connection) every queued PDU's promise rejects, and those superseded
   * unawaited must not count as unhandled rejections, which end a Deno process.
   */
  #sendPData(pdu: PDataTfPdu): Promise<void> {
    const written = this.association.sendPData(pdu);
    written.catch(ignore);
    return written;
  }

  /**
   * The next event, or `{kind: "timeout"}` once `timeoutMs` have passed
   * without one (0 or undefined: wait for ever), however many bytes or PDUs
   * short of an event arrived meanwhile; `{kind: "timeout", slow}` when a
   * message arrives below the transfer floor. A timeout loses nothing: the
   * read stays pending and its result is returned by the next call. When
   * `stop` aborts, the wait ends the same way (`{kind: "timeout"}`).
   */
  receive(timeoutMs?: number, stop?: AbortSignal): Promise<ChannelEvent> {
    // What the upper layer has already read (a data set streams in many PDUs per read) is
    // taken without a turn of the event loop: no promise of the UL's, no timer, no clock.
    try {
      const ev = this.#takeNow(stop);
      if (ev !== undefined) return Promise.resolve(ev);
    } catch (err) {
      return Promise.reject(err);
    }
    if (!timeoutMs && stop === undefined && !this.#floor && this.#inflight === undefined) {
      // No time limit of any kind (a requestor's reader without a DIMSE timeout): the
      // indication taken straight from the upper layer's promise, without a frame or a clock.
      return this.association.receive().then(this.#untimed);
    }
    return this.#receive(timeoutMs, stop);
  }

  /**
   * The next event if one is ready now (as receive() would give it without
   * waiting), else undefined: a consumer of a data set streaming in many
   * PDUs per read takes them without a promise and a turn each. Throws what
   * receive() would reject with.
   */
  poll(): ChannelEvent | undefined {
    return this.#takeNow(undefined);
  }

  /** An indication of an untimed receive(): its event, or the next receive() when it made none. */
  readonly #untimed = (indication: UlIndication): ChannelEvent | Promise<ChannelEvent> => {
    this.#bytesAtIndication = this.association.bytesReceived;
    return this.#absorb(indication) ?? this.#takeNow(undefined) ?? this.receive();
  };

  /**
   * receive() when nothing is ready yet: waits for the next indication. One
   * promise per call, settled by #run, which the indication, the timer or
   * `stop` call back (#resume) instead of async frames awaiting each other.
   */
  #receive(timeoutMs: number | undefined, stop: AbortSignal | undefined): Promise<ChannelEvent> {
    const { promise, resolve, reject } = Promise.withResolvers<ChannelEvent>();
    // One clock read for the deadline and the start of the first wait (#next): a data set
    // streaming in waits once per read.
    const now = timeoutMs || this.#floor ? performance.now() : undefined;
    const deadline = timeoutMs ? now! + timeoutMs : undefined;
    this.#run(new TimedWait(deadline, stop, resolve, reject), now);
    return promise;
  }

  /**
   * Goes on with a timed receive(): takes indications until one makes an
   * event or the wait times out, and settles it; returns early when it must
   * wait (#next arranged to be called back). `now`: the clock read at the
   * receive() call, for its first wait; undefined when called back after a
   * wait (#resume), or when nothing needed it.
   */
  #run(w: TimedWait, now: number | undefined): void {
    try {
      let got = w.t < 0 ? this.#next(w, now) : this.#waited(w, this.#settled());
      while (got !== undefined) {
        if (got.kind === "timeout") return w.resolve(got);
        const ev = this.#absorb(got) ?? this.#takeNow(w.stop);
        if (ev !== undefined) return w.resolve(ev);
        got = this.#next(w);
      }
    } catch (err) {
      w.reject(err);
    }
  }

  /**
   * The next event if one can be had without waiting: one pending, or made
   * from an indication the upper layer has queued or handed over. Undefined
   * when a wait is needed.
   */
  #takeNow(stop: AbortSignal | undefined): ChannelEvent | undefined {
    for (;;) {
      if (this.#pending.length > 0) return this.#pending.shift()!;
      if (stop?.aborted) return undefined;
      let indication: UlIndication | undefined;
      if (this.#inflight === undefined) {
        indication = this.association.poll?.();
        if (indication === undefined) return undefined;
        // The floor's bookkeeping of a wait (#next), for a wait that took no time.
        if (!this.#floor || !this.arriving) this.#window = undefined;
        else this.#window ??= { waitedMs: 0, bytes: this.#bytesAtIndication };
        this.#bytesAtIndication = this.association.bytesReceived;
      } else {
        // A read from an earlier wait (one that timed out) comes first, once it has come.
        indication = this.#settled();
        if (indication === undefined) return undefined;
      }
      const ev = this.#absorb(indication);
      if (ev !== undefined) return ev;
    }
  }

  /** #inflight's indication if it has come (taken: the next wait asks for another). */
  #settled(): UlIndication | undefined {
    const failed = this.#failed;
    const indication = this.#arrived;
    if (indication === undefined && failed === undefined) return undefined;
    this.#inflight = this.#arrived = this.#failed = undefined;
    this.#bytesAtIndication = this.association.bytesReceived;
    if (failed) throw failed.error;
    return indication;
  }

  /**
   * Takes one indication: a P-DATA's PDVs go through the assembler into
   * #pending (undefined is returned), except that the one event of a PDU of
   * one PDV is returned when nothing is pending (every command, every PDU of
   * a data set: no queue round trip); anything else is the event returned.
   */
  #absorb(indication: UlIndication): ChannelEvent | undefined {
    switch (indication.kind) {
      case "p-data":
        try {
          // The PDU's memory goes back when the data event of its last PDV is released.
          const pduRelease = indication.release;
          const pdvs = indication.pdu.pdvs;
          const lent = pduRelease &&
            (pdvs.length === 1 ? pduRelease : new LentPdu(pduRelease, pdvs.length));
          const pending = this.#pending;
          const lone = pdvs.length === 1 && pending.length === 0;
          for (let i = 0; i < pdvs.length; i++) {
            const ev = this.#assembler.take(pdvs[i]);
            if (ev === undefined) continue;
            // A command set that decodes but is no message we know ends the association.
            if (ev.kind === "command" && ev.error) throw ev.error;
            const made: ChannelEvent = ev.kind === "command"
              ? { kind: "command", contextId: ev.contextId, message: ev.message! }
              : lent
              ? new LentData(ev.contextId, ev.chunk, ev.last, lent)
              : ev;
            if (lone) return made;
            pending.push(made);
          }
        } catch (err) {
          if (!(err instanceof DimseDecodeError)) throw err;
          return { kind: "protocol-error", reason: err.message };
        }
        return undefined;
      case "release-requested":
      case "released":
        return { kind: indication.kind };
      case "aborted":
        return {
          kind: "aborted",
          source: indication.source,
          reason: indication.reason,
          ...(indication.abort && { abort: indication.abort }),
        };
    }
  }

  /**
   * The next indication, or a timeout at the wait's deadline or below the
   * floor; undefined when it must wait: #resume is then called back by
   * whichever comes first (the indication, the timer, `stop`). The callbacks
   * are made once per channel, and the timer is moved rather than re-armed
   * from wait to wait.
   */
  #next(w: TimedWait, now?: number): UlIndication | TimeoutEvent | undefined {
    if (this.#inflight === undefined) {
      this.#inflight = this.association.receive();
      this.#inflight.then(this.#arrive, this.#fail);
    }
    const floor = this.#floor;
    if (!floor || !this.arriving) this.#window = undefined;
    // Bytes that came during the wait before count, not its time: that wait may have been idle.
    else this.#window ??= { waitedMs: 0, bytes: this.#bytesAtIndication };
    const window = w.window = this.#window;
    const deadline = w.deadline;
    // The clock is read only for what needs it (the deadline, the floor's window), and only
    // once per receive() for its first wait.
    const clocked = deadline !== undefined || window !== undefined;
    const t = w.t = clocked ? now ?? performance.now() : 0;
    const left = deadline === undefined ? undefined : deadline - t;
    if (left !== undefined && left <= 0) return { kind: "timeout" };
    // With a floor, a wait ends at least once per window, to see whether a message began.
    const windowLeft = floor && (window ? floor.windowMs - window.waitedMs : floor.windowMs);
    const wait = windowLeft === undefined ? left : Math.min(left ?? windowLeft, windowLeft);
    if (w.stop?.aborted) return { kind: "timeout" };
    const indication = this.#settled();
    if (indication !== undefined) return this.#waited(w, indication);
    w.stop?.addEventListener("abort", this.#interrupt);
    this.#waiting = w;
    this.#wake = this.#resume;
    if (wait !== undefined) {
      this.#deadline.start(Math.max(1, wait), this.#interrupt, clocked ? t : performance.now());
    }
    return undefined;
  }

  /** After a wait (or none) that brought `indication`, or nothing: the floor's judgement. */
  #waited(
    w: TimedWait,
    indication: UlIndication | undefined,
  ): UlIndication | TimeoutEvent | undefined {
    const window = w.window;
    // Only time spent waiting for the peer counts: not the time our user took. A wait the
    // indication ended, ended when the upper layer read it (its lastActivity): no clock read.
    if (window) {
      const end = indication === undefined ? performance.now() : this.association.lastActivity;
      window.waitedMs += Math.max(0, end - w.t);
    }
    if (indication !== undefined) return indication;
    const floor = this.#floor;
    if (window && window.waitedMs >= floor!.windowMs) {
      const bytes = this.association.bytesReceived - window.bytes;
      if (bytes < (floor!.bytesPerSecond * window.waitedMs) / 1000) {
        const seconds = Math.round(window.waitedMs / 100) / 10;
        return {
          kind: "timeout",
          slow: { bytes, seconds, minBytesPerSecond: floor!.bytesPerSecond },
        };
      }
      this.#window = { waitedMs: 0, bytes: this.association.bytesReceived };
    }
    return this.#next(w);
  }
}

/** The timeout event of a wait. */
type TimeoutEvent = ChannelEvent & { kind: "timeout" };

/** One timed receive() under way: what its turns (#run) share. */
class TimedWait {
  /**
   * When the current wait began (performance.now()), if a deadline or a
   * window needs it (else 0); -1 before the first wait.
   */
  t = -1;
  /** The floor's window during the current wait. */
  window: { waitedMs: number; bytes: number } | undefined = undefined;

  constructor(
    /** When the receive() times out (performance.now()); undefined: never. */
    readonly deadline: number | undefined,
    readonly stop: AbortSignal | undefined,
    readonly resolve: (ev: ChannelEvent) => void,
    readonly reject: (err: unknown) => void,
  ) {}
}

/** Bytes of a streamed data set queued before waiting for the socket. */
export const SEND_WINDOW = 1 << 20;

/** Several data PDVs of one pooled PDU: its memory goes back once each of their events is released. */
class LentPdu {
  #holders: number;
  readonly #release: () => void;

  constructor(release: () => void, holders: number) {
    this.#release = release;
    this.#holders = holders;
  }

  drop(): void {
    if (--this.#holders === 0) this.#release();
  }
}

/**
 * A data event whose chunk lies in memory the upper layer lent (see
 * ChannelEvent `release`): a method, not a closure per PDU.
 */
class LentData {
  readonly kind = "data";
  readonly contextId: number;
  readonly chunk: Uint8Array;
  readonly last: boolean;
  /** The PDU's release (its only data PDV), or its share of several; undefined once released. */
  #lent: (() => void) | LentPdu | undefined;

  constructor(contextId: number, chunk: Uint8Array, last: boolean, lent: (() => void) | LentPdu) {
    this.contextId = contextId;
    this.chunk = chunk;
    this.last = last;
    this.#lent = lent;
  }

  release(): void {
    const lent = this.#lent;
    if (lent === undefined) return;
    this.#lent = undefined;
    if (typeof lent === "function") lent();
    else lent.drop();
  }
}

/** Handles a superseded write promise: its failure is seen through the last one. */
function ignore(): void {}

/** A P-DATA-TF of one data PDV. */
function pdv(contextId: number, data: Uint8Array, isLast: boolean): PDataTfPdu {
  return { type: "P-DATA-TF", pdvs: [{ contextId, isCommand: false, isLast, data }] };
}
