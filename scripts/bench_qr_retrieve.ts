/**
 * Retrieve benchmark (the qr section's second table): our getscu and
 * movescu and DCMTK's against the same DCMTK dcmqrscp holding N small
 * images of one study (default 1,000, `--qr-files`), each run retrieving
 * the whole study into an empty directory: C-GET on one association, and
 * C-MOVE to the tool itself (`+P`, dcmqrscp connecting back); the runs
 * interleaved; medians of the whole process (wall, peak RSS, CPU). Every
 * run's files are counted: a run that stored fewer than N is an error.
 *
 * @module
 */
import type { BenchOptions } from "./bench_options.ts";
import { dcmtk, median, ours, type ProcSpec, runMeasured } from "./bench_proc.ts";
import { qrArchive, type QrRow } from "./bench_qr.ts";
import { dcmqrscpConfig } from "../testing/dcmqrscp.ts";
import { Background, freePort, waitForPort } from "../testing/procs.ts";

const HOST = "127.0.0.1";
const AE = "COMMON";
/** The one study of the archive (testing/qr_load.ts). */
const STUDY = "1.2.826.0.1.3680043.9.7433.5.1";

/** Runs the retrieve rows: getscu and movescu, DCMTK's then ours. */
export async function benchQrRetrieve(o: BenchOptions): Promise<QrRow[]> {
  const n = o.qrFiles;
  const root = await qrArchive(o.data, n);
  const port = freePort();
  const movePort = freePort();
  const cfg = `${root}/dcmqrscp-retrieve.cfg`;
  await Deno.writeTextFile(
    cfg,
    dcmqrscpConfig(root, port, { destinations: [{ aeTitle: "MOVESCU", port: movePort }] }),
  );
  const scp = new Background("dcmqrscp", ["-c", cfg, "-up", String(port)]);
  const out = await Deno.makeTempDir({ prefix: "dimse-bench-retrieve-" });
  try {
    await waitForPort(port, 10_000, () => scp.status !== undefined);
    const keys = [
      "-S",
      "-aec",
      AE,
      "-k",
      "QueryRetrieveLevel=STUDY",
      "-k",
      `StudyInstanceUID=${STUDY}`,
    ];
    const peer = [HOST, String(port)];
    const move = ["-aet", "MOVESCU", "+P", String(movePort)];
    const clients: { name: string; spec: () => ProcSpec }[] = [
      { name: "DCMTK getscu", spec: () => dcmtk("getscu", ["-od", out, ...keys, ...peer]) },
      { name: "ours getscu", spec: () => ours("getscu", ["-od", out, ...keys, ...peer]) },
      {
        name: "DCMTK movescu +P",
        spec: () => dcmtk("movescu", [...move, "-od", out, ...keys, ...peer]),
      },
      {
        name: "ours movescu +P",
        spec: () => ours("movescu", [...move, "-od", out, ...keys, ...peer]),
      },
    ];
    const samples = new Map(
      clients.map((c) => [c.name, [] as { wall: number; mb: number; cpu: number }[]]),
    );
    const errors = new Map<string, string>();
    for (let r = 0; r < o.runs.qr; r++) {
      const order = r % 2 === 0 ? clients : [...clients].reverse();
      for (const c of order) {
        if (errors.has(c.name)) continue;
        try {
          const m = await runMeasured(c.spec());
          let stored = 0;
          for await (const _ of Deno.readDir(out)) stored++;
          if (stored !== n) throw new Error(`stored ${stored} of ${n} files`);
          samples.get(c.name)!.push({ wall: m.wallMs, mb: m.peakMb, cpu: m.userMs + m.sysMs });
        } catch (err) {
          errors.set(c.name, err instanceof Error ? err.message : String(err));
        } finally {
          await Deno.remove(out, { recursive: true });
          await Deno.mkdir(out);
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
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
}
