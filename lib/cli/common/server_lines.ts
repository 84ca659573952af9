/**
 * The association lines of the SCP tools, worded from the server's
 * incidents: pynetdicom's for echoscp, DCMTK's storescp for storescp
 * (`Association Acknowledged (Max Send PDV: n)`, `Association Release`),
 * which users of those tools' logs expect. The service layer reports the
 * incidents; the tool engine says them, once.
 *
 * @module
 */
import type { ServerIncident } from "../../ae/server.ts";
import type { Logger } from "../../log/logger.ts";
import type { AssociateAcPdu, AssociateRqPdu } from "../../pdu/types.ts";
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from "../../util/version.ts";
import { describeReject } from "../../ul/reasons.ts";
import { pduLogger } from "./pdu_log.ts";

/** Whose words: pynetdicom's echoscp, or DCMTK's storescp. */
export type ServerLogStyle = "pynetdicom" | "dcmtk";

/** The association lines that differ between the two styles. */
const WORDING: Record<ServerLogStyle, { released: string; peerAborted: string }> = {
  pynetdicom: { released: "Association Released", peerAborted: "Association Aborted (by peer)" },
  dcmtk: { released: "Association Release", peerAborted: "Association Aborted" },
};

/**
 * The `-d` dumps (lib/pdu/dump.ts) and the UID names they print (with the storage SOP class
 * table): loaded by {@link loadServerDumps} only for a server whose log shows them.
 */
export type ServerDumps =
  & typeof import("../../pdu/dump.ts")
  & typeof import("../../dicom/uid_names.ts");

/** The level of the A-ASSOCIATE-RQ/AC dumps: DCMTK's +v shows them at info. */
function dumpLevelOf(style: ServerLogStyle, o: { showPresentationContexts?: boolean }) {
  return style === "dcmtk" && o.showPresentationContexts ? "info" : "debug";
}

/** Whether a server of `style` logging to `log` shows any dump (see {@link toolReporter}). */
function showsDumps(
  style: ServerLogStyle,
  log: Logger,
  o: { showPresentationContexts?: boolean },
): boolean {
  return log.isEnabled(dumpLevelOf(style, o)) || log.isEnabled("debug");
}

/** The dumps a server of `style` logging to `log` shows, loaded; undefined when it shows none. */
export async function loadServerDumps(
  style: ServerLogStyle,
  log: Logger,
  o: { showPresentationContexts?: boolean } = {},
): Promise<ServerDumps | undefined> {
  if (!showsDumps(style, log, o)) return undefined;
  return { ...await import("../../pdu/dump.ts"), ...await import("../../dicom/uid_names.ts") };
}

/** The reason of an association ended to make room (the budget's eviction), as the server says it. */
const EVICTED = "closed to make room: its peer was quiet while the server was full";

/**
 * The server's `report` for a tool: each incident logged as that tool
 * logs it. `showPresentationContexts`: DCMTK's +v, the A-ASSOCIATE-RQ/AC
 * dumps at info rather than debug level (DCMTK style only). `dumps`: what
 * {@link loadServerDumps} loaded, needed when the log shows them.
 */
