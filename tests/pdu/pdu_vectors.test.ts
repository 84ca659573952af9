/**
 * Byte-exact vectors for every PDU, item and sub-item of PS3.8 9.3 and
 * PS3.7 Annex D, hand-assembled from the standard's layouts; plus the two
 * real DCMTK 3.6.7 PDUs of the fixtures.
 */

import assert from "node:assert/strict";
import { ByteReader, ByteWriter } from "../../lib/pdu/bytes.ts";
import { decodePdu, encodePdu, pduTypeName } from "../../lib/pdu/codec.ts";
import {
  abstractSyntaxItem,
  applicationContextItem,
  asynchronousOperationsWindowItem,
  implementationClassUidItem,
  implementationVersionNameItem,
  type ItemCodec,
  maximumLengthItem,
  presentationContextAcItem,
  presentationContextRqItem,
  readItems,
  roleSelectionItem,
  sopClassCommonExtendedNegotiationItem,
  sopClassExtendedNegotiationItem,
  transferSyntaxItem,
  userIdentityAcItem,
  userIdentityRqItem,
  userInformationItem,
  writeItem,
} from "../../lib/pdu/items.ts";
import { ABORT_REASON } from "../../lib/pdu/types.ts";
import {
  a,
  assertDecodeError,
  DCMTK_AC,
  DCMTK_RQ,
  dcmtkAc,
  dcmtkRq,
  FULL_USER_INFORMATION,
  h,
  itemPositions,
  PDU_VECTORS,
} from "../../testing/pdu_vectors.ts";

function encodeItem<V>(codec: ItemCodec<V>, v: V): Uint8Array {
  const w = new ByteWriter();
  writeItem(w, codec, v);
  return w.finish();
}

function decodeItem<V>(codec: ItemCodec<V>, bytes: Uint8Array): V {
  return readItems(new ByteReader(bytes), "test", [codec]).one(codec);
}

