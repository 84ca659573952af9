/**
 * docs/SECURITY_CLASSES.md #8, state machine and timer hangs, over real sockets,
 * plus the faults of issue 5 (a peer that stops reading, never releases,
 * aborts in the middle of a data set; a disk that fills during a store).
 * Every case must end within its timeouts, with the (state, event, action)
 * trace of PS3.8 Table 9-10 where the UL rests, and the next peer served.
 *
 * The class's inputs and where each is tested:
 * - peer never answers the A-ASSOCIATE-RQ: here (-ta), and
 *   tests/ul/ul_association.test.ts over memory transports;
 * - never sends A-RELEASE-RP: here (-ta);
 * - stops reading: here, our SCU sending a data set (write timeout, -ts) and
 *   a slow reader that must not be cut off;
 * - release collision: here over a socket; acceptor side (Sta10, Sta12) in
 *   tests/ul/ul_association_matrix.test.ts (our server never requests release);
 * - A-ABORT with reserved source/reason: here, to the server in Sta2 and
 *   Sta6, and to our requestor in Sta5;
 * - abort mid-exchange: here for our SCU (the peer aborts during the data
 *   set); for our SCP, tests/security/storescp_safety.test.ts (A-ABORT, lost
 *   connection and server stop mid data set remove the .part file);
 * - TCP close in every state: here, every state the server and our
 *   requestor rest in over a socket; Sta3 and Sta8 of our server pass
 *   without waiting for the peer, and every state of both roles is
 *   covered over memory transports by tests/ul/ul_association_matrix.test.ts;
 * - a disk that fills: here with several associations at once; one
 *   association and a real tmpfs in tests/security/storescp_safety.test.ts.
 */
import assert from "node:assert/strict";
import { NULL_LOGGER } from "../../lib/log/logger.ts";
import { answerAssociateRq } from "../../lib/ae/negotiation.ts";
import { storagePolicy } from "../../lib/cli/storescp/store_handler.ts";
import { DENO_FILE_SINK, type FileSink } from "../../lib/ae/file_store.ts";
import {
  runStoreScu,
  storeScuDefaults,
  type StoreScuOptions,
} from "../../lib/cli/storescu/engine.ts";
import { encodePdu } from "../../lib/pdu/codec.ts";
import { PduReader } from "../../lib/pdu/reader.ts";
import type { AssociateRqPdu, Pdu } from "../../lib/pdu/types.ts";
import { connectTcp, ConnTransport } from "../../lib/transport/tcp.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN } from "../../lib/dicom/uids.ts";
import { requestAssociation, type UlOptions } from "../../lib/ul/association.ts";
import {
  assertNextServed,
  associated,
  associateRqBytes,
  commandPdv,
  cStoreRq,
  dataPdv,
  HOST,
  MR,
  mrDataset,
  pdata,
  RawPeer,
  type ScpSetup,
  type ScpUnderTest,
  until,
  withScp,
} from "../../testing/bad_peer.ts";
import { readPart10, writeImageFile } from "../../testing/dicom_files.ts";
import { withTempDir } from "../../testing/temp_files.ts";
import {
  abortBytes,
  associateAc,
  associateRq,
  recordingLogger,
  RELEASE_RP,
  RELEASE_RQ,
  Trace,
} from "../../testing/ul_peer.ts";
import { readSome } from "../../testing/transport_reads.ts";

// ---------------------------------------------------------------------------
// our server with its UL trace (trace-level log lines), timeouts of our choosing

/** Runs `fn` against our server with a 1 s -ta and trace-level log lines (the UL transitions). */
function withTraced(o: ScpSetup, fn: (scp: ScpUnderTest) => Promise<void>): Promise<void> {
  return withScp({ ...o, acseTimeoutMs: 1000, logLevel: "trace" }, fn);
}

/** Waits until the server logged `transition` (state + event ... -> action -> next). */
async function sawTransition(scp: ScpUnderTest, from: number, re: RegExp): Promise<void> {
  await until(
    () => scp.transitions().slice(from).some((l) => re.test(l)),
    `${re}; transitions:\n${scp.transitions().slice(from).join("\n")}`,
  );
}

