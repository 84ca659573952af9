/**
 * A receiver with a handler of its own: it reads each data set as it
 * arrives (never whole), counts its bytes, and refuses any SOP class but
 * CT Image Storage with the status PS3.4 gives for that.
 *
 *   deno run --allow-net examples/custom_handler.ts PORT
 *
 * @module
 */
import { DimseError, serve, storage, STORE_STATUS, verification } from "@dimse-deno/dimse";

const CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2";
const server = await serve({
  aeTitle: "COUNTER",
  port: Number(Deno.args[0] ?? 11112),
  services: [
    verification(),
    storage({
      store: async ({ message, dataset, association }) => {
        if (message.affectedSopClassUid !== CT_IMAGE_STORAGE) {
          throw new DimseError(STORE_STATUS.sopClassNotSupported, "only CT here");
        }
        let bytes = 0;
        for await (const chunk of dataset) bytes += chunk.length;
        console.log(
          `${association.callingAeTitle}: ${message.affectedSopInstanceUid}, ${bytes} bytes`,
        );
      },
    }),
  ],
});
console.log(`listening on ${server.local.port}`);
Deno.addSignalListener("SIGINT", () => server.stop());
await server.done;
