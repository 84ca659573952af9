/**
 * The bench's command line (scripts/bench_options.ts): `--settle`, the
 * pause before each run to disk, defaults to 5 s, to none with `--quick`,
 * and takes only a whole number.
 */
import assert from "node:assert/strict";
import { parseBenchOptions } from "../../scripts/bench_options.ts";

Deno.test("bench options: --settle defaults to 5000 ms, 0 with --quick, else as given", () => {
  assert.equal(parseBenchOptions([]).settleMs, 5000);
  assert.equal(parseBenchOptions(["--quick"]).settleMs, 0);
  assert.equal(parseBenchOptions(["--quick", "--settle", "250"]).settleMs, 250);
  assert.equal(parseBenchOptions(["--settle", "0"]).settleMs, 0);
});

Deno.test("bench options: --settle refuses what is not a whole number", () => {
  assert.throws(() => parseBenchOptions(["--settle", "-1"]), /--settle takes a whole number/);
  assert.throws(() => parseBenchOptions(["--settle", "2s"]), /--settle takes a whole number/);
  assert.throws(() => parseBenchOptions(["--settle"]), /--settle needs a value/);
});
