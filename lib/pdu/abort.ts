/**
 * A-ABORT PDU body (PS3.8 9.3.8): 7 reserved, 8 reserved, 9 source,
 * 10 reason/diagnostic (significant only when the source is 2). Values
 * outside the standard's are kept as received. The fixed PDU-length of 4 is
 * checked by codec.ts.
 *
 * @module
 */

import { constant, type Field, record, reserved, u8 } from "./bytes.ts";
import type { AbortPdu } from "./types.ts";

/** A-ABORT body. */
export const abortBody: Field<AbortPdu> = record<AbortPdu>(
  ["type", constant("A-ABORT")],
  reserved(2), // 7-8
  ["source", u8], // 9
  ["reason", u8], // 10
);
