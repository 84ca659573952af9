/**
 * The incremental reader (docs/SECURITY_CLASSES.md #9, #11): PDUs split at every
 * byte boundary, several in one push, byte-at-a-time drip, and non-DICOM
 * traffic refused on its first bytes.
 */

import assert from "node:assert/strict";
import { ABORT_REASON } from "../../lib/pdu/types.ts";
import { PduReader, type ReadPdu } from "../../lib/pdu/reader.ts";
import {
  assertDecodeError,
  DCMTK_AC,
  DCMTK_RQ,
  h,
  PDU_VECTORS,
} from "../../testing/pdu_vectors.ts";

const ALL = [
  ...PDU_VECTORS.map((v) => v.bytes),
  DCMTK_RQ.raw,
  DCMTK_AC.raw,
];

/** Every PDU the reader yields after each chunk is pushed. */
function readAll(reader: PduReader, chunks: Uint8Array[]): ReadPdu[] {
  const out: ReadPdu[] = [];
  for (const chunk of chunks) {
    reader.push(chunk);
    for (let r = reader.next(); r !== null; r = reader.next()) out.push(r);
  }
  return out;
}

Deno.test("reader: every PDU split at every byte boundary", () => {
  for (const bytes of ALL) {
    for (let i = 1; i < bytes.length; i++) {
      const reader = new PduReader();
      const got = readAll(reader, [bytes.subarray(0, i), bytes.subarray(i)]);
      assert.equal(got.length, 1);
      assert.deepEqual(got[0].raw, bytes);
      assert.equal(reader.buffered, 0);
    }
  }
});

Deno.test("reader: byte-at-a-time drip", () => {
  for (const bytes of ALL) {
    const reader = new PduReader();
    const chunks = Array.from(bytes, (b) => Uint8Array.of(b));
    const got = readAll(reader, chunks);
    assert.deepEqual(got.map((r) => r.raw), [bytes]);
  }
});

Deno.test("reader: several PDUs in one push, and split across pushes", () => {
  const joined = new Uint8Array(ALL.reduce((n, b) => n + b.length, 0));
  ALL.reduce((at, b) => (joined.set(b, at), at + b.length), 0);
  const one = readAll(new PduReader(), [joined]);
  assert.deepEqual(one.map((r) => r.raw), ALL);
  for (const size of [2, 7, 64, 1000]) {
    const chunks = [];
    for (let i = 0; i < joined.length; i += size) chunks.push(joined.subarray(i, i + size));
    const got = readAll(new PduReader(), chunks);
    assert.deepEqual(got.map((r) => r.pdu), one.map((r) => r.pdu));
  }
});

Deno.test("reader: buffered counts the bytes of the PDU in progress", () => {
  const reader = new PduReader();
  const bytes = PDU_VECTORS[0].bytes;
  reader.push(bytes.subarray(0, 3));
  assert.equal(reader.next(), null);
  assert.equal(reader.buffered, 3);
  reader.push(bytes.subarray(3, 50));
  assert.equal(reader.next(), null);
  assert.equal(reader.buffered, 50);
});

Deno.test("reader: the limit follows setMaxPDataLength", () => {
  const reader = new PduReader();
  reader.setMaxPDataLength(16);
  reader.push(PDU_VECTORS[3].bytes); // PDU-length 17
  assertDecodeError(() => reader.next(), ABORT_REASON.invalidPduParameterValue, /17 exceeds/);
  assert.throws(() => reader.setMaxPDataLength(-1), RangeError);
});

for (
  const [name, first, hint] of [
    ["HTTP GET", "GET / HTTP/1.1\r\n", /unrecognized PDU type 0x47: looks like HTTP$/],
    ["HTTP POST", "POST /x HTTP/1.1\r\n", /0x50: looks like HTTP$/],
    ["HTTP response", "HTTP/1.1 200 OK\r\n", /0x48: looks like HTTP$/],
  ] as const
) {
  Deno.test(`reader: ${name} refused on its first bytes with a hint`, () => {
    const reader = new PduReader();
    reader.push(new TextEncoder().encode(first));
    assertDecodeError(() => reader.next(), ABORT_REASON.unrecognizedPdu, hint);
    const drip = new PduReader();
    drip.push(new TextEncoder().encode(first[0]));
    assertDecodeError(() => drip.next(), ABORT_REASON.unrecognizedPdu, hint);
  });
}

Deno.test("reader: a TLS ClientHello is refused on its first bytes with a hint", () => {
  const reader = new PduReader();
  reader.push(h`16 03 01 02 00 01 00 01 fc 03 03`);
  assertDecodeError(
    () => reader.next(),
    ABORT_REASON.unrecognizedPdu,
    /0x16: looks like a TLS ClientHello: is the peer using TLS\?$/,
  );
});

Deno.test("reader: other unknown first bytes are refused without a hint", () => {
  for (const first of [0x00, 0x08, 0x47, 0xff]) {
    const reader = new PduReader();
    reader.push(Uint8Array.of(first, 0x58, 0x58, 0x58));
    assertDecodeError(() => reader.next(), ABORT_REASON.unrecognizedPdu, /type 0x[0-9a-f]{2}$/);
  }
});

Deno.test("reader: PDUs whole in one chunk are views of it; a PDU across chunks is joined", () => {
  const stream = new Uint8Array(ALL.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of ALL) {
    stream.set(b, o);
    o += b.length;
  }
  const reader = new PduReader();
  // First chunk ends inside the third PDU.
  const cut = ALL[0].length + ALL[1].length + 3;
  const first = stream.slice(0, cut);
  const out = readAll(reader, [first, stream.slice(cut)]);
  assert.deepEqual(out.map((r) => r.raw), ALL);
  assert.equal(out[0].raw.buffer, first.buffer);
  assert.equal(out[1].raw.buffer, first.buffer);
  assert.notEqual(out[2].raw.buffer, first.buffer);
  assert.equal(reader.buffered, 0);
});
