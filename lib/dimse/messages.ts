/**
 * Typed DIMSE-C messages: C-ECHO (PS3.7 9.1.5, 9.3.5) and C-STORE
 * (PS3.7 9.1.1, 9.3.1), and their mapping to and from command sets.
 *
 * @module
 */

import { COMMAND_TAG as TAG, type CommandKeyword, type CommandSet, NO_DATASET } from "./command.ts";
import { DimseDecodeError, formatTag } from "./errors.ts";

/** CommandField (0000,0100) values of the supported messages (PS3.7 E.1). */
export const COMMAND_FIELD = {
  "C-STORE-RQ": 0x0001,
  "C-STORE-RSP": 0x8001,
  "C-ECHO-RQ": 0x0030,
  "C-ECHO-RSP": 0x8030,
} as const;

/** CommandDataSetType we send when a data set follows: any value but 0x0101 (PS3.7 E.1). */
export const DATASET_PRESENT = 0x0001;

/** Priority (0000,0700) values (PS3.7 9.1.1.1.4 and E.1). */
export const PRIORITY = { medium: 0x0000, high: 0x0001, low: 0x0002 } as const;

/** A Priority value. */
export type Priority = (typeof PRIORITY)[keyof typeof PRIORITY];

/** Status-related optional fields of every response (PS3.7 9.3.x.2, Annex C). */
export interface ResponseStatusFields {
  /** (0000,0900) Status. */
  status: number;
  /** (0000,0902) ErrorComment, free text with a failure (LO, at most 64 characters). */
  errorComment?: string;
  /** (0000,0903) ErrorID. */
  errorId?: number;
  /** (0000,0901) OffendingElement: the tags at fault, as `(group << 16) | element`. */
  offendingElement?: number[];
}

/** C-ECHO-RQ (PS3.7 9.3.5.1): no data set. */
export interface CEchoRq {
  /** Message discriminant. */
  type: "C-ECHO-RQ";
  /** (0000,0110) MessageID. */
  messageId: number;
  /** (0000,0002) AffectedSOPClassUID, the Verification SOP Class. */
  affectedSopClassUid: string;
}

/** C-ECHO-RSP (PS3.7 9.3.5.2): no data set. */
export interface CEchoRsp extends ResponseStatusFields {
  /** Message discriminant. */
  type: "C-ECHO-RSP";
  /** (0000,0120) MessageIDBeingRespondedTo. */
  messageIdBeingRespondedTo: number;
  /** (0000,0002) AffectedSOPClassUID, U(=) in PS3.7 Table 9.3-13. */
  affectedSopClassUid?: string;
}

/** C-STORE-RQ (PS3.7 9.3.1.1): always followed by the data set to store. */
export interface CStoreRq {
  /** Message discriminant. */
  type: "C-STORE-RQ";
  /** (0000,0110) MessageID. */
  messageId: number;
  /** (0000,0002) AffectedSOPClassUID. */
  affectedSopClassUid: string;
  /** (0000,1000) AffectedSOPInstanceUID. */
  affectedSopInstanceUid: string;
  /** (0000,0700) Priority. */
  priority: Priority;
  /** (0000,1030) MoveOriginatorApplicationEntityTitle, when sent for a C-MOVE. */
  moveOriginatorAeTitle?: string;
  /** (0000,1031) MoveOriginatorMessageID, when sent for a C-MOVE. */
  moveOriginatorMessageId?: number;
}

/** C-STORE-RSP (PS3.7 9.3.1.2): no data set. */
export interface CStoreRsp extends ResponseStatusFields {
  /** Message discriminant. */
  type: "C-STORE-RSP";
  /** (0000,0120) MessageIDBeingRespondedTo. */
  messageIdBeingRespondedTo: number;
  /** (0000,0002) AffectedSOPClassUID, U(=). */
  affectedSopClassUid?: string;
  /** (0000,1000) AffectedSOPInstanceUID, U(=). */
  affectedSopInstanceUid?: string;
}

