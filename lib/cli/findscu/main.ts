/**
 * The findscu tool engine: DICOM query (C-FIND) SCU, after DCMTK's findscu(1).
 *
 * @module
 */
import {
  IP_PROTOCOL_SUBGROUP,
  SCU_PEER_PARAMS,
  scuAeTitleSubgroup,
  scuPeer,
  scuSettings,
  timingsJson,
} from "../common/network_options.ts";
import { type CommandLineSpec, generalOptionDefs, OptionError } from "../common/options.ts";
import {
  qrModelSubgroup,
  qrOtherNetworkOptions,
  qrProposalSubgroup,
  qrQueries,
  qrSettings,
  QUERY_FILES_PARAM,
  QueryFileError,
  queryKeySubgroup,
} from "../common/qr_options.ts";
import { setUpTls, tlsConnect, tlsJson, tlsOptionGroup } from "../common/tls_group.ts";
import { JsonLines, jsonPeer, jsonTransferSyntax, ms3 } from "../common/json.ts";
import {
  COMMON_EXIT_CODES,
  EXIT_COMMAND_LINE,
  EXIT_NOT_PERMITTED,
  EXIT_OK,
  runTool,
} from "../common/tool.ts";
import { SCU_ASSOCIATION_EXIT_CODES } from "../echoscu/main.ts";
import { toDicomJson } from "../../dicom/json_model.ts";
import { type FindOutcome, type FindResult, modelWords, runFindScu } from "./engine.ts";

const CALLING_AE_TITLE = "FINDSCU";

/** Exit codes: DCMTK 3.6.7's findscu exits 0, 1 or 2; ours say what failed. */
export const FIND_EXIT_CODES: Record<FindOutcome, number> = {
  "success": EXIT_OK,
  "not-permitted": EXIT_NOT_PERMITTED,
  "connect-failed": 60,
  "rejected": 61,
  "association-failed": 66,
  "no-presentation-context": 67,
  "find-failed": 68,
  "dimse-timeout": 69,
  "aborted": 70,
  "malformed-response": 71,
  "file-failed": 72,
};

/** findscu's command line: DCMTK 3.6.7's (what we implement of it), plus -i4/-i6/-i0 and --json. */
export const FINDSCU_SPEC: CommandLineSpec = {
  tool: "findscu",
  description: "DICOM query (C-FIND) SCU",
  params: [...SCU_PEER_PARAMS, QUERY_FILES_PARAM],
  columns: { long: 20, short: 4 },
  exitCodes: [
    COMMON_EXIT_CODES.ok(
      "every C-FIND ended with Success (or Cancel after --cancel asked for it)",
    ),
    COMMON_EXIT_CODES.commandLine("; a bad -k key; a query file unreadable; -od missing"),
    COMMON_EXIT_CODES.notPermitted,
    ...SCU_ASSOCIATION_EXIT_CODES,
    {
      code: "68",
      meaning: "a C-FIND ended with a failure status (0xA700, 0xA900, 0xCxxx...)",
    },
    { code: "69", meaning: "no response within -td" },
    {
      code: "70",
      meaning: "the association was aborted (by the peer, or after a protocol error)",
    },
    { code: "71", meaning: "a response's identifier was missing or malformed" },
    { code: "72", meaning: "-X could not write a response file" },
    COMMON_EXIT_CODES.outputClosed,
    COMMON_EXIT_CODES.internal,
  ],
  groups: [
    {
      title: "general options:",
      columns: { long: 20, short: 6 },
      options: generalOptionDefs(),
    },
    {
      title: "network options:",
      subgroups: [
        queryKeySubgroup("findscu"),
        qrModelSubgroup("findscu"),
        IP_PROTOCOL_SUBGROUP,
        scuAeTitleSubgroup(CALLING_AE_TITLE),
        qrProposalSubgroup("findscu"),
        { title: "other network options:", options: qrOtherNetworkOptions("findscu") },
      ],
    },
    tlsOptionGroup("client"),
    {
      title: "output options:",
      subgroups: [
        {
          title: "general:",
          options: [{
            long: "--output-directory",
            short: "-od",
            valueHelp: '[d]irectory: string (default: ".")',
            help: "write output files to existing directory d",
          }],
        },
        {
          title: "C-FIND responses:",
          options: [
            {
              long: "--show-responses",
              short: "+sr",
              help: "always output responses to the logger",
              block: "show",
            },
            {
              long: "--hide-responses",
              short: "-sr",
              help: "do not output responses to the logger",
              block: "show",
            },
            {
              long: "--extract",
              short: "-X",
              help: "extract responses to DICOM file (rsp0001.dcm...)",
            },
            {
              long: "--limit-output",
              short: "-Xlo",
              valueHelp: "[n]umber: integer",
              help: [
                "limit number of responses extracted to file to n",
                "(default: unlimited)",
              ],
            },
            {
              long: "--json",
              help: [
                "print one JSON line per response on stdout",
                "(identifier in the DICOM JSON model), then a",
                "summary (outcome, exit code, counts; schemas/v1)",
              ],
            },
          ],
        },
      ],
    },
  ],
};

