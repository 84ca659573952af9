/**
 * `movescu --check`: can this archive work with us? Three steps, one
 * verdict line each: C-ECHO (it answers), C-FIND of one study at STUDY
 * level (it lets us query; -k keys narrow which study), and a C-MOVE of
 * that study to ourselves (it knows our AE title, can connect back to
 * --port, and sends what we accept). The exit code names the first step
 * that failed, for CI.
 *
 * @module
 */
import {
  attribute,
  type Attributes,
  findAttribute,
  setAttribute,
  stringValues,
} from "../../dicom/attributes.ts";
import { VERIFICATION_SOP_CLASS } from "../../dicom/uids.ts";
import { statusHex, statusLogText, statusMeaning } from "../../dimse/status.ts";
import { find, type QueryModel, sopClassOf } from "../../ae/qr.ts";
import { buildAssociateRq } from "../../ae/negotiation.ts";
import {
  closeAssociation,
  openAssociation,
  operationFailure,
  type ScuOptions,
  startScuResult,
} from "../common/scu.ts";
import type { JsonLines } from "../common/json.ts";
import { jsonPeer, ms3 } from "../common/json.ts";
import { stdout } from "../../util/std_streams.ts";
import {
  explainRetrieve,
  type ReceivedInstance,
  retrieveCounts,
  runRetrieve,
} from "../common/retrieve.ts";
import type { Receiver } from "./receiver.ts";

/** The steps, in order. */
export type CheckStep = "C-ECHO" | "C-FIND" | "C-MOVE";

/** Exit code of each step's failure (0 when every step passed). */
export const CHECK_EXIT: Record<CheckStep, number> = { "C-ECHO": 80, "C-FIND": 81, "C-MOVE": 82 };

/** The --check exit codes as --help lists them. */
export const CHECK_EXIT_CODES = [
  { code: "80", meaning: "--check: C-ECHO failed (or no association could be made)" },
  { code: "81", meaning: "--check: C-FIND failed, or found no study" },
  { code: "82", meaning: "--check: the C-MOVE of that study to ourselves failed" },
];

/** One step's verdict. */
export interface CheckVerdict {
  /** Which step. */
  step: CheckStep;
  /** pass, fail, or skipped (an earlier step left it nothing to do). */
  verdict: "pass" | "fail" | "skipped";
  /** What happened, in words. */
  detail: string;
  /** Why it failed and what to do; null when it did not. */
  diagnosis: string | null;
  /** How long the step took. */
  ms: number;
}

/** What the check takes. */
export interface CheckOptions extends ScuOptions {
  /** -P/-S/-O. */
  model: QueryModel;
  /** The syntaxes proposed for the Q/R and Verification contexts. */
  proposedSyntaxes: readonly string[];
  /** -aem (default: our AE title). */
  destination: string;
  /** -k keys (and query file): narrow the study looked for. */
  keys: Attributes;
  /** --port: where our storage SCP listens. */
  listenPort: number;
  /** Our storage SCP on it. */
  receiver: Receiver;
  /** The instances it received. */
  received: ReceivedInstance[];
  /** --json. */
  json?: JsonLines;
  /** The human summary line. */
  summary: (line: string) => void;
}

const QUERY_RETRIEVE_LEVEL = 0x00080052;
const STUDY_INSTANCE_UID = 0x0020000d;
const PATIENT_ID = 0x00100020;
const PATIENT_NAME = 0x00100010;

