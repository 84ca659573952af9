/**
 * The TLS option group of DCMTK's network tools (dcmtls' DcmTLSOptions,
 * 3.6.7 wording, with 3.6.8's +pg/+pm and SNI options), one definition for
 * echoscu, storescu, echoscp and storescp: the options, their checks with
 * DCMTK's messages ("--x only allowed with --enable-tls"), what they become
 * (a {@link TlsSettings} for lib/transport/tls.ts), the actions that print
 * and exit (+cc, +ph, +vc, +rc), and the glue that puts TLS under an SCU's
 * connect step or a server's listener (PS3.15 Annex B: TLS is set up before
 * the association is requested).
 *
 * Where the stack differs from DCMTK's OpenSSL, the option says so rather
 * than being ignored: +cs is an allow-list checked after the handshake,
 * +dp and +pn are refused, the random seed options read and rotate the file
 * though the OS generator is used.
 *
 * @module
 */
import { describePermission, missingPermission, PermissionError } from "../../util/permission.ts";
import type { Logger } from "../../log/logger.ts";
import type { ScuOptions } from "./scu.ts";
import type { ServerEvent } from "../../ae/server.ts";
// Types only: tls.ts loads node:tls and node:crypto (about 20 ms of start-up
// on Deno 2.9), so it is imported when TLS is asked for, not on plain runs.
import type { TlsCredentials, TlsInfo, TlsSettings } from "../../transport/tls.ts";
import { TlsError, type TlsSide } from "../../transport/tls_errors.ts";
import {
  OFFERED_SUITES,
  profileVersions,
  type TlsVersion,
  type VersionRange,
} from "../../transport/tls_profiles.ts";
import type { ConnectionGate, Transport, TransportListener } from "../../transport/transport.ts";
import { rootVerdictLine, tlsAdvice, tlsMessage, verifyVerdictLine } from "./tls_advice.ts";
import { type CommandLineSpec, formatHeader, OptionError, type ParsedOptions } from "./options.ts";
import { header } from "./tool.ts";
import { stderr, stdout } from "../../util/std_streams.ts";
import {
  DEFAULT_PROFILE,
  EXIT_INVALID_CERTIFICATE,
  EXIT_TLS_CREDENTIALS,
  PROFILES,
  tlsJson,
  type TlsSetup,
} from "./tls_group.ts";

// The option group, the exit codes and the JSON form live in ./tls_group.ts, which every tool
// loads; this module (the checks and the TLS glue) is loaded only when a TLS option is given.
export {
  EXIT_INVALID_CERTIFICATE,
  EXIT_TLS_CREDENTIALS,
  tlsJson,
  tlsOptionGroup,
  type TlsSetup,
} from "./tls_group.ts";

/**
 * Reads the TLS options of `spec`'s tool: runs +cc / +ph / +vc / +rc and
 * returns their exit code, returns undefined for plain TCP, or the loaded
 * {@link TlsSetup}. A misused option throws {@link OptionError} (one line,
 * exit 1); credentials that cannot be loaded are logged as one fatal line
 * and give {@link EXIT_TLS_CREDENTIALS}. Call it before the parameters are
 * read: +cc and +ph need none.
 */
export async function setUpTls(
  options: ParsedOptions,
  side: TlsSide,
  spec: CommandLineSpec,
  logger: Logger,
): Promise<number | TlsSetup | undefined> {
  if (options.has("--list-ciphers")) {
    stdout.writeAll(`${banner(spec)}${cipherList()}`);
    return 0;
  }
  if (options.has("--list-profiles")) {
    stdout.writeAll(`${banner(spec)}${profileList()}`);
    return 0;
  }
  const settings = tlsSettings(options, side);
  try {
    if (settings) seedFiles(options, logger);
    const offline = await offlineCheck(options, settings ?? {});
    if (offline !== undefined) return offline;
    if (!settings) return undefined;
    return { settings, credentials: await loadCredentials(options, settings) };
  } catch (err) {
    if (!(err instanceof TlsError)) throw err;
    logger.fatal(`${tlsMessage(err)}; ${tlsAdvice(err)}`);
    if (err.detail) logger.debug(err.detail);
    return EXIT_TLS_CREDENTIALS;
  }
}

