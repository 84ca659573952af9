/**
 * The Verification SOP Class as SCU (PS3.4 Annex A, PS3.7 9.1.5 C-ECHO):
 * connect, associate, send C-ECHO-RQs, release or abort; with DCMTK
 * echoscu's log lines and a structured result for exit codes and --json.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import { statusHex, statusMeaning } from "../dimse/status.ts";
import { formatAssociateDump } from "../pdu/dump.ts";
import type { AssociateAcPdu, AssociateRqPdu } from "../pdu/types.ts";
import { ConnectError, connectTcp, type IpFamily } from "../transport/tcp.ts";
import type { Transport } from "../transport/transport.ts";
import { requestAssociation, type UlOptions } from "../ul/association.ts";
import { ECHO_TRANSFER_SYNTAXES, VERIFICATION_SOP_CLASS } from "../uids.ts";
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from "../version.ts";
import { describeReject, explainReject } from "./diagnose.ts";
import { DimseChannel } from "./dimse_channel.ts";
import { acceptedContexts, buildAssociateRq, repeatedContexts } from "./negotiation.ts";
import { pduLogger } from "./pdu_log.ts";

/** echoscu's settings, named after its options. */
export interface EchoScuOptions {
  /** Peer host name or address. */
  host: string;
  /** Peer TCP port. */
  port: number;
  /** -i4 / -i6 / -i0. */
  family: IpFamily;
  /** -aet: our AE title. */
  callingAeTitle: string;
  /** -aec: the peer's AE title. */
  calledAeTitle: string;
  /** -pts: how many of ECHO_TRANSFER_SYNTAXES to propose (1..53). */
  proposeTs: number;
  /** -ppc: how many presentation contexts to propose (1..128). */
  proposePc: number;
  /** -pdu: our maximum receive PDU length. */
  maxPdu: number;
  /** -to: connection timeout; undefined = the OS default. */
  connectTimeoutMs?: number;
  /** -ta: ACSE (ARTIM) timeout. */
  acseTimeoutMs: number;
  /** -td: DIMSE timeout; undefined = unlimited. */
  dimseTimeoutMs?: number;
  /** -ts: socket inactivity timeout; 0 = none. */
  socketTimeoutMs: number;
  /** --repeat: C-ECHOs on the one association. */
  repeat: number;
  /** --abort: abort instead of releasing. */
  abort: boolean;
  /** Where DCMTK-style log lines go. */
  logger: Logger;
  /** Connects the transport; TCP unless given (TLS plugs in here). */
  connect?: (o: EchoScuOptions) => Promise<Transport>;
}

/** How an echo run ended; the CLI maps each to its exit code. */
export type EchoOutcome =
  | "success"
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
export interface EchoResult {
  /** How the run ended. */
  outcome: EchoOutcome;
  /** The peer as given. */
  peer: { host: string; port: number };
  /** Our AE title. */
  callingAeTitle: string;
  /** The peer's AE title as we called it. */
  calledAeTitle: string;
  /** The transfer syntax of the context the echoes used. */
  transferSyntax?: string;
  /** Data bytes per PDV we send (the peer's maximum PDU minus the PDV header, even). */
  maxSendPdv?: number;
  /** Milliseconds spent connecting, negotiating and releasing (absent when not reached). */
  timings: { connectMs?: number; associateMs?: number; releaseMs?: number };
  /** Every C-ECHO sent, with its response. */
  echoes: EchoResponse[];
  /** Set when the association was rejected: DCMTK's lines and the raw fields. */
  reject?: { result: number; source: number; reason: number; text: string[] };
  /** One plain sentence: what failed and what to check. Undefined on success. */
  diagnosis?: string;
}

const now = () => performance.now();
const since = (t: number) => Math.round((now() - t) * 1000) / 1000;

