/**
 * Our storescu against DCMTK's: the A-ASSOCIATE-RQ each sends for the same
 * options (read from both `-d` dumps), and every file sent to DCMTK's
 * storescp arriving equal element by element, in each uncompressed
 * transfer syntax both ways; a file whose syntax was accepted arrives byte
 * for byte (storescp +B writes what it received).
 */
import assert from "node:assert/strict";
import {
  type Dataset,
  datasetDifferences,
  decodeDataset,
  encodeDataset,
  stringValue,
} from "../../lib/dicom/dataset.ts";
import { decodeFileMeta, encodeFileMeta } from "../../lib/dicom/part10.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import { newUid } from "../../lib/util/uid.ts";
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN as DEFL,
  EXPLICIT_VR_BIG_ENDIAN as EBE,
  EXPLICIT_VR_LITTLE_ENDIAN as ELE,
  IMPLICIT_VR_LITTLE_ENDIAN as ILE,
  transferSyntaxName,
} from "../../lib/dicom/uids.ts";
import {
  type ImageFileOptions,
  makeImageFile,
  readPart10,
  spacePadSopUids,
  writeImageFile,
} from "../../testing/dicom_files.ts";
import {
  type Background,
  dcmtkAvailable,
  type Finished,
  runCommand,
  runTool,
  show,
  startStorescp,
} from "../../testing/procs.ts";
import { listDir, withTempDir } from "../../testing/temp_files.ts";

const HAVE_DCMTK = dcmtkAvailable();
const HOST = "127.0.0.1";
const CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2";

/** A temporary directory for one test, removed afterwards. */
const withDir = (fn: (dir: string) => Promise<void>) => withTempDir("dimse-storescu-", fn);

/** DCMTK's storescp writing into `<dir>/in`, stopped afterwards. */
async function withStorescp(
  dir: string,
  args: string[],
  fn: (port: number, proc: Background) => Promise<void>,
): Promise<void> {
  await Deno.mkdir(`${dir}/in`, { recursive: true });
  const { proc, port } = await startStorescp(["-od", `${dir}/in`, ...args]);
  try {
    await fn(port, proc);
  } finally {
    await proc.stop();
  }
}

/** A small synthetic MR image (64x64x16) in `ts`, written to `<dir>/<name>`. */
async function image(
  dir: string,
  name: string,
  ts: string,
  more: ImageFileOptions = {},
): Promise<{ path: string; uid: string }> {
  const uid = more.sopInstanceUid ?? newUid();
  const path = `${dir}/${name}`;
  await writeImageFile(path, { rows: 64, cols: 64, ts, sopInstanceUid: uid, ...more });
  return { path, uid };
}

/** The file DCMTK's storescp wrote for an MR instance. */
const received = (dir: string, uid: string) => `${dir}/in/MR.${uid}`;

/** The A-ASSOCIATE-RQ block of a `-d` log, less the two lines naming the implementation. */
function rqDump(stderr: string): string[] {
  const lines = stderr.split("\n").map((l) => l.replace(/^D: /, ""));
  const begin = lines.indexOf("====================== BEGIN A-ASSOCIATE-RQ =====================");
  const end = lines.indexOf("======================= END A-ASSOCIATE-RQ ======================");
  assert.ok(begin >= 0 && end > begin, `no A-ASSOCIATE-RQ dump in:\n${stderr}`);
  return lines.slice(begin, end + 1).filter((l) => !l.startsWith("Our Implementation"));
}

const storescu = (args: string[]) => runTool("storescu", args, 60_000);

/**
 * Option sets, and whether our default proposal equals DCMTK's for files in
 * explicit VR little endian (it adds a context offering that syntax alone
 * where the -x option offers it only among others: -xs, -xd).
 */
const RQ_CASES: [string[], boolean][] = [
  [[], true],
  [["-R"], true],
  [["+C"], true],
  [["-xi"], true],
  [["-xs"], false],
  [["-xb", "-R", "+C"], true],
  [["-xd", "-R"], false],
];
for (const [options, defaultIsDcmtk] of RQ_CASES) {
  Deno.test({
    name: `storescu ${options.join(" ") || "(default)"}: the A-ASSOCIATE-RQ DCMTK's storescu sends`,
    ignore: !HAVE_DCMTK,
    fn: () =>
      withDir(async (dir) => {
        const mr = await image(dir, "mr.dcm", ELE);
        const ct = await image(dir, "ct.dcm", ELE, { sopClassUid: CT_IMAGE_STORAGE });
        await withStorescp(dir, [], async (port) => {
          const args = ["-d", ...options, HOST, String(port), ct.path, mr.path];
          const theirs = await runCommand("storescu", args);
          assert.equal(theirs.code, 0, show(theirs));
          const ours = await storescu(["--dcmtk-proposal", ...args]);
          assert.equal(ours.code, 0, show(ours));
          assert.deepEqual(rqDump(ours.stderr), rqDump(theirs.stderr));
          const byDefault = await storescu(args);
          assert.equal(byDefault.code, 0, show(byDefault));
          if (defaultIsDcmtk) assert.deepEqual(rqDump(byDefault.stderr), rqDump(theirs.stderr));
          else assert.notDeepEqual(rqDump(byDefault.stderr), rqDump(theirs.stderr));
        });
      }),
  });
}

