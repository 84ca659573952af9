/**
 * The whole-data-set tree: element-by-element comparison in logical form
 * (byte order normalised by VR, padding ignored, UN matching any VR, UN
 * values read as implicit VR sequences; PS3.5 6.2.2, 7.3) and its
 * readable messages.
 */

import assert from "node:assert/strict";
import {
  type Dataset,
  datasetDifferences,
  decodeDataset,
  encodeDataset,
  stringValue,
} from "../../lib/dicom/dataset.ts";
import { encodeText } from "../../lib/dicom/vr.ts";

const IVRLE = "1.2.840.10008.1.2";
const EVRLE = "1.2.840.10008.1.2.1";
const EVRBE = "1.2.840.10008.1.2.2";

const text = (tag: number, vr: string, s: string) => ({ tag, vr, value: encodeText(s, vr) });
const bytes = (tag: number, vr: string, ...b: number[]) => ({ tag, vr, value: new Uint8Array(b) });

Deno.test("equal in logical form: byte order by VR, text padding, one NUL pad, group lengths", () => {
  const le: Dataset = [
    bytes(0x00080000, "UL", 4, 0, 0, 0),
    text(0x00100010, "PN", "DOE^J"),
    bytes(0x00280010, "US", 0x00, 0x02),
    bytes(0x00189089, "FD", 0, 0, 0, 0, 0, 0, 0xf0, 0x3f),
    bytes(0x00280009, "AT", 0x18, 0x00, 0x63, 0x10),
    bytes(0x00291010, "OB", 1, 2, 3),
  ];
  const be: Dataset = [
    text(0x00100010, "PN", "DOE^J "),
    bytes(0x00280010, "US", 0x02, 0x00),
    bytes(0x00189089, "FD", 0x3f, 0xf0, 0, 0, 0, 0, 0, 0),
    bytes(0x00280009, "AT", 0x00, 0x18, 0x10, 0x63),
    bytes(0x00291010, "OB", 1, 2, 3, 0),
  ];
  assert.deepEqual(datasetDifferences(le, be, EVRLE, EVRBE), []);
  // Read as the same byte order, the numbers differ.
  assert.deepEqual(datasetDifferences(le, be, EVRLE, EVRLE), [
    "(0018,9089) FD: 00 00 00 00 00 00 f0 3f != 3f f0 00 00 00 00 00 00",
    "(0028,0009) AT: 18 00 63 10 != 00 18 10 63",
    "(0028,0010) US: 00 02 != 02 00",
  ]);
});

Deno.test("VRs compared only when both sides are explicit; UN matches any VR and is little endian", () => {
  const explicit: Dataset = [bytes(0x00291011, "US", 0x01, 0x02), bytes(0x00291012, "SS", 1, 0)];
  const implicit: Dataset = [bytes(0x00291011, "UN", 0x02, 0x01), bytes(0x00291012, "US", 0, 1)];
  assert.deepEqual(datasetDifferences(explicit, implicit, EVRBE, IVRLE), []);
  assert.deepEqual(datasetDifferences(explicit, implicit, EVRBE, EVRLE), [
    "(0029,1012): VR SS != US",
  ]);
});

Deno.test("readable differences: values, missing elements, items, fragments, shapes", () => {
  const item = (uid: string): Dataset => [text(0x00081155, "UI", uid)];
  const a: Dataset = [
    text(0x00100010, "PN", "A"),
    text(0x00100020, "LO", "ID"),
    { tag: 0x00081140, vr: "SQ", value: [item("1.2"), item("1.3")] },
    { tag: 0x7fe00010, vr: "OB", value: [new Uint8Array(0), new Uint8Array([1, 2])] },
  ];
  const b: Dataset = [
    text(0x00100010, "PN", "B"),
    text(0x00100030, "DA", "20240101"),
    { tag: 0x00081140, vr: "SQ", value: [item("1.2"), item("1.4")] },
    { tag: 0x7fe00010, vr: "OB", value: [new Uint8Array(0), new Uint8Array([1, 3])] },
  ];
  assert.deepEqual(datasetDifferences(a, b, EVRLE, EVRLE), [
    "(0008,1140) SQ item 2 > (0008,1155) UI: '1.3' != '1.4'",
    "(0010,0010) PN: 'A' != 'B'",
    "(0010,0020) LO: only in the first data set",
    "(0010,0030) DA: only in the second data set",
    "(7FE0,0010) OB fragment 2: 01 02 != 01 03",
  ]);
  const fewer: Dataset = [{ tag: 0x00081140, vr: "SQ", value: [item("1.2")] }];
  assert.deepEqual(datasetDifferences(a.slice(2, 3), fewer, EVRLE, EVRLE), [
    "(0008,1140) SQ: 2 items != 1 items",
  ]);
  assert.deepEqual(
    datasetDifferences([text(0x00081140, "LO", "x")], fewer, IVRLE, EVRLE),
    ["(0008,1140): value (LO) != sequence (SQ)"],
  );
});

Deno.test("long binary values: first differing byte, or the lengths", () => {
  const long = new Uint8Array(32);
  const changed = long.slice();
  changed[20] = 9;
  const el = (value: Uint8Array) => [{ tag: 0x7fe00010, vr: "OB", value }];
  assert.deepEqual(datasetDifferences(el(long), el(changed), EVRLE, EVRLE), [
    "(7FE0,0010) OB: values differ from byte 20 (0 != 9)",
  ]);
  assert.deepEqual(datasetDifferences(el(long), el(long.subarray(0, 30)), EVRLE, EVRLE), [
    "(7FE0,0010) OB: length 32 != 30",
  ]);
});

Deno.test("a UN value of defined length compares as the implicit VR sequence it holds (PS3.5 6.2.2)", () => {
  const items: Dataset[] = [[text(0x00080100, "SH", "X1")]];
  const sq: Dataset = [{ tag: 0x00291020, vr: "SQ", value: items }];
  const asImplicit = encodeDataset(sq, IVRLE, { definedLengths: true });
  const opaque = decodeDataset(asImplicit, IVRLE); // a private tag of defined length: opaque bytes
  assert.ok(opaque[0].value instanceof Uint8Array);
  assert.deepEqual(datasetDifferences(sq, opaque, EVRBE, IVRLE), []);
  const other: Dataset = [{ tag: 0x00291020, vr: "SQ", value: [[text(0x00080100, "SH", "X2")]] }];
  assert.deepEqual(datasetDifferences(other, opaque, EVRLE, IVRLE), [
    "(0029,1020) SQ item 1 > (0008,0100) SH: 'X2' != 'X1'",
  ]);
});

Deno.test("stringValue: top-level text without padding; undefined when absent or a sequence", () => {
  const ds: Dataset = [text(0x00080018, "UI", "1.2.3"), { tag: 0x00081140, vr: "SQ", value: [] }];
  assert.equal(stringValue(ds, 0x00080018), "1.2.3");
  assert.equal(stringValue(ds, 0x00081140), undefined);
  assert.equal(stringValue(ds, 0x00100010), undefined);
});
