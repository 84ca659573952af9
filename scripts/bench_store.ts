/**
 * C-STORE benchmarks, ours -> ours and DCMTK -> DCMTK (TCP_NODELAY=1 on
 * both sides, its fastest setting) in the same run, interleaved (each
 * round alternates which goes first), medians reported:
 *
 * - files: `--files` CT images of 0.5 MB on one association, to disk and
 *   with both receivers discarding (`--ignore`), at 16 KiB PDUs and with
 *   `-pdu 131072` on both sides;
 * - big: one `--big-mb` file against DCMTK `storescp +B` (bit-preserving,
 *   as ours always is), at 16 KiB and at 128 KiB PDUs, and the floor: raw
 *   TCP in Deno (scripts/bench_raw_tcp.ts), file -> socket -> file and
 *   memory -> socket -> nowhere;
 * - memory: storescu's peak RSS at 1/3, 2/3 and all of `--files` (into a
 *   discarding receiver) and its growth per file (least squares).
 *
 * Every run measures the SCU's wall time (process start to exit), user and
 * system CPU and peak RSS, and the SCP's CPU and peak RSS (/proc); stored
 * files are counted. With `--rtt MS` the files and big runs go through a
 * latency proxy (testing/latency_proxy.ts) adding MS per round trip. Every
 * files and big run that writes to disk starts from the same state
 * ({@link settle}).
 *
 * @module
 */
import { LatencyProxy } from "../testing/latency_proxy.ts";
import { bigFile, ctFiles, type Inputs } from "./bench_data.ts";
import type { BenchOptions } from "./bench_options.ts";
import { dcmtk, median, ours, type ProcSpec, runMeasured, script, Server } from "./bench_proc.ts";
import type { TlsArgs } from "./bench_tls.ts";

const HOST = "127.0.0.1";

/** One side of a comparison: how to start its receiver and its sender. */
export interface Side {
  name: string;
  scp(port: number, outDir: string): ProcSpec;
  scu(port: number): ProcSpec;
  /** Files the receiver must have written once the sender is done (checked), if any. */
  stores?: number;
  /** Files the sender reads: read once more just before each of its runs ({@link warm}). */
  reads?: string[];
}

/** What one run of a side cost. */
export interface TransferRun {
  wallMs: number;
  scuUserMs: number;
  scuSysMs: number;
  scuPeakMb: number;
  scpUserMs: number;
  scpSysMs: number;
  scpPeakMb: number;
}

/** Medians over the runs of one side of a row. */
export interface SideStats extends TransferRun {
  side: string;
  runs: number;
  wallMinMs: number;
  wallMaxMs: number;
  filesPerSecond: number;
  mbPerSecond: number;
}

/** One row of a table: every side's medians, or why it failed. */
export interface RowResult {
  key: string;
  label: string;
  files: number;
  bytes: number;
  sides: SideStats[];
  error?: string;
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) n += await countFiles(`${dir}/${e.name}`);
    else if (e.isFile && !e.name.endsWith(".part")) n++;
  }
  return n;
}

/**
 * One run of one side: a fresh receiver, a latency proxy in front of it
 * when `rttMs` > 0, the sender to completion; the output is removed after.
 */
export async function transfer(side: Side, rttMs: number): Promise<TransferRun> {
  const out = await Deno.makeTempDir({ prefix: "dimse-bench-out-" });
  let scp: Server | undefined;
  let proxy: LatencyProxy | undefined;
  try {
    scp = await Server.start((port) => side.scp(port, out));
    proxy = rttMs > 0
      ? LatencyProxy.start({ target: { hostname: HOST, port: scp.port }, delayMs: rttMs / 2 })
      : undefined;
    const cpu0 = scp.cpu();
    let m;
    try {
      m = await runMeasured(side.scu(proxy?.port ?? scp.port));
    } catch (err) {
      throw new Error(`${err instanceof Error ? err.message : err}\n  receiver: ${scp.stderr}`);
    }
    const cpu1 = scp.cpu();
    const scpPeakMb = scp.peakMb();
    if (side.stores !== undefined) {
      const stored = await countFiles(out);
      if (stored !== side.stores) {
        throw new Error(`${side.name}: ${stored} of ${side.stores} files stored: ${scp.stderr}`);
      }
    }
    return {
      wallMs: m.wallMs,
      scuUserMs: m.userMs,
      scuSysMs: m.sysMs,
      scuPeakMb: m.peakMb,
      scpUserMs: cpu1.userMs - cpu0.userMs,
      scpSysMs: cpu1.sysMs - cpu0.sysMs,
      scpPeakMb,
    };
  } finally {
    await proxy?.close();
    await scp?.stop();
    await Deno.remove(out, { recursive: true });
  }
}