/** DCMTK's header before a list it prints and exits after. */
function banner(spec: CommandLineSpec): string {
  return `${formatHeader(spec, header(spec.tool))}\n`;
}

function cipherList(): string {
  return `Supported TLS ciphersuites are:\n${OFFERED_SUITES.map((s) => `  ${s.iana}\n`).join("")}`;
}

function profileList(): string {
  const lines = PROFILES.map(({ long, short, help, profile }) => {
    const name = help.replace(/\n.*/s, "").replace(" (retired)", "").replace(" (default)", "");
    let what: string;
    try {
      const r = profileVersions(profile);
      what = `${versionText(r)}${long === DEFAULT_PROFILE ? " (default)" : ""}`;
    } catch {
      what = "not supported: the TLS stack has no NULL cipher suites";
    }
    return `  ${short.padEnd(4)}  ${long.padEnd(20)}  ${name}\n${" ".repeat(30)}${what}\n`;
  });
  return `Supported TLS profiles are:\n${lines.join("")}`;
}

const VERSION_NUMBER: Record<TlsVersion, string> = {
  "TLSv1": "1.0",
  "TLSv1.1": "1.1",
  "TLSv1.2": "1.2",
  "TLSv1.3": "1.3",
};

/** "TLS 1.2 to 1.3", noting versions the profile allows but the stack does not offer. */
function versionText(r: VersionRange): string {
  const text = `TLS ${VERSION_NUMBER[r.minVersion]} to ${VERSION_NUMBER[r.maxVersion]}`;
  return r.minVersion === "TLSv1" || r.minVersion === "TLSv1.1"
    ? `${text} (the stack offers TLS 1.2 and newer only)`
    : text;
}

/** "--enable-tls or --anonymous-tls" (client) / "--enable-tls" (server), as DCMTK names them. */
function tlsOptionsText(side: TlsSide): string {
  return side === "client" ? "--enable-tls or --anonymous-tls" : "--enable-tls";
}

/**
 * The settings the options ask for, undefined for plain TCP; every misuse
 * is an {@link OptionError} worded as DCMTK's checkDependence and
 * checkConflict word them.
 */
