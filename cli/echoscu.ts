/**
 * echoscu: DICOM verification (C-ECHO) SCU, after DCMTK's echoscu(1). A thin entry point: the
 * engine (options, log lines, exit codes, JSON) is lib/cli/echoscu/.
 *
 * @module
 */
import { main } from "../lib/cli/echoscu/main.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
