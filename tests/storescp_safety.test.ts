/**
 * storescp's store handler in process, driven by our own SCU so that we
 * can send what DCMTK never would: UIDs that try to leave the output
 * directory, data sets cut off by an A-ABORT, data sets that contradict
 * their request, and a disk that fills up. Whatever happens, nothing is
 * written outside -od and no `.part` file is left behind.
 */
import assert from "node:assert/strict";
import { decodeFileMeta } from "../lib/dicom/part10.ts";
import { type CStoreRsp, PRIORITY } from "../lib/dimse/messages.ts";
import { createMemoryLogger, NULL_LOGGER } from "../lib/log/logger.ts";
import { DimseChannel } from "../lib/net/dimse_channel.ts";
import { buildAssociateRq } from "../lib/net/negotiation.ts";
import { DicomServer, type ServerEvent } from "../lib/net/server.ts";
import {
  DENO_FILE_SINK,
  type FileSink,
  storagePolicy,
  type StoreEvent,
  storeHandler,
  type StoreScpOptions,
  storeScpTransferSyntaxes,
} from "../lib/net/store_scp.ts";
import { connectTcp } from "../lib/transport/tcp.ts";
import type { Transport } from "../lib/transport/transport.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN } from "../lib/uids.ts";
import { type Association, requestAssociation } from "../lib/ul/association.ts";

const HOST = "127.0.0.1";
const MR = "1.2.840.10008.5.1.4.1.1.4";
const CT = "1.2.840.10008.5.1.4.1.1.2";
const STUDY = "1.2.826.0.1.3680043.2.1125.1";

// ---------------------------------------------------------------------------
// a small explicit VR little endian data set, built by hand so that every
// byte is under the test's control

function element(tag: number, vr: string, value: Uint8Array): Uint8Array {
  const long = ["OB", "OW", "SQ", "UN", "UT"].includes(vr);
  const out = new Uint8Array((long ? 12 : 8) + value.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, tag >>> 16, true);
  view.setUint16(2, tag & 0xffff, true);
  out[4] = vr.charCodeAt(0);
  out[5] = vr.charCodeAt(1);
  if (long) view.setUint32(8, value.length, true);
  else view.setUint16(6, value.length, true);
  out.set(value, long ? 12 : 8);
  return out;
}

function text(s: string, pad = 0): Uint8Array {
  const bytes = new Uint8Array(s.length + (s.length % 2));
  bytes.fill(pad);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}

/** SOP class, SOP instance, study UID and `pixels` bytes of pixel data. */
function dataset(o: { sopClass: string; sopInstance: string; study?: string; pixels?: number }) {
  const pixels = new Uint8Array(o.pixels ?? 1024);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + 3) & 0xff;
  const parts = [
    element(0x00080016, "UI", text(o.sopClass)),
    element(0x00080018, "UI", text(o.sopInstance)),
    element(0x00080060, "CS", text("MR", 0x20)),
    ...(o.study === undefined ? [] : [element(0x0020000d, "UI", text(o.study))]),
    element(0x7fe00010, "OW", pixels),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function uint16(n: number): Uint8Array {
  return new Uint8Array([n & 0xff, n >> 8]);
}

/** A command set, implicit VR little endian (PS3.7 6.3.1), with its group length first. */
function commandSet(elements: [tag: number, value: Uint8Array][]): Uint8Array {
  const body = elements.map(([tag, value]) => {
    const out = new Uint8Array(8 + value.length);
    const view = new DataView(out.buffer);
    view.setUint16(0, tag >>> 16, true);
    view.setUint16(2, tag & 0xffff, true);
    view.setUint32(4, value.length, true);
    out.set(value, 8);
    return out;
  });
  const length = body.reduce((n, e) => n + e.length, 0);
  const out = new Uint8Array(12 + length);
  new DataView(out.buffer).setUint32(4, 4, true);
  new DataView(out.buffer).setUint32(8, length, true);
  let off = 12;
  for (const e of body) {
    out.set(e, off);
    off += e.length;
  }
  return out;
}

// ---------------------------------------------------------------------------
// the server in process, and our SCU

interface Running {
  server: DicomServer;
  port: number;
  od: string;
  root: string;
  events: (ServerEvent | StoreEvent)[];
  log: ReturnType<typeof createMemoryLogger>;
}

/**
 * Starts a server storing below `<root>/od` (or `od`); `root` also holds
 * whatever escapes -od.
 */
async function startServer(
  o: Partial<StoreScpOptions> = {},
  od?: string,
  promiscuous = false,
): Promise<Running> {
  const root = await Deno.makeTempDir({ prefix: "storescp_safety_" });
  const dir = od ?? `${root}/od`;
  if (!od) await Deno.mkdir(dir);
  const events: (ServerEvent | StoreEvent)[] = [];
  const log = createMemoryLogger({ level: "info" });
  const server = DicomServer.start({
    hostname: HOST,
    port: 0,
    logger: log,
    logStyle: "dcmtk",
    policy: storagePolicy({
      aeTitle: "STORESCP",
      maxPdu: 16384,
      transferSyntaxes: storeScpTransferSyntaxes("all"),
      promiscuous,
    }),
    handlers: {
      "C-STORE-RQ": storeHandler({
        outputDirectory: dir,
        onStore: (e) => events.push(e),
        ...o,
      }),
    },
    acseTimeoutMs: 5000,
    dimseTimeoutMs: 10_000,
    onEvent: (e) => events.push(e),
  });
  return { server, port: server.local.port, od: dir, root, events, log };
}

async function stopServer(r: Running): Promise<void> {
  await r.server.stop();
  await Deno.remove(r.root, { recursive: true });
}

/** Every file below `dir`, relative to it, sorted. */
async function tree(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) out.push(...await tree(`${dir}/${e.name}`, `${prefix}${e.name}/`));
    else out.push(`${prefix}${e.name}`);
  }
  return out.sort();
}

