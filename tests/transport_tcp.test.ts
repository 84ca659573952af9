/**
 * The TCP transport hands out each read as a view of a shared receive
 * buffer: a chunk must keep its bytes however many reads follow, since the
 * PDU reader and the PDVs it yields keep views of it.
 */
import assert from "node:assert/strict";
import { connectTcp, listenTcp } from "../lib/transport/tcp.ts";

Deno.test("chunks read keep their bytes while later reads fill the buffer", async () => {
  const listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
  const sent = new Uint8Array(3 << 20);
  for (let i = 0; i < sent.length; i++) sent[i] = (i * 131 + (i >> 16)) & 0xff;
  const accepted = listener.accept();
  const client = await connectTcp({ host: "127.0.0.1", port: listener.local.port, family: "ipv4" });
  const server = (await accepted)!;
  try {
    // Odd write sizes, so that reads end anywhere in the buffer.
    const writing = (async () => {
      for (let off = 0, n = 1; off < sent.length; off += n, n = (n * 7 + 4093) % 150_001) {
        await client.write(sent.subarray(off, off + n));
      }
      client.close();
    })();
    const chunks: Uint8Array[] = [];
    for (let chunk = await server.read(); chunk !== null; chunk = await server.read()) {
      chunks.push(chunk);
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
