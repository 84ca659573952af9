/**
 * Presentation context items (PS3.8 9.3.2.2, 9.3.3.2) read and written directly, not through
 * the generic item bag (issue 15: a 128-context A-ASSOCIATE cost about 25 us per context in a
 * process's first association): the same values, the same bytes, and the same errors with the
 * same abort reasons, in byte order, as the generic readers give.
 */
import assert from "node:assert/strict";
import { ByteReader, ByteWriter } from "../../lib/pdu/bytes.ts";
import { decodePdu, encodePdu } from "../../lib/pdu/codec.ts";
import {
  type ItemCodec,
  presentationContextAcItem,
  presentationContextRqItem,
  readItems,
  writeItem,
} from "../../lib/pdu/items.ts";
import { ABORT_REASON, type AssociateRqPdu } from "../../lib/pdu/types.ts";
import { a, assertDecodeError, h, PDU_VECTORS } from "../../testing/pdu_vectors.ts";

const INVALID = ABORT_REASON.invalidPduParameterValue;
const UNEXPECTED = ABORT_REASON.unexpectedPduParameter;

function decodeItem<V>(codec: ItemCodec<V>, bytes: Uint8Array): V {
  return readItems(new ByteReader(bytes), "test", [codec]).one(codec);
}

function encodeItem<V>(codec: ItemCodec<V>, v: V): Uint8Array {
  const w = new ByteWriter();
  writeItem(w, codec, v);
  return w.finish();
}

/** A context item of `type` (20H or 21H) with its 4 fixed bytes and these sub-items. */
function context(type: number, fixed: string, ...subs: Uint8Array[]): Uint8Array {
  const body = Uint8Array.from([...h`${fixed}`, ...subs.flatMap((s) => [...s])]);
  return Uint8Array.from([type, 0, body.length >> 8, body.length & 0xff, ...body]);
}

/** A UID sub-item of `type`. */
function sub(type: number, text: string): Uint8Array {
  return Uint8Array.from([type, 0, 0, text.length, ...h`${a(text)}`]);
}

const RQ = 0x20;
const AC = 0x21;

Deno.test("RQ context: sub-items in any order, padding stripped, unknown types skipped", () => {
  const bytes = context(
    RQ,
    "07 00 00 00",
    sub(0x40, "1.2.840.10008.1.2.1\0"),
    sub(0x7f, "anything"),
    sub(0x30, "1.2.840.10008.1.1 "),
    sub(0x40, "1.2.840.10008.1.2"),
  );
  assert.deepEqual(decodeItem(presentationContextRqItem, bytes), {
    id: 7,
    abstractSyntax: "1.2.840.10008.1.1",
    transferSyntaxes: ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"],
  });
});

Deno.test("RQ context: each malformed form names what is wrong, with the standard's reason", () => {
  const cases: [Uint8Array, number, string][] = [
    [
      context(RQ, "01 00 00 00", sub(0x40, "1.2")),
      INVALID,
      "presentation context 1: missing abstract syntax item",
    ],
    [
      context(RQ, "03 00 00 00", sub(0x30, "1.2"), sub(0x30, "1.3"), sub(0x40, "1.2")),
      UNEXPECTED,
      "presentation context 3: 2 abstract syntax items, at most one is allowed",
    ],
    [
      context(RQ, "05 00 00 00", sub(0x30, "1.2")),
      INVALID,
      "presentation context 5: no transfer syntax sub-item",
    ],
    [
      context(RQ, "07 00 00 00", sub(0x30, "1.2"), sub(0x51, "1234"), sub(0x40, "1.2")),
      UNEXPECTED,
      "presentation context 7: item type 0x51 does not belong here",
    ],
    [context(RQ, "09 00 00 00", sub(0x30, ""), sub(0x40, "1.2")), INVALID, "empty UID"],
    [context(RQ, "0b 00 00 00", sub(0x30, "1.2"), sub(0x40, "\0 ")), INVALID, "empty UID"],
    // Byte order: the bad UID comes before the missing abstract syntax is known.
    [
      context(RQ, "0d 00 00 00", sub(0x40, "1".repeat(65))),
      INVALID,
      "UID of 65 characters (max 64)",
    ],
  ];
  for (const [bytes, reason, message] of cases) {
    assertDecodeError(() => decodeItem(presentationContextRqItem, bytes), reason);
    assert.throws(() => decodeItem(presentationContextRqItem, bytes), { message });
  }
  // A sub-item longer than what its context has left: the context's own reader reports it.
  const overrun = context(RQ, "0f 00 00 00", sub(0x30, "1.2"), h`40 00 0009 ${a("1.2")}`);
  assert.throws(() => decodeItem(presentationContextRqItem, overrun), {
    message: "test, presentation context item: needs 9 more bytes but only 3 remain",
  });
});

