/**
 * Types for the seven upper-layer PDUs and their items (PS3.8 9.3).
 *
 * Values here are decoded, semantic values: lengths are never stored, the
 * encoder computes every one of them (PS3.8 9.3.1: lengths are derived from
 * the content), and AE titles are kept without their space padding.
 *
 * @module
 */

/** PDU type codes, PS3.8 Table 9-11 and 9.3.2..9.3.8. */
export const PDU_TYPE = {
  "A-ASSOCIATE-RQ": 0x01,
  "A-ASSOCIATE-AC": 0x02,
  "A-ASSOCIATE-RJ": 0x03,
  "P-DATA-TF": 0x04,
  "A-RELEASE-RQ": 0x05,
  "A-RELEASE-RP": 0x06,
  "A-ABORT": 0x07,
} as const;

/** Item type codes of the variable fields, PS3.8 9.3.2.x and Annex D. */
export const ITEM_TYPE = {
  applicationContext: 0x10,
  presentationContextRq: 0x20,
  presentationContextAc: 0x21,
  abstractSyntax: 0x30,
  transferSyntax: 0x40,
  userInformation: 0x50,
  maximumLength: 0x51,
  implementationClassUid: 0x52,
  asynchronousOperationsWindow: 0x53,
  roleSelection: 0x54,
  implementationVersionName: 0x55,
  sopClassExtendedNegotiation: 0x56,
  sopClassCommonExtendedNegotiation: 0x57,
  userIdentityRq: 0x58,
  userIdentityAc: 0x59,
} as const;

/** The DICOM application context name, PS3.7 Annex A.2.1. */
export const DICOM_APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1";

/** A presentation context as proposed in an A-ASSOCIATE-RQ (PS3.8 9.3.2.2). */
export interface PresentationContextRq {
  /** Odd number 1..255. */
  id: number;
  abstractSyntax: string;
  transferSyntaxes: string[];
}

/**
 * Result/reason of a presentation context in an A-ASSOCIATE-AC
 * (PS3.8 9.3.3.2): 0 acceptance, 1 user-rejection, 2 no-reason
 * (provider rejection), 3 abstract syntax not supported, 4 transfer syntaxes
 * not supported. Other values are kept as received.
 */
export type PresentationContextResult = number;

/** A presentation context as answered in an A-ASSOCIATE-AC (PS3.8 9.3.3.2). */
export interface PresentationContextAc {
  id: number;
  result: PresentationContextResult;
  /** The accepted transfer syntax; PS3.8 says it is not significant unless result is 0. */
  transferSyntax: string;
}

/** SCP/SCU role selection sub-item (PS3.7 D.3.3.4). */
export interface RoleSelection {
  sopClassUid: string;
  scuRole: boolean;
  scpRole: boolean;
}

/** SOP class extended negotiation sub-item (PS3.7 D.3.3.5). */
export interface SopClassExtendedNegotiation {
  sopClassUid: string;
  serviceClassApplicationInformation: Uint8Array;
}

/** SOP class common extended negotiation sub-item (PS3.7 D.3.3.6). */
export interface SopClassCommonExtendedNegotiation {
  sopClassUid: string;
  serviceClassUid: string;
  relatedGeneralSopClassUids: string[];
}

/** User identity negotiation, request form (PS3.7 D.3.3.7.1). */
export interface UserIdentityRq {
  /** 1 username, 2 username+passcode, 3 Kerberos, 4 SAML, 5 JWT. */
  identityType: number;
  positiveResponseRequested: boolean;
  primaryField: Uint8Array;
  /** Only meaningful for type 2; empty otherwise. */
  secondaryField: Uint8Array;
}

/** User identity negotiation, accept form (PS3.7 D.3.3.7.2). */
export interface UserIdentityAc {
  serverResponse: Uint8Array;
}

/** Asynchronous operations window sub-item (PS3.7 D.3.3.3). */
export interface AsynchronousOperationsWindow {
  maxOperationsInvoked: number;
  maxOperationsPerformed: number;
}

