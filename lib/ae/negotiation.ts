/**
 * Association negotiation policy: what a requestor proposes and how an
 * acceptor answers (PS3.8 7.1.1, 9.3.3.2; PS3.7 Annex D).
 *
 * Pure functions from one PDU to the next, so every rule is tested without
 * sockets.
 *
 * @module
 */
import {
  type AssociateAcPdu,
  type AssociateRjPdu,
  type AssociateRqPdu,
  type AsynchronousOperationsWindow,
  DICOM_APPLICATION_CONTEXT,
  type PresentationContextAc,
  type PresentationContextRq,
  type RoleSelection,
  type UserIdentityRq,
} from "../pdu/types.ts";
import {
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
} from "../dicom/uids.ts";
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from "../util/version.ts";

/** The uncompressed transfer syntaxes, explicit little endian first: what services accept by default. */
export const UNCOMPRESSED_TRANSFER_SYNTAXES: readonly string[] = [
  EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
];

/** PS3.8 9.3.3.2 presentation context results. */
export const PC_RESULT = {
  acceptance: 0,
  userRejection: 1,
  noReason: 2,
  abstractSyntaxNotSupported: 3,
  transferSyntaxesNotSupported: 4,
} as const;

/** Our own identity and limits, as offered in every A-ASSOCIATE. */
export interface LocalAe {
  /** Our AE title: calling AE as requestor, responding AE as acceptor. */
  aeTitle: string;
  /** Our Maximum Length Received (PS3.8 D.1); 0 = unlimited. */
  maxPdu: number;
}

/** What the requestor asks for. */
export interface RequestParams extends LocalAe {
  /** The peer's AE title. */
  calledAeTitle: string;
  /** The contexts to propose (PS3.8 9.3.2.2). */
  presentationContexts: PresentationContextRq[];
  /** User identity to assert (PS3.7 D.3.3.7.1). */
  userIdentity?: UserIdentityRq;
  /** SCP/SCU Role Selection sub-items to propose (PS3.7 D.3.3.4). */
  roleSelections?: RoleSelection[];
  /** The Asynchronous Operations Window to propose (PS3.7 D.3.3.3); none: synchronous. */
  asyncWindow?: AsynchronousOperationsWindow;
}

/** Builds the A-ASSOCIATE-RQ with our implementation identification (PS3.7 D.3.3.2). */
export function buildAssociateRq(p: RequestParams): AssociateRqPdu {
  return {
    type: "A-ASSOCIATE-RQ",
    protocolVersion: 1,
    calledAeTitle: p.calledAeTitle,
    callingAeTitle: p.aeTitle,
    applicationContext: DICOM_APPLICATION_CONTEXT,
    presentationContexts: p.presentationContexts,
    userInformation: {
      ...ourUserInformation(p.maxPdu),
      roleSelections: p.roleSelections ?? [],
      ...(p.asyncWindow ? { asynchronousOperationsWindow: { ...p.asyncWindow } } : {}),
      ...(p.userIdentity ? { userIdentityRq: p.userIdentity } : {}),
    },
  };
}

function ourUserInformation(maxPdu: number): AssociateRqPdu["userInformation"] {
  return {
    maxLength: maxPdu,
    implementationClassUid: IMPLEMENTATION_CLASS_UID,
    implementationVersionName: IMPLEMENTATION_VERSION_NAME,
    roleSelections: [],
    extendedNegotiations: [],
    commonExtendedNegotiations: [],
  };
}

/**
 * `n` presentation contexts (odd IDs 1, 3, 5...) of one abstract syntax, each
 * proposing the same transfer syntaxes.
 */
export function repeatedContexts(
  abstractSyntax: string,
  transferSyntaxes: string[],
  n: number,
): PresentationContextRq[] {
  return Array.from({ length: n }, (_, i) => ({
    id: 2 * i + 1,
    abstractSyntax,
    transferSyntaxes: [...transferSyntaxes],
  }));
}

/** Transfer syntax preference of an SCP. */
export type TransferSyntaxPreference = "uncompressed" | "little" | "big" | "implicit";

/**
 * The syntaxes an SCP accepts, best first. "Explicit VR local byte order"
 * is little endian on every platform Deno runs on.
 */
export function preferredTransferSyntaxes(pref: TransferSyntaxPreference): string[] {
  switch (pref) {
    case "uncompressed":
    case "little":
      return [EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN];
    case "big":
      return [EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN];
    case "implicit":
      return [IMPLICIT_VR_LITTLE_ENDIAN];
  }
}

