/**
 * A-RELEASE-RQ (PS3.8 9.3.6) and A-RELEASE-RP (9.3.7) PDU bodies: bytes
 * 7-10 reserved. The fixed PDU-length of 4 is checked by codec.ts.
 *
 * @module
 */

import { constant, type Field, record, reserved } from "./bytes.ts";
import type { ReleaseRpPdu, ReleaseRqPdu } from "./types.ts";

function releaseBody<T extends "A-RELEASE-RQ" | "A-RELEASE-RP">(type: T): Field<{ type: T }> {
  return record<{ type: T }>(["type", constant(type)], reserved(4)); // 7-10
}

/** A-RELEASE-RQ body. */
export const releaseRqBody: Field<ReleaseRqPdu> = releaseBody("A-RELEASE-RQ");

/** A-RELEASE-RP body. */
export const releaseRpBody: Field<ReleaseRpPdu> = releaseBody("A-RELEASE-RP");
