/**
 * Benchmarks, side by side with DCMTK in the same run, reported as ratios.
 *
 * Echo: against one peer (DCMTK storescp, then our echoscp), for our echoscu
 * and DCMTK's echoscu:
 *   - whole-process time of one echo (median of `--runs` runs);
 *   - echo round trip: (time of --repeat N+1 minus time of --repeat 1) / N,
 *     so process start-up and association setup cancel out (median of runs);
 *     N is 20 for DCMTK without TCP_NODELAY, whose every echo waits ~40 ms.
 * DCMTK runs once with its defaults and once with TCP_NODELAY=1 (its fastest).
 *
 * Run through `deno task bench` (scripts/bench.ts): `--runs 9 --repeat 2000`.
 *
 * @module
 */

import { freePort, toolArgv, waitForPort } from "../tests/helpers/procs.ts";
import type { TlsArgs } from "./bench_tls.ts";

const DENO = Deno.execPath();

interface Cmd {
  name: string;
  argv: string[];
  env?: Record<string, string>;
  /** Echoes per timed association; fewer for a client that waits 40 ms per echo (Nagle). */
  repeat: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function timeOnce(cmd: Cmd, extra: string[]): Promise<number> {
  const t = performance.now();
  const out = await new Deno.Command(cmd.argv[0], {
    args: [...cmd.argv.slice(1), ...extra],
    stdout: "null",
    stderr: "piped",
    env: cmd.env,
  }).output();
  const ms = performance.now() - t;
  if (out.code !== 0) {
    throw new Error(`${cmd.name} exited ${out.code}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return ms;
}

async function measure(cmd: Cmd, port: number, runs: number) {
  const peer = ["127.0.0.1", String(port)];
  await timeOnce(cmd, peer); // warm caches (Deno's module cache, the page cache)
  const single: number[] = [];
  const rtt: number[] = [];
  for (let i = 0; i < runs; i++) {
    const one = await timeOnce(cmd, peer);
    const many = await timeOnce(cmd, ["--repeat", String(cmd.repeat + 1), ...peer]);
    single.push(one);
    rtt.push((many - one) / cmd.repeat);
  }
  return { name: cmd.name, processMs: median(single), rttUs: median(rtt) * 1000 };
}

interface Peer {
  name: string;
  start(port: number, tls: string[]): Deno.ChildProcess;
}

const PEERS: Peer[] = [
  {
    name: "DCMTK storescp (TCP_NODELAY=1)",
    start: (port, tls) =>
      new Deno.Command("storescp", {
        args: ["--ignore", ...tls, String(port)],
        env: { TCP_NODELAY: "1" },
        stdout: "null",
        stderr: "null",
      }).spawn(),
  },
  {
    name: "our echoscp",
    start: (port, tls) =>
      new Deno.Command(DENO, {
        args: [...toolArgv("echoscp"), "--bind", "127.0.0.1", ...tls, String(port)],
        stdout: "null",
        stderr: "null",
      }).spawn(),
  },
];

const clients = (repeat: number, tls: string[]): Cmd[] => [
  { name: "our echoscu", argv: [DENO, ...toolArgv("echoscu"), ...tls], repeat },
  { name: "DCMTK echoscu (default)", argv: ["echoscu", ...tls], repeat: Math.min(repeat, 20) },
  {
    name: "DCMTK echoscu (TCP_NODELAY=1)",
    argv: ["echoscu", ...tls],
    env: { TCP_NODELAY: "1" },
    repeat,
  },
];

/** Runs the echo benchmark against each peer; prints a table and ratios, returns the rows. */
export async function benchEcho(
  args: string[],
  tls: TlsArgs,
): Promise<Record<string, unknown>[]> {
  const flag = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const runs = flag("--runs", 9);
  const repeat = flag("--repeat", 2000);
  const report: Record<string, unknown>[] = [];
  console.log(
    `echo benchmark${tls.client.length ? " over TLS" : ""}: ${runs} runs each, ` +
      `round trip from --repeat ${repeat + 1} vs 1`,
  );
  for (const peer of PEERS) {
    const port = freePort();
    const proc = peer.start(port, tls.server);
    try {
      await waitForPort(port);
      const rows = [];
      for (const c of clients(repeat, tls.client)) rows.push(await measure(c, port, runs));
      const ours = rows[0];
      const best = rows.slice(1).reduce((a, b) => (a.rttUs < b.rttUs ? a : b));
      console.log(`\npeer: ${peer.name}`);
      console.log("client                          process ms   echo round trip µs");
      for (const r of rows) {
        console.log(
          `${r.name.padEnd(32)}${r.processMs.toFixed(1).padStart(10)}   ${
            r.rttUs.toFixed(1).padStart(12)
          }`,
        );
      }
      const rttRatio = best.rttUs / ours.rttUs;
      const procRatio = rows[1].processMs / ours.processMs;
      console.log(
        `ratio DCMTK/ours: round trip ${
          rttRatio.toFixed(2)
        } (vs ${best.name}; >1 = we are faster), ` +
          `process ${procRatio.toFixed(2)}`,
      );
      report.push({ peer: peer.name, rows, rttRatio, processRatio: procRatio });
    } finally {
      proc.kill("SIGTERM");
      await proc.status;
    }
  }
  return report;
}
