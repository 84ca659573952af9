/**
 * Measures the exit codes of DCMTK's echoscu, storescu, findscu, movescu
 * and getscu (whatever version is on PATH) and of ours in every situation
 * of testing/exit_scenarios.ts and testing/retrieve_exit_scenarios.ts, and
 * prints them as a table: the source of the README's DCMTK columns.
 *
 *   deno run -A scripts/dcmtk_exit_codes.ts
 *
 * @module
 */
import { EXIT_SCENARIOS, playScenario } from "../testing/exit_scenarios.ts";
import {
  playRetrieveScenario,
  RETRIEVE_EXIT_SCENARIOS,
} from "../testing/retrieve_exit_scenarios.ts";
import { runCommand, runTool } from "../testing/procs.ts";
import { writeImageFile } from "../testing/dicom_files.ts";

const version = (await runCommand("echoscu", ["--version"])).stdout.split("\n")[0];
console.log(`DCMTK: ${version}`);
const dir = await Deno.makeTempDir({ prefix: "dimse_exit_codes_" });
try {
  const file = `${dir}/a.dcm`;
  await writeImageFile(file, { rows: 4, cols: 4 });
  console.log("| tool | situation | ours | DCMTK (measured) | DCMTK (table) |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const s of EXIT_SCENARIOS) {
    const theirs = await playScenario(s, file, async (a) => (await runCommand(s.tool, a)).code);
    const ours = await playScenario(s, file, async (a) => (await runTool(s.tool, a)).code);
    console.log(`| ${s.tool} | ${s.name} | ${ours} | ${theirs} | ${s.dcmtk} |`);
  }
  for (const s of RETRIEVE_EXIT_SCENARIOS) {
    const theirs = await playRetrieveScenario(s, async (a) => (await runCommand(s.tool, a)).code);
    const ours = await playRetrieveScenario(s, async (a) => (await runTool(s.tool, a)).code);
    console.log(`| ${s.tool} | ${s.name} | ${ours} | ${theirs} | ${s.dcmtk} |`);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
