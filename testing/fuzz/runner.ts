/**
 * Runs a fuzz target over a range of input indices, for a count or until
 * a deadline, and gathers what went wrong: invariant violations (Finding)
 * and exceptions of any type but the decoders' own, deduplicated by where
 * they come from, each with the seed and index that replay it.
 *
 * @module
 */

import { formatSeed, inputRng } from "./prng.ts";
import { Finding, type Outcome, type Target } from "./targets.ts";

/** What a finding is. */
export type FindingKind = "invariant" | "exception" | "hang" | "memory";

/** One distinct finding: the first input that showed it, and how many did. */
export interface FindingReport {
  target: string;
  seed: number;
  index: number;
  kind: FindingKind;
  message: string;
  stack?: string;
  /** The input as hex, the first {@linkcode SHOWN_BYTES} bytes. */
  input: string;
  /** Its length in bytes. */
  inputLength: number;
  /** Inputs that showed the same finding. */
  count: number;
}

/** Counts of one target's run. */
export interface TargetStats {
  target: string;
  inputs: number;
  decoded: number;
  rejected: number;
  ms: number;
  findings: FindingReport[];
}

/** Input bytes shown in a report. */
export const SHOWN_BYTES = 512;

/** Distinct findings kept per target; past that they are only counted. */
const MAX_FINDINGS = 20;

/** Bytes as contiguous hex, cut at {@linkcode SHOWN_BYTES}. */
export function shownHex(bytes: Uint8Array): string {
  const shown = Array.from(bytes.subarray(0, SHOWN_BYTES), (b) => b.toString(16).padStart(2, "0"))
    .join("");
  return bytes.length > SHOWN_BYTES ? `${shown}...` : shown;
}

/** The one line that names a finding and how to replay it. */
export function findingLine(f: Pick<FindingReport, "seed" | "target" | "index">): string {
  return `seed=${formatSeed(f.seed)} target=${f.target} index=${f.index}`;
}

/** A report of what input `index` threw (or of a hang/memory finding, with `error` a string). */
export function findingOf(
  target: string,
  seed: number,
  index: number,
  input: Uint8Array,
  error: unknown,
  kind?: FindingKind,
): FindingReport {
  const e = error instanceof Error ? error : undefined;
  return {
    target,
    seed,
    index,
    kind: kind ?? (error instanceof Finding ? "invariant" : "exception"),
    message: e ? `${e.name}: ${e.message}` : `non-Error thrown: ${String(error)}`,
    stack: e?.stack,
    input: shownHex(input),
    inputLength: input.length,
    count: 1,
  };
}

/**
 * What makes two findings the same: kind, error type, message without its
 * numbers, and the first stack frame in lib/.
 */
function signature(f: FindingReport): string {
  const frame = f.stack?.split("\n").find((l) => l.includes("/lib/")) ?? "";
  return `${f.kind}|${f.message.replace(/\d+/g, "N").slice(0, 120)}|${
    frame.replace(/:\d+:\d+/, "")
  }`;
}

/** Adds a finding to a list of distinct ones. */
export function addFinding(list: FindingReport[], f: FindingReport): void {
  const key = signature(f);
  const same = list.find((g) => signature(g) === key);
  if (same) same.count++;
  else if (list.length < MAX_FINDINGS) list.push(f);
}

/** Input `index` of `target` and what running it gave. */
export async function runOne(
  target: Target,
  seed: number,
  index: number,
): Promise<{ input: Uint8Array; outcome?: Outcome; error?: unknown }> {
  const rng = inputRng(seed, target.name, index);
  const input = target.generate(rng);
  try {
    return { input, outcome: await target.run(input, rng) };
  } catch (error) {
    return { input, error };
  }
}

/** How long and from where a target runs. */
export interface RunLimits {
  /** First input index (default 0). */
  start?: number;
  /** Number of inputs. */
  count?: number;
  /** Or: until this time (performance.now() scale). */
  deadline?: number;
  /** Told the index of each input as it starts (a heartbeat for hang detection). */
  onInput?: (index: number) => void;
}

/**
 * Runs `target` on inputs start, start+1, ... until `count` are done or
 * the deadline passes; decoder targets one at a time (synchronously, a
 * turn of the event loop every thousand inputs), live targets `concurrency` at once with
 * `afterBatch` checks in between.
 */
export async function runTarget(
  target: Target,
  seed: number,
  limits: RunLimits,
): Promise<TargetStats> {
  const stats: TargetStats = {
    target: target.name,
    inputs: 0,
    decoded: 0,
    rejected: 0,
    ms: 0,
    findings: [],
  };
  const start = limits.start ?? 0;
  const end = start + (limits.count ?? Number.MAX_SAFE_INTEGER);
  const deadline = limits.deadline ?? Infinity;
  const began = performance.now();
  const record = (
    index: number,
    input: Uint8Array,
    outcome: Outcome | undefined,
    error: unknown,
  ) => {
    stats.inputs++;
    if (outcome === "decoded") stats.decoded++;
    else if (outcome === "rejected") stats.rejected++;
    else addFinding(stats.findings, findingOf(target.name, seed, index, input, error));
  };
  const afterBatch = async (index: number) => {
    try {
      await target.afterBatch?.();
    } catch (error) {
      addFinding(stats.findings, findingOf(target.name, seed, index, new Uint8Array(0), error));
    }
  };
  await target.setup?.();
  try {
    let index = start;
    const concurrency = target.concurrency ?? 1;
    while (index < end && performance.now() < deadline) {
      if (concurrency === 1 && !target.afterBatch) {
        limits.onInput?.(index);
        const rng = inputRng(seed, target.name, index);
        const input = target.generate(rng);
        try {
          const r = target.run(input, rng);
          record(index, input, r instanceof Promise ? await r : r, undefined);
        } catch (error) {
          record(index, input, undefined, error);
        }
        // A turn of the event loop now and then: node:zlib frees its handles there.
        if (++index % 1000 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
        continue;
      }
      // A batch, `concurrency` inputs in flight at any time, then the between-batch checks.
      const last = Math.min(end, index + (target.batch ?? 64));
      const lane = async () => {
        while (index < last && performance.now() < deadline) {
          const i = index++;
          limits.onInput?.(i);
          const r = await runOne(target, seed, i);
          record(i, r.input, r.outcome, r.error);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, lane));
      await afterBatch(index);
    }
  } finally {
    await target.teardown?.();
  }
  stats.ms = performance.now() - began;
  return stats;
}
