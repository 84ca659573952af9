/**
 * Offline certificate checks (DCMTK's +vc and +rc are built on them): the
 * same chain, date and CRL rules the handshake applies (cert_chain.ts,
 * crl.ts), on a certificate file instead of a peer. A verdict gives
 * OpenSSL's reason and the named cause; a tool words the verdict.
 *
 * @module
 */
import type { X509Certificate } from "node:crypto";
import { type CertProblem, chainProblem, nameOf, pathToAnchor } from "./cert_chain.ts";
import { revocationProblem } from "./crl.ts";
import { certificatesIn, crlCheckOf, loadTlsCredentials, type TlsSettings } from "./tls.ts";
import type { TlsFailureKind } from "./tls_errors.ts";

/** The outcome of {@link verifyCertificateFile} or {@link checkRootCertificate}. */
export interface CertificateVerdict {
  /** Whether the certificate passed. */
  ok: boolean;
  /** The certificate's subject ("CN=localhost"); "" when the file holds none. */
  subject: string;
  /**
   * Why it failed (absent when it passed): OpenSSL's verify string for a
   * chain, date or CRL problem, else what is wrong with the file.
   */
  reason?: string;
  /** The cause when the chain, date or CRL check failed, as the handshake names it. */
  cause?: TlsFailureKind;
  /**
   * What concerns a failed check (the certificate or CRL, starting with
   * " (" or ": "), to follow the reason; "" when there is nothing to add.
   */
  specifics?: string;
}

/** OpenSSL's verify strings (X509_verify_cert_error_string) per cause. */
const REASON: Partial<Record<TlsFailureKind, string>> = {
  "unknown-ca": "unable to get local issuer certificate",
  "self-signed": "self-signed certificate",
  "expired": "certificate has expired",
  "not-yet-valid": "certificate is not yet valid",
  "revoked": "certificate revoked",
  "crl-missing": "unable to get certificate CRL",
  "crl-expired": "CRL is not current",
};

/** The certificates in a file, or the reason there are none. */
function readCertificates(path: string, format: "pem" | "der"): X509Certificate[] | string {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (err) {
    return `cannot open certificate file: ${err instanceof Error ? err.message : err}`;
  }
  try {
    const certs = certificatesIn(bytes, format);
    return certs.length ? certs : "no certificate in the file";
  } catch {
    return "cannot read certificate file: not a certificate";
  }
}

/**
 * Verifies the certificate in `path` (a PEM file may follow it with
 * intermediates) against the trust list of `settings`, checks every date on
 * the path, and, if the settings ask, revocation. A file that cannot be read fails the verdict; a trust list
 * or CRL file that cannot be read rejects with a TlsError, as a connection
 * with those settings would.
 */
export async function verifyCertificateFile(
  path: string,
  settings: TlsSettings,
): Promise<CertificateVerdict> {
  const creds = loadTlsCredentials({
    fileFormat: settings.fileFormat,
    trustedFiles: settings.trustedFiles,
    trustedDirs: settings.trustedDirs,
    crlFiles: settings.crlFiles,
    crlCheck: settings.crlCheck,
  });
  const crls = await creds.crls;
  const failed = (subject: string, reason: string): CertificateVerdict => ({
    ok: false,
    subject,
    reason,
  });
  const certs = readCertificates(path, settings.fileFormat ?? "pem");
  if (typeof certs === "string") return failed("", certs);
  const subject = nameOf(certs[0]);
  let problem: CertProblem | undefined = chainProblem(certs, creds.trusted);
  const check = crlCheckOf(settings);
  if (!problem && check) {
    problem = await revocationProblem(pathToAnchor(certs, creds.trusted)!, crls!, check);
  }
  if (problem) {
    return {
      ok: false,
      subject,
      reason: REASON[problem.kind],
      cause: problem.kind,
      specifics: problem.extra,
    };
  }
  return { ok: true, subject };
}

/** DER of the basicConstraints extension's OID, 2.5.29.19 (RFC 5280 4.2.1.9). */
const BASIC_CONSTRAINTS_OID = [0x06, 0x03, 0x55, 0x1d, 0x13];

function hasBasicConstraints(der: Uint8Array): boolean {
  outer: for (let i = 0; i + BASIC_CONSTRAINTS_OID.length <= der.length; i++) {
    for (let j = 0; j < BASIC_CONSTRAINTS_OID.length; j++) {
      if (der[i + j] !== BASIC_CONSTRAINTS_OID[j]) continue outer;
    }
    return true;
  }
  return false;
}

/**
 * Whether the certificate in `path` is a valid, self-signed root CA: its subject is its issuer, its own key verifies its signature,
 * basicConstraints (when present) says CA:TRUE (RFC 5280 4.2.1.9), and it
 * is within its dates. DCMTK 3.6.7 checks the names and dates only.
 */
export function checkRootCertificate(path: string, format: "pem" | "der"): CertificateVerdict {
  const verdict = (subject: string, reason?: string): CertificateVerdict =>
    reason === undefined ? { ok: true, subject } : { ok: false, subject, reason };
  const certs = readCertificates(path, format);
  if (typeof certs === "string") return verdict("", certs);
  const c = certs[0];
  const subject = nameOf(c);
  if (c.subject !== c.issuer) {
    return verdict(subject, `its issuer is ${c.issuer.split("\n").join(", ")}`);
  }
  if (!c.verify(c.publicKey)) return verdict(subject, "its own key does not verify its signature");
  if (hasBasicConstraints(c.raw) && !c.ca) {
    return verdict(subject, "basicConstraints says CA:FALSE");
  }
  const now = Date.now();
  if (Date.parse(c.validTo) < now) return verdict(subject, `it expired on ${c.validTo}`);
  if (Date.parse(c.validFrom) > now) return verdict(subject, `it is valid from ${c.validFrom}`);
  return verdict(subject);
}
