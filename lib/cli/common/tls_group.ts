/**
 * The TLS options' light half, what every tool loads: the option group
 * (DCMTK's DcmTLSOptions, see ./tls_options.ts), the exit codes, the --json
 * form of a connection's details, and entry points that load ./tls_options.ts
 * (the checks, the credentials, node:tls through lib/transport/tls.ts) only
 * when a TLS option is given. A plain TCP run loads none of the TLS code.
 *
 * @module
 */
import type { Logger } from "../../log/logger.ts";
import type { ScuOptions } from "./scu.ts";
import type { ServerEvent, TlsConnectionInfo } from "../../ae/server.ts";
import type { TlsCredentials, TlsInfo, TlsSettings } from "../../transport/tls.ts";
import type { TlsSide } from "../../transport/tls_errors.ts";
import type { TlsProfile } from "../../transport/tls_profiles.ts";
import type { ConnectionGate, Transport, TransportListener } from "../../transport/transport.ts";
import type { CommandLineSpec, OptionDef, OptionGroup, ParsedOptions } from "./options.ts";

/** Exit code of a failed +vc/+rc check (DCMTK's EXITCODE_INVALID_INPUT_FILE). */
export const EXIT_INVALID_CERTIFICATE = 22;
/** Exit code when key, certificate or trust list cannot be loaded (DCMTK exits 1). */
export const EXIT_TLS_CREDENTIALS = 1;

/** A security profile option: long and short name, help, the profile. */
export const PROFILES: readonly {
  long: string;
  short: string;
  help: string;
  profile: TlsProfile;
}[] = [
  {
    long: "--profile-8996",
    short: "+pg",
    help: "BCP 195 RFC 8996 TLS Profile (default)",
    profile: "bcp195-rfc8996",
  },
  {
    long: "--profile-8996-mod",
    short: "+pm",
    help: "Modified BCP 195 RFC 8996 TLS Profile",
    profile: "bcp195-rfc8996-mod",
  },
  {
    long: "--profile-bcp195-nd",
    short: "+py",
    help: "Non-downgrading BCP 195 TLS Profile (retired)",
    profile: "bcp195-nd",
  },
  {
    long: "--profile-bcp195",
    short: "+px",
    help: "BCP 195 TLS Profile (retired)",
    profile: "bcp195",
  },
  {
    long: "--profile-bcp195-ex",
    short: "+pz",
    help: "Extended BCP 195 TLS Profile (retired)",
    profile: "bcp195-ex",
  },
  {
    long: "--profile-basic",
    short: "+pb",
    help: "Basic TLS Secure Transport Connection Profile\n(retired)",
    profile: "basic",
  },
  {
    long: "--profile-aes",
    short: "+pa",
    help: "AES TLS Secure Transport Connection Profile\n(retired)",
    profile: "aes",
  },
  {
    long: "--profile-null",
    short: "+pn",
    help: "Authenticated unencrypted communication\n(retired, was used in IHE ATNA)",
    profile: "null",
  },
];

/** The profile used when none is given: DCMTK 3.6.8's default (3.6.7's was +py). */
export const DEFAULT_PROFILE = "--profile-8996";

/**
 * The "transport layer security (TLS) options:" group for one side: the
 * client gets +tla, --request-sni and the offline checks (+vc, +rc), the
 * server +dp, as in DCMTK; -vc is accepted on both sides.
 */
