/**
 * Turning association failures into words: DCMTK's wording for the log
 * lines users' scripts grep, and one plain sentence saying what to check.
 *
 * @module
 */
import type { AbortPdu, AssociateRjPdu } from "../../pdu/types.ts";
import { describeReject } from "../../ul/reasons.ts";

/** One plain sentence: why the peer rejected us and what to check. */
export function explainReject(rj: AssociateRjPdu, ae: { calling: string; called: string }): string {
  const transient = rj.result === 2 ? " (transient: retrying later may work)" : "";
  const key = `${rj.source}/${rj.reason}`;
  const why: Record<string, string> = {
    "1/1": "the peer rejected the association without giving a reason: check that it knows " +
      `our AE title '${ae.calling}' and that '${ae.called}' is its AE title`,
    "1/2": "the peer does not support the DICOM application context: it may not be a DICOM " +
      "service, or only a private one",
    "1/3": `calling AE title '${ae.calling}' not recognized: the peer only accepts AE titles ` +
      "it was configured with; ask for ours to be added or set -aet; AE titles are case-sensitive",
    "1/7": `called AE title '${ae.called}' not recognized: -aec must match the AE title ` +
      "configured on the peer; AE titles are case-sensitive",
    "2/1": "the peer's DICOM stack rejected the association without giving a reason",
    "2/2": "the peer does not support DICOM upper layer protocol version 1",
    "3/1": "the peer is too busy (temporary congestion): try again later",
    "3/2": "the peer has reached its limit of associations (local limit exceeded): try again " +
      "later or raise its limit",
  };
  return (why[key] ?? `the peer rejected the association (${describeReject(rj).join("; ")})`) +
    transient;
}

/**
 * What a peer's A-ABORT usually means and what to check (PS3.8 9.3.8,
 * Table 9-26), `during` the association request or an operation. A
 * service-user abort carries no reason: the peer's application ended it.
 */
export function explainPeerAbort(
  abort: AbortPdu,
  during: "association" | "operation",
  callingAeTitle = "",
): string {
  if (abort.source === 0) {
    return during === "association"
      ? "the peer's application refused the association by aborting it instead of rejecting " +
        `it: it usually does not know our AE title '${callingAeTitle}' or this host's address, or ` +
        "has reached a limit of connections or licences; check the peer's log and its list of " +
        "known AE titles and hosts"
      : "the peer's application ended the association (it gives no reason): it usually could " +
        "not process the request (disk full, object refused, restart, an operator); check the " +
        "peer's log at this time";
  }
  if (abort.source !== 2) {
    return "the abort carries a reserved source: the peer does not follow PS3.8; check its log";
  }
  switch (abort.reason) {
    case 0:
      return "the peer's DICOM stack gave no reason; check the peer's log";
    case 1:
      return "the peer did not recognise a PDU we sent: the port may not speak DICOM's upper " +
        "layer, or something between us (a proxy, a TLS terminator) alters the stream";
    case 2:
      return "the peer got a PDU it did not expect in its state: often its own timeout expired " +
        "first, or it does not support what we asked; check its log and timeouts";
    case 4:
    case 5:
      return "the peer does not accept an item of our request (an extended negotiation item " +
        "such as user identity?); check what it supports";
    case 6:
      return "the peer found a value of our request invalid: often the maximum PDU length, an " +
        "AE title, or more presentation contexts or transfer syntaxes than it takes; check " +
        "its log";
    default:
      return `the abort carries reserved reason ${abort.reason}: the peer does not follow ` +
        "PS3.8; check its log";
  }
}