/** Every supported DIMSE message, as a closed union on `type`. */
export type DimseMessage = CEchoRq | CEchoRsp | CStoreRq | CStoreRsp;

/** The message type names. */
export type DimseMessageType = DimseMessage["type"];

/** Whether a data set follows this message's command set (PS3.7 9.3.1.1, E.1). */
export function hasDataset(msg: DimseMessage): boolean {
  return msg.type === "C-STORE-RQ";
}

/** The response fields shared by C-ECHO-RSP and C-STORE-RSP, in command set form. */
function statusElements(msg: ResponseStatusFields): CommandSet {
  return {
    Status: msg.status,
    OffendingElement: msg.offendingElement,
    ErrorComment: msg.errorComment,
    ErrorID: msg.errorId,
  };
}

/**
 * The command set of a message (PS3.7 9.3): CommandField and
 * CommandDataSetType are derived from the message type, optional fields are
 * present only when set.
 */
export function messageToCommandSet(msg: DimseMessage): CommandSet {
  const elements = allElements(msg);
  for (const key of Object.keys(elements) as (keyof CommandSet)[]) {
    if (elements[key] === undefined) delete elements[key];
  }
  return elements;
}

/** Every element of the message's command set, unset optional ones as undefined. */
function allElements(msg: DimseMessage): CommandSet {
  const common = {
    CommandField: COMMAND_FIELD[msg.type],
    CommandDataSetType: hasDataset(msg) ? DATASET_PRESENT : NO_DATASET,
  };
  switch (msg.type) {
    case "C-ECHO-RQ":
      return { ...common, AffectedSOPClassUID: msg.affectedSopClassUid, MessageID: msg.messageId };
    case "C-ECHO-RSP":
      return {
        ...common,
        ...statusElements(msg),
        AffectedSOPClassUID: msg.affectedSopClassUid,
        MessageIDBeingRespondedTo: msg.messageIdBeingRespondedTo,
      };
    case "C-STORE-RQ":
      return {
        ...common,
        AffectedSOPClassUID: msg.affectedSopClassUid,
        MessageID: msg.messageId,
        Priority: msg.priority,
        AffectedSOPInstanceUID: msg.affectedSopInstanceUid,
        MoveOriginatorApplicationEntityTitle: msg.moveOriginatorAeTitle,
        MoveOriginatorMessageID: msg.moveOriginatorMessageId,
      };
    case "C-STORE-RSP":
      return {
        ...common,
        ...statusElements(msg),
        AffectedSOPClassUID: msg.affectedSopClassUid,
        MessageIDBeingRespondedTo: msg.messageIdBeingRespondedTo,
        AffectedSOPInstanceUID: msg.affectedSopInstanceUid,
      };
  }
}

/** Reads mandatory elements of one command set, naming the message type in errors. */
class MandatoryReader {
  constructor(
    private readonly cmd: CommandSet,
    private readonly type: DimseMessageType,
  ) {}

  /** The value of a mandatory element; empty strings count as missing (Type 1). */
  get<K extends CommandKeyword>(keyword: K): NonNullable<CommandSet[K]> {
    const value = this.cmd[keyword];
    if (value === undefined || value === "") {
      throw new DimseDecodeError(
        "missing-element",
        `${this.type} without ${formatTag(TAG[keyword])} ${keyword}`,
        { tag: TAG[keyword], commandField: this.cmd.CommandField, messageId: this.cmd.MessageID },
      );
    }
    return value as NonNullable<CommandSet[K]>;
  }
}

/**
 * The typed message of a decoded command set, with the mandatory elements of
 * its type checked (PS3.7 9.3.1, 9.3.5):
 *
 * - unknown CommandField: `unknown-command`, carrying the raw command field
 *   and message id so that the caller can answer (PS3.7 C.5.4, 0x0211);
 * - a mandatory element absent or empty: `missing-element`, naming it;
 * - CommandDataSetType contradicting the message type (a data set with a
 *   C-ECHO, none with a C-STORE-RQ) or a Priority not in PS3.7 9.1.1.1.4:
 *   `bad-value`.
 *
 * @throws DimseDecodeError
 */
