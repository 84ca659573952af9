/**
 * A data set arriving in fragments, handed to its consumer as an async
 * iterable of chunks. Contract: a chunk is valid until the consumer asks
 * for the next one (so that a receive buffer may be reused later); keep it
 * longer only as a copy. The producer waits until each chunk is taken:
 * a slow consumer slows the peer down (TCP flow control), memory stays
 * bounded. A transfer that ends early (an abort, a lost connection, a
 * timeout) makes the iteration throw {@link DatasetInterrupted}.
 *
 * @module
 */
import { DicomNetworkError } from "./errors.ts";

/** The data set stopped arriving before its last fragment; the association is over. */
export class DatasetInterrupted extends DicomNetworkError {
  /** The class name, for messages and logs. */
  override name = "DatasetInterrupted";
  /** Why, in plain words. */
  readonly reason: string;

  /** `reason`: what ended the transfer. */
  constructor(reason: string) {
    super(`the data set did not arrive whole: ${reason}`);
    this.reason = reason;
  }
}

/** Chunks pushed by the association's reader, pulled by a handler. */
export class ChunkQueue implements AsyncIterable<Uint8Array> {
  #chunk: Uint8Array | undefined;
  #last = false;
  #failed: DatasetInterrupted | undefined;
  #taken: (() => void) | undefined;
  #ready: (() => void) | undefined;
  #done = false;
  #iterating = false;
  /** Bytes pushed so far. */
  bytes = 0;

  /** True once the last fragment was taken, the transfer failed, or the consumer left. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Hands one fragment over; resolves once the consumer has asked for the
   * next one (or left, or the queue failed): only then may `chunk`'s memory
   * be reused.
   */
  push(chunk: Uint8Array, last: boolean): Promise<void> {
    if (this.#done) return Promise.resolve();
    this.bytes += chunk.length;
    this.#chunk = chunk;
    this.#last = last;
    const taken = new Promise<void>((resolve) => this.#taken = resolve);
    this.#ready?.();
    return taken;
  }

  /** Ends the iteration with an error: the transfer stopped before its last fragment. */
  fail(reason: string): void {
    if (this.#done) return;
    this.#failed = new DatasetInterrupted(reason);
    this.#done = true;
    this.#ready?.();
    this.#taken?.();
  }

  /** Reads and drops what is left (a handler that answered without reading it all). */
  async drain(): Promise<void> {
    if (this.#done || this.#iterating) return;
    try {
      for await (const _ of this) { /* dropped */ }
    } catch {
      // Interrupted: the association's reader reports it.
    }
  }

  /** The chunks in order; each valid until the next is asked for. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    if (this.#iterating) throw new TypeError("a data set can be read only once");
    this.#iterating = true;
    try {
      for (;;) {
        if (this.#chunk === undefined && !this.#failed) {
          await new Promise<void>((resolve) => this.#ready = resolve);
          this.#ready = undefined;
        }
        if (this.#chunk === undefined) throw this.#failed!;
        const chunk = this.#chunk;
        const last = this.#last;
        this.#chunk = undefined;
        yield chunk;
        // Asked for the next one: the previous chunk may be reused now.
        const taken = this.#taken;
        this.#taken = undefined;
        if (last) {
          this.#done = true;
          taken?.();
          return;
        }
        taken?.();
      }
    } finally {
      // The consumer left early: the rest is dropped as it comes.
      if (!this.#done) {
        this.#done = true;
        this.#taken?.();
      }
    }
  }
}
