/**
 * The streaming data set codec (PS3.5 7.1, 7.5, A.4): byte-exact header
 * vectors in each layout, sequences of defined and undefined length,
 * encapsulated fragments, every chunk split giving the same tokens, the
 * nesting limit, lying and truncated lengths, VR byte swapping.
 */

import assert from "node:assert/strict";
import { type Dataset, decodeDataset, encodeDataset } from "../../lib/dicom/dataset.ts";
import { DicomParseError } from "../../lib/dicom/errors.ts";
import { DatasetParser, type DatasetToken, type ParserLimits } from "../../lib/dicom/parser.ts";
import { EXPLICIT_LE, IMPLICIT_LE, type Layout } from "../../lib/dicom/transfer_syntax.ts";
import { decodeText, encodeText, swapInPlace } from "../../lib/dicom/vr.ts";
import { outputVr } from "../../lib/dicom/writer.ts";
import { decodeFileMeta } from "../../lib/dicom/part10.ts";
import { makeImageFile } from "../../testing/dicom_files.ts";
import { hex } from "../../testing/hex.ts";

const IVRLE = "1.2.840.10008.1.2";
const EVRLE = "1.2.840.10008.1.2.1";
const EVRBE = "1.2.840.10008.1.2.2";
const JPEG_LS = "1.2.840.10008.1.2.4.80";
const EXPLICIT_BE: Layout = { explicitVr: true, littleEndian: false };

function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Tokens with the pieces of each value joined, so that chunkings compare equal. */
function normalise(tokens: DatasetToken[]): unknown[] {
  const out: unknown[] = [];
  let pieces: number[] | undefined;
  for (const t of tokens) {
    if (t.kind !== "value") {
      out.push(t);
      continue;
    }
    pieces ??= [];
    pieces.push(...t.bytes);
    if (t.last) {
      out.push({ kind: "value", bytes: pieces });
      pieces = undefined;
    }
  }
  return out;
}

function parseAll(
  bytes: Uint8Array,
  layout: Layout,
  limits?: ParserLimits,
  chunk = bytes.length,
): DatasetToken[] {
  const p = new DatasetParser(layout, limits);
  const tokens: DatasetToken[] = [];
  for (let o = 0; o < bytes.length; o += chunk) {
    tokens.push(...p.push(bytes.subarray(o, o + chunk)));
  }
  tokens.push(...p.end());
  return tokens;
}

function parseError(bytes: Uint8Array, layout: Layout, limits?: ParserLimits): DicomParseError {
  try {
    parseAll(bytes, layout, limits);
  } catch (e) {
    assert.ok(e instanceof DicomParseError, String(e));
    return e;
  }
  assert.fail("parse succeeded");
}

// PS3.5 7.1.2 / 7.1.3: one element in each layout.
const ELEMENT_VECTORS: [string, Layout, string, number, string, Uint8Array][] = [
  [
    "explicit LE, 16-bit length",
    EXPLICIT_LE,
    "10001000 504E 0200 4142",
    0x00100010,
    "PN",
    ascii("AB"),
  ],
  [
    "explicit LE, 32-bit length",
    EXPLICIT_LE,
    "E07F1000 4F42 0000 02000000 0102",
    0x7fe00010,
    "OB",
    hex("0102"),
  ],
  [
    "explicit BE, 16-bit length",
    EXPLICIT_BE,
    "00280010 5553 0002 0200",
    0x00280010,
    "US",
    hex("0200"),
  ],
  [
    "explicit BE, 32-bit length",
    EXPLICIT_BE,
    "7FE00010 4F57 0000 00000002 0102",
    0x7fe00010,
    "OW",
    hex("0102"),
  ],
  ["implicit LE", IMPLICIT_LE, "10001000 02000000 4142", 0x00100010, "PN", ascii("AB")],
];

for (const [name, layout, bytes, tag, vr, value] of ELEMENT_VECTORS) {
  Deno.test(`element header vector: ${name}`, () => {
    const tokens = parseAll(hex(bytes), layout);
    assert.deepEqual(tokens, [
      { kind: "element", tag, vr, length: value.length, depth: 0 },
      { kind: "value", bytes: value, last: true },
    ]);
    const ts = layout.explicitVr ? (layout.littleEndian ? EVRLE : EVRBE) : IVRLE;
    assert.deepEqual(encodeDataset([{ tag, vr, value }], ts), hex(bytes));
  });
}

