/**
 * The options of `deno task bench` (scripts/bench.ts), parsed strictly: an
 * unknown option or a bad value is one line and exit code 1.
 *
 * @module
 */
import { defaultDataDir } from "./bench_data.ts";

/** The parts of the benchmark, in the order they run. */
export const SECTIONS = ["echo", "files", "big", "memory", "wan", "qr"] as const;
/** Sections a plain run leaves out (slow the first time): `--qr` or `--only` adds them. */
const OPTIONAL: readonly Section[] = ["qr"];
/** One part of the benchmark. */
export type Section = typeof SECTIONS[number];

/** Names `--only` takes for several sections at once. */
const ALIASES: Record<string, Section[]> = { store: ["files", "big", "memory"] };

/** A WAN configuration: who sends to whom, with which extra options (scripts/bench_wan.ts). */
export interface WanConfig {
  /** The row's name. */
  name: string;
  scu: "ours" | "dcmtk";
  /** "dcmtk-fork": DCMTK storescp --fork (a process per association). */
  scp: "ours" | "dcmtk" | "dcmtk-fork";
  /** Extra storescu options (e.g. a number of associations, a window). */
  scuArgs?: string[];
  /** Extra storescp options. */
  scpArgs?: string[];
}

/** Everything a run was asked for, defaults filled in. */
export interface BenchOptions {
  sections: Section[];
  tls: boolean;
  json: boolean;
  quick: boolean;
  /** Interleaved rounds per section (each row's ours and DCMTK runs alternate). */
  runs: Record<Section, number>;
  /** Echoes per timed association. */
  repeat: number;
  files: number;
  bigMb: number;
  data: string;
  /** Round trip the loopback store runs go through (0: direct). */
  rttMs: number;
  /** Pause after `sync` before each files and big run that writes to disk (bench_store.ts settle). */
  settleMs: number;
  wanRttMs: number;
  wanFiles: number;
  /** WAN rows added on the command line (`--wan-config JSON`). */
  wanConfigs: WanConfig[];
  /** Images in the qr section's dcmqrscp archive, all matched by its C-FIND. */
  qrMatches: number;
  /** Images of the study getscu and movescu retrieve in the qr section. */
  qrFiles: number;
}

/** The usage text (the README's Development section says the same). */
export const USAGE = `usage: deno task bench [options]
  --only LIST        sections, comma-separated: echo, files, big, memory, wan, qr
                     (store = files,big,memory); default all but qr
  --quick            a small fast run, to smoke-test the bench itself
  --runs N           interleaved rounds for every section
                     (default echo 9, files 5, big 3, memory 1, wan 1)
  --repeat N         echoes per timed association (default 1000)
  --files N          CT files of 0.5 MB for the files and memory sections (default 1000)
  --big-mb N         size of the one big file in MiB (default 1024)
  --data DIR         where the test data is written once and reused
  --rtt MS           files and big runs go through a latency proxy adding MS per round trip
  --settle MS        pause after sync before each files and big run to disk, so each
                     starts from the same state (default 5000; --quick 0)
  --wan-rtt MS       round trip of the wan section (default: --rtt, else 50)
  --wan-files N      files of the wan section (default 300)
  --wan-config JSON  one more wan row, e.g. '{"name":"ours x8","scu":"ours","scp":"ours",
                     "scuArgs":[...],"scpArgs":[...]}' (repeatable)
  --qr               add the qr section: findscu vs DCMTK's returning --qr-matches
                     matches from one dcmqrscp (its archive is built once under --data:
                     10,000 images took an hour on a loaded 2-core machine)
  --qr-matches N     images in that archive, all matched (default 10000)
  --qr-files N       images getscu and movescu retrieve, theirs and ours, in the
                     qr section (a second archive, built once; default 1000)
  --tls              every pair over DICOM TLS (mutual authentication)
  --json             the whole report as one JSON object on stdout, after the tables`;

const QUICK = { repeat: 100, files: 10, bigMb: 8, wanFiles: 5, qrMatches: 200, qrFiles: 50 };
const DEFAULT_RUNS: Record<Section, number> = {
  echo: 9,
  files: 5,
  big: 3,
  memory: 1,
  wan: 1,
  qr: 5,
};