export function tlsOptionGroup(side: TlsSide): OptionGroup {
  const client = side === "client";
  const only = (o: OptionDef, keep: boolean) => keep ? [o] : [];
  return {
    title: "transport layer security (TLS) options:",
    subgroups: [
      {
        title: "transport protocol stack:",
        options: [
          {
            long: "--disable-tls",
            short: "-tls",
            help: "use normal TCP/IP connection (default)",
            block: "tls",
          },
          {
            long: "--enable-tls",
            short: "+tls",
            valueCount: 2,
            valueHelp: "[p]rivate key file, [c]ertificate file: string",
            help: "use authenticated secure TLS connection",
            block: "tls",
          },
          ...only({
            long: "--anonymous-tls",
            short: "+tla",
            help: "use secure TLS connection without certificate",
            block: "tls",
          }, client),
        ],
      },
      {
        title: "private key password (only with --enable-tls):",
        options: [
          {
            long: "--std-passwd",
            short: "+ps",
            help: "prompt user to type password on stdin (default)",
            block: "tls-passwd",
          },
          {
            long: "--use-passwd",
            short: "+pw",
            // DCMTK's value help ends with a space; its help text is reproduced as printed.
            valueHelp: "[p]assword: string ",
            help: "use specified password",
            block: "tls-passwd",
          },
          {
            long: "--null-passwd",
            short: "-pw",
            help: "use empty string as password",
            block: "tls-passwd",
          },
        ],
      },
      {
        title: "key and certificate file format:",
        options: [
          {
            long: "--pem-keys",
            short: "-pem",
            help: "read keys and certificates as PEM file (default)",
            block: "tls-format",
          },
          {
            long: "--der-keys",
            short: "-der",
            help: "read keys and certificates as DER file",
            block: "tls-format",
          },
        ],
      },
      {
        title: "certification authority:",
        options: [
          {
            long: "--add-cert-file",
            short: "+cf",
            valueHelp: "[f]ilename: string",
            help: "add certificate file to list of certificates",
          },
          {
            long: "--add-cert-dir",
            short: "+cd",
            valueHelp: "[d]irectory: string",
            help: "add certificates in d to list of certificates",
          },
          {
            long: "--add-crl-file",
            short: "+crl",
            valueHelp: "[f]ilename: string",
            help: "add certificate revocation list file\n(implies --enable-crl-vfy)",
          },
          {
            long: "--enable-crl-vfy",
            short: "+crv",
            help: "enable leaf CRL verification",
            block: "tls-crl",
          },
          {
            long: "--enable-crl-all",
            short: "+cra",
            help: "enable full chain CRL verification",
            block: "tls-crl",
          },
        ],
      },
      {
        title: "security profile:",
        options: [
          ...PROFILES.map(({ long, short, help }) => ({ long, short, help, block: "tls-profile" })),
          {
            long: "--list-profiles",
            short: "+ph",
            help: "list supported TLS profiles and exit",
            exclusive: true,
          },
        ],
      },
      {
        title: "ciphersuite:",
        options: [
          {
            long: "--list-ciphers",
            short: "+cc",
            help: "show list of supported TLS ciphersuites and exit",
            exclusive: true,
          },
          {
            long: "--cipher",
            short: "+cs",
            valueHelp: "[c]iphersuite name: string",
            help: "add ciphersuite to list of accepted suites\n(not with --profile-bcp195-ex)",
          },
          ...only({
            long: "--dhparam",
            short: "+dp",
            valueHelp: "[f]ilename: string",
            help: "read DH parameters for DH/DSS ciphersuites",
          }, !client),
        ],
      },
      ...(client
        ? [{
          title: "server name indication:",
          options: [
            {
              long: "--no-sni",
              help: "do not use SNI (default: the peer's host name)",
            },
            {
              long: "--request-sni",
              valueHelp: "[s]erver name: string",
              help: "request server name s",
            },
          ],
        }]
        : []),
      {
        title: "pseudo random generator:",
        options: [
          {
            long: "--seed",
            short: "+rs",
            valueHelp: "[f]ilename: string",
            help: "seed random generator with contents of f",
          },
          {
            long: "--write-seed",
            short: "+ws",
            help: "write back modified seed (only with --seed)",
            block: "tls-seed",
          },
          {
            long: "--write-seed-file",
            short: "+wf",
            valueHelp: "[f]ilename: string (only with --seed)",
            help: "write modified seed to file f",
            block: "tls-seed",
          },
        ],
      },
      {
        title: "peer authentication:",
        options: [
          {
            long: "--require-peer-cert",
            short: "-rc",
            help: "verify peer certificate, fail if absent (default)",
            block: "tls-peer",
          },
          {
            long: "--verify-peer-cert",
            short: "-vc",
            help: "verify peer certificate if present",
            block: "tls-peer",
          },
          {
            long: "--ignore-peer-cert",
            short: "-ic",
            help: "don't verify peer certificate",
            block: "tls-peer",
          },
        ],
      },
      ...(client
        ? [{
          title: "offline certificate verification:",
          options: [
            {
              long: "--verify-cert",
              short: "+vc",
              valueHelp: "[f]ilename: string",
              help: "verify certificate against CA settings",
            },
            {
              long: "--is-root-cert",
              short: "+rc",
              valueHelp: "[f]ilename: string",
              help: "check if certificate is self-signed root CA",
            },
          ],
        }]
        : []),
    ],
  };
}

/** TLS settings read from the options, with the credentials loaded once for every connection. */
export interface TlsSetup {
  /** What tls.ts is asked for. */
  settings: TlsSettings;
  /** Key, certificate and trust list, read and checked once. */
  credentials: TlsCredentials;
}

/** The --json form of a TLS connection's details; null over plain TCP. */
export function tlsJson(info: TlsInfo): TlsConnectionInfo;
/** The --json form of a TLS connection's details; null over plain TCP. */
export function tlsJson(info: TlsInfo | undefined): TlsConnectionInfo | null;
export function tlsJson(info: TlsInfo | undefined): TlsConnectionInfo | null {
  if (!info) return null;
  return {
    protocol: info.protocol,
    cipher: info.cipher,
    peerSubject: info.peerSubject ?? null,
    peerIssuer: info.peerIssuer ?? null,
    peerVerified: info.peerVerified,
  };
}

/** Whether any option of `side`'s TLS group was given; without one the run is plain TCP. */
function tlsAsked(options: ParsedOptions, side: TlsSide): boolean {
  const given = (o: OptionDef) => options.defines(o.long) && options.has(o.long);
  return tlsOptionGroup(side).subgroups!.some((g) => g.options.some(given));
}

/**
 * ./tls_options.ts's setUpTls (+cc / +ph / +vc / +rc, the option checks,
 * the credentials), loaded only when a TLS option is given: without one it
 * returns undefined (plain TCP), as the full check does.
 */
export async function setUpTls(
  options: ParsedOptions,
  side: TlsSide,
  spec: CommandLineSpec,
  logger: Logger,
): Promise<number | TlsSetup | undefined> {
  if (!tlsAsked(options, side)) return undefined;
  const full = await import("./tls_options.ts");
  return full.setUpTls(options, side, spec, logger);
}

/** ./tls_options.ts's tlsConnect: the SCU's connect step over TLS, with the setup's credentials. */
export function tlsConnect(tls: TlsSetup): (o: ScuOptions) => Promise<Transport> {
  return async (o) => (await import("./tls_options.ts")).tlsConnect(tls)(o);
}

/** ./tls_options.ts's tlsListen: a server's TLS listener, each handshake logged and reported. */
export function tlsListen(
  tls: TlsSetup,
  logger: Logger,
  onEvent: ((e: ServerEvent) => void) | undefined,
  handshakeTimeoutMs: number,
): (hostname: string, port: number, gate: ConnectionGate) => Promise<TransportListener> {
  return async (hostname, port, gate) =>
    (await import("./tls_options.ts")).tlsListen(tls, logger, onEvent, handshakeTimeoutMs)(
      hostname,
      port,
      gate,
    );
}
