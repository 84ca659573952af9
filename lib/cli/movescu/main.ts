/**
 * The movescu tool engine: DICOM retrieve (C-MOVE) SCU, after DCMTK's
 * movescu(1): the archive sends what the identifier names to the Move
 * Destination (-aem); with --port we are a storage SCP too, for a
 * destination that is ourselves. `--check` runs the whole "can this
 * archive work with us" question (check.ts).
 *
 * @module
 */
import { generalOptionDefs, OptionError } from "../common/options.ts";
import type { CommandLineSpec, ParsedOptions } from "../common/options.ts";
import {
  SCU_PEER_PARAMS,
  scuAeTitleSubgroup,
  scuPeer,
  scuSettings,
} from "../common/network_options.ts";
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
import { setUpTls, tlsConnect, tlsOptionGroup } from "../common/tls_group.ts";
import { COMMON_EXIT_CODES, runTool } from "../common/tool.ts";
import { JsonLines } from "../common/json.ts";
import { ProgressBar, withProgressLine } from "../common/progress.ts";
import {
  explainRetrieve,
  type ReceivedInstance,
  receivedJsonFields,
  responseJsonFields,
  RETRIEVE_EXIT_CODES,
  retrieveExitCodeDocs,
  type RetrieveResult,
  retrieveSummaryJson,
  retrieveSummaryLine,
  runRetrieve,
} from "../common/retrieve.ts";
import {
  incomingSyntaxes,
  OUTPUT_OPTIONS,
  outputDirectory,
  preferSubgroup,
} from "../common/retrieve_options.ts";
import { type Receiver, startReceiver } from "./receiver.ts";
import { CHECK_EXIT_CODES, runCheck } from "./check.ts";

const CALLING_AE_TITLE = "MOVESCU";

/** movescu's command line (DCMTK 3.6.7's, plus TLS, --check and --json). */
export const MOVESCU_SPEC: CommandLineSpec = {
  tool: "movescu",
  description: "DICOM retrieve (C-MOVE) SCU",
  params: [...SCU_PEER_PARAMS, QUERY_FILES_PARAM],
  exitCodes: [
    COMMON_EXIT_CODES.ok("the C-MOVE completed: every sub-operation succeeded"),
    COMMON_EXIT_CODES.commandLine(" or a query file that cannot be read"),
    COMMON_EXIT_CODES.notPermitted,
    ...retrieveExitCodeDocs("move"),
    ...CHECK_EXIT_CODES,
    COMMON_EXIT_CODES.outputClosed,
    COMMON_EXIT_CODES.internal,
  ],
  groups: [
    { title: "general options:", columns: { long: 19, short: 6 }, options: generalOptionDefs() },
    {
      title: "network options:",
      subgroups: [
        queryKeySubgroup("movescu"),
        qrModelSubgroup("movescu"),
        {
          ...scuAeTitleSubgroup(CALLING_AE_TITLE),
          options: [
            ...scuAeTitleSubgroup(CALLING_AE_TITLE).options,
            {
              long: "--move",
              short: "-aem",
              valueHelp: "[a]etitle: string",
              help: "set move destinat. AE title (default: my AE title)",
            },
          ],
        },
        preferSubgroup("preferred network transfer syntaxes (incoming associations):"),
        qrProposalSubgroup("movescu"),
        {
          title: "port for incoming network associations:",
          options: [
            {
              long: "--no-port",
              help: "no port for incoming associations (default)",
              block: "port",
            },
            {
              long: "--port",
              short: "+P",
              valueHelp: "[n]umber: integer",
              help: "port number for incoming associations",
              block: "port",
            },
          ],
        },
        { title: "other network options:", options: qrOtherNetworkOptions("movescu") },
      ],
    },
    tlsOptionGroup("client"),
    {
      title: "connectivity check:",
      options: [{
        long: "--check",
        help: [
          "check that the peer works with us: C-ECHO, a",
          "C-FIND for one study (-k keys narrow it), and a",
          "C-MOVE of it to ourselves (needs --port); one",
          "verdict line per step (exit 0, or 80/81/82)",
        ],
      }],
    },
    {
      title: "output options:",
      options: [
        ...OUTPUT_OPTIONS,
        {
          long: "--json",
          help: [
            "print one JSON line per C-MOVE response and per",
            "file received on stdout, then a summary",
            "(outcome, exit code, counts; schemas/v1)",
          ],
        },
      ],
    },
  ],
};

/** --port, or undefined with --no-port / none. */
function listenPort(options: ParsedOptions): number | undefined {
  if (options.winner("port") !== "--port") return undefined;
  return options.uint("--port", { min: 1, max: 65535 });
}

