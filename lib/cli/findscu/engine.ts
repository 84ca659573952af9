/**
 * The Query/Retrieve C-FIND SCU (PS3.4 C.4.1, PS3.7 9.1.2): connect,
 * associate, send one C-FIND-RQ per query (x --repeat), print or extract
 * each response as it comes, cancel after n responses when asked, release
 * or abort; with DCMTK findscu's log lines and a result for exit codes,
 * the summary line and --json. Responses are streamed: nothing of a
 * response is kept once it is printed, written and handed on.
 *
 * @module
 */
import { find, type FindResponse, type QueryModel, sopClassOf } from "../../ae/qr.ts";
import { buildAssociateRq } from "../../ae/negotiation.ts";
import type { Attributes } from "../../dicom/attributes.ts";
import { decodeAttributes } from "../../dicom/attributes.ts";
import type { CharsetError } from "../../dicom/charset.ts";
import { formatAttributes, formatDataset } from "../../dicom/dump.ts";
import { encodeFileMeta } from "../../dicom/part10.ts";
import { uidName } from "../../dicom/uid_names.ts";
import { dumpMessage } from "../../dimse/dump.ts";
import type { CFindRq } from "../../dimse/messages.ts";
import { PRIORITY } from "../../dimse/messages.ts";
import { statusCategory, statusHex, statusLogText } from "../../dimse/status.ts";
import { newUid } from "../../util/uid.ts";
import type { QrQuery } from "../common/qr_options.ts";
import {
  closeAssociation,
  openAssociation,
  operationFailure,
  type ScuOptions,
  type ScuResult,
  since,
  startScuResult,
} from "../common/scu.ts";

/** findscu's settings, named after its options. */
export interface FindScuOptions extends ScuOptions {
  /** -W/-P/-S/-O. */
  model: QueryModel;
  /** -x...: transfer syntaxes proposed for the C-FIND context. */
  transferSyntaxes: readonly string[];
  /** The identifiers to send: one per query file, or the keys alone. */
  queries: readonly QrQuery[];
  /** --repeat: each query sent this many times. */
  repeat: number;
  /** --cancel n: a C-CANCEL-RQ after n responses of each C-FIND. */
  cancelAfter?: number;
  /** +sr / default: print each response's identifier (DCMTK's block). */
  showResponses: boolean;
  /** -X: write each response's identifier to `rsp0001.dcm`... in `outputDirectory`. */
  extract: boolean;
  /** -od: where -X writes (default "."). */
  outputDirectory: string;
  /** -Xlo: extract at most this many responses of each C-FIND. */
  extractLimit?: number;
  /** Called for each response as it comes (for --json); nothing is kept after. */
  onResponse?: (r: FindResponseRecord) => void;
}

/** How a findscu run ended; the CLI maps each to its exit code. */
export type FindOutcome =
  | "success"
  | "not-permitted"
  | "connect-failed"
  | "rejected"
  | "association-failed"
  | "no-presentation-context"
  | "find-failed"
  | "malformed-response"
  | "file-failed"
  | "dimse-timeout"
  | "aborted";

/** One response, as handed to `onResponse`. */
export interface FindResponseRecord {
  /** Which query (0-based) and which repetition. */
  query: number;
  /** The query file, if any. */
  file?: string;
  /** The request's message ID. */
  messageId: number;
  /** 1-based number of the response within its C-FIND. */
  index: number;
  /** Status (0000,0900). */
  status: number;
  /** DCMTK's wording of it. */
  statusText: string;
  /** pending (a match), success, cancel, warning or failed. */
  outcome: "pending" | "success" | "cancel" | "warning" | "failed";
  /** The identifier, decoded; null when none came or it cannot be read. */
  identifier: Attributes | null;
  /** What is wrong with the identifier (missing, malformed, text not decodable); null when nothing. */
  problem: string | null;
  /** The file -X wrote it to; null when none. */
  writtenTo: string | null;
  /** From sending the request to this response. */
  ms: number;
}

/** Counts of a run. */
export interface FindCounts {
  /** C-FINDs planned: queries x --repeat. */
  planned: number;
  /** C-FIND-RQs sent. */
  sent: number;
  /** Ended with Success (or with Cancel after --cancel asked for it). */
  success: number;
  /** Ended with a warning status. */
  warning: number;
  /** Ended with a failure status, or without a final response. */
  failed: number;
  /** Pending responses (matches) received. */
  matches: number;
  /** C-FINDs cancelled by --cancel. */
  cancelled: number;
  /** Responses whose identifier was missing or could not be read. */
  malformed: number;
  /** Files written by -X. */
  extracted: number;
}

