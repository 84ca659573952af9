/**
 * Reading a file's data set: with the handle and the bytes inspection
 * already has (openDicomFile), and chunk buffers that are fresh (the
 * consumer keeps them) or, asked for, one buffer reused from chunk to chunk.
 */

import assert from "node:assert/strict";
import {
  DicomFileError,
  inspectDicomFile,
  openDicomFile,
  readDatasetChunks,
} from "../../lib/dicom/part10.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import { writeImageFile } from "../../testing/dicom_files.ts";

const UIDS = { sopInstanceUid: "1.2.3.4", studyUid: "1.2.3.5", seriesUid: "1.2.3.6" };

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dimse_part10_open_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Counts the files opened and closed and the bytes read while `fn` runs. */
async function counting<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; opens: number; closes: number; bytesRead: number }> {
  const proto = Deno.FsFile.prototype;
  const { openSync, open } = Deno;
  const { readSync, read, close } = proto;
  const counts = { opens: 0, closes: 0, bytesRead: 0 };
  Deno.openSync = (...args: Parameters<typeof openSync>) => (counts.opens++, openSync(...args));
  Deno.open = (...args: Parameters<typeof open>) => (counts.opens++, open(...args));
  proto.readSync = function (p: Uint8Array) {
    const n = readSync.call(this, p);
    counts.bytesRead += n ?? 0;
    return n;
  };
  proto.read = async function (p: Uint8Array) {
    const n = await read.call(this, p);
    counts.bytesRead += n ?? 0;
    return n;
  };
  proto.close = function () {
    counts.closes++;
    return close.call(this);
  };
  try {
    return { result: await fn(), ...counts };
  } finally {
    Object.assign(Deno, { openSync, open });
    Object.assign(proto, { readSync, read, close });
  }
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of chunks) out.push(c);
  return out;
}

Deno.test("openDicomFile: one open per file, each byte read once, the handle closed at the end", async () => {
  await withTempDir(async (dir) => {
    // 2 KiB of pixels (all in inspection's first read) and 1.5 MiB (mostly after it).
    for (const [name, rows, cols] of [["small", 32, 32], ["large", 768, 1024]] as const) {
      const path = `${dir}/${name}.dcm`;
      await writeImageFile(path, { rows, cols, ...UIDS });
      const bytes = await Deno.readFile(path);
      const c = await counting(async () => {
        const file = await openDicomFile(path, "file-only");
        return { info: file.info, chunks: await collect(file.chunks(64 * 1024)) };
      });
      const { info, chunks } = c.result;
      assert.deepEqual(info, await inspectDicomFile(path, "file-only"), name);
      assert.deepEqual(concatBytes(chunks), bytes.subarray(info.datasetOffset), name);
      assert.equal(c.opens, 1, `${name}: opened once`);
      assert.equal(c.closes, 1, `${name}: closed once`);
      assert.equal(c.bytesRead, bytes.length, `${name}: no byte read twice`);
    }
    // The same files through inspectDicomFile and readDatasetChunks: two opens, as before.
    const path = `${dir}/large.dcm`;
    const c = await counting(async () => {
      const info = await inspectDicomFile(path, "file-only");
      return await collect(readDatasetChunks(info, 64 * 1024));
    });
    assert.equal(c.opens, 2);
    assert.equal(c.closes, 2);
  });
});

Deno.test("openDicomFile: closed on a bad file, by close(), by a consumer that stops early; chunks() once", async () => {
  await withTempDir(async (dir) => {
    const bad = `${dir}/bad.dcm`;
    await Deno.writeFile(bad, new Uint8Array(300));
    const refused = await counting(() => openDicomFile(bad, "file-only").catch((e) => e));
    assert.ok(refused.result instanceof DicomFileError);
    assert.equal(refused.closes, refused.opens);

    const path = `${dir}/f.dcm`;
    await writeImageFile(path, { rows: 256, cols: 256, ...UIDS });
    const unread = await counting(async () => (await openDicomFile(path, "file-only")).close());
    assert.deepEqual([unread.opens, unread.closes], [1, 1]);

    const early = await counting(async () => {
      const file = await openDicomFile(path, "file-only");
      for await (const _ of file.chunks(1000)) break;
      assert.throws(() => file.chunks(), /closed, or its data set was read already/);
      file.close();
    });
    assert.deepEqual([early.opens, early.closes], [1, 1]);
  });
});

