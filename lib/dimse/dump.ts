/**
 * DCMTK-style DIMSE message dumps, as `storescp -d` / `storescu -d` print
 * them (DCMTK 3.6.7, dcmnet `DIMSE_dumpMessage`): users' scripts read these
 * blocks, so labels, padding and rulers are reproduced exactly.
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
}

const RULERS: Record<DumpDirection, string> = {
  INCOMING: "===================== INCOMING DIMSE MESSAGE ====================",
  OUTGOING: "===================== OUTGOING DIMSE MESSAGE ====================",
};
const END_RULER = "======================= END DIMSE MESSAGE =======================";

/** DCMTK's label column: 30 characters, then `: `. */
function line(label: string, value: string | number): string {
  return `${label.padEnd(30)}: ${value}`;
}

/** DCMTK's `DIMSE Status` value: lower-case hex (C++ `std::hex`), colon, meaning. */
function statusText(code: number, service: StatusService): string {
  return `0x${code.toString(16).padStart(4, "0")}: ${statusMeaning(code, service)}`;
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
      lines.push(
        line("Message ID Being Responded To", msg.messageIdBeingRespondedTo),
        line("Affected SOP Class UID", uid(msg.affectedSopClassUid)),
        dataSet,
        line("DIMSE Status", statusText(msg.status, "C-ECHO")),
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
  }
  lines.push(END_RULER);
  return lines.join("\n");
}
