/**
 * How a transfer syntax lays out a data set (PS3.5 Section 10, Annex A):
 * explicit or implicit VR, byte order, deflate, encapsulated pixel data.
 *
 * @module
 */

import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  TRANSFER_SYNTAXES,
} from "./uids.ts";

/** The byte layout of data elements: VR in the header or not, byte order (PS3.5 7.1, 7.3). */
export interface Layout {
  /** Each element header carries its VR (PS3.5 7.1.2) rather than leaving it to the dictionary (7.1.3). */
  explicitVr: boolean;
  /** Little endian byte order (PS3.5 7.3). */
  littleEndian: boolean;
}

/** The encoding a transfer syntax gives the data set. */
export interface TsEncoding extends Layout {
  /** The transfer syntax UID. */
  uid: string;
  /** The whole data set is compressed with raw deflate (RFC 1951, PS3.5 A.5). */
  deflated: boolean;
  /** Pixel Data is encapsulated in fragments (PS3.5 A.4). */
  encapsulated: boolean;
}

/** Implicit VR little endian: the layout of the default syntax and of UN sequences (PS3.5 6.2.2). */
export const IMPLICIT_LE: Layout = { explicitVr: false, littleEndian: true };

/** Explicit VR little endian: the layout of file meta information (PS3.10 7.1) and of every compressed syntax (PS3.5 A.4). */
export const EXPLICIT_LE: Layout = { explicitVr: true, littleEndian: true };

const EXPLICIT_BE: Layout = { explicitVr: true, littleEndian: false };

function encoding(
  uid: string,
  layout: Layout,
  deflated = false,
  encapsulated = false,
): TsEncoding {
  return { uid, ...layout, deflated, encapsulated };
}

/** The syntaxes that are not encapsulated: native ones (PS3.5 A.1-A.3, A.5) and those that reference their pixel data. */
const NOT_ENCAPSULATED: ReadonlyMap<string, TsEncoding> = new Map(
  [
    encoding(IMPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_LE),
    encoding(EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_LE),
    encoding(EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_BE),
    encoding(DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_LE, true),
    // JPIP Referenced (Deflate): the pixel data is fetched by URL (PS3.5 Annex A).
    encoding("1.2.840.10008.1.2.4.94", EXPLICIT_LE),
    encoding("1.2.840.10008.1.2.4.95", EXPLICIT_LE, true),
    encoding("1.2.840.10008.1.2.4.204", EXPLICIT_LE),
    encoding("1.2.840.10008.1.2.4.205", EXPLICIT_LE, true),
    // SMPTE ST 2110: the essence travels outside the data set (PS3.5 Annex A).
    encoding("1.2.840.10008.1.2.7.1", EXPLICIT_LE),
    encoding("1.2.840.10008.1.2.7.2", EXPLICIT_LE),
    encoding("1.2.840.10008.1.2.7.3", EXPLICIT_LE),
  ].map((e) => [e.uid, e]),
);

/**
 * Syntaxes in the UID table that are no binary data set encoding this codec
 * reads: RFC 2557 MIME and XML encodings (PS3.6 Table A-1) and GE's private
 * implicit VR with big endian pixel data.
 */
const NOT_BINARY = new Set([
  "1.2.840.10008.1.2.6.1",
  "1.2.840.10008.1.2.6.2",
  "1.2.840.113619.5.2",
]);

/**
 * The encoding of a known transfer syntax, undefined for an unknown one.
 * Every compressed syntax is explicit VR little endian with encapsulated
 * pixel data (PS3.5 A.4).
 */
export function tsEncoding(uid: string): TsEncoding | undefined {
  const plain = NOT_ENCAPSULATED.get(uid);
  if (plain) return plain;
  if (NOT_BINARY.has(uid) || !TRANSFER_SYNTAXES.some((t) => t.uid === uid)) return undefined;
  return encoding(uid, EXPLICIT_LE, false, true);
}

const NATIVE = new Set([
  IMPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
]);

/**
 * True for the four syntaxes a data set can be transcoded between: implicit
 * VR little endian, explicit VR little and big endian, deflated explicit VR
 * little endian (PS3.5 A.1, A.2, A.3, A.5).
 */
export function isNativeUncompressed(uid: string): boolean {
  return NATIVE.has(uid);
}
