/**
 * The storescp tool engine: DICOM storage (C-STORE) SCP, after DCMTK's storescp (3.6.7):
 * its options, log lines, accepted transfer syntaxes and file names, plus
 * --bind, --accept-calling, --max-associations and --json events.
 *
 * Where it differs from DCMTK's: associations are served concurrently
 * (DCMTK serves one at a time); data sets are stored as received (DCMTK
 * re-encodes them), through a `.part` file renamed into place when
 * complete, so a broken transfer leaves nothing; a UID that would name a
 * file must be a valid UID and a data set that does not match its request
 * is not stored; the "Max Send PDV" logged is the peer's maximum PDU less
 * the 6-byte PDV header (DCMTK subtracts 12).
 *
 * @module
 */
import {
  SCP_ACSE_TIMEOUT_OPTION,
  SCP_LIMIT_OPTIONS,
  scpDimseTimeoutOption,
  scpLimits,
} from "../common/network_options.ts";
import { type CommandLineSpec, logOptionDefs, OptionError } from "../common/options.ts";
import { COMMON_EXIT_CODES, runTool, secondsOption } from "../common/tool.ts";
import { echoHandler } from "../echoscp/echo_handler.ts";
import { serverJsonLines } from "../common/json.ts";
import { checkPermission, PermissionError } from "../../util/permission.ts";
import { EXIT_CANNOT_LISTEN, serveUntilStopped } from "../common/serve.ts";
import { setUpTls, tlsListen, tlsOptionGroup } from "../common/tls_group.ts";
import {
  staleParts,
  storagePolicy,
  storeHandler,
  type StoreScpSyntaxChoice,
  storeScpTransferSyntaxes,
} from "./store_handler.ts";
import { isSafeNamePart } from "../../ae/file_store.ts";
import { stdout } from "../../util/std_streams.ts";
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
} from "../../dicom/uids.ts";

/** Exit code when -od is no writable directory (DCMTK 3.6.7's storescp exits with 1). */
export const EXIT_BAD_OUTPUT_DIRECTORY = 1;

/** The preferred-syntax options: long name, short name, help, what it selects (DCMTK's table). */
const SYNTAX_OPTIONS: readonly [string, string, string, StoreScpSyntaxChoice][] = [
  [
    "--prefer-uncompr",
    "+x=",
    "prefer explicit VR local byte order (default)",
    // Local byte order is little endian on every platform Deno runs on.
    { prefer: EXPLICIT_VR_LITTLE_ENDIAN },
  ],
  ["--prefer-little", "+xe", "prefer explicit VR little endian TS", {
    prefer: EXPLICIT_VR_LITTLE_ENDIAN,
  }],
  ["--prefer-big", "+xb", "prefer explicit VR big endian TS", { prefer: EXPLICIT_VR_BIG_ENDIAN }],
  ["--prefer-lossless", "+xs", "prefer default JPEG lossless TS", {
    prefer: "1.2.840.10008.1.2.4.70",
  }],
  ["--prefer-jpeg8", "+xy", "prefer default JPEG lossy TS for 8 bit data", {
    prefer: "1.2.840.10008.1.2.4.50",
  }],
  ["--prefer-jpeg12", "+xx", "prefer default JPEG lossy TS for 12 bit data", {
    prefer: "1.2.840.10008.1.2.4.51",
  }],
  ["--prefer-j2k-lossless", "+xv", "prefer JPEG 2000 lossless TS", {
    prefer: "1.2.840.10008.1.2.4.90",
  }],
  ["--prefer-j2k-lossy", "+xw", "prefer JPEG 2000 lossy TS", { prefer: "1.2.840.10008.1.2.4.91" }],
  ["--prefer-jls-lossless", "+xt", "prefer JPEG-LS lossless TS", {
    prefer: "1.2.840.10008.1.2.4.80",
  }],
  ["--prefer-jls-lossy", "+xu", "prefer JPEG-LS lossy TS", { prefer: "1.2.840.10008.1.2.4.81" }],
  ["--prefer-mpeg2", "+xm", "prefer MPEG2 Main Profile @ Main Level TS", {
    prefer: "1.2.840.10008.1.2.4.100",
  }],
  ["--prefer-mpeg2-high", "+xh", "prefer MPEG2 Main Profile @ High Level TS", {
    prefer: "1.2.840.10008.1.2.4.101",
  }],
  ["--prefer-mpeg4", "+xn", "prefer MPEG4 AVC/H.264 HP / Level 4.1 TS", {
    prefer: "1.2.840.10008.1.2.4.102",
  }],
  ["--prefer-mpeg4-bd", "+xl", "prefer MPEG4 AVC/H.264 BD-compatible TS", {
    prefer: "1.2.840.10008.1.2.4.103",
  }],
  ["--prefer-mpeg4-2-2d", "+x2", "prefer MPEG4 AVC/H.264 HP / Level 4.2 TS (2D)", {
    prefer: "1.2.840.10008.1.2.4.104",
  }],
  ["--prefer-mpeg4-2-3d", "+x3", "prefer MPEG4 AVC/H.264 HP / Level 4.2 TS (3D)", {
    prefer: "1.2.840.10008.1.2.4.105",
  }],
  ["--prefer-mpeg4-2-st", "+xo", "prefer MPEG4 AVC/H.264 Stereo HP / Level 4.2 TS", {
    prefer: "1.2.840.10008.1.2.4.106",
  }],
  ["--prefer-hevc", "+x4", "prefer HEVC/H.265 Main Profile / Level 5.1 TS", {
    prefer: "1.2.840.10008.1.2.4.107",
  }],
  ["--prefer-hevc10", "+x5", "prefer HEVC/H.265 Main 10 Profile / Level 5.1 TS", {
    prefer: "1.2.840.10008.1.2.4.108",
  }],
  ["--prefer-rle", "+xr", "prefer RLE lossless TS", { prefer: "1.2.840.10008.1.2.5" }],
  ["--prefer-deflated", "+xd", "prefer deflated expl. VR little endian TS", {
    prefer: DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  }],
  ["--implicit", "+xi", "accept implicit VR little endian TS only", "implicit"],
  ["--accept-all", "+xa", "accept all supported transfer syntaxes", "all"],
];