/** Runs the check; resolves with the exit code. */
export async function runCheck(o: CheckOptions): Promise<number> {
  const verdicts: CheckVerdict[] = [];
  const where = `${o.calledAeTitle}@${o.host}`;
  const say = (v: CheckVerdict) => {
    verdicts.push(v);
    if (o.json) {
      o.json.write("check", {
        peer: jsonPeer({ host: o.host, port: o.port }),
        callingAeTitle: o.callingAeTitle,
        calledAeTitle: o.calledAeTitle,
        step: v.step,
        verdict: v.verdict,
        detail: v.detail,
        diagnosis: v.diagnosis,
        ms: ms3(v.ms),
      });
    } else {
      const word = { pass: "PASS", fail: "FAIL", skipped: "SKIP" }[v.verdict];
      stdout.writeAll(
        `movescu --check: ${v.step.padEnd(6)} ${word}  ${v.detail}` +
          (v.diagnosis ? `: ${v.diagnosis}` : "") + "\n",
      );
    }
  };
  const t0 = performance.now();
  const study = await echoAndFind(o, say);
  if (study) {
    const t = performance.now();
    const identifier: Attributes = [attribute(QUERY_RETRIEVE_LEVEL, "STUDY")];
    if (o.model !== "study") identifier.push(attribute(PATIENT_ID, study.patientId));
    identifier.push(attribute(STUDY_INSTANCE_UID, study.uid));
    const before = o.received.length;
    const result = await runRetrieve({
      ...o,
      operation: "move",
      identifiers: [identifier],
      repeat: 1,
    });
    const diagnosis = result.diagnosis ??
      explainRetrieve(
        result,
        o.destination === o.callingAeTitle ? o.receiver.seen : undefined,
        result.local?.host,
      );
    const c = retrieveCounts(result);
    const got = o.received.length - before;
    const ok = result.outcome === "success";
    say({
      step: "C-MOVE",
      verdict: ok ? "pass" : "fail",
      detail: `study ${study.uid} to ${o.destination}: ` +
        (result.final
          ? `${statusLogText(result.final.status, "C-MOVE")}, ${c.completed} completed, ` +
            `${c.failed} failed; ${got} instance${
              got === 1 ? "" : "s"
            } received on port ${o.listenPort}`
          : "no final response"),
      diagnosis: ok ? null : diagnosis ?? `the C-MOVE ended: ${result.outcome}`,
      ms: performance.now() - t,
    });
  } else {
    say({
      step: "C-MOVE",
      verdict: "skipped",
      detail: "no study to move",
      diagnosis: null,
      ms: 0,
    });
  }
  const failed = verdicts.find((v) => v.verdict === "fail");
  const code = failed ? CHECK_EXIT[failed.step] : 0;
  const passed = verdicts.filter((v) => v.verdict === "pass").length;
  o.summary(
    failed
      ? `movescu --check: ${where}:${o.port} failed at ${failed.step} ` +
        `(${passed} of 3 steps passed; exit ${code})`
      : `movescu --check: ${where}:${o.port} works with us: C-ECHO, C-FIND and C-MOVE to ` +
        `${o.destination} on port ${o.listenPort} passed`,
  );
  o.json?.write("summary", {
    peer: jsonPeer({ host: o.host, port: o.port }),
    callingAeTitle: o.callingAeTitle,
    calledAeTitle: o.calledAeTitle,
    tls: null,
    outcome: failed ? "check-failed" : "success",
    exitCode: code,
    diagnosis: failed?.diagnosis ?? null,
    timings: { connectMs: null, associateMs: null, releaseMs: null },
    ms: ms3(performance.now() - t0),
    associations: verdicts.filter((v) => v.verdict !== "skipped").length > 2 ? 2 : 1,
    planned: 3,
    sent: verdicts.filter((v) => v.verdict !== "skipped").length,
    success: passed,
    warning: 0,
    failed: verdicts.filter((v) => v.verdict === "fail").length,
    notSent: verdicts.filter((v) => v.verdict === "skipped").length,
  });
  return code;
}

/** The study found, and its patient (for patient root moves). */
interface FoundStudy {
  uid: string;
  patientId: string;
  patientName?: string;
}

