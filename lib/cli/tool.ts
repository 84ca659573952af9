/**
 * What every command line tool does around its real work: parse the command
 * line with DCMTK's rules, print help or version, set up logging, turn a bad
 * option into one line on stderr and exit code 1.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import { VERSION } from "../version.ts";
import {
  type CommandLineSpec,
  configureLogging,
  formatUsage,
  OptionError,
  parseCommandLine,
  type ParsedOptions,
} from "./options.ts";

/** Exit codes shared by every tool (DCMTK's ofexit.h). */
export const EXIT_OK = 0;
/** A command line syntax error (DCMTK EXITCODE_COMMANDLINE_SYNTAX_ERROR). */
export const EXIT_COMMAND_LINE = 1;

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
}

/**
 * Runs a tool: `body` returns the exit code. An OptionError thrown from the
 * body (a bad option value) becomes one line on stderr and exit code 1.
 */
export async function runTool(
  spec: CommandLineSpec,
  argv: readonly string[],
  body: (ctx: ToolContext) => Promise<number>,
): Promise<number> {
  const badOption = (message: string): number => {
    console.error(`${spec.tool}: ${message}`);
    return EXIT_COMMAND_LINE;
  };
  const parsed = parseCommandLine(spec, argv);
  if (!parsed.ok) return badOption(parsed.error);
  if (parsed.usage) {
    await writeAll(Deno.stdout, formatUsage(spec, header(spec.tool)));
    return EXIT_OK;
  }
  if (parsed.exclusive && parsed.options.has("--version")) {
    await writeAll(Deno.stdout, versionText(spec));
    return EXIT_OK;
  }
  const logging = configureLogging(parsed.options, { programName: spec.tool });
  if (!logging.ok) return badOption(logging.error);
  // DCMTK opens every -d log with its resource identifier and an empty line.
  logging.logger.debug(`${header(spec.tool)}\n`);
  try {
    return await body({ options: parsed.options, params: parsed.params, logger: logging.logger });
  } catch (err) {
    if (err instanceof OptionError) return badOption(err.message);
    throw err;
  } finally {
    logging.hierarchy.close();
  }
}

/** Writes text fully to a Deno writer (stdout/stderr). */
export async function writeAll(w: { write(p: Uint8Array): Promise<number> }, text: string) {
  const bytes = new TextEncoder().encode(text);
  let off = 0;
  while (off < bytes.length) off += await w.write(bytes.subarray(off));
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