// (0008,1140) SQ with one item holding (0008,1150) UI "1\0".
const SEQ_UNDEFINED = "08004011 5351 0000 FFFFFFFF" + "FEFF00E0 FFFFFFFF" +
  "08005011 5549 0200 3100" + "FEFF0DE0 00000000" + "FEFFDDE0 00000000";
const SEQ_DEFINED = "08004011 5351 0000 12000000" + "FEFF00E0 0A000000" + "08005011 5549 0200 3100";
const SEQ_TREE: Dataset = [{
  tag: 0x00081140,
  vr: "SQ",
  value: [[{ tag: 0x00081150, vr: "UI", value: hex("3100") }]],
}];

Deno.test("sequence vectors: undefined and defined lengths (PS3.5 7.5.1, 7.5.2)", () => {
  assert.deepEqual(encodeDataset(SEQ_TREE, EVRLE), hex(SEQ_UNDEFINED));
  assert.deepEqual(encodeDataset(SEQ_TREE, EVRLE, { definedLengths: true }), hex(SEQ_DEFINED));
  const expected = (length: number | undefined, itemLength: number | undefined) => [
    { kind: "sequence", tag: 0x00081140, vr: "SQ", length, depth: 0, items: EXPLICIT_LE },
    { kind: "item-start", length: itemLength },
    { kind: "element", tag: 0x00081150, vr: "UI", length: 2, depth: 1 },
    { kind: "value", bytes: hex("3100"), last: true },
    { kind: "item-end" },
    { kind: "sequence-end" },
  ];
  assert.deepEqual(parseAll(hex(SEQ_UNDEFINED), EXPLICIT_LE), expected(undefined, undefined));
  assert.deepEqual(parseAll(hex(SEQ_DEFINED), EXPLICIT_LE), expected(18, 10));
  assert.deepEqual(decodeDataset(hex(SEQ_DEFINED), EVRLE), SEQ_TREE);
});

Deno.test("sequence vector in explicit VR big endian: item tags big endian too", () => {
  const be = "00081140 5351 0000 FFFFFFFF" + "FFFEE000 FFFFFFFF" + "00081150 5549 0002 3100" +
    "FFFEE00D 00000000" + "FFFEE0DD 00000000";
  assert.deepEqual(encodeDataset(SEQ_TREE, EVRBE), hex(be));
  assert.deepEqual(decodeDataset(hex(be), EVRBE), SEQ_TREE);
});

Deno.test("empty sequence and empty item of defined length close at once", () => {
  const bytes = hex("08004011 5351 0000 08000000 FEFF00E0 00000000 10001000 504E 0000");
  assert.deepEqual(normalise(parseAll(bytes, EXPLICIT_LE)), [
    { kind: "sequence", tag: 0x00081140, vr: "SQ", length: 8, depth: 0, items: EXPLICIT_LE },
    { kind: "item-start", length: 0 },
    { kind: "item-end" },
    { kind: "sequence-end" },
    { kind: "element", tag: 0x00100010, vr: "PN", length: 0, depth: 0 },
  ]);
});

Deno.test("encapsulated pixel data vector: BOT, fragments, delimiter (PS3.5 A.4)", () => {
  const bytes = "E07F1000 4F42 0000 FFFFFFFF" + "FEFF00E0 00000000" + "FEFF00E0 04000000 01020304" +
    "FEFF00E0 02000000 0506" + "FEFFDDE0 00000000";
  const tree: Dataset = [{
    tag: 0x7fe00010,
    vr: "OB",
    value: [hex(""), hex("01020304"), hex("0506")],
  }];
  assert.deepEqual(encodeDataset(tree, JPEG_LS), hex(bytes));
  assert.deepEqual(decodeDataset(hex(bytes), JPEG_LS), tree);
  assert.deepEqual(normalise(parseAll(hex(bytes), EXPLICIT_LE)), [
    { kind: "encapsulated", tag: 0x7fe00010, vr: "OB", depth: 0 },
    { kind: "fragment", length: 0 },
    { kind: "fragment", length: 4 },
    { kind: "value", bytes: [1, 2, 3, 4] },
    { kind: "fragment", length: 2 },
    { kind: "value", bytes: [5, 6] },
    { kind: "sequence-end" },
  ]);
  assert.throws(
    () => encodeDataset(tree, IVRLE),
    (e) => e instanceof DicomParseError && e.code === "unsupported",
  );
});

