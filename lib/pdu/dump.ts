/**
 * DCMTK-style `-d` dumps: the PDU header line with a hex dump, and the
 * association parameter block between BEGIN/END rulers, worded and aligned
 * as DCMTK 3.6.7 prints them (users' scripts read these lines).
 *
 * @module
 */

import { latin1 } from "../util/bytes.ts";
import { PDU_HEADER_LENGTH } from "./codec.ts";
import type {
  AssociateAcPdu,
  AssociateRqPdu,
  PresentationContextRq,
  RoleSelection,
  SopClassCommonExtendedNegotiation,
  SopClassExtendedNegotiation,
  UserIdentityAc,
  UserIdentityRq,
  UserInformation,
} from "./types.ts";

/** DCMTK's names in the "PDU Type:" line. */
const PDU_DUMP_NAMES: Readonly<Record<number, string>> = {
  0x01: "Associate Request",
  0x02: "Associate Accept",
  0x03: "Associate Reject",
  0x04: "Data",
  0x05: "Release Request",
  0x06: "Release Response",
  0x07: "Abort",
};

const HEX_BYTES_PER_LINE = 16;

/**
 * `PDU Type: Associate Accept, PDU Length: 217 + 6 bytes PDU header`, then
 * the PDU's bytes, 16 a line, each as two spaces and two lowercase hex
 * digits. Lines are joined with "\n", without a final newline.
 */
export function formatPduHeaderAndHex(raw: Uint8Array): string {
  const type = raw.length > 0 ? raw[0] : 0;
  const name = PDU_DUMP_NAMES[type] ?? `Unknown (0x${type.toString(16).padStart(2, "0")})`;
  const lines = [
    `PDU Type: ${name}, PDU Length: ${
      Math.max(0, raw.length - PDU_HEADER_LENGTH)
    } + ${PDU_HEADER_LENGTH} bytes PDU header`,
  ];
  for (let i = 0; i < raw.length; i += HEX_BYTES_PER_LINE) {
    const row = raw.subarray(i, i + HEX_BYTES_PER_LINE);
    lines.push(Array.from(row, (b) => `  ${b.toString(16).padStart(2, "0")}`).join(""));
  }
  return lines.join("\n");
}

/** Parameters of {@link formatAssociateDump}. */
export interface AssociateDumpParams {
  /** The A-ASSOCIATE-RQ, sent or received. */
  rq: AssociateRqPdu;
  /** The A-ASSOCIATE-AC answering `rq`, once there is one. */
  ac?: AssociateAcPdu;
  /** Which side we are: decides whose user information is "their". */
  we: "requestor" | "acceptor";
  /** Printed as "Our Implementation Class UID" (PS3.7 D.3.3.2). */
  ourImplementationClassUid: string;
  /** Printed as "Our Implementation Version Name" (PS3.7 D.3.3.2). */
  ourImplementationVersionName: string;
  /** Printed as "Our Max PDU Receive Size": our Maximum Length Received (PS3.8 D.1). */
  ourMaxPdu: number;
  /**
   * DCMTK's short name of a UID (printed `=Name`), e.g. lib/dicom's
   * `uidName`; UIDs are printed as they are without it. Given by the caller
   * so that the PDU layer does not depend on the tables of SOP classes.
   */
  uidName?: (uid: string) => string | undefined;
}

/**
 * Peer-supplied text made safe for one log line: anything outside printable
 * ASCII (a newline in an AE title could forge log lines) shown as \xNN.
 */
function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** `=Name` for a UID DCMTK knows by name, else the UID. */
function uidText(u: string, uidName: AssociateDumpParams["uidName"]): string {
  const name = uidName?.(u);
  return name === undefined ? printable(u) : `=${name}`;
}

/** DCMTK's status words for a context: (Proposed), then PS3.8 9.3.3.2 result/reason. */
const RESULT_NAMES: Readonly<Record<number, string>> = {
  0: "Accepted",
  1: "User Rejection",
  2: "Provider Rejection",
  3: "Abstract Syntax Not Supported",
  4: "Transfer Syntaxes Not Supported",
};

/** DCMTK's role words; no role selection sub-item for the SOP class is "Default". */
function roleName(roles: readonly RoleSelection[], sopClassUid: string): string {
  const role = roles.find((r) => r.sopClassUid === sopClassUid);
  if (role === undefined) return "Default";
  if (role.scuRole && role.scpRole) return "SCP/SCU";
  if (role.scuRole) return "SCU";
  return role.scpRole ? "SCP" : "None";
}

function contextLines(
  pc: PresentationContextRq,
  rq: AssociateRqPdu,
  ac: AssociateAcPdu | undefined,
  names: AssociateDumpParams["uidName"],
): string[] {
  const uid = (u: string) => uidText(u, names);
  const answer = ac?.presentationContexts.find((a) => a.id === pc.id);
  const status = answer === undefined
    ? "Proposed"
    : RESULT_NAMES[answer.result] ?? "--Invalid Result/Reason--";
  const lines = [
    `  Context ID:        ${pc.id} (${status})`,
    `    Abstract Syntax: ${uid(pc.abstractSyntax)}`,
    `    Proposed SCP/SCU Role: ${roleName(rq.userInformation.roleSelections, pc.abstractSyntax)}`,
  ];
  if (answer === undefined) {
    lines.push("    Proposed Transfer Syntax(es):");
    for (const ts of pc.transferSyntaxes) lines.push(`      ${uid(ts)}`);
    return lines;
  }
  const acRoles = ac!.userInformation.roleSelections;
  lines.push(`    Accepted SCP/SCU Role: ${roleName(acRoles, pc.abstractSyntax)}`);
  if (answer.result === 0) {
    lines.push(`    Accepted Transfer Syntax: ${uid(answer.transferSyntax)}`);
  }
  return lines;
}

