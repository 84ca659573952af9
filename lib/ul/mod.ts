/**
 * The upper-layer protocol machine (PS3.8 9.2): Table 9-10 as data, and the runtime that drives it over a transport.
 *
 * @module
 */
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
} from "./state_machine.ts";
export {
  type AbortOptions,
  type AbortSource,
  acceptAssociation,
  type AcceptResult,
  type AssociateDecision,
  requestAssociation,
  type RequestResult,
  type UlAssociation,
  type UlIndication,
  type UlLogger,
  type UlOptions,
  UlUsageError,
} from "./association.ts";
export type { AbortPdu } from "../pdu/types.ts";
export type { AssociateAcPdu } from "../pdu/types.ts";
export type { AssociateRjPdu } from "../pdu/types.ts";
export type { AssociateRqPdu } from "../pdu/types.ts";
export type { Logger } from "../log/logger.ts";
export type { PDataTfPdu } from "../pdu/types.ts";
export type { Pdu } from "../pdu/types.ts";
export type { PduLimits } from "../pdu/reader.ts";
export type { Transport } from "../transport/transport.ts";
export type { AssociateCommon } from "../pdu/types.ts";
export type { ConnectionPlace } from "../transport/transport.ts";
export type { Endpoint } from "../transport/transport.ts";
export type { LogLevel } from "../log/logger.ts";
export type { Pdv } from "../pdu/types.ts";
export type { PresentationContextAc } from "../pdu/types.ts";
export type { PresentationContextRq } from "../pdu/types.ts";
export type { ReleaseRpPdu } from "../pdu/types.ts";
export type { ReleaseRqPdu } from "../pdu/types.ts";
export type { PresentationContextResult } from "../pdu/types.ts";
export type { UserInformation } from "../pdu/types.ts";
export type { AsynchronousOperationsWindow } from "../pdu/types.ts";
export type { RoleSelection } from "../pdu/types.ts";
export type { SopClassCommonExtendedNegotiation } from "../pdu/types.ts";
export type { SopClassExtendedNegotiation } from "../pdu/types.ts";
export type { UserIdentityAc } from "../pdu/types.ts";
export type { UserIdentityRq } from "../pdu/types.ts";
