/**
 * ChunkSink, the byte collector behind every data set encoder: whatever the
 * mix of write sizes, the chunks it hands out hold the bytes written, in
 * order, none longer than its bound; small writes are gathered (its staging
 * buffer grows from small to 64 KiB), large ones pass through as views.
 */
import assert from "node:assert/strict";
import { ChunkSink } from "../../lib/dicom/writer.ts";
import { concatBytes } from "../../lib/util/bytes.ts";

/** A deterministic pseudo-random sequence (LCG), so that a failure can be replayed. */
function lcg(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s % n;
  };
}

Deno.test("ChunkSink: the bytes of every write, in order, in chunks of at most 256 KiB", () => {
  for (let seed = 1; seed <= 5; seed++) {
    const rnd = lcg(seed);
    const sink = new ChunkSink();
    const written: Uint8Array[] = [];
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) {
      // Mostly small writes (gathered, across the staging buffer's growth and
      // its 64 KiB limit), some large ones (passed on as views), and `n` less
      // than the array now and then.
      const n = rnd(6) === 0 ? 16 * 1024 + rnd(300_000) : rnd(3000);
      const bytes = new Uint8Array(n + rnd(3));
      for (let j = 0; j < bytes.length; j++) bytes[j] = (j * 31 + i) & 0xff;
      sink.write(bytes, n);
      written.push(bytes.slice(0, n));
      chunks.push(...sink.take().map((c) => c.slice()));
    }
    sink.flush();
    chunks.push(...sink.take());
    const got = concatBytes(chunks);
    const want = concatBytes(written);
    assert.equal(got.length, want.length, `seed ${seed}: length`);
    const at = got.findIndex((b, i) => b !== want[i]);
    assert.equal(at, -1, `seed ${seed}: first difference at byte ${at}`);
    assert.ok(chunks.every((c) => c.length > 0 && c.length <= 256 * 1024), `seed ${seed}`);
  }
});

Deno.test("ChunkSink: small writes are gathered into one chunk, a large one is passed as a view", () => {
  const sink = new ChunkSink();
  const small = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
  for (let i = 0; i < 5; i++) sink.write(small);
  assert.deepEqual(sink.take(), [], "nothing complete before a flush");
  const large = new Uint8Array(20_000).fill(7);
  sink.write(large);
  const [gathered, passed, ...rest] = sink.take();
  assert.equal(rest.length, 0);
  assert.equal(gathered.length, 5000);
  assert.deepEqual(gathered.subarray(4000), small);
  assert.equal(passed.buffer, large.buffer, "a view of the large write, not a copy");
  assert.equal(passed.length, large.length);
});
