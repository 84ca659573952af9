/**
 * DCMTK-style DIMSE message dumps, as `storescp -d`, `storescu -d`,
 * `findscu -d`, `movescu -d` and `getscu -d` print them (DCMTK 3.6.7,
 * dcmnet `DIMSE_dumpMessage`): users' scripts read these blocks, so labels,
 * padding and rulers are reproduced exactly.
 *
 * @module
 */

import { type DimseMessage, hasDataset, PRIORITY } from "./messages.ts";
import { statusMeaning, type StatusService } from "./status.ts";

/** Whether we received or are sending the message. */
export type DumpDirection = "INCOMING" | "OUTGOING";

/** Options of {@linkcode dumpMessage}. */
export interface DumpOptions {
  /**
   * The presentation context ID; its line is left out when not given (as
   * DCMTK does when it passes 0, e.g. for an outgoing C-STORE-RQ).
   */
  contextId?: number;
  /**
   * Name of a UID for display (DCMTK prints `VerificationSOPClass` rather
   * than `1.2.840.10008.1.1`); the UID itself is printed when it returns
   * undefined or no lookup is given.
   */
  uidName?: (uid: string) => string | undefined;
  /**
   * The message's data set, as lines (a formatted identifier): printed after
   * a dashed ruler before the end ruler, as DCMTK does when it dumps a
   * message together with its data set (getscu's C-GET RQ).
   */
  dataset?: readonly string[];
}

const RULERS: Record<DumpDirection, string> = {
  INCOMING: "===================== INCOMING DIMSE MESSAGE ====================",
  OUTGOING: "===================== OUTGOING DIMSE MESSAGE ====================",
};
const END_RULER = "======================= END DIMSE MESSAGE =======================";
const DATASET_RULER = "-".repeat(65);

/** DCMTK's label column: 30 characters, then `: `. */
function line(label: string, value: string | number): string {
  return `${label.padEnd(30)}: ${value}`;
}

/** DCMTK's `DIMSE Status` value: lower-case hex (C++ `std::hex`), colon, meaning. */
function statusText(code: number, service: StatusService): string {
  return `0x${code.toString(16).padStart(4, "0")}: ${statusMeaning(code, service)}`;
}

/** A sub-operation count, or `none` when the response left it out. */
function count(value: number | undefined): string | number {
  return value ?? "none";
}

/** DCMTK's priority names; other values print empty, as DCMTK's switch does. */
function priorityText(priority: number): string {
  const names: Record<number, string> = {
    [PRIORITY.low]: "low",
    [PRIORITY.medium]: "medium",
    [PRIORITY.high]: "high",
  };
  return names[priority] ?? "";
}

/**
 * The dump of one message, lines joined with `\n`, without a trailing newline
 * (the logger adds its `D: ` prefix per line).
 */
export function dumpMessage(
  msg: DimseMessage,
  direction: DumpDirection,
  options: DumpOptions = {},
): string {
  const uid = (value: string | undefined) =>
    value === undefined ? "none" : (options.uidName?.(value) ?? value);
  const lines = [RULERS[direction]];
  lines.push(line("Message Type", msg.type.replace(/-(RQ|RSP)$/, " $1")));
  if (options.contextId !== undefined && options.contextId > 0) {
    lines.push(line("Presentation Context ID", options.contextId));
  }
  const dataSet = line("Data Set", hasDataset(msg) ? "present" : "none");
  switch (msg.type) {
    case "C-ECHO-RQ":
      lines.push(line("Message ID", msg.messageId), dataSet);
      break;
    case "C-ECHO-RSP":
    case "C-FIND-RSP":
      lines.push(
        line("Message ID Being Responded To", msg.messageIdBeingRespondedTo),
        line("Affected SOP Class UID", uid(msg.affectedSopClassUid)),
        dataSet,
        line(
          "DIMSE Status",
          statusText(msg.status, msg.type === "C-ECHO-RSP" ? "C-ECHO" : "C-FIND"),
        ),
      );
      break;
    case "C-STORE-RQ":
      lines.push(
        line("Message ID", msg.messageId),
        line("Affected SOP Class UID", uid(msg.affectedSopClassUid)),
        line("Affected SOP Instance UID", msg.affectedSopInstanceUid),
        dataSet,
        line("Priority", priorityText(msg.priority)),
      );
      if (msg.moveOriginatorAeTitle !== undefined) {
        lines.push(line("Move Originator AE Title", msg.moveOriginatorAeTitle));
      }
      if (msg.moveOriginatorMessageId !== undefined) {
        lines.push(line("Move Originator ID", msg.moveOriginatorMessageId));
      }
      break;
    case "C-STORE-RSP":
      lines.push(
        line("Message ID Being Responded To", msg.messageIdBeingRespondedTo),
        line("Affected SOP Class UID", uid(msg.affectedSopClassUid)),
        line("Affected SOP Instance UID", msg.affectedSopInstanceUid ?? "none"),
        dataSet,
        line("DIMSE Status", statusText(msg.status, "C-STORE")),
      );
      break;
    case "C-FIND-RQ":
    case "C-GET-RQ":
    case "C-MOVE-RQ":
      lines.push(
        line("Message ID", msg.messageId),
        line("Affected SOP Class UID", uid(msg.affectedSopClassUid)),
        dataSet,
        line("Priority", priorityText(msg.priority)),
      );
      if (msg.type === "C-MOVE-RQ") lines.push(line("Move Destination", msg.moveDestination));
      break;
    case "C-GET-RSP":
    case "C-MOVE-RSP":
      lines.push(
        line("Message ID Being Responded To", msg.messageIdBeingRespondedTo),
        line("Affected SOP Class UID", uid(msg.affectedSopClassUid)),
        line("Remaining Suboperations", count(msg.remainingSuboperations)),
        line("Completed Suboperations", count(msg.completedSuboperations)),
        line("Failed Suboperations", count(msg.failedSuboperations)),
        line("Warning Suboperations", count(msg.warningSuboperations)),
        dataSet,
        line("DIMSE Status", statusText(msg.status, msg.type === "C-GET-RSP" ? "C-GET" : "C-MOVE")),
      );
      break;
    case "C-CANCEL-RQ":
      // DCMTK's tools never print this one; its layout is that of the responses.
      lines.push(line("Message ID Being Responded To", msg.messageIdBeingRespondedTo), dataSet);
      break;
  }
  if (options.dataset !== undefined) lines.push(DATASET_RULER, ...options.dataset);
  lines.push(END_RULER);
  return lines.join("\n");
}