/** Medians of each measure over `runs`, with the throughput for `files` and `bytes`. */
export function summarize(
  side: string,
  runs: TransferRun[],
  files: number,
  bytes: number,
): SideStats {
  const med = (k: keyof TransferRun) => median(runs.map((r) => r[k]));
  const wallMs = med("wallMs");
  return {
    side,
    runs: runs.length,
    wallMs,
    wallMinMs: Math.min(...runs.map((r) => r.wallMs)),
    wallMaxMs: Math.max(...runs.map((r) => r.wallMs)),
    scuUserMs: med("scuUserMs"),
    scuSysMs: med("scuSysMs"),
    scuPeakMb: med("scuPeakMb"),
    scpUserMs: med("scpUserMs"),
    scpSysMs: med("scpSysMs"),
    scpPeakMb: med("scpPeakMb"),
    filesPerSecond: files / (wallMs / 1000),
    mbPerSecond: bytes / 1e6 / (wallMs / 1000),
  };
}

/**
 * Brings the machine to the same state before a run that writes to disk
 * (the previous run's output is removed by then, see {@link transfer}):
 * `sync` (Deno has no sync(2)) writes back what other runs and processes
 * left dirty, so that no earlier writeback lands in this run; then a pause
 * of `pauseMs` lets the memory the removed output held go back to the
 * free pool as it does on a server whose page cache fills with what it
 * keeps. Without the pause, a run reuses the pages just freed and is
 * cheap, or gets memory the kernel (on a virtual machine, the host) has
 * taken back and is not, depending on how long the run before took: a
 * 1 GiB store varied from 0.6 to 3.6 s within one row (README
 * "Benchmarks").
 */
