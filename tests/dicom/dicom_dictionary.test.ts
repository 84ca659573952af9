/**
 * The data dictionary (lib/dicom/dictionary.ts) and its generator
 * (scripts/gen_dictionary.ts): real PS3.6 entries, the repeating-group and
 * private-tag rules, the VRs used for implicit-VR decoding, and the
 * generated data against DCMTK's installed dicom.dic.
 */
import assert from "node:assert/strict";
import {
  ambiguousVrEntries,
  type DictEntry,
  formatTag,
  lookupTag,
  tagKeyword,
  tagVr,
} from "../../lib/dicom/dictionary.ts";
import { DICTIONARY_DATA } from "../../lib/dicom/dictionary_data.js";
import { keywordTag } from "../../lib/dicom/keywords.ts";
import {
  convertDictionary,
  dictionaryEdition,
  renderModule,
} from "../../testing/dictionary_gen.ts";

const DCMTK_DIC = "/usr/share/libdcmtk17/dicom.dic";

Deno.test("exact entries: tag, VR, VM, keyword", () => {
  assert.deepEqual(lookupTag(0x00100010), {
    tag: 0x00100010,
    vr: "PN",
    vm: "1",
    keyword: "PatientName",
    name: "PatientName",
    retired: false,
  });
  assert.equal(tagVr(0x00280010), "US");
  assert.equal(tagKeyword(0x00280010), "Rows");
  assert.equal(tagVr(0x00080016), "UI");
  assert.equal(tagKeyword(0x00080016), "SOPClassUID");
  assert.equal(lookupTag(0x00080008)?.vm, "2-n");
  assert.equal(tagVr(0x00081115), "SQ");
  assert.equal(tagVr(0x00020010), "UI");
  assert.equal(tagKeyword(0x00000100), "CommandField");
});

Deno.test("retired entries keep DCMTK's RETIRED_ name and the PS3.6 keyword", () => {
  const e = lookupTag(0x00080040);
  assert.equal(e?.retired, true);
  assert.equal(e?.name, "RETIRED_DataSetType");
  assert.equal(e?.keyword, "DataSetType");
});

Deno.test("pixel, overlay and LUT data are OW in implicit VR (PS3.5 A.1); other OB or OW are OB", () => {
  assert.equal(lookupTag(0x7fe00010)?.vr, "px");
  assert.equal(tagVr(0x7fe00010), "OW");
  assert.equal(tagVr(0x60003000), "OW");
  assert.equal(tagVr(0x00283006), "OW");
  // Without Waveform Bits Allocated (multi_vr.ts reads it), DCMTK's choice: OB.
  assert.equal(tagVr(0x54001010), "OB");
  assert.equal(tagVr(0x50003000), "OB");
  assert.equal(tagVr(0x7f000010), "OB");
});

Deno.test("ambiguous US/SS resolves to US, DICOMDIR offsets to UL, items to UN", () => {
  assert.equal(lookupTag(0x00280106)?.vr, "xs");
  assert.equal(tagVr(0x00280106), "US");
  assert.equal(tagVr(0x00041200), "UL");
  assert.equal(lookupTag(0xfffee000)?.keyword, "Item");
  assert.equal(tagVr(0xfffee000), "UN");
});

Deno.test("repeating groups: every even group of 50xx, 60xx, 7Fxx; (0020,31xx) elements", () => {
  for (const group of [0x6000, 0x6002, 0x601e, 0x60fe]) {
    const tag = (group << 16 | 0x3000) >>> 0;
    const e = lookupTag(tag);
    assert.equal(e?.keyword, "OverlayData", formatTag(tag));
    assert.equal(e?.tag, tag);
    assert.equal(tagVr(tag), "OW");
    assert.equal(tagVr(group << 16 | 0x0010), "US"); // OverlayRows
  }
  // An odd 60xx group is a private group (PS3.5 7.8.1), not an overlay.
  assert.equal(lookupTag(0x60033000), undefined);
  assert.equal(tagVr(0x60033000), "UN");
  assert.equal(tagKeyword(0x50023000), "CurveData");
  assert.equal(lookupTag(0x50023000)?.retired, true);
  assert.equal(tagKeyword(0x7f020010), "VariablePixelData");
  assert.equal(tagKeyword(0x00203102), "SourceImageIDs");
  assert.equal(lookupTag(0x00203101), undefined);
});

