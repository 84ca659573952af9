/**
 * storescp's store handler in process, driven by our own SCU so that we
 * can send what DCMTK never would: UIDs that try to leave the output
 * directory, data sets cut off by an A-ABORT, data sets that contradict
 * their request, and a disk that fills up. Whatever happens, nothing is
 * written outside -od and no `.part` file is left behind.
 */
import assert from "node:assert/strict";
import { decodeFileMeta } from "../../lib/dicom/part10.ts";
import { type CStoreRsp, PRIORITY } from "../../lib/dimse/messages.ts";
import { NULL_LOGGER } from "../../lib/log/logger.ts";
import { DimseChannel } from "../../lib/ae/channel.ts";
import { buildAssociateRq } from "../../lib/ae/negotiation.ts";
import type { StoreEvent, StoreScpOptions } from "../../lib/cli/storescp/store_handler.ts";
import { DENO_FILE_SINK, type FileSink, WriteBufferPool } from "../../lib/ae/file_store.ts";
import { connectTcp } from "../../lib/transport/tcp.ts";
import type { Transport } from "../../lib/transport/transport.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN } from "../../lib/dicom/uids.ts";
import { requestAssociation, type UlAssociation } from "../../lib/ul/association.ts";
import {
  commandSet,
  HOST,
  MR,
  mrDataset,
  type ScpSetup,
  startScp,
  text,
  until,
  us,
} from "../../testing/bad_peer.ts";
import { listDir } from "../../testing/temp_files.ts";

const CT = "1.2.840.10008.5.1.4.1.1.2";
const STUDY = "1.2.826.0.1.3680043.2.1125.1";

/** SOP class, SOP instance, study UID and `pixels` bytes (default 1024) of pixel data. */
function dataset(o: { sopClass: string; sopInstance: string; study?: string; pixels?: number }) {
  return mrDataset({ pixels: 1024, ...o });
}

// ---------------------------------------------------------------------------
// the server in process, and our SCU

/**
 * Starts the server (storescp's C-STORE handler with `store` options) below
 * a temporary root that also holds whatever escapes -od.
 */
function startServer(store: Partial<StoreScpOptions> = {}, setup: ScpSetup = {}) {
  return startScp({ store, acseTimeoutMs: 5000, dimseTimeoutMs: 10_000, ...setup });
}

interface Scu {
  transport: Transport;
  association: UlAssociation;
  channel: DimseChannel;
  /** Accepted context ID per "sopClass|ts". */
  contextIds: Map<string, number>;
}

async function openScu(port: number, contexts: [sopClass: string, ts: string][]): Promise<Scu> {
  const transport = await connectTcp({ host: HOST, port, family: "ipv4" });
  const rq = buildAssociateRq({
    aeTitle: "SAFETY",
    calledAeTitle: "STORESCP",
    maxPdu: 16384,
    presentationContexts: contexts.map(([abstractSyntax, ts], i) => ({
      id: 2 * i + 1,
      abstractSyntax,
      transferSyntaxes: [ts],
    })),
  });
  const r = await requestAssociation(transport, rq, {
    logger: NULL_LOGGER,
    artimTimeoutMs: 5000,
  });
  assert.equal(r.kind, "accepted");
  if (r.kind !== "accepted") throw new Error("not accepted");
  const contextIds = new Map<string, number>();
  for (const pc of r.ac.presentationContexts) {
    assert.ok(pc.result === 0 || pc.result === 3, `context ${pc.id}: result ${pc.result}`);
    const [sop, ts] = contexts[(pc.id - 1) / 2];
    if (pc.result === 0) contextIds.set(`${sop}|${ts}`, pc.id);
  }
  return {
    transport,
    association: r.association,
    channel: new DimseChannel(r.association),
    contextIds,
  };
}

let messageId = 0;

