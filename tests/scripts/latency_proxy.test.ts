/**
 * The latency proxy (testing/latency_proxy.ts, standalone as
 * scripts/latency_proxy.ts) that `deno task bench --rtt` and WAN tests use:
 * each direction is delayed by the set time, and it is a delay line, not a
 * sleep per read, so a large transfer keeps its bandwidth; a receiver that
 * stops reading holds the proxy to its buffer bound and the sender to TCP's
 * flow control.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { LatencyProxy } from "../../testing/latency_proxy.ts";
import { Background, repoPath } from "../../testing/procs.ts";

const LOOPBACK = "127.0.0.1";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  for (let off = 0; off < n;) {
    const got = await conn.read(out.subarray(off));
    if (got === null) throw new Error(`EOF after ${off} of ${n} bytes`);
    off += got;
  }
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/** A server on an ephemeral port and a client connected to it through a new proxy. */
async function throughProxy(o: { delayMs: number; maxBufferedBytes?: number; readBytes?: number }) {
  const listener = Deno.listen({ hostname: LOOPBACK, port: 0 });
  const proxy = LatencyProxy.start({
    target: { hostname: LOOPBACK, port: listener.addr.port },
    ...o,
  });
  const accepted = listener.accept();
  const client = await Deno.connect({ hostname: LOOPBACK, port: proxy.port });
  const server = await accepted;
  client.setNoDelay(true);
  server.setNoDelay(true);
  return {
    proxy,
    client,
    server,
    async close() {
      for (const c of [client, server]) {
        try {
          c.close();
        } catch {
          // Closed by the test.
        }
      }
      listener.close();
      await proxy.close();
    },
  };
}

/** A pattern that differs at every offset of interest (not periodic in the read size). */
function pattern(size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 131 + (i >> 13)) & 0xff;
  return b;
}

Deno.test("each direction is delayed by the set time; a round trip takes twice the delay, in order, FIN included", async () => {
  const delayMs = 100;
  const link = await throughProxy({ delayMs });
  try {
    const oneWay: number[] = [];
    const rtt: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await link.client.write(Uint8Array.of(i));
      assert.deepEqual(await readExactly(link.server, 1), Uint8Array.of(i));
      const t1 = performance.now();
      await link.server.write(Uint8Array.of(100 + i));
      assert.deepEqual(await readExactly(link.client, 1), Uint8Array.of(100 + i));
      rtt.push(performance.now() - t0);
      oneWay.push(t1 - t0);
    }
    // Never early: a chunk is released at its arrival + delay, not before.
    assert.ok(Math.min(...oneWay) >= delayMs, `one way ${oneWay.map(Math.round)} ms`);
    assert.ok(Math.min(...rtt) >= 2 * delayMs, `round trips ${rtt.map(Math.round)} ms`);
    // And not much later: the delay is added once per direction (timer slack, a loaded machine).
    assert.ok(median(rtt) < 2 * delayMs + 100, `median round trip ${median(rtt)} ms`);

    // A half-close travels behind the data, delayed like it; the other direction stays open.
    const t0 = performance.now();
    await link.client.write(new TextEncoder().encode("last words"));
    await link.client.closeWrite();
    assert.equal(new TextDecoder().decode(await readExactly(link.server, 10)), "last words");
    assert.equal(await link.server.read(new Uint8Array(1)), null, "EOF after the data");
    assert.ok(performance.now() - t0 >= delayMs);
    await link.server.write(Uint8Array.of(7));
    assert.deepEqual(await readExactly(link.client, 1), Uint8Array.of(7));
  } finally {
    await link.close();
  }
});

