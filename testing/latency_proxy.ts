/**
 * A loopback TCP proxy that adds a fixed delay to each direction, to stand
 * in for a wide-area link (this kernel has no `tc netem`): for tests, for
 * `deno task bench --rtt MS`, and standalone through scripts/latency_proxy.ts.
 *
 * Each direction of each connection is a delay line, not a sleep per
 * chunk: a chunk is stamped when it arrives and released at arrival +
 * delay while the proxy goes on reading, so the link keeps its bandwidth
 * and only gains latency. A direction holds at most `maxBufferedBytes`;
 * beyond that the proxy stops reading and TCP's flow control pushes back on
 * the sender, so memory stays bounded and throughput per connection is at
 * most `maxBufferedBytes / delayMs` (2.5 GiB/s with the defaults at 25 ms).
 * That bound is the proxy's only window: the sender's own TCP window sees a
 * loopback round trip, so this models latency, not a TCP window that is
 * too small for the path.
 *
 * A FIN (half-close) travels in order, delayed like data; a reset or an
 * error on either side closes both sides at once.
 *
 * This module imports nothing from the repository: it is a leaf that tests
 * and scripts can both use.
 *
 * @module
 */

/** Where a latency proxy listens, where it forwards, and how much it delays. */
export interface LatencyProxyOptions {
  /** The server each accepted connection is forwarded to. */
  target: { hostname: string; port: number };
  /** Delay added to each direction, in ms (the round trip grows by twice this). */
  delayMs: number;
  /** Listen address (default 127.0.0.1). */
  hostname?: string;
  /** Listen port (default 0: the OS chooses; see `port`). */
  port?: number;
  /**
   * Bytes one direction of one connection may hold before the proxy stops
   * reading from its sender (default 64 MiB). Each queued chunk also counts
   * a fixed overhead, so a stream of tiny writes is bounded too.
   */
  maxBufferedBytes?: number;
  /** Size of each read (default 256 KiB). */
  readBytes?: number;
}

/** What a proxy has carried so far, both directions of every connection together. */
export interface LatencyProxyStats {
  /** Connections accepted. */
  connections: number;
  /** Bytes forwarded. */
  bytes: number;
  /** Reads forwarded (each is released as one unit at its arrival + delay). */
  chunks: number;
  /** The most bytes one direction of one connection held at once. */
  peakBufferedBytes: number;
}

/** Bytes counted for each queued chunk on top of its data, so tiny chunks are bounded too. */
const CHUNK_OVERHEAD = 256;

/** A chunk on its way through one direction; `bytes` null is the sender's FIN. */
interface Entry {
  bytes: Uint8Array | null;
  due: number;
  cost: number;
}

/** Sleeps until `performance.now()` reaches `due` (never less: timers may round down). */
async function sleepUntil(due: number): Promise<void> {
  for (let left = due - performance.now(); left > 0; left = due - performance.now()) {
    await new Promise((r) => setTimeout(r, Math.ceil(left)));
  }
}

/** One direction of one connection: reads from `src`, releases each chunk to `dst` after the delay. */
class DelayLine {
  readonly #queue: Entry[] = [];
  #head = 0;
  #buffered = 0;
  #wakeWriter: (() => void) | undefined;
  #wakeReader: (() => void) | undefined;
  #stopped = false;

  constructor(
    private readonly src: Deno.Conn,
    private readonly dst: Deno.Conn,
    private readonly o: Required<
      Pick<LatencyProxyOptions, "delayMs" | "maxBufferedBytes" | "readBytes">
    >,
    private readonly stats: LatencyProxyStats,
  ) {}

  /** Runs both halves; resolves when the FIN has been passed on, rejects on an error of either side. */
  run(): Promise<void> {
    const reading = this.#read();
    const writing = this.#write();
    // Whichever half fails first stops the other (it may be waiting for the first).
    return Promise.all([reading, writing].map((p) => p.catch((e) => this.#stop(e)))).then(
      () => undefined,
    );
  }

  #stop(err: unknown): never {
    this.#stopped = true;
    this.#wakeReader?.();
    this.#wakeWriter?.();
    throw err;
  }

  #push(entry: Entry): void {
    this.#queue.push(entry);
    this.#buffered += entry.cost;
    if (this.#buffered > this.stats.peakBufferedBytes) {
      this.stats.peakBufferedBytes = this.#buffered;
    }
    this.#wakeWriter?.();
  }

