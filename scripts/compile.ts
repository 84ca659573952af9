/**
 * Builds standalone executables of every tool for every `deno compile`
 * target into dist/. `deno compile` needs Deno's runtime base binary
 * (denort) for each target, which it downloads; where that download is not
 * possible this stops with one line saying so, and exit code 1.
 *
 * Usage: deno task compile [--target TRIPLE ...] [--tool NAME ...]
 *
 * @module
 */

import { compileArgs } from "../testing/compile.ts";

/** The five targets `deno compile` supports. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

/** The tools shipped as executables (one file each in cli/). */
export const TOOLS = [
  "echoscu",
  "echoscp",
  "storescu",
  "storescp",
  "findscu",
  "movescu",
  "getscu",
] as const;

function pick(args: string[], flag: string, all: readonly string[]): string[] {
  const chosen = args.flatMap((a, i) => (a === flag && args[i + 1] ? [args[i + 1]] : []));
  for (const c of chosen) {
    if (!all.includes(c)) {
      console.error(`compile: unknown ${flag.slice(2)} '${c}' (one of: ${all.join(", ")})`);
      Deno.exit(1);
    }
  }
  return chosen.length ? chosen : [...all];
}

/** True when deno compile failed because it could not fetch the base binary. */
export function isBaseBinaryFailure(stderr: string): boolean {
  return /Setting up base binary|denort|dl\.deno\.land/i.test(stderr);
}

async function main(): Promise<void> {
  const targets = pick(Deno.args, "--target", TARGETS);
  const tools = pick(Deno.args, "--tool", TOOLS);
  const root = new URL("..", import.meta.url);
  await Deno.mkdir(new URL("dist/", root), { recursive: true });
  for (const target of targets) {
    for (const tool of tools) {
      const exe = `dist/${tool}-${target}${target.includes("windows") ? ".exe" : ""}`;
      const { code, stderr } = await new Deno.Command(Deno.execPath(), {
        args: compileArgs(tool, target, exe),
        cwd: root,
        stdout: "null",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      const err = new TextDecoder().decode(stderr);
      if (code !== 0) {
        console.error(
          isBaseBinaryFailure(err)
            ? `compile: cannot get Deno's runtime base binary (denort ${Deno.version.deno}, ${target}): ` +
              "it is downloaded from dl.deno.land, which this machine cannot reach; " +
              "set DENORT_BIN to a local denort binary or build where it can be downloaded"
            : `compile: deno compile of ${tool} for ${target} failed: ${
              err.trim().split("\n").pop()
            }`,
        );
        Deno.exit(1);
      }
      console.log(`compiled ${exe}`);
    }
  }
}

if (import.meta.main) await main();
