/**
 * echoscu: DICOM verification (C-ECHO) SCU, after DCMTK's echoscu(1).
 *
 * @module
 */
import {
  ABORT_OPTION,
  IP_PROTOCOL_SUBGROUP,
  REPEAT_OPTION,
  SCU_CONNECTION_OPTIONS,
  SCU_PEER_PARAMS,
  scuAeTitleSubgroup,
  scuPeer,
  scuSettings,
  timingsJson,
} from "../lib/cli/network_options.ts";
import { type CommandLineSpec, generalOptionDefs } from "../lib/cli/options.ts";
import { setUpTls, tlsConnect, tlsJson, tlsOptionGroup } from "../lib/cli/tls_options.ts";
import { EXIT_OK, runTool, writeAll } from "../lib/cli/tool.ts";
import { type EchoOutcome, type EchoResult, runEchoScu } from "../lib/net/echo_scu.ts";
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
const CALLING_AE_TITLE = "ECHOSCU";

/** echoscu's command line (DCMTK 3.7's, plus --json). */
export const ECHOSCU_SPEC: CommandLineSpec = {
  tool: "echoscu",
  description: "DICOM verification (C-ECHO) SCU",
  params: SCU_PEER_PARAMS,
  groups: [
    {
      title: "general options:",
      columns: { long: 19, short: 6 },
      options: generalOptionDefs(),
    },
    {
      title: "network options:",
      subgroups: [
        IP_PROTOCOL_SUBGROUP,
        scuAeTitleSubgroup(CALLING_AE_TITLE),
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
            ...SCU_CONNECTION_OPTIONS,
            REPEAT_OPTION,
            ABORT_OPTION,
          ],
        },
      ],
    },
    tlsOptionGroup("client"),
    {
      title: "output options:",
      options: [
        {
          long: "--json",
          help: [
            "print one JSON object per echo on stdout",
            "(peer, AE titles, transfer syntax, TLS, timings, outcome)",
          ],
        },
      ],
    },
  ],
};

/** The stable --json record of one echo (documented in the README). */
export function echoJsonRecords(r: EchoResult, exitCode: number): object[] {
  const base = {
    peer: r.peer,
    callingAeTitle: r.callingAeTitle,
    calledAeTitle: r.calledAeTitle,
    transferSyntax: r.transferSyntax ?? null,
    transferSyntaxName: r.transferSyntax ? uidName(r.transferSyntax) ?? null : null,
    tls: tlsJson(r.tls),
  };
  const timings = timingsJson(r.timings);
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
  return runTool(ECHOSCU_SPEC, argv, async ({ options, logger }) => {
    const tls = await setUpTls(options, "client", ECHOSCU_SPEC, logger);
    if (typeof tls === "number") return tls;
    const peer = scuPeer(options);
    const result = await runEchoScu({
      ...peer,
      proposeTs: options.uint("--propose-ts", { min: 1, max: MAX_TS }) ?? 1,
      proposePc: options.uint("--propose-pc", { min: 1, max: 128 }) ?? 1,
      ...scuSettings(options, CALLING_AE_TITLE),
      repeat: options.uint("--repeat", { min: 1 }) ?? 1,
      logger,
      connect: tls && tlsConnect(tls),
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
