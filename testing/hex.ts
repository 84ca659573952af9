/**
 * Test vectors written as hex text.
 *
 * @module
 */
import assert from "node:assert/strict";

/**
 * Bytes from hex text: whitespace ignored, `//` comments to the end of the
 * line ignored, so vectors can name the standard's byte offsets inline.
 */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/\/\/[^\n]*/g, "").replace(/\s+/g, "");
  assert.match(digits, /^([0-9a-fA-F]{2})*$/, "hex vector");
  return Uint8Array.from(digits.match(/../g) ?? [], (b) => parseInt(b, 16));
}
