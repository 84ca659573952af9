/**
 * Data elements with more than one possible VR (lib/dicom/multi_vr.ts):
 * the rules, the streaming resolver, every such tag of the dictionary
 * transcoded from implicit VR as DCMTK's dcmconv does it (VR and value,
 * element by element), and signed values that survive implicit and
 * explicit VR in turn.
 */
import assert from "node:assert/strict";
import {
  type Dataset,
  decodeDataset,
  type Element,
  encodeDataset,
} from "../../lib/dicom/dataset.ts";
import { ambiguousVrEntries, formatTag } from "../../lib/dicom/dictionary.ts";
import { resolveVr, VrResolver } from "../../lib/dicom/multi_vr.ts";
import { DatasetParser, type DatasetToken } from "../../lib/dicom/parser.ts";
import { encodeFileMeta } from "../../lib/dicom/part10.ts";
import { transcodeDataset } from "../../lib/dicom/transcode.ts";
import { EXPLICIT_LE, IMPLICIT_LE } from "../../lib/dicom/transfer_syntax.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN as DEFLATED,
  EXPLICIT_VR_BIG_ENDIAN as EVRBE,
  EXPLICIT_VR_LITTLE_ENDIAN as EVRLE,
  IMPLICIT_VR_LITTLE_ENDIAN as IVRLE,
} from "../../lib/dicom/uids.ts";
import { readPart10 } from "../../testing/dicom_files.ts";
import { dcmtkAvailable, runCommand } from "../../testing/procs.ts";
import { withTempDir } from "../../testing/temp_files.ts";

const HAVE_DCMTK = dcmtkAvailable();

const PR = 0x00280103;
const BITS_ALLOCATED = 0x00280100;
const WAVEFORM_BITS = 0x54001004;
const SMALLEST = 0x00280106;
const PADDING = 0x00280120;
const LUT_DESCRIPTOR = 0x00283002;
const MODALITY_LUT_SEQUENCE = 0x00283000;
const RWV_MAPPING_SEQUENCE = 0x00409096;
const RWV_FIRST = 0x00409216;
const RWV_LAST = 0x00409211;
const PRESENTATION_LUT_SEQUENCE = 0x20500010;
const WAVEFORM_SEQUENCE = 0x54000100;
const WAVEFORM_DATA = 0x54001010;
const CHANNEL_DEFINITION_SEQUENCE = 0x003a0200;
const CHANNEL_MINIMUM = 0x54000110;

Deno.test("resolveVr: each rule, and DCMTK's choice where none applies", () => {
  const cases: [number, Parameters<typeof resolveVr>[1], string][] = [
    [SMALLEST, { pixelRepresentation: 1 }, "SS"],
    [SMALLEST, { pixelRepresentation: 0 }, "US"],
    [SMALLEST, {}, "US"],
    [SMALLEST, { pixelRepresentation: 2 }, "US"], // DCMTK: only 1 means SS
    [PADDING, { pixelRepresentation: 1 }, "SS"],
    [LUT_DESCRIPTOR, { pixelRepresentation: 1 }, "SS"],
    [LUT_DESCRIPTOR, { pixelRepresentation: 1, inPresentationLut: true }, "US"],
    [RWV_FIRST, { pixelRepresentation: 1 }, "SS"],
    [0x00603004, { pixelRepresentation: 1 }, "SS"], // Histogram First Bin Value
    [0x00189810, { pixelRepresentation: 1 }, "SS"], // Zero Velocity Pixel Value
    [0x00221452, { pixelRepresentation: 1 }, "US"], // Mapped Pixel Value: no rule
    [0x00281101, { pixelRepresentation: 1 }, "US"], // palette descriptor: no rule
    [WAVEFORM_DATA, { waveformBitsAllocated: 8 }, "OB"],
    [WAVEFORM_DATA, { waveformBitsAllocated: 16 }, "OW"],
    [WAVEFORM_DATA, {}, "OB"],
    [CHANNEL_MINIMUM, { waveformBitsAllocated: 16 }, "OW"],
    [0x7fe00010, {}, "OW"],
    [0x60023000, {}, "OW"],
    [0x50003000, {}, "OB"],
    [0x00283006, { pixelRepresentation: 1 }, "OW"],
    [0x00041200, {}, "UL"],
    [0x00100010, { pixelRepresentation: 1 }, "PN"],
  ];
  for (const [tag, ctx, vr] of cases) {
    assert.equal(resolveVr(tag, ctx), vr, `${formatTag(tag)} ${JSON.stringify(ctx)}`);
  }
});

