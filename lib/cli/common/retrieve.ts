/**
 * What movescu and getscu share (PS3.4 C.4.2 C-MOVE, C.4.3 C-GET as SCU):
 * one association to the archive, one retrieve per query (and per
 * --repeat), DCMTK's log lines for the responses, the sub-operation
 * counts as progress, the instances received (on the C-GET's own
 * association, or on movescu's storage SCP) written by the service
 * layer's {@link fileStore}, and a result from which the tools make their
 * exit code, --json lines, summary line and diagnosis.
 *
 * @module
 */
import type { Attributes } from "../../dicom/attributes.ts";
import { formatAttributes } from "../../dicom/dump.ts";
import { sopClassModality } from "../../dicom/sop_classes.ts";
import { uidName } from "../../dicom/uid_names.ts";
import type { CGetRsp, CMoveRsp, CStoreRq } from "../../dimse/messages.ts";
import { statusCategory, statusHex, statusLogText, statusMeaning } from "../../dimse/status.ts";
import type { Logger } from "../../log/logger.ts";
import { buildAssociateRq, negotiatedRoles } from "../../ae/negotiation.ts";
import { DimseError } from "../../ae/errors.ts";
import type { ContextProposal } from "../../ae/associate.ts";
import {
  get,
  move,
  qrContexts,
  type QueryModel,
  type RetrieveResponse,
  type Suboperations,
} from "../../ae/qr.ts";
import type { Service } from "../../ae/service.ts";
import { fileStore, storage, type StoreContext, type StoreHandler } from "../../ae/services.ts";
import { connectTcp } from "../../transport/tcp.ts";
import type { Endpoint, Transport } from "../../transport/transport.ts";
import {
  type AssociationFailureOutcome,
  closeAssociation,
  openAssociation,
  operationFailure,
  type ScuOptions,
  type ScuResult,
  since,
  startScuResult,
} from "./scu.ts";
import type { ProgressBar, ProgressState } from "./progress.ts";
import { jsonPeer, jsonTransferSyntax, ms3, operationOutcome } from "./json.ts";
import { timingsJson } from "./network_options.ts";
import { tlsJson } from "./tls_group.ts";

/** The retrieve operations. */
export type RetrieveOperation = "move" | "get";

/** How a movescu or getscu run ended; each outcome has its exit code. */
export type RetrieveOutcome =
  | "success"
  | AssociationFailureOutcome
  | "cannot-listen"
  | "retrieve-warning"
  | "retrieve-failed"
  | "aborted"
  | "dimse-timeout";

/** Exit codes of movescu and getscu: DCMTK movescu's 68 and 69 for the retrieve's own failures. */
export const RETRIEVE_EXIT_CODES: Record<RetrieveOutcome, number> = {
  "success": 0,
  "not-permitted": 2,
  "connect-failed": 60,
  "rejected": 61,
  "cannot-listen": 62,
  "association-failed": 66,
  "no-presentation-context": 67,
  "retrieve-warning": 68,
  "retrieve-failed": 69,
  "aborted": 70,
  "dimse-timeout": 71,
};

/** The exit codes as --help and the README list them (besides 0, 1, 2, 99). */
export function retrieveExitCodeDocs(op: RetrieveOperation): { code: string; meaning: string }[] {
  return [
    { code: "60", meaning: "cannot connect: refused, timed out, unreachable, no such host, TLS" },
    { code: "61", meaning: "association rejected (A-ASSOCIATE-RJ)" },
    ...(op === "move"
      ? [{ code: "62", meaning: "cannot listen on --port for the instances moved to us" }]
      : []),
    {
      code: "66",
      meaning:
        "association request failed: the peer closed, aborted, stayed silent or spoke no DICOM",
    },
    { code: "67", meaning: "no acceptable presentation context for the retrieve" },
    {
      code: "68",
      meaning: "retrieve completed with failed or warning sub-operations (e.g. 0xB000)",
    },
    { code: "69", meaning: "retrieve refused or failed (0xA801, 0xA701, 0xA702, 0xC000...)" },
    { code: "70", meaning: "the association was aborted, or the peer broke the protocol" },
    { code: "71", meaning: "no response within -td" },
  ];
}

