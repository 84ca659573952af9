/**
 * movescu: DICOM retrieve (C-MOVE) SCU, after DCMTK's movescu(1). A thin entry point: the engine
 * (options, its storage SCP, log lines, exit codes, JSON, --check) is lib/cli/movescu/.
 *
 * @module
 */
import { main } from "../lib/cli/movescu/main.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