Deno.test("UN of undefined length: a sequence whose items are implicit VR LE (PS3.5 6.2.2)", () => {
  // In explicit VR big endian, the UN header is big endian, its items little endian implicit.
  const bytes = hex(
    "00291020 554E 0000 FFFFFFFF" + "FEFF00E0 FFFFFFFF" + "08000001 02000000 5858" +
      "FEFF0DE0 00000000" + "FEFFDDE0 00000000",
  );
  assert.deepEqual(normalise(parseAll(bytes, EXPLICIT_BE)), [
    {
      kind: "sequence",
      tag: 0x00291020,
      vr: "UN",
      length: undefined,
      depth: 0,
      items: IMPLICIT_LE,
    },
    { kind: "item-start", length: undefined },
    { kind: "element", tag: 0x00080100, vr: "SH", length: 2, depth: 1 },
    { kind: "value", bytes: [0x58, 0x58] },
    { kind: "item-end" },
    { kind: "sequence-end" },
  ]);
  // Implicit VR: an unknown tag of undefined length is a sequence too.
  const implicit = hex("29002010 FFFFFFFF FEFF00E0 00000000 FEFFDDE0 00000000");
  assert.deepEqual(normalise(parseAll(implicit, IMPLICIT_LE)), [
    {
      kind: "sequence",
      tag: 0x00291020,
      vr: "UN",
      length: undefined,
      depth: 0,
      items: IMPLICIT_LE,
    },
    { kind: "item-start", length: 0 },
    { kind: "item-end" },
    { kind: "sequence-end" },
  ]);
});

Deno.test("unrecognised VRs: upper-case ones have a 32-bit length, others 16-bit; both read as UN", () => {
  const future = hex("09000010 5A5A 0000 02000000 0102 10001000 504E 0000");
  assert.deepEqual(normalise(parseAll(future, EXPLICIT_LE)).slice(0, 2), [
    { kind: "element", tag: 0x00091000, vr: "UN", length: 2, depth: 0 },
    { kind: "value", bytes: [1, 2] },
  ]);
  const illegal = hex("09000010 3F3F 0200 0102");
  assert.deepEqual(normalise(parseAll(illegal, EXPLICIT_LE)), [
    { kind: "element", tag: 0x00091000, vr: "UN", length: 2, depth: 0 },
    { kind: "value", bytes: [1, 2] },
  ]);
});

/** The data sets of small image files in each native syntax and one encapsulated, with their layouts. */
function imageDatasets(): { ts: string; bytes: Uint8Array; layout: Layout }[] {
  return [IVRLE, EVRLE, EVRBE, "1.2.840.10008.1.2.4.70"].map((ts) => {
    const file = makeImageFile({
      ts,
      rows: 2,
      cols: 2,
      frames: 2,
      oddLengths: true,
      definedLengths: ts !== IVRLE,
    });
    const layout = ts === EVRBE ? EXPLICIT_BE : ts === IVRLE ? IMPLICIT_LE : EXPLICIT_LE;
    return { ts, bytes: file.subarray(decodeFileMeta(file).length), layout };
  });
}

Deno.test("every chunk split of a file's data set gives the same tokens as one push", () => {
  for (const { ts, bytes, layout } of imageDatasets()) {
    const whole = normalise(parseAll(bytes, layout));
    for (let split = 1; split < bytes.length; split++) {
      const p = new DatasetParser(layout);
      const tokens = [
        ...p.push(bytes.subarray(0, split)),
        ...p.push(bytes.subarray(split)),
        ...p.end(),
      ];
      assert.deepEqual(normalise(tokens), whole, `${ts} split at ${split}`);
    }
    assert.deepEqual(normalise(parseAll(bytes, layout, {}, 1)), whole, `${ts} byte by byte`);
  }
});

/** `depth` nested sequences of undefined length, each with one item, explicit VR LE. */
function nested(depth: number): Uint8Array {
  const open = hex("08004011 5351 0000 FFFFFFFF FEFF00E0 FFFFFFFF");
  const close = hex("FEFF0DE0 00000000 FEFFDDE0 00000000");
  const out = new Uint8Array(depth * (open.length + close.length));
  for (let i = 0; i < depth; i++) {
    out.set(open, i * open.length);
    out.set(close, depth * open.length + i * close.length);
  }
  return out;
}

Deno.test("nesting limit: 32 levels parse, 33 fail with too-deep", () => {
  assert.equal(parseAll(nested(32), EXPLICIT_LE).length, 32 * 4);
  const e = parseError(nested(33), EXPLICIT_LE);
  assert.equal(e.code, "too-deep");
  assert.match(e.message, /deeper than the limit of 32/);
  assert.equal(parseError(nested(3), EXPLICIT_LE, { maxDepth: 2 }).code, "too-deep");
});