/** Every association over, no .part anywhere, and the next good peer served. */
async function servesOn(scp: ScpUnderTest, what: string): Promise<void> {
  await until(() => scp.server.activeAssociations === 0, `${what}: every association over`);
  assert.deepEqual((await scp.files()).filter((f) => f.endsWith(".part")), [], what);
  await assertNextServed(scp, what);
}

// ---------------------------------------------------------------------------
// TCP close in every state, server side

/** A-ASSOCIATE-RQ bytes whose protocol version lacks bit 0 (rejected by the provider). */
function rqVersion2(): Uint8Array {
  const rq = associateRqBytes();
  rq[7] = 2;
  return rq;
}

interface ServerClose {
  state: string;
  /** Brings a raw peer to the state; returns it. */
  reach: (scp: ScpUnderTest) => Promise<RawPeer>;
  /** The transition the close must cause. */
  expect: RegExp;
}

/**
 * Sta13, reached when our server answered `bytes` with `answer` (on an
 * association, or on a bare connection when `associate` is false); a
 * close there is AR-5.
 */
function sta13(
  what: string,
  bytes: Uint8Array,
  answer: Pdu["type"],
  associate = true,
): ServerClose {
  return {
    state: `Sta13 (after our ${what})`,
    reach: async (scp) => {
      const peer = associate ? (await associated(scp.port)).peer : await RawPeer.connect(scp.port);
      await peer.write(bytes);
      await peer.expect(answer);
      return peer;
    },
    expect: /^T: Sta13 \+ Evt17 .* -> AR-5 -> Sta1$/,
  };
}

const SERVER_CLOSES: ServerClose[] = [
  {
    state: "Sta2 (connected, no A-ASSOCIATE-RQ yet)",
    reach: (scp) => RawPeer.connect(scp.port),
    expect: /^T: Sta2 \+ Evt17 .* -> AA-5 -> Sta1$/,
  },
  {
    state: "Sta6 (associated, idle)",
    reach: async (scp) => (await associated(scp.port)).peer,
    expect: /^T: Sta6 \+ Evt17 .* -> AA-4 -> Sta1$/,
  },
  {
    state: "Sta6 (half a data set received)",
    reach: async (scp) => {
      const { peer } = await associated(scp.port, {
        contexts: [[MR, EXPLICIT_VR_LITTLE_ENDIAN]],
      });
      const data = mrDataset({ sopInstance: "1.2.3", pixels: 256 * 1024 });
      await peer.write(pdata(commandPdv(1, cStoreRq("1.2.3"))));
      await peer.write(pdata(dataPdv(1, data.subarray(0, 8192), false)));
      await until(() => scp.transitions().some((l) => /Evt10 .* DT-2/.test(l)), "data received");
      return peer;
    },
    expect: /^T: Sta6 \+ Evt17 .* -> AA-4 -> Sta1$/,
  },
  sta13("A-ASSOCIATE-RJ", rqVersion2(), "A-ASSOCIATE-RJ", false),
  sta13("A-RELEASE-RP", RELEASE_RQ, "A-RELEASE-RP"),
  sta13(
    "A-ABORT for a malformed PDU",
    new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"),
    "A-ABORT",
  ),
];

for (const c of SERVER_CLOSES) {
  const cell = c.expect.source.replace(
    /^\^T: (Sta\d+) .* -> (.*) -> (Sta\d+)\$$/,
    "$1 + Evt17 -> $2 -> $3",
  );
  Deno.test(`server: TCP close in ${c.state}: ${cell}, next peer served`, () =>
    withTraced({}, async (scp) => {
      const peer = await c.reach(scp);
      const from = scp.transitions().length;
      peer.close();
      await sawTransition(scp, from, c.expect);
      await servesOn(scp, c.state);
    }));
}

// ---------------------------------------------------------------------------
// our requestor facing a scripted peer over a socket