/** One instance received (a C-STORE sub-operation answered by us). */
export interface ReceivedInstance {
  /** Who sent it: the archive (C-GET) or the association it opened to us (C-MOVE). */
  peer: { host: string; port: number };
  /** Its calling AE title. */
  callingAeTitle: string;
  /** The AE title it called (ours). */
  calledAeTitle: string;
  /** The C-STORE-RQ's message ID. */
  messageId: number;
  /** (0000,0002). */
  sopClassUid: string;
  /** (0000,1000). */
  sopInstanceUid: string;
  /** The transfer syntax of its context. */
  transferSyntax: string;
  /** Where it was written; null when not stored (--ignore, or a failure). */
  path: string | null;
  /** Our C-STORE-RSP status. */
  status: number;
  /** Data set bytes received. */
  bytes: number;
  /** From the request to our response. */
  ms: number;
  /** Why we refused it; null when stored. */
  diagnosis: string | null;
}

/** Where received instances go and what happens to them. */
export interface ReceiveOptions {
  /** -od: the directory, existing. */
  dir: string;
  /** --ignore: receive, but write nothing. */
  ignore: boolean;
  /** The file name of an instance (default {@link receivedFileName}). */
  name?: (m: CStoreRq) => string;
  /** Called with each instance as we answer it. */
  onReceived: (r: ReceivedInstance) => void;
  /** DCMTK's line for each request received (getscu's and movescu's differ). */
  requestLine: (m: CStoreRq) => string;
  /** DCMTK's line for our response, when the tool logs one (getscu). */
  responseLine?: (status: number) => string;
  /** Where the lines go. */
  logger: Logger;
}

/**
 * DCMTK's file name for a received instance: `<modality>.<SOP Instance
 * UID>` (`MR.1.2.3`), no extension, as getscu and movescu write them.
 */
export function receivedFileName(m: CStoreRq): string {
  return `${sopClassModality(m.affectedSopClassUid)}.${m.affectedSopInstanceUid}`;
}

/**
 * The storage handler of the retrieve tools: each data set is written by
 * {@link fileStore} (checked names, a `.part` file renamed into place) or
 * drained with --ignore; each is recorded, with its status.
 */
export function receivingStore(o: ReceiveOptions): StoreHandler {
  const paths = new WeakMap<object, string>();
  const files = fileStore({
    dir: o.dir,
    name: o.name ?? receivedFileName,
    onStored: (path, ctx) => paths.set(ctx, path),
  });
  return async (ctx) => {
    const t = performance.now();
    const m = ctx.message;
    o.logger.info(o.requestLine(m));
    let bytes = 0;
    const source = ctx.dataset;
    const counted: StoreContext = {
      ...ctx,
      dataset: {
        async *[Symbol.asyncIterator]() {
          for await (const chunk of source) {
            bytes += chunk.length;
            yield chunk;
          }
        },
      },
    };
    let status = 0;
    let diagnosis: string | null = null;
    try {
      if (o.ignore) {
        for await (const _ of counted.dataset) { /* received, not stored (--ignore) */ }
      } else {
        await files(counted);
      }
    } catch (err) {
      status = err instanceof DimseError ? err.status : 0xa700;
      diagnosis = err instanceof DimseError && err.comment
        ? err.comment
        : err instanceof Error
        ? err.message
        : String(err);
      throw err;
    } finally {
      if (o.responseLine) o.logger.info(o.responseLine(status));
      const info = ctx.association;
      o.onReceived({
        peer: info.peer,
        callingAeTitle: info.callingAeTitle,
        calledAeTitle: info.calledAeTitle,
        messageId: m.messageId,
        sopClassUid: m.affectedSopClassUid,
        sopInstanceUid: m.affectedSopInstanceUid,
        transferSyntax: ctx.context.transferSyntax,
        path: paths.get(counted) ?? null,
        status,
        bytes,
        ms: since(t),
        diagnosis,
      });
    }
  };
}