/** An acceptor's configuration. */
export interface AcceptorPolicy extends LocalAe {
  /** Abstract syntax UID -> the transfer syntaxes accepted for it, best first. */
  abstractSyntaxes: Map<string, string[]>;
  /** When set, only these calling AE titles are accepted (exact, case-sensitive). */
  allowedCallingAeTitles?: string[];
  /** When true, the called AE title must equal our AE title. */
  requireCalledAeTitle?: boolean;
  /**
   * Answer the requestor's SCP/SCU Role Selection items (PS3.7 D.3.3.4):
   * the SCU role it proposes is accepted, the SCP role (it would serve us,
   * as for C-GET) only for the SOP classes listed here. Without it, no
   * role item is returned and the default roles apply (requestor SCU).
   */
  answerRoles?: { scpRoleFor?: ReadonlySet<string> } | true;
  /**
   * The most operations a requestor may have outstanding on one of our
   * associations (PS3.7 D.3.3.3): a proposed window is answered with
   * at most this many (at least 2 to answer at all); absent or 1, no window
   * item is answered and the default of one applies, as DCMTK does.
   */
  maxOperationsPerformed?: number;
}

/** PS3.8 Table 9-21 reject reasons the acceptor uses, with their source. */
export const REJECT = {
  noReason: { result: 1, source: 1, reason: 1 },
  applicationContextNotSupported: { result: 1, source: 1, reason: 2 },
  callingAeNotRecognized: { result: 1, source: 1, reason: 3 },
  calledAeNotRecognized: { result: 1, source: 1, reason: 7 },
} as const;

function reject(r: { result: number; source: number; reason: number }): AssociateRjPdu {
  return { type: "A-ASSOCIATE-RJ", ...r };
}

/**
 * The acceptor's answer to an A-ASSOCIATE-RQ: an RJ when the association as a
 * whole is unacceptable (PS3.8 7.1.1.7), else an AC answering every
 * presentation context in order (PS3.8 9.3.3.2). The protocol version is the
 * upper layer's check (AE-6), made before this is asked.
 */
export function answerAssociateRq(
  rq: AssociateRqPdu,
  policy: AcceptorPolicy,
): AssociateAcPdu | AssociateRjPdu {
  if (rq.applicationContext !== DICOM_APPLICATION_CONTEXT) {
    return reject(REJECT.applicationContextNotSupported);
  }
  if (
    policy.allowedCallingAeTitles !== undefined &&
    !policy.allowedCallingAeTitles.includes(rq.callingAeTitle)
  ) {
    return reject(REJECT.callingAeNotRecognized);
  }
  if (policy.requireCalledAeTitle && rq.calledAeTitle !== policy.aeTitle) {
    return reject(REJECT.calledAeNotRecognized);
  }
  return {
    type: "A-ASSOCIATE-AC",
    protocolVersion: 1,
    calledAeTitle: rq.calledAeTitle,
    callingAeTitle: rq.callingAeTitle,
    applicationContext: DICOM_APPLICATION_CONTEXT,
    presentationContexts: rq.presentationContexts.map((pc) => answerContext(pc, policy)),
    userInformation: {
      ...ourUserInformation(policy.maxPdu),
      roleSelections: policy.answerRoles ? answerRoles(rq, policy.answerRoles) : [],
      ...windowItem(answerAsyncWindow(rq, policy.maxOperationsPerformed)),
    },
  };
}

function windowItem(w: AsynchronousOperationsWindow | undefined) {
  return w ? { asynchronousOperationsWindow: w } : {};
}

/** The lower of two window values where 0 means unlimited (PS3.7 D.3.3.3). */
function minWindow(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return Math.min(a, b);
}

/**
 * The acceptor's Asynchronous Operations Window item (PS3.7 D.3.3.3):
 * none when none was proposed (it "shall be omitted" then) or we grant no
 * more than one; else the requestor may invoke the lower of what it
 * proposed and `maxPerformed` (0 proposed: unlimited, so `maxPerformed`),
 * and we invoke at most one at a time on it (sub-operations of a C-GET),
 * never more than it said it performs.
 */
export function answerAsyncWindow(
  rq: AssociateRqPdu,
  maxPerformed: number | undefined,
): AsynchronousOperationsWindow | undefined {
  const proposed = rq.userInformation.asynchronousOperationsWindow;
  if (!proposed || maxPerformed === undefined || maxPerformed <= 1) return undefined;
  return {
    maxOperationsInvoked: minWindow(proposed.maxOperationsInvoked, maxPerformed),
    maxOperationsPerformed: minWindow(proposed.maxOperationsPerformed, 1),
  };
}

