/**
 * Length abuse (docs/SECURITY_CLASSES.md #3, #4): every item and sub-item with a
 * length of 0, 1, remaining+1 and 0xFFFF; PDVs and PDU headers that lie.
 * Each must end in PduDecodeError with the right abort reason, never another
 * exception, and never in an allocation of the claimed size.
 */

import assert from "node:assert/strict";
import { decodePdu, encodePdu } from "../../lib/pdu/codec.ts";
import { PduDecodeError } from "../../lib/pdu/errors.ts";
import { PduReader } from "../../lib/pdu/reader.ts";
import { ABORT_REASON, type AssociateRqPdu } from "../../lib/pdu/types.ts";
import {
  a,
  assertDecodeError,
  fullAssociatePdus,
  h,
  itemPositions,
  PDU_VECTORS,
  withU16,
} from "../../testing/pdu_vectors.ts";

const INVALID = ABORT_REASON.invalidPduParameterValue;

/**
 * Lengths beyond the container are always an invalid parameter value. A
 * shorter length leaves the item's tail to be read as further items, which
 * is either invalid or, when the tail holds one of the item's own
 * sub-items, an item out of place (an unexpected parameter).
 */
for (const pdu of fullAssociatePdus()) {
  const raw = encodePdu(pdu);
  for (const item of itemPositions(raw)) {
    const remaining = item.containerEnd - (item.at + 4);
    const declared = (raw[item.at + 2] << 8) | raw[item.at + 3];
    for (const length of [0, 1, remaining + 1, 0xffff]) {
      if (length === declared) continue;
      Deno.test(`${pdu.type}: item 0x${item.type.toString(16)} with length ${length}`, () => {
        const reasons = length > remaining
          ? [INVALID]
          : [INVALID, ABORT_REASON.unexpectedPduParameter];
        assertDecodeError(() => decodePdu(withU16(raw, item.at + 2, length)), reasons);
      });
    }
  }
}

Deno.test("a presentation context shorter than its sub-items", () => {
  const raw = PDU_VECTORS[0].bytes;
  const pc = itemPositions(raw).find((p) => p.type === 0x20)!;
  const declared = (raw[pc.at + 2] << 8) | raw[pc.at + 3];
  // Cut inside the last transfer syntax sub-item: it overruns the context.
  for (const shortBy of [1, 2, 5, 8]) {
    assertDecodeError(() => decodePdu(withU16(raw, pc.at + 2, declared - shortBy)), INVALID);
  }
  // Cut exactly before it: the sub-item is left at the top level, out of place.
  assertDecodeError(
    () => decodePdu(withU16(raw, pc.at + 2, declared - 9)),
    ABORT_REASON.unexpectedPduParameter,
  );
});

Deno.test("fixed-size sub-items with a wrong length", () => {
  const rq = PDU_VECTORS[0].bytes;
  const ml = itemPositions(rq).find((p) => p.type === 0x51)!;
  // Maximum length sub-item of 3 or 5 bytes inside an unchanged user information item.
  const three = [...rq.subarray(0, ml.at), ...h`51 00 0003 000040`];
  assertDecodeError(() => decodePdu(fixLengths(three, ml.at)), INVALID, /maximum length/);
  const five = [...rq.subarray(0, ml.at), ...h`51 00 0005 0000400000`];
  assertDecodeError(() => decodePdu(fixLengths(five, ml.at)), INVALID, /trailing/);
});

/** `bytes` with the PDU-length and the user information item length (at uiAt-4) recomputed. */
function fixLengths(bytes: number[], subItemAt: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  const view = new DataView(out.buffer);
  view.setUint32(2, out.length - 6);
  view.setUint16(subItemAt - 2, out.length - subItemAt);
  return out;
}

function rqWith(change: Partial<AssociateRqPdu>): AssociateRqPdu {
  return { ...(PDU_VECTORS[0].pdu as AssociateRqPdu), ...change };
}

