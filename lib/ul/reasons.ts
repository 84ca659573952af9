/**
 * Plain-words descriptions of A-ABORT parameters (PS3.8 9.3.8, Table 9-26),
 * including the reserved values a peer may send.
 *
 * @module
 */

import type { AbortPdu } from "../pdu/types.ts";

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
