/**
 * A live SCU fuzz target: findscu's engine (association, the service
 * layer's find(), response printing, identifier decoding, the DICOM JSON
 * of --json) against an acceptor that answers its A-ASSOCIATE-RQ with a
 * mutated stream: an A-ASSOCIATE-AC, C-FIND-RSPs with identifiers
 * (pending ones, some without identifier, some for another message ID),
 * the final response (and an A-RELEASE-RP once asked). Invariants: the run resolves
 * (never throws) with one of its outcomes within the timeouts, and nothing
 * escapes as an unhandled rejection.
 *
 * @module
 */
import { type FindOutcome, runFindScu } from "../../lib/cli/findscu/engine.ts";
import { toDicomJson } from "../../lib/dicom/json_model.ts";
import { QUERY_RETRIEVE_SOP_CLASSES } from "../../lib/dicom/uids.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN } from "../../lib/dicom/uids.ts";
import type { CFindRsp } from "../../lib/dimse/messages.ts";
import { encodeCommandSet } from "../../lib/dimse/command.ts";
import { fragmentMessage } from "../../lib/dimse/fragment.ts";
import { messageToCommandSet } from "../../lib/dimse/messages.ts";
import { createLogger } from "../../lib/log/logger.ts";
import { encodePdu } from "../../lib/pdu/codec.ts";
import type { Pdu } from "../../lib/pdu/types.ts";
import { queryFromKeys } from "../../lib/dicom/query_keys.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import { identifierCorpus, PDU_INSERTS, pduLengthFields } from "./corpus.ts";
import { mutate, type Structure } from "./mutate.ts";
import type { Rng } from "./prng.ts";
import { Finding, type Target } from "./targets.ts";

const HOST = "127.0.0.1";
const TIMEOUTS = { acseMs: 1000, dimseMs: 2000, socketMs: 2000 };
/** A run ends within its timeouts: ARTIM for the association and the release, -td per response. */
const RUN_BOUND_MS = 2 * TIMEOUTS.acseMs + 2 * TIMEOUTS.dimseMs + 4000;

const STRUCTURE: Structure = {
  lengthFields: pduLengthFields,
  littleEndian: false,
  inserts: PDU_INSERTS,
};

const OUTCOMES: ReadonlySet<FindOutcome> = new Set<FindOutcome>([
  "success",
  "connect-failed",
  "rejected",
  "association-failed",
  "no-presentation-context",
  "find-failed",
  "malformed-response",
  "dimse-timeout",
  "aborted",
]);

const FIND = QUERY_RETRIEVE_SOP_CLASSES.studyRoot.find;

function ac(): Pdu {
  return {
    type: "A-ASSOCIATE-AC",
    protocolVersion: 1,
    calledAeTitle: "ANY-SCP",
    callingAeTitle: "FINDSCU",
    applicationContext: "1.2.840.10008.3.1.1.1",
    presentationContexts: [{ id: 1, result: 0, transferSyntax: EXPLICIT_VR_LITTLE_ENDIAN }],
    userInformation: {
      maxLength: 16384,
      implementationClassUid: "1.2.826.0.1.3680043.9.7433.1.1",
      implementationVersionName: "FUZZ",
      roleSelections: [],
      extendedNegotiations: [],
      commonExtendedNegotiations: [],
    },
  };
}

function rsp(status: number, dataset?: Uint8Array, id = 1, pdv = 16378): Pdu[] {
  const m: CFindRsp = {
    type: "C-FIND-RSP",
    messageIdBeingRespondedTo: id,
    affectedSopClassUid: FIND,
    status,
    datasetPresent: dataset !== undefined,
  };
  const out: Pdu[] = [...fragmentMessage(1, true, encodeCommandSet(messageToCommandSet(m)), pdv)];
  if (dataset) out.push(...fragmentMessage(1, false, dataset, pdv));
  return out;
}

/** Acceptor streams: AC, responses, the final one. */
export function findResponseCorpus(): Uint8Array[] {
  const ids = identifierCorpus();
  const stream = (pdus: Pdu[]) => concatBytes([ac(), ...pdus].map((p) => encodePdu(p)));
  return [
    stream([...ids.flatMap((d) => rsp(0xff00, d)), ...rsp(0)]),
    stream([...rsp(0xff00, ids[1], 1, 64), ...rsp(0xff01, ids[2], 1, 32), ...rsp(0xa700)]),
    stream([...rsp(0xff00), ...rsp(0xff00, ids[3]), ...rsp(0xc001)]),
    stream([...rsp(0xff00, ids[0]), ...rsp(0, undefined, 2)]),
    stream([...rsp(0xff00, ids[4]), ...rsp(0xfe00)]),
  ];
}

