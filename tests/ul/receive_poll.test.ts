/**
 * Indications the upper layer has already read are taken without a wait:
 * `poll()` hands them over in order (the terminal one repeated, as
 * `receive()` does) and never ahead of a `receive()` still waiting, and the
 * DIMSE channel drains them through it instead of asking the upper layer
 * for a promise per PDU.
 */
import assert from "node:assert/strict";
import { encodePdu } from "../../lib/pdu/codec.ts";
import type { PDataTfPdu } from "../../lib/pdu/types.ts";
import { DimseChannel } from "../../lib/ae/channel.ts";
import { encodeCommandSet } from "../../lib/dimse/command.ts";
import { messageToCommandSet } from "../../lib/dimse/messages.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import type { UlAssociation } from "../../lib/ul/association.ts";
import { abortBytes, acceptorInSta6, RELEASE_RQ, settle } from "../../testing/ul_peer.ts";

function dataPdu(i: number, isLast = false): PDataTfPdu {
  return {
    type: "P-DATA-TF",
    pdvs: [{ contextId: 1, isCommand: false, isLast, data: new Uint8Array([i, i, i, i]) }],
  };
}

/** The first data byte of each p-data indication, or the indication's kind. */
function described(ind: ReturnType<NonNullable<UlAssociation["poll"]>>): string {
  if (ind === undefined) return "none";
  return ind.kind === "p-data" ? `p-data ${ind.pdu.pdvs[0].data[0]}` : ind.kind;
}

Deno.test("poll(): what was read, in order, then nothing; the release indication after the data", async () => {
  const h = await acceptorInSta6();
  assert.equal(described(h.assoc.poll!()), "none");
  await h.peer.write(concatBytes([1, 2, 3].map((i) => encodePdu(dataPdu(i))).concat(RELEASE_RQ)));
  await settle();
  const seen = [];
  for (let ind = h.assoc.poll!(); ind !== undefined; ind = h.assoc.poll!()) {
    seen.push(described(ind));
  }
  assert.deepEqual(seen, ["p-data 1", "p-data 2", "p-data 3", "release-requested"]);
  assert.equal(described(h.assoc.poll!()), "none");
  const released = h.assoc.respondRelease();
  await settle();
  h.peer.close();
  await released;
});

Deno.test("poll(): never ahead of a receive() that waits; the terminal indication repeated", async () => {
  const h = await acceptorInSta6();
  const waiting = h.assoc.receive();
  await h.peer.write(concatBytes([encodePdu(dataPdu(7)), encodePdu(dataPdu(8))]));
  await settle();
  // The first PDU went to the receive() that waited for it; poll() takes the second.
  assert.equal(described(await waiting), "p-data 7");
  assert.equal(described(h.assoc.poll!()), "p-data 8");
  await h.peer.write(abortBytes(0, 0));
  await settle();
  assert.equal(described(h.assoc.poll!()), "aborted");
  assert.equal(described(h.assoc.poll!()), "aborted");
  assert.equal(described(await h.assoc.receive()), "aborted");
});

Deno.test("poll(): reading paused at the high-water mark resumes once polled below it", async () => {
  const h = await acceptorInSta6();
  // More PDUs than the upper layer queues before it stops reading (16), one read each.
  const count = 40;
  for (let i = 0; i < count; i++) await h.peer.write(encodePdu(dataPdu(i)));
  const seen: number[] = [];
  for (let rounds = 0; seen.length < count && rounds < 200; rounds++) {
    await settle();
    for (let ind = h.assoc.poll!(); ind !== undefined; ind = h.assoc.poll!()) {
      assert.equal(ind.kind, "p-data");
      if (ind.kind === "p-data") seen.push(ind.pdu.pdvs[0].data[0]);
    }
  }
  assert.deepEqual(seen, Array.from({ length: count }, (_, i) => i));
  await h.assoc.abort({ closeNow: true });
});