/** One item vector: the value and the bytes, with the standard's offsets in comments. */
// deno-lint-ignore no-explicit-any
const ITEM_VECTORS: { name: string; codec: ItemCodec<any>; value: unknown; bytes: Uint8Array }[] = [
  {
    name: "application context (PS3.8 9.3.2.1)",
    codec: applicationContextItem,
    value: "1.2.840.10008.3.1.1.1",
    bytes: h`10 00 0015 ${a("1.2.840.10008.3.1.1.1")}`, // 1 type, 2 reserved, 3-4 length, 5-xxx name
  },
  {
    name: "abstract syntax (PS3.8 9.3.2.2.1)",
    codec: abstractSyntaxItem,
    value: "1.2.840.10008.1.1",
    bytes: h`30 00 0011 ${a("1.2.840.10008.1.1")}`,
  },
  {
    name: "transfer syntax (PS3.8 9.3.2.2.2)",
    codec: transferSyntaxItem,
    value: "1.2.840.10008.1.2",
    bytes: h`40 00 0011 ${a("1.2.840.10008.1.2")}`,
  },
  {
    name: "presentation context RQ (PS3.8 9.3.2.2)",
    codec: presentationContextRqItem,
    value: { id: 1, abstractSyntax: "1.2", transferSyntaxes: ["1.2.3", "1.2.4"] },
    bytes: h`
      20 00 001d
      01 000000                  // 5 presentation-context-ID, 6-8 reserved
      30 00 0003 ${a("1.2")}     // 9-xxx abstract syntax sub-item
      40 00 0005 ${a("1.2.3")}   //       transfer syntax sub-items
      40 00 0005 ${a("1.2.4")}
    `,
  },
  {
    name: "presentation context AC, accepted (PS3.8 9.3.3.2)",
    codec: presentationContextAcItem,
    value: { id: 3, result: 0, transferSyntax: "1.2.3" },
    bytes: h`
      21 00 000d
      03 00 00 00                // 5 ID, 6 reserved, 7 result/reason, 8 reserved
      40 00 0005 ${a("1.2.3")}   // 9-xxx transfer syntax sub-item
    `,
  },
  {
    name: "presentation context AC, transfer syntaxes not supported",
    codec: presentationContextAcItem,
    value: { id: 5, result: 4, transferSyntax: "" },
    bytes: h`21 00 0008 05 00 04 00 40 00 0000`,
  },
  {
    name: "maximum length (PS3.8 D.1)",
    codec: maximumLengthItem,
    value: 16384,
    bytes: h`51 00 0004 00004000`, // 5-8 maximum-length-received
  },
  {
    name: "implementation class UID (PS3.7 D.3.3.2.1)",
    codec: implementationClassUidItem,
    value: "1.2.276.0.7230010.3.0.3.6.7",
    bytes: h`52 00 001b ${a("1.2.276.0.7230010.3.0.3.6.7")}`,
  },
  {
    name: "asynchronous operations window (PS3.7 D.3.3.3)",
    codec: asynchronousOperationsWindowItem,
    value: { maxOperationsInvoked: 3, maxOperationsPerformed: 1 },
    bytes: h`53 00 0004 0003 0001`, // 5-6 invoked, 7-8 performed
  },
  {
    name: "SCP/SCU role selection (PS3.7 D.3.3.4)",
    codec: roleSelectionItem,
    value: { sopClassUid: "1.2", scuRole: true, scpRole: false },
    bytes: h`54 00 0007 0003 ${a("1.2")} 01 00`, // 5-6 UID-length, 7-xxx UID, SCU-role, SCP-role
  },
  {
    name: "implementation version name (PS3.7 D.3.3.2.3)",
    codec: implementationVersionNameItem,
    value: "OFFIS_DCMTK_367",
    bytes: h`55 00 000f ${a("OFFIS_DCMTK_367")}`,
  },
  {
    name: "SOP class extended negotiation (PS3.7 D.3.3.5)",
    codec: sopClassExtendedNegotiationItem,
    value: { sopClassUid: "1.2", serviceClassApplicationInformation: h`010203` },
    bytes: h`56 00 0008 0003 ${a("1.2")} 010203`, // 5-6 UID-length, 7-xxx UID, application info
  },
  {
    name: "SOP class common extended negotiation (PS3.7 D.3.3.6)",
    codec: sopClassCommonExtendedNegotiationItem,
    value: {
      sopClassUid: "1.2",
      serviceClassUid: "1.2.3",
      relatedGeneralSopClassUids: ["1.2.4", "1.2.5"],
    },
    bytes: h`
      57 00 001c                 // 2 is the sub-item version, 0
      0003 ${a("1.2")}           // 5-6 SOP-class-uid-length, 7-x SOP-class-uid
      0005 ${a("1.2.3")}         // service-class-uid-length, service-class-uid
      000e                       // related-general-sop-class-identification-length
        0005 ${a("1.2.4")}       //   each: 2-byte length, UID
        0005 ${a("1.2.5")}
    `,
  },
  {
    name: "user identity RQ (PS3.7 D.3.3.7.1)",
    codec: userIdentityRqItem,
    value: {
      identityType: 2,
      positiveResponseRequested: true,
      primaryField: h`${a("alice")}`,
      secondaryField: h`${a("secret")}`,
    },
    bytes: h`
      58 00 0011
      02 01                      // 5 user-identity-type, 6 positive-response-requested
      0005 ${a("alice")}         // 7-8 primary-field-length, 9-n primary-field
      0006 ${a("secret")}        // n+1..n+2 secondary-field-length, n+3..m
    `,
  },
  {
    name: "user identity AC (PS3.7 D.3.3.7.2)",
    codec: userIdentityAcItem,
    value: { serverResponse: h`${a("ok")}` },
    bytes: h`59 00 0004 0002 ${a("ok")}`, // 5-6 server-response-length, 7-n
  },
];

const FULL_USER_INFORMATION_BYTES = h`
  50 00 0073
  51 00 0004 00004000
  52 00 0003 ${a("1.2")}
  53 00 0004 0003 0001
  54 00 0007 0003 ${a("1.2")} 01 00
  55 00 0004 ${a("ABCD")}
  56 00 0008 0003 ${a("1.2")} 010203
  57 00 001c 0003 ${a("1.2")} 0005 ${a("1.2.3")} 000e 0005 ${a("1.2.4")} 0005 ${a("1.2.5")}
  58 00 0011 02 01 0005 ${a("alice")} 0006 ${a("secret")}
  59 00 0004 0002 ${a("ok")}
`;

for (const v of ITEM_VECTORS) {
  Deno.test(`item vector: ${v.name}`, () => {
    assert.deepEqual(encodeItem(v.codec, v.value), v.bytes);
    assert.deepEqual(decodeItem(v.codec, v.bytes), v.value);
  });
}

Deno.test("item vector: user information with every sub-item (PS3.8 9.3.2.3)", () => {
  assert.deepEqual(
    encodeItem(userInformationItem, FULL_USER_INFORMATION),
    FULL_USER_INFORMATION_BYTES,
  );
  assert.deepEqual(
    decodeItem(userInformationItem, FULL_USER_INFORMATION_BYTES),
    FULL_USER_INFORMATION,
  );
});

