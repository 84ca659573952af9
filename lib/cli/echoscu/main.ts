/**
 * The echoscu tool engine: DICOM verification (C-ECHO) SCU, after DCMTK's echoscu(1).
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
} from "../common/network_options.ts";
import { type CommandLineSpec, generalOptionDefs } from "../common/options.ts";
import { setUpTls, tlsConnect, tlsJson, tlsOptionGroup } from "../common/tls_group.ts";
import { JsonLines, jsonPeer, jsonTransferSyntax, ms3, operationOutcome } from "../common/json.ts";
import { COMMON_EXIT_CODES, EXIT_NOT_PERMITTED, EXIT_OK, runTool } from "../common/tool.ts";
import { type EchoOutcome, type EchoResult, runEchoScu } from "./engine.ts";
import { ECHO_TRANSFER_SYNTAXES } from "../../dicom/uids.ts";

/** Exit codes: DCMTK's where it has one, our own where DCMTK lumps failures together. */
export const ECHO_EXIT_CODES: Record<EchoOutcome, number> = {
  "success": EXIT_OK,
  "not-permitted": EXIT_NOT_PERMITTED,
  "connect-failed": 60,
  "rejected": 61,
  "association-failed": 66,
  "no-presentation-context": 67,
  "echo-failed": 68,
  "dimse-timeout": 69,
  "aborted": 70,
};

const MAX_TS = ECHO_TRANSFER_SYNTAXES.length;

/** The codes echoscu and storescu share for a connection or association that failed. */
export const SCU_ASSOCIATION_EXIT_CODES = [
  { code: "60", meaning: "cannot connect: refused, timed out, unreachable, no such host, TLS" },
  { code: "61", meaning: "association rejected (A-ASSOCIATE-RJ)" },
  {
    code: "66",
    meaning:
      "association request failed: the peer closed, aborted, stayed silent or spoke no DICOM",
  },
  { code: "67", meaning: "no acceptable presentation context" },
];
const CALLING_AE_TITLE = "ECHOSCU";

/** echoscu's command line (DCMTK 3.7's, plus --json). */
export const ECHOSCU_SPEC: CommandLineSpec = {
  tool: "echoscu",
  description: "DICOM verification (C-ECHO) SCU",
  params: SCU_PEER_PARAMS,
  exitCodes: [
    COMMON_EXIT_CODES.ok("every echo answered with Success"),
    COMMON_EXIT_CODES.commandLine(),
    COMMON_EXIT_CODES.notPermitted,
    ...SCU_ASSOCIATION_EXIT_CODES,
    { code: "68", meaning: "an echo was answered with a non-success status" },
    { code: "69", meaning: "no response within -td" },
    { code: "70", meaning: "the association was aborted after it was established" },
    COMMON_EXIT_CODES.outputClosed,
    COMMON_EXIT_CODES.internal,
  ],
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
            "print one JSON line per echo on stdout, then a",
            "summary (outcome, exit code, timings; schemas/v1)",
          ],
        },
      ],
    },
  ],
};

/** The --json lines of a run: one `echo` per C-ECHO sent, then the `summary`. */
export function echoJsonLines(
  r: EchoResult,
  exitCode: number,
  totalMs: number,
): { type: string; fields: Record<string, unknown> }[] {
  const who = {
    peer: jsonPeer(r.peer),
    callingAeTitle: r.callingAeTitle,
    calledAeTitle: r.calledAeTitle,
  };
  const ts = jsonTransferSyntax(r.transferSyntax);
  const counts = echoCounts(r);
  const lines: { type: string; fields: Record<string, unknown> }[] = r.echoes.map((e, i) => {
    const outcome = e.status === undefined ? "failed" : operationOutcome(e.status);
    const last = i === r.echoes.length - 1;
    return {
      type: "echo",
      fields: {
        ...who,
        messageId: e.messageId,
        ...ts,
        status: e.status ?? null,
        statusText: e.statusText,
        outcome,
        ms: ms3(e.roundTripMs),
        // The run's diagnosis belongs to the echo that failed it.
        diagnosis: outcome !== "success" && last ? r.diagnosis ?? null : null,
      },
    };
  });
  const rtt = roundTrips(r);
  lines.push({
    type: "summary",
    fields: {
      ...who,
      ...ts,
      tls: tlsJson(r.tls),
      outcome: r.outcome,
      exitCode,
      diagnosis: r.diagnosis ?? null,
      timings: timingsJson(r.timings),
      ms: ms3(totalMs),
      associations: 1,
      ...counts,
      roundTripMs: rtt ? { min: ms3(rtt.min), avg: ms3(rtt.avg), max: ms3(rtt.max) } : null,
    },
  });
  return lines;
}

