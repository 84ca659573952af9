/**
 * DICOM TLS (PS3.15 Annex B, Secure Transport Connection Profiles; BCP 195)
 * behind the one {@link Transport} interface, so nothing above the
 * transport knows whether it runs over TCP or TLS.
 *
 * Both sides use `node:tls`, not `Deno.connectTls` / `Deno.listenTls`:
 * measured on Deno 2.9.5, `Deno.listenTls` has no way to request or verify
 * client certificates (PS3.15 B.1 expects both peers to authenticate), and
 * `Deno.connectTls` adds `caCerts` to the public roots, so it cannot trust
 * only the CA the user named (+cf), and refuses certificates without a
 * subjectAltName, which DICOM devices still carry. Deno's node:tls runs on
 * rustls: it honours minimum and maximum protocol versions but neither
 * cipher lists nor key passwords during the handshake, and reports every
 * chain problem as UNABLE_TO_VERIFY_LEAF_SIGNATURE. This module therefore
 * - decrypts and checks the private key itself (node:crypto) before use,
 *   so a wrong password is named as such and not a handshake failure;
 * - verifies the peer after the handshake itself, before any DICOM byte is
 *   read or written (the socket is not read until then), so each failure
 *   gets its own cause (tls_errors.ts);
 * - checks the negotiated cipher suite against a +cs list after the
 *   handshake, and ends the connection if it is not allowed, rather than
 *   silently ignore the list.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { missingPermission, PermissionError } from "../util/permission.ts";
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import * as tls from "node:tls";
import { chainProblem, pathToAnchor } from "./cert_chain.ts";
import {
  crlBlocks,
  type CrlCheck,
  parseCrls,
  type RevocationList,
  revocationProblem,
} from "./crl.ts";
import { ConnectError, type IpFamily } from "./tcp.ts";
import { classifyTlsError, type TlsError, tlsFailure, type TlsSide } from "./tls_errors.ts";
import {
  OFFERED_SUITES,
  profileVersions,
  type TlsProfile,
  type TlsVersion,
  type VersionRange,
} from "./tls_profiles.ts";
import type {
  ConnectionGate,
  ConnectionPlace,
  Endpoint,
  Transport,
  TransportListener,
} from "./transport.ts";

export type { CrlCheck, RevocationList } from "./crl.ts";
export {
  profileVersions,
  type TlsProfile,
  type TlsVersion,
  type VersionRange,
} from "./tls_profiles.ts";
export {
  classifyTlsError,
  looksLikeTlsClientHello,
  TlsError,
  tlsFailure,
  type TlsFailureKind,
} from "./tls_errors.ts";

/**
 * How the peer's certificate is treated (DCMTK -rc / -vc / -ic).
 * - "require": the peer must present a certificate chaining to our trust list;
 * - "verify-if-present": no certificate is fine, a bad one is not (server side);
 * - "ignore": whatever the peer presents is accepted unverified.
 */
export type PeerVerification = "require" | "verify-if-present" | "ignore";

/** The TLS option group of DCMTK's echoscu/storescu/storescp, as data. */
export interface TlsSettings {
  /** Our private key file (+tls key cert); absent with `cert` = no certificate (+tla). */
  keyFile?: string;
  /** Our certificate file (+tls key cert); may hold the chain after the leaf (PEM). */
  certFile?: string;
  /** Encoding of key, certificate and trusted certificate files (-pem / -der); default "pem". */
  fileFormat?: "pem" | "der";
  /** Password of an encrypted private key (+pw; "" = -pw). */
  keyPassword?: string;
  /** Trusted certificate files (+cf); a PEM file may hold several. */
  trustedFiles?: string[];
  /** Directories whose certificate files are all trusted (+cd). */
  trustedDirs?: string[];
  /**
   * Certificate revocation list files (+crl), PEM or DER; a PEM file may
   * hold several. Implies `crlCheck: "leaf"` unless that says "chain".
   */
  crlFiles?: string[];
  /**
   * Which of the peer's certificates must have a current CRL from its CA
   * that does not list it: "leaf" (+crv) or every one up to the trust
   * anchor (+cra). A certificate whose CA has no CRL loaded fails.
   */
  crlCheck?: CrlCheck;
  /** Peer certificate policy (-rc default, -vc, -ic). */
  verifyPeer?: PeerVerification;
  /** Security profile; default "bcp195-nd" (TLS 1.2 or newer only, RFC 8996). */
  profile?: TlsProfile;
  /** Overrides the profile's lowest protocol version. */
  minVersion?: TlsVersion;
  /** Overrides the profile's highest protocol version. */
  maxVersion?: TlsVersion;
  /**
   * Allowed cipher suites (+cs), IANA names (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
   * or OpenSSL names (ECDHE-RSA-AES128-GCM-SHA256). Enforced after the
   * handshake: the stack ignores cipher lists, so a suite outside the list
   * ends the connection with "cipher-not-allowed".
   */
  ciphers?: string[];
  /**
   * Client side: the SNI name to send (--request-sni). Undefined = the host
   * name connected to (none for an IP address); false = no SNI (--no-sni).
   */
  serverName?: string | false;
  /**
   * Client side: check that the server's certificate names the host (the SNI
   * name if given); default true. Only applies when the peer is verified.
   */
  verifyHostname?: boolean;
}

