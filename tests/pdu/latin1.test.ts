/**
 * latin1 (lib/util/bytes.ts): bytes as one character each, for AE titles and UIDs in PDUs and
 * ISO 646 text in data sets. It converts in slices (one call per slice, not a string grown
 * per byte); the result must be the per-byte one at every length, slice edges included.
 */
import assert from "node:assert/strict";
import { latin1, latin1Bytes } from "../../lib/util/bytes.ts";

function perByte(b: Uint8Array): string {
  let s = "";
  for (const byte of b) s += String.fromCharCode(byte);
  return s;
}

Deno.test("latin1: every byte value, at lengths around the slice size, as the per-byte conversion", () => {
  const all = new Uint8Array(20_000).map((_, i) => (i * 7 + (i >> 8)) & 0xff);
  for (const n of [0, 1, 2, 64, 255, 256, 4095, 4096, 4097, 8191, 8192, 8193, 12_289, 20_000]) {
    const b = all.subarray(all.length - n);
    const s = latin1(b);
    assert.equal(s.length, n);
    assert.equal(s, perByte(b), `length ${n}`);
    assert.deepEqual(latin1Bytes(s), b);
  }
});