/**
 * What DCMTK's storescp (default preferences; +xd for -xd) accepts for each
 * proposal, and so the syntax a file in each native syntax travels in, with
 * DCMTK's proposal (by default storescu offers each file's own syntax alone
 * too, and such a file goes as it is: storescu_mixed.test.ts).
 */
const MATRIX: { proposal: string; scp: string[]; wire: Record<string, string> }[] = [
  { proposal: "-xi", scp: [], wire: { [ILE]: ILE, [ELE]: ILE, [EBE]: ILE, [DEFL]: ILE } },
  { proposal: "-xe", scp: [], wire: { [ILE]: ELE, [ELE]: ELE, [EBE]: EBE, [DEFL]: ELE } },
  { proposal: "-xb", scp: [], wire: { [ILE]: EBE, [ELE]: ELE, [EBE]: EBE, [DEFL]: EBE } },
  { proposal: "-xd", scp: ["+xd"], wire: { [ILE]: DEFL, [ELE]: DEFL, [EBE]: DEFL, [DEFL]: DEFL } },
];

for (const { proposal, scp, wire } of MATRIX) {
  Deno.test({
    name: `storescu ${proposal}: files in each native syntax arrive equal, converted as needed`,
    ignore: !HAVE_DCMTK,
    fn: () =>
      withDir(async (dir) => {
        const files: { ts: string; path: string; uid: string }[] = [];
        for (const [i, ts] of [ILE, ELE, EBE, DEFL].entries()) {
          files.push({ ts, ...await image(dir, `f${i}.dcm`, ts, { definedLengths: i % 2 === 0 }) });
        }
        await withStorescp(dir, scp, async (port) => {
          const r = await storescu([
            "-v",
            "--dcmtk-proposal",
            proposal,
            HOST,
            String(port),
            ...files.map((f) => f.path),
          ]);
          assert.equal(r.code, 0, show(r));
          for (const f of files) {
            const sent = await readPart10(f.path);
            const got = await readPart10(received(dir, f.uid));
            assert.equal(got.ts, wire[f.ts], `${transferSyntaxName(f.ts)} file`);
            assert.deepEqual(datasetDifferences(sent.dataset, got.dataset, sent.ts, got.ts), []);
            const converting = `Converting transfer syntax: ${transferSyntaxName(f.ts)} -> ${
              transferSyntaxName(wire[f.ts])
            }`;
            assert.equal(r.stderr.includes(`I: ${converting}\n`), f.ts !== wire[f.ts], converting);
          }
        });
      }),
  });
}

const AS_IS: { proposal: string[]; scp: string[]; ts: string }[] = [
  { proposal: [], scp: [], ts: ELE },
  { proposal: [], scp: [], ts: EBE },
  { proposal: ["-xi"], scp: [], ts: ILE },
  { proposal: ["-xd"], scp: ["+xd"], ts: DEFL },
];

for (const { proposal, scp, ts } of AS_IS) {
  Deno.test({
    name: `storescu, a ${transferSyntaxName(ts)} file accepted as it is: the same bytes arrive`,
    ignore: !HAVE_DCMTK,
    fn: () =>
      withDir(async (dir) => {
        // 512x512x16, three frames: 1.5 MB, more than is read ahead before sending.
        const f = await image(dir, "big.dcm", ts, { rows: 512, cols: 512, frames: 3 });
        await withStorescp(dir, ["+B", ...scp], async (port) => {
          const r = await storescu(["-v", ...proposal, HOST, String(port), f.path]);
          assert.equal(r.code, 0, show(r));
          assert.doesNotMatch(r.stderr, /Converting/);
          const sent = await readPart10(f.path);
          const got = await readPart10(received(dir, f.uid));
          assert.equal(got.ts, ts);
          // A deflated stream of odd length goes out with its NUL pad (PS3.5 A.5).
          const expected = sent.raw.length % 2 === 0 ? sent.raw : Uint8Array.from([...sent.raw, 0]);
          assert.equal(got.raw.length, expected.length);
          assert.ok(got.raw.every((b, i) => b === expected[i]), "the received bytes differ");
        });
      }),
  });
}

Deno.test({
  name: "storescu, a multi-frame file converted on the fly arrives equal",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      const f = await image(dir, "mf.dcm", ILE, { rows: 256, cols: 256, frames: 20 });
      await withStorescp(dir, [], async (port) => {
        const r = await storescu(["-v", "--dcmtk-proposal", "-xb", HOST, String(port), f.path]);
        assert.equal(r.code, 0, show(r));
        const sent = await readPart10(f.path);
        const got = await readPart10(received(dir, f.uid));
        assert.equal(got.ts, EBE);
        assert.deepEqual(datasetDifferences(sent.dataset, got.dataset, sent.ts, got.ts), []);
      });
    }),
});

