/**
 * DEVELOPERS.md: `deno fmt` and `deno lint` are clean on every commit. The
 * test command checks it, so that a tree that is not clean fails CI
 * (`deno check` runs on every module the tests load).
 */
import assert from "node:assert/strict";
import { repoPath } from "../../testing/procs.ts";

for (const args of [["fmt", "--check"], ["lint"]]) {
  Deno.test(`deno ${args.join(" ")}: nothing to report in the repository`, async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: repoPath(""),
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.ok(out.success, text.slice(-4000));
  });
}
