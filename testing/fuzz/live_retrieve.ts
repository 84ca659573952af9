/**
 * Live fuzz targets of the retrieve SCUs (getscu, movescu): the tools'
 * engine (lib/cli/common/retrieve.ts, runRetrieve) in process against a
 * fake archive on 127.0.0.1 that accepts the association as proposed and
 * then plays a mutated stream of what an archive sends back: for C-GET,
 * C-STORE sub-operations with their data sets, pending and final C-GET
 * responses (with a Failed SOP Instance UID List), for C-MOVE the pending
 * and final C-MOVE responses; responses for other message IDs, an abort.
 * Invariants: the run never throws and ends within its timeouts with one
 * of its outcomes; no unhandled rejection; the output directory holds only
 * complete files (docs/SECURITY_CLASSES.md #5, #8, #11).
 *
 * @module
 */
import { attribute, encodeAttributes } from "../../lib/dicom/attributes.ts";
import { decodeFileMeta } from "../../lib/dicom/part10.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN, QUERY_RETRIEVE_SOP_CLASSES } from "../../lib/dicom/uids.ts";
import { encodeCommandSet } from "../../lib/dimse/command.ts";
import { fragmentMessage } from "../../lib/dimse/fragment.ts";
import { type DimseMessage, messageToCommandSet, PRIORITY } from "../../lib/dimse/messages.ts";
import { NULL_LOGGER } from "../../lib/log/logger.ts";
import { encodePdu } from "../../lib/pdu/codec.ts";
import { PduReader } from "../../lib/pdu/reader.ts";
import type { AssociateAcPdu, AssociateRqPdu, Pdu } from "../../lib/pdu/types.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import { GETSCU_STORAGE_CLASSES } from "../../lib/cli/getscu/main.ts";
import {
  type ReceivedInstance,
  receivingStore,
  retrieveStorageService,
  runRetrieve,
} from "../../lib/cli/common/retrieve.ts";
import { storeScpTransferSyntaxes } from "../../lib/cli/storescp/store_handler.ts";
import { PDU_INSERTS, pduLengthFields, smallImage, SOP_INSTANCE } from "./corpus.ts";
import { mutate, type Structure } from "./mutate.ts";
import type { Rng } from "./prng.ts";
import { Finding, type Target } from "./targets.ts";

const HOST = "127.0.0.1";
const MR = "1.2.840.10008.5.1.4.1.1.4";
/** -ta, -td of the tool under test: short, so that a stalled stream ends soon. */
const TIMEOUTS = { acseMs: 1000, dimseMs: 1500 };
/** How long one run may take: the ACSE and DIMSE timeouts, the release, slack for a loaded machine. */
const RUN_BOUND_MS = 2 * TIMEOUTS.acseMs + 2 * TIMEOUTS.dimseMs + 4000;
const PDV = 16378;

const STRUCTURE: Structure = {
  lengthFields: pduLengthFields,
  littleEndian: false,
  inserts: PDU_INSERTS,
};

/** The PDUs of one message (and its data set) on `contextId`. */
function messageBytes(contextId: number, m: DimseMessage, dataset?: Uint8Array): Uint8Array {
  const pdus: Uint8Array[] = [];
  const cmd = encodeCommandSet(messageToCommandSet(m));
  for (const p of fragmentMessage(contextId, true, cmd, PDV)) pdus.push(encodePdu(p));
  if (dataset) {
    for (const p of fragmentMessage(contextId, false, dataset, PDV)) pdus.push(encodePdu(p));
  }
  return concatBytes(pdus);
}

