/**
 * DIMSE (PS3.7): command sets, the messages of every service, fragmentation into PDVs and reassembly, statuses.
 *
 * @module
 */
export {
  COMMAND_DICTIONARY,
  type CommandDictionaryEntry,
  type CommandElementDef,
  type CommandKeyword,
  type CommandSet,
  type CommandSetLimits,
  type CommandValueOf,
  type CommandVr,
  decodeCommandSet,
  encodeCommandSet,
} from "./command.ts";
export {
  type CCancelRq,
  type CEchoRq,
  type CEchoRsp,
  type CFindRq,
  type CFindRsp,
  type CGetRq,
  type CGetRsp,
  type CMoveRq,
  type CMoveRsp,
  COMMAND_FIELD,
  commandSetToMessage,
  type CStoreRq,
  type CStoreRsp,
  DATASET_RULE,
  type DatasetRule,
  type DimseMessage,
  type DimseMessageType,
  hasDataset,
  messageToCommandSet,
  PRIORITY,
  type Priority,
  type ResponseStatusFields,
  type SuboperationCounts,
} from "./messages.ts";
export {
  formatStatus,
  type QueryRetrieveService,
  type StatusCategory,
  statusCategory,
  statusLogText,
  statusMeaning,
  type StatusService,
} from "./status.ts";
export {
  type AssemblyEvent,
  type CommandEvent,
  type DataEvent,
  fragmentMessage,
  maxPdvDataLength,
  MessageAssembler,
} from "./fragment.ts";
export {
  DimseDecodeError,
  type DimseDecodeErrorCode,
  type DimseDecodeErrorDetails,
} from "./errors.ts";
export type { PDataTfPdu } from "../pdu/types.ts";
export type { Pdv } from "../pdu/types.ts";
