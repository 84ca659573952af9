/**
 * Exit codes (issue 16 item 8): each tool's --help ends with its codes;
 * each situation of testing/exit_scenarios.ts gives our documented
 * code, and DCMTK 3.6.7's tool, in the same situation, the code the
 * README's DCMTK column says (measured here again, so the column cannot
 * drift from what DCMTK does).
 */
import assert from "node:assert/strict";
import { ECHOSCP_SPEC } from "../../lib/cli/echoscp/main.ts";
import { ECHOSCU_SPEC } from "../../lib/cli/echoscu/main.ts";
import { STORESCP_SPEC } from "../../lib/cli/storescp/main.ts";
import { STORESCU_SPEC } from "../../lib/cli/storescu/main.ts";
import { FINDSCU_SPEC } from "../../lib/cli/findscu/main.ts";
import { EXIT_SCENARIOS, playScenario } from "../../testing/exit_scenarios.ts";
import { dcmtkAvailable, repoPath, runCommand, runTool, show } from "../../testing/procs.ts";
import { writeImageFile } from "../../testing/dicom_files.ts";
import { withTempDir } from "../../testing/temp_files.ts";

const HAVE_DCMTK = dcmtkAvailable();
const SPECS = [ECHOSCU_SPEC, STORESCU_SPEC, ECHOSCP_SPEC, STORESCP_SPEC, FINDSCU_SPEC];

Deno.test("--help of every tool ends with its exit codes", async () => {
  for (const spec of SPECS) {
    const r = await runTool(spec.tool, ["--help"]);
    assert.equal(r.code, 0, show(r));
    const tail = r.stdout.slice(r.stdout.lastIndexOf("\nexit codes:\n") + 1);
    assert.ok(tail.startsWith("exit codes:\n"), `${spec.tool}:\n${r.stdout}`);
    // One entry per code, its meaning wrapped to 79 columns under itself.
    const entries: string[] = [];
    for (const l of tail.split("\n").slice(1).filter((x) => x !== "")) {
      if (/^ {2}\S/.test(l)) entries.push(l.trim());
      else entries.push(`${entries.pop()} ${l.trim()}`);
    }
    assert.equal(entries.length, spec.exitCodes!.length);
    for (const [i, c] of spec.exitCodes!.entries()) {
      assert.ok(entries[i].startsWith(c.code) && entries[i].endsWith(c.meaning), entries[i]);
    }
    assert.ok(tail.split("\n").every((l) => l.length <= 79), tail);
    for (const code of ["0", "1", "2", "99"]) {
      assert.ok(spec.exitCodes!.some((c) => c.code === code), `${spec.tool} lists ${code}`);
    }
  }
});

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

for (const tool of ["echoscu", "storescu", "findscu"] as const) {
  Deno.test(`${tool}: each situation's exit code, ours as documented, DCMTK 3.6.7's as the README says`, () =>
    withTempDir("dimse_exit_", async (dir) => {
      const file = `${dir}/a.dcm`;
      await writeImageFile(file, { rows: 4, cols: 4 });
      const table = await readmeTable(tool);
      const spec = { echoscu: ECHOSCU_SPEC, storescu: STORESCU_SPEC, findscu: FINDSCU_SPEC }[tool];
      for (const s of EXIT_SCENARIOS.filter((x) => x.tool === tool)) {
        const ours = await playScenario(s, file, async (a) => (await runTool(tool, a)).code);
        assert.equal(ours, s.ours, `${tool}, ${s.name}`);
        const documented = spec.exitCodes!.some((c) =>
          c.code === String(s.ours) || (c.code === "status >> 8" && s.ours > 99)
        );
        assert.ok(documented, `${tool} --help lists ${s.ours} (${s.name})`);
        const row = s.ours > 99 ? "status >> 8" : String(s.ours);
        assert.ok(table.has(row), `README row ${row} for ${s.name}`);
        assert.match(
          table.get(row)!,
          new RegExp(`(^|[^0-9])${s.dcmtk}([^0-9]|$)`),
          `README's DCMTK cell for ${row} holds ${s.dcmtk} (${s.name})`,
        );
        if (!HAVE_DCMTK || (tool === "findscu" && !dcmtkAvailable(["findscu"]))) continue;
        const theirs = await playScenario(s, file, async (a) => (await runCommand(tool, a)).code);
        assert.equal(theirs, s.dcmtk, `DCMTK ${tool}, ${s.name}`);
      }
    }));
}
