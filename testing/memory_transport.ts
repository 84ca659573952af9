/**
 * An in-memory {@link Transport} pair for tests: bytes written on one end are
 * read, chunk by chunk and unmodified, on the other. Closing either end makes
 * both ends' pending and later reads resolve null and their writes reject.
 *
 * @module
 */

import { concatBytes } from "../lib/util/bytes.ts";
import type { Endpoint, Transport } from "../lib/transport/transport.ts";

class Pipe {
  chunks: Uint8Array[] = [];
  readers: ((chunk: Uint8Array | null) => void)[] = [];
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
      for (const r of pipe.readers.splice(0)) r(null);
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

  /** The next chunk the other end wrote, or null once the connection is closed. */
  read(): Promise<Uint8Array | null> {
    const chunk = this.#in.chunks.shift();
    if (chunk) return Promise.resolve(chunk);
    if (this.#link.closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#in.readers.push(resolve));
  }

  /** Hands a copy of `data` to the other end; rejects once the connection is closed. */
  write(data: Uint8Array): Promise<void> {
    if (this.#link.closed) return Promise.reject(new Error("connection closed"));
    const copy = data.slice();
    const reader = this.#out.readers.shift();
    if (reader) reader(copy);
    else this.#out.chunks.push(copy);
    return Promise.resolve();
  }

  /** Closes both directions. */
  close(): void {
    this.#link.close();
  }

  /** Takes every byte written by the other end and not read yet, as one array. */
  drain(): Uint8Array {
    return concatBytes(this.#in.chunks.splice(0));
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