export async function settle(pauseMs: number): Promise<void> {
  const out = await new Deno.Command("sync", { stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`sync failed: ${new TextDecoder().decode(out.stderr)}`);
  if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
}

/**
 * Reads `paths` through one buffer and drops the bytes, so that each run
 * reads its input from the page cache. Between runs, a minute or more after
 * the last read, this VM's memory reclaim (the `kdamond` DAMON thread)
 * evicts idle page cache: a sender then waited on the disk for some of its
 * files in one run and not in the next (0 to 1,368 waits on the disk in a
 * run of 1,000 files, counted with a trace), whichever tool it was.
 */
export async function warm(paths: string[]): Promise<void> {
  const buf = new Uint8Array(1 << 20);
  for (const path of paths) {
    using file = await Deno.open(path);
    while ((await file.read(buf)) !== null);
  }
}

/**
 * Runs a row: `rounds` rounds, each running every side once, the order
 * alternating between rounds so drift in the machine's load hits all
 * sides alike; with `settleMs`, each run of a side that writes to disk
 * starts after {@link settle}; each run starts with its inputs just read
 * ({@link warm}). A failed run ends the row with its error.
 */
export async function runRow(
  key: string,
  label: string,
  sides: Side[],
  o: { rounds: number; rttMs: number; files: number; bytes: number; settleMs?: number },
): Promise<RowResult> {
  const runs = sides.map(() => [] as TransferRun[]);
  const row: RowResult = { key, label, files: o.files, bytes: o.bytes, sides: [] };
  console.error(`bench: ${label}`);
  try {
    for (let r = 0; r < o.rounds; r++) {
      const order = sides.map((_, i) => i);
      if (r % 2) order.reverse();
      for (const i of order) {
        if (o.settleMs !== undefined && sides[i].stores !== undefined) await settle(o.settleMs);
        if (sides[i].reads) await warm(sides[i].reads);
        runs[i].push(await transfer(sides[i], o.rttMs));
      }
    }
  } catch (err) {
    row.error = err instanceof Error ? err.message : String(err);
    console.error(`bench: ${label}: ${row.error}`);
  }
  row.sides = sides.flatMap((s, i) =>
    runs[i].length ? [summarize(s.name, runs[i], o.files, o.bytes)] : []
  );
  return row;
}

/** The two storage pairs with extra options per side. */
function pairs(
  inputs: Inputs,
  tls: TlsArgs,
  x: { scu?: string[]; scp?: string[]; dcmtkScp?: string[]; stores: boolean },
): Side[] {
  const files = x.stores ? inputs.paths.length : undefined;
  const scu = x.scu ?? [];
  const scp = x.scp ?? [];
  return [
    {
      name: "ours",
      scp: (port, out) =>
        ours("storescp", ["--bind", HOST, "-od", out, ...scp, ...tls.server, String(port)]),
      scu: (port) =>
        ours("storescu", ["-q", ...scu, ...tls.client, HOST, String(port), ...inputs.paths]),
      stores: files,
      reads: inputs.paths,
    },
    {
      name: "DCMTK",
      scp: (port, out) =>
        dcmtk("storescp", [
          "-od",
          out,
          ...scp,
          ...(x.dcmtkScp ?? []),
          ...tls.server,
          String(port),
        ]),
      scu: (port) =>
        dcmtk("storescu", ["-q", ...scu, ...tls.client, HOST, String(port), ...inputs.paths]),
      stores: files,
      reads: inputs.paths,
    },
  ];
}

const PDU_128K = ["-pdu", "131072"];

/** The files section: to disk and discarding, at 16 KiB and at 128 KiB PDUs. */
export async function benchFiles(o: BenchOptions, tls: TlsArgs): Promise<RowResult[]> {
  const inputs = await ctFiles(o.data, o.files);
  const n = o.files.toLocaleString("en-US");
  const common = {
    rounds: o.runs.files,
    rttMs: o.rttMs,
    files: inputs.paths.length,
    bytes: inputs.bytes,
    settleMs: o.settleMs,
  };
  return [
    await runRow(
      "files-disk",
      `${n} CT files of 0.5 MB, storescu -> storescp, to disk`,
      pairs(inputs, tls, { stores: true }),
      common,
    ),
    await runRow(
      "files-ignore",
      "same, receivers discarding (--ignore)",
      pairs(inputs, tls, { scp: ["--ignore"], stores: false }),
      common,
    ),
    await runRow(
      "files-pdu128k",
      "same to disk with -pdu 131072 on both sides",
      pairs(inputs, tls, { scu: PDU_128K, scp: PDU_128K, stores: true }),
      common,
    ),
    await runRow(
      "files-ignore-pdu128k",
      "same discarding (--ignore) with -pdu 131072 on both sides",
      pairs(inputs, tls, { scu: PDU_128K, scp: [...PDU_128K, "--ignore"], stores: false }),
      common,
    ),
  ];
}

/** The raw TCP floor: a sink and a source of scripts/bench_raw_tcp.ts. */
function rawSide(name: string, input: Inputs, tls: TlsArgs, toDisk: boolean): Side {
  const f = tls.files;
  return {
    name,
    scp: (port, out) =>
      script("bench_raw_tcp.ts", [
        "sink",
        String(port),
        ...(toDisk ? ["--out", `${out}/raw.bin`] : []),
        ...(f ? ["--cert", f.serverCert, "--key", f.serverKey] : []),
      ]),
    scu: (port) =>
      script("bench_raw_tcp.ts", [
        "source",
        HOST,
        String(port),
        ...(toDisk ? ["--file", input.paths[0]] : ["--bytes", String(input.bytes)]),
        ...(f ? ["--ca", f.ca] : []),
      ]),
    stores: toDisk ? 1 : undefined,
    reads: toDisk ? input.paths : undefined,
  };
}

/** The big section: one big file at 16 and 128 KiB PDUs, and the raw floor. */
export async function benchBig(o: BenchOptions, tls: TlsArgs): Promise<RowResult[]> {
  const input = await bigFile(o.data, o.bigMb);
  const common = {
    rounds: o.runs.big,
    rttMs: o.rttMs,
    files: 1,
    bytes: input.bytes,
    settleMs: o.settleMs,
  };
  const size = o.bigMb % 1024 ? `${o.bigMb} MiB` : `${o.bigMb / 1024} GiB`;
  const proto = tls.files ? "TLS" : "TCP";
  return [
    await runRow(
      "big",
      `one ${size} file, vs DCMTK storescp +B`,
      pairs(input, tls, { dcmtkScp: ["+B"], stores: true }),
      common,
    ),
    await runRow(
      "big-pdu128k",
      "same with -pdu 131072 on both sides",
      pairs(input, tls, { scu: PDU_128K, scp: PDU_128K, dcmtkScp: ["+B"], stores: true }),
      common,
    ),
    await runRow(
      "raw-file",
      `floor: raw ${proto} in Deno, file -> socket -> file`,
      [rawSide(`Deno ${proto}`, input, tls, true)],
      common,
    ),
    await runRow(
      "raw-memory",
      `floor: raw ${proto} in Deno, memory -> socket -> nowhere`,
      [rawSide(`Deno ${proto}`, input, tls, false)],
      common,
    ),
  ];
}

/** storescu's peak RSS at each number of files, and its growth per file. */
export interface MemoryResult {
  side: string;
  points: { files: number; scuPeakMb: number }[];
  /** Least-squares slope, KB of peak RSS per file sent. */
  kbPerFile: number;
  error?: string;
}

function slopeKbPerFile(points: { files: number; scuPeakMb: number }[]): number {
  if (points.length < 2) return NaN;
  const mx = points.reduce((s, p) => s + p.files, 0) / points.length;
  const my = points.reduce((s, p) => s + p.scuPeakMb, 0) / points.length;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.files - mx) * (p.scuPeakMb - my);
    den += (p.files - mx) ** 2;
  }
  return den ? (num / den) * 1024 : NaN;
}

