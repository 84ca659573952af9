/**
 * Reading a {@link Transport} the simple way, for test peers that want the
 * bytes that came rather than to choose where they land.
 *
 * @module
 */
import type { Transport } from "../lib/transport/transport.ts";

/**
 * The bytes of one read of `t` (at most `max`), in memory of their own, or
 * null at the end of the stream; rejects as the read does.
 */
export async function readSome(t: Transport, max = 64 * 1024): Promise<Uint8Array | null> {
  const into = new Uint8Array(max);
  const n = await t.readInto(into);
  return n === null ? null : into.subarray(0, n);
}
