/**
 * storescu reads the data sets of files one after another into a few
 * reused buffers (issue 15: memory that does not grow with the number of
 * files). Files of very different sizes in one run, sent as they are and
 * transcoded, must each arrive byte for byte: a buffer given back before
 * its store is over would send another file's bytes. The same with several
 * associations and stores outstanding at once (issue 13), where each store
 * holds its own buffers until it is answered.
 */
import assert from "node:assert/strict";
import { serve, storage } from "../../mod.ts";
import { inspectDicomFile } from "../../lib/dicom/part10.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import { transcodeDataset } from "../../lib/dicom/transcode.ts";
import { writeImageFile } from "../../testing/dicom_files.ts";
import { runTool, show } from "../../testing/procs.ts";
import { withTempDir } from "../../testing/temp_files.ts";
import { headBuffersMade, poisonReleasedHeadBuffers } from "../../lib/cli/storescu/engine.ts";
import { main } from "../../lib/cli/storescu/main.ts";

const EXPLICIT_LE = "1.2.840.10008.1.2.1";
const IMPLICIT_LE = "1.2.840.10008.1.2";

/**
 * `got` is `expected`, byte for byte. Not deepEqual: its diff of two data sets of a megabyte
 * is gigabytes of text.
 */
function assertSameBytes(got: Uint8Array, expected: Uint8Array, uid: string): void {
  assert.equal(got.length, expected.length, `${uid}: ${got.length} bytes, not ${expected.length}`);
  const at = got.findIndex((b, i) => b !== expected[i]);
  assert.equal(at, -1, `${uid}: not the file's data set from byte ${at} on`);
}

async function* single(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes.slice();
}

/** Frames per file: data sets from a few KiB to most of the 1 MiB read-ahead, and beyond it (read in two buffers in turn). */
const FRAMES = [12, 1, 7, 2, 30, 1, 9, 3, 40, 1, 5, 17, 70, 2];

type Mode = { name: string; args: string[]; window?: number; maxPdu?: number };

const MODES: Mode[] = [
  { name: "one association", args: [] },
  { name: "--parallel 3 --async 4", args: ["--parallel", "3", "--async", "4"], window: 4 },
  // PDVs of 128 KiB: a data set sent as it is is read straight into its PDUs (a PDataRun),
  // written from the read-ahead buffer itself, not copied into the write batch.
  { name: "peer PDUs of 128 KiB", args: [], maxPdu: 131072 },
  {
    name: "peer PDUs of 128 KiB, --parallel 3 --async 4",
    args: ["--parallel", "3", "--async", "4"],
    window: 4,
    maxPdu: 131072,
  },
];

/** A data set as it arrived: its transfer syntax and bytes. */
type Arrived = { ts: string; bytes: Uint8Array };

/**
 * A storage SCP (AE title STORE) that keeps each data set it receives in `got` by SOP
 * Instance UID; `pauseMs`: it waits that long after each PDV's data (a slow receiver, whose
 * socket fills so that the sender's writes wait).
 */
function keepingScp(
  got: Map<string, Arrived>,
  o: { window?: number; maxPdu?: number; pauseMs?: number },
) {
  return serve({
    aeTitle: "STORE",
    hostname: "127.0.0.1",
    port: 0,
    asyncWindow: o.window,
    maxPdu: o.maxPdu,
    services: [
      storage({
        store: async (ctx) => {
          const chunks: Uint8Array[] = [];
          for await (const c of ctx.dataset) {
            chunks.push(c.slice());
            if (o.pauseMs) await new Promise((r) => setTimeout(r, o.pauseMs));
          }
          got.set(ctx.message.affectedSopInstanceUid, {
            ts: ctx.context.transferSyntax,
            bytes: concatBytes(chunks),
          });
        },
      }),
    ],
  });
}

/**
 * Writes the FRAMES files, receives them with a handler that keeps each data set, has `send`
 * run storescu with `args` towards it (asserting its exit code), and checks that every data
 * set arrived whole, in the syntax `transfer` asks for.
 */
async function sendAndCompare(
  mode: Mode,
  transfer: string,
  send: (args: string[]) => Promise<void>,
): Promise<void> {
  await withTempDir("dimse_storescu_buffers_", async (dir) => {
    const files: string[] = [];
    const sent = new Map<string, Uint8Array>();
    for (const [i, frames] of FRAMES.entries()) {
      const path = `${dir}/f${i}.dcm`;
      const sopInstanceUid = `1.2.826.0.1.3680043.2.1143.${i + 1}`;
      await writeImageFile(path, { rows: 128, cols: 128, frames, sopInstanceUid });
      files.push(path);
      const info = await inspectDicomFile(path, "file-only");
      sent.set(sopInstanceUid, (await Deno.readFile(path)).subarray(info.datasetOffset));
    }
    const got = new Map<string, Arrived>();
    await using server = await keepingScp(got, mode);
    await send([
      ...(transfer === "as is" ? [] : ["-xi"]),
      ...mode.args,
      "-aec",
      "STORE",
      "127.0.0.1",
      String(server.local.port),
      ...files,
    ]);
    assert.equal(got.size, FRAMES.length);
    for (const [uid, bytes] of sent) {
      const arrived = got.get(uid);
      assert.ok(arrived, `${uid} not stored`);
      const expected = arrived.ts === EXPLICIT_LE ? bytes : concatBytes(
        await Array.fromAsync(transcodeDataset(single(bytes), EXPLICIT_LE, arrived.ts)),
      );
      assert.equal(arrived.ts, transfer === "as is" ? EXPLICIT_LE : IMPLICIT_LE);
      assertSameBytes(arrived.bytes, expected, uid);
    }
  });
}

