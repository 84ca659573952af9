/**
 * The benchmark's tables, as Markdown (ready for a note or an issue):
 * issue 15's summary (ours vs DCMTK with the ratio DCMTK / ours: above 1,
 * ours is faster or smaller), then the detail of each section.
 *
 * @module
 */
import type { EchoRow } from "./bench_echo.ts";
import type { MemoryResult, RowResult, SideStats } from "./bench_store.ts";
import type { WanResult } from "./bench_wan.ts";

/** Everything a run measured, by section (absent: not run). */
export interface BenchReport {
  echo?: EchoRow[];
  files?: RowResult[];
  big?: RowResult[];
  memory?: MemoryResult[];
  wan?: WanResult[];
}

/** A Markdown table with aligned columns (numbers right-aligned). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  // A column is numeric when its cells start with a number (blank and error cells aside).
  const numeric = header.map((_, i) => {
    const cells = rows.map((r) => r[i]).filter((c) => c !== "" && !c.startsWith("error"));
    return cells.length > 0 && cells.every((c) => /^[-+]?[\d.,]+( |$)|^-$/.test(c));
  });
  const cell = (s: string, i: number) => numeric[i] ? s.padStart(widths[i]) : s.padEnd(widths[i]);
  const line = (cells: string[]) => `| ${cells.map(cell).join(" | ")} |`;
  const rule = `|${
    widths.map((w, i) => (numeric[i] ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")
  }|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

const s = (ms: number) => (ms / 1000).toFixed(2);
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "-");
const ratio = (dcmtk: number, ours: number) =>
  Number.isFinite(dcmtk / ours) ? (dcmtk / ours).toFixed(2) : "-";

function side(row: RowResult | undefined, name: string): SideStats | undefined {
  return row?.sides.find((x) => x.side === name);
}

function transferCell(x: SideStats | undefined, row: RowResult): string {
  if (!x) return row.error ? "error" : "-";
  return `${s(x.wallMs)} s, SCU CPU ${s(x.scuUserMs + x.scuSysMs)} s`;
}

/** Issue 15's table: one line per load, ours and DCMTK side by side, DCMTK / ours. */
export function summaryTable(r: BenchReport, o: { repeat: number; rttMs: number }): string {
  const rows: string[][] = [];
  const pair = (peer: string, client: string) =>
    r.echo?.find((e) => e.peer === peer && e.client === client);
  const eo = pair("ours", "ours");
  const ed = pair("DCMTK", "DCMTK");
  if (eo && ed) {
    rows.push([
      "echoscu whole process, one echo",
      `${f1(eo.processMs)} ms, ${f1(eo.processPeakMb)} MB`,
      `${f1(ed.processMs)} ms, ${f1(ed.processPeakMb)} MB`,
      ratio(ed.processMs, eo.processMs),
    ]);
    const echo = (e: EchoRow) =>
      `${f1(e.rttUs)} us (CPU ${f1(e.clientCpuUsPerEcho)} us SCU, ${
        f1(e.serverCpuUsPerEcho)
      } us SCP)`;
    rows.push([
      `per echo in one association (--repeat ${o.repeat})`,
      echo(eo),
      echo(ed),
      ratio(ed.rttUs, eo.rttUs),
    ]);
  }
  const via = o.rttMs ? ` (${o.rttMs} ms RTT proxy)` : "";
  for (const row of [...(r.files ?? []), ...(r.big ?? [])]) {
    const a = side(row, "ours");
    const b = side(row, "DCMTK");
    if (row.key.startsWith("raw")) {
      const big = r.big?.find((x) => x.key === "big");
      const oursBig = side(big, "ours");
      const floor = row.sides[0];
      rows.push([
        row.label + via,
        floor ? `${s(floor.wallMs)} s` : "error",
        "-",
        floor && oursBig ? `ours (16 KiB PDUs) takes ${ratio(oursBig.wallMs, floor.wallMs)}x` : "-",
      ]);
      continue;
    }
    rows.push([
      row.label + via,
      transferCell(a, row),
      transferCell(b, row),
      a && b ? ratio(b.wallMs, a.wallMs) : "-",
    ]);
  }
  const mem = (name: string) => r.memory?.find((m) => m.side === name);
  const mo = mem("ours");
  const md = mem("DCMTK");
  if (mo && md) {
    const cell = (m: MemoryResult) => {
      const last = m.points.at(-1);
      return last
        ? `${f1(last.scuPeakMb)} MB at ${last.files} files, +${f1(m.kbPerFile)} KB/file`
        : "error";
    };
    rows.push([
      "storescu peak RSS, growth per file",
      cell(mo),
      cell(md),
      ratio(md.points.at(-1)?.scuPeakMb ?? NaN, mo.points.at(-1)?.scuPeakMb ?? NaN),
    ]);
  }
  return table(["load", "ours", "DCMTK", "ratio"], rows);
}

