/**
 * dimse-deno: DICOM networking for Deno. The upper layer protocol (PS3.8),
 * DIMSE (PS3.7) and the Verification service as SCU and SCP.
 *
 * ```ts
 * import { createLogger, runEchoScu } from "./mod.ts";
 * const r = await runEchoScu({
 *   host: "127.0.0.1", port: 104, family: "ipv4",
 *   callingAeTitle: "ECHOSCU", calledAeTitle: "ANY-SCP",
 *   proposeTs: 1, proposePc: 1, maxPdu: 16384,
 *   acseTimeoutMs: 30_000, socketTimeoutMs: 60_000, repeat: 1, abort: false,
 *   logger: createLogger({ level: "info" }),
 * });
 * console.log(r.outcome, r.echoes[0]?.roundTripMs);
 * ```
 *
 * @module
 */

export type * from "./lib/pdu/types.ts";
export { ABORT_REASON, DICOM_APPLICATION_CONTEXT, ITEM_TYPE, PDU_TYPE } from "./lib/pdu/types.ts";
export { decodePdu, encodePdu } from "./lib/pdu/codec.ts";
export { PDATA_OVERHEAD, PDataFrame } from "./lib/pdu/pdata.ts";
export { PduDecodeError } from "./lib/pdu/errors.ts";
export { DEFAULT_PDU_LIMITS, type PduLimits, PduReader, type ReadPdu } from "./lib/pdu/reader.ts";
export {
  type AssociateDumpParams,
  formatAssociateDump,
  formatPduHeaderAndHex,
} from "./lib/pdu/dump.ts";

export {
  type ActionDef,
  type ActionName,
  type Decision,
  type Event,
  type EventDef,
  type EventOrigin,
  EVENTS,
  type NextState,
  type Row as Table910Row,
  type State,
  STATES,
  TABLE_9_10,
  type Transition,
  transition,
} from "./lib/ul/state_machine.ts";
export {
  type AbortOptions,
  type AbortSource,
  acceptAssociation,
  type AcceptResult,
  type AssociateDecision,
  type Association,
  requestAssociation,
  type RequestResult,
  type UlIndication,
  type UlLogger,
  type UlOptions,
  UlUsageError,
} from "./lib/ul/association.ts";

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
} from "./lib/dimse/command.ts";
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
} from "./lib/dimse/messages.ts";
export {
  formatStatus,
  type QueryRetrieveService,
  type StatusCategory,
  statusCategory,
  statusLogText,
  statusMeaning,
  type StatusService,
} from "./lib/dimse/status.ts";
export {
  type AssemblyEvent,
  type CommandEvent,
  type DataEvent,
  fragmentMessage,
  maxPdvDataLength,
  MessageAssembler,
} from "./lib/dimse/fragment.ts";
export {
  DimseDecodeError,
  type DimseDecodeErrorCode,
  type DimseDecodeErrorDetails,
} from "./lib/dimse/errors.ts";

export type {
  ConnectionGate,
  ConnectionPlace,
  Endpoint,
  Transport,
  TransportListener,
} from "./lib/transport/transport.ts";
export {
  ConnectError,
  connectTcp,
  type IpFamily,
  listenTcp,
  type TcpConnectOptions,
} from "./lib/transport/tcp.ts";
export {
  checkPermission,
  describePermission,
  type MissingPermission,
  missingPermission,
  PermissionError,
  type PermissionNeed,
} from "./lib/util/permission.ts";
export {
  connectTls,
  type CrlCheck,
  listenTls,
  loadTlsCredentials,
  type PeerVerification,
  type RevocationList,
  type TlsConnectOptions,
  type TlsCredentials,
  TlsError,
  type TlsFailureKind,
  type TlsInfo,
  type TlsListenOptions,
  type TlsProfile,
  type TlsSettings,
  TlsTransport,
  type TlsVersion,
} from "./lib/transport/tls.ts";
export {
  type CertificateVerdict,
  checkRootCertificate,
  verifyCertificateFile,
} from "./lib/transport/tls_verify.ts";

