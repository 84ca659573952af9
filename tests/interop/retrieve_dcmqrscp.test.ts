/**
 * movescu and getscu against DCMTK's dcmqrscp (testing/dcmqrscp.ts): the
 * same database retrieved by our tools and by DCMTK's, the files compared
 * by name (DCMTK's `<modality>.<SOP Instance UID>`) and by the bytes of
 * their data sets; a move to ourselves, to a third AE (our storescp), and
 * the failures with real causes: a destination the archive does not know,
 * one that is not listening, ourselves without --port, and our --port not
 * the one the archive has registered. `movescu --check` passing and failing.
 */
import assert from "node:assert/strict";
import { inspectDicomFile } from "../../lib/dicom/part10.ts";
import { withDcmqrscp } from "../../testing/dcmqrscp.ts";
import { writeImageFile } from "../../testing/dicom_files.ts";
import { lineProblems } from "../../testing/json_lines.ts";
import {
  dcmtkAvailable,
  freePort,
  runCommand,
  runTool,
  show,
  withTool,
} from "../../testing/procs.ts";
import { listDir, withTempDir } from "../../testing/temp_files.ts";

const HAVE_DCMTK = dcmtkAvailable(["dcmqrscp", "dcmqridx", "movescu", "getscu"]);

const STUDY_A = "1.2.826.0.1.3680043.9.7433.3.1";
const STUDY_B = "1.2.826.0.1.3680043.9.7433.3.2";
const HOST = "127.0.0.1";

/** Three images of study A (one in implicit VR), one of study B. */
async function images(dir: string): Promise<{ a: string[]; b: string[] }> {
  const write = async (name: string, studyUid: string, ts?: string) => {
    const path = `${dir}/${name}.dcm`;
    await writeImageFile(path, {
      rows: 8,
      cols: 8,
      studyUid,
      patientId: `PID-${name}`,
      ...(ts ? { ts } : {}),
    });
    return path;
  };
  return {
    a: [
      await write("a1", STUDY_A),
      await write("a2", STUDY_A),
      await write("a3", STUDY_A, "1.2.840.10008.1.2"),
    ],
    b: [await write("b1", STUDY_B)],
  };
}

const study = (
  uid: string,
) => ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", `StudyInstanceUID=${uid}`];

/** The files of a directory: name -> the bytes of the data set (after the file meta information). */
async function datasets(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const name of await listDir(dir)) {
    assert.ok(!name.endsWith(".part"), `no .part file left: ${name}`);
    const info = await inspectDicomFile(`${dir}/${name}`, "file-or-dataset");
    out.set(name, (await Deno.readFile(`${dir}/${name}`)).subarray(info.datasetOffset));
  }
  return out;
}

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout.trimEnd().split("\n").map((l) => {
    assert.deepEqual(lineProblems(l), [], l);
    return JSON.parse(l);
  });
}

Deno.test({
  name: "getscu retrieves what DCMTK's getscu retrieves, byte for byte, with its log lines",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withTempDir("getscu", async (dir) => {
      const files = await images(dir);
      for (const sub of ["ours", "theirs"]) await Deno.mkdir(`${dir}/${sub}`);
      await withDcmqrscp({}, async (scp) => {
        await scp.index("COMMON", [...files.a, ...files.b]);
        const args = ["-aec", "COMMON", ...study(STUDY_A), HOST, String(scp.port)];
        // +B: DCMTK writes the data set as received (without, it re-encodes it in memory) and
        // names the files by SOP Instance UID alone.
        const theirs = await runCommand("getscu", ["+B", "-od", `${dir}/theirs`, ...args]);
        assert.equal(theirs.code, 0, show(theirs));
        const ours = await runTool("getscu", ["-v", "+B", "-od", `${dir}/ours`, ...args]);
        assert.equal(ours.code, 0, show(ours));
        const a = await datasets(`${dir}/ours`);
        const b = await datasets(`${dir}/theirs`);
        assert.equal(a.size, 3);
        assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
        for (const [name, bytes] of a) assert.deepEqual(bytes, b.get(name), name);
        assert.equal(
          (ours.stderr.match(/^I: Received C-STORE Request \(MsgID \d+\)$/gm) ?? []).length,
          3,
        );
        assert.equal(
          (ours.stderr.match(/^I: Sending C-STORE Response \(Success\)$/gm) ?? []).length,
          3,
        );
        assert.match(ours.stderr, /^I: Sending C-GET Request \(MsgID 1\)$/m);
        assert.match(ours.stderr, /^I: Received C-GET Response \(Success\)$/m);
        assert.match(ours.stderr, /^I: {3}Number of Completed Suboperations : 3$/m);
        assert.match(
          ours.stderr,
          /^getscu: C-GET from COMMON@127\.0\.0\.1:\d+: Success; 3 completed, 0 failed, 0 warning; received 3 files/m,
        );
      });
    }),
});