/** What the handshake settled, for logs and --json. */
export interface TlsInfo {
  /** Negotiated protocol version, e.g. "TLSv1.3". */
  protocol: string;
  /** Negotiated cipher suite as the stack names it, e.g. "TLS_AES_256_GCM_SHA384". */
  cipher: string;
  /** The peer certificate's subject ("CN=localhost"), absent when it sent none. */
  peerSubject?: string;
  /** The peer certificate's issuer, absent when it sent none. */
  peerIssuer?: string;
  /** Whether the peer's certificate was verified against our trust list. */
  peerVerified: boolean;
}

/** Key, certificate and trust list, loaded and checked once per settings. */
export interface TlsCredentials {
  /** Our private key, PEM (decrypted in memory), when we have a certificate. */
  key?: string;
  /** Our certificate (and chain), PEM. */
  cert?: string;
  /** Trusted certificates, PEM, one per entry. */
  ca: string[];
  /** Parsed trusted certificates, for naming chain failures. */
  trusted: X509Certificate[];
  /**
   * The CRLs (+crl), present when revocation is checked. A promise, as the
   * parser is imported on demand: connectTls and listenTls await it before
   * they connect or bind, so a file that holds no CRL fails them up front.
   */
  crls?: Promise<RevocationList[]>;
}

/** A read Deno refused for want of --allow-read is that, not a bad file. */
function notPermitted(err: unknown, context: string): void {
  const denied = missingPermission(err);
  if (denied) throw new PermissionError(denied, context);
}

