/**
 * PartFile: fragments batched or written as they are, and nothing of a
 * fragment needed once add() returns (storescp gives the PDU's memory back
 * right after).
 */
import assert from "node:assert/strict";
import {
  DENO_FILE_SINK,
  type FileSink,
  PartFile,
  WriteBufferPool,
} from "../../lib/ae/file_store.ts";

/** An in-memory sink that records every write: the buffer handed over and its bytes then. */
function recordingSink() {
  const writes: { data: Uint8Array; bytes: Uint8Array }[] = [];
  const sink: FileSink = {
    create: () => ({
      write: (data) => void writes.push({ data, bytes: data.slice() }),
      close: () => {},
    }),
    moveNew: () => true,
    rename: () => {},
    remove: () => {},
    makeDirectory: () => true,
  };
  const content = () => {
    const all = new Uint8Array(writes.reduce((n, w) => n + w.bytes.length, 0));
    let off = 0;
    for (const w of writes) {
      all.set(w.bytes, off);
      off += w.bytes.length;
    }
    return all;
  };
  return { sink, writes, content };
}

function fragment(length: number, seed: number): Uint8Array {
  const f = new Uint8Array(length);
  for (let i = 0; i < length; i++) f[i] = (i * 7 + seed) & 0xff;
  return f;
}

/** Adds each fragment, then poisons it at once, as storescp's released PDU memory may be. */
function addAll(part: PartFile, fragments: Uint8Array[]): Uint8Array {
  const expected = new Uint8Array(fragments.reduce((n, f) => n + f.length, 0));
  let off = 0;
  for (const f of fragments) {
    expected.set(f, off);
    off += f.length;
    part.add(f);
    f.fill(0xee);
  }
  return expected;
}

Deno.test("PartFile writes a large fragment from its own memory between 32 KiB multiples in the file, copies only its ends, and keeps nothing of it", () => {
  const { sink, writes, content } = recordingSink();
  const head = fragment(200, 1);
  const expectedHead = head.slice();
  const part = new PartFile(sink, "x.part", head, {
    size: 256 * 1024,
    pool: new WriteBufferPool(),
  });
  // 128 KiB PDUs: data PDVs of 131,066 bytes (6 short of 128 KiB), then a short last fragment.
  const big = [fragment(131_066, 2), fragment(131_066, 3), fragment(131_066, 4)];
  const bigObjects = [...big];
  const rest = addAll(part, [...big, fragment(1000, 5)]);
  part.finish();
  // Each fragment's start completes the batch up to a multiple of 32 KiB (a copy), its middle
  // goes out from its own memory, its end starts the next batch: whole aligned folios.
  assert.deepEqual(writes.map((w) => w.bytes.length), [
    32768,
    98304,
    32768,
    98304,
    32768,
    98304,
    200 + 3 * 131_066 + 1000 - 3 * 131_072,
  ]);
  // No copy of the middle: views of the fragment's own memory, from its first multiple on.
  const heads = [32768 - 200, 32768 - 194, 32768 - 188];
  for (let i = 0; i < 3; i++) {
    const w = writes[2 * i + 1].data;
    assert.equal(w.buffer, bigObjects[i].buffer);
    assert.equal(w.byteOffset, bigObjects[i].byteOffset + heads[i]);
  }
  const expected = new Uint8Array(200 + rest.length);
  expected.set(expectedHead);
  expected.set(rest, 200);
  assert.deepEqual(content(), expected);
});

