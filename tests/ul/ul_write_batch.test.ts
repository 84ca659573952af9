/**
 * The upper layer coalesces PDUs queued while a write is in flight into one
 * transport write, in order and byte for byte; a lone PDU is written at once.
 */
import assert from "node:assert/strict";
import { encodePdu } from "../../lib/pdu/codec.ts";
import type { PDataTfPdu } from "../../lib/pdu/types.ts";
import { PDataRun, RUN_FRONT } from "../../lib/pdu/pdata.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import { UlUsageError } from "../../lib/ul/association.ts";
import { requestorInSta6 } from "../../testing/ul_peer.ts";

function pdata(n: number, size = 1000): PDataTfPdu {
  const data = new Uint8Array(size).fill(n);
  return { type: "P-DATA-TF", pdvs: [{ contextId: 1, isCommand: false, isLast: false, data }] };
}

/** The lengths of the writes to `h`'s transport from now on. */
function recordWrites(h: Awaited<ReturnType<typeof requestorInSta6>>): number[] {
  const writes: number[] = [];
  const write = h.ours.write.bind(h.ours);
  h.ours.write = (data: Uint8Array) => {
    writes.push(data.length);
    return write(data);
  };
  return writes;
}

Deno.test("P-DATA-TFs queued in one turn go out in one write, in order", async () => {
  const h = await requestorInSta6();
  const writes = recordWrites(h);
  const pdus = Array.from({ length: 10 }, (_, i) => pdata(i));
  const sent = pdus.map((p) => h.assoc.sendPData(p));
  await Promise.all(sent);
  assert.deepEqual(writes, [10 * 1012]);
  const expected = new Uint8Array(pdus.flatMap((p) => [...encodePdu(p)]));
  assert.deepEqual(h.peer.drain(), expected);

  // A single PDU after the batch is written on its own, without waiting for more.
  await h.assoc.sendPData(pdata(42));
  assert.deepEqual(writes, [10 * 1012, 1012]);
  await h.assoc.abort();
});

Deno.test("a batch is capped at 1 MiB: a large burst is split into several writes", async () => {
  const h = await requestorInSta6({}, 0);
  const writes = recordWrites(h);
  await Promise.all(Array.from({ length: 8 }, (_, i) => h.assoc.sendPData(pdata(i, 300_000))));
  assert.deepEqual(writes, [3 * 300_012, 3 * 300_012, 2 * 300_012]);
  assert.equal(h.peer.drain().length, 8 * 300_012);
  await h.assoc.abort();
});

Deno.test("an A-RELEASE-RQ queued behind P-DATA joins the batch, byte for byte and in order", async () => {
  const h = await requestorInSta6();
  const writes = recordWrites(h);
  const pdus = [pdata(1), pdata(2), pdata(3)];
  for (const p of pdus) void h.assoc.sendPData(p);
  const released = h.assoc.release();
  await new Promise((r) => setTimeout(r, 10));
  const releaseRq = encodePdu({ type: "A-RELEASE-RQ" });
  assert.deepEqual(writes, [3 * 1012 + releaseRq.length]);
  const expected = new Uint8Array([...pdus.flatMap((p) => [...encodePdu(p)]), ...releaseRq]);
  assert.deepEqual(h.peer.drain(), expected);
  await h.peer.write(encodePdu({ type: "A-RELEASE-RP" }));
  assert.equal(await released, "released");
});

Deno.test("encodePdu into a buffer: a view of it when the PDU fits, a new buffer when not", () => {
  const pdu = pdata(9);
  const alone = encodePdu(pdu);
  const room = new Uint8Array(2000);
  const fits = encodePdu(pdu, room.subarray(500));
  assert.equal(fits.buffer, room.buffer);
  assert.equal(fits.byteOffset, 500);
  assert.deepEqual(fits, alone);
  const small = new Uint8Array(100);
  const grown = encodePdu(pdu, small);
  assert.notEqual(grown.buffer, small.buffer);
  assert.deepEqual(grown, alone);
});

/** Replaces the transport's write with one that reads the bytes only when it completes, `ms` later. */
function lateWrites(h: Awaited<ReturnType<typeof requestorInSta6>>, ms: number) {
  const buffers = new Set<ArrayBufferLike>();
  const write = h.ours.write.bind(h.ours);
  h.ours.write = async (data: Uint8Array) => {
    buffers.add(data.buffer);
    await new Promise((r) => setTimeout(r, ms));
    // Read now: a buffer reused before the write completed shows here.
    return await write(data.slice());
  };
  return buffers;
}

