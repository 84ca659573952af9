/**
 * The README's entry points and the packaging tasks: demo, deno bundle of
 * each tool, and deno compile (which either builds, or says in one line that
 * the runtime base binary cannot be had).
 */
import assert from "node:assert/strict";
import { repoPath, runCommand } from "../../testing/procs.ts";
import { compileArgs } from "../../testing/compile.ts";

const TOOLS = ["echoscu", "echoscp", "storescu", "storescp", "findscu", "movescu", "getscu"];

const DENO = Deno.execPath();

Deno.test("demo: our storescu sends synthetic images to our storescp; they arrive intact", async () => {
  const r = await runCommand(DENO, [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-sys",
    repoPath("cli/demo.ts"),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^storescp listening on 127\.0\.0\.1:\d+/m);
  assert.match(r.stdout, /C-ECHO Success over LittleEndianExplicit/);
  assert.match(
    r.stdout,
    /C-STORE 3 of 3 files Success \(1\.6 MB, [\d.]+ MB\/s\); stored files equal/,
  );
  assert.equal((r.stderr.match(/I: Received Store Response \(Success\)/g) ?? []).length, 3);
});

for (const tool of TOOLS) {
  Deno.test(`deno bundle ${tool}: the bundle runs and prints its help`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const out = `${dir}/${tool}.js`;
      const b = await runCommand(DENO, ["bundle", "-o", out, repoPath(`cli/${tool}.ts`)], 120_000);
      assert.equal(b.code, 0, b.stderr);
      const r = await runCommand(DENO, ["run", "-A", out, "--help"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^usage: ${tool} \\[options\\]`, "m"));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("deno task compile: builds, or fails with one clear line about the base binary", async () => {
  const dist = repoPath("dist/echoscu-x86_64-unknown-linux-gnu");
  const r = await runCommand(DENO, [
    "run",
    "-A",
    repoPath("scripts/compile.ts"),
    "--target",
    "x86_64-unknown-linux-gnu",
    "--tool",
    "echoscu",
  ], 300_000);
  if (r.code === 0) {
    const v = await runCommand(dist, ["--version"]);
    assert.equal(v.code, 0);
    assert.match(v.stdout, /echoscu v/);
  } else {
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0],
      /^compile: cannot get Deno's runtime base binary \(denort .*x86_64-unknown-linux-gnu\)/,
    );
  }
});

Deno.test("deno task compile: an unknown target is a one-line error", async () => {
  const r = await runCommand(DENO, [
    "run",
    "-A",
    repoPath("scripts/compile.ts"),
    "--target",
    "pdp11",
  ]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr.trim(),
    /^compile: unknown target 'pdp11' \(one of: x86_64-unknown-linux-gnu, /,
  );
});

Deno.test("deno task compile: each executable gets its launcher's V8 flags", () => {
  for (
    const tool of ["echoscu", "echoscp", "storescu", "storescp", "findscu", "movescu", "getscu"]
  ) {
    const args = compileArgs(tool, "x86_64-unknown-linux-gnu", `dist/${tool}`);
    const v8 = args.filter((a) => a.startsWith("--v8-flags="));
    const store = tool === "storescp" || tool === "storescu";
    assert.deepEqual(v8, [store ? "--v8-flags=--no-lazy,--no-turbofan" : "--v8-flags=--no-lazy"]);
    assert.equal(args.at(-1), `cli/${tool}.ts`);
  }
});