/** Bytes as `[0x01, 0x02]`. */
function hexList(b: Uint8Array): string {
  return `[${Array.from(b, (x) => `0x${x.toString(16).padStart(2, "0")}`).join(", ")}]`;
}

/**
 * The extended negotiation lines under a heading; DCMTK's heading is
 * followed by " none" (aligned per heading) when there is nothing.
 */
function extendedNegotiationLines(
  heading: string,
  noneGap: string,
  ext: readonly SopClassExtendedNegotiation[],
  common: readonly SopClassCommonExtendedNegotiation[],
  names: AssociateDumpParams["uidName"],
): string[] {
  const uid = (u: string) => uidText(u, names);
  if (ext.length === 0 && common.length === 0) return [`${heading}${noneGap}none`];
  const lines = [heading];
  for (const e of ext) {
    lines.push(`  ${uid(e.sopClassUid)}`);
    lines.push(`    Application Information: ${hexList(e.serviceClassApplicationInformation)}`);
  }
  for (const c of common) {
    lines.push(`  ${uid(c.sopClassUid)}`);
    lines.push(`    Service Class: ${uid(c.serviceClassUid)}`);
    for (const related of c.relatedGeneralSopClassUids) {
      lines.push(`    Related General SOP Class: ${uid(related)}`);
    }
  }
  return lines;
}

/** PS3.7 D.3.3.7.1 user identity types. */
const IDENTITY_TYPES: Readonly<Record<number, string>> = {
  1: "Username",
  2: "Username and Passcode",
  3: "Kerberos Service Ticket",
  4: "SAML Assertion",
  5: "JSON Web Token",
};

/**
 * User identity lines. Only a plain username is shown; passcodes, tickets,
 * assertions, tokens and server responses are credentials, so only their
 * length is.
 */
function userIdentityLines(rq?: UserIdentityRq, ac?: UserIdentityAc): string[] {
  const lines = [
    rq === undefined
      ? "Requested User Identity Negotiation: none"
      : "Requested User Identity Negotiation:",
  ];
  if (rq !== undefined) {
    const isName = rq.identityType === 1 || rq.identityType === 2;
    lines.push(
      `  User Identity Type:          ${
        IDENTITY_TYPES[rq.identityType] ?? `Unknown (${rq.identityType})`
      }`,
      `  Positive Response Requested: ${rq.positiveResponseRequested ? "Yes" : "No"}`,
      `  Primary Field:               ${
        isName ? printable(latin1(rq.primaryField)) : `(${rq.primaryField.length} bytes)`
      }`,
    );
    if (rq.identityType === 2) {
      lines.push(`  Secondary Field:             (${rq.secondaryField.length} bytes)`);
    }
  }
  if (ac === undefined) lines.push("User Identity Negotiation Response:  none");
  else {
    lines.push(
      "User Identity Negotiation Response:",
      `  Server Response:             (${ac.serverResponse.length} bytes)`,
    );
  }
  return lines;
}

/**
 * The association parameter block DCMTK prints with `-d`, from
 * `====================== BEGIN A-ASSOCIATE-RQ =====================` to
 * the matching END ruler. `rq` is the request; `ac`, once there, the answer.
 * Lines are joined with "\n", without a final newline.
 */
export function formatAssociateDump(
  kind: "A-ASSOCIATE-RQ" | "A-ASSOCIATE-AC",
  params: AssociateDumpParams,
): string {
  const { rq, ac, we } = params;
  const suffix = kind.slice("A-ASSOCIATE-".length);
  const theirs: UserInformation | undefined = we === "acceptor"
    ? rq.userInformation
    : ac?.userInformation;
  // DCMTK's "responding" title is the called one, known to a requestor from
  // the start and to an acceptor once it answers.
  const responding = ac?.calledAeTitle ?? (we === "requestor" ? rq.calledAeTitle : "");
  return [
    `====================== BEGIN A-ASSOCIATE-${suffix} =====================`,
    `Our Implementation Class UID:      ${params.ourImplementationClassUid}`,
    `Our Implementation Version Name:   ${params.ourImplementationVersionName}`,
    `Their Implementation Class UID:    ${printable(theirs?.implementationClassUid ?? "")}`,
    `Their Implementation Version Name: ${printable(theirs?.implementationVersionName ?? "")}`,
    `Application Context Name:    ${printable((ac ?? rq).applicationContext)}`,
    `Calling Application Name:    ${printable(rq.callingAeTitle)}`,
    `Called Application Name:     ${printable(rq.calledAeTitle)}`,
    `Responding Application Name: ${printable(responding)}`,
    `Our Max PDU Receive Size:    ${params.ourMaxPdu}`,
    `Their Max PDU Receive Size:  ${theirs?.maxLength ?? 0}`,
    "Presentation Contexts:",
    ...rq.presentationContexts.flatMap((pc) => contextLines(pc, rq, ac, params.uidName)),
    ...extendedNegotiationLines(
      "Requested Extended Negotiation:",
      " ",
      rq.userInformation.extendedNegotiations,
      rq.userInformation.commonExtendedNegotiations,
      params.uidName,
    ),
    ...extendedNegotiationLines(
      "Accepted Extended Negotiation:",
      "  ",
      ac?.userInformation.extendedNegotiations ?? [],
      ac?.userInformation.commonExtendedNegotiations ?? [],
      params.uidName,
    ),
    ...userIdentityLines(rq.userInformation.userIdentityRq, ac?.userInformation.userIdentityAc),
    `======================= END A-ASSOCIATE-${suffix} ======================`,
  ].join("\n");
}
