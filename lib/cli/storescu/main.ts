/**
 * The storescu tool engine: DICOM storage (C-STORE) SCU, after DCMTK's storescu(1).
 *
 * @module
 */
import {
  ABORT_OPTION,
  IP_PROTOCOL_SUBGROUP,
  MAX_PDU_OPTION,
  MAX_PDU_RANGE,
  REPEAT_OPTION,
  SCU_CONNECTION_OPTIONS,
  SCU_PEER_PARAMS,
  scuAeTitleSubgroup,
  scuPeer,
  scuSettings,
  timingsJson,
} from "../common/network_options.ts";
import {
  type CommandLineSpec,
  generalOptionDefs,
  OptionError,
  type ParsedOptions,
} from "../common/options.ts";
import {
  formatBytes,
  megabytesPerSecond,
  ProgressBar,
  withProgressLine,
} from "../common/progress.ts";
import { setUpTls, tlsConnect, tlsJson, tlsOptionGroup } from "../common/tls_group.ts";
import { JsonLines, jsonPeer, jsonTransferSyntax, ms3 } from "../common/json.ts";
import { checkPermission, PermissionError } from "../../util/permission.ts";
import { COMMON_EXIT_CODES, EXIT_OK, runTool } from "../common/tool.ts";
import type { InputFormat } from "../../dicom/part10.ts";
import type { Logger } from "../../log/logger.ts";
import type { UserIdentityRq } from "../../pdu/types.ts";
import { DEFAULT_PROPOSAL, PROPOSAL_OPTIONS } from "./contexts.ts";
import {
  collectInputFiles,
  MAX_RETRY_DELAY_MS,
  runStoreScu,
  type StoreRecord,
  type StoreResult,
} from "./engine.ts";
import { ECHO_EXIT_CODES, SCU_ASSOCIATION_EXIT_CODES } from "../echoscu/main.ts";

const CALLING_AE_TITLE = "STORESCU";

/** The most associations --parallel opens at once. */
const MAX_PARALLEL = 64;

/** Exit code after SIGINT (Ctrl+C): 128 + 2, what a shell reports for a process it killed. */
export const EXIT_INTERRUPTED = 130;
/** Exit code after SIGTERM: 128 + 15. */
export const EXIT_TERMINATED = 143;

/** The signals that stop a run (Windows delivers only SIGINT to console programs). */
const SIGNALS: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];