Deno.test({
  name: "storescu: log lines as DCMTK's storescu -v prints them for the same batch",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      const a = await image(dir, "a.dcm", ELE);
      const b = await image(dir, "b.dcm", ILE);
      await withStorescp(dir, [], async (port) => {
        const args = ["-v", HOST, String(port), a.path, b.path];
        const theirs = await runCommand("storescu", args);
        // DCMTK's proposal: by default the implicit VR file would go as it is.
        const ours = await storescu(["--dcmtk-proposal", ...args]);
        assert.equal(ours.code, theirs.code, show(ours));
        // DCMTK also prints "Converting" for a file that is not converted (X -> X) and
        // "XMIT:" progress on stdout, and we add the summary after the release; the rest
        // must read the same, up to the Max Send PDV (DCMTK prints its maximum minus 12,
        // we what we really put in a PDV).
        const normal = (text: string) => {
          const lines = text.split("\n").filter((l) =>
            l.startsWith("I: ") && !/Converting.*: (.*) -> \1$/.test(l)
          ).map((l) => l.replace(/Max Send PDV: \d+/, "Max Send PDV: n"));
          return lines.slice(0, lines.indexOf("I: Releasing Association") + 1);
        };
        assert.deepEqual(normal(ours.stderr), normal(theirs.stderr));
      });
    }),
});

// ---------------------------------------------------------------------------
// Batches: bad files, halting, exit codes, --json
// ---------------------------------------------------------------------------

/** The --json lines of a run: file records, then the summary. */
function jsonRecords(
  r: Finished,
): { files: Record<string, unknown>[]; summary: Record<string, unknown> } {
  const all = r.stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
  const summary = all.pop();
  assert.equal(summary?.type, "summary", show(r));
  assert.ok(all.every((x) => x.type === "store"), show(r));
  return { files: all, summary };
}

/** `bytes` with the 32-bit length of the top-level Pixel Data (explicit VR LE, OW) replaced. */
function withPixelLength(bytes: Uint8Array, length: number): Uint8Array {
  const out = bytes.slice();
  const header = [0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x57, 0x00, 0x00];
  const at = out.findIndex((_, i) => header.every((b, j) => out[i + j] === b));
  assert.ok(at > 0, "no Pixel Data header");
  new DataView(out.buffer).setUint32(at + 8, length, true);
  return out;
}

Deno.test({
  name: "storescu --no-halt: bad files fail alone, the rest arrives, exit 1, one record each",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      const good1 = await image(dir, "good1.dcm", ELE);
      const good2 = await image(dir, "good2.dcm", EBE);
      const bytes = await Deno.readFile(good1.path);
      await Deno.writeFile(`${dir}/truncated.dcm`, bytes.subarray(0, bytes.length - 999));
      await Deno.writeTextFile(`${dir}/notdicom.txt`, "hello, not DICOM\n");
      await Deno.writeFile(`${dir}/lying.dcm`, withPixelLength(bytes, 0x00fffff0));
      await image(dir, "bare.dcm", ELE, { meta: false });
      // Bigger than what is read ahead, and broken only at its end (half an element
      // header after the pixel data): found only while it is being sent.
      const big = await image(dir, "big.dcm", ELE, { rows: 512, cols: 512, frames: 4 });
      const bigFile = await Deno.open(big.path, { append: true });
      await bigFile.write(new Uint8Array([0xfa, 0xff, 0xfa, 0xff]));
      bigFile.close();
      const batch = [
        good1.path,
        `${dir}/truncated.dcm`,
        `${dir}/notdicom.txt`,
        `${dir}/lying.dcm`,
        big.path,
        `${dir}/bare.dcm`,
        good2.path,
      ];
      await withStorescp(dir, ["-v"], async (port, scp) => {
        const r = await storescu(["-v", "-nh", "+fo", "--json", HOST, String(port), ...batch]);
        assert.equal(r.code, 1, show(r));
        const { files, summary } = jsonRecords(r);
        assert.deepEqual(files.map((f) => f.path), batch);
        assert.deepEqual(files.map((f) => f.outcome), [
          "success",
          "failed",
          "failed",
          "failed",
          "failed",
          "failed",
          "success",
        ]);
        assert.match(String(files[1].diagnosis), /truncated/);
        assert.match(String(files[2].diagnosis), /not a DICOM file/);
        assert.match(String(files[3].diagnosis), /longer|exceeds|too long|16777200/i);
        assert.match(
          String(files[4].diagnosis),
          /truncated inside an element header.*association aborted/,
        );
        assert.match(String(files[5].diagnosis), /DICM/);
        assert.equal(files[0].status, 0);
        assert.equal(files[0].statusText, "Success");
        assert.equal(files[0].transferSyntax, ELE);
        assert.equal(files[1].status, null);
        assert.equal(summary.outcome, "file-failed");
        assert.equal(summary.exitCode, 1);
        // The big file's abort cost its association; the last file went on a new one.
        assert.equal(summary.associations, 2);
        assert.equal(summary.success, 2);
        assert.equal(summary.failed, 5);
        assert.equal(summary.sent, 3);
        for (const f of [good1, good2]) {
          const sent = await readPart10(f.path);
          const got = await readPart10(received(dir, f.uid));
          assert.deepEqual(datasetDifferences(sent.dataset, got.dataset, sent.ts, got.ts), []);
        }
        assert.deepEqual(
          (await listDir(`${dir}/in`)).sort(),
          [good1.uid, good2.uid].map((u) => `MR.${u}`).sort(),
        );
        assert.match(r.stderr, /^E: Bad DICOM file: .*truncated\.dcm: /m);
        await scp.waitFor((p) => /Association Aborted/.test(p.stderr));
      });
    }),
});