/** Steps 1 and 2 on one association: the C-ECHO, then the C-FIND. */
async function echoAndFind(
  o: CheckOptions,
  say: (v: CheckVerdict) => void,
): Promise<FoundStudy | undefined> {
  const log = o.logger;
  const scu = startScuResult(o);
  const findClass = sopClassOf(o.model, "find");
  const rq = buildAssociateRq({
    aeTitle: o.callingAeTitle,
    calledAeTitle: o.calledAeTitle,
    maxPdu: o.maxPdu,
    presentationContexts: [VERIFICATION_SOP_CLASS, findClass].map((abstractSyntax, i) => ({
      id: 2 * i + 1,
      abstractSyntax,
      transferSyntaxes: [...o.proposedSyntaxes],
    })),
  });
  let t = performance.now();
  const opened = await openAssociation(o, rq, {
    timings: scu.timings,
    result: scu,
    noContextDiagnosis: "the peer accepted the association but neither Verification nor " +
      `the C-FIND SOP class of the ${o.model} model`,
  });
  if (!opened.ok) {
    say({
      step: "C-ECHO",
      verdict: "fail",
      detail: `no association with ${o.calledAeTitle}@${o.host}:${o.port}`,
      diagnosis: opened.diagnosis,
      ms: performance.now() - t,
    });
    say({ step: "C-FIND", verdict: "skipped", detail: "no association", diagnosis: null, ms: 0 });
    return undefined;
  }
  const { assoc } = opened;
  const wait = (operation: string) => ({
    operation,
    activity: operation === "C-ECHO" ? "echo" : "query",
    failedPrefix: operation === "C-ECHO" ? "Echo Failed: " : "Find Failed: ",
    timeoutMs: o.dimseTimeoutMs,
  });
  if (!assoc.contextFor(VERIFICATION_SOP_CLASS)) {
    say({
      step: "C-ECHO",
      verdict: "fail",
      detail: "Verification not accepted",
      diagnosis: "the archive accepted the association but refused the Verification SOP " +
        `class: it does not answer C-ECHO from '${o.callingAeTitle}'; ask for it to be enabled`,
      ms: performance.now() - t,
    });
  } else {
    try {
      log.info("Sending Echo Request (MsgID 1)");
      const rsp = await assoc.echo();
      const ok = rsp.status === 0;
      say({
        step: "C-ECHO",
        verdict: ok ? "pass" : "fail",
        detail: `${o.calledAeTitle}@${o.host}:${o.port} answered ` +
          (ok ? "Success" : `${statusHex(rsp.status)} (${statusMeaning(rsp.status, "C-ECHO")})`),
        diagnosis: ok
          ? null
          : "it is reachable and speaks DICOM but reports a problem; check its log",
        ms: performance.now() - t,
      });
    } catch (err) {
      const f = operationFailure(err, wait("C-ECHO"), log);
      say({
        step: "C-ECHO",
        verdict: "fail",
        detail: f.statusText,
        diagnosis: f.diagnosis,
        ms: performance.now() - t,
      });
      say({
        step: "C-FIND",
        verdict: "skipped",
        detail: "the association ended",
        diagnosis: null,
        ms: 0,
      });
      return undefined;
    }
  }
  t = performance.now();
  if (!assoc.contextFor(findClass)) {
    say({
      step: "C-FIND",
      verdict: "fail",
      detail: `the C-FIND SOP class of the ${o.model} model not accepted`,
      diagnosis: "try another model (-P patient root, -S study root, -O patient/study only), " +
        `or ask whether '${o.callingAeTitle}' may query`,
      ms: performance.now() - t,
    });
    await closeAssociation(assoc, o, scu.timings);
    return undefined;
  }
  const query: Attributes = structuredClone(o.keys);
  setAttribute(query, attribute(QUERY_RETRIEVE_LEVEL, "STUDY"));
  if (!findAttribute(query, STUDY_INSTANCE_UID)) setAttribute(query, attribute(STUDY_INSTANCE_UID));
  if (!findAttribute(query, PATIENT_ID)) setAttribute(query, attribute(PATIENT_ID));
  if (!findAttribute(query, PATIENT_NAME)) setAttribute(query, attribute(PATIENT_NAME));
  const cancel = new AbortController();
  let found: FoundStudy | undefined;
  let finalStatus: number | undefined;
  let matches = 0;
  try {
    log.info("Sending Find Request (MsgID 2)");
    for await (const r of find(assoc, query, { model: o.model, signal: cancel.signal })) {
      if (r.match) {
        matches++;
        if (!found) {
          const attrs = r.attributes({ onCharsetProblem: () => {} });
          const uid = stringValues(attrs, STUDY_INSTANCE_UID)?.[0];
          if (uid) {
            found = {
              uid,
              patientId: stringValues(attrs, PATIENT_ID)?.[0] ?? "",
              patientName: stringValues(attrs, PATIENT_NAME)?.[0],
            };
            // One study is all the check needs: the rest is cancelled (PS3.7 9.3.2.3).
            cancel.abort();
          }
        }
      } else {
        finalStatus = r.status;
      }
    }
  } catch (err) {
    const f = operationFailure(err, wait("C-FIND"), log);
    say({
      step: "C-FIND",
      verdict: "fail",
      detail: f.statusText,
      diagnosis: f.diagnosis,
      ms: performance.now() - t,
    });
    return undefined;
  }
  const ms = performance.now() - t;
  await closeAssociation(assoc, o, scu.timings);
  if (found) {
    say({
      step: "C-FIND",
      verdict: "pass",
      detail: `study ${found.uid}` +
        (found.patientName ? ` (patient ${found.patientName})` : "") + " found",
      diagnosis: null,
      ms,
    });
    return found;
  }
  const refused = finalStatus !== undefined && finalStatus !== 0 && finalStatus !== 0xfe00;
  say({
    step: "C-FIND",
    verdict: "fail",
    detail: refused
      ? `answered ${statusHex(finalStatus!)} (${statusLogText(finalStatus!, "C-FIND")})`
      : `no study matched (${matches} responses)`,
    diagnosis: refused
      ? "the archive refused the query: check the model and the -k keys, and its log"
      : "the archive has no study we may see" +
        (o.keys.length > 0 ? " matching the -k keys" : "") +
        ": store one first, or give -k keys of a study it holds",
    ms,
  });
  return undefined;
}
