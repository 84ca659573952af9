/**
 * DCMTK's storescu sending to our storescp (the CLI, as a process): each
 * uncompressed transfer syntax and deflate arrives as a file that dcmdump
 * reads and whose data set equals the original element by element; file
 * names as DCMTK's storescp makes them (-uf, +uf, -fe, -su); DCMTK's log
 * lines at -v.
 */
import assert from "node:assert/strict";
import { datasetDifferences } from "../../lib/dicom/dataset.ts";
import { newUid } from "../../lib/util/uid.ts";
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
} from "../../lib/dicom/uids.ts";
import { readPart10, writeImageFile } from "../../testing/dicom_files.ts";
import {
  Background,
  dcmtkAvailable,
  freePort,
  runCommand,
  startTool,
  toolArgv,
  waitForPort,
} from "../../testing/procs.ts";
import { listDir } from "../../testing/temp_files.ts";

const HAVE_DCMTK = dcmtkAvailable();

async function storescu(args: string[]) {
  const out = await runCommand("storescu", args, 60_000);
  assert.equal(out.code, 0, `storescu ${args.join(" ")}:\n${out.stdout}${out.stderr}`);
  return out;
}

Deno.test({
  name: "DCMTK storescu -> our storescp: each syntax stored as sent, equal element by element",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "storescp_dcmtk_" });
    const od = `${dir}/od`;
    await Deno.mkdir(od);
    // +xa: deflate is accepted too (storescu -xd proposes it first, then the rest).
    const { proc, port } = await startTool("storescp", ["+xa", "-od", od]);
    try {
      const cases = [
        { fileTs: IMPLICIT_VR_LITTLE_ENDIAN, scu: "-xi", stored: IMPLICIT_VR_LITTLE_ENDIAN },
        { fileTs: EXPLICIT_VR_LITTLE_ENDIAN, scu: "-xe", stored: EXPLICIT_VR_LITTLE_ENDIAN },
        { fileTs: EXPLICIT_VR_BIG_ENDIAN, scu: "-xb", stored: EXPLICIT_VR_BIG_ENDIAN },
        {
          fileTs: DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
          scu: "-xd",
          stored: DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
        },
        // storescu converts: explicit LE file, only implicit proposed.
        { fileTs: EXPLICIT_VR_LITTLE_ENDIAN, scu: "-xi", stored: IMPLICIT_VR_LITTLE_ENDIAN },
      ];
      for (const c of cases) {
        const uid = newUid();
        const source = `${dir}/${uid}.dcm`;
        await writeImageFile(source, {
          ts: c.fileTs,
          sopInstanceUid: uid,
          rows: 64,
          cols: 64,
        });
        await storescu([c.scu, "-aet", "DCMTKSCU", "127.0.0.1", String(port), source]);
        const path = `${od}/MR.${uid}`;
        const stored = await readPart10(path);
        assert.equal(stored.ts, c.stored, `${c.fileTs} sent with ${c.scu}`);
        assert.equal(stored.meta.mediaStorageSopInstanceUid, uid);
        assert.equal(stored.meta.sourceAeTitle, "DCMTKSCU");
        // DCMTK re-encodes what it sends (sequence lengths...), so the comparison is
        // element by element; tests/security/storescp_safety.test.ts shows we store bytes as received.
        const original = await readPart10(source);
        assert.deepEqual(
          datasetDifferences(original.dataset, stored.dataset, original.ts, stored.ts),
          [],
          `${c.fileTs} sent with ${c.scu}`,
        );
        const dump = await runCommand("dcmdump", ["-q", path]);
        assert.equal(dump.code, 0, dump.stderr);
        assert.match(
          dump.stdout,
          new RegExp(`\\(0008,0018\\) UI \\[${uid.replaceAll(".", "\\.")}\\]`),
        );
      }
      const events = proc.events().filter((e) => e.type === "store");
      assert.equal(events.length, cases.length);
      assert.ok(events.every((e) => e.status === 0 && typeof e.bytes === "number" && e.bytes > 0));
      assert.deepEqual(events.map((e) => e.transferSyntax), cases.map((c) => c.stored));
    } finally {
      await proc.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "file names: -uf <modality>.<uid>, +uf <modality>.X.<new uid>, -fe, -su <prefix>_<study>",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "storescp_names_" });
    const uid = newUid();
    const study = newUid();
    const source = `${dir}/in.dcm`;
    await writeImageFile(source, { sopInstanceUid: uid, studyUid: study, rows: 16, cols: 16 });
    const layouts: [args: string[], expected: RegExp][] = [
      [[], new RegExp(`^MR\\.${uid.replaceAll(".", "\\.")}$`)],
      [["-uf", "-fe", ".dcm"], new RegExp(`^MR\\.${uid.replaceAll(".", "\\.")}\\.dcm$`)],
      [["+uf"], /^MR\.X\.2\.25\.\d+$/],
      [["-su", "st", "-fe", ".dcm"], new RegExp(`^st_${study.replaceAll(".", "\\.")}/MR\\.`)],
      [["-su", ""], new RegExp(`^${study.replaceAll(".", "\\.")}/MR\\.`)],
    ];
    try {
      for (const [args, expected] of layouts) {
        const od = await Deno.makeTempDir({ dir, prefix: "od" });
        const { proc, port } = await startTool("storescp", [...args, "-od", od]);
        try {
          await storescu(["127.0.0.1", String(port), source]);
          const files = await listDir(od, true);
          assert.equal(files.length, 1, `${args.join(" ")}: ${files}`);
          assert.match(files[0], expected, args.join(" "));
        } finally {
          await proc.stop();
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "-v prints DCMTK storescp's lines, and its RECV progress on stdout",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "storescp_log_" });
    const uid = newUid();
    const source = `${dir}/in.dcm`;
    await writeImageFile(source, { sopInstanceUid: uid });
    const port = freePort();
    const proc = new Background(Deno.execPath(), [
      ...toolArgv("storescp"),
      "-v",
      "-od",
      dir,
      String(port),
    ]);
    try {
      await waitForPort(port, 30_000, () => proc.status !== undefined);
      await storescu(["127.0.0.1", String(port), source]);
      await storescu(["127.0.0.1", String(port), source]);
      await proc.waitFor((p) => p.stderr.split(" released after ").length === 3);
      // waitForPort's probe connection (a health check) is logged at debug level only;
      // DCMTK logs its "Receiving Association failed". Our Max Send PDV is the peer's
      // maximum less the 6-byte PDV header (PS3.8 9.3.5.1); DCMTK subtracts 12. Beyond
      // DCMTK: the ready line, and one line per association when it ends (issue 16).
      const summary = new RegExp(
        "^I: Association from STORESCU at 127\\.0\\.0\\.1:\\d+ released after \\d+\\.\\d s: " +
          "1 request, 1 stored \\(0\\.\\d MB\\), 0 failed$",
      );
      const lines = proc.stderr.split("\n");
      assert.match(lines.shift()!, /^I: storescp listening on 0\.0\.0\.0:\d+ \(TCP\), AE title /);
      assert.match(lines.splice(5, 1)[0], summary, proc.stderr);
      assert.match(lines.splice(11, 1)[0], summary, proc.stderr);
      assert.equal(
        lines.join("\n"),
        [
          "I: Association Received",
          "I: Association Acknowledged (Max Send PDV: 16378)",
          "I: Received Store Request (MsgID 1, MR)",
          `I: storing DICOM file: ${dir}/MR.${uid}`,
          "I: Association Release",
          "I: Association Received",
          "I: Association Acknowledged (Max Send PDV: 16378)",
          "I: Received Store Request (MsgID 1, MR)",
          `I: storing DICOM file: ${dir}/MR.${uid}`,
          `W: DICOM file already exists, overwriting: ${dir}/MR.${uid}`,
          "I: Association Release",
          "",
        ].join("\n"),
      );
      // One dot per PDV, as DCMTK: 512x512x16 is more than 32 PDVs of 16 KiB.
      assert.match(proc.stdout, /^RECV: \.{33,}\nRECV: \.{33,}\n$/);
    } finally {
      await proc.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