/** storescu's command line: DCMTK 3.6.7's, plus -i4/-i6/-i0 and --json. */
export const STORESCU_SPEC: CommandLineSpec = {
  tool: "storescu",
  description: "DICOM storage (C-STORE) SCU",
  exitCodes: [
    COMMON_EXIT_CODES.ok("every store answered with Success or a warning"),
    COMMON_EXIT_CODES.commandLine(
      "; a file missing, unreadable, not DICOM or without a presentation context; too many " +
        "contexts; user identity not confirmed; release failed",
    ),
    COMMON_EXIT_CODES.notPermitted,
    { code: "10", meaning: "the association was lost during a store" },
    ...SCU_ASSOCIATION_EXIT_CODES,
    { code: "69", meaning: "no C-STORE-RSP within -td" },
    { code: "status >> 8", meaning: "a store refused with a failure status (0xA700: 167)" },
    { code: "130, 143", meaning: "interrupted by SIGINT, SIGTERM (the summary still printed)" },
    COMMON_EXIT_CODES.outputClosed,
    COMMON_EXIT_CODES.internal,
  ],
  params: [
    ...SCU_PEER_PARAMS,
    {
      name: "dcmfile-in",
      help: "DICOM file or directory to be transmitted",
      mode: "multiMandatory",
    },
  ],
  groups: [
    {
      title: "general options:",
      columns: { long: 19, short: 6 },
      options: [
        ...generalOptionDefs(),
        { long: "--verbose-pc", short: "+v", help: "show presentation contexts in verbose mode" },
      ],
    },
    {
      title: "input options:",
      subgroups: [
        {
          title: "input file format:",
          options: [
            {
              long: "--read-file",
              short: "+f",
              help: "read file format or data set (default)",
              block: "read",
            },
            {
              long: "--read-file-only",
              short: "+fo",
              help: "read file format only",
              block: "read",
            },
            {
              long: "--read-dataset",
              short: "-f",
              help: "read data set without file meta information",
              block: "read",
            },
          ],
        },
        {
          title: "input files:",
          options: [
            {
              long: "--scan-directories",
              short: "+sd",
              help: "scan directories for input files (dcmfile-in)",
            },
            {
              long: "--scan-pattern",
              short: "+sp",
              valueHelp: "[p]attern: string (only with --scan-directories)",
              help: "pattern for filename matching (wildcards)",
            },
            {
              long: "--no-recurse",
              short: "-r",
              help: "do not recurse within directories (default)",
              block: "recurse",
            },
            {
              long: "--recurse",
              short: "+r",
              help: "recurse within specified directories",
              block: "recurse",
            },
            {
              long: "--no-rename",
              short: "-rn",
              help: "do not rename processed files (default)",
              block: "rename",
            },
            {
              long: "--rename",
              short: "+rn",
              help: "append .done/.bad to processed files",
              block: "rename",
            },
          ],
        },
      ],
    },
    {
      title: "network options:",
      subgroups: [
        IP_PROTOCOL_SUBGROUP,
        scuAeTitleSubgroup(CALLING_AE_TITLE),
        {
          title: "proposed transmission transfer syntaxes:",
          options: [
            ...PROPOSAL_OPTIONS.map((p) => ({
              long: p.long,
              short: p.short,
              help: p.help,
              block: "proposal",
            })),
            {
              long: "--required",
              short: "-R",
              help: "propose only required presentation contexts\n(default: propose all supported)",
            },
            {
              long: "--combine",
              short: "+C",
              help: "combine proposed transfer syntaxes\n" +
                "(default: separate pres. context for each TS)",
            },
            {
              long: "--dcmtk-proposal",
              help: "propose exactly what DCMTK's storescu proposes\n" +
                "(default: also the files' SOP classes, and a\n" +
                "context for each transfer syntax they are in)",
            },
            {
              long: "--config-file",
              short: "-xf",
              valueCount: 2,
              valueHelp: "[f]ilename, [p]rofile: string",
              help: "use profile p from config file f (not supported)",
              internal: true,
            },
          ],
        },
        {
          title: "post-1993 value representations:",
          options: [
            {
              long: "--enable-new-vr",
              short: "+u",
              help: "enable support for new VRs (UN/UT) (default)",
              block: "new-vr",
            },
            {
              long: "--disable-new-vr",
              short: "-u",
              help: "disable support for new VRs, convert to OB",
              block: "new-vr",
            },
          ],
        },
        {
          title: "deflate compression level (only with --propose-deflated):",
          options: [
            {
              long: "--compression-level",
              short: "+cl",
              valueHelp: "[l]evel: integer (default: 6)",
              help: "0=uncompressed, 1=fastest, 9=best compression",
            },
          ],
        },
        {
          title: "user identity negotiation:",
          options: [
            {
              long: "--user",
              short: "-usr",
              valueHelp: "[u]ser name: string",
              help: "authenticate using user name u",
              block: "identity",
            },
            {
              long: "--password",
              short: "-pwd",
              valueHelp: "[p]assword: string (only with --user)",
              help: "authenticate using password p",
              block: "password",
            },
            {
              long: "--empty-password",
              short: "-epw",
              help: "send empty password (only with --user)",
              block: "password",
            },
            {
              long: "--kerberos",
              short: "-kt",
              valueHelp: "[f]ilename: string",
              help: "read kerberos ticket from file f",
              block: "identity",
            },
            {
              long: "--saml",
              valueHelp: "[f]ilename: string",
              help: "read SAML request from file f",
              block: "identity",
            },
            {
              long: "--jwt",
              valueHelp: "[f]ilename: string",
              help: "read JWT data from file f",
              block: "identity",
            },
            { long: "--pos-response", short: "-rsp", help: "expect positive response" },
          ],
        },
        {
          title: "other network options:",
          options: [
            ...SCU_CONNECTION_OPTIONS,
            {
              long: "--max-send-pdu",
              valueHelp: MAX_PDU_OPTION.valueHelp,
              help: "restrict max send pdu to n bytes",
            },
            REPEAT_OPTION,
            ABORT_OPTION,
            {
              long: "--async",
              valueHelp: "[n]umber: integer (1..65535)",
              help: "keep up to n C-STOREs outstanding on an\n" +
                "association, proposing an asynchronous\n" +
                "operations window of n (default: none\nproposed, one at a time)",
            },
            {
              long: "--no-halt",
              short: "-nh",
              help: [
                "do not halt if unsuccessful store encountered",
                "(default: do halt; exit code still non-zero)",
              ],
            },
            {
              // Nothing to set: DCMTK 3.6.7 removes the spaces with or without it (its dcmdata
              // library corrects UI values as it reads them), and so does lib/net/store_scu.ts,
              // in the request and the data set sent.
              long: "--uid-padding",
              short: "-up",
              help: "silently correct space-padded UIDs (always done)",
            },
            {
              long: "--invent-instance",
              short: "+II",
              help: "invent a new SOP instance UID for every image\nsent",
            },
            {
              long: "--invent-series",
              short: "+IR",
              valueHelp: "[n]umber: integer (implies --invent-instance)",
              help: "invent a new series UID after n images\nhave been sent (default: 100)",
            },
            {
              long: "--invent-study",
              short: "+IS",
              valueHelp: "[n]umber: integer (implies --invent-instance)",
              help: "invent a new study UID after n series\nhave been sent (default: 50)",
            },
            {
              long: "--invent-patient",
              short: "+IP",
              valueHelp: "[n]umber: integer (implies --invent-instance)",
              help:
                "invent a new patient ID and name after n studies\nhave been sent (default: 25)",
            },
          ],
        },
      ],
    },
    {
      title: "fast and resumable sending:",
      options: [
        {
          long: "--parallel",
          valueHelp: "[n]umber: integer (1..64, default: 1)",
          help: "send over n associations at once, from one\nqueue of files",
        },
        {
          long: "--retries",
          valueHelp: "[n]umber: integer (0..100, default: 0)",
          help: [
            "try a store again up to n times on a new",
            "association when its association ended under",
            "it or the peer was out of resources (0xA7xx,",
            "0x0213); also a refused or failed association",
            "request (transient rejection, connection)",
          ],
        },
        {
          long: "--retry-delay",
          valueHelp: "[m]s: integer (default: 1000)",
          help: "wait m ms before the first retry, doubling\nfor each next one (at most 30 s)",
        },
        {
          long: "--journal",
          valueHelp: "[f]ilename: string",
          help: [
            "append each acknowledged store to journal f,",
            "flushed; a rerun with f skips the stores the",
            "same peer acknowledged (resume after a crash)",
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
            "print one JSON line per file on stdout, then a",
            "summary (outcome, exit code, counts; schemas/v1)",
          ],
        },
      ],
    },
  ],
};

