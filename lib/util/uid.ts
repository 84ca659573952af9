/**
 * UID syntax (PS3.5 9.1) and new UIDs for instances we create (PS3.5 B.2).
 * Below every layer: names and tables of known UIDs are in lib/dicom/uids.ts.
 *
 * @module
 */

/**
 * A new, globally unique UID: `2.25.` followed by the decimal value of a
 * random (version 4) UUID, as PS3.5 B.2 allows without a registered root.
 * At most 44 characters (`2.25.` + up to 39 digits), within the 64 of
 * PS3.5 9.1; the UUID supplies 122 random bits (RFC 4122 4.4).
 */
export function newUid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  // RFC 4122 4.4: version 4 in the high nibble of byte 6, variant 10xx in byte 8.
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  // BigInt's decimal form has no leading zeros, as PS3.5 9.1 requires.
  return `2.25.${value}`;
}

/** True when `uid` is a syntactically valid UID (PS3.5 9.1): digits and dots, at most 64 chars, no empty or zero-led components. */
export function isValidUid(uid: string): boolean {
  return uid.length > 0 && uid.length <= 64 && /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/.test(uid);
}
