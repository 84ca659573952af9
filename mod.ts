/**
 * dimse-deno: DICOM networking for Deno. Echo a peer, send it files,
 * receive and store what peers send, on the upper layer protocol (PS3.8),
 * DIMSE (PS3.7) and DICOM TLS (PS3.15) written from the standard.
 *
 * Echo a PACS:
 *
 * ```ts ignore
 * import { associate } from "@dimse-deno/dimse";
 * await using assoc = await associate("ANY-SCP@127.0.0.1:104");
 * console.log((await assoc.echo()).status === 0 ? "alive" : "refused");
 * ```
 *
 * A receiver that stores what it gets:
 *
 * ```ts ignore
 * import { fileStore, serve, storage, verification } from "@dimse-deno/dimse";
 * await serve({
 *   aeTitle: "STORE-SCP",
 *   port: 11112,
 *   services: [verification(), storage({ store: fileStore({ dir: "incoming" }) })],
 * });
 * ```
 *
 * Find studies on a PACS (C-FIND; `move()` and `get()` retrieve them):
 *
 * ```ts ignore
 * import { associate, qrContexts, queryFromKeys } from "@dimse-deno/dimse";
 * await using assoc = await associate("PACS@10.0.0.5:104", qrContexts({ model: "study" }));
 * const query = queryFromKeys(["QueryRetrieveLevel=STUDY", "PatientID=12345", "StudyInstanceUID"]);
 * for await (const r of assoc.find(query, { model: "study" })) {
 *   if (r.match) console.log(r.attributes());
 * }
 * ```
 *
 * The layers underneath have their own entry points: `./ae` (everything of
 * the service layer), `./dicom`, `./dimse`, `./ul`, `./pdu`, `./transport`.
 *
 * @module
 */
