/**
 * An in-memory {@link Transport} pair for tests: bytes written on one end are
 * read, in order and unmodified, on the other; a read takes what fits of
 * one write at most, so writes are never joined. Closing either end makes
 * both ends' pending and later reads resolve null and their writes reject.
 *
 * @module
 */

import { concatBytes } from "../lib/util/bytes.ts";
import type { Endpoint, Transport } from "../lib/transport/transport.ts";

class Pipe {
  /** Writes not read yet; the first one's bytes before `head` were read. */
  chunks: Uint8Array[] = [];
  head = 0;
  /** Reads waiting for a write (or the close). */
  waiters: (() => void)[] = [];

  wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** Shared state of one connection: a pipe per direction and the closed flag. */
class Link {
  closed = false;
  readonly toA = new Pipe();
  readonly toB = new Pipe();
  closeListeners: (() => void)[] = [];

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const pipe of [this.toA, this.toB]) {
      pipe.wake();
    }
    for (const f of this.closeListeners.splice(0)) f();
  }
}

/** One end of an in-memory connection. */
export class MemoryTransport implements Transport {
  readonly #link: Link;
  readonly #in: Pipe;
  readonly #out: Pipe;
  /** The other end's address. */
  readonly remote: Endpoint;
  /** This end's address. */
  readonly local: Endpoint;

  /** Made by {@link memoryTransportPair}. */
  constructor(link: Link, inbound: Pipe, outbound: Pipe, local: Endpoint, remote: Endpoint) {
    this.#link = link;
    this.#in = inbound;
    this.#out = outbound;
    this.local = local;
    this.remote = remote;
  }

  /** Copies what fits of the other end's next write into `into`; null once the connection is closed. */
  async readInto(into: Uint8Array): Promise<number | null> {
    const pipe = this.#in;
    while (pipe.chunks.length === 0) {
      if (this.#link.closed) return null;
      await new Promise<void>((resolve) => pipe.waiters.push(resolve));
    }
    const chunk = pipe.chunks[0];
    const n = Math.min(into.length, chunk.length - pipe.head);
    into.set(chunk.subarray(pipe.head, pipe.head + n));
    pipe.head += n;
    if (pipe.head === chunk.length) {
      pipe.chunks.shift();
      pipe.head = 0;
    }
    return n;
  }

  /** Hands a copy of `data` to the other end; rejects once the connection is closed. */
  write(data: Uint8Array): Promise<void> {
    if (this.#link.closed) return Promise.reject(new Error("connection closed"));
    if (data.length === 0) return Promise.resolve();
    this.#out.chunks.push(data.slice());
    this.#out.wake();
    return Promise.resolve();
  }

  /** Closes both directions. */
  close(): void {
    this.#link.close();
  }

  /** Takes every byte written by the other end and not read yet, as one array. */
  drain(): Uint8Array {
    const pipe = this.#in;
    const first = pipe.chunks[0]?.subarray(pipe.head);
    pipe.head = 0;
    return concatBytes(pipe.chunks.splice(0).map((c, i) => i === 0 ? first! : c));
  }

  /** True once either end closed the connection. */
  get isClosed(): boolean {
    return this.#link.closed;
  }

  /** Resolves when either end closes the connection. */
  whenClosed(): Promise<void> {
    if (this.#link.closed) return Promise.resolve();
    return new Promise((resolve) => this.#link.closeListeners.push(resolve));
  }
}

/** A connected pair: `[ours, peer]`. */
export function memoryTransportPair(): [MemoryTransport, MemoryTransport] {
  const link = new Link();
  const a = { host: "127.0.0.1", port: 40000 };
  const b = { host: "127.0.0.1", port: 104 };
  return [
    new MemoryTransport(link, link.toA, link.toB, a, b),
    new MemoryTransport(link, link.toB, link.toA, b, a),
  ];
}
