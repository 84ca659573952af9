/**
 * What each tool loads when it starts (issue 15: a one-shot echoscu spends most of its time
 * loading modules). `deno info --json` gives the module graph; the modules a `deno run`
 * evaluates at start are the ones reached by static imports of code (a dynamic `import()` is
 * evaluated only when a run takes it, a type-only import never). These tests keep the heavy
 * parts out of that static graph: the TLS stack (node:tls, pkijs, CRLs), the data dictionary,
 * the Part 10 reader and data set codec, the server side and storescp's handler, and every
 * `node:` module (the first starts Deno's Node compatibility layer), so that a new import
 * cannot silently bring them back into every run. Each holds for the sources (cli/<tool>.ts)
 * and for the bundle the launchers run (bundle/<tool>.js, made by `deno task bundle`): the
 * bundle's chunks name the modules they hold (esbuild's `// lib/...` lines), and a chunk is
 * loaded at start when the entry reaches it by static imports.
 */
import assert from "node:assert/strict";
import { repoPath } from "../../testing/procs.ts";

const DENO = Deno.execPath();

interface InfoDependency {
  specifier: string;
  code?: { specifier: string };
  isDynamic?: boolean;
}
interface InfoModule {
  specifier: string;
  dependencies?: InfoDependency[];
}

/** What a tool's start loads: module names (repository paths, `npm:`/`node:` specifiers), and the files read for them. */
interface StartGraph {
  modules: Set<string>;
  files: string[];
}

