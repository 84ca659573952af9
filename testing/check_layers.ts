/**
 * `deno task check`'s architecture step: fails (exit 1, one line per
 * finding) when
 * - an import points upward: each folder of lib/ may import only the
 *   folders below it (codecs <- UL <- DIMSE/ACSE <- service layer <- tool
 *   engines <- cli), and tests/, scripts/, testing/ and examples/ only
 *   what the table allows;
 * - the folders import each other in a cycle;
 * - a tool flag (`-aet`, `+tls`, `-xi`, `--max-pdu`...), an exit code, or
 *   DCMTK's or pynetdicom's log wording appears in code below lib/cli
 *   (string literals are read, not comments: a comment may cite DCMTK);
 * - a test returns early when DCMTK is missing (it must be `ignore:`d, so
 *   that a skipped interop test never counts as a pass).
 *
 * scripts/check_layers.ts runs it (`deno task check`); tests/scripts/check_layers.test.ts too.
 *
 * @module
 */

/** What each folder may import (besides itself). */
export const ALLOWED: Record<string, readonly string[]> = {
  "lib/util": [],
  "lib/log": ["lib/util"],
  "lib/pdu": ["lib/util"],
  "lib/dicom": ["lib/util"],
  "lib/transport": ["lib/util"],
  "lib/dimse": ["lib/util", "lib/pdu", "lib/dicom"],
  "lib/ul": ["lib/util", "lib/log", "lib/pdu", "lib/transport"],
  "lib/ae": [
    "lib/util",
    "lib/log",
    "lib/pdu",
    "lib/dicom",
    "lib/transport",
    "lib/dimse",
    "lib/ul",
  ],
  "lib/cli": [
    "lib/util",
    "lib/log",
    "lib/pdu",
    "lib/dicom",
    "lib/transport",
    "lib/dimse",
    "lib/ul",
    "lib/ae",
  ],
  ".": [
    "lib/util",
    "lib/log",
    "lib/pdu",
    "lib/dicom",
    "lib/transport",
    "lib/dimse",
    "lib/ul",
    "lib/ae",
  ],
  // Entry points: the tools' are thin (lib/cli/<tool>), the demo uses the library.
  "cli": ["lib/*"],
  "examples": ["."],
  "testing": [".", "lib/*", "cli"],
  "tests": [".", "lib/*", "cli", "testing", "examples"],
  "scripts": ["lib/*", "cli", "testing"],
};

/** The layers below the tool engines, where no flag, exit code or tool wording may appear. */
export const NEUTRAL = [
  "lib/util",
  "lib/log",
  "lib/pdu",
  "lib/dicom",
  "lib/transport",
  "lib/dimse",
  "lib/ul",
  "lib/ae",
];

/** The folder a file belongs to, as the table names folders. */
export function folderOf(path: string): string {
  const parts = path.split("/");
  if (parts[0] === "lib") return parts.length > 2 ? `lib/${parts[1]}` : "lib/util";
  if (parts.length === 1) return ".";
  return parts[0];
}

/** Whether `from` may import `to`. */
export function allowed(from: string, to: string): boolean {
  if (from === to) return true;
  // Sub-folders of a tool engine (lib/cli/<tool>) are one layer with lib/cli/common.
  const list = ALLOWED[from];
  if (!list) return false;
  return list.some((a) => a === to || (a === "lib/*" && to.startsWith("lib/")));
}

/** The relative specifiers a module imports (static, dynamic, and `new URL(..., import.meta.url)` of .ts). */
export function importsOf(source: string): string[] {
  const out: string[] = [];
  const re =
    /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|new URL\(\s*)["'](\.{1,2}\/[^"']+\.ts)["']/g;
  for (const m of source.matchAll(re)) out.push(m[1]);
  return out;
}

/** String literals of a module (quotes and templates), with comments left out. */
export function stringLiterals(source: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i];
    if (c === "/" && source[i + 1] === "/") {
      i = source.indexOf("\n", i);
      if (i < 0) break;
      continue;
    }
    if (c === "/" && source[i + 1] === "*") {
      i = source.indexOf("*/", i + 2);
      if (i < 0) break;
      i += 2;
      continue;
    }
    if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      let text = "";
      while (j < n && source[j] !== c) {
        if (source[j] === "\\") {
          text += source.slice(j, j + 2);
          j += 2;
          continue;
        }
        if (c === "`" && source[j] === "$" && source[j + 1] === "{") {
          // Skip the expression (nested braces counted); its own strings are rare here.
          let depth = 1;
          j += 2;
          while (j < n && depth > 0) {
            if (source[j] === "{") depth++;
            else if (source[j] === "}") depth--;
            j++;
          }
          text += " ";
          continue;
        }
        text += source[j++];
      }
      out.push(text);
      i = j + 1;
      continue;
    }
    i++;
  }
  return out;
}

