/**
 * The architecture check (testing/check_layers.ts, run by `deno task check`): the repository passes it, and each rule fires on a file that
 * breaks it.
 */
import assert from "node:assert/strict";
import { check, collect } from "../../testing/check_layers.ts";
import { repoPath } from "../../testing/procs.ts";

const problems = (files: Record<string, string>) =>
  check(new Map(Object.entries(files))).map((f) => `${f.file}: ${f.problem}`);

Deno.test("the repository: imports point one way, no folder cycle, no tool flag below lib/cli", () => {
  assert.deepEqual(check(collect(repoPath(""))), []);
});

Deno.test("an upward import, a folder cycle, a flag, tool wording and an exit code are each found", () => {
  assert.deepEqual(problems({ "lib/pdu/x.ts": 'import { a } from "../ae/y.ts";' }), [
    "lib/pdu/x.ts: imports lib/ae/y.ts: lib/pdu may not import lib/ae",
  ]);
  const cycle = problems({
    "testing/a.ts": 'import { b } from "../tests/b.ts";',
    "tests/b.ts": 'import { a } from "../testing/a.ts";',
  });
  assert.ok(cycle.some((p) => /testing may not import tests/.test(p)), cycle.join("\n"));
  assert.ok(
    cycle.some((p) =>
      /folder cycle: (testing -> tests -> testing|tests -> testing -> tests)/.test(p)
    ),
  );
  assert.deepEqual(problems({ "lib/ae/x.ts": 'const s = "use -aet to set it";' }), [
    'lib/ae/x.ts: names a tool flag (-aet) in "use -aet to set it"',
  ]);
  assert.deepEqual(
    problems({ "lib/ul/x.ts": "// DCMTK's -aet, in a comment, is fine\nconst n = 1;" }),
    [],
  );
  assert.deepEqual(problems({ "lib/ae/x.ts": 'log.info("Association Acknowledged");' }), [
    'lib/ae/x.ts: has a tool\'s log wording: "Association Acknowledged"',
  ]);
  // An error or verdict that advises an option, or is worded as a tool prints it.
  assert.deepEqual(
    problems({ "lib/transport/x.ts": 'const s = "not trusted (add it with +cf)";' }),
    ['lib/transport/x.ts: names a tool flag (+cf) in "not trusted (add it with +cf)"'],
  );
  assert.deepEqual(
    problems({ "lib/transport/x.ts": "const s = `Verification of certificate '${p}' passed.`;" }),
    ["lib/transport/x.ts: has a tool's log wording: \"Verification of certificate ' ' passed.\""],
  );
  assert.deepEqual(problems({ "lib/dimse/x.ts": "Deno.exit(3);" }), [
    "lib/dimse/x.ts: deals in exit codes (Deno.exit)",
  ]);
  assert.deepEqual(problems({ "lib/util/x.ts": 'const s = "run deno with --allow-net";' }), []);
});

Deno.test("a test that returns early when DCMTK is missing is found (it must use ignore:)", () => {
  assert.deepEqual(
    problems({
      "tests/x.test.ts": 'Deno.test("t", () => {\n  if (!dcmtkAvailable' + "()) return;\n});",
    }),
    ["tests/x.test.ts: returns early when DCMTK is missing: use ignore:"],
  );
  assert.deepEqual(
    problems({ "tests/x.test.ts": 'Deno.test({ name: "t", ignore: !HAVE_DCMTK }, () => {});' }),
    [],
  );
});
