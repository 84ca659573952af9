/**
 * Send every DICOM file of a folder on one association, each in its own
 * transfer syntax, and say how each store went.
 *
 *   deno run --allow-net --allow-read examples/send_folder.ts STORESCP@127.0.0.1:11112 DIR
 *
 * @module
 */
import { associate, storageContextsFor } from "@dimse-deno/dimse";

const [address, dir] = Deno.args;
const files = [...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) => `${dir}/${e.name}`)
  .sort();
await using assoc = await associate(address, {
  callingAeTitle: "SENDER",
  contexts: await storageContextsFor(files),
});
let failed = 0;
for (const file of files) {
  const { status } = await assoc.store(file);
  if (status !== 0) failed++;
  console.log(`${file}: status 0x${status.toString(16).padStart(4, "0")}`);
}
console.log(`sent ${files.length} files, ${failed} failed`);
