/**
 * The attribute model (lib/dicom/attributes.ts): typed values by VR,
 * encoding and decoding in the four uncompressed transfer syntaxes, text in
 * its Specific Character Set, and a bounded decode of peer input
 * (docs/SECURITY_CLASSES.md #3, #7, #12).
 */

import assert from "node:assert/strict";
import {
  attribute,
  type Attributes,
  decodeAttributes,
  decodeAttributesFile,
  DEFAULT_ATTRIBUTE_LIMITS,
  encodeAttributes,
  findAttribute,
  setAttribute,
  stringValues,
} from "../../lib/dicom/attributes.ts";
import { CharsetError } from "../../lib/dicom/charset.ts";
import { decodeDataset } from "../../lib/dicom/dataset.ts";
import { deflateRaw } from "../../lib/dicom/deflate.ts";
import { DicomParseError } from "../../lib/dicom/errors.ts";
import { encodeFileMeta } from "../../lib/dicom/part10.ts";
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
} from "../../lib/dicom/uids.ts";
import { hex } from "../../testing/hex.ts";

const SYNTAXES = [
  IMPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
];

/** One attribute of every kind of value, a nested sequence, an item with its own charset. */
function everyKind(): Attributes {
  return [
    attribute(0x00080005, "ISO_IR 192"),
    attribute(0x00080016, "1.2.840.10008.5.1.4.1.1.7"),
    attribute(0x00080052, "STUDY"),
    attribute(0x00080061, "MR\\CT"),
    attribute(0x00081030, ""),
    attribute(0x00090010, "ACME"),
    attribute(0x00091001, new Uint8Array([1, 2, 3, 4]), "UN"),
    attribute(0x00100010, "Müller^Jürgen=ミュラー^ユルゲン"),
    attribute(0x00104000, "line one\\ still one", "LT"),
    attribute(0x00189089, [0.5, -1.25, 1e-300], "FD"),
    attribute(0x00189219, [-3], "SS"),
    attribute(0x00280009, [0x00181063, 0x7fe00010]),
    attribute(0x00280010, [512]),

    attribute(0x00281201, new Uint8Array([0x01, 0x02, 0x03, 0x04]), "OW"),
    attribute(0x00400100, [
      [attribute(0x00080060, "MR"), attribute(0x00400001, "")],
      [
        attribute(0x00080005, "ISO_IR 100"),
        attribute(0x00400007, "Kopf über", "LO"),
        attribute(0x00400008, [[attribute(0x00080100, "X1")]], "SQ"),
      ],
    ], "SQ"),
    attribute(0x00720076, [0.5, 2], "FL"),
    attribute(0x00720082, [-9223372036854775808n, 5n], "SV"),
    attribute(0x00720083, [12345678901234567890n], "UV"),
  ];
}

Deno.test("attributes: every kind of value survives encoding and decoding in the four syntaxes", () => {
  for (const ts of SYNTAXES) {
    const bytes = encodeAttributes(everyKind(), ts);
    assert.deepEqual(decodeAttributes(bytes, ts), everyKind(), ts);
  }
});

Deno.test("attributes: byte order, padding and defined lengths as PS3.5 and DCMTK write them", () => {
  const attrs = [
    attribute(0x00080052, "STUDY"),
    attribute(0x0020000d, "1.2.3"),
    attribute(0x00280010, [512]),
    attribute(0x00400100, [[attribute(0x00080060, "MR")]], "SQ"),
  ];
  assert.deepEqual(
    encodeAttributes(attrs, IMPLICIT_VR_LITTLE_ENDIAN),
    hex(`08005200 06000000 535455445920     // CS padded with a space
         20000d00 06000000 312e322e3300     // UI padded with NUL
         28001000 02000000 0002             // US 512, little endian
         40000001 12000000                  // SQ, defined length
         feff00e0 0a000000 08006000 02000000 4d52`),
  );
  assert.deepEqual(
    encodeAttributes(attrs, EXPLICIT_VR_BIG_ENDIAN),
    hex(`0008 0052 4353 0006 535455445920
         0020 000d 5549 0006 312e322e3300
         0028 0010 5553 0002 0200           // US 512, big endian
         0040 0100 5351 0000 00000012
         fffe e000 0000000a 0008 0060 4353 0002 4d52`),
  );
});