function us(tag: number, vr: string, values: number[], le = true): Element {
  const value = new Uint8Array(values.length * 2);
  const v = new DataView(value.buffer);
  values.forEach((x, i) => v.setUint16(2 * i, x & 0xffff, le));
  return { tag, vr, value };
}

/** The element tokens of an implicit VR data set as the resolver leaves them: tag -> VRs in order. */
function resolvedVrs(ds: Dataset, chunk = 1 << 20): Map<number, string[]> {
  const bytes = encodeDataset(ds, IVRLE);
  const parser = new DatasetParser(IMPLICIT_LE);
  const resolver = new VrResolver(IMPLICIT_LE);
  const out = new Map<number, string[]>();
  const see = (t: DatasetToken) => {
    const r = resolver.resolve(t);
    if (r.kind === "element") out.set(r.tag, [...(out.get(r.tag) ?? []), r.vr]);
  };
  for (let o = 0; o < bytes.length; o += chunk) {
    for (const t of parser.push(bytes.subarray(o, o + chunk))) see(t);
  }
  parser.end();
  return out;
}

Deno.test("VrResolver: Pixel Representation and Waveform Bits Allocated in force through items", () => {
  const ds: Dataset = [
    us(PR, "US", [1]),
    us(SMALLEST, "US", [-5]),
    {
      tag: MODALITY_LUT_SEQUENCE,
      vr: "SQ",
      // The image's Pixel Representation is in force in the item (PS3.3 C.11.1.1.1).
      value: [[us(LUT_DESCRIPTOR, "US", [4096, -100, 16])]],
    },
    {
      tag: RWV_MAPPING_SEQUENCE,
      vr: "SQ",
      value: [
        [us(RWV_LAST, "US", [-1])],
        // An item's own Pixel Representation overrides the one around it.
        [us(PR, "US", [0]), us(RWV_FIRST, "US", [7])],
      ],
    },
    {
      tag: PRESENTATION_LUT_SEQUENCE,
      vr: "SQ",
      value: [[us(LUT_DESCRIPTOR, "US", [4096, 0, 12])]],
    },
    {
      tag: WAVEFORM_SEQUENCE,
      vr: "SQ",
      value: [
        [
          {
            tag: CHANNEL_DEFINITION_SEQUENCE,
            vr: "SQ",
            value: [[us(CHANNEL_MINIMUM, "US", [1])]],
          },
          us(WAVEFORM_BITS, "US", [16]),
          us(WAVEFORM_DATA, "US", [1, 2]),
        ],
        [us(WAVEFORM_BITS, "US", [8]), us(WAVEFORM_DATA, "US", [1, 2])],
      ],
    },
  ];
  // The same answer whatever the chunking: PR's value may come split in two pieces.
  for (const chunk of [1, 3, 1 << 20]) {
    const vrs = resolvedVrs(ds, chunk);
    assert.deepEqual(vrs.get(SMALLEST), ["SS"], `chunk ${chunk}`);
    assert.deepEqual(vrs.get(LUT_DESCRIPTOR), ["SS", "US"], `chunk ${chunk}`);
    assert.deepEqual(vrs.get(RWV_LAST), ["SS"]);
    assert.deepEqual(vrs.get(RWV_FIRST), ["US"]);
    // Channel Minimum Value precedes Waveform Bits Allocated in its item: not yet known.
    assert.deepEqual(vrs.get(CHANNEL_MINIMUM), ["OB"]);
    assert.deepEqual(vrs.get(WAVEFORM_DATA), ["OW", "OB"]);
  }
  // Explicit VR input keeps the VR of its headers.
  const explicit = encodeDataset([us(PR, "US", [1]), us(SMALLEST, "US", [5])], EVRLE);
  const parser = new DatasetParser(EXPLICIT_LE);
  const resolver = new VrResolver(EXPLICIT_LE);
  const tokens = parser.push(explicit).map((t) => resolver.resolve(t));
  assert.deepEqual(
    tokens.flatMap((t) => t.kind === "element" ? [t.vr] : []),
    ["US", "US"],
  );
});

