/**
 * findscu: DICOM query (C-FIND) SCU, after DCMTK's findscu(1). A thin entry point: the
 * engine (options, log lines, exit codes, JSON) is lib/cli/findscu/.
 *
 * @module
 */
import { main } from "../lib/cli/findscu/main.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
