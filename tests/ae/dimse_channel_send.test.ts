/**
 * DimseChannel.send with a streamed data set: PDVs filled to the peer's
 * maximum whatever the chunking, the last-fragment bit on the final PDV only,
 * producer buffers reusable, odd totals refused, and a bounded send window.
 */
import assert from "node:assert/strict";
import type { Pdv } from "../../lib/pdu/types.ts";
import { DimseChannel, SEND_WINDOW } from "../../lib/ae/channel.ts";
import { PDataRun, PDataRuns, readPdvs } from "../../lib/pdu/pdata.ts";
import type { UlAssociation } from "../../lib/ul/association.ts";
import type { CStoreRq } from "../../lib/dimse/messages.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import { requestorInSta6 } from "../../testing/ul_peer.ts";

const RQ: CStoreRq = {
  type: "C-STORE-RQ",
  messageId: 7,
  affectedSopClassUid: "1.2.840.10008.5.1.4.1.1.4",
  affectedSopInstanceUid: "1.2.3.4",
  priority: 0,
};

/** An association that records the PDVs it is asked to send; writes complete when `release` is called. */
function recorder(peerMaxPdu: number, autoComplete = true) {
  const pdvs: Pdv[] = [];
  const pending: (() => void)[] = [];
  const assoc = {
    peerMaxPdu,
    sendPData(pdu: { pdvs: Pdv[] }) {
      // The channel promises the bytes may be reused after queueing: copy as the UL's encoder does.
      for (const p of pdu.pdvs) pdvs.push({ ...p, data: p.data.slice() });
      if (autoComplete) return Promise.resolve();
      return new Promise<void>((resolve) => pending.push(resolve));
    },
  } as unknown as UlAssociation;
  return { assoc, pdvs, pending };
}

function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

/** Yields `data` in chunks of the given sizes (cycled), reusing one buffer and scribbling on it after each yield. */
async function* reusingChunks(data: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  const buf = new Uint8Array(Math.max(...sizes));
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const n = Math.min(sizes[i % sizes.length], data.length - offset);
    buf.set(data.subarray(offset, offset + n));
    yield buf.subarray(0, n);
    buf.fill(0xee);
    offset += n;
  }
}

function dataOf(pdvs: Pdv[]): { bytes: Uint8Array; lengths: number[]; lastFlags: boolean[] } {
  const data = pdvs.filter((p) => !p.isCommand);
  const bytes = new Uint8Array(data.reduce((n, p) => n + p.data.length, 0));
  let o = 0;
  for (const p of data) {
    bytes.set(p.data, o);
    o += p.data.length;
  }
  return { bytes, lengths: data.map((p) => p.data.length), lastFlags: data.map((p) => p.isLast) };
}

for (
  const [total, sizes] of [
    [0, [1]],
    [2, [1]],
    [16378, [16378]],
    [16378 * 3, [16378]],
    [16378 * 3 + 2, [1, 3, 5]],
    [100_000, [7, 16_381, 40_000, 2]],
    [100_000, [65_536]],
    [50_000, [16_377, 16_379]],
  ] as const
) {
  Deno.test(`send streams ${total} bytes in chunks of ${sizes.join("/")}: full PDVs, last bit once`, async () => {
    const { assoc, pdvs } = recorder(16384);
    const channel = new DimseChannel(assoc);
    const data = pattern(total);
    await channel.send(1, RQ, reusingChunks(data, [...sizes]));
    const commands = pdvs.filter((p) => p.isCommand);
    assert.equal(commands.at(-1)?.isLast, true);
    const { bytes, lengths, lastFlags } = dataOf(pdvs);
    assert.deepEqual(bytes, data);
    const pdv = channel.maxSendPdv;
    assert.equal(pdv, 16378);
    // Every PDV but the last is full; the last is non-empty unless the data set is.
    lengths.slice(0, -1).forEach((n) => assert.equal(n, pdv));
    assert.equal(lengths.at(-1), total === 0 ? 0 : total - pdv * (lengths.length - 1));
    assert.deepEqual(lastFlags, lastFlags.map((_, i) => i === lastFlags.length - 1));
  });
}

Deno.test("send refuses an odd streamed total after the data it could send", async () => {
  const { assoc, pdvs } = recorder(16384);
  const channel = new DimseChannel(assoc);
  await assert.rejects(
    channel.send(1, RQ, reusingChunks(pattern(20_001), [4096])),
    /odd data set length/,
  );
  // Nothing was flagged last: the message is visibly incomplete on the wire.
  assert.equal(pdvs.some((p) => !p.isCommand && p.isLast), false);
});

