/**
 * P-DATA-TF PDU body (PS3.8 9.3.5): bytes 7-xxx, one or more presentation
 * data value items.
 *
 * @module
 */

import type { Field } from "./bytes.ts";
import { PduDecodeError } from "./errors.ts";
import { ABORT_REASON, type PDataTfPdu, type Pdv } from "./types.ts";

const INVALID = ABORT_REASON.invalidPduParameterValue;

/** Message control header bits (PS3.8 Annex E.2); bits 2-7 are reserved, written 0, not tested. */
const COMMAND_BIT = 0x01;
const LAST_BIT = 0x02;

/**
 * One PDV item (PS3.8 9.3.5.1): 1-4 item-length (counting from byte 5),
 * 5 presentation-context-ID, 6-xxx presentation-data-value, whose first
 * byte is the message control header (Annex E.2). The item-length therefore
 * is at least 2; the data is returned as a view of the PDU's bytes.
 */
const pdvItem: Field<Pdv> = {
  read(r) {
    const length = r.u32();
    if (length < 2) {
      throw new PduDecodeError(`PDV item length ${length} is below the minimum of 2`, INVALID);
    }
    const item = r.sub(length, "PDV item");
    const contextId = item.u8();
    const control = item.u8();
    return {
      contextId,
      isCommand: (control & COMMAND_BIT) !== 0,
      isLast: (control & LAST_BIT) !== 0,
      data: item.rest(),
    };
  },
  write(w, v) {
    w.lengthPrefixed(4, () => {
      w.u8(v.contextId);
      w.u8((v.isCommand ? COMMAND_BIT : 0) | (v.isLast ? LAST_BIT : 0));
      w.bytes(v.data);
    });
  },
};

/** P-DATA-TF body; an empty one is invalid (9.3.5: "one or more" PDV items). */
export const pDataTfBody: Field<PDataTfPdu> = {
  read(r) {
    if (r.remaining === 0) throw new PduDecodeError("P-DATA-TF without PDV items", INVALID);
    const pdvs: Pdv[] = [];
    while (r.remaining > 0) pdvs.push(pdvItem.read(r));
    return { type: "P-DATA-TF", pdvs };
  },
  write(w, v) {
    for (const pdv of v.pdvs) pdvItem.write(w, pdv);
  },
};

/** Encoded size of a P-DATA-TF PDU: the 6-byte header, then per PDV 6 bytes of item header and its data (PS3.8 9.3.5). */
export function pDataTfPduLength(pdu: PDataTfPdu): number {
  let length = 6;
  for (const pdv of pdu.pdvs) length += 6 + pdv.data.length;
  return length;
}
