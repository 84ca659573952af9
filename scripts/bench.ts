/**
 * Benchmarks, side by side with DCMTK in the same run, reported as ratios
 * (never as timed assertions in tests).
 *
 * Usage: deno task bench [--only echo|store] [--tls] [--json]
 *   --tls: every pair over DICOM TLS, mutually authenticated (scripts/bench_tls.ts)
 *   echo:  [--runs 9] [--repeat 2000]            (scripts/bench_echo.ts)
 *   store: [--files 1000] [--big-mb 1024] [--data DIR]  (scripts/bench_store.ts)
 *
 * @module
 */
import { benchEcho } from "./bench_echo.ts";
import { benchStore } from "./bench_store.ts";
import { PLAIN, tlsArgs } from "./bench_tls.ts";

function have(cmd: string): boolean {
  try {
    new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" }).outputSync();
    return true;
  } catch {
    return false;
  }
}

async function main(args: string[]): Promise<void> {
  if (!["echoscu", "storescu", "storescp"].every(have)) {
    console.error("bench: DCMTK is needed for the side-by-side runs (apt-get install -y dcmtk)");
    Deno.exit(1);
  }
  const i = args.indexOf("--only");
  const only = i >= 0 ? args[i + 1] : undefined;
  if (only !== undefined && only !== "echo" && only !== "store") {
    console.error(`bench: --only takes echo or store, not ${only}`);
    Deno.exit(1);
  }
  const tls = args.includes("--tls") ? await tlsArgs() : undefined;
  const report: Record<string, unknown> = { tls: tls !== undefined };
  try {
    if (only !== "store") report.echo = await benchEcho(args, tls ?? PLAIN);
    if (only !== "echo") report.store = await benchStore(args, tls ?? PLAIN);
  } finally {
    await tls?.cleanup();
  }
  if (args.includes("--json")) console.log(JSON.stringify(report));
}

if (import.meta.main) await main(Deno.args);
