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
  /** Abstract syntax (SOP class) UID, from the Abstract Syntax sub-item (PS3.8 9.3.2.2.1). */
  abstractSyntax: string;
  /** Proposed transfer syntax UIDs, one per Transfer Syntax sub-item (PS3.8 9.3.2.2.2). */
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
  /** ID of the proposed presentation context this answers (PS3.8 9.3.3.2). */
  id: number;
  /** Acceptance or reason for rejection of the context (PS3.8 9.3.3.2). */
  result: PresentationContextResult;
  /** The accepted transfer syntax; PS3.8 says it is not significant unless result is 0. */
  transferSyntax: string;
}

/** SCP/SCU role selection sub-item (PS3.7 D.3.3.4). */
export interface RoleSelection {
  /** The SOP class the role selection applies to. */
  sopClassUid: string;
  /** SCU-role field: in a request, the SCU role is proposed; in an answer, it is accepted. */
  scuRole: boolean;
  /** SCP-role field: in a request, the SCP role is proposed; in an answer, it is accepted. */
  scpRole: boolean;
}

/** SOP class extended negotiation sub-item (PS3.7 D.3.3.5). */
export interface SopClassExtendedNegotiation {
  /** The SOP class the negotiation applies to. */
  sopClassUid: string;
  /** Raw service-class-application-information, defined by the service class (PS3.4). */
  serviceClassApplicationInformation: Uint8Array;
}

/** SOP class common extended negotiation sub-item (PS3.7 D.3.3.6). */
export interface SopClassCommonExtendedNegotiation {
  /** The SOP class the negotiation applies to. */
  sopClassUid: string;
  /** UID of the service class the SOP class belongs to. */
  serviceClassUid: string;
  /** Related General SOP Class UIDs (may be empty). */
  relatedGeneralSopClassUids: string[];
}

/** User identity negotiation, request form (PS3.7 D.3.3.7.1). */
export interface UserIdentityRq {
  /** 1 username, 2 username+passcode, 3 Kerberos, 4 SAML, 5 JWT. */
  identityType: number;
  /** Whether the requestor asks for a User Identity AC sub-item in the answer. */
  positiveResponseRequested: boolean;
  /** Primary field: username, Kerberos ticket, SAML assertion or JWT, by type. */
  primaryField: Uint8Array;
  /** Only meaningful for type 2; empty otherwise. */
  secondaryField: Uint8Array;
}

/** User identity negotiation, accept form (PS3.7 D.3.3.7.2). */
export interface UserIdentityAc {
  /** Server response: Kerberos server ticket, SAML response or JWT; empty otherwise. */
  serverResponse: Uint8Array;
}

/** Asynchronous operations window sub-item (PS3.7 D.3.3.3). */
export interface AsynchronousOperationsWindow {
  /** Maximum number of operations invoked outstanding; 0 = unlimited. */
  maxOperationsInvoked: number;
  /** Maximum number of operations performed outstanding; 0 = unlimited. */
  maxOperationsPerformed: number;
}

/** User information item (PS3.8 9.3.2.3, PS3.7 Annex D). */
export interface UserInformation {
  /** Maximum length received (PS3.8 D.1); 0 means no limit. */
  maxLength?: number;
  /** Implementation Class UID sub-item (PS3.7 D.3.3.2). */
  implementationClassUid?: string;
  /** Implementation Version Name sub-item (PS3.7 D.3.3.2). */
  implementationVersionName?: string;
  /** Asynchronous Operations Window sub-item, if present (PS3.7 D.3.3.3). */
  asynchronousOperationsWindow?: AsynchronousOperationsWindow;
  /** SCP/SCU Role Selection sub-items (PS3.7 D.3.3.4). */
  roleSelections: RoleSelection[];
  /** SOP Class Extended Negotiation sub-items (PS3.7 D.3.3.5). */
  extendedNegotiations: SopClassExtendedNegotiation[];
  /** SOP Class Common Extended Negotiation sub-items (PS3.7 D.3.3.6). */
  commonExtendedNegotiations: SopClassCommonExtendedNegotiation[];
  /** User Identity sub-item of a request, if present (PS3.7 D.3.3.7.1). */
  userIdentityRq?: UserIdentityRq;
  /** User Identity sub-item of an answer, if present (PS3.7 D.3.3.7.2). */
  userIdentityAc?: UserIdentityAc;
}

/** Fields shared by A-ASSOCIATE-RQ and A-ASSOCIATE-AC (PS3.8 9.3.2, 9.3.3). */
export interface AssociateCommon {
  /** Bit 0 set = version 1 (PS3.8 9.3.2). */
  protocolVersion: number;
  /** Called AE title, the acceptor's, without leading/trailing padding spaces. */
  calledAeTitle: string;
  /** Calling AE title, the requestor's, without padding spaces. */
  callingAeTitle: string;
  /** Application context name (PS3.8 9.3.2.1); DICOM's is DICOM_APPLICATION_CONTEXT. */
  applicationContext: string;
  /** The User Information item (PS3.8 9.3.2.3). */
  userInformation: UserInformation;
}

/** A-ASSOCIATE-RQ PDU (PS3.8 9.3.2). */
export interface AssociateRqPdu extends AssociateCommon {
  /** PDU discriminant. */
  type: "A-ASSOCIATE-RQ";
  /** Presentation context items (PS3.8 9.3.2.2). */
  presentationContexts: PresentationContextRq[];
}

/** A-ASSOCIATE-AC PDU (PS3.8 9.3.3). The AE title fields echo the request's. */
export interface AssociateAcPdu extends AssociateCommon {
  /** PDU discriminant. */
  type: "A-ASSOCIATE-AC";
  /** Presentation context items, one per proposed context (PS3.8 9.3.3.2). */
  presentationContexts: PresentationContextAc[];
}

/** A-ASSOCIATE-RJ PDU (PS3.8 9.3.4). */
export interface AssociateRjPdu {
  /** PDU discriminant. */
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
  /** Presentation context ID of the PDV (PS3.8 9.3.5.1). */
  contextId: number;
  /** Message control header bit 0. */
  isCommand: boolean;
  /** Message control header bit 1. */
  isLast: boolean;
  /** Message fragment: command or data set bytes (PS3.8 Annex E.2). */
  data: Uint8Array;
}

/** P-DATA-TF PDU (PS3.8 9.3.5). */
export interface PDataTfPdu {
  /** PDU discriminant. */
  type: "P-DATA-TF";
  /** Presentation data value items, in order (PS3.8 9.3.5.1). */
  pdvs: Pdv[];
}

/** A-RELEASE-RQ PDU (PS3.8 9.3.6). */
export interface ReleaseRqPdu {
  /** PDU discriminant. */
  type: "A-RELEASE-RQ";
}

/** A-RELEASE-RP PDU (PS3.8 9.3.7). */
export interface ReleaseRpPdu {
  /** PDU discriminant. */
  type: "A-RELEASE-RP";
}

/** A-ABORT PDU (PS3.8 9.3.8). */
export interface AbortPdu {
  /** PDU discriminant. */
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