/** Echo detail: every client against every peer. */
export function echoTable(rows: EchoRow[]): string {
  return table(
    [
      "client",
      "peer",
      "process ms",
      "peak MB",
      "process CPU ms",
      "round trip us",
      "SCU CPU us/echo",
      "SCP CPU us/echo",
    ],
    rows.map((e) => [
      e.client,
      e.peer,
      f1(e.processMs),
      f1(e.processPeakMb),
      f1(e.processCpuMs),
      f1(e.rttUs),
      f1(e.clientCpuUsPerEcho),
      f1(e.serverCpuUsPerEcho),
    ]),
  );
}

/** Transfer detail: every side of every row, medians (wall min-max). */
export function transferTable(rows: RowResult[]): string {
  const out: string[][] = [];
  for (const row of rows) {
    for (const x of row.sides) {
      out.push([
        row.label,
        x.side,
        `${s(x.wallMs)} (${s(x.wallMinMs)}-${s(x.wallMaxMs)})`,
        f1(x.filesPerSecond),
        f1(x.mbPerSecond),
        s(x.scuUserMs),
        s(x.scuSysMs),
        f1(x.scuPeakMb),
        s(x.scpUserMs),
        s(x.scpSysMs),
        f1(x.scpPeakMb),
      ]);
    }
    if (row.error) out.push([row.label, "error", row.error.split("\n")[0], ...Array(8).fill("")]);
  }
  return table(
    [
      "load",
      "side",
      "wall s (min-max)",
      "files/s",
      "MB/s",
      "SCU user s",
      "SCU sys s",
      "SCU peak MB",
      "SCP user s",
      "SCP sys s",
      "SCP peak MB",
    ],
    out,
  );
}

/** Memory detail: storescu's peak RSS at each number of files. */
export function memoryTable(results: MemoryResult[]): string {
  const counts = [...new Set(results.flatMap((m) => m.points.map((p) => p.files)))];
  return table(
    ["storescu", ...counts.map((n) => `peak MB, ${n} files`), "KB per file"],
    results.map((m) => [
      m.side,
      ...counts.map((n) => f1(m.points.find((p) => p.files === n)?.scuPeakMb ?? NaN)),
      m.error ? `error: ${m.error.split("\n")[0]}` : f1(m.kbPerFile),
    ]),
  );
}

/** The WAN table: each configuration at the WAN round trip, its loopback rate, and the ratios. */
export function wanTable(results: WanResult[]): string {
  const base = results[0]?.wan.sides[0];
  return table(
    [
      `config (${results[0]?.rttMs ?? "-"} ms RTT)`,
      "files/s",
      "MB/s",
      "SCU CPU s",
      "SCU peak MB",
      "loopback files/s",
      "% of loopback",
      `x ${results[0]?.config.name ?? "-"}`,
    ],
    results.map((w) => {
      const x = w.wan.sides[0];
      const l = w.loopback.sides[0];
      if (!x) return [w.config.name, `error: ${w.wan.error?.split("\n")[0]}`, ...Array(6).fill("")];
      return [
        w.config.name,
        f1(x.filesPerSecond),
        f1(x.mbPerSecond),
        s(x.scuUserMs + x.scuSysMs),
        f1(x.scuPeakMb),
        l ? f1(l.filesPerSecond) : "error",
        l ? f1((100 * x.filesPerSecond) / l.filesPerSecond) : "-",
        base ? ratio(x.filesPerSecond, base.filesPerSecond) : "-",
      ];
    }),
  );
}
