/**
 * An established association as a program uses it (the requestor's side,
 * returned by `associate()`): DIMSE operations as methods, responses
 * matched to their requests by message ID (PS3.7 9.1), so that several
 * operations may be outstanding at once (the asynchronous operations
 * window, PS3.7 D.3.3.3), and requests the peer sends on the same
 * association (the C-STORE sub-operations of a C-GET, PS3.4 C.4.3)
 * answered by the services given. One reader takes everything the peer
 * sends and hands it to whoever waits for it.
 *
 * @module
 */
import type {
  CEchoRsp,
  CGetRsp,
  CMoveRsp,
  CStoreRq,
  CStoreRsp,
  DimseMessage,
  ResponseStatusFields,
} from "../dimse/messages.ts";
import { COMMAND_FIELD, hasDataset, PRIORITY, type Priority } from "../dimse/messages.ts";
import { concatBytes } from "../util/bytes.ts";
import type { Logger } from "../log/logger.ts";
import type { AssociateAcPdu, AssociateRqPdu, AsynchronousOperationsWindow } from "../pdu/types.ts";
import type { TlsInfo } from "../transport/tls.ts";
import type { UlAssociation } from "../ul/association.ts";
import type { ChannelEvent, DimseChannel, OutgoingDataset } from "./channel.ts";
import {
  AssociationAborted,
  DatasetSourceFailed,
  DimseTimeout,
  NoPresentationContext,
  ProtocolError,
} from "./errors.ts";
import { type AcceptedContext, negotiatedAsyncWindow } from "./negotiation.ts";
import { type AssociationInfo, dispatchRequest, type Service } from "./service.ts";
import { VERIFICATION_SOP_CLASS } from "../dicom/uids.ts";
import { ChunkQueue } from "./chunks.ts";
import type { Attributes } from "../dicom/attributes.ts";
// Types only: the query/retrieve code (with the attribute codec) and the Part 10 reader (with the
// data dictionary) are loaded on first use, so that a plain C-ECHO does not load them.
import type * as qr from "./qr.ts";
import { after, type CancelTimer } from "../util/timer.ts";

/** A DIMSE response, with the data set that came with it (C-FIND identifiers...). */
export interface Response<M extends DimseMessage = DimseMessage> {
  /** The response message. */
  message: M;
  /** The data set that followed it, whole; absent when none did. */
  dataset?: Uint8Array;
}

/** Options of one operation. */
export interface OperationOptions {
  /** Cancels the operation: a multi-response one sends a C-CANCEL-RQ (PS3.7 9.3.2.3). */
  signal?: AbortSignal;
  /** The DIMSE timeout for this operation's responses; the association's when absent. */
  timeoutMs?: number;
  /** Message ID to use; the association numbers its requests when absent. */
  messageId?: number;
}

/** A data set to store and what it is. */
export interface StoreSource {
  /**
   * The data set, in `transferSyntax`: as bytes, as chunks in order (any
   * sizes, even total), or read into a `PDataRun` (or the `PDataRuns` of a
   * long one) whose PDVs fit the peer's ({@link Association.maxSendPdv}),
   * sent from the runs' memory.
   */
  dataset: OutgoingDataset;
  /** Its transfer syntax UID: a context accepted for its class and syntax carries it. */
  transferSyntax: string;
  /** SOP Class UID (0008,0016). */
  sopClassUid: string;
  /** SOP Instance UID (0008,0018). */
  sopInstanceUid: string;
}

/** Options of a C-STORE. */
export interface StoreOptions extends OperationOptions {
  /** The presentation context to send on; found from the class and syntax when absent. */
  contextId?: number;
  /** Priority (0000,0700); medium by default. */
  priority?: Priority;
  /** Called once the whole request is on its way, before the response is awaited. */
  onSent?: () => void;
}

/** Events of an association, for a logger or a tool's own lines. */
export type AssociationEvent =
  | { type: "aborting"; reason: string }
  | { type: "released" };