/** A listener whose one connection `script` drives; the requestor's UL, traced. */
async function requestorFacing(
  script: (peer: RawPeer) => Promise<void>,
  extra: Partial<UlOptions> = {},
) {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const scripted = (async () => {
    const conn = await listener.accept();
    listener.close();
    const peer = new RawPeer(new ConnTransport(conn));
    try {
      await script(peer);
    } finally {
      peer.close();
    }
  })();
  const trace = new Trace();
  const logger = recordingLogger();
  const transport = await connectTcp({ host: HOST, port, family: "ipv4" });
  const result = requestAssociation(transport, associateRq(), {
    logger,
    artimTimeoutMs: 500,
    onTransition: (t) => trace.push(t),
    ...extra,
  });
  return { result, trace, logs: logger.lines, scripted };
}

/** The peer's side up to the association: the RQ read, our AC sent. */
async function accept(peer: RawPeer): Promise<void> {
  await peer.expect("A-ASSOCIATE-RQ");
  await peer.write(encodePdu(associateAc()));
}

/** Resolves once the peer has closed (or reset) the connection, at most after `ms`. */
async function peerClosed(peer: RawPeer, ms = 5000): Promise<void> {
  for (;;) {
    const got = await peer.next(ms);
    if (got === "closed") return;
    assert.notEqual(got, "timeout", "our side never closed");
  }
}

const step = (s: string) => {
  const [state, event, action, next] = s.split(/\s+/);
  return { state, event, action, next };
};

Deno.test("requestor: TCP close in Sta5 (no answer yet) -> AA-4", async () => {
  const r = await requestorFacing(async (peer) => {
    await peer.expect("A-ASSOCIATE-RQ");
  });
  const result = await r.result;
  await r.scripted;
  assert.equal(result.kind, "aborted");
  assert.deepEqual(r.trace.steps.at(-1), step("Sta5 Evt17 AA-4 Sta1"));
});

Deno.test("requestor: TCP close in Sta6 -> AA-4; in Sta7 (release sent) -> AA-4", async () => {
  for (const release of [false, true]) {
    let gotRq!: () => void;
    const rqSeen = new Promise<void>((r) => gotRq = r);
    const r = await requestorFacing(async (peer) => {
      await accept(peer);
      if (release) await peer.expect("A-RELEASE-RQ");
      else await new Promise((r) => setTimeout(r, 50));
      gotRq();
    });
    const result = await r.result;
    assert.equal(result.kind, "accepted");
    if (result.kind !== "accepted") return;
    const released = release ? result.association.release() : undefined;
    await rqSeen;
    await r.scripted;
    await result.association.closed;
    assert.deepEqual(
      r.trace.steps.at(-1),
      step(`${release ? "Sta7" : "Sta6"} Evt17 AA-4 Sta1`),
    );
    if (released) assert.deepEqual(await released, { aborted: "peer closed the connection" });
  }
});

Deno.test("requestor: release collision over a socket: Sta7 -> AR-8 Sta9 -> AR-9 Sta11 -> AR-3 Sta1", async () => {
  const r = await requestorFacing(async (peer) => {
    await accept(peer);
    await peer.expect("A-RELEASE-RQ");
    await peer.write(RELEASE_RQ); // both released at once
    await peer.expect("A-RELEASE-RP");
    await peer.write(RELEASE_RP);
    await peerClosed(peer);
  });
  const result = await r.result;
  if (result.kind !== "accepted") throw new Error(result.kind);
  assert.equal(await result.association.release(), "released");
  await r.scripted;
  assert.deepEqual(r.trace.steps.slice(-4), [
    step("Sta6 Evt11 AR-1 Sta7"),
    step("Sta7 Evt12 AR-8 Sta9"),
    step("Sta9 Evt14 AR-9 Sta11"),
    step("Sta11 Evt13 AR-3 Sta1"),
  ]);
});

