/**
 * The Verification SOP Class as SCU (PS3.4 Annex A, PS3.7 9.1.5 C-ECHO):
 * connect, associate, send C-ECHO-RQs, release or abort; with DCMTK
 * echoscu's log lines and a structured result for exit codes and --json.
 *
 * @module
 */
import { statusHex, statusMeaning } from "../../dimse/status.ts";
import type { AssociateAcPdu } from "../../pdu/types.ts";
import { ECHO_TRANSFER_SYNTAXES, VERIFICATION_SOP_CLASS } from "../../dicom/uids.ts";
import { buildAssociateRq, repeatedContexts } from "../../ae/negotiation.ts";
import {
  closeAssociation,
  openAssociation,
  operationFailure,
  type ScuOptions,
  type ScuResult,
  since,
  startScuResult,
} from "../common/scu.ts";
import type { CEchoRsp } from "../../dimse/messages.ts";

/** echoscu's settings, named after its options. */
export interface EchoScuOptions extends ScuOptions {
  /** -pts: how many of ECHO_TRANSFER_SYNTAXES to propose (1..53). */
  proposeTs: number;
  /** -ppc: how many presentation contexts to propose (1..128). */
  proposePc: number;
  /** --repeat: C-ECHOs on the one association. */
  repeat: number;
}

/** How an echo run ended; the CLI maps each to its exit code. */
export type EchoOutcome =
  | "success"
  | "not-permitted"
  | "connect-failed"
  | "rejected"
  | "association-failed"
  | "no-presentation-context"
  | "echo-failed"
  | "dimse-timeout"
  | "aborted";

/** One C-ECHO's response. */
export interface EchoResponse {
  /** (0000,0110) of the request. */
  messageId: number;
  /** Status (0000,0900); undefined when no response came. */
  status?: number;
  /** DCMTK's wording of the status, or what happened instead of a response. */
  statusText: string;
  /** From sending the request to receiving the response (or giving up). */
  roundTripMs: number;
}

/** Everything one run learned, for logs, exit code and --json. */
export interface EchoResult extends ScuResult<EchoOutcome> {
  /** The transfer syntax of the context the echoes used. */
  transferSyntax?: string;
  /** Data bytes per PDV we send (the peer's maximum PDU minus the PDV header, even). */
  maxSendPdv?: number;
  /** C-ECHOs planned (--repeat). */
  repeat: number;
  /** Every C-ECHO sent, with its response. */
  echoes: EchoResponse[];
}

/** Runs one echoscu invocation: never throws for network or protocol failures. */
export async function runEchoScu(o: EchoScuOptions): Promise<EchoResult> {
  const log = o.logger;
  const result: EchoResult = { ...startScuResult(o), repeat: o.repeat, echoes: [] };
  const fail = (outcome: EchoOutcome, diagnosis: string): EchoResult => {
    result.outcome = outcome;
    result.diagnosis = diagnosis;
    return result;
  };

  const syntaxes = ECHO_TRANSFER_SYNTAXES.slice(0, o.proposeTs).map((t) => t.uid);
  const rq = buildAssociateRq({
    aeTitle: o.callingAeTitle,
    calledAeTitle: o.calledAeTitle,
    maxPdu: o.maxPdu,
    presentationContexts: repeatedContexts(VERIFICATION_SOP_CLASS, syntaxes, o.proposePc),
  });
  const opened = await openAssociation(o, rq, {
    timings: result.timings,
    result,
    noContextDiagnosis: (ac) => noContextAdvice(ac, syntaxes.length, o.callingAeTitle),
  });
  if (!opened.ok) {
    result.reject = opened.reject;
    return fail(opened.outcome, opened.diagnosis);
  }
  const context = opened.contexts[0];
  result.transferSyntax = context.transferSyntax;
  result.maxSendPdv = opened.channel.maxSendPdv;

  // Per echo (--repeat): the lines are made only when shown (-v), and the loop awaits the
  // response and records it itself, without an async function or a call per echo around it.
  const verbose = log.isEnabled("info");
  for (let messageId = 1; messageId <= o.repeat; messageId++) {
    if (verbose) log.info(`Sending Echo Request (MsgID ${messageId})`);
    const t = performance.now();
    let rsp: CEchoRsp;
    try {
      rsp = await opened.assoc.echo({ messageId, contextId: context.id });
    } catch (err) {
      return unanswered(err, messageId, t);
    }
    const roundTripMs = since(t);
    const status = rsp.status;
    const statusText = status === 0 ? "Success" : echoStatusString(status);
    result.echoes.push({ messageId, status, statusText, roundTripMs });
    if (verbose) log.info(`Received Echo Response (${statusText})`);
    if (status !== 0) {
      // A failure status ends the run, not the association: end it as DCMTK's echoscu
      // does (release, or abort with --abort) instead of dropping the connection.
      await closeAssociation(opened.assoc, o, result.timings);
      return fail(
        "echo-failed",
        `the peer answered the C-ECHO with status ${statusHex(status)} (${statusText}): ` +
          "it is reachable and speaks DICOM but reports a problem; check its log",
      );
    }
  }
  const releaseFailure = await closeAssociation(opened.assoc, o, result.timings);
  return releaseFailure ? fail("aborted", releaseFailure) : result;

  /** The echo sent at `t` got no response (`err` says why): recorded, and how the run ends. */
  function unanswered(err: unknown, messageId: number, t: number): EchoResult {
    const wait = {
      operation: "C-ECHO",
      activity: "echo",
      failedPrefix: "Echo Failed: ",
      timeoutMs: o.dimseTimeoutMs,
    };
    const failure = operationFailure(err, wait, log);
    result.echoes.push({ messageId, statusText: failure.statusText, roundTripMs: since(t) });
    return fail(failure.outcome, failure.diagnosis);
  }
}

/** DCMTK's DU_cechoStatusString wording. */
export function echoStatusString(status: number): string {
  return status === 0 ? "Success" : statusMeaning(status, "C-ECHO");
}

/**
 * Why the peer accepted none of the Verification contexts, from the results
 * of its A-ASSOCIATE-AC (PS3.8 Table 9-18), and what would help.
 */
export function noContextAdvice(
  ac: AssociateAcPdu,
  proposed: number,
  callingAeTitle: string,
): string {
  const results = new Set(ac.presentationContexts.map((pc) => pc.result));
  const head = "the peer accepted the association but none of its presentation contexts";
  if (results.has(4)) {
    const more = proposed < ECHO_TRANSFER_SYNTAXES.length
      ? `propose more (-pts ${Math.max(3, proposed + 1)}; -pts 3 adds explicit VR little and ` +
        "big endian)"
      : "check which transfer syntaxes it supports";
    return `${head}: it supports Verification but none of the ${proposed} transfer ` +
      `syntax${proposed === 1 ? "" : "es"} proposed (transfer syntaxes not supported); ${more}`;
  }
  if (results.has(3)) {
    return `${head}: it refused the Verification SOP Class itself (abstract syntax not ` +
      "supported): it does not answer C-ECHO, or not to us; more transfer syntaxes will not " +
      `help: check that it is a DICOM SCP offering Verification to AE title '${callingAeTitle}'`;
  }
  if (results.has(1)) {
    return `${head}: its application refused them (user rejection): it may not allow AE ` +
      `title '${callingAeTitle}' to use Verification; check its configuration`;
  }
  return `${head}: its DICOM stack refused them without a reason; check the peer's log`;
}