/** Sends one C-STORE-RQ on the context of (contextClass, ts) and returns the C-STORE-RSP. */
async function store(
  scu: Scu,
  o: {
    sopClass: string;
    sopInstance: string;
    data: Uint8Array | AsyncIterable<Uint8Array>;
    ts?: string;
    contextClass?: string;
  },
): Promise<CStoreRsp> {
  const contextId = scu.contextIds.get(
    `${o.contextClass ?? o.sopClass}|${o.ts ?? EXPLICIT_VR_LITTLE_ENDIAN}`,
  );
  assert.ok(contextId, "context accepted");
  const id = ++messageId;
  await scu.channel.send(contextId, {
    type: "C-STORE-RQ",
    messageId: id,
    affectedSopClassUid: o.sopClass,
    affectedSopInstanceUid: o.sopInstance,
    priority: PRIORITY.medium,
  }, o.data);
  const ev = await scu.channel.receive(15_000);
  assert.equal(ev.kind, "command", JSON.stringify(ev));
  if (ev.kind !== "command" || ev.message.type !== "C-STORE-RSP") throw new Error("no C-STORE-RSP");
  assert.equal(ev.message.messageIdBeingRespondedTo, id);
  assert.equal(ev.contextId, contextId, "the response comes on the request's context");
  return ev.message;
}

async function release(scu: Scu): Promise<void> {
  assert.equal(await scu.association.release(), "released");
}

// ---------------------------------------------------------------------------

Deno.test("a data set streams into <modality>.<uid>: meta from the request and context, data set byte-exact", async () => {
  const r = await startServer();
  try {
    const scu = await openScu(r.port, [[MR, EXPLICIT_VR_LITTLE_ENDIAN]]);
    const data = dataset({ sopClass: MR, sopInstance: "1.2.3.4", pixels: 3 << 20 });
    const rsp = await store(scu, { sopClass: MR, sopInstance: "1.2.3.4", data });
    assert.equal(rsp.status, 0);
    assert.equal(rsp.affectedSopInstanceUid, "1.2.3.4");
    await release(scu);
    assert.deepEqual(await listDir(r.od, true), ["MR.1.2.3.4"]);
    const file = await Deno.readFile(`${r.od}/MR.1.2.3.4`);
    const { meta, length } = decodeFileMeta(file);
    assert.equal(meta.mediaStorageSopClassUid, MR);
    assert.equal(meta.mediaStorageSopInstanceUid, "1.2.3.4");
    assert.equal(meta.transferSyntaxUid, EXPLICIT_VR_LITTLE_ENDIAN);
    assert.equal(meta.sourceAeTitle, "SAFETY");
    assert.deepEqual(file.subarray(length), data);
    const ev = r.events.find((e) => e.event === "store") as StoreEvent;
    assert.equal(ev.path, `${r.od}/MR.1.2.3.4`);
    assert.equal(ev.bytes, data.length);
    assert.equal(ev.status, 0);
    assert.equal(ev.transferSyntax, EXPLICIT_VR_LITTLE_ENDIAN);
    assert.match(r.log.sink.text, /I: Received Store Request \(MsgID \d+, MR\)\n/);
    assert.match(
      r.log.sink.text,
      new RegExp(`I: storing DICOM file: ${r.od}/MR\\.1\\.2\\.3\\.4\\n`),
    );
  } finally {
    await r.stop();
  }
});

Deno.test("write batches have a total: past it a store writes each fragment as it comes, stored whole all the same, said once", async () => {
  // Room for one 256 KiB batch: the first store holds it, the second writes unbuffered.
  const buffers = new WriteBufferPool(300 * 1024);
  const r = await startServer({ buffers });
  try {
    const first = await openScu(r.port, [[MR, EXPLICIT_VR_LITTLE_ENDIAN]]);
    const second = await openScu(r.port, [[MR, EXPLICIT_VR_LITTLE_ENDIAN]]);
    const held = (async function* () {
      yield dataset({ sopClass: MR, sopInstance: "1.2.3.1", pixels: 1 << 20 }).subarray(0, 4096);
      // Held open until the second store is done: its batch stays taken.
      await until(() => r.events.some((e) => e.event === "store"), "second store");
    })();
    const whole = dataset({ sopClass: MR, sopInstance: "1.2.3.2", pixels: 1 << 20 });
    const firstDone = store(first, { sopClass: MR, sopInstance: "1.2.3.1", data: held })
      .catch(() => undefined);
    await until(() => buffers.held > 0, "first store's batch");
    const rsp = await store(second, { sopClass: MR, sopInstance: "1.2.3.2", data: whole });
    assert.equal(rsp.status, 0);
    const file = await Deno.readFile(`${r.od}/MR.1.2.3.2`);
    assert.deepEqual(file.subarray(decodeFileMeta(file).length), whole);
    assert.equal(
      r.log.sink.lines.filter((l) => /^W: Write buffers of stores in progress reached/.test(l))
        .length,
      1,
    );
    first.association.abort();
    await firstDone;
    await release(second);
  } finally {
    await r.stop();
  }
});

