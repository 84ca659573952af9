/**
 * A reader that goes away (`echoscu --help | head -1`): DCMTK's tools die of
 * SIGPIPE there (the shell reports 141); ours finish what they were doing,
 * drop the output, print no stack trace and exit 141 where they would have
 * exited 0.
 */
import assert from "node:assert/strict";
import { StdStream } from "../../lib/util/std_streams.ts";
import { EXIT_OUTPUT_CLOSED } from "../../lib/cli/common/tool.ts";
import { toolArgv, withTool } from "../../testing/procs.ts";

const TOOLS = ["echoscu", "storescu", "echoscp", "storescp", "findscu", "movescu", "getscu"];

/**
 * Starts a tool whose stdout is a pipe closed by its reader before the tool
 * starts; `onStderr` sees stderr as it grows. Killed after 30 s at most.
 */
function spawnWithStdoutClosed(
  args: string[],
  onStderr: (text: string) => void = () => {},
): { child: Deno.ChildProcess; finished: Promise<{ code: number; stderr: string }> } {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).spawn();
  // Closed long before the child has loaded a module: every write of it finds no reader.
  const closed = child.stdout.cancel();
  const finished = (async () => {
    await closed;
    let stderr = "";
    const dec = new TextDecoder();
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    try {
      for await (const chunk of child.stderr) {
        onStderr(stderr += dec.decode(chunk, { stream: true }));
      }
      return { code: (await child.status).code, stderr };
    } finally {
      clearTimeout(timer);
    }
  })();
  return { child, finished };
}

const runWithStdoutClosed = (args: string[]) => spawnWithStdoutClosed(args).finished;

Deno.test("StdStream: a write that finds the reader gone ends the output, not the caller", () => {
  const written: number[] = [];
  let broken = false;
  const s = new StdStream({
    writeSync(p) {
      if (broken) throw new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
      written.push(p.length);
      return Math.min(p.length, 3);
    },
  });
  s.writeAll("hello");
  assert.deepEqual(written, [5, 2]);
  assert.equal(s.closed, false);
  broken = true;
  s.writeAll("lost");
  assert.equal(s.closed, true);
  broken = false;
  s.writeAll("after");
  assert.deepEqual(written, [5, 2], "nothing is written once the reader was gone");

  const failing = new StdStream({
    writeSync() {
      throw new Deno.errors.PermissionDenied("not a pipe error");
    },
  });
  assert.throws(() => failing.writeAll("x"), Deno.errors.PermissionDenied);
  assert.equal(failing.closed, false);
});

Deno.test("--help and --version into a closed pipe: no stack trace, exit 141 (DCMTK: SIGPIPE)", async () => {
  for (const tool of TOOLS) {
    for (const flag of ["--help", "--version"]) {
      const r = await runWithStdoutClosed([...toolArgv(tool), flag]);
      assert.equal(r.code, EXIT_OUTPUT_CLOSED, `${tool} ${flag}: ${r.stderr}`);
      assert.equal(r.stderr, "", `${tool} ${flag}`);
    }
  }
});

Deno.test("echoscu --json into a closed pipe: the echo and the release happen, exit 141", async () => {
  let client: { code: number; stderr: string } | undefined;
  const server = await withTool("echoscp", [], async (port) => {
    client = await runWithStdoutClosed([...toolArgv("echoscu"), "--json", "127.0.0.1", `${port}`]);
  });
  assert.equal(client!.code, EXIT_OUTPUT_CLOSED, client!.stderr);
  assert.match(client!.stderr, /^echoscu: C-ECHO to .*: Success, round trip/m);
  assert.doesNotMatch(client!.stderr, /BrokenPipe|internal error/);
  assert.ok(server.stdout.includes('"type":"association-released"'), server.stdout);
});

Deno.test("echoscp --json into a closed pipe: serves on, exits 141 when stopped", async () => {
  let ready: (port: number) => void;
  const listening = new Promise<number>((r) => ready = r);
  const server = spawnWithStdoutClosed(
    [...toolArgv("echoscp"), "--json", "--bind", "127.0.0.1", "0"],
    (text) => {
      const m = / listening on 127\.0\.0\.1:(\d+) /.exec(text);
      if (m) ready(Number(m[1]));
    },
  );
  try {
    const port = await Promise.race([
      listening,
      server.finished.then((r) => Promise.reject(new Error(`echoscp ended: ${r.stderr}`))),
    ]);
    const echo = new Deno.Command(Deno.execPath(), {
      args: [...toolArgv("echoscu"), "127.0.0.1", `${port}`],
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    });
    for (let i = 0; i < 2; i++) {
      const r = await echo.output();
      assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    }
  } finally {
    server.child.kill("SIGTERM");
  }
  const r = await server.finished;
  assert.equal(r.code, EXIT_OUTPUT_CLOSED, r.stderr);
  assert.match(r.stderr, /Served 2 associations/);
  assert.doesNotMatch(r.stderr, /BrokenPipe|internal error/);
});