/** storescp's -td default (DCMTK: unlimited): a silent association is closed within a minute. */
const STORESCP_DIMSE_TIMEOUT_S = 60;

/** storescp's command line: DCMTK's options (the exec/rename events aside) plus ours. */
export const STORESCP_SPEC: CommandLineSpec = {
  tool: "storescp",
  description: "DICOM storage (C-STORE) SCP",
  // DCMTK's storescp: LONGCOL 21, SHORTCOL 4.
  columns: { long: 21, short: 4 },
  params: [{ name: "port", help: "tcp/ip port number to listen on (0: any free port)" }],
  exitCodes: [
    COMMON_EXIT_CODES.ok("stopped by SIGINT or SIGTERM"),
    COMMON_EXIT_CODES.commandLine("; -od missing or not writable"),
    COMMON_EXIT_CODES.notPermitted,
    {
      code: String(EXIT_CANNOT_LISTEN),
      meaning: "cannot listen on the port (in use, not allowed)",
    },
    COMMON_EXIT_CODES.outputClosed,
    COMMON_EXIT_CODES.internal,
  ],
  groups: [
    {
      title: "general options:",
      columns: { long: 21, short: 6 },
      options: [
        { long: "--help", short: "-h", help: "print this help text and exit", exclusive: true },
        { long: "--version", help: "print version information and exit", exclusive: true },
        ...logOptionDefs(),
        {
          long: "--verbose-pc",
          short: "+v",
          help: "show presentation contexts in verbose mode",
        },
      ],
    },
    {
      title: "network options:",
      subgroups: [
        {
          title: "preferred network transfer syntaxes:",
          options: SYNTAX_OPTIONS.map(([long, short, help]) => ({
            long,
            short,
            help,
            block: "ts",
          })),
        },
        {
          title: "application entity titles:",
          options: [
            {
              long: "--aetitle",
              short: "-aet",
              valueHelp: "[a]etitle: string",
              help: "set my AE title (default: STORESCP)",
            },
            {
              long: "--accept-calling",
              short: "-acc",
              valueHelp: "[a]etitle: string",
              help: [
                "accept associations only from this calling AE title",
                "(may be given several times; default: any)",
              ],
            },
          ],
        },
        {
          title: "other network options:",
          options: [
            {
              long: "--bind",
              short: "-b",
              valueHelp: "[h]ost: string (default: 0.0.0.0)",
              help: "listen on this address only (e.g. 127.0.0.1 or ::1)",
            },
            {
              long: "--socket-timeout",
              short: "-ts",
              valueHelp: "[s]econds: integer (default: 60)",
              help: "timeout for network socket (0 for none)",
            },
            SCP_ACSE_TIMEOUT_OPTION,
            scpDimseTimeoutOption(STORESCP_DIMSE_TIMEOUT_S),
            {
              long: "--max-pdu",
              short: "-pdu",
              valueHelp: "[n]umber of bytes: integer (4096..131072)",
              help: "set max receive pdu to n bytes (default: 16384)",
            },
            ...SCP_LIMIT_OPTIONS,
            {
              long: "--async",
              valueHelp: "[n]umber: integer (1..65535)",
              help: "grant an asynchronous operations window of up\n" +
                "to n outstanding C-STOREs per association\n" +
                "(default: 1, none granted: one at a time)",
            },
            { long: "--refuse", help: "refuse association" },
            { long: "--reject", help: "reject association if no implement. class UID" },
            { long: "--ignore", help: "ignore store data, receive but do not store" },
            {
              long: "--abort-after",
              help: [
                "abort association after receipt of C-STORE-RQ",
                "(but before sending response)",
              ],
            },
            { long: "--abort-during", help: "abort association during receipt of C-STORE-RQ" },
            {
              long: "--promiscuous",
              short: "-pm",
              help: "promiscuous mode, accept unknown SOP classes",
            },
          ],
        },
      ],
    },
    tlsOptionGroup("server"),
    {
      title: "output options:",
      subgroups: [
        {
          title: "general:",
          options: [
            {
              long: "--output-directory",
              short: "-od",
              valueHelp: '[d]irectory: string (default: ".")',
              help: "write received objects to existing directory d",
            },
            {
              long: "--remove-stale-parts",
              help: [
                "remove partial files (*.part) an earlier run left",
                "in d (not written to for a minute)",
              ],
            },
            { long: "--json", help: "print one JSON object per event on stdout" },
          ],
        },
        {
          title: "sorting into subdirectories:",
          options: [
            {
              long: "--sort-on-study-uid",
              short: "-su",
              valueHelp: "[p]refix: string",
              help: ["sort studies using prefix p and the Study", "Instance UID"],
            },
          ],
        },
        {
          title: "filename generation:",
          options: [
            {
              long: "--default-filenames",
              short: "-uf",
              help: "generate filename from instance UID (default)",
              block: "names",
            },
            {
              long: "--unique-filenames",
              short: "+uf",
              help: "generate unique filenames",
              block: "names",
            },
            {
              long: "--filename-extension",
              short: "-fe",
              valueHelp: "[e]xtension: string",
              help: "append e to all filenames",
            },
          ],
        },
      ],
    },
  ],
};