  async #read(): Promise<void> {
    const { delayMs, maxBufferedBytes, readBytes } = this.o;
    let buf = new Uint8Array(readBytes);
    for (;;) {
      while (this.#buffered >= maxBufferedBytes && !this.#stopped) {
        await new Promise<void>((r) => (this.#wakeReader = r));
      }
      if (this.#stopped) return;
      const n = await this.src.read(buf);
      const due = performance.now() + delayMs;
      if (n === null) {
        this.#push({ bytes: null, due, cost: 0 });
        return;
      }
      this.stats.chunks++;
      if (n < buf.length >> 1) {
        // A small read gets its own copy, so it does not pin a whole read buffer.
        this.#push({ bytes: buf.slice(0, n), due, cost: n + CHUNK_OVERHEAD });
      } else {
        this.#push({ bytes: buf.subarray(0, n), due, cost: buf.length + CHUNK_OVERHEAD });
        buf = new Uint8Array(readBytes);
      }
    }
  }

  async #write(): Promise<void> {
    for (;;) {
      while (this.#head === this.#queue.length && !this.#stopped) {
        await new Promise<void>((r) => (this.#wakeWriter = r));
      }
      if (this.#stopped) return;
      const entry = this.#queue[this.#head];
      // Everything already due goes out now, so timer granularity batches chunks, never throttles them.
      await sleepUntil(entry.due);
      this.#queue[this.#head++] = undefined as unknown as Entry;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue.splice(0, this.#head);
        this.#head = 0;
      }
      if (entry.bytes === null) {
        await this.dst.closeWrite();
        return;
      }
      for (let off = 0; off < entry.bytes.length;) {
        off += await this.dst.write(entry.bytes.subarray(off));
      }
      this.stats.bytes += entry.bytes.length;
      this.#buffered -= entry.cost;
      this.#wakeReader?.();
    }
  }
}

function closeQuietly(c: Deno.Conn): void {
  try {
    c.close();
  } catch {
    // Already closed.
  }
}

/**
 * A running latency proxy. Start one with `LatencyProxy.start`; `close()`
 * stops listening and closes every connection it carries.
 *
 * @example
 * ```ts
 * await using proxy = LatencyProxy.start({ target: { hostname: "127.0.0.1", port: 11112 }, delayMs: 25 });
 * // connect to 127.0.0.1:proxy.port: each round trip takes 50 ms more
 * ```
 */
export class LatencyProxy {
  readonly #listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #conns = new Set<Deno.Conn>();
  readonly #handlers = new Set<Promise<void>>();
  readonly #stats: LatencyProxyStats = {
    connections: 0,
    bytes: 0,
    chunks: 0,
    peakBufferedBytes: 0,
  };
  readonly #accepting: Promise<void>;
  readonly #options: Required<LatencyProxyOptions>;
  #closed = false;

  private constructor(o: LatencyProxyOptions) {
    if (!(o.delayMs >= 0) || !Number.isFinite(o.delayMs)) {
      throw new RangeError(`latency proxy: delay must be a number of ms >= 0, not ${o.delayMs}`);
    }
    this.#options = {
      hostname: "127.0.0.1",
      port: 0,
      maxBufferedBytes: 64 << 20,
      readBytes: 256 << 10,
      ...o,
    };
    this.#listener = Deno.listen({
      hostname: this.#options.hostname,
      port: this.#options.port,
      transport: "tcp",
    });
    this.#accepting = this.#accept();
  }

  /** Starts listening; connections are accepted until `close()`. */
  static start(o: LatencyProxyOptions): LatencyProxy {
    return new LatencyProxy(o);
  }

  /** The port the proxy listens on. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** The address the proxy listens on. */
  get hostname(): string {
    return this.#listener.addr.hostname;
  }

  /** A copy of the counters so far. */
  stats(): LatencyProxyStats {
    return { ...this.#stats };
  }

  async #accept(): Promise<void> {
    for (;;) {
      let client: Deno.TcpConn;
      try {
        client = await this.#listener.accept();
      } catch {
        return; // The listener was closed.
      }
      this.#stats.connections++;
      const h = this.#carry(client).finally(() => this.#handlers.delete(h));
      this.#handlers.add(h);
    }
  }

  async #carry(client: Deno.TcpConn): Promise<void> {
    this.#conns.add(client);
    let server: Deno.TcpConn | undefined;
    try {
      server = await Deno.connect({ ...this.#options.target, transport: "tcp" });
      this.#conns.add(server);
      if (this.#closed) return;
      client.setNoDelay(true);
      server.setNoDelay(true);
      const lines = [
        new DelayLine(client, server, this.#options, this.#stats).run(),
        new DelayLine(server, client, this.#options, this.#stats).run(),
      ];
      // Both directions end with their FIN; an error on one side (a reset, a closed
      // socket) rejects at once and ends both.
      await Promise.all(lines).catch(() => {});
      closeQuietly(client);
      closeQuietly(server);
      await Promise.allSettled(lines);
    } catch {
      // The target refused the connection: the client sees its connection closed.
    } finally {
      closeQuietly(client);
      this.#conns.delete(client);
      if (server) {
        closeQuietly(server);
        this.#conns.delete(server);
      }
    }
  }

  /** Stops listening, closes every connection carried, and waits until all are done. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener.close();
    await this.#accepting;
    for (const c of this.#conns) closeQuietly(c);
    while (this.#handlers.size) await Promise.allSettled([...this.#handlers]);
  }

  /** `await using` support: `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
