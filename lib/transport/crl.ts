/**
 * Certificate revocation lists (RFC 5280 5; DCMTK +crl / +crv / +cra),
 * checked by our own code because Deno's node:tls (rustls) checks none.
 * The rules are OpenSSL's, which DCMTK uses: a CRL counts only when its
 * signature verifies with the certificate of the CA it names as issuer
 * (RFC 5280 6.3.3 (f)); with checking on, a certificate whose issuer has no
 * such CRL fails ("unable to get certificate CRL"), as does one listed in
 * it, and a CRL past its nextUpdate (or before its thisUpdate) is not
 * current and fails too.
 *
 * CRLs are parsed and their signatures checked with pkijs (WebCrypto),
 * imported only when CRLs are in use so that tools without them do not
 * load it.
 *
 * @module
 */
import type { X509Certificate } from "node:crypto";
import type * as Pkijs from "npm:pkijs@3.4.3";
import { type CertProblem, nameOf } from "./cert_chain.ts";
import { tlsFailure } from "./tls_errors.ts";

/**
 * Which certificates are checked against the CRLs: "leaf" = the peer's own
 * certificate (DCMTK +crv, implied by +crl); "chain" = every certificate
 * from the peer's up to and including the trust anchor (+cra).
 */
export type CrlCheck = "leaf" | "chain";

/** One CRL read from a +crl file and parsed; its signature is checked when it is used. */
export interface RevocationList {
  /** The file it came from. */
  readonly file: string;
  /** The issuer it names ("CN=DIMSE Test CA"). */
  readonly issuer: string;
  /** When it was issued. */
  readonly thisUpdate: Date;
  /** When the next one is due; it is not current after that. */
  readonly nextUpdate?: Date;
  /** Revoked serial numbers (upper-case hex, no leading zeros) and their revocation dates. */
  readonly revoked: ReadonlyMap<string, Date>;
}

/** How a CRL relates to a CA certificate. */
type Verdict = "other-issuer" | "bad-signature" | "valid";

/** What pkijs parsed, and verdicts per CA certificate (SHA-256 fingerprint). */
interface Parsed {
  crl: Pkijs.CertificateRevocationList;
  verdicts: Map<string, Promise<Verdict>>;
}

const parsed = new WeakMap<RevocationList, Parsed>();

let pkijsModule: Promise<typeof Pkijs> | undefined;
/** pkijs, imported on first use. */
function pkijs(): Promise<typeof Pkijs> {
  pkijsModule ??= import("npm:pkijs@3.4.3");
  return pkijsModule;
}

const PEM_CRL = /-----BEGIN X509 CRL-----([\s\S]+?)-----END X509 CRL-----/g;

/** The DER blocks of a CRL file read from disk: bad-credentials naming the file otherwise. */
export interface CrlFileBlocks {
  /** The file. */
  file: string;
  /** One DER encoding per CRL. */
  ders: Uint8Array<ArrayBuffer>[];
}

/**
 * Splits a CRL file into DER blocks: every PEM "X509 CRL" block (one file
 * may hold several), or the whole file as DER. Like certificate files, the
 * content decides between PEM and DER.
 */
export function crlBlocks(bytes: Uint8Array, file: string): CrlFileBlocks {
  const text = new TextDecoder().decode(bytes);
  if (text.includes("-----BEGIN")) {
    const ders = [...text.matchAll(PEM_CRL)].map((m) =>
      Uint8Array.from(atob(m[1].replace(/\s+/g, "")), (ch) => ch.charCodeAt(0))
    );
    if (!ders.length) throw tlsFailure("bad-credentials", "client", `: no CRL in ${file}`);
    return { file, ders };
  }
  // A DER structure starts with a SEQUENCE (X.690 8.9); anything else is not one.
  if (bytes[0] !== 0x30) throw tlsFailure("bad-credentials", "client", `: ${file} is not a CRL`);
  return { file, ders: [bytes.slice()] };
}

/** Upper-case hex without leading zeros, as node's X509Certificate.serialNumber. */
function serialHex(bytes: Uint8Array): string {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
  return hex.replace(/^0+(?=.)/, "");
}

/** One line naming an X.500 name's attributes ("CN=DIMSE Test CA"). */
function nameText(name: Pkijs.RelativeDistinguishedNames): string {
  const short: Record<string, string> = {
    "2.5.4.3": "CN",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
  };
  return name.typesAndValues.map((tv) =>
    `${short[tv.type] ?? tv.type}=${
      (tv.value as { valueBlock: { value: unknown } }).valueBlock.value
    }`
  ).join(", ");
}

