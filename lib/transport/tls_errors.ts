/**
 * TLS failures named for what they are (issue 4, "Diagnosis"): the error
 * codes Deno's node:tls raises are mapped to a short list of causes, each
 * with one sentence naming it. What to do about a cause (which option to
 * give) is the caller's to say: a tool words it from {@link TlsError.kind}
 * with its own flags. Deno's node:tls runs on rustls, not
 * OpenSSL, and reports every chain problem on the client side as
 * UNABLE_TO_VERIFY_LEAF_SIGNATURE; tls.ts therefore looks at the peer's
 * chain itself before calling {@link tlsFailure} with a precise cause.
 *
 * @module
 */
import { ConnectError } from "./tcp.ts";

/** The causes a TLS connection can fail with. */
export type TlsFailureKind =
  /** The peer answered our ClientHello with bytes that are not TLS (a plain DICOM port). */
  | "plain-tcp-peer"
  /** The peer closed the connection before the handshake finished. */
  | "closed-during-handshake"
  /** The peer did not complete the handshake in time (a server's handshake deadline). */
  | "handshake-timeout"
  /** The peers found no protocol version in common (profile / min / max version). */
  | "protocol-version"
  /** Any other handshake failure (no common cipher suite, malformed messages...). */
  | "handshake-failure"
  /** The peer's certificate does not chain to a certificate we trust. */
  | "unknown-ca"
  /** The peer's certificate is self-signed and not in our trust list. */
  | "self-signed"
  /** The peer's certificate (or one in its chain) has expired. */
  | "expired"
  /** The peer's certificate (or one in its chain) is not valid yet. */
  | "not-yet-valid"
  /** The peer's certificate (or, when the whole chain is checked, one in it) is listed in its CA's CRL. */
  | "revoked"
  /** Revocation is checked but no valid CRL of the certificate's CA was loaded. */
  | "crl-missing"
  /** The CRL of the certificate's CA is not current (its nextUpdate has passed). */
  | "crl-expired"
  /** The server's certificate is not issued for the host name or address we connected to. */
  | "hostname-mismatch"
  /** The peer presented no certificate although we require one. */
  | "no-peer-certificate"
  /** The peer refused our certificate (its alert is named in the message). */
  | "rejected-by-peer"
  /** The peer requires a client certificate and we sent none. */
  | "certificate-required"
  /** The negotiated cipher suite is not in the list the user allowed. */
  | "cipher-not-allowed"
  /** Our private key is encrypted and the password is wrong or missing. */
  | "key-password"
  /** Our private key does not belong to our certificate. */
  | "key-mismatch"
  /** A key, certificate or trust file cannot be read or parsed. */
  | "bad-credentials"
  /** An option asks for something this runtime's TLS stack cannot do. */
  | "unsupported";

/** Where the failure was seen from: our side decides whom "the peer" means. */
export type TlsSide = "client" | "server";

/**
 * A TLS failure. Extends {@link ConnectError} (code "other") so code that
 * reports connection failures, such as the SCU's connect step, reports TLS
 * failures too without knowing about TLS. Its message is
 * {@link tlsSentence} followed by {@link TlsError.specifics}; a caller that
 * advises the user (a tool naming its options) puts its advice between the
 * two.
 */
export class TlsError extends ConnectError {
  /**
   * Creates the error.
   *
   * @param kind the cause
   * @param side which end we are
   * @param specifics what concerns this failure (a file, the certificate's
   *   subject, the suite), appended to the cause's sentence; it starts with
   *   ": " or " (" when not empty
   * @param detail what the TLS stack said, for debug logs
   */
  constructor(
    readonly kind: TlsFailureKind,
    readonly side: TlsSide,
    readonly specifics = "",
    readonly detail?: string,
  ) {
    super(`${tlsSentence(kind, side)}${specifics}`, "other");
    this.name = "TlsError";
  }
}

/**
 * The sentence naming a cause, seen from `side` ("the server" is the peer
 * of a client), without the specifics of one failure.
 */
export function tlsSentence(kind: TlsFailureKind, side: TlsSide): string {
  const peer = side === "client" ? "the server" : "the client";
  switch (kind) {
    case "plain-tcp-peer":
      return `${peer} does not speak TLS: its bytes are not TLS records (plain DICOM without TLS?)`;
    case "closed-during-handshake":
      return `${peer} closed the connection during the TLS handshake (it may not speak TLS, ` +
        "or refused our certificate or protocol version)";
    case "handshake-timeout":
      return `${peer} did not complete the TLS handshake`;
    case "protocol-version":
      return `no TLS protocol version in common with ${peer} (check the TLS profile)`;
    case "handshake-failure":
      return `TLS handshake with ${peer} failed`;
    case "unknown-ca":
      return `${peer}'s certificate is not issued by a trusted CA`;
    case "self-signed":
      return `${peer}'s certificate is self-signed and not trusted`;
    case "expired":
      return `${peer}'s certificate has expired`;
    case "not-yet-valid":
      return `${peer}'s certificate is not valid yet`;
    case "revoked":
      return `${peer}'s certificate has been revoked`;
    case "crl-missing":
      return `cannot check ${peer}'s certificate for revocation: no valid CRL of its CA ` +
        "was loaded";
    case "crl-expired":
      return `cannot check ${peer}'s certificate for revocation: the CRL of its CA is not ` +
        "current";
    case "hostname-mismatch":
      return `${peer}'s certificate is not issued for the host we connected to`;
    case "no-peer-certificate":
      return `${peer} presented no certificate, but one is required`;
    case "rejected-by-peer":
      return `${peer} refused the TLS connection`;
    case "certificate-required":
      return `${peer} refused the TLS connection: it requires a client certificate`;
    case "cipher-not-allowed":
      return "the negotiated cipher suite is not in the allowed list";
    case "key-password":
      return "cannot decrypt the private key";
    case "key-mismatch":
      return "the private key does not belong to the certificate";
    case "bad-credentials":
      return "cannot load TLS key or certificate";
    case "unsupported":
      return "not supported by this TLS stack";
  }
}