/** A tool flag in text: `-aet`, `+tls`, `-xi`, `-td`, `--max-pdu`, `+cf`... */
const FLAG =
  /(?:^|[\s(,;])(?:\+[a-z][a-z0-9=]{0,8}|-[a-z]{1,4}[0-9=]?|--[a-z][a-z0-9-]{2,})(?=$|[\s),.;:])/;
/** Deno's own permission flags (`--allow-net`) are no tool's flags. */
const DENO_PERMISSION = /--allow-[a-z]+|ulimit -n|^-inf$/g;

/** Log wording of DCMTK's or pynetdicom's tools. */
const TOOL_WORDING = [
  "Association Acknowledged",
  "Association Accepted",
  "Requesting Association",
  "Association Release",
  "Aborting Association",
  "Association Received",
  "Received Echo Request",
  "Sending Echo Request",
  "Received Store Request",
  "Association Request Failed",
  "Peer Aborted Association",
  "(but no valid presentation contexts)",
  "Verification of certificate",
  "self-signed root CA.",
];
/** `if (!dcmtkAvailable()) return;` or `if (!HAVE_DCMTK) return;` inside a test. */
const SKIP_BY_RETURN = /if \(!(?:dcmtkAvailable\([^)]*\)|HAVE_[A-Z_]+)\)\s*return\b/;
/** Exit codes: the word, or Deno.exit. */
const EXIT = /\bexit code\b|\bDeno\.exit\b|\bEXIT_[A-Z_]+\b/;

/** One finding: file and what is wrong. */
export interface Finding {
  file: string;
  problem: string;
}

/** Every finding in `files` (path relative to the root -> source). */
export function check(files: Map<string, string>): Finding[] {
  const findings: Finding[] = [];
  const edges = new Map<string, Set<string>>();
  for (const [file, source] of files) {
    const from = folderOf(file);
    const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : ".";
    for (const spec of importsOf(source)) {
      const target = normalize(`${dir}/${spec}`);
      const to = folderOf(target);
      if (!allowed(from, to)) {
        findings.push({ file, problem: `imports ${target}: ${from} may not import ${to}` });
      }
      if (from !== to) {
        if (!edges.has(from)) edges.set(from, new Set());
        edges.get(from)!.add(to);
      }
    }
    // A skipped interop test must say so (ignore:), never pass by returning early.
    if (from === "tests" && SKIP_BY_RETURN.test(source)) {
      findings.push({ file, problem: "returns early when DCMTK is missing: use ignore:" });
    }
    if (NEUTRAL.includes(from)) {
      const strings = stringLiterals(source);
      for (const s of strings) {
        const flag = FLAG.exec(s.replace(DENO_PERMISSION, ""));
        if (flag) {
          findings.push({
            file,
            problem: `names a tool flag (${flag[0].trim()}) in ${JSON.stringify(s)}`,
          });
        }
        const said = TOOL_WORDING.find((w) => s.includes(w));
        if (said) {
          findings.push({ file, problem: `has a tool's log wording: ${JSON.stringify(s)}` });
        }
      }
      const code = withoutComments(source);
      const exit = EXIT.exec(code);
      if (exit) findings.push({ file, problem: `deals in exit codes (${exit[0]})` });
    }
  }
  for (const cycle of cycles(edges)) {
    findings.push({ file: cycle[0], problem: `folder cycle: ${cycle.join(" -> ")}` });
  }
  return findings;
}

/** The source without comments (strings kept). */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

/** Cycles between folders (each reported once, from its smallest member). */
function cycles(edges: Map<string, Set<string>>): string[][] {
  const found: string[][] = [];
  const seen = new Set<string>();
  const walk = (start: string, node: string, path: string[]) => {
    for (const next of edges.get(node) ?? []) {
      if (next === start) {
        const key = [...path].sort().join(",");
        if (!seen.has(key) && path.every((p) => p >= start)) {
          seen.add(key);
          found.push([...path, start]);
        }
      } else if (!path.includes(next) && path.length < 12) {
        walk(start, next, [...path, next]);
      }
    }
  };
  for (const start of edges.keys()) walk(start, start, [start]);
  return found;
}

function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out.join("/");
}

/** The .ts files under `root` (node_modules, dist, .git and fixtures left out). */
export function collect(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string, rel: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) {
        if (["node_modules", "dist", ".git", "fixtures"].includes(e.name)) continue;
        walk(`${dir}/${e.name}`, path);
      } else if (e.isFile && e.name.endsWith(".ts")) {
        files.set(path, Deno.readTextFileSync(`${dir}/${e.name}`));
      }
    }
  };
  walk(root, "");
  return files;
}