function readFile(path: string, what: string): Uint8Array {
  try {
    return Deno.readFileSync(path);
  } catch (err) {
    notPermitted(err, `cannot read ${what} ${path}`);
    const why = err instanceof Error ? err.message : String(err);
    throw tlsFailure("bad-credentials", "client", `: ${what} ${path}: ${why}`);
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates in a file: every PEM block, or the file as one DER certificate. */
export function certificatesIn(bytes: Uint8Array, format: "pem" | "der"): X509Certificate[] {
  const text = new TextDecoder().decode(bytes);
  const blocks = text.match(PEM_CERT);
  // A DER file is read as DER whatever -pem/-der says, and a PEM one as PEM:
  // the content decides, as only one reading can succeed.
  if (blocks) return blocks.map((b) => new X509Certificate(b));
  if (format === "der" || bytes[0] === 0x30) return [new X509Certificate(Buffer.from(bytes))];
  return [];
}

function loadKey(bytes: Uint8Array, path: string, password: string | undefined): KeyObject {
  const text = new TextDecoder().decode(bytes);
  if (text.includes("-----BEGIN")) {
    if (/ENCRYPTED/.test(text) && password === undefined) {
      throw tlsFailure("key-password", "client", `: ${path} is encrypted and no password given`);
    }
    try {
      return createPrivateKey({ key: text, format: "pem", passphrase: password });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (/ENCRYPTED/.test(text)) {
        throw tlsFailure("key-password", "client", `: wrong password for ${path}`, msg);
      }
      throw tlsFailure("bad-credentials", "client", `: ${path} is not a private key`, msg);
    }
  }
  // DER: PKCS#8 (openssl pkey), PKCS#1 (openssl rsa), SEC1 (openssl ec).
  for (const type of ["pkcs8", "pkcs1", "sec1"] as const) {
    try {
      return createPrivateKey({
        key: Buffer.from(bytes),
        format: "der",
        type,
        passphrase: password,
      });
    } catch {
      // Try the next encoding.
    }
  }
  throw tlsFailure("bad-credentials", "client", `: ${path} is not a private key (DER)`);
}

/**
 * Reads and checks key, certificate and trust list: files exist and parse,
 * an encrypted key opens with the password, the key matches the
 * certificate. Every problem is a {@link TlsError} naming the file.
 */
export function loadTlsCredentials(s: TlsSettings): TlsCredentials {
  const format = s.fileFormat ?? "pem";
  const out: TlsCredentials = { ca: [], trusted: [] };
  if ((s.keyFile === undefined) !== (s.certFile === undefined)) {
    throw tlsFailure("bad-credentials", "client", ": a key needs its certificate and vice versa");
  }
  if (s.keyFile !== undefined && s.certFile !== undefined) {
    const key = loadKey(readFile(s.keyFile, "key"), s.keyFile, s.keyPassword);
    let certs: X509Certificate[];
    try {
      certs = certificatesIn(readFile(s.certFile, "certificate"), format);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw tlsFailure("bad-credentials", "client", `: ${s.certFile} is not a certificate`, msg);
    }
    if (!certs.length) {
      throw tlsFailure("bad-credentials", "client", `: no certificate in ${s.certFile}`);
    }
    if (!certs[0].checkPrivateKey(key)) {
      throw tlsFailure("key-mismatch", "client", `: ${s.keyFile} and ${s.certFile}`);
    }
    out.key = key.export({ format: "pem", type: "pkcs8" }) as string;
    out.cert = certs.map((c) => c.toString()).join("\n");
  }
  const add = (bytes: Uint8Array, path: string, strict: boolean) => {
    let certs: X509Certificate[] = [];
    try {
      certs = certificatesIn(bytes, format);
    } catch (err) {
      if (strict) {
        const msg = err instanceof Error ? err.message : String(err);
        throw tlsFailure("bad-credentials", "client", `: ${path} is not a certificate`, msg);
      }
    }
    if (strict && !certs.length) {
      throw tlsFailure("bad-credentials", "client", `: no certificate in ${path}`);
    }
    for (const c of certs) {
      out.trusted.push(c);
      out.ca.push(c.toString());
    }
  };
  for (const f of s.trustedFiles ?? []) add(readFile(f, "trusted certificate"), f, true);
  // +cd: DCMTK hands the directory to OpenSSL, which looks certificates up by
  // subject hash (c_rehash names). Here every file that parses as a
  // certificate is trusted, whatever its name; other files are skipped.
  for (const d of s.trustedDirs ?? []) {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(d)];
    } catch (err) {
      notPermitted(err, `cannot read certificate directory ${d}`);
      const why = err instanceof Error ? err.message : String(err);
      throw tlsFailure("bad-credentials", "client", `: certificate directory ${d}: ${why}`);
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isFile || e.isSymlink) add(readFile(`${d}/${e.name}`, "certificate"), e.name, false);
    }
  }
  if (crlCheckOf(s)) {
    const blocks = (s.crlFiles ?? []).map((f) => crlBlocks(readFile(f, "CRL"), f));
    out.crls = parseCrls(blocks);
    // Awaited by whoever connects or listens; unobserved until then.
    out.crls.catch(() => {});
  }
  return out;
}

/** The revocation check the settings ask for: +crl alone implies +crv (DCMTK). */
export function crlCheckOf(s: TlsSettings): CrlCheck | undefined {
  return s.crlCheck ?? (s.crlFiles?.length ? "leaf" : undefined);
}

/** The version range the settings ask for (profile, then overrides). */
function versionsOf(s: TlsSettings): VersionRange {
  const r = profileVersions(s.profile ?? "bcp195-nd");
  return { minVersion: s.minVersion ?? r.minVersion, maxVersion: s.maxVersion ?? r.maxVersion };
}

/** Whether the negotiated suite is on a +cs list (IANA or OpenSSL names). */
function cipherAllowed(negotiated: { name?: string; standardName?: string }, list: string[]) {
  const names = new Set(list.flatMap((c) => {
    const s = OFFERED_SUITES.find((x) => x.iana === c || x.openssl === c);
    return s ? [s.iana, s.openssl] : [c];
  }));
  return names.has(negotiated.name ?? "") || names.has(negotiated.standardName ?? "");
}

/** The peer certificate node:tls reports, or undefined when the peer sent none. */
function peerCertOf(sock: tls.TLSSocket): tls.DetailedPeerCertificate | undefined {
  const c = sock.getPeerCertificate(true) as tls.DetailedPeerCertificate | undefined;
  if (!c || Object.keys(c).length === 0 || !c.subject) return undefined;
  return c;
}

