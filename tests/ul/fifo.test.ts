/**
 * The ring queue of the upper layer's indications and the channel's events
 * (lib/util/fifo.ts): first in, first out through growth and wrap-around.
 */
import assert from "node:assert/strict";
import { Fifo } from "../../lib/util/fifo.ts";

Deno.test("Fifo: items come out in the order they went in, through growth and wrap-around", () => {
  const q = new Fifo<number>();
  const model: number[] = [];
  assert.equal(q.length, 0);
  assert.equal(q.shift(), undefined);
  assert.equal(q.peek(), undefined);
  // A fixed pseudo-random mix of pushes and shifts: the ring wraps, grows while wrapped
  // (the items must move in order), drains to empty and fills again.
  let seed = 7;
  let next = 0;
  for (let step = 0; step < 5000; step++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const pushes = step % 1000 < 500 ? 3 : 1;
    if (seed % 4 < pushes) {
      q.push(next);
      model.push(next++);
    } else {
      assert.equal(q.peek(), model[0]);
      assert.equal(q.shift(), model.shift());
    }
    assert.equal(q.length, model.length);
  }
  assert.ok(next > 2000);
  while (model.length > 0) assert.equal(q.shift(), model.shift());
  assert.equal(q.length, 0);
  assert.equal(q.shift(), undefined);
});

Deno.test("Fifo: undefined and falsy items are items", () => {
  const q = new Fifo<number | undefined | null>();
  for (const v of [0, undefined, null, 0]) q.push(v);
  assert.equal(q.length, 4);
  assert.deepEqual([q.shift(), q.shift(), q.shift(), q.shift()], [0, undefined, null, 0]);
  assert.equal(q.length, 0);
});