Deno.test({
  name: "storescu halts at a bad file: DCMTK's lines and exit code 1, the rest not sent",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      const good1 = await image(dir, "good1.dcm", ELE);
      const good2 = await image(dir, "good2.dcm", ELE);
      await Deno.writeTextFile(`${dir}/notdicom.txt`, "hello, not DICOM\n");
      const batch = [good1.path, `${dir}/notdicom.txt`, good2.path];
      await withStorescp(dir, [], async (port) => {
        const theirs = await runCommand("storescu", [HOST, String(port), ...batch]);
        await Deno.remove(received(dir, good1.uid));
        const r = await storescu(["-v", "--json", HOST, String(port), ...batch]);
        assert.equal(r.code, theirs.code, show(r));
        assert.equal(r.code, 1);
        assert.match(r.stderr, /^E: Store SCU Failed: Bad DICOM file: .*notdicom\.txt/m);
        assert.match(r.stderr, /^I: Aborting Association$/m);
        assert.deepEqual(await listDir(`${dir}/in`), [`MR.${good1.uid}`]);
        const { files, summary } = jsonRecords(r);
        assert.deepEqual(files.map((f) => f.outcome), ["success", "failed", "not-sent"]);
        assert.equal(summary.notSent, 1);
      });
    }),
});

Deno.test({
  name: "storescu, a failure status: exit with its high byte as DCMTK; --no-halt non-zero too",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      const a = await image(dir, "a.dcm", ELE);
      const b = await image(dir, "b.dcm", ELE);
      await withStorescp(dir, [], async (port) => {
        // Without its output directory DCMTK's storescp answers 0xA700 (out of resources).
        await Deno.remove(`${dir}/in`);
        const args = [HOST, String(port), a.path, b.path];
        const theirs = await runCommand("storescu", ["-v", ...args]);
        const ours = await storescu(["-v", "--json", ...args]);
        assert.equal(theirs.code, 0xa7, show(theirs));
        assert.equal(ours.code, 0xa7, show(ours));
        for (const r of [theirs, ours]) {
          assert.match(r.stderr, /^I: Received Store Response \(Refused: OutOfResources\)$/m);
          assert.doesNotMatch(r.stderr, /Sending file: .*b\.dcm/);
        }
        assert.match(
          ours.stderr,
          /^E: .*a\.dcm: the peer refused it with 0xA700 Refused: Out of resources/m,
        );
        const { files } = jsonRecords(ours);
        assert.equal(files[0].status, 0xa700);
        assert.equal(files[0].status, 0xA700);
        assert.equal(files[0].statusText, "Refused: Out of resources");
        assert.equal(files[1].outcome, "not-sent");

        const theirsNoHalt = await runCommand("storescu", ["-nh", ...args]);
        const oursNoHalt = await storescu(["-nh", "--json", ...args]);
        assert.equal(theirsNoHalt.code, 0, show(theirsNoHalt));
        assert.equal(oursNoHalt.code, 0xa7, show(oursNoHalt));
        assert.deepEqual(jsonRecords(oursNoHalt).files.map((f) => f.status), [0xa700, 0xa700]);
      });
    }),
});

Deno.test({
  name: "storescu, a storage SOP class outside DCMTK's default list: proposed and sent anyway",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      const bt = await image(dir, "bt.dcm", ELE, {
        sopClassUid: "1.2.840.10008.5.1.4.1.1.13.1.3", // Breast Tomosynthesis Image Storage
      });
      await withStorescp(dir, [], async (port) => {
        const theirs = await runCommand("storescu", [HOST, String(port), bt.path]);
        assert.equal(theirs.code, 1, show(theirs));
        assert.match(theirs.stderr, /No presentation context for: \(BT\)/);
        const r = await storescu([HOST, String(port), bt.path]);
        assert.equal(r.code, 0, show(r));
        assert.deepEqual(await listDir(`${dir}/in`), [`BT.${bt.uid}`]);
      });
    }),
});

