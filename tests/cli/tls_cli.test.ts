/**
 * The TLS option group of echoscu, storescu, echoscp and storescp (DCMTK's
 * +tls family): each option to its setting, each misuse one line and exit
 * 1, the print-and-exit actions (+cc, +ph, +vc, +rc), every TLS failure
 * named at the command line with its exit code and advice, and the --json
 * `tls` fields. Our tools only; DCMTK interop is in tls_dcmtk.test.ts.
 */
import assert from "node:assert/strict";
import { ECHOSCP_SPEC } from "../../lib/cli/echoscp/main.ts";
import { ECHOSCU_SPEC } from "../../lib/cli/echoscu/main.ts";
import { STORESCP_SPEC } from "../../lib/cli/storescp/main.ts";
import { STORESCU_SPEC } from "../../lib/cli/storescu/main.ts";
import {
  type CommandLineSpec,
  formatUsage,
  parseCommandLine,
} from "../../lib/cli/common/options.ts";
import { tlsSettings } from "../../lib/cli/common/tls_options.ts";
import type { TlsSettings } from "../../lib/transport/tls.ts";
import type { TlsSide } from "../../lib/transport/tls_errors.ts";
import { sharedTestPki as pki, tlsArgs } from "../../testing/certs.ts";
import { writeImageFile } from "../../testing/dicom_files.ts";
import { type Finished, runTool, show, withTool } from "../../testing/procs.ts";
import { withTempDir } from "../../testing/temp_files.ts";

const HOST = "localhost";

/** The settings `args` give on `side` (echoscu's or echoscp's command line). */
function settingsOf(side: TlsSide, args: string[]): TlsSettings | undefined {
  const spec = side === "client" ? ECHOSCU_SPEC : ECHOSCP_SPEC;
  const params = side === "client" ? [HOST, "104"] : ["104"];
  const parsed = parseCommandLine(spec, [...args, ...params]);
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.error);
  return tlsSettings(parsed.options, side);
}

