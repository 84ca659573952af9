/**
 * Offline certificate checks, DCMTK's +vc (--verify-cert) and +rc
 * (--is-root-cert): the same chain, date and CRL rules the handshake
 * applies (cert_chain.ts, crl.ts), on a certificate file instead of a peer,
 * worded as DCMTK words them ("Verification of certificate 'f' passed.",
 * "Certificate 'f' is a valid, self-signed root CA.") with OpenSSL's reason
 * and the named cause.
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
  /** One line for the user, DCMTK's wording plus the reason. */
  message: string;
  /** The cause when verification failed, as the handshake names it. */
  cause?: TlsFailureKind;
}

/** OpenSSL's verify strings (X509_verify_cert_error_string), which DCMTK prints, per cause. */
const REASON: Partial<Record<TlsFailureKind, string>> = {
  "unknown-ca": "unable to get local issuer certificate (add its CA with +cf/+cd)",
  "self-signed": "self-signed certificate (not in the trust list; add it with +cf)",
  "expired": "certificate has expired",
  "not-yet-valid": "certificate is not yet valid",
  "revoked": "certificate revoked",
  "crl-missing": "unable to get certificate CRL (add its CA's CRL with +crl)",
  "crl-expired": "CRL is not current (load a newer one with +crl)",
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
 * DCMTK's +vc: verifies the certificate in `path` (a PEM file may follow it
 * with intermediates) against the trust list of `settings` (+cf/+cd),
 * checks every date on the path, and, if the settings ask (+crl/+crv/+cra),
 * revocation. A file that cannot be read fails the verdict; a trust list
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
  const failed = (subject: string, reason: string, cause?: TlsFailureKind) => ({
    ok: false,
    subject,
    message: `Verification of certificate '${path}' failed: ${reason}`,
    cause,
  });
  const certs = readCertificates(path, settings.fileFormat ?? "pem");
  if (typeof certs === "string") return failed("", certs);
  const subject = nameOf(certs[0]);
  let problem: CertProblem | undefined = chainProblem(certs, creds.trusted);
  const check = crlCheckOf(settings);
  if (!problem && check) {
    problem = await revocationProblem(pathToAnchor(certs, creds.trusted)!, crls!, check);
  }
  if (problem) return failed(subject, `${REASON[problem.kind]}${problem.extra}`, problem.kind);
  return { ok: true, subject, message: `Verification of certificate '${path}' passed.` };
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
 * DCMTK's +rc: whether the certificate in `path` is a valid, self-signed
 * root CA: its subject is its issuer, its own key verifies its signature,
 * basicConstraints (when present) says CA:TRUE (RFC 5280 4.2.1.9), and it
 * is within its dates. DCMTK 3.6.7 checks the names and dates only.
 */
export function checkRootCertificate(path: string, format: "pem" | "der"): CertificateVerdict {
  const verdict = (subject: string, reason?: string): CertificateVerdict =>
    reason === undefined
      ? { ok: true, subject, message: `Certificate '${path}' is a valid, self-signed root CA.` }
      : {
        ok: false,
        subject,
        message: `Certificate '${path}' is not a valid, self-signed root CA: ${reason}`,
      };
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