Deno.test({
  name: "getscu --json: a line per response and per file, a summary; --ignore stores nothing",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withTempDir("getscu", async (dir) => {
      const files = await images(dir);
      await Deno.mkdir(`${dir}/od`);
      await withDcmqrscp({}, async (scp) => {
        await scp.index("COMMON", files.a);
        const args = ["-aec", "COMMON", ...study(STUDY_A), HOST, String(scp.port)];
        const run = await runTool("getscu", ["--json", "-od", `${dir}/od`, ...args]);
        assert.equal(run.code, 0, show(run));
        const lines = jsonLines(run.stdout);
        const stores = lines.filter((l) => l.type === "store");
        assert.equal(stores.length, 3);
        for (const s of stores) {
          assert.equal(s.status, 0);
          assert.equal(s.tool, "getscu");
          assert.ok(String(s.path).startsWith(`${dir}/od/MR.`), String(s.path));
        }
        const responses = lines.filter((l) => l.type === "retrieve-response");
        assert.equal(responses.at(-1)!.outcome, "success");
        assert.equal(responses.at(-1)!.completed, 3);
        const summary = lines.at(-1)!;
        assert.equal(summary.type, "summary");
        assert.equal(summary.outcome, "success");
        assert.equal(summary.received, 3);
        assert.equal(summary.success, 3);
        assert.equal(summary.finalStatus, 0);
        await Deno.remove(`${dir}/od`, { recursive: true });
        await Deno.mkdir(`${dir}/od`);
        const ignore = await runTool("getscu", ["--ignore", "-od", `${dir}/od`, ...args]);
        assert.equal(ignore.code, 0, show(ignore));
        assert.deepEqual(await listDir(`${dir}/od`), []);
      });
    }),
});

Deno.test({
  name: "movescu to itself receives what DCMTK's movescu receives; to a third AE, it gets there",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withTempDir("movescu", async (dir) => {
      const files = await images(dir);
      for (const sub of ["ours", "theirs", "third"]) await Deno.mkdir(`${dir}/${sub}`);
      const selfPort = freePort();
      await withTool("storescp", ["-aet", "THIRD", "-od", `${dir}/third`], async (thirdPort) => {
        await withDcmqrscp({
          destinations: [
            { aeTitle: "MOVESCU", port: selfPort },
            { aeTitle: "THIRD", port: thirdPort },
          ],
        }, async (scp) => {
          await scp.index("COMMON", [...files.a, ...files.b]);
          const peer = [HOST, String(scp.port)];
          const self = ["-aec", "COMMON", "+P", String(selfPort), ...study(STUDY_A), ...peer];
          const theirs = await runCommand("movescu", ["-od", `${dir}/theirs`, ...self]);
          assert.equal(theirs.code, 0, show(theirs));
          const ours = await runTool("movescu", ["-v", "-od", `${dir}/ours`, ...self]);
          assert.equal(ours.code, 0, show(ours));
          const a = await datasets(`${dir}/ours`);
          const b = await datasets(`${dir}/theirs`);
          assert.equal(a.size, 3);
          assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
          for (const [name, bytes] of a) assert.deepEqual(bytes, b.get(name), name);
          assert.match(ours.stderr, /^I: Sending Move Request \(MsgID 1\)$/m);
          assert.match(ours.stderr, /^I: Sub-Association Received$/m);
          assert.equal(
            (ours.stderr.match(/^I: Received Store Request \(MsgID \d, MR\)$/gm) ?? []).length,
            3,
          );
          assert.match(ours.stderr, /^I: Received Final Move Response \(Success\)$/m);
          assert.match(
            ours.stderr,
            /^movescu: C-MOVE from COMMON@127\.0\.0\.1:\d+ to MOVESCU: Success; 3 completed, 0 failed, 0 warning; received 3 files/m,
          );

          const third = await runTool("movescu", [
            "--json",
            "-aec",
            "COMMON",
            "-aem",
            "THIRD",
            ...study(STUDY_B),
            ...peer,
          ]);
          assert.equal(third.code, 0, show(third));
          assert.equal((await listDir(`${dir}/third`)).length, 1);
          const summary = jsonLines(third.stdout).at(-1)!;
          assert.equal(summary.moveDestination, "THIRD");
          assert.equal(summary.success, 1);
          assert.equal(summary.received, 0);
        });
      });
    }),
});

