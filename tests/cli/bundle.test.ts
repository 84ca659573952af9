/**
 * bundle/: the bundled tools the launchers in bin/ run (scripts/bundle.ts, `deno task bundle`).
 * The checked-in files must be exactly what the task makes from the sources now, so that what
 * the launchers run is the code the rest of the suite tests through cli/; and a bundled tool
 * must behave as its source does where bundling could change something: its options and help,
 * and the chunks it imports only when a run needs them (with no more permissions than the
 * source needs).
 */
import assert from "node:assert/strict";
import { bundleDifferences, currentBundle, makeBundle } from "../../testing/bundle.ts";
import { OUR_TOOLS } from "../../testing/json_lines.ts";
import { sharedTestPki } from "../../testing/certs.ts";
import { repoPath, runCommand, show, withTool } from "../../testing/procs.ts";

const DENO = Deno.execPath();

Deno.test("bundle/ is what `deno task bundle` makes from cli/ and lib/ now", async () => {
  const diff = bundleDifferences(await makeBundle(OUR_TOOLS), currentBundle());
  assert.deepEqual(diff, [], `bundle/ is stale: run \`deno task bundle\`\n${diff.join("\n")}`);
});

for (const tool of OUR_TOOLS) {
  Deno.test(`bundled ${tool} answers --help and --version as cli/${tool}.ts does`, async () => {
    for (const arg of ["--help", "--version"]) {
      const run = (entry: string) => runCommand(DENO, ["run", "--allow-net", entry, arg]);
      const source = await run(repoPath(`cli/${tool}.ts`));
      const bundled = await run(repoPath(`bundle/${tool}.js`));
      assert.equal(source.code, 0, show(source));
      assert.deepEqual(bundled, source, `${tool} ${arg}`);
    }
  });
}

Deno.test("bundled echoscu -d loads its dump chunks with --allow-net alone, as the source does", async () => {
  await withTool("echoscp", [], async (port) => {
    for (const entry of ["cli/echoscu.ts", "bundle/echoscu.js"]) {
      const r = await runCommand(DENO, [
        "run",
        "--allow-net",
        repoPath(entry),
        "-d",
        "127.0.0.1",
        String(port),
      ]);
      assert.equal(r.code, 0, `${entry}\n${show(r)}`);
      assert.match(r.stderr, /^D: =+ BEGIN A-ASSOCIATE-AC =+$/m, entry);
      assert.match(r.stderr, /^D: +Abstract Syntax: +=VerificationSOPClass$/m, entry);
      assert.match(r.stderr, /^echoscu: C-ECHO to .*: Success/m, entry);
    }
  });
});

Deno.test("the launcher loads a chunk when the run imports it: -d dumps, TLS with +crl (pkijs)", async () => {
  // bin/echoscu runs Deno with --unstable-lazy-dynamic-imports: chunks are read when imported.
  const p = await sharedTestPki();
  await withTool("echoscp", ["+tls", p.server.key, p.server.cert, "+cf", p.ca], async (port) => {
    const tls = ["+tls", p.client.key, p.client.cert, "+cf", p.ca];
    const run = (args: string[]) =>
      runCommand(repoPath("bin/echoscu"), [...args, "127.0.0.1", String(port)]);
    const dumped = await run(["-d", ...tls]);
    assert.equal(dumped.code, 0, show(dumped));
    assert.match(dumped.stderr, /^D: =+ BEGIN A-ASSOCIATE-AC =+$/m);
    assert.match(dumped.stderr, /^echoscu: C-ECHO to .*: Success/m);
    const ok = await run([...tls, "+crl", p.crl.empty]);
    assert.equal(ok.code, 0, show(ok));
    // The CRL really is parsed (pkijs, imported only here): an expired one fails the check.
    const stale = await run([...tls, "+crl", p.crl.expired]);
    assert.equal(stale.code, 60, show(stale));
    assert.match(stale.stderr, /CRL/);
  });
});