export {
  associate,
  type AssociateEvent,
  type AssociateOptions,
  Association,
  AssociationAborted,
  type AssociationEvent,
  type AssociationInfo,
  AssociationRejected,
  ConnectFailed,
  type ContextProposal,
  DatasetInterrupted,
  DatasetSourceFailed,
  DicomNetworkError,
  DicomServer,
  DimseError,
  DimseTimeout,
  type EncodedIdentifier,
  fileStore,
  type FileStoreOptions,
  find,
  type FindResponse,
  get,
  type HandlerResult,
  move,
  type MoveOptions,
  multiResponse,
  NoPresentationContext,
  type OperationOptions,
  parseAddress,
  type PeerAddress,
  ProtocolError,
  type ProtocolErrorKind,
  type QrContextOptions,
  qrContexts,
  type QrOperation,
  type QrOptions,
  type QrResponseBase,
  QUERY_MODELS,
  type QueryModel,
  type QueryModelInfo,
  type Reply,
  type RequestContext,
  type Response,
  type RetrieveResponse,
  serve,
  type ServeOptions,
  type ServerEvent,
  type Service,
  singleResponse,
  sopClassOf,
  type StatusResult,
  storage,
  storageContextsFor,
  type StorageItem,
  type StorageOptions,
  STORE_STATUS,
  type StoreContext,
  type StoreHandler,
  type StoreOptions,
  type StoreSource,
  type Suboperations,
  suboperations,
  type Timeouts,
  verification,
  type VerificationOptions,
} from "./lib/ae/mod.ts";
export {
  createLogger,
  type CreateLoggerOptions,
  type Logger,
  type LogLevel,
} from "./lib/log/logger.ts";
export {
  loadTlsCredentials,
  type TlsCredentials,
  type TlsInfo,
  type TlsSettings,
} from "./lib/transport/tls.ts";
export {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  VERIFICATION_SOP_CLASS,
} from "./lib/dicom/uids.ts";
export { VERSION } from "./lib/util/version.ts";
export { ConnectError } from "./lib/transport/tcp.ts";
export { TlsError, type TlsFailureKind, type TlsSide } from "./lib/transport/tls_errors.ts";
export { DicomFileError, type DicomFileFormatMismatch } from "./lib/dicom/errors.ts";
export {
  type Attribute,
  attribute,
  type AttributeLimits,
  type Attributes,
  type AttributeValue,
  decodeAttributes,
  type DecodeAttributesOptions,
  encodeAttributes,
} from "./lib/dicom/attributes.ts";
export type { CharsetError, CharsetErrorCode, CharsetProblemHandler } from "./lib/dicom/charset.ts";
export { queryFromKeys, QueryKeyError } from "./lib/dicom/query_keys.ts";
export type { AbortPdu } from "./lib/pdu/types.ts";
export type { AbortSource } from "./lib/ul/association.ts";
export type { AcceptedContext } from "./lib/ae/negotiation.ts";
export type { Appender } from "./lib/log/logger.ts";
export type { AssociateAcPdu } from "./lib/pdu/types.ts";
export type { AssociateRjPdu } from "./lib/pdu/types.ts";
export type { AssociateRqPdu } from "./lib/pdu/types.ts";
export type { AssociationSummary } from "./lib/ae/server.ts";
export type { CEchoRsp } from "./lib/dimse/messages.ts";
export type { CStoreRq } from "./lib/dimse/messages.ts";
export type { CStoreRsp } from "./lib/dimse/messages.ts";
export type { ConnectionLimits } from "./lib/ae/budget.ts";
export type { CrlCheck } from "./lib/transport/crl.ts";
export type { DimseChannel } from "./lib/ae/channel.ts";
export type { DimseMessage } from "./lib/dimse/messages.ts";
export type { DimseMessageType } from "./lib/dimse/messages.ts";
export type { Endpoint } from "./lib/transport/transport.ts";
export type { FileSink } from "./lib/ae/file_store.ts";
export type { IpFamily } from "./lib/transport/tcp.ts";
export type { LogThreshold } from "./lib/log/logger.ts";
export type { MissingPermission } from "./lib/util/permission.ts";
export type { OutgoingDataset } from "./lib/ae/channel.ts";
export type { OverloadEnd } from "./lib/ae/budget.ts";
export type { OverloadStart } from "./lib/ae/budget.ts";
export type { Pdu } from "./lib/pdu/types.ts";
export type { PeerVerification } from "./lib/transport/tls.ts";
export type { Priority } from "./lib/dimse/messages.ts";
export type { RevocationList } from "./lib/transport/crl.ts";
export type { RoleSelection } from "./lib/pdu/types.ts";
export type { ServerTotals } from "./lib/ae/server.ts";
export type { ServiceRequest } from "./lib/ae/service.ts";
export type { TlsConnectionInfo } from "./lib/ae/server.ts";
export type { TlsProfile } from "./lib/transport/tls_profiles.ts";
export type { TlsVersion } from "./lib/transport/tls_profiles.ts";
export type { TransferFloor } from "./lib/ae/channel.ts";
export type { Transport } from "./lib/transport/transport.ts";
export type { UlLogger } from "./lib/ul/association.ts";
export type { UserIdentityRq } from "./lib/pdu/types.ts";
export type { WriteBufferPool } from "./lib/ae/file_store.ts";
export type { AssociateCommon } from "./lib/pdu/types.ts";
export type { AssociationTally } from "./lib/ae/server.ts";
export type { CCancelRq } from "./lib/dimse/messages.ts";
export type { CEchoRq } from "./lib/dimse/messages.ts";
export type { CFindRq } from "./lib/dimse/messages.ts";
export type { CFindRsp } from "./lib/dimse/messages.ts";
export type { CGetRq } from "./lib/dimse/messages.ts";
export type { CGetRsp } from "./lib/dimse/messages.ts";
export type { CMoveRq } from "./lib/dimse/messages.ts";
export type { CMoveRsp } from "./lib/dimse/messages.ts";
export type { ChannelEvent } from "./lib/ae/channel.ts";
export type { ChunkQueue } from "./lib/ae/chunks.ts";
export type { ConnectionPlace } from "./lib/transport/transport.ts";
export type { LogRecord } from "./lib/log/logger.ts";
export type { PDataTfPdu } from "./lib/pdu/types.ts";
export type { PRIORITY } from "./lib/dimse/messages.ts";
export type { PresentationContextAc } from "./lib/pdu/types.ts";
export type { PresentationContextRq } from "./lib/pdu/types.ts";
export type { RefusedBy } from "./lib/ae/budget.ts";
export type { ReleaseRpPdu } from "./lib/pdu/types.ts";
export type { ReleaseRqPdu } from "./lib/pdu/types.ts";
export type { ResponseStatusFields } from "./lib/dimse/messages.ts";
export type { SinkFile } from "./lib/ae/file_store.ts";
export type { Pdv } from "./lib/pdu/types.ts";
export type { PresentationContextResult } from "./lib/pdu/types.ts";
export type { SlowTransfer } from "./lib/ae/channel.ts";
export type { SuboperationCounts } from "./lib/dimse/messages.ts";
export type { UserInformation } from "./lib/pdu/types.ts";
export type { AsynchronousOperationsWindow } from "./lib/pdu/types.ts";
export type { SopClassCommonExtendedNegotiation } from "./lib/pdu/types.ts";
export type { SopClassExtendedNegotiation } from "./lib/pdu/types.ts";
export type { UserIdentityAc } from "./lib/pdu/types.ts";
export type { UlAssociation } from "./lib/ul/association.ts";
export type { AbortOptions } from "./lib/ul/association.ts";
export type { State } from "./lib/ul/state_machine.ts";
export type { UlIndication } from "./lib/ul/association.ts";
export type { STATES } from "./lib/ul/state_machine.ts";