/** User information item (PS3.8 9.3.2.3, PS3.7 Annex D). */
export interface UserInformation {
  /** Maximum length received (PS3.8 D.1); 0 means no limit. */
  maxLength?: number;
  implementationClassUid?: string;
  implementationVersionName?: string;
  asynchronousOperationsWindow?: AsynchronousOperationsWindow;
  roleSelections: RoleSelection[];
  extendedNegotiations: SopClassExtendedNegotiation[];
  commonExtendedNegotiations: SopClassCommonExtendedNegotiation[];
  userIdentityRq?: UserIdentityRq;
  userIdentityAc?: UserIdentityAc;
}

/** Fields shared by A-ASSOCIATE-RQ and A-ASSOCIATE-AC (PS3.8 9.3.2, 9.3.3). */
interface AssociateCommon {
  /** Bit 0 set = version 1 (PS3.8 9.3.2). */
  protocolVersion: number;
  /** Without trailing/leading padding spaces. */
  calledAeTitle: string;
  callingAeTitle: string;
  applicationContext: string;
  userInformation: UserInformation;
}

/** A-ASSOCIATE-RQ PDU (PS3.8 9.3.2). */
export interface AssociateRqPdu extends AssociateCommon {
  type: "A-ASSOCIATE-RQ";
  presentationContexts: PresentationContextRq[];
}

/** A-ASSOCIATE-AC PDU (PS3.8 9.3.3). The AE title fields echo the request's. */
export interface AssociateAcPdu extends AssociateCommon {
  type: "A-ASSOCIATE-AC";
  presentationContexts: PresentationContextAc[];
}

/** A-ASSOCIATE-RJ PDU (PS3.8 9.3.4). */
export interface AssociateRjPdu {
  type: "A-ASSOCIATE-RJ";
  /** 1 rejected-permanent, 2 rejected-transient. */
  result: number;
  /** 1 service-user, 2 service-provider (ACSE), 3 service-provider (presentation). */
  source: number;
  /** Meaning depends on source, PS3.8 Table 9-21. */
  reason: number;
}

/** One presentation data value item of a P-DATA-TF (PS3.8 9.3.5.1, Annex E.2). */
export interface Pdv {
  contextId: number;
  /** Message control header bit 0. */
  isCommand: boolean;
  /** Message control header bit 1. */
  isLast: boolean;
  data: Uint8Array;
}

/** P-DATA-TF PDU (PS3.8 9.3.5). */
export interface PDataTfPdu {
  type: "P-DATA-TF";
  pdvs: Pdv[];
}

/** A-RELEASE-RQ PDU (PS3.8 9.3.6). */
export interface ReleaseRqPdu {
  type: "A-RELEASE-RQ";
}

/** A-RELEASE-RP PDU (PS3.8 9.3.7). */
export interface ReleaseRpPdu {
  type: "A-RELEASE-RP";
}

/** A-ABORT PDU (PS3.8 9.3.8). */
export interface AbortPdu {
  type: "A-ABORT";
  /** 0 service-user, 1 reserved, 2 service-provider. */
  source: number;
  /** Only significant when source is 2, PS3.8 Table 9-26. */
  reason: number;
}

/** Every PDU, as a closed union on `type`. */
export type Pdu =
  | AssociateRqPdu
  | AssociateAcPdu
  | AssociateRjPdu
  | PDataTfPdu
  | ReleaseRqPdu
  | ReleaseRpPdu
  | AbortPdu;

/** The PDU type names. */
export type PduTypeName = Pdu["type"];

/**
 * A-ABORT reasons when the source is the service provider (PS3.8 Table 9-26).
 * Also used by decoders to say which abort a malformed PDU deserves.
 */
export const ABORT_REASON = {
  notSpecified: 0,
  unrecognizedPdu: 1,
  unexpectedPdu: 2,
  unrecognizedPduParameter: 4,
  unexpectedPduParameter: 5,
  invalidPduParameterValue: 6,
} as const;
