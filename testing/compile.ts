/**
 * What `deno task compile` (scripts/compile.ts) gives `deno compile` for each tool, apart from the
 * script so that tests/cli/build.test.ts can check it without a runtime base binary.
 *
 * @module
 */

import { launcherFlags } from "./bundle.ts";

/** Permissions the tools need at run time, baked into the executable. */
const PERMISSIONS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys"];

/**
 * `deno compile`'s arguments for `tool` on `target` into `exe`: the run-time
 * permissions, and the V8 flags its launcher gives it (bin/<tool>, README
 * "Bundled tools"), so the executable runs V8 as the launcher does.
 */
export function compileArgs(tool: string, target: string, exe: string): string[] {
  const v8 = launcherFlags(tool).filter((f) => f.startsWith("--v8-flags="));
  return ["compile", ...PERMISSIONS, ...v8, "--target", target, "--output", exe, `cli/${tool}.ts`];
}
