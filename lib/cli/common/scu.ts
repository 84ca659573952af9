/**
 * What every SCU does around its DIMSE operations, with DCMTK's log lines:
 * connect, request the association (PS3.8 7.1), report a reject or abort,
 * wait for each response (PS3.7 9.3) and release or abort at the end
 * (PS3.8 7.2, 7.3). echoscu and storescu both run on it.
 *
 * @module
 */
import type { Logger } from "../../log/logger.ts";
import { describePermission } from "../../util/permission.ts";
/** The `-d` dumps and the UID names they print, loaded when the log shows them. */
type PduDump = typeof import("../../pdu/dump.ts") & typeof import("../../dicom/uid_names.ts");
import type { AbortPdu, AssociateAcPdu, AssociateRqPdu } from "../../pdu/types.ts";
import type { ConnectError, IpFamily } from "../../transport/tcp.ts";
import type { TlsInfo } from "../../transport/tls.ts";
// The TLS failure words are loaded with TLS (when the connect step is TLS's, ScuOptions.connect):
// over plain TCP no TlsError can arise.
type TlsWords = typeof import("../../transport/tls_errors.ts") & typeof import("./tls_advice.ts");
import type { Transport } from "../../transport/transport.ts";
import type { UlAssociation } from "../../ul/association.ts";
import type { Association } from "../../ae/association.ts";
import { requestWith } from "../../ae/associate.ts";
import {
  AssociationAborted,
  AssociationRejected,
  ConnectFailed,
  DimseTimeout,
  NoPresentationContext,
  ProtocolError,
} from "../../ae/errors.ts";
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from "../../util/version.ts";
import { explainPeerAbort, explainReject } from "./diagnose.ts";
import { describeReject } from "../../ul/reasons.ts";
import type { DimseChannel } from "../../ae/channel.ts";
import type { AcceptedContext } from "../../ae/negotiation.ts";
import type { Service } from "../../ae/service.ts";
import { pduLogger } from "./pdu_log.ts";

/** The settings every SCU shares, named after DCMTK's options. */
export interface ScuOptions {
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
  /** -pdu: our maximum receive PDU length. */
  maxPdu: number;
  /** --max-send-pdu: never send PDUs longer than this, whatever the peer accepts. */
  maxSendPdu?: number;
  /** -to: connection timeout; undefined = the OS default. */
  connectTimeoutMs?: number;
  /** -ta: ACSE (ARTIM) timeout. */
  acseTimeoutMs: number;
  /** -td: DIMSE timeout; undefined = unlimited. */
  dimseTimeoutMs?: number;
  /** -ts: socket inactivity timeout; 0 = none. */
  socketTimeoutMs: number;
  /** --abort: abort instead of releasing. */
  abort: boolean;
  /** Where DCMTK-style log lines go. */
  logger: Logger;
  /** Connects the transport; TCP unless given (TLS plugs in here). */
  connect?: (o: ScuOptions) => Promise<Transport>;
}

/** Milliseconds spent connecting, negotiating and releasing (absent when not reached). */
export interface ScuTimings {
  /** TCP connect. */
  connectMs?: number;
  /** A-ASSOCIATE-RQ to -AC/-RJ. */
  associateMs?: number;
  /** A-RELEASE-RQ to -RP (or the abort). */
  releaseMs?: number;
}

/** DCMTK's lines and the raw fields of an A-ASSOCIATE-RJ. */
export interface RejectInfo {
  /** PS3.8 9.3.4 result. */
  result: number;
  /** PS3.8 9.3.4 source. */
  source: number;
  /** PS3.8 Table 9-21 reason. */
  reason: number;
  /** DCMTK's two lines. */
  text: string[];
}

/** What every SCU run reports, whatever its DIMSE operations. */
export interface ScuResult<O extends string> {
  /** How the run ended. */
  outcome: O;
  /** The peer as given. */
  peer: { host: string; port: number };
  /** Our AE title. */
  callingAeTitle: string;
  /** The peer's AE title as we called it. */
  calledAeTitle: string;
  /** Connect, associate, release (of the last association). */
  timings: ScuTimings;
  /** Set when the association was rejected: DCMTK's lines and the raw fields. */
  reject?: RejectInfo;
  /** One plain sentence: what failed and what to check. Undefined on success. */
  diagnosis?: string;
  /** What the TLS handshake settled (last connection); absent over plain TCP. */
  tls?: TlsInfo;
}