Deno.test("batch buffers are reused once written, never while a write holds them", async () => {
  const h = await requestorInSta6({}, 0);
  const buffers = lateWrites(h, 2);
  const pdus = Array.from({ length: 60 }, (_, i) => pdata(i, 16_000 + 2 * i));
  for (const [i, p] of pdus.entries()) {
    const sent = h.assoc.sendPData(p);
    // The data may be reused as soon as sendPData returns: scribble on it.
    p.pdvs[0].data.fill(0xee);
    // Batches of one (each PDU waited for), then of three.
    if (i < 30 || i % 3 === 2) await sent;
  }
  await h.assoc.sendPData(pdata(99, 5000));
  const expected = new Uint8Array(
    [...pdus.entries()].flatMap(([i, _]) => [...encodePdu(pdata(i, 16_000 + 2 * i))]),
  );
  const got = h.peer.drain();
  assert.deepEqual(got.subarray(0, expected.length), expected);
  // Two buffers take turns (one written while the next fills), not one per batch.
  assert.ok(buffers.size <= 3, `${buffers.size} buffers for ${pdus.length + 1} PDUs`);
  await h.assoc.abort();
});

Deno.test("message after message, each a small command then a stream, reuses the same two buffers", async () => {
  const h = await requestorInSta6({}, 0);
  const buffers = lateWrites(h, 1);
  for (let m = 0; m < 8; m++) {
    // A command alone, then its data set's PDVs, all written before the next message.
    const sent = [h.assoc.sendPData(pdata(m, 200)), h.assoc.sendPData(pdata(m, 16_000))];
    // The first batch is being written while the rest fill a second one.
    await new Promise((r) => setTimeout(r, 0));
    for (let i = 0; i < 6; i++) sent.push(h.assoc.sendPData(pdata(m, 16_000)));
    await Promise.all(sent);
  }
  // A small PDU starting a batch is written from its own bytes: count batch buffers only.
  const large = [...buffers].filter((b) => b.byteLength >= 1 << 20);
  assert.ok(large.length <= 2, `${large.length} batch buffers for 8 messages`);
  await h.assoc.abort();
});

/**
 * A data set of `length` bytes (byte i is i % 251) in a PDataRun of PDVs of `pdv` bytes, in
 * memory with `spare` bytes of 0xee behind the run.
 */
function runOf(pdv: number, length: number, spare = 0): { run: PDataRun; memory: Uint8Array } {
  const memory = new Uint8Array(PDataRun.size(pdv, length) + spare).fill(0xee);
  const run = new PDataRun(memory, pdv, length);
  let i = 0;
  for (const slot of run.slots) for (let j = 0; j < slot.length; j++) slot[j] = i++ % 251;
  return { run, memory };
}

/** Records each transport write's bytes as the transport was handed them (a view, not a copy). */
function recordViews(h: Awaited<ReturnType<typeof requestorInSta6>>): Uint8Array[] {
  const writes: Uint8Array[] = [];
  const write = h.ours.write.bind(h.ours);
  h.ours.write = (data: Uint8Array) => {
    writes.push(data);
    return write(data);
  };
  return writes;
}

Deno.test("a command then a PDataRun go out in one write from the run's memory, byte for byte", async () => {
  const h = await requestorInSta6();
  const writes = recordViews(h);
  const command: PDataTfPdu = {
    type: "P-DATA-TF",
    pdvs: [{ contextId: 3, isCommand: true, isLast: true, data: new Uint8Array(90).fill(7) }],
  };
  const { run, memory } = runOf(1000, 2500);
  const pdus = run.pdus(3);
  assert.deepEqual(pdus.map((p) => [p.pdvs[0].data.length, p.pdvs[0].isLast]), [
    [1000, false],
    [1000, false],
    [500, true],
  ]);
  const sent = [command, ...pdus].map((p) => h.assoc.sendPData(p));
  await Promise.all(sent);
  const expected = new Uint8Array([command, ...pdus].flatMap((p) => [...encodePdu(p)]));
  assert.equal(writes.length, 1);
  // Written where the data was put: the command moved into the room in front, no copy.
  assert.equal(writes[0].buffer, memory.buffer);
  assert.equal(writes[0].byteOffset, RUN_FRONT - 12 - 90);
  assert.deepEqual(writes[0], expected);
  assert.deepEqual(h.peer.drain(), expected);
  await h.assoc.abort();
});

