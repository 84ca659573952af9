/**
 * Part 10 files (PS3.10 7.1): file meta information vectors, reading the
 * head of files with and without meta information in each input format
 * (+f, +fo, -f), DCMTK's transfer syntax guess for bare data sets, clear
 * errors for bad files, streaming the data set, the top-level watcher, and
 * interop with DCMTK in both directions.
 */

import assert from "node:assert/strict";
import {
  datasetDifferences,
  decodeDataset,
  encodeDataset,
  stringValue,
} from "../../lib/dicom/dataset.ts";
import { encodeText } from "../../lib/dicom/vr.ts";
import {
  decodeFileMeta,
  DicomFileError,
  encodeFileMeta,
  type FileMeta,
  FileMetaEncoder,
  guessTransferSyntax,
  inspectDicomFile,
  readDatasetChunks,
  sopUidsHoldSpaces,
} from "../../lib/dicom/part10.ts";
import { TopLevelWatcher } from "../../lib/dicom/watcher.ts";
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from "../../lib/util/version.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN as DEFLATED,
  EXPLICIT_VR_BIG_ENDIAN as EVRBE,
  EXPLICIT_VR_LITTLE_ENDIAN as EVRLE,
  IMPLICIT_VR_LITTLE_ENDIAN as IVRLE,
} from "../../lib/dicom/uids.ts";
import {
  JPEG_LOSSLESS_SV1 as JPEG_LOSSLESS,
  makeImageFile,
  MR_IMAGE_STORAGE,
  spacePadSopUids,
  writeImageFile,
} from "../../testing/dicom_files.ts";
import { dcmtkAvailable, runCommand } from "../../testing/procs.ts";
import { hex } from "../../testing/hex.ts";

const HAVE_DCMTK = dcmtkAvailable();
const ALL_TS = [IVRLE, EVRLE, EVRBE, DEFLATED, JPEG_LOSSLESS];
const UIDS = { sopInstanceUid: "1.2.3.4", studyUid: "1.2.3.5", seriesUid: "1.2.3.6" };

