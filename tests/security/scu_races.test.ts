/**
 * A peer that aborts right after accepting (issue 16 item 4): the A-ABORT
 * can arrive before, while or after the SCU sends its first request, and
 * every one of those orders must end in an outcome (aborted, exit 70 for
 * echoscu, 10 for storescu), never in an exception. The peer is run 200
 * times against echoscu's and storescu's engines, with the A-ABORT in the
 * same write as the A-ASSOCIATE-AC, in the next write, or a moment later;
 * then through the command line tools, whose --json record must say so.
 * The same for a peer that aborts right after the last response, before
 * the release.
 */
import assert from "node:assert/strict";
import { NULL_LOGGER } from "../../lib/log/logger.ts";
import { verificationPolicy } from "../../lib/cli/echoscp/echo_handler.ts";
import { runEchoScu } from "../../lib/cli/echoscu/engine.ts";
import { answerAssociateRq } from "../../lib/ae/negotiation.ts";
import { storagePolicy } from "../../lib/cli/storescp/store_handler.ts";
import { runStoreScu, storeScuDefaults } from "../../lib/cli/storescu/engine.ts";
import { decodeCommandSet, encodeCommandSet } from "../../lib/dimse/command.ts";
import { commandSetToMessage, messageToCommandSet } from "../../lib/dimse/messages.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import { encodePdu } from "../../lib/pdu/codec.ts";
import { PduReader } from "../../lib/pdu/reader.ts";
import type { AssociateRqPdu, Pdu } from "../../lib/pdu/types.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from "../../lib/dicom/uids.ts";
import { echoScuOptions } from "../../testing/echo_peers.ts";
import { writeImageFile } from "../../testing/dicom_files.ts";
import { runTool, show } from "../../testing/procs.ts";
import { withTempDir } from "../../testing/temp_files.ts";

const HOST = "127.0.0.1";
const RUNS = 200;
const ABORT = encodePdu({ type: "A-ABORT", source: 2, reason: 0 });

/** When the peer's A-ABORT follows: with the AC, in the next write, or after a short pause. */
type Timing = "same-write" | "next-write" | "later";
const TIMINGS: Timing[] = ["same-write", "next-write", "later"];