Deno.test("deep nesting within a raised limit: no stack overflow (explicit stacks)", () => {
  const depth = 100_000;
  const ds = decodeDataset(nested(depth), EVRLE, { maxDepth: depth });
  let level = 0;
  for (let d: Dataset = ds; d.length > 0; d = (d[0].value as Dataset[])[0]) level++;
  assert.equal(level, depth);
});

Deno.test("lying lengths: an element or item longer than its container fails with overrun", () => {
  // Item of 10 bytes holding an element that claims 4 bytes of value but only 2 fit.
  const element = hex(
    "08004011 5351 0000 FFFFFFFF FEFF00E0 0A000000 08005011 5549 0400 3100 FEFFDDE0 00000000",
  );
  const e1 = parseError(element, EXPLICIT_LE);
  assert.equal(e1.code, "overrun");
  assert.match(e1.message, /\(0008,1150\) UI length 4 runs past the end/);
  // A sequence of 8 bytes holding an item of 12.
  const item = hex("08004011 5351 0000 08000000 FEFF00E0 0C000000");
  assert.equal(parseError(item, EXPLICIT_LE).code, "overrun");
  // A header that straddles the end of its item.
  const header = hex("08004011 5351 0000 10000000 FEFF00E0 08000000 10001000 504E 0200");
  assert.equal(parseError(header, EXPLICIT_LE).code, "overrun");
});

Deno.test("truncation: inside a value, a header, a sequence; nothing allocated from a huge claim", () => {
  // A value that claims 4 GB - 2: the parser passes views, so this costs nothing.
  const huge = hex("E07F1000 4F42 0000 FEFFFFFF 0102");
  const p = new DatasetParser(EXPLICIT_LE);
  assert.deepEqual(normalise(p.push(huge)).length, 1);
  assert.throws(
    () => p.end(),
    (e) =>
      e instanceof DicomParseError && e.code === "truncated" &&
      /4294967292 bytes of \(7FE0,0010\) missing/.test(e.message),
  );
  assert.equal(parseError(hex("10001000 504E"), EXPLICIT_LE).code, "truncated");
  assert.equal(parseError(hex("08004011 5351 0000 FFFFFFFF"), EXPLICIT_LE).code, "truncated");
  assert.equal(parseError(huge, EXPLICIT_LE, { maxValueLength: 1 << 20 }).code, "too-long");
});

Deno.test("misplaced tags: an element inside a sequence, a delimiter at top level, undefined length on UT", () => {
  assert.equal(
    parseError(hex("08004011 5351 0000 FFFFFFFF 10001000 504E 0000"), EXPLICIT_LE).code,
    "bad-item",
  );
  assert.equal(parseError(hex("FEFF0DE0 00000000"), EXPLICIT_LE).code, "bad-item");
  assert.equal(parseError(hex("FEFFDDE0 00000000"), IMPLICIT_LE).code, "bad-item");
  // LO has a 16-bit length: 0xFFFF is a defined length of 65535 here, not undefined.
  const lo = parseError(hex("10002000 4C4F FFFF"), EXPLICIT_LE);
  assert.equal(lo.code, "truncated");
  assert.match(lo.message, /65535 bytes of \(0010,0020\) missing/);
  const ut = parseError(hex("10002000 5554 0000 FFFFFFFF"), EXPLICIT_LE);
  assert.equal(ut.code, "bad-vr");
  assert.match(ut.message, /\(0010,0020\) UT has undefined length/);
  const fragment = parseError(hex("E07F1000 4F42 0000 FFFFFFFF FEFF00E0 FFFFFFFF"), EXPLICIT_LE);
  assert.equal(fragment.code, "bad-item");
});

Deno.test("byte swapping by unit: 2, 4, 8 bytes, unaligned views, odd tails kept", () => {
  const base = hex("00 0102 0304 0506 0708 090A 0B0C 0D0E 0F10 11");
  const cases: [2 | 4 | 8, string][] = [
    [2, "0201 0403 0605 0807 0A09 0C0B 0E0D 100F 11"],
    [4, "04030201 08070605 0C0B0A09 100F0E0D 11"],
    [8, "0807060504030201 100F0E0D0C0B0A09 11"],
  ];
  for (const [unit, expected] of cases) {
    const buf = base.slice();
    swapInPlace(buf.subarray(1), unit); // byteOffset 1: not word-aligned
    assert.deepEqual(buf.subarray(1), hex(expected), `unit ${unit} unaligned`);
    const aligned = base.slice(1);
    swapInPlace(aligned, unit);
    assert.deepEqual(aligned, hex(expected), `unit ${unit} aligned`);
  }
});

