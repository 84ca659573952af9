/**
 * Test helpers for processes: our CLI tools run with `deno run`, DCMTK's
 * tools when installed, each started process stopped by its own handle.
 */

import { auditToolStdout, ourTool } from "./json_lines.ts";

const ROOT = new URL("../", import.meta.url);
const decoder = new TextDecoder();

/** Absolute path of a file in the repository. */
export function repoPath(rel: string): string {
  return new URL(rel, ROOT).pathname;
}

/** Result of a finished process. */
export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/** A finished process for an assertion message: its exit code, stdout and stderr. */
export function show(r: Finished): string {
  return `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

/** `deno run` arguments that start one of our CLI tools (cli/<tool>.ts). */
export function toolArgv(tool: string): string[] {
  const perms = ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys"];
  return ["run", ...perms, repoPath(`cli/${tool}.ts`)];
}

/** Runs one of our CLI tools (cli/<tool>.ts) to completion; `input` is piped to its stdin. */
export async function runTool(
  tool: string,
  args: string[],
  timeoutMs = 30_000,
  input?: string,
): Promise<Finished> {
  return await runCommand(Deno.execPath(), [...toolArgv(tool), ...args], timeoutMs, input);
}

/** Runs any command to completion, killing it after `timeoutMs`; `input` is piped to its stdin. */
export async function runCommand(
  cmd: string,
  args: string[],
  timeoutMs = 30_000,
  input?: string,
): Promise<Finished> {
  const child = new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    stdin: input === undefined ? "null" : "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  if (input !== undefined) {
    const w = child.stdin.getWriter();
    try {
      await w.write(new TextEncoder().encode(input));
      await w.close();
    } catch {
      // The process exited without reading its input.
    }
  }
  let finished: Finished;
  try {
    const out = await child.output();
    finished = {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
  // Every JSON line our tools print is checked against its schema (schemas/v1).
  if (ourTool(args)) auditToolStdout(args, finished.stdout);
  return finished;
}

/** A long-running process whose output is collected while it runs. */
export class Background {
  readonly #child: Deno.ChildProcess;
  #stdout = "";
  #stderr = "";
  readonly #pumps: Promise<void>[];
  readonly #args: string[];
  #status: Deno.CommandStatus | undefined;

  /** `opts.env` adds to NO_COLOR=1; `opts.cwd` is the working directory. */
  constructor(
    cmd: string,
    args: string[],
    opts: { cwd?: string; env?: Record<string, string> } = {},
  ) {
    this.#args = args;
    this.#child = new Deno.Command(cmd, {
      args,
      cwd: opts.cwd,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
      env: { NO_COLOR: "1", ...opts.env },
    }).spawn();
    this.#child.status.then((s) => this.#status = s);
    this.#pumps = [
      this.#pump(this.#child.stdout, (s) => (this.#stdout += s)),
      this.#pump(this.#child.stderr, (s) => (this.#stderr += s)),
    ];
  }

  async #pump(stream: ReadableStream<Uint8Array>, add: (s: string) => void): Promise<void> {
    const dec = new TextDecoder();
    for await (const chunk of stream) add(dec.decode(chunk, { stream: true }));
  }

  get pid(): number {
    return this.#child.pid;
  }

  get stdout(): string {
    return this.#stdout;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** The exit status once the process has exited, else undefined. */
  get status(): Deno.CommandStatus | undefined {
    return this.#status;
  }

  /** Complete stderr lines so far. */
  stderrLines(): string[] {
    return completeLines(this.#stderr);
  }

  /** The JSON objects of the complete stdout lines that parse as JSON (--json events). */
  events(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const line of completeLines(this.#stdout)) {
      try {
        out.push(JSON.parse(line));
      } catch {
        // Not an event line.
      }
    }
    return out;
  }

  /** Waits (bounded) until `pred` holds on the output so far; fails early if the process exits. */
  async waitFor(pred: (b: Background) => boolean, timeoutMs = 15_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred(this)) {
      if (this.#status !== undefined) {
        // Let the pumps drain the last output before judging.
        await Promise.all(this.#pumps);
        if (pred(this)) return;
        throw new Error(
          `process exited (code ${this.#status.code}) while waiting; stdout:\n${this.#stdout}\n` +
            `stderr:\n${this.#stderr}`,
        );
      }
      if (Date.now() > end) {
        throw new Error(`timed out waiting; stdout:\n${this.#stdout}\nstderr:\n${this.#stderr}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Waits (bounded) until some --json event satisfies `pred`; returns it. */
  async waitForEvent(
    pred: (e: Record<string, unknown>) => boolean,
    timeoutMs = 15_000,
  ): Promise<Record<string, unknown>> {
    let hit: Record<string, unknown> | undefined;
    await this.waitFor(() => (hit = this.events().find(pred)) !== undefined, timeoutMs);
    return hit!;
  }

  /** Sends a signal without waiting (a process may still be running). */
  kill(signal: Deno.Signal): void {
    this.#child.kill(signal);
  }

  /**
   * Sends a signal and waits for exit; returns the exit status. A process
   * still running after `killAfterMs` gets SIGKILL, so a test never hangs here.
   */
  async stop(signal: Deno.Signal = "SIGTERM", killAfterMs = 15_000): Promise<Deno.CommandStatus> {
    try {
      this.#child.kill(signal);
    } catch {
      // Already exited.
    }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Exited meanwhile.
      }
    }, killAfterMs);
    let status: Deno.CommandStatus;
    try {
      status = await this.#child.status;
      await Promise.all(this.#pumps);
    } finally {
      clearTimeout(timer);
    }
    this.#audit();
    return status;
  }

  /** Waits for the process to exit on its own. */
  async exited(): Promise<Deno.CommandStatus> {
    const status = await this.#child.status;
    await Promise.all(this.#pumps);
    this.#audit();
    return status;
  }

  /** Every JSON line one of our tools printed is checked against its schema (schemas/v1). */
  #audit(): void {
    if (ourTool(this.#args)) auditToolStdout(this.#args, this.#stdout);
  }
}

/** The complete (newline-terminated) lines of `text`. */
export function completeLines(text: string): string[] {
  const lines = text.split("\n");
  lines.pop();
  return lines;
}

/** How many lines of `text` match `re`. */
export function countLines(text: string, re: RegExp): number {
  return text.split("\n").filter((l) => re.test(l)).length;
}

/** Starts our echoscp (or another server tool) on an ephemeral port and waits until it listens. */
export async function startTool(
  tool: string,
  args: string[],
  timeoutMs = 30_000,
): Promise<{ proc: Background; port: number }> {
  const proc = new Background(Deno.execPath(), [
    ...toolArgv(tool),
    "--json",
    ...args,
    "0",
  ]);
  let port = 0;
  // The ready line (stderr) is written with the listening line (stdout), but read on its own:
  // wait for it too, so that a test counting stderr lines from here on does not count it.
  const silenced = args.some((a) =>
    ["-q", "--quiet", "-ll", "--log-level", "-lc", "--log-config"].includes(a)
  );
  try {
    const ev = await proc.waitForEvent((e) => e.type === "listening", timeoutMs);
    port = Number(ev.port);
    if (!silenced) await proc.waitFor((p) => / listening on /.test(p.stderr), timeoutMs);
  } catch (err) {
    await proc.stop("SIGKILL");
    throw new Error(`${tool} did not start: ${err instanceof Error ? err.message : err}`);
  }
  return { proc, port };
}

/**
 * Runs `fn` against one of our server tools started (startTool) with
 * `--bind 127.0.0.1` and `args`, always stopping it (SIGTERM); once `fn`
 * succeeded, returns how the server ended.
 */
export async function withTool(
  tool: string,
  args: string[],
  fn: (port: number, proc: Background) => Promise<void>,
): Promise<Finished> {
  const { proc, port } = await startTool(tool, ["--bind", "127.0.0.1", ...args]);
  try {
    await fn(port, proc);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const { code } = await proc.stop();
  return { code, stdout: proc.stdout, stderr: proc.stderr };
}

/**
 * Starts DCMTK's storescp on a port the OS chose (storescp cannot report
 * its own), retrying with another port if that one was taken meanwhile.
 * `args` come before the port. Stop it with `proc.stop()`.
 */
export async function startStorescp(args: string[]): Promise<{ proc: Background; port: number }> {
  let last = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = freePort();
    const proc = new Background("storescp", [...args, String(port)]);
    try {
      await waitForPort(port, 10_000, () => proc.status !== undefined);
      return { proc, port };
    } catch (err) {
      await proc.stop("SIGKILL");
      last = `${err instanceof Error ? err.message : err}; stderr: ${proc.stderr}`;
    }
  }
  throw new Error(`storescp did not start: ${last}`);
}

/** A free TCP port on 127.0.0.1, chosen by the OS (for peers that cannot report their port). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Waits (bounded) until something accepts TCP connections on the port;
 * `gaveUp` ends the wait early (e.g. when the server process exited).
 */
export async function waitForPort(
  port: number,
  timeoutMs = 10_000,
  gaveUp: () => boolean = () => false,
  hostname = "127.0.0.1",
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const c = await Deno.connect({ hostname, port });
      c.close();
      return;
    } catch {
      if (gaveUp()) throw new Error(`the server on port ${port} exited before listening`);
      if (Date.now() > end) throw new Error(`nothing listens on port ${port}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

function onPath(cmd: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${cmd}`).isFile) return true;
    } catch {
      // Not in this directory.
    }
  }
  return false;
}

/**
 * Whether DCMTK's tools are available (by default echoscu and storescp;
 * `tools` names others, e.g. findscu, dcmqrscp). In CI (DIMSE_REQUIRE_DCMTK=1
 * or CI=true) a missing tool is a failure, not a skip.
 */
export function dcmtkAvailable(tools: readonly string[] = ["echoscu", "storescp"]): boolean {
  const missing = tools.filter((t) => !onPath(t));
  const required = Deno.env.get("DIMSE_REQUIRE_DCMTK") === "1" || Deno.env.get("CI") === "true";
  if (missing.length > 0 && required) {
    throw new Error(
      `DCMTK (${missing.join(", ")}) is required for interop tests but is not installed`,
    );
  }
  if (missing.length > 0) {
    console.warn(
      `DCMTK ${missing.join(", ")} not installed: interop tests skipped (apt-get install -y dcmtk)`,
    );
  }
  return missing.length === 0;
}
