import assert from "node:assert/strict";
import {
  configureFromProperties,
  createPatternLayout,
  expandVariables,
  formatDate,
  loadLogConfigFile,
  LogConfigError,
  parseProperties,
} from "../../lib/cli/common/log_config.ts";
import type { LogRecord } from "../../lib/log/logger.ts";

const T = new Date(Date.UTC(2022, 3, 22, 7, 5, 9, 42));
const rec = (
  message: string,
  level: LogRecord["level"] = "info",
  logger = "dcmtk.apps.echoscu",
) => ({
  level,
  logger,
  message,
  time: T,
});

function withTempDir(f: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync();
  try {
    f(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

function configError(text: string): string {
  try {
    configureFromProperties(text).close();
  } catch (e) {
    assert.ok(e instanceof LogConfigError);
    return e.message;
  }
  throw new Error("expected a LogConfigError");
}

Deno.test("logconfig: property parsing and variable expansion", () => {
  const p = parseProperties("# c\n\n  a.b = x = y  \r\nnoequals\nc=${a.b}/${HOME}/${none}\n");
  assert.deepEqual([...p], [["a.b", "x = y"], ["c", "${a.b}/${HOME}/${none}"]]);
  const env = (n: string) => (n === "HOME" ? "/home/u" : undefined);
  assert.equal(expandVariables(p.get("c")!, p, env), "x = y//home/u/${none}");
  const rec2 = new Map([["a", "${b}"], ["b", "${c}"], ["c", "deep"]]);
  assert.equal(expandVariables("${a}", rec2), "deep");
  const loop = new Map([["a", "${a}"]]);
  assert.equal(expandVariables("${a}", loop), "${a}");
});

Deno.test("logconfig: pattern layout conversions and modifiers", () => {
  const ctx = { pid: 4523, hostname: "vm.example.org", startTime: T.getTime() - 10 };
  const f = (p: string, r = rec("msg")) => createPatternLayout(p, ctx).format(r);
  assert.equal(f("%P: %m%n"), "I: msg\n");
  assert.equal(f("%p|%-6p|%5p|%.3p", rec("x", "fatal")), "FATAL|FATAL |FATAL|TAL");
  assert.equal(f("%p|%-6p|%5p|%.3p", rec("x", "info")), "INFO|INFO  | INFO|NFO");
  assert.equal(
    f("[%c][%c{1}][%c{2}][%10c{1}][%-10c{2}]"),
    "[dcmtk.apps.echoscu][echoscu][apps.echoscu][   echoscu][apps.echoscu]",
  );
  assert.equal(f("%d{%Y-%m-%d %H:%M:%S.%q}"), "2022-04-22 07:05:09.042");
  assert.equal(f("%d"), "2022-04-22 07:05:09");
  assert.equal(f("%d{%Q|%y|%j|%b|%a|%%}"), "042.000|22|112|Apr|Fri|%");
  assert.equal(f("[%i][%t][%h][%H][%r]"), "[4523][4523][vm][vm.example.org][10]");
  assert.equal(f("%%|%Z|%M%F%L%l%x"), "%|%Z|");
  assert.equal(f("[%3.5m]", rec("Requesting Association")), "[ation]");
  assert.equal(f("[%3.5m]", rec("a")), "[  a]");
  // every line of a multi-line message is formatted with the whole pattern
  assert.equal(f("<%P|%m>%n", rec("a\n\nb", "debug")), "<D|a>\n<D|>\n<D|b>\n");
});

Deno.test("logconfig: strftime subset in local time", () => {
  const d = new Date(2021, 0, 2, 15, 4, 5, 6);
  assert.equal(
    formatDate(d, "%Y%m%d %I:%M:%S %p %e %F %T %B %A", false),
    "20210102 03:04:05 PM  2 2021-01-02 15:04:05 January Saturday",
  );
});

Deno.test("logconfig: DCMTK's shipped logger.cfg / filelog.cfg configure console and file", () => {
  for (const path of ["/etc/dcmtk/logger.cfg", "/etc/dcmtk/filelog.cfg"]) {
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch {
      continue; // DCMTK not installed here
    }
    withTempDir((dir) => {
      // route ${appname}.log into the temp dir
      const h = configureFromProperties(text, { appName: `${dir}/echoscu` });
      const log = h.getLogger("dcmtk.apps.echoscu");
      assert.equal(log.isEnabled("debug"), true);
      assert.equal(log.isEnabled("trace"), false);
      log.debug("debug line");
      h.close();
      const content = Deno.readTextFileSync(`${dir}/echoscu.log`);
      assert.match(
        content,
        /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} DEBUG(: | - echoscu {2}- )debug line\n$/,
      );
    });
  }
});

Deno.test("logconfig: file appender with pattern, append, threshold, logger levels", () => {
  withTempDir((dir) => {
    const file = `${dir}/x.log`;
    Deno.writeTextFileSync(file, "old\n");
    const cfg = [
      "log4cplus.rootLogger = WARN, a",
      "log4cplus.logger.dcmtk.dcmnet = TRACE",
      "log4cplus.logger.dcmtk.dcmnet.noisy = off",
      "log4cplus.appender.a = log4cplus::RollingFileAppender",
      `log4cplus.appender.a.File = ${file}`,
      "log4cplus.appender.a.Append = true",
      "log4cplus.appender.a.ImmediateFlush = true",
      "log4cplus.appender.a.MaxFileSize = 5MB",
      "log4cplus.appender.a.Threshold = DEBUG",
      "log4cplus.appender.a.layout = log4cplus::PatternLayout",
      "log4cplus.appender.a.layout.ConversionPattern = %p %c: %m%n",
      "some.unknown.key = ignored",
    ].join("\n");
    const h = configureFromProperties(cfg);
    h.getLogger("dcmtk.apps.echoscu").info("not shown");
    h.getLogger("dcmtk.apps.echoscu").warn("warned");
    h.getLogger("dcmtk.dcmnet.dul").trace("below threshold");
    h.getLogger("dcmtk.dcmnet.dul").debug("dul\nline2");
    h.getLogger("dcmtk.dcmnet.noisy").fatal("off");
    h.close();
    assert.equal(
      Deno.readTextFileSync(file),
      "old\nWARN dcmtk.apps.echoscu: warned\nDEBUG dcmtk.dcmnet.dul: dul\nDEBUG dcmtk.dcmnet.dul: line2\n",
    );
    // Append = false (the default) truncates
    const h2 = configureFromProperties(
      `log4cplus.rootLogger=INFO,f\nlog4cplus.appender.f=log4cplus.FileAppender\nlog4cplus.appender.f.File=${file}\n`,
    );
    h2.root.info("a\nb");
    h2.close();
    assert.equal(Deno.readTextFileSync(file), "INFO - a\nb\n");
  });
});

Deno.test("logconfig: file layouts: simple default, TTCC, missing pattern falls back", () => {
  withTempDir((dir) => {
    const mk = (layout: string) =>
      `log4cplus.rootLogger=INFO,f\nlog4cplus.appender.f=log4cplus::FileAppender\n` +
      `log4cplus.appender.f.File=${dir}/l.log\n${layout}`;
    const run = (layout: string) => {
      const h = configureFromProperties(mk(layout), { pattern: { pid: 7 } });
      h.getLogger("x").info("m");
      h.close();
      return Deno.readTextFileSync(`${dir}/l.log`);
    };
    assert.equal(run(""), "INFO - m\n");
    assert.equal(run("log4cplus.appender.f.layout=log4cplus::PatternLayout\n"), "INFO - m\n");
    assert.equal(run("log4cplus.appender.f.layout=log4cplus::SimpleLayout\n"), "INFO - m\n");
    assert.match(
      run("log4cplus.appender.f.layout=log4cplus::TTCCLayout\n"),
      /^-?\d+ \[7\] INFO x - m\n$/,
    );
  });
});

Deno.test("logconfig: ${VAR} expansion in File with env and built-in variables", () => {
  withTempDir((dir) => {
    const h = configureFromProperties(
      "log4cplus.rootLogger = INFO, f\n" +
        "base = ${LOGROOT}/sub\n" +
        "log4cplus.appender.f = log4cplus::FileAppender\n" +
        "log4cplus.appender.f.File = ${base}-${appname}-${pid}.log\n",
      {
        appName: "storescu",
        env: (n) => (n === "LOGROOT" ? dir : undefined),
        pattern: { pid: 99 },
      },
    );
    h.root.warn("w");
    h.close();
    assert.equal(Deno.readTextFileSync(`${dir}/sub-storescu-99.log`), "WARN - w\n");
  });
});

Deno.test("logconfig: DCMTK's sanity-check messages and our errors", () => {
  assert.equal(
    configError("# nothing\n"),
    "Specified --log-config file does not contain any settings",
  );
  assert.equal(
    configError("foo=bar\n"),
    "Specified --log-config file does not contain any valid settings",
  );
  assert.equal(
    configError("log4cplus.foo=bar\n"),
    "Specified --log-config file does not set up log4cplus.rootLogger",
  );
  assert.equal(
    configError("log4cplus.rootLogger=INFO, a\nlog4cplus.appender.a=log4cplus::SocketAppender\n"),
    "Specified --log-config file uses unknown appender class log4cplus::SocketAppender for appender a",
  );
  assert.equal(
    configError("log4cplus.rootLogger=INFO, a\n"),
    "Specified --log-config file does not define appender a",
  );
  assert.equal(
    configError("log4cplus.rootLogger=LOUD, a\n"),
    "Invalid log level 'LOUD' for log4cplus.rootLogger in --log-config file",
  );
  assert.equal(
    configError(
      "log4cplus.rootLogger=INFO, a\nlog4cplus.appender.a=log4cplus::ConsoleAppender\n" +
        "log4cplus.appender.a.layout=log4cplus::XMLLayout\n",
    ),
    "Specified --log-config file uses unknown layout class log4cplus::XMLLayout",
  );
  assert.equal(
    configError("log4cplus.rootLogger=INFO, a\nlog4cplus.appender.a=log4cplus::FileAppender\n"),
    "No log file specified for appender a in --log-config file",
  );
  assert.match(
    configError(
      "log4cplus.rootLogger=INFO, a\nlog4cplus.appender.a=log4cplus::FileAppender\n" +
        "log4cplus.appender.a.File=/nonexistent/dir/x.log\n",
    ),
    /^Cannot open log file \/nonexistent\/dir\/x\.log: /,
  );
});

Deno.test("logconfig: loadLogConfigFile file checks and NullAppender", () => {
  assert.throws(() => loadLogConfigFile("/nonexistent.cfg"), {
    message: "Specified --log-config file does not exist",
  });
  assert.throws(() => loadLogConfigFile("/tmp"), {
    message: "Specified --log-config file does not exist",
  });
  withTempDir((dir) => {
    Deno.writeTextFileSync(
      `${dir}/n.cfg`,
      "log4cplus.rootLogger = INFO, n\nlog4cplus.appender.n = log4cplus::NullAppender\n",
    );
    const h = loadLogConfigFile(`${dir}/n.cfg`);
    assert.equal(h.root.isEnabled("info"), true);
    h.root.info("discarded");
    h.close();
  });
});

Deno.test("logconfig: console appender goes to stdout unless logToStdErr = true", async () => {
  const url = new URL("../../lib/cli/common/log_config.ts", import.meta.url).href;
  const run = async (extra: string) => {
    const cfg = "log4cplus.rootLogger = INFO, c\\n" +
      "log4cplus.appender.c = log4cplus::ConsoleAppender\\n" +
      "log4cplus.appender.c.layout = log4cplus::PatternLayout\\n" +
      "log4cplus.appender.c.layout.ConversionPattern = %P: %m%n\\n" + extra;
    const code = `import { configureFromProperties } from ${JSON.stringify(url)};
      configureFromProperties("${cfg}").getLogger("a").info("hello");`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-check", code],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    return [new TextDecoder().decode(out.stdout), new TextDecoder().decode(out.stderr)];
  };
  assert.deepEqual(await run(""), ["I: hello\n", ""]);
  // DCMTK's sample spelling "logToStderr" is not recognized by log4cplus either
  assert.deepEqual(await run("log4cplus.appender.c.logToStderr = true\\n"), ["I: hello\n", ""]);
  assert.deepEqual(await run("log4cplus.appender.c.logToStdErr = true\\n"), ["", "I: hello\n"]);
});
