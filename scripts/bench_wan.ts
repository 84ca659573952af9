/**
 * The WAN scenario of issue 13: `--wan-files` CT files of 0.5 MB (300)
 * through a latency proxy adding `--wan-rtt` ms per round trip (50), into
 * a receiver writing to disk, for each configuration of `WAN_CONFIGS` plus
 * those given with `--wan-config JSON`; each also runs without the proxy,
 * for the share of the loopback rate it keeps. Ratios are against DCMTK
 * storescu into DCMTK storescp --fork.
 *
 * A new way of sending (N associations, an asynchronous operations window)
 * is one more entry of `WAN_CONFIGS`: its storescu and storescp options.
 *
 * @module
 */
import { ctFiles } from "./bench_data.ts";
import type { BenchOptions, WanConfig } from "./bench_options.ts";
import { dcmtk, ours } from "./bench_proc.ts";
import { type RowResult, runRow, type Side } from "./bench_store.ts";
import type { TlsArgs } from "./bench_tls.ts";

const HOST = "127.0.0.1";

/** The rows of the WAN table; the first is the baseline of the ratios. */
export const WAN_CONFIGS: WanConfig[] = [
  { name: "DCMTK -> DCMTK storescp --fork", scu: "dcmtk", scp: "dcmtk-fork" },
  { name: "DCMTK -> ours", scu: "dcmtk", scp: "ours" },
  { name: "ours -> ours", scu: "ours", scp: "ours" },
  // --parallel N (i13a); ours serves up to max(8, associations/4) per peer unless raised.
  ...[4, 8, 16].map((n): WanConfig => ({
    name: `ours --parallel ${n} -> ours`,
    scu: "ours",
    scp: "ours",
    scuArgs: ["--parallel", String(n)],
    scpArgs: ["--max-per-peer", "64"],
  })),
  {
    name: "ours --parallel 8 -> DCMTK storescp --fork",
    scu: "ours",
    scp: "dcmtk-fork",
    scuArgs: ["--parallel", "8"],
  },
  // One association with an asynchronous operations window (PS3.7 D.3.3.3); 16: the memory.
  ...[8, 16].map((n): WanConfig => ({
    name: `ours --async ${n} -> ours --async ${n}`,
    scu: "ours",
    scp: "ours",
    scuArgs: ["--async", String(n)],
    scpArgs: ["--async", String(n)],
  })),
  // Both: a window of 4 on each of 4 associations (16 outstanding in all).
  {
    name: "ours --parallel 4 --async 4 -> ours --async 4",
    scu: "ours",
    scp: "ours",
    scuArgs: ["--parallel", "4", "--async", "4"],
    scpArgs: ["--async", "4", "--max-per-peer", "64"],
  },
];

/** One WAN row: the same configuration through the proxy and on plain loopback. */
export interface WanResult {
  config: WanConfig;
  rttMs: number;
  wan: RowResult;
  loopback: RowResult;
}

function side(c: WanConfig, paths: string[], tls: TlsArgs): Side {
  const scpArgs = c.scpArgs ?? [];
  const scuArgs = [...(c.scuArgs ?? []), ...tls.client, HOST];
  return {
    name: c.name,
    scp: (port, out) =>
      c.scp === "ours"
        ? ours("storescp", ["--bind", HOST, "-od", out, ...scpArgs, ...tls.server, String(port)])
        : dcmtk("storescp", [
          ...(c.scp === "dcmtk-fork" ? ["--fork"] : []),
          "-od",
          out,
          ...scpArgs,
          ...tls.server,
          String(port),
        ]),
    scu: (port) =>
      c.scu === "ours"
        ? ours("storescu", ["-q", ...scuArgs, String(port), ...paths])
        : dcmtk("storescu", ["-q", ...scuArgs, String(port), ...paths]),
    stores: paths.length,
    reads: paths,
  };
}

/** Runs every WAN configuration at the WAN round trip and on loopback. */
export async function benchWan(o: BenchOptions, tls: TlsArgs): Promise<WanResult[]> {
  const inputs = await ctFiles(o.data, o.wanFiles);
  const results: WanResult[] = [];
  for (const config of [...WAN_CONFIGS, ...o.wanConfigs]) {
    const s = side(config, inputs.paths, tls);
    const common = {
      rounds: o.runs.wan,
      files: inputs.paths.length,
      bytes: inputs.bytes,
    };
    results.push({
      config,
      rttMs: o.wanRttMs,
      wan: await runRow("wan", `${config.name}, ${o.wanRttMs} ms RTT`, [s], {
        ...common,
        rttMs: o.wanRttMs,
      }),
      loopback: await runRow("wan-loopback", `${config.name}, loopback`, [s], {
        ...common,
        rttMs: 0,
      }),
    });
  }
  return results;
}
