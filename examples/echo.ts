/**
 * Echo from code: is the peer there, and does it speak DICOM?
 *
 *   deno run --allow-net examples/echo.ts ANY-SCP@127.0.0.1:104
 *
 * @module
 */
import { associate } from "../mod.ts";

await using assoc = await associate(Deno.args[0] ?? "ANY-SCP@127.0.0.1:104");
const rsp = await assoc.echo();
console.log(rsp.status === 0 ? "echo: success" : `echo: status 0x${rsp.status.toString(16)}`);