Deno.test("attributes: values read without their padding, split at '\\' unless single-valued", () => {
  const bytes = hex(`08005200 08000000 2020535455445920   // leading and trailing spaces of a CS
                     10001000 06000000 4120425e4320      // PN keeps its inner spaces
                     1000 0040 06000000 206120 5c6220    // LT: one value, leading space kept
                     20000d00 06000000 312e322e3300
                     20001000 04000000 20202020          // padding only: no value
                     20001100 02000000 5c20`); // two empty values
  const attrs = decodeAttributes(bytes, IMPLICIT_VR_LITTLE_ENDIAN);
  assert.deepEqual(stringValues(attrs, 0x00080052), ["STUDY"]);
  assert.deepEqual(stringValues(attrs, 0x00100010), ["A B^C"]);
  assert.deepEqual(stringValues(attrs, 0x00104000), [" a \\b"]);
  assert.deepEqual(stringValues(attrs, 0x0020000d), ["1.2.3"]);
  assert.deepEqual(stringValues(attrs, 0x00200010), []);
  assert.deepEqual(stringValues(attrs, 0x00200011), ["", ""]);
});

Deno.test("attributes: text decodes in the data set's Specific Character Set, an item's own inside it", () => {
  const attrs = decodeAttributes(
    encodeAttributes(everyKind(), EXPLICIT_VR_LITTLE_ENDIAN),
    EXPLICIT_VR_LITTLE_ENDIAN,
  );
  assert.deepEqual(stringValues(attrs, 0x00100010), ["Müller^Jürgen=ミュラー^ユルゲン"]);
  const items = findAttribute(attrs, 0x00400100)!.value as Attributes[];
  assert.deepEqual(stringValues(items[1], 0x00400007), ["Kopf über"]);
  // The Latin-1 item really is Latin-1 on the wire.
  const bytes = encodeAttributes(everyKind(), EXPLICIT_VR_LITTLE_ENDIAN);
  const text = new TextDecoder("latin1").decode(bytes);
  assert.ok(text.includes("Kopf \xfcber"));
});

Deno.test("attributes: undecodable text throws a CharsetError, or is reported and marked", () => {
  const bytes = hex(`10001000 06000000 4de46c6c6572`); // "Mäller" in Latin-1, no charset declared
  assert.throws(
    () => decodeAttributes(bytes, IMPLICIT_VR_LITTLE_ENDIAN),
    (e: unknown) => e instanceof CharsetError && e.code === "undecodable",
  );
  const problems: string[] = [];
  const attrs = decodeAttributes(bytes, IMPLICIT_VR_LITTLE_ENDIAN, {
    onCharsetProblem: (e) => problems.push(e.message),
  });
  assert.deepEqual(stringValues(attrs, 0x00100010), ["M\ufffdller"]);
  assert.equal(problems.length, 1);
  const unknown = hex(`08000500 0a000000 49534f2d4952203130 20
                       10001000 02000000 4de4`);
  assert.throws(
    () => decodeAttributes(unknown, IMPLICIT_VR_LITTLE_ENDIAN),
    /unknown Specific Character Set 'ISO-IR 10'/,
  );
  const reported: string[] = [];
  decodeAttributes(unknown, IMPLICIT_VR_LITTLE_ENDIAN, {
    onCharsetProblem: (e) => reported.push(e.code),
  });
  assert.deepEqual(reported, ["unknown-charset", "undecodable"]);
});