Deno.test("UIDs that are no UIDs are refused with 0xC000 before anything is written", async () => {
  const r = await startServer();
  try {
    const scu = await openScu(r.port, [[MR, EXPLICIT_VR_LITTLE_ENDIAN]]);
    for (const uid of ["../../etc/x", "1.2/3", "1.2\\3", "1.2\u00003", "..", "1.2.3.", "/tmp/x"]) {
      const data = dataset({ sopClass: MR, sopInstance: uid, pixels: 300_000 });
      const rsp = await store(scu, { sopClass: MR, sopInstance: uid, data });
      assert.equal(rsp.status, 0xc000, uid);
      assert.deepEqual(rsp.offendingElement, [0x00001000], uid);
      assert.match(rsp.errorComment ?? "", /is not a UID/, uid);
      assert.equal(rsp.affectedSopInstanceUid, undefined, "an invalid UID is not echoed");
    }
    // The association is still good after each refusal: the data sets were drained.
    const ok = await store(scu, {
      sopClass: MR,
      sopInstance: "1.2.3",
      data: dataset({ sopClass: MR, sopInstance: "1.2.3" }),
    });
    assert.equal(ok.status, 0);
    await release(scu);
    assert.deepEqual(await r.files(), ["od/MR.1.2.3"]);
  } finally {
    await r.stop();
  }
});

Deno.test("a UID longer than 64 characters never reaches the handler: the command is refused with an A-ABORT", async () => {
  const r = await startServer();
  try {
    const scu = await openScu(r.port, [[MR, EXPLICIT_VR_LITTLE_ENDIAN]]);
    // Our encoder refuses such a value, so this C-STORE-RQ command set is built by hand.
    const command = commandSet([
      [0x00000002, text(MR)],
      [0x00000100, us(0x0001)],
      [0x00000110, us(1)],
      [0x00000700, us(PRIORITY.medium)],
      [0x00000800, us(0x0001)],
      [0x00001000, text(`1.${"2".repeat(63)}`)],
    ]);
    const contextId = scu.contextIds.get(`${MR}|${EXPLICIT_VR_LITTLE_ENDIAN}`)!;
    await scu.association.sendPData({
      type: "P-DATA-TF",
      pdvs: [{ contextId, isCommand: true, isLast: true, data: command }],
    });
    const ev = await scu.channel.receive(10_000);
    assert.equal(ev.kind, "aborted");
    assert.deepEqual(await r.files(), []);
  } finally {
    await r.stop();
  }
});

Deno.test("-su: a Study Instance UID that is no UID is refused with 0xC000, no directory made", async () => {
  const r = await startServer({ sortStudyPrefix: "st" });
  try {
    const scu = await openScu(r.port, [[MR, EXPLICIT_VR_LITTLE_ENDIAN]]);
    for (const study of ["../../x", "1.2/3", "..", ""]) {
      const data = dataset({ sopClass: MR, sopInstance: "1.2.3", study, pixels: 2048 });
      const rsp = await store(scu, { sopClass: MR, sopInstance: "1.2.3", data });
      assert.equal(rsp.status, 0xc000, study);
      assert.deepEqual(rsp.offendingElement, [0x0020000d]);
    }
    const missing = await store(scu, {
      sopClass: MR,
      sopInstance: "1.2.3",
      data: dataset({ sopClass: MR, sopInstance: "1.2.3" }),
    });
    assert.equal(missing.status, 0xc000);
    assert.match(missing.errorComment ?? "", /StudyInstanceUID/);
    const good = await store(scu, {
      sopClass: MR,
      sopInstance: "1.2.3",
      data: dataset({ sopClass: MR, sopInstance: "1.2.3", study: STUDY }),
    });
    assert.equal(good.status, 0);
    await release(scu);
    assert.deepEqual(await r.files(), [`od/st_${STUDY}/MR.1.2.3`]);
    assert.match(r.log.sink.text, new RegExp(`I: created new subdirectory for study: ${r.od}/st_`));
  } finally {
    await r.stop();
  }
});

