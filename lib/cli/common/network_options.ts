/**
 * What every network tool shares: option definitions worded as DCMTK's help
 * prints them, so echoscu, echoscp and the store tools read alike; the SCU
 * settings read from them; the --json form of an SCU's timings.
 *
 * @module
 */
import type { ScuOptions, ScuTimings } from "./scu.ts";
import type { ServerOptions } from "../../ae/server.ts";
import type { IpFamily } from "../../transport/tcp.ts";
import type { OptionDef, OptionSubgroup, ParamDef, ParsedOptions } from "./options.ts";
import { secondsOption } from "./tool.ts";

/** An SCU's first parameters: the peer it connects to. */
export const SCU_PEER_PARAMS: readonly ParamDef[] = [
  { name: "peer", help: "hostname of DICOM peer" },
  { name: "port", help: "tcp/ip port number of peer" },
];

/** The peer of {@link SCU_PEER_PARAMS}, the port checked. */
export function scuPeer(options: ParsedOptions): { host: string; port: number } {
  return { host: options.params[0], port: options.paramUint(1, { min: 1, max: 65535 })! };
}

/** -i4 / -i6 / -i0: the IP version an SCU connects with (block "ip"). */
export const IP_PROTOCOL_SUBGROUP: OptionSubgroup = {
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
};

const IP_FAMILY: Record<string, IpFamily> = {
  "--ipv4": "ipv4",
  "--ipv6": "ipv6",
  "--ip-auto": "auto",
};

/** -aet / -aec: an SCU's calling AE title (`callingAeTitle` unless given) and the peer's. */
export function scuAeTitleSubgroup(callingAeTitle: string): OptionSubgroup {
  return {
    title: "application entity titles:",
    options: [
      {
        long: "--aetitle",
        short: "-aet",
        valueHelp: "[a]etitle: string",
        help: `set my calling AE title (default: ${callingAeTitle})`,
      },
      {
        long: "--call",
        short: "-aec",
        valueHelp: "[a]etitle: string",
        help: "set called AE title of peer (default: ANY-SCP)",
      },
    ],
  };
}

/** -to: how long an SCU waits for its connection to be accepted. */
export const CONNECT_TIMEOUT_OPTION: OptionDef = {
  long: "--timeout",
  short: "-to",
  valueHelp: "[s]econds: integer (default: unlimited)",
  help: "timeout for connection requests",
};

/** -ts: how long a socket may stay silent. */
export const SOCKET_TIMEOUT_OPTION: OptionDef = {
  long: "--socket-timeout",
  short: "-ts",
  valueHelp: "[s]econds: integer (default: 60)",
  help: "timeout for network socket (0 for none)",
};

/** -ta: ARTIM timeout for association setup and release (PS3.8 9.1.5). */
export const ACSE_TIMEOUT_OPTION: OptionDef = {
  long: "--acse-timeout",
  short: "-ta",
  valueHelp: "[s]econds: integer (default: 30)",
  help: "timeout for ACSE messages",
};

/** -td: how long to wait for a DIMSE message. */
export const DIMSE_TIMEOUT_OPTION: OptionDef = {
  long: "--dimse-timeout",
  short: "-td",
  valueHelp: "[s]econds: integer (default: unlimited)",
  help: "timeout for DIMSE messages",
};

/** -ta for a server: also the TLS handshake's deadline. */
export const SCP_ACSE_TIMEOUT_OPTION: OptionDef = {
  long: "--acse-timeout",
  short: "-ta",
  valueHelp: "[s]econds: integer (default: 30)",
  help: ["timeout for ACSE messages (and for the TLS", "handshake)"],
};

/** -td for a server: the wait for each request, and for each fragment of a data set. */
export function scpDimseTimeoutOption(defaultSeconds: number): OptionDef {
  return {
    long: "--dimse-timeout",
    short: "-td",
    valueHelp: `[s]econds: integer (default: ${defaultSeconds})`,
    help: "timeout for DIMSE messages",
  };
}

/** The floor of --min-transfer-rate, bytes per second: a drip, not a slow network. */
export const DEFAULT_MIN_TRANSFER_RATE = 1024;
/** The waiting time each judgement of --min-transfer-rate covers. */
export const TRANSFER_WINDOW_MS = 30_000;

/**
 * A server's connection limits and transfer floor (README "Connection
 * limits"): each cap defaults to what the open-file limit allows.
 */