/** One response to a retrieve, as recorded. */
export interface RetrieveResponseRecord {
  /** Which retrieve of the run (1...). */
  retrieve: number;
  /** The request's message ID. */
  messageId: number;
  /** Status (0000,0900). */
  status: number;
  /** More follow. */
  pending: boolean;
  /** The sub-operation counts it carried. */
  counts: Suboperations;
  /** The Failed SOP Instance UID List (0008,0058) of a final response; empty when none. */
  failedSopInstanceUids: string[];
}

/** What one movescu or getscu run learned. */
export interface RetrieveResult extends ScuResult<RetrieveOutcome> {
  /** move or get. */
  operation: RetrieveOperation;
  /** The information model. */
  model: QueryModel;
  /** C-MOVE: the Move Destination. */
  destination?: string;
  /** Retrieves planned (queries x --repeat). */
  planned: number;
  /** Every response received, in order. */
  responses: RetrieveResponseRecord[];
  /** Every instance received. */
  received: ReceivedInstance[];
  /** Our end of the association to the archive (for the advice on registering us). */
  local?: Endpoint;
  /** The last final response (the run's verdict comes from it). */
  final?: RetrieveResponseRecord;
  /** Storage SOP classes whose SCP role the archive did not grant (C-GET). */
  rolesRefused: string[];
}

/** What a run of movescu or getscu takes. */
export interface RetrieveOptions extends ScuOptions {
  /** move or get. */
  operation: RetrieveOperation;
  /** The information model (-P, -S, -O). */
  model: QueryModel;
  /** The identifiers: one retrieve each (per --repeat). */
  identifiers: readonly Attributes[];
  /** C-MOVE: the Move Destination (-aem). */
  destination?: string;
  /** The transfer syntaxes proposed for the Q/R context, preferred first (-x=, -xe...). */
  proposedSyntaxes: readonly string[];
  /** C-GET: the storage contexts to propose with the SCP role, and what answers their C-STOREs. */
  storage?: { contexts: readonly ContextProposal[]; service: Service };
  /** --repeat. */
  repeat: number;
  /** --cancel n: send a C-CANCEL-RQ after n responses. */
  cancelAfter?: number;
  /** Every response, as it comes (for --json). */
  onResponse?: (r: RetrieveResponseRecord) => void;
  /** Instances received so far (the storage handlers push here). */
  received: ReceivedInstance[];
  /** Draws the sub-operation counts on a terminal. */
  progress?: ProgressBar;
}

/** DCMTK's words for a response status, per operation. */
function logText(op: RetrieveOperation, status: number): string {
  return statusLogText(status, op === "move" ? "C-MOVE" : "C-GET");
}