Deno.test("attributes: values that do not fit their VR are refused when encoding", () => {
  const cases: [Attributes, RegExp][] = [
    [[attribute(0x00280010, [70000])], /\(0028,0010\) US: 70000 is not an integer in 0\.\.65535/],
    [[attribute(0x00280106, [1.5], "SS")], /SS: 1.5 is not an integer/],
    [[attribute(0x00280010, ["512"] as unknown as number[])], /US: expected numbers/],
    [[attribute(0x00100010, [1] as unknown as string[])], /PN: expected a list of strings/],
    [[attribute(0x00100010, ["a\\b"])], /a value contains '\\', the value delimiter/],
    [[attribute(0x00104000, ["a", "b"], "LT")], /a LT holds one value, not 2/],
    [[attribute(0x00720083, [1], "UV")], /expected bigints/],
    [[attribute(0x00720083, [-1n], "UV")], /-1 out of range/],
    [[attribute(0x00091001, [1, 2] as unknown as Uint8Array, "OB")], /expected bytes/],
    [[attribute(0x00100010, "A"), attribute(0x00100010, "B")], /\(0010,0010\) appears twice/],
  ];
  for (const [attrs, message] of cases) {
    assert.throws(() => encodeAttributes(attrs, IMPLICIT_VR_LITTLE_ENDIAN), message);
  }
  assert.throws(
    () => encodeAttributes([attribute(0x00100010, "Müller")], IMPLICIT_VR_LITTLE_ENDIAN),
    /'ü' \(U\+00FC\) cannot be written in a PN value in the default repertoire/,
  );
  assert.throws(
    () => encodeAttributes([], "1.2.840.10008.1.2.4.50"),
    /not one of the four uncompressed syntaxes/,
  );
});

Deno.test("attributes: setAttribute keeps tag order and replaces; attribute() takes the dictionary VR", () => {
  const attrs: Attributes = [];
  setAttribute(attrs, attribute(0x00100020, "B"));
  setAttribute(attrs, attribute(0x00080052, "STUDY"));
  setAttribute(attrs, attribute(0x00100010, "A"));
  setAttribute(attrs, attribute(0x00100020, "C"));
  assert.deepEqual(attrs.map((a) => [a.tag, a.value]), [
    [0x00080052, ["STUDY"]],
    [0x00100010, ["A"]],
    [0x00100020, ["C"]],
  ]);
  assert.equal(attribute(0x00280106).vr, "US"); // US or SS: US, as DCMTK
  assert.equal(attribute(0x00091001).vr, "UN"); // not in the dictionary
  assert.equal(attribute(0x00090010).vr, "LO"); // private creator
  assert.deepEqual(attribute(0x00104000, "a\\b", "LT").value, ["a\\b"]);
});

Deno.test("attributes: decodeAttributesFile reads a Part 10 file or a bare data set", () => {
  const attrs = [attribute(0x00080052, "STUDY"), attribute(0x00100010, "Smith*")];
  for (const ts of [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN]) {
    const meta = encodeFileMeta({
      mediaStorageSopClassUid: "1.2.840.10008.5.1.4.1.1.7",
      mediaStorageSopInstanceUid: "1.2.3",
      transferSyntaxUid: ts,
    });
    const file = Uint8Array.from([...meta, ...encodeAttributes(attrs, ts)]);
    const read = decodeAttributesFile(file);
    assert.equal(read.transferSyntax, ts);
    assert.deepEqual(read.attributes, attrs);
    const bare = decodeAttributesFile(encodeAttributes(attrs, ts));
    assert.equal(bare.meta, undefined);
    assert.equal(bare.transferSyntax, ts);
    assert.deepEqual(bare.attributes, attrs);
  }
});

/** Sequences nested `depth` deep, each with one item, undefined lengths, implicit VR. */
function nested(depth: number): Uint8Array {
  const open = hex("40000001 ffffffff feff00e0 ffffffff");
  const close = hex("feff0de0 00000000 feffdde0 00000000");
  const out = new Uint8Array(depth * 32);
  for (let i = 0; i < depth; i++) {
    out.set(open, i * 16);
    out.set(close, depth * 16 + i * 16);
  }
  return out;
}

Deno.test("class 7: nesting beyond maxDepth is an error, not a stack overflow (10,000 deep)", () => {
  assert.equal(decodeAttributes(nested(16), IMPLICIT_VR_LITTLE_ENDIAN).length, 1);
  for (const depth of [17, 10_000]) {
    assert.throws(
      () => decodeAttributes(nested(depth), IMPLICIT_VR_LITTLE_ENDIAN),
      (e: unknown) => e instanceof DicomParseError && e.code === "too-deep",
    );
  }
  assert.equal(
    decodeAttributes(nested(40), IMPLICIT_VR_LITTLE_ENDIAN, { limits: { maxDepth: 40 } }).length,
    1,
  );
});

