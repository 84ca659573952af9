/**
 * echoscu: DICOM verification (C-ECHO) SCU, after DCMTK's echoscu(1).
 *
 * @module
 */
import {
  ACSE_TIMEOUT_OPTION,
  DIMSE_TIMEOUT_OPTION,
  MAX_PDU_OPTION,
} from "../lib/cli/network_options.ts";
import { type CommandLineSpec, logOptionDefs } from "../lib/cli/options.ts";
import { EXIT_OK, runTool, secondsOption, writeAll } from "../lib/cli/tool.ts";
import { type EchoOutcome, type EchoResult, runEchoScu } from "../lib/net/echo_scu.ts";
import type { IpFamily } from "../lib/transport/tcp.ts";
import { ECHO_TRANSFER_SYNTAXES, uidName } from "../lib/uids.ts";

/** Exit codes: DCMTK's where it has one, our own where DCMTK lumps failures together. */
export const ECHO_EXIT_CODES: Record<EchoOutcome, number> = {
  "success": EXIT_OK,
  "connect-failed": 60,
  "rejected": 61,
  "association-failed": 66,
  "no-presentation-context": 67,
  "echo-failed": 68,
  "dimse-timeout": 69,
  "aborted": 70,
};

const MAX_TS = ECHO_TRANSFER_SYNTAXES.length;

/** echoscu's command line (DCMTK 3.7's, TLS options aside, plus --json). */
export const ECHOSCU_SPEC: CommandLineSpec = {
  tool: "echoscu",
  description: "DICOM verification (C-ECHO) SCU",
  params: [
    { name: "peer", help: "hostname of DICOM peer" },
    { name: "port", help: "tcp/ip port number of peer" },
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
          title: "IP protocol version:",
          options: [
            { long: "--ipv4", short: "-i4", help: "use IPv4 only (default)", block: "ip" },
            { long: "--ipv6", short: "-i6", help: "use IPv6 only", block: "ip" },
            {
              long: "--ip-auto",
              short: "-i0",
              help: "use DNS lookup to determine IP protocol",
              block: "ip",
            },
          ],
        },
        {
          title: "application entity titles:",
          options: [
            {
              long: "--aetitle",
              short: "-aet",
              valueHelp: "[a]etitle: string",
              help: "set my calling AE title (default: ECHOSCU)",
            },
            {
              long: "--call",
              short: "-aec",
              valueHelp: "[a]etitle: string",
              help: "set called AE title of peer (default: ANY-SCP)",
            },
          ],
        },
        {
          title: "association negotiation debugging:",
          options: [
            {
              long: "--propose-ts",
              short: "-pts",
              valueHelp: `[n]umber: integer (1..${MAX_TS})`,
              help: "propose n transfer syntaxes",
            },
            {
              long: "--propose-pc",
              short: "-ppc",
              valueHelp: "[n]umber: integer (1..128)",
              help: "propose n presentation contexts",
            },
          ],
        },
        {
          title: "other network options:",
          options: [
            {
              long: "--timeout",
              short: "-to",
              valueHelp: "[s]econds: integer (default: unlimited)",
              help: "timeout for connection requests",
            },
            {
              long: "--socket-timeout",
              short: "-ts",
              valueHelp: "[s]econds: integer (default: 60)",
              help: "timeout for network socket (0 for none)",
            },
            ACSE_TIMEOUT_OPTION,
            DIMSE_TIMEOUT_OPTION,
            MAX_PDU_OPTION,
            { long: "--repeat", valueHelp: "[n]umber: integer", help: "repeat n times" },
            { long: "--abort", help: "abort association instead of releasing it" },
          ],
        },
      ],
    },
    {
      title: "output options:",
      options: [
        {
          long: "--json",
          help: [
            "print one JSON object per echo on stdout",
            "(peer, AE titles, transfer syntax, timings, outcome)",
          ],
        },
      ],
    },
  ],
};

const FAMILY: Record<string, IpFamily> = {
  "--ipv4": "ipv4",
  "--ipv6": "ipv6",
  "--ip-auto": "auto",
};

/** The stable --json record of one echo (documented in the README). */
export function echoJsonRecords(r: EchoResult, exitCode: number): object[] {
  const base = {
    peer: r.peer,
    callingAeTitle: r.callingAeTitle,
    calledAeTitle: r.calledAeTitle,
    transferSyntax: r.transferSyntax ?? null,
    transferSyntaxName: r.transferSyntax ? uidName(r.transferSyntax) ?? null : null,
  };
  const timings = {
    connectMs: r.timings.connectMs ?? null,
    associateMs: r.timings.associateMs ?? null,
    releaseMs: r.timings.releaseMs ?? null,
  };
  const echoes = r.echoes.length ? r.echoes : [undefined];
  return echoes.map((e, i) => {
    // Earlier echoes of a failed run succeeded; the failure belongs to the last one.
    const isLast = i === echoes.length - 1;
    return {
      ...base,
      messageId: e?.messageId ?? null,
      status: e?.status ?? null,
      statusText: e?.statusText ?? null,
      timings: { ...timings, echoMs: e?.roundTripMs ?? null },
      outcome: isLast ? r.outcome : "success",
      exitCode: isLast ? exitCode : EXIT_OK,
      diagnosis: isLast ? r.diagnosis ?? null : null,
    };
  });
}

/** Runs echoscu with `argv`; resolves with the exit code. */
export function main(argv: readonly string[]): Promise<number> {
  return runTool(ECHOSCU_SPEC, argv, async ({ options, params, logger }) => {
    const port = options.paramUint(1, { min: 1, max: 65535 })!;
    const result = await runEchoScu({
      host: params[0],
      port,
      family: FAMILY[options.winner("ip") ?? "--ipv4"],
      callingAeTitle: options.value("--aetitle") ?? "ECHOSCU",
      calledAeTitle: options.value("--call") ?? "ANY-SCP",
      proposeTs: options.uint("--propose-ts", { min: 1, max: MAX_TS }) ?? 1,
      proposePc: options.uint("--propose-pc", { min: 1, max: 128 }) ?? 1,
      maxPdu: options.uint("--max-pdu", { min: 4096, max: 131072 }) ?? 16384,
      connectTimeoutMs: secondsOption(options, "--timeout", 1, undefined),
      socketTimeoutMs: secondsOption(options, "--socket-timeout", 0, 60_000)!,
      acseTimeoutMs: secondsOption(options, "--acse-timeout", 1, 30_000)!,
      dimseTimeoutMs: secondsOption(options, "--dimse-timeout", 1, undefined),
      repeat: options.uint("--repeat", { min: 1 }) ?? 1,
      abort: options.has("--abort"),
      logger,
    });
    const code = ECHO_EXIT_CODES[result.outcome];
    if (result.diagnosis) logger.error(result.diagnosis);
    if (options.has("--json")) {
      const lines = echoJsonRecords(result, code).map((o) => JSON.stringify(o)).join("\n");
      await writeAll(Deno.stdout, `${lines}\n`);
    }
    return code;
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