/** How the association was set up: what {@link Association} needs from `associate()`. */
export interface AssociationSetup {
  /** The upper layer's association. */
  ul: UlAssociation;
  /** Its DIMSE channel. */
  channel: DimseChannel;
  /** What we asked for. */
  rq: AssociateRqPdu;
  /** What the peer answered. */
  ac: AssociateAcPdu;
  /** The peer as asked for. */
  peer: { host: string; port: number };
  /** TLS details, over TLS. */
  tls?: TlsInfo;
  /** The association's name in log lines, `CALLING->CALLED(n)`. */
  name: string;
  /** The DIMSE timeout of operations; none when absent. */
  dimseTimeoutMs?: number;
  /** Services answering requests the peer sends on this association. */
  services: readonly Service[];
  /** Where neutral lines go (with the association's name), if anywhere. */
  logger?: Logger;
  /** Receives the association's events. */
  onEvent?: (e: AssociationEvent) => void;
}

/**
 * A waiting operation: its responses as they come, or the error that ended
 * it. `push` may return a promise: the reader then waits for it before
 * reading on (a multi-response operation whose caller lags behind), so
 * that TCP slows the peer down instead of responses piling up here.
 */
interface Waiter {
  messageId: number;
  push(r: Response): void | Promise<void>;
  fail(err: Error): void;
}

/** The one response of a single-response operation (see `#single`), or how it failed. */
class OneResponse implements Waiter {
  readonly messageId: number;
  got: Response | Error | undefined;
  /** Wakes the operation waiting for it. */
  wake: (() => void) | undefined;

  constructor(messageId: number) {
    this.messageId = messageId;
  }