const FORMAT: Record<string, InputFormat> = {
  "--read-file": "file-or-dataset",
  "--read-file-only": "file-only",
  "--read-dataset": "dataset",
};

/**
 * The exit code of a run: DCMTK storescu's where it has a specific one (the
 * high byte of the status that halted a store, 10 when the association was
 * lost during a store, 1 for files that cannot be sent), echoscu's codes for
 * association failures (DCMTK exits 1), and, unlike DCMTK, non-zero with
 * --no-halt when any store failed (the code of the last failure).
 */
export function storeExitCode(r: StoreResult): number {
  switch (r.outcome) {
    case "success":
      return EXIT_OK;
    case "not-permitted":
    case "connect-failed":
    case "rejected":
    case "association-failed":
    case "no-presentation-context":
    case "dimse-timeout":
      return ECHO_EXIT_CODES[r.outcome];
    case "aborted":
      return 10;
    case "store-failed":
      // A failure status whose high byte is 0 (0x01xx is 1) still must not read as success.
      return Math.max(1, (r.failureStatus ?? 0) >> 8);
    case "interrupted":
      // 128 + SIGINT, as a shell reports a process ended by Ctrl+C (SIGTERM: 143, see main).
      return EXIT_INTERRUPTED;
    case "file-failed":
    case "too-many-contexts":
    case "identity-not-confirmed":
    case "release-failed":
      return 1;
  }
}