/** The summary counts of an echo run, named as storescu's. */
function echoCounts(r: EchoResult) {
  let success = 0;
  let warning = 0;
  for (const e of r.echoes) {
    if (e.status === undefined) continue;
    // Success (PS3.7 C.1.1) counted without a call: a --repeat run has one per echo.
    if (e.status === 0) {
      success++;
      continue;
    }
    const outcome = operationOutcome(e.status);
    if (outcome === "success") success++;
    else if (outcome === "warning") warning++;
  }
  return {
    planned: r.repeat,
    sent: r.echoes.length,
    success,
    warning,
    failed: r.echoes.length - success - warning,
    notSent: r.repeat - r.echoes.length,
  };
}

/**
 * Min, average and max round trip of the answered echoes; undefined when none
 * was. One pass, not `Math.min(...list)`: a long --repeat run (some 120,000
 * echoes) passes more arguments than the stack holds.
 */
function roundTrips(r: EchoResult): { min: number; avg: number; max: number } | undefined {
  let n = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const e of r.echoes) {
    if (e.status === undefined) continue;
    n++;
    sum += e.roundTripMs;
    if (e.roundTripMs < min) min = e.roundTripMs;
    if (e.roundTripMs > max) max = e.roundTripMs;
  }
  return n === 0 ? undefined : { min, avg: sum / n, max };
}

/** What an outcome means, in the summary line. */
const OUTCOME_WORDS: Record<EchoOutcome, string> = {
  "success": "success",
  "not-permitted": "a Deno permission is missing",
  "connect-failed": "cannot connect",
  "rejected": "association rejected",
  "association-failed": "association request failed",
  "no-presentation-context": "no acceptable presentation context",
  "echo-failed": "answered with a failure status",
  "dimse-timeout": "no response within -td",
  "aborted": "association aborted",
};

/**
 * The one human line echoscu ends with at the default level, like ping's:
 * whom it asked, what came back, the round trip (min/avg/max and lost with
 * --repeat), and on failure what failed and the exit code.
 */
export function echoSummaryLine(r: EchoResult, exitCode: number): string {
  const to = `${r.calledAeTitle}@${r.peer.host}:${r.peer.port}`;
  const c = echoCounts(r);
  const rtt = roundTrips(r);
  const fmt = (ms: number) => ms.toFixed(3);
  let line: string;
  if (r.repeat === 1) {
    const e = r.echoes[0];
    line = `echoscu: C-ECHO to ${to}: ${e?.status !== undefined ? e.statusText : "no answer"}`;
    if (rtt) line += `, round trip ${fmt(rtt.avg)} ms`;
  } else {
    line = `echoscu: ${c.planned} C-ECHOs to ${to}: ${c.success} answered with Success, ` +
      `${c.planned - c.success} lost or failed`;
    if (rtt) line += `; round trip min/avg/max ${fmt(rtt.min)}/${fmt(rtt.avg)}/${fmt(rtt.max)} ms`;
  }
  if (r.outcome !== "success") line += `; failed: ${OUTCOME_WORDS[r.outcome]} (exit ${exitCode})`;
  return line;
}

/** Runs echoscu with `argv`; resolves with the exit code. */
export function main(argv: readonly string[]): Promise<number> {
  return runTool(ECHOSCU_SPEC, argv, async ({ options, logger, summary }) => {
    const tls = await setUpTls(options, "client", ECHOSCU_SPEC, logger);
    if (typeof tls === "number") return tls;
    const peer = scuPeer(options);
    const t0 = performance.now();
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
    summary(echoSummaryLine(result, code));
    if (options.has("--json")) {
      const json = new JsonLines("echoscu");
      for (const l of echoJsonLines(result, code, performance.now() - t0)) {
        json.write(l.type, l.fields);
      }
    }
    return code;
  });
}
