/**
 * The getscu tool engine: DICOM retrieve (C-GET) SCU, after DCMTK's
 * getscu(1). The instances come back on the same association as C-STORE
 * sub-operations (PS3.4 C.4.3): we propose the SCP role for the storage
 * classes (PS3.7 D.3.3.4) and store what arrives with the service layer's
 * fileStore (checked names, `.part` files renamed when complete).
 *
 * @module
 */
import { STORAGE_SOP_CLASSES, STORESCU_DEFAULT_SOP_CLASSES } from "../../dicom/sop_classes.ts";
import type { ContextProposal } from "../../ae/associate.ts";
import { generalOptionDefs, OptionError } from "../common/options.ts";
import type { CommandLineSpec } from "../common/options.ts";
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
  receivingStore,
  responseJsonFields,
  RETRIEVE_EXIT_CODES,
  retrieveExitCodeDocs,
  retrieveStorageService,
  retrieveSummaryJson,
  retrieveSummaryLine,
  runRetrieve,
  storeResponseText,
} from "../common/retrieve.ts";
import {
  incomingSyntaxes,
  OUTPUT_OPTIONS,
  outputDirectory,
  preferSubgroup,
} from "../common/retrieve_options.ts";

const CALLING_AE_TITLE = "GETSCU";

/**
 * The storage classes getscu offers to receive, each on one context with
 * the SCP role: DCMTK's common ones first, then the others, as many as fit
 * beside the C-GET context in the 128 an association can carry.
 */
export const GETSCU_STORAGE_CLASSES: readonly string[] = [
  ...STORESCU_DEFAULT_SOP_CLASSES,
  ...STORAGE_SOP_CLASSES.map((c) => c.uid).filter((u) => !STORESCU_DEFAULT_SOP_CLASSES.includes(u)),
].slice(0, 127);

/** getscu's command line (DCMTK 3.6.7's, plus TLS and --json). */
export const GETSCU_SPEC: CommandLineSpec = {
  tool: "getscu",
  description: "DICOM retrieve (C-GET) SCU",
  params: [...SCU_PEER_PARAMS, QUERY_FILES_PARAM],
  exitCodes: [
    COMMON_EXIT_CODES.ok("the C-GET completed: every sub-operation succeeded"),
    COMMON_EXIT_CODES.commandLine(" or a query file that cannot be read"),
    COMMON_EXIT_CODES.notPermitted,
    ...retrieveExitCodeDocs("get"),
    COMMON_EXIT_CODES.outputClosed,
    COMMON_EXIT_CODES.internal,
  ],
  groups: [
    { title: "general options:", columns: { long: 19, short: 6 }, options: generalOptionDefs() },
    {
      title: "network options:",
      subgroups: [
        queryKeySubgroup("getscu"),
        qrModelSubgroup("getscu"),
        scuAeTitleSubgroup(CALLING_AE_TITLE),
        preferSubgroup("preferred storage transfer syntaxes (incoming associations):"),
        qrProposalSubgroup("getscu"),
        { title: "other network options:", options: qrOtherNetworkOptions("getscu") },
      ],
    },
    tlsOptionGroup("client"),
    {
      title: "output options:",
      options: [
        ...OUTPUT_OPTIONS,
        {
          long: "--json",
          help: [
            "print one JSON line per C-GET response and per",
            "file received on stdout, then a summary",
            "(outcome, exit code, counts; schemas/v1)",
          ],
        },
      ],
    },
  ],
};

/** Runs getscu with `argv`; resolves with the exit code. */
export function main(argv: readonly string[]): Promise<number> {
  return runTool(GETSCU_SPEC, argv, async ({ options, logger, summary }) => {
    const qr = qrSettings(options, "getscu");
    if (qr.keys.length === 0 && qr.files.length === 0) {
      // DCMTK's getscu refuses the same way (exit 1).
      throw new OptionError(
        "either query file or override keys (or both) must be specified",
      );
    }
    const dir = await outputDirectory(options);
    let queries;
    try {
      queries = await qrQueries(qr.files, qr.keys);
    } catch (err) {
      if (!(err instanceof QueryFileError)) throw err;
      logger.fatal(err.message);
      return 1;
    }
    const tls = await setUpTls(options, "client", GETSCU_SPEC, logger);
    if (typeof tls === "number") return tls;
    const json = options.has("--json") ? new JsonLines("getscu") : undefined;
    const bar = Deno.stderr.isTerminal() && logger.isEnabled("error") && !json
      ? new ProgressBar(Deno.stderr, { columns: () => Deno.consoleSize().columns || 80 })
      : undefined;
    const log = bar ? withProgressLine(logger, bar) : logger;
    const received: ReceivedInstance[] = [];
    const syntaxes = incomingSyntaxes(options);
    const contexts: ContextProposal[] = GETSCU_STORAGE_CLASSES.map((abstractSyntax) => ({
      abstractSyntax,
      transferSyntaxes: syntaxes,
    }));
    const store = receivingStore({
      dir,
      ignore: options.has("--ignore"),
      // DCMTK's getscu names a file by its SOP Instance UID alone in +B mode.
      name: options.winner("bit-preserving") === "--bit-preserving"
        ? (m) => m.affectedSopInstanceUid
        : undefined,
      logger: log,
      requestLine: (m) => `Received C-STORE Request (MsgID ${m.messageId})`,
      responseLine: (status) => `Sending C-STORE Response (${storeResponseText(status)})`,
      onReceived: (f) => {
        received.push(f);
        json?.write("store", receivedJsonFields(f));
      },
    });
    const peer = scuPeer(options);
    const settings = scuSettings(options, CALLING_AE_TITLE);
    const identity = { operation: "get" as const, peer, ...settings };
    const t0 = performance.now();
    const result = await runRetrieve({
      ...peer,
      ...settings,
      logger: log,
      connect: tls && tlsConnect(tls),
      operation: "get",
      model: qr.model,
      identifiers: queries.map((q) => q.attributes),
      proposedSyntaxes: qr.transferSyntaxes,
      storage: {
        contexts,
        service: retrieveStorageService(store, GETSCU_STORAGE_CLASSES, syntaxes),
      },
      repeat: qr.repeat,
      received,
      progress: bar,
      onResponse: (x) => json?.write("retrieve-response", responseJsonFields(identity, x)),
    });
    bar?.finish();
    result.diagnosis ??= explainRetrieve(result, undefined, undefined);
    const code = RETRIEVE_EXIT_CODES[result.outcome];
    if (result.diagnosis) logger.error(result.diagnosis);
    const ms = performance.now() - t0;
    summary(retrieveSummaryLine(result, code, ms));
    json?.write("summary", retrieveSummaryJson(result, code, ms));
    return code;
  });
}