/** A run's result before anything happened: a success so far, with the peer and AE titles. */
export function startScuResult(o: ScuOptions): ScuResult<"success"> {
  return {
    outcome: "success",
    peer: { host: o.host, port: o.port },
    callingAeTitle: o.callingAeTitle,
    calledAeTitle: o.calledAeTitle,
    timings: {},
  };
}

/** Ways setting up an association fails, shared by every SCU's exit codes. */
export type AssociationFailureOutcome =
  | "not-permitted"
  | "connect-failed"
  | "rejected"
  | "association-failed"
  | "no-presentation-context";

/** A failure with its one plain sentence: what failed and what to check. */
export interface ScuFailure<O extends string> {
  /** Discriminant. */
  ok: false;
  /** How the run ended. */
  outcome: O;
  /** What failed and what to check. */
  diagnosis: string;
  /** Set when the association was rejected. */
  reject?: RejectInfo;
}

/** An association ready for DIMSE messages. */
export interface OpenAssociation {
  /** Discriminant. */
  ok: true;
  /** The service layer's association. */
  assoc: Association;
  /** Its upper-layer association. */
  association: UlAssociation;
  /** The peer's answer. */
  ac: AssociateAcPdu;
  /** The contexts the peer accepted, in order. */
  contexts: AcceptedContext[];
  /** DIMSE messages over it. */
  channel: DimseChannel;
}

/** How {@link openAssociation} logs and judges. */
export interface OpenParams<F extends string> {
  /** Filled in as the steps complete. */
  timings: ScuTimings;
  /** Given the TLS details once a TLS connection is up. */
  result?: { tls?: TlsInfo };
  /** The diagnosis when the peer accepted none of the contexts (or one computed from its answer). */
  noContextDiagnosis: string | ((ac: AssociateAcPdu) => string);
  /** Level of the RQ/AC parameter dumps: debug, or info for storescu's `+v`. */
  dumpLevel?: "debug" | "info";
  /**
   * A further check of the answer before the association is used (storescu's
   * `-rsp`): a failure logs nothing itself; the association is aborted.
   */
  check?: (ac: AssociateAcPdu) => ScuFailure<F> | undefined;
  /** Services answering the requests the peer sends on the association (a C-GET's C-STOREs). */
  services?: readonly Service[];
}

const now = () => performance.now();

/** Milliseconds since `t`, to the microsecond. */
export const since = (t: number): number => Math.round((now() - t) * 1000) / 1000;

/**
 * Connects and requests the association through the service layer
 * (`requestWith`), with DCMTK's log lines (`Request Parameters:` dump,
 * `Requesting Association`, the reject or failure, `Association Parameters
 * Negotiated:`, `Association Accepted (Max Send PDV: n)`), worded here from
 * the layer's events and typed errors. Never throws for network or
 * protocol failures.
 */
