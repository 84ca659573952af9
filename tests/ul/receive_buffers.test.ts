/**
 * What the receiving side hands up is the caller's to keep: the upper layer
 * queues P-DATA indications, the DIMSE channel keeps command fragments, and
 * storescp's .part file holds data PDVs until they are written, all while
 * reading goes on. Each test keeps what it was given across many later reads
 * over real loopback TCP and checks it only at the end, so a receive path
 * that reuses its read memory (issue 15 measured one) fails here unless it
 * copies what it hands up.
 */
import assert from "node:assert/strict";
import { PduReader, poisonReleasedBuffers, type ReadPdu } from "../../lib/pdu/reader.ts";
import { DimseChannel } from "../../lib/ae/channel.ts";
import { cStoreRq } from "../../testing/bad_peer.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import { encodePdu } from "../../lib/pdu/codec.ts";
import type { PDataTfPdu } from "../../lib/pdu/types.ts";
import { connectTcp, listenTcp } from "../../lib/transport/tcp.ts";
import type { Transport } from "../../lib/transport/transport.ts";
import {
  acceptAssociation,
  requestAssociation,
  type UlAssociation,
  type UlIndication,
} from "../../lib/ul/association.ts";
import { associateAc, associateRq, recordingLogger } from "../../testing/ul_peer.ts";

/** The data of PDV `i`: even, of varied length (some PDUs far larger than a read), distinct. */
function pdvData(i: number): Uint8Array {
  const data = new Uint8Array(2 * ((i * 7919) % 40_000) + 2);
  for (let k = 0; k < data.length; k++) data[k] = (i * 31 + k * 7 + (k >> 8)) & 0xff;
  return data;
}

/** Byte equality, without a diff of large arrays in the failure message. */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function pdata(i: number): PDataTfPdu {
  return {
    type: "P-DATA-TF",
    pdvs: [{ contextId: 1, isCommand: false, isLast: i % 5 === 4, data: pdvData(i) }],
  };
}

async function tcpPair(): Promise<{ client: Transport; server: Transport; close(): void }> {
  const listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const client = await connectTcp({ host: "127.0.0.1", port: listener.local.port, family: "ipv4" });
  const server = (await accepted)!;
  return {
    client,
    server,
    close() {
      client.close();
      server.close();
      listener.close();
    },
  };
}

const COUNT = 300;

Deno.test("PDUs read from TCP keep their bytes, and their PDVs theirs, through later reads", async () => {
  const { client, server, close } = await tcpPair();
  try {
    const stream = concatBytes(Array.from({ length: COUNT }, (_, i) => encodePdu(pdata(i))));
    // Odd write sizes, so that reads end anywhere in a PDU.
    const writing = (async () => {
      for (let off = 0, n = 1; off < stream.length; off += n, n = (n * 7 + 4093) % 150_001) {
        await client.write(stream.subarray(off, off + n));
      }
      client.close();
    })();
    const reader = new PduReader();
    const kept: ReadPdu[] = [];
    let reads = 0;
    // As the upper layer reads: into the reader's room (its staging buffer, or a PDU's rest).
    for (
      let n = await server.readInto(reader.room());
      n !== null;
      n = await server.readInto(reader.room())
    ) {
      reads++;
      reader.filled(n);
      for (let r = reader.next(); r !== null; r = reader.next()) kept.push(r);
    }
    await writing;
    assert.ok(reads > 20, `${reads} reads`);
    assert.equal(kept.length, COUNT);
    for (let i = 0; i < COUNT; i++) {
      const pdv = (kept[i].pdu as PDataTfPdu).pdvs[0];
      assert.ok(same(pdv.data, pdvData(i)), `PDV ${i} after all the reads`);
      assert.ok(same(kept[i].raw, encodePdu(pdata(i))), `PDU ${i} after all the reads`);
    }
  } finally {
    close();
  }
});

