/**
 * echoscp: DICOM verification (C-ECHO) SCP, after pynetdicom's echoscp. A thin entry point: the
 * engine (options, log lines, exit codes, JSON) is lib/cli/echoscp/.
 *
 * @module
 */
import { main } from "../lib/cli/echoscp/main.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