Deno.test("user information sub-items are read in any order", () => {
  const reversed = h`
    50 00 0010
    55 00 0004 ${a("ABCD")}
    51 00 0004 00004000
  `;
  assert.deepEqual(decodeItem(userInformationItem, reversed), {
    maxLength: 16384,
    implementationVersionName: "ABCD",
    roleSelections: [],
    extendedNegotiations: [],
    commonExtendedNegotiations: [],
  });
});

for (const v of PDU_VECTORS) {
  Deno.test(`PDU vector: ${v.name}`, () => {
    assert.deepEqual(encodePdu(v.pdu), v.bytes);
    assert.deepEqual(decodePdu(v.bytes), v.pdu);
  });
}

Deno.test("pduTypeName names the seven PDU types and nothing else", () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 0x47].map(pduTypeName),
    [
      undefined,
      "A-ASSOCIATE-RQ",
      "A-ASSOCIATE-AC",
      "A-ASSOCIATE-RJ",
      "P-DATA-TF",
      "A-RELEASE-RQ",
      "A-RELEASE-RP",
      "A-ABORT",
      undefined,
      undefined,
    ],
  );
});

Deno.test("UIDs: trailing NUL or space padding is stripped when decoding, never written", () => {
  assert.equal(decodeItem(transferSyntaxItem, h`40 00 0004 ${a("1.2")} 00`), "1.2");
  assert.equal(decodeItem(transferSyntaxItem, h`40 00 0005 ${a("1.2")} 2000`), "1.2");
  assert.deepEqual(encodeItem(transferSyntaxItem, "1.2"), h`40 00 0003 ${a("1.2")}`);
});

Deno.test("encoding rejects values the layout cannot carry", () => {
  const rq = PDU_VECTORS[0].pdu;
  assert.throws(
    () => encodePdu({ ...rq, calledAeTitle: "SEVENTEEN-CHARS-X" } as typeof rq),
    RangeError,
  );
  assert.throws(() => encodeItem(transferSyntaxItem, "1".repeat(65)), RangeError);
  assert.throws(() => encodeItem(transferSyntaxItem, ""), RangeError);
  assert.throws(() => encodeItem(implementationVersionNameItem, "\u0100"), RangeError);
  assert.throws(() => encodeItem(maximumLengthItem, 2 ** 32), RangeError);
  assert.throws(
    () => encodeItem(userIdentityAcItem, { serverResponse: new Uint8Array(0x10000) }),
    RangeError,
  );
});

Deno.test("AE titles: 16 bytes, space padded; leading and trailing spaces trimmed", () => {
  const rq = PDU_VECTORS[0];
  const bytes = rq.bytes.slice();
  bytes.set(h`${a("  ANY SCP       ")}`, 10);
  const pdu = decodePdu(bytes);
  assert.equal(pdu.type === "A-ASSOCIATE-RQ" && pdu.calledAeTitle, "ANY SCP");
  const full = { ...rq.pdu, callingAeTitle: "SIXTEEN-CHARS-AE" } as typeof rq.pdu;
  assert.deepEqual(encodePdu(full).subarray(26, 42), h`${a("SIXTEEN-CHARS-AE")}`);
});

Deno.test("protocol version is kept as read", () => {
  const bytes = PDU_VECTORS[0].bytes.slice();
  bytes[7] = 0x03;
  const pdu = decodePdu(bytes);
  assert.equal(pdu.type === "A-ASSOCIATE-RQ" && pdu.protocolVersion, 3);
  assert.deepEqual(encodePdu(pdu), bytes);
});

Deno.test("reserved bytes are ignored when read, written as zeros", () => {
  const abort = h`07 ff 00000004 ff ff 00 00`;
  assert.deepEqual(decodePdu(abort), { type: "A-ABORT", source: 0, reason: 0 });
  assert.deepEqual(encodePdu(decodePdu(abort)), h`07 00 00000004 00 00 00 00`);
});

Deno.test("P-DATA-TF: reserved control bits ignored; PDV data is a view of the PDU", () => {
  const bytes = h`04 00 00000008 00000004 07 fe abcd`;
  const pdu = decodePdu(bytes);
  assert.equal(pdu.type, "P-DATA-TF");
  const pdv = pdu.type === "P-DATA-TF" ? pdu.pdvs[0] : undefined;
  assert.deepEqual(pdv, { contextId: 7, isCommand: false, isLast: true, data: h`abcd` });
  assert.equal(pdv!.data.buffer, bytes.buffer);
  assert.equal(pdv!.data.byteOffset, 12);
});

