/**
 * Our storescu --parallel into DCMTK's storescp --fork (a child process per
 * association): every file arrives once, whichever association carried it,
 * and with +II the invented SOP Instance UIDs are all distinct.
 */
import assert from "node:assert/strict";
import { newUid } from "../../lib/util/uid.ts";
import { writeImageFile } from "../../testing/dicom_files.ts";
import { dcmtkAvailable, runTool, show, startStorescp } from "../../testing/procs.ts";
import { listDir, withTempDir } from "../../testing/temp_files.ts";

const HAVE_DCMTK = dcmtkAvailable(["storescp"]);
const HOST = "127.0.0.1";

/** The SOP Instance UIDs of the files DCMTK's storescp wrote (named `MR.<uid>`). */
async function receivedUids(od: string): Promise<string[]> {
  return (await listDir(od)).map((name) => name.replace(/^.*?MR\./, "")).sort();
}

Deno.test({
  name: "storescu --parallel 4 into DCMTK storescp --fork: every file once; +II UIDs distinct",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withTempDir("dimse-storescu-parallel-dcmtk-", async (dir) => {
      const uids: string[] = [];
      const files: string[] = [];
      for (let i = 0; i < 16; i++) {
        uids.push(newUid());
        files.push(`${dir}/f${i}.dcm`);
        await writeImageFile(files[i], { rows: 32, cols: 32, sopInstanceUid: uids[i] });
      }
      for (const invent of [false, true]) {
        const od = `${dir}/od-${invent}`;
        await Deno.mkdir(od);
        const { proc, port } = await startStorescp(["--fork", "-od", od]);
        try {
          const out = await runTool("storescu", [
            "--parallel",
            "4",
            ...(invent ? ["+II"] : []),
            "--json",
            HOST,
            String(port),
            ...files,
          ]);
          assert.equal(out.code, 0, show(out));
          const stores = out.stdout.split("\n").filter((l) => l.startsWith("{"))
            .map((l) => JSON.parse(l)).filter((e) => e.type === "store");
          const sent = stores.map((s) => s.sopInstanceUid as string).sort();
          assert.equal(new Set(sent).size, 16);
          if (!invent) assert.deepEqual(sent, [...uids].sort());
          assert.ok(new Set(stores.map((s) => s.association)).size >= 2);
          // storescp --fork's children write on their own time: wait (bounded) for all 16.
          for (let i = 0; i < 100 && (await listDir(od)).length < 16; i++) {
            await new Promise((r) => setTimeout(r, 50));
          }
          assert.deepEqual(await receivedUids(od), sent);
        } finally {
          await proc.stop();
        }
      }
    }),
});