function count(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (value === undefined || !/^\d+$/.test(value) || n < min) {
    throw new Error(`${name} takes a whole number >= ${min}, not ${value ?? "nothing"}`);
  }
  return n;
}

function wanConfig(json: string): WanConfig {
  let c: Partial<WanConfig>;
  try {
    c = JSON.parse(json);
  } catch {
    throw new Error(`--wan-config takes a JSON object, not ${json}`);
  }
  const strings = (v: unknown) =>
    v === undefined || (Array.isArray(v) && v.every((s) => typeof s === "string"));
  if (
    typeof c !== "object" || c === null || typeof c.name !== "string" ||
    !["ours", "dcmtk"].includes(c.scu as string) ||
    !["ours", "dcmtk", "dcmtk-fork"].includes(c.scp as string) ||
    !strings(c.scuArgs) || !strings(c.scpArgs)
  ) {
    throw new Error(
      `--wan-config needs name, scu (ours|dcmtk), scp (ours|dcmtk|dcmtk-fork) and optional ` +
        `scuArgs/scpArgs arrays of strings: ${json}`,
    );
  }
  return c as WanConfig;
}

/** Parses the command line; throws an Error whose message is the one line to print. */
export function parseBenchOptions(args: string[]): BenchOptions {
  const values = new Map<string, string>();
  const wanConfigs: WanConfig[] = [];
  const switches = new Set<string>();
  const valued = [
    "--only",
    "--runs",
    "--repeat",
    "--files",
    "--big-mb",
    "--data",
    "--rtt",
    "--settle",
    "--wan-rtt",
    "--wan-files",
    "--wan-config",
    "--qr-matches",
    "--qr-files",
  ];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (["--tls", "--json", "--quick", "--qr"].includes(a)) switches.add(a);
    else if (valued.includes(a)) {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      if (a === "--wan-config") wanConfigs.push(wanConfig(v));
      else values.set(a, v);
    } else throw new Error(`unknown option ${a}`);
  }
  const quick = switches.has("--quick");
  const num = (name: string, fallback: number, min: number) =>
    values.has(name) ? count(name, values.get(name), min) : fallback;

  let sections: Section[] = SECTIONS.filter((s) =>
    !OPTIONAL.includes(s) || (s === "qr" && switches.has("--qr"))
  );
  if (values.has("--only")) {
    const asked = new Set<Section>();
    for (const s of values.get("--only")!.split(",")) {
      const hit = ALIASES[s] ?? (SECTIONS.includes(s as Section) ? [s as Section] : undefined);
      if (!hit) {
        throw new Error(`--only takes ${[...SECTIONS, ...Object.keys(ALIASES)].join(", ")}: ${s}`);
      }
      hit.forEach((h) => asked.add(h));
    }
    sections = SECTIONS.filter((s) => asked.has(s));
  }
  const runs = { ...DEFAULT_RUNS };
  for (const s of SECTIONS) {
    runs[s] = values.has("--runs") ? count("--runs", values.get("--runs"), 1) : quick ? 1 : runs[s];
  }
  const rttMs = num("--rtt", 0, 0);
  return {
    sections,
    tls: switches.has("--tls"),
    json: switches.has("--json"),
    quick,
    runs,
    repeat: num("--repeat", quick ? QUICK.repeat : 1000, 1),
    files: num("--files", quick ? QUICK.files : 1000, 1),
    bigMb: num("--big-mb", quick ? QUICK.bigMb : 1024, 1),
    data: values.get("--data") ?? defaultDataDir(),
    rttMs,
    settleMs: num("--settle", quick ? 0 : 5000, 0),
    wanRttMs: num("--wan-rtt", rttMs || 50, 0),
    wanFiles: num("--wan-files", quick ? QUICK.wanFiles : 300, 1),
    wanConfigs,
    qrMatches: num("--qr-matches", quick ? QUICK.qrMatches : 10_000, 1),
    qrFiles: num("--qr-files", quick ? QUICK.qrFiles : 1000, 1),
  };
}