Deno.test({
  name:
    "storescu +II +IR 1 +IS 2 +IP 2: new UIDs per image, series, study and patient as DCMTK counts",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      const files: { path: string; uid: string }[] = [];
      for (let i = 0; i < 5; i++) files.push(await image(dir, `f${i}.dcm`, i % 2 ? ILE : ELE));
      await withStorescp(dir, [], async (port) => {
        const r = await storescu([
          "-v",
          "--json",
          "+IR",
          "1",
          "+IS",
          "2",
          "+IP",
          "2",
          HOST,
          String(port),
          ...files.map((f) => f.path),
        ]);
        assert.equal(r.code, 0, show(r));
        assert.match(r.stderr, /^I: Inventing Identifying Information \(pa1, st0, se0, im0\):$/m);
        const sent = jsonRecords(r).files;
        const got: Record<string, string | undefined>[] = [];
        for (const [i, rec] of sent.entries()) {
          const uid = String(rec.sopInstanceUid);
          assert.notEqual(uid, files[i].uid);
          const { dataset: ds } = await readPart10(received(dir, uid));
          const value = (tag: number) => stringValue(ds, tag);
          assert.equal(value(0x00080018), uid);
          got.push({
            series: value(0x0020000e),
            study: value(0x0020000d),
            patient: value(0x00100020),
            name: value(0x00100010),
          });
        }
        const distinct = (xs: (string | undefined)[]) => new Set(xs).size;
        // +IR 1: a new series for every image; +IS 2: a new study every 2 series;
        // +IP 2: a new patient every 2 studies.
        assert.equal(distinct(got.map((g) => g.series)), 5);
        assert.deepEqual(got.map((g) => g.study).map((s) => got.findIndex((g) => g.study === s)), [
          0,
          0,
          2,
          2,
          4,
        ]);
        assert.deepEqual(
          got.map((g) => g.patient).map((p) => got.findIndex((g) => g.patient === p)),
          [0, 0, 0, 0, 4],
        );
        assert.match(String(got[4].name), /^OFFIS\^TEST_PN_\d+1$/);
        const original = await readPart10(files[0].path);
        assert.notEqual(got[0].study, stringValue(original.dataset, 0x0020000d));
      });
    }),
});

Deno.test({
  name: "storescu +II alone: new SOP instance UIDs, one invented series, study and patient",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      const a = await image(dir, "a.dcm", ELE);
      const b = await image(dir, "b.dcm", ELE);
      await withStorescp(dir, [], async (port) => {
        const r = await storescu(["--json", "+II", HOST, String(port), a.path, b.path]);
        assert.equal(r.code, 0, show(r));
        const uids = jsonRecords(r).files.map((f) => String(f.sopInstanceUid));
        assert.ok(!uids.includes(a.uid) && !uids.includes(b.uid));
        const [x, y] = await Promise.all(uids.map((u) => readPart10(received(dir, u))));
        for (const tag of [0x0020000e, 0x0020000d, 0x00100020]) {
          assert.equal(stringValue(x.dataset, tag), stringValue(y.dataset, tag));
        }
        assert.notEqual(
          stringValue(x.dataset, 0x0020000e),
          stringValue((await readPart10(a.path)).dataset, 0x0020000e),
        );
      });
    }),
});

Deno.test({
  name:
    "storescu at 128 KiB PDUs: a data set over 1 MiB broken at its end goes in runs, is stopped before its last PDV (association aborted, nothing stored), the next file goes on a new association",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      // 2 MiB of pixel data, then half an element header: found only while it is being sent,
      // when the last run is read; at PDVs of 131,066 bytes the data set goes in runs.
      const big = await image(dir, "big.dcm", ELE, { rows: 512, cols: 512, frames: 4 });
      const bigFile = await Deno.open(big.path, { append: true });
      await bigFile.write(new Uint8Array([0xfa, 0xff, 0xfa, 0xff]));
      bigFile.close();
      const whole = await image(dir, "whole.dcm", ELE, { rows: 512, cols: 512, frames: 4 });
      const good = await image(dir, "good.dcm", ELE);
      await withStorescp(dir, ["-v", "-pdu", "131072"], async (port, scp) => {
        const batch = [whole.path, big.path, good.path];
        const r = await storescu(["-nh", "--json", HOST, String(port), ...batch]);
        assert.equal(r.code, 1, show(r));
        const { files, summary } = jsonRecords(r);
        assert.deepEqual(files.map((f) => f.outcome), ["success", "failed", "success"]);
        assert.match(
          String(files[1].diagnosis),
          /truncated inside an element header.*association aborted/,
        );
        assert.equal(summary.associations, 2);
        await scp.waitFor((p) => /Association Aborted/.test(p.stderr));
        assert.deepEqual(
          (await listDir(`${dir}/in`)).sort(),
          [whole.uid, good.uid].map((u) => `MR.${u}`).sort(),
        );
        for (const f of [whole, good]) {
          const sent = await readPart10(f.path);
          const got = await readPart10(received(dir, f.uid));
          assert.deepEqual(datasetDifferences(sent.dataset, got.dataset, sent.ts, got.ts), []);
        }
      });
    }),
});

