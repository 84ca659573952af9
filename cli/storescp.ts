/**
 * storescp: DICOM storage (C-STORE) SCP, after DCMTK's storescp. A thin entry point: the
 * engine (options, log lines, exit codes, JSON) is lib/cli/storescp/.
 *
 * @module
 */
import { main } from "../lib/cli/storescp/main.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
