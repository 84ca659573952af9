/**
 * storescp's store handler and the memory the receive path lends it (issue
 * 15): each data fragment lies in a PDU buffer the reader reads later PDUs
 * into once the fragment is released. The handler must release every
 * fragment exactly once, in the order they arrived, and only when nothing
 * of it is needed any more: after its bytes are in the file (written, or
 * copied into the write batch). Here each release poisons its fragment at
 * once, is counted, and its order is kept; a sink records the bytes of
 * every write as they are then. The end-to-end check with real PDU buffers
 * is tests/cli/storescp_receive_buffers.test.ts; this one also fails for a
 * second release or one out of order, which poison alone need not show.
 */
import assert from "node:assert/strict";
import { storeHandler } from "../../lib/cli/storescp/store_handler.ts";
import type { FileSink } from "../../lib/ae/file_store.ts";
import type { RequestContext } from "../../lib/ae/server.ts";
import type { ChannelEvent } from "../../lib/ae/channel.ts";
import type { CStoreRq } from "../../lib/dimse/messages.ts";
import { PRIORITY } from "../../lib/dimse/messages.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN } from "../../lib/dicom/uids.ts";
import { sopClassModality } from "../../lib/dicom/sop_classes.ts";
import { encodeFileMeta } from "../../lib/dicom/part10.ts";
import { NULL_LOGGER } from "../../lib/log/logger.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import { MR, mrDataset } from "../../testing/bad_peer.ts";

const INSTANCE = "1.2.826.0.1.3680043.2.1143.27.1";
/** JPEG 2000 lossless: its data sets are explicit VR little endian too (PS3.5 A.4). */
const JPEG_2000_LOSSLESS = "1.2.840.10008.1.2.4.90";
/** CT Image Storage (PS3.4 B.5). */
const CT = "1.2.840.10008.5.1.4.1.1.2";

/** A sink in memory: each file's writes, copied as they are when written. */
function recordingSink() {
  const files = new Map<string, Uint8Array[]>();
  const moved = new Map<string, string>();
  const sink: FileSink = {
    create(path) {
      const writes: Uint8Array[] = [];
      files.set(path, writes);
      return { write: (data) => void writes.push(data.slice()), close: () => {} };
    },
    moveNew(from, to) {
      moved.set(to, from);
      return true;
    },
    rename: (from, to) => void moved.set(to, from),
    remove: (path) => void files.delete(path),
    makeDirectory: () => true,
  };
  /** The bytes of the file stored at `path`. */
  const content = (path: string) => concatBytes(files.get(moved.get(path)!) ?? []);
  return { sink, content, moved };
}

/**
 * Data events for `dataset` cut into `sizes` (the last repeated), each chunk
 * a view into a PDU buffer of its own (with room for the 12 bytes of PDU and
 * PDV headers before it, as the reader lends them); `released` gets each
 * fragment's index when it is released, and the chunk is poisoned then.
 */
function lentFragments(dataset: Uint8Array, sizes: number[], released: number[]): ChannelEvent[] {
  const events: ChannelEvent[] = [];
  for (let off = 0, i = 0; off < dataset.length; i++) {
    const n = Math.min(sizes[Math.min(i, sizes.length - 1)], dataset.length - off);
    const pdu = new Uint8Array(12 + n);
    pdu.set(dataset.subarray(off, off + n), 12);
    const chunk = pdu.subarray(12);
    const index = i;
    off += n;
    events.push({
      kind: "data",
      contextId: 1,
      chunk,
      last: off === dataset.length,
      release: () => {
        released.push(index);
        pdu.fill(0xee);
      },
    });
  }
  return events;
}

/**
 * A request context whose channel hands out `events`, some at once (poll), some awaited;
 * the presentation context's class and syntax and the calling AE title as given.
 */
function context(
  events: ChannelEvent[],
  sent: unknown[],
  o: { sopClass?: string; syntax?: string; aeTitle?: string } = {},
): RequestContext {
  let next = 0;
  const channel = {
    // Every third event only through receive(): both ways the handler reads them.
    poll: () => (next % 3 === 2 ? undefined : events[next++]),
    receive: () => Promise.resolve(events[next++] ?? { kind: "timeout" }),
    send: (_contextId: number, message: unknown) => {
      sent.push(message);
      return Promise.resolve();
    },
  };
  return {
    channel,
    contextId: 1,
    context: {
      id: 1,
      abstractSyntax: o.sopClass ?? MR,
      transferSyntax: o.syntax ?? EXPLICIT_VR_LITTLE_ENDIAN,
    },
    peer: "127.0.0.1:104",
    rq: { callingAeTitle: o.aeTitle ?? "SCU" },
    log: NULL_LOGGER,
    tally: { requests: 0, failed: 0, stored: 0, bytes: 0 },
  } as unknown as RequestContext;
}