Deno.test("a request contradicting its context or its data set is refused and nothing stored", async () => {
  const r = await startServer();
  try {
    const scu = await openScu(r.port, [[MR, EXPLICIT_VR_LITTLE_ENDIAN], [
      CT,
      EXPLICIT_VR_LITTLE_ENDIAN,
    ]]);
    // CT request on the MR context: PS3.7 C.5 "SOP Class not supported".
    const wrongContext = await store(scu, {
      sopClass: CT,
      contextClass: MR,
      sopInstance: "1.2.3",
      data: dataset({ sopClass: CT, sopInstance: "1.2.3" }),
    });
    assert.equal(wrongContext.status, 0x0122);
    assert.deepEqual(wrongContext.offendingElement, [0x00000002]);
    // The data set's UIDs differ from the request's: 0xA900, as DCMTK.
    const otherInstance = await store(scu, {
      sopClass: MR,
      sopInstance: "1.2.3",
      data: dataset({ sopClass: MR, sopInstance: "1.2.4" }),
    });
    assert.equal(otherInstance.status, 0xa900);
    assert.deepEqual(otherInstance.offendingElement, [0x00080018]);
    const otherClass = await store(scu, {
      sopClass: MR,
      sopInstance: "1.2.3",
      data: dataset({ sopClass: CT, sopInstance: "1.2.3" }),
    });
    assert.equal(otherClass.status, 0xa900);
    assert.deepEqual(otherClass.offendingElement, [0x00080016]);
    await release(scu);
    assert.deepEqual(await r.files(), []);
  } finally {
    await r.stop();
  }
});

for (const ending of ["an A-ABORT from the peer", "a lost connection", "the server stopping"]) {
  Deno.test(`${ending} in the middle of a data set removes the .part file`, async () => {
    const r = await startServer({ writeBatch: 64 * 1024 });
    try {
      const scu = await openScu(r.port, [[MR, EXPLICIT_VR_LITTLE_ENDIAN]]);
      const whole = dataset({ sopClass: MR, sopInstance: "1.2.3", pixels: 4 << 20 });
      const contextId = scu.contextIds.get(`${MR}|${EXPLICIT_VR_LITTLE_ENDIAN}`)!;
      const od = r.od;
      // Half the data set, then wait until the server has started writing it, then stop.
      const halfThenStop = async function* () {
        yield whole.subarray(0, whole.length / 2);
        await until(
          async () => (await listDir(od, true)).some((f) => f.endsWith(".part")),
          ".part",
        );
        throw new Error("stop here");
      };
      await assert.rejects(
        scu.channel.send(contextId, {
          type: "C-STORE-RQ",
          messageId: 1,
          affectedSopClassUid: MR,
          affectedSopInstanceUid: "1.2.3",
          priority: PRIORITY.medium,
        }, halfThenStop()),
        /stop here/,
      );
      if (ending === "an A-ABORT from the peer") await scu.association.abort();
      else if (ending === "a lost connection") scu.transport.close();
      else await r.server.stop();
      await until(() => r.events.some((e) => e.event === "association-aborted"), "abort seen");
      await until(async () => (await r.files()).length === 0, "the .part removed");
      assert.ok(!r.events.some((e) => e.event === "store"), "no store event for a broken transfer");
      await scu.association.closed;
    } finally {
      await r.stop();
    }
  });
}