Deno.test("PartFile ends every write but the last on a multiple of 32 KiB in the file, whatever the fragments", () => {
  // A fixed pseudo-random sequence: small and large fragments, lengths on and off 32 KiB.
  let seed = 7;
  const random = (n: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n;
  const lengths = [
    131_066,
    131_072,
    65_536,
    65_535,
    16_372,
    ...Array.from(
      { length: 60 },
      () => random(2) ? 64 * 1024 + random(200_000) : 1 + random(30_000),
    ),
  ];
  const { sink, writes, content } = recordingSink();
  const part = new PartFile(sink, "x.part", fragment(333, 0), {
    size: 256 * 1024,
    pool: new WriteBufferPool(),
  });
  const fragments = lengths.map((n, i) => fragment(n, i));
  const objects = new Set(fragments.map((f) => f.buffer));
  const rest = addAll(part, fragments);
  part.finish();
  let at = 0;
  for (const [i, w] of writes.entries()) {
    assert.equal(at % 32768, 0, `write ${i} starts at ${at}`);
    at += w.bytes.length;
  }
  // Written from the fragments' own memory: the large ones' middles, in multiples of 32 KiB.
  const direct = writes.filter((w) => objects.has(w.data.buffer));
  assert.ok(direct.length > 0);
  for (const w of direct) assert.equal(w.bytes.length % 32768, 0);
  assert.equal(content().length, 333 + rest.length);
  assert.deepEqual(content().subarray(333), rest);
});

Deno.test("PartFile still gathers small fragments into 256 KiB writes, poisoned after each add", () => {
  const { sink, writes, content } = recordingSink();
  const head = fragment(200, 9);
  const expectedHead = head.slice();
  const part = new PartFile(sink, "x.part", head, {
    size: 256 * 1024,
    pool: new WriteBufferPool(),
  });
  // 16 KiB PDUs: 40 fragments of 16,372 bytes.
  const rest = addAll(part, Array.from({ length: 40 }, (_, i) => fragment(16_372, i)));
  part.finish();
  const total = 200 + rest.length;
  assert.deepEqual(writes.map((w) => w.bytes.length), [256 * 1024, 256 * 1024, total - 512 * 1024]);
  const expected = new Uint8Array(total);
  expected.set(expectedHead);
  expected.set(rest, 200);
  assert.deepEqual(content(), expected);
});

Deno.test("PartFile mixes batched and direct writes in order", () => {
  const { sink, writes, content } = recordingSink();
  const part = new PartFile(sink, "x.part", new Uint8Array(0), {
    size: 64 * 1024,
    pool: new WriteBufferPool(),
  });
  const sizes = [5000, 20_000, 16_383, 16_384, 100, 40_000, 60_000, 1, 16_384];
  const expected = addAll(part, sizes.map((n, i) => fragment(n, i)));
  part.finish();
  // A quarter of the 64 KiB batch (16 KiB) or more goes out from its own memory between
  // multiples of 32 KiB in the file (the 60,000's 32,768 bytes from 437 on); the rest is copied.
  assert.deepEqual(writes.map((w) => w.bytes.length), [65536, 32768, 32768, 32768, 10412]);
  assert.deepEqual(content(), expected);
});

Deno.test("DENO_FILE_SINK writes a file in writes of at most 32 KiB, aligned in the file, every byte in order", async () => {
  // Large or misaligned writes get large or split page-cache folios, which cost far more system
  // time on a virtual machine whose host takes free memory back (lib/ae/file_store.ts, WRITE_CHUNK).
  const dir = await Deno.makeTempDir({ prefix: "dimse-sink-" });
  const original = Deno.FsFile.prototype.writeSync;
  const sizes: number[] = [];
  Deno.FsFile.prototype.writeSync = function (this: Deno.FsFile, p: Uint8Array) {
    sizes.push(p.length);
    return original.call(this, p);
  };
  try {
    // A file meta information written alone, then a 128 KiB PDU's fragments, as storescp does.
    const data = [fragment(300, 1), fragment(256 * 1024, 2), fragment(100_001, 3), fragment(17, 4)];
    const file = DENO_FILE_SINK.create(`${dir}/f.part`);
    for (const d of data) file.write(d);
    file.close();
    assert.deepEqual(sizes, [
      300,
      32768 - 300, // up to the first multiple of 32 KiB in the file
      ...Array(7).fill(32768),
      300,
      32768 - 300,
      32768,
      32768,
      100_001 - (32768 - 300) - 2 * 32768,
      17,
    ]);
    const expected = new Uint8Array(data.reduce((n, d) => n + d.length, 0));
    let off = 0;
    for (const d of data) {
      expected.set(d, off);
      off += d.length;
    }
    assert.deepEqual(await Deno.readFile(`${dir}/f.part`), expected);
  } finally {
    Deno.FsFile.prototype.writeSync = original;
    await Deno.remove(dir, { recursive: true });
  }
});
