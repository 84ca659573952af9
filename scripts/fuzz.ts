/**
 * Seeded fuzzing of the decoders and of live echoscp/storescp servers
 * (testing/fuzz/). Each target runs in a worker watched for hangs and memory.
 *
 * Usage: deno task fuzz [--count N | --seconds S] [--seed X] [--target name,...|all|decoders|live]
 *        deno task fuzz --replay <seed> --target <name> --index N
 *
 * --count is inputs per target; --seconds the whole run's time, shared
 * between the targets. A finding prints `seed=... target=... index=N`, and
 * --replay runs that one input again in process, printing it whole.
 *
 * @module
 */
import { LIVE_TARGETS, makeTarget, runWatched, TARGET_NAMES } from "../testing/fuzz/all_targets.ts";
import { formatSeed, parseSeed } from "../testing/fuzz/prng.ts";
import {
  findingLine,
  type FindingReport,
  runOne,
  type TargetStats,
} from "../testing/fuzz/runner.ts";
import { removeScratchFile } from "../testing/fuzz/targets.ts";

const USAGE =
  "usage: deno task fuzz [--count N | --seconds S] [--seed X] [--target name,...|all|decoders|live]\n" +
  "       deno task fuzz --replay <seed> --target <name> --index N\n" +
  `targets: ${TARGET_NAMES.join(", ")}`;

function fail(message: string): never {
  console.error(`fuzz: ${message}\n${USAGE}`);
  Deno.exit(1);
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined) fail(`${name} needs a value`);
  return v;
}

function positiveInteger(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) fail(`${name} takes a positive integer, not ${text}`);
  return n;
}

function targetList(text: string): string[] {
  if (text === "all") return [...TARGET_NAMES];
  if (text === "live") return [...LIVE_TARGETS];
  if (text === "decoders") return TARGET_NAMES.filter((t) => !LIVE_TARGETS.includes(t));
  const names = text.split(",");
  for (const n of names) if (!TARGET_NAMES.includes(n)) fail(`unknown target ${n}`);
  return names;
}

function printFinding(f: FindingReport): void {
  console.log(`FINDING ${findingLine(f)} (${f.kind}, ${f.count} input${f.count === 1 ? "" : "s"})`);
  console.log(`  ${f.message}`);
  for (const line of (f.stack ?? "").split("\n").slice(1, 6)) console.log(`  ${line.trim()}`);
  console.log(`  input (${f.inputLength} bytes): ${f.input}`);
  console.log(
    `  replay: deno task fuzz --replay ${
      formatSeed(f.seed)
    } --target ${f.target} --index ${f.index}`,
  );
}

async function replay(args: string[]): Promise<number> {
  const seed = parseSeed(option(args, "--replay")!) ??
    fail("--replay takes a seed (0x... or decimal)");
  const name = option(args, "--target") ?? fail("--replay needs --target");
  const index = Number(option(args, "--index") ?? fail("--replay needs --index"));
  if (!Number.isSafeInteger(index) || index < 0) fail("--index takes a non-negative integer");
  const target = makeTarget(name);
  await target.setup?.();
  let error: unknown;
  let input: Uint8Array;
  try {
    const r = await runOne(target, seed, index);
    input = r.input;
    error = r.error;
    if (error === undefined) {
      await target.afterBatch?.().catch((e) => error = e);
      console.log(`${findingLine({ seed, target: name, index })}: ${r.outcome ?? "?"}`);
    }
  } finally {
    await target.teardown?.();
    await removeScratchFile();
  }
  console.log(
    `input (${input.length} bytes): ${
      Array.from(input, (b) => b.toString(16).padStart(2, "0")).join("")
    }`,
  );
  if (error === undefined) return 0;
  console.log(`${findingLine({ seed, target: name, index })}: FINDING`);
  console.log(error instanceof Error ? error.stack : `non-Error thrown: ${String(error)}`);
  return 1;
}

async function main(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  if (args.includes("--replay")) return await replay(args);
  const count = positiveInteger(option(args, "--count"), "--count");
  const seconds = positiveInteger(option(args, "--seconds"), "--seconds");
  if (count !== undefined && seconds !== undefined) fail("give --count or --seconds, not both");
  const seedText = option(args, "--seed");
  const seed = seedText === undefined
    ? crypto.getRandomValues(new Uint32Array(1))[0]
    : parseSeed(seedText) ??
      fail(`--seed takes 0x... or a decimal number up to 2^32-1, not ${seedText}`);
  const targets = targetList(option(args, "--target") ?? "all");
  const perTarget = seconds === undefined
    ? { count: count ?? 10_000 }
    : { seconds: seconds / targets.length };
  console.log(
    `fuzz: seed=${formatSeed(seed)} targets=${targets.join(",")} ${
      "count" in perTarget ? `count=${perTarget.count} per target` : `seconds=${seconds}`
    }`,
  );
  const all: TargetStats[] = [];
  for (const name of targets) {
    const live = LIVE_TARGETS.includes(name);
    const r = await runWatched(name, seed, {
      ...perTarget,
      // A live input may legitimately wait for its timeouts and the batch checks.
      hangMs: live ? 60_000 : 10_000,
      maxRss: 2 * 1024 * 1024 * 1024,
    });
    const s = r.stats;
    all.push(s);
    const rate = s.inputs / (s.ms / 1000);
    const mem = r.memory
      ? `, rss ${mb(r.memory.baselineRss)} -> peak ${mb(r.memory.peakRss)} MiB, heap ${
        mb(r.memory.lastHeapUsed)
      } MiB`
      : `, peak rss ${mb(r.peakRss)} MiB`;
    console.log(
      `${name.padEnd(16)} ${String(s.inputs).padStart(9)} inputs ${
        String(s.decoded).padStart(8)
      } decoded ` +
        `${String(s.rejected).padStart(8)} rejected ${rate.toFixed(0).padStart(7)}/s ` +
        `${s.findings.length} findings${mem}`,
    );
    for (const f of s.findings) printFinding(f);
  }
  const inputs = all.reduce((n, s) => n + s.inputs, 0);
  const ms = all.reduce((n, s) => n + s.ms, 0);
  const findings = all.reduce((n, s) => n + s.findings.length, 0);
  console.log(
    `total: ${inputs} inputs in ${(ms / 1000).toFixed(1)} s (${
      (inputs / (ms / 1000)).toFixed(0)
    }/s), ` +
      `${findings} distinct findings, seed=${formatSeed(seed)}`,
  );
  return findings === 0 ? 0 : 1;
}

function mb(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(0);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
