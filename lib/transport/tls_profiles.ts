/**
 * DCMTK's TLS security profiles as protocol version ranges, and the cipher
 * suites the stack offers (PS3.15 B.1,
 * B.3, B.9-B.11; BCP 195 / RFC 8996). Kept apart from tls.ts, which loads
 * node:tls, so option parsing and `+ph` cost nothing on a plain TCP run.
 *
 * @module
 */
import { tlsFailure } from "./tls_errors.ts";

/**
 * DCMTK's security profiles (+pg, +pm, +py, +px, +pz, +pb, +pa, +pn). Each
 * maps to a protocol version range here (see {@link profileVersions}); the
 * cipher suites are the TLS stack's own, as it cannot be told otherwise.
 */
export type TlsProfile =
  /** +pg, DCMTK 3.6.8+'s default: BCP 195 as updated by RFC 8996 (TLS 1.2+). */
  | "bcp195-rfc8996"
  /** +pm: the same with a restricted cipher list (TLS 1.2+). */
  | "bcp195-rfc8996-mod"
  /** +py, DCMTK 3.6.7's default: non-downgrading BCP 195 (TLS 1.2+). */
  | "bcp195-nd"
  /** +px: BCP 195 (RFC 7525), which still allows TLS 1.0/1.1 fallback. */
  | "bcp195"
  /** +pz: extended BCP 195 (TLS 1.2+, forward-secret AEAD suites). */
  | "bcp195-ex"
  /** +pb, retired: Basic TLS Secure Transport Connection Profile (PS3.15 B.1). */
  | "basic"
  /** +pa, retired: AES TLS Secure Transport Connection Profile (PS3.15 B.3). */
  | "aes"
  /** +pn, retired: authenticated but unencrypted (NULL cipher) communication. */
  | "null";

/** A TLS protocol version as node:tls names it. */
export type TlsVersion = "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";

/** A profile's protocol version range. */
export interface VersionRange {
  /** Lowest version offered or accepted. */
  minVersion: TlsVersion;
  /** Highest version offered or accepted. */
  maxVersion: TlsVersion;
}

/**
 * Protocol versions per profile. BCP 195 as updated by RFC 8996 forbids
 * TLS 1.0 and 1.1, hence TLS 1.2+ for the current profiles; the BCP 195
 * (RFC 7525) and retired PS3.15 B.1/B.3 profiles date from when TLS 1.0
 * was allowed and say so here, though rustls offers nothing below 1.2 so
 * they negotiate TLS 1.2+ in practice. The NULL profile is refused: no
 * NULL cipher exists in the stack, and encryption would otherwise be
 * silently added to a link the user asked to leave readable.
 */
export function profileVersions(profile: TlsProfile): VersionRange {
  switch (profile) {
    case "bcp195-rfc8996":
    case "bcp195-rfc8996-mod":
    case "bcp195-nd":
    case "bcp195-ex":
      return { minVersion: "TLSv1.2", maxVersion: "TLSv1.3" };
    case "bcp195":
      return { minVersion: "TLSv1", maxVersion: "TLSv1.3" };
    case "basic":
    case "aes":
      return { minVersion: "TLSv1", maxVersion: "TLSv1.2" };
    case "null":
      throw tlsFailure(
        "unsupported",
        "client",
        ": the NULL-cipher profile needs unencrypted suites, which the TLS stack lacks",
      );
  }
}

/** A cipher suite the TLS stack offers, by IANA and OpenSSL name. */
export interface Suite {
  /** IANA name, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256. */
  iana: string;
  /** OpenSSL name, e.g. ECDHE-RSA-AES128-GCM-SHA256 (TLS 1.3 suites keep the IANA name). */
  openssl: string;
  /** The protocol version the suite belongs to. */
  version: TlsVersion;
}

/**
 * The suites Deno's node:tls (rustls) offers, in the order of its
 * ClientHello, found by probing: every TLS 1.2 and 1.3 suite openssl knows
 * was tried against a node:tls server (RSA and ECDSA certificates), and the
 * client's ClientHello read by `openssl s_server -msg`. Nothing else can be
 * negotiated, whatever a cipher list says.
 */
export const OFFERED_SUITES: readonly Suite[] = [
  ["TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", "TLSv1.3"],
  ["TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", "TLSv1.3"],
  ["TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256", "TLSv1.3"],
  ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384", "TLSv1.2"],
  ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256", "TLSv1.2"],
  ["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", "TLSv1.2"],
  ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "TLSv1.2"],
  ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2"],
  ["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305", "TLSv1.2"],
].map(([iana, openssl, version]) => ({ iana, openssl, version: version as TlsVersion }));