function request(sopInstance: string, sopClass = MR): CStoreRq {
  return {
    type: "C-STORE-RQ",
    messageId: 7,
    affectedSopClassUid: sopClass,
    affectedSopInstanceUid: sopInstance,
    priority: PRIORITY.medium,
  };
}

/** Fragment sizes: 16 KiB PDUs' (copied into the write batch), 128 KiB PDUs' (written as they are), mixed. */
const CUTS: [string, number[]][] = [
  ["16 KiB PDUs", [16372]],
  ["128 KiB PDUs", [131060]],
  ["mixed sizes", [10, 131060, 16372, 70000, 2, 300000, 16372]],
];

/** A data set of about 1 MiB: more than one write batch. */
const DATASET = mrDataset({ sopInstance: INSTANCE, pixels: 1_000_000 });

for (const [name, sizes] of CUTS) {
  Deno.test(`storescp's store handler, ${name}: each fragment released once, in order, after it is in the file`, async () => {
    const { sink, content, moved } = recordingSink();
    const released: number[] = [];
    const events = lentFragments(DATASET, sizes, released);
    const sent: unknown[] = [];
    const status = await storeHandler({ outputDirectory: "/od", sink })(
      request(INSTANCE),
      context(events, sent),
    );
    assert.equal(status, 0);
    assert.deepEqual(released, events.map((_, i) => i), "released once each, in arrival order");
    const path = `/od/MR.${INSTANCE}`;
    assert.deepEqual([...moved.keys()], [path]);
    const file = content(path);
    // What follows the file meta information is the data set as sent: no poison in it.
    assert.equal(file.length > DATASET.length, true);
    const stored = file.subarray(file.length - DATASET.length);
    assert.equal(stored.findIndex((b, i) => b !== DATASET[i]), -1, "the stored data set");
  });
}

for (
  const [why, o, instance] of [
    ["a data set refused (its SOP instance not the request's)", {}, "1.2.3.4"],
    ["--ignore", { ignore: true }, INSTANCE],
  ] as const
) {
  Deno.test(`storescp's store handler, ${why}: each fragment still released once, in order`, async () => {
    const { sink, moved } = recordingSink();
    const released: number[] = [];
    const events = lentFragments(DATASET, [16372], released);
    await storeHandler({ outputDirectory: "/od", sink, ...o })(
      request(instance),
      context(events, []),
    );
    assert.deepEqual(released, events.map((_, i) => i));
    assert.equal(moved.size, 0);
  });
}

Deno.test("storescp's store handler: every file's meta information is the one its request, context and caller make, one after another in a handler", async () => {
  // The handler reuses the last file's meta information when only the instance UID differs
  // (FileMetaEncoder): UIDs of odd and even length with the same padded length, in both orders,
  // then a change of each other field, a longer UID, and back.
  const cases: { instance: string; sopClass?: string; syntax?: string; aeTitle?: string }[] = [
    { instance: "1.2.3.44" },
    { instance: "1.2.3.5" },
    { instance: "1.2.3.66" },
    { instance: "1.2.3.7" },
    { instance: "1.2.3.8" },
    // Each of the other fields changed alone, to a value of the same length where it can.
    { instance: "1.2.3.9", sopClass: CT },
    { instance: "1.2.3.10", sopClass: CT },
    { instance: "1.2.3.11", sopClass: CT, syntax: JPEG_2000_LOSSLESS },
    { instance: "1.2.3.12", sopClass: CT, syntax: JPEG_2000_LOSSLESS, aeTitle: "OTHER_AE" },
    { instance: "1.2.3.13", sopClass: CT, syntax: JPEG_2000_LOSSLESS, aeTitle: "SECOND_A" },
    { instance: "1.2.3.14", syntax: JPEG_2000_LOSSLESS, aeTitle: "SECOND_A" },
    { instance: "1.2.3.15", aeTitle: "SECOND_A" },
    { instance: "1.2.826.0.1.3680043.2.1143.27.100" },
    { instance: "1.2.3.1" },
  ];
  const { sink, content } = recordingSink();
  const handler = storeHandler({ outputDirectory: "/od", sink });
  for (const c of cases) {
    const sopClass = c.sopClass ?? MR;
    const dataset = mrDataset({ sopInstance: c.instance, sopClass, pixels: 100 });
    const status = await handler(
      request(c.instance, sopClass),
      context(lentFragments(dataset, [16372], []), [], { ...c, sopClass }),
    );
    assert.equal(status, 0, c.instance);
    const file = content(`/od/${sopClassModality(sopClass)}.${c.instance}`);
    const meta = encodeFileMeta({
      mediaStorageSopClassUid: sopClass,
      mediaStorageSopInstanceUid: c.instance,
      transferSyntaxUid: c.syntax ?? EXPLICIT_VR_LITTLE_ENDIAN,
      sourceAeTitle: c.aeTitle ?? "SCU",
    });
    assert.deepEqual(file.subarray(0, file.length - dataset.length), meta, c.instance);
    assert.deepEqual(file.subarray(file.length - dataset.length), dataset, c.instance);
  }
});
