/**
 * movescu's and getscu's exit codes: --help ends with them; each situation
 * of testing/retrieve_exit_scenarios.ts gives our documented code, and
 * DCMTK 3.6.7's tool in the same situation the code the README's DCMTK
 * column says (measured again here, so the column cannot drift).
 */
import assert from "node:assert/strict";
import { GETSCU_SPEC } from "../../lib/cli/getscu/main.ts";
import { MOVESCU_SPEC } from "../../lib/cli/movescu/main.ts";
import {
  playRetrieveScenario,
  RETRIEVE_EXIT_SCENARIOS,
} from "../../testing/retrieve_exit_scenarios.ts";
import { dcmtkAvailable, repoPath, runCommand, runTool, show } from "../../testing/procs.ts";

const HAVE_DCMTK = dcmtkAvailable(["movescu", "getscu"]);

/** The rows of the README's exit code table of `tool`: code -> DCMTK 3.6.7 cell. */
async function readmeTable(tool: string): Promise<Map<string, string>> {
  const readme = await Deno.readTextFile(repoPath("README.md"));
  const at = readme.indexOf(`<!-- exit codes: ${tool} -->`);
  assert.ok(at >= 0, `README marks ${tool}'s exit code table`);
  const rows = new Map<string, string>();
  for (const line of readme.slice(at).split("\n").slice(1)) {
    if (!line.startsWith("|")) {
      if (rows.size) break;
      continue;
    }
    const cells = line.split("|").slice(1, -1).map((c) => c.trim().replaceAll("`", ""));
    if (/^-+$/.test(cells[0]) || cells[0] === "code") continue;
    rows.set(cells[0], cells[2]);
  }
  return rows;
}

for (const spec of [MOVESCU_SPEC, GETSCU_SPEC]) {
  const tool = spec.tool as "movescu" | "getscu";
  Deno.test(`${tool}: --help ends with its exit codes`, async () => {
    const r = await runTool(tool, ["--help"]);
    assert.equal(r.code, 0, show(r));
    const tail = r.stdout.slice(r.stdout.lastIndexOf("\nexit codes:\n") + 1);
    for (const c of spec.exitCodes!) {
      assert.ok(tail.includes(`  ${c.code} `), `${tool} --help lists ${c.code}`);
    }
    assert.ok(tail.split("\n").every((l) => l.length <= 79), tail);
  });

  Deno.test(`${tool}: each situation's exit code, ours as documented, DCMTK 3.6.7's as the README says`, async () => {
    const table = await readmeTable(tool);
    for (const s of RETRIEVE_EXIT_SCENARIOS.filter((x) => x.tool === tool)) {
      const ours = await playRetrieveScenario(s, async (a) => (await runTool(tool, a)).code);
      assert.equal(ours, s.ours, `${tool}, ${s.name}`);
      assert.ok(spec.exitCodes!.some((c) => c.code === String(s.ours)), `--help lists ${s.ours}`);
      assert.ok(table.has(String(s.ours)), `README row ${s.ours} for ${s.name}`);
      assert.match(
        table.get(String(s.ours))!,
        new RegExp(`(^|[^0-9])${s.dcmtk}([^0-9]|$)`),
        `README's DCMTK cell for ${s.ours} holds ${s.dcmtk} (${s.name})`,
      );
      if (!HAVE_DCMTK) continue;
      const theirs = await playRetrieveScenario(s, async (a) => (await runCommand(tool, a)).code);
      assert.equal(theirs, s.dcmtk, `DCMTK ${tool}, ${s.name}`);
    }
  });
}