export function tlsSettings(options: ParsedOptions, side: TlsSide): TlsSettings | undefined {
  const stack = options.winner("tls");
  const secure = stack === "--enable-tls" || stack === "--anonymous-tls";
  const authenticate = stack === "--enable-tls";
  const needs = (long: string | undefined, ok: boolean, what: string) => {
    if (long && !ok) throw new OptionError(`${long} only allowed with ${what}`);
  };
  const needsTls = (long: string | undefined) => needs(long, secure, tlsOptionsText(side));
  const given = (long: string) => options.defines(long) && options.has(long);

  needs(options.winner("tls-passwd"), authenticate, "--enable-tls");
  for (const block of ["tls-format", "tls-crl", "tls-profile", "tls-seed", "tls-peer"]) {
    needsTls(options.winner(block));
  }
  for (const long of ["--add-cert-file", "--add-cert-dir", "--add-crl-file", "--cipher"]) {
    if (given(long)) needsTls(long);
  }
  for (const long of ["--seed", "--dhparam", "--request-sni", "--no-sni"]) {
    if (given(long)) needsTls(long);
  }
  const seedWrite = options.winner("tls-seed");
  needs(seedWrite, given("--seed"), "--seed");
  if (given("--no-sni") && given("--request-sni")) {
    throw new OptionError("--no-sni not allowed with --request-sni");
  }
  const profileOption = options.winner("tls-profile") ?? DEFAULT_PROFILE;
  if (given("--cipher") && profileOption === "--profile-bcp195-ex") {
    throw new OptionError("--cipher not allowed with --profile-bcp195-ex");
  }
  if (given("--dhparam")) {
    throw new OptionError(
      "--dhparam is not supported: the TLS stack has no finite-field (DHE) cipher suites, " +
        "only ECDHE, which needs no parameter file",
    );
  }
  if (!secure) return undefined;

  const profile = PROFILES.find((p) => p.long === profileOption)!.profile;
  let range: VersionRange;
  try {
    range = profileVersions(profile);
  } catch (err) {
    if (!(err instanceof TlsError)) throw err;
    throw new OptionError(
      `${profileOption} is not supported: the TLS stack has no NULL cipher suites`,
    );
  }
  const settings: TlsSettings = {
    fileFormat: options.winner("tls-format") === "--der-keys" ? "der" : "pem",
    trustedFiles: options.occurrences("--add-cert-file").map((v) => v[0]),
    trustedDirs: options.occurrences("--add-cert-dir").map((v) => v[0]),
    verifyPeer: PEER_CHECK[options.winner("tls-peer") ?? "--require-peer-cert"],
    profile,
  };
  if (authenticate) {
    [settings.keyFile, settings.certFile] = options.values("--enable-tls");
    const password = options.winner("tls-passwd");
    if (password === "--use-passwd") settings.keyPassword = options.value("--use-passwd");
    if (password === "--null-passwd") settings.keyPassword = "";
  }
  const crlFiles = options.occurrences("--add-crl-file").map((v) => v[0]);
  const crlMode = options.winner("tls-crl");
  if (crlFiles.length) settings.crlFiles = crlFiles;
  // +crl implies leaf checking (DCMTK: --add-crl-file implies --enable-crl-vfy).
  if (crlMode === "--enable-crl-all") settings.crlCheck = "chain";
  else if (crlMode === "--enable-crl-vfy" || crlFiles.length) settings.crlCheck = "leaf";
  if (given("--cipher")) Object.assign(settings, cipherSettings(options, range));
  if (given("--no-sni")) settings.serverName = false;
  else if (given("--request-sni")) settings.serverName = options.value("--request-sni");
  return settings;
}

const PEER_CHECK: Record<string, NonNullable<TlsSettings["verifyPeer"]>> = {
  "--require-peer-cert": "require",
  "--verify-peer-cert": "verify-if-present",
  "--ignore-peer-cert": "ignore",
};

/**
 * The +cs list as settings: each name must be a suite the stack offers
 * (IANA or OpenSSL spelling). The stack ignores cipher lists, so tls.ts
 * ends a connection whose suite is not listed; the version range is
 * narrowed to the listed suites' versions so that the handshake can only
 * land on a version where a listed suite exists.
 */
function cipherSettings(options: ParsedOptions, profile: VersionRange): Partial<TlsSettings> {
  const suites = options.occurrences("--cipher").map(([name]) => {
    const s = OFFERED_SUITES.find((x) => x.iana === name || x.openssl === name);
    if (!s) {
      throw new OptionError(
        `Invalid value for option --cipher (${name}): not a ciphersuite this TLS stack offers ` +
          "(see --list-ciphers)",
      );
    }
    return s;
  });
  const order: TlsVersion[] = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
  const rank = (v: TlsVersion) => order.indexOf(v);
  const lo = Math.max(rank(profile.minVersion), Math.min(...suites.map((s) => rank(s.version))));
  const hi = Math.min(rank(profile.maxVersion), Math.max(...suites.map((s) => rank(s.version))));
  if (!suites.some((s) => rank(s.version) >= lo && rank(s.version) <= hi)) {
    throw new OptionError(
      `--cipher: none of the ciphersuites given can be negotiated with the selected profile ` +
        `(${versionText(profile)})`,
    );
  }
  return { ciphers: suites.map((s) => s.iana), minVersion: order[lo], maxVersion: order[hi] };
}

/**
 * +vc / +rc: the verdict on stdout in DCMTK's words (with the reason);
 * exit 0, or 22 when the certificate fails. The checking code is loaded
 * only when asked for.
 */