/** The modules `tool` evaluates at start: its static imports of code, followed transitively. */
async function sourceGraph(tool: string): Promise<StartGraph> {
  // Not runCommand: it checks every --json output against the tools' schemas.
  const r = await new Deno.Command(DENO, {
    args: ["info", "--json", repoPath(`cli/${tool}.ts`)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  assert.equal(r.code, 0, text(r.stderr));
  const info = JSON.parse(text(r.stdout)) as { roots: string[]; modules: InfoModule[] };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const root = repoPath("");
  const name = (s: string) => s.startsWith("file://") ? new URL(s).pathname.replace(root, "") : s;
  const seen = new Set<string>();
  const todo = [info.roots[0]];
  while (todo.length > 0) {
    const s = todo.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const d of bySpecifier.get(s)?.dependencies ?? []) {
      if (!d.isDynamic && d.code) todo.push(d.code.specifier);
    }
  }
  const modules = new Set([...seen].map(name));
  return { modules, files: [...modules].filter((m) => !/^(npm|node):/.test(m)).map(repoPath) };
}

/**
 * The same for bundle/<tool>.js: the chunks its static imports reach (an `import` or `export`
 * statement at the start of a line; `import(...)` is dynamic), and the modules those chunks
 * hold, by esbuild's `// <path>` line before each module's code.
 */
async function bundleGraph(tool: string): Promise<StartGraph> {
  const dir = repoPath("bundle");
  const modules = new Set<string>();
  const files: string[] = [];
  const todo = [`${tool}.js`];
  const seen = new Set<string>();
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    files.push(`${dir}/${f}`);
    const text = await Deno.readTextFile(`${dir}/${f}`);
    for (const m of text.matchAll(/^(?:import|export)\s[^"'`;]*?"([^"]+)"/gm)) {
      if (m[1].startsWith("./")) todo.push(m[1].slice(2));
      else modules.add(m[1]);
    }
    for (const m of text.matchAll(/^\/\/ ((?:lib|cli)\/\S+\.(?:ts|js))$/gm)) modules.add(m[1]);
  }
  return { modules, files };
}

const FORMS = [["sources", sourceGraph], ["bundle", bundleGraph]] as const;

/** The modules of `graph` that `forbidden` matches. */
function found(graph: Set<string>, forbidden: readonly RegExp[]): string[] {
  return [...graph].filter((m) => forbidden.some((f) => f.test(m))).sort();
}

/** What no tool needs before a TLS option is given. */
const TLS_STACK = [
  /^lib\/transport\/(tls|tls_verify|crl|cert_chain|tls_profiles|tls_errors)\.ts$/,
  /^lib\/cli\/common\/(tls_options|tls_advice)\.ts$/,
  /^npm:/,
];

/** Any Node built-in: the first one starts Deno's Node compatibility layer (about 40 ms). */
const NODE = [/^node:/];

/** The `-lc` (log4cplus file) reader: loaded only by a run that gives `-lc`. */
const LOG_CONFIG = [/^lib\/cli\/common\/log_config\.ts$/];

for (const [form, graphOf] of FORMS) {
  Deno.test(`echoscu's start (${form}) loads no TLS stack, data dictionary, data set codec or server`, async () => {
    const graph = (await graphOf("echoscu")).modules;
    // Sanity: the graph is the real one (the association and the TCP transport are in it).
    for (const m of ["lib/ae/associate.ts", "lib/ul/association.ts", "lib/transport/tcp.ts"]) {
      assert.ok(graph.has(m), `${m} missing from echoscu's graph: ${[...graph].join(", ")}`);
    }
    assert.deepEqual(
      found(graph, [
        ...TLS_STACK,
        ...NODE,
        // The data dictionary, Part 10 and the data set codec: a C-ECHO has no data set.
        /^lib\/dicom\/(dictionary|part10|dataset|parser|writer|deflate)\.ts$/,
        /^lib\/dicom\/dictionary_data\.js$/,
        /^lib\/dicom\/(attributes|charset|transcode|multi_vr|watcher)\.ts$/,
        // The -d dumps, loaded when the log shows them.
        /^lib\/(pdu|dimse|dicom)\/dump\.ts$/,
        // Query/retrieve, the storage services and the file store.
        /^lib\/ae\/(qr|services|file_store)\.ts$/,
        // The server side and storescp's handler.
        /^lib\/ae\/(server|serve|budget)\.ts$/,
        /^lib\/cli\/(storescp|storescu|findscu|movescu|getscu|echoscp)\//,
        /^lib\/cli\/common\/(serve|server_lines|retrieve|retrieve_options|qr_options)\.ts$/,
        ...LOG_CONFIG,
        // The storage SOP class table and the UID names: an echo names no UID unless -d dumps.
        /^lib\/dicom\/(sop_classes|uid_names)\.ts$/,
      ]),
      [],
    );
  });

  Deno.test(`the servers' start (${form}) loads no A-ASSOCIATE or PDU dump; echoscp's no UID names or SOP class table`, async () => {
    // The A-ASSOCIATE and PDU dumps load only for a log that shows them (-d, or storescp's +v).
    assert.deepEqual(
      found((await graphOf("storescp")).modules, [/^lib\/pdu\/dump\.ts$/]),
      [],
    );
    assert.deepEqual(
      found((await graphOf("echoscp")).modules, [
        /^lib\/(pdu|dimse|dicom)\/dump\.ts$/,
        /^lib\/dicom\/(sop_classes|uid_names)\.ts$/,
      ]),
      [],
    );
  });

  for (const tool of ["echoscp", "storescu", "storescp", "findscu", "movescu", "getscu"]) {
    Deno.test(`${tool}'s start (${form}) loads no Node module, no -lc reader, and no TLS stack until a TLS option is given`, async () => {
      assert.deepEqual(
        found((await graphOf(tool)).modules, [...TLS_STACK, ...NODE, ...LOG_CONFIG]),
        [],
      );
    });
  }

  for (
    const tool of ["echoscu", "echoscp", "storescu", "storescp", "findscu", "movescu", "getscu"]
  ) {
    Deno.test(`${tool}'s start (${form}) loads no file with a character beyond Latin-1 (a two-byte source)`, async () => {
      assert.deepEqual(await beyondLatin1((await graphOf(tool)).files), []);
    });
  }
}

for (const tool of ["echoscu", "echoscp", "storescu", "storescp", "findscu", "movescu", "getscu"]) {
  Deno.test(`${tool}'s start (bundle) reads two files: its entry and one chunk`, async () => {
    // issue 15: Deno's per-file load (read, code-cache lookup, instantiate) cost echoscu's 17
    // files 2-5 ms of CPU more than 2 (testing/bundle.ts, pass 2).
    const root = repoPath("bundle/");
    const files = (await bundleGraph(tool)).files.map((f) => f.replace(root, "")).sort();
    assert.equal(files.length, 2, files.join(", "));
    assert.ok(files.includes(`${tool}.js`), files.join(", "));
  });
}

/**
 * The files of a start graph whose text holds a character above U+00FF. V8 keeps each
 * module's source as a string, a one-byte string when every character is Latin-1; one
 * character beyond (an arrow or a dash in a comment) makes the whole source a two-byte
 * string: twice the memory, allocated in the young generation at start-up, where it survives
 * and is copied by the first scavenges (the 200 KB dictionary took 400 KB).
 */
async function beyondLatin1(files: string[]): Promise<string[]> {
  const root = repoPath("");
  const out: string[] = [];
  for (const f of files) {
    const text = await Deno.readTextFile(f);
    let i = 0;
    while (i < text.length && text.charCodeAt(i) <= 0xff) i++;
    if (i < text.length) {
      out.push(
        `${f.replace(root, "")}: ${JSON.stringify(text.slice(Math.max(0, i - 20), i + 20))}`,
      );
    }
  }
  return out.sort();
}