Deno.test("a large transfer keeps its bandwidth: 64 MiB through a 50 ms line is not throttled to one read per delay", async () => {
  const delayMs = 50;
  const readBytes = 64 << 10;
  const size = 64 << 20;
  const sent = pattern(size);
  const link = await throughProxy({ delayMs, readBytes });
  try {
    const t0 = performance.now();
    const writing = (async () => {
      for (let off = 0; off < size; off += 1 << 20) {
        await writeAll(link.client, sent.subarray(off, off + (1 << 20)));
      }
      await link.client.closeWrite();
    })();
    const hash = createHash("sha256");
    let received = 0;
    const buf = new Uint8Array(1 << 20);
    for (let n = await link.server.read(buf); n !== null; n = await link.server.read(buf)) {
      hash.update(buf.subarray(0, n));
      received += n;
    }
    const elapsed = performance.now() - t0;
    await writing;
    assert.equal(received, size);
    assert.equal(hash.digest("hex"), createHash("sha256").update(sent).digest("hex"));
    const { chunks, bytes } = link.proxy.stats();
    assert.equal(bytes, size);
    assert.ok(chunks >= size / readBytes, `${chunks} reads of at most ${readBytes} bytes`);
    assert.ok(elapsed >= delayMs, `delayed: ${elapsed} ms`);
    // A proxy that sleeps the delay for each read needs chunks x delay (over 51 s here);
    // a delay line needs the delay plus the transfer time.
    assert.ok(
      elapsed < (chunks * delayMs) / 4,
      `${Math.round(elapsed)} ms for ${chunks} reads at ${delayMs} ms: throttled`,
    );
  } finally {
    await link.close();
  }
});

Deno.test("a receiver that stops reading holds the proxy to its buffer bound and the sender back", async () => {
  const maxBufferedBytes = 1 << 20;
  const readBytes = 64 << 10;
  const size = 64 << 20;
  const sent = pattern(size);
  const link = await throughProxy({ delayMs: 10, maxBufferedBytes, readBytes });
  try {
    let written = 0;
    const writing = (async () => {
      while (written < size) {
        written += await link.client.write(sent.subarray(written, written + (256 << 10)));
      }
      await link.client.closeWrite();
    })();
    // The server reads nothing until the sender has been stalled for 300 ms (bounded wait).
    let last = -1;
    for (let stable = 0, tries = 0; stable < 3 && tries < 100; tries++) {
      await new Promise((r) => setTimeout(r, 100));
      stable = written === last ? stable + 1 : 0;
      last = written;
    }
    assert.ok(written < size, `the sender was held back: ${written} of ${size} bytes written`);
    const { peakBufferedBytes } = link.proxy.stats();
    // The reader stops once the bound is reached: at most one more read (and its
    // fixed per-chunk overhead) beyond it.
    assert.ok(
      peakBufferedBytes <= maxBufferedBytes + readBytes + 1024,
      `peak ${peakBufferedBytes} bytes held, bound ${maxBufferedBytes}`,
    );
    const got = await readExactly(link.server, size);
    assert.equal(await link.server.read(new Uint8Array(1)), null);
    await writing;
    assert.ok(got.every((b, i) => b === sent[i]), "every byte, in order");
  } finally {
    await link.close();
  }
});

Deno.test("standalone: scripts/latency_proxy.ts forwards with the delay and stops on SIGTERM; a bad option exits 1", async () => {
  const listener = Deno.listen({ hostname: LOOPBACK, port: 0 });
  const proc = new Background(Deno.execPath(), [
    "run",
    "--allow-net",
    repoPath("scripts/latency_proxy.ts"),
    "--listen",
    "0",
    "--to",
    `${LOOPBACK}:${listener.addr.port}`,
    "--delay",
    "40",
  ]);
  try {
    await proc.waitFor((p) => /listening on /.test(p.stdout), 30_000);
    const m = /listening on 127\.0\.0\.1:(\d+) -> 127\.0\.0\.1:\d+, \+40 ms each way/.exec(
      proc.stdout,
    );
    assert.ok(m, proc.stdout);
    const accepted = listener.accept();
    const client = await Deno.connect({ hostname: LOOPBACK, port: Number(m[1]) });
    const server = await accepted;
    try {
      const t0 = performance.now();
      await client.write(Uint8Array.of(1));
      await readExactly(server, 1);
      await server.write(Uint8Array.of(2));
      assert.deepEqual(await readExactly(client, 1), Uint8Array.of(2));
      assert.ok(performance.now() - t0 >= 80);
    } finally {
      client.close();
      server.close();
    }
  } finally {
    listener.close();
    const status = await proc.stop("SIGTERM");
    assert.equal(status.code, 0, proc.stderr);
  }
  const bad = new Background(Deno.execPath(), [
    "run",
    "--allow-net",
    repoPath("scripts/latency_proxy.ts"),
    "--listen",
    "0",
    "--to",
    "127.0.0.1:1",
    "--delay",
    "-3",
  ]);
  const status = await bad.exited();
  assert.equal(status.code, 1);
  assert.match(bad.stderr, /^latency_proxy: --delay takes a number of ms >= 0, not -3 \(usage: /);
  assert.equal(bad.stderr.trim().split("\n").length, 1);
});