Deno.test("requestor: TCP close in Sta11 (collision, our A-RELEASE-RP sent) -> AA-4", async () => {
  const r = await requestorFacing(async (peer) => {
    await accept(peer);
    await peer.expect("A-RELEASE-RQ");
    await peer.write(RELEASE_RQ);
    await peer.expect("A-RELEASE-RP");
  });
  const result = await r.result;
  if (result.kind !== "accepted") throw new Error(result.kind);
  const released = await result.association.release();
  await r.scripted;
  assert.deepEqual(released, { aborted: "peer closed the connection" });
  assert.deepEqual(r.trace.steps.at(-1), step("Sta11 Evt17 AA-4 Sta1"));
});

Deno.test("requestor: TCP close in Sta13 (our A-ABORT sent) -> AR-5", async () => {
  const r = await requestorFacing(async (peer) => {
    await accept(peer);
    await peer.expect("A-ABORT");
  });
  const result = await r.result;
  if (result.kind !== "accepted") throw new Error(result.kind);
  await result.association.abort();
  await r.scripted;
  assert.deepEqual(r.trace.steps.slice(-2), [
    step("Sta6 Evt15 AA-1 Sta13"),
    step("Sta13 Evt17 AR-5 Sta1"),
  ]);
});

Deno.test("requestor: a peer that never answers the A-ASSOCIATE-RQ: A-ABORT after -ta, closed after ARTIM", async () => {
  const r = await requestorFacing(async (peer) => {
    await peer.expect("A-ASSOCIATE-RQ");
    assert.deepEqual(await peer.expect("A-ABORT"), { type: "A-ABORT", source: 0, reason: 0 });
    await peerClosed(peer); // we never close: ARTIM must
  });
  const result = await r.result;
  await r.scripted;
  assert.equal(result.kind, "aborted");
  if (result.kind === "aborted") assert.match(result.reason, /no A-ASSOCIATE-AC\/RJ within 0.5 s/);
  assert.deepEqual(r.trace.steps.slice(-2), [
    step("Sta5 Evt15 AA-1 Sta13"),
    step("Sta13 Evt18 AA-2 Sta1"),
  ]);
});

Deno.test("requestor: a peer that never sends A-RELEASE-RP: aborted after -ta, closed after ARTIM", async () => {
  const r = await requestorFacing(async (peer) => {
    await accept(peer);
    await peer.expect("A-RELEASE-RQ");
    await peer.expect("A-ABORT", 5000);
    await peerClosed(peer);
  });
  const result = await r.result;
  if (result.kind !== "accepted") throw new Error(result.kind);
  const released = await result.association.release();
  await r.scripted;
  assert.deepEqual(released, { aborted: "ARTIM timeout: no A-RELEASE-RP within 0.5 s" });
  assert.deepEqual(r.trace.steps.slice(-2), [
    step("Sta7 Evt15 AA-1 Sta13"),
    step("Sta13 Evt18 AA-2 Sta1"),
  ]);
});

// ---------------------------------------------------------------------------
// A-ABORT with reserved source and reason values (PS3.8 9.3.8: source 1 is
// reserved; reasons are defined for source 2 only, 0..6)

const RESERVED_ABORTS: [source: number, reason: number][] = [[1, 0], [0, 7], [2, 7], [3, 0xff], [
  0xff,
  0xff,
]];

Deno.test("server: A-ABORT with reserved source/reason in Sta2 and Sta6 ends that association only", () =>
  withTraced({}, async (scp) => {
    for (const [source, reason] of RESERVED_ABORTS) {
      for (const state of ["Sta2", "Sta6"]) {
        const peer = state === "Sta2"
          ? await RawPeer.connect(scp.port)
          : (await associated(scp.port)).peer;
        const from = scp.transitions().length;
        await peer.write(abortBytes(source, reason));
        const action = state === "Sta2" ? "AA-2" : "AA-3";
        await sawTransition(
          scp,
          from,
          new RegExp(`^T: ${state} \\+ Evt16 .* -> ${action} -> Sta1$`),
        );
        assert.equal(await peer.next(2000), "closed", `${state} ${source}/${reason}: we close`);
        peer.close();
      }
    }
    await servesOn(scp, "reserved A-ABORT values");
  }));