for (const mode of MODES) {
  for (const transfer of ["as is", "-xi (transcoded)"]) {
    Deno.test(`storescu ${mode.name}, ${FRAMES.length} files of different sizes ${transfer}: each data set arrives whole`, async () => {
      await sendAndCompare(mode, transfer, async (args) => {
        const r = await runTool("storescu", args, 60_000);
        assert.equal(r.code, 0, show(r));
      });
    });
  }
}

/**
 * In process, every read-ahead buffer poisoned as it is given back: a data set sent from a
 * buffer after its store gave it back (a data set read whole goes to the association as
 * bytes, which the upper layer must have copied by then) arrives as poison.
 */
for (const mode of MODES) {
  for (const transfer of ["as is", "-xi (transcoded)"]) {
    Deno.test(`storescu in process ${mode.name} ${transfer}, read-ahead buffers poisoned when given back: each data set arrives whole`, async () => {
      await sendAndCompare(mode, transfer, async (args) => {
        poisonReleasedHeadBuffers(0xee);
        try {
          assert.equal(await main(["-q", ...args]), 0);
        } finally {
          poisonReleasedHeadBuffers(undefined);
        }
      });
    });
  }
}

/**
 * Each store gives its read-ahead buffers back once it is answered, also when nothing waits
 * on their release (a data set read whole or in runs is given back without a promise): after
 * a first run, a second run of the same files makes no buffer. A store that kept its buffers
 * would make one or two per file.
 */
for (const mode of [MODES[0], MODES[2]]) {
  Deno.test(`storescu in process ${mode.name}: every store gives its read-ahead buffers back, a second run makes none`, async () => {
    const run = (args: string[]) => main(["-q", ...args]).then((code) => assert.equal(code, 0));
    await sendAndCompare(mode, "as is", run);
    const before = headBuffersMade();
    await sendAndCompare(mode, "as is", run);
    await sendAndCompare(mode, "-xi (transcoded)", run);
    assert.equal(headBuffersMade(), before);
  });
}

/**
 * A data set of many megabytes at 128 KiB PDUs goes out in runs read into two read-ahead
 * buffers in turn (issue 15), each refilled only once the run in it is written. The receiver
 * takes its PDVs slowly, so the socket fills and writes wait: a buffer refilled while its run
 * still waited to be written would send the next run's bytes in its place.
 */
Deno.test("storescu in process, peer PDUs of 128 KiB, a 24 MiB data set to a slow receiver, as is and -xi, buffers poisoned when given back: it arrives whole", async () => {
  await withTempDir("dimse_storescu_runs_", async (dir) => {
    const path = `${dir}/big.dcm`;
    const sopInstanceUid = "1.2.826.0.1.3680043.2.1143.99";
    await writeImageFile(path, { rows: 512, cols: 512, frames: 48, sopInstanceUid });
    const info = await inspectDicomFile(path, "file-only");
    const sent = (await Deno.readFile(path)).subarray(info.datasetOffset);
    const got = new Map<string, Arrived>();
    await using server = await keepingScp(got, { maxPdu: 131072, pauseMs: 2 });
    const implicit = concatBytes(
      await Array.fromAsync(transcodeDataset(single(sent), EXPLICIT_LE, IMPLICIT_LE)),
    );
    const sends = [
      { args: [] as string[], ts: EXPLICIT_LE, expected: sent },
      { args: ["-xi"], ts: IMPLICIT_LE, expected: implicit },
    ];
    for (const { args, ts, expected } of sends) {
      got.clear();
      poisonReleasedHeadBuffers(0xee);
      try {
        const port = String(server.local.port);
        assert.equal(await main(["-q", ...args, "-aec", "STORE", "127.0.0.1", port, path]), 0);
      } finally {
        poisonReleasedHeadBuffers(undefined);
      }
      const arrived = got.get(sopInstanceUid);
      assert.ok(arrived, `${ts}: not stored`);
      assert.equal(arrived.ts, ts);
      assertSameBytes(arrived.bytes, expected, ts);
    }
  });
});
