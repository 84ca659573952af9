/**
 * Whole PDUs: the 6-byte header shared by all seven (PS3.8 9.3.1: byte 1
 * PDU-type, byte 2 reserved, bytes 3-6 PDU-length counting the bytes after
 * the header) and a table from PDU type to body codec.
 *
 * @module
 */

import { abortBody } from "./abort.ts";
import { associateAcBody, associateRjBody, associateRqBody } from "./associate.ts";
import { ByteReader, ByteWriter, type Field } from "./bytes.ts";
import { PduDecodeError } from "./errors.ts";
import { encodePDataTf, frameOf, pDataTfBody, pDataTfPduLength } from "./pdata.ts";
import { releaseRpBody, releaseRqBody } from "./release.ts";
import { ABORT_REASON, type Pdu, PDU_TYPE, type PduTypeName } from "./types.ts";

/** Bytes before the variable field of every PDU. */
export const PDU_HEADER_LENGTH = 6;

interface PduEntry<P extends Pdu> {
  body: Field<P>;
  /** The only PDU-length the standard allows, for the fixed-size PDUs. */
  fixedLength?: number;
}

const PDUS: { [K in PduTypeName]: PduEntry<Extract<Pdu, { type: K }>> } = {
  "A-ASSOCIATE-RQ": { body: associateRqBody },
  "A-ASSOCIATE-AC": { body: associateAcBody },
  "A-ASSOCIATE-RJ": { body: associateRjBody, fixedLength: 4 },
  "P-DATA-TF": { body: pDataTfBody },
  "A-RELEASE-RQ": { body: releaseRqBody, fixedLength: 4 },
  "A-RELEASE-RP": { body: releaseRpBody, fixedLength: 4 },
  "A-ABORT": { body: abortBody, fixedLength: 4 },
};

const NAMES = new Map<number, PduTypeName>(
  (Object.entries(PDU_TYPE) as [PduTypeName, number][]).map(([name, code]) => [code, name]),
);

/** The PDU's name for a PDU-type byte, or undefined if the byte is not one. */
export function pduTypeName(code: number): PduTypeName | undefined {
  return NAMES.get(code);
}

/** The PDU-length a fixed-size PDU must have (4), undefined for the others. */
export function fixedPduLength(name: PduTypeName): number | undefined {
  return PDUS[name].fixedLength;
}

/**
 * Byte signatures of other protocols, so that a peer speaking the wrong one
 * gets told so (docs/SECURITY_CLASSES.md #11).
 */
const FOREIGN_PROTOCOLS: readonly { prefix: readonly number[]; hint: string }[] = [
  ..."GET |POST|PUT |HEAD|HTTP".split("|").map((s) => ({
    prefix: [...s].map((c) => c.charCodeAt(0)),
    hint: "looks like HTTP",
  })),
  { prefix: [0x16, 0x03], hint: "looks like a TLS ClientHello: is the peer using TLS?" },
  // A TLS server's answer to plain bytes: an alert record (RFC 8446 5.1, ContentType 21).
  { prefix: [0x15, 0x03], hint: "looks like a TLS alert: does the peer expect TLS?" },
];

/**
 * The error for a first byte that is no PDU type. `start` holds the bytes
 * seen so far (at least one); a hint names the protocol they look like,
 * judged on as many bytes as are there.
 */
export function unrecognizedPduError(start: Uint8Array): PduDecodeError {
  const hint = FOREIGN_PROTOCOLS.find(({ prefix }) =>
    prefix.slice(0, start.length).every((b, i) => start[i] === b)
  )?.hint;
  const code = `0x${start[0].toString(16).padStart(2, "0")}`;
  return new PduDecodeError(
    `unrecognized PDU type ${code}${hint ? `: ${hint}` : ""}`,
    ABORT_REASON.unrecognizedPdu,
  );
}

/**
 * Encodes a PDU, header included. Throws RangeError for values that cannot
 * be encoded. With `into`, the PDU is written at its start when it fits (the
 * result is then a view of it), which lets the upper layer gather P-DATA
 * PDUs into one write buffer without a second copy. Without it, a P-DATA-TF
 * built by a `PDataFrame` (pdata.ts) is encoded in the frame: its headers are
 * written in front of its data, which is not copied.
 */
export function encodePdu(pdu: Pdu, into?: Uint8Array): Uint8Array {
  if (pdu.type === "P-DATA-TF") {
    const out = encodePDataTf(pdu, into);
    if (out) return out;
  }
  // P-DATA's size is known up front: no growing (and re-copying) of the buffer.
  const w = new ByteWriter(
    into ??
      (pdu.type === "P-DATA-TF" ? frameOf(pdu) ?? pDataTfPduLength(pdu) : 256),
  );
  w.u8(PDU_TYPE[pdu.type]);
  w.u8(0);
  // The table is indexed by the PDU's own type, so its body codec fits it;
  // TypeScript cannot follow that correlation through the union.
  const body = PDUS[pdu.type].body as Field<Pdu>;
  w.lengthPrefixed(4, () => body.write(w, pdu));
  return w.finish();
}

/**
 * Decodes one whole PDU (`bytes` is exactly the header and the variable
 * field). Throws PduDecodeError, and nothing else, on malformed input.
 */
export function decodePdu(bytes: Uint8Array): Pdu {
  if (bytes.length === 0) {
    throw new PduDecodeError("empty PDU", ABORT_REASON.invalidPduParameterValue);
  }
  const name = pduTypeName(bytes[0]);
  if (name === undefined) throw unrecognizedPduError(bytes);
  const r = new ByteReader(bytes, 0, bytes.length, name);
  r.skip(2);
  const length = r.u32();
  if (length !== r.remaining) {
    throw new PduDecodeError(
      `${name}: PDU-length ${length} but ${r.remaining} bytes follow the header`,
      ABORT_REASON.invalidPduParameterValue,
    );
  }
  const entry = PDUS[name] as PduEntry<Pdu>;
  if (entry.fixedLength !== undefined && length !== entry.fixedLength) {
    throw new PduDecodeError(
      `${name}: PDU-length ${length}, must be ${entry.fixedLength}`,
      ABORT_REASON.invalidPduParameterValue,
    );
  }
  const pdu = entry.body.read(r);
  r.expectEnd();
  return pdu;
}
