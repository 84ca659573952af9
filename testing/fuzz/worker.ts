/**
 * Runs one fuzz target in a worker, so that the main thread can stop it if
 * an input makes it spin (a synchronous infinite loop cannot be timed out
 * from inside). The input being run is published in a shared heartbeat:
 * [index of the current input, inputs started].
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { runTarget } from "./runner.ts";
import { removeScratchFile } from "./targets.ts";
import { makeTarget } from "./all_targets.ts";

/** What the main thread asks for. */
export interface WorkerRequest {
  target: string;
  seed: number;
  start: number;
  count?: number;
  seconds?: number;
  heartbeat: SharedArrayBuffer;
}

self.onmessage = async (e: MessageEvent<WorkerRequest>) => {
  const { target: name, seed, start, count, seconds, heartbeat } = e.data;
  const beat = new Int32Array(heartbeat);
  const target = makeTarget(name);
  const deadline = seconds === undefined ? undefined : performance.now() + seconds * 1000;
  const stats = await runTarget(target, seed, {
    start,
    count,
    deadline,
    onInput: (index) => {
      Atomics.store(beat, 0, index);
      Atomics.add(beat, 1, 1);
    },
  });
  await removeScratchFile();
  self.postMessage({ stats, memory: "memory" in target ? target.memory : undefined });
};