/** Runs the retrieves of one movescu or getscu invocation; never throws for network failures. */
export async function runRetrieve(o: RetrieveOptions): Promise<RetrieveResult> {
  const log = o.logger;
  const result: RetrieveResult = {
    ...startScuResult(o),
    operation: o.operation,
    model: o.model,
    destination: o.destination,
    planned: o.identifiers.length * o.repeat,
    responses: [],
    received: o.received,
    rolesRefused: [],
  };
  const fail = (outcome: RetrieveOutcome, diagnosis: string): RetrieveResult => {
    result.outcome = outcome;
    result.diagnosis = diagnosis;
    return result;
  };
  const { contexts, roles } = qrContexts({
    model: o.model,
    operations: [o.operation],
    transferSyntaxes: o.proposedSyntaxes,
    storage: o.storage?.contexts,
  });
  const rq = buildAssociateRq({
    aeTitle: o.callingAeTitle,
    calledAeTitle: o.calledAeTitle,
    maxPdu: o.maxPdu,
    presentationContexts: contexts.map((c, i) => ({
      id: 2 * i + 1,
      abstractSyntax: c.abstractSyntax,
      transferSyntaxes: [...c.transferSyntaxes],
    })),
    // DCMTK's getscu proposes the SCP role alone for the classes it receives.
    roleSelections: roles.map((r) => ({ ...r, scuRole: false, scpRole: true })),
  });
  const connect = o.connect ??
    ((so: ScuOptions) =>
      connectTcp({
        host: so.host,
        port: so.port,
        family: so.family,
        timeoutMs: so.connectTimeoutMs,
      }));
  const opened = await openAssociation(
    {
      ...o,
      connect: async (so): Promise<Transport> => {
        const t = await connect(so);
        result.local = t.local;
        return t;
      },
    },
    rq,
    {
      timings: result.timings,
      result,
      services: o.storage ? [o.storage.service] : undefined,
      noContextDiagnosis:
        `the peer accepted the association but not the ${
          o.operation === "move" ? "C-MOVE" : "C-GET"
        } SOP class of the ${o.model} model (${
          uidName(contexts[0].abstractSyntax) ?? contexts[0].abstractSyntax
        }): try another model (-P patient root, -S study root, -O patient/study only) or ask ` +
        `whether it allows AE title '${o.callingAeTitle}' to retrieve`,
    },
  );
  if (!opened.ok) {
    result.reject = opened.reject;
    return fail(opened.outcome, opened.diagnosis);
  }
  const { assoc } = opened;
  if (o.storage) {
    // PS3.7 D.3.3.4: a class whose SCP role was not granted cannot be sent to us.
    const accepted = new Set(assoc.contexts.map((c) => c.abstractSyntax));
    result.rolesRefused = [...new Set(o.storage.contexts.map((c) => c.abstractSyntax))]
      .filter((uid) =>
        !accepted.has(uid) || !negotiatedRoles(assoc.rq, assoc.ac, uid).requestorScp
      );
  }
  const t0 = performance.now();
  let count = 0;
  for (let round = 0; round < o.repeat; round++) {
    for (const identifier of o.identifiers) {
      count++;
      const messageId = assoc.nextMessageId();
      const failure = await retrieveOnce(identifier, messageId);
      if (failure) return failure;
    }
  }
  o.progress?.finish();
  const releaseFailure = await closeAssociation(assoc, o, result.timings);
  if (releaseFailure) return fail("aborted", releaseFailure);
  return result;

  async function retrieveOnce(
    identifier: Attributes,
    messageId: number,
  ): Promise<RetrieveResult | undefined> {
    if (o.operation === "move") {
      log.info(`Sending Move Request (MsgID ${messageId})`);
      if (log.isEnabled("info")) {
        log.info(`Request Identifiers:\n\n${formatAttributes(identifier).join("\n")}\n`);
      }
    } else {
      log.info(`Sending C-GET Request (MsgID ${messageId})`);
    }
    const cancel = new AbortController();
    const options = { model: o.model, messageId, signal: cancel.signal };
    let n = 0;
    try {
      const responses: AsyncIterable<RetrieveResponse<CMoveRsp | CGetRsp>> = o.operation === "move"
        ? move(assoc, identifier, { ...options, destination: o.destination! })
        : get(assoc, identifier, options);
      for await (const r of responses) {
        n++;
        const record: RetrieveResponseRecord = {
          retrieve: count,
          messageId,
          status: r.status,
          pending: r.pending,
          counts: r.counts,
          failedSopInstanceUids: r.pending ? [] : r.failedSopInstanceUids(),
        };
        result.responses.push(record);
        responseLines(record, n);
        o.onResponse?.(record);
        drawProgress(record);
        if (!r.pending) result.final = record;
        if (o.cancelAfter !== undefined && n === o.cancelAfter && r.pending) {
          log.info(`Sending Cancel Request (MsgID ${messageId})`);
          cancel.abort();
        }
      }
    } catch (err) {
      o.progress?.finish();
      const failure = operationFailure(err, {
        operation: o.operation === "move" ? "C-MOVE" : "C-GET",
        activity: o.operation === "move" ? "move" : "retrieve",
        failedPrefix: o.operation === "move" ? "Move Failed: " : "C-GET Failed: ",
        timeoutMs: o.dimseTimeoutMs,
      }, log);
      return fail(failure.outcome, failure.diagnosis);
    }
    const final = result.final;
    if (!final || final.messageId !== messageId) return undefined;
    const verdict = retrieveVerdict(final, o.cancelAfter !== undefined);
    if (verdict === "success") return undefined;
    if (verdict === "retrieve-warning") {
      result.outcome = "retrieve-warning";
      return undefined;
    }
    // A refusal or failure ends the run as DCMTK's movescu does (release, then exit 69).
    o.progress?.finish();
    await closeAssociation(assoc, o, result.timings);
    result.outcome = "retrieve-failed";
    return result;
  }

  function responseLines(r: RetrieveResponseRecord, n: number): void {
    const text = logText(o.operation, r.status);
    if (o.operation === "move") {
      if (r.pending) {
        log.info(`Received Move Response ${n} (${text})`);
        return;
      }
      if ((r.status & 0xf000) !== 0 && r.status !== 0xfe00) {
        log.warn(`Move response with error status (${text})`);
      }
      log.info(`Received Final Move Response (${text})`);
      return;
    }
    log.info(`Received C-GET Response (${text})`);
    if (!r.pending && log.isEnabled("info")) {
      const c = r.counts;
      const v = (x: number | undefined) => x === undefined ? "none" : String(x);
      log.info(
        "Final status report from last C-GET message:\n" +
          `  Number of Remaining Suboperations : ${v(c.remainingSuboperations)}\n` +
          `  Number of Completed Suboperations : ${v(c.completedSuboperations)}\n` +
          `  Number of Failed Suboperations    : ${v(c.failedSuboperations)}\n` +
          `  Number of Warning Suboperations   : ${v(c.warningSuboperations)}`,
      );
    }
  }

  function drawProgress(r: RetrieveResponseRecord): void {
    if (!o.progress) return;
    const c = r.counts;
    const done = (c.completedSuboperations ?? 0) + (c.failedSuboperations ?? 0) +
      (c.warningSuboperations ?? 0);
    const total = done + (c.remainingSuboperations ?? 0);
    const bytesDone = o.received.reduce((a, f) => a + f.bytes, 0);
    const state: ProgressState = {
      filesDone: done,
      filesTotal: Math.max(total, done),
      bytesDone,
      // The archive tells instances, not bytes: the total is estimated from the average so far.
      bytesTotal: done > 0 ? Math.round(bytesDone * total / done) : 0,
      elapsedMs: performance.now() - t0,
    };
    o.progress.update(state, !r.pending);
  }
}

