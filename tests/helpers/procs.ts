/**
 * Test helpers for processes: our CLI tools run with `deno run`, DCMTK's
 * tools when installed, each started process stopped by its own handle.
 */

const ROOT = new URL("../../", import.meta.url);
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

/** Runs one of our CLI tools (cli/<tool>.ts) to completion. */
export async function runTool(tool: string, args: string[], timeoutMs = 30_000): Promise<Finished> {
  return await runCommand(Deno.execPath(), [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-sys",
    repoPath(`cli/${tool}.ts`),
    ...args,
  ], timeoutMs);
}

/** Runs any command to completion, killing it after `timeoutMs`. */
export async function runCommand(
  cmd: string,
  args: string[],
  timeoutMs = 30_000,
): Promise<Finished> {
  const child = new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    const out = await child.output();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** A long-running process whose output is collected while it runs. */
export class Background {
  readonly #child: Deno.ChildProcess;
  #stdout = "";
  #stderr = "";
  readonly #pumps: Promise<void>[];

  constructor(cmd: string, args: string[]) {
    this.#child = new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.#pumps = [
      this.#pump(this.#child.stdout, (s) => (this.#stdout += s)),
      this.#pump(this.#child.stderr, (s) => (this.#stderr += s)),
    ];
  }

  async #pump(stream: ReadableStream<Uint8Array>, add: (s: string) => void): Promise<void> {
    for await (const chunk of stream) add(decoder.decode(chunk, { stream: true }));
  }

  get stdout(): string {
    return this.#stdout;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Waits (bounded) until `pred` holds on the output so far. */
  async waitFor(pred: (b: Background) => boolean, timeoutMs = 15_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred(this)) {
      if (Date.now() > end) {
        throw new Error(`timed out waiting; stdout:\n${this.#stdout}\nstderr:\n${this.#stderr}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends a signal and waits for exit; returns the exit status. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      this.#child.kill(signal);
    } catch {
      // Already exited.
    }
    const status = await this.#child.status;
    await Promise.all(this.#pumps);
    return status;
  }

  /** Waits for the process to exit on its own. */
  async exited(): Promise<Deno.CommandStatus> {
    const status = await this.#child.status;
    await Promise.all(this.#pumps);
    return status;
  }
}

/** Starts our echoscp (or another server tool) on an ephemeral port and waits until it listens. */
export async function startTool(
  tool: string,
  args: string[],
): Promise<{ proc: Background; port: number }> {
  const proc = new Background(Deno.execPath(), [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-sys",
    repoPath(`cli/${tool}.ts`),
    "--json",
    ...args,
    "0",
  ]);
  let port = 0;
  await proc.waitFor((b) => {
    const m = b.stdout.match(/"event":"listening"[^}]*"port":(\d+)/);
    if (m) port = Number(m[1]);
    return port > 0 || /exited|error/i.test(b.stderr);
  });
  if (port === 0) {
    await proc.stop();
    throw new Error(`${tool} did not start: ${proc.stderr}`);
  }
  return { proc, port };
}

/** A free TCP port on 127.0.0.1, chosen by the OS (for peers that cannot report their port). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Waits (bounded) until something accepts TCP connections on the port. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
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
 * Whether DCMTK's tools are available. In CI (DIMSE_REQUIRE_DCMTK=1 or
 * CI=true) a missing DCMTK is a failure, not a skip.
 */
export function dcmtkAvailable(): boolean {
  const have = ["echoscu", "storescp"].every(onPath);
  const required = Deno.env.get("DIMSE_REQUIRE_DCMTK") === "1" || Deno.env.get("CI") === "true";
  if (!have && required) {
    throw new Error("DCMTK (echoscu, storescp) is required for interop tests but is not installed");
  }
  if (!have) {
    console.warn("DCMTK not installed: interop tests skipped (apt-get install -y dcmtk)");
  }
  return have;
}