/** Runs one echoscu invocation: never throws for network or protocol failures. */
export async function runEchoScu(o: EchoScuOptions): Promise<EchoResult> {
  const log = o.logger;
  const result: EchoResult = {
    outcome: "success",
    peer: { host: o.host, port: o.port },
    callingAeTitle: o.callingAeTitle,
    calledAeTitle: o.calledAeTitle,
    timings: {},
    echoes: [],
  };
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
  if (log.isEnabled("debug")) {
    log.debug(`Request Parameters:\n${dump("A-ASSOCIATE-RQ", rq, undefined, o.maxPdu)}`);
  }

  log.info("Requesting Association");
  let transport: Transport;
  const tConnect = now();
  try {
    transport = await (o.connect ?? connectWithTcp)(o);
  } catch (err) {
    if (!(err instanceof ConnectError)) throw err;
    log.fatal(`Association Request Failed: TCP Initialization Error: ${err.message}`);
    return fail("connect-failed", connectAdvice(err, o));
  }
  result.timings.connectMs = since(tConnect);

  const ul: UlOptions = {
    logger: log,
    artimTimeoutMs: o.acseTimeoutMs,
    idleTimeoutMs: o.socketTimeoutMs,
    onPdu: pduLogger(log),
  };
  const tAssoc = now();
  const outcome = await requestAssociation(transport, rq, ul);
  result.timings.associateMs = since(tAssoc);

  if (outcome.kind === "rejected") {
    const text = describeReject(outcome.rj);
    log.fatal(`Association Rejected:\n${text.join("\n")}`);
    const { result: r, source, reason } = outcome.rj;
    result.reject = { result: r, source, reason, text };
    return fail(
      "rejected",
      explainReject(outcome.rj, { calling: o.callingAeTitle, called: o.calledAeTitle }),
    );
  }
  if (outcome.kind === "aborted") {
    // With an A-ABORT PDU the reason already reads "peer sent A-ABORT (source, reason)".
    log.fatal(`Association Request Failed: ${outcome.reason}`);
    return fail(
      "association-failed",
      associationAdvice(outcome.reason, outcome.abort !== undefined),
    );
  }

  const { association, ac } = outcome;
  if (log.isEnabled("debug")) {
    log.debug(`Association Parameters Negotiated:\n${dump("A-ASSOCIATE-AC", rq, ac, o.maxPdu)}`);
  }
  const contexts = acceptedContexts(rq, ac);
  if (contexts.length === 0) {
    log.fatal("No Acceptable Presentation Contexts");
    await association.abort();
    return fail(
      "no-presentation-context",
      "the peer accepted the association but none of its presentation contexts: it does not " +
        "offer the Verification SOP Class with the proposed transfer syntaxes (try -pts 3)",
    );
  }
  const context = contexts[0];
  result.transferSyntax = context.transferSyntax;
  const channel = new DimseChannel(association);
  result.maxSendPdv = channel.maxSendPdv;
  log.info(`Association Accepted (Max Send PDV: ${channel.maxSendPdv})`);

  for (let messageId = 1; messageId <= o.repeat; messageId++) {
    const failure = await echoOnce(channel, context.id, messageId, o, result);
    if (failure?.outcome === "echo-failed") {
      // A failure status ends the run, not the association: end it as DCMTK's echoscu
      // does (release, or abort with --abort) instead of dropping the connection.
      const diagnosis = failure.diagnosis!;
      await endAssociation();
      return fail("echo-failed", diagnosis);
    }
    if (failure) return failure;
  }
  return (await endAssociation()) ?? result;

  /** Releases (or with --abort aborts) the association; a failure result if release failed. */
  async function endAssociation(): Promise<EchoResult | undefined> {
    const tRelease = now();
    if (o.abort) {
      log.info("Aborting Association");
      await association.abort();
    } else {
      log.info("Releasing Association");
      const released = await association.release();
      if (released !== "released") {
        log.fatal(`Association Release Failed: ${released.aborted}`);
        return fail("aborted", `the association ended badly during release: ${released.aborted}`);
      }
    }
    result.timings.releaseMs = since(tRelease);
    return undefined;
  }

  function dump(
    kind: "A-ASSOCIATE-RQ" | "A-ASSOCIATE-AC",
    req: AssociateRqPdu,
    acc: AssociateAcPdu | undefined,
    ourMaxPdu: number,
  ): string {
    return formatAssociateDump(kind, {
      rq: req,
      ac: acc,
      we: "requestor",
      ourImplementationClassUid: IMPLEMENTATION_CLASS_UID,
      ourImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
      ourMaxPdu,
    });
  }

  async function echoOnce(
    ch: DimseChannel,
    contextId: number,
    messageId: number,
    opts: EchoScuOptions,
    res: EchoResult,
  ): Promise<EchoResult | undefined> {
    log.info(`Sending Echo Request (MsgID ${messageId})`);
    const t = now();
    await ch.send(contextId, {
      type: "C-ECHO-RQ",
      messageId,
      affectedSopClassUid: VERIFICATION_SOP_CLASS,
    });
    for (;;) {
      const ev = await ch.receive(opts.dimseTimeoutMs);
      const roundTripMs = since(t);
      switch (ev.kind) {
        case "command": {
          const m = ev.message;
          if (m.type !== "C-ECHO-RSP" || m.messageIdBeingRespondedTo !== messageId) {
            log.error(`Echo Failed: unexpected ${m.type} on the association`);
            await ch.association.abort();
            return fail("aborted", `the peer answered the C-ECHO-RQ with ${m.type}`);
          }
          const statusText = echoStatusString(m.status);
          res.echoes.push({ messageId, status: m.status, statusText, roundTripMs });
          log.info(`Received Echo Response (${statusText})`);
          if (m.status !== 0) {
            return fail(
              "echo-failed",
              `the peer answered the C-ECHO with status ${statusHex(m.status)} (${statusText}): ` +
                "it is reachable and speaks DICOM but reports a problem; check its log",
            );
          }
          return undefined;
        }
        case "timeout":
          res.echoes.push({ messageId, statusText: "no response", roundTripMs });
          log.error(`Echo Failed: DIMSE timeout after ${opts.dimseTimeoutMs! / 1000} s`);
          log.info("Aborting Association");
          await ch.association.abort();
          return fail(
            "dimse-timeout",
            `no C-ECHO-RSP within ${opts.dimseTimeoutMs! / 1000} s (-td): the peer is ` +
              "overloaded or hung",
          );
        case "aborted":
          res.echoes.push({ messageId, statusText: "aborted", roundTripMs });
          log.info("Peer Aborted Association");
          return fail("aborted", `the association was aborted during the echo: ${ev.reason}`);
        case "release-requested":
          log.fatal("Protocol Error: Peer requested release (Aborting)");
          log.info("Aborting Association");
          await ch.association.abort();
          return fail("aborted", "the peer asked to release the association before answering");
        case "protocol-error":
          log.error(`Echo Failed: ${ev.reason}`);
          log.info("Aborting Association");
          await ch.association.abort();
          return fail("aborted", `the peer sent a malformed DIMSE message: ${ev.reason}`);
        case "data":
        case "released":
          log.error(`Echo Failed: unexpected ${ev.kind} from the peer`);
          await ch.association.abort();
          return fail("aborted", `the peer sent unexpected ${ev.kind} instead of a C-ECHO-RSP`);
      }
    }
  }
}

