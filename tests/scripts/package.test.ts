/**
 * The package as JSR would take it: every entry point of deno.json's
 * `exports` passes `deno doc --lint` (each export documented, no private
 * type in a public signature), and `deno publish --dry-run` passes (types
 * checked, no slow types, the license named, the files it includes
 * resolve). Neither needs the network.
 */
import assert from "node:assert/strict";
import { repoPath, runCommand, show } from "../../testing/procs.ts";

const config = JSON.parse(await Deno.readTextFile(repoPath("deno.json")));

Deno.test("deno doc --lint is clean on every entry point of exports", async () => {
  const entries = Object.values(config.exports as Record<string, string>);
  assert.ok(entries.length >= 7, entries.join(" "));
  const r = await runCommand(Deno.execPath(), ["doc", "--lint", ...entries.map(repoPath)], 60_000);
  assert.equal(r.code, 0, show(r));
});

Deno.test("deno publish --dry-run: the package would publish", async () => {
  assert.equal(config.license, "MIT");
  const r = await runCommand(Deno.execPath(), [
    "publish",
    "--dry-run",
    "--allow-dirty",
    "--config",
    repoPath("deno.json"),
  ], 120_000);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout + r.stderr, /Dry run complete/);
  // The published files hold the library and the tools, not tests or scripts.
  assert.match(r.stdout + r.stderr, /\/lib\/ae\/associate\.ts/);
  assert.doesNotMatch(r.stdout + r.stderr, /\/tests\/|\/scripts\/|\/testing\//);
});
