/**
 * A-ASSOCIATE-RQ (PS3.8 9.3.2), -AC (9.3.3) and -RJ (9.3.4) PDU bodies: the
 * bytes after the 6-byte PDU header (type, reserved, PDU-length), which
 * codec.ts reads and writes. Byte numbers below are the standard's, counted
 * from the first byte of the PDU.
 *
 * @module
 */

import { constant, type Field, record, reserved, u16, u8 } from "./bytes.ts";
import { latin1 } from "../util/bytes.ts";
import { PduDecodeError } from "./errors.ts";
import {
  applicationContextItem,
  type ItemCodec,
  presentationContextAcItem,
  presentationContextRqItem,
  readItems,
  userInformationItem,
  writeItem,
} from "./items.ts";
import {
  ABORT_REASON,
  type AssociateAcPdu,
  type AssociateRjPdu,
  type AssociateRqPdu,
} from "./types.ts";

/** AE titles occupy 16 bytes (PS3.8 9.3.2, bytes 11-26 and 27-42). */
const AE_TITLE_LENGTH = 16;

/**
 * An AE title field: 16 bytes, space padded (PS3.8 9.3.2: leading and
 * trailing spaces are not significant). Read trimmed; written padded; longer
 * than 16 characters is a RangeError.
 */
const aeTitle: Field<string> = {
  read: (r) => latin1(r.bytesView(AE_TITLE_LENGTH)).replace(/^ +| +$/g, ""),
  write(w, v) {
    if (v.length > AE_TITLE_LENGTH) {
      throw new RangeError(`AE title "${v}" is longer than ${AE_TITLE_LENGTH} characters`);
    }
    w.latin1(v.padEnd(AE_TITLE_LENGTH, " "));
  },
};

/** The fields RQ and AC share, without the presentation contexts. */
type Common = Omit<AssociateRqPdu, "type" | "presentationContexts">;

/**
 * Bytes 7-74, the same in RQ and AC. In the AC, bytes 11-42 echo the RQ and
 * "shall not be tested" (9.3.3); they are still kept, for dumps.
 */
const fixedPart = record<Pick<Common, "protocolVersion" | "calledAeTitle" | "callingAeTitle">>(
  ["protocolVersion", u16], // 7-8, kept as read: the acceptor decides what to do with it
  reserved(2), // 9-10
  ["calledAeTitle", aeTitle], // 11-26
  ["callingAeTitle", aeTitle], // 27-42
  reserved(32), // 43-74
);

/**
 * The RQ or AC body: bytes 7-74, then from byte 75 the variable items, one
 * application context item, the presentation context items (20H in the RQ,
 * 21H in the AC) and one user information item. A missing application
 * context or user information item is an invalid parameter; so is an RQ
 * without presentation contexts (9.3.2: "one or more").
 */
function associateBody<T extends string, C>(
  type: T,
  contextItem: ItemCodec<C>,
  minContexts: number,
): Field<Common & { type: T; presentationContexts: C[] }> {
  return {
    read(r) {
      const fixed = fixedPart.read(r);
      const items = readItems(r, type, [applicationContextItem, contextItem, userInformationItem]);
      const applicationContext = items.one(applicationContextItem);
      const presentationContexts = items.all(contextItem);
      if (presentationContexts.length < minContexts) {
        throw new PduDecodeError(
          `${type}: no presentation context item`,
          ABORT_REASON.invalidPduParameterValue,
        );
      }
      const userInformation = items.one(userInformationItem);
      return { type, ...fixed, applicationContext, presentationContexts, userInformation };
    },
    write(w, v) {
      fixedPart.write(w, v);
      writeItem(w, applicationContextItem, v.applicationContext);
      for (const pc of v.presentationContexts) writeItem(w, contextItem, pc);
      writeItem(w, userInformationItem, v.userInformation);
    },
  };
}

/** A-ASSOCIATE-RQ body (PS3.8 9.3.2). */
export const associateRqBody: Field<AssociateRqPdu> = associateBody(
  "A-ASSOCIATE-RQ",
  presentationContextRqItem,
  1,
);

/** A-ASSOCIATE-AC body (PS3.8 9.3.3); an AC may reject or omit every context. */
export const associateAcBody: Field<AssociateAcPdu> = associateBody(
  "A-ASSOCIATE-AC",
  presentationContextAcItem,
  0,
);

/**
 * A-ASSOCIATE-RJ body (PS3.8 9.3.4): 7 reserved, 8 result, 9 source,
 * 10 reason/diagnostic. Values outside the standard's are kept as received.
 */
export const associateRjBody: Field<AssociateRjPdu> = record<AssociateRjPdu>(
  ["type", constant("A-ASSOCIATE-RJ")],
  reserved(1), // 7
  ["result", u8], // 8
  ["source", u8], // 9
  ["reason", u8], // 10
);
