/**
 * Processes for the benchmark, measured from outside: a client run to its
 * end (wall time; user and system CPU from getrusage(RUSAGE_CHILDREN), to
 * the microsecond; peak RSS from GNU time), and a server whose CPU (utime,
 * stime and its reaped children's, /proc/PID/stat, in 10 ms ticks) and
 * peak RSS (VmHWM, /proc/PID/status) are read while it runs.
 *
 * Linux only (/proc, glibc's getrusage through FFI). Needs `--allow-all`:
 * Deno lets only that read another process's /proc entries.
 *
 * @module
 */
import { freePort, repoPath, waitForPort } from "../testing/procs.ts";

/** The Deno binary running this script, for our tools. */
export const DENO = Deno.execPath();

/** A command to start: program, arguments, extra environment. */
export interface ProcSpec {
  cmd: string;
  args: string[];
  env?: Record<string, string>;
}

/**
 * One of our tools as users run it: its launcher bin/<tool> (README: "Install and run"), which
 * starts Deno on the bundled tool (bundle/<tool>.js) with the tool's permissions. The launcher
 * execs Deno, so the process measured (and signalled) is the tool itself.
 */
export function ours(tool: string, args: string[]): ProcSpec {
  return { cmd: repoPath(`bin/${tool}`), args };
}

/** One of DCMTK's tools with TCP_NODELAY=1, its fastest setting. */
export function dcmtk(tool: string, args: string[]): ProcSpec {
  return { cmd: tool, args, env: { TCP_NODELAY: "1" } };
}

/** A Deno script of this folder, with every permission (scripts/<name>). */
export function script(name: string, args: string[]): ProcSpec {
  return {
    cmd: DENO,
    args: ["run", "--allow-all", new URL(name, import.meta.url).pathname, ...args],
  };
}

/** CPU time in ms. */
export interface Cpu {
  userMs: number;
  sysMs: number;
}

const RUSAGE_CHILDREN = -1;
let libc: Deno.DynamicLibrary<{ getrusage: { parameters: ["i32", "buffer"]; result: "i32" } }>;

/**
 * CPU of all children waited for so far (getrusage(2), struct rusage of
 * 64-bit Linux: two timevals, then longs). A child's share is the
 * difference across its run, as long as no other child is reaped meanwhile.
 */
export function childrenCpu(): Cpu {
  libc ??= Deno.dlopen("libc.so.6", {
    getrusage: { parameters: ["i32", "buffer"], result: "i32" },
  });
  const ru = new BigInt64Array(18);
  if (libc.symbols.getrusage(RUSAGE_CHILDREN, new Uint8Array(ru.buffer)) !== 0) {
    throw new Error("getrusage(RUSAGE_CHILDREN) failed");
  }
  return {
    userMs: Number(ru[0]) * 1e3 + Number(ru[1]) / 1e3,
    sysMs: Number(ru[2]) * 1e3 + Number(ru[3]) / 1e3,
  };
}

/** What a finished client run cost. */
export interface Measured {
  wallMs: number;
  userMs: number;
  sysMs: number;
  /** Peak resident set (ru_maxrss of the process, from GNU time), MB. */
  peakMb: number;
}

function childrenOf(pid: number): number[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/)
      .filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Runs `spec` to its end under GNU time (for the peak RSS) and measures it;
 * a non-zero exit or a run over `timeoutMs` (the tool is killed) throws
 * with the tail of its stderr. The wall time and CPU include GNU time's own
 * start (about 1 ms, the same for every tool).
 */