Deno.test("send stops pulling from the source while the send window is unconfirmed", async () => {
  const { assoc, pending } = recorder(16384, false);
  const channel = new DimseChannel(assoc);
  let pulled = 0;
  const chunk = pattern(65_536);
  async function* source() {
    for (let i = 0; i < 200; i++) {
      pulled += chunk.length;
      yield chunk;
    }
  }
  const sending = channel.send(1, RQ, source());
  for (let i = 0; i < 50; i++) await new Promise((r) => setTimeout(r, 0));
  // At most two windows (the one awaited and the one being filled) plus a chunk.
  assert.ok(pulled <= 2 * SEND_WINDOW + chunk.length, `pulled ${pulled} bytes`);
  assert.ok(pulled >= SEND_WINDOW, `pulled only ${pulled} bytes`);
  // Completing writes lets the rest through.
  const drain = setInterval(() => pending.splice(0).forEach((r) => r()), 0);
  await sending;
  clearInterval(drain);
  assert.equal(pulled, 200 * chunk.length);
});

Deno.test("send: a data set in a PDataRun goes as the run's slots, a run the peer cannot take before the command", async () => {
  const { assoc, pdvs } = recorder(1012);
  const channel = new DimseChannel(assoc);
  assert.equal(channel.maxSendPdv, 1006);
  const memory = new Uint8Array(PDataRun.size(1000, 2500));
  const run = new PDataRun(memory, 1000, 2500);
  const data = pattern(2500);
  let at = 0;
  for (const slot of run.slots) {
    slot.set(data.subarray(at, at + slot.length));
    at += slot.length;
  }
  await channel.send(1, RQ, run);
  const got = dataOf(pdvs);
  assert.deepEqual(got.bytes, data);
  assert.deepEqual(got.lengths, [1000, 1000, 500]);
  assert.deepEqual(got.lastFlags, [false, false, true]);
  assert.equal(pdvs.filter((p) => p.isCommand).length, 1);

  pdvs.length = 0;
  const wide = new PDataRun(new Uint8Array(PDataRun.size(2000, 2500)), 2000, 2500);
  await assert.rejects(channel.send(1, RQ, wide), /PDVs of 2000 bytes/);
  const odd = new PDataRun(new Uint8Array(PDataRun.size(1000, 2501)), 1000, 2501);
  await assert.rejects(channel.send(1, RQ, odd), /odd data set length/);
  assert.equal(pdvs.length, 0, "nothing queued for a refused run");
});

/**
 * An association that holds each PDV's data as given (a view, as the upper layer writes a
 * run from its memory) until its write completes, and records the bytes only then: memory
 * refilled while a write still holds it arrives changed. `complete()` finishes the oldest.
 */
function holder(peerMaxPdu: number) {
  const pdvs: Pdv[] = [];
  const pending: { pdv: Pdv; resolve: () => void }[] = [];
  const assoc = {
    peerMaxPdu,
    sendPData(pdu: { pdvs: Pdv[] }) {
      return new Promise<void>((resolve) => pending.push({ pdv: pdu.pdvs[0], resolve }));
    },
  } as unknown as UlAssociation;
  const complete = () => {
    const w = pending.shift();
    if (!w) return;
    pdvs.push({ ...w.pdv, data: w.pdv.data.slice() });
    w.resolve();
  };
  return { assoc, pdvs, pending, complete };
}

/**
 * `data` as runs of `runLength` bytes in PDVs of `pdv`, in two buffers in turn, each
 * poisoned (0xee) before it is refilled; `asked` counts the runs asked for.
 */
function twoBufferRuns(data: Uint8Array, pdv: number, runLength: number) {
  const buffers = [0, 1].map(() => new Uint8Array(PDataRun.size(pdv, runLength)));
  const state = { asked: 0 };
  async function* runs(): AsyncGenerator<PDataRun> {
    for (let at = 0; at < data.length; at += runLength) {
      state.asked++;
      const memory = buffers[(at / runLength) % 2].fill(0xee);
      const run = new PDataRun(memory, pdv, Math.min(runLength, data.length - at));
      let o = at;
      for (const slot of run.slots) {
        slot.set(data.subarray(o, o + slot.length));
        o += slot.length;
      }
      yield run;
    }
  }
  return { runs: runs(), state };
}

Deno.test("send: PDataRuns from two buffers in turn arrive whole, a buffer refilled only once its run is written", async () => {
  const { assoc, pdvs, pending, complete } = holder(1012);
  const channel = new DimseChannel(assoc);
  const data = pattern(14_000);
  const { runs, state } = twoBufferRuns(data, 1000, 3000);
  const sending = channel.send(1, RQ, new PDataRuns(data.length, 1000, runs));
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 0));
  // Nothing written yet: the first two runs (both buffers) and no more.
  assert.equal(state.asked, 2);
  assert.equal(pending.length, 1 + 3 + 3);
  // Writes complete one at a time, interleaved with the channel's turns.
  const drain = setInterval(complete, 0);
  await sending;
  clearInterval(drain);
  assert.equal(state.asked, 5);
  assert.equal(pdvs.filter((p) => p.isCommand).length, 1);
  const got = dataOf(pdvs);
  assert.deepEqual(got.lengths, Array(14).fill(1000));
  assert.deepEqual(got.lastFlags, got.lastFlags.map((_, i) => i === 13));
  assert.ok(got.bytes.every((b, i) => b === data[i]), "a run refilled before it was written");
});

