/**
 * getscu: DICOM retrieve (C-GET) SCU, after DCMTK's getscu(1). A thin entry point: the engine
 * (options, log lines, exit codes, JSON) is lib/cli/getscu/.
 *
 * @module
 */
import { main } from "../lib/cli/getscu/main.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