Deno.test("PDataRun PDUs that cannot grow a batch in place are copied, in order and byte for byte", async () => {
  const h = await requestorInSta6();
  const writes = recordViews(h);
  // A command too long for the run's front room, and a run sent out of order: both copied.
  const command: PDataTfPdu = {
    type: "P-DATA-TF",
    pdvs: [{
      contextId: 3,
      isCommand: true,
      isLast: true,
      data: new Uint8Array(RUN_FRONT).fill(9),
    }],
  };
  const { run, memory } = runOf(1000, 3000);
  const [a, b, c] = run.pdus(3);
  const order = [command, a, c, b];
  await Promise.all(order.map((p) => h.assoc.sendPData(p)));
  const expected = new Uint8Array(order.flatMap((p) => [...encodePdu(p)]));
  assert.deepEqual(concatBytes(writes), expected);
  assert.deepEqual(h.peer.drain(), expected);
  assert.ok(writes.every((w) => w.buffer !== memory.buffer));
  // A run's first PDU alone, then its third: the batch cannot grow over the second's bytes.
  writes.length = 0;
  const gap = runOf(1000, 3000);
  const [x0, , x2] = gap.run.pdus(3);
  await Promise.all([x0, x2].map((p) => h.assoc.sendPData(p)));
  assert.deepEqual(concatBytes(writes), new Uint8Array([x0, x2].flatMap((p) => [...encodePdu(p)])));
  // A run alone starts its batch in its own memory; a PDU of other memory behind it is written
  // after it, not into the memory behind the run.
  writes.length = 0;
  const next = runOf(1000, 2000, 500);
  const other = pdata(5, 100);
  const batch = [...next.run.pdus(3), other];
  await Promise.all(batch.map((p) => h.assoc.sendPData(p)));
  assert.equal(writes[0].buffer, next.memory.buffer);
  assert.ok(next.memory.subarray(-500).every((b) => b === 0xee), "memory behind the run written");
  assert.deepEqual(concatBytes(writes), new Uint8Array(batch.flatMap((p) => [...encodePdu(p)])));
  await h.assoc.abort();
});

Deno.test("a P-DATA accepted before the association ended, its write due after, fails as a send in Sta1 does", async () => {
  const h = await requestorInSta6();
  // The first write is held; every later one meets a closed connection.
  let letGo!: () => void;
  const held = new Promise<void>((resolve) => letGo = resolve);
  const write = h.ours.write.bind(h.ours);
  let first = true;
  h.ours.write = (data: Uint8Array) => {
    if (!first) return Promise.reject(new Deno.errors.BadResource("Bad resource ID"));
    first = false;
    return held.then(() => write(data));
  };
  const a = h.assoc.sendPData(pdata(1));
  await new Promise((r) => setTimeout(r, 0));
  // Accepted in Sta6, queued behind the held write.
  const b = h.assoc.sendPData(pdata(2));
  const failed = b.then(() => undefined, (err: unknown) => err);
  // The peer closes the connection (Evt17: Sta1), then the held write completes.
  h.peer.close();
  await h.trace.until((s) => s.next === "Sta1");
  letGo();
  await a.catch(() => undefined);
  const err = await failed;
  assert.ok(err instanceof UlUsageError, `${err}`);
  assert.match(err.message, /Sta1/);
});

Deno.test("a write the transport fails ends the association once (Evt17), its line names the PDU, the batch behind it fails", async () => {
  const h = await requestorInSta6();
  // The first write is held, then fails as a connection reset does.
  let fail!: (err: Error) => void;
  const held = new Promise<void>((_, reject) => fail = reject);
  const write = h.ours.write.bind(h.ours);
  let writes = 0;
  h.ours.write = (data: Uint8Array) => writes++ === 0 ? held : write(data);
  const a = h.assoc.sendPData(pdata(1));
  const aFailed = a.then(() => undefined, (err: unknown) => err);
  await new Promise((r) => setTimeout(r, 0));
  // Queued behind the held write: one batch, waiting for its turn.
  const b = h.assoc.sendPData(pdata(2));
  const c = h.assoc.sendPData(pdata(3));
  assert.equal(b, c, "one batch");
  const bFailed = b.then(() => undefined, (err: unknown) => err);
  fail(new Deno.errors.ConnectionReset("connection reset by peer"));
  assert.ok((await aFailed) instanceof Deno.errors.ConnectionReset);
  const err = await bFailed;
  assert.ok(err instanceof UlUsageError, `${err}`);
  assert.match(err.message, /Sta1/);
  assert.equal(writes, 1, "nothing written after the failure");
  const lost = h.trace.steps.filter((t) => t.event === "Evt17");
  assert.equal(lost.length, 1);
  assert.equal(lost[0].state, "Sta6");
  assert.ok(
    h.logs.includes("D: writing P-DATA-TF failed: connection reset by peer"),
    h.logs.join("\n"),
  );
});

Deno.test("P-DATA-TFs are sized, checked and written without iterating their PDV lists (an iterator per loop with Maglev as top tier)", async () => {
  const h = await requestorInSta6();
  const writes = recordWrites(h);
  const pdus = Array.from({ length: 3 }, (_, i) => pdata(i));
  const expected = new Uint8Array(pdus.flatMap((p) => [...encodePdu(p)]));
  for (const p of pdus) {
    Object.defineProperty(p.pdvs, Symbol.iterator, {
      value: () => {
        throw new Error("a PDV list iterated on the send path");
      },
    });
  }
  await Promise.all(pdus.map((p) => h.assoc.sendPData(p)));
  assert.deepEqual(writes, [3 * 1012]);
  assert.deepEqual(h.peer.drain(), expected);
  await h.assoc.abort();
});
