/**
 * Writes bundle/: every tool of cli/ bundled into plain JavaScript by `deno bundle`, the files
 * the launchers in bin/ run (issue 15: a one-shot echoscu spent 20-35 ms of its start in Deno's
 * loader for its 44 TypeScript modules and the 44 more its dynamic imports reach; from the bundle
 * a tool's start reads two JavaScript files and needs no TypeScript emit). How it is made:
 * testing/bundle.ts.
 * tests/cli/bundle.test.ts fails while bundle/ differs from what this makes: after changing
 * cli/ or lib/, run `deno task bundle`.
 *
 * Usage: deno task bundle [--check]
 *   --check  write nothing; list what differs and exit 1 if anything does
 *
 * @module
 */
import { BUNDLE_DIR, bundleDifferences, currentBundle, makeBundle } from "../testing/bundle.ts";
import { TOOLS } from "./compile.ts";

async function main(): Promise<void> {
  const check = Deno.args.includes("--check");
  const want = await makeBundle(TOOLS);
  const dir = new URL(`../${BUNDLE_DIR}`, import.meta.url).pathname;
  const diff = bundleDifferences(want, currentBundle(dir));
  if (check) {
    for (const d of diff) console.error(`bundle: ${d}`);
    if (diff.length > 0) {
      console.error("bundle: bundle/ is stale: run `deno task bundle`");
      Deno.exit(1);
    }
    console.log(`bundle: ${BUNDLE_DIR}/ is current (${want.size} files)`);
    return;
  }
  await Deno.mkdir(dir, { recursive: true });
  for (const name of currentBundle(dir).keys()) {
    if (!want.has(name)) await Deno.remove(`${dir}/${name}`);
  }
  for (const [name, text] of want) await Deno.writeTextFile(`${dir}/${name}`, text);
  console.log(`bundle: wrote ${BUNDLE_DIR}/ (${want.size} files, ${diff.length} changed)`);
}

if (import.meta.main) await main();
