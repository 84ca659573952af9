/**
 * Benchmarks, side by side with DCMTK in the same run, reported as ratios
 * DCMTK / ours (above 1: ours is faster or smaller); never as timed
 * assertions in tests.
 *
 * Sections (scripts/bench_options.ts has the options, `--help` prints them):
 *   echo    scripts/bench_echo.ts   whole-process echo, per-echo round trip and CPU
 *   files   scripts/bench_store.ts  many CT files: to disk, --ignore, -pdu 131072
 *   big     scripts/bench_store.ts  one big file vs storescp +B, and the raw TCP floor
 *   memory  scripts/bench_store.ts  storescu's peak RSS against the number of files
 *   wan     scripts/bench_wan.ts    issue 13's scenario through a latency proxy
 *   qr      scripts/bench_qr.ts     findscu returning 10,000 matches from dcmqrscp (--qr)
 *           scripts/bench_qr_retrieve.ts  getscu, movescu retrieving 1,000 files from it
 *
 * Output: issue 15's summary table, then each section's detail, in
 * Markdown; with `--json`, the whole report as one JSON object at the end.
 * Exits 1 when a row failed (its error is in the tables), else 0.
 *
 * Needs DCMTK and GNU time, runs with --allow-all (other processes' /proc
 * entries, getrusage through FFI). Linux only.
 *
 * @module
 */
import { benchEcho } from "./bench_echo.ts";
import { parseBenchOptions, USAGE } from "./bench_options.ts";
import { machineLoad } from "./bench_proc.ts";
import {
  type BenchReport,
  echoTable,
  memoryTable,
  summaryTable,
  transferTable,
  wanTable,
} from "./bench_report.ts";
import { benchBig, benchFiles, benchMemory } from "./bench_store.ts";
import { PLAIN, tlsArgs } from "./bench_tls.ts";
import { benchWan } from "./bench_wan.ts";
import { benchQr, type QrRow, qrTable } from "./bench_qr.ts";
import { benchQrRetrieve } from "./bench_qr_retrieve.ts";

function have(cmd: string, args = ["--version"]): boolean {
  try {
    new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync();
    return true;
  } catch {
    return false;
  }
}

function dcmtkVersion(): string {
  const out = new Deno.Command("storescu", { args: ["--version"], stdout: "piped" }).outputSync();
  return /\$dcmtk: storescu (v[\d.]+)/.exec(new TextDecoder().decode(out.stdout))?.[1] ?? "?";
}

async function main(args: string[]): Promise<number> {
  if (args.includes("--help")) {
    console.log(USAGE);
    return 0;
  }
  let o;
  try {
    o = parseBenchOptions(args);
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message : err} (--help lists the options)`);
    return 1;
  }
  if (!["echoscu", "storescu", "storescp"].every((c) => have(c))) {
    console.error("bench: DCMTK is needed for the side-by-side runs (apt-get install -y dcmtk)");
    return 1;
  }
  if (!have("/usr/bin/time", ["-f", "%M", "true"])) {
    console.error("bench: GNU time is needed for peak memory (apt-get install -y time)");
    return 1;
  }
  const tls = o.tls ? await tlsArgs() : undefined;
  const t = tls ?? PLAIN;
  const before = machineLoad();
  const t0 = performance.now();
  console.error(
    `bench: ${o.sections.join(", ")}${o.quick ? " (quick)" : ""}; ${before.cores} cores, ` +
      `load average ${before.loadavg.join(" ")}`,
  );
  const report: BenchReport = {};
  let qr: QrRow[] | undefined;
  let retrieve: QrRow[] | undefined;
  try {
    for (const section of o.sections) {
      if (section === "echo") report.echo = await benchEcho(o, t);
      if (section === "files") report.files = await benchFiles(o, t);
      if (section === "big") report.big = await benchBig(o, t);
      if (section === "memory") report.memory = await benchMemory(o, t);
      if (section === "wan") report.wan = await benchWan(o, t);
      if (section === "qr") qr = await benchQr(o);
      if (section === "qr") retrieve = await benchQrRetrieve(o);
    }
  } finally {
    await tls?.cleanup();
  }
  const after = machineLoad();
  const minutes = (performance.now() - t0) / 60_000;
  const over = o.tls ? " over TLS" : "";
  console.log(
    `\n## dimse-deno vs DCMTK ${dcmtkVersion()}${over} (Deno ${Deno.version.deno}, ` +
      `${before.cores} cores; load average ${before.loadavg[0]} before, ${after.loadavg[0]} ` +
      `after; ${minutes.toFixed(1)} min)\n`,
  );
  console.log(
    "Medians of interleaved runs; DCMTK with TCP_NODELAY=1 on both sides; " +
      "ratio = DCMTK / ours (above 1: ours is faster or smaller).\n",
  );
  const busiest = Math.max(before.loadavg[0], after.loadavg[0]);
  if (busiest > before.cores / 2) {
    console.log(
      `The machine was busy (load average up to ${busiest} on ${before.cores} cores): wall ` +
        "times are inflated by other work, CPU times much less.\n",
    );
  }
  const summary = summaryTable(report, o);
  if (summary.split("\n").length > 2) console.log(summary);
  if (report.echo) {
    console.log(`\n### echo (${o.runs.echo} rounds, --repeat ${o.repeat + 1} vs 1)\n`);
    console.log(echoTable(report.echo));
  }
  const rows = [...(report.files ?? []), ...(report.big ?? [])];
  if (rows.length) {
    const via = o.rttMs ? `, through a ${o.rttMs} ms RTT latency proxy` : "";
    console.log(
      `\n### store (files: ${o.runs.files} rounds, big: ${o.runs.big} rounds${via}; CPU: ` +
        "SCU from getrusage, SCP from /proc in 10 ms ticks)\n",
    );
    console.log(transferTable(rows));
  }
  if (report.memory) {
    console.log(`\n### storescu memory (into storescp --ignore; ${o.runs.memory} round(s))\n`);
    console.log(memoryTable(report.memory));
  }
  if (report.wan) {
    console.log(
      `\n### WAN: ${o.wanFiles} CT files of 0.5 MB at ${o.wanRttMs} ms RTT, to disk ` +
        `(${o.runs.wan} round(s))\n`,
    );
    console.log(wanTable(report.wan));
  }
  if (qr) {
    console.log(
      `\n### findscu: one C-FIND matching ${o.qrMatches} images of DCMTK's dcmqrscp ` +
        `(${o.runs.qr} round(s); -sr: no response printed)\n`,
    );
    console.log(qrTable(qr));
  }
  if (retrieve) {
    console.log(
      `\n### getscu, movescu: one study of ${o.qrFiles} images retrieved from DCMTK's dcmqrscp ` +
        `to disk (${o.runs.qr} round(s); movescu to itself, +P)\n`,
    );
    console.log(qrTable(retrieve, "files"));
  }
  const failed = [...(qr ?? []), ...(retrieve ?? [])].some((r) => r.error) ||
    [...rows, ...(report.wan ?? []).flatMap((w) => [w.wan, w.loopback])].some((r) => r.error) ||
    (report.memory ?? []).some((m) => m.error);
  if (o.json) {
    console.log(JSON.stringify({
      options: o,
      machine: { cores: before.cores, loadBefore: before.loadavg, loadAfter: after.loadavg },
      deno: Deno.version.deno,
      dcmtk: dcmtkVersion(),
      ...report,
      ...(qr ? { qr } : {}),
      ...(retrieve ? { retrieve } : {}),
    }));
  }
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
