/**
 * The README's command lines run as printed (issue 16 item 1): every line
 * of its "commands" block, the least-privilege `deno run` lines and the
 * bin/ launchers, runs with exactly its flags, stdin closed, from the
 * checkout, with $PEER, $PORT, $FILES and $DIR set: clients against our
 * storescp, servers answering our echoscu and storescu from the same block.
 * None may need a permission it lacks. And every tool names a missing Deno
 * permission as such (exit 2), never as a network or file failure.
 */
import assert from "node:assert/strict";
import { writeImageFile } from "../../testing/dicom_files.ts";
import { auditToolStdout } from "../../testing/json_lines.ts";
import {
  Background,
  type Finished,
  freePort,
  repoPath,
  show,
  waitForPort,
  withTool,
} from "../../testing/procs.ts";
import { withTempDir } from "../../testing/temp_files.ts";

const README = await Deno.readTextFile(repoPath("README.md"));
const MARK = "<!-- commands: tests/cli/readme_commands.test.ts runs every line of this block -->";

/** The lines of the fenced block after the marker. */
function commandBlock(): string[] {
  const at = README.indexOf(MARK);
  assert.ok(at >= 0, "the README marks its commands block");
  const rest = README.slice(at + MARK.length);
  const open = rest.indexOf("```sh\n");
  const close = rest.indexOf("\n```", open + 6);
  return rest.slice(open + 6, close).split("\n").filter((l) => l.trim() !== "");
}

