/**
 * Every fuzz target by name, and how to run one in a watched worker.
 *
 * @module
 */

import { type LiveMemory, liveTarget } from "./live.ts";
import { findscuTarget } from "./live_scu.ts";
import { retrieveTarget } from "./live_retrieve.ts";
import { addFinding, findingOf, type TargetStats } from "./runner.ts";
import { inputRng } from "./prng.ts";
import { DECODER_TARGETS, type Target } from "./targets.ts";
import type { WorkerRequest } from "./worker.ts";

/** Names of the targets: decoders first, then the live servers. */
export const TARGET_NAMES: readonly string[] = [
  ...DECODER_TARGETS.map((t) => t.name),
  "echoscp",
  "storescp",
  "findscu",
  "getscu",
  "movescu",
];

/** Names of the live targets. */
export const LIVE_TARGETS: readonly string[] = [
  "echoscp",
  "storescp",
  "findscu",
  "getscu",
  "movescu",
];

/** A target by name (live targets are made fresh: they hold a server). */
export function makeTarget(name: string): Target {
  if (name === "echoscp" || name === "storescp") return liveTarget(name);
  if (name === "findscu") return findscuTarget();
  if (name === "getscu" || name === "movescu") {
    return retrieveTarget(name === "getscu" ? "get" : "move");
  }
  const t = DECODER_TARGETS.find((d) => d.name === name);
  if (!t) throw new Error(`unknown fuzz target ${name}; targets: ${TARGET_NAMES.join(", ")}`);
  return t;
}

/** A worker's report. */
export interface WorkerResult {
  stats: TargetStats;
  memory?: LiveMemory;
  /** Highest resident set size of the process seen while the target ran. */
  peakRss: number;
}

/** How a watched run is bounded. */
export interface WatchedRun {
  start?: number;
  count?: number;
  seconds?: number;
  /** No new input for this long is a hang. */
  hangMs: number;
  /**
   * How long the worker may take to start its first input: loading (and,
   * under `deno test`, type-checking) its modules is no input's doing, and
   * takes far longer than `hangMs` on a loaded machine. Default 120 s.
   */
  startMs?: number;
  /** Resident set size past which the run is stopped as a memory finding. */
  maxRss: number;
}

/**
 * Runs `name` in a worker; stops it (a hang or memory finding for the
 * input it was on) if it makes no progress for `hangMs` or the process
 * grows past `maxRss`.
 */
export function runWatched(name: string, seed: number, run: WatchedRun): Promise<WorkerResult> {
  const heartbeat = new SharedArrayBuffer(8);
  const beat = new Int32Array(heartbeat);
  const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
  const started = performance.now();
  let peakRss = 0;
  return new Promise<WorkerResult>((resolve) => {
    let lastCount = -1;
    let lastChange = performance.now();
    const stopWith = (kind: "hang" | "memory" | "exception", error: unknown) => {
      clearInterval(watch);
      worker.terminate();
      const index = Atomics.load(beat, 0);
      const input = makeTarget(name).generate(inputRng(seed, name, index));
      const stats: TargetStats = {
        target: name,
        inputs: Math.max(0, Atomics.load(beat, 1) - 1),
        decoded: 0,
        rejected: 0,
        ms: performance.now() - started,
        findings: [],
      };
      addFinding(stats.findings, findingOf(name, seed, index, input, error, kind));
      resolve({ stats, peakRss });
    };
    const watch = setInterval(() => {
      const rss = Deno.memoryUsage().rss;
      peakRss = Math.max(peakRss, rss);
      const count = Atomics.load(beat, 1);
      if (count !== lastCount) {
        lastCount = count;
        lastChange = performance.now();
      } else if (count === 0 && performance.now() - started > (run.startMs ?? 120_000)) {
        stopWith("hang", new Error(`the worker did not start within ${run.startMs ?? 120_000} ms`));
      } else if (count > 0 && performance.now() - lastChange > run.hangMs) {
        stopWith("hang", new Error(`no progress for ${run.hangMs} ms on this input`));
      }
      if (rss > run.maxRss) {
        stopWith("memory", new Error(`resident set ${rss} bytes exceeds ${run.maxRss}`));
      }
    }, 250);
    worker.onmessage = (e: MessageEvent<{ stats: TargetStats; memory?: LiveMemory }>) => {
      clearInterval(watch);
      worker.terminate();
      resolve({ ...e.data, peakRss });
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      stopWith("exception", e.error ?? new Error(e.message));
    };
    const request: WorkerRequest = {
      target: name,
      seed,
      start: run.start ?? 0,
      count: run.count,
      seconds: run.seconds,
      heartbeat,
    };
    worker.postMessage(request);
  });
}