/** Writes `bytes` in random pieces; false once the other side is gone. */
async function writePieces(conn: Deno.Conn, bytes: Uint8Array, rng: Rng): Promise<boolean> {
  try {
    for (let at = 0; at < bytes.length;) {
      const n = 1 + rng.below(rng.chance(0.3) ? 8 : 8192);
      const piece = bytes.subarray(at, at + n);
      for (let done = 0; done < piece.length;) done += await conn.write(piece.subarray(done));
      at += n;
    }
    return true;
  } catch {
    return false;
  }
}

/** The acceptor's side of one run: read the request, send `input`, read until closed. */
async function answer(listener: Deno.Listener, input: Uint8Array, rng: Rng): Promise<void> {
  const conn = await listener.accept();
  try {
    const buf = new Uint8Array(16 * 1024);
    const first = await conn.read(buf).catch(() => null);
    if (first === null) return;
    await writePieces(conn, input, rng);
    // Drain what the SCU sends (a C-CANCEL, an A-ABORT) until it closes; answer its release.
    const release = encodePdu({ type: "A-RELEASE-RQ" });
    let seen: Uint8Array = new Uint8Array(0);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      seen = concatBytes([
        seen.subarray(Math.max(0, seen.length - release.length)),
        buf.slice(0, n),
      ]);
      if (contains(seen, release)) {
        await writePieces(conn, encodePdu({ type: "A-RELEASE-RP" }), rng);
        seen = new Uint8Array(0);
      }
    }
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** The findscu live target. */
export function findscuTarget(): Target {
  const corpus = findResponseCorpus();
  const unhandled: string[] = [];
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    unhandled.push(`unhandled rejection: ${e.reason instanceof Error ? e.reason.stack : e.reason}`);
  };
  const query = queryFromKeys(["QueryRetrieveLevel=STUDY", "PatientName", "StudyInstanceUID"]);
  return {
    name: "findscu",
    description: "findscu's engine against mutated acceptor streams (AC, C-FIND-RSPs, release)",
    concurrency: 8,
    batch: 32,
    generate: (rng) => mutate(rng.pick(corpus), rng, STRUCTURE, () => rng.pick(corpus)),
    async run(input, rng) {
      const listener = Deno.listen({ hostname: HOST, port: 0 });
      const port = (listener.addr as Deno.NetAddr).port;
      const began = performance.now();
      const lines: string[] = [];
      const logger = createLogger({
        level: "debug",
        appenders: [{ append: (r) => void lines.push(r.message) }],
      });
      const peer = answer(listener, input, rng).catch(() => {});
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        const result = await Promise.race([
          runFindScu({
            host: HOST,
            port,
            family: "ipv4",
            callingAeTitle: "FINDSCU",
            calledAeTitle: "ANY-SCP",
            maxPdu: 16384,
            acseTimeoutMs: TIMEOUTS.acseMs,
            dimseTimeoutMs: TIMEOUTS.dimseMs,
            socketTimeoutMs: TIMEOUTS.socketMs,
            abort: false,
            logger,
            model: "study",
            transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN],
            queries: [{ attributes: query }],
            repeat: 1,
            cancelAfter: rng.chance(0.3) ? 1 + rng.below(3) : undefined,
            showResponses: true,
            extract: false,
            outputDirectory: ".",
            onResponse: (r) => {
              if (r.identifier) JSON.stringify(toDicomJson(r.identifier));
            },
          }),
          new Promise<"timeout">((resolve) =>
            timer = setTimeout(() => resolve("timeout"), RUN_BOUND_MS)
          ),
        ]);
        if (result === "timeout") {
          throw new Finding(`findscu did not end within ${RUN_BOUND_MS} ms`);
        }
        if (!OUTCOMES.has(result.outcome)) {
          throw new Finding(`unexpected outcome ${result.outcome}: ${result.diagnosis}`);
        }
        return result.outcome === "success" ? "decoded" : "rejected";
      } finally {
        clearTimeout(timer);
        listener.close();
        await peer;
        if (performance.now() - began > RUN_BOUND_MS + 2000) {
          // The acceptor outlived the run: the SCU left its connection open.
          // deno-lint-ignore no-unsafe-finally
          throw new Finding("the connection outlived the run");
        }
      }
    },
    setup() {
      globalThis.addEventListener("unhandledrejection", onRejection);
      return Promise.resolve();
    },
    afterBatch() {
      if (unhandled.length > 0) throw new Finding(unhandled.splice(0).join("\n"));
      return Promise.resolve();
    },
    teardown() {
      globalThis.removeEventListener("unhandledrejection", onRejection);
      return Promise.resolve();
    },
  };
}
