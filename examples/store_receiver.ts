/**
 * A receiver that counts and stores files (Ctrl+C to stop).
 *
 *   deno run --allow-net --allow-read=DIR --allow-write=DIR examples/store_receiver.ts [PORT [DIR]]
 *
 * @module
 */
import { fileStore, serve, storage, verification } from "@dimse-deno/dimse";
const [port, dir] = [Number(Deno.args[0] ?? 11112), Deno.args[1] ?? "incoming"];
let count = 0;
const store = fileStore({ dir, onStored: (path) => console.log(`${++count}: ${path}`) });
const server = await serve({
  aeTitle: "STORESCP",
  port,
  services: [verification(), storage({ store })],
});
console.log(`listening on ${server.local.port}`);
Deno.addSignalListener("SIGINT", () => server.stop());
await server.done;
console.log(`stored ${count} files`);
