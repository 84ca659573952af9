/**
 * The direct P-DATA-TF encoder (encodePDataTf, behind encodePdu) against the
 * PS3.8 9.3.5 field tables it stands in for: the same bytes for every shape
 * of PDU, the same errors, and the three places it writes to (a new buffer,
 * the caller's `into`, a PDataFrame).
 */
import assert from "node:assert/strict";
import { ByteWriter } from "../../lib/pdu/bytes.ts";
import { decodePdu, encodePdu } from "../../lib/pdu/codec.ts";
import {
  encodePDataTf,
  PDataFrame,
  pDataTfBody,
  pDataTfPduLength,
  writePDataTf,
} from "../../lib/pdu/pdata.ts";
import type { PDataTfPdu, Pdv } from "../../lib/pdu/types.ts";
import { hex } from "../../testing/hex.ts";

/** The PDU as the field tables write it: header, then the body codec. */
function byTables(pdu: PDataTfPdu): Uint8Array {
  const w = new ByteWriter(16);
  w.u8(0x04);
  w.u8(0);
  w.lengthPrefixed(4, () => pDataTfBody.write(w, pdu));
  return w.finish();
}

function pdv(contextId: number, isCommand: boolean, isLast: boolean, n: number): Pdv {
  return { contextId, isCommand, isLast, data: Uint8Array.from({ length: n }, (_, i) => i * 7) };
}

const SHAPES: PDataTfPdu[] = [
  { type: "P-DATA-TF", pdvs: [pdv(1, true, true, 74)] },
  { type: "P-DATA-TF", pdvs: [pdv(255, false, false, 0)] },
  { type: "P-DATA-TF", pdvs: [pdv(3, false, true, 16372)] },
  {
    type: "P-DATA-TF",
    pdvs: [pdv(1, true, false, 10), pdv(1, true, true, 4), pdv(5, false, false, 300)],
  },
];

Deno.test("P-DATA-TF: the direct encoder writes the field tables' bytes, for every shape", () => {
  for (const pdu of SHAPES) {
    const expected = byTables(pdu);
    assert.deepEqual(encodePdu(pdu), expected);
    assert.deepEqual(decodePdu(encodePdu(pdu)), pdu);
  }
  // A command PDV of 2 bytes, by hand (PS3.8 9.3.1, 9.3.5.1, E.2).
  assert.deepEqual(
    encodePdu({
      type: "P-DATA-TF",
      pdvs: [{ contextId: 1, isCommand: true, isLast: true, data: hex("abcd") }],
    }),
    hex("04 00 00000008 00000004 01 03 abcd"),
  );
});

Deno.test("P-DATA-TF: into the caller's buffer from its start, or undefined when it is too small", () => {
  for (const pdu of SHAPES) {
    const expected = byTables(pdu);
    const into = new Uint8Array(expected.length + 9).fill(0xee);
    const out = encodePdu(pdu, into);
    assert.equal(out.buffer, into.buffer);
    assert.equal(out.byteOffset, 0);
    assert.deepEqual(out, expected);
    assert.deepEqual(into.subarray(expected.length), new Uint8Array(9).fill(0xee));
    assert.equal(encodePDataTf(pdu, new Uint8Array(expected.length - 1)), undefined);
    // encodePdu then falls back to the general writer, which grows past a short buffer.
    assert.deepEqual(encodePdu(pdu, new Uint8Array(expected.length - 1)), expected);
  }
});

Deno.test("P-DATA-TF: a frame's PDU is encoded in the frame, its data not moved", () => {
  const frame = new PDataFrame(64);
  frame.data.set(Uint8Array.from({ length: 64 }, (_, i) => 255 - i));
  const pdu = frame.pdu(7, false, true, 40);
  const out = encodePdu(pdu);
  assert.equal(out.buffer, frame.bytes.buffer);
  assert.deepEqual(out, byTables(pdu));
});

Deno.test("P-DATA-TF: values that do not fit are refused as the field tables refuse them", () => {
  for (const contextId of [256, -1, 1.5]) {
    const pdu: PDataTfPdu = { type: "P-DATA-TF", pdvs: [pdv(contextId, true, true, 2)] };
    assert.throws(() => byTables(pdu), RangeError);
    assert.throws(
      () => encodePdu(pdu),
      new RangeError(`8-bit field: ${contextId} is not an integer in 0..255`),
    );
  }
});

Deno.test("P-DATA-TF: writePDataTf writes the field tables' bytes at an offset, and nothing around them", () => {
  for (const pdu of SHAPES) {
    const expected = byTables(pdu);
    const size = pDataTfPduLength(pdu);
    assert.equal(size, expected.length);
    for (const at of [0, 1, 37]) {
      const out = new Uint8Array(at + size + 9).fill(0xee);
      writePDataTf(pdu, out, at, size);
      assert.deepEqual(out.subarray(at, at + size), expected, `at ${at}`);
      assert.ok(out.subarray(0, at).every((b) => b === 0xee), "bytes before it changed");
      assert.ok(out.subarray(at + size).every((b) => b === 0xee), "bytes after it changed");
    }
  }
  // An invalid context ID throws before a byte is written.
  const bad: PDataTfPdu = { type: "P-DATA-TF", pdvs: [pdv(256, false, true, 4)] };
  const out = new Uint8Array(64).fill(0xee);
  assert.throws(() => writePDataTf(bad, out, 3, pDataTfPduLength(bad)), RangeError);
  assert.ok(out.every((b) => b === 0xee));
});