/** Everything one run learned, for logs, exit code and --json. */
export interface FindResult extends ScuResult<FindOutcome> {
  /** The model used. */
  model: QueryModel;
  /** The transfer syntax of the C-FIND context. */
  transferSyntax?: string;
  /** The counts. */
  counts: FindCounts;
}

/** DCMTK's private SOP class for files that hold no composite object (DCMTK's `UID_PrivateGenericFileSOPClass`). */
const GENERIC_FILE_SOP_CLASS = "1.2.276.0.7230010.3.1.0.1";

/** Runs one findscu invocation: never throws for network or protocol failures. */
export async function runFindScu(o: FindScuOptions): Promise<FindResult> {
  const log = o.logger;
  const counts: FindCounts = {
    planned: o.queries.length * o.repeat,
    sent: 0,
    success: 0,
    warning: 0,
    failed: 0,
    matches: 0,
    cancelled: 0,
    malformed: 0,
    extracted: 0,
  };
  const result: FindResult = { ...startScuResult(o), model: o.model, counts };
  const fail = (outcome: FindOutcome, diagnosis: string): FindResult => {
    result.outcome = outcome;
    result.diagnosis = diagnosis;
    return result;
  };
  const sopClass = sopClassOf(o.model, "find");
  const rq = buildAssociateRq({
    aeTitle: o.callingAeTitle,
    calledAeTitle: o.calledAeTitle,
    maxPdu: o.maxPdu,
    presentationContexts: [{
      id: 1,
      abstractSyntax: sopClass,
      transferSyntaxes: [...o.transferSyntaxes],
    }],
  });
  const opened = await openAssociation(o, rq, {
    timings: result.timings,
    result,
    noContextDiagnosis: (ac) => {
      const r = ac.presentationContexts[0]?.result;
      return r === 4
        ? "the peer supports the model but none of the transfer syntaxes proposed: try -xi " +
          "(implicit VR little endian only) or -x= (all uncompressed)"
        : `the peer does not offer C-FIND in the ${modelWords(o.model)} model ` +
          `(${sopClass}) to AE title '${o.callingAeTitle}': try another model (-S study root, ` +
          "-P patient root, -W worklist) or ask its administrator which it supports";
    },
  });
  if (!opened.ok) {
    result.reject = opened.reject;
    return fail(opened.outcome, opened.diagnosis);
  }
  const { assoc } = opened;
  const context = assoc.contextFor(sopClass)!;
  result.transferSyntax = context.transferSyntax;
  let firstProblem: { outcome: FindOutcome; diagnosis: string } | undefined;
  const note = (outcome: FindOutcome, diagnosis: string) => {
    firstProblem ??= { outcome, diagnosis };
  };

  for (const [q, query] of o.queries.entries()) {
    for (let rep = 0; rep < o.repeat; rep++) {
      const ended = await findOnce(q, query);
      if (ended) return ended;
    }
  }
  const releaseFailure = await closeAssociation(assoc, o, result.timings);
  if (firstProblem) return fail(firstProblem.outcome, firstProblem.diagnosis);
  return releaseFailure ? fail("aborted", releaseFailure) : result;

  /** One C-FIND: undefined when the association still stands. */
  async function findOnce(q: number, query: QrQuery): Promise<FindResult | undefined> {
    const messageId = assoc.nextMessageId();
    const request: CFindRq = {
      type: "C-FIND-RQ",
      messageId,
      affectedSopClassUid: sopClass,
      priority: PRIORITY.medium,
    };
    if (log.isEnabled("debug")) {
      log.info("Sending Find Request");
      log.debug(dumpMessage(request, "OUTGOING", { contextId: context.id, uidName }));
    } else {
      log.info(`Sending Find Request (MsgID ${messageId})`);
    }
    if (log.isEnabled("info")) {
      log.info(`Request Identifiers:\n\n${formatAttributes(query.attributes).join("\n")}\n`);
    }
    counts.sent++;
    const t = performance.now();
    const cancel = new AbortController();
    let index = 0;
    let cancelled = false;
    let final: FindResponse | undefined;
    if (o.cancelAfter === 0) {
      cancelled = true;
      log.info(`Sending Cancel Request (MsgID ${messageId}, PresID ${context.id})`);
      cancel.abort();
    }
    try {
      for await (
        const r of find(assoc, query.attributes, {
          model: o.model,
          contextId: context.id,
          messageId,
          signal: cancel.signal,
        })
      ) {
        index++;
        if (!r.match) {
          final = r;
          await handleFinal(q, query, messageId, index, r, since(t), cancelled);
          break;
        }
        counts.matches++;
        await handleMatch(q, query, messageId, index, r, since(t));
        if (o.cancelAfter !== undefined && index === o.cancelAfter && !cancelled) {
          cancelled = true;
          log.info(`Sending Cancel Request (MsgID ${messageId}, PresID ${context.id})`);
          cancel.abort();
        }
      }
    } catch (err) {
      const failure = operationFailure(err, {
        operation: "C-FIND",
        activity: "query",
        failedPrefix: "Find Failed: ",
        timeoutMs: o.dimseTimeoutMs,
      }, log);
      counts.failed++;
      return fail(failure.outcome, failure.diagnosis);
    }
    if (!final) {
      counts.failed++;
      return fail("aborted", "the query ended without a final C-FIND response");
    }
    if (cancelled && final.status === 0xfe00) counts.cancelled++;
    const category = statusCategory(final.status);
    if (final.status === 0 || (cancelled && final.status === 0xfe00)) counts.success++;
    else if (category === "warning") counts.warning++;
    else {
      counts.failed++;
      note("find-failed", findDiagnosis(final.status, o));
    }
    return undefined;
  }

  async function handleMatch(
    q: number,
    query: QrQuery,
    messageId: number,
    index: number,
    r: FindResponse,
    ms: number,
  ): Promise<void> {
    const statusText = statusLogText(r.status, "C-FIND");
    if (log.isEnabled("debug")) {
      log.info(`Received Find Response ${index}`);
      log.debug(dumpMessage(r.message, "INCOMING", { contextId: context.id, uidName }));
    }
    let problem: string | null = null;
    const charsetProblems: string[] = [];
    const onCharsetProblem = (e: CharsetError) => charsetProblems.push(e.message);
    let lines: string[] | undefined;
    let identifier: Attributes | undefined;
    // The identifier is read once for what is asked: printed (its lines), or decoded
    // (for --json, or only to know that it can be read).
    const print = log.isEnabled("debug") || o.showResponses;
    if (r.dataset === undefined) {
      problem = "pending response without identifier (PS3.4 C.4.1.1.4 requires one)";
      log.warn(`Find Response ${index}: ${problem}`);
    } else {
      try {
        if (print) lines = formatDataset(r.dataset, r.transferSyntax, { onCharsetProblem });
        else identifier = decodeAttributes(r.dataset, r.transferSyntax, { onCharsetProblem });
      } catch (err) {
        problem = `malformed identifier (${r.dataset.length} bytes): ${
          err instanceof Error ? err.message : err
        }`;
        log.error(`Find Response ${index}: ${problem}`);
      }
    }
    if (problem) {
      counts.malformed++;
      note(
        "malformed-response",
        `the peer sent ${
          r.dataset === undefined ? "a match without identifier" : "a match that cannot be read"
        } (response ${index} of C-FIND ${messageId}): ${problem}; the other responses were ` +
          "shown; report it to the peer's vendor with the -d output",
      );
    }
    if (charsetProblems.length > 0) {
      // Never mojibake silently: say which text could not be decoded, shown with U+FFFD.
      for (const p of charsetProblems) {
        log.warn(`Find Response ${index}: ${p} (shown with U+FFFD)`);
      }
      problem ??= `text not decodable: ${charsetProblems.join("; ")}`;
    }
    if (lines) {
      if (log.isEnabled("debug")) {
        log.debug(`Response Identifiers:\n\n${lines.join("\n")}\n`);
      } else if (o.showResponses) {
        log.forcedLog(
          "info",
          [
            "---------------------------",
            `Find Response: ${index} (${statusText})`,
            "",
            ...lines,
            "",
          ].join("\n"),
        );
      }
    }
    let written: string | null = null;
    const readable = lines !== undefined || identifier !== undefined;
    if (
      o.extract && r.dataset !== undefined && readable &&
      (o.extractLimit === undefined || index <= o.extractLimit)
    ) {
      written = await extract(index, r);
      if (written) counts.extracted++;
    }
    if (o.onResponse) {
      if (lines && r.dataset) {
        // Printed and decodable: decoded once more for the JSON.
        try {
          identifier = decodeAttributes(r.dataset, r.transferSyntax, {
            onCharsetProblem: () => {},
          });
        } catch {
          // The fuzz target holds formatDataset and decodeAttributes to the same verdict.
          identifier = undefined;
        }
      }
      o.onResponse({
        query: q,
        file: query.file,
        messageId,
        index,
        status: r.status,
        statusText,
        outcome: "pending",
        identifier: identifier ?? null,
        problem,
        writtenTo: written,
        ms,
      });
    }
  }

  async function handleFinal(
    q: number,
    query: QrQuery,
    messageId: number,
    index: number,
    r: FindResponse,
    ms: number,
    cancelled: boolean,
  ): Promise<void> {
    const statusText = statusLogText(r.status, "C-FIND");
    if (log.isEnabled("debug")) {
      log.info("Received Final Find Response");
      log.debug(dumpMessage(r.message, "INCOMING", { contextId: context.id, uidName }));
    } else {
      log.info(`Received Final Find Response (${statusText})`);
    }
    const category = statusCategory(r.status);
    const outcome = r.status === 0
      ? "success"
      : r.status === 0xfe00
      ? "cancel"
      : category === "warning"
      ? "warning"
      : "failed";
    if (outcome === "failed" || (outcome === "cancel" && !cancelled)) {
      log.warn(`Find response with error status (${statusText})`);
    }
    o.onResponse?.({
      query: q,
      file: query.file,
      messageId,
      index,
      status: r.status,
      statusText,
      outcome,
      identifier: null,
      problem: null,
      writtenTo: null,
      ms,
    });
    await Promise.resolve();
  }

  /** Writes one response as a DICOM file, atomically; the path, or null when it failed. */
  async function extract(index: number, r: FindResponse): Promise<string | null> {
    const name = `rsp${String(index).padStart(4, "0")}.dcm`;
    const path = `${o.outputDirectory}/${name}`;
    const meta = encodeFileMeta({
      mediaStorageSopClassUid: GENERIC_FILE_SOP_CLASS,
      mediaStorageSopInstanceUid: newUid(),
      transferSyntaxUid: r.transferSyntax,
    });
    const part = `${path}.part`;
    try {
      const f = await Deno.open(part, { write: true, create: true, truncate: true });
      try {
        await writeAll(f, meta);
        await writeAll(f, r.dataset!);
      } finally {
        f.close();
      }
      await Deno.rename(part, path);
      log.info(`Writing response dataset to file: ${path}`);
      return path;
    } catch (err) {
      await Deno.remove(part).catch(() => {});
      if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
        throw err;
      }
      const reason = err instanceof Error ? err.message : String(err);
      log.error(`Cannot write response dataset to file: ${path}: ${reason}`);
      note(
        "file-failed",
        `cannot write ${path}: ${reason}; check that -od names a writable directory with room`,
      );
      return null;
    }
  }
}