export const SCP_LIMIT_OPTIONS: readonly OptionDef[] = [
  {
    long: "--max-associations",
    valueHelp: "[n]umber: integer (default: from the open file limit)",
    help: "serve at most n associations at once",
  },
  {
    long: "--max-pending",
    valueHelp: "[n]umber: integer (default: from the open file limit)",
    help: "hold at most n connections not yet associated",
  },
  {
    long: "--max-per-peer",
    valueHelp: "[n]umber: integer (default: max(8, associations/4))",
    help: "accept at most n connections from one address",
  },
  {
    long: "--min-transfer-rate",
    valueHelp: `[b]ytes per second: integer (default: ${DEFAULT_MIN_TRANSFER_RATE})`,
    help: [
      "abort a message arriving slower than b bytes/s",
      `over ${TRANSFER_WINDOW_MS / 1000} s of waiting (0: no limit)`,
    ],
  },
];

/** The server settings of {@link SCP_LIMIT_OPTIONS}. */
export function scpLimits(
  options: ParsedOptions,
): Pick<ServerOptions, "limits" | "transferFloor"> {
  const rate = options.uint("--min-transfer-rate") ?? DEFAULT_MIN_TRANSFER_RATE;
  return {
    limits: {
      maxAssociations: options.uint("--max-associations", { min: 1 }),
      maxPending: options.uint("--max-pending", { min: 1 }),
      maxPerPeer: options.uint("--max-per-peer", { min: 1 }),
    },
    transferFloor: rate > 0 ? { bytesPerSecond: rate, windowMs: TRANSFER_WINDOW_MS } : undefined,
  };
}

/** The PDU sizes -pdu (and storescu's --max-send-pdu) accept: DCMTK's range. */
export const MAX_PDU_RANGE = { min: 4096, max: 131072 };

/** -pdu: our Maximum Length Received (PS3.8 D.1), DCMTK's range and default. */
export const MAX_PDU_OPTION: OptionDef = {
  long: "--max-pdu",
  short: "-pdu",
  valueHelp: `[n]umber of bytes: integer (${MAX_PDU_RANGE.min}..${MAX_PDU_RANGE.max})`,
  help: "set max receive pdu to n bytes (default: 16384)",
};

/** -to, -ts, -ta, -td, -pdu: what an SCU's other network options begin with. */
export const SCU_CONNECTION_OPTIONS: readonly OptionDef[] = [
  CONNECT_TIMEOUT_OPTION,
  SOCKET_TIMEOUT_OPTION,
  ACSE_TIMEOUT_OPTION,
  DIMSE_TIMEOUT_OPTION,
  MAX_PDU_OPTION,
];

/** --repeat: an SCU does its work n times. */
export const REPEAT_OPTION: OptionDef = {
  long: "--repeat",
  valueHelp: "[n]umber: integer",
  help: "repeat n times",
};

/** --abort: an SCU ends with an A-ABORT. */
export const ABORT_OPTION: OptionDef = {
  long: "--abort",
  help: "abort association instead of releasing it",
};

/**
 * The settings every SCU reads the same way from the options above: IP
 * version, AE titles (ours `callingAeTitle` unless -aet is given), the
 * connection options and --abort.
 */
export function scuSettings(
  options: ParsedOptions,
  callingAeTitle: string,
): Omit<ScuOptions, "host" | "port" | "logger"> {
  return {
    family: IP_FAMILY[options.winner("ip") ?? "--ipv4"],
    callingAeTitle: options.value("--aetitle") ?? callingAeTitle,
    calledAeTitle: options.value("--call") ?? "ANY-SCP",
    maxPdu: options.uint("--max-pdu", MAX_PDU_RANGE) ?? 16384,
    connectTimeoutMs: secondsOption(options, "--timeout", 1, undefined),
    // movescu and getscu have no -ts: DCMTK's default applies.
    socketTimeoutMs: options.defines("--socket-timeout")
      ? secondsOption(options, "--socket-timeout", 0, 60_000)!
      : 60_000,
    acseTimeoutMs: secondsOption(options, "--acse-timeout", 1, 30_000)!,
    dimseTimeoutMs: secondsOption(options, "--dimse-timeout", 1, undefined),
    abort: options.has("--abort"),
  };
}

/** An SCU's timings as its --json records give them: null for a step not reached. */
export function timingsJson(t: ScuTimings): Record<keyof ScuTimings, number | null> {
  return {
    connectMs: t.connectMs ?? null,
    associateMs: t.associateMs ?? null,
    releaseMs: t.releaseMs ?? null,
  };
}