  push(r: Response): void {
    this.got ??= r;
    // Woken here, not through a method shared with fail(): every echo passes here.
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  fail(err: Error): void {
    this.got ??= err;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/**
 * The operations of ours awaiting responses, by message ID. The one of a
 * lone operation (every echo, every store outside a window) is held apart
 * from the map: a Map emptied by `delete` shrinks its table and grows it
 * again at the next `set`, two allocations per operation.
 */
class Waiters {
  #lone: Waiter | undefined;
  readonly #more = new Map<number, Waiter>();

  get size(): number {
    return (this.#lone === undefined ? 0 : 1) + this.#more.size;
  }

  get(messageId: number): Waiter | undefined {
    const lone = this.#lone;
    return lone !== undefined && lone.messageId === messageId ? lone : this.#more.get(messageId);
  }

  set(w: Waiter): void {
    if (this.#lone === undefined && this.#more.size === 0) this.#lone = w;
    else this.#more.set(w.messageId, w);
  }

  delete(messageId: number): void {
    if (this.#lone !== undefined && this.#lone.messageId === messageId) this.#lone = undefined;
    else this.#more.delete(messageId);
  }

  /** Fails every waiting operation with `err`, in the order they started. */
  failAll(err: Error): void {
    this.#lone?.fail(err);
    for (const w of this.#more.values()) w.fail(err);
  }
}

/** Responses a multi-response operation holds before the reader waits for its caller. */
const RESPONSE_BACKLOG = 64;

/** An association established by `associate()`. */
export class Association implements AsyncDisposable {
  /** `CALLING->CALLED(n)`, as dcm4che names associations in its lines. */
  readonly name: string;
  /** The peer as asked for. */
  readonly peer: { host: string; port: number };
  /** Our A-ASSOCIATE-RQ. */
  readonly rq: AssociateRqPdu;
  /** The peer's A-ASSOCIATE-AC. */
  readonly ac: AssociateAcPdu;
  /** The accepted presentation contexts, in order. */
  readonly contexts: readonly AcceptedContext[];
  /** TLS details (protocol, cipher, peer certificate); absent over plain TCP. */
  readonly tls?: TlsInfo;
  /**
   * The DIMSE channel underneath, for tools that send messages of their
   * own making; an operation in progress must not be mixed with it.
   */
  readonly channel: DimseChannel;
  /**
   * The Asynchronous Operations Window in force (PS3.7 D.3.3.3):
   * `maxOperationsInvoked` requests of ours may await their responses at
   * once (0: unlimited), `maxOperationsPerformed` of the peer's may await
   * ours. One each unless both sides agreed on more (`asyncWindow` of
   * `associate()`); operations beyond the window wait for a place.
   */
  readonly asyncWindow: AsynchronousOperationsWindow;
  readonly #ul: UlAssociation;
  /** Places in the window: each operation holds one from its request to its final response. */
  readonly #places: Places;
  /** The send under way: messages go out one after another, never interleaved (PS3.8 9.3.5). */
  #sending: Promise<unknown> = Promise.resolve();
  /** Sends queued in or running from #sending. */
  #sendsUnderWay = 0;
  readonly #setup: AssociationSetup;
  readonly #waiters = new Waiters();
  #nextMessageId = 1;
  /** What ended the association, once it has ended. */
  #ended: Error | undefined;
  #released = false;
  #pump: Promise<void> | undefined;
  /** Data fragments of a message being received go here. */
  #data: ((chunk: Uint8Array, last: boolean) => Promise<void>) | undefined;
  /** The data set of a request from the peer being received (a C-GET's C-STORE). */
  #incomingData: ChunkQueue | undefined;

  /** Use `associate()`. */
  constructor(setup: AssociationSetup) {
    this.#setup = setup;
    this.#ul = setup.ul;
    this.channel = setup.channel;
    this.rq = setup.rq;
    this.ac = setup.ac;
    this.peer = setup.peer;
    this.tls = setup.tls;
    this.name = setup.name;
    this.asyncWindow = negotiatedAsyncWindow(setup.rq, setup.ac);
    this.#places = new Places(this.asyncWindow.maxOperationsInvoked);
    const proposed = new Map(setup.rq.presentationContexts.map((pc) => [pc.id, pc]));
    this.contexts = setup.ac.presentationContexts.flatMap((pc) => {
      const p = proposed.get(pc.id);
      return pc.result === 0 && p && p.transferSyntaxes.includes(pc.transferSyntax)
        ? [{ id: pc.id, abstractSyntax: p.abstractSyntax, transferSyntax: pc.transferSyntax }]
        : [];
    });
  }

  /** Calling AE title (ours). */
  get callingAeTitle(): string {
    return this.rq.callingAeTitle;
  }

  /** Called AE title (the peer's). */
  get calledAeTitle(): string {
    return this.rq.calledAeTitle;
  }

  /** Data bytes per PDV we send (the peer's maximum PDU length less the PDV header, even). */
  get maxSendPdv(): number {
    return this.channel.maxSendPdv;
  }

  /** Whether the association still stands (not released, aborted or lost). */
  get open(): boolean {
    return this.#ended === undefined && this.#ul.state === "Sta6";
  }

  /**
   * The accepted context for `abstractSyntax` (and `transferSyntax` when
   * given), or undefined.
   */
  contextFor(abstractSyntax: string, transferSyntax?: string): AcceptedContext | undefined {
    return this.contexts.find((c) =>
      c.abstractSyntax === abstractSyntax &&
      (transferSyntax === undefined || c.transferSyntax === transferSyntax)
    );
  }

  /** A message ID for a request of ours (1, 2, 3... wrapping within 16 bits). */
  nextMessageId(): number {
    const id = this.#nextMessageId;
    this.#nextMessageId = id === 0xffff ? 1 : id + 1;
    return id;
  }

  /**
   * C-ECHO (PS3.7 9.1.5): resolves with the response (its `status`: 0 is
   * success); throws {@link NoPresentationContext} when Verification was not
   * accepted, and the association's errors (aborted, timed out...).
   *
   * @example Echo a peer
   * ```ts ignore
   * await using assoc = await associate("ANY-SCP@127.0.0.1:104");
   * const rsp = await assoc.echo();
   * console.log(rsp.status === 0 ? "alive" : `status ${rsp.status}`);
   * ```
   */
  echo(o: OperationOptions & { contextId?: number } = {}): Promise<CEchoRsp> {
    // No async frame of its own: a --repeat run passes here for every echo.
    let single: Promise<DimseMessage>;
    try {
      const contextId = o.contextId ?? this.#context(VERIFICATION_SOP_CLASS).id;
      const messageId = o.messageId ?? this.nextMessageId();
      single = this.#single(
        contextId,
        { type: "C-ECHO-RQ", messageId, affectedSopClassUid: VERIFICATION_SOP_CLASS },
        undefined,
        "C-ECHO",
        o,
      );
    } catch (err) {
      return Promise.reject(err);
    }
    return single as Promise<CEchoRsp>;
  }

  /**
   * C-STORE (PS3.7 9.1.1) of one data set, streamed (PDVs filled to the
   * peer's maximum; a slow peer slows the source down). Resolves with the
   * response whatever its status; throws {@link NoPresentationContext} when
   * no context fits the data set's class and syntax,
   * {@link DatasetSourceFailed} (the association aborted) when the source
   * throws after part of the data set went out, and the association's errors.
   * A path names a DICOM file (Part 10, or a bare data set in implicit VR
   * little endian): its data set is streamed as it is, in its own syntax.
   */
  async store(source: StoreSource | string, o: StoreOptions = {}): Promise<CStoreRsp> {
    if (typeof source === "string") source = await fileSource(source);
    const context = o.contextId === undefined
      ? this.#context(source.sopClassUid, source.transferSyntax)
      : this.contexts.find((c) => c.id === o.contextId) ?? this.#context(source.sopClassUid);
    const request: CStoreRq = {
      type: "C-STORE-RQ",
      messageId: o.messageId ?? this.nextMessageId(),
      affectedSopClassUid: source.sopClassUid,
      affectedSopInstanceUid: source.sopInstanceUid,
      priority: o.priority ?? PRIORITY.medium,
    };
    return await this.#single(context.id, request, source.dataset, "C-STORE", o) as CStoreRsp;
  }

  /**
   * Sends `request` (with its data set, if any) on `contextId` and yields
   * every response to it, pending ones first, until the final one (PS3.7
   * 9.1.2-9.1.4: C-FIND, C-GET and C-MOVE answer with pending responses
   * before the last). Aborting `o.signal` sends a C-CANCEL-RQ (PS3.7
   * 9.3.2.3) and the responses go on until the peer's final one. Leaving
   * the loop early cancels the same way, without waiting.
   */
  async *request(
    contextId: number,
    request: DimseMessage & { messageId: number },
    dataset?: Uint8Array | AsyncIterable<Uint8Array>,
    o: OperationOptions = {},
  ): AsyncGenerator<Response> {
    const queue: (Response | Error)[] = [];
    let wake: (() => void) | undefined;
    let drained: (() => void) | undefined;
    const waiter: Waiter = {
      messageId: request.messageId,
      push: (r) => {
        queue.push(r);
        wake?.();
        if (queue.length < RESPONSE_BACKLOG) return;
        return new Promise<void>((resolve) => drained = resolve);
      },
      fail: (err) => {
        queue.push(err);
        wake?.();
      },
    };
    let final = false;
    let cancelled = false;
    const cancel = () => {
      if (cancelled || final || !this.open) return;
      cancelled = true;
      this.#exclusive(contextId, {
        type: "C-CANCEL-RQ",
        messageIdBeingRespondedTo: request.messageId,
      }).catch(() => {});
    };
    const place = this.#places.take();
    if (place) await place;
    try {
      this.#expect(waiter);
    } catch (err) {
      this.#places.give();
      throw err;
    }
    o.signal?.addEventListener("abort", cancel, { once: true });
    try {
      await this.#exclusive(contextId, request, dataset, this.#sendFailed);
      if (o.signal?.aborted) cancel();
      const operation = request.type.replace(/-RQ$/, "");
      for (;;) {
        while (queue.length === 0) {
          await this.#wait(() => queue.length > 0, (w) => wake = w, operation, o);
        }
        const next = queue.shift()!;
        if (drained && queue.length < RESPONSE_BACKLOG / 2) {
          drained();
          drained = undefined;
        }
        if (next instanceof Error) throw next;
        final = !isPending(next.message);
        yield next;
        if (final) return;
      }
    } finally {
      o.signal?.removeEventListener("abort", cancel);
      this.#waiters.delete(request.messageId);
      // The reader may wait for us: it goes on (to whoever comes next).
      drained?.();
      this.#places.give();
      if (!final) cancel();
    }
  }

  /**
   * C-FIND (PS3.7 9.1.2): each match as the peer sends it, then the final
   * response. See {@link qr.find}.
   *
   * @example Find studies
   * ```ts ignore
   * await using assoc = await associate("PACS@10.0.0.5:104", qrContexts({ model: "study" }));
   * const query = [attribute(0x00080052, "STUDY"), attribute(0x0020000d)];
   * for await (const r of assoc.find(query, { model: "study" })) {
   *   if (r.match) console.log(r.attributes());
   * }
   * ```
   */
  async *find(
    identifier: Attributes | qr.EncodedIdentifier,
    o: qr.QrOptions,
  ): AsyncGenerator<qr.FindResponse> {
    yield* (await import("./qr.ts")).find(this, identifier, o);
  }

  /**
   * C-MOVE (PS3.7 9.1.4) to `o.destination`: responses with sub-operation
   * counts, then the final one. See {@link qr.move}.
   */
  async *move(
    identifier: Attributes | qr.EncodedIdentifier,
    o: qr.MoveOptions,
  ): AsyncGenerator<qr.RetrieveResponse<CMoveRsp>> {
    yield* (await import("./qr.ts")).move(this, identifier, o);
  }

  /**
   * C-GET (PS3.7 9.1.3): the C-STOREs come on this association, answered
   * by the `services` given to `associate()`; responses with sub-operation
   * counts, then the final one. See {@link qr.get}.
   */
  async *get(
    identifier: Attributes | qr.EncodedIdentifier,
    o: qr.QrOptions,
  ): AsyncGenerator<qr.RetrieveResponse<CGetRsp>> {
    yield* (await import("./qr.ts")).get(this, identifier, o);
  }

  /**
   * Releases the association (PS3.8 7.2) once the operations under way are
   * answered; when the peer asked first, or ended it, the release is
   * answered or the way it ended thrown ({@link AssociationAborted}).
   */
  async release(): Promise<void> {
    if (this.#released) return;
    await this.#places.idle();
    if (this.#ended) throw this.#ended;
    if (this.#ul.state === "Sta6") {
      const released = await this.#ul.release();
      if (released !== "released") {
        throw this.#end(new AssociationAborted({ source: "provider", reason: released.aborted }));
      }
      this.#markReleased();
      await this.#pump;
      return;
    }
    // The peer left Sta6 first: its A-RELEASE-RQ is answered; an abort is reported.
    const ended = await this.#terminal();
    if (!this.#released) throw ended;
  }

  /** Released, by us or the peer: operations after it fail with "released". */
  #markReleased(): void {
    if (this.#released) return;
    this.#released = true;
    this.#end(new AssociationAborted({ source: "local", reason: "released" }));
    this.#setup.onEvent?.({ type: "released" });
    this.#log("info", "released");
  }

  /** Aborts the association (PS3.8 7.3); safe in any state. */
  async abort(opts: { closeNow?: boolean } = {}): Promise<void> {
    this.#end(new AssociationAborted({ source: "local", reason: "aborted by the local user" }));
    await this.#ul.abort(opts);
  }

  /** Releases the association if it still stands (`await using`), else makes sure it is closed. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.open) {
      try {
        await this.release();
        return;
      } catch {
        // Aborted or lost meanwhile: closed below.
      }
    }
    await this.#ul.abort({ closeNow: true }).catch(() => {});
  }

  // ---- internals ----

  #context(abstractSyntax: string, transferSyntax?: string): AcceptedContext {
    const c = this.contextFor(abstractSyntax, transferSyntax);
    if (c) return c;
    throw new NoPresentationContext(
      this.ac,
      abstractSyntax,
      transferSyntax === undefined
        ? `no accepted presentation context for ${abstractSyntax}`
        : `no accepted presentation context for ${abstractSyntax} in ${transferSyntax}`,
    );
  }

  /** One request, one response: its message (C-ECHO and C-STORE responses carry no data set). */
  async #single(
    contextId: number,
    request: DimseMessage & { messageId: number },
    dataset: OutgoingDataset | undefined,
    operation: string,
    o: StoreOptions,
  ): Promise<DimseMessage> {
    const waiter = new OneResponse(request.messageId);
    const place = this.#places.take();
    if (place) await place;
    try {
      this.#expect(waiter);
    } catch (err) {
      this.#places.give();
      throw err;
    }
    try {
      await this.#exclusive(contextId, request, dataset, this.#sendFailed);
      o.onSent?.();
      const timed = Boolean(o.timeoutMs ?? this.#setup.dimseTimeoutMs);
      while (waiter.got === undefined) {
        if (timed) {
          await this.#wait(() => waiter.got !== undefined, (w) => waiter.wake = w, operation, o);
        } else {
          // No DIMSE timeout: only the response (or the end) wakes us. No executor closure
          // per wait, and no method of its own (every echo waits here).
          const { promise, resolve } = Promise.withResolvers<void>();
          waiter.wake = resolve;
          await promise;
        }
      }
      const got = waiter.got;
      if (got instanceof Error) throw got;
      // PS3.7 E.1: a response's CommandField is its request's with bit 15 set.
      if (COMMAND_FIELD[got.message.type] !== (COMMAND_FIELD[request.type] | 0x8000)) {
        const err = new ProtocolError("unexpected-message", got.message.type);
        await this.#protocolError(err);
        throw err;
      }
      return got.message;
    } finally {
      this.#waiters.delete(request.messageId);
      this.#places.give();
    }
  }

  /**
   * Sends `message` (with `dataset`) on `contextId` once the sends before it are done
   * (whatever their outcome): one message on the wire at a time. `failed`, when given, maps
   * a failure of this send (see #sendFailed).
   */
  #exclusive(
    contextId: number,
    message: DimseMessage,
    dataset?: OutgoingDataset,
    failed?: (err: unknown) => Promise<never>,
  ): Promise<void> {
    // Nothing under way (one request at a time, the common case): at once, not a turn later,
    // and without a closure.
    let run: Promise<void>;
    if (this.#sendsUnderWay === 0) {
      try {
        run = this.channel.send(contextId, message, dataset);
      } catch (err) {
        run = Promise.reject(err);
      }
      // A message without a data set is queued whole, in order, before send() returns: no
      // send after it can come between its PDUs, so it is not one to wait for (every echo).
      if (dataset === undefined) return failed === undefined ? run : run.catch(failed);
    } else {
      const send = () => this.channel.send(contextId, message, dataset);
      run = this.#sending.then(send, send);
    }
    this.#sendsUnderWay++;
    if (failed === undefined) {
      this.#sending = run.then(this.#sendDone, this.#sendDone);
      return run;
    }
    // One promise both ends the send and maps its failure; the next send follows it
    // whatever its outcome, and its caller handles the failure.
    const sent = run.then(this.#sendDone, (err: unknown) => {
      this.#sendDone();
      return failed(err);
    });
    this.#sending = sent;
    return sent;
  }

  /** One send of #exclusive is over. */
  readonly #sendDone = (): void => {
    this.#sendsUnderWay--;
  };

  #expect(w: Waiter): void {
    if (this.#ended) throw this.#ended;
    if (this.#waiters.get(w.messageId) !== undefined) {
      throw new RangeError(`message ID ${w.messageId} is already waiting for its response`);
    }
    this.#waiters.set(w);
    this.#pump ??= this.#read();
  }

  /**
   * Why a request could not be sent (see #single): when the association
   * ended before or under it (the peer's A-ABORT, a lost connection), how it
   * ended; when the data set's source failed, {@link DatasetSourceFailed},
   * and the association is aborted. Always throws.
   */
  readonly #sendFailed = async (err: unknown): Promise<never> => {
    if (this.#ul.state === "Sta6") {
      // Part of the data set is out: PS3.7 has no way to take it back but the abort.
      const failed = new DatasetSourceFailed(err);
      this.#setup.onEvent?.({ type: "aborting", reason: failed.message });
      this.#end(new AssociationAborted({ source: "local", reason: failed.message }));
      await this.#ul.abort();
      throw failed;
    }
    throw await this.#terminal();
  };

  /**
   * Waits until `done()` holds, a response wakes it, or the DIMSE timeout
   * passes (the association is then aborted at once: a peer that lets it
   * pass will not close it either).
   */
  async #wait(
    done: () => boolean,
    setWake: (w: (() => void) | undefined) => void,
    operation: string,
    o: OperationOptions,
  ): Promise<void> {
    const ms = o.timeoutMs ?? this.#setup.dimseTimeoutMs;
    let cancel: CancelTimer | undefined;
    let timedOut = false;
    await new Promise<void>((resolve) => {
      setWake(resolve);
      if (done()) return resolve();
      if (ms) {
        cancel = after(ms, () => {
          timedOut = true;
          resolve();
        });
      }
    });
    setWake(undefined);
    cancel?.();
    if (timedOut && !done()) {
      const err = new DimseTimeout(operation, ms!);
      this.#setup.onEvent?.({ type: "aborting", reason: err.message });
      this.#log("error", `${err.message}: aborting`);
      this.#end(err);
      await this.#ul.abort({ closeNow: true });
      throw err;
    }
  }

  /** Records how the association ended and fails every waiting operation with it. */
  #end(err: Error): Error {
    if (this.#ended) return this.#ended;
    this.#ended = err;
    // A data set the peer was sending us will not be completed: its handler must not wait.
    this.#incomingData?.fail(err.message);
    this.#waiters.failAll(err);
    return err;
  }

  /** How the association ended, once the reader has seen it end. */
  async #terminal(): Promise<Error> {
    if (this.#ended) return this.#ended;
    this.#pump ??= this.#read();
    await this.#pump;
    return this.#ended ?? new AssociationAborted({ source: "provider", reason: "closed" });
  }

  /** The one reader: every event of the channel goes to whoever it belongs to. */
  async #read(): Promise<void> {
    for (;;) {
      const ev: ChannelEvent = await this.channel.receive();
      switch (ev.kind) {
        case "command": {
          const m = ev.message;
          if ("messageIdBeingRespondedTo" in m && m.type.endsWith("-RSP")) {
            const w = this.#waiters.get(m.messageIdBeingRespondedTo);
            if (!w) {
              // PS3.7 9.1: a response names the request it answers; this one answers none of ours.
              await this.#protocolError(
                new ProtocolError(
                  "unknown-message-id",
                  `${m.type} (message ID ${m.messageIdBeingRespondedTo}, none of ours)`,
                ),
              );
              return;
            }
            if (hasDataset(m)) {
              const parts: Uint8Array[] = [];
              this.#data = (chunk, last) => {
                parts.push(chunk.slice());
                if (last) {
                  this.#data = undefined;
                  return w.push({ message: m, dataset: concatBytes(parts) }) ?? Promise.resolve();
                }
                return Promise.resolve();
              };
            } else {
              const full = w.push({ message: m });
              if (full) await full;
            }
            continue;
          }
          if (!(await this.#incoming(ev.contextId, m))) return;
          continue;
        }
        case "data":
          if (!this.#data) {
            await this.#protocolError(new ProtocolError("unexpected-event", "data"));
            return;
          }
          await this.#data(ev.chunk, ev.last);
          continue;
        case "release-requested":
          if (this.#waiters.size > 0) {
            await this.#protocolError(new ProtocolError("release-requested", "A-RELEASE-RQ"));
            return;
          }
          // PS3.8 AR-4: the peer may release when nothing is outstanding.
          await this.#ul.respondRelease().catch(() => {});
          this.#markReleased();
          return;
        case "released":
          this.#markReleased();
          return;
        case "aborted":
          this.#log(
            ev.source === "local" ? "info" : "error",
            `aborted (${ev.source}): ${ev.reason}`,
          );
          this.#end(
            new AssociationAborted({ source: ev.source, reason: ev.reason, abort: ev.abort }),
          );
          return;
        case "protocol-error":
          await this.#protocolError(new ProtocolError("malformed", ev.reason));
          return;
        case "timeout":
          continue;
      }
    }
  }

  async #protocolError(err: ProtocolError): Promise<void> {
    this.#log("error", `${err.message}: aborting`);
    this.#setup.onEvent?.({ type: "aborting", reason: err.message });
    this.#end(err);
    await this.#ul.abort();
  }

  /**
   * A request from the peer on our association (the C-STORE sub-operations
   * of a C-GET): answered by the services given to `associate()`, with the
   * C-STORE SCP role negotiated (PS3.7 D.3.3.4). False when it ended the
   * association.
   */
  async #incoming(contextId: number, m: DimseMessage): Promise<boolean> {
    const context = this.contexts.find((c) => c.id === contextId);
    if (!context) {
      await this.#protocolError(
        new ProtocolError("unexpected-message", `${m.type} on context ${contextId}`),
      );
      return false;
    }
    const data = m.type === "C-STORE-RQ" ? new ChunkQueue() : undefined;
    if (data) {
      this.#data = (chunk, last) => data.push(chunk, last);
      this.#incomingData = data;
    }
    const info: AssociationInfo = {
      name: this.name,
      peer: this.peer,
      callingAeTitle: this.rq.callingAeTitle,
      calledAeTitle: this.rq.calledAeTitle,
      rq: this.rq,
      ac: this.ac,
    };
    const controller = new AbortController();
    const answered = dispatchRequest(this.#setup.services, {
      message: m,
      context,
      association: info,
      dataset: data,
      signal: controller.signal,
      send: (rsp) => this.#exclusive(contextId, rsp),
      logger: this.#setup.logger,
    });
    // The reader goes on feeding the data set while the service consumes it.
    if (!data) {
      const ok = await answered;
      if (!ok) await this.#protocolError(new ProtocolError("unexpected-message", m.type));
      return ok;
    }
    answered.then((ok) => {
      if (!ok) return this.#protocolError(new ProtocolError("unexpected-message", m.type));
    }).catch((err) => {
      this.#log("error", `service failed: ${err instanceof Error ? err.message : err}`);
    }).finally(() => {
      if (this.#data && data.done) this.#data = undefined;
      if (this.#incomingData === data) this.#incomingData = undefined;
    });
    return true;
  }

  #log(level: "info" | "error", line: string): void {
    const log = this.#setup.logger;
    if (log?.isEnabled(level)) log[level](`${this.name}: ${line}`);
  }
}