function dn(name: Record<string, unknown> | undefined): string | undefined {
  if (!name) return undefined;
  return Object.entries(name).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : v}`)
    .join(", ");
}

/** The presented chain as X509Certificates, leaf first, as far as the stack reports it. */
function chainOf(cert: tls.DetailedPeerCertificate): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  for (let c: tls.DetailedPeerCertificate | undefined = cert; c?.raw; c = c.issuerCertificate) {
    if (seen.has(c.fingerprint256)) break;
    seen.add(c.fingerprint256);
    try {
      out.push(new X509Certificate(c.raw));
    } catch {
      break;
    }
  }
  return out;
}

/**
 * Names why a chain the stack refused fails: not anchored in the trust list
 * (self-signed or unknown CA) first, as OpenSSL does, then validity dates.
 */
function chainFailure(
  cert: tls.DetailedPeerCertificate,
  creds: TlsCredentials,
  side: TlsSide,
  stackSaid: string,
): TlsError {
  const problem = chainProblem(chainOf(cert), creds.trusted);
  const subject = ` (${dn(cert.subject as unknown as Record<string, unknown>) ?? "?"})`;
  return tlsFailure(problem?.kind ?? "unknown-ca", side, problem?.extra ?? subject, stackSaid);
}

/**
 * Decides, right after the handshake and before any application byte,
 * whether the peer is acceptable under the settings; returns what the
 * handshake settled, or throws the named failure. Synchronous, so a
 * refusal ends the socket within the handshake event; the CRL check, which
 * cannot be (WebCrypto), follows in {@link vetRevocation}.
 */
function vetPeer(
  sock: tls.TLSSocket,
  s: TlsSettings,
  creds: TlsCredentials,
  side: TlsSide,
  hostForCheck: string | undefined,
): TlsInfo {
  const mode = s.verifyPeer ?? "require";
  const cert = peerCertOf(sock);
  const cipher = sock.getCipher() as { name?: string; standardName?: string } | undefined;
  const info: TlsInfo = {
    protocol: sock.getProtocol() ?? "unknown",
    cipher: cipher?.name ?? "unknown",
    peerSubject: dn(cert?.subject as unknown as Record<string, unknown>),
    peerIssuer: dn(cert?.issuer as unknown as Record<string, unknown>),
    peerVerified: false,
  };
  if (s.ciphers?.length && !cipherAllowed(cipher ?? {}, s.ciphers)) {
    throw tlsFailure("cipher-not-allowed", side, `: ${info.cipher} (${info.protocol})`);
  }
  if (mode === "ignore") return info;
  if (!cert) {
    if (mode === "require") throw tlsFailure("no-peer-certificate", side);
    return info;
  }
  const err = sock.authorizationError as unknown as string | Error | null;
  const errCode = typeof err === "string" ? err : (err as { code?: string } | null)?.code ?? "";
  // The stack's verdict covers the chain; a host name complaint alone (its
  // own check against the SNI name) is redone below against our rules.
  const chainOk = creds.trusted.length > 0 &&
    (sock.authorized || errCode === "ERR_TLS_CERT_ALTNAME_INVALID");
  if (!chainOk) throw chainFailure(cert, creds, side, String(errCode || err));
  if (side === "client" && hostForCheck && (s.verifyHostname ?? true)) {
    const e = tls.checkServerIdentity(hostForCheck, cert);
    if (e) throw classifyTlsError(e, side, true);
  }
  info.peerVerified = true;
  return info;
}

/**
 * The CRL check (+crl/+crv/+cra) of a peer {@link vetPeer} accepted:
 * undefined when the settings ask for none, else a promise that rejects
 * with the named failure. Callers read nothing from the socket before it
 * settles.
 */
function vetRevocation(
  sock: tls.TLSSocket,
  info: TlsInfo,
  s: TlsSettings,
  creds: TlsCredentials,
  side: TlsSide,
): Promise<void> | undefined {
  const check = crlCheckOf(s);
  const cert = peerCertOf(sock);
  // Only a verified certificate is checked: -ic, or -vc without one, skip it.
  if (!check || !info.peerVerified || !cert) return undefined;
  return (async () => {
    const path = pathToAnchor(chainOf(cert), creds.trusted);
    if (!path) throw chainFailure(cert, creds, side, "no certification path for the CRL check");
    const problem = await revocationProblem(path, await creds.crls!, check);
    if (problem) throw tlsFailure(problem.kind, side, problem.extra);
  })();
}

/**
 * Bytes queued unread before the socket is paused (read-side backpressure):
 * what one connection may hold here, whatever its peer sends. Measured on
 * Deno 2.9.5: the pause stops node's stream and this queue, but the native
 * TLS layer under it goes on reading the TCP socket and keeps the decrypted
 * bytes until the socket is read again (a peer that sends 512 MiB to a
 * socket paused from its first 256 KiB grew the process to about 780 MB);
 * nothing here can bound that without stopping a fast legitimate sender.
 */
const READ_HIGH_WATER = 256 * 1024;

/** What deferReadStop needs of node's handle under a TLSSocket. */
interface ReadHandle {
  reading?: boolean;
  readStop(): number;
}

/**
 * Makes node's own stop of the socket's reads (when its buffer is full,
 * after pause()) take effect once the current read event is over, not
 * inside it. Measured on Deno 2.9.5: when that stop comes from within the
 * native TLS layer's delivery of decrypted bytes, an end of stream (a
 * close_notify, a FIN or a reset) that the same delivery carries is lost,
 * and the socket never ends: a read pending on it waits forever. A stop
 * made a moment later loses nothing. If the socket is read again before
 * then, the stop is dropped.
 */
function deferReadStop(sock: tls.TLSSocket): void {
  const handle = (sock as unknown as { _handle?: ReadHandle })._handle;
  if (!handle) return;
  const stop = handle.readStop;
  handle.readStop = function (this: ReadHandle): number {
    queueMicrotask(() => {
      if (!this.reading && !sock.destroyed) stop.call(this);
    });
    return 0;
  };
}

/** A Transport over a connected, vetted node TLSSocket. */
export class TlsTransport implements Transport {
  readonly #sock: tls.TLSSocket;
  readonly #side: TlsSide;
  #queue: Uint8Array[] = [];
  /** Bytes of the first chunk of #queue already taken by readInto. */
  #taken = 0;
  #queued = 0;
  #ended = false;
  #error: TlsError | undefined;
  #closed = false;
  #waiter: (() => void) | undefined;
  /** The peer's end. */
  readonly remote: Endpoint;
  /** Our end. */
  readonly local: Endpoint;
  /** What the handshake settled (protocol, cipher, peer subject). */
  readonly tls: TlsInfo;
  /** The place a gated listener reserved (released by the listener when the socket closes). */
  readonly place?: ConnectionPlace;

  /**
   * Wraps a socket whose handshake is complete and whose peer was vetted.
   *
   * @param sock the socket (paused, nothing read yet)
   * @param info what the handshake settled
   * @param side which end we are, for naming later failures
   * @param place the connection's place in a listener's gate
   */
  constructor(sock: tls.TLSSocket, info: TlsInfo, side: TlsSide, place?: ConnectionPlace) {
    this.#sock = sock;
    this.#side = side;
    this.tls = info;
    this.place = place;
    this.remote = { host: sock.remoteAddress ?? "", port: sock.remotePort ?? 0 };
    this.local = { host: sock.localAddress ?? "", port: sock.localPort ?? 0 };
    sock.setNoDelay(true);
    deferReadStop(sock);
    sock.on("data", (b: Uint8Array) => {
      // A plain view of node's Buffer: Buffer.slice would not copy where
      // Uint8Array.slice does, and upper layers expect the latter.
      this.#queue.push(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
      this.#queued += b.byteLength;
      if (this.#queued >= READ_HIGH_WATER) sock.pause();
      this.#wake();
    });
    sock.on("end", () => {
      this.#ended = true;
      this.#wake();
    });
    sock.on("error", (err: unknown) => {
      // A reset ends the stream like an orderly close; a TLS alert (the
      // server refusing our certificate after a TLS 1.3 handshake) is named.
      const code = (err as { code?: string }).code ?? "";
      if (!/^(ECONNRESET|EPIPE|ERR_STREAM_DESTROYED)$/.test(code)) {
        this.#error = classifyTlsError(err, this.#side, true);
      }
      this.#ended = true;
      this.#wake();
    });
    sock.on("close", () => {
      this.#ended = true;
      this.#wake();
    });
  }

  /** The TLS failure that ended the connection, if one did (an alert from the peer). */
  get failure(): TlsError | undefined {
    return this.#error;
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  /**
   * Copies queued bytes into `into` (node has decrypted them into memory of
   * its own already); resolves with how many, null at the end; rejects with a
   * TlsError on a TLS alert.
   */
  async readInto(into: Uint8Array): Promise<number | null> {
    for (;;) {
      let n = 0;
      while (n < into.length && this.#queue.length > 0) {
        const chunk = this.#queue[0];
        const take = Math.min(into.length - n, chunk.byteLength - this.#taken);
        into.set(chunk.subarray(this.#taken, this.#taken + take), n);
        n += take;
        this.#taken += take;
        if (this.#taken === chunk.byteLength) {
          this.#queue.shift();
          this.#taken = 0;
        }
      }
      if (n > 0) {
        this.#queued -= n;
        if (this.#queued < READ_HIGH_WATER / 2 && this.#sock.isPaused()) this.#sock.resume();
        return n;
      }
      if (!await this.#await()) return null;
    }
  }

  /** Waits for data; false at the end (throws the TLS failure that ended it, if any). */
  async #await(): Promise<boolean> {
    if (this.#closed) return false;
    if (this.#ended) {
      if (this.#error) throw this.#error;
      return false;
    }
    if (this.#sock.isPaused()) this.#sock.resume();
    await new Promise<void>((r) => this.#waiter = r);
    return true;
  }

  /**
   * Writes all of `data`, resolving once node has handed it to the socket:
   * awaiting each write keeps at most one caller's buffer queued in node,
   * which is the backpressure (node's own 'drain' logic sits behind it).
   */
  write(data: Uint8Array): Promise<void> {
    if (this.#closed || this.#sock.destroyed) {
      return Promise.reject(new ConnectError("the TLS connection is closed", "other"));
    }
    // Deno 2.9.5's node:tls does not complete an empty write (no callback, or EPERM).
    if (data.byteLength === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onClose = () => reject(new ConnectError("the TLS connection closed", "other"));
      this.#sock.once("close", onClose);
      this.#sock.write(data, (err?: Error | null) => {
        this.#sock.off("close", onClose);
        if (err) reject(classifyTlsError(err, this.#side, true));
        else resolve();
      });
    });
  }

  /** Sends close_notify and closes; safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.end();
    // A peer that never answers close_notify must not keep the socket open.
    const t = setTimeout(() => this.#sock.destroy(), 2000);
    this.#sock.once("close", () => clearTimeout(t));
    this.#wake();
  }
}

/** Options of {@link connectTls} beyond the TLS settings. */
export interface TlsConnectOptions {
  /** Connection timeout covering TCP connect and handshake (-to); 0/undefined = none. */
  timeoutMs?: number;
  /** Address family for resolving `host` (-i4 / -i6 / -i0); default auto. */
  family?: IpFamily;
  /** Credentials already loaded (to read the files once for many connections). */
  credentials?: TlsCredentials;
}

/**
 * Connects to `host:port` and completes the TLS handshake as a client
 * (PS3.15 B.1: the association starts only once TLS is up). TCP failures
 * are ConnectErrors as for plain TCP; TLS failures are {@link TlsError}s
 * (a ConnectError subclass) with the cause named.
 */
export async function connectTls(
  host: string,
  port: number,
  settings: TlsSettings,
  opts: TlsConnectOptions = {},
): Promise<TlsTransport> {
  const creds = opts.credentials ?? loadTlsCredentials(settings);
  await creds.crls;
  const address = await resolveHost(host, opts.family ?? "auto");
  const versions = versionsOf(settings);
  const sni = settings.serverName === false
    ? undefined
    : settings.serverName ?? (isIP(host) ? undefined : host);
  const where = `${host}:${port}`;
  return await new Promise((resolve, reject) => {
    let settled = false;
    let connected = false;
    const sock = tls.connect({
      host: address,
      port,
      servername: sni,
      key: creds.key,
      cert: creds.cert,
      // Only the user's trust list (+cf/+cd), never the public roots: an
      // empty list is passed as a certificate-less decision made in vetPeer.
      ca: creds.ca.length ? creds.ca : undefined,
      // The verdict is ours (vetPeer), so each failure gets its own name;
      // the socket is not read before it, so nothing passes unverified.
      rejectUnauthorized: false,
      minVersion: versions.minVersion,
      maxVersion: versions.maxVersion,
    });
    sock.on("connect", () => connected = true);
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    };
    const timer = opts.timeoutMs
      ? setTimeout(
        () =>
          fail(
            new ConnectError(
              connected
                ? `TLS handshake with ${where} timed out after ${opts.timeoutMs! / 1000} s`
                : `connection to ${where} timed out after ${opts.timeoutMs! / 1000} s`,
              "timeout",
            ),
          ),
        opts.timeoutMs,
      )
      : undefined;
    sock.once("error", (err: unknown) => {
      if (!connected) return fail(tcpError(err, host, where));
      fail(classifyTlsError(err, "client", false));
    });
    sock.once("secureConnect", () => {
      if (settled) return;
      const accept = (info: TlsInfo) => {
        if (settled) return;
        // The server may have closed while the CRL check ran.
        if (sock.destroyed) return fail(tlsFailure("closed-during-handshake", "client"));
        settled = true;
        clearTimeout(timer);
        sock.removeAllListeners("error");
        resolve(new TlsTransport(sock, info, "client"));
      };
      try {
        const info = vetPeer(sock, settings, creds, "client", sni ?? host);
        const revocation = vetRevocation(sock, info, settings, creds, "client");
        if (revocation) revocation.then(() => accept(info), fail);
        else accept(info);
      } catch (err) {
        fail(err as Error);
      }
    });
  });
}

/** Resolves with getaddrinfo (as tcp.ts does), so -i4/-i6 apply; IP literals pass through. */
async function resolveHost(host: string, family: IpFamily): Promise<string> {
  if (isIP(host)) return host;
  const fam = family === "ipv4" ? 4 : family === "ipv6" ? 6 : 0;
  try {
    return (await lookup(host, { family: fam })).address;
  } catch {
    const which = family === "auto" ? "" : ` as ${family === "ipv4" ? "IPv4" : "IPv6"}`;
    throw new ConnectError(`cannot resolve host name '${host}'${which}`, "lookup");
  }
}

/** A TCP-level failure of the connect step, worded as tcp.ts words them. */
function tcpError(err: unknown, host: string, where: string): ConnectError {
  const code = (err as { code?: string }).code ?? "";
  const msg = err instanceof Error ? err.message : String(err);
  if (code === "ECONNREFUSED") return new ConnectError(`connection to ${where} refused`, "refused");
  if (code === "ETIMEDOUT") return new ConnectError(`connection to ${where} timed out`, "timeout");
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return new ConnectError(`cannot resolve host name '${host}'`, "lookup");
  }
  if (/UNREACH/.test(code)) {
    return new ConnectError(`cannot connect to ${where}: ${msg}`, "unreachable");
  }
  // The TCP connection was made but TLS broke before node says "connect"
  // (it can, on a fast local peer): let the TLS classifier name it.
  if (/ERR_SSL|ERR_TLS|ECONNRESET|wrong version/i.test(`${code} ${msg}`)) {
    return classifyTlsError(err, "client", false);
  }
  return new ConnectError(`cannot connect to ${where}: ${msg}`, "other");
}

/** Options of {@link listenTls} beyond the TLS settings. */
export interface TlsListenOptions {
  /**
   * Called for each connection that failed the handshake or the peer check,
   * with the named cause (for the server's "connection-error" event) and the
   * bytes it had sent (0: opened and closed, a health check); such
   * connections are closed and never returned by accept().
   */
  onHandshakeError?: (err: TlsError, peer: Endpoint, received: number) => void;
  /**
   * Time a connection has from its TCP accept to a vetted TLS connection
   * (handshake and peer checks); then it is closed. Default 30 s.
   */
  handshakeTimeoutMs?: number;
  /**
   * Asked for each TCP connection before its handshake starts: a refused
   * one is closed at once (and not reported); an admitted one's place is
   * released when its socket closes, and travels with its transport.
   */
  gate?: ConnectionGate;
  /** Credentials already loaded. */
  credentials?: TlsCredentials;
}

/**
 * Listens on `hostname:port` (0 = ephemeral) for TLS connections as a
 * server; requires a key and certificate. Client certificates are
 * requested unless verifyPeer is "ignore", and with "require" a client
 * without one is refused (PS3.15 B.1: both ends authenticate). Resolves
 * once bound, as node binds asynchronously: a server hands the resolved
 * listener to DicomServer via `listen: () => listener`.
 */
export async function listenTls(
  hostname: string,
  port: number,
  settings: TlsSettings,
  opts: TlsListenOptions = {},
): Promise<TransportListener> {
  const creds = opts.credentials ?? loadTlsCredentials(settings);
  if (!creds.key || !creds.cert) {
    throw tlsFailure("bad-credentials", "server", ": a TLS server needs a key and certificate");
  }
  await creds.crls;
  const versions = versionsOf(settings);
  const mode = settings.verifyPeer ?? "require";
  const ready: TlsTransport[] = [];
  let waiter: (() => void) | undefined;
  let closed = false;
  const wake = () => {
    const w = waiter;
    waiter = undefined;
    w?.();
  };
  type Peer = { remoteAddress?: string; remotePort?: number; bytesRead?: number };
  type Raw = Peer & { destroy(): void; once(ev: "close", f: () => void): void };
  /** What the listener knows of a TCP connection. */
  interface Pending {
    place?: ConnectionPlace;
    timer?: ReturnType<typeof setTimeout>;
    /** Handed over, refused or reported already: nothing more to say about it. */
    done: boolean;
  }
  // Kept by socket, not removed on close: node may report a failed handshake after the
  // socket's close event (measured on Deno 2.9.5).
  const state = new WeakMap<object, Pending>();
  /** TCP connections open and not handed over: closed with the listener. */
  const live = new Set<Raw>();
  const timeoutMs = opts.handshakeTimeoutMs ?? 30_000;
  // Measured on Deno 2.9.5: a socket whose handshake failed (tlsClientError)
  // no longer reports its address; the TCP socket under it (_parent) does.
  const rawOf = (sock: object) => (sock as { _parent?: Raw })._parent ?? sock as Raw;
  /** The connection is handed over or reported: its deadline ends; undefined if it was already. */
  const settle = (raw: Raw): Pending | undefined => {
    const p = state.get(raw);
    if (!p || p.done) return undefined;
    p.done = true;
    clearTimeout(p.timer);
    live.delete(raw);
    return p;
  };
  const report = (err: TlsError, raw: Raw, sock: Peer) => {
    if (!settle(raw)) return;
    opts.onHandshakeError?.(
      err,
      {
        host: sock.remoteAddress ?? raw.remoteAddress ?? "",
        port: sock.remotePort ?? raw.remotePort ?? 0,
      },
      raw.bytesRead ?? 0,
    );
  };

  const server = tls.createServer({
    key: creds.key,
    cert: creds.cert,
    ca: creds.ca.length ? creds.ca : undefined,
    requestCert: mode !== "ignore",
    // Decided in vetPeer, so the server names each cause (no certificate,
    // unknown CA, expired). The price, measured on Deno 2.9.5: a refused
    // client gets no alert, only the connection closed (TLS 1.2: during the
    // handshake; TLS 1.3: right after it). rejectUnauthorized: true would
    // send it a CertificateRequired alert when it has no certificate, but
    // then a bad certificate is only "socket hang up" here, with
    // UNABLE_TO_VERIFY_LEAF_SIGNATURE for every chain problem.
    rejectUnauthorized: false,
    minVersion: versions.minVersion,
    maxVersion: versions.maxVersion,
    // node's own deadline, which also ends the life of a socket's TLS state: just after
    // ours (which names the failure and closes the socket).
    handshakeTimeout: timeoutMs + 1000,
  });
  // Every TCP connection, before its handshake: the gate first, then the deadline.
  // Measured on Deno 2.9.5: node:tls wraps each accepted socket in a TLSSocket (its own
  // "connection" listener), which stays in memory until handshakeTimeout (120 s by
  // default) even when destroyed at once; so the gate runs before that listener, and a
  // refused connection is never wrapped. node reports a handshake timeout
  // (tlsClientError) but leaves the socket open: the deadline here closes it.
  const wrappers = server.listeners("connection") as ((raw: unknown) => void)[];
  server.removeAllListeners("connection");
  server.on("connection", (raw: Raw) => {
    if (closed) return raw.destroy();
    const place = opts.gate?.admit(
      { host: raw.remoteAddress ?? "", port: raw.remotePort ?? 0 },
      () => raw.destroy(),
    );
    if (opts.gate && !place) return raw.destroy();
    const p: Pending = { done: false, place };
    state.set(raw, p);
    live.add(raw);
    raw.once("close", () => {
      clearTimeout(p.timer);
      live.delete(raw);
      place?.release();
    });
    p.timer = setTimeout(() => {
      const seconds = timeoutMs / 1000;
      report(tlsFailure("handshake-timeout", "server", ` within ${seconds} s`), raw, raw);
      raw.destroy();
    }, timeoutMs);
    for (const wrap of wrappers) wrap.call(server, raw);
  });
  server.on("secureConnection", (sock: tls.TLSSocket) => {
    sock.pause();
    const raw = rawOf(sock);
    if (closed) return void sock.destroy();
    const refuse = (err: unknown) => {
      report(classifyTlsError(err, "server", false), raw, sock);
      sock.destroy();
    };
    const accept = (info: TlsInfo) => {
      const p = settle(raw);
      if (closed || sock.destroyed || !p) return void sock.destroy();
      ready.push(new TlsTransport(sock, info, "server", p.place));
      wake();
    };
    try {
      const info = vetPeer(sock, settings, creds, "server", undefined);
      const revocation = vetRevocation(sock, info, settings, creds, "server");
      if (!revocation) return accept(info);
      // Until the transport takes the socket over: a reset while the CRL
      // check runs must not be an uncaught error event.
      const ignore = () => {};
      sock.on("error", ignore);
      revocation.then(() => (sock.off("error", ignore), accept(info)), refuse);
    } catch (err) {
      refuse(err);
    }
  });
  server.on("tlsClientError", (err: unknown, sock: tls.TLSSocket) => {
    report(classifyTlsError(err, "server", false), rawOf(sock), sock);
    sock.destroy();
  });

  return await new Promise((resolve, reject) => {
    const onError = (err: unknown) => reject(err);
    server.once("error", onError);
    server.listen(port, hostname, () => {
      server.off("error", onError);
      const addr = server.address();
      const local = typeof addr === "object" && addr
        ? { host: addr.address, port: addr.port }
        : { host: hostname, port };
      resolve({
        local,
        async accept(): Promise<Transport | null> {
          for (;;) {
            const t = ready.shift();
            if (t) return t;
            if (closed) return null;
            await new Promise<void>((r) => waiter = r);
          }
        },
        close(): void {
          if (closed) return;
          closed = true;
          server.close();
          for (const t of ready.splice(0)) t.close();
          for (const raw of [...live]) {
            settle(raw);
            raw.destroy();
          }
          wake();
        },
      });
    });
  });
}