Deno.test("group lengths are UL (PS3.5 7.2)", () => {
  assert.equal(tagVr(0x00080000), "UL");
  assert.equal(tagKeyword(0x00080000), "GroupLength");
  assert.equal(lookupTag(0x00080000)?.name, "GenericGroupLength");
  assert.equal(tagVr(0x00190000), "UL");
  assert.equal(lookupTag(0x00190000)?.name, "PrivateGroupLength");
  // Groups 0000 and 0002 have their own entries.
  assert.equal(tagKeyword(0x00000000), "CommandGroupLength");
  assert.equal(tagKeyword(0x00020000), "FileMetaInformationGroupLength");
});

Deno.test("private creators are LO, other private elements UN (PS3.5 7.8.1)", () => {
  assert.equal(tagVr(0x00190010), "LO");
  assert.equal(tagVr(0x001900ff), "LO");
  assert.equal(tagKeyword(0x00290010), "PrivateCreator");
  assert.equal(lookupTag(0x00191001), undefined);
  assert.equal(tagVr(0x00191001), "UN");
  assert.equal(tagVr(0x00190100), "UN");
  assert.equal(tagVr(0x0019000f), "UN");
  // An unknown tag in an even (standard) group.
  assert.equal(lookupTag(0x00089999), undefined);
  assert.equal(tagVr(0x00089999), "UN");
});

Deno.test("formatTag prints (GGGG,EEEE) in uppercase hex", () => {
  assert.equal(formatTag(0x00080016), "(0008,0016)");
  assert.equal(formatTag(0x7fe00010), "(7FE0,0010)");
  assert.equal(formatTag(0xfffee0dd), "(FFFE,E0DD)");
  assert.equal(formatTag(0), "(0000,0000)");
});

/**
 * The dictionary as one map built from every line in data order, each range expanded into
 * its tags (later lines win): what lookups used to be made from, kept here as the reference
 * for the index that now looks each tag up when it is first asked for.
 */
function expandedDictionary(): { byTag: Map<number, DictEntry>; byKeyword: Map<string, number> } {
  const byTag = new Map<number, DictEntry>();
  const byKeyword = new Map<string, number>();
  const bound = (text: string) => {
    const m = /^([0-9A-F]{4})(?:-(?:([ou])-)?([0-9A-F]{4}))?$/.exec(text)!;
    const lo = parseInt(m[1], 16);
    const hi = m[3] === undefined ? lo : parseInt(m[3], 16);
    const parity = m[2] === "o" ? 1 : m[2] === "u" ? -1 : 0;
    const out: number[] = [];
    for (let v = lo; v <= hi; v++) if (lo === hi || parity < 0 || v % 2 === parity) out.push(v);
    return out;
  };
  for (const line of DICTIONARY_DATA.split("\n")) {
    if (line === "") continue;
    const [tagText, vr, name, vm] = line.split("\t");
    const [g, e] = tagText.split(",");
    const retired = name.startsWith("RETIRED_");
    const keyword = retired ? name.slice("RETIRED_".length) : name;
    for (const group of bound(g)) {
      for (const element of bound(e)) {
        const tag = ((group << 16) | element) >>> 0;
        byTag.set(tag, { tag, vr, vm, keyword, name, retired });
      }
    }
    const first = ((parseInt(g.slice(0, 4), 16) << 16) | parseInt(e.slice(0, 4), 16)) >>> 0;
    byKeyword.set(name, first);
    if (retired) byKeyword.set(keyword, first);
  }
  return { byTag, byKeyword };
}