Deno.test("readDatasetChunks: fresh chunks stay as they were; reused ones share one buffer", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/f.dcm`;
    await writeImageFile(path, { rows: 128, cols: 128, frames: 2, ...UIDS });
    const info = await inspectDicomFile(path, "file-only");
    const dataset = (await Deno.readFile(path)).subarray(info.datasetOffset);
    const size = 10_000;

    // Kept by the consumer and checked only once all are read.
    const fresh = await collect(readDatasetChunks(info, size));
    assert.ok(fresh.length > 5);
    assert.equal(new Set(fresh.map((c) => c.buffer)).size, fresh.length, "a buffer per chunk");
    assert.deepEqual(concatBytes(fresh), dataset, "every kept chunk still holds its bytes");

    // With reuse: each chunk valid until the next is asked for.
    const copies: Uint8Array[] = [];
    const views: Uint8Array[] = [];
    for await (const c of readDatasetChunks(info, size, { reuse: true })) {
      copies.push(c.slice());
      views.push(c);
    }
    assert.deepEqual(concatBytes(copies), dataset);
    assert.equal(new Set(views.map((c) => c.buffer)).size, 1, "one buffer for all chunks");
    assert.ok(views.every((c) => c.byteOffset === 0));
    const last = copies.at(-1)!;
    assert.deepEqual(views[0].subarray(0, last.length), last, "a chunk kept holds a later one");

    // The same through openDicomFile, whose first chunk starts with bytes inspection read.
    const file = await openDicomFile(path, "file-only");
    const reused: Uint8Array[] = [];
    for await (const c of file.chunks(size, { reuse: true })) reused.push(c.slice());
    assert.deepEqual(concatBytes(reused), dataset);
  });
});

Deno.test("readDatasetChunks into a caller's buffer: every chunk a view of it, one file after another", async () => {
  await withTempDir(async (dir) => {
    const buffer = new Uint8Array(40_000);
    for (const [i, frames] of [3, 1, 2].entries()) {
      const path = `${dir}/f${i}.dcm`;
      await writeImageFile(path, { rows: 64, cols: 64, frames, ...UIDS });
      const info = await inspectDicomFile(path, "file-only");
      const dataset = (await Deno.readFile(path)).subarray(info.datasetOffset);
      const copies: Uint8Array[] = [];
      for await (const c of readDatasetChunks(info, 10_000, { into: buffer })) {
        assert.equal(c.buffer, buffer.buffer, "a view of the caller's buffer");
        assert.equal(c.byteOffset, 0);
        copies.push(c.slice());
      }
      // The buffer held a longer data set before: only this one's bytes come out.
      assert.deepEqual(concatBytes(copies), dataset);
    }
    // Two buffers in turn: a chunk stays valid while the next one is read.
    const info0 = await inspectDicomFile(`${dir}/f0.dcm`, "file-only");
    const ring = [new Uint8Array(5_000), new Uint8Array(5_000)];
    const held: Uint8Array[] = [];
    let previous: Uint8Array | undefined;
    for await (const c of readDatasetChunks(info0, 5_000, { into: ring })) {
      assert.equal(c.buffer, ring[held.length % 2].buffer);
      // The chunk before is intact: it was not read over.
      if (previous) assert.deepEqual(previous, held.at(-1));
      held.push(c.slice());
      previous = c;
    }
    const f0 = await Deno.readFile(`${dir}/f0.dcm`);
    assert.deepEqual(concatBytes(held), f0.subarray(info0.datasetOffset));
    const info = await inspectDicomFile(`${dir}/f0.dcm`, "file-only");
    await assert.rejects(
      collect(readDatasetChunks(info, 50_000, { into: new Uint8Array(100) })),
      /a buffer of 100 bytes for chunks of/,
    );
  });
});

Deno.test("openDicomFile: a file cut short after inspection fails clearly", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/f.dcm`;
    await writeImageFile(path, { rows: 256, cols: 256, ...UIDS });
    const file = await openDicomFile(path, "file-only");
    await Deno.truncate(path, file.info.size - 10);
    await assert.rejects(
      collect(file.chunks(4096)),
      (e) =>
        e instanceof DicomFileError &&
        e.message.includes(`truncated: the file ends 10 bytes short of the ${file.info.size}`),
    );
  });
});

Deno.test("a FIFO is refused unopened: it would wait for a writer and hold the process", async () => {
  await withTempDir(async (dir) => {
    const fifo = `${dir}/pipe.dcm`;
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output().catch(() => undefined);
    if (!made?.success) {
      console.warn("mkfifo unavailable: the FIFO test is skipped");
      return;
    }
    // In a child, killed after 10 s: a process stuck in open(2) must fail this test, not hang it.
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { inspectDicomFile } from ${
          JSON.stringify(new URL("../../lib/dicom/part10.ts", import.meta.url).href)
        };
         await inspectDicomFile(${JSON.stringify(fifo)}, "file-or-dataset").then(
           () => console.log("inspected"), (e) => console.log(e.message));`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    const out = await child.output();
    clearTimeout(timer);
    assert.equal(
      new TextDecoder().decode(out.stdout).trim(),
      `${fifo}: not a regular file (a FIFO, device or socket)`,
    );
  });
});

Deno.test("inspection's reused head memory: an open file keeps its own head; an info keeps no bytes", async () => {
  await withTempDir(async (dir) => {
    // Small images: the whole file fits the first read, so the head holds data set bytes.
    const a = `${dir}/a.dcm`;
    const b = `${dir}/b.dcm`;
    await writeImageFile(a, { rows: 8, cols: 8, ...UIDS });
    await writeImageFile(b, { rows: 8, cols: 8, ...UIDS, sopInstanceUid: "1.2.3.99" });
    const infoA = await inspectDicomFile(a, "file-only");
    const copyA = structuredClone(infoA);
    const openA = await openDicomFile(a, "file-only");
    // Inspections of other files in between, as storescu checks many before it sends.
    for (let i = 0; i < 3; i++) await inspectDicomFile(b, "file-only");
    assert.deepEqual(infoA, copyA);
    const wholeA = await Deno.readFile(a);
    assert.deepEqual(
      concatBytes(await collect(openA.chunks())),
      wholeA.subarray(infoA.datasetOffset),
    );
  });
});
