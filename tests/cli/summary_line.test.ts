/**
 * One human summary line at the end of every client run (issue 16 item 7):
 * on stderr at the default level, also when stderr is a pipe; -q silences
 * it. echoscu's reads like ping's (the round trip; with --repeat min/avg/max
 * and how many were lost), storescu's counts files stored, failed and not
 * sent, with bytes, time and speed.
 */
import assert from "node:assert/strict";
import { writeImageFile } from "../../testing/dicom_files.ts";
import { freePort, runTool, show, withTool } from "../../testing/procs.ts";
import { withTempDir } from "../../testing/temp_files.ts";

const HOST = "127.0.0.1";

Deno.test("echoscu and storescu, piped: one summary line at the default level, none with -q", () =>
  withTempDir("dimse_summary_", async (dir) => {
    await writeImageFile(`${dir}/a.dcm`, { rows: 8, cols: 8, sopInstanceUid: "1.2.3.16.7.1" });
    await writeImageFile(`${dir}/b.dcm`, { rows: 8, cols: 8, sopInstanceUid: "1.2.3.16.7.2" });
    await Deno.mkdir(`${dir}/od`);
    await withTool("storescp", ["-od", `${dir}/od`], async (port) => {
      const to = `ANY-SCP@${HOST}:${port}`;
      const one = await runTool("echoscu", [HOST, String(port)]);
      assert.equal(one.code, 0, show(one));
      assert.match(
        one.stderr,
        new RegExp(`^echoscu: C-ECHO to ${to}: Success, round trip \\d+\\.\\d{3} ms\\n$`),
      );
      const many = await runTool("echoscu", ["--repeat", "3", HOST, String(port)]);
      assert.match(
        many.stderr,
        new RegExp(
          `^echoscu: 3 C-ECHOs to ${to}: 3 answered with Success, 0 lost or failed; ` +
            "round trip min/avg/max \\d+\\.\\d{3}/\\d+\\.\\d{3}/\\d+\\.\\d{3} ms\\n$",
        ),
      );
      const store = await runTool("storescu", [HOST, String(port), `${dir}/a.dcm`, `${dir}/b.dcm`]);
      assert.equal(store.code, 0, show(store));
      assert.match(
        store.stderr,
        new RegExp(
          `^storescu: 2 files to ${to}: 2 stored, 0 failed, 0 not sent; \\d+(\\.\\d+)? kB in ` +
            "\\d+\\.\\d{3} s \\(\\d+\\.\\d MB/s\\)\\n$",
        ),
      );
      for (const [tool, args] of [["echoscu", []], ["storescu", [`${dir}/a.dcm`]]] as const) {
        const quiet = await runTool(tool, ["-q", HOST, String(port), ...args]);
        assert.equal(quiet.code, 0, show(quiet));
        assert.equal(quiet.stderr, "", `${tool} -q prints nothing`);
      }
    });
    // A failure: the line says what failed and the exit code.
    const port = freePort();
    const failed = await runTool("storescu", [HOST, String(port), `${dir}/a.dcm`]);
    assert.equal(failed.code, 60, show(failed));
    assert.match(
      failed.stderr.trimEnd().split("\n").at(-1)!,
      /^storescu: 1 file to .*: 0 stored, 0 failed, 1 not sent; .*; cannot connect \(exit 60\)$/,
    );
    const quiet = await runTool("storescu", ["-q", HOST, String(port), `${dir}/a.dcm`]);
    assert.equal(quiet.code, 60);
    // DCMTK's fatal line stays (as with DCMTK's -q); the summary goes.
    assert.doesNotMatch(quiet.stderr, /^storescu: /m, show(quiet));
  }));