Deno.test("AC context: one transfer syntax if accepted; a rejected one may have none or an empty one", () => {
  assert.deepEqual(
    decodeItem(
      presentationContextAcItem,
      context(AC, "01 00 00 00", sub(0x40, "1.2.840.10008.1.2")),
    ),
    { id: 1, result: 0, transferSyntax: "1.2.840.10008.1.2" },
  );
  for (const subs of [[], [sub(0x40, "")], [sub(0x7f, "x")]]) {
    assert.deepEqual(decodeItem(presentationContextAcItem, context(AC, "03 00 04 00", ...subs)), {
      id: 3,
      result: 4,
      transferSyntax: "",
    });
  }
  const cases: [Uint8Array, number, string][] = [
    [context(AC, "01 00 00 00"), INVALID, "presentation context 1: missing transfer syntax item"],
    [
      context(AC, "03 00 00 00", sub(0x40, "")),
      INVALID,
      "presentation context 3: accepted with an empty transfer syntax",
    ],
    [
      context(AC, "05 00 03 00", sub(0x40, "1.2"), sub(0x40, "1.3")),
      UNEXPECTED,
      "presentation context 5: 2 transfer syntax items, at most one is allowed",
    ],
    [
      context(AC, "07 00 00 00", sub(0x30, "1.2"), sub(0x40, "1.2")),
      UNEXPECTED,
      "presentation context 7: item type 0x30 does not belong here",
    ],
  ];
  for (const [bytes, reason, message] of cases) {
    assertDecodeError(() => decodeItem(presentationContextAcItem, bytes), reason);
    assert.throws(() => decodeItem(presentationContextAcItem, bytes), { message });
  }
});

Deno.test("context items and AE titles: bytes as the standard lays them out; text beyond Latin-1 refused", () => {
  assert.deepEqual(
    encodeItem(presentationContextRqItem, {
      id: 1,
      abstractSyntax: "1.2.840.10008.1.1",
      transferSyntaxes: ["1.2.840.10008.1.2", "1.2.3"],
    }),
    context(
      RQ,
      "01 00 00 00",
      sub(0x30, "1.2.840.10008.1.1"),
      sub(0x40, "1.2.840.10008.1.2"),
      sub(0x40, "1.2.3"),
    ),
  );
  assert.deepEqual(
    encodeItem(presentationContextAcItem, { id: 3, result: 4, transferSyntax: "" }),
    context(AC, "03 00 04 00", sub(0x40, "")),
  );
  assert.throws(
    () =>
      encodeItem(presentationContextRqItem, {
        id: 1,
        abstractSyntax: "",
        transferSyntaxes: ["1.2"],
      }),
    { name: "RangeError", message: "empty UID" },
  );
  assert.throws(
    () =>
      encodeItem(presentationContextRqItem, {
        id: 1,
        abstractSyntax: "1.2",
        transferSyntaxes: ["1.\u0100"],
      }),
    { name: "RangeError", message: "character U+100 cannot be sent in a PDU" },
  );
  // An AE title is Latin-1 (one byte per character, PS3.8 9.3.2), not UTF-8.
  const rq = PDU_VECTORS[0].pdu as AssociateRqPdu;
  const latin = encodePdu({ ...rq, callingAeTitle: "CAF\u00c9" });
  assert.deepEqual([...latin.subarray(26, 31)], [0x43, 0x41, 0x46, 0xc9, 0x20]);
  assert.equal((decodePdu(latin) as AssociateRqPdu).callingAeTitle, "CAF\u00c9");
  assert.throws(() => encodePdu({ ...rq, callingAeTitle: "\u0100" }), {
    name: "RangeError",
    message: "character U+100 cannot be sent in a PDU",
  });
});

Deno.test("a 128-context A-ASSOCIATE-RQ: every context's bytes, and back", () => {
  const rq = PDU_VECTORS[0].pdu as AssociateRqPdu;
  const contexts = Array.from({ length: 128 }, (_, i) => ({
    id: 2 * i + 1,
    abstractSyntax: `1.2.840.10008.5.1.4.1.1.${i}`,
    transferSyntaxes: i % 2
      ? ["1.2.840.10008.1.2.1"]
      : ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"],
  }));
  const bytes = encodePdu({ ...rq, presentationContexts: contexts });
  const expected = contexts.map((c) =>
    context(
      RQ,
      `${c.id.toString(16).padStart(2, "0")} 00 00 00`,
      sub(0x30, c.abstractSyntax),
      ...c.transferSyntaxes.map((t) => sub(0x40, t)),
    )
  );
  // The contexts follow the 68 fixed bytes and the application context item.
  let at = 6 + 68 + 4 + ((bytes[6 + 68 + 2] << 8) | bytes[6 + 68 + 3]);
  for (const e of expected) {
    assert.deepEqual(bytes.subarray(at, at + e.length), e);
    at += e.length;
  }
  assert.equal(bytes[at], 0x50, "the user information item follows");
  assert.deepEqual((decodePdu(bytes) as AssociateRqPdu).presentationContexts, contexts);
});
