/**
 * The TCP transport reads into the memory its caller chooses: rooms of any
 * size, each filled with at most its length, the bytes in order.
 */
import assert from "node:assert/strict";
import { connectTcp, isIpLiteral, listenTcp } from "../../lib/transport/tcp.ts";

Deno.test("readInto fills rooms of any size with the bytes in order", async () => {
  const listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
  const sent = new Uint8Array(3 << 20);
  for (let i = 0; i < sent.length; i++) sent[i] = (i * 131 + (i >> 16)) & 0xff;
  const accepted = listener.accept();
  const client = await connectTcp({ host: "127.0.0.1", port: listener.local.port, family: "ipv4" });
  const server = (await accepted)!;
  try {
    // Odd write sizes, so that reads end anywhere in what was written.
    const writing = (async () => {
      for (let off = 0, n = 1; off < sent.length; off += n, n = (n * 7 + 4093) % 150_001) {
        await client.write(sent.subarray(off, off + n));
      }
      client.close();
    })();
    const chunks: Uint8Array[] = [];
    // Rooms of 1 byte to 200 KiB, each a buffer of its own.
    for (let room = 1;; room = (room * 13 + 1021) % 200_003 || 1) {
      const into = new Uint8Array(room);
      const n = await server.readInto(into);
      if (n === null) break;
      assert.ok(n >= 1 && n <= room, `read ${n} into ${room}`);
      chunks.push(into.subarray(0, n));
    }
    await writing;
    assert.ok(chunks.length > 1, "more than one read");
    const received = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let off = 0;
    for (const c of chunks) {
      received.set(c, off);
      off += c.length;
    }
    assert.equal(received.length, sent.length);
    assert.ok(received.every((b, i) => b === sent[i]), "the bytes of every chunk, in order");
  } finally {
    server.close();
    client.close();
    listener.close();
  }
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
    "0x1.2.3.4",
    "1e2.1.1.1",
    "+1.2.3.4",
    "1..3.4",
    "1.2.3.1000",
    "1.2.3.4 ",
    "\uff11.2.3.4",
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