/**
 * Runs storescp with `argv` until SIGINT/SIGTERM (or `stop` resolves);
 * resolves with the exit code.
 */
export function main(argv: readonly string[], stop?: Promise<void>): Promise<number> {
  return runTool(STORESCP_SPEC, argv, async ({ options, logger }) => {
    const tls = await setUpTls(options, "server", STORESCP_SPEC, logger);
    if (typeof tls === "number") return tls;
    const port = options.paramUint(0, { min: 0, max: 65535 })!;
    const json = options.has("--json");
    const outputDirectory = options.value("--output-directory") ?? ".";
    const extension = options.value("--filename-extension") ?? "";
    const prefix = options.value("--sort-on-study-uid");
    for (
      const [option, value] of [["--filename-extension", extension], [
        "--sort-on-study-uid",
        prefix,
      ]]
    ) {
      if (value !== undefined && !isSafeNamePart(value)) {
        throw new OptionError(`${option}: no path separators or NUL allowed: ${value}`);
      }
    }
    // Deno's permissions first: without them the directory only looks missing or read-only.
    for (const name of ["read", "write"] as const) {
      const denied = await checkPermission({ name, path: outputDirectory });
      if (denied) throw new PermissionError(denied, "cannot store into the output directory");
    }
    const problem = await outputDirectoryProblem(outputDirectory);
    if (problem) {
      logger.fatal(`specified output directory ${problem}`);
      return EXIT_BAD_OUTPUT_DIRECTORY;
    }
    if (options.has("--abort-after") && options.has("--abort-during")) {
      throw new OptionError("--abort-after and --abort-during are mutually exclusive");
    }
    const aeTitle = options.value("--aetitle") ?? "STORESCP";
    const print = serverJsonLines("storescp", { aeTitle, tls: tls !== undefined, outputDirectory });
    const stale = staleParts(outputDirectory, options.has("--remove-stale-parts"));
    if (stale) {
      logger.warn(stale.line);
      if (json) print(stale.event);
    }
    const ts = options.winner("ts") ?? "--prefer-uncompr";
    const allowed = options.occurrences("--accept-calling").map((v) => v[0]);
    // DCMTK prints its RECV dots when the log level is exactly "info" (-v); stdout holds JSON otherwise.
    const progress = !json && logger.isEnabled("info") && !logger.isEnabled("debug")
      ? (text: string) => stdout.writeAll(text)
      : undefined;
    const acseTimeoutMs = secondsOption(options, "--acse-timeout", 1, 30_000)!;
    return await serveUntilStopped(
      {
        hostname: options.value("--bind") ?? "0.0.0.0",
        port,
        logger,
        readyLine: (at) =>
          `storescp listening on ${at.host}:${at.port} (${tls ? "TLS" : "TCP"}), ` +
          `AE title ${aeTitle}, storing into ${
            options.has("--ignore") ? "nothing (--ignore)" : outputDirectory
          }`,
        style: "dcmtk",
        showPresentationContexts: options.has("--verbose-pc"),
        policy: storagePolicy({
          aeTitle,
          maxPdu: options.uint("--max-pdu", { min: 4096, max: 131072 }) ?? 16384,
          transferSyntaxes: storeScpTransferSyntaxes(
            SYNTAX_OPTIONS.find(([long]) => long === ts)![3],
          ),
          allowedCallingAeTitles: allowed.length ? allowed : undefined,
          promiscuous: options.has("--promiscuous"),
          maxOperationsPerformed: options.uint("--async", { min: 1, max: 0xffff }),
        }),
        refuse: (rq) => {
          if (options.has("--refuse")) return "Refusing Association (forced via command line)";
          if (options.has("--reject") && !rq.userInformation.implementationClassUid) {
            return "Association Rejected: No Implementation Class UID provided";
          }
          return undefined;
        },
        handlers: {
          "C-ECHO-RQ": echoHandler,
          "C-STORE-RQ": storeHandler({
            outputDirectory,
            uniqueFilenames: options.winner("names") === "--unique-filenames",
            extension,
            sortStudyPrefix: prefix,
            ignore: options.has("--ignore"),
            abort: options.has("--abort-during")
              ? "during"
              : options.has("--abort-after")
              ? "after"
              : undefined,
            onStore: json ? print : undefined,
            progress,
          }),
        },
        socketTimeoutMs: secondsOption(options, "--socket-timeout", 0, 60_000),
        acseTimeoutMs,
        dimseTimeoutMs: secondsOption(
          options,
          "--dimse-timeout",
          1,
          STORESCP_DIMSE_TIMEOUT_S * 1000,
        ),
        ...scpLimits(options),
        // Its socket, and the .part file of the store in progress.
        descriptorsPerAssociation: 2,
        onEvent: json ? print : undefined,
        listen: tls ? tlsListen(tls, logger, json ? print : undefined, acseTimeoutMs) : undefined,
      },
      logger,
      stop,
    );
  });
}

/** Why files cannot go to `dir` ("does not exist", "is not writeable"), or undefined. */
async function outputDirectoryProblem(dir: string): Promise<string | undefined> {
  try {
    if (!(await Deno.stat(dir)).isDirectory) return "does not exist";
  } catch {
    return "does not exist";
  }
  // Writable is what counts, and only trying tells (permissions, ACLs, read-only mounts).
  const probe = `${dir}/.storescp-${crypto.randomUUID()}.probe`;
  try {
    (await Deno.open(probe, { write: true, createNew: true })).close();
    await Deno.remove(probe);
    return undefined;
  } catch {
    return "is not writeable";
  }
}