Deno.test("VrResolver: a big endian Pixel Representation is in force in a UN sequence's implicit items", () => {
  for (const pr of [1, 0, 0x100]) {
    const bytes = encodeDataset([
      us(PR, "US", [pr], false),
      // PS3.5 6.2.2: the items of a UN sequence of undefined length are implicit VR little endian.
      { tag: 0x00291020, vr: "UN", value: [[us(SMALLEST, "US", [-5])]] },
    ], EVRBE);
    const layout = { explicitVr: true, littleEndian: false };
    const parser = new DatasetParser(layout);
    const resolver = new VrResolver(layout);
    const vrs = parser.push(bytes).map((t) => resolver.resolve(t)).flatMap((t) =>
      t.kind === "element" && t.tag === SMALLEST ? [t.vr] : []
    );
    assert.deepEqual(vrs, [pr === 1 ? "SS" : "US"]);
  }
});

async function collect(src: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of src) parts.push(c);
  return concatBytes(parts);
}

async function transcode(bytes: Uint8Array, from: string, to: string): Promise<Uint8Array> {
  return await collect(transcodeDataset(
    (async function* () {
      yield bytes;
    })(),
    from,
    to,
  ));
}

/**
 * One implicit VR data set holding every ambiguous-VR tag of the dictionary
 * (and a second overlay group) at top level, with Pixel Representation,
 * Bits Allocated and Waveform Bits Allocated as asked; values are negative
 * 16-bit numbers or distinct byte patterns, so that a wrong VR or a wrong
 * byte swap shows.
 */
function everyAmbiguousTag(pr: number | undefined, bits: number | undefined): Dataset {
  const ds: Dataset = [
    { tag: 0x00080016, vr: "UI", value: new TextEncoder().encode("1.2.840.10008.5.1.4.1.1.7\0") },
    { tag: 0x00080018, vr: "UI", value: new TextEncoder().encode("1.2.3.4\0") },
  ];
  if (bits !== undefined) ds.push(us(BITS_ALLOCATED, "US", [bits]));
  if (pr !== undefined) ds.push(us(PR, "US", [pr]));
  if (bits !== undefined) ds.push(us(WAVEFORM_BITS, "US", [bits]));
  const tags = [...ambiguousVrEntries().map((e) => e.tag), 0x60023000];
  for (const [i, tag] of tags.entries()) {
    const entry = ambiguousVrEntries().find((e) => e.tag === tag);
    const vm = Number(entry?.vm.match(/^\d+/)?.[0] ?? 1);
    const value = entry?.vr === "up"
      ? new Uint8Array([i, 1, 2, 3])
      : entry?.vr === "xs"
      ? us(tag, "US", Array.from({ length: vm }, (_, k) => -(1000 + 10 * i + k)))
        .value as Uint8Array
      : Uint8Array.from({ length: 8 }, (_, k) => (i * 16 + k * 37 + 5) & 0xff);
    ds.push({ tag, vr: "UN", value });
  }
  return ds.sort((a, b) => a.tag - b.tag);
}

/** Elements of two data sets in the same syntax: tag, VR and value bytes, where they differ. */
function differences(ours: Dataset, theirs: Dataset): string[] {
  const out: string[] = [];
  const show = (e: Element | undefined) =>
    e
      ? `${e.vr} ${
        Array.from(e.value as Uint8Array, (b) => b.toString(16).padStart(2, "0")).join("")
      }`
      : "absent";
  const tags = new Set([...ours, ...theirs].map((e) => e.tag));
  for (const tag of [...tags].sort((a, b) => a - b)) {
    const a = ours.find((e) => e.tag === tag);
    const b = theirs.find((e) => e.tag === tag);
    if (show(a) !== show(b)) out.push(`${formatTag(tag)}: ours ${show(a)}, dcmconv ${show(b)}`);
  }
  return out;
}

