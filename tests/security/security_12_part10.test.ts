/**
 * docs/SECURITY_CLASSES.md #12: malformed Part 10 files and meta headers. Each
 * shape of the class (a truncated preamble, a truncated or wrong `DICM`,
 * the meta group length wrong either way, a meta element longer than the
 * file, a data set element longer than the file, no (0002,0010)) through
 * the Part 10 readers (a DicomFileError naming the fault, never another
 * exception) and through our storescu with --no-halt against our storescp
 * in process: each bad file fails alone with one E: line and one --json
 * record, the good files around it are stored, exit 1, and storescp writes
 * only the good ones.
 *
 * Already covered elsewhere: dicom_part10.test.ts (decodeFileMeta and
 * inspectDicomFile: truncated meta, lying group length, no transfer syntax,
 * no DICM, huge group length), storescu_dcmtk.test.ts (--no-halt with a
 * truncated file, a text file, a lying Pixel Data length and a file broken
 * at its end, against DCMTK's storescp), storescu_cli.test.ts (a missing
 * file with -nh).
 */
import assert from "node:assert/strict";
import { concatBytes } from "../../lib/util/bytes.ts";
import {
  decodeFileMeta,
  DicomFileError,
  encodeFileMeta,
  inspectDicomFile,
} from "../../lib/dicom/part10.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN as ELE } from "../../lib/dicom/uids.ts";
import { makeImageFile, MR_IMAGE_STORAGE } from "../../testing/dicom_files.ts";
import { HOST, withScp } from "../../testing/bad_peer.ts";
import { runTool, show } from "../../testing/procs.ts";
import { withTempDir } from "../../testing/temp_files.ts";

const file = (uid: string) => makeImageFile({ rows: 8, cols: 8, sopInstanceUid: uid });
const GOOD = file("1.2.3.12.1");
const META = decodeFileMeta(GOOD).length;

/** `bytes` with the little-endian uint32 at `at` replaced. */
function withU32(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(at, value, true);
  return out;
}

/** Offset of the first explicit VR LE header of `tag` with `vr` in `bytes`, from `from`. */
function headerAt(bytes: Uint8Array, tag: number, vr: string, from = 0): number {
  const h = [
    tag >>> 16 & 0xff,
    tag >>> 24,
    tag & 0xff,
    tag >>> 8 & 0xff,
    vr.charCodeAt(0),
    vr.charCodeAt(1),
  ];
  const at = bytes.findIndex((_, i) => i >= from && h.every((b, j) => bytes[i + j] === b));
  assert.ok(at >= 0, `no ${tag.toString(16)} ${vr}`);
  return at;
}

const declared = new DataView(GOOD.buffer).getUint32(140, true);
/** The bad files of the class: name, bytes, what the reader must say. */
const BAD: { name: string; bytes: Uint8Array; error: RegExp }[] = [
  { name: "preamble-cut", bytes: GOOD.subarray(0, 100), error: /not a DICOM file/ },
  { name: "dicm-cut", bytes: GOOD.subarray(0, 130), error: /not a DICOM file/ },
  {
    name: "dicm-wrong",
    bytes: concatBytes([
      GOOD.subarray(0, 128),
      new TextEncoder().encode("DICN"),
      GOOD.subarray(132),
    ]),
    error: /not a DICOM file: no DICM prefix/,
  },
  { name: "meta-cut", bytes: GOOD.subarray(0, META - 5), error: /file meta information/ },
  {
    name: "group-length-short",
    bytes: withU32(GOOD, 140, declared - 8),
    error: /group length \(0002,0000\) lies/,
  },
  {
    name: "group-length-long",
    bytes: withU32(GOOD, 140, declared + 10),
    error: /group length \(0002,0000\) lies/,
  },
  {
    name: "group-length-huge",
    bytes: withU32(GOOD, 140, 0xfffffff0),
    error: /group length 4294967280 exceeds/,
  },
  {
    // (0002,0001) OB: its 32-bit length runs past the end of the file.
    name: "meta-element-past-eof",
    bytes: withU32(GOOD, headerAt(GOOD, 0x00020001, "OB") + 8, 0x7ffffff0),
    error: /file meta information/,
  },
  {
    name: "pixel-data-past-eof",
    bytes: withU32(GOOD, headerAt(GOOD, 0x7fe00010, "OW", META) + 8, 0x00fffff0),
    error: /.*/,
  },
  {
    name: "no-transfer-syntax",
    bytes: concatBytes([
      encodeFileMeta({
        mediaStorageSopClassUid: MR_IMAGE_STORAGE,
        mediaStorageSopInstanceUid: "1.2.3.12.9",
        transferSyntaxUid: "",
      }),
      GOOD.subarray(META),
    ]),
    error: /no Transfer Syntax UID \(0002,0010\)/,
  },
];

