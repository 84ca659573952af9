/**
 * findscu against DCMTK's dcmqrscp, loaded by our storescu: every model
 * dcmqrscp serves (patient root, study root, patient/study only) at each
 * of its levels gives the same result set as DCMTK's findscu on the same
 * database; the modality worklist model against DCMTK's wlmscpfs; and a
 * C-CANCEL mid-find that dcmqrscp honours.
 */
import assert from "node:assert/strict";
import { decodeAttributesFile } from "../../lib/dicom/attributes.ts";
import { toDicomJson } from "../../lib/dicom/json_model.ts";
import { withDcmqrscp } from "../../testing/dcmqrscp.ts";
import { writeImageFile } from "../../testing/dicom_files.ts";
import {
  Background,
  dcmtkAvailable,
  freePort,
  runCommand,
  runTool,
  show,
  waitForPort,
} from "../../testing/procs.ts";
import { listDir, withTempDir } from "../../testing/temp_files.ts";
import { indexInPlace, writeSmallImages } from "../../testing/qr_load.ts";

const HAVE_DCMTK = dcmtkAvailable(["dcmqrscp", "findscu", "wlmscpfs", "dump2dcm"]);

/** Decoded -X files of a directory, as a sorted list of DICOM JSON texts. */
async function resultSet(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await listDir(dir)) {
    const { attributes } = decodeAttributesFile(await Deno.readFile(`${dir}/${name}`));
    out.push(JSON.stringify(toDicomJson(attributes)));
  }
  return out.sort();
}

/** Runs DCMTK's findscu and ours with the same arguments and -X into two directories. */
async function both(
  dir: string,
  name: string,
  args: string[],
): Promise<{ dcmtk: string[]; ours: string[] }> {
  const d = `${dir}/${name}-dcmtk`;
  const o = `${dir}/${name}-ours`;
  await Deno.mkdir(d);
  await Deno.mkdir(o);
  const theirs = await runCommand("findscu", ["-X", "-od", d, ...args]);
  assert.equal(theirs.code, 0, show(theirs));
  const ours = await runTool("findscu", ["-X", "-od", o, ...args]);
  assert.equal(ours.code, 0, show(ours));
  return { dcmtk: await resultSet(d), ours: await resultSet(o) };
}

Deno.test({
  name: "findscu vs DCMTK findscu on dcmqrscp: -P, -S, -O at every level give the same result sets",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    await withTempDir("findscu_qr", async (dir) => {
      const files: string[] = [];
      const people = [["Smith^John", "PID-A"], ["Müller^Jörg", "PID-B"], ["Doe^Jane", "PID-C"]];
      for (const [p, [name, id]] of people.entries()) {
        for (let s = 0; s < 2; s++) {
          for (let i = 0; i < 2; i++) {
            const path = `${dir}/p${p}s${s}i${i}.dcm`;
            const studyUid = `1.2.826.0.1.3680043.9.7433.6.${p + 1}.${s + 1}`;
            await writeImageFile(path, {
              rows: 2,
              cols: 2,
              studyUid,
              seriesUid: `${studyUid}.1`,
              sopInstanceUid: `${studyUid}.1.${i + 1}`,
              patientName: name,
              patientId: id,
            });
            files.push(path);
          }
        }
      }
      await withDcmqrscp({ args: ["-up"] }, async (scp) => {
        // Loaded with our storescu.
        const load = await runTool("storescu", [
          "-aec",
          "COMMON",
          "127.0.0.1",
          String(scp.port),
          ...files,
        ]);
        assert.equal(load.code, 0, show(load));
        const peer = ["-aec", "COMMON", "127.0.0.1", String(scp.port)];
        const cases: [string, string[], number][] = [
          ["P-patient", [
            "-P",
            "-k",
            "QueryRetrieveLevel=PATIENT",
            "-k",
            "PatientID",
            "-k",
            "PatientName",
          ], 3],
          ["P-study", [
            "-P",
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
            "PatientID=PID-B",
            "-k",
            "StudyInstanceUID",
          ], 2],
          ["S-study", [
            "-S",
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
            "StudyInstanceUID",
            "-k",
            "PatientName",
            "-k",
            "SpecificCharacterSet",
          ], 6],
          ["S-series", [
            "-S",
            "-k",
            "QueryRetrieveLevel=SERIES",
            "-k",
            "StudyInstanceUID=1.2.826.0.1.3680043.9.7433.6.1.1",
            "-k",
            "SeriesInstanceUID",
          ], 1],
          ["S-image", [
            "-S",
            "-k",
            "QueryRetrieveLevel=IMAGE",
            "-k",
            "StudyInstanceUID=1.2.826.0.1.3680043.9.7433.6.2.2",
            "-k",
            "SeriesInstanceUID=1.2.826.0.1.3680043.9.7433.6.2.2.1",
            "-k",
            "SOPInstanceUID",
          ], 2],
          ["S-wildcard", [
            "-S",
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
            "PatientName=D*",
            "-k",
            "StudyInstanceUID",
          ], 2],
          ["O-patient", [
            "-O",
            "-k",
            "QueryRetrieveLevel=PATIENT",
            "-k",
            "PatientID",
            "-k",
            "PatientName",
          ], 3],
          ["O-study", [
            "-O",
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
            "PatientID=PID-A",
            "-k",
            "StudyInstanceUID",
          ], 2],
        ];
        for (const [name, args, n] of cases) {
          const r = await both(dir, name, [...args, ...peer]);
          assert.equal(r.ours.length, n, `${name}: ${r.ours.length} matches`);
          assert.deepEqual(r.ours, r.dcmtk, name);
        }
        // Decoded in its character set, not as bytes: the name as written.
        const json = await runTool("findscu", [
          "--json",
          "-sr",
          "-S",
          "-k",
          "QueryRetrieveLevel=STUDY",
          "-k",
          "PatientID=PID-B",
          "-k",
          "PatientName",
          ...peer,
        ]);
        assert.equal(json.code, 0, show(json));
        const names = json.stdout.trim().split("\n").map((l) => JSON.parse(l))
          .filter((l) => l.outcome === "pending")
          .map((l) => l.identifier["00100010"].Value[0].Alphabetic);
        assert.deepEqual(names, ["Müller^Jörg", "Müller^Jörg"]);
      });
    });
  },
});

