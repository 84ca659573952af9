/**
 * Typed DIMSE-C messages (PS3.7 9.1, 9.3): C-STORE, C-FIND, C-GET, C-MOVE,
 * C-ECHO and C-CANCEL, and their mapping to and from command sets.
 *
 * Whether a data set follows a message's command set is part of the
 * message: always for the requests that carry one (C-STORE-RQ, and the
 * Identifier of C-FIND-RQ, C-GET-RQ, C-MOVE-RQ), never for C-ECHO,
 * C-STORE-RSP and C-CANCEL-RQ, and said by `datasetPresent` for the
 * responses whose Identifier is conditional (C-FIND-RSP, C-GET-RSP,
 * C-MOVE-RSP): see {@linkcode DATASET_RULE}.
 *
 * @module
 */

import {
  COMMAND_TAG as TAG,
  type CommandKeyword,
  commandOrder,
  type CommandSet,
  type CommandSetLimits,
  commandSetWithId,
  type CommandValue,
  commandValueOffset,
  decodeCommandSet,
  DEFAULT_MAX_COMMAND_SET_LENGTH,
  encodeCommandSetInOrder,
  NO_DATASET,
} from "./command.ts";
import { DimseDecodeError, formatTag } from "./errors.ts";

/** CommandField (0000,0100) values of the supported messages (PS3.7 E.1). */
export const COMMAND_FIELD = {
  "C-STORE-RQ": 0x0001,
  "C-STORE-RSP": 0x8001,
  "C-GET-RQ": 0x0010,
  "C-GET-RSP": 0x8010,
  "C-FIND-RQ": 0x0020,
  "C-FIND-RSP": 0x8020,
  "C-MOVE-RQ": 0x0021,
  "C-MOVE-RSP": 0x8021,
  "C-ECHO-RQ": 0x0030,
  "C-ECHO-RSP": 0x8030,
  "C-CANCEL-RQ": 0x0fff,
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

/**
 * The sub-operation counts of C-GET-RSP and C-MOVE-RSP (PS3.7 9.3.3.2,
 * 9.3.4.2, elements (0000,1020)-(0000,1023)); each is optional on the wire
 * (PS3.4 C.4.2.3.1, C.4.3.3.1: a final response may leave them out).
 */
export interface SuboperationCounts {
  /** (0000,1020) NumberOfRemainingSuboperations. */
  remainingSuboperations?: number;
  /** (0000,1021) NumberOfCompletedSuboperations. */
  completedSuboperations?: number;
  /** (0000,1022) NumberOfFailedSuboperations. */
  failedSuboperations?: number;
  /** (0000,1023) NumberOfWarningSuboperations. */
  warningSuboperations?: number;
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

/** C-FIND-RQ (PS3.7 9.3.2.1): always followed by the Identifier (the query keys). */
export interface CFindRq {
  /** Message discriminant. */
  type: "C-FIND-RQ";
  /** (0000,0110) MessageID. */
  messageId: number;
  /** (0000,0002) AffectedSOPClassUID: the information model (PS3.4 C.6). */
  affectedSopClassUid: string;
  /** (0000,0700) Priority. */
  priority: Priority;
}

/**
 * C-FIND-RSP (PS3.7 9.3.2.2): a pending response carries one match as its
 * Identifier; the final one normally none (PS3.4 C.4.1.3.1).
 */
export interface CFindRsp extends ResponseStatusFields {
  /** Message discriminant. */
  type: "C-FIND-RSP";
  /** (0000,0120) MessageIDBeingRespondedTo. */
  messageIdBeingRespondedTo: number;
  /** (0000,0002) AffectedSOPClassUID, U(=). */
  affectedSopClassUid?: string;
  /** An Identifier follows (CommandDataSetType other than 0x0101); absent means none. */
  datasetPresent?: boolean;
}

/** C-GET-RQ (PS3.7 9.3.3.1): always followed by the Identifier of what to retrieve. */
export interface CGetRq {
  /** Message discriminant. */
  type: "C-GET-RQ";
  /** (0000,0110) MessageID. */
  messageId: number;
  /** (0000,0002) AffectedSOPClassUID: the information model (PS3.4 C.6). */
  affectedSopClassUid: string;
  /** (0000,0700) Priority. */
  priority: Priority;
}

/**
 * C-GET-RSP (PS3.7 9.3.3.2): sub-operation counts; an Identifier (the
 * Failed SOP Instance UID List, PS3.4 C.4.3.1.3.1) may follow a final
 * response that reports failures.
 */
export interface CGetRsp extends ResponseStatusFields, SuboperationCounts {
  /** Message discriminant. */
  type: "C-GET-RSP";
  /** (0000,0120) MessageIDBeingRespondedTo. */
  messageIdBeingRespondedTo: number;
  /** (0000,0002) AffectedSOPClassUID, U(=). */
  affectedSopClassUid?: string;
  /** An Identifier follows (CommandDataSetType other than 0x0101); absent means none. */
  datasetPresent?: boolean;
}

/** C-MOVE-RQ (PS3.7 9.3.4.1): always followed by the Identifier of what to move. */
export interface CMoveRq {
  /** Message discriminant. */
  type: "C-MOVE-RQ";
  /** (0000,0110) MessageID. */
  messageId: number;
  /** (0000,0002) AffectedSOPClassUID: the information model (PS3.4 C.6). */
  affectedSopClassUid: string;
  /** (0000,0700) Priority. */
  priority: Priority;
  /** (0000,0600) MoveDestination: the AE title the SCP sends the instances to. */
  moveDestination: string;
}

/**
 * C-MOVE-RSP (PS3.7 9.3.4.2): sub-operation counts; an Identifier (the
 * Failed SOP Instance UID List, PS3.4 C.4.2.1.3.1) may follow a final
 * response that reports failures.
 */
export interface CMoveRsp extends ResponseStatusFields, SuboperationCounts {
  /** Message discriminant. */
  type: "C-MOVE-RSP";
  /** (0000,0120) MessageIDBeingRespondedTo. */
  messageIdBeingRespondedTo: number;
  /** (0000,0002) AffectedSOPClassUID, U(=). */
  affectedSopClassUid?: string;
  /** An Identifier follows (CommandDataSetType other than 0x0101); absent means none. */
  datasetPresent?: boolean;
}

/**
 * C-CANCEL-RQ (PS3.7 9.3.2.3, 9.3.3.3, 9.3.4.3): cancels the C-FIND,
 * C-GET or C-MOVE whose MessageID it names; no data set, no response of
 * its own.
 */
export interface CCancelRq {
  /** Message discriminant. */
  type: "C-CANCEL-RQ";
  /** (0000,0120) MessageIDBeingRespondedTo: the request to cancel. */
  messageIdBeingRespondedTo: number;
}

/** Every supported DIMSE message, as a closed union on `type`. */
export type DimseMessage =
  | CEchoRq
  | CEchoRsp
  | CStoreRq
  | CStoreRsp
  | CFindRq
  | CFindRsp
  | CGetRq
  | CGetRsp
  | CMoveRq
  | CMoveRsp
  | CCancelRq;

/** The message type names. */
export type DimseMessageType = DimseMessage["type"];

/**
 * Whether a data set follows the command set of a message type (PS3.7 9.3,
 * the Data Set / Identifier rows of each table): `always` (M), `never`
 * (no data set defined), or `optional` (C or U: the message says, in
 * `datasetPresent`).
 */
export type DatasetRule = "always" | "never" | "optional";

/** The {@linkcode DatasetRule} of every message type (PS3.7 Tables 9.3-1 to 9.3-13). */
export const DATASET_RULE: Readonly<Record<DimseMessageType, DatasetRule>> = {
  "C-STORE-RQ": "always",
  "C-STORE-RSP": "never",
  "C-GET-RQ": "always",
  "C-GET-RSP": "optional",
  "C-FIND-RQ": "always",
  "C-FIND-RSP": "optional",
  "C-MOVE-RQ": "always",
  "C-MOVE-RSP": "optional",
  "C-ECHO-RQ": "never",
  "C-ECHO-RSP": "never",
  "C-CANCEL-RQ": "never",
};

/** Whether a data set follows this message's command set (PS3.7 9.3, E.1). */
export function hasDataset(msg: DimseMessage): boolean {
  const rule = DATASET_RULE[msg.type];
  return rule === "always" || (rule === "optional" && "datasetPresent" in msg &&
    msg.datasetPresent === true);
}

/**
 * The command set of a message (PS3.7 9.3): CommandField and
 * CommandDataSetType are derived from the message, optional fields are
 * present only when set.
 */
export function messageToCommandSet(msg: DimseMessage): CommandSet {
  const elements = allElements(msg);
  for (const key of Object.keys(elements) as (keyof CommandSet)[]) {
    if (elements[key] === undefined) delete elements[key];
  }
  return elements;
}

/**
 * What is kept per message type for {@link encodeMessage}: the encoding order
 * of its elements ({@link allElements} gives every message of a type the same
 * keys, so they are found and sorted once per type, not per message), and
 * the last set encoded, which a message that differs from it only in its
 * message ID reuses (every echo and its response, every response of a
 * C-FIND or C-MOVE in a row).
 */
interface TypeEncoding {
  order: Uint8Array;
  /** The message ID's keyword: MessageID, or MessageIDBeingRespondedTo (responses, C-CANCEL). */
  idKeyword: string;
  /** The other keys of the type's sets. */
  others: readonly string[];
  /** The last set encoded (at most 1 KiB), its elements and where its ID's value lies. */
  last?: { elements: CommandElements; bytes: Uint8Array; idAt: number };
}
type CommandElements = Record<string, CommandValue | undefined>;
const ENCODING_BY_TYPE = new Map<DimseMessageType, TypeEncoding>();

/** Command sets up to this size are kept to be reused (see TypeEncoding). */
const REUSED_MAX = 1024;

/**
 * The encoded command set of a message: the bytes of
 * `encodeCommandSet(messageToCommandSet(msg))`, without the intermediate
 * set's unset fields deleted and its keys sorted for every message (each
 * message sent passes here). A message like the last of its type but for its
 * message ID is the last one's bytes with the ID written over (never the
 * same memory: each result is its own, in memory shared with other command
 * sets and never written again; see `encodeCommandSetInOrder`).
 *
 * @throws TypeError or RangeError if a value does not fit its VR.
 */
export function encodeMessage(msg: DimseMessage): Uint8Array {
  const elements = allElements(msg) as CommandElements;
  let t = ENCODING_BY_TYPE.get(msg.type);
  if (t === undefined) {
    const keys = Object.keys(elements);
    const idKeyword = "MessageID" in elements ? "MessageID" : "MessageIDBeingRespondedTo";
    t = { order: commandOrder(keys), idKeyword, others: keys.filter((k) => k !== idKeyword) };
    ENCODING_BY_TYPE.set(msg.type, t);
  }
  const id = elements[t.idKeyword];
  // A US value (PS3.5 Table 6.2-1): an integer 0..0xFFFF.
  const usId = typeof id === "number" && Number.isInteger(id) && id >= 0 && id <= 0xffff;
  const last = t.last;
  if (last !== undefined && usId) {
    // The same as the last set but for the ID: strings and numbers only (a list, such as an
    // OffendingElement, may have changed since it was encoded, so it never counts as the same).
    // Checked here, not in a function of its own: every message sent passes here.
    const others = t.others;
    let same = true;
    for (let i = 0; i < others.length && same; i++) {
      const v = elements[others[i]];
      same = v === last.elements[others[i]] && typeof v !== "object";
    }
    if (same) return commandSetWithId(last.bytes, last.idAt, id);
  }
  const bytes = encodeCommandSetInOrder(elements as CommandSet, t.order);
  if (bytes.length > REUSED_MAX || !usId) return bytes;
  const idAt = commandValueOffset(bytes, TAG[t.idKeyword as CommandKeyword]);
  if (idAt < 0) return bytes;
  // Kept as it was encoded: the caller gets a copy, which it may change without changing
  // the sets of later messages.
  t.last = { elements, bytes, idAt };
  return commandSetWithId(bytes, idAt, id);
}

/**
 * Every element of the message's command set, unset optional ones as undefined. Written out
 * per type, not spread from shared parts: every message sent passes here, and a spread copies
 * property by property in the runtime (see withPresent).
 */
function allElements(msg: DimseMessage): CommandSet {
  const CommandField = COMMAND_FIELD[msg.type];
  const CommandDataSetType = hasDataset(msg) ? DATASET_PRESENT : NO_DATASET;
  switch (msg.type) {
    case "C-ECHO-RQ":
      return {
        CommandField,
        CommandDataSetType,
        AffectedSOPClassUID: msg.affectedSopClassUid,
        MessageID: msg.messageId,
      };
    case "C-FIND-RQ":
    case "C-GET-RQ":
      return {
        CommandField,
        CommandDataSetType,
        AffectedSOPClassUID: msg.affectedSopClassUid,
        MessageID: msg.messageId,
        Priority: msg.priority,
      };
    case "C-MOVE-RQ":
      return {
        CommandField,
        CommandDataSetType,
        AffectedSOPClassUID: msg.affectedSopClassUid,
        MessageID: msg.messageId,
        Priority: msg.priority,
        MoveDestination: msg.moveDestination,
      };
    case "C-ECHO-RSP":
    case "C-FIND-RSP":
      return {
        CommandField,
        CommandDataSetType,
        Status: msg.status,
        OffendingElement: msg.offendingElement,
        ErrorComment: msg.errorComment,
        ErrorID: msg.errorId,
        AffectedSOPClassUID: msg.affectedSopClassUid,
        MessageIDBeingRespondedTo: msg.messageIdBeingRespondedTo,
      };
    case "C-GET-RSP":
    case "C-MOVE-RSP":
      return {
        CommandField,
        CommandDataSetType,
        Status: msg.status,
        OffendingElement: msg.offendingElement,
        ErrorComment: msg.errorComment,
        ErrorID: msg.errorId,
        NumberOfRemainingSuboperations: msg.remainingSuboperations,
        NumberOfCompletedSuboperations: msg.completedSuboperations,
        NumberOfFailedSuboperations: msg.failedSuboperations,
        NumberOfWarningSuboperations: msg.warningSuboperations,
        AffectedSOPClassUID: msg.affectedSopClassUid,
        MessageIDBeingRespondedTo: msg.messageIdBeingRespondedTo,
      };
    case "C-STORE-RQ":
      return {
        CommandField,
        CommandDataSetType,
        AffectedSOPClassUID: msg.affectedSopClassUid,
        MessageID: msg.messageId,
        Priority: msg.priority,
        AffectedSOPInstanceUID: msg.affectedSopInstanceUid,
        MoveOriginatorApplicationEntityTitle: msg.moveOriginatorAeTitle,
        MoveOriginatorMessageID: msg.moveOriginatorMessageId,
      };
    case "C-STORE-RSP":
      return {
        CommandField,
        CommandDataSetType,
        Status: msg.status,
        OffendingElement: msg.offendingElement,
        ErrorComment: msg.errorComment,
        ErrorID: msg.errorId,
        AffectedSOPClassUID: msg.affectedSopClassUid,
        MessageIDBeingRespondedTo: msg.messageIdBeingRespondedTo,
        AffectedSOPInstanceUID: msg.affectedSopInstanceUid,
      };
    case "C-CANCEL-RQ":
      return {
        CommandField,
        CommandDataSetType,
        MessageIDBeingRespondedTo: msg.messageIdBeingRespondedTo,
      };
  }
}

/**
 * The value of a mandatory element of `cmd`, a `type` message; empty strings count as missing
 * (Type 1). A function, not an object per message: every message received passes here.
 */
function mandatory<K extends CommandKeyword>(
  cmd: CommandSet,
  type: DimseMessageType,
  keyword: K,
): NonNullable<CommandSet[K]> {
  const value = cmd[keyword];
  if (value === undefined || value === "") {
    throw new DimseDecodeError(
      "missing-element",
      `${type} without ${formatTag(TAG[keyword])} ${keyword}`,
      { tag: TAG[keyword], commandField: cmd.CommandField, messageId: cmd.MessageID },
    );
  }
  return value as NonNullable<CommandSet[K]>;
}

/** The mandatory Priority of `cmd`, checked against PS3.7 9.1.1.1.4. */
function priorityOf(cmd: CommandSet, type: DimseMessageType): Priority {
  const priority = mandatory(cmd, type, "Priority");
  if (priority !== PRIORITY.medium && priority !== PRIORITY.high && priority !== PRIORITY.low) {
    throw new DimseDecodeError(
      "bad-value",
      `${type} with Priority ${priority}: expected 0 (medium), 1 (high) or 2 (low)`,
      { tag: TAG.Priority, commandField: cmd.CommandField, messageId: cmd.MessageID },
    );
  }
  return priority;
}

/** The message type of each CommandField value (PS3.7 E.1). */
const TYPE_BY_FIELD: ReadonlyMap<number, DimseMessageType> = new Map(
  (Object.keys(COMMAND_FIELD) as DimseMessageType[]).map((t) => [COMMAND_FIELD[t], t]),
);

/**
 * `m` with the optional fields of `cmd` that are present added, renamed to
 * message fields. Added to the message itself, not spread from an object of
 * their own: a spread copies property by property in the runtime (a
 * C-ECHO-RSP's message took 125-230 ns warm and 2.2-3.3 us interpreted with
 * spreads, 80-90 ns and 1.7 us without).
 */
function withPresent<T extends object, const M extends Record<string, CommandKeyword>>(
  m: T,
  cmd: CommandSet,
  fields: M,
): T & { [F in keyof M]?: NonNullable<CommandSet[M[F]]> } {
  const out = m as Record<string, unknown>;
  for (const field in fields) {
    const value = cmd[fields[field]];
    if (value !== undefined) out[field] = value;
  }
  return m as T & { [F in keyof M]?: NonNullable<CommandSet[M[F]]> };
}

// The optional fields of the messages and their elements, for `withPresent`.
const COUNT_FIELDS = {
  remainingSuboperations: "NumberOfRemainingSuboperations",
  completedSuboperations: "NumberOfCompletedSuboperations",
  failedSuboperations: "NumberOfFailedSuboperations",
  warningSuboperations: "NumberOfWarningSuboperations",
} as const;
const MOVE_ORIGINATOR_FIELDS = {
  moveOriginatorAeTitle: "MoveOriginatorApplicationEntityTitle",
  moveOriginatorMessageId: "MoveOriginatorMessageID",
} as const;

/**
 * The typed message of a decoded command set, with the mandatory elements of
 * its type checked (PS3.7 9.3):
 *
 * - unknown CommandField: `unknown-command`, carrying the raw command field
 *   and message id so that the caller can answer (PS3.7 C.5.4, 0x0211);
 * - a mandatory element absent or empty: `missing-element`, naming it;
 * - CommandDataSetType contradicting the message type (a data set with a
 *   C-ECHO or a C-CANCEL-RQ, none with a C-STORE-RQ or the Identifier of a
 *   C-FIND-RQ) or a Priority not in PS3.7 9.1.1.1.4: `bad-value`.
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
  const type = TYPE_BY_FIELD.get(field);
  if (type === undefined) {
    throw new DimseDecodeError(
      "unknown-command",
      `unsupported CommandField 0x${field.toString(16).toUpperCase().padStart(4, "0")}`,
      { tag: TAG.CommandField, commandField: field, messageId: cmd.MessageID },
    );
  }
  const dataSetType = mandatory(cmd, type, "CommandDataSetType");
  const withDataset = dataSetType !== NO_DATASET;
  const rule = DATASET_RULE[type];
  if (rule !== "optional" && withDataset !== (rule === "always")) {
    throw new DimseDecodeError(
      "bad-value",
      `${type} with CommandDataSetType 0x${
        dataSetType.toString(16).toUpperCase().padStart(4, "0")
      }: ${rule === "always" ? "a data set must follow" : "no data set may follow"}`,
      { tag: TAG.CommandDataSetType, commandField: field, messageId: cmd.MessageID },
    );
  }
  // Every message received passes here: no closure, field map or reader object is made per
  // message, and a response's fields are taken in the order of its type's interface.
  switch (type) {
    case "C-ECHO-RQ":
      return {
        type,
        messageId: mandatory(cmd, type, "MessageID"),
        affectedSopClassUid: mandatory(cmd, type, "AffectedSOPClassUID"),
      };
    case "C-STORE-RQ": {
      const m = {
        type,
        messageId: mandatory(cmd, type, "MessageID"),
        affectedSopClassUid: mandatory(cmd, type, "AffectedSOPClassUID"),
        affectedSopInstanceUid: mandatory(cmd, type, "AffectedSOPInstanceUID"),
        priority: priorityOf(cmd, type),
      };
      return withPresent(m, cmd, MOVE_ORIGINATOR_FIELDS);
    }
    case "C-FIND-RQ":
    case "C-GET-RQ":
      return {
        type,
        messageId: mandatory(cmd, type, "MessageID"),
        affectedSopClassUid: mandatory(cmd, type, "AffectedSOPClassUID"),
        priority: priorityOf(cmd, type),
      };
    case "C-MOVE-RQ":
      return {
        type,
        messageId: mandatory(cmd, type, "MessageID"),
        affectedSopClassUid: mandatory(cmd, type, "AffectedSOPClassUID"),
        priority: priorityOf(cmd, type),
        moveDestination: mandatory(cmd, type, "MoveDestination"),
      };
    case "C-CANCEL-RQ":
      return { type, messageIdBeingRespondedTo: mandatory(cmd, type, "MessageIDBeingRespondedTo") };
  }
  // A response (PS3.7 9.3): the request it answers, its SOP class (and instance) when
  // present, the mandatory Status, the optional status fields.
  const m: Record<string, unknown> = {
    type,
    messageIdBeingRespondedTo: mandatory(cmd, type, "MessageIDBeingRespondedTo"),
  };
  if (cmd.AffectedSOPClassUID !== undefined) m.affectedSopClassUid = cmd.AffectedSOPClassUID;
  if (type === "C-STORE-RSP" && cmd.AffectedSOPInstanceUID !== undefined) {
    m.affectedSopInstanceUid = cmd.AffectedSOPInstanceUID;
  }
  m.status = mandatory(cmd, type, "Status");
  // The status fields (PS3.7 C.4) written out, not through withPresent: every response passes
  // here, and a function called only for some messages is one compile fewer per process.
  if (cmd.ErrorComment !== undefined) m.errorComment = cmd.ErrorComment;
  if (cmd.ErrorID !== undefined) m.errorId = cmd.ErrorID;
  if (cmd.OffendingElement !== undefined) m.offendingElement = cmd.OffendingElement;
  if (type === "C-GET-RSP" || type === "C-MOVE-RSP") withPresent(m, cmd, COUNT_FIELDS);
  if (withDataset && rule === "optional") m.datasetPresent = true;
  return m as unknown as DimseMessage;
}

/**
 * A received command set decoded: the set, and its message or why it is
 * none (see {@link decodeMessage}).
 */
export type DecodedCommand =
  | { commandSet: CommandSet; message: DimseMessage; error?: undefined }
  | { commandSet: CommandSet; message?: undefined; error: DimseDecodeError };

/**
 * The last command set {@link decodeMessage} made a message of, its bytes
 * copied, where its message ID's value lies (a US, PS3.7 E.1), and what it
 * decoded to.
 */
interface LastDecoded {
  bytes: Uint8Array;
  idAt: number;
  idKeyword: "MessageID" | "MessageIDBeingRespondedTo";
  commandSet: CommandSet;
  message: DimseMessage;
}
let lastDecoded: LastDecoded | undefined;

/**
 * `decodeCommandSet(bytes, limits)` and, when that decodes, the message
 * of `commandSetToMessage` (its error returned, not thrown, with the set).
 * A set whose bytes are the last one's but for the message ID (every echo
 * and its response, the responses of a C-FIND in a row) is that one's set
 * and message again, copies with the new ID, not decoded again: decoding
 * is a function of the bytes, and every message received passes here. Each
 * result is its own objects.
 *
 * @throws DimseDecodeError as `decodeCommandSet`.
 */
export function decodeMessage(
  bytes: Uint8Array,
  limits: Partial<CommandSetLimits> = {},
): DecodedCommand {
  const last = lastDecoded;
  if (
    last !== undefined && bytes.length === last.bytes.length &&
    bytes.length <= (limits.maxLength ?? DEFAULT_MAX_COMMAND_SET_LENGTH)
  ) {
    // Compared here, not in a function of its own: every message received passes here.
    const was = last.bytes;
    const idAt = last.idAt;
    let i = 0;
    while (i < idAt && bytes[i] === was[i]) i++;
    if (i === idAt) {
      i += 2;
      while (i < bytes.length && bytes[i] === was[i]) i++;
    }
    if (i === bytes.length) {
      const id = bytes[idAt] | (bytes[idAt + 1] << 8);
      const commandSet: CommandSet = { ...last.commandSet };
      const message = { ...last.message } as Record<string, unknown>;
      if (last.idKeyword === "MessageID") {
        commandSet.MessageID = id;
        message.messageId = id;
      } else {
        commandSet.MessageIDBeingRespondedTo = id;
        message.messageIdBeingRespondedTo = id;
      }
      return { commandSet, message: message as unknown as DimseMessage };
    }
  }
  const commandSet = decodeCommandSet(bytes, limits);
  let message: DimseMessage;
  try {
    message = commandSetToMessage(commandSet);
  } catch (error) {
    if (!(error instanceof DimseDecodeError)) throw error;
    return { commandSet, error };
  }
  remember(bytes, commandSet, message);
  return { commandSet, message };
}

/**
 * Keeps a set decoded and its message for {@link decodeMessage}: sets of
 * at most 1 KiB whose values are all numbers or strings (a copy would share
 * a list such as OffendingElement with its original, so a set with one is
 * not kept), and that name no SOP instance: the next C-STORE-RQ or -RSP
 * names another, so keeping one would only add copies to every store.
 */
function remember(bytes: Uint8Array, commandSet: CommandSet, message: DimseMessage): void {
  if (bytes.length > REUSED_MAX || commandSet.AffectedSOPInstanceUID !== undefined) return;
  const set = commandSet as Record<string, CommandValue>;
  for (const key in set) if (typeof set[key] === "object") return;
  const idKeyword = "messageId" in message ? "MessageID" : "MessageIDBeingRespondedTo";
  const idAt = commandValueOffset(bytes, TAG[idKeyword]);
  if (idAt < 0) return;
  // Copies: the caller gets the originals, and may change them.
  lastDecoded = {
    bytes: bytes.slice(),
    idAt,
    idKeyword,
    commandSet: { ...commandSet },
    message: { ...message },
  };
}