Deno.test({
  name: "storescu --repeat 3 --abort: three stores, then an A-ABORT storescp reports",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      const a = await image(dir, "a.dcm", ELE);
      await withStorescp(dir, ["-v"], async (port, scp) => {
        const r = await storescu(["-v", "--repeat", "3", "--abort", HOST, String(port), a.path]);
        assert.equal(r.code, 0, show(r));
        assert.match(r.stderr, /^I: Sending Store Request \(MsgID 3, MR\)$/m);
        assert.match(r.stderr, /^I: Aborting Association$/m);
        await scp.waitFor((p) => /Association Aborted/.test(p.stderr));
        assert.equal(
          scp.stderr.split("\n").filter((l) => /Received Store Request/.test(l)).length,
          3,
        );
      });
    }),
});

Deno.test({
  name: "storescu +sd, +r, +sp: which files of a directory tree are sent",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      await Deno.mkdir(`${dir}/d/sub`, { recursive: true });
      await image(dir, "d/a.dcm", ELE);
      await image(dir, "d/b.img", ELE);
      await image(dir, "d/sub/c.dcm", ELE);
      await withStorescp(dir, [], async (port) => {
        const sent = async (...opts: string[]) => {
          const r = await storescu(["--json", ...opts, HOST, String(port), `${dir}/d`]);
          assert.equal(r.code, 0, show(r));
          return jsonRecords(r).files.map((f) => String(f.path).slice(dir.length + 1));
        };
        assert.deepEqual(await sent("+sd"), ["d/a.dcm", "d/b.img"]);
        assert.deepEqual(await sent("+sd", "+r"), ["d/a.dcm", "d/b.img", "d/sub/c.dcm"]);
        assert.deepEqual(await sent("+sd", "+r", "+sp", "*.dcm"), ["d/a.dcm", "d/sub/c.dcm"]);
        assert.deepEqual(await sent("+sd", "+sp", "?.img"), ["d/b.img"]);
        const none = await storescu([HOST, String(port), `${dir}/d`]);
        assert.equal(none.code, 1, show(none));
        assert.match(
          none.stderr,
          /^W: ignoring directory because option --scan-directories is not set: /m,
        );
        assert.match(none.stderr, /^F: no input files to be sent$/m);
      });
    }),
});

Deno.test({
  name: "storescu +rn: .done and .bad appended to the processed files",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      const a = await image(dir, "a.dcm", ELE);
      await Deno.writeTextFile(`${dir}/x.dcm`, "not DICOM");
      await withStorescp(dir, [], async (port) => {
        const r = await storescu(["-nh", "+rn", HOST, String(port), a.path, `${dir}/x.dcm`]);
        assert.equal(r.code, 1, show(r));
        const names = (await listDir(dir)).filter((n) => n !== "in");
        assert.deepEqual(names, ["a.dcm.done", "x.dcm.bad"]);
      });
    }),
});

Deno.test({
  name: "storescu -u: a data set re-encoded with its UN elements as OB, as DCMTK's -u",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      const f = await image(dir, "un.dcm", ELE);
      const vrs = (ds: Dataset) => ds.map((e) => e.vr);
      assert.ok(vrs((await readPart10(f.path)).dataset).includes("UN"), "the test file has UN");
      await withStorescp(dir, ["+B"], async (port) => {
        const r = await storescu(["-u", HOST, String(port), f.path]);
        assert.equal(r.code, 0, show(r));
        const got = await readPart10(received(dir, f.uid));
        assert.ok(!vrs(got.dataset).includes("UN"), vrs(got.dataset).join(" "));
        const sent = await readPart10(f.path);
        // Every element arrived with its value; the UN ones as OB.
        assert.deepEqual(datasetDifferences(sent.dataset, got.dataset, sent.ts, got.ts), []);
        const un = sent.dataset.filter((e) => e.vr === "UN").map((e) => e.tag);
        assert.deepEqual(
          got.dataset.filter((e) => un.includes(e.tag)).map((e) => e.vr),
          un.map(() => "OB"),
        );
      });
    }),
});

Deno.test({
  name: "storescu -xd +cl: the compression level decides how many bytes go out",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      const f = await image(dir, "d.dcm", ELE, { rows: 256, cols: 256 });
      await withStorescp(dir, ["+xd", "+B"], async (port) => {
        const sizes: number[] = [];
        for (const level of ["0", "9"]) {
          const r = await storescu(["--json", "-xd", "+cl", level, HOST, String(port), f.path]);
          assert.equal(r.code, 0, show(r));
          const got = await readPart10(received(dir, f.uid));
          assert.equal(got.ts, DEFL);
          const sent = await readPart10(f.path);
          assert.deepEqual(datasetDifferences(sent.dataset, got.dataset, sent.ts, got.ts), []);
          sizes.push(got.raw.length);
          assert.equal(jsonRecords(r).files[0].bytes, got.raw.length);
        }
        // Level 0 stores (RFC 1951 3.2.4): larger than the data set itself; 9 compresses.
        assert.ok(sizes[0] > 131072 && sizes[1] < sizes[0] / 2, sizes.join(" "));
      });
    }),
});