function ascii(text: string): string {
  return [...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dimse_part10_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function inspectError(path: string, format: Parameters<typeof inspectDicomFile>[1]) {
  try {
    await inspectDicomFile(path, format);
  } catch (e) {
    assert.ok(e instanceof DicomFileError, String(e));
    return e.message;
  }
  assert.fail(`${path} inspected without error`);
}

Deno.test("encodeFileMeta: byte-exact group 0002 with group length, version, padding (PS3.10 7.1)", () => {
  const bytes = encodeFileMeta({
    mediaStorageSopClassUid: "1.2",
    mediaStorageSopInstanceUid: "1.2.3",
    transferSyntaxUid: EVRLE,
    implementationClassUid: "1.2.4",
    implementationVersionName: "V1",
    sourceAeTitle: "AE1",
  });
  const expected = concatBytes([
    new Uint8Array(128),
    hex(ascii("DICM")),
    hex("02000000 554C 0400 68000000"),
    hex("02000100 4F42 0000 02000000 0001"),
    hex("02000200 5549 0400" + ascii("1.2\0")),
    hex("02000300 5549 0600" + ascii("1.2.3\0")),
    hex("02001000 5549 1400" + ascii("1.2.840.10008.1.2.1\0")),
    hex("02001200 5549 0600" + ascii("1.2.4\0")),
    hex("02001300 5348 0200" + ascii("V1")),
    hex("02001600 4145 0400" + ascii("AE1 ")),
  ]);
  assert.deepEqual(bytes, expected);
  assert.deepEqual(decodeFileMeta(bytes), {
    meta: {
      mediaStorageSopClassUid: "1.2",
      mediaStorageSopInstanceUid: "1.2.3",
      transferSyntaxUid: EVRLE,
      implementationClassUid: "1.2.4",
      implementationVersionName: "V1",
      sourceAeTitle: "AE1",
    },
    length: bytes.length,
  });
});

Deno.test("encodeFileMeta: our implementation class UID and version name by default", () => {
  const bytes = encodeFileMeta({
    mediaStorageSopClassUid: MR_IMAGE_STORAGE,
    mediaStorageSopInstanceUid: "1.2.3",
    transferSyntaxUid: IVRLE,
  });
  const { meta } = decodeFileMeta(bytes);
  assert.equal(meta.implementationClassUid, IMPLEMENTATION_CLASS_UID);
  assert.equal(meta.implementationVersionName, IMPLEMENTATION_VERSION_NAME);
  assert.equal(meta.sourceAeTitle, undefined);
});

Deno.test("FileMetaEncoder: one instance after another, each exactly what encodeFileMeta makes", () => {
  // It reuses the last bytes when only the instance UID differs and its padded length does not:
  // UIDs of odd and even length with one padded length, in both orders; each other field changed
  // alone (to a value of the same length where it can); longer and shorter UIDs; a failed encode.
  const base = {
    mediaStorageSopClassUid: MR_IMAGE_STORAGE,
    mediaStorageSopInstanceUid: "1.2.3.44",
    transferSyntaxUid: EVRLE,
    sourceAeTitle: "SCU",
  };
  const cases: FileMeta[] = [
    base,
    { ...base, mediaStorageSopInstanceUid: "1.2.3.5" },
    { ...base, mediaStorageSopInstanceUid: "1.2.3.66" },
    { ...base, mediaStorageSopInstanceUid: "1.2.3.7" },
    {
      ...base,
      mediaStorageSopInstanceUid: "1.2.3.8",
      mediaStorageSopClassUid: "1.2.840.10008.5.1.4.1.1.2",
    },
    { ...base, mediaStorageSopInstanceUid: "1.2.3.9", transferSyntaxUid: IVRLE },
    { ...base, mediaStorageSopInstanceUid: "1.2.3.1", sourceAeTitle: "SCV" },
    { ...base, mediaStorageSopInstanceUid: "1.2.3.2", sourceAeTitle: undefined },
    { ...base, mediaStorageSopInstanceUid: "1.2.3.3", implementationClassUid: "1.2.3.4.5.6" },
    { ...base, mediaStorageSopInstanceUid: "1.2.3.0" },
    { ...base, mediaStorageSopInstanceUid: "1.2.3.4", implementationVersionName: "OTHER" },
    { ...base, mediaStorageSopInstanceUid: "1.2.826.0.1.3680043.2.1143.27.100" },
    { ...base, mediaStorageSopInstanceUid: "1.2.3.6" },
  ];
  const encoder = new FileMetaEncoder();
  for (const m of cases) {
    assert.deepEqual(encoder.encode(m), encodeFileMeta(m), m.mediaStorageSopInstanceUid);
  }
  assert.throws(() => encoder.encode({ ...base, sourceAeTitle: "\u0100" }), RangeError);
  assert.throws(
    () => encoder.encode({ ...base, mediaStorageSopInstanceUid: "1.2.3.\u0100" }),
    RangeError,
  );
  const after = { ...base, mediaStorageSopInstanceUid: "1.2.3.45" };
  assert.deepEqual(encoder.encode(after), encodeFileMeta(after));
  // A caller may change and pass the same object again.
  const reused: FileMeta = { ...base, transferSyntaxUid: IVRLE };
  assert.deepEqual(encoder.encode(reused), encodeFileMeta({ ...base, transferSyntaxUid: IVRLE }));
  reused.transferSyntaxUid = EVRLE;
  assert.deepEqual(encoder.encode(reused), encodeFileMeta(base));
});

Deno.test("decodeFileMeta: truncated, lying group length, no transfer syntax, no DICM", () => {
  const good = encodeFileMeta({
    mediaStorageSopClassUid: MR_IMAGE_STORAGE,
    mediaStorageSopInstanceUid: "1.2.3",
    transferSyntaxUid: EVRLE,
  });
  const fail = (bytes: Uint8Array, re: RegExp) =>
    assert.throws(
      () => decodeFileMeta(bytes, "f.dcm"),
      (e) => e instanceof DicomFileError && re.test(e.message),
    );
  fail(good.subarray(0, 140), /truncated/);
  fail(good.subarray(0, good.length - 3), /group length \d+ exceeds the \d+ bytes that follow it/);
  const withData = concatBytes([good, hex("08001600 5549 0200 3100")]);
  const tooShort = withData.slice();
  new DataView(tooShort.buffer).setUint32(140, 8, true); // ends inside (0002,0001)
  fail(tooShort, /lies: \(0002,0001\) runs past it/);
  const tooLong = withData.slice();
  const declared = new DataView(tooLong.buffer).getUint32(140, true);
  new DataView(tooLong.buffer).setUint32(140, declared + 10, true); // swallows (0008,0016)
  fail(tooLong, /lies: \(0008,0016\) lies within it/);
  const shortBy = withData.slice();
  new DataView(shortBy.buffer).setUint32(140, declared - 22, true); // ends before (0002,0013) SH, 22 bytes
  fail(shortBy, /lies: group 0002 goes on after its end/);
  const noTs = encodeFileMeta({
    mediaStorageSopClassUid: MR_IMAGE_STORAGE,
    mediaStorageSopInstanceUid: "1.2.3",
    transferSyntaxUid: "",
  });
  fail(noTs, /no Transfer Syntax UID \(0002,0010\)/);
  fail(new Uint8Array(200), /^f\.dcm: not a DICOM file: no DICM prefix/);
  // A VR that is none of PS3.5 Table 6.2-1's, upper-case or not, in the group length or after.
  for (const [at, tag] of [[136, "(0002,0000)"], [148, "(0002,0001)"]] as const) {
    for (const vr of ["ZZ", "ob", "\0\0"]) {
      const badVr = good.slice();
      badVr.set([vr.charCodeAt(0), vr.charCodeAt(1)], at);
      fail(badVr, new RegExp(`file meta information: \\${tag.slice(0, -1)}\\) has no valid VR`));
    }
  }
});

Deno.test("guessTransferSyntax: DCMTK's rules on the first tag and VR", () => {
  assert.equal(guessTransferSyntax(hex("08000500 4353 0A00")), EVRLE);
  assert.equal(guessTransferSyntax(hex("00080005 4353 000A")), EVRBE);
  assert.equal(guessTransferSyntax(hex("08000500 0A000000")), IVRLE);
  assert.equal(guessTransferSyntax(hex("08000500")), undefined); // fewer than 6 bytes
  // Known neither way: little endian, explicit if a VR follows.
  assert.equal(guessTransferSyntax(hex("12345678 5549 0000")), EVRLE);
});

Deno.test("inspectDicomFile: each syntax, with meta information, as +f and +fo", async () => {
  await withTempDir(async (dir) => {
    for (const ts of ALL_TS) {
      const path = `${dir}/${ts}.dcm`;
      const size = await writeImageFile(path, { ts, rows: 8, cols: 8, ...UIDS });
      for (const format of ["file-or-dataset", "file-only"] as const) {
        const info = await inspectDicomFile(path, format);
        assert.equal(info.size, size);
        assert.equal(info.transferSyntaxUid, ts);
        assert.equal(info.sopClassUid, MR_IMAGE_STORAGE);
        assert.equal(info.sopInstanceUid, "1.2.3.4");
        assert.equal(info.meta?.transferSyntaxUid, ts);
        assert.equal(info.datasetOffset, decodeFileMeta(await Deno.readFile(path)).length);
        // PS3.5 7.1, A.5: even data sets, deflated ones padded with a NUL if need be.
        assert.equal((size - info.datasetOffset) % 2, 0, ts);
      }
      assert.match(
        await inspectError(path, "dataset"),
        /has file meta information, but was to be read as a bare data set/,
      );
    }
  });
});

Deno.test("inspectDicomFile: bare data sets, transfer syntax guessed, SOP UIDs from the data set", async () => {
  await withTempDir(async (dir) => {
    for (const ts of [IVRLE, EVRLE, EVRBE]) {
      const path = `${dir}/${ts}.bare`;
      await writeImageFile(path, { ts, rows: 8, cols: 8, meta: false, ...UIDS });
      for (const format of ["file-or-dataset", "dataset"] as const) {
        const info = await inspectDicomFile(path, format);
        assert.deepEqual(
          { ...info, size: 0 },
          {
            path,
            size: 0,
            datasetOffset: 0,
            transferSyntaxUid: ts,
            sopClassUid: MR_IMAGE_STORAGE,
            sopInstanceUid: "1.2.3.4",
          },
        );
      }
      assert.match(await inspectError(path, "file-only"), /not a DICOM file: no DICM prefix/);
    }
  });
});

Deno.test("inspectDicomFile: clear errors for files that are not DICOM or are broken", async () => {
  await withTempDir(async (dir) => {
    const write = async (name: string, bytes: Uint8Array) => {
      await Deno.writeFile(`${dir}/${name}`, bytes);
      return `${dir}/${name}`;
    };
    assert.match(
      await inspectError(await write("empty", new Uint8Array(0)), "file-or-dataset"),
      /not a DICOM file: only 0 bytes/,
    );
    const text = new TextEncoder().encode(
      "Hello, this is a plain text file and not DICOM at all.\n".repeat(20),
    );
    assert.match(
      await inspectError(await write("text", text), "file-or-dataset"),
      /not a DICOM file/,
    );
    const file = makeImageFile({ rows: 4, cols: 4, ...UIDS });
    const metaLength = decodeFileMeta(file).length;
    assert.match(
      await inspectError(await write("cut", file.subarray(0, 150)), "file-or-dataset"),
      /file meta information/,
    );
    const lying = file.slice();
    new DataView(lying.buffer).setUint32(140, 0xfffffff0, true);
    assert.match(
      await inspectError(await write("lying", lying), "file-only"),
      /group length 4294967280 exceeds the limit/,
    );
    const noSop = concatBytes([
      encodeFileMeta({
        mediaStorageSopClassUid: "",
        mediaStorageSopInstanceUid: "",
        transferSyntaxUid: EVRLE,
      }),
      hex("10001000 504E 0200 4142"),
    ]);
    assert.match(
      await inspectError(await write("nosop", noSop), "file-only"),
      /: the data set has no SOP Class UID \(0008,0016\) and SOP Instance UID \(0008,0018\)$/,
    );
    // SOP UIDs missing from the meta information but present in the data set are taken from it.
    const fallback = concatBytes([
      encodeFileMeta({
        mediaStorageSopClassUid: "",
        mediaStorageSopInstanceUid: "",
        transferSyntaxUid: EVRLE,
      }),
      file.subarray(metaLength),
    ]);
    const info = await inspectDicomFile(await write("fallback", fallback), "file-only");
    assert.equal(info.sopClassUid, MR_IMAGE_STORAGE);
    assert.equal(info.sopInstanceUid, "1.2.3.4");
    assert.match(await inspectError(`${dir}/missing`, "file-or-dataset"), /cannot open/);
    // The SOP UIDs are the data set's when the meta information says otherwise (an edited
    // data set); the meta information's stay in `meta`.
    const edited = concatBytes([
      encodeFileMeta({
        mediaStorageSopClassUid: "1.2.840.10008.5.1.4.1.1.2",
        mediaStorageSopInstanceUid: "1.2.3.5",
        transferSyntaxUid: EVRLE,
      }),
      file.subarray(metaLength),
    ]);
    const e = await inspectDicomFile(await write("edited", edited), "file-only");
    assert.equal(e.sopClassUid, MR_IMAGE_STORAGE);
    assert.equal(e.sopInstanceUid, "1.2.3.4");
    assert.equal(e.meta?.mediaStorageSopClassUid, "1.2.840.10008.5.1.4.1.1.2");
    assert.equal(e.meta?.mediaStorageSopInstanceUid, "1.2.3.5");
    // UIDs only in the meta information: the file fails, naming what is missing.
    const metaOnly = concatBytes([
      encodeFileMeta({
        mediaStorageSopClassUid: MR_IMAGE_STORAGE,
        mediaStorageSopInstanceUid: "1.2.3.4",
        transferSyntaxUid: EVRLE,
      }),
      hex("08001600 5549 1A00" + ascii("1.2.840.10008.5.1.4.1.1.4") + "00"),
      hex("10001000 504E 0200 4142"),
    ]);
    assert.match(
      await inspectError(await write("metaonly", metaOnly), "file-only"),
      /: the data set has no SOP Instance UID \(0008,0018\) \(only the file meta information has one, in \(0002,0003\); a receiver checks the data set's\)$/,
    );
    const unknownTs = concatBytes([
      encodeFileMeta({
        mediaStorageSopClassUid: MR_IMAGE_STORAGE,
        mediaStorageSopInstanceUid: "1.2.3.4",
        transferSyntaxUid: "1.2.3.999",
      }),
      file.subarray(metaLength),
    ]);
    assert.match(
      await inspectError(await write("unknownts", unknownTs), "file-only"),
      /its data set cannot be read: unknown transfer syntax 1\.2\.3\.999$/,
    );
  });
});

Deno.test("inspectDicomFile: meta information without group length, and without preamble, as DCMTK reads them", async () => {
  await withTempDir(async (dir) => {
    const file = makeImageFile({ rows: 4, cols: 4, ...UIDS });
    const metaLength = decodeFileMeta(file).length;
    const noGroupLength = concatBytes([file.subarray(0, 132), file.subarray(144)]);
    await Deno.writeFile(`${dir}/a.dcm`, noGroupLength);
    const a = await inspectDicomFile(`${dir}/a.dcm`, "file-only");
    assert.equal(a.datasetOffset, metaLength - 12);
    assert.equal(a.sopInstanceUid, "1.2.3.4");
    await Deno.writeFile(`${dir}/b.dcm`, file.subarray(132));
    const b = await inspectDicomFile(`${dir}/b.dcm`, "file-or-dataset");
    assert.equal(b.datasetOffset, metaLength - 132);
    assert.equal(b.transferSyntaxUid, EVRLE);
  });
});

Deno.test("inspectDicomFile: meta information longer than the first read (private information, PS3.10 7.1)", async () => {
  await withTempDir(async (dir) => {
    const file = makeImageFile({ rows: 4, cols: 4, ...UIDS });
    const metaLength = decodeFileMeta(file).length;
    const text = (tag: number, vr: string, value: string) => ({
      tag,
      vr,
      value: encodeText(value, vr),
    });
    const body = encodeDataset([
      { tag: 0x00020001, vr: "OB", value: new Uint8Array([0, 1]) },
      text(0x00020002, "UI", MR_IMAGE_STORAGE),
      text(0x00020003, "UI", "1.2.3.4"),
      text(0x00020010, "UI", EVRLE),
      text(0x00020100, "UI", "1.2.3.9"),
      { tag: 0x00020102, vr: "OB", value: new Uint8Array(20_000).fill(7) },
    ], EVRLE);
    const groupLength = new Uint8Array(4);
    new DataView(groupLength.buffer).setUint32(0, body.length, true);
    const bytes = concatBytes([
      new Uint8Array(128),
      hex(ascii("DICM")),
      encodeDataset([{ tag: 0x00020000, vr: "UL", value: groupLength }], EVRLE),
      body,
      file.subarray(metaLength),
    ]);
    await Deno.writeFile(`${dir}/f.dcm`, bytes);
    const info = await inspectDicomFile(`${dir}/f.dcm`, "file-only");
    assert.equal(info.datasetOffset, 132 + 12 + body.length);
    assert.equal(info.sopInstanceUid, "1.2.3.4");
  });
});

Deno.test("inspectDicomFile: the length from a seek, no FsFile.statSync (a path lookup per call in Deno); a directory still fails as one", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/f.dcm`;
    await writeImageFile(path, { rows: 16, cols: 16, ...UIDS });
    const stats: string[] = [];
    const statSync = Deno.FsFile.prototype.statSync;
    Deno.FsFile.prototype.statSync = function () {
      stats.push("statSync");
      return statSync.call(this);
    };
    try {
      const info = await inspectDicomFile(path, "file-only");
      assert.equal(info.size, (await Deno.stat(path)).size);
      assert.deepEqual(stats, []);
      // Read from the start again after the seek to the end: the bytes are the file's.
      const chunks: Uint8Array[] = [];
      for await (const c of readDatasetChunks(info, 4096)) chunks.push(c);
      assert.deepEqual(
        concatBytes(chunks),
        (await Deno.readFile(path)).subarray(info.datasetOffset),
      );
      await Deno.mkdir(`${dir}/sub`);
      await assert.rejects(
        inspectDicomFile(`${dir}/sub`, "file-or-dataset"),
        (e) => e instanceof DicomFileError && e.cause instanceof Deno.errors.IsADirectory,
      );
    } finally {
      Deno.FsFile.prototype.statSync = statSync;
    }
  });
});

Deno.test("readDatasetChunks streams exactly the bytes after the meta information", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/f.dcm`;
    await writeImageFile(path, { rows: 64, cols: 64, frames: 3, ...UIDS });
    const info = await inspectDicomFile(path, "file-only");
    const chunks: Uint8Array[] = [];
    for await (const c of readDatasetChunks(info, 1000)) chunks.push(c);
    assert.ok(chunks.every((c) => c.length <= 1000));
    assert.deepEqual(concatBytes(chunks), (await Deno.readFile(path)).subarray(info.datasetOffset));
  });
});