Deno.test("every tag and keyword of the data is found as the whole expanded table finds it", () => {
  const { byTag, byKeyword } = expandedDictionary();
  assert.ok(byTag.size > 12_000, `${byTag.size} tags`);
  for (const [tag, entry] of byTag) {
    assert.deepEqual(lookupTag(tag), entry, formatTag(tag));
    // Looked up again: the same entry.
    assert.equal(lookupTag(tag), lookupTag(tag));
  }
  // Neighbours of every tag that the table does not hold: the generic rules or nothing.
  for (const tag of byTag.keys()) {
    for (const near of [tag + 1, tag - 1, tag + 0x10000, tag - 0x10000]) {
      const t = near >>> 0;
      if (byTag.has(t)) continue;
      const e = lookupTag(t);
      if (e) assert.ok(e.keyword === "GroupLength" || e.keyword === "PrivateCreator", formatTag(t));
    }
  }
  assert.ok(byKeyword.size > 4_900, `${byKeyword.size} keywords`);
  for (const [keyword, tag] of byKeyword) assert.equal(keywordTag(keyword), tag, keyword);
  for (
    const missing of ["", "Patient", "PatientNam", "UL", "1-n", "0010,0010", "PN\tPatientName"]
  ) {
    assert.equal(keywordTag(missing), undefined, missing);
  }
  // One entry per ambiguous-VR line, the first tag of its range.
  const ambiguous = ambiguousVrEntries();
  assert.ok(ambiguous.length > 10);
  for (const e of ambiguous) assert.deepEqual(e, byTag.get(e.tag));
});

Deno.test("generator: ranges kept, rule entries dropped, sorted by tag", () => {
  const dic = [
    "# comment",
    "(6000-60FF,3000)\tox\tOverlayData\t1\tDICOM",
    "(0010,0010)\tPN\tPatientName\t1\tDICOM",
    "(0009-o-FFFF,0010-u-00FF)\tLO\tPrivateCreator\t1\tPRIVATE",
    "(0000-u-FFFF,0000)\tUL\tGenericGroupLength\t1\tGENERIC",
    "(0028,1200)\tlt\tRETIRED_GrayLookupTableData\t1-n\tDICOM/retired",
    "",
  ].join("\n");
  assert.deepEqual(convertDictionary(dic, "t.dic"), [
    "0010,0010\tPN\tPatientName\t1",
    "0028,1200\tlt\tRETIRED_GrayLookupTableData\t1-n",
    "6000-60FF,3000\tox\tOverlayData\t1",
  ]);
});

Deno.test("generator: malformed and duplicate lines fail, naming the line", () => {
  const bad = [
    ["(0010,0010)\tPN\tPatientName\t1", /t\.dic:1: expected 5/],
    ["(0010,001)\tPN\tPatientName\t1\tDICOM", /t\.dic:1: bad tag/],
    ["(0010,0010)\tPn\tPatientName\t1\tDICOM", /t\.dic:1: bad VR/],
    ["(0010,0010)\tPN\tPatient Name\t1\tDICOM", /t\.dic:1: bad name/],
    ["(0010,0010)\tPN\tPatientName\tx\tDICOM", /t\.dic:1: bad VM/],
    ["(0010,0010)\tPN\tA\t1\tDICOM\n(0010,0010)\tPN\tB\t1\tDICOM", /t\.dic:2: duplicate/],
  ] as const;
  for (const [text, message] of bad) {
    assert.throws(() => convertDictionary(text, "t.dic"), message);
  }
});

const DATA_URL = new URL("../../lib/dicom/dictionary_data.js", import.meta.url);
const COMMITTED = await Deno.readTextFile(DATA_URL);
const INSTALLED = await Deno.readTextFile(DCMTK_DIC).catch(() => undefined);
const INSTALLED_EDITION = INSTALLED === undefined ? undefined : dictionaryEdition(INSTALLED);

Deno.test({
  name: "generated data is what the generator makes of the installed dicom.dic",
  // Comparable only where DCMTK's dictionary is installed and has the
  // edition the committed data was generated from (named in its header).
  ignore: INSTALLED_EDITION === undefined || !COMMITTED.includes(`dicom.dic: ${INSTALLED_EDITION}`),
  fn: () => {
    const lines = convertDictionary(INSTALLED!, DCMTK_DIC);
    assert.equal(COMMITTED, renderModule(lines, "dicom.dic", INSTALLED_EDITION!));
    assert.equal(DICTIONARY_DATA.trim().split("\n").length, lines.length);
  },
});