/** The real file system, except that writes fail once `limit` bytes have been written. */
function fullDisk(limit: number, writes: number[] = []): FileSink {
  return {
    ...DENO_FILE_SINK,
    create(path) {
      const file = DENO_FILE_SINK.create(path);
      let written = 0;
      return {
        write(data) {
          writes.push(data.length);
          if (written + data.length > limit) {
            file.write(data.subarray(0, limit - written));
            written = limit;
            throw new Error("No space left on device (os error 28)");
          }
          file.write(data);
          written += data.length;
        },
        close: () => file.close(),
      };
    },
  };
}

Deno.test("a full disk answers 0xA700 and leaves no partial file; the next store still works", async () => {
  let limit = 200_000;
  const sink: FileSink = {
    ...DENO_FILE_SINK,
    create: (path) => fullDisk(limit).create(path),
  };
  const r = await startServer({ sink });
  try {
    const scu = await openScu(r.port, [[MR, EXPLICIT_VR_LITTLE_ENDIAN]]);
    const big = await store(scu, {
      sopClass: MR,
      sopInstance: "1.2.3",
      data: dataset({ sopClass: MR, sopInstance: "1.2.3", pixels: 2 << 20 }),
    });
    assert.equal(big.status, 0xa700);
    assert.match(big.errorComment ?? "", /No space left/);
    assert.deepEqual(await r.files(), []);
    assert.match(r.log.sink.text, /E: cannot write DICOM file: .*\.part: No space left on device/);
    limit = Infinity;
    const small = await store(scu, {
      sopClass: MR,
      sopInstance: "1.2.4",
      data: dataset({ sopClass: MR, sopInstance: "1.2.4" }),
    });
    assert.equal(small.status, 0);
    await release(scu);
    assert.deepEqual(await r.files(), ["od/MR.1.2.4"]);
  } finally {
    await r.stop();
  }
});

Deno.test("writes are batched: every write but the last carries 256 KiB", async () => {
  const writes: number[] = [];
  const sink: FileSink = { ...DENO_FILE_SINK, create: (p) => fullDisk(Infinity, writes).create(p) };
  const r = await startServer({ sink });
  try {
    const scu = await openScu(r.port, [[MR, EXPLICIT_VR_LITTLE_ENDIAN]]);
    const data = dataset({ sopClass: MR, sopInstance: "1.2.3", pixels: 5 << 20 });
    assert.equal((await store(scu, { sopClass: MR, sopInstance: "1.2.3", data })).status, 0);
    await release(scu);
    assert.ok(writes.length >= 2 && writes.length <= 25, `${writes.length} writes`);
    for (const w of writes.slice(0, -1)) assert.equal(w, 256 * 1024);
    assert.equal((await Deno.stat(`${r.od}/MR.1.2.3`)).size, writes.reduce((a, b) => a + b, 0));
  } finally {
    await r.stop();
  }
});

Deno.test("the file sink moves a .part into place only where nothing is", async () => {
  const dir = await Deno.makeTempDir({ prefix: "storescp_sink_" });
  try {
    const write = (path: string, text: string) => {
      const file = DENO_FILE_SINK.create(path);
      file.write(new TextEncoder().encode(text));
      file.close();
    };
    const read = (path: string) => Deno.readTextFileSync(path);
    write(`${dir}/a.part`, "first");
    assert.equal(DENO_FILE_SINK.moveNew(`${dir}/a.part`, `${dir}/a`), true);
    assert.deepEqual(await listDir(dir, true), ["a"]);
    assert.equal(read(`${dir}/a`), "first");
    // Something there: nothing moves, nothing is replaced; rename then overwrites.
    write(`${dir}/a.part`, "second");
    assert.equal(DENO_FILE_SINK.moveNew(`${dir}/a.part`, `${dir}/a`), false);
    assert.deepEqual(await listDir(dir, true), ["a", "a.part"]);
    assert.equal(read(`${dir}/a`), "first");
    DENO_FILE_SINK.rename(`${dir}/a.part`, `${dir}/a`);
    assert.deepEqual(await listDir(dir, true), ["a"]);
    assert.equal(read(`${dir}/a`), "second");
    assert.throws(() => DENO_FILE_SINK.create(`${dir}/a`), Deno.errors.AlreadyExists);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a real full file system (tmpfs of 1 MiB, as root) answers 0xA700 and is left empty", {
  ignore: Deno.build.os !== "linux" || Deno.uid() !== 0,
}, async () => {
  const mount = await Deno.makeTempDir({ prefix: "storescp_tmpfs_" });
  const mounted = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mount],
    stderr: "null",
  }).output();
  if (!mounted.success) {
    await Deno.remove(mount);
    console.warn("cannot mount a tmpfs here: real full-disk test skipped");
    return;
  }
  const r = await startServer({}, { od: mount });
  try {
    const scu = await openScu(r.port, [[MR, EXPLICIT_VR_LITTLE_ENDIAN]]);
    const rsp = await store(scu, {
      sopClass: MR,
      sopInstance: "1.2.3",
      data: dataset({ sopClass: MR, sopInstance: "1.2.3", pixels: 3 << 20 }),
    });
    assert.equal(rsp.status, 0xa700);
    await release(scu);
    assert.deepEqual(await listDir(mount, true), []);
  } finally {
    await r.stop();
    await new Deno.Command("umount", { args: [mount] }).output();
    await Deno.remove(mount, { recursive: true });
  }
});

