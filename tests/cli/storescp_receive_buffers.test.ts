/**
 * storescp's receive path lends P-DATA-TF buffers from a pool (issue 15):
 * the store handler gives each fragment's buffer back once it is copied
 * into the .part file, and the upper layer reads the next PDUs into it.
 * Here every buffer given back is poisoned at once, so a fragment still
 * used after its release (written later, parsed later, queued) would reach
 * the file as poison. storescp in process (its real store handler, to
 * disk), our storescu sending files of very different sizes at 16 KiB and
 * 128 KiB PDUs, in one association and with an operations window, and an
 * association aborted in the middle of a data set before the next: every
 * stored data set must equal the one sent, byte for byte. The library's
 * serve() releases a chunk once its consumer asks for the next: the same
 * check through storage() with fileStore and with a handler of its own.
 */
import assert from "node:assert/strict";
import { fileStore, serve, storage } from "../../mod.ts";
import { inspectDicomFile } from "../../lib/dicom/part10.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import { poisonReleasedBuffers } from "../../lib/pdu/reader.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN } from "../../lib/dicom/uids.ts";
import {
  associated,
  commandPdv,
  cStoreRq,
  dataPdv,
  MR,
  pdata,
  type ScpUnderTest,
  until,
  withScp,
} from "../../testing/bad_peer.ts";
import { writeImageFile } from "../../testing/dicom_files.ts";
import { runTool, show } from "../../testing/procs.ts";
import { withTempDir } from "../../testing/temp_files.ts";

/** Frames per file (128 x 128, 16 bits): 32 KiB to 2.2 MiB. */
const FRAMES = [1, 12, 3, 40, 2, 70, 1, 9, 30, 5];

/** Writes the files; their data sets by SOP instance UID. */
async function writeFiles(dir: string, tag: number): Promise<Map<string, Uint8Array>> {
  const sent = new Map<string, Uint8Array>();
  for (const [i, frames] of FRAMES.entries()) {
    const path = `${dir}/f${i}.dcm`;
    const sopInstanceUid = `1.2.826.0.1.3680043.2.1143.${tag}.${i + 1}`;
    await writeImageFile(path, { rows: 128, cols: 128, frames, sopInstanceUid });
    const info = await inspectDicomFile(path, "file-only");
    sent.set(sopInstanceUid, (await Deno.readFile(path)).subarray(info.datasetOffset));
  }
  return sent;
}

/** Every stored file's data set by SOP instance UID (no .part file may be left). */
async function stored(scp: ScpUnderTest): Promise<Map<string, Uint8Array>> {
  const got = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(scp.od)) {
    assert.ok(!e.name.endsWith(".part"), `left behind: ${e.name}`);
    const path = `${scp.od}/${e.name}`;
    const info = await inspectDicomFile(path, "file-only");
    got.set(info.sopInstanceUid, (await Deno.readFile(path)).subarray(info.datasetOffset));
  }
  return got;
}

function assertSame(got: Map<string, Uint8Array>, sent: Map<string, Uint8Array>): void {
  assert.equal(got.size, sent.size, `stored ${[...got.keys()].join(", ")}`);
  for (const [uid, bytes] of sent) {
    const arrived = got.get(uid);
    assert.ok(arrived, `${uid} not stored`);
    assert.equal(arrived.length, bytes.length, `${uid}: length`);
    const at = arrived.findIndex((x, k) => x !== bytes[k]);
    assert.equal(at, -1, `${uid}: first difference at byte ${at} (0x${arrived[at]?.toString(16)})`);
  }
}

async function sendFiles(port: number, dir: string, args: string[]): Promise<void> {
  const files = FRAMES.map((_, i) => `${dir}/f${i}.dcm`);
  const r = await runTool("storescu", [...args, "127.0.0.1", String(port), ...files], 120_000);
  assert.equal(r.code, 0, show(r));
}