/** The verdict of a final response: success, warnings or failed sub-operations, or failure. */
export function retrieveVerdict(
  final: RetrieveResponseRecord,
  cancelRequested: boolean,
): "success" | "retrieve-warning" | "retrieve-failed" {
  const s = final.status;
  if (s === 0xfe00) return cancelRequested ? "success" : "retrieve-failed";
  if (s === 0x0000) {
    // PS3.4 C.4.2.1.4: Success means no sub-operation failed; a peer saying otherwise is believed
    // on its counts.
    return (final.counts.failedSuboperations ?? 0) > 0 ||
        (final.counts.warningSuboperations ?? 0) > 0
      ? "retrieve-warning"
      : "success";
  }
  return statusCategory(s) === "warning" ? "retrieve-warning" : "retrieve-failed";
}

/** What movescu knows of its own storage SCP during a C-MOVE to itself. */
export interface CallbackObservation {
  /** The port it listened on. */
  port: number;
  /** Associations the archive opened to it. */
  associations: number;
  /** Contexts it refused: SOP class and the transfer syntaxes proposed for it. */
  refused: { sopClassUid: string; transferSyntaxes: string[]; reason: "class" | "syntax" }[];
}

/** The SOP class by name where we know it. */
function className(uid: string): string {
  return uidName(uid) ?? uid;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * The one plain sentence saying why a retrieve did not fully succeed and
 * what to do next; undefined when it did. For a C-MOVE to ourselves,
 * `callback` (what our storage SCP saw) tells "it could not connect back"
 * from "it connected but we refused the files"; `selfWithoutPort` says the
 * destination is this movescu, not listening.
 */
export function explainRetrieve(
  r: RetrieveResult,
  callback: CallbackObservation | undefined,
  ourHost: string | undefined,
  selfWithoutPort = false,
): string | undefined {
  const final = r.final;
  if (!final) return undefined;
  const verdict = retrieveVerdict(final, false);
  const s = final.status;
  if (verdict === "success" || s === 0xfe00 && r.outcome === "success") return undefined;
  const op = r.operation === "move" ? "C-MOVE" : "C-GET";
  const c = final.counts;
  const failed = c.failedSuboperations ?? 0;
  const warned = c.warningSuboperations ?? 0;
  const completed = c.completedSuboperations ?? 0;
  const uids = final.failedSopInstanceUids;
  const uidText = uids.length > 0
    ? ` (failed SOP instances: ${uids.slice(0, 5).join(", ")}${
      uids.length > 5 ? `, and ${uids.length - 5} more` : ""
    })`
    : "";
  const where = ourHost && callback ? `host ${ourHost}, port ${callback.port}` : undefined;
  const status = `${statusHex(s)} (${statusMeaning(s, op)})`;
  if (r.operation === "move" && s === 0xa801) {
    return `the archive does not know the move destination '${r.destination}' (${status}): ` +
      `ask its administrator to add AE title '${r.destination}'` +
      (where
        ? ` with ${where} (this machine as the archive sees it, and --port)`
        : " with the host and port of the receiver") +
      ", or name a destination it knows with -aem";
  }
  if (s === 0xa701) {
    return `the archive refused: too many matches for its resources (${status}): ` +
      "narrow the query (a StudyInstanceUID, a date range) and retry";
  }
  if (
    r.operation === "move" && selfWithoutPort && completed === 0 && (failed > 0 || s === 0xa702)
  ) {
    return `the destination '${r.destination}' is this movescu, which was not listening ` +
      `(${status}; ${plural(failed, "failed sub-operation")}): give --port (+P n) with the port ` +
      `the archive has registered for '${r.destination}'`;
  }
  if (r.operation === "move" && callback && (failed > 0 || s === 0xa702)) {
    if (callback.associations === 0) {
      return `the archive knows '${r.destination}' but could not connect back to it ` +
        `(${status}; ${plural(failed, "failed sub-operation")}, and no association reached ` +
        `our port ${callback.port}): check the host and port it has registered for ` +
        `'${r.destination}' (they must be ${where}), and that no firewall blocks ` +
        `connections from the archive to port ${callback.port}`;
    }
    if (callback.refused.length > 0) {
      const classes = callback.refused.filter((x) => x.reason === "class")
        .map((x) => className(x.sopClassUid));
      const syntaxes = callback.refused.filter((x) => x.reason === "syntax");
      const parts: string[] = [];
      if (syntaxes.length > 0) {
        const ts = [...new Set(syntaxes.flatMap((x) => x.transferSyntaxes))].map(className);
        parts.push(
          `${[...new Set(syntaxes.map((x) => className(x.sopClassUid)))].join(", ")} ` +
            `offered only in ${ts.join(", ")} (accept them with +xa, or -x... to choose)`,
        );
      }
      if (classes.length > 0) {
        parts.push(`${[...new Set(classes)].join(", ")}: storage classes we do not accept`);
      }
      return `the archive connected back but our storage SCP refused what it offered: ` +
        `${parts.join("; ")} (${status}; ${plural(failed, "failed sub-operation")})${uidText}`;
    }
  }
  const refusedHere = r.received.filter((f) => f.status !== 0);
  if (
    r.operation === "move" && callback && callback.associations > 0 && refusedHere.length === 0 &&
    failed > 0
  ) {
    return `the archive connected back to port ${callback.port} but did not deliver ` +
      `${plural(failed, "instance")} (${status})${uidText}: it found no presentation context ` +
      "for them among those it proposed and we accepted (a class or transfer syntax it could " +
      "not offer, e.g. compressed data it cannot convert); its log names which; +xa accepts " +
      "every transfer syntax we know";
  }
  if (refusedHere.length > 0) {
    const first = refusedHere[0];
    return `${plural(refusedHere.length, "instance")} sent to us could not be stored ` +
      `(status ${statusHex(first.status)}: ${first.diagnosis}): check -od (free space, ` +
      `permissions)${uidText}`;
  }
  if (r.operation === "get" && failed > 0 && r.rolesRefused.length > 0) {
    return `${plural(failed, "sub-operation")} failed (${status})${uidText}: the archive did not ` +
      `accept our SCP role (or a context) for ${plural(r.rolesRefused.length, "storage class")}` +
      ` (${r.rolesRefused.slice(0, 3).map(className).join(", ")}` +
      `${r.rolesRefused.length > 3 ? ", ..." : ""}), so it cannot send those with C-GET: ` +
      "use movescu, or ask for those classes to be enabled for C-GET";
  }
  if (failed > 0 || warned > 0 || s === 0xb000) {
    const dest = r.operation === "move" ? ` to '${r.destination}'` : "";
    return `${plural(failed, "sub-operation")} of ${failed + warned + completed} failed` +
      (warned > 0 ? ` and ${warned} completed with warnings` : "") +
      `${dest} (${status})${uidText}: ` +
      (r.operation === "move" && !callback
        ? `check that '${r.destination}' is running and accepts those classes and syntaxes, ` +
          "and the archive's log"
        : "the archive's log names the cause of each");
  }
  if (s === 0xa702) {
    return `the archive could not perform the sub-operations (${status})` +
      (r.operation === "move"
        ? `: often it cannot connect to '${r.destination}'; check the host and port it has ` +
          "registered for that AE title, and that it is listening"
        : ": check the archive's log");
  }
  if ((s & 0xf000) === 0xc000) {
    return `the archive could not process the request (${status}): check that the keys suit ` +
      "the model and level (QueryRetrieveLevel, and the unique keys of the levels above), and " +
      "the archive's log";
  }
  if (s === 0xa900) {
    return `the archive says the identifier does not match the model (${status}): check the ` +
      "model (-P, -S, -O) and QueryRetrieveLevel";
  }
  if (s === 0x0122) {
    return `the archive does not support the ${r.model} model for ${op} (${status}): try ` +
      "another model (-P, -S, -O)";
  }
  if (s === 0xfe00) {
    return `the archive ended the retrieve as cancelled (${status}) though we did not cancel it`;
  }
  return `the archive ended the retrieve with ${status}: check its log`;
}

/** The outcome in words, for the summary line. */
const OUTCOME_WORDS: Record<RetrieveOutcome, string> = {
  "success": "success",
  "not-permitted": "a Deno permission is missing",
  "connect-failed": "cannot connect",
  "rejected": "association rejected",
  "cannot-listen": "cannot listen on --port",
  "association-failed": "association request failed",
  "no-presentation-context": "no acceptable presentation context",
  "retrieve-warning": "some sub-operations failed or warned",
  "retrieve-failed": "retrieve refused or failed",
  "aborted": "association aborted",
  "dimse-timeout": "no response within -td",
};

/** Totals of the run: sub-operations of the last final response, instances and bytes we received. */
export function retrieveCounts(r: RetrieveResult) {
  const c = r.final?.counts;
  const completed = c?.completedSuboperations ?? 0;
  const failed = c?.failedSuboperations ?? 0;
  const warning = c?.warningSuboperations ?? 0;
  const remaining = c?.remainingSuboperations ?? 0;
  return {
    completed,
    failed,
    warning,
    remaining,
    received: r.received.filter((f) => f.status === 0).length,
    bytes: r.received.reduce((a, f) => a + f.bytes, 0),
  };
}

/**
 * The one human line movescu and getscu end with: what was asked of whom,
 * the sub-operations, what we received, and on failure what and the exit code.
 */
export function retrieveSummaryLine(r: RetrieveResult, exitCode: number, ms: number): string {
  const tool = r.operation === "move" ? "movescu" : "getscu";
  const from = `${r.calledAeTitle}@${r.peer.host}:${r.peer.port}`;
  const c = retrieveCounts(r);
  let line = r.operation === "move"
    ? `${tool}: C-MOVE from ${from} to ${r.destination}`
    : `${tool}: C-GET from ${from}`;
  if (r.final) {
    line += `: ${statusLogText(r.final.status, r.operation === "move" ? "C-MOVE" : "C-GET")}; ` +
      `${c.completed} completed, ${c.failed} failed, ${c.warning} warning` +
      (c.remaining > 0 ? `, ${c.remaining} remaining` : "");
  }
  if (r.received.length > 0 || r.operation === "get") {
    line += `; received ${plural(c.received, "file")} (${c.bytes} bytes) in ` +
      `${(ms / 1000).toFixed(3)} s`;
  }
  if (r.outcome !== "success") line += `; failed: ${OUTCOME_WORDS[r.outcome]} (exit ${exitCode})`;
  return line;
}

/** DCMTK's status words for our C-STORE response. */
export function storeResponseText(status: number): string {
  return status === 0 ? "Success" : statusMeaning(status, "C-STORE");
}

/** The storage service a retrieve tool answers C-STOREs with. */
export function retrieveStorageService(
  store: StoreHandler,
  sopClasses: readonly string[],
  transferSyntaxes: readonly string[],
): Service {
  return storage({ store, sopClasses, transferSyntaxes });
}

/** Who and what a run is about, as its --json lines name it. */
export type RetrieveIdentity = Pick<
  RetrieveResult,
  "operation" | "peer" | "callingAeTitle" | "calledAeTitle" | "destination"
>;

/** The common fields of a run's --json lines. */
function who(r: RetrieveIdentity) {
  return {
    peer: jsonPeer(r.peer),
    callingAeTitle: r.callingAeTitle,
    calledAeTitle: r.calledAeTitle,
  };
}

/** The `retrieve-response` line of one C-MOVE or C-GET response (schemas/v1). */
export function responseJsonFields(
  r: RetrieveIdentity,
  x: RetrieveResponseRecord,
): Record<string, unknown> {
  const service = r.operation === "move" ? "C-MOVE" : "C-GET";
  const c = x.counts;
  return {
    ...who(r),
    command: `${service}-RSP`,
    messageId: x.messageId,
    retrieve: x.retrieve,
    moveDestination: r.destination ?? null,
    status: x.status,
    statusText: statusMeaning(x.status, service),
    outcome: x.pending ? "pending" : operationOutcome(x.status),
    remaining: c.remainingSuboperations ?? null,
    completed: c.completedSuboperations ?? null,
    failed: c.failedSuboperations ?? null,
    warning: c.warningSuboperations ?? null,
    failedSopInstanceUids: x.failedSopInstanceUids,
  };
}

/** The `store` line of one instance received (the schema storescp's lines use). */
export function receivedJsonFields(f: ReceivedInstance): Record<string, unknown> {
  return {
    peer: jsonPeer(f.peer),
    callingAeTitle: f.callingAeTitle,
    calledAeTitle: f.calledAeTitle,
    path: f.path,
    messageId: f.messageId,
    sopClassUid: f.sopClassUid,
    sopInstanceUid: f.sopInstanceUid,
    ...jsonTransferSyntax(f.transferSyntax),
    status: f.status,
    statusText: storeResponseText(f.status),
    outcome: operationOutcome(f.status),
    bytes: f.bytes,
    ms: ms3(f.ms),
    diagnosis: f.diagnosis,
  };
}

/** The `summary` line of a movescu or getscu run. */
export function retrieveSummaryJson(
  r: RetrieveResult,
  exitCode: number,
  ms: number,
): Record<string, unknown> {
  const c = retrieveCounts(r);
  return {
    ...who(r),
    tls: tlsJson(r.tls),
    outcome: r.outcome,
    exitCode,
    diagnosis: r.diagnosis ?? null,
    timings: timingsJson(r.timings),
    ms: ms3(ms),
    associations: r.timings.connectMs === undefined ? 0 : 1,
    planned: r.planned,
    sent: new Set(r.responses.map((x) => x.messageId)).size,
    success: c.completed,
    warning: c.warning,
    failed: c.failed,
    notSent: c.remaining,
    bytes: c.bytes,
    moveDestination: r.destination ?? null,
    finalStatus: r.final?.status ?? null,
    received: c.received,
    failedSopInstanceUids: r.final?.failedSopInstanceUids ?? [],
  };
}
