/**
 * C-STORE benchmark, ours -> ours and DCMTK -> DCMTK in the same run:
 *   - `--files N` (default 1,000) MR images of 512x512x16 bits, one association;
 *   - one `--big-mb M` (default 1,024) multi-frame file, one association.
 * Both SCPs write what they receive to disk. DCMTK runs with TCP_NODELAY=1
 * on both sides, its fastest setting. Reported per run: wall time of the
 * SCU process, files/s, MB/s (data set bytes on disk / time) and the peak
 * resident memory (VmHWM) of each side, then ratios DCMTK/ours (>1: ours is
 * faster, or for memory: ours uses less).
 *
 * Test data is generated once into `--data DIR` (default: a directory under
 * the system temp dir) and reused by later runs.
 *
 * Usage: deno task bench --only store [--files 1000] [--big-mb 1024] [--data DIR] [--json]
 *
 * @module
 */
import { MR_IMAGE_STORAGE, writeImageFile } from "../tests/helpers/dicom_files.ts";
import { freePort, toolArgv, waitForPort } from "../tests/helpers/procs.ts";
import type { TlsArgs } from "./bench_tls.ts";

const DENO = Deno.execPath();
const FRAME_BYTES = 512 * 512 * 2;

/** One side-by-side measurement. */
export interface StoreRun {
  /** "ours -> ours" or "DCMTK -> DCMTK". */
  pair: string;
  /** "small" (many files) or "big" (one file). */
  load: string;
  files: number;
  bytes: number;
  seconds: number;
  filesPerSecond: number;
  mbPerSecond: number;
  scuPeakMb: number;
  scpPeakMb: number;
}

interface Side {
  scp(port: number, outDir: string, tls: string[]): Deno.ChildProcess;
  scu(
    port: number,
    inputs: string[],
    tls: string[],
  ): { cmd: string; args: string[]; env?: Record<string, string> };
}

const SIDES: Record<string, Side> = {
  "ours -> ours": {
    scp: (port, outDir, tls) =>
      new Deno.Command(DENO, {
        args: [
          ...toolArgv("storescp"),
          "--bind",
          "127.0.0.1",
          "-od",
          outDir,
          ...tls,
          String(port),
        ],
        stdout: "null",
        stderr: "inherit",
      }).spawn(),
    scu: (port, inputs, tls) => ({
      cmd: DENO,
      args: [...toolArgv("storescu"), "-q", ...tls, "127.0.0.1", String(port), ...inputs],
    }),
  },
  "DCMTK -> DCMTK": {
    scp: (port, outDir, tls) =>
      new Deno.Command("storescp", {
        args: ["-od", outDir, ...tls, String(port)],
        env: { TCP_NODELAY: "1" },
        stdout: "null",
        stderr: "inherit",
      }).spawn(),
    scu: (port, inputs, tls) => ({
      cmd: "storescu",
      args: ["-q", ...tls, "127.0.0.1", String(port), ...inputs],
      env: { TCP_NODELAY: "1" },
    }),
  },
};

/**
 * Peak resident set of a live process in MB (VmHWM, Linux). Read through
 * `cat`: Deno lets only --allow-all read another process's /proc entry.
 */
