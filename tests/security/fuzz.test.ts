/**
 * The CI pass of the fuzzer (tests/fuzz/, `deno task fuzz` for long runs):
 * every target with a fixed seed and a bounded count, each in a worker
 * watched for hangs and memory; no finding may turn up. Then every input
 * the fuzzer ever found a defect with, replayed exactly, and the fixes
 * checked directly.
 */
import assert from "node:assert/strict";
import {
  type Dataset,
  datasetDifferences,
  decodeDataset,
  encodeDataset,
} from "../../lib/dicom/dataset.ts";
import { DicomParseError } from "../../lib/dicom/errors.ts";
import { deflateRaw } from "../../lib/dicom/deflate.ts";
import { TopLevelWatcher } from "../../lib/dicom/watcher.ts";
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
} from "../../lib/dicom/uids.ts";
import { hex } from "../../testing/hex.ts";
import {
  LIVE_TARGETS,
  makeTarget,
  runWatched,
  TARGET_NAMES,
} from "../../testing/fuzz/all_targets.ts";
import { formatSeed, inputRng } from "../../testing/fuzz/prng.ts";
import { findingLine } from "../../testing/fuzz/runner.ts";
import { REGRESSIONS } from "../../testing/fuzz/regressions.ts";

const SEED = 0xd1c0_5eed;

/** Inputs per target: about 15 s of decoders and 15 s of live servers on 2 CPUs. */
const COUNTS: Record<string, number> = {
  "pdu": 20_000,
  "pdu-stream": 12_000,
  "command": 20_000,
  "assembler": 12_000,
  "dataset-ile": 6_000,
  "dataset-ele": 6_000,
  "dataset-ebe": 6_000,
  "dataset-deflate": 4_000,
  "part10": 6_000,
  "part10-file": 1_500,
  "identifier": 5_000,
  "echoscp": 128,
  "storescp": 128,
  "findscu": 96,
  "getscu": 64,
  "movescu": 64,
};

Deno.test("fuzz: every target has a CI count", () => {
  assert.deepEqual(Object.keys(COUNTS).sort(), [...TARGET_NAMES].sort());
});

for (const name of TARGET_NAMES) {
  Deno.test(`fuzz: ${name}, seed ${formatSeed(SEED)}, ${COUNTS[name]} inputs`, async () => {
    const live = LIVE_TARGETS.includes(name);
    const { stats } = await runWatched(name, SEED, {
      count: COUNTS[name],
      hangMs: live ? 60_000 : 10_000,
      maxRss: 2 * 1024 * 1024 * 1024,
    });
    const report = stats.findings.map((f) => `${findingLine(f)} ${f.message}\n${f.input}`);
    assert.deepEqual(
      report,
      [],
      `findings (replay with deno task fuzz --replay):\n${report.join("\n")}`,
    );
    assert.equal(stats.inputs, COUNTS[name]);
    // The mutations must leave enough inputs valid for the round trips to be exercised,
    // and reject enough for the error paths to be.
    assert.ok(stats.decoded > 0 && stats.rejected > stats.inputs / 20, JSON.stringify(stats));
  });
}

for (const r of REGRESSIONS) {
  Deno.test(`fuzz regression: ${findingLine(r)} (${r.fix})`, async () => {
    const target = makeTarget(r.target);
    await target.setup?.();
    try {
      // The generator is brought to where the run that found it continued.
      const rng = inputRng(r.seed, r.target, r.index);
      target.generate(rng);
      await target.run(hex(r.input), rng);
      await target.afterBatch?.();
    } finally {
      await target.teardown?.();
    }
  });
}

/** Explicit VR little endian element header with a 32-bit length (PS3.5 7.1.2). */
function longHeader(group: number, element: number, vr: string, length: number): number[] {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  v.setUint16(0, group, true);
  v.setUint16(2, element, true);
  b[4] = vr.charCodeAt(0);
  b[5] = vr.charCodeAt(1);
  v.setUint32(8, length, true);
  return [...b];
}

const ITEM_OF_2 = [0xfe, 0xff, 0x00, 0xe0, 2, 0, 0, 0, 1, 2];
const SEQUENCE_END = [0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0];

Deno.test("fuzz fix: Pixel Data of undefined length is fragments only as OB or OW (PS3.5 A.4, 7.1.2)", () => {
  const pixelData = (vr: string) =>
    Uint8Array.from([...longHeader(0x7fe0, 0x0010, vr, 0xffffffff), ...ITEM_OF_2, ...SEQUENCE_END]);
  const ob = decodeDataset(pixelData("OB"), EXPLICIT_VR_LITTLE_ENDIAN);
  assert.deepEqual(ob, [{ tag: 0x7fe00010, vr: "OB", value: [new Uint8Array([1, 2])] }]);
  // UN of undefined length is a sequence of implicit VR items (PS3.5 6.2.2): "01 02" is no data set.
  assert.throws(() => decodeDataset(pixelData("UN"), EXPLICIT_VR_LITTLE_ENDIAN), DicomParseError);
  // Any other VR may not have an undefined length at all.
  assert.throws(
    () => decodeDataset(pixelData("UT"), EXPLICIT_VR_LITTLE_ENDIAN),
    (e) => e instanceof DicomParseError && e.code === "bad-vr",
  );
});

Deno.test("fuzz fix: a UN sequence keeps its undefined length when lengths are defined (PS3.5 6.2.2)", () => {
  // (0029,0020) is a private creator slot, LO in the dictionary: in implicit VR only an
  // undefined length makes it a sequence.
  const ds: Dataset = [{
    tag: 0x00290020,
    vr: "UN",
    value: [[{ tag: 0x00100020, vr: "LO", value: new TextEncoder().encode("ID") }]],
  }];
  for (const ts of [IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN]) {
    const parent: Dataset = [{ tag: 0x00081140, vr: "SQ", value: [ds] }];
    const bytes = encodeDataset(parent, ts, { definedLengths: true });
    const back = decodeDataset(bytes, ts);
    assert.deepEqual(datasetDifferences(parent, back, ts, ts), [], ts);
    // The enclosing item's defined length counts the UN sequence's delimiters.
    assert.equal(back[0].value.length, 1);
  }
});

Deno.test("fuzz fix: a deflate bomb stops storescp's watcher at its inflate limit (docs/SECURITY_CLASSES.md #3)", () => {
  // The live corpus's bomb: 32 MiB of zeros, 32 KiB deflated, which parse as endless
  // empty (0000,0000) elements. It used to be inflated whole at each doubling of the
  // prefix, and every element kept as a token: hundreds of MiB per connection.
  const bomb = deflateRaw(new Uint8Array(32 * 1024 * 1024), 9);
  const watcher = new TopLevelWatcher(DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, [0x00080016, 0x00080018]);
  for (let at = 0; at < bomb.length && !watcher.done; at += 16378) {
    watcher.push(bomb.subarray(at, at + 16378));
  }
  assert.equal(watcher.done, true);
  assert.ok(
    watcher.error instanceof DicomParseError && watcher.error.code === "too-long",
    `${watcher.error}`,
  );
  assert.equal(watcher.values().size, 0);
});