export async function openAssociation<F extends string = never>(
  o: ScuOptions,
  rq: AssociateRqPdu,
  p: OpenParams<F>,
): Promise<OpenAssociation | ScuFailure<AssociationFailureOutcome | F>> {
  const log = o.logger;
  const dumpLevel = p.dumpLevel ?? "debug";
  const tlsWords: TlsWords | undefined = o.connect
    ? { ...await import("../../transport/tls_errors.ts"), ...await import("./tls_advice.ts") }
    : undefined;
  const dump: PduDump | undefined = log.isEnabled(dumpLevel) || log.isEnabled("debug")
    ? { ...await import("../../pdu/dump.ts"), ...await import("../../dicom/uid_names.ts") }
    : undefined;
  const fail = <T extends string>(outcome: T, diagnosis: string): ScuFailure<T> => ({
    ok: false,
    outcome,
    diagnosis,
  });
  let tAssoc: number | undefined;
  let tls: TlsInfo | undefined;
  let assoc: Association;
  try {
    assoc = await requestWith({ aeTitle: o.calledAeTitle, host: o.host, port: o.port }, rq, {
      family: o.family,
      maxSendPdu: o.maxSendPdu,
      timeouts: {
        connectMs: o.connectTimeoutMs,
        acseMs: o.acseTimeoutMs,
        dimseMs: o.dimseTimeoutMs,
        idleMs: o.socketTimeoutMs,
      },
      connect: o.connect && (() => o.connect!(o)),
      services: p.services,
      upperLayerLogger: log,
      onPdu: dump && pduLogger(log, dump.formatPduHeaderAndHex),
      onEvent: (e) => {
        switch (e.type) {
          case "requesting":
            if (log.isEnabled(dumpLevel)) {
              log[dumpLevel](
                `Request Parameters:\n${dumpParameters(dump!, "A-ASSOCIATE-RQ", rq, undefined, o)}`,
              );
            }
            log.info("Requesting Association");
            return;
          case "connected":
            p.timings.connectMs = round3(e.ms);
            tls = e.tls;
            if (tls && p.result) p.result.tls = tls;
            tAssoc = now();
            return;
          case "answered":
            p.timings.associateMs = round3(e.ms);
            if (log.isEnabled(dumpLevel)) {
              log[dumpLevel](
                `Association Parameters Negotiated:\n${
                  dumpParameters(dump!, "A-ASSOCIATE-AC", rq, e.ac, o)
                }`,
              );
            }
            return;
        }
      },
    });
  } catch (err) {
    if (tAssoc !== undefined && p.timings.associateMs === undefined) {
      p.timings.associateMs = since(tAssoc);
    }
    return establishmentFailure(err, o, rq, p, tls !== undefined, fail, tlsWords);
  }
  const ac = assoc.ac;
  const refused = p.check?.(ac);
  if (refused) {
    await assoc.abort();
    return refused;
  }
  log.info(`Association Accepted (Max Send PDV: ${assoc.maxSendPdv})`);
  return {
    ok: true,
    assoc,
    association: assoc.channel.association,
    ac,
    contexts: [...assoc.contexts],
    channel: assoc.channel,
  };
}

/** The lines and outcome of an association that could not be set up. */
function establishmentFailure<F extends string>(
  err: unknown,
  o: ScuOptions,
  rq: AssociateRqPdu,
  p: OpenParams<F>,
  overTls: boolean,
  fail: <T extends string>(outcome: T, diagnosis: string) => ScuFailure<T>,
  tlsWords: TlsWords | undefined,
): ScuFailure<AssociationFailureOutcome | F> {
  const log = o.logger;
  if (err instanceof ConnectFailed) {
    const denied = err.permission;
    if (denied) {
      // Deno refused: neither the host nor the port is at fault.
      log.fatal(`Association Request Failed: ${describePermission(denied)}`);
      return fail(
        "not-permitted",
        `${describePermission(denied)}: run deno with ${denied.flag} ` +
          '(README: "Install and run" lists each tool\'s flags)',
      );
    }
    const cause = err.cause as ConnectError;
    // DCMTK's words: "TLS error: ..." for a handshake failure.
    const overTlsError = tlsWords && cause instanceof tlsWords.TlsError ? cause : undefined;
    const layer = overTlsError ? "TLS error" : "TCP Initialization Error";
    log.fatal(
      `Association Request Failed: ${layer}: ${
        overTlsError ? tlsWords!.tlsMessage(overTlsError) : cause.message
      }`,
    );
    return fail("connect-failed", connectAdvice(cause, o, tlsWords));
  }
  if (err instanceof AssociationRejected) {
    const text = describeReject(err.rj);
    log.fatal(`Association Rejected:\n${text.join("\n")}`);
    const { result, source, reason } = err;
    return {
      ...fail(
        "rejected",
        explainReject(err.rj, { calling: o.callingAeTitle, called: o.calledAeTitle }),
      ),
      reject: { result, source, reason, text },
    };
  }
  if (err instanceof AssociationAborted) {
    // With an A-ABORT PDU the reason already reads "peer sent A-ABORT (source, reason)".
    log.fatal(`Association Request Failed: ${err.reason}`);
    return fail("association-failed", associationAdvice(err, overTls, rq, o));
  }
  if (err instanceof NoPresentationContext) {
    log.fatal("No Acceptable Presentation Contexts");
    const diagnosis = typeof p.noContextDiagnosis === "string"
      ? p.noContextDiagnosis
      : p.noContextDiagnosis(err.ac);
    return fail("no-presentation-context", diagnosis);
  }
  if (err instanceof ProtocolError && err.kind === "unusable-max-length") {
    // A peer maximum of 1..7 (PS3.8 D.1) leaves no room for a PDV (docs/SECURITY_CLASSES.md #10).
    log.fatal(`Association Request Failed: ${err.detail}`);
    return fail("association-failed", `the peer cannot receive any data: ${err.detail}`);
  }
  throw err;
}