/** DCMTK's DU_cechoStatusString wording. */
export function echoStatusString(status: number): string {
  return status === 0 ? "Success" : statusMeaning(status, "C-ECHO");
}

function connectWithTcp(o: EchoScuOptions): Promise<Transport> {
  return connectTcp({
    host: o.host,
    port: o.port,
    family: o.family,
    timeoutMs: o.connectTimeoutMs,
  });
}

function connectAdvice(err: ConnectError, o: EchoScuOptions): string {
  const where = `${o.host}:${o.port}`;
  switch (err.code) {
    case "refused":
      return `${err.message}: nothing listens on that port; check the host, the port and that ` +
        "the SCP is running";
    case "timeout":
      return `${err.message}: the host did not answer; check the host name, routing and ` +
        "firewalls between here and the peer";
    case "lookup":
      return `${err.message}: check the spelling or use an IP address (-i4/-i6 choose the family)`;
    case "unreachable":
      return `${err.message}: no route to ${where}; check the network and firewalls`;
    case "other":
      return `${err.message}: check the host and port`;
  }
}

function associationAdvice(reason: string, peerAborted: boolean): string {
  if (peerAborted) {
    return `the peer aborted the association request (${reason}): check its log; AE titles or ` +
      "the proposed contexts may be unacceptable to it";
  }
  if (/closed/.test(reason)) {
    return "the peer closed the connection without answering the A-ASSOCIATE-RQ: it may not be " +
      "a DICOM service, may expect TLS, or may refuse connections from this address";
  }
  if (/ARTIM|timeout/i.test(reason)) {
    return `${reason}: the port accepts connections but nothing answers in DICOM; check that ` +
      "it is the DICOM port and whether the peer expects TLS (raise -ta if it is just slow)";
  }
  return `the association request failed: ${reason}`;
}
