/**
 * Echo benchmark: our echoscu and DCMTK's (TCP_NODELAY=1, its fastest
 * setting) against our echoscp and DCMTK's storescp --ignore
 * (TCP_NODELAY=1), every pair in every round, the order alternating
 * between rounds. Over plain TCP a third client runs in the same rounds:
 * Deno's floor (scripts/bench_echo_floor.ts, the same PDUs through raw
 * `Deno.connect` with bin/echoscu's flags, no library code), so that
 * what our own code adds is measured against Deno in the same run. Medians of:
 *   - the whole process for one echo: wall time, peak RSS, CPU;
 *   - the round trip of one echo inside one association: (wall of
 *     `--repeat N+1` minus wall of `--repeat 1`) / N, so process start-up
 *     and association setup cancel out; the client's CPU per echo likewise
 *     (getrusage, microseconds); the server's CPU per echo from /proc
 *     (10 ms ticks, so summed over all rounds before dividing).
 *
 * @module
 */
import type { BenchOptions } from "./bench_options.ts";
import { launcherFlags } from "../testing/bundle.ts";
import { dcmtk, DENO, median, ours, type ProcSpec, runMeasured, Server } from "./bench_proc.ts";
import type { TlsArgs } from "./bench_tls.ts";

const HOST = "127.0.0.1";

/** Medians for one client against one peer. */
export interface EchoRow {
  client: string;
  peer: string;
  runs: number;
  processMs: number;
  processPeakMb: number;
  processCpuMs: number;
  rttUs: number;
  clientCpuUsPerEcho: number;
  serverCpuUsPerEcho: number;
}

/** Runs the echo benchmark; returns a row per (client, peer). */
export async function benchEcho(o: BenchOptions, tls: TlsArgs): Promise<EchoRow[]> {
  const peers: { name: string; start(): Promise<Server> }[] = [
    {
      name: "ours",
      start: () => Server.start((p) => ours("echoscp", ["--bind", HOST, ...tls.server, String(p)])),
    },
    {
      name: "DCMTK",
      start: () => Server.start((p) => dcmtk("storescp", ["--ignore", ...tls.server, String(p)])),
    },
  ];
  const clients: { name: string; spec(args: string[]): ProcSpec }[] = [
    { name: "ours", spec: (args) => ours("echoscu", [...tls.client, ...args]) },
    { name: "DCMTK", spec: (args) => dcmtk("echoscu", [...tls.client, ...args]) },
  ];
  // The floor speaks plain TCP only: Deno started directly (no sh launcher) with the flags
  // bin/echoscu gives it.
  if (tls.client.length === 0) {
    const floor = new URL("./bench_echo_floor.ts", import.meta.url).pathname;
    const flags = ["run", ...launcherFlags("echoscu")];
    clients.push({
      name: "Deno floor",
      spec: (args) => ({ cmd: DENO, args: [...flags, floor, ...args] }),
    });
  }
  const servers: Server[] = [];
  try {
    for (const p of peers) servers.push(await p.start());
    const combos = peers.flatMap((peer, pi) =>
      clients.map((client) => ({
        peer: peer.name,
        server: servers[pi],
        client,
        one: [] as { wallMs: number; peakMb: number; cpuMs: number }[],
        rttUs: [] as number[],
        cpuUs: [] as number[],
        serverCpuMs: 0,
      }))
    );
    const target = (s: Server) => [HOST, String(s.port)];
    const cpu = (s: Server) => {
      const x = s.cpu();
      return x.userMs + x.sysMs;
    };
    console.error(
      `bench: echo, ${o.runs.echo} rounds, round trip from --repeat ${o.repeat + 1} vs 1`,
    );
    // Warm caches (Deno's module cache, the page cache) once per pair.
    for (const c of combos) await runMeasured(c.client.spec(target(c.server)));
    for (let r = 0; r < o.runs.echo; r++) {
      const order = r % 2 ? [...combos].reverse() : combos;
      for (const c of order) {
        const s0 = cpu(c.server);
        const one = await runMeasured(c.client.spec(target(c.server)));
        const s1 = cpu(c.server);
        const many = await runMeasured(
          c.client.spec(["--repeat", String(o.repeat + 1), ...target(c.server)]),
        );
        const s2 = cpu(c.server);
        c.one.push({ wallMs: one.wallMs, peakMb: one.peakMb, cpuMs: one.userMs + one.sysMs });
        c.rttUs.push(((many.wallMs - one.wallMs) / o.repeat) * 1000);
        c.cpuUs.push(
          ((many.userMs + many.sysMs - one.userMs - one.sysMs) / o.repeat) * 1000,
        );
        c.serverCpuMs += (s2 - s1) - (s1 - s0);
      }
    }
    return combos.map((c) => ({
      client: c.client.name,
      peer: c.peer,
      runs: c.one.length,
      processMs: median(c.one.map((x) => x.wallMs)),
      processPeakMb: median(c.one.map((x) => x.peakMb)),
      processCpuMs: median(c.one.map((x) => x.cpuMs)),
      rttUs: median(c.rttUs),
      clientCpuUsPerEcho: median(c.cpuUs),
      serverCpuUsPerEcho: (c.serverCpuMs / (o.runs.echo * o.repeat)) * 1000,
    }));
  } finally {
    for (const s of servers) await s.stop();
  }
}
