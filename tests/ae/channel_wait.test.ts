/**
 * A timed receive() over the real upper layer: it reads the clock once per
 * wait (its deadline and start from one reading; its end is the read's
 * time, the upper layer's lastActivity), and the deadlines keep:
 * receive(ms) bounds the whole wait, the transfer floor ends a drip and
 * lets a fast stream through.
 */
import assert from "node:assert/strict";
import { encodePdu } from "../../lib/pdu/codec.ts";
import type { PDataTfPdu } from "../../lib/pdu/types.ts";
import { DimseChannel } from "../../lib/ae/channel.ts";
import { encodeCommandSet } from "../../lib/dimse/command.ts";
import { messageToCommandSet } from "../../lib/dimse/messages.ts";
import { acceptorInSta6, settle } from "../../testing/ul_peer.ts";

const COMMAND = encodeCommandSet(messageToCommandSet({
  type: "C-STORE-RQ",
  messageId: 1,
  affectedSopClassUid: "1.2.840.10008.5.1.4.1.1.7",
  affectedSopInstanceUid: "1.2.3.4",
  priority: 0,
}));

function pdu(isCommand: boolean, isLast: boolean, data: Uint8Array): Uint8Array {
  const p: PDataTfPdu = { type: "P-DATA-TF", pdvs: [{ contextId: 1, isCommand, isLast, data }] };
  return encodePdu(p);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `f` with performance.now() counted; the count and f's result. */
async function clockReads<T>(f: () => Promise<T>): Promise<{ reads: number; result: T }> {
  const now = performance.now;
  let reads = 0;
  performance.now = () => (reads++, now.call(performance));
  try {
    const result = await f();
    return { reads, result };
  } finally {
    performance.now = now;
  }
}

Deno.test("a timed receive() with a floor reads the clock once per wait when every PDU is a read of its own, the upper layer once per read", async () => {
  const h = await acceptorInSta6();
  const channel = new DimseChannel(h.assoc, { floor: { bytesPerSecond: 1, windowMs: 30_000 } });
  const fragments = 20;
  const { reads, result } = await clockReads(async () => {
    const sent = (async () => {
      await h.peer.write(pdu(true, true, COMMAND));
      for (let i = 0; i < fragments; i++) {
        await settle();
        await h.peer.write(pdu(false, i === fragments - 1, new Uint8Array([i, i])));
      }
    })();
    const events: string[] = [];
    for (;;) {
      const ev = await channel.receive(5000);
      events.push(ev.kind);
      if (ev.kind !== "command" && !(ev.kind === "data" && !ev.last)) break;
    }
    await sent;
    return events;
  });
  assert.equal(result.length, fragments + 1);
  assert.ok(result.every((k, i) => k === (i === 0 ? "command" : "data")), result.join());
  // Each PDU came in a read of its own and was waited for: one clock read for the wait (its
  // deadline and start together, its end is the read's time) and one for the read; one more
  // when the channel's timer is armed (once: later waits move it).
  assert.ok(
    reads <= 2 * (fragments + 1) + 1,
    `${reads} clock reads for ${fragments + 1} waits and reads`,
  );
  await h.assoc.abort({ closeNow: true });
});

Deno.test("receive(ms) over the upper layer bounds the whole wait while fragments short of a message come", async () => {
  const h = await acceptorInSta6();
  const channel = new DimseChannel(h.assoc);
  let stop = false;
  const drip = (async () => {
    // The command set 2 bytes at a time, 10 ms apart: whole only after 0.7 s or more.
    for (let i = 0; i + 2 <= COMMAND.length && !stop; i += 2) {
      await h.peer.write(pdu(true, i + 2 === COMMAND.length, COMMAND.subarray(i, i + 2)));
      await sleep(10);
    }
  })();
  const t0 = performance.now();
  const ev = await channel.receive(150);
  const ms = performance.now() - t0;
  stop = true;
  await drip;
  assert.deepEqual(ev, { kind: "timeout" });
  assert.ok(ms >= 149 && ms < 600, `timed out after ${ms.toFixed(0)} ms`);
  await h.assoc.abort({ closeNow: true });
});

Deno.test("the transfer floor over the upper layer: a drip is ended within its window, a fast data set passes", async () => {
  const floor = { bytesPerSecond: 20_000, windowMs: 200 };
  for (const fast of [false, true]) {
    const h = await acceptorInSta6();
    const channel = new DimseChannel(h.assoc, { floor });
    await h.peer.write(pdu(true, true, COMMAND));
    assert.equal((await channel.receive(5000)).kind, "command");
    let stop = false;
    const count = 40;
    const sender = (async () => {
      // Slow: 2 bytes every 10 ms (about 1.4 KB/s with headers); fast: 8 KiB every 10 ms.
      for (let i = 0; i < count && !stop; i++) {
        await sleep(10);
        await h.peer.write(pdu(false, i === count - 1, new Uint8Array(fast ? 8192 : 2)));
      }
    })();
    let ev;
    let data = 0;
    const t0 = performance.now();
    for (;;) {
      ev = await channel.receive(5000);
      if (ev.kind !== "data") break;
      data++;
      if (ev.last) break;
    }
    const ms = performance.now() - t0;
    stop = true;
    await sender;
    if (fast) {
      assert.equal(data, count, JSON.stringify(ev));
    } else {
      // Waits of about 10 ms each add up to the window: judged there, not at the deadline.
      assert.ok(ev.kind === "timeout" && ev.slow, JSON.stringify(ev));
      assert.ok(ev.slow.seconds >= 0.2 && ev.slow.bytes < 2000, JSON.stringify(ev.slow));
      assert.ok(ms < 2000, `ended after ${ms.toFixed(0)} ms`);
    }
    await h.assoc.abort({ closeNow: true });
  }
});