/** Parses the blocks read by {@link crlBlocks}: bad-credentials naming a file whose content is no CRL. */
export async function parseCrls(files: CrlFileBlocks[]): Promise<RevocationList[]> {
  if (!files.length) return [];
  const { CertificateRevocationList } = await pkijs();
  const out: RevocationList[] = [];
  for (const { file, ders } of files) {
    for (const der of ders) {
      let crl: Pkijs.CertificateRevocationList;
      try {
        crl = CertificateRevocationList.fromBER(der);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        throw tlsFailure("bad-credentials", "client", `: ${file} is not a CRL`, msg);
      }
      const revoked = new Map<string, Date>();
      for (const r of crl.revokedCertificates ?? []) {
        revoked.set(serialHex(r.userCertificate.valueBlock.valueHexView), r.revocationDate.value);
      }
      const list: RevocationList = {
        file,
        issuer: nameText(crl.issuer),
        thisUpdate: crl.thisUpdate.value,
        nextUpdate: crl.nextUpdate?.value,
        revoked,
      };
      parsed.set(list, { crl, verdicts: new Map() });
      out.push(list);
    }
  }
  return out;
}

/** Whether the CRL names `ca` as its issuer and, if so, whether it carries its signature. */
function verdictFor(list: RevocationList, ca: X509Certificate, pk: typeof Pkijs): Promise<Verdict> {
  const p = parsed.get(list)!;
  let v = p.verdicts.get(ca.fingerprint256);
  if (!v) {
    // A copy on its own ArrayBuffer: what BufferSource takes, whatever @types/node says.
    const cert = pk.Certificate.fromBER(new Uint8Array(ca.raw));
    v = p.crl.issuer.isEqual(cert.subject)
      ? p.crl.verify({ issuerCertificate: cert }).then(
        (ok) => ok ? "valid" : "bad-signature",
        () => "bad-signature",
      )
      : Promise.resolve("other-issuer");
    p.verdicts.set(ca.fingerprint256, v);
  }
  return v;
}

/**
 * Checks certificates of a certification path (leaf first, trust anchor
 * last, as built by cert_chain.ts) against the CRLs: the leaf only, or all
 * of them. Returns the first problem, or undefined when none is revoked
 * and each has a current CRL from its issuer.
 */
export async function revocationProblem(
  path: X509Certificate[],
  crls: RevocationList[],
  check: CrlCheck,
  now: number = Date.now(),
): Promise<CertProblem | undefined> {
  const pk = await pkijs();
  const last = check === "chain" ? path.length : Math.min(1, path.length);
  for (let i = 0; i < last; i++) {
    const cert = path[i];
    // The anchor of a path is self-signed, so it is its own CRL issuer.
    const issuer = path[i + 1] ?? cert;
    const valid: RevocationList[] = [];
    const forged: string[] = [];
    for (const l of crls) {
      const v = await verdictFor(l, issuer, pk);
      if (v === "valid") valid.push(l);
      else if (v === "bad-signature") forged.push(l.file);
    }
    if (!valid.length) {
      // OpenSSL says "CRL signature failure" here; such a CRL is not used.
      const why = forged.length
        ? `; the CRL in ${forged.join(", ")} names it but its signature does not verify`
        : "";
      return { kind: "crl-missing", extra: ` (${nameOf(cert)}, issuer ${nameOf(issuer)}${why})` };
    }
    // OpenSSL prefers a current CRL; of those, the newest.
    const current = (l: RevocationList) =>
      l.thisUpdate.getTime() <= now && (!l.nextUpdate || l.nextUpdate.getTime() >= now);
    valid.sort((a, b) =>
      Number(current(b)) - Number(current(a)) || b.thisUpdate.getTime() - a.thisUpdate.getTime()
    );
    const crl = valid[0];
    if (!current(crl)) {
      const when = crl.thisUpdate.getTime() > now
        ? `issued ${crl.thisUpdate.toISOString()}, in the future`
        : `next update was due ${crl.nextUpdate!.toISOString()}`;
      return { kind: "crl-expired", extra: ` (${crl.file}, issuer ${crl.issuer}, ${when})` };
    }
    const revokedAt = crl.revoked.get(cert.serialNumber.toUpperCase().replace(/^0+(?=.)/, ""));
    if (revokedAt) {
      const which = i === 0 ? "" : "CA certificate in its chain: ";
      const when = revokedAt.toISOString();
      return {
        kind: "revoked",
        extra: ` (${which}${nameOf(cert)}, serial ${cert.serialNumber}, revoked ${when})`,
      };
    }
  }
  return undefined;
}