Deno.test("text values: padded by VR, decoded without padding (PS3.5 6.2)", () => {
  assert.deepEqual(encodeText("1.2.3", "UI"), ascii("1.2.3\0"));
  assert.deepEqual(encodeText("ABC", "PN"), ascii("ABC "));
  assert.deepEqual(encodeText("AB", "LO"), ascii("AB"));
  assert.equal(decodeText(ascii(" A B \0")), "A B");
  assert.throws(() => encodeText("\u20ac", "LO"), RangeError);
});

Deno.test("output VR: 16-bit-length VRs over 0xFFFF become UN; -u writes new VRs as OB", () => {
  assert.equal(outputVr("US", 0x10000, EXPLICIT_LE), "UN");
  assert.equal(outputVr("US", 0xffff, EXPLICIT_LE), "US");
  assert.equal(outputVr("OW", 0x10000, EXPLICIT_LE), "OW");
  assert.equal(outputVr("US", 0x10000, IMPLICIT_LE), "US");
  for (const vr of ["UN", "UT", "UR", "UC", "OF", "OD", "OL", "OV", "SV", "UV"]) {
    assert.equal(outputVr(vr, 4, EXPLICIT_LE, true), "OB", vr);
  }
  assert.equal(outputVr("OW", 4, EXPLICIT_LE, true), "OW");
});

/** What feeding `bytes` cut at `split` ends in: "ok", or the error's code, message and offset. */
function outcome(
  bytes: Uint8Array,
  layout: Layout,
  limits: ParserLimits | undefined,
  split: number,
  check: boolean,
): string {
  const p = new DatasetParser(layout, limits);
  try {
    for (const part of [bytes.subarray(0, split), bytes.subarray(split)]) {
      if (check) assert.equal(p.check(part), undefined);
      else p.push(part);
    }
    p.end();
    return "ok";
  } catch (e) {
    assert.ok(e instanceof DicomParseError, String(e));
    return `${e.code} ${e.offset} ${e.message}`;
  }
}

Deno.test("check() accepts and refuses what push() does, with the same error, at every split", () => {
  const valid = imageDatasets();
  type Case = { bytes: Uint8Array; layout: Layout; limits?: ParserLimits };
  const malformed: Case[] = [
    { bytes: nested(33), layout: EXPLICIT_LE },
    { bytes: nested(3), layout: EXPLICIT_LE, limits: { maxDepth: 2 } },
    {
      bytes: hex(
        "08004011 5351 0000 FFFFFFFF FEFF00E0 0A000000 08005011 5549 0400 3100 FEFFDDE0 00000000",
      ),
      layout: EXPLICIT_LE,
    },
    { bytes: hex("08004011 5351 0000 08000000 FEFF00E0 0C000000"), layout: EXPLICIT_LE },
    {
      bytes: hex("08004011 5351 0000 10000000 FEFF00E0 08000000 10001000 504E 0200"),
      layout: EXPLICIT_LE,
    },
    { bytes: hex("10001000 504E"), layout: EXPLICIT_LE },
    { bytes: hex("E07F1000 4F42 0000 FEFFFFFF 0102"), layout: EXPLICIT_LE },
    {
      bytes: hex("E07F1000 4F42 0000 FEFFFFFF 0102"),
      layout: EXPLICIT_LE,
      limits: { maxValueLength: 1 << 20 },
    },
    { bytes: hex("08004011 5351 0000 FFFFFFFF 10001000 504E 0000"), layout: EXPLICIT_LE },
    { bytes: hex("FEFFDDE0 00000000"), layout: IMPLICIT_LE },
    { bytes: hex("10002000 4C4F FFFF"), layout: EXPLICIT_LE },
    { bytes: hex("10002000 5554 0000 FFFFFFFF"), layout: EXPLICIT_LE },
    { bytes: hex("E07F1000 4F42 0000 FFFFFFFF FEFF00E0 FFFFFFFF"), layout: EXPLICIT_LE },
  ];
  const cases: Case[] = [...valid, ...malformed];
  for (const { bytes, layout, limits } of cases) {
    const expected = outcome(bytes, layout, limits, bytes.length, false);
    assert.equal(expected === "ok", valid.some((v) => v.bytes === bytes), expected);
    for (let split = 0; split <= bytes.length; split++) {
      assert.equal(outcome(bytes, layout, limits, split, true), expected, `split at ${split}`);
      assert.equal(outcome(bytes, layout, limits, split, false), expected, `split at ${split}`);
    }
  }
});