Deno.test({
  name:
    "storescu, space-padded SOP UIDs: corrected in the request and the data set as DCMTK does, -up or not",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      // Of odd length, so padded: one more digit in the last component if need be.
      const base = newUid();
      const uid = base.length % 2 ? base : `${base}1`;
      const original = makeImageFile({ rows: 8, cols: 8, ts: ELE, sopInstanceUid: uid });
      const path = `${dir}/padded.dcm`;
      await Deno.writeFile(path, spacePadSopUids(original));
      const warnings = (stderr: string) =>
        stderr.split("\n").filter((l) => l.startsWith("W: DcmUniqueIdentifier"));
      await withStorescp(dir, ["+B"], async (port) => {
        const theirs = await runCommand("storescu", ["-v", HOST, String(port), path]);
        assert.equal(theirs.code, 0, show(theirs));
        assert.deepEqual(warnings(theirs.stderr), [
          "W: DcmUniqueIdentifier: Element SOPClassUID (0008,0016) contains one or more space characters, which were removed",
          "W: DcmUniqueIdentifier: Element SOPInstanceUID (0008,0018) contains one or more space characters, which were removed",
        ]);
        for (const up of [[], ["-up"]]) {
          await Deno.remove(received(dir, uid));
          const ours = await storescu(["-v", ...up, HOST, String(port), path]);
          assert.equal(ours.code, 0, show(ours));
          assert.deepEqual(warnings(ours.stderr), warnings(theirs.stderr), show(ours));
          // Named by the request's SOP Instance UID, without the space; the data set is the
          // original one, UIDs padded with NUL again, byte for byte (storescp +B).
          const got = await readPart10(received(dir, uid));
          assert.equal(got.ts, ELE);
          assert.deepEqual(got.raw, original.subarray(decodeFileMeta(original).length));
        }
      });
    }),
});

/**
 * `file` with the file meta information's SOP Class and Instance UIDs
 * replaced by other values (as de-identification and editing tools leave
 * them); the data set is unchanged.
 */
function withMetaUids(file: Uint8Array, sopClassUid: string, sopInstanceUid: string): Uint8Array {
  const { meta, length } = decodeFileMeta(file);
  return concatBytes([
    encodeFileMeta({
      ...meta,
      mediaStorageSopClassUid: sopClassUid,
      mediaStorageSopInstanceUid: sopInstanceUid,
    }),
    file.subarray(length),
  ]);
}

Deno.test({
  name:
    "storescu: the request carries the data set's SOP UIDs when the meta information disagrees, with one W: line",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      const uid = newUid();
      const metaUid = `${uid.slice(0, -1)}${uid.endsWith("9") ? "8" : "9"}`; // one digit changed
      const original = makeImageFile({ rows: 8, cols: 8, ts: ELE, sopInstanceUid: uid });
      const path = `${dir}/edited.dcm`;
      // The meta information says CT: with -R only the data set's class (MR) is proposed.
      await Deno.writeFile(path, withMetaUids(original, CT_IMAGE_STORAGE, metaUid));
      await withStorescp(dir, ["+B"], async (port) => {
        const theirs = await runCommand("storescu", ["-R", HOST, String(port), path]);
        assert.equal(theirs.code, 0, show(theirs));
        await Deno.remove(received(dir, uid));
        for (const options of [["-R"], ["+C"], []]) {
          const r = await storescu(["-v", "--json", ...options, HOST, String(port), path]);
          assert.equal(r.code, 0, show(r));
          const warnings = r.stderr.split("\n").filter((l) => l.startsWith("W: "));
          assert.deepEqual(warnings, [
            `W: ${path}: the file meta information disagrees with the data set: SOP Class UID ` +
            `${CT_IMAGE_STORAGE} in the meta information (0002,0002), 1.2.840.10008.5.1.4.1.1.4 ` +
            `in the data set (0008,0016); SOP Instance UID ${metaUid} in the meta information ` +
            `(0002,0003), ${uid} in the data set (0008,0018); sending the data set's`,
          ], show(r));
          assert.match(r.stderr, /Sending Store Request \(MsgID 1, MR\)/);
          const { files } = jsonRecords(r);
          assert.equal(files[0].sopClassUid, "1.2.840.10008.5.1.4.1.1.4");
          assert.equal(files[0].sopInstanceUid, uid);
          // Stored under the data set's UID, the data set byte for byte.
          const got = await readPart10(received(dir, uid));
          assert.deepEqual(got.raw, original.subarray(decodeFileMeta(original).length));
          await Deno.remove(received(dir, uid));
        }
      });
    }),
});

