/**
 * The bench's `--settle` option (scripts/bench_options.ts), through the
 * command line as users give it: listed by `--help`, and anything but a
 * whole number refused in one line with exit code 1 before any run.
 */
import assert from "node:assert/strict";
import { repoPath, runCommand, show } from "../../testing/procs.ts";

const bench = (args: string[]) =>
  runCommand(
    Deno.execPath(),
    ["run", "--allow-all", repoPath("scripts/bench.ts"), ...args],
    60_000,
  );

Deno.test("bench --help lists --settle", async () => {
  const r = await bench(["--help"]);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^ {2}--settle MS +pause after sync before each files and big run/m);
});

Deno.test("bench --settle refuses what is not a whole number", async () => {
  for (const [value, error] of [["-1", "takes a whole number"], ["2s", "takes a whole number"]]) {
    const r = await bench(["--settle", value]);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, new RegExp(`^bench: --settle ${error} >= 0, not ${value} `), show(r));
  }
  const r = await bench(["--settle"]);
  assert.equal(r.code, 1, show(r));
  assert.match(r.stderr, /^bench: --settle needs a value /, show(r));
});