/**
 * The memory section: storescu into a discarding receiver at 1/3, 2/3 and
 * all of --files. Not fewer: below a few hundred files the peak still grows
 * with start-up (compiled code, the heap's first growth), which a slope
 * through 1/10 of the files read as growth per file (7 KB per file from
 * 300 to 1,500 files, 3 KB from 1,500 to 3,000).
 */
export async function benchMemory(o: BenchOptions, tls: TlsArgs): Promise<MemoryResult[]> {
  const all = await ctFiles(o.data, o.files);
  const counts = [...new Set([Math.ceil(o.files / 3), Math.ceil((2 * o.files) / 3), o.files])];
  const results: MemoryResult[] = [
    { side: "ours", points: [], kbPerFile: NaN },
    { side: "DCMTK", points: [], kbPerFile: NaN },
  ];
  console.error(`bench: storescu memory at ${counts.join(", ")} files`);
  for (const n of counts) {
    const inputs = { paths: all.paths.slice(0, n), bytes: 0 };
    const sides = pairs(inputs, tls, { scp: ["--ignore"], stores: false });
    for (const [i, side] of sides.entries()) {
      if (results[i].error) continue;
      try {
        const peaks = [];
        for (let r = 0; r < o.runs.memory; r++) peaks.push((await transfer(side, 0)).scuPeakMb);
        results[i].points.push({ files: n, scuPeakMb: median(peaks) });
      } catch (err) {
        results[i].error = err instanceof Error ? err.message : String(err);
        console.error(`bench: memory, ${side.name}: ${results[i].error}`);
      }
    }
  }
  for (const r of results) r.kbPerFile = slopeKbPerFile(r.points);
  return results;
}