async function peakMb(pid: number): Promise<number> {
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/status`] }).output();
  const status = new TextDecoder().decode(out.stdout);
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** Total size of the regular files under `dir`. */
async function treeBytes(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) {
      const sub = await treeBytes(p);
      files += sub.files;
      bytes += sub.bytes;
    } else if (e.isFile) {
      files++;
      bytes += (await Deno.stat(p)).size;
    }
  }
  return { files, bytes };
}

/** Generates the inputs once; a marker file records what was made. */
export async function prepareData(dir: string, files: number, bigMb: number) {
  const small = `${dir}/small-${files}`;
  const big = `${dir}/big-${bigMb}.dcm`;
  const marker = `${dir}/.complete-${files}-${bigMb}`;
  try {
    await Deno.stat(marker);
    return { small, big };
  } catch { /* generate */ }
  await Deno.mkdir(small, { recursive: true });
  console.error(`bench: writing ${files} files of 512x512x16 and one of ${bigMb} MB to ${dir}`);
  const study = "1.2.826.0.1.3680043.10.1001.1";
  for (let i = 0; i < files; i++) {
    await writeImageFile(`${small}/img${String(i).padStart(5, "0")}.dcm`, {
      rows: 512,
      cols: 512,
      bitsAllocated: 16,
      frames: 1,
      sopClassUid: MR_IMAGE_STORAGE,
      sopInstanceUid: `${study}.1.${i + 1}`,
      studyUid: study,
      seriesUid: `${study}.1`,
    });
  }
  await writeImageFile(big, {
    rows: 512,
    cols: 512,
    bitsAllocated: 16,
    frames: Math.max(1, Math.round((bigMb * 1024 * 1024) / FRAME_BYTES)),
    sopClassUid: MR_IMAGE_STORAGE,
    sopInstanceUid: `${study}.2.1`,
    studyUid: study,
    seriesUid: `${study}.2`,
  });
  await Deno.writeTextFile(marker, new Date().toISOString());
  return { small, big };
}

async function runOne(
  pair: string,
  load: string,
  inputs: string[],
  tls: TlsArgs,
): Promise<StoreRun> {
  const side = SIDES[pair];
  const out = await Deno.makeTempDir({ prefix: "dimse-bench-out-" });
  const port = freePort();
  const scp = side.scp(port, out, tls.server);
  try {
    await waitForPort(port);
    const scu = side.scu(port, inputs, tls.client);
    // GNU time reports the SCU's peak RSS (%M, KB) once it has exited.
    const t0 = performance.now();
    const res = await new Deno.Command("/usr/bin/time", {
      args: ["-f", "%M", scu.cmd, ...scu.args],
      env: scu.env,
      stdout: "null",
      stderr: "piped",
    }).output();
    const seconds = (performance.now() - t0) / 1000;
    const stderr = new TextDecoder().decode(res.stderr).trim();
    if (res.code !== 0) throw new Error(`${pair} SCU exited ${res.code}: ${stderr}`);
    const scuPeakMb = Number(stderr.split("\n").at(-1)) / 1024;
    const scpPeakMb = await peakMb(scp.pid);
    const { files, bytes } = await treeBytes(out);
    return {
      pair,
      load,
      files,
      bytes,
      seconds,
      filesPerSecond: files / seconds,
      mbPerSecond: bytes / 1e6 / seconds,
      scuPeakMb,
      scpPeakMb,
    };
  } finally {
    scp.kill("SIGTERM");
    await scp.status;
    await Deno.remove(out, { recursive: true });
  }
}

const ratio = (dcmtk: number, ours: number) => (dcmtk / ours).toFixed(2);

/** Runs the store benchmark and prints a table and the ratios; returns the runs. */
export async function benchStore(args: string[], tls: TlsArgs): Promise<StoreRun[]> {
  const opt = (name: string, fallback: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const files = Number(opt("--files", "1000"));
  const bigMb = Number(opt("--big-mb", "1024"));
  const dir = opt("--data", `${Deno.env.get("TMPDIR") ?? "/tmp"}/dimse-bench-data`);
  const { small, big } = await prepareData(dir, files, bigMb);
  const runs: StoreRun[] = [];
  for (const [load, inputs] of [["small", ["+sd", small]], ["big", [big]]] as const) {
    for (const pair of Object.keys(SIDES)) runs.push(await runOne(pair, load, [...inputs], tls));
  }
  console.log(
    `\nstore benchmark${tls.client.length ? " over TLS" : ""}: ${files} files of 512x512x16, ` +
      `and one ${bigMb} MB file`,
  );
  console.log(
    "pair              load    files   MB        s   files/s     MB/s   SCU peak MB   SCP peak MB",
  );
  for (const r of runs) {
    console.log(
      `${r.pair.padEnd(18)}${r.load.padEnd(6)}${String(r.files).padStart(7)}${
        (r.bytes / 1e6).toFixed(0).padStart(6)
      }${r.seconds.toFixed(2).padStart(9)}${r.filesPerSecond.toFixed(1).padStart(10)}${
        r.mbPerSecond.toFixed(1).padStart(9)
      }${r.scuPeakMb.toFixed(1).padStart(14)}${r.scpPeakMb.toFixed(1).padStart(14)}`,
    );
  }
  for (const load of ["small", "big"]) {
    const ours = runs.find((r) => r.load === load && r.pair === "ours -> ours")!;
    const dcmtk = runs.find((r) => r.load === load && r.pair === "DCMTK -> DCMTK")!;
    console.log(
      `ratio DCMTK/ours, ${load}: time ${ratio(dcmtk.seconds, ours.seconds)} (>1: ours faster), ` +
        `SCU memory ${ratio(dcmtk.scuPeakMb, ours.scuPeakMb)}, SCP memory ${
          ratio(dcmtk.scpPeakMb, ours.scpPeakMb)
        } (>1: ours smaller)`,
    );
  }
  return runs;
}
