/**
 * Echo from code: is the peer there, and does it speak DICOM?
 *
 *   deno run --allow-net examples/echo.ts ANY-SCP@127.0.0.1:104
 *
 * @module
 */
import { associate } from "@dimse-deno/dimse";
await using assoc = await associate(Deno.args[0] ?? "ANY-SCP@127.0.0.1:104");
console.log((await assoc.echo()).status === 0 ? "echo: success" : "echo: refused");
