/**
 * Query/Retrieve benchmark: our findscu and DCMTK's against the same
 * DCMTK dcmqrscp holding N small images of one study (default 10,000),
 * one C-FIND at IMAGE level matching all of them, the runs interleaved;
 * medians of the whole process: wall time, peak RSS, CPU. Both print
 * nothing per response (`-sr` for DCMTK... and ours), so the rows measure
 * the query, not the terminal; a second pair writes every match with
 * `--json` (ours) and `-X` files (DCMTK's) is left out: they do different
 * work.
 *
 * dcmqrscp's index scans itself for every file indexed, so the archive
 * (N files and dcmqridx's index.dat) is built once under --data and
 * reused: 10,000 files took an hour the first time (2 cores, load average 9).
 *
 * @module
 */
import type { BenchOptions } from "./bench_options.ts";
import { dcmtk, median, ours, runMeasured } from "./bench_proc.ts";
import { dcmqrscpConfig } from "../testing/dcmqrscp.ts";
import { indexInPlace, writeSmallImages } from "../testing/qr_load.ts";
import { Background, freePort, waitForPort } from "../testing/procs.ts";

const HOST = "127.0.0.1";
const AE = "COMMON";

/** One client's medians. */
export interface QrRow {
  client: string;
  matches: number;
  runs: number;
  wallMs: number;
  peakMb: number;
  cpuMs: number;
  error?: string;
}

/**
 * The archive of `n` images of one study under `data`: built when missing
 * (or incomplete), else reused (findscu's rows and bench_qr_retrieve.ts).
 */
export async function qrArchive(data: string, n: number): Promise<string> {
  const root = `${data}/qr-${n}`;
  const done = `${root}/complete`;
  try {
    await Deno.stat(done);
    return root;
  } catch {
    // Build it below.
  }
  await Deno.remove(root, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${root}/${AE}`, { recursive: true });
  await Deno.mkdir(`${root}/new`);
  console.error(`bench qr: building a dcmqrscp archive of ${n} images in ${root} (once)`);
  const { files } = await writeSmallImages(`${root}/new`, n);
  // dcmqridx writes the index of the storage area named in the configuration.
  const scp = { storageArea: () => `${root}/${AE}` } as unknown as Parameters<
    typeof indexInPlace
  >[0];
  await indexInPlace(scp, AE, files);
  await Deno.remove(`${root}/new`, { recursive: true });
  await Deno.writeTextFile(done, `${n}\n`);
  return root;
}

/** Runs the Q/R benchmark: one row per client. */
export async function benchQr(o: BenchOptions): Promise<QrRow[]> {
  const n = o.qrMatches;
  const root = await qrArchive(o.data, n);
  const port = freePort();
  const cfg = `${root}/dcmqrscp.cfg`;
  await Deno.writeTextFile(cfg, dcmqrscpConfig(root, port, {}));
  const scp = new Background("dcmqrscp", ["-c", cfg, "-up", String(port)]);
  try {
    await waitForPort(port, 10_000, () => scp.status !== undefined);
    const keys = [
      "-S",
      "-aec",
      AE,
      "-k",
      "QueryRetrieveLevel=IMAGE",
      "-k",
      "StudyInstanceUID=1.2.826.0.1.3680043.9.7433.5.1",
      "-k",
      "SeriesInstanceUID=1.2.826.0.1.3680043.9.7433.5.1.1",
      "-k",
      "SOPInstanceUID",
      "-k",
      "PatientName",
    ];
    const clients = [
      {
        name: "DCMTK findscu -sr",
        spec: () => dcmtk("findscu", ["-sr", ...keys, HOST, String(port)]),
      },
      {
        name: "ours findscu -sr",
        spec: () => ours("findscu", ["-sr", ...keys, HOST, String(port)]),
      },
      {
        name: "ours findscu --json",
        spec: () => ours("findscu", ["-sr", "--json", ...keys, HOST, String(port)]),
      },
    ];
    const runs = o.runs.qr;
    const samples = new Map(
      clients.map((c) => [c.name, [] as { wall: number; mb: number; cpu: number }[]]),
    );
    const errors = new Map<string, string>();
    for (let r = 0; r < runs; r++) {
      const order = r % 2 === 0 ? clients : [...clients].reverse();
      for (const c of order) {
        if (errors.has(c.name)) continue;
        try {
          const m = await runMeasured(c.spec());
          samples.get(c.name)!.push({ wall: m.wallMs, mb: m.peakMb, cpu: m.userMs + m.sysMs });
        } catch (err) {
          errors.set(c.name, err instanceof Error ? err.message : String(err));
        }
      }
    }
    return clients.map((c) => {
      const s = samples.get(c.name)!;
      return {
        client: c.name,
        matches: n,
        runs: s.length,
        wallMs: s.length ? median(s.map((x) => x.wall)) : NaN,
        peakMb: s.length ? median(s.map((x) => x.mb)) : NaN,
        cpuMs: s.length ? median(s.map((x) => x.cpu)) : NaN,
        error: errors.get(c.name),
      };
    });
  } finally {
    await scp.stop();
  }
}

/** The rows as a Markdown table, with ratios DCMTK / ours; `count` names the count column. */
export function qrTable(rows: QrRow[], count = "matches"): string {
  // Each row is compared with DCMTK's row of the same tool ("DCMTK findscu" for "ours findscu").
  const tool = (r: QrRow) => r.client.split(" ")[1];
  const baseOf = (r: QrRow) =>
    rows.find((x) => x.client.startsWith("DCMTK") && tool(x) === tool(r));
  const ratio = (a: number | undefined, b: number) =>
    a === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0
      ? ""
      : (a / b).toFixed(2);
  const lines = [
    `| client | ${count} | runs | wall ms | DCMTK/ours | peak MB | DCMTK/ours | CPU ms | DCMTK/ours |`,
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    if (r.error) {
      lines.push(`| ${r.client} | ${r.matches} | failed: ${r.error.split("\n")[0]} | | | | | | |`);
      continue;
    }
    const base = baseOf(r);
    const mine = r.client.startsWith("DCMTK");
    lines.push(
      `| ${r.client} | ${r.matches} | ${r.runs} | ${r.wallMs.toFixed(0)} | ${
        mine ? "" : ratio(base?.wallMs, r.wallMs)
      } | ${r.peakMb.toFixed(1)} | ${mine ? "" : ratio(base?.peakMb, r.peakMb)} | ${
        r.cpuMs.toFixed(0)
      } | ${mine ? "" : ratio(base?.cpuMs, r.cpuMs)} |`,
    );
  }
  return lines.join("\n");
}