/**
 * Makes a {@link TlsError} for a known cause.
 *
 * @param kind the cause
 * @param side which end we are
 * @param specifics text appended to the cause's sentence (start it with ": " or " (")
 * @param detail the stack's own words, for debug logs
 */
export function tlsFailure(
  kind: TlsFailureKind,
  side: TlsSide,
  specifics = "",
  detail?: string,
): TlsError {
  return new TlsError(kind, side, specifics, detail);
}

/** An error's `code` property (node errors), or "". */
function codeOf(err: unknown): string {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === "string" ? c : "";
}

/**
 * Maps an error raised by node:tls (inside Deno) during or right after the
 * handshake to a named cause. `handshakeDone` tells a close during the
 * handshake (the peer does not want us) from an ordinary end of stream.
 * Codes observed on Deno 2.9.5 (rustls underneath):
 * - ERR_SSL_WRONG_VERSION_NUMBER: the peer's first bytes were not a TLS record;
 * - ECONNRESET "before secure TLS connection was established": closed mid-handshake;
 * - ERR_SSL_*_ALERT_PROTOCOL_VERSION, "Tls12NotOfferedOrEnabled": no common version;
 * - ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED / ..._HANDSHAKE_FAILURE with
 *   "CertificateRequired": the server wants a client certificate;
 * - ERR_SSL_*_ALERT_UNKNOWN_CA / _BAD_CERTIFICATE / _CERTIFICATE_EXPIRED:
 *   the peer refused our certificate;
 * - ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE (server side): no client certificate;
 * - ERR_TLS_CERT_ALTNAME_INVALID: host name mismatch;
 * - CERT_HAS_EXPIRED, CERT_REVOKED, UNABLE_TO_GET_CRL, CRL_HAS_EXPIRED,
 *   DEPTH_ZERO_SELF_SIGNED_CERT, SELF_SIGNED_CERT_IN_CHAIN,
 *   UNABLE_TO_VERIFY_LEAF_SIGNATURE, UNABLE_TO_GET_ISSUER_CERT(_LOCALLY):
 *   OpenSSL-style verification codes (Node proper; Deno gives the last two).
 */
export function classifyTlsError(err: unknown, side: TlsSide, handshakeDone = false): TlsError {
  if (err instanceof TlsError) return err;
  const code = codeOf(err);
  const msg = err instanceof Error ? err.message : String(err);
  const detail = code ? `${code}: ${msg}` : msg;
  const f = (kind: TlsFailureKind, extra = "") => tlsFailure(kind, side, extra, detail);
  if (code === "ERR_SSL_WRONG_VERSION_NUMBER" || /wrong version number/i.test(msg)) {
    return f("plain-tcp-peer");
  }
  if (code === "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE") return f("no-peer-certificate");
  if (/CERTIFICATE_REQUIRED|CertificateRequired/i.test(`${code} ${msg}`)) {
    return f("certificate-required");
  }
  // rustls says "peer is incompatible: Tls12NotOfferedOrEnabled" on the server side.
  if (/PROTOCOL_VERSION|ProtocolVersion|UNSUPPORTED_PROTOCOL|NotOffered/i.test(`${code} ${msg}`)) {
    return f("protocol-version");
  }
  if (
    /_ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_(EXPIRED|UNKNOWN|REVOKED))/.test(code)
  ) {
    return f("rejected-by-peer", `: it does not accept our certificate (${alertName(code)})`);
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return f("hostname-mismatch", `: ${reasonOf(err)}`);
  if (code === "CERT_HAS_EXPIRED") return f("expired");
  if (code === "CERT_NOT_YET_VALID") return f("not-yet-valid");
  if (code === "CERT_REVOKED") return f("revoked");
  if (code === "UNABLE_TO_GET_CRL") return f("crl-missing");
  if (code === "CRL_HAS_EXPIRED") return f("crl-expired");
  if (code === "DEPTH_ZERO_SELF_SIGNED_CERT" || code === "SELF_SIGNED_CERT_IN_CHAIN") {
    return f("self-signed");
  }
  if (/^UNABLE_TO_(VERIFY_LEAF_SIGNATURE|GET_ISSUER_CERT)/.test(code)) return f("unknown-ca");
  if (
    !handshakeDone &&
    (code === "ECONNRESET" || code === "EPIPE" || /socket disconnected|hang up/i.test(msg))
  ) {
    return f("closed-during-handshake");
  }
  return f("handshake-failure", `: ${msg}`);
}

/** "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA" -> "unknown CA alert". */
function alertName(code: string): string {
  const m = /_ALERT_(.+)$/.exec(code);
  if (!m) return code;
  return `${m[1].toLowerCase().replaceAll("_", " ").replace("unknown ca", "unknown CA")} alert`;
}

/** node's `reason` on host name errors, else the message. */
function reasonOf(err: unknown): string {
  const r = (err as { reason?: unknown } | null)?.reason;
  if (typeof r === "string" && r) return r;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Whether the first bytes a plain (non-TLS) DICOM port received are a TLS
 * ClientHello: a handshake record (type 22) of TLS 1.x (0x03 0x01..0x04).
 * PDU type 0x16 does not exist in PS3.8 9.3, so a plain acceptor can name
 * the cause ("the peer speaks TLS") instead of reporting an unknown PDU.
 */
export function looksLikeTlsClientHello(first: Uint8Array): boolean {
  return first.length >= 3 && first[0] === 0x16 && first[1] === 0x03 && first[2] <= 0x04;
}
