/**
 * One JSON schema for every tool (issue 16 item 12). The line schemas in
 * schemas/v1/ compile under a strict validator, the README names each, and
 * the audit that testing/procs.ts runs on every tool's stdout in the
 * whole suite accepts the lines of all four tools and rejects what does not
 * match. With --json nothing but JSON reaches stdout, also when -lc (DCMTK's
 * stock logger.cfg, whose console appender writes to stdout) says otherwise.
 */
import assert from "node:assert/strict";
import {
  audited,
  auditToolStdout,
  lineProblems,
  lineValidators,
  ourTool,
} from "../../testing/json_lines.ts";
import { repoPath, runTool, show, withTool } from "../../testing/procs.ts";
import { writeImageFile } from "../../testing/dicom_files.ts";
import { withTempDir } from "../../testing/temp_files.ts";

const HOST = "127.0.0.1";
const TYPES = [
  "echo",
  "store",
  "summary",
  "listening",
  "tls-established",
  "association-received",
  "association-accepted",
  "association-rejected",
  "association-released",
  "association-aborted",
  "connection-error",
  "request",
  "stopped",
  "association-ended",
  "overload",
  "overload-ended",
  "stale-parts",
  "find-response",
  "retrieve-response",
  "check",
];

Deno.test("schemas/v1: one schema per line type, each compiled strictly, each in the README", async () => {
  const types = [...lineValidators().keys()].sort();
  assert.deepEqual(types, [...TYPES].sort());
  const readme = await Deno.readTextFile(repoPath("README.md"));
  for (const t of TYPES) {
    assert.ok(readme.includes(`schemas/v1/${t}.schema.json`), `README links ${t}`);
    const schema = JSON.parse(await Deno.readTextFile(repoPath(`schemas/v1/${t}.schema.json`)));
    assert.equal(schema.$id, `urn:dimse-deno:schemas:v1:${t}`);
    assert.deepEqual(schema.properties.type, { const: t });
    assert.equal(schema.additionalProperties, false, `${t}: no undocumented field`);
    for (const f of ["type", "time", "tool"]) assert.ok(schema.required.includes(f), `${t} ${f}`);
  }
});

Deno.test("the audit rejects lines of the old shapes, a missing time, long decimals", () => {
  const now = new Date().toISOString();
  const good = JSON.stringify({
    type: "association-released",
    time: now,
    tool: "echoscp",
    peer: { host: HOST, port: 5 },
  });
  assert.deepEqual(lineProblems(good), []);
  const bad = [
    // echoscu's record before version 1: no type, no time.
    `{"peer":{"host":"a","port":1},"outcome":"success","exitCode":0}`,
    // storescu's `record`, storescp's `event`, a peer as "host:port".
    `{"record":"summary","outcome":"success"}`,
    `{"event":"association-released","peer":"127.0.0.1:5"}`,
    JSON.stringify({
      type: "association-released",
      tool: "echoscp",
      peer: { host: HOST, port: 5 },
    }),
    JSON.stringify({
      type: "association-released",
      time: "yesterday",
      tool: "echoscp",
      peer: { host: HOST, port: 5 },
    }),
    JSON.stringify({
      type: "association-released",
      time: now,
      tool: "echoscp",
      peer: "127.0.0.1:5",
    }),
    JSON.stringify({ type: "stopped", time: now, tool: "echoscp", extra: 1 }),
    JSON.stringify({
      type: "store",
      time: now,
      tool: "storescp",
      peer: { host: HOST, port: 5 },
      path: null,
      messageId: 1,
      sopClassUid: "1.2",
      sopInstanceUid: "1.2.3",
      transferSyntax: "1.2.840.10008.1.2",
      transferSyntaxName: "Little Endian Implicit",
      status: 0,
      statusText: "Success",
      outcome: "success",
      bytes: 2,
      ms: 0.07771299999999999,
      diagnosis: null,
    }),
    "I: Association Accepted",
  ];
  for (const line of bad) assert.notDeepEqual(lineProblems(line), [], line);
  assert.throws(() => auditToolStdout(["--json"], "I: Requesting Association\n"), /schemas\/v1/);
  assert.equal(ourTool(["run", "-A", repoPath("cli/storescp.ts")]), "storescp");
  assert.equal(ourTool(["storescp"]), undefined, "DCMTK's storescp is not audited");
});