/** Every line of a ```sh block anywhere in the README that runs a tool with Deno flags. */
function toolLines(): string[] {
  const out: string[] = [];
  for (const block of README.split("```sh\n").slice(1)) {
    for (const line of block.slice(0, block.indexOf("\n```")).split("\n")) {
      const cmd = line.replace(/\s+#.*$/, "").trim();
      if (/^deno run .*cli\//.test(cmd) || /^bin\//.test(cmd)) out.push(cmd);
    }
  }
  return out;
}

/** The environment of a README line: the variables, and a PATH with this Deno on it. */
function env(vars: Record<string, string>): Record<string, string> {
  const denoDir = Deno.execPath().replace(/[\\/][^\\/]*$/, "");
  return { ...vars, PATH: `${denoDir}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}` };
}

/** Runs one README line through sh, from the checkout, stdin closed. */
async function sh(line: string, vars: Record<string, string>): Promise<Finished> {
  const out = await new Deno.Command("sh", {
    args: ["-c", `exec ${line}`],
    cwd: repoPath(""),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env(vars) },
  }).output();
  const d = new TextDecoder();
  const r = { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
  // As every run of our tools in the suite: its JSON lines are checked (schemas/v1).
  auditToolStdout(line.split(/\s+/), r.stdout);
  return r;
}

const tool = (line: string) => /(?:cli|bin)\/(\w+)/.exec(line)![1];
const isServer = (line: string) => /scp\b/.test(tool(line));

Deno.test("every README line that runs a tool with Deno flags is in the tested block", () => {
  const block = commandBlock();
  assert.ok(block.length >= 8, block.join("\n"));
  for (const line of toolLines()) assert.ok(block.includes(line), `untested README line: ${line}`);
  for (const t of ["echoscu", "storescu", "echoscp", "storescp"]) {
    assert.ok(block.some((l) => l.startsWith("deno run") && tool(l) === t), `deno run ${t}`);
    assert.ok(block.some((l) => l.startsWith("bin/") && tool(l) === t), `bin/${t}`);
  }
});

Deno.test("the README's client lines run with exactly their flags against our storescp", () =>
  withTempDir("dimse_readme_", async (dir) => {
    const files = [`${dir}/a.dcm`, `${dir}/b.dcm`];
    for (const [i, f] of files.entries()) {
      await writeImageFile(f, { rows: 4, cols: 4, sopInstanceUid: `1.2.3.16.1.${i + 1}` });
    }
    await Deno.mkdir(`${dir}/od`);
    await withTool("storescp", ["-od", `${dir}/od`], async (port) => {
      const vars = { PEER: "127.0.0.1", PORT: String(port), FILES: files.join(" "), DIR: dir };
      for (const line of commandBlock().filter((l) => !isServer(l))) {
        const r = await sh(line, vars);
        assert.equal(r.code, 0, `${line}\n${show(r)}`);
        assert.doesNotMatch(r.stderr, /Deno permission|Requires \w+ access/, line);
        assert.match(r.stderr, new RegExp(`^${tool(line)}: .*(Success|2 stored)`, "m"), line);
      }
    });
  }));

Deno.test("the README's server lines run with exactly their flags and serve the README's clients", () =>
  withTempDir("dimse_readme_", async (dir) => {
    const file = `${dir}/in.dcm`;
    await writeImageFile(file, { rows: 4, cols: 4, sopInstanceUid: "1.2.3.16.1.9" });
    const block = commandBlock();
    const echo = block.find((l) => l.startsWith("deno run") && tool(l) === "echoscu")!;
    const store = block.find((l) => l.startsWith("deno run") && tool(l) === "storescu")!;
    for (const line of block.filter(isServer)) {
      const od = await Deno.makeTempDir({ dir, prefix: "od-" });
      const vars = { PEER: "127.0.0.1", PORT: String(freePort()), FILES: file, DIR: od };
      const server = new Background("sh", ["-c", `exec ${line}`], {
        cwd: repoPath(""),
        env: env(vars),
      });
      try {
        await waitForPort(Number(vars.PORT), 20_000, () => server.status !== undefined);
        const e = await sh(echo, vars);
        assert.equal(e.code, 0, `${echo}\n${show(e)}`);
        if (tool(line) === "storescp") {
          const s = await sh(store, vars);
          assert.equal(s.code, 0, `${store}\n${show(s)}`);
          assert.deepEqual([...Deno.readDirSync(od)].map((x) => x.name), ["MR.1.2.3.16.1.9"]);
        }
      } finally {
        const status = await server.stop("SIGTERM");
        assert.equal(status.code, 0, `${line}\n${server.stderr}`);
        assert.doesNotMatch(server.stderr, /Deno permission|Requires \w+ access/, line);
      }
    }
  }));

Deno.test("a missing Deno permission is named with its flag and what for, exit 2, before any work", () =>
  withTempDir("dimse_perm_", async (dir) => {
    const file = `${dir}/a.dcm`;
    await writeImageFile(file, { rows: 4, cols: 4 });
    const run = async (flags: string[], t: string, args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", ...flags, repoPath(`cli/${t}.ts`), ...args],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      const d = new TextDecoder();
      const r = { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
      auditToolStdout(args, r.stdout);
      return r;
    };
    const port = String(freePort());
    const cases: [string[], string, string[], RegExp][] = [
      [
        [],
        "echoscu",
        ["127.0.0.1", port],
        /needs --allow-net \(Deno permission\) for 127\.0\.0\.1:/,
      ],
      [[], "echoscu", ["localhost", port], /needs --allow-net \(Deno permission\) for localhost/],
      [
        ["--allow-net"],
        "echoscu",
        [`@${dir}/args`, "127.0.0.1", port],
        /needs --allow-read .* for .*args/,
      ],
      [
        ["--allow-net"],
        "storescu",
        ["127.0.0.1", port, file],
        /needs --allow-read .* for .*a\.dcm/,
      ],
      [
        ["--allow-net", "--allow-read"],
        "storescu",
        ["+rn", "127.0.0.1", port, file],
        /needs --allow-write .* for .*a\.dcm/,
      ],
      [[], "echoscp", [port], /needs --allow-net \(Deno permission\) for 0\.0\.0\.0:/],
      [
        ["--allow-net", "--allow-read"],
        "storescp",
        ["-od", dir, port],
        /needs --allow-write \(Deno permission\) for /,
      ],
      [
        ["--allow-net"],
        "echoscu",
        ["+tla", "+cf", `${dir}/ca.pem`, "127.0.0.1", port],
        /needs --allow-read .* for .*ca\.pem/,
      ],
    ];
    await Deno.writeTextFile(`${dir}/args`, "-v\n");
    for (const [flags, t, args, cause] of cases) {
      const r = await run(flags, t, args);
      const what = `${t} ${flags.join(" ")} ${args.join(" ")}`;
      assert.equal(r.code, 2, `${what}\n${show(r)}`);
      assert.match(r.stderr, cause, what);
      assert.doesNotMatch(r.stderr, /check the host|does not exist|not writeable|Uncaught/, what);
    }
  }));
