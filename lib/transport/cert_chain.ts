/**
 * Certificate chains checked the way OpenSSL's X509_verify_cert orders it
 * (RFC 5280 6.1): first whether the chain reaches a certificate of the
 * trust list (else "self-signed" or "unknown-ca"), then every certificate's
 * validity dates. Shared by the handshake (tls.ts names why the stack
 * refused a chain) and offline verification (tls_verify.ts, DCMTK +vc).
 *
 * @module
 */
import type { X509Certificate } from "node:crypto";
import type { TlsFailureKind } from "./tls_errors.ts";

/** Why a certificate is not acceptable: the cause and the text naming the certificate. */
export interface CertProblem {
  /** The cause. */
  kind: TlsFailureKind;
  /** Appended to the cause's sentence: " (subject, ...)". */
  extra: string;
}

/** A certificate's subject on one line ("CN=localhost, O=Example"). */
export function nameOf(c: X509Certificate): string {
  return c.subject.split("\n").join(", ");
}

/** Whether `c` names `issuer` as its issuer and carries its signature. */
export function issuedBy(c: X509Certificate, issuer: X509Certificate): boolean {
  return c.checkIssued(issuer) && c.verify(issuer.publicKey);
}

/** Whether the certificate is self-signed (its own issuer, with a signature that verifies). */
export function isSelfSigned(c: X509Certificate): boolean {
  return issuedBy(c, c);
}

/**
 * The certification path from `chain[0]` (the leaf) to a certificate of the
 * trust list, both included, using the rest of `chain` (what the peer or
 * the file presented) as intermediates; undefined when none reaches it.
 */
export function pathToAnchor(
  chain: X509Certificate[],
  trusted: X509Certificate[],
): X509Certificate[] | undefined {
  if (!chain.length) return undefined;
  const isTrusted = (c: X509Certificate) =>
    trusted.some((t) => t.fingerprint256 === c.fingerprint256);
  const path = [chain[0]];
  // Each step adds a different presented certificate, so the loop ends.
  for (let i = 0; i < chain.length; i++) {
    const cur = path[path.length - 1];
    if (isTrusted(cur)) return path;
    const anchor = trusted.find((t) => issuedBy(cur, t));
    if (anchor) return [...path, anchor];
    const next = chain.find((c) => !path.includes(c) && issuedBy(cur, c));
    if (!next) return undefined;
    path.push(next);
  }
  return undefined;
}

/**
 * What is wrong with a chain (leaf first) against the trust list, or
 * undefined when it is anchored and every certificate on the path is
 * within its dates at `now`.
 */
export function chainProblem(
  chain: X509Certificate[],
  trusted: X509Certificate[],
  now: number = Date.now(),
): CertProblem | undefined {
  if (!chain.length) return { kind: "unknown-ca", extra: "" };
  const path = pathToAnchor(chain, trusted);
  if (!path) {
    const leaf = chain[0];
    return { kind: isSelfSigned(leaf) ? "self-signed" : "unknown-ca", extra: ` (${nameOf(leaf)})` };
  }
  for (const c of path) {
    if (Date.parse(c.validTo) < now) {
      return { kind: "expired", extra: ` (${nameOf(c)}, not after ${c.validTo})` };
    }
    if (Date.parse(c.validFrom) > now) {
      return { kind: "not-yet-valid", extra: ` (${nameOf(c)}, not before ${c.validFrom})` };
    }
  }
  return undefined;
}
