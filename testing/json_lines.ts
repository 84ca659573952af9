/**
 * Every --json line any of our tools prints in the test suite goes through
 * here (testing/procs.ts routes the stdout of each run of a tool, and
 * scripts/load.ts the stdout of its servers): each line is validated
 * against its JSON Schema in schemas/v1/ (by its `type`), durations must
 * have at most three decimals, and with --json nothing but such lines may
 * reach stdout. A violation fails the test that ran the tool.
 *
 * @module
 */
import { Ajv2020 } from "npm:ajv@8.20.0/dist/2020.js";
import addFormatsModule from "npm:ajv-formats@3.0.1";

const SCHEMAS = new URL("../schemas/v1/", import.meta.url);
/** The tools whose output is audited. */
export const OUR_TOOLS = [
  "echoscu",
  "storescu",
  "echoscp",
  "storescp",
  "findscu",
  "movescu",
  "getscu",
] as const;

type Validate = ((data: unknown) => boolean) & { errors?: unknown[] | null };

let validators: Map<string, Validate> | undefined;

/** The line types with a schema, and their compiled validators. */
export function lineValidators(): Map<string, Validate> {
  if (validators) return validators;
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
  (addFormatsModule as unknown as (a: Ajv2020) => void)(ajv);
  const byType = new Map<string, Validate>();
  const files = [...Deno.readDirSync(SCHEMAS)].map((e) => e.name).filter((n) =>
    n.endsWith(".schema.json")
  ).sort();
  for (const name of files) {
    ajv.addSchema(JSON.parse(Deno.readTextFileSync(new URL(name, SCHEMAS))));
  }
  for (const name of files) {
    if (name === "common.schema.json") continue;
    const type = name.replace(/\.schema\.json$/, "");
    byType.set(type, ajv.getSchema(`urn:dimse-deno:schemas:v1:${type}`) as Validate);
  }
  validators = byType;
  return byType;
}

/** Durations (keys `ms` or ending in `Ms`) with more than three decimals, by path. */
function longDurations(value: unknown, path = ""): string[] {
  if (value === null || typeof value !== "object") return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const at = `${path}/${k}`;
    if (typeof v === "number" && (k === "ms" || k.endsWith("Ms") || path.endsWith("Ms"))) {
      if (Math.round(v * 1000) / 1000 !== v) out.push(`${at} = ${v}`);
    } else {
      out.push(...longDurations(v, at));
    }
  }
  return out;
}

/** What is wrong with one stdout line of a tool (empty when it is a valid line). */
export function lineProblems(line: string): string[] {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return ["not JSON"];
  }
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return ["not an object"];
  const type = (obj as { type?: unknown }).type;
  const validate = typeof type === "string" ? lineValidators().get(type) : undefined;
  if (!validate) return [`no schema for type ${JSON.stringify(type)}`];
  const problems: string[] = [];
  if (!validate(obj)) {
    for (const e of validate.errors ?? []) problems.push(JSON.stringify(e));
  }
  for (const d of longDurations(obj)) problems.push(`more than three decimals: ${d}`);
  return problems;
}

/** Options after which a tool prints text and exits (no run, so no JSON). */
const TEXT_ONLY = ["--help", "-h", "--version", "+cc", "--list-ciphers", "+ph", "--list-profiles"];

/** Lines audited so far (how much the suite checked). */
export const audited = { lines: 0 };

/**
 * Checks a finished or stopped run's stdout: every line that looks like
 * JSON must be a valid line of its type; with --json (and no option that
 * only prints text) every line must be one. Throws, naming the lines.
 */
export function auditToolStdout(args: readonly string[], stdout: string): void {
  const json = args.includes("--json") && !args.some((a) => TEXT_ONLY.includes(a));
  // Complete lines only: a process killed mid-write leaves a partial last one.
  const lines = stdout.split("\n");
  lines.pop();
  const bad: string[] = [];
  for (const line of lines) {
    if (!json && !line.startsWith("{")) continue;
    audited.lines++;
    const problems = lineProblems(line);
    if (problems.length) bad.push(`${line}\n  ${problems.join("\n  ")}`);
  }
  if (bad.length) {
    throw new Error(
      `--json lines that do not match schemas/v1 (${args.join(" ")}):\n${bad.join("\n")}`,
    );
  }
}

/** The tool a command line runs (cli/<tool>.ts or bin/<tool>), if it is one of ours. */
export function ourTool(args: readonly string[]): string | undefined {
  for (const a of args) {
    const m =
      /(?:^|[\\/])(?:cli|bin)[\\/](echoscu|storescu|echoscp|storescp|findscu)(?:\.ts|\.cmd)?$/
        .exec(a);
    if (m) return m[1];
  }
  return undefined;
}
