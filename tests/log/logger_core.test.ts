import assert from "node:assert/strict";
import {
  createLogger,
  createMemoryLogger,
  levelLetter,
  levelName,
  levelValue,
  LOG_LEVELS,
  LogHierarchy,
  type LogLevel,
  MemoryAppender,
  NULL_LOGGER,
  parseLogThreshold,
} from "../../lib/log/logger.ts";

const DEBUG_FIXTURE = new URL("../../testing/fixtures/dcmtk367_echoscu_debug.log", import.meta.url);

function logAll(l: { [K in LogLevel]: (m: string) => void }) {
  for (const lvl of LOG_LEVELS) l[lvl](lvl);
}

Deno.test("logger: default level is warn; thresholds filter lower levels", () => {
  const m = createMemoryLogger();
  logAll(m);
  assert.deepEqual(m.sink.lines, ["W: warn", "E: error", "F: fatal"]);
  const d = createMemoryLogger({ level: "debug" });
  logAll(d);
  assert.deepEqual(d.sink.lines, ["D: debug", "I: info", "W: warn", "E: error", "F: fatal"]);
  const q = createMemoryLogger({ level: "fatal" });
  logAll(q);
  assert.deepEqual(q.sink.lines, ["F: fatal"]);
  const t = createMemoryLogger({ level: "trace" });
  logAll(t);
  assert.equal(t.sink.lines[0], "T: trace");
  const off = createMemoryLogger({ level: "off" });
  logAll(off);
  assert.deepEqual(off.sink.lines, []);
  off.forcedLog("info", "forced");
  assert.deepEqual(off.sink.lines, ["I: forced"]);
});

Deno.test("logger: isEnabled matches the threshold", () => {
  const l = createMemoryLogger({ level: "info" });
  assert.equal(l.isEnabled("debug"), false);
  assert.equal(l.isEnabled("info"), true);
  assert.equal(l.isEnabled("fatal"), true);
  assert.equal(NULL_LOGGER.isEnabled("fatal"), false);
  NULL_LOGGER.fatal("nothing happens");
});

Deno.test("logger: every line of a multi-line message gets the prefix", () => {
  const l = createMemoryLogger({ level: "debug" });
  l.debug("$dcmtk: echoscu v3.6.7 2022-04-22 $\n");
  l.debug("Request Parameters:\n  Context ID:        1 (Proposed)");
  assert.equal(
    l.sink.text,
    "D: $dcmtk: echoscu v3.6.7 2022-04-22 $\nD: \nD: Request Parameters:\nD:   Context ID:        1 (Proposed)\n",
  );
  // the DCMTK fixture shows the same shape: header line, then "D: " with a trailing space
  const fixture = Deno.readTextFileSync(DEBUG_FIXTURE).split("\n");
  assert.deepEqual(l.sink.lines.slice(0, 2), fixture.slice(0, 2));
});

Deno.test("logger: level helpers", () => {
  assert.deepEqual(LOG_LEVELS.map(levelName), ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]);
  assert.deepEqual(LOG_LEVELS.map(levelLetter), ["T", "D", "I", "W", "E", "F"]);
  assert.ok(levelValue("trace") < levelValue("debug") && levelValue("fatal") < levelValue("off"));
  assert.equal(parseLogThreshold("WARN"), "warn");
  assert.equal(parseLogThreshold(" Debug "), "debug");
  assert.equal(parseLogThreshold("all"), "trace");
  assert.equal(parseLogThreshold("OFF"), "off");
  assert.equal(parseLogThreshold("warning"), undefined);
  assert.equal(parseLogThreshold(""), undefined);
});

Deno.test("logger: hierarchy levels, child loggers, appender thresholds, additivity", () => {
  const root = new MemoryAppender();
  const net = new MemoryAppender({ threshold: "info" });
  const h = new LogHierarchy({
    rootLevel: "warn",
    rootAppenders: [root],
    loggers: {
      "dcmtk.dcmnet": { level: "debug", appenders: [net] },
      "dcmtk.dcmnet.quiet": { level: "error", additivity: false, appenders: [] },
    },
  });
  const app = h.getLogger("dcmtk.apps.echoscu");
  const dimse = h.getLogger("dcmtk").child("dcmnet").child("dimse");
  assert.equal(dimse.name, "dcmtk.dcmnet.dimse");
  assert.equal(h.root.child("dcmtk").name, "dcmtk");
  assert.strictEqual(h.getLogger("dcmtk.dcmnet.dimse"), dimse);
  app.info("app info");
  app.warn("app warn");
  dimse.debug("net debug");
  dimse.info("net info");
  h.getLogger("dcmtk.dcmnet.quiet").fatal("not additive");
  assert.deepEqual(root.lines, ["W: app warn", "D: net debug", "I: net info"]);
  assert.deepEqual(net.lines, ["I: net info"]);
  assert.equal(root.records[1].logger, "dcmtk.dcmnet.dimse");
  h.close();
});

Deno.test("logger: results on stdout and logs on stderr never mix", async () => {
  const code = `
    import { createLogger } from ${
    JSON.stringify(new URL("../../lib/log/logger.ts", import.meta.url).href)
  };
    const log = createLogger({ level: "info", name: "dcmtk.apps.t" });
    console.log("result");
    log.info("a\\nb");
    log.debug("hidden");
    log.warn("");
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", code],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  assert.equal(new TextDecoder().decode(out.stdout), "result\n");
  assert.equal(new TextDecoder().decode(out.stderr), "I: a\nI: b\nW: \n");
});

Deno.test("logger: createLogger with explicit appenders and name", () => {
  const sink = new MemoryAppender();
  const l = createLogger({ level: "error", name: "dcmtk.apps.storescu", appenders: [sink] });
  l.error("boom");
  l.warn("quiet");
  assert.equal(l.name, "dcmtk.apps.storescu");
  assert.deepEqual(sink.lines, ["E: boom"]);
  sink.clear();
  assert.equal(sink.text, "");
  assert.equal(sink.records.length, 0);
});