async function offlineCheck(
  options: ParsedOptions,
  settings: TlsSettings,
): Promise<number | undefined> {
  const given = (long: string) => options.defines(long) && options.has(long);
  if (!given("--verify-cert") && !given("--is-root-cert")) return undefined;
  const { checkRootCertificate, verifyCertificateFile } = await import(
    "../../transport/tls_verify.ts"
  );
  const verify = given("--verify-cert");
  const path = options.value(verify ? "--verify-cert" : "--is-root-cert")!;
  const r = verify
    ? await verifyCertificateFile(path, settings)
    : checkRootCertificate(path, settings.fileFormat ?? "pem");
  stdout.writeAll(`${(verify ? verifyVerdictLine : rootVerdictLine)(path, r)}\n`);
  return r.ok ? 0 : EXIT_INVALID_CERTIFICATE;
}

/**
 * +rs / +ws / +wf. The stack draws from the OS generator and takes no
 * seed, so +rs only proves the file is readable; +ws/+wf write a fresh
 * 1024-byte seed, as DCMTK writes its generator's state back, so scripts
 * that rotate seed files keep working. A failed write is logged and
 * ignored, as DCMTK does.
 */
function seedFiles(options: ParsedOptions, logger: Logger): void {
  const seed = options.value("--seed");
  if (seed === undefined) return;
  try {
    Deno.readFileSync(seed);
  } catch (err) {
    const denied = missingPermission(err);
    if (denied) throw new PermissionError(denied, `cannot read random seed file '${seed}'`);
    throw new OptionError(`cannot read random seed file '${seed}': ${(err as Error).message}`);
  }
  logger.debug(`random seed file '${seed}' read; not needed: the TLS stack seeds from the OS`);
  const write = options.winner("tls-seed");
  if (!write) return;
  const target = write === "--write-seed" ? seed : options.value("--write-seed-file")!;
  try {
    Deno.writeFileSync(target, crypto.getRandomValues(new Uint8Array(1024)));
  } catch (err) {
    const denied = missingPermission(err);
    logger.error(
      `Error while writing random seed file '${target}', ignoring.` +
        (denied ? ` (${describePermission(denied)})` : ""),
    );
  }
}

/**
 * Loads the credentials; with +ps (the default) an encrypted key's
 * password is asked for when, and only when, the key turns out to need
 * one, as OpenSSL's password callback does.
 */
async function loadCredentials(
  options: ParsedOptions,
  settings: TlsSettings,
): Promise<TlsCredentials> {
  const { loadTlsCredentials } = await import("../../transport/tls.ts");
  try {
    return loadTlsCredentials(settings);
  } catch (err) {
    const prompt = (options.winner("tls-passwd") ?? "--std-passwd") === "--std-passwd";
    if (!(err instanceof TlsError) || err.kind !== "key-password" || !prompt) throw err;
    if (settings.keyPassword !== undefined) throw err;
    settings.keyPassword = await readPassword("Enter PEM pass phrase:");
    return loadTlsCredentials(settings);
  }
}

/**
 * One password from stdin: on a terminal after a prompt, echo off (raw
 * mode); otherwise the first line of what is piped in.
 */