/** Whether a response says more follow (PS3.7 C: 0xFF00, 0xFF01 pending). */
function isPending(m: DimseMessage): boolean {
  return "status" in m && (m as ResponseStatusFields).status !== undefined &&
    ((m as ResponseStatusFields).status & 0xff00) === 0xff00;
}

/** A file's data set as a {@link StoreSource}: read in chunks as it goes out, never whole. */
async function fileSource(path: string): Promise<StoreSource> {
  const { inspectDicomFile, readDatasetChunks } = await import("../dicom/part10.ts");
  const info = await inspectDicomFile(path, "file-or-dataset");
  return {
    // One buffer reused for every chunk: the channel copies each into its PDUs first.
    dataset: readDatasetChunks(info, 64 * 1024, { reuse: true }),
    transferSyntax: info.transferSyntaxUid,
    sopClassUid: info.sopClassUid,
    sopInstanceUid: info.sopInstanceUid,
  };
}

/**
 * Places in the asynchronous operations window (PS3.7 D.3.3.3): a
 * counting semaphore, first come first served; 0 places: unlimited.
 */
class Places {
  readonly #size: number;
  #taken = 0;
  readonly #queue: (() => void)[] = [];
  readonly #idle: (() => void)[] = [];

  constructor(size: number) {
    this.#size = size;
  }

  /** A place is ours at once (undefined), or once the promise resolves. */
  take(): Promise<void> | undefined {
    if (this.#size === 0 || this.#taken < this.#size) {
      this.#taken++;
      return undefined;
    }
    return new Promise((resolve) => this.#queue.push(resolve));
  }

  /** Gives a place back: the first waiting takes it over. */
  give(): void {
    const next = this.#queue.shift();
    if (next) next();
    // No array taken out per operation when nobody waits for idle (every echo passes here).
    else if (--this.#taken === 0 && this.#idle.length > 0) {
      for (const idle of this.#idle.splice(0)) idle();
    }
  }

  /** Resolves once no place is taken (every operation answered or failed). */
  idle(): Promise<void> {
    if (this.#taken === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