Deno.test("send: PDataRuns the peer cannot take are refused before the command; runs short of or past the length fail unflagged", async () => {
  const { assoc, pdvs } = recorder(1012);
  const channel = new DimseChannel(assoc);
  const data = pattern(14_000);
  const wide = twoBufferRuns(data, 2000, 4000);
  await assert.rejects(
    channel.send(1, RQ, new PDataRuns(data.length, 2000, wide.runs)),
    /PDVs of 2000 bytes/,
  );
  const odd = twoBufferRuns(pattern(14_001), 1000, 3000);
  await assert.rejects(
    channel.send(1, RQ, new PDataRuns(14_001, 1000, odd.runs)),
    /odd data set length/,
  );
  assert.equal(pdvs.length, 0, "nothing queued for refused runs");
  assert.equal(wide.state.asked + odd.state.asked, 0, "no run asked for");

  for (const length of [14_002, 13_998]) {
    pdvs.length = 0;
    await assert.rejects(
      channel.send(1, RQ, new PDataRuns(length, 1000, twoBufferRuns(data, 1000, 3000).runs)),
      new RegExp(`runs of 1[34]\\d+ bytes for a data set of ${length}`),
    );
    assert.equal(pdvs.some((p) => !p.isCommand && p.isLast), false, "nothing flagged last");
  }
  const narrow = twoBufferRuns(data, 1000, 3000);
  await assert.rejects(
    channel.send(1, RQ, new PDataRuns(data.length, 500, narrow.runs)),
    /a run of PDVs of 1000 bytes in runs of 500/,
  );
});

/**
 * `data` in runs of `runLength` bytes, as storescu reads a long file: two buffers in turn, each
 * with one PDataRun made once and refilled (poisoned first) for every run of the same length
 * after it; a shorter last run gets its own. `made` counts the runs made.
 */
function refilledRuns(data: Uint8Array, pdv: number, runLength: number) {
  const buffers = [0, 1].map(() => new Uint8Array(PDataRun.size(pdv, runLength)));
  const laidOut: (PDataRun | undefined)[] = [];
  const state = { made: 0 };
  async function* runs(): AsyncGenerator<PDataRun> {
    for (let at = 0, turn = 0; at < data.length; at += runLength, turn = 1 - turn) {
      const length = Math.min(runLength, data.length - at);
      let run = laidOut[turn];
      if (run?.length !== length) {
        run = laidOut[turn] = new PDataRun(buffers[turn], pdv, length);
        state.made++;
      }
      buffers[turn].fill(0xee);
      let o = at;
      for (const slot of run.slots) {
        slot.set(data.subarray(o, o + slot.length));
        o += slot.length;
      }
      yield run;
    }
  }
  return { runs: runs(), state };
}

/** The data PDVs of the P-DATA-TF PDUs in `bytes` (PS3.8 9.3.5), in order. */
function dataPdvs(bytes: Uint8Array): Pdv[] {
  const out: Pdv[] = [];
  for (let at = 0; at < bytes.length;) {
    assert.equal(bytes[at], 0x04, "a P-DATA-TF");
    const end = at + 6 + new DataView(bytes.buffer, bytes.byteOffset + at + 2).getUint32(0);
    out.push(...readPdvs(bytes, at + 6, end)!.filter((p) => !p.isCommand));
    at = end;
  }
  return out;
}

Deno.test("send: the same PDataRuns refilled and sent again reach the peer byte for byte, the last PDV alone flagged last", async () => {
  // 6 runs of 3,000 (the last as long as the others, its run the one of four runs before, now
  // ending the data set), and 5 runs and a short one.
  for (const size of [18_000, 16_000]) {
    const h = await requestorInSta6({}, 1012);
    const channel = new DimseChannel(h.assoc);
    const data = pattern(size);
    const { runs, state } = refilledRuns(data, 1000, 3000);
    await channel.send(1, RQ, new PDataRuns(data.length, 1000, runs));
    assert.equal(state.made, size === 18_000 ? 2 : 3);
    const pdvs = dataPdvs(h.peer.drain());
    assert.deepEqual(pdvs.map((p) => p.data.length), Array(size / 1000).fill(1000));
    assert.deepEqual(pdvs.map((p) => p.isLast), pdvs.map((_, i) => i === pdvs.length - 1));
    assert.deepEqual(concatBytes(pdvs.map((p) => p.data)), data);
    await h.assoc.abort();
  }
});
