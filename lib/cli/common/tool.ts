/**
 * What every command line tool does around its real work: parse the command
 * line with DCMTK's rules, print help or version, set up logging, turn a bad
 * option into one line on stderr and exit code 1.
 *
 * @module
 */
import type { Logger } from "../../log/logger.ts";
import { missingPermission, PermissionError } from "../../util/permission.ts";
import { stderr, stdout } from "../../util/std_streams.ts";
import { VERSION } from "../../util/version.ts";
import {
  type CommandLineSpec,
  configureLogging,
  formatUsage,
  OptionError,
  parseCommandLine,
  type ParsedOptions,
  wantsLogConfig,
} from "./options.ts";

/** Exit codes shared by every tool (DCMTK's ofexit.h). */
export const EXIT_OK = 0;
/** A command line syntax error (DCMTK EXITCODE_COMMANDLINE_SYNTAX_ERROR). */
export const EXIT_COMMAND_LINE = 1;
/**
 * Deno refused something for want of a permission flag (DCMTK's
 * EXITCODE_INSUFFICIENT_PRIVILEGES): the one line names the flag.
 */
export const EXIT_NOT_PERMITTED = 2;
/** An error no outcome foresaw: a bug, reported in one line instead of a stack trace. */
export const EXIT_INTERNAL_ERROR = 99;
/**
 * The reader of stdout or stderr went away (`tool --help | head -1`) in a run
 * that would have exited 0: what was printed after that is lost. 128 + 13,
 * what a shell reports for a DCMTK tool killed by SIGPIPE there.
 */
export const EXIT_OUTPUT_CLOSED = 141;

/** The header line printed before help and by --version. */
export function header(tool: string): string {
  return `$dimse-deno: ${tool} v${VERSION} $`;
}

/** The --version text: header, description and the runtime underneath. */
export function versionText(spec: CommandLineSpec): string {
  return `${header(spec.tool)}\n\n${spec.tool}: ${spec.description}\n\n` +
    `Runtime: Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript}\n` +
    "External libraries used: none\n";
}

/** What the tool's body gets once the command line is valid. */
export interface ToolContext {
  options: ParsedOptions;
  params: readonly string[];
  logger: Logger;
  /**
   * Prints the one human line a client tool ends with, on stderr, at the
   * default level and above (terminal or not); `-q` silences it.
   */
  summary: (line: string) => void;
}

/**
 * Runs a tool: `body` returns the exit code. An OptionError thrown from the
 * body (a bad option value) becomes one line on stderr and exit code 1; a
 * run that lost output to a closed pipe exits {@link EXIT_OUTPUT_CLOSED}
 * instead of 0.
 */
export async function runTool(
  spec: CommandLineSpec,
  argv: readonly string[],
  body: (ctx: ToolContext) => Promise<number>,
): Promise<number> {
  const code = await runToolBody(spec, argv, body);
  return code === EXIT_OK && (stdout.closed || stderr.closed) ? EXIT_OUTPUT_CLOSED : code;
}

async function runToolBody(
  spec: CommandLineSpec,
  argv: readonly string[],
  body: (ctx: ToolContext) => Promise<number>,
): Promise<number> {
  const badOption = (message: string): number => {
    stderr.writeAll(`${spec.tool}: ${message}\n`);
    return EXIT_COMMAND_LINE;
  };
  let parsed;
  try {
    parsed = parseCommandLine(spec, argv);
  } catch (err) {
    if (err instanceof PermissionError) return notPermitted(spec, err.message);
    throw err;
  }
  if (!parsed.ok) return badOption(parsed.error);
  if (parsed.usage) {
    stdout.writeAll(formatUsage(spec, header(spec.tool)));
    return EXIT_OK;
  }
  if (parsed.exclusive && parsed.options.has("--version")) {
    stdout.writeAll(versionText(spec));
    return EXIT_OK;
  }
  let logging;
  try {
    logging = configureLogging(parsed.options, {
      programName: spec.tool,
      // The log4cplus file reader only for a run that gives one.
      logConfig: wantsLogConfig(parsed.options) ? await import("./log_config.ts") : undefined,
      // With --json, stdout is the JSON's alone: console appenders of -lc go to stderr.
      stdoutReserved: parsed.options.defines("--json") && parsed.options.has("--json"),
    });
  } catch (err) {
    if (err instanceof PermissionError) return notPermitted(spec, err.message);
    throw err;
  }
  if (!logging.ok) return badOption(logging.error);
  const logger = logging.logger;
  // DCMTK opens every -d log with its resource identifier and an empty line.
  logger.debug(`${header(spec.tool)}\n`);
  const root = logging.hierarchy.root;
  const summary = (line: string) => {
    if (root.isEnabled("warn")) stderr.writeAll(`${line}\n`);
  };
  try {
    return await body({ options: parsed.options, params: parsed.params, logger, summary });
  } catch (err) {
    if (err instanceof OptionError) return badOption(err.message);
    if (err instanceof PermissionError) return notPermitted(spec, err.message);
    const denied = missingPermission(err);
    if (denied) return notPermitted(spec, new PermissionError(denied).message);
    // No outcome may end in a stack trace: one line, a code of its own.
    logger.fatal(
      `internal error (a bug: please report it with the command line): ${
        err instanceof Error ? `${err.name}: ${err.message}` : String(err)
      }`,
    );
    return EXIT_INTERNAL_ERROR;
  } finally {
    logging.hierarchy.close();
  }
}

/** A missing Deno permission: one line on stderr (whatever the log level), exit 2. */
function notPermitted(spec: CommandLineSpec, message: string): number {
  stderr.writeAll(`${spec.tool}: ${message}\n`);
  return EXIT_NOT_PERMITTED;
}

/** Seconds option (-to, -ta, -td, -ts) in milliseconds, or `fallback` when absent. */
export function secondsOption(
  options: ParsedOptions,
  long: string,
  min: number,
  fallback: number | undefined,
): number | undefined {
  const s = options.int(long, { min });
  return s === undefined ? fallback : s * 1000;
}

/** The exit codes every tool shares, as --help lists them (the first two and the last). */
export const COMMON_EXIT_CODES = {
  ok: (meaning: string) => ({ code: String(EXIT_OK), meaning }),
  commandLine: (more = "") => ({
    code: String(EXIT_COMMAND_LINE),
    meaning: `command line error (one line on stderr)${more}`,
  }),
  notPermitted: {
    code: String(EXIT_NOT_PERMITTED),
    meaning: "a Deno permission is missing: the line names the --allow-* flag and what for",
  },
  outputClosed: {
    code: String(EXIT_OUTPUT_CLOSED),
    meaning: "stdout or stderr closed by its reader (a pipe): the output since is lost",
  },
  internal: {
    code: String(EXIT_INTERNAL_ERROR),
    meaning: "internal error: a bug, please report it with the command line",
  },
} as const;
