/**
 * `deno task check`'s architecture step: testing/check_layers.ts over the
 * repository; one line per finding and exit 1 when there is one.
 *
 * Usage: deno run --allow-read scripts/check_layers.ts [ROOT]
 *
 * @module
 */
import { check, collect } from "../testing/check_layers.ts";

if (import.meta.main) {
  const root = Deno.args[0] ?? new URL("..", import.meta.url).pathname;
  const findings = check(collect(root));
  for (const f of findings) console.error(`check_layers: ${f.file}: ${f.problem}`);
  if (findings.length > 0) Deno.exit(1);
  console.log("check_layers: imports point one way, no folder cycle, no tool flag below lib/cli");
}