/** Who a run talks to, as every --json line of storescu names it. */
interface JsonWho {
  peer: { host: string; port: number };
  callingAeTitle: string;
  calledAeTitle: string;
}

/** The --json `store` line of one planned store (schemas/v1/store.schema.json). */
export function storeJsonFields(who: JsonWho, r: StoreRecord): Record<string, unknown> {
  return {
    ...who,
    path: r.path,
    sopClassUid: r.sopClassUid ?? null,
    sopInstanceUid: r.sopInstanceUid ?? null,
    ...jsonTransferSyntax(r.transferSyntax),
    messageId: r.messageId ?? null,
    status: r.status ?? null,
    statusText: r.statusMeaning ?? null,
    outcome: r.fate,
    bytes: r.bytes,
    ms: ms3(r.ms),
    diagnosis: r.error ?? null,
    ...(r.association === undefined ? {} : { association: r.association }),
    ...(r.attempts === undefined ? {} : { attempts: r.attempts.map(attemptJsonFields) }),
  };
}

/** One attempt of a store, in the `attempts` array of its --json `store` line (--retries). */
function attemptJsonFields(a: StoreRecord): Record<string, unknown> {
  return {
    association: a.association ?? null,
    messageId: a.messageId ?? null,
    status: a.status ?? null,
    statusText: a.statusMeaning ?? null,
    outcome: a.fate,
    bytes: a.bytes,
    ms: ms3(a.ms),
    diagnosis: a.error ?? null,
  };
}

/** The final --json line: the run's outcome and the summary counts. */
export function summaryJsonFields(r: StoreResult, exitCode: number): Record<string, unknown> {
  const s = r.summary;
  return {
    peer: jsonPeer(r.peer),
    callingAeTitle: r.callingAeTitle,
    calledAeTitle: r.calledAeTitle,
    tls: tlsJson(r.tls),
    outcome: r.outcome,
    exitCode,
    diagnosis: r.diagnosis ?? null,
    timings: timingsJson(r.timings),
    ms: ms3(s.ms),
    associations: s.associations,
    planned: s.files,
    sent: s.sent,
    success: s.success,
    warning: s.warning,
    failed: s.failed,
    notSent: s.notSent,
    bytes: s.bytes,
    megabytesPerSecond: Number(megabytesPerSecond(s.bytes, s.ms)),
    retried: s.retried,
    skipped: s.skipped,
  };
}

/** What an outcome means, in the summary line. */
const OUTCOME_WORDS: Record<StoreResult["outcome"], string> = {
  "success": "success",
  "not-permitted": "a Deno permission is missing",
  "connect-failed": "cannot connect",
  "rejected": "association rejected",
  "association-failed": "association request failed",
  "no-presentation-context": "no acceptable presentation context",
  "identity-not-confirmed": "user identity not confirmed",
  "too-many-contexts": "too many presentation contexts",
  "file-failed": "a file could not be sent",
  "store-failed": "the peer refused a store",
  "dimse-timeout": "no response within -td",
  "aborted": "association aborted",
  "release-failed": "the release failed",
  "interrupted": "interrupted",
};

/**
 * The one human line storescu ends with at the default level: files sent,
 * failed and not sent, megabytes, speed and time, and on failure what
 * failed and the exit code.
 */