async function writeAll(f: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await f.write(bytes.subarray(off));
}

/** The model in words. */
export function modelWords(model: QueryModel): string {
  return {
    patient: "patient root",
    study: "study root",
    "patient-study": "patient/study only",
    worklist: "modality worklist",
  }[model];
}

/** What a C-FIND's failure status means and what to do next: one plain sentence. */
export function findDiagnosis(status: number, o: { model: QueryModel }): string {
  const code = statusHex(status);
  const text = statusLogText(status, "C-FIND");
  const head = `the peer ended the C-FIND with ${code} (${text})`;
  if (status === 0xa700) {
    return `${head}: it ran out of resources for this query; narrow it (a date range, a ` +
      "patient ID instead of wildcards) or retry later";
  }
  if (status === 0xa900) {
    return `${head}: the identifier does not fit the ${modelWords(o.model)} model; check ` +
      "QueryRetrieveLevel (0008,0052) and that every key belongs to that level and model " +
      "(-P/-S/-W/-O)";
  }
  if ((status & 0xf000) === 0xc000) {
    return `${head}: it could not process the query; its log says why; check the keys' ` +
      "values (dates, times, wildcards) and the Specific Character Set";
  }
  if (status === 0x0122) {
    return `${head}: it does not support C-FIND in the ${modelWords(o.model)} model; try ` +
      "another model (-S, -P, -W)";
  }
  if (status === 0x0124) {
    return `${head}: it does not allow us this query; ask its administrator to allow our AE title`;
  }
  if (status === 0xfe00) {
    return `${head}: it cancelled the query on its own (we did not ask); its log says why`;
  }
  return `${head}; its log says why`;
}