Deno.test({
  name:
    "every multi-VR tag x Pixel Representation 0/1/absent x each syntax: VR and value as dcmconv writes them",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    await withTempDir("dimse_multivr_", async (dir) => {
      const targets: [string, string][] = [["+te", EVRLE], ["+tb", EVRBE], ["+td", DEFLATED]];
      let compared = 0;
      for (const pr of [0, 1, undefined]) {
        for (const bits of [8, 16, undefined]) {
          const label = `PR ${pr ?? "absent"}, bits ${bits ?? "absent"}`;
          const source = encodeDataset(everyAmbiguousTag(pr, bits), IVRLE);
          const src = `${dir}/src.dcm`;
          await Deno.writeFile(
            src,
            concatBytes([
              encodeFileMeta({
                mediaStorageSopClassUid: "1.2.840.10008.5.1.4.1.1.7",
                mediaStorageSopInstanceUid: "1.2.3.4",
                transferSyntaxUid: IVRLE,
              }),
              source,
            ]),
          );
          for (const [option, ts] of targets) {
            const out = `${dir}/out${option}.dcm`;
            const r = await runCommand("dcmconv", [option, src, out]);
            assert.equal(r.code, 0, r.stderr);
            const theirs = await readPart10(out);
            const ours = decodeDataset(await transcode(source, IVRLE, ts), ts);
            assert.deepEqual(differences(ours, theirs.dataset), [], `${label}: implicit -> ${ts}`);
            compared += ours.length;
            if (ts !== EVRBE) continue;
            // And back: explicit big endian -> implicit, values swapped by the VRs in the headers.
            const back = `${dir}/back.dcm`;
            const b = await runCommand("dcmconv", ["+ti", out, back]);
            assert.equal(b.code, 0, b.stderr);
            const theirsBack = await readPart10(back);
            const oursBack = decodeDataset(await transcode(theirs.raw, EVRBE, IVRLE), IVRLE);
            assert.deepEqual(
              differences(oursBack, theirsBack.dataset),
              [],
              `${label}: big endian -> implicit`,
            );
          }
        }
      }
      // 9 data sets, 3 syntaxes, every tag (a guard against comparing nothing).
      assert.ok(compared > 9 * 3 * ambiguousVrEntries().length, `compared ${compared}`);
    });
  },
});

/** A small deterministic generator (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The signed 16-bit values of a tag, wherever it is, read by the VR the data set gives it. */
function signedValues(ds: Dataset, tag: number, le: boolean, out: number[] = []): number[] {
  for (const e of ds) {
    if (Array.isArray(e.value)) {
      for (const item of e.value as Dataset[]) signedValues(item, tag, le, out);
    } else if (e.tag === tag) {
      assert.equal(e.vr, "SS", `${formatTag(tag)} is ${e.vr}`);
      const v = new DataView(e.value.buffer, e.value.byteOffset, e.value.byteLength);
      for (let o = 0; o + 1 < e.value.length; o += 2) out.push(v.getInt16(o, le));
    }
  }
  return out;
}

Deno.test("property: random signed values survive implicit -> explicit -> implicit -> explicit", async () => {
  const next = random(0x5eed);
  const int16 = () => Math.floor(next() * 65536) - 32768;
  const signedTags = [SMALLEST, 0x00280107, 0x00280108, 0x00280109, PADDING, 0x00280121];
  for (let round = 0; round < 40; round++) {
    const values = new Map(signedTags.map((t) => [t, [int16()]]));
    values.set(RWV_FIRST, [int16()]);
    values.set(RWV_LAST, [int16()]);
    values.set(LUT_DESCRIPTOR, [4096, int16(), 16]);
    const ds: Dataset = [us(PR, "US", [1])];
    for (const t of signedTags) ds.push(us(t, "US", values.get(t)!));
    ds.push({
      tag: MODALITY_LUT_SEQUENCE,
      vr: "SQ",
      value: [[us(LUT_DESCRIPTOR, "US", values.get(LUT_DESCRIPTOR)!)]],
    });
    ds.push({
      tag: RWV_MAPPING_SEQUENCE,
      vr: "SQ",
      value: [[
        us(RWV_LAST, "US", values.get(RWV_LAST)!),
        us(RWV_FIRST, "US", values.get(RWV_FIRST)!),
      ]],
    });
    const explicitTs = round % 2 === 0 ? EVRLE : EVRBE;
    const implicit = encodeDataset(ds, IVRLE);
    const explicit1 = await transcode(implicit, IVRLE, explicitTs);
    const implicit2 = await transcode(explicit1, explicitTs, IVRLE);
    const explicit2 = await transcode(implicit2, IVRLE, explicitTs);
    for (const [label, bytes] of [["first", explicit1], ["second", explicit2]] as const) {
      const decoded = decodeDataset(bytes, explicitTs);
      for (const [tag, expected] of values) {
        assert.deepEqual(
          signedValues(decoded, tag, explicitTs === EVRLE),
          expected,
          `round ${round}, ${label} explicit (${explicitTs}), ${formatTag(tag)}`,
        );
      }
    }
  }
});