Deno.test("the channel drains PDUs already read without a receive() of the upper layer per PDU", async () => {
  const h = await acceptorInSta6();
  let receives = 0;
  const ul = h.assoc;
  const counted: UlAssociation = {
    get state() {
      return ul.state;
    },
    get bytesReceived() {
      return ul.bytesReceived;
    },
    get lastActivity() {
      return ul.lastActivity;
    },
    peerMaxPdu: ul.peerMaxPdu,
    ourMaxPdu: ul.ourMaxPdu,
    receive: () => {
      receives++;
      return ul.receive();
    },
    poll: () => ul.poll!(),
    sendPData: (pdu) => ul.sendPData(pdu),
    release: () => ul.release(),
    respondRelease: () => ul.respondRelease(),
    abort: (opts) => ul.abort(opts),
    closed: ul.closed,
  };
  const channel = new DimseChannel(counted, { floor: { bytesPerSecond: 1, windowMs: 30_000 } });
  const command = encodeCommandSet(messageToCommandSet({
    type: "C-STORE-RQ",
    messageId: 1,
    affectedSopClassUid: "1.2.840.10008.5.1.4.1.1.7",
    affectedSopInstanceUid: "1.2.3.4",
    priority: 0,
  }));
  const fragments = 10;
  await h.peer.write(concatBytes([
    encodePdu({
      type: "P-DATA-TF",
      pdvs: [{ contextId: 1, isCommand: true, isLast: true, data: command }],
    }),
    ...Array.from({ length: fragments }, (_, i) => encodePdu(dataPdu(i, i === fragments - 1))),
  ]));
  await settle();
  const first = await channel.receive(5000);
  assert.equal(first.kind, "command");
  const data: number[] = [];
  for (;;) {
    const ev = await channel.receive(5000);
    assert.equal(ev.kind, "data");
    if (ev.kind !== "data") break;
    data.push(ev.chunk[0]);
    ev.release?.();
    if (ev.last) break;
  }
  assert.deepEqual(data, Array.from({ length: fragments }, (_, i) => i));
  // Everything was read before the first receive: no promise of the upper layer was needed.
  assert.equal(receives, 0);
  await h.assoc.abort({ closeNow: true });
});

Deno.test("DimseChannel.poll(): the events receive() would give at once, in order, then undefined; receive() waits for the rest", async () => {
  const h = await acceptorInSta6();
  const channel = new DimseChannel(h.assoc);
  assert.equal(channel.poll(), undefined, "nothing read yet");
  const command = encodeCommandSet(messageToCommandSet({
    type: "C-STORE-RQ",
    messageId: 1,
    affectedSopClassUid: "1.2.840.10008.5.1.4.1.1.7",
    affectedSopInstanceUid: "1.2.3.4",
    priority: 0,
  }));
  const commandPdu = encodePdu({
    type: "P-DATA-TF",
    pdvs: [{ contextId: 1, isCommand: true, isLast: true, data: command }],
  });
  await h.peer.write(concatBytes([commandPdu, ...[0, 1, 2].map((i) => encodePdu(dataPdu(i)))]));
  await settle();
  const seen: string[] = [];
  for (let ev = channel.poll(); ev !== undefined; ev = channel.poll()) {
    seen.push(ev.kind === "data" ? `data ${ev.chunk[0]}` : ev.kind);
    if (ev.kind === "data") ev.release?.();
  }
  assert.deepEqual(seen, ["command", "data 0", "data 1", "data 2"]);
  const waiting = channel.receive(5000);
  await h.peer.write(encodePdu(dataPdu(3, true)));
  const last = await waiting;
  assert.ok(last.kind === "data" && last.last && last.chunk[0] === 3);
  assert.equal(channel.poll(), undefined);
  await h.peer.write(abortBytes(0, 0));
  await settle();
  assert.equal(channel.poll()?.kind, "aborted");
});