Deno.test("unknown items and sub-items are skipped by their length", () => {
  const rq = PDU_VECTORS[0];
  const [pc, ui] = [0x20, 0x50].map((t) => itemPositions(rq.bytes).find((p) => p.type === t)!);
  const unknown = h`7f 00 0003 aabbcc`;
  const parts = [
    rq.bytes.subarray(0, 74),
    unknown, // unknown item in the variable field
    rq.bytes.subarray(74, pc.at + 8),
    unknown, // unknown sub-item inside the presentation context
    rq.bytes.subarray(pc.at + 8, ui.at + 4),
    unknown, // unknown user information sub-item
    rq.bytes.subarray(ui.at + 4),
  ];
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (bytes.set(p, at), at + p.length), 0);
  const view = new DataView(bytes.buffer);
  view.setUint32(2, bytes.length - 6);
  view.setUint16(pc.at + 7 + 2, 0x1d + 7); // the context and user information
  view.setUint16(ui.at + 14 + 2, 0x08 + 7); // items grow by the unknown sub-item
  assert.deepEqual(decodePdu(bytes), rq.pdu);
});

Deno.test("an item defined by the standard but out of place is an unexpected parameter", () => {
  const rq = PDU_VECTORS[0].bytes.slice();
  rq[itemPositions(rq).find((p) => p.type === 0x20)!.at] = 0x21;
  assertDecodeError(() => decodePdu(rq), ABORT_REASON.unexpectedPduParameter, /does not belong/);
});

Deno.test("DCMTK 3.6.7 A-ASSOCIATE-RQ decodes to the expected values", () => {
  const ts = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"];
  assert.deepEqual(dcmtkRq(), {
    type: "A-ASSOCIATE-RQ",
    protocolVersion: 1,
    calledAeTitle: "ANY-SCP",
    callingAeTitle: "ECHOSCU",
    applicationContext: "1.2.840.10008.3.1.1.1",
    presentationContexts: [
      { id: 1, abstractSyntax: "1.2.840.10008.1.1", transferSyntaxes: ts },
      { id: 3, abstractSyntax: "1.2.840.10008.1.1", transferSyntaxes: ts },
    ],
    userInformation: {
      maxLength: 16384,
      implementationClassUid: "1.2.276.0.7230010.3.0.3.6.7",
      implementationVersionName: "OFFIS_DCMTK_367",
      roleSelections: [],
      extendedNegotiations: [],
      commonExtendedNegotiations: [],
    },
  });
});

Deno.test("DCMTK 3.6.7 A-ASSOCIATE-RQ re-encodes identically but for a reserved byte", () => {
  // DCMTK sends FFH in byte 7 of each presentation context item, which
  // PS3.8 9.3.2.2 reserves ("shall be sent with a value 00H but not
  // tested"); we send 00H there and the same bytes everywhere else.
  const expected = DCMTK_RQ.raw.slice();
  for (const p of itemPositions(expected).filter((p) => p.type === 0x20)) {
    assert.equal(expected[p.at + 6], 0xff);
    expected[p.at + 6] = 0;
  }
  assert.deepEqual(encodePdu(dcmtkRq()), expected);
});

Deno.test("DCMTK 3.6.7 A-ASSOCIATE-AC decodes and re-encodes to identical bytes", () => {
  const ac = dcmtkAc();
  assert.deepEqual(ac, {
    type: "A-ASSOCIATE-AC",
    protocolVersion: 1,
    calledAeTitle: "ANY-SCP",
    callingAeTitle: "ECHOSCU",
    applicationContext: "1.2.840.10008.3.1.1.1",
    presentationContexts: [
      { id: 1, result: 0, transferSyntax: "1.2.840.10008.1.2.1" },
      { id: 3, result: 0, transferSyntax: "1.2.840.10008.1.2.1" },
    ],
    userInformation: {
      maxLength: 16384,
      implementationClassUid: "1.2.276.0.7230010.3.0.3.6.7",
      implementationVersionName: "OFFIS_DCMTK_367",
      roleSelections: [],
      extendedNegotiations: [],
      commonExtendedNegotiations: [],
    },
  });
  assert.deepEqual(encodePdu(ac), DCMTK_AC.raw);
});

Deno.test("round trip of an RQ and an AC with every optional sub-item", () => {
  for (const v of PDU_VECTORS.slice(0, 2)) {
    const pdu = { ...v.pdu, userInformation: FULL_USER_INFORMATION } as typeof v.pdu;
    assert.deepEqual(decodePdu(encodePdu(pdu)), pdu);
  }
});