export function toolReporter(
  style: ServerLogStyle,
  log: Logger,
  o: { showPresentationContexts?: boolean } = {},
  dumps?: ServerDumps,
): (i: ServerIncident) => void {
  const dcmtk = style === "dcmtk";
  const dumpLevel = dumpLevelOf(style, o);
  if (!dumps && showsDumps(style, log, o)) {
    throw new TypeError(
      "toolReporter: the log shows dumps, but none were loaded (loadServerDumps)",
    );
  }
  const dump = (
    kind: "A-ASSOCIATE-RQ" | "A-ASSOCIATE-AC",
    rq: AssociateRqPdu,
    ourMaxPdu: number,
    ac?: AssociateAcPdu,
  ) =>
    dumps!.formatAssociateDump(kind, {
      rq,
      ac,
      we: "acceptor",
      ourImplementationClassUid: IMPLEMENTATION_CLASS_UID,
      ourImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
      ourMaxPdu,
      uidName: dumps!.uidName,
    });
  return (i) => {
    switch (i.kind) {
      case "received":
        log.info("Association Received");
        if (log.isEnabled(dumpLevel)) {
          log[dumpLevel](
            `${dcmtk ? "" : "Request "}Parameters:\n${dump("A-ASSOCIATE-RQ", i.rq, i.ourMaxPdu)}`,
          );
        }
        return;
      case "answering":
        // DCMTK dumps the AC after its "Association Acknowledged" line.
        if (!dcmtk && log.isEnabled("debug")) {
          log.debug(`Accept Parameters:\n${dump("A-ASSOCIATE-AC", i.rq, i.ourMaxPdu, i.ac)}`);
        }
        return;
      case "rejected":
        log.info(
          i.refused ??
            (i.unusable !== undefined
              ? `Association Rejected: ${i.unusable}`
              : `Association Rejected: ${describeReject(i.rj).join(", ")}`),
        );
        return;
      case "aborted-while-negotiating":
        // The peer's own A-ABORT is its choice; anything else (a PDU out of turn, such as
        // P-DATA sent with the A-ASSOCIATE-RQ before our answer) is a protocol error.
        if (i.source === "peer") log.info(`Association Aborted: ${i.reason}`);
        else log.error(`Association Aborted (${i.peer}): ${i.reason}`);
        return;
      case "closed-silently":
        log.debug(`Connection from ${i.peer} closed without a PDU`);
        return;
      case "request-failed":
        log.error(`Association Request Failed (${i.peer}): ${i.reason}`);
        return;
      case "accepted":
        if (dcmtk) {
          log.info(`Association Acknowledged (Max Send PDV: ${i.maxSendPdv})`);
          if (i.contexts.length === 0) log.info("    (but no valid presentation contexts)");
          if (log.isEnabled(dumpLevel)) {
            log[dumpLevel](dump("A-ASSOCIATE-AC", i.rq, i.ourMaxPdu, i.ac));
          }
          // DCMTK's dump has no line for it (it never grants one): ours, after the dump.
          const granted = i.ac.userInformation.asynchronousOperationsWindow;
          if (granted) {
            log.info(
              "Asynchronous Operations Window: requested " +
                `${i.rq.userInformation.asynchronousOperationsWindow!.maxOperationsInvoked}, ` +
                `granted ${granted.maxOperationsInvoked} outstanding operations`,
            );
          }
        } else {
          log.info("Association Accepted");
        }
        return;
      case "ending":
        log[i.error ? "error" : "info"](i.reason);
        log.info("Aborting Association");
        return;
      case "aborting":
        log.info("Aborting Association");
        return;
      case "released":
        log.info(WORDING[style].released);
        return;
      case "aborted":
        // A protocol error, a timeout or a lost connection is an error; the peer's
        // A-ABORT and our own (server stopping) are not.
        if (i.source === "peer") log.info(WORDING[style].peerAborted);
        else if (i.reason === EVICTED) log.info(`Association Aborted (${i.peer}): ${i.reason}`);
        else if (i.source === "local") log.info(`Association Aborted (${i.reason})`);
        else log.error(`Association Aborted (${i.peer}): ${i.reason}`);
        return;
    }
  };
}

/**
 * The server options a tool's words come from: its reporter and DCMTK's -d PDU lines (none
 * without dumps: every line of {@link pduLogger} is at debug or trace level).
 */
export function toolServerOptions(
  style: ServerLogStyle,
  log: Logger,
  o: { showPresentationContexts?: boolean } = {},
  dumps?: ServerDumps,
): { report: (i: ServerIncident) => void; onPdu?: ReturnType<typeof pduLogger> } {
  return {
    report: toolReporter(style, log, o, dumps),
    onPdu: dumps && pduLogger(log, dumps.formatPduHeaderAndHex),
  };
}