Deno.test("a data set fragment on another presentation context ends the association", async () => {
  const r = await startServer();
  try {
    const scu = await openScu(r.port, [[MR, EXPLICIT_VR_LITTLE_ENDIAN], [
      CT,
      EXPLICIT_VR_LITTLE_ENDIAN,
    ]]);
    const mr = scu.contextIds.get(`${MR}|${EXPLICIT_VR_LITTLE_ENDIAN}`)!;
    const ct = scu.contextIds.get(`${CT}|${EXPLICIT_VR_LITTLE_ENDIAN}`)!;
    await scu.channel.send(mr, {
      type: "C-STORE-RQ",
      messageId: 1,
      affectedSopClassUid: MR,
      affectedSopInstanceUid: "1.2.3",
      priority: PRIORITY.medium,
    });
    const data = dataset({ sopClass: MR, sopInstance: "1.2.3" });
    await scu.association.sendPData({
      type: "P-DATA-TF",
      pdvs: [{ contextId: ct, isCommand: false, isLast: true, data }],
    });
    assert.equal((await scu.channel.receive(10_000)).kind, "aborted");
    await until(() => r.events.some((e) => e.event === "association-aborted"), "abort seen");
    assert.match(
      r.log.sink.text,
      /Protocol error: data PDV on context 3, its command was on context 1/,
    );
    assert.deepEqual(await r.files(), []);
  } finally {
    await r.stop();
  }
});

Deno.test("-pm accepts SOP classes nobody knows and stores them as UNKNOWN.<uid>; never a non-UID", async () => {
  const unknown = "1.2.826.0.1.3680043.2.1125.99.1";
  // Each would become the Media Storage SOP Class UID of a stored file (issue 11): refused.
  const notUids = ["../../pmevil", "1.2.3.", "1.02.3", "1..2", "1.2.3a", "1.2 3"];
  for (const promiscuous of [false, true]) {
    const r = await startServer({}, { promiscuous });
    try {
      const scu = await openScu(r.port, [
        [unknown, EXPLICIT_VR_LITTLE_ENDIAN],
        // Known, but no storage class: never accepted, -pm or not.
        ["1.2.840.10008.5.1.4.1.2.2.1", EXPLICIT_VR_LITTLE_ENDIAN],
        ...notUids.map((uid): [string, string] => [uid, EXPLICIT_VR_LITTLE_ENDIAN]),
      ]);
      assert.equal(scu.contextIds.size, promiscuous ? 1 : 0);
      if (promiscuous) {
        const rsp = await store(scu, {
          sopClass: unknown,
          sopInstance: "1.2.3",
          data: dataset({ sopClass: unknown, sopInstance: "1.2.3" }),
        });
        assert.equal(rsp.status, 0);
        assert.match(r.log.sink.text, /I: Received Store Request \(MsgID \d+, OT\)/);
      }
      await release(scu);
      assert.deepEqual(await listDir(r.od, true), promiscuous ? ["UNKNOWN.1.2.3"] : []);
    } finally {
      await r.stop();
    }
  }
});