/** What an outcome means, in the summary line. */
const OUTCOME_WORDS: Record<FindOutcome, string> = {
  "success": "success",
  "not-permitted": "a Deno permission is missing",
  "connect-failed": "cannot connect",
  "rejected": "association rejected",
  "association-failed": "association request failed",
  "no-presentation-context": "no acceptable presentation context",
  "find-failed": "a C-FIND failed",
  "malformed-response": "a response could not be read",
  "file-failed": "a response file could not be written",
  "dimse-timeout": "no response within -td",
  "aborted": "association aborted",
};

/**
 * The one human line findscu ends with: whom it asked, in which model,
 * how many matches, how the C-FINDs ended, and on failure the exit code.
 */
export function findSummaryLine(r: FindResult, exitCode: number): string {
  const to = `${r.calledAeTitle}@${r.peer.host}:${r.peer.port}`;
  const c = r.counts;
  const finds = c.planned === 1 ? "C-FIND" : `${c.planned} C-FINDs`;
  let line = `findscu: ${finds} (${modelWords(r.model)}) to ${to}: ` +
    `${c.matches} match${c.matches === 1 ? "" : "es"}`;
  const parts: string[] = [];
  if (c.cancelled) parts.push(`${c.cancelled} cancelled`);
  if (c.failed) parts.push(`${c.failed} failed`);
  if (c.planned - c.sent > 0) parts.push(`${c.planned - c.sent} not sent`);
  if (c.malformed) parts.push(`${c.malformed} unreadable`);
  if (c.extracted) parts.push(`${c.extracted} written`);
  if (parts.length) line += ` (${parts.join(", ")})`;
  if (r.outcome !== "success") line += `; failed: ${OUTCOME_WORDS[r.outcome]} (exit ${exitCode})`;
  return line;
}

/** The --json summary line's fields. */
export function findSummaryFields(
  r: FindResult,
  exitCode: number,
  totalMs: number,
): Record<string, unknown> {
  const c = r.counts;
  return {
    peer: jsonPeer(r.peer),
    callingAeTitle: r.callingAeTitle,
    calledAeTitle: r.calledAeTitle,
    ...jsonTransferSyntax(r.transferSyntax),
    tls: tlsJson(r.tls),
    outcome: r.outcome,
    exitCode,
    diagnosis: r.diagnosis ?? null,
    timings: timingsJson(r.timings),
    ms: ms3(totalMs),
    associations: 1,
    planned: c.planned,
    sent: c.sent,
    success: c.success,
    warning: c.warning,
    failed: c.failed,
    notSent: c.planned - c.sent,
    model: r.model,
    matches: c.matches,
    cancelled: c.cancelled,
    malformed: c.malformed,
    extracted: c.extracted,
  };
}

/** Runs findscu with `argv`; resolves with the exit code. */
export function main(argv: readonly string[]): Promise<number> {
  return runTool(FINDSCU_SPEC, argv, async ({ options, logger, summary }) => {
    const settings = qrSettings(options, "findscu");
    const outputDirectory = options.value("--output-directory") ?? ".";
    const extract = options.has("--extract");
    if (extract || options.has("--output-directory")) {
      let isDir = false;
      try {
        isDir = (await Deno.stat(outputDirectory)).isDirectory;
      } catch (err) {
        if (err instanceof Deno.errors.NotCapable) throw err;
      }
      if (!isDir) {
        throw new OptionError(`specified output directory does not exist: ${outputDirectory}`);
      }
    }
    let queries;
    try {
      queries = await qrQueries(settings.files, settings.keys);
    } catch (err) {
      if (err instanceof QueryFileError) {
        logger.fatal(err.message);
        return EXIT_COMMAND_LINE;
      }
      throw err;
    }
    const tls = await setUpTls(options, "client", FINDSCU_SPEC, logger);
    if (typeof tls === "number") return tls;
    const peer = scuPeer(options);
    const show = options.winner("show");
    const json = options.has("--json") ? new JsonLines("findscu") : undefined;
    const t0 = performance.now();
    const base = scuSettings(options, CALLING_AE_TITLE);
    const result = await runFindScu({
      ...peer,
      ...base,
      model: settings.model,
      transferSyntaxes: settings.transferSyntaxes,
      queries,
      repeat: settings.repeat,
      cancelAfter: settings.cancelAfter,
      // DCMTK: responses go to the log unless extracted to files; +sr/-sr decide; -q silences.
      showResponses: (show === "--show-responses" || (show === undefined && !extract)) &&
        logger.isEnabled("error"),
      extract,
      outputDirectory,
      extractLimit: options.uint("--limit-output", { min: 1 }),
      logger,
      connect: tls && tlsConnect(tls),
      onResponse: json && ((r) =>
        json.write("find-response", {
          peer: jsonPeer(peer),
          callingAeTitle: base.callingAeTitle,
          calledAeTitle: base.calledAeTitle,
          query: r.query,
          queryFile: r.file ?? null,
          messageId: r.messageId,
          index: r.index,
          status: r.status,
          statusText: r.statusText,
          outcome: r.outcome,
          identifier: r.identifier && toDicomJson(r.identifier),
          problem: r.problem,
          file: r.writtenTo,
          ms: ms3(r.ms),
        })),
    });
    const code = FIND_EXIT_CODES[result.outcome];
    if (result.diagnosis) logger.error(result.diagnosis);
    summary(findSummaryLine(result, code));
    json?.write("summary", findSummaryFields(result, code, performance.now() - t0));
    return code;
  });
}