/** Milliseconds to the microsecond. */
function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * Releases the association (or with --abort aborts it), DCMTK's lines;
 * returns a diagnosis when the release went wrong. The peer may have ended
 * the association first (an A-ABORT just after its last response) or asked
 * to release it itself: the first is reported like a release that failed,
 * the second answered (PS3.8 AR-4), as the release we wanted.
 */
export async function closeAssociation(
  assoc: Association,
  o: Pick<ScuOptions, "abort" | "logger">,
  timings: ScuTimings,
): Promise<string | undefined> {
  const log = o.logger;
  const t = now();
  if (o.abort) {
    log.info("Aborting Association");
    await assoc.abort();
  } else {
    log.info("Releasing Association");
    try {
      await assoc.release();
    } catch (err) {
      const reason = err instanceof AssociationAborted
        ? err.reason
        : err instanceof ProtocolError
        ? err.detail
        : (() => {
          throw err;
        })();
      log.fatal(`Association Release Failed: ${reason}`);
      return `the association ended badly during release: ${reason}`;
    }
  }
  timings.releaseMs = since(t);
  return undefined;
}

/** Why no response came: the outcome and the plain sentence. */
export interface ResponseFailure {
  /** Discriminant. */
  ok: false;
  /** `dimse-timeout` when -td expired, else `aborted` (the association is over). */
  outcome: "dimse-timeout" | "aborted";
  /** What happened instead of a response, for the operation's record. */
  statusText: string;
  /** What failed and what to check. */
  diagnosis: string;
}

/** How {@link operationFailure} names the operation in its lines. */
export interface ResponseWait {
  /** The request, for diagnoses: `C-ECHO`, `C-STORE`. */
  operation: string;
  /** The same in words: `echo`, `store`. */
  activity: string;
  /** Prefix of the error line, DCMTK's: `Echo Failed: ` or `Store Failed, file: f:\n`. */
  failedPrefix: string;
  /** -td; undefined waits for ever. */
  timeoutMs?: number;
}

/**
 * An operation of the service layer that ended without its response, worded
 * as DCMTK words it: the layer's typed error (a timeout, an abort, a
 * release request, a malformed or unexpected message) logged, and returned
 * as a {@link ResponseFailure}. The layer has already aborted the
 * association where it still stood. Anything else is rethrown.
 */
export function operationFailure(err: unknown, w: ResponseWait, log: Logger): ResponseFailure {
  const op = w.operation;
  const failed = (line: string) => log.error(`${w.failedPrefix}${line}`);
  const aborted = (outcome: ResponseFailure["outcome"], statusText: string, diagnosis: string) => {
    log.info("Aborting Association");
    return { ok: false as const, outcome, statusText, diagnosis };
  };
  if (err instanceof DimseTimeout) {
    const s = err.timeoutMs / 1000;
    failed(`DIMSE timeout after ${s} s`);
    return aborted(
      "dimse-timeout",
      "no response",
      `no ${op}-RSP within ${s} s (-td): the peer is overloaded or hung`,
    );
  }
  if (err instanceof AssociationAborted) {
    failed(err.reason);
    log.info("Peer Aborted Association");
    return {
      ok: false,
      outcome: "aborted",
      statusText: "aborted",
      diagnosis: `the association was aborted during the ${w.activity}: ${err.reason}` +
        (err.abort ? `: ${explainPeerAbort(err.abort, "operation")}` : ""),
    };
  }
  if (err instanceof ProtocolError) {
    switch (err.kind) {
      case "release-requested":
        log.fatal("Protocol Error: Peer requested release (Aborting)");
        return aborted(
          "aborted",
          "release requested",
          "the peer asked to release the association before answering",
        );
      case "malformed":
        failed(err.detail);
        return aborted(
          "aborted",
          "malformed message",
          `the peer sent a malformed DIMSE message: ${err.detail}`,
        );
      case "unexpected-message":
      case "unknown-message-id":
        failed(`unexpected ${err.detail} on the association`);
        return aborted(
          "aborted",
          "unexpected message",
          `the peer answered the ${op}-RQ with ${err.detail}`,
        );
      case "unexpected-event":
        failed(`unexpected ${err.detail} from the peer`);
        return aborted(
          "aborted",
          `unexpected ${err.detail}`,
          `the peer sent unexpected ${err.detail} instead of a ${op}-RSP`,
        );
    }
  }
  throw err;
}