/**
 * The window in force on an association (PS3.7 D.3.3.3), seen from the
 * requestor: `maxOperationsInvoked` is how many operations the requestor
 * may have outstanding, `maxOperationsPerformed` how many the acceptor may
 * (0: unlimited). One each when either side left the item out; an
 * acceptor's value above what was proposed is held to the proposal.
 */
export function negotiatedAsyncWindow(
  rq: AssociateRqPdu,
  ac: AssociateAcPdu,
): AsynchronousOperationsWindow {
  const asked = rq.userInformation.asynchronousOperationsWindow;
  const got = ac.userInformation.asynchronousOperationsWindow;
  if (!asked || !got) return { maxOperationsInvoked: 1, maxOperationsPerformed: 1 };
  return {
    maxOperationsInvoked: minWindow(got.maxOperationsInvoked, asked.maxOperationsInvoked),
    maxOperationsPerformed: minWindow(got.maxOperationsPerformed, asked.maxOperationsPerformed),
  };
}

/**
 * The acceptor's Role Selection items (PS3.7 D.3.3.4): one per item
 * proposed for an abstract syntax we accept, the SCU role granted as
 * proposed, the SCP role only where we can act as its SCU.
 */
export function answerRoles(
  rq: AssociateRqPdu,
  roles: { scpRoleFor?: ReadonlySet<string> } | true,
): RoleSelection[] {
  const scpFor = roles === true ? undefined : roles.scpRoleFor;
  return rq.userInformation.roleSelections.map((r) => ({
    sopClassUid: r.sopClassUid,
    scuRole: r.scuRole,
    scpRole: r.scpRole && scpFor?.has(r.sopClassUid) === true,
  }));
}

/**
 * The roles negotiated for `sopClassUid` (PS3.7 D.3.3.4, Table D.3-12):
 * without an item in the AC, the requestor is SCU and the acceptor SCP.
 */
export function negotiatedRoles(
  rq: AssociateRqPdu,
  ac: AssociateAcPdu,
  sopClassUid: string,
): { requestorScu: boolean; requestorScp: boolean } {
  const asked = rq.userInformation.roleSelections.find((r) => r.sopClassUid === sopClassUid);
  const got = ac.userInformation.roleSelections.find((r) => r.sopClassUid === sopClassUid);
  if (!asked || !got) return { requestorScu: true, requestorScp: false };
  return { requestorScu: asked.scuRole && got.scuRole, requestorScp: asked.scpRole && got.scpRole };
}

function answerContext(pc: PresentationContextRq, policy: AcceptorPolicy): PresentationContextAc {
  const accepted = policy.abstractSyntaxes.get(pc.abstractSyntax);
  if (accepted === undefined) {
    return {
      id: pc.id,
      result: PC_RESULT.abstractSyntaxNotSupported,
      transferSyntax: pc.transferSyntaxes[0] ?? "",
    };
  }
  const ts = accepted.find((t) => pc.transferSyntaxes.includes(t));
  return ts === undefined
    ? {
      id: pc.id,
      result: PC_RESULT.transferSyntaxesNotSupported,
      transferSyntax: pc.transferSyntaxes[0] ?? "",
    }
    : { id: pc.id, result: PC_RESULT.acceptance, transferSyntax: ts };
}

/** The accepted contexts of an AC, joined with what we proposed for them. */
export interface AcceptedContext {
  /** Presentation context ID (odd, 1..255). */
  id: number;
  /** The SOP class proposed for it. */
  abstractSyntax: string;
  /** The transfer syntax the acceptor chose. */
  transferSyntax: string;
}

/** Accepted presentation contexts, matched to the proposal by ID (PS3.8 9.3.3.2). */
export function acceptedContexts(rq: AssociateRqPdu, ac: AssociateAcPdu): AcceptedContext[] {
  const proposed = new Map(rq.presentationContexts.map((pc) => [pc.id, pc]));
  const out: AcceptedContext[] = [];
  for (const pc of ac.presentationContexts) {
    const p = proposed.get(pc.id);
    // An accepted syntax we never proposed is the peer's error: such a context is unusable.
    if (pc.result !== PC_RESULT.acceptance || !p) continue;
    if (!p.transferSyntaxes.includes(pc.transferSyntax)) continue;
    out.push({ id: pc.id, abstractSyntax: p.abstractSyntax, transferSyntax: pc.transferSyntax });
  }
  return out;
}
