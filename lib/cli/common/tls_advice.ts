/**
 * The tools' words for TLS failures and certificate verdicts: the lower
 * layers name a cause ({@link TlsError.kind}, {@link CertificateVerdict}),
 * the tools say which of their options changes the outcome, DCMTK's way:
 * "the server's certificate is self-signed and not trusted (add it with
 * +cf): CN=...; if you trust it, give +cf that certificate itself".
 *
 * @module
 */
import type { TlsError, TlsFailureKind } from "../../transport/tls_errors.ts";
import { tlsSentence } from "../../transport/tls_errors.ts";
import type { CertificateVerdict } from "../../transport/tls_verify.ts";

/** The option that fixes a cause, named inside the sentence (before its specifics). */
const HANDSHAKE_HINT: Partial<Record<TlsFailureKind, string>> = {
  "unknown-ca": "add its CA with +cf/+cd",
  "self-signed": "add it with +cf",
  "crl-missing": "add it with +crl",
  "crl-expired": "load a newer one with +crl",
  "no-peer-certificate": "-rc",
  "certificate-required": "+tls key cert",
  "cipher-not-allowed": "+cs",
};

/** The same for +vc's verdict, after OpenSSL's reason. */
const VERIFY_HINT: Partial<Record<TlsFailureKind, string>> = {
  "unknown-ca": "add its CA with +cf/+cd",
  "self-signed": "not in the trust list; add it with +cf",
  "crl-missing": "add its CA's CRL with +crl",
  "crl-expired": "load a newer one with +crl",
};

/** A hint in parentheses, or "". */
function hint(table: Partial<Record<TlsFailureKind, string>>, kind?: TlsFailureKind): string {
  const h = kind && table[kind];
  return h ? ` (${h})` : "";
}

/** A TLS failure in one sentence, with the option that fixes its cause where one does. */
export function tlsMessage(err: TlsError): string {
  return `${tlsSentence(err.kind, err.side)}${hint(HANDSHAKE_HINT, err.kind)}${err.specifics}`;
}

/** +vc's verdict on `path` in DCMTK's words, with OpenSSL's reason and our hint. */
export function verifyVerdictLine(path: string, v: CertificateVerdict): string {
  if (v.ok) return `Verification of certificate '${path}' passed.`;
  return `Verification of certificate '${path}' failed: ${v.reason}${hint(VERIFY_HINT, v.cause)}${
    v.specifics ?? ""
  }`;
}

/** +rc's verdict on `path` in DCMTK's words. */
export function rootVerdictLine(path: string, v: CertificateVerdict): string {
  if (v.ok) return `Certificate '${path}' is a valid, self-signed root CA.`;
  return `Certificate '${path}' is not a valid, self-signed root CA: ${v.reason}`;
}

/** What to do about a TLS failure, by its kind: the options that change the outcome. */
export function tlsAdvice(err: TlsError): string {
  switch (err.kind) {
    case "plain-tcp-peer":
      return "the port speaks plain DICOM: drop +tls/+tla, or use the peer's TLS port";
    case "handshake-timeout":
      return "the peer is slow or does not speak TLS on this port; raise its handshake timeout";
    case "closed-during-handshake":
      return "check the peer's log: it may not speak TLS on this port, may require a client " +
        "certificate (+tls key cert) or refuse ours, or allow other protocol versions";
    case "protocol-version":
      return "the peer allows other TLS versions: try another profile (+px, +pa) or check its " +
        "settings";
    case "handshake-failure":
      return "check the profile and cipher suites both sides allow (+cc lists ours)";
    case "unknown-ca":
      return "give +cf the certificate of the CA that issued it (or +cd a directory of them)";
    case "self-signed":
      return "if you trust it, give +cf that certificate itself";
    case "expired":
    case "not-yet-valid":
      return "the certificate's owner must renew it; also check both clocks";
    case "revoked":
      return "the certificate was withdrawn by its CA: its owner needs a new one";
    case "crl-missing":
    case "crl-expired":
      return "load a current CRL of that CA with +crl, or drop +crv/+cra";
    case "hostname-mismatch":
      return "connect by a name the certificate holds, or name one with --request-sni";
    case "no-peer-certificate":
      return "the peer must present a certificate, or use -vc/-ic to accept none";
    case "rejected-by-peer":
    case "certificate-required":
      return "the peer must trust the CA of our certificate (+tls key cert), or accept clients " +
        "without one";
    case "cipher-not-allowed":
      return "add the suite with +cs, or drop +cs";
    case "key-password":
      return "give the key's password with +pw, type it with +ps, or -pw for an empty one";
    case "key-mismatch":
      return "+tls takes the private key first, then the certificate that belongs to it";
    case "bad-credentials":
      return "check the file names and their format (-pem/-der)";
    case "unsupported":
      return "choose another option; the README's TLS section lists what is supported";
  }
}
