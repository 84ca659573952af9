/**
 * The echoscp tool engine: DICOM verification (C-ECHO) SCP, after pynetdicom's echoscp.
 *
 * @module
 */
import {
  MAX_PDU_OPTION,
  SCP_ACSE_TIMEOUT_OPTION,
  SCP_LIMIT_OPTIONS,
  scpDimseTimeoutOption,
  scpLimits,
} from "../common/network_options.ts";
import { type CommandLineSpec, logOptionDefs } from "../common/options.ts";
import { COMMON_EXIT_CODES, runTool, secondsOption } from "../common/tool.ts";
import { echoHandler, verificationPolicy } from "./echo_handler.ts";
import type { TransferSyntaxPreference } from "../../ae/negotiation.ts";
import { serverJsonLines } from "../common/json.ts";
import { EXIT_CANNOT_LISTEN, serveUntilStopped } from "../common/serve.ts";
import { setUpTls, tlsListen, tlsOptionGroup } from "../common/tls_group.ts";

/** echoscp's -td default: pynetdicom's echoscp's. */
const ECHOSCP_DIMSE_TIMEOUT_S = 30;

/** echoscp's command line: pynetdicom's options plus --bind, AE filter, limits and --json. */
export const ECHOSCP_SPEC: CommandLineSpec = {
  tool: "echoscp",
  description: "DICOM verification (C-ECHO) SCP",
  params: [{ name: "port", help: "tcp/ip port number to listen on (0: any free port)" }],
  exitCodes: [
    COMMON_EXIT_CODES.ok("stopped by SIGINT or SIGTERM"),
    COMMON_EXIT_CODES.commandLine(""),
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
      columns: { long: 19, short: 6 },
      options: [
        { long: "--help", short: "-h", help: "print this help text and exit", exclusive: true },
        { long: "--version", help: "print version information and exit", exclusive: true },
        ...logOptionDefs(),
      ],
    },
    {
      title: "network options:",
      subgroups: [
        {
          title: "application entity titles:",
          options: [
            {
              long: "--aetitle",
              short: "-aet",
              valueHelp: "[a]etitle: string",
              help: "set my AE title (default: ECHOSCP)",
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
          title: "preferred transfer syntaxes:",
          options: [
            {
              long: "--prefer-uncompr",
              short: "-x=",
              help: "prefer explicit VR local byte order (default)",
              block: "ts",
            },
            {
              long: "--prefer-little",
              short: "-xe",
              help: "prefer explicit VR little endian TS",
              block: "ts",
            },
            {
              long: "--prefer-big",
              short: "-xb",
              help: "prefer explicit VR big endian TS",
              block: "ts",
            },
            {
              long: "--implicit",
              short: "-xi",
              help: "accept implicit VR little endian TS only",
              block: "ts",
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
              long: "--timeout",
              short: "-to",
              valueHelp: "[s]econds: integer (default: 60, 0: none)",
              help: "timeout for network reads (connection inactivity)",
            },
            SCP_ACSE_TIMEOUT_OPTION,
            scpDimseTimeoutOption(ECHOSCP_DIMSE_TIMEOUT_S),
            MAX_PDU_OPTION,
            ...SCP_LIMIT_OPTIONS,
          ],
        },
      ],
    },
    tlsOptionGroup("server"),
    {
      title: "output options:",
      options: [{ long: "--json", help: "print one JSON object per event on stdout" }],
    },
  ],
};

const PREFERENCE: Record<string, TransferSyntaxPreference> = {
  "--prefer-uncompr": "uncompressed",
  "--prefer-little": "little",
  "--prefer-big": "big",
  "--implicit": "implicit",
};

/** Runs echoscp with `argv` until SIGINT/SIGTERM (or `stop` resolves); resolves with the exit code. */
export function main(argv: readonly string[], stop?: Promise<void>): Promise<number> {
  return runTool(ECHOSCP_SPEC, argv, async ({ options, logger }) => {
    const tls = await setUpTls(options, "server", ECHOSCP_SPEC, logger);
    if (typeof tls === "number") return tls;
    const port = options.paramUint(0, { min: 0, max: 65535 })!;
    const aeTitle = options.value("--aetitle") ?? "ECHOSCP";
    const onEvent = options.has("--json")
      ? serverJsonLines("echoscp", { aeTitle, tls: tls !== undefined, outputDirectory: null })
      : undefined;
    const allowed = options.occurrences("--accept-calling").map((v) => v[0]);
    const acseTimeoutMs = secondsOption(options, "--acse-timeout", 1, 30_000)!;
    return await serveUntilStopped(
      {
        style: "pynetdicom",
        hostname: options.value("--bind") ?? "0.0.0.0",
        port,
        logger,
        readyLine: (at) =>
          `echoscp listening on ${at.host}:${at.port} (${tls ? "TLS" : "TCP"}), ` +
          `AE title ${aeTitle}`,
        policy: verificationPolicy({
          aeTitle,
          maxPdu: options.uint("--max-pdu", { min: 4096, max: 131072 }) ?? 16384,
          preference: PREFERENCE[options.winner("ts") ?? "--prefer-uncompr"],
          allowedCallingAeTitles: allowed.length ? allowed : undefined,
        }),
        handlers: { "C-ECHO-RQ": echoHandler },
        socketTimeoutMs: secondsOption(options, "--timeout", 0, 60_000),
        acseTimeoutMs,
        dimseTimeoutMs: secondsOption(
          options,
          "--dimse-timeout",
          1,
          ECHOSCP_DIMSE_TIMEOUT_S * 1000,
        ),
        ...scpLimits(options),
        onEvent,
        listen: tls ? tlsListen(tls, logger, onEvent, acseTimeoutMs) : undefined,
      },
      logger,
      stop,
    );
  });
}