Deno.test({
  name:
    "storescu: a data set without SOP Instance UID fails before its request, saying what is missing",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      const uid = newUid();
      const good = await image(dir, "good.dcm", ELE);
      const file = makeImageFile({ rows: 8, cols: 8, ts: ELE, sopInstanceUid: uid });
      const { meta, length } = decodeFileMeta(file);
      const dataset = decodeDataset(file.subarray(length), ELE).filter((e) => e.tag !== 0x00080018);
      const path = `${dir}/nouid.dcm`;
      await Deno.writeFile(path, concatBytes([encodeFileMeta(meta), encodeDataset(dataset, ELE)]));
      await withStorescp(dir, [], async (port) => {
        const r = await storescu(["-v", "-nh", "--json", HOST, String(port), path, good.path]);
        assert.equal(r.code, 1, show(r));
        const lines = r.stderr.split("\n");
        const at = lines.indexOf(`I: Sending file: ${path}`);
        assert.ok(at >= 0, show(r));
        assert.equal(
          lines[at + 1],
          `E: Bad DICOM file: ${path}: the data set has no SOP Instance UID (0008,0018) (only ` +
            "the file meta information has one, in (0002,0003); a receiver checks the data set's)",
        );
        assert.equal(lines[at + 2], `I: Sending file: ${good.path}`);
        const { files, summary } = jsonRecords(r);
        assert.equal(files[0].outcome, "failed");
        assert.equal(files[0].messageId, null);
        assert.equal(files[1].outcome, "success");
        assert.equal(summary.sent, 1);
        assert.deepEqual(await listDir(`${dir}/in`), [`MR.${good.uid}`]);
      });
    }),
});

Deno.test({
  name: "storescu exit 67: the advice is computed from the peer's A-ASSOCIATE-AC",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      const privateClass = "1.3.6.1.4.1.5962.99.1";
      const file = await image(dir, "private.dcm", ELE, { sopClassUid: privateClass });
      // DCMTK's storescp without -pm knows no private class: every context is refused with
      // "abstract syntax not supported", and no transfer syntax option would help.
      await withStorescp(dir, [], async (port) => {
        const r = await storescu(["-R", "--json", HOST, String(port), file.path]);
        assert.equal(r.code, 67, show(r));
        const diagnosis = `the peer accepted the association but none of the 2 presentation ` +
          `contexts proposed (${privateClass}: not supported): the peer must be configured to ` +
          `accept ${privateClass}`;
        assert.match(r.stderr, new RegExp(`^E: ${diagnosis.replace(/[.()]/g, "\\$&")}$`, "m"));
        assert.equal(jsonRecords(r).summary.diagnosis, diagnosis);
      });
      // An SCP taking implicit VR only (+xi), and an MR file proposed in MPEG2 (-xm) and its
      // own explicit VR: refused as "transfer syntaxes not supported"; what is left to try.
      const mr = await image(dir, "mr.dcm", ELE);
      await withStorescp(dir, ["+xi"], async (port) => {
        const r = await storescu(["-R", "-xm", HOST, String(port), mr.path]);
        assert.equal(r.code, 67, show(r));
        assert.match(
          r.stderr,
          /^E: the peer accepted the association but none of the 2 presentation contexts proposed \(MRImageStorage: none of MPEG2 .*, Little Endian Explicit\): for the uncompressed files try -x= or -xd$/m,
        );
      });
    }),
});

Deno.test({
  name:
    "storescu, implicit VR converted for the peer: US or SS values stay signed (the issue's dcmodify/dcmconv case)",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      const ct = await image(dir, "ct.dcm", ELE, { sopClassUid: CT_IMAGE_STORAGE });
      const run = async (cmd: string, args: string[]) => {
        const r = await runCommand(cmd, args);
        assert.equal(r.code, 0, show(r));
        return r;
      };
      await run("dcmodify", [
        "-nb",
        "-i",
        "(0028,0103)=1",
        "-i",
        "(0028,0106)=-1000",
        "-i",
        "(0028,0120)=-2000",
        ct.path,
      ]);
      const si = `${dir}/si.dcm`;
      await run("dcmconv", ["+ti", ct.path, si]);
      await withStorescp(dir, [], async (port) => {
        // DCMTK's proposal, so that the implicit VR file is converted (by default it would go
        // as it is on a context of its own).
        for (
          const [option, ts] of [["-xe", "Little Endian Explicit"], ["-xb", "Big Endian Explicit"]]
        ) {
          const r = await storescu(["-v", "--dcmtk-proposal", option, HOST, String(port), si]);
          assert.equal(r.code, 0, show(r));
          assert.match(
            r.stderr,
            new RegExp(`Converting transfer syntax: Little Endian Implicit -> ${ts}`),
          );
          const dump = await run("dcmdump", [
            "+P",
            "0028,0106",
            "+P",
            "0028,0120",
            `${dir}/in/CT.${ct.uid}`,
          ]);
          assert.match(dump.stdout, /^\(0028,0106\) SS -1000 /m, option);
          assert.match(dump.stdout, /^\(0028,0120\) SS -2000 /m, option);
          await Deno.remove(`${dir}/in/CT.${ct.uid}`);
        }
      });
    }),
});
