/**
 * The asynchronous operations window (PS3.7 D.3.3.3) against DCMTK, which
 * never grants one: our storescu --async into DCMTK's storescp is answered
 * without the sub-item and sends one store at a time; DCMTK's storescu into
 * our storescp --async proposes none and is served as before.
 */
import assert from "node:assert/strict";
import { newUid } from "../../lib/util/uid.ts";
import { readPart10, writeImageFile } from "../../testing/dicom_files.ts";
import {
  dcmtkAvailable,
  runCommand,
  runTool,
  show,
  startStorescp,
  withTool,
} from "../../testing/procs.ts";
import { listDir, withTempDir } from "../../testing/temp_files.ts";

const HAVE_DCMTK = dcmtkAvailable(["storescu", "storescp"]);
const HOST = "127.0.0.1";

async function images(dir: string, n: number): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    files.push(`${dir}/f${i}.dcm`);
    await writeImageFile(files[i], { rows: 16, cols: 16, sopInstanceUid: newUid() });
  }
  return files;
}

/** The A-ASSOCIATE-RQ's bytes as DCMTK's storescp -d dumps them, as one hex string. */
function rqBytes(log: string): string {
  const lines = log.split("\n");
  const start = lines.findIndex((l) => l.startsWith("D: PDU Type: Associate Request"));
  const hex: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (/^D: Only dumping/.test(l)) continue;
    if (!/^D:(\s+[0-9a-f]{2})+$/.test(l)) break;
    hex.push(...l.slice(2).trim().split(/\s+/));
  }
  return hex.join("");
}

Deno.test({
  name:
    "storescu --async 8 into DCMTK's storescp: no window granted, one store at a time, all stored",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withTempDir("dimse-async-dcmtk-", async (dir) => {
      const files = await images(dir, 5);
      await Deno.mkdir(`${dir}/in`);
      const { proc, port } = await startStorescp(["-d", "-od", `${dir}/in`]);
      try {
        // -R: a small A-ASSOCIATE-RQ, which DCMTK dumps whole (it dumps 512 bytes at most).
        const r = await runTool("storescu", [
          "-d",
          "-R",
          "--async",
          "8",
          HOST,
          String(port),
          ...files,
        ]);
        assert.equal(r.code, 0, show(r));
        assert.match(
          r.stderr,
          /^I: Asynchronous Operations Window: proposed 8, not granted by the peer: one operation at a time$/m,
        );
        // Each request waited for the response before it (a window of one).
        const order = r.stderr.split("\n").filter((l) =>
          /^I: (Sending Store Request|Received Store Response)/.test(l)
        ).map((l) => l.startsWith("I: Sending") ? "rq" : "rsp");
        assert.deepEqual(order, files.flatMap(() => ["rq", "rsp"]));
      } finally {
        await proc.stop();
      }
      // DCMTK got the sub-item (in the bytes of its -d dump) and answered without it.
      assert.ok(rqBytes(proc.stderr).includes("5300000400080001"), proc.stderr);
      assert.doesNotMatch(proc.stderr, /Association Acknowledged[^]*53 +00 +00 +04/);
      // Every instance arrived (the round trip element by element: storescu_dcmtk.test.ts).
      const names = (await listDir(`${dir}/in`)).map((p) => p.split("/").pop()).sort();
      const uids = [];
      for (const f of files) {
        uids.push(`MR.${(await readPart10(f)).meta.mediaStorageSopInstanceUid}`);
      }
      assert.deepEqual(names, uids.sort());
    }),
});

Deno.test({
  name: "DCMTK's storescu into storescp --async 8: nothing proposed, nothing granted, all stored",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withTempDir("dimse-async-dcmtk-", async (dir) => {
      const files = await images(dir, 3);
      await Deno.mkdir(`${dir}/out`);
      const server = await withTool(
        "storescp",
        ["-v", "--async", "8", "-od", `${dir}/out`],
        async (port) => {
          const r = await runCommand("storescu", ["-v", HOST, String(port), ...files]);
          assert.equal(r.code, 0, show(r));
        },
      );
      assert.doesNotMatch(server.stderr, /Asynchronous Operations Window/);
      assert.equal((await listDir(`${dir}/out`)).length, 3);
    }),
});