Deno.test({
  name: "movescu says why a move failed: unknown destination, not listening, no --port, wrong port",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withTempDir("movescu", async (dir) => {
      const files = await images(dir);
      const registered = freePort();
      const silent = freePort();
      await withDcmqrscp({
        destinations: [
          { aeTitle: "MOVESCU", port: registered },
          { aeTitle: "SILENT", port: silent },
        ],
      }, async (scp) => {
        await scp.index("COMMON", files.b);
        const base = ["-aec", "COMMON", ...study(STUDY_B), HOST, String(scp.port)];

        const unknown = await runTool("movescu", ["-aem", "NOBODY", ...base]);
        assert.equal(unknown.code, 69, show(unknown));
        assert.match(
          unknown.stderr,
          /^W: Move response with error status \(Refused: MoveDestinationUnknown\)$/m,
        );
        assert.match(
          unknown.stderr,
          /^E: the archive does not know the move destination 'NOBODY' \(0xA801 .*\): ask its administrator to add AE title 'NOBODY'/m,
        );
        const theirs = await runCommand("movescu", ["-aem", "NOBODY", ...base]);
        assert.equal(theirs.code, 69, "DCMTK's movescu exits 69 as well");

        const notListening = await runTool("movescu", ["-aem", "SILENT", ...base]);
        assert.equal(notListening.code, 69, show(notListening));
        assert.match(notListening.stderr, /^E: 1 sub-operation of 1 failed to 'SILENT' \(0xA702 /m);
        assert.match(notListening.stderr, /check that 'SILENT' is running/);

        const noPort = await runTool("movescu", base);
        assert.equal(noPort.code, 69, show(noPort));
        const odWithoutPort = await runTool("movescu", ["-od", dir, ...base]);
        assert.equal(odWithoutPort.code, 1, show(odWithoutPort));
        assert.match(odWithoutPort.stderr, /--output-directory only allowed with --port/);
        assert.match(
          noPort.stderr,
          /^E: the destination 'MOVESCU' is this movescu, which was not listening .*give --port/m,
        );

        // Listening, but not where the archive connects: it cannot come back.
        const wrongPort = freePort();
        const json = await runTool("movescu", [
          "--json",
          "+P",
          String(wrongPort),
          "-od",
          dir,
          ...base,
        ]);
        assert.equal(json.code, 69, show(json));
        assert.match(
          json.stderr,
          new RegExp(
            `^E: the archive knows 'MOVESCU' but could not connect back to it .*no association ` +
              `reached our port ${wrongPort}\\): check the host and port it has registered for ` +
              `'MOVESCU' \\(they must be host 127\\.0\\.0\\.1, port ${wrongPort}\\)`,
            "m",
          ),
        );
        const summary = jsonLines(json.stdout).at(-1)!;
        assert.equal(summary.outcome, "retrieve-failed");
        assert.equal(summary.exitCode, 69);
        assert.equal(summary.finalStatus, 0xa702);
        assert.equal(summary.failed, 1);
        assert.match(String(summary.diagnosis), /could not connect back/);
        assert.equal((summary.failedSopInstanceUids as string[]).length, 1);
        assert.deepEqual(
          await listDir(dir, false).then((l) => l.filter((n) => !n.endsWith(".dcm"))),
          [],
        );
      });
    }),
});

Deno.test({
  name: "movescu --check: one verdict per step; exit 82 when the archive cannot move to us",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withTempDir("movescu", async (dir) => {
      const files = await images(dir);
      const registered = freePort();
      await Deno.mkdir(`${dir}/od`);
      await withDcmqrscp(
        { destinations: [{ aeTitle: "MOVESCU", port: registered }] },
        async (scp) => {
          await scp.index("COMMON", files.b);
          const peer = ["-S", "-aec", "COMMON", "-od", `${dir}/od`, HOST, String(scp.port)];
          const pass = await runTool("movescu", ["--check", "+P", String(registered), ...peer]);
          assert.equal(pass.code, 0, show(pass));
          const verdicts = pass.stdout.trimEnd().split("\n");
          assert.equal(verdicts.length, 3, pass.stdout);
          assert.match(
            verdicts[0],
            /^movescu --check: C-ECHO PASS {2}COMMON@127\.0\.0\.1:\d+ answered Success$/,
          );
          assert.match(
            verdicts[1],
            new RegExp(`^movescu --check: C-FIND PASS {2}study ${STUDY_B} `),
          );
          assert.match(
            verdicts[2],
            new RegExp(
              `^movescu --check: C-MOVE PASS {2}study ${STUDY_B} to MOVESCU: Success, 1 completed, 0 failed; 1 instance received on port ${registered}$`,
            ),
          );
          assert.equal((await listDir(`${dir}/od`)).length, 1);

          const wrong = freePort();
          const fail = await runTool("movescu", [
            "--check",
            "--json",
            "+P",
            String(wrong),
            ...peer,
          ]);
          assert.equal(fail.code, 82, show(fail));
          const lines = jsonLines(fail.stdout);
          assert.deepEqual(
            lines.filter((l) => l.type === "check").map((l) => [l.step, l.verdict]),
            [["C-ECHO", "pass"], ["C-FIND", "pass"], ["C-MOVE", "fail"]],
          );
          assert.match(String(lines[2].diagnosis), /could not connect back/);
          assert.equal(lines.at(-1)!.exitCode, 82);

          const needsPort = await runTool("movescu", ["--check", ...peer]);
          assert.equal(needsPort.code, 1, show(needsPort));
          assert.match(needsPort.stderr, /^movescu: --check needs --port/m);
        },
      );
      await withDcmqrscp({}, async (scp) => {
        const empty = await runTool("movescu", [
          "--check",
          "+P",
          String(freePort()),
          "-S",
          "-aec",
          "COMMON",
          HOST,
          String(scp.port),
        ]);
        assert.equal(empty.code, 81, show(empty));
        assert.match(empty.stdout, /^movescu --check: C-FIND FAIL {2}no study matched/m);
        assert.match(empty.stdout, /^movescu --check: C-MOVE SKIP {2}no study to move$/m);
      });
    }),
});