export function storeSummaryLine(r: StoreResult, exitCode: number): string {
  const s = r.summary;
  const to = `${r.calledAeTitle}@${r.peer.host}:${r.peer.port}`;
  const what = s.files === 1 ? "1 file" : `${s.files} files`;
  let line = `storescu: ${what} to ${to}: ${s.success + s.warning} stored` +
    (s.warning ? ` (${s.warning} with a warning)` : "") +
    `, ${s.failed} failed, ${s.notSent} not sent` +
    (s.skipped ? `, ${s.skipped} skipped (acknowledged before, in the journal)` : "") +
    (s.retried ? `, ${s.retried} retried` : "") +
    `; ${formatBytes(s.bytes)} in ` +
    `${(s.ms / 1000).toFixed(3)} s (${megabytesPerSecond(s.bytes, s.ms)} MB/s)`;
  if (r.outcome !== "success") line += `; ${OUTCOME_WORDS[r.outcome]} (exit ${exitCode})`;
  return line;
}

/** The end summary, after dcmsend's "Status Summary". */
export function summaryLines(r: StoreResult): string[] {
  const s = r.summary;
  const failedUnsent = s.failed - (s.sent - s.success - s.warning);
  return [
    "Status Summary",
    "--------------",
    `Number of associations   : ${s.associations}`,
    `Number of SOP instances  : ${s.files}`,
    ...(s.skipped ? [`- skipped (journal)      : ${s.skipped}`] : []),
    ...(s.retried ? [`- attempts retried       : ${s.retried}`] : []),
    `- sent to the peer       : ${s.sent}`,
    `  * with status SUCCESS  : ${s.success}`,
    `  * with status WARNING  : ${s.warning}`,
    `  * with status ERROR    : ${s.sent - s.success - s.warning}`,
    `- NOT sent to the peer   : ${s.files - s.sent}`,
    `  * file failed          : ${failedUnsent}`,
    `  * not attempted        : ${s.notSent}`,
    `Data set bytes sent      : ${formatBytes(s.bytes)}`,
    `Time                     : ${(s.ms / 1000).toFixed(3)} s (${
      megabytesPerSecond(s.bytes, s.ms)
    } MB/s)`,
  ];
}

/** Reads a Kerberos ticket, SAML assertion or JWT as DCMTK does (at most 65535 bytes). */
async function identityFile(path: string, log: Logger): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    throw new OptionError(
      `Unable to open Kerberos, SAML or JWT file: ${(err as Error).message}`,
    );
  }
  if (bytes.length === 0) {
    throw new OptionError("Unable to read Kerberos, SAML or JWT info from file: File empty?");
  }
  if (bytes.length > 0xffff) {
    log.info(
      "Kerberos, SAML or JWT file is larger than 65535 bytes, bytes after that position are ignored",
    );
    return bytes.subarray(0, 0xffff);
  }
  return bytes;
}

/** A user name or password, UTF-8 (PS3.7 D.3.3.7.1), checked against the 16-bit length field. */
function identityText(option: string, text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > 0xffff) {
    throw new OptionError(`Invalid value for option ${option} (longer than 65535 bytes)`);
  }
  return bytes;
}

/** The user identity sub-item the options ask for (PS3.7 D.3.3.7.1), if any. */
async function userIdentity(
  options: ParsedOptions,
  log: Logger,
): Promise<UserIdentityRq | undefined> {
  const kind = options.winner("identity");
  const password = options.winner("password");
  if (password && kind !== "--user") {
    throw new OptionError(`${password} only allowed with --user`);
  }
  const positiveResponseRequested = options.has("--pos-response");
  if (!kind) {
    if (positiveResponseRequested) {
      throw new OptionError(
        "--pos-response only allowed with --user, --kerberos, --saml or --jwt",
      );
    }
    return undefined;
  }
  const empty = new Uint8Array(0);
  if (kind === "--user") {
    const user = identityText("--user", options.value("--user")!);
    if (!password) {
      return {
        identityType: 1,
        positiveResponseRequested,
        primaryField: user,
        secondaryField: empty,
      };
    }
    const secret = password === "--password"
      ? identityText("--password", options.value("--password")!)
      : empty;
    return {
      identityType: 2,
      positiveResponseRequested,
      primaryField: user,
      secondaryField: secret,
    };
  }
  const type = { "--kerberos": 3, "--saml": 4, "--jwt": 5 }[kind]!;
  return {
    identityType: type,
    positiveResponseRequested,
    primaryField: await identityFile(options.value(kind)!, log),
    secondaryField: empty,
  };
}

