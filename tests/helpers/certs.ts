/**
 * Test helper: certificates made at test time with the openssl CLI, so no
 * key material is checked in and none expires in the repository. One
 * temporary directory holds a CA, certificates it issued (server for
 * localhost/127.0.0.1, client, expired, wrong host, no subjectAltName), a
 * second CA with a server certificate of its own, an encrypted private key
 * and DER copies; {@link TestPki.cleanup} removes it.
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

/** Writes the x509v3 extension section a leaf gets: server auth or client auth, with SANs. */
function extFile(kind: "server" | "client", san: string[]): string {
  const lines = [
    "[leaf]",
    "basicConstraints = critical, CA:FALSE",
    "keyUsage = critical, digitalSignature, keyEncipherment",
    `extendedKeyUsage = ${kind === "server" ? "serverAuth, clientAuth" : "clientAuth"}`,
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid",
  ];
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

async function build(dir: string): Promise<TestPki> {
  const p = (name: string) => `${dir}/${name}`;

  async function makeCa(name: string, cn: string): Promise<void> {
    await Deno.mkdir(p(`${name}/new`), { recursive: true });
    await Deno.writeTextFile(p(`${name}/index.txt`), "");
    await Deno.writeTextFile(p(`${name}/serial`), "1000\n");
    await Deno.writeTextFile(p(`${name}.cnf`), caConfig(name));
    await openssl(dir, [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.pem`,
      "-subj",
      `/CN=${cn}`,
      "-days",
      "2",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
  }

  async function issue(
    ca: string,
    name: string,
    cn: string,
    kind: "server" | "client",
    san: string[],
    dates: { start: string; end: string } = { start: "", end: "" },
  ): Promise<{ cert: string; key: string }> {
    await openssl(dir, [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${cn}`,
    ]);
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
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}