export function commandSetToMessage(cmd: CommandSet): DimseMessage {
  const field = cmd.CommandField;
  if (field === undefined) {
    throw new DimseDecodeError(
      "missing-element",
      `command set without ${formatTag(TAG.CommandField)} CommandField`,
      { tag: TAG.CommandField, messageId: cmd.MessageID },
    );
  }
  const type = (Object.keys(COMMAND_FIELD) as DimseMessageType[]).find((t) =>
    COMMAND_FIELD[t] === field
  );
  if (type === undefined) {
    throw new DimseDecodeError(
      "unknown-command",
      `unsupported CommandField 0x${field.toString(16).toUpperCase().padStart(4, "0")}`,
      { tag: TAG.CommandField, commandField: field, messageId: cmd.MessageID },
    );
  }
  const read = new MandatoryReader(cmd, type);
  const dataSetType = read.get("CommandDataSetType");
  const withDataset = type === "C-STORE-RQ";
  if ((dataSetType !== NO_DATASET) !== withDataset) {
    throw new DimseDecodeError(
      "bad-value",
      `${type} with CommandDataSetType 0x${
        dataSetType.toString(16).toUpperCase().padStart(4, "0")
      }: ${withDataset ? "a data set must follow" : "no data set may follow"}`,
      { tag: TAG.CommandDataSetType, commandField: field, messageId: cmd.MessageID },
    );
  }
  const status = (): ResponseStatusFields => ({
    status: read.get("Status"),
    ...(cmd.ErrorComment !== undefined && { errorComment: cmd.ErrorComment }),
    ...(cmd.ErrorID !== undefined && { errorId: cmd.ErrorID }),
    ...(cmd.OffendingElement !== undefined && { offendingElement: cmd.OffendingElement }),
  });
  switch (type) {
    case "C-ECHO-RQ":
      return {
        type,
        messageId: read.get("MessageID"),
        affectedSopClassUid: read.get("AffectedSOPClassUID"),
      };
    case "C-ECHO-RSP":
      return {
        type,
        messageIdBeingRespondedTo: read.get("MessageIDBeingRespondedTo"),
        ...(cmd.AffectedSOPClassUID !== undefined &&
          { affectedSopClassUid: cmd.AffectedSOPClassUID }),
        ...status(),
      };
    case "C-STORE-RQ": {
      const priority = read.get("Priority");
      if (!(Object.values(PRIORITY) as number[]).includes(priority)) {
        throw new DimseDecodeError(
          "bad-value",
          `C-STORE-RQ with Priority ${priority}: expected 0 (medium), 1 (high) or 2 (low)`,
          { tag: TAG.Priority, commandField: field, messageId: cmd.MessageID },
        );
      }
      return {
        type,
        messageId: read.get("MessageID"),
        affectedSopClassUid: read.get("AffectedSOPClassUID"),
        affectedSopInstanceUid: read.get("AffectedSOPInstanceUID"),
        priority: priority as Priority,
        ...(cmd.MoveOriginatorApplicationEntityTitle !== undefined &&
          { moveOriginatorAeTitle: cmd.MoveOriginatorApplicationEntityTitle }),
        ...(cmd.MoveOriginatorMessageID !== undefined &&
          { moveOriginatorMessageId: cmd.MoveOriginatorMessageID }),
      };
    }
    case "C-STORE-RSP":
      return {
        type,
        messageIdBeingRespondedTo: read.get("MessageIDBeingRespondedTo"),
        ...(cmd.AffectedSOPClassUID !== undefined &&
          { affectedSopClassUid: cmd.AffectedSOPClassUID }),
        ...(cmd.AffectedSOPInstanceUID !== undefined &&
          { affectedSopInstanceUid: cmd.AffectedSOPInstanceUID }),
        ...status(),
      };
  }
}