Deno.test("class 3: size, element count and inflated size are bounded before use", () => {
  const big = encodeAttributes(
    [attribute(0x00081030, "x".repeat(64), "LO")],
    IMPLICIT_VR_LITTLE_ENDIAN,
  );
  assert.throws(
    () => decodeAttributes(big, IMPLICIT_VR_LITTLE_ENDIAN, { limits: { maxLength: 64 } }),
    /data set of 72 bytes exceeds the limit of 64/,
  );
  // A value claiming 0xFFFFFFF0 bytes: refused against the input, nothing allocated.
  assert.throws(
    () => decodeAttributes(hex("10001000 f0ffffff 4142"), IMPLICIT_VR_LITTLE_ENDIAN),
    (e: unknown) => e instanceof DicomParseError && /4294967280/.test(e.message),
  );
  const many = new Uint8Array(8 * 1001);
  for (let i = 0; i < 1001; i++) {
    new DataView(many.buffer).setUint32(i * 8, 0x00100000 | (i + 1), true);
  }
  assert.throws(
    () => decodeAttributes(many, IMPLICIT_VR_LITTLE_ENDIAN, { limits: { maxElements: 1000 } }),
    /more than 1000 elements/,
  );
  // A deflate bomb: 64 KiB of zeros in a value inflate past a 16 KiB limit.
  const raw = encodeAttributes(
    [attribute(0x00091001, new Uint8Array(64 * 1024), "OB")],
    EXPLICIT_VR_LITTLE_ENDIAN,
  );
  const bomb = deflateRaw(raw);
  assert.ok(bomb.length < 1024);
  assert.throws(
    () =>
      decodeAttributes(bomb, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, { limits: { maxLength: 16384 } }),
    /inflates to more than 16384 bytes/,
  );
  assert.equal(DEFAULT_ATTRIBUTE_LIMITS.maxDepth, 16);
});

Deno.test("attributes: malformed input is a DicomParseError", () => {
  const cases: [string, string][] = [
    ["10001000 06000000 4142", "truncated"], // value cut short
    ["1000", "truncated"], // header cut short
    ["40000001 ffffffff feff00e0 ffffffff 10001000 00000000", "truncated"], // open sequence
    ["40000001 0c000000 feff00e0 10000000 10001000 00000000", "overrun"], // item longer than sequence
    ["e07f1000 ffffffff feff00e0 00000000 feffdde0 00000000", "unsupported"], // encapsulated
    ["28001000 03000000 010203", "bad-vr"], // a US of 3 bytes
  ];
  for (const [bytes, code] of cases) {
    assert.throws(
      () => decodeAttributes(hex(bytes), IMPLICIT_VR_LITTLE_ENDIAN),
      (e: unknown) => e instanceof DicomParseError && e.code === code,
      `${bytes}: ${code}`,
    );
  }
  assert.throws(
    () => decodeAttributes(new Uint8Array(2), "1.2.840.10008.1.2.4.50"),
    /not one of the four uncompressed syntaxes/,
  );
});

Deno.test("attributes: a UN sequence of undefined length reads as items, in implicit VR", () => {
  // (0009,1010) UN, undefined length, one item holding (0010,0010) "AB" (PS3.5 6.2.2).
  const bytes = hex(`0900 1010 554e 0000 ffffffff
                     feff00e0 ffffffff 10001000 02000000 4142 feff0de0 00000000
                     feffdde0 00000000`);
  const attrs = decodeAttributes(bytes, EXPLICIT_VR_LITTLE_ENDIAN);
  assert.deepEqual(attrs, [{
    tag: 0x00091010,
    vr: "UN",
    value: [[{ tag: 0x00100010, vr: "PN", value: ["AB"] }]],
  }]);
  const again = encodeAttributes(attrs, EXPLICIT_VR_LITTLE_ENDIAN);
  assert.deepEqual(decodeAttributes(again, EXPLICIT_VR_LITTLE_ENDIAN), attrs);
  // The existing codec reads what we wrote the same way.
  assert.equal(decodeDataset(again, EXPLICIT_VR_LITTLE_ENDIAN).length, 1);
});