Deno.test("readDatasetChunks reads up to the size inspected: no read at the end, nothing appended since", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/f.dcm`;
    await writeImageFile(path, { rows: 16, cols: 16, ...UIDS });
    const info = await inspectDicomFile(path, "file-only");
    const dataset = (await Deno.readFile(path)).subarray(info.datasetOffset);
    await Deno.writeFile(path, new Uint8Array(100).fill(7), { append: true });
    const collect = async (chunkSize: number) => {
      const chunks: Uint8Array[] = [];
      for await (const c of readDatasetChunks(info, chunkSize)) chunks.push(c);
      return chunks;
    };
    // Each read's buffer size, to show that no read (or buffer) goes past the end.
    const reads: number[] = [];
    const read = Deno.FsFile.prototype.readSync;
    Deno.FsFile.prototype.readSync = function (p: Uint8Array) {
      reads.push(p.length);
      return read.call(this, p);
    };
    try {
      assert.deepEqual(await collect(dataset.length + 4096), [dataset]);
      assert.deepEqual(reads, [dataset.length]);
      reads.length = 0;
      const chunks = await collect(1000);
      assert.deepEqual(concatBytes(chunks), dataset);
      const sizes = chunks.map((c) => c.length);
      assert.deepEqual(reads, sizes);
      assert.deepEqual(sizes.slice(0, -1), new Array(sizes.length - 1).fill(1000));
      assert.equal(sizes.at(-1), dataset.length % 1000 || 1000);
    } finally {
      Deno.FsFile.prototype.readSync = read;
    }
    // A file cut short since it was inspected fails clearly rather than sending less.
    await Deno.truncate(path, info.size - 10);
    await assert.rejects(
      collect(4096),
      (e) =>
        e instanceof DicomFileError &&
        e.message.includes(`truncated: the file ends 10 bytes short of the ${info.size}`),
    );
  });
});

Deno.test("TopLevelWatcher: values of chosen top-level tags in each syntax, fed in small chunks", () => {
  const wanted = [0x00080018, 0x0020000d, 0x00100020];
  for (const ts of ALL_TS) {
    const file = makeImageFile({ ts, rows: 8, cols: 8, ...UIDS });
    const dataset = file.subarray(decodeFileMeta(file).length);
    const w = new TopLevelWatcher(ts, wanted);
    for (let o = 0; o < dataset.length && !w.done; o += 7) w.push(dataset.subarray(o, o + 7));
    assert.ok(w.done, ts);
    assert.equal(w.error, undefined);
    assert.deepEqual(
      w.values(),
      new Map([[0x00080018, "1.2.3.4"], [0x00100020, "PID-0001"], [0x0020000d, "1.2.3.5"]]),
      ts,
    );
  }
});

Deno.test("TopLevelWatcher: done once past the last wanted tag; absent tags; malformed input", () => {
  const file = makeImageFile({ rows: 8, cols: 8, ...UIDS });
  const dataset = file.subarray(decodeFileMeta(file).length);
  const w = new TopLevelWatcher(EVRLE, [0x00080016, 0x00080017]); // (0008,0017) is absent
  w.push(dataset.subarray(0, 300));
  assert.ok(w.done);
  assert.deepEqual(w.values(), new Map([[0x00080016, MR_IMAGE_STORAGE]]));
  w.push(new Uint8Array([0xff, 0xff, 0xff])); // ignored once done
  const corrupt = new TopLevelWatcher(DEFLATED, [0x00100010]);
  corrupt.push(new Uint8Array(64).fill(0xff));
  assert.equal(corrupt.error?.code, "deflate");
  const bad = new TopLevelWatcher(EVRLE, [0x00100010]);
  bad.push(hex("FEFFDDE0 00000000"));
  assert.ok(bad.done);
  assert.equal(bad.error?.code, "bad-item");
});

Deno.test("TopLevelWatcher.pushSliced: push's values in each syntax, and nothing tokenized past the slice that ends it", () => {
  const wanted = [0x00080018, 0x0020000d, 0x00100020];
  for (const ts of ALL_TS) {
    const file = makeImageFile({ ts, rows: 64, cols: 64, ...UIDS });
    const dataset = file.subarray(decodeFileMeta(file).length);
    const whole = new TopLevelWatcher(ts, wanted);
    whole.push(dataset);
    const sliced = new TopLevelWatcher(ts, wanted);
    sliced.pushSliced(dataset);
    assert.ok(sliced.done, ts);
    assert.equal(sliced.error, undefined, ts);
    assert.deepEqual(sliced.values(), whole.values(), ts);
    assert.deepEqual(sliced.rawValues(), whole.rawValues(), ts);
  }
  // An item delimiter at the top level in place of Pixel Data, well after the wanted tag:
  // pushed whole it is tokenized (and fails); in slices the watcher is done before it, so the
  // head of a long file costs what its first few hundred bytes cost.
  const file = makeImageFile({ rows: 64, cols: 64, ...UIDS });
  const dataset = file.slice(decodeFileMeta(file).length);
  const pixelData = dataset.findIndex((_, i) =>
    dataset[i] === 0xe0 && dataset[i + 1] === 0x7f && dataset[i + 2] === 0x10 &&
    dataset[i + 3] === 0
  );
  assert.ok(pixelData > 300, `Pixel Data at ${pixelData}`);
  dataset.set(hex("FEFFDDE0 00000000"), pixelData);
  const whole = new TopLevelWatcher(EVRLE, [0x00080018]);
  whole.push(dataset);
  assert.ok(whole.error);
  const sliced = new TopLevelWatcher(EVRLE, [0x00080018]);
  sliced.pushSliced(dataset);
  assert.equal(sliced.error, undefined);
  assert.deepEqual(sliced.values(), new Map([[0x00080018, "1.2.3.4"]]));
});

/** DCMTK's warnings and errors in a dcmdump run, except the CP-246 notice for private UN sequences. */
function dcmtkComplaints(stderr: string, stdout: string): string[] {
  return (stderr + stdout).split("\n").filter((l) => /^[WEF]: /.test(l) && !/CP-246/.test(l));
}

Deno.test({
  name: "DCMTK dcmdump reads our files in every syntax without complaint",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    await withTempDir(async (dir) => {
      for (const ts of ALL_TS) {
        for (const definedLengths of [false, true]) {
          const path = `${dir}/f.dcm`;
          await writeImageFile(path, {
            ts,
            rows: 16,
            cols: 16,
            frames: 2,
            definedLengths,
            ...UIDS,
          });
          const r = await runCommand("dcmdump", ["-dc", "+L", path]);
          assert.equal(r.code, 0, r.stderr);
          assert.deepEqual(dcmtkComplaints(r.stderr, r.stdout), [], `${ts}\n${r.stderr}`);
          assert.match(r.stdout, /\(0020,000d\) UI \[1\.2\.3\.5\0\]/); // -dc shows the NUL padding
          assert.match(r.stdout, /\(0029,1011\) (US 1\\515|UN 01\\00\\03\\02|\?\? 01\\00\\03\\02)/);
        }
      }
    });
  },
});

Deno.test({
  name:
    "files converted by DCMTK's dcmconv (+te +ti +tb +td, with and without meta) parse equal to the source",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    await withTempDir(async (dir) => {
      const src = `${dir}/src.dcm`;
      await writeImageFile(src, { rows: 16, cols: 16, frames: 2, ...UIDS });
      const srcInfo = await inspectDicomFile(src, "file-only");
      const srcBytes = await Deno.readFile(src);
      const original = decodeDataset(srcBytes.subarray(srcInfo.datasetOffset), EVRLE);
      const cases: [string, string][] = [["+te", EVRLE], ["+ti", IVRLE], ["+tb", EVRBE], [
        "+td",
        DEFLATED,
      ]];
      for (const [option, ts] of cases) {
        for (const bare of [false, true]) {
          if (bare && ts === DEFLATED) continue; // a deflated bare data set cannot be told from noise
          const out = `${dir}/out.dcm`;
          const r = await runCommand("dcmconv", [option, ...(bare ? ["-F"] : []), src, out]);
          assert.equal(r.code, 0, r.stderr);
          const info = await inspectDicomFile(out, "file-or-dataset");
          assert.equal(info.transferSyntaxUid, ts, `${option} bare=${bare}`);
          assert.equal(info.meta === undefined, bare);
          assert.equal(info.sopInstanceUid, "1.2.3.4");
          const ds = decodeDataset((await Deno.readFile(out)).subarray(info.datasetOffset), ts);
          assert.deepEqual(
            datasetDifferences(original, ds, EVRLE, ts),
            [],
            `${option} bare=${bare}`,
          );
        }
      }
    });
  },
});

Deno.test({
  name: "files made by DCMTK's dump2dcm and img2dcm parse",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    await withTempDir(async (dir) => {
      await Deno.writeTextFile(
        `${dir}/in.txt`,
        [
          "(0008,0016) UI =CTImageStorage",
          "(0008,0018) UI [1.2.3.99]",
          "(0008,1140) SQ (Sequence with explicit length #=1)",
          "  (fffe,e000) na (Item with explicit length #=1)",
          "    (0008,1150) UI =MRImageStorage",
          "  (fffe,e00d) na (ItemDelimitationItem for re-encoding)",
          "(fffe,e0dd) na (SequenceDelimitationItem for re-encoding)",
          "(0010,0010) PN [Doe^John]",
          "(0028,0010) US 2",
        ].join("\n"),
      );
      const dumped = `${dir}/dump.dcm`;
      const r = await runCommand("dump2dcm", ["+te", `${dir}/in.txt`, dumped]);
      assert.equal(r.code, 0, r.stderr);
      const info = await inspectDicomFile(dumped, "file-only");
      assert.equal(info.sopClassUid, "1.2.840.10008.5.1.4.1.1.2");
      const ds = decodeDataset(
        (await Deno.readFile(dumped)).subarray(info.datasetOffset),
        info.transferSyntaxUid,
      );
      assert.equal(stringValue(ds, 0x00100010), "Doe^John");
      const seq = ds.find((e) => e.tag === 0x00081140)!.value as unknown as {
        value: Uint8Array;
      }[][];
      assert.equal(seq.length, 1);

      // A 2x2 24-bit BMP for img2dcm.
      const bmp = concatBytes([
        hex("424D 46000000 0000 0000 36000000"),
        hex(
          "28000000 02000000 02000000 0100 1800 00000000 10000000 130B0000 130B0000 00000000 00000000",
        ),
        hex("0000FF 00FF00 0000"),
        hex("FF0000 FFFFFF 0000"),
      ]);
      await Deno.writeFile(`${dir}/in.bmp`, bmp);
      const img = `${dir}/img.dcm`;
      const r2 = await runCommand("img2dcm", ["-i", "BMP", `${dir}/in.bmp`, img]);
      assert.equal(r2.code, 0, r2.stderr);
      const imgInfo = await inspectDicomFile(img, "file-only");
      const imgDs = decodeDataset(
        (await Deno.readFile(img)).subarray(imgInfo.datasetOffset),
        imgInfo.transferSyntaxUid,
      );
      assert.equal(stringValue(imgDs, 0x00080018), imgInfo.sopInstanceUid);
      assert.equal((imgDs.find((e) => e.tag === 0x7fe00010)!.value as Uint8Array).length, 12);
    });
  },
});

Deno.test("sopUidsHoldSpaces: what inspection saw of spaces in the SOP UIDs, with and without meta information", async () => {
  await withTempDir(async (dir) => {
    // An odd-length UID is padded with one byte: NUL as PS3.5 9.1 says, or a space.
    // One file (its other UIDs are new each time); without meta: its data set alone.
    const file = makeImageFile({ rows: 4, cols: 4, sopInstanceUid: "1.2.3.456" });
    const padded = spacePadSopUids(file);
    const start = decodeFileMeta(file).length;
    for (const meta of [true, false]) {
      const nul = `${dir}/nul-${meta}.dcm`;
      const spaced = `${dir}/spaced-${meta}.dcm`;
      await Deno.writeFile(nul, meta ? file : file.subarray(start));
      await Deno.writeFile(spaced, meta ? padded : padded.subarray(start));
      const a = await inspectDicomFile(nul, "file-or-dataset");
      const b = await inspectDicomFile(spaced, "file-or-dataset");
      assert.equal(a.sopInstanceUid, "1.2.3.456");
      assert.equal(b.sopInstanceUid, "1.2.3.456", "the value is given without its padding");
      assert.equal(sopUidsHoldSpaces(a), false, `NUL-padded, meta ${meta}`);
      assert.equal(sopUidsHoldSpaces(b), true, `space-padded, meta ${meta}`);
      // Not made by the inspection: unknown.
      assert.equal(sopUidsHoldSpaces({ ...a }), undefined);
    }
  });
});