export async function runMeasured(spec: ProcSpec, timeoutMs = 600_000): Promise<Measured> {
  const rssFile = await Deno.makeTempFile({ prefix: "dimse-bench-rss-" });
  try {
    const before = childrenCpu();
    const t0 = performance.now();
    const child = new Deno.Command("/usr/bin/time", {
      args: ["-f", "%M", "-o", rssFile, spec.cmd, ...spec.args],
      env: spec.env,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // GNU time waits for its child: stop the tool itself (ours by its id), and time exits.
      for (const pid of childrenOf(child.pid)) Deno.kill(pid, "SIGKILL");
    }, timeoutMs);
    const out = await child.output();
    clearTimeout(timer);
    const wallMs = performance.now() - t0;
    const after = childrenCpu();
    const stderr = tail(new TextDecoder().decode(out.stderr));
    if (timedOut) throw new Error(`${name(spec)} ran over ${timeoutMs / 1000} s: ${stderr}`);
    if (out.code !== 0) throw new Error(`${name(spec)} exited ${out.code}: ${stderr}`);
    const kb = Number((await Deno.readTextFile(rssFile)).trim().split("\n").at(-1));
    return {
      wallMs,
      userMs: after.userMs - before.userMs,
      sysMs: after.sysMs - before.sysMs,
      peakMb: kb / 1024,
    };
  } finally {
    await Deno.remove(rssFile);
  }
}

function name(spec: ProcSpec): string {
  const tool = [spec.cmd, ...spec.args].find((a) =>
    /\/bin\/\w+$/.test(a) || /\/scripts\/\w+\.ts$/.test(a)
  );
  return tool ? `our ${tool.split("/").at(-1)!.replace(/\.ts$/, "")}` : spec.cmd;
}

function tail(s: string): string {
  const t = s.trim();
  return t.length > 2000 ? `...${t.slice(-2000)}` : t;
}

/** Clock ticks per second of /proc/PID/stat (USER_HZ: 100 on every Linux architecture Deno runs on). */
const USER_HZ = 100;

/** A server process started for one measurement; stop it with `stop()`. */
export class Server {
  #stderr = "";
  readonly #pump: Promise<void>;
  #exited = false;

  private constructor(readonly child: Deno.ChildProcess, readonly port: number) {
    this.#pump = (async () => {
      const dec = new TextDecoder();
      for await (const c of child.stderr) {
        this.#stderr = (this.#stderr + dec.decode(c)).slice(-4000);
      }
    })();
    child.status.then(() => (this.#exited = true));
  }

  /**
   * Starts `make(port)` on a free port and waits until it accepts
   * connections (another port, up to three times, if that one was taken).
   */
  static async start(make: (port: number) => ProcSpec): Promise<Server> {
    let last = "";
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = freePort();
      const spec = make(port);
      const child = new Deno.Command(spec.cmd, {
        args: spec.args,
        env: spec.env,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const server = new Server(child, port);
      try {
        await waitForPort(port, 30_000, () => server.#exited);
        return server;
      } catch (err) {
        await server.stop();
        last = `${name(spec)}: ${err instanceof Error ? err.message : err}: ${
          tail(server.#stderr)
        }`;
      }
    }
    throw new Error(`server did not start: ${last}`);
  }

  /** CPU so far, its reaped children included (/proc/PID/stat, 10 ms resolution). */
  cpu(): Cpu {
    const stat = Deno.readTextFileSync(`/proc/${this.child.pid}/stat`);
    // Fields after "(comm) ": state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
    const tick = 1000 / USER_HZ;
    return { userMs: (f[11] + f[13]) * tick, sysMs: (f[12] + f[14]) * tick };
  }

  /** Peak resident set so far (VmHWM), MB; its children not included. */
  peakMb(): number {
    const status = Deno.readTextFileSync(`/proc/${this.child.pid}/status`);
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
  }

  /** The last lines it wrote to stderr. */
  get stderr(): string {
    return tail(this.#stderr);
  }

  /** SIGTERM, SIGKILL after 10 s; waits for it to exit. */
  async stop(): Promise<void> {
    if (!this.#exited) {
      try {
        this.child.kill("SIGTERM");
      } catch {
        // Exited meanwhile.
      }
    }
    const timer = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch {
        // Exited meanwhile.
      }
    }, 10_000);
    await this.child.status;
    clearTimeout(timer);
    await this.#pump;
  }
}

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The machine's load averages and core count, to say how loaded a run was. */
export function machineLoad(): { loadavg: number[]; cores: number } {
  const loadavg = Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).map(Number);
  return { loadavg, cores: navigator.hardwareConcurrency };
}
