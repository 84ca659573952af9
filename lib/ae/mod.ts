/**
 * The service layer: DICOM application entities as a program uses them.
 * `associate()` opens an association and returns one with `echo()`,
 * `store()`, a multi-response `request()`, `release()` and `abort()`;
 * `find()`, `move()` and `get()` (also methods of the association) query
 * and retrieve, with `qrContexts()` for what to propose;
 * `serve()` accepts associations for composable services
 * (`verification()`, `storage()`, `multiResponse()`); typed errors say
 * what went wrong. Nothing here knows a command line: the tools are built
 * on it.
 *
 * ```ts ignore
 * import { associate } from "@dimse-deno/dimse/ae";
 * await using assoc = await associate("ANY-SCP@127.0.0.1:104");
 * console.log((await assoc.echo()).status);
 * ```
 *
 * @module
 */
export {
  associate,
  type AssociateEvent,
  type AssociateOptions,
  type ContextProposal,
  DEFAULT_CALLING_AE_TITLE,
  parseAddress,
  type PeerAddress,
  proposedWindow,
  requestWith,
  type Timeouts,
} from "./associate.ts";
export {
  Association,
  type AssociationEvent,
  type AssociationSetup,
  type OperationOptions,
  type Response,
  type StoreOptions,
  type StoreSource,
} from "./association.ts";
export { storageContextsFor, type StorageItem } from "./contexts.ts";
export {
  type EncodedIdentifier,
  find,
  type FindResponse,
  get,
  move,
  type MoveOptions,
  type QrContextOptions,
  qrContexts,
  type QrOperation,
  type QrOptions,
  type QrResponseBase,
  QUERY_MODELS,
  type QueryModel,
  type QueryModelInfo,
  type RetrieveResponse,
  sopClassOf,
  type Suboperations,
  suboperations,
} from "./qr.ts";
export { ChunkQueue, DatasetInterrupted } from "./chunks.ts";
export {
  AssociationAborted,
  AssociationRejected,
  ConnectFailed,
  DatasetSourceFailed,
  DicomNetworkError,
  DimseError,
  DimseTimeout,
  NoPresentationContext,
  ProtocolError,
  type ProtocolErrorKind,
} from "./errors.ts";
export { serve, type ServeOptions } from "./serve.ts";
export {
  type AssociationSummary,
  type AssociationTally,
  type CommandHandler,
  DicomServer,
  type EndingCause,
  endingText,
  neutralReporter,
  type RequestContext as ServerRequestContext,
  type RequestInterrupted,
  type ServerEvent,
  type ServerIncident,
  type ServerOptions,
  type ServerTotals,
  slowText,
  type TlsConnectionInfo,
} from "./server.ts";
export {
  type AssociationInfo,
  CANCELLED,
  dispatchRequest,
  type HandlerResult,
  multiResponse,
  type Reply,
  type RequestContext,
  responseTo,
  type Service,
  type ServiceRequest,
  singleResponse,
  type StatusResult,
} from "./service.ts";
export {
  fileStore,
  type FileStoreOptions,
  storage,
  type StorageOptions,
  STORE_STATUS,
  type StoreContext,
  type StoreHandler,
  UNCOMPRESSED_TRANSFER_SYNTAXES,
  verification,
  type VerificationOptions,
} from "./services.ts";
export {
  childPath,
  DEFAULT_BUFFER_TOTAL,
  DEFAULT_WRITE_BATCH,
  DENO_FILE_SINK,
  type FileSink,
  isSafeNamePart,
  PartFile,
  type SinkFile,
  WriteBufferPool,
} from "./file_store.ts";
export {
  type ChannelEvent,
  type ChannelOptions,
  DimseChannel,
  type OutgoingDataset,
  SEND_WINDOW,
  type SlowTransfer,
  type TransferFloor,
} from "./channel.ts";
export {
  type AcceptedContext,
  acceptedContexts,
  type AcceptorPolicy,
  answerAssociateRq,
  answerAsyncWindow,
  answerRoles,
  buildAssociateRq,
  type LocalAe,
  negotiatedAsyncWindow,
  negotiatedRoles,
  PC_RESULT,
  preferredTransferSyntaxes,
  REJECT,
  repeatedContexts,
  type RequestParams,
  type TransferSyntaxPreference,
} from "./negotiation.ts";
export {
  ConnectionBudget,
  type ConnectionLimits,
  type OverloadEnd,
  type OverloadStart,
  resolveLimits,
} from "./budget.ts";
export type { AbortPdu } from "../pdu/types.ts";
export type { AbortSource } from "../ul/association.ts";
export type { AssociateAcPdu } from "../pdu/types.ts";
export type { AssociateRjPdu } from "../pdu/types.ts";
export type { AssociateRqPdu } from "../pdu/types.ts";
export type { AssociationHooks } from "./budget.ts";
export type { CEchoRsp } from "../dimse/messages.ts";
export type { CStoreRq } from "../dimse/messages.ts";
export type { CStoreRsp } from "../dimse/messages.ts";
export type { ConnectionGate } from "../transport/transport.ts";
export type { ConnectionPlace } from "../transport/transport.ts";
export type { DimseMessage } from "../dimse/messages.ts";
export type { DimseMessageType } from "../dimse/messages.ts";
export type { Endpoint } from "../transport/transport.ts";
export type { IpFamily } from "../transport/tcp.ts";
export type { Logger } from "../log/logger.ts";
export type { MissingPermission } from "../util/permission.ts";
export type { Pdu } from "../pdu/types.ts";
export type { PresentationContextRq } from "../pdu/types.ts";
export type { Priority } from "../dimse/messages.ts";
export type { RefusedBy } from "./budget.ts";
export type { ResolvedLimits } from "./budget.ts";
export type { RoleSelection } from "../pdu/types.ts";
export type { TlsCredentials } from "../transport/tls.ts";
export type { TlsFailureKind } from "../transport/tls_errors.ts";
export type { TlsInfo } from "../transport/tls.ts";
export type { TlsSettings } from "../transport/tls.ts";
export type { Transport } from "../transport/transport.ts";
export type { TransportListener } from "../transport/transport.ts";
export type { UlLogger } from "../ul/association.ts";
export type { UserIdentityRq } from "../pdu/types.ts";
export type { AssociateCommon } from "../pdu/types.ts";
export type { CCancelRq } from "../dimse/messages.ts";
export type { CEchoRq } from "../dimse/messages.ts";
export type { CFindRq } from "../dimse/messages.ts";
export type { CFindRsp } from "../dimse/messages.ts";
export type { CGetRq } from "../dimse/messages.ts";
export type { CGetRsp } from "../dimse/messages.ts";
export type { CMoveRq } from "../dimse/messages.ts";
export type { CMoveRsp } from "../dimse/messages.ts";
export type { CrlCheck } from "../transport/crl.ts";
export type { LogLevel } from "../log/logger.ts";
export type { PDataTfPdu } from "../pdu/types.ts";
export type { PRIORITY } from "../dimse/messages.ts";
export type { PeerVerification } from "../transport/tls.ts";
export type { PresentationContextAc } from "../pdu/types.ts";
export type { ReleaseRpPdu } from "../pdu/types.ts";
export type { ReleaseRqPdu } from "../pdu/types.ts";
export type { ResponseStatusFields } from "../dimse/messages.ts";
export type { RevocationList } from "../transport/crl.ts";
export type { TlsProfile } from "../transport/tls_profiles.ts";
export type { TlsVersion } from "../transport/tls_profiles.ts";
export type { Pdv } from "../pdu/types.ts";
export type { PresentationContextResult } from "../pdu/types.ts";
export type { SuboperationCounts } from "../dimse/messages.ts";
export type { UserInformation } from "../pdu/types.ts";
export type { AsynchronousOperationsWindow } from "../pdu/types.ts";
export type { SopClassCommonExtendedNegotiation } from "../pdu/types.ts";
export type { SopClassExtendedNegotiation } from "../pdu/types.ts";
export type { UserIdentityAc } from "../pdu/types.ts";
export type { AbortOptions } from "../ul/association.ts";
export type { State } from "../ul/state_machine.ts";
export type { UlIndication } from "../ul/association.ts";
export type { STATES } from "../ul/state_machine.ts";
export type { UlAssociation } from "../ul/association.ts";