Deno.test("P-DATA indications queued by the upper layer keep their PDVs while it reads on", async () => {
  const { client, server, close } = await tcpPair();
  const logger = recordingLogger();
  const opts = { logger, artimTimeoutMs: 5000 };
  try {
    const accepting = acceptAssociation(server, opts, () => associateAc(0));
    const requested = await requestAssociation(client, associateRq(0), opts);
    const accepted = await accepting;
    assert.equal(requested.kind, "accepted");
    assert.equal(accepted.kind, "accepted");
    const sender = (requested as { association: UlAssociation }).association;
    const receiver = (accepted as { association: UlAssociation }).association;
    // Sent at once, taken slowly: the receiver reads on until its queue is full,
    // pauses, and reads on again as indications are taken.
    const sending = Promise.all(
      Array.from({ length: COUNT }, (_, i) => sender.sendPData(pdata(i))),
    );
    const taken: UlIndication[] = [];
    for (let i = 0; i < COUNT; i++) {
      if (i % 16 === 0) await new Promise((r) => setTimeout(r, 1));
      taken.push(await receiver.receive());
    }
    await sending;
    for (let i = 0; i < COUNT; i++) {
      const ind = taken[i];
      assert.equal(ind.kind, "p-data");
      const pdv = (ind as { pdu: PDataTfPdu }).pdu.pdvs[0];
      assert.ok(same(pdv.data, pdvData(i)), `PDV ${i} once all were received`);
    }
    await sender.abort();
  } finally {
    close();
  }
});

Deno.test("a pool buffer holding two data PDVs goes back only when the data events of both are released", async () => {
  const { client, server, close } = await tcpPair();
  const opts = { logger: recordingLogger(), artimTimeoutMs: 5000 };
  poisonReleasedBuffers(0xee);
  try {
    const accepting = acceptAssociation(server, opts, () => associateAc(16384));
    const requested = await requestAssociation(client, associateRq(16384), opts);
    const accepted = await accepting;
    assert.equal(requested.kind, "accepted");
    assert.equal(accepted.kind, "accepted");
    const sender = (requested as { association: UlAssociation }).association;
    const channel = new DimseChannel((accepted as { association: UlAssociation }).association);
    const data = (i: number, n: number) => {
      const d = new Uint8Array(n);
      for (let k = 0; k < n; k++) d[k] = (i * 59 + k * 3) & 0xff;
      return d;
    };
    const pdv = (data: Uint8Array, isLast = false) => ({
      contextId: 1,
      isCommand: false,
      isLast,
      data,
    });
    const sending = (async () => {
      await sender.sendPData({
        type: "P-DATA-TF",
        pdvs: [{ contextId: 1, isCommand: true, isLast: true, data: cStoreRq("1.2.3.4") }],
      });
      // Two data PDVs in one PDU at our maximum: one buffer of the pool for both.
      await sender.sendPData({ type: "P-DATA-TF", pdvs: [pdv(data(0, 8000)), pdv(data(1, 8360))] });
      for (let i = 2; i < 40; i++) {
        await sender.sendPData({ type: "P-DATA-TF", pdvs: [pdv(data(i, 16372), i === 39)] });
      }
    })();
    assert.equal((await channel.receive(5000)).kind, "command");
    const a = await channel.receive(5000);
    const b = await channel.receive(5000);
    assert.ok(a.kind === "data" && b.kind === "data");
    assert.ok(a.release && b.release, "lent from the pool");
    assert.equal(a.chunk.buffer, b.chunk.buffer);
    a.release();
    a.release();
    // Every later PDU read into buffers given back: none may be b's.
    for (let i = 2; i < 40; i++) {
      const ev = await channel.receive(5000);
      assert.ok(ev.kind === "data");
      assert.ok(same(ev.chunk, data(i, 16372)), `PDV ${i}`);
      assert.notEqual(ev.chunk.buffer, b.chunk.buffer);
      ev.release?.();
    }
    await sending;
    assert.ok(same(a.chunk, data(0, 8000)), "not given back while b is held");
    assert.ok(same(b.chunk, data(1, 8360)), "b intact");
    b.release();
    assert.ok(b.chunk.every((x) => x === 0xee), "given back once both are released");
    await sender.abort();
  } finally {
    poisonReleasedBuffers(undefined);
    close();
  }
});