export async function readPassword(prompt: string): Promise<string> {
  const stdin = Deno.stdin;
  const terminal = stdin.isTerminal();
  if (terminal) {
    stderr.writeAll(prompt);
    stdin.setRaw(true);
  }
  const bytes: number[] = [];
  const buf = new Uint8Array(256);
  try {
    read: for (;;) {
      const n = await stdin.read(buf);
      if (n === null) break;
      for (const b of buf.subarray(0, n)) {
        if (b === 0x0a || b === 0x0d) break read;
        // Ctrl-C and Ctrl-D end the prompt in raw mode, where no signal is raised.
        if (terminal && (b === 0x03 || b === 0x04)) break read;
        if (terminal && (b === 0x7f || b === 0x08)) bytes.pop();
        else bytes.push(b);
      }
    }
  } finally {
    if (terminal) {
      stdin.setRaw(false);
      stderr.writeAll("\n");
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/**
 * DCMTK's "TLS CONNECTION DETAILS" block at debug level, and one line at
 * info level (-v) naming protocol, suite and the peer's certificate.
 */
export function logTlsEstablished(log: Logger, info: TlsInfo, peer: string): void {
  const who = info.peerSubject
    ? `${info.peerSubject}${info.peerVerified ? ", verified" : ", not verified"}`
    : "no certificate";
  log.info(`TLS connection established with ${peer}: ${info.protocol}, ${info.cipher} (${who})`);
  if (!log.isEnabled("debug")) return;
  const lines = [
    "================== BEGIN TLS CONNECTION DETAILS =================",
    "Transport connection: TLS over TCP/IP",
    `  Protocol    : ${info.protocol}`,
    `  Ciphersuite : ${info.cipher}`,
  ];
  if (info.peerSubject) {
    lines.push(
      "Peer X.509v3 Certificate",
      `  Subject     : ${info.peerSubject}`,
      `  Issued by   : ${info.peerIssuer ?? ""}`,
      `  Verified    : ${info.peerVerified ? "yes" : "no"}`,
    );
  } else {
    lines.push("Peer X.509v3 Certificate: none");
  }
  lines.push("=================== END TLS CONNECTION DETAILS ==================");
  log.debug(lines.join("\n"));
}

/** The SCU's connect step over TLS (ScuOptions.connect), with the setup's credentials. */
export function tlsConnect(tls: TlsSetup): (o: ScuOptions) => Promise<Transport> {
  return async (o) => {
    const { connectTls } = await import("../../transport/tls.ts");
    const t = await connectTls(o.host, o.port, tls.settings, {
      timeoutMs: o.connectTimeoutMs,
      family: o.family,
      credentials: tls.credentials,
    });
    logTlsEstablished(o.logger, t.tls, `${o.host}:${o.port}`);
    return t;
  };
}

/**
 * A server's TLS listener (the server's `listen`): each handshake that
 * fails is logged as one error line with its named cause and reported as a
 * "connection-error" event, and the server keeps serving (a connection
 * opened and closed without a byte, a health check, only at debug level);
 * each that succeeds is logged and reported as "tls-established". Every
 * connection is admitted by the server's gate before its handshake, which
 * must end within `handshakeTimeoutMs`.
 */
export function tlsListen(
  tls: TlsSetup,
  logger: Logger,
  onEvent: ((e: ServerEvent) => void) | undefined,
  handshakeTimeoutMs: number,
): (hostname: string, port: number, gate: ConnectionGate) => Promise<TransportListener> {
  return async (hostname, port, gate) => {
    const { listenTls } = await import("../../transport/tls.ts");
    const inner = await listenTls(hostname, port, tls.settings, {
      credentials: tls.credentials,
      gate,
      handshakeTimeoutMs,
      onHandshakeError: (err, from, received) => {
        const peer = `${from.host}:${from.port}`;
        if (received === 0 && err.kind === "closed-during-handshake") {
          logger.debug(`Connection from ${peer} closed without a TLS handshake`);
          return;
        }
        const reason = tlsMessage(err);
        logger.error(`TLS connection from ${peer} refused: ${reason}`);
        if (err.detail) logger.debug(`${peer}: ${err.detail}`);
        onEvent?.({ event: "connection-error", peer, reason, tlsFailure: err.kind });
      },
    });
    return {
      local: inner.local,
      close: () => inner.close(),
      async accept() {
        const t = await inner.accept();
        const info = (t as { tls?: TlsInfo } | null)?.tls;
        if (t && info) {
          const peer = `${t.remote.host}:${t.remote.port}`;
          logTlsEstablished(logger, info, peer);
          onEvent?.({ event: "tls-established", peer, tls: tlsJson(info) });
        }
        return t;
      },
    };
  };
}