function dumpParameters(
  { formatAssociateDump, uidName }: PduDump,
  kind: "A-ASSOCIATE-RQ" | "A-ASSOCIATE-AC",
  rq: AssociateRqPdu,
  ac: AssociateAcPdu | undefined,
  o: ScuOptions,
): string {
  return formatAssociateDump(kind, {
    rq,
    ac,
    we: "requestor",
    ourImplementationClassUid: IMPLEMENTATION_CLASS_UID,
    ourImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
    ourMaxPdu: o.maxPdu,
    uidName,
  });
}

function connectAdvice(err: ConnectError, o: ScuOptions, tlsWords: TlsWords | undefined): string {
  const where = `${o.host}:${o.port}`;
  if (tlsWords && err instanceof tlsWords.TlsError) {
    return `${tlsWords.tlsMessage(err)}; ${tlsWords.tlsAdvice(err)}`;
  }
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
    case "not-permitted":
    case "other":
      return `${err.message}: check the host and port`;
  }
}

/** DCMTK 3.6.7 takes at most this many transfer syntaxes in one context (DICOM_MAXTRANSFERSYNTAXES). */
const DCMTK_MAX_TRANSFER_SYNTAXES = 50;

function associationAdvice(
  outcome: { reason: string; abort?: AbortPdu },
  overTls: boolean,
  rq: AssociateRqPdu,
  o: ScuOptions,
): string {
  const reason = outcome.reason;
  if (/TLS alert/.test(reason)) {
    return "the peer answered with a TLS alert, not a DICOM PDU: it expects TLS on this port; " +
      "use +tls key cert or +tla, with +cf the CA of its certificate";
  }
  if (/looks like HTTP/.test(reason)) {
    return `port ${o.port} answers in HTTP, not DICOM: it is a web port (a PACS's web UI, ` +
      "REST or DICOMweb), not its DICOM port; use the DICOM port (often 104 or 11112)";
  }
  if (overTls && /closed/.test(reason)) {
    // TLS 1.3: the client's certificate is judged after the client's handshake is done.
    return "the peer closed the TLS connection without answering the A-ASSOCIATE-RQ: it may " +
      "refuse our certificate or require one (+tls key cert); check its log";
  }
  if (outcome.abort) {
    return `${reason}: ${explainPeerAbort(outcome.abort, "association", o.callingAeTitle)}`;
  }
  const silent = /closed/.test(reason) || /ARTIM|timeout/i.test(reason);
  const most = Math.max(...rq.presentationContexts.map((pc) => pc.transferSyntaxes.length));
  if (silent && most > DCMTK_MAX_TRANSFER_SYNTAXES) {
    // DCMTK 3.6.7 fails such a request and neither answers nor closes (issue 16).
    return `${reason}: the peer stayed silent after a request with ${most} transfer syntaxes in ` +
      `one presentation context; some peers (DCMTK 3.6.7: at most ` +
      `${DCMTK_MAX_TRANSFER_SYNTAXES}) drop such a request without answering: propose ` +
      `${DCMTK_MAX_TRANSFER_SYNTAXES} or fewer (-pts ${DCMTK_MAX_TRANSFER_SYNTAXES})`;
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