export {
  type ChannelEvent,
  type ChannelOptions,
  DimseChannel,
  type SlowTransfer,
  type TransferFloor,
} from "./lib/net/dimse_channel.ts";
export {
  type AssociationHooks,
  ConnectionBudget,
  type ConnectionLimits,
  type DescriptorLimit,
  descriptorsNeeded,
  type OverloadEnd,
  type OverloadStart,
  readDescriptorLimit,
  type RefusedBy,
  type ResolvedLimits,
  resolveLimits,
} from "./lib/net/budget.ts";
export {
  type AcceptedContext,
  type AcceptorPolicy,
  answerAssociateRq,
  buildAssociateRq,
  type LocalAe,
  preferredTransferSyntaxes,
  type RequestParams,
  type TransferSyntaxPreference,
} from "./lib/net/negotiation.ts";
export { describeReject, explainReject } from "./lib/net/diagnose.ts";
export {
  type EchoOutcome,
  type EchoResponse,
  type EchoResult,
  type EchoScuOptions,
  runEchoScu,
} from "./lib/net/echo_scu.ts";
export { echoHandler, verificationPolicy } from "./lib/net/echo_scp.ts";
export {
  type AssociationFailureOutcome,
  closeAssociation,
  type OpenAssociation,
  openAssociation,
  type OpenParams,
  receiveResponse,
  type RejectInfo,
  type ResponseFailure,
  type ResponseWait,
  type ScuFailure,
  type ScuOptions,
  type ScuResult,
  type ScuTimings,
} from "./lib/net/scu.ts";
export {
  canTravelIn,
  chooseContext,
  type ContextChoice,
  DEFAULT_PROPOSAL,
  type LeftOut,
  type Negotiated,
  noAcceptedContextAdvice,
  PROPOSAL_OPTIONS,
  type ProposalFile,
  type ProposalOption,
  type ProposalParams,
  storageContexts,
  type StorageProposal,
  TooManyContextsError,
} from "./lib/net/store_contexts.ts";
export {
  collectInputFiles,
  type InputScan,
  type InventOptions,
  runStoreScu,
  type StoreFate,
  type StoreOutcome,
  type StoreRecord,
  type StoreResult,
  type StoreScuDefaults,
  storeScuDefaults,
  type StoreScuOptions,
  type StoreSummary,
} from "./lib/net/store_scu.ts";
export {
  DENO_FILE_SINK,
  type FileSink,
  type SinkFile,
  staleParts,
  type StalePartsEvent,
  storagePolicy,
  STORE_STATUS,
  type StoreEvent,
  storeHandler,
  type StoreScpOptions,
  type StoreScpSyntaxChoice,
  storeScpTransferSyntaxes,
  WriteBufferPool,
} from "./lib/net/store_scp.ts";
export {
  type AssociationSummary,
  type AssociationTally,
  type CommandHandler,
  DicomServer,
  type RequestContext,
  type RequestInterrupted,
  type ServerEvent,
  type ServerLogStyle,
  type ServerOptions,
  type ServerTotals,
  type TlsConnectionInfo,
} from "./lib/net/server.ts";

export {
  ambiguousVrEntries,
  type DictEntry,
  formatTag,
  lookupTag,
  tagKeyword,
  tagVr,
} from "./lib/dicom/dictionary.ts";
export { resolveVr, type VrContext, VrResolver } from "./lib/dicom/multi_vr.ts";
export {
  isStorageSopClass,
  type SopClassInfo,
  sopClassModality,
  STORAGE_SOP_CLASSES,
  STORESCU_DEFAULT_SOP_CLASSES,
} from "./lib/dicom/sop_classes.ts";
export {
  isNativeUncompressed,
  type Layout as DatasetLayout,
  type TsEncoding,
  tsEncoding,
} from "./lib/dicom/transfer_syntax.ts";
export {
  DatasetParser,
  type DatasetToken,
  type ElementToken,
  type EncapsulatedToken,
  type FragmentToken,
  type ItemEndToken,
  type ItemStartToken,
  type ParserLimits,
  type SequenceEndToken,
  type SequenceToken,
  type ValueToken,
} from "./lib/dicom/parser.ts";
export {
  type Dataset,
  datasetDifferences,
  decodeDataset,
  type Element,
  encodeDataset,
  type EncodeOptions,
  stringValue,
} from "./lib/dicom/dataset.ts";
export { transcodeDataset, type TranscodeOptions } from "./lib/dicom/transcode.ts";
export {
  type ChunkOptions,
  DatasetReader,
  decodeFileMeta,
  type DicomFileInfo,
  encodeFileMeta,
  type FileMeta,
  type InputFormat,
  inspectDicomFile,
  type InspectLimits,
  openDataset,
  OpenDicomFile,
  openDicomFile,
  readDatasetChunks,
} from "./lib/dicom/part10.ts";
export { DicomFileError, DicomParseError, type DicomParseErrorCode } from "./lib/dicom/errors.ts";
export {
  type Attribute,
  attribute,
  type AttributeLimits,
  type Attributes,
  type AttributeValue,
  decodeAttributes,
  decodeAttributesFile,
  type DecodeAttributesOptions,
  DEFAULT_ATTRIBUTE_LIMITS,
  encodeAttributes,
  findAttribute,
  setAttribute,
  stringValues,
} from "./lib/dicom/attributes.ts";
export { type DatasetFormatOptions, formatAttributes, formatDataset } from "./lib/dicom/dump.ts";
export {
  applyQueryKeys,
  type KeyStep,
  parseQueryKey,
  queryFromKeys,
  type QueryKey,
  QueryKeyError,
} from "./lib/dicom/query_keys.ts";
export { keywordTag } from "./lib/dicom/keywords.ts";
export {
  CHARSET_VRS,
  CharsetError,
  type CharsetErrorCode,
  type CharsetProblemHandler,
  SpecificCharacterSet,
} from "./lib/dicom/charset.ts";
export { TopLevelWatcher } from "./lib/dicom/watcher.ts";
export { newUid } from "./lib/util/uid.ts";

export {
  type Appender,
  createLogger,
  type CreateLoggerOptions,
  type Layout,
  type Logger,
  type LogLevel,
  type LogRecord,
  type LogThreshold,
} from "./lib/log/logger.ts";
export {
  ECHO_TRANSFER_SYNTAXES,
  QUERY_RETRIEVE_SOP_CLASSES,
  TRANSFER_SYNTAXES,
  type TransferSyntaxInfo,
  transferSyntaxName,
  uidName,
  VERIFICATION_SOP_CLASS,
} from "./lib/dicom/uids.ts";
export { isValidUid } from "./lib/util/uid.ts";
export {
  IMPLEMENTATION_CLASS_UID,
  IMPLEMENTATION_VERSION_NAME,
  VERSION,
} from "./lib/util/version.ts";