/** Runs storescu with `argv`; resolves with the exit code. */
export function main(argv: readonly string[]): Promise<number> {
  return runTool(STORESCU_SPEC, argv, async ({ options, params, logger, summary }) => {
    const tls = await setUpTls(options, "client", STORESCU_SPEC, logger);
    if (typeof tls === "number") return tls;
    const peer = scuPeer(options);
    if (options.has("--verbose-pc") && !logger.isEnabled("info")) {
      throw new OptionError("--verbose-pc only allowed with verbose mode");
    }
    const scanDirectories = options.has("--scan-directories");
    if (options.has("--scan-pattern") && !scanDirectories) {
      throw new OptionError("--scan-pattern only allowed with --scan-directories");
    }
    if (options.winner("recurse") === "--recurse" && !scanDirectories) {
      throw new OptionError("--recurse only allowed with --scan-directories");
    }
    if (options.has("--config-file")) {
      throw new OptionError(
        "--config-file is not supported: propose transfer syntaxes with -x=, -xe, -xb, -xi, " +
          "-xs, -xy, -xx, -xv, -xw, -xt, -xu, -xr or -xd (and -R, +C)",
      );
    }
    const proposalOption = options.winner("proposal");
    const proposal = PROPOSAL_OPTIONS.find((p) => p.long === proposalOption) ?? DEFAULT_PROPOSAL;
    let compressionLevel: number | undefined;
    if (options.has("--compression-level")) {
      if (proposal.long !== "--propose-deflated") {
        throw new OptionError(
          "--compression-level only allowed with --propose-deflated or --config-file",
        );
      }
      compressionLevel = options.uint("--compression-level", { min: 0, max: 9 });
    }
    const everyOption = (long: string, fallback: number) =>
      options.uint(long, { min: 1 }) ?? fallback;
    const inventing = ["--invent-instance", "--invent-series", "--invent-study", "--invent-patient"]
      .some((o) => options.has(o));
    const repeat = options.uint("--repeat", { min: 1 }) ?? 1;
    if (options.has("--retry-delay") && !options.has("--retries")) {
      throw new OptionError("--retry-delay only allowed with --retries");
    }
    // Every option value is checked before the files are looked for.
    const settings = {
      ...peer,
      ...scuSettings(options, CALLING_AE_TITLE),
      maxSendPdu: options.uint("--max-send-pdu", MAX_PDU_RANGE),
      inputFormat: FORMAT[options.winner("read") ?? "--read-file"],
      proposal,
      required: options.has("--required"),
      combine: options.has("--combine"),
      dcmtkProposal: options.has("--dcmtk-proposal"),
      repeat,
      halt: !options.has("--no-halt"),
      asyncWindow: options.uint("--async", { min: 1, max: 0xffff }),
      invent: inventing
        ? {
          seriesEvery: everyOption("--invent-series", 100),
          studyEvery: everyOption("--invent-study", 50),
          patientEvery: everyOption("--invent-patient", 25),
        }
        : undefined,
      disableNewVr: options.winner("new-vr") === "--disable-new-vr",
      compressionLevel,
      rename: options.winner("rename") === "--rename",
      verbosePc: options.has("--verbose-pc"),
      userIdentity: await userIdentity(options, logger),
      // One TLS setup (key, certificate, trust list read once) for every association.
      connect: tls && tlsConnect(tls),
      parallel: options.uint("--parallel", { min: 1, max: MAX_PARALLEL }) ?? 1,
      retries: options.uint("--retries", { min: 0, max: 100 }) ?? 0,
      retryDelayMs: options.uint("--retry-delay", { min: 0, max: MAX_RETRY_DELAY_MS }) ?? 1000,
      journal: options.value("--journal"),
    };

    // Deno's permissions first: without them a file only looks missing (or +rn fails).
    // Granted for every path (a plain --allow-read): no path to ask about, no query per file.
    const needed = (settings.rename ? ["read", "write"] as const : ["read"] as const)
      .filter((name) => Deno.permissions.querySync({ name }).state !== "granted");
    for (const path of needed.length > 0 ? params.slice(2) : []) {
      for (const name of needed) {
        const denied = await checkPermission({ name, path });
        if (denied) {
          throw new PermissionError(
            denied,
            name === "read" ? "cannot read input" : "cannot rename",
          );
        }
      }
    }
    if (settings.journal !== undefined) {
      for (const name of ["read", "write"] as const) {
        const denied = await checkPermission({ name, path: settings.journal });
        if (denied) throw new PermissionError(denied, `cannot ${name} the journal`);
      }
    }
    const files = await collectInputFiles(params.slice(2), {
      scanDirectories,
      recurse: options.winner("recurse") === "--recurse",
      pattern: options.value("--scan-pattern"),
    }, logger);
    if (files.length === 0) {
      logger.fatal("no input files to be sent");
      return 1;
    }

    const json = options.has("--json") ? new JsonLines("storescu") : undefined;
    // The bar only on a terminal and only when the user did not ask for quiet.
    const bar = Deno.stderr.isTerminal() && logger.isEnabled("error")
      ? new ProgressBar(Deno.stderr, { columns: () => Deno.consoleSize().columns || 80 })
      : undefined;
    const log = bar ? withProgressLine(logger, bar) : logger;
    const planned = { files: files.length * repeat, bytes: 0 };
    const t0 = performance.now();
    const who = {
      peer: jsonPeer(peer),
      callingAeTitle: settings.callingAeTitle,
      calledAeTitle: settings.calledAeTitle,
    };
    // SIGINT/SIGTERM: the store under way is finished, the association released, the rest
    // recorded as not sent; a second signal aborts the association at once.
    const stop = new AbortController();
    const abortNow = new AbortController();
    let signalled: Deno.Signal | undefined;
    const onSignal = (sig: Deno.Signal) => () => {
      const several = settings.parallel > 1;
      if (signalled) {
        log.warn(`${sig} again: aborting the association${several ? "s" : ""}`);
        abortNow.abort();
        return;
      }
      signalled = sig;
      log.warn(
        several
          ? `${sig} received: finishing the stores under way, then releasing the associations ` +
            `(${sig} again aborts at once)`
          : `${sig} received: finishing the current file, then releasing the association ` +
            `(${sig} again aborts at once)`,
      );
      stop.abort();
    };
    const handlers = SIGNALS.map((sig) => [sig, onSignal(sig)] as const);
    for (const [sig, handler] of handlers) Deno.addSignalListener(sig, handler);
    const result = await runStoreScu({
      ...settings,
      logger: log,
      files,
      stop: stop.signal,
      abortNow: abortNow.signal,
      onPlanned: (p) => Object.assign(planned, p),
      onRecord: json && ((r) => json.write("store", storeJsonFields(who, r))),
      onProgress: bar
        ? (p) =>
          bar.update({
            filesDone: p.filesDone,
            filesTotal: planned.files,
            bytesDone: p.bytesDone,
            bytesTotal: planned.bytes,
            elapsedMs: performance.now() - t0,
          })
        : undefined,
    });
    for (const [sig, handler] of handlers) Deno.removeSignalListener(sig, handler);
    bar?.finish();
    const code = result.outcome === "interrupted" && signalled === "SIGTERM"
      ? EXIT_TERMINATED
      : storeExitCode(result);
    // dcmsend's status summary with -v, once an association was tried (before that, the
    // lines above said why); at the default level one line.
    if (result.summary.associations > 0 && logger.isEnabled("info")) {
      logger.info(`\n${summaryLines(result).join("\n")}`);
    }
    summary(storeSummaryLine(result, code));
    json?.write("summary", summaryJsonFields(result, code));
    return code;
  });
}
