/**
 * storescu: DICOM storage (C-STORE) SCU, after DCMTK's storescu(1). A thin entry point: the
 * engine (options, log lines, exit codes, JSON) is lib/cli/storescu/.
 *
 * @module
 */
import { main } from "../lib/cli/storescu/main.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