/** The streams an archive sends after its A-ASSOCIATE-AC, for a C-GET or a C-MOVE with message ID 1. */
export function retrieveCorpus(op: "get" | "move"): Uint8Array[] {
  const type = op === "get" ? "C-GET-RSP" : "C-MOVE-RSP";
  const sopClass = QUERY_RETRIEVE_SOP_CLASSES.studyRoot[op];
  const rsp = (status: number, counts: number[], extra: Record<string, unknown> = {}) =>
    ({
      type,
      messageIdBeingRespondedTo: 1,
      affectedSopClassUid: sopClass,
      status,
      remainingSuboperations: counts[0],
      completedSuboperations: counts[1],
      failedSuboperations: counts[2],
      warningSuboperations: counts[3],
      ...extra,
    }) as DimseMessage;
  const failedList = encodeAttributes(
    [attribute(0x00080058, `${SOP_INSTANCE}\\1.2.3.4`)],
    EXPLICIT_VR_LITTLE_ENDIAN,
  );
  const mrContext = 2 * (1 + GETSCU_STORAGE_CLASSES.indexOf(MR)) + 1;
  const store = (messageId: number) =>
    messageBytes(
      mrContext,
      {
        type: "C-STORE-RQ",
        messageId,
        affectedSopClassUid: MR,
        affectedSopInstanceUid: SOP_INSTANCE,
        priority: PRIORITY.medium,
      },
      smallImage(EXPLICIT_VR_LITTLE_ENDIAN),
    );
  const release = encodePdu({ type: "A-RELEASE-RQ" });
  const abort = encodePdu({ type: "A-ABORT", source: 2, reason: 0 });
  const streams: Uint8Array[] = [
    concatBytes([
      messageBytes(1, rsp(0xff00, [2, 0, 0, 0])),
      messageBytes(1, rsp(0xff00, [1, 1, 0, 0])),
      messageBytes(1, rsp(0x0000, [0, 2, 0, 0])),
    ]),
    concatBytes([
      messageBytes(1, rsp(0xff00, [1, 0, 0, 0])),
      messageBytes(1, rsp(0xb000, [0, 0, 2, 0], { datasetPresent: true }), failedList),
    ]),
    concatBytes([messageBytes(1, rsp(0xa801, [0, 0, 0, 0]))]),
    concatBytes([messageBytes(1, rsp(0, [0, 1, 0, 0], { messageIdBeingRespondedTo: 7 }))]),
    concatBytes([messageBytes(1, rsp(0xff00, [1, 0, 0, 0])), abort]),
    concatBytes([messageBytes(1, rsp(0xff00, [1, 0, 0, 0])), release]),
  ];
  if (op === "get") {
    streams.push(
      concatBytes([store(1), messageBytes(1, rsp(0xff00, [1, 1, 0, 0])), store(2)]),
      concatBytes([
        store(1),
        messageBytes(1, rsp(0xff00, [0, 1, 0, 0])),
        messageBytes(1, rsp(0, [0, 1, 0, 0])),
      ]),
    );
  }
  return streams;
}

/** Accepts every proposed context in its first syntax and every proposed role. */
function accept(rq: AssociateRqPdu): AssociateAcPdu {
  return {
    type: "A-ASSOCIATE-AC",
    protocolVersion: 1,
    calledAeTitle: rq.calledAeTitle,
    callingAeTitle: rq.callingAeTitle,
    applicationContext: rq.applicationContext,
    presentationContexts: rq.presentationContexts.map((pc) => ({
      id: pc.id,
      result: 0,
      transferSyntax: pc.transferSyntaxes[0],
    })),
    userInformation: {
      maxLength: 16384,
      implementationClassUid: "1.2.826.0.1.3680043.9.7433.1.1",
      implementationVersionName: "FUZZ_ARCHIVE",
      roleSelections: rq.userInformation.roleSelections,
      extendedNegotiations: [],
      commonExtendedNegotiations: [],
    },
  };
}