/** DCMTK's example worklist database (Debian's dcmtk package), as dump2dcm input. */
const WLM_EXAMPLES = "/usr/share/doc/dcmtk/examples/wlistdb/OFFIS";

Deno.test({
  name: "findscu -W vs DCMTK findscu on wlmscpfs: the same worklist items",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    await withTempDir("findscu_wl", async (dir) => {
      await Deno.mkdir(`${dir}/db/OFFIS`, { recursive: true });
      await Deno.writeTextFile(`${dir}/db/OFFIS/lockfile`, "");
      for (const e of Deno.readDirSync(WLM_EXAMPLES)) {
        if (!e.name.endsWith(".dump")) continue;
        const out = `${dir}/db/OFFIS/${e.name.replace(/\.dump$/, ".wl")}`;
        const made = await runCommand("dump2dcm", [`${WLM_EXAMPLES}/${e.name}`, out]);
        assert.equal(made.code, 0, show(made));
      }
      const port = freePort();
      const proc = new Background("wlmscpfs", ["-dfp", `${dir}/db`, String(port)]);
      try {
        await waitForPort(port, 10_000, () => proc.status !== undefined);
        const keys = [
          "-W",
          "-aec",
          "OFFIS",
          "-k",
          "PatientName",
          "-k",
          "PatientID",
          "-k",
          "AccessionNumber",
          "-k",
          "ScheduledProcedureStepSequence[0].Modality=CT",
          "-k",
          "ScheduledProcedureStepSequence[0].ScheduledStationAETitle",
          "-k",
          "ScheduledProcedureStepSequence[0].ScheduledPerformingPhysicianName",
          "-k",
          "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate",
          "127.0.0.1",
          String(port),
        ];
        const r = await both(dir, "wl", keys);
        assert.equal(r.ours.length, 4, r.ours.join("\n"));
        assert.deepEqual(r.ours, r.dcmtk);
      } finally {
        await proc.stop();
      }
    });
  },
});

Deno.test({
  name: "findscu --cancel 1 against dcmqrscp: C-CANCEL mid-find, the peer's Cancel status, exit 0",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    await withTempDir("findscu_cancel", async (dir) => {
      // More matches than loopback buffers hold, so dcmqrscp is still sending when the
      // C-CANCEL-RQ arrives (it looks for one before each response).
      const n = 1000;
      const { files } = await writeSmallImages(dir, n);
      await withDcmqrscp({}, async (scp) => {
        await indexInPlace(scp, "COMMON", files);
        const r = await runTool("findscu", [
          "-v",
          "-sr",
          "--json",
          "--cancel",
          "1",
          "-S",
          "-aec",
          "COMMON",
          "-k",
          "QueryRetrieveLevel=IMAGE",
          "-k",
          "StudyInstanceUID=1.2.826.0.1.3680043.9.7433.5.1",
          "-k",
          "SeriesInstanceUID=1.2.826.0.1.3680043.9.7433.5.1.1",
          "-k",
          "SOPInstanceUID",
          "127.0.0.1",
          String(scp.port),
        ]);
        assert.equal(r.code, 0, show(r));
        assert.match(r.stderr, /^I: Sending Cancel Request \(MsgID 1, PresID 1\)$/m);
        assert.match(
          r.stderr,
          /^I: Received Final Find Response \(Cancel: MatchingTerminatedDueToCancelRequest\)$/m,
        );
        const summary = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
        assert.equal(summary.cancelled, 1);
        assert.ok(summary.matches >= 1 && summary.matches < n, `${summary.matches} matches`);
      });
    });
  },
});