/** The RQ vector with the items of the given types removed (lengths fixed up). */
function withoutItems(raw: Uint8Array, types: number[]): Uint8Array {
  const kept = [...raw.subarray(0, 74)];
  for (const p of itemPositions(raw)) {
    if (p.depth > 0 || types.includes(p.type)) continue;
    const length = (raw[p.at + 2] << 8) | raw[p.at + 3];
    kept.push(...raw.subarray(p.at, p.at + 4 + length));
  }
  const out = Uint8Array.from(kept);
  new DataView(out.buffer).setUint32(2, out.length - 6);
  return out;
}

Deno.test("A-ASSOCIATE-RQ/AC without a mandatory item is an invalid parameter", () => {
  for (const v of PDU_VECTORS.slice(0, 2)) {
    assertDecodeError(
      () => decodePdu(withoutItems(v.bytes, [0x10])),
      INVALID,
      /application context/,
    );
    assertDecodeError(() => decodePdu(withoutItems(v.bytes, [0x50])), INVALID, /user information/);
  }
  assertDecodeError(
    () => decodePdu(withoutItems(PDU_VECTORS[0].bytes, [0x20])),
    INVALID,
    /presentation/,
  );
  const acNoContexts = withoutItems(PDU_VECTORS[1].bytes, [0x21]);
  assert.deepEqual(decodePdu(acNoContexts), { ...PDU_VECTORS[1].pdu, presentationContexts: [] });
});

Deno.test("a duplicated single item is an unexpected parameter", () => {
  const raw = PDU_VECTORS[0].bytes;
  const ac = itemPositions(raw).find((p) => p.type === 0x10)!;
  const item = raw.subarray(ac.at, ac.at + 25);
  const twice = Uint8Array.from([...raw.subarray(0, 74), ...item, ...raw.subarray(74)]);
  new DataView(twice.buffer).setUint32(2, twice.length - 6);
  assertDecodeError(() => decodePdu(twice), ABORT_REASON.unexpectedPduParameter, /at most one/);
});

Deno.test("presentation contexts without their mandatory sub-items", () => {
  const noTs = encodePdu(rqWith({
    presentationContexts: [{ id: 1, abstractSyntax: "1.2", transferSyntaxes: [] }],
  }));
  assertDecodeError(() => decodePdu(noTs), INVALID, /no transfer syntax/);
  const acceptedEmpty = h`21 00 0008 01 00 00 00 40 00 0000`;
  const ac = PDU_VECTORS[1].bytes;
  const at = itemPositions(ac).find((p) => p.type === 0x21)!.at;
  const bytes = Uint8Array.from([...ac.subarray(0, at), ...acceptedEmpty, ...ac.subarray(at + 17)]);
  new DataView(bytes.buffer).setUint32(2, bytes.length - 6);
  assertDecodeError(() => decodePdu(bytes), INVALID, /empty transfer syntax/);
});

Deno.test("a UID over 64 characters is an invalid parameter", () => {
  const rq = PDU_VECTORS[0].bytes;
  const at = itemPositions(rq).find((p) => p.type === 0x10)!.at;
  const long = Uint8Array.from([
    ...rq.subarray(0, at),
    ...h`10 00 0041 ${a("1".repeat(65))}`,
    ...rq.subarray(at + 25),
  ]);
  new DataView(long.buffer).setUint32(2, long.length - 6);
  assertDecodeError(() => decodePdu(long), INVALID, /65 characters/);
});

Deno.test("PDV item length 0, 1, past the end, 0xFFFFFFFF", () => {
  for (const length of ["00000000", "00000001", "00000005", "ffffffff"]) {
    assertDecodeError(() => decodePdu(h`04 00 00000008 ${length} 01 03 abcd`), INVALID);
  }
  assertDecodeError(() => decodePdu(h`04 00 00000000`), INVALID, /without PDV/);
  assertDecodeError(() => decodePdu(h`04 00 00000003 000000`), INVALID);
});