Deno.test("all four tools: every line valid, the same names for the same things", () =>
  withTempDir("dimse_json_", async (dir) => {
    await Deno.mkdir(`${dir}/in`);
    await writeImageFile(`${dir}/in/a.dcm`, { rows: 4, cols: 4, sopInstanceUid: "1.2.3.16.12" });
    await Deno.mkdir(`${dir}/od`);
    const before = audited.lines;
    let echoOut = "";
    let storeOut = "";
    let repeatOut = "";
    const scp = await withTool("storescp", ["-od", `${dir}/od`], async (port) => {
      const e = await runTool("echoscu", ["--json", HOST, String(port)]);
      assert.equal(e.code, 0, show(e));
      echoOut = e.stdout;
      const s = await runTool("storescu", ["--json", HOST, String(port), `${dir}/in/a.dcm`]);
      assert.equal(s.code, 0, show(s));
      storeOut = s.stdout;
    });
    const echoscp = await withTool("echoscp", [], async (port) => {
      const e = await runTool("echoscu", ["--json", "--repeat", "2", HOST, String(port)]);
      assert.equal(e.code, 0, show(e));
      repeatOut = e.stdout;
    });
    const parse = (text: string) =>
      text.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const all = [scp.stdout, echoscp.stdout, echoOut, storeOut, repeatOut].flatMap(parse);
    assert.ok(audited.lines - before >= all.length, "the helpers audited every line");
    for (const line of all) {
      assert.deepEqual(lineProblems(JSON.stringify(line)), []);
      assert.ok(!("event" in line) && !("record" in line) && !("error" in line), "old names");
      if ("peer" in line) assert.equal(typeof line.peer, "object");
    }
    const types = (tool: string) => all.filter((l) => l.tool === tool).map((l) => l.type).join(",");
    assert.equal(types("echoscu"), "echo,summary,echo,echo,summary");
    assert.equal(types("storescu"), "store,summary");
    assert.match(
      types("storescp"),
      /^listening,association-received,association-accepted,request,association-released,association-ended,association-received,association-accepted,store,request,association-released,association-ended,stopped$/,
    );
    const stored = all.find((l) => l.type === "store" && l.tool === "storescp")!;
    const sent = all.find((l) => l.type === "store" && l.tool === "storescu")!;
    for (const k of ["sopInstanceUid", "status", "statusText", "outcome", "transferSyntax"]) {
      assert.deepEqual(stored[k], sent[k], k);
    }
    const listening = all.find((l) => l.type === "listening" && l.tool === "storescp")!;
    assert.equal(listening.outputDirectory, `${dir}/od`);
    assert.equal(listening.aeTitle, "STORESCP");
    assert.equal(listening.tls, false);
  }));

Deno.test("--json with -lc DCMTK's logger.cfg (console on stdout): stdout holds the JSON alone", () =>
  withTempDir("dimse_json_lc_", async (dir) => {
    // DCMTK's stock config, its log file moved into the temporary directory.
    const stock = await Deno.readTextFile("/etc/dcmtk/logger.cfg").catch(() =>
      [
        "log4cplus.rootLogger = DEBUG, console, logfile",
        "log4cplus.appender.console = log4cplus::ConsoleAppender",
        "log4cplus.appender.console.Threshold = INFO",
        "log4cplus.appender.console.logToStderr = true",
        "log4cplus.appender.logfile = log4cplus::FileAppender",
        "log4cplus.appender.logfile.File = ${appname}.log",
        "log4cplus.appender.console.layout = log4cplus::PatternLayout",
        "log4cplus.appender.console.layout.ConversionPattern = %D{%H:%M:%S} %5p: %m%n",
      ].join("\n")
    );
    const cfg = `${dir}/logger.cfg`;
    await Deno.writeTextFile(cfg, stock.replace("${appname}.log", `${dir}/\${appname}.log`));
    await writeImageFile(`${dir}/a.dcm`, { rows: 4, cols: 4 });
    await Deno.mkdir(`${dir}/od`);
    const scp = await withTool("storescp", ["-lc", cfg, "-od", `${dir}/od`], async (port) => {
      for (const [tool, extra] of [["echoscu", []], ["storescu", [`${dir}/a.dcm`]]] as const) {
        const r = await runTool(tool, ["--json", "-lc", cfg, HOST, String(port), ...extra]);
        assert.equal(r.code, 0, show(r));
        // The log lines went to stderr and the file; stdout is JSON alone.
        assert.match(r.stderr, /INFO: Requesting Association/);
        for (const line of r.stdout.trimEnd().split("\n")) assert.deepEqual(lineProblems(line), []);
        assert.match(await Deno.readTextFile(`${dir}/${tool}.log`), /Requesting Association/);
      }
    });
    assert.match(scp.stderr, /INFO: Association Received/);
    for (const line of scp.stdout.trimEnd().split("\n")) assert.deepEqual(lineProblems(line), []);
  }));