/** Reads whole PDUs from a connection. */
async function nextPdu(conn: Deno.Conn, reader: PduReader): Promise<Pdu | null> {
  const buf = new Uint8Array(65536);
  for (;;) {
    const item = reader.next();
    if (item) return item.pdu;
    const n = await conn.read(buf).catch(() => null);
    if (n === null) return null;
    reader.push(buf.slice(0, n));
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/**
 * A peer that accepts (as `accept` answers) and aborts: at once
 * (`afterResponses` 0), or after answering that many requests with Success.
 * Each connection gets the next timing in turn.
 */
function abortingPeer(
  accept: (rq: AssociateRqPdu) => Pdu,
  afterResponses = 0,
): { port: number; connections: () => number; close: () => Promise<void> } {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  let count = 0;
  const serving: Promise<void>[] = [];
  const loop = (async () => {
    for (;;) {
      const conn = await listener.accept().catch(() => null);
      if (!conn) return;
      const timing = TIMINGS[count++ % TIMINGS.length];
      serving.push(serve(conn, timing).catch(() => {}).finally(() => conn.close()));
    }
  })();
  async function serve(conn: Deno.Conn, timing: Timing) {
    const reader = new PduReader();
    const rq = await nextPdu(conn, reader);
    if (rq?.type !== "A-ASSOCIATE-RQ") return;
    const ac = encodePdu(accept(rq));
    for (let i = 0; i < afterResponses; i++) {
      if (i === 0) await writeAll(conn, ac);
      const pdata = await nextPdu(conn, reader);
      if (pdata?.type !== "P-DATA-TF") return;
      const pdv = pdata.pdvs[0];
      if (!pdv.isCommand) { // a data set follows: read to its last fragment
        i--;
        continue;
      }
      const rqMessage = commandSetToMessage(decodeCommandSet(pdv.data)) as {
        type: string;
        messageId: number;
        affectedSopClassUid: string;
        affectedSopInstanceUid?: string;
        hasDataset?: boolean;
      };
      if (rqMessage.type === "C-STORE-RQ") {
        for (let last = false; !last;) {
          const d = await nextPdu(conn, reader);
          if (d?.type !== "P-DATA-TF") return;
          last = d.pdvs.some((p) => !p.isCommand && p.isLast);
        }
      }
      const rsp = rqMessage.type === "C-ECHO-RQ"
        ? {
          type: "C-ECHO-RSP" as const,
          messageIdBeingRespondedTo: rqMessage.messageId,
          affectedSopClassUid: rqMessage.affectedSopClassUid,
          status: 0,
        }
        : {
          type: "C-STORE-RSP" as const,
          messageIdBeingRespondedTo: rqMessage.messageId,
          affectedSopClassUid: rqMessage.affectedSopClassUid,
          affectedSopInstanceUid: rqMessage.affectedSopInstanceUid!,
          status: 0,
        };
      const data = encodeCommandSet(messageToCommandSet(rsp));
      const bytes = encodePdu({
        type: "P-DATA-TF",
        pdvs: [{ contextId: pdv.contextId, isCommand: true, isLast: true, data }],
      });
      // The answer and the abort race the SCU's next step (the release).
      await writeAll(conn, timing === "same-write" ? concatBytes([bytes, ABORT]) : bytes);
      if (timing !== "same-write") await sendAbort(conn, timing);
      return await drain(conn);
    }
    if (timing === "same-write") await writeAll(conn, concatBytes([ac, ABORT]));
    else {
      await writeAll(conn, ac);
      await sendAbort(conn, timing);
    }
    await drain(conn);
  }
  async function sendAbort(conn: Deno.Conn, timing: Timing) {
    if (timing === "later") await new Promise((r) => setTimeout(r, Math.random() * 3));
    await writeAll(conn, ABORT);
  }
  /** Reads until the SCU closes, as a peer that has aborted does (AA-3, then close). */
  async function drain(conn: Deno.Conn) {
    const buf = new Uint8Array(65536);
    const until = setTimeout(() => conn.close(), 200);
    try {
      while ((await conn.read(buf).catch(() => null)) !== null);
    } finally {
      clearTimeout(until);
    }
  }
  return {
    port: (listener.addr as Deno.NetAddr).port,
    connections: () => count,
    async close() {
      listener.close();
      await loop;
      await Promise.all(serving);
    },
  };
}

const acceptEcho = (rq: AssociateRqPdu) =>
  answerAssociateRq(
    rq,
    verificationPolicy({ aeTitle: "ABORTER", maxPdu: 16384, preference: "uncompressed" }),
  );
const acceptStore = (rq: AssociateRqPdu) =>
  answerAssociateRq(
    rq,
    storagePolicy({
      aeTitle: "ABORTER",
      maxPdu: 16384,
      transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN],
    }),
  );

function storeOptions(port: number, files: string[]) {
  return {
    host: HOST,
    port,
    family: "ipv4" as const,
    callingAeTitle: "RACER",
    calledAeTitle: "ABORTER",
    maxPdu: 16384,
    connectTimeoutMs: 5000,
    acseTimeoutMs: 5000,
    dimseTimeoutMs: 5000,
    socketTimeoutMs: 5000,
    abort: false,
    logger: NULL_LOGGER,
    ...storeScuDefaults(),
    files,
  };
}

Deno.test(`echoscu engine: a peer aborting right after its A-ASSOCIATE-AC, ${RUNS} times: always 'aborted', never a throw`, async () => {
  const peer = abortingPeer(acceptEcho);
  try {
    for (let i = 0; i < RUNS; i++) {
      const r = await runEchoScu(echoScuOptions(peer.port));
      assert.equal(r.outcome, "aborted", `run ${i}: ${r.outcome} ${r.diagnosis}`);
      assert.match(r.diagnosis ?? "", /abort/i, `run ${i}`);
    }
    assert.equal(peer.connections(), RUNS);
  } finally {
    await peer.close();
  }
});

Deno.test(`echoscu engine: a peer aborting right after the C-ECHO-RSP, before the release, ${RUNS} times: never a throw`, async () => {
  const peer = abortingPeer(acceptEcho, 1);
  try {
    for (let i = 0; i < RUNS; i++) {
      const r = await runEchoScu(echoScuOptions(peer.port));
      // The echo was answered; the release met the abort (or, rarely, came first).
      assert.equal(r.echoes[0]?.status, 0, `run ${i}`);
      assert.ok(r.outcome === "aborted" || r.outcome === "success", `run ${i}: ${r.outcome}`);
    }
  } finally {
    await peer.close();
  }
});

Deno.test(`storescu engine: a peer aborting right after its A-ASSOCIATE-AC, ${RUNS} times: always 'aborted', never a throw`, () =>
  withTempDir("dimse_races_", async (dir) => {
    const file = `${dir}/a.dcm`;
    await writeImageFile(file, { rows: 8, cols: 8, sopInstanceUid: "1.2.3.4.16.4" });
    const peer = abortingPeer(acceptStore);
    try {
      for (let i = 0; i < RUNS; i++) {
        const r = await runStoreScu(storeOptions(peer.port, [file]));
        assert.equal(r.outcome, "aborted", `run ${i}: ${r.outcome} ${r.diagnosis}`);
        assert.equal(r.records.length, 1);
        assert.equal(r.records[0].fate, "failed");
      }
    } finally {
      await peer.close();
    }
  }));

Deno.test(`storescu engine: a peer aborting right after the last C-STORE-RSP, ${RUNS} times: the store counts, never a throw`, () =>
  withTempDir("dimse_races_", async (dir) => {
    const file = `${dir}/a.dcm`;
    await writeImageFile(file, { rows: 8, cols: 8, sopInstanceUid: "1.2.3.4.16.5" });
    const peer = abortingPeer(acceptStore, 1);
    try {
      for (let i = 0; i < RUNS; i++) {
        const r = await runStoreScu(storeOptions(peer.port, [file]));
        assert.equal(r.records[0].fate, "success", `run ${i}: ${r.diagnosis}`);
        assert.ok(
          r.outcome === "release-failed" || r.outcome === "success",
          `run ${i}: ${r.outcome}`,
        );
      }
    } finally {
      await peer.close();
    }
  }));

Deno.test("echoscu and storescu, the peer aborts right after accepting: exit 70 / 10, a --json record, no stack trace", () =>
  withTempDir("dimse_races_", async (dir) => {
    const file = `${dir}/a.dcm`;
    await writeImageFile(file, { rows: 8, cols: 8, sopInstanceUid: "1.2.3.4.16.6" });
    const echoPeer = abortingPeer(acceptEcho);
    const storePeer = abortingPeer(acceptStore);
    try {
      for (let i = 0; i < TIMINGS.length; i++) {
        const e = await runTool("echoscu", ["--json", HOST, String(echoPeer.port)]);
        assert.equal(e.code, 70, show(e));
        assert.doesNotMatch(e.stderr, /Uncaught|error: |\s+at /, show(e));
        const rec = JSON.parse(e.stdout.trim().split("\n").at(-1)!);
        assert.equal(rec.outcome, "aborted", show(e));
        assert.equal(rec.exitCode, 70);
        const s = await runTool("storescu", ["--json", HOST, String(storePeer.port), file]);
        assert.equal(s.code, 10, show(s));
        assert.doesNotMatch(s.stderr, /Uncaught|error: |\s+at /, show(s));
        const summary = JSON.parse(s.stdout.trim().split("\n").at(-1)!);
        assert.equal(summary.outcome, "aborted", show(s));
      }
    } finally {
      await echoPeer.close();
      await storePeer.close();
    }
  }));