/** Runs movescu with `argv`; resolves with the exit code. */
export function main(argv: readonly string[]): Promise<number> {
  return runTool(MOVESCU_SPEC, argv, async ({ options, logger, summary }) => {
    const qr = qrSettings(options, "movescu");
    const check = options.has("--check");
    const port = listenPort(options);
    if (check && port === undefined) {
      throw new OptionError(
        "--check needs --port: the port the archive has registered for our AE title",
      );
    }
    if (!check && qr.keys.length === 0 && qr.files.length === 0) {
      throw new OptionError("either query file or override keys (or both) must be specified");
    }
    if (options.has("--output-directory") && port === undefined) {
      // DCMTK's movescu refuses it the same way: only our own SCP writes files.
      throw new OptionError("--output-directory only allowed with --port");
    }
    // Only our own storage SCP writes files: without --port nothing is read or written.
    const dir = port === undefined ? "." : await outputDirectory(options);
    let queries;
    try {
      queries = await qrQueries(qr.files, qr.keys);
    } catch (err) {
      if (!(err instanceof QueryFileError)) throw err;
      logger.fatal(err.message);
      return 1;
    }
    const tls = await setUpTls(options, "client", MOVESCU_SPEC, logger);
    if (typeof tls === "number") return tls;
    const json = options.has("--json") ? new JsonLines("movescu") : undefined;
    const bar = Deno.stderr.isTerminal() && logger.isEnabled("error") && !json && !check
      ? new ProgressBar(Deno.stderr, { columns: () => Deno.consoleSize().columns || 80 })
      : undefined;
    const log = bar ? withProgressLine(logger, bar) : logger;
    const peer = scuPeer(options);
    const settings = scuSettings(options, CALLING_AE_TITLE);
    const destination = options.value("--move") ?? settings.callingAeTitle;
    const received: ReceivedInstance[] = [];
    const t0 = performance.now();

    let receiver: Receiver | undefined;
    if (port !== undefined) {
      try {
        receiver = await startReceiver({
          aeTitle: settings.callingAeTitle,
          port,
          dir,
          ignore: options.has("--ignore"),
          transferSyntaxes: incomingSyntaxes(options),
          maxPdu: settings.maxPdu,
          acseTimeoutMs: settings.acseTimeoutMs,
          dimseTimeoutMs: settings.dimseTimeoutMs,
          logger: log,
          onReceived: (f) => {
            received.push(f);
            json?.write("store", receivedJsonFields(f));
          },
        });
      } catch (err) {
        if (err instanceof Deno.errors.PermissionDenied && String(err).includes("--allow")) {
          throw err;
        }
        const code = RETRIEVE_EXIT_CODES["cannot-listen"];
        const reason = err instanceof Error ? err.message : String(err);
        logger.fatal(`cannot listen on port ${port}: ${reason}`);
        summary(`movescu: cannot listen on port ${port} (exit ${code})`);
        return code;
      }
    }
    const run = {
      ...peer,
      ...settings,
      logger: log,
      connect: tls && tlsConnect(tls),
      model: qr.model,
      proposedSyntaxes: qr.transferSyntaxes,
      destination,
      received,
    };
    try {
      if (check) {
        return await runCheck({
          ...run,
          keys: queries[0].attributes,
          listenPort: port!,
          receiver: receiver!,
          json,
          summary,
        });
      }
      const identity = { operation: "move" as const, peer, ...settings, destination };
      const result = await runRetrieve({
        ...run,
        operation: "move",
        identifiers: queries.map((q) => q.attributes),
        repeat: qr.repeat,
        cancelAfter: qr.cancelAfter,
        progress: bar,
        onResponse: (x) => json?.write("retrieve-response", responseJsonFields(identity, x)),
      });
      bar?.finish();
      await receiver?.stop();
      finishDiagnosis(result, receiver, port);
      receiver = undefined;
      const code = RETRIEVE_EXIT_CODES[result.outcome];
      if (result.diagnosis) logger.error(result.diagnosis);
      const ms = performance.now() - t0;
      summary(retrieveSummaryLine(result, code, ms));
      json?.write("summary", retrieveSummaryJson(result, code, ms));
      return code;
    } finally {
      await receiver?.stop();
    }
  });
}

/**
 * The diagnosis of a C-MOVE: from the final response, and for a move to
 * ourselves from what our SCP saw; a move to ourselves without --port
 * cannot succeed, which is said too.
 */
export function finishDiagnosis(
  result: RetrieveResult,
  receiver: Receiver | undefined,
  port: number | undefined,
): void {
  const toUs = result.destination === result.callingAeTitle;
  result.diagnosis ??= explainRetrieve(
    result,
    toUs ? receiver?.seen : undefined,
    result.local?.host,
    toUs && port === undefined,
  );
}