async function withPoison(fn: () => Promise<void>): Promise<void> {
  poisonReleasedBuffers(0xee);
  try {
    await fn();
  } finally {
    poisonReleasedBuffers(undefined);
  }
}

for (const maxPdu of [16384, 131072]) {
  for (const window of [undefined, 4]) {
    const mode = window ? `, --async ${window} on both sides` : "";
    Deno.test(`storescp to disk at ${maxPdu / 1024} KiB PDUs${mode}: fragments released to the pool arrive whole`, async () => {
      await withPoison(() =>
        withTempDir("dimse_receive_buffers_", async (dir) => {
          const sent = await writeFiles(dir, maxPdu + (window ?? 0));
          await withScp(
            { maxPdu, asyncWindow: window, acseTimeoutMs: 10_000, dimseTimeoutMs: 30_000 },
            async (scp) => {
              await sendFiles(scp.port, dir, window ? ["--async", String(window)] : []);
              assertSame(await stored(scp), sent);
            },
          );
        })
      );
    });
  }
}

Deno.test("storescp: an association aborted in the middle of a data set, then another: what is stored is whole", async () => {
  await withPoison(() =>
    withTempDir("dimse_receive_buffers_", async (dir) => {
      const sent = await writeFiles(dir, 7);
      await withScp(
        { maxPdu: 16384, acseTimeoutMs: 10_000, dimseTimeoutMs: 30_000 },
        async (scp) => {
          // 40 full data PDUs of a data set that never ends, then A-ABORT.
          const { peer } = await associated(scp.port, {
            contexts: [[MR, EXPLICIT_VR_LITTLE_ENDIAN]],
          });
          await peer.write(pdata(commandPdv(1, cStoreRq("1.2.826.0.1.3680043.2.1143.99"))));
          const chunk = new Uint8Array(16384 - 12).fill(0x5a);
          // A data set's start, so that the store handler writes its .part file.
          const head = Uint8Array.of(0x08, 0, 0x16, 0, 0x55, 0x49, 26, 0);
          chunk.set(head);
          for (let i = 0; i < 40; i++) await peer.write(pdata(dataPdv(1, chunk, false)));
          await peer.write(Uint8Array.of(0x07, 0, 0, 0, 0, 4, 0, 0, 0, 0));
          peer.close();
          await until(
            () => scp.events.some((e) => "event" in e && e.event === "association-aborted"),
            "the aborted association ends",
          );
          await sendFiles(scp.port, dir, []);
          assertSame(await stored(scp), sent);
        },
      );
    })
  );
});

for (const consumer of ["fileStore", "a handler copying each chunk"] as const) {
  Deno.test(`serve() with storage(${consumer}): each chunk is released only once the next is asked for`, async () => {
    await withPoison(() =>
      withTempDir("dimse_receive_buffers_", async (dir) => {
        const sent = await writeFiles(dir, consumer === "fileStore" ? 11 : 12);
        const od = `${dir}/od`;
        await Deno.mkdir(od);
        const got = new Map<string, Uint8Array>();
        await using server = await serve({
          aeTitle: "STORE",
          hostname: "127.0.0.1",
          port: 0,
          maxPdu: 131072,
          services: [
            storage({
              store: consumer === "fileStore" ? fileStore({ dir: od }) : async (ctx) => {
                const chunks: Uint8Array[] = [];
                for await (const c of ctx.dataset) chunks.push(c.slice());
                got.set(ctx.message.affectedSopInstanceUid, concatBytes(chunks));
              },
            }),
          ],
        });
        await sendFiles(server.local.port, dir, ["-aec", "STORE"]);
        if (consumer === "fileStore") {
          for await (const e of Deno.readDir(od)) {
            const info = await inspectDicomFile(`${od}/${e.name}`, "file-only");
            got.set(
              info.sopInstanceUid,
              (await Deno.readFile(`${od}/${e.name}`)).subarray(info.datasetOffset),
            );
          }
        }
        assertSame(got, sent);
      })
    );
  });
}
