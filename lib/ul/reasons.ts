/**
 * Plain-words descriptions of A-ABORT parameters (PS3.8 9.3.8, Table 9-26)
 * and A-ASSOCIATE-RJ results (PS3.8 9.3.4, Table 9-21), including the
 * reserved values a peer may send.
 *
 * @module
 */

import type { AbortPdu, AssociateRjPdu } from "../pdu/types.ts";

/** Names of the A-ABORT reasons when the source is the service provider, PS3.8 Table 9-26. */
const PROVIDER_REASONS: Readonly<Record<number, string>> = {
  0: "reason-not-specified",
  1: "unrecognized-PDU",
  2: "unexpected-PDU",
  4: "unrecognized-PDU-parameter",
  5: "unexpected-PDU-parameter",
  6: "invalid-PDU-parameter-value",
};

/** The A-ABORT source in words (PS3.8 9.3.8: 0 service-user, 1 reserved, 2 service-provider). */
export function abortSourceName(source: number): string {
  if (source === 0) return "service-user";
  if (source === 2) return "service-provider";
  return `reserved source ${source}`;
}

/** The A-ABORT reason in words; only a service-provider abort gives it a meaning (PS3.8 9.3.8). */
export function abortReasonName(source: number, reason: number): string {
  if (source !== 2) return `reason ${reason}`;
  return PROVIDER_REASONS[reason] ?? `reserved reason ${reason}`;
}

/** "peer sent A-ABORT (service-provider, unexpected-PDU)" and the like. */
export function describePeerAbort(abort: AbortPdu): string {
  return `peer sent A-ABORT (${abortSourceName(abort.source)}, ${
    abortReasonName(abort.source, abort.reason)
  })`;
}

const RESULT: Record<number, string> = { 1: "Rejected Permanent", 2: "Rejected Transient" };

const SOURCE: Record<number, string> = {
  1: "Service User",
  2: "Service Provider (ACSE Related Function)",
  3: "Service Provider (Presentation Related Function)",
};

// PS3.8 Table 9-21: the reason's meaning depends on the source.
const REASON: Record<number, Record<number, string>> = {
  1: {
    1: "No Reason",
    2: "App Context Name Not Supported",
    3: "Calling AE Title Not Recognized",
    7: "Called AE Title Not Recognized",
  },
  2: { 1: "No Reason", 2: "Protocol Version Not Supported" },
  3: { 1: "Temporary Congestion", 2: "Local Limit Exceeded" },
};

/**
 * An A-ASSOCIATE-RJ in words (PS3.8 9.3.4, Table 9-21), as two lines
 * (`Result: ..., Source: ...` / `Reason: ...`), the names DCMTK prints.
 */
export function describeReject(rj: AssociateRjPdu): string[] {
  const result = RESULT[rj.result] ?? `Unknown Result ${rj.result}`;
  const source = SOURCE[rj.source] ?? `Unknown Source ${rj.source}`;
  const reason = REASON[rj.source]?.[rj.reason] ?? `Reserved (${rj.reason})`;
  return [`Result: ${result}, Source: ${source}`, `Reason: ${reason}`];
}