/** A fuzz target playing mutated archive streams to getscu's or movescu's engine. */
export function retrieveTarget(op: "get" | "move"): Target {
  const corpus = retrieveCorpus(op);
  let listener: Deno.TcpListener | undefined;
  let od = "";
  let next: { input: Uint8Array; rng: Rng } | undefined;
  const unhandled: string[] = [];
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    unhandled.push(`unhandled rejection: ${e.reason instanceof Error ? e.reason.stack : e.reason}`);
  };
  const serving = new Set<Promise<void>>();

  async function archive(conn: Deno.TcpConn, input: Uint8Array, rng: Rng): Promise<void> {
    const reader = new PduReader({ maxPDataLength: 1 << 20 });
    const buf = new Uint8Array(64 * 1024);
    const read = async (): Promise<Pdu | undefined> => {
      for (;;) {
        const got = reader.next();
        if (got) return got.pdu;
        const n = await conn.read(buf).catch(() => null);
        if (n === null) return undefined;
        reader.push(buf.slice(0, n));
      }
    };
    const write = async (b: Uint8Array) => {
      for (let at = 0; at < b.length;) {
        const n = 1 + rng.below(rng.chance(0.3) ? 16 : 8192);
        const piece = b.subarray(at, at + n);
        for (let d = 0; d < piece.length;) d += await conn.write(piece.subarray(d));
        at += n;
      }
    };
    try {
      const rq = await read();
      if (rq?.type !== "A-ASSOCIATE-RQ") return;
      await write(encodePdu(accept(rq)));
      // The request first (the stream answers message ID 1), then the stream.
      await read();
      await write(input);
      for (;;) {
        const pdu = await read();
        if (pdu === undefined || pdu.type === "A-ABORT") return;
        if (pdu.type === "A-RELEASE-RQ") {
          await write(encodePdu({ type: "A-RELEASE-RP" }));
          return;
        }
      }
    } catch {
      // The tool closed on us: what it does with bad input.
    } finally {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  }

  return {
    name: op === "get" ? "getscu" : "movescu",
    description: `mutated archive streams to the ${op === "get" ? "C-GET" : "C-MOVE"} SCU engine`,
    batch: 16,
    // A fifth of the streams as an archive sends them, so that the good paths run too.
    generate: (rng) => {
      const base = rng.pick(corpus);
      return rng.chance(0.2) ? base : mutate(base, rng, STRUCTURE, () => rng.pick(corpus));
    },
    async run(input, rng) {
      next = { input, rng };
      const received: ReceivedInstance[] = [];
      const syntaxes = storeScpTransferSyntaxes({ prefer: EXPLICIT_VR_LITTLE_ENDIAN });
      const store = receivingStore({
        dir: od,
        ignore: false,
        logger: NULL_LOGGER,
        requestLine: () => "",
        onReceived: (f) => received.push(f),
      });
      const began = performance.now();
      const result = await runRetrieve({
        host: HOST,
        port: listener!.addr.port,
        family: "ipv4",
        callingAeTitle: "FUZZ",
        calledAeTitle: "ARCHIVE",
        maxPdu: 16384,
        acseTimeoutMs: TIMEOUTS.acseMs,
        dimseTimeoutMs: TIMEOUTS.dimseMs,
        socketTimeoutMs: TIMEOUTS.dimseMs,
        abort: false,
        logger: NULL_LOGGER,
        operation: op,
        model: "study",
        identifiers: [[attribute(0x00080052, "STUDY"), attribute(0x0020000d, "1.2.3")]],
        destination: op === "move" ? "ELSEWHERE" : undefined,
        proposedSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN],
        storage: op === "get"
          ? {
            contexts: GETSCU_STORAGE_CLASSES.map((abstractSyntax) => ({
              abstractSyntax,
              transferSyntaxes: syntaxes,
            })),
            service: retrieveStorageService(store, GETSCU_STORAGE_CLASSES, syntaxes),
          }
          : undefined,
        repeat: 1,
        received,
      });
      const ms = performance.now() - began;
      if (ms > RUN_BOUND_MS) {
        throw new Finding(`the run took ${Math.round(ms)} ms (bound ${RUN_BOUND_MS} ms)`);
      }
      await Promise.all(serving);
      await checkOutputDirectory();
      return result.outcome === "success" || result.outcome === "retrieve-warning"
        ? "decoded"
        : "rejected";
    },
    async setup() {
      globalThis.addEventListener("unhandledrejection", onRejection);
      od = await Deno.makeTempDir({ prefix: `dimse_fuzz_${op}scu_` });
      listener = Deno.listen({ hostname: HOST, port: 0 });
      (async () => {
        for await (const conn of listener!) {
          const play = next;
          next = undefined;
          if (!play) {
            conn.close();
            continue;
          }
          const p = archive(conn, play.input, play.rng);
          serving.add(p);
          p.finally(() => serving.delete(p));
        }
      })().catch(() => {});
    },
    afterBatch() {
      if (unhandled.length > 0) throw new Finding(unhandled.splice(0).join("\n"));
      return Promise.resolve();
    },
    async teardown() {
      listener?.close();
      await Promise.all(serving);
      globalThis.removeEventListener("unhandledrejection", onRejection);
      await Deno.remove(od, { recursive: true }).catch(() => {});
    },
  };

  /** Only complete files: no .part left, each with its meta information; then emptied. */
  async function checkOutputDirectory(): Promise<void> {
    for await (const e of Deno.readDir(od)) {
      if (e.name.endsWith(".part")) throw new Finding(`${e.name} left in the output directory`);
      const path = `${od}/${e.name}`;
      try {
        decodeFileMeta(await Deno.readFile(path), e.name);
      } catch (err) {
        throw new Finding(`incomplete file stored: ${(err as Error).message}`);
      }
      await Deno.remove(path);
    }
  }
}