Deno.test("class 12: malformed Part 10 files fail alone, clearly", async (t) => {
  await withTempDir("dimse_security_12_", async (dir) => {
    const paths: string[] = [];
    const expectFate: string[] = [];
    let n = 0;
    for (const bad of BAD) {
      await Deno.writeFile(`${dir}/${bad.name}.dcm`, bad.bytes);
      const good = `${dir}/good${++n}.dcm`;
      await Deno.writeFile(good, file(`1.2.3.12.1${n}`));
      paths.push(`${dir}/${bad.name}.dcm`, good);
      expectFate.push("failed", "success");
    }

    for (const bad of BAD) {
      await t.step(`the reader: ${bad.name}`, async () => {
        if (bad.name === "pixel-data-past-eof") {
          // The meta information is fine; the lie is found while the data set is read.
          assert.equal(
            (await inspectDicomFile(`${dir}/${bad.name}.dcm`, "file-only")).transferSyntaxUid,
            ELE,
          );
          return;
        }
        await assert.rejects(
          () => inspectDicomFile(`${dir}/${bad.name}.dcm`, "file-only"),
          (e) => e instanceof DicomFileError && bad.error.test(e.message),
        );
        assert.throws(
          () => decodeFileMeta(bad.bytes, bad.name),
          (e) => e instanceof DicomFileError && e.message.startsWith(bad.name),
        );
      });
    }

    await withScp({}, async (scp) => {
      for (const format of ["+f", "+fo"]) {
        await t.step(
          `storescu --no-halt ${format}: each bad file fails alone, the good ones arrive`,
          async () => {
            const r = await runTool("storescu", [
              "-nh",
              format,
              "--json",
              HOST,
              String(scp.port),
              ...paths,
            ]);
            assert.equal(r.code, 1, show(r));
            const all = r.stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
            const summary = all.pop();
            assert.equal(summary.type, "summary");
            assert.deepEqual(all.map((f) => f.path), paths);
            assert.deepEqual(all.map((f) => f.outcome), expectFate, show(r));
            for (const [i, bad] of BAD.entries()) {
              // With +f a file without DICM is tried as a bare data set: it fails for another reason.
              if (format === "+fo") assert.match(String(all[2 * i].diagnosis), bad.error, bad.name);
              else assert.ok(String(all[2 * i].diagnosis).length > 0, bad.name);
              // One line per bad file, naming it.
              const lines = r.stderr.split("\n").filter((l) =>
                l.startsWith("E: ") && l.includes(`${bad.name}.dcm`)
              );
              assert.equal(lines.length, 1, `${bad.name}:\n${r.stderr}`);
            }
            assert.equal(summary.success, BAD.length);
            assert.equal(summary.failed, BAD.length);
            const stored = (await scp.files()).sort();
            assert.deepEqual(stored, BAD.map((_, i) => `od/MR.1.2.3.12.1${i + 1}`).sort());
          },
        );
      }
    });
  });
});
