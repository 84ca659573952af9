/**
 * Test helper: certificates made at test time with the openssl CLI, so no
 * key material is checked in and none expires in the repository. One
 * temporary directory holds a CA, certificates it issued (server for
 * localhost/127.0.0.1, client, expired, wrong host, no subjectAltName), a
 * second CA with a server certificate of its own, an encrypted private key
 * and DER copies, plus what revocation needs (a revoked certificate, an
 * intermediate CA, CRLs: revoking, empty, expired, forged);
 * {@link TestPki.cleanup} removes it.
 *
 * @module
 */

/** Paths of the files {@link makeTestPki} writes (all PEM unless named DER). */
export interface TestPki {
  /** The temporary directory holding everything. */
  dir: string;
  /** The CA certificate our peers trust ("DIMSE Test CA"). */
  ca: string;
  /** A directory holding only `ca` (for +cd). */
  caDir: string;
  /** Server certificate and key: SAN DNS:localhost, IP:127.0.0.1. */
  server: { cert: string; key: string };
  /** The server key encrypted with {@link TestPki.keyPassword} (AES-256). */
  serverKeyEncrypted: string;
  /** The password of `serverKeyEncrypted`. */
  keyPassword: string;
  /** Server certificate and key in DER. */
  serverDer: { cert: string; key: string };
  /** Client certificate and key (CN=dimse-client), issued by `ca`. */
  client: { cert: string; key: string };
  /** Server certificate for localhost/127.0.0.1 whose validity ended in 2001. */
  expired: { cert: string; key: string };
  /** Server certificate for wrong.example/10.255.255.1 only, issued by `ca`. */
  wrongHost: { cert: string; key: string };
  /** Server certificate for localhost with CN only, no subjectAltName. */
  noSan: { cert: string; key: string };
  /** A second, untrusted CA. */
  otherCa: string;
  /** Server certificate for localhost/127.0.0.1 issued by `otherCa`. */
  otherCaServer: { cert: string; key: string };
  /** Client certificate issued by `otherCa`. */
  otherCaClient: { cert: string; key: string };
  /** Certificate for localhost/127.0.0.1 (CN=revoked-peer, server and client use), revoked by `ca`. */
  revoked: { cert: string; key: string };
  /** An intermediate CA ("DIMSE Intermediate CA") issued by `ca`, revoked by `ca`. */
  inter: string;
  /** Server certificate for localhost/127.0.0.1 issued by `inter`; `cert` holds leaf then `inter`. */
  interLeaf: { cert: string; key: string };
  /** A self-signed certificate with basicConstraints CA:FALSE (CN=self-signed-peer). */
  selfSignedLeaf: string;
  /** Names itself (CN=Other Test CA) as issuer, but `otherCa`'s key signed it, not its own. */
  forgedRoot: string;
  /** CRLs (PEM unless named DER). */
  crl: {
    /** `ca`'s CRL revoking `revoked` and `inter`. */
    revoking: string;
    /** `revoking` in DER. */
    revokingDer: string;
    /** `ca`'s CRL revoking nothing. */
    empty: string;
    /** `ca`'s CRL whose nextUpdate passed in 2001. */
    expired: string;
    /** A CRL naming `ca` as issuer but signed by another key (revoking nothing). */
    forged: string;
    /** `inter`'s CRL revoking nothing. */
    inter: string;
  };
  /** Removes the directory. */
  cleanup(): Promise<void>;
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `openssl ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

/** Whether the openssl CLI is on the PATH. */
export async function opensslAvailable(): Promise<boolean> {
  try {
    const out = await new Deno.Command("openssl", {
      args: ["version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * `openssl ca` configuration: it alone sets arbitrary start and end dates
 * (OpenSSL 3.0's `x509 -req` cannot), which the expired certificate needs.
 */
function caConfig(name: string): string {
  return `[ca]
default_ca = ${name}
[${name}]
dir = ./${name}
database = $dir/index.txt
new_certs_dir = $dir/new
serial = $dir/serial
certificate = ${name}.pem
private_key = ${name}.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
email_in_dn = no
[any]
commonName = supplied
`;
}

/**
 * Writes the x509v3 extension section a certificate gets: server auth or
 * client auth with SANs for a leaf, certificate and CRL signing for a CA.
 */
function extFile(kind: "server" | "client" | "ca", san: string[]): string {
  const lines = kind === "ca"
    ? [
      "[leaf]",
      "basicConstraints = critical, CA:TRUE",
      "keyUsage = critical, keyCertSign, cRLSign",
    ]
    : [
      "[leaf]",
      "basicConstraints = critical, CA:FALSE",
      "keyUsage = critical, digitalSignature, keyEncipherment",
      `extendedKeyUsage = ${kind === "server" ? "serverAuth, clientAuth" : "clientAuth"}`,
    ];
  lines.push("subjectKeyIdentifier = hash", "authorityKeyIdentifier = keyid");
  if (san.length) lines.push(`subjectAltName = ${san.join(", ")}`);
  return lines.join("\n") + "\n";
}

/**
 * Makes the whole set in a new temporary directory (about a second of
 * openssl). RSA keys: DCMTK 3.6.7's default profile offers ECDHE_RSA suites
 * only for TLS 1.2, so RSA certificates interoperate with it.
 */
export async function makeTestPki(): Promise<TestPki> {
  const dir = await Deno.makeTempDir({ prefix: "dimse_tls_" });
  try {
    return await build(dir);
  } catch (err) {
    await Deno.remove(dir, { recursive: true });
    throw err;
  }
}

let shared: Promise<TestPki> | undefined;

/**
 * One {@link TestPki} for the whole test file: made on first use (so a file
 * whose TLS tests are all skipped runs no openssl), removed when the file's
 * isolate unloads, after its last test.
 */
export function sharedTestPki(): Promise<TestPki> {
  if (!shared) {
    shared = makeTestPki();
    shared.then(
      (p) =>
        globalThis.addEventListener("unload", () => Deno.removeSync(p.dir, { recursive: true })),
      () => {},
    );
  }
  return shared;
}

/**
 * DCMTK's TLS options for a peer presenting `pair` and trusting our test
 * CA (`+tls key cert +cf ca`), then `more`.
 */
export function tlsArgs(
  p: TestPki,
  pair: { cert: string; key: string },
  more: string[] = [],
): string[] {
  return ["+tls", pair.key, pair.cert, "+cf", p.ca, ...more];
}

async function build(dir: string): Promise<TestPki> {
  const p = (name: string) => `${dir}/${name}`;

  /** A CA with its `openssl ca` database: self-signed, or issued by `parent`. */
  async function makeCa(name: string, cn: string, parent?: string): Promise<void> {
    await Deno.mkdir(p(`${name}/new`), { recursive: true });
    await Deno.writeTextFile(p(`${name}/index.txt`), "");
    await Deno.writeTextFile(p(`${name}/serial`), "1000\n");
    await Deno.writeTextFile(p(`${name}.cnf`), caConfig(name));
    if (parent) return void await issue(parent, name, cn, "ca", []);
    await newKey(name, cn, [
      "basicConstraints=critical,CA:TRUE",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
  }

  /**
   * A new RSA key `<name>.key` for CN=`cn` with a certificate request
   * `<name>.csr`, or, given `selfSigned` extensions, a self-signed
   * certificate `<name>.pem` carrying them.
   */
  async function newKey(name: string, cn: string, selfSigned?: string[]): Promise<void> {
    const out = selfSigned
      ? ["-x509", "-out", `${name}.pem`, "-days", "2", ...selfSigned.flatMap((e) => ["-addext", e])]
      : ["-out", `${name}.csr`];
    await openssl(dir, [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-subj",
      `/CN=${cn}`,
      ...out,
    ]);
  }

  async function issue(
    ca: string,
    name: string,
    cn: string,
    kind: "server" | "client" | "ca",
    san: string[],
    dates: { start: string; end: string } = { start: "", end: "" },
  ): Promise<{ cert: string; key: string }> {
    await newKey(name, cn);
    await Deno.writeTextFile(p(`${name}.ext`), extFile(kind, san));
    const validity = dates.start
      ? ["-startdate", dates.start, "-enddate", dates.end]
      : ["-days", "2"];
    await openssl(dir, [
      "ca",
      "-batch",
      "-notext",
      "-config",
      `${ca}.cnf`,
      "-in",
      `${name}.csr`,
      "-out",
      `${name}.pem`,
      "-extfile",
      `${name}.ext`,
      "-extensions",
      "leaf",
      ...validity,
    ]);
    return { cert: p(`${name}.pem`), key: p(`${name}.key`) };
  }

  const local = ["DNS:localhost", "IP:127.0.0.1"];
  await makeCa("ca", "DIMSE Test CA");
  await makeCa("otherca", "Other Test CA");
  const server = await issue("ca", "server", "localhost", "server", local);
  const client = await issue("ca", "client", "dimse-client", "client", []);
  const expired = await issue("ca", "expired", "localhost", "server", local, {
    start: "20000101000000Z",
    end: "20010101000000Z",
  });
  const wrongHost = await issue("ca", "wronghost", "wrong.example", "server", [
    "DNS:wrong.example",
    "IP:10.255.255.1",
  ]);
  const noSan = await issue("ca", "nosan", "localhost", "server", []);
  const otherCaServer = await issue("otherca", "otherserver", "localhost", "server", local);
  const otherCaClient = await issue("otherca", "otherclient", "other-client", "client", []);

  const revoked = await issue("ca", "revoked", "revoked-peer", "server", local);
  await makeCa("inter", "DIMSE Intermediate CA", "ca");
  const interLeaf = await issue("inter", "interleaf", "localhost", "server", local);
  await Deno.writeTextFile(
    p("interleaf-chain.pem"),
    (await Deno.readTextFile(interLeaf.cert)) + (await Deno.readTextFile(p("inter.pem"))),
  );
  const gencrl = (ca: string, out: string, dates = ["-crldays", "2"]) =>
    openssl(dir, ["ca", "-gencrl", "-config", `${ca}.cnf`, "-out", out, ...dates]);
  await gencrl("ca", "ca-empty.crl");
  // OpenSSL 3.0+ sets CRL dates explicitly, as `-startdate` does for certificates.
  await gencrl("ca", "ca-expired.crl", [
    "-crl_lastupdate",
    "20000101000000Z",
    "-crl_nextupdate",
    "20010101000000Z",
  ]);
  await gencrl("inter", "inter.crl");
  for (const c of ["revoked.pem", "inter.pem"]) {
    await openssl(dir, ["ca", "-config", "ca.cnf", "-revoke", c]);
  }
  await gencrl("ca", "ca-revoking.crl");
  await openssl(dir, [
    "crl",
    "-in",
    "ca-revoking.crl",
    "-outform",
    "DER",
    "-out",
    "ca-revoking-crl.der",
  ]);
  // Same issuer name as `ca`, another key: a CRL whose signature fails.
  await makeCa("fakeca", "DIMSE Test CA");
  await gencrl("fakeca", "forged.crl");

  await newKey("selfleaf", "self-signed-peer", ["basicConstraints=critical,CA:FALSE"]);
  await openssl(dir, [
    "req",
    "-new",
    "-key",
    "ca.key",
    "-subj",
    "/CN=Other Test CA",
    "-out",
    "fr.csr",
  ]);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "fr.csr",
    "-CA",
    "otherca.pem",
    "-CAkey",
    "otherca.key",
    "-days",
    "2",
    "-out",
    "forgedroot.pem",
  ]);

  const keyPassword = "dicom-secret";
  await openssl(dir, [
    "pkey",
    "-in",
    "server.key",
    "-aes256",
    "-passout",
    `pass:${keyPassword}`,
    "-out",
    "server-enc.key",
  ]);
  await openssl(dir, ["x509", "-in", "server.pem", "-outform", "DER", "-out", "server.der"]);
  await openssl(dir, ["pkey", "-in", "server.key", "-outform", "DER", "-out", "server-key.der"]);
  await Deno.mkdir(p("cadir"));
  await Deno.copyFile(p("ca.pem"), p("cadir/ca.pem"));

  return {
    dir,
    ca: p("ca.pem"),
    caDir: p("cadir"),
    server,
    serverKeyEncrypted: p("server-enc.key"),
    keyPassword,
    serverDer: { cert: p("server.der"), key: p("server-key.der") },
    client,
    expired,
    wrongHost,
    noSan,
    otherCa: p("otherca.pem"),
    otherCaServer,
    otherCaClient,
    revoked,
    inter: p("inter.pem"),
    interLeaf: { cert: p("interleaf-chain.pem"), key: interLeaf.key },
    selfSignedLeaf: p("selfleaf.pem"),
    forgedRoot: p("forgedroot.pem"),
    crl: {
      revoking: p("ca-revoking.crl"),
      revokingDer: p("ca-revoking-crl.der"),
      empty: p("ca-empty.crl"),
      expired: p("ca-expired.crl"),
      forged: p("forged.crl"),
      inter: p("inter.crl"),
    },
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}