/** The one-line error `args` give on `side`. */
function misuse(side: TlsSide, args: string[]): string {
  try {
    settingsOf(side, args);
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail(`no error for ${args.join(" ")}`);
}

// ---------------------------------------------------------------------------
// Options to settings

Deno.test("TLS options: no TLS option or -tls means plain TCP", () => {
  assert.equal(settingsOf("client", []), undefined);
  assert.equal(settingsOf("client", ["+tla", "-tls"]), undefined);
  assert.equal(settingsOf("server", ["-tls"]), undefined);
});

Deno.test("TLS options: +tls and +tla, the defaults DCMTK 3.6.8 has", () => {
  assert.deepEqual(settingsOf("client", ["+tls", "k.pem", "c.pem"]), {
    keyFile: "k.pem",
    certFile: "c.pem",
    fileFormat: "pem",
    trustedFiles: [],
    trustedDirs: [],
    verifyPeer: "require",
    profile: "bcp195-rfc8996",
  });
  const anonymous = settingsOf("client", ["+tla"])!;
  assert.equal(anonymous.keyFile, undefined);
  assert.equal(anonymous.certFile, undefined);
  assert.equal(anonymous.keyPassword, undefined);
});

Deno.test("TLS options: each option to its setting", () => {
  const t = ["+tls", "k", "c"];
  const cases: [TlsSide, string[], Partial<TlsSettings>][] = [
    ["client", [...t, "+pw", "secret"], { keyPassword: "secret" }],
    ["client", [...t, "-pw"], { keyPassword: "" }],
    ["client", [...t, "+pw", "x", "+ps"], { keyPassword: undefined }],
    ["client", [...t, "-der"], { fileFormat: "der" }],
    ["client", [...t, "-der", "-pem"], { fileFormat: "pem" }],
    ["client", [...t, "+cf", "a.pem", "+cf", "b.pem"], { trustedFiles: ["a.pem", "b.pem"] }],
    ["client", [...t, "+cd", "dir"], { trustedDirs: ["dir"] }],
    ["client", [...t, "+crl", "x.crl"], { crlFiles: ["x.crl"], crlCheck: "leaf" }],
    ["client", [...t, "+crv"], { crlCheck: "leaf" }],
    ["client", [...t, "+crl", "x.crl", "+cra"], { crlFiles: ["x.crl"], crlCheck: "chain" }],
    ["client", [...t, "+pm"], { profile: "bcp195-rfc8996-mod" }],
    ["client", [...t, "+py"], { profile: "bcp195-nd" }],
    ["client", [...t, "+px"], { profile: "bcp195" }],
    ["client", [...t, "+pz"], { profile: "bcp195-ex" }],
    ["client", [...t, "+pb"], { profile: "basic" }],
    ["client", [...t, "+pa", "+pg"], { profile: "bcp195-rfc8996" }],
    ["client", [...t, "-ic"], { verifyPeer: "ignore" }],
    ["client", [...t, "-vc"], { verifyPeer: "verify-if-present" }],
    ["server", [...t, "-vc", "-rc"], { verifyPeer: "require" }],
    ["server", [...t, "-vc"], { verifyPeer: "verify-if-present" }],
    ["client", ["+tla", "--request-sni", "pacs.example"], { serverName: "pacs.example" }],
    ["client", ["+tla", "--no-sni"], { serverName: false }],
    // +cs: IANA or OpenSSL names, and the versions narrowed to where they exist.
    ["client", ["+tla", "+cs", "TLS_AES_128_GCM_SHA256"], {
      ciphers: ["TLS_AES_128_GCM_SHA256"],
      minVersion: "TLSv1.3",
      maxVersion: "TLSv1.3",
    }],
    ["client", ["+tla", "+cs", "ECDHE-RSA-AES128-GCM-SHA256"], {
      ciphers: ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
      minVersion: "TLSv1.2",
      maxVersion: "TLSv1.2",
    }],
    ["server", [...t, "+cs", "TLS_AES_256_GCM_SHA384", "+cs", "ECDHE-RSA-AES256-GCM-SHA384"], {
      ciphers: ["TLS_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"],
      minVersion: "TLSv1.2",
      maxVersion: "TLSv1.3",
    }],
  ];
  for (const [side, args, want] of cases) {
    const got = settingsOf(side, args) as Record<string, unknown>;
    for (const [k, v] of Object.entries(want)) {
      assert.deepEqual(got[k], v, `${args.join(" ")}: ${k}`);
    }
  }
});

Deno.test("TLS options: each misuse is DCMTK's one line", () => {
  const cases: [TlsSide, string[], string][] = [
    ["client", ["+pw", "x"], "--use-passwd only allowed with --enable-tls"],
    ["client", ["+tla", "-pw"], "--null-passwd only allowed with --enable-tls"],
    ["client", ["+ps"], "--std-passwd only allowed with --enable-tls"],
    [
      "client",
      ["+cf", "ca.pem"],
      "--add-cert-file only allowed with --enable-tls or --anonymous-tls",
    ],
    ["server", ["+cf", "ca.pem"], "--add-cert-file only allowed with --enable-tls"],
    ["client", ["+cd", "d"], "--add-cert-dir only allowed with --enable-tls or --anonymous-tls"],
    ["client", ["+crl", "f"], "--add-crl-file only allowed with --enable-tls or --anonymous-tls"],
    ["client", ["+cra"], "--enable-crl-all only allowed with --enable-tls or --anonymous-tls"],
    ["client", ["-der"], "--der-keys only allowed with --enable-tls or --anonymous-tls"],
    ["client", ["+px"], "--profile-bcp195 only allowed with --enable-tls or --anonymous-tls"],
    ["client", ["-ic"], "--ignore-peer-cert only allowed with --enable-tls or --anonymous-tls"],
    ["server", ["-vc"], "--verify-peer-cert only allowed with --enable-tls"],
    [
      "client",
      ["+cs", "TLS_AES_128_GCM_SHA256"],
      "--cipher only allowed with --enable-tls or --anonymous-tls",
    ],
    ["client", ["+rs", "seed"], "--seed only allowed with --enable-tls or --anonymous-tls"],
    ["client", ["+tla", "+ws"], "--write-seed only allowed with --seed"],
    ["client", ["+tla", "+wf", "out"], "--write-seed-file only allowed with --seed"],
    [
      "client",
      ["--request-sni", "x"],
      "--request-sni only allowed with --enable-tls or --anonymous-tls",
    ],
    [
      "client",
      ["+tla", "--no-sni", "--request-sni", "x"],
      "--no-sni not allowed with --request-sni",
    ],
    [
      "client",
      ["+tla", "+pz", "+cs", "TLS_AES_128_GCM_SHA256"],
      "--cipher not allowed with --profile-bcp195-ex",
    ],
    [
      "client",
      ["+tla", "+pn"],
      "--profile-null is not supported: the TLS stack has no NULL cipher suites",
    ],
  ];
  for (const [side, args, want] of cases) assert.equal(misuse(side, args), want, args.join(" "));
  assert.match(
    misuse("client", ["+tla", "+cs", "TLS_RSA_WITH_AES_128_CBC_SHA"]),
    /^Invalid value for option --cipher \(TLS_RSA_WITH_AES_128_CBC_SHA\): not a ciphersuite this TLS stack offers/,
  );
  assert.match(
    misuse("client", ["+tla", "+pa", "+cs", "TLS_AES_128_GCM_SHA256"]),
    /^--cipher: none of the ciphersuites given can be negotiated with the selected profile \(TLS 1\.0 to 1\.2/,
  );
  assert.match(
    misuse("server", ["+tls", "k", "c", "+dp", "dh.pem"]),
    /^--dhparam is not supported: the TLS stack has no finite-field \(DHE\) cipher suites/,
  );
});

/** One line on stderr ("tool: message"), exit 1, nothing on stdout. */
function assertOneLine(r: Finished, tool: string, message: string | RegExp): void {
  assert.equal(r.code, 1, show(r));
  assert.equal(r.stdout, "", show(r));
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, show(r));
  if (typeof message === "string") assert.equal(lines[0], `${tool}: ${message}`);
  else assert.match(lines[0], message);
}

Deno.test("TLS options at the command line: misuse is one line and exit 1, on every tool", async () => {
  const cases: [string, string[], string][] = [
    ["echoscu", ["+pw", "x", HOST, "104"], "--use-passwd only allowed with --enable-tls"],
    [
      "storescu",
      ["+cf", "ca.pem", HOST, "104", "f.dcm"],
      "--add-cert-file only allowed with --enable-tls or --anonymous-tls",
    ],
    ["echoscp", ["+tla", "104"], "Unknown option +tla"],
    ["storescp", ["+tls", "k", "c", "+dp", "dh.pem", "104"], ""],
    ["echoscu", ["--dhparam", "dh.pem", HOST, "104"], "Unknown option --dhparam"],
    ["echoscp", ["--request-sni", "x", "104"], "Unknown option --request-sni"],
  ];
  for (const [tool, args, message] of cases) {
    const r = await runTool(tool, args);
    assertOneLine(r, tool, message || /^storescp: --dhparam is not supported: /);
  }
});

Deno.test("TLS options in the help: the group on all four tools, each side's own options", () => {
  const help = (spec: CommandLineSpec) => formatUsage(spec, "");
  for (const spec of [ECHOSCU_SPEC, STORESCU_SPEC, ECHOSCP_SPEC, STORESCP_SPEC]) {
    const text = help(spec);
    const client = spec === ECHOSCU_SPEC || spec === STORESCU_SPEC;
    assert.match(
      text,
      /\ntransport layer security \(TLS\) options:\n {2}transport protocol stack:\n/,
    );
    assert.match(
      text,
      /\n {4}\+tls {2}--enable-tls +\[p\]rivate key file, \[c\]ertificate file: string\n/,
    );
    assert.equal(/\+tla {2}--anonymous-tls/.test(text), client, spec.tool);
    assert.equal(/--request-sni/.test(text), client, spec.tool);
    assert.equal(/\+vc {3}--verify-cert/.test(text), client, spec.tool);
    assert.equal(/\+dp {3}--dhparam/.test(text), !client, spec.tool);
    assert.match(text, /-vc {3}--verify-peer-cert +verify peer certificate if present\n/);
    assert.match(text, /\+pg {3}--profile-8996 +BCP 195 RFC 8996 TLS Profile \(default\)\n/);
  }
  // DCMTK's column layout: storescp's 21-wide long column.
  assert.match(
    help(STORESCP_SPEC),
    /\n {4}-rc {3}--require-peer-cert {4}verify peer certificate, fail if absent \(default\)\n/,
  );
});

// ---------------------------------------------------------------------------
// Print and exit: +cc, +ph, +vc, +rc

/** Every suite the stack offers (tls_options.ts; found by probing node:tls with openssl). */
const SUITES = [
  "TLS_AES_256_GCM_SHA384",
  "TLS_AES_128_GCM_SHA256",
  "TLS_CHACHA20_POLY1305_SHA256",
  "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
  "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

Deno.test("+cc lists the suites the stack offers and exits 0, without parameters", async () => {
  for (const tool of ["echoscu", "storescp"]) {
    const r = await runTool(tool, ["+cc"]);
    assert.equal(r.code, 0, show(r));
    const list = r.stdout.split("Supported TLS ciphersuites are:\n")[1];
    assert.deepEqual(list.trimEnd().split("\n").map((l) => l.trim()), SUITES);
    assert.match(r.stdout, new RegExp(`^\\$dimse-deno: ${tool} v`));
  }
});

Deno.test("+cs: every suite +cc lists is accepted, by either name", () => {
  for (const s of SUITES) assert.deepEqual(settingsOf("client", ["+tla", "+cs", s])!.ciphers, [s]);
});

Deno.test("+ph lists the profiles, the default marked, +pn refused, and exits 0", async () => {
  const r = await runTool("storescu", ["+ph"]);
  assert.equal(r.code, 0, show(r));
  const text = r.stdout.split("Supported TLS profiles are:\n")[1];
  assert.match(
    text,
    /\+pg {3}--profile-8996 +BCP 195 RFC 8996 TLS Profile\n +TLS 1\.2 to 1\.3 \(default\)\n/,
  );
  assert.match(
    text,
    /\+px {3}--profile-bcp195 +BCP 195 TLS Profile\n +TLS 1\.0 to 1\.3 \(the stack offers TLS 1\.2 and newer only\)\n/,
  );
  assert.match(
    text,
    /\+pn {3}--profile-null .*\n +not supported: the TLS stack has no NULL cipher suites\n/,
  );
  assert.equal(text.match(/\(default\)/g)?.length, 1);
});

Deno.test("+vc: DCMTK's verdict, exit 0 when the certificate verifies, 22 when not", async () => {
  const p = await pki();
  const ok = await runTool("echoscu", ["+tla", "+cf", p.ca, "+vc", p.server.cert, HOST, "104"]);
  assert.equal(ok.code, 0, show(ok));
  assert.equal(ok.stdout, `Verification of certificate '${p.server.cert}' passed.\n`);
  const other = await runTool("storescu", [
    "+tla",
    "+cf",
    p.ca,
    "+vc",
    p.otherCaServer.cert,
    HOST,
    "104",
    "x.dcm",
  ]);
  assert.equal(other.code, 22, show(other));
  assert.match(
    other.stdout,
    /^Verification of certificate '.*otherserver\.pem' failed: unable to get local issuer/,
  );
  const expired = await runTool("echoscu", ["+tla", "+cf", p.ca, "+vc", p.expired.cert, HOST, "1"]);
  assert.equal(expired.code, 22, show(expired));
  assert.match(expired.stdout, /failed: certificate has expired/);
  // A trust list that cannot be read is a credentials failure, not a verdict.
  const noCa = await runTool("echoscu", [
    "+tla",
    "+cf",
    `${p.dir}/none.pem`,
    "+vc",
    p.ca,
    HOST,
    "1",
  ]);
  assert.equal(noCa.code, 1, show(noCa));
  assert.match(
    noCa.stderr,
    /^F: cannot load TLS key or certificate: trusted certificate .*none\.pem/,
  );
});

Deno.test("+rc: a self-signed root CA passes (exit 0), a leaf does not (exit 22)", async () => {
  const p = await pki();
  const ca = await runTool("echoscu", ["+rc", p.ca, HOST, "104"]);
  assert.equal(ca.code, 0, show(ca));
  assert.equal(ca.stdout, `Certificate '${p.ca}' is a valid, self-signed root CA.\n`);
  const leaf = await runTool("echoscu", ["+rc", p.server.cert, HOST, "104"]);
  assert.equal(leaf.code, 22, show(leaf));
  assert.match(leaf.stdout, /is not a valid, self-signed root CA: its issuer is CN=DIMSE Test CA/);
});

// ---------------------------------------------------------------------------
// Failures named at the command line

const echoscu = (args: string[], input?: string) => runTool("echoscu", args, 30_000, input);

/** echoscu's failed run: exit code, the fatal line's TLS cause and the diagnosis's advice. */
function assertFailure(r: Finished, code: number, cause: RegExp, advice: RegExp): void {
  assert.equal(r.code, code, show(r));
  const fatal = r.stderr.split("\n").find((l) => l.startsWith("F: "));
  assert.match(fatal ?? "", cause, show(r));
  const diagnosis = r.stderr.split("\n").findLast((l) => l.startsWith("E: "));
  assert.match(diagnosis ?? "", advice, show(r));
}

Deno.test("echoscu +tla at a plain port: named, exit 60; the plain server names the ClientHello", async () => {
  await withTool("echoscp", [], async (port, scp) => {
    const r = await echoscu(["+tla", "-ic", "127.0.0.1", String(port)]);
    assertFailure(
      r,
      60,
      /^F: Association Request Failed: TLS error: the server does not speak TLS/,
      /drop \+tls\/\+tla, or use the peer's TLS port/,
    );
    const ev = await scp.waitForEvent((e) => e.type === "connection-error");
    assert.match(String(ev.diagnosis), /unrecognized PDU type 0x16: looks like a TLS ClientHello/);
  });
});

Deno.test("plain echoscu at a TLS port: the TLS alert named, exit 66", async () => {
  const p = await pki();
  await withTool("echoscp", tlsArgs(p, p.server), async (port, scp) => {
    const r = await echoscu(["127.0.0.1", String(port)]);
    assertFailure(
      r,
      66,
      /looks like a TLS alert: does the peer expect TLS\?/,
      /it expects TLS on this port; use \+tls key cert or \+tla/,
    );
    const ev = await scp.waitForEvent((e) => e.type === "connection-error");
    assert.equal(ev.tlsFailure, "plain-tcp-peer");
    assert.match(
      scp.stderr,
      /^E: TLS connection from 127\.0\.0\.1:\d+ refused: the client does not speak TLS/m,
    );
  });
});

Deno.test("TLS failures at the server's certificate: each named, exit 60, with advice", async () => {
  const p = await pki();
  const selfSigned = { cert: p.ca, key: p.ca.replace(/\.pem$/, ".key") };
  const cases: [string, { cert: string; key: string }, string[], RegExp, RegExp][] = [
    [
      "unknown CA",
      p.otherCaServer,
      [],
      /TLS error: the server's certificate is not issued by a trusted CA/,
      /give \+cf the certificate of the CA that issued it/,
    ],
    [
      "self-signed",
      selfSigned,
      ["+cf", p.otherCa],
      /TLS error: the server's certificate is self-signed and not trusted/,
      /if you trust it, give \+cf that certificate itself/,
    ],
    [
      "expired",
      p.expired,
      [],
      /TLS error: the server's certificate has expired/,
      /must renew it/,
    ],
    [
      "hostname mismatch",
      p.wrongHost,
      [],
      /TLS error: the server's certificate is not issued for the host we connected to/,
      /connect by a name the certificate holds, or name one with --request-sni/,
    ],
  ];
  for (const [what, pair, clientExtra, cause, advice] of cases) {
    await withTool("echoscp", tlsArgs(p, pair, ["-ic"]), async (port) => {
      const trust = clientExtra.length ? clientExtra : ["+cf", p.ca];
      const r = await echoscu(["+tla", ...trust, HOST, String(port)]);
      assertFailure(r, 60, cause, advice);
      assert.ok(r.stderr.includes("F: Association Request Failed: TLS error: "), what);
    });
  }
});

Deno.test("--request-sni: the certificate is checked against the name requested", async () => {
  const p = await pki();
  await withTool("echoscp", tlsArgs(p, p.wrongHost, ["-ic"]), async (port) => {
    const r = await echoscu([
      "+tla",
      "+cf",
      p.ca,
      "--request-sni",
      "wrong.example",
      HOST,
      String(port),
    ]);
    assert.equal(r.code, 0, show(r));
  });
});

Deno.test("no client certificate: the server names it and keeps serving; the client is told", async () => {
  const p = await pki();
  await withTool("echoscp", tlsArgs(p, p.server), async (port, scp) => {
    const r = await echoscu(["+tla", "+cf", p.ca, HOST, String(port)]);
    assertFailure(
      r,
      66,
      /Association Request Failed: peer closed the connection without answering/,
      /closed the TLS connection without answering the A-ASSOCIATE-RQ: it may refuse our certificate or require one/,
    );
    const ev = await scp.waitForEvent((e) => e.type === "connection-error");
    assert.equal(ev.tlsFailure, "no-peer-certificate");
    assert.match(
      scp.stderr,
      /^E: TLS connection from 127\.0\.0\.1:\d+ refused: the client presented no certificate, but one is required \(-rc\)$/m,
    );
    const good = await echoscu([...tlsArgs(p, p.client), HOST, String(port)]);
    assert.equal(good.code, 0, show(good));
  });
});

Deno.test("a client certificate from another CA: refused at the server as unknown CA", async () => {
  const p = await pki();
  await withTool("echoscp", tlsArgs(p, p.server), async (port, scp) => {
    const c = p.otherCaClient;
    const r = await echoscu(tlsArgs(p, c, [HOST, String(port)]));
    assert.equal(r.code, 66, show(r));
    const ev = await scp.waitForEvent((e) => e.type === "connection-error");
    assert.equal(ev.tlsFailure, "unknown-ca");
    assert.match(
      String(ev.diagnosis),
      /the client's certificate is not issued by a trusted CA .*CN=other-client/,
    );
  });
});

Deno.test("no protocol version in common (+cs pins each side to one): named, exit 60", async () => {
  const p = await pki();
  await withTool(
    "echoscp",
    tlsArgs(p, p.server, ["-ic", "+cs", "TLS_AES_128_GCM_SHA256"]),
    async (port) => {
      const r = await echoscu([
        "+tla",
        "+cf",
        p.ca,
        "+cs",
        "ECDHE-RSA-AES128-GCM-SHA256",
        HOST,
        String(port),
      ]);
      assertFailure(
        r,
        60,
        /TLS error: no TLS protocol version in common with the server/,
        /try another profile/,
      );
    },
  );
});

Deno.test("+cs: a negotiated suite outside the list ends the connection, named, exit 60", async () => {
  const p = await pki();
  await withTool("echoscp", tlsArgs(p, p.server, ["-ic"]), async (port) => {
    // The server prefers AES-256 (rustls' order): the client allows AES-128 only.
    const r = await echoscu([
      "+tla",
      "+cf",
      p.ca,
      "+cs",
      "TLS_AES_128_GCM_SHA256",
      HOST,
      String(port),
    ]);
    if (r.code === 0) return assert.fail(`the server chose the listed suite:\n${show(r)}`);
    assertFailure(
      r,
      60,
      /TLS error: the negotiated cipher suite is not in the allowed list \(\+cs\): TLS_AES_256_GCM_SHA384/,
      /add the suite with \+cs, or drop \+cs/,
    );
    const ok = await echoscu([
      "+tla",
      "+cf",
      p.ca,
      "+cs",
      "TLS_AES_256_GCM_SHA384",
      "--json",
      HOST,
      String(port),
    ]);
    assert.equal(ok.code, 0, show(ok));
    assert.equal(
      JSON.parse(ok.stdout.trimEnd().split("\n").pop()!).tls.cipher,
      "TLS_AES_256_GCM_SHA384",
    );
  });
});

Deno.test("key passwords: wrong one named, exit 1; +pw and +ps from piped stdin open the key", async () => {
  const p = await pki();
  // server.pem has clientAuth too: it serves as our client certificate here.
  const key = ["+tls", p.serverKeyEncrypted, p.server.cert, "+cf", p.ca];
  await withTool("echoscp", tlsArgs(p, p.server), async (port) => {
    const wrong = await echoscu([...key, "+pw", "nope", HOST, String(port)]);
    assert.equal(wrong.code, 1, show(wrong));
    assert.match(
      wrong.stderr,
      /^F: cannot decrypt the private key: wrong password for .*server-enc\.key; give the key's password with \+pw/m,
    );
    const none = await echoscu([...key, "-pw", HOST, String(port)]);
    assert.equal(none.code, 1, show(none));
    const given = await echoscu([...key, "+pw", p.keyPassword, HOST, String(port)]);
    assert.equal(given.code, 0, show(given));
    const piped = await echoscu([...key, HOST, String(port)], `${p.keyPassword}\n`);
    assert.equal(piped.code, 0, show(piped));
    const pipedWrong = await echoscu([...key, "+ps", HOST, String(port)], "nope\n");
    assert.equal(pipedWrong.code, 1, show(pipedWrong));
    assert.match(pipedWrong.stderr, /wrong password/);
  });
});

Deno.test("credentials: a key that does not match the certificate is named, exit 1", async () => {
  const p = await pki();
  const r = await echoscu(["+tls", p.client.key, p.server.cert, HOST, "104"]);
  assert.equal(r.code, 1, show(r));
  assert.match(
    r.stderr,
    /^F: the private key does not belong to the certificate: .*; \+tls takes the private key first/m,
  );
  const scp = await runTool("storescp", ["+tls", `${p.dir}/missing.key`, p.server.cert, "0"]);
  assert.equal(scp.code, 1, show(scp));
  assert.match(scp.stderr, /^F: cannot load TLS key or certificate: key .*missing\.key/m);
});

// ---------------------------------------------------------------------------
// Random seed files, --json

Deno.test("+rs/+ws/+wf: the seed file must exist; a fresh 1024-byte seed is written back", async () => {
  const p = await pki();
  await withTempDir("dimse-tls-seed-", async (dir) => {
    const seed = `${dir}/seed.bin`;
    await Deno.writeFile(seed, new Uint8Array(16));
    const base = ["+tla", "+cf", p.ca, "+rs", seed];
    // +rc exits before connecting: the seed options are read all the same.
    const missing = await runTool("echoscu", [
      "+tla",
      "+rs",
      `${dir}/none`,
      "+rc",
      p.ca,
      HOST,
      "1",
    ]);
    assertOneLine(missing, "echoscu", /^echoscu: cannot read random seed file '.*none': /);
    await withTool("echoscp", tlsArgs(p, p.server, ["-ic"]), async (port) => {
      const ws = await echoscu(["-d", ...base, "+ws", HOST, String(port)]);
      assert.equal(ws.code, 0, show(ws));
      assert.match(ws.stderr, /D: random seed file '.*seed\.bin' read; not needed/);
      const rotated = await Deno.readFile(seed);
      assert.equal(rotated.length, 1024);
      assert.ok(rotated.some((b) => b !== 0));
      const wf = await echoscu([...base, "+wf", `${dir}/next.bin`, HOST, String(port)]);
      assert.equal(wf.code, 0, show(wf));
      assert.equal((await Deno.readFile(`${dir}/next.bin`)).length, 1024);
      assert.deepEqual(await Deno.readFile(seed), rotated);
    });
  });
});

Deno.test("--json: echoscu's and storescu's tls fields, the server's tls-established event", async () => {
  const p = await pki();
  await withTempDir("dimse-tls-json-", async (dir) => {
    await writeImageFile(`${dir}/a.dcm`, { rows: 8, cols: 8 });
    await withTool("storescp", [...tlsArgs(p, p.server), "-od", dir], async (port, scp) => {
      const client = tlsArgs(p, p.client, ["--json"]);
      const e = await echoscu([...client, "-v", HOST, String(port)]);
      assert.equal(e.code, 0, show(e));
      const rec = JSON.parse(e.stdout.trimEnd().split("\n").pop()!);
      assert.equal(rec.tls.protocol, "TLSv1.3");
      assert.deepEqual(
        { ...rec.tls, protocol: undefined, cipher: undefined },
        {
          protocol: undefined,
          cipher: undefined,
          peerSubject: "CN=localhost",
          peerIssuer: "CN=DIMSE Test CA",
          peerVerified: true,
        },
      );
      assert.ok(SUITES.includes(rec.tls.cipher), rec.tls.cipher);
      assert.match(
        e.stderr,
        /^I: TLS connection established with localhost:\d+: TLSv1\.3, TLS_\w+ \(CN=localhost, verified\)$/m,
      );
      const s = await runTool("storescu", [...client, HOST, String(port), `${dir}/a.dcm`]);
      assert.equal(s.code, 0, show(s));
      const summary = JSON.parse(s.stdout.trimEnd().split("\n").pop()!);
      assert.equal(summary.type, "summary");
      assert.equal(summary.tls.peerSubject, "CN=localhost");
      const established = scp.events().filter((ev) => ev.type === "tls-established");
      assert.equal(established.length, 2);
      assert.deepEqual(
        (established[0].tls as Record<string, unknown>).peerSubject,
        "CN=dimse-client",
      );
      assert.equal((established[0].tls as Record<string, unknown>).peerVerified, true);
      // Each association-received follows the tls-established of its connection.
      const order = scp.events().map((ev) => `${ev.type}@${JSON.stringify(ev.peer ?? "")}`);
      const peer = JSON.stringify(established[0].peer);
      assert.ok(
        order.indexOf(`tls-established@${peer}`) < order.indexOf(`association-received@${peer}`),
        order.join("\n"),
      );
    });
    await withTool("echoscp", [], async (port) => {
      const plain = await echoscu(["--json", "127.0.0.1", String(port)]);
      assert.equal(plain.code, 0, show(plain));
      assert.equal(JSON.parse(plain.stdout.trimEnd().split("\n").pop()!).tls, null);
    });
  });
});

Deno.test("-d: DCMTK's TLS CONNECTION DETAILS block", async () => {
  const p = await pki();
  await withTool("echoscp", tlsArgs(p, p.server, ["-ic"]), async (port) => {
    const r = await echoscu(["-d", "+tla", "+cf", p.ca, HOST, String(port)]);
    assert.equal(r.code, 0, show(r));
    const lines = r.stderr.split("\n");
    const begin = lines.indexOf(
      "D: ================== BEGIN TLS CONNECTION DETAILS =================",
    );
    assert.ok(begin > 0, show(r));
    assert.deepEqual(lines.slice(begin + 1, begin + 4), [
      "D: Transport connection: TLS over TCP/IP",
      "D:   Protocol    : TLSv1.3",
      lines[begin + 3],
    ]);
    assert.match(lines[begin + 3], /^D: {3}Ciphersuite : TLS_/);
    assert.equal(lines[begin + 5], "D:   Subject     : CN=localhost");
  });
});