Deno.test("every module a tool can load is in one file of its bundle: no class or state twice", () => {
  // testing/bundle.ts merges a tool's start into one chunk; a module copied into that chunk and
  // also left in a chunk a dynamic import loads would exist twice in one run (instanceof fails
  // across the copies, each keeps its own state). esbuild's `// lib/...` lines name the modules.
  const files = currentBundle();
  for (const tool of OUR_TOOLS) {
    // esbuild repeats a module's line where its code resumes after hoisted imports: count files.
    const where = new Map<string, Set<string>>();
    const seen = new Set<string>();
    const todo = [`${tool}.js`];
    while (todo.length > 0) {
      const f = todo.pop()!;
      if (seen.has(f)) continue;
      seen.add(f);
      const text = files.get(f);
      assert.ok(text !== undefined, `${tool} imports bundle/${f}, which is missing`);
      for (const m of text.matchAll(/(?:^(?:import|export)\s[^"'`;]*?|import\()"\.\/([^"]+)"/gm)) {
        todo.push(m[1]);
      }
      for (const m of text.matchAll(/^\/\/ ((?:lib|cli)\/\S+\.(?:ts|js))$/gm)) {
        where.set(m[1], new Set([...where.get(m[1]) ?? [], f]));
      }
    }
    const twice = [...where].filter(([, fs]) => fs.size > 1).map(([m, fs]) => `${m}: ${[...fs]}`);
    assert.deepEqual(twice, [], tool);
    assert.ok(where.has("lib/ul/association.ts") && where.has(`cli/${tool}.ts`), tool);
  }
});

Deno.test("each launcher, sh and cmd, runs its tool's bundle with the same Deno flags", async () => {
  const flags = (line: string) => line.match(/ run (.*?) "/)?.[1];
  for (const tool of OUR_TOOLS) {
    const sh = (await Deno.readTextFile(repoPath(`bin/${tool}`))).split("\n");
    const cmd = (await Deno.readTextFile(repoPath(`bin/${tool}.cmd`))).split(/\r?\n/);
    const shRun = sh.find((l) => l.startsWith('exec "$DENO" run '));
    const cmdRun = cmd.find((l) => l.startsWith('"%DENO%" run '));
    assert.ok(shRun?.includes(`"$ROOT/bundle/${tool}.js" "$@"`), `bin/${tool}: ${shRun}`);
    assert.ok(cmdRun?.includes(`"%~dp0..\\bundle\\${tool}.js" %*`), `bin/${tool}.cmd: ${cmdRun}`);
    assert.equal(flags(cmdRun!), flags(shRun!), tool);
    // --no-lazy: V8 compiles every function of a file when it loads it, so Deno's code cache
    // holds them all and a run compiles none on its first call (README: "Bundled tools").
    assert.match(
      flags(shRun!)!,
      /^--unstable-lazy-dynamic-imports --v8-flags=--no-lazy(,\S+)? --no-prompt --allow-net /,
    );
  }
});

// README "Bundled tools": storescp and storescu run V8 without Turbofan (Maglev is their top tier),
// the other tools with V8's other defaults (every launcher has --no-lazy). Deno refuses a V8 flag
// it does not know, so each launcher also has to start its tool.
Deno.test("the storescp and storescu launchers, and only they, run V8 with --no-turbofan", async () => {
  for (const tool of OUR_TOOLS) {
    const sh = await Deno.readTextFile(repoPath(`bin/${tool}`));
    const run = sh.split("\n").find((l) => l.startsWith('exec "$DENO" run '))!;
    const v8 = run.match(/ --v8-flags=(\S+) /)?.[1];
    const store = tool === "storescp" || tool === "storescu";
    assert.equal(v8, store ? "--no-lazy,--no-turbofan" : "--no-lazy", `bin/${tool}: ${run}`);
    if (!store) continue;
    const started = await runCommand(repoPath(`bin/${tool}`), ["--version"]);
    assert.equal(started.code, 0, show(started));
    assert.equal(started.stderr, "", show(started));
    assert.match(started.stdout, new RegExp(`${tool} v`));
  }
});