Deno.test("requestor: A-ABORT with reserved source/reason in Sta5 is reported, raw values named", async () => {
  for (const [source, reason] of RESERVED_ABORTS) {
    const r = await requestorFacing(async (peer) => {
      await peer.expect("A-ASSOCIATE-RQ");
      await peer.write(abortBytes(source, reason));
      await peerClosed(peer);
    });
    const result = await r.result;
    await r.scripted;
    assert.equal(result.kind, "aborted");
    if (result.kind !== "aborted") return;
    assert.equal(result.source, "peer");
    assert.deepEqual(result.abort, { type: "A-ABORT", source, reason });
    assert.match(result.reason, /^peer sent A-ABORT \(/);
    assert.deepEqual(r.trace.steps.at(-1), step("Sta5 Evt16 AA-3 Sta1"));
  }
});

// ---------------------------------------------------------------------------
// peers that stop reading, never release, abort in the middle

function storeScu(port: number, files: string[], extra: Partial<StoreScuOptions> = {}) {
  return runStoreScu({
    host: HOST,
    port,
    family: "ipv4",
    callingAeTitle: "FAULTS",
    calledAeTitle: "STORESCP",
    maxPdu: 16384,
    connectTimeoutMs: 5000,
    acseTimeoutMs: 1000,
    dimseTimeoutMs: 5000,
    socketTimeoutMs: 1000,
    abort: false,
    logger: NULL_LOGGER,
    ...storeScuDefaults(),
    files,
    ...extra,
  });
}

/** An MR image of `frames` 512x512x16 frames (512 KiB each). */
async function bigFile(dir: string, frames: number, name = "big.dcm"): Promise<string> {
  const path = `${dir}/${name}`;
  await writeImageFile(path, { rows: 512, cols: 512, bitsAllocated: 16, frames });
  return path;
}

Deno.test("storescu: a peer that stops reading mid data set ends within -ts + -ta: aborted, write timeout named, nothing thrown", () =>
  withTempDir("dimse_faults_", async (dir) => {
    // 32 MiB: more than loopback socket buffers take without the peer reading.
    const file = await bigFile(dir, 64);
    const listener = Deno.listen({ hostname: HOST, port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const fake = (async () => {
      const conn = await listener.accept();
      listener.close();
      const reader = new PduReader();
      const buf = new Uint8Array(65536);
      let rq;
      while (!rq) {
        const n = await conn.read(buf);
        if (n === null) break;
        reader.push(buf.slice(0, n));
        rq = reader.next()?.pdu;
      }
      assert.equal(rq?.type, "A-ASSOCIATE-RQ");
      const policy = storagePolicy({
        aeTitle: "STORESCP",
        maxPdu: 16384,
        transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN],
      });
      await conn.write(encodePdu(answerAssociateRq(rq as AssociateRqPdu, policy)));
      return conn; // and never read again
    })();
    const result = await storeScu(port, [file]);
    (await fake).close();
    assert.equal(result.outcome, "aborted", JSON.stringify(result.diagnosis));
    assert.match(result.diagnosis!, /write timeout: the peer has not taken our data within 1 s/);
    assert.equal(result.records[0].fate, "failed");
  }));

Deno.test("UL: a slow reader is progress: -ts counts the writes it takes, not only the data it sends", async () => {
  const total = 12 << 20;
  const r = await requestorFacing(async (peer) => {
    await accept(peer);
    // Reads 256 KiB every 50 ms (5 MB/s): about 2.5 s for all, silent all the time.
    const conn = peer.transport;
    let read = 0;
    while (read < total) {
      const chunk = await readSome(conn, 256 * 1024);
      if (chunk === null) return;
      read += chunk.length;
      await new Promise((r) => setTimeout(r, 50));
    }
    await peer.expect("A-ABORT", 5000).catch(() => {});
  }, { idleTimeoutMs: 1000 });
  const result = await r.result;
  if (result.kind !== "accepted") throw new Error(result.kind);
  const a = result.association;
  const data = new Uint8Array(16378);
  const writes: Promise<void>[] = [];
  for (let sent = 0; sent < total; sent += data.length) {
    writes.push(a.sendPData({
      type: "P-DATA-TF",
      pdvs: [{ contextId: 1, isCommand: false, isLast: false, data }],
    }));
  }
  await Promise.all(writes);
  assert.equal(a.state, "Sta6", r.logs.filter((l) => /timeout/.test(l)).join("\n"));
  await a.abort();
  await r.scripted;
});

Deno.test("server: a peer that associates and then never sends nor releases is aborted after -ts, next served", () =>
  withTraced({ socketTimeoutMs: 500 }, async (scp) => {
    const { peer } = await associated(scp.port);
    assert.deepEqual(await peer.next(5000), { type: "A-ABORT", source: 0, reason: 0 });
    peer.close();
    await until(
      () =>
        scp.events.some((e) =>
          e.event === "association-aborted" && /idle timeout: no data from peer within 0.5 s/
            .test(e.reason)
        ),
      "idle abort",
    );
    await servesOn(scp, "idle peer");
  }));

Deno.test("storescu: the peer aborts in the middle of the data set: outcome aborted, nothing thrown, nothing stored", () =>
  withTempDir("dimse_faults_", async (dir) => {
    const file = await bigFile(dir, 64);
    await withTraced({ store: { abort: "during" } }, async (scp) => {
      const result = await storeScu(scp.port, [file, file]);
      assert.equal(result.outcome, "aborted", result.diagnosis);
      assert.match(result.diagnosis!, /aborted during the store: peer sent A-ABORT/);
      assert.deepEqual(result.records.map((r) => r.fate), ["failed", "not-sent"]);
      assert.deepEqual(await scp.files(), []);
    });
  }));

// ---------------------------------------------------------------------------
// a disk that fills while several associations store

/** The real file system, except that all files together may hold `budget` bytes. */
function sharedDisk(budget: number): FileSink {
  let used = 0;
  return {
    ...DENO_FILE_SINK,
    create(path) {
      const file = DENO_FILE_SINK.create(path);
      return {
        write(data) {
          if (used + data.length > budget) {
            const fits = Math.max(0, budget - used);
            file.write(data.subarray(0, fits));
            used += fits;
            throw new Error("No space left on device (os error 28)");
          }
          file.write(data);
          used += data.length;
        },
        close: () => file.close(),
      };
    },
  };
}

Deno.test("a disk that fills while 4 associations store: 0xA700 for what did not fit, whole files for what did, no .part", () =>
  withTempDir("dimse_faults_", async (dir) => {
    const files = await Promise.all([0, 1, 2].map((i) => bigFile(dir, 2, `f${i}.dcm`)));
    const sent = new Map<string, Uint8Array>();
    for (const f of files) {
      const p = await readPart10(f);
      sent.set(p.meta.mediaStorageSopInstanceUid, p.raw);
    }
    // Room for about 5 of the 12 files of 1 MiB.
    await withTraced(
      { store: { sink: sharedDisk(5.5 * (1 << 20)), uniqueFilenames: true } },
      async (scp) => {
        const results = await Promise.all(
          [0, 1, 2, 3].map(() => storeScu(scp.port, files, { halt: false })),
        );
        const statuses = results.flatMap((r) => r.records.map((x) => x.status));
        const ok = statuses.filter((s) => s === 0).length;
        assert.ok(ok >= 1 && ok <= 5, `stored ${ok}: ${statuses}`);
        assert.deepEqual(
          statuses.filter((s) => s !== 0).map((s) => s?.toString(16)).sort(),
          Array(12 - ok).fill("a700"),
        );
        const stored = (await scp.files()).filter((f) => f.startsWith("od/"));
        assert.equal(stored.length, ok);
        assert.ok(stored.every((f) => !f.endsWith(".part")), stored.join());
        for (const f of stored) {
          const got = await readPart10(`${scp.root}/${f}`);
          assert.deepEqual(got.raw, sent.get(got.meta.mediaStorageSopInstanceUid), `${f} whole`);
        }
        await servesOn(scp, "after the disk filled");
      },
    );
  }));
