/**
 * The TCP transport reads into one reused buffer: a chunk is valid until
 * the next read (the Transport contract), so a busy connection allocates
 * nothing per read. What the chunks carry, copied as they arrive, is the
 * byte stream sent, in order.
 */
import assert from "node:assert/strict";
import { connectTcp, isIpLiteral, listenTcp } from "../lib/transport/tcp.ts";
import type { Transport } from "../lib/transport/transport.ts";

/** A connected client/server pair on loopback; `f` runs with both, then all is closed. */
async function withPair(f: (client: Transport, server: Transport) => Promise<void>) {
  const listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const client = await connectTcp({ host: "127.0.0.1", port: listener.local.port, family: "ipv4" });
  const server = (await accepted)!;
  try {
    await f(client, server);
  } finally {
    server.close();
    client.close();
    listener.close();
  }
}

Deno.test("chunks copied as they are read give the bytes sent, in order; reads reuse one buffer", async () => {
  await withPair(async (client, server) => {
    const sent = new Uint8Array(3 << 20);
    for (let i = 0; i < sent.length; i++) sent[i] = (i * 131 + (i >> 16)) & 0xff;
    // Odd write sizes, so that reads end anywhere.
    const writing = (async () => {
      for (let off = 0, n = 1; off < sent.length; off += n, n = (n * 7 + 4093) % 150_001) {
        await client.write(sent.subarray(off, off + n));
      }
      client.close();
    })();
    const copies: Uint8Array[] = [];
    const sizes: number[] = [];
    let previous: Uint8Array | undefined;
    let reused = 0;
    for (let chunk = await server.read(); chunk !== null; chunk = await server.read()) {
      copies.push(chunk.slice());
      sizes.push(chunk.buffer.byteLength);
      assert.equal(chunk.byteOffset, 0, "every read fills its buffer from the start");
      if (previous?.buffer === chunk.buffer) reused++;
      previous = chunk;
    }
    await writing;
    const received = new Uint8Array(copies.reduce((n, c) => n + c.length, 0));
    let off = 0;
    for (const c of copies) {
      received.set(c, off);
      off += c.length;
    }
    assert.equal(received.length, sent.length);
    assert.ok(received.every((b, i) => b === sent[i]), "the bytes of every chunk, in order");
    assert.equal(sizes[0], 16 * 1024, "a connection starts with a small buffer");
    assert.equal(Math.max(...sizes), 256 * 1024, "and grows while reads fill it");
    assert.ok(reused >= copies.length - 3, `${reused} of ${copies.length} reads reused the buffer`);
  });
});

Deno.test("a second read while one is pending is refused", async () => {
  await withPair(async (client, server) => {
    const first = server.read();
    await assert.rejects(server.read(), /another read is pending/);
    await client.write(Uint8Array.of(1, 2, 3));
    assert.deepEqual(await first, Uint8Array.of(1, 2, 3));
  });
});

Deno.test("IP literals are connected to without a lookup, as getaddrinfo would return them", async () => {
  // node:net's isIP is the reference for what getaddrinfo passes through unchanged; zone IDs
  // (fe80::1%eth0) are left to the resolver.
  const { isIP } = await import("node:net");
  const cases = [
    "127.0.0.1",
    "0.0.0.0",
    "255.255.255.255",
    "256.1.1.1",
    "01.2.3.4",
    "1.2.3",
    "127.1",
    "1.2.3.4.",
    " 1.2.3.4",
    "::",
    "::1",
    "1::",
    "1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7::",
    "1:2:3:4:5:6:7:8::",
    "1::2::3",
    "::ffff:127.0.0.1",
    "::ffff:1.2.3.04",
    "1:2:3:4:5:6:1.2.3.4",
    "1:2:3:4:5:6:7:1.2.3.4",
    ":1",
    "1:",
    "12345::",
    "g::1",
    "[::1]",
    "FFFF::abcd",
    "localhost",
    "",
  ];
  for (const host of cases) assert.equal(isIpLiteral(host), isIP(host) !== 0, host);
  assert.equal(isIpLiteral("fe80::1%lo"), false);
  // A literal of the other family is connected to as it is, whatever -i4/-i6 asked for.
  const listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
  try {
    const accepted = listener.accept();
    const client = await connectTcp({
      host: "127.0.0.1",
      port: listener.local.port,
      family: "ipv6",
    });
    (await accepted)!.close();
    client.close();
    // A host name still goes through getaddrinfo (/etc/hosts here).
    const byName = listener.accept();
    const named = await connectTcp({
      host: "localhost",
      port: listener.local.port,
      family: "ipv4",
    });
    assert.equal(named.remote.host, "127.0.0.1");
    (await byName)!.close();
    named.close();
  } finally {
    listener.close();
  }
});