Deno.test("PDU header lengths that do not match the bytes", () => {
  for (const v of PDU_VECTORS) {
    const wrong = v.bytes.slice();
    new DataView(wrong.buffer).setUint32(2, 0xffffffff);
    assertDecodeError(() => decodePdu(wrong), INVALID, /4294967295/);
    assertDecodeError(() => decodePdu(v.bytes.subarray(0, 5)), INVALID);
  }
  assertDecodeError(() => decodePdu(new Uint8Array(0)), INVALID);
});

Deno.test("every truncation of every PDU is a PduDecodeError (but one)", () => {
  for (const v of PDU_VECTORS) {
    for (let n = 6; n < v.bytes.length; n++) {
      const cut = v.bytes.slice(0, n);
      new DataView(cut.buffer).setUint32(2, n - 6);
      if (v.pdu.type === "P-DATA-TF" && n === 16) {
        // Cut after the first PDV: a well-formed P-DATA-TF with one PDV.
        assert.deepEqual(encodePdu(decodePdu(cut)), cut);
      } else assertDecodeError(() => decodePdu(cut), INVALID);
    }
  }
});

Deno.test("fixed-length PDUs with another length", () => {
  for (const type of ["03", "05", "06", "07"]) {
    assertDecodeError(() => decodePdu(h`${type} 00 00000003 000000`), INVALID, /must be 4/);
    assertDecodeError(() => decodePdu(h`${type} 00 00000005 0000000000`), INVALID, /must be 4/);
  }
});

Deno.test("reader: header claiming 0xFFFFFFFF is refused from the 6 header bytes alone", () => {
  for (const type of [1, 2, 3, 4, 5, 6, 7]) {
    const reader = new PduReader();
    reader.push(Uint8Array.of(type, 0, 0xff, 0xff, 0xff, 0xff));
    assertDecodeError(() => reader.next(), INVALID, /4294967295/);
  }
});

Deno.test("reader: P-DATA-TF one byte over our maximum length is refused", () => {
  const reader = new PduReader({ maxPDataLength: 16384 });
  reader.push(h`04 00 00004000`);
  assert.equal(reader.next(), null); // exactly the maximum: waits for the body
  const over = new PduReader({ maxPDataLength: 16384 });
  over.push(h`04 00 00004001`);
  assertDecodeError(
    () => over.next(),
    INVALID,
    /16385 exceeds our maximum length received of 16384/,
  );
});

Deno.test("reader: maximum 0 means unlimited, up to a 64 MiB hard cap", () => {
  const reader = new PduReader({ maxPDataLength: 0 });
  reader.push(h`04 00 04000000`);
  assert.equal(reader.next(), null);
  const over = new PduReader({ maxPDataLength: 0 });
  over.push(h`04 00 04000001`);
  assertDecodeError(() => over.next(), INVALID, /67108865 exceeds .* 67108864/);
});

Deno.test("reader: an A-ASSOCIATE over 1 MiB is refused", () => {
  for (const type of ["01", "02"]) {
    const ok = new PduReader();
    ok.push(h`${type} 00 00100000`);
    assert.equal(ok.next(), null);
    const over = new PduReader();
    over.push(h`${type} 00 00100001`);
    assertDecodeError(
      () => over.next(),
      INVALID,
      /1048577 exceeds the A-ASSOCIATE limit of 1048576/,
    );
  }
});

Deno.test("reader: after an error, every later call throws the same error", () => {
  const reader = new PduReader();
  reader.push(h`05 00 00000005`);
  let first: unknown;
  try {
    reader.next();
  } catch (e) {
    first = e;
  }
  assert.ok(first instanceof PduDecodeError);
  reader.push(PDU_VECTORS[4].bytes);
  assert.throws(() => reader.next(), (e) => e === first);
});
