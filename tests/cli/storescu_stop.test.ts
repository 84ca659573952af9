/**
 * storescu stopped by a signal, and inputs that are no regular files
 * (issue 11 items 6 and 7): SIGINT or SIGTERM lets the store under way
 * finish, releases the association, and still prints the summary line and
 * a --json record per planned store (`not-sent` for the rest), exit 130 or
 * 143; a second signal aborts at once. A FIFO, named or found by +sd, is
 * reported with one line and skipped without being opened; the other files
 * are delivered.
 */
import assert from "node:assert/strict";
import { startFakeScp } from "../../testing/fake_scp.ts";
import { writeImageFile } from "../../testing/dicom_files.ts";
import { Background, runCommand, runTool, show, toolArgv, withTool } from "../../testing/procs.ts";
import { withTempDir } from "../../testing/temp_files.ts";

const HOST = "127.0.0.1";
const FILES = 20;

async function images(dir: string, n: number): Promise<string[]> {
  const files = [];
  for (let i = 0; i < n; i++) {
    const f = `${dir}/f${String(i).padStart(2, "0")}.dcm`;
    await writeImageFile(f, { rows: 4, cols: 4, sopInstanceUid: `1.2.3.11.6.${i + 1}` });
    files.push(f);
  }
  return files;
}

/** The --json lines of a run. */
function records(stdout: string): Record<string, unknown>[] {
  return stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
}

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.test(`storescu, ${signal} mid-batch: the store under way finishes, summary and a record per file, exit ${code}`, () =>
    withTempDir("dimse_stop_", async (dir) => {
      const files = await images(dir, FILES);
      // Each response takes 300 ms: the signal comes while a store waits for its answer.
      const peer = startFakeScp({ kind: "answer", status: 0, delayMs: 300 });
      try {
        const proc = new Background(Deno.execPath(), [
          ...toolArgv("storescu"),
          "--json",
          HOST,
          String(peer.port),
          ...files,
        ]);
        await proc.waitFor((b) => b.stdout.includes(`"outcome":"success"`), 20_000);
        const status = await proc.stop(signal);
        assert.equal(status.code, code, `${proc.stdout}\n${proc.stderr}`);
        const recs = records(proc.stdout);
        const summary = recs.pop()!;
        assert.equal(recs.length, FILES, "one record per planned store");
        const outcomes = recs.map((r) => r.outcome);
        const done = outcomes.filter((o) => o === "success").length;
        assert.ok(done >= 2 && done < FILES, outcomes.join(","));
        // Stored ones first, then the rest not sent; none failed, none cut off.
        assert.deepEqual(outcomes, [
          ...Array(done).fill("success"),
          ...Array(FILES - done).fill("not-sent"),
        ]);
        assert.equal(recs.at(-1)!.diagnosis, "not sent: interrupted");
        assert.equal(summary.outcome, "interrupted");
        assert.equal(summary.exitCode, code);
        assert.equal(summary.notSent, FILES - done);
        assert.match(
          proc.stderr,
          new RegExp(`^W: ${signal} received: finishing the current file`, "m"),
        );
        assert.match(
          proc.stderr,
          new RegExp(
            `^storescu: ${FILES} files to .*: ${done} stored, 0 failed, ${
              FILES - done
            } not sent; .*interrupted \\(exit ${code}\\)$`,
            "m",
          ),
        );
        assert.doesNotMatch(proc.stderr, /Aborting Association/, "released, not aborted");
      } finally {
        await peer.close();
      }
    }));
}

Deno.test("storescu, a second SIGINT aborts the association at once", () =>
  withTempDir("dimse_stop_", async (dir) => {
    const files = await images(dir, 3);
    // The first response never comes in time: only the second signal ends the wait.
    const peer = startFakeScp({ kind: "answer", status: 0, delayMs: 30_000 });
    try {
      const proc = new Background(Deno.execPath(), [
        ...toolArgv("storescu"),
        "-v",
        "--json",
        HOST,
        String(peer.port),
        ...files,
      ]);
      await proc.waitFor((b) => /Sending Store Request/.test(b.stderr), 20_000);
      proc.kill("SIGINT");
      await proc.waitFor((b) => /SIGINT received/.test(b.stderr), 10_000);
      const t0 = performance.now();
      const status = await proc.stop("SIGINT");
      assert.ok(performance.now() - t0 < 10_000, "no wait for the 30 s answer");
      assert.equal(status.code, 130, proc.stderr);
      assert.match(proc.stderr, /^W: SIGINT again: aborting the association$/m);
      const recs = records(proc.stdout);
      assert.equal(recs.pop()!.outcome, "interrupted");
      assert.deepEqual(recs.map((r) => r.outcome), ["failed", "not-sent", "not-sent"]);
    } finally {
      await peer.close();
    }
  }));

Deno.test({
  name: "storescu, a FIFO named or found by +sd: one line, skipped unopened, the rest delivered",
  ignore: Deno.build.os === "windows",
  fn: () =>
    withTempDir("dimse_fifo_", async (dir) => {
      await Deno.mkdir(`${dir}/in`);
      const [good] = await images(`${dir}/in`, 1);
      const fifo = `${dir}/in/pipe.dcm`;
      const made = await runCommand("mkfifo", [fifo]);
      assert.equal(made.code, 0, show(made));
      await Deno.mkdir(`${dir}/od`);
      await withTool("storescp", ["-od", `${dir}/od`], async (port) => {
        for (const args of [[fifo, good], ["+sd", `${dir}/in`]]) {
          const r = await runTool("storescu", ["--json", HOST, String(port), ...args], 20_000);
          assert.equal(r.code, 0, show(r));
          const warned = r.stderr.split("\n").filter((l) => l.includes("pipe.dcm"));
          assert.deepEqual(warned, [
            `W: ignoring ${fifo}: not a regular file (a FIFO, device or socket)`,
          ]);
          const recs = records(r.stdout);
          assert.deepEqual(recs.map((x) => [x.type, x.outcome]), [
            ["store", "success"],
            ["summary", "success"],
          ]);
        }
      });
      assert.equal((await Deno.readDir(`${dir}/od`)[Symbol.asyncIterator]().next()).done, false);
    }),
});
