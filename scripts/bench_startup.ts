/**
 * Start-up cost of the ways to run a tool after `npm ci` (README: "Install
 * and run"): the launcher bin/echoscu against the Deno binary started
 * directly with the same flags on what the launcher runs (bundle/echoscu.js)
 * and on the sources (cli/echoscu.ts), the node shim node_modules/.bin/deno,
 * and DCMTK's echoscu, each running `echoscu --version` (median of `--runs`,
 * interleaved).
 *
 * Run: `deno run -A scripts/bench_startup.ts [--runs 15]`.
 *
 * @module
 */
import { launcherFlags } from "../testing/bundle.ts";
import { repoPath } from "../testing/procs.ts";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The Deno binary npm installed for this platform. */
function denoBinary(): string {
  for (const dir of ["node_modules/deno", ...platformPackages()]) {
    const exe = repoPath(`${dir}/${Deno.build.os === "windows" ? "deno.exe" : "deno"}`);
    try {
      if (Deno.statSync(exe).isFile) return exe;
    } catch {
      // Not this one.
    }
  }
  return Deno.execPath();
}

function platformPackages(): string[] {
  try {
    return [...Deno.readDirSync(repoPath("node_modules/@deno"))].map((e) =>
      `node_modules/@deno/${e.name}`
    );
  } catch {
    return [];
  }
}

async function timeRun(argv: string[]): Promise<number> {
  const t = performance.now();
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "null",
    stderr: "null",
    stdin: "null",
  }).output();
  if (out.code !== 0) throw new Error(`${argv.join(" ")} exited ${out.code}`);
  return performance.now() - t;
}

/** Milliseconds to run `echoscu --version` each way (median of `--runs`, default 15). */
export async function benchStartup(args: string[]): Promise<Record<string, number>> {
  const i = args.indexOf("--runs");
  const runs = i >= 0 ? Number(args[i + 1]) : 15;
  const deno = denoBinary();
  // What bin/echoscu runs (its flags, bundle/echoscu.js), and the same flags on the sources.
  const flags = ["run", ...launcherFlags("echoscu")];
  const tool = repoPath("bundle/echoscu.js");
  const ways: [string, string[]][] = [
    ["deno binary, direct", [deno, ...flags, tool, "--version"]],
    ["deno binary, sources (cli/)", [
      deno,
      ...flags,
      repoPath("cli/echoscu.ts"),
      "--version",
    ]],
    ["bin/echoscu (launcher)", [repoPath("bin/echoscu"), "--version"]],
    ["node_modules/.bin/deno (node shim)", [
      repoPath("node_modules/.bin/deno"),
      ...flags,
      tool,
      "--version",
    ]],
    ["DCMTK echoscu", ["echoscu", "--version"]],
  ];
  // Interleaved (each run times every way once), so a change in the machine's load hits all alike.
  const usable = [];
  for (const [name, argv] of ways) {
    try {
      await timeRun(argv); // warms the caches
      usable.push([name, argv] as const);
    } catch (err) {
      console.log(`startup: ${name}: ${err instanceof Error ? err.message : err}`);
    }
  }
  const times = new Map<string, number[]>(usable.map(([name]) => [name, []]));
  for (let r = 0; r < runs; r++) {
    for (const [name, argv] of usable) times.get(name)!.push(await timeRun(argv));
  }
  const report: Record<string, number> = {};
  for (const [name, xs] of times) report[name] = Math.round(median(xs) * 10) / 10;
  const base = report["deno binary, direct"];
  console.log(`startup: echoscu --version, median of ${runs} runs (${deno})`);
  for (const [name, ms] of Object.entries(report)) {
    const vs = base ? ` (${ms - base >= 0 ? "+" : ""}${(ms - base).toFixed(1)} ms vs direct)` : "";
    console.log(`  ${name.padEnd(36)} ${ms.toFixed(1)} ms${vs}`);
  }
  return report;
}

if (import.meta.main) await benchStartup(Deno.args);