interface Scu {
  transport: Transport;
  association: Association;
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

async function waitFor(pred: () => boolean | Promise<boolean>, what: string, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
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
    assert.deepEqual(await tree(r.od), ["MR.1.2.3.4"]);
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
    await stopServer(r);
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
    assert.deepEqual(await tree(r.root), ["od/MR.1.2.3"]);
  } finally {
    await stopServer(r);
  }
});

Deno.test("a UID longer than 64 characters never reaches the handler: the command is refused with an A-ABORT", async () => {
  const r = await startServer();
  try {
    const scu = await openScu(r.port, [[MR, EXPLICIT_VR_LITTLE_ENDIAN]]);
    // Our encoder refuses such a value, so this C-STORE-RQ command set is built by hand.
    const command = commandSet([
      [0x00000002, text(MR)],
      [0x00000100, uint16(0x0001)],
      [0x00000110, uint16(1)],
      [0x00000700, uint16(PRIORITY.medium)],
      [0x00000800, uint16(0x0001)],
      [0x00001000, text(`1.${"2".repeat(63)}`)],
    ]);
    const contextId = scu.contextIds.get(`${MR}|${EXPLICIT_VR_LITTLE_ENDIAN}`)!;
    await scu.association.sendPData({
      type: "P-DATA-TF",
      pdvs: [{ contextId, isCommand: true, isLast: true, data: command }],
    });
    const ev = await scu.channel.receive(10_000);
    assert.equal(ev.kind, "aborted");
    assert.deepEqual(await tree(r.root), []);
  } finally {
    await stopServer(r);
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
    assert.deepEqual(await tree(r.root), [`od/st_${STUDY}/MR.1.2.3`]);
    assert.match(r.log.sink.text, new RegExp(`I: created new subdirectory for study: ${r.od}/st_`));
  } finally {
    await stopServer(r);
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
    assert.deepEqual(await tree(r.root), []);
  } finally {
    await stopServer(r);
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
        await waitFor(async () => (await tree(od)).some((f) => f.endsWith(".part")), ".part");
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
      await waitFor(() => r.events.some((e) => e.event === "association-aborted"), "abort seen");
      await waitFor(async () => (await tree(r.root)).length === 0, "the .part removed");
      assert.ok(!r.events.some((e) => e.event === "store"), "no store event for a broken transfer");
      await scu.association.closed;
    } finally {
      await stopServer(r);
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
    assert.deepEqual(await tree(r.root), []);
    assert.match(r.log.sink.text, /E: cannot write DICOM file: .*\.part: No space left on device/);
    limit = Infinity;
    const small = await store(scu, {
      sopClass: MR,
      sopInstance: "1.2.4",
      data: dataset({ sopClass: MR, sopInstance: "1.2.4" }),
    });
    assert.equal(small.status, 0);
    await release(scu);
    assert.deepEqual(await tree(r.root), ["od/MR.1.2.4"]);
  } finally {
    await stopServer(r);
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
    await stopServer(r);
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
    assert.deepEqual(await tree(dir), ["a"]);
    assert.equal(read(`${dir}/a`), "first");
    // Something there: nothing moves, nothing is replaced; rename then overwrites.
    write(`${dir}/a.part`, "second");
    assert.equal(DENO_FILE_SINK.moveNew(`${dir}/a.part`, `${dir}/a`), false);
    assert.deepEqual(await tree(dir), ["a", "a.part"]);
    assert.equal(read(`${dir}/a`), "first");
    DENO_FILE_SINK.rename(`${dir}/a.part`, `${dir}/a`);
    assert.deepEqual(await tree(dir), ["a"]);
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
  const r = await startServer({}, mount);
  try {
    const scu = await openScu(r.port, [[MR, EXPLICIT_VR_LITTLE_ENDIAN]]);
    const rsp = await store(scu, {
      sopClass: MR,
      sopInstance: "1.2.3",
      data: dataset({ sopClass: MR, sopInstance: "1.2.3", pixels: 3 << 20 }),
    });
    assert.equal(rsp.status, 0xa700);
    await release(scu);
    assert.deepEqual(await tree(mount), []);
  } finally {
    await r.server.stop();
    await new Deno.Command("umount", { args: [mount] }).output();
    await Deno.remove(mount, { recursive: true });
    await Deno.remove(r.root, { recursive: true });
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
    await waitFor(() => r.events.some((e) => e.event === "association-aborted"), "abort seen");
    assert.match(
      r.log.sink.text,
      /Protocol error: data PDV on context 3, its command was on context 1/,
    );
    assert.deepEqual(await tree(r.root), []);
  } finally {
    await stopServer(r);
  }
});

Deno.test("-pm accepts SOP classes nobody knows and stores them as UNKNOWN.<uid>", async () => {
  const unknown = "1.2.826.0.1.3680043.2.1125.99.1";
  for (const promiscuous of [false, true]) {
    const r = await startServer({}, undefined, promiscuous);
    try {
      const scu = await openScu(r.port, [
        [unknown, EXPLICIT_VR_LITTLE_ENDIAN],
        // Known, but no storage class: never accepted, -pm or not.
        ["1.2.840.10008.5.1.4.1.2.2.1", EXPLICIT_VR_LITTLE_ENDIAN],
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
      assert.deepEqual(await tree(r.od), promiscuous ? ["UNKNOWN.1.2.3"] : []);
    } finally {
      await stopServer(r);
    }
  }
});
