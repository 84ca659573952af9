/**
 * Certificate revocation on DICOM TLS connections (DCMTK +crl / +crv /
 * +cra), checked by our code after the handshake and before any DICOM
 * byte, on both sides, and against DCMTK in both directions. Certificates
 * and CRLs come from testing/certs.ts.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import {
  connectTls,
  listenTls,
  loadTlsCredentials,
  TlsError,
  type TlsFailureKind,
  type TlsSettings,
  type TlsTransport,
} from "../../lib/transport/tls.ts";
import { sharedTestPki as pki, type TestPki, tlsArgs } from "../../testing/certs.ts";
import { until } from "../../testing/bad_peer.ts";
import { dcmtkAvailable, runCommand, show, startStorescp } from "../../testing/procs.ts";
import {
  connectLoopback,
  echoOverTls,
  expectTlsError,
  listenLoopback,
  serving,
  startTlsEchoScp,
} from "../../testing/tls_loopback.ts";
import { readSome } from "../../testing/transport_reads.ts";

/** DCMTK for the interop tests: skipped without it locally, a failure in CI. */
const HAVE_DCMTK = dcmtkAvailable();

const serialOf = (path: string) => new X509Certificate(Deno.readFileSync(path)).serialNumber;

/** Client-side verdict on the server presenting `cert`, with the client's CRL settings. */
async function clientVerdict(
  cert: { cert: string; key: string },
  crl: Partial<TlsSettings>,
): Promise<TlsTransport | TlsError> {
  const p = await pki();
  const srv = await listenLoopback(serving(cert));
  try {
    const c = await connectLoopback(srv.port, { trustedFiles: [p.ca], ...crl }).catch((e) => e);
    if (!(c instanceof TlsError)) {
      assert.ok(!(c instanceof Error), String(c));
      c.close();
    }
    return c;
  } finally {
    srv.listener.close();
  }
}

function assertRefused(v: TlsTransport | TlsError, kind: TlsFailureKind): TlsError {
  assert.ok(v instanceof TlsError, `refused as ${kind}, but the connection was accepted`);
  assert.equal(v.kind, kind, `${v.kind}: ${v.message}`);
  return v;
}

Deno.test("CRL +crv: the client refuses a revoked server certificate, naming serial and date", async () => {
  const p = await pki();
  const err = assertRefused(
    await clientVerdict(p.revoked, { crlFiles: [p.crl.revoking] }),
    "revoked",
  );
  assert.match(
    err.message,
    new RegExp(
      `^the server's certificate has been revoked \\(CN=revoked-peer, serial ${
        serialOf(p.revoked.cert)
      }, revoked \\d{4}-\\d\\d-\\d\\dT`,
    ),
  );
  // The same CRL as DER (-der).
  assertRefused(
    await clientVerdict(p.revoked, { crlFiles: [p.crl.revokingDer], fileFormat: "der" }),
    "revoked",
  );
  // -ic: the peer is not verified, so not checked for revocation either.
  const ignored = await clientVerdict(p.revoked, {
    crlFiles: [p.crl.revoking],
    verifyPeer: "ignore",
  });
  assert.ok(!(ignored instanceof TlsError), "-ic accepts it");
});

Deno.test("CRL +crv: a certificate the CRL does not list passes, verified", async () => {
  const p = await pki();
  for (const crl of [p.crl.revoking, p.crl.empty]) {
    const v = await clientVerdict(p.server, { crlFiles: [crl], crlCheck: "leaf" });
    assert.ok(!(v instanceof TlsError), `${crl}: ${v}`);
    assert.equal(v.tls.peerVerified, true);
  }
});

Deno.test("CRL: no valid CRL from the issuer is crl-missing, an out-of-date one crl-expired", async () => {
  const p = await pki();
  // +crv with no CRL at all: nothing to check against.
  const none = assertRefused(await clientVerdict(p.server, { crlCheck: "leaf" }), "crl-missing");
  assert.match(none.message, /no valid CRL of its CA was loaded.*issuer CN=DIMSE Test CA/);
  // A CRL naming the CA but signed by another key is not used (OpenSSL: CRL signature failure).
  const forged = assertRefused(
    await clientVerdict(p.server, { crlFiles: [p.crl.forged] }),
    "crl-missing",
  );
  assert.match(forged.message, /forged\.crl names it but its signature does not verify/);
  // A CRL of another CA says nothing about this certificate.
  assertRefused(await clientVerdict(p.server, { crlFiles: [p.crl.inter] }), "crl-missing");
  const expired = assertRefused(
    await clientVerdict(p.server, { crlFiles: [p.crl.expired] }),
    "crl-expired",
  );
  assert.match(expired.message, /not current.*next update was due 2001-01-01T00:00:00/);
});

Deno.test("CRL +cra: a revoked intermediate CA is caught by +cra, not by +crv", async () => {
  const p = await pki();
  // One PEM file holding both CRLs: the root's (revoking the intermediate) and the intermediate's.
  const both = `${p.dir}/both-crls.pem`;
  await Deno.writeTextFile(
    both,
    (await Deno.readTextFile(p.crl.revoking)) + (await Deno.readTextFile(p.crl.inter)),
  );
  const leafOnly = await clientVerdict(p.interLeaf, { crlFiles: [both], crlCheck: "leaf" });
  assert.ok(!(leafOnly instanceof TlsError), `+crv passes: ${leafOnly}`);
  const chain = assertRefused(
    await clientVerdict(p.interLeaf, { crlFiles: [both], crlCheck: "chain" }),
    "revoked",
  );
  assert.match(chain.message, /CA certificate in its chain: CN=DIMSE Intermediate CA, serial/);
  // +cra needs a CRL for every certificate of the path, the root's own included.
  const missing = assertRefused(
    await clientVerdict(p.interLeaf, { crlFiles: [p.crl.inter], crlCheck: "chain" }),
    "crl-missing",
  );
  assert.match(missing.message, /CN=DIMSE Intermediate CA, issuer CN=DIMSE Test CA/);
  const current = await clientVerdict(p.interLeaf, {
    crlFiles: [p.crl.empty, p.crl.inter],
    crlCheck: "chain",
  });
  assert.ok(!(current instanceof TlsError), `+cra with nothing revoked passes: ${current}`);
});

Deno.test("CRL +crv on the server: a revoked client is refused before any byte is read", async () => {
  const p = await pki();
  const srv = await listenLoopback(
    serving(p.server, { trustedFiles: [p.ca], verifyPeer: "require", crlFiles: [p.crl.revoking] }),
  );
  try {
    const client = (cert: { cert: string; key: string }) =>
      connectLoopback(srv.port, { trustedFiles: [p.ca], keyFile: cert.key, certFile: cert.cert });
    // TLS 1.3: the client's handshake completes before the server's verdict,
    // so it can send at once; the server must not hand those bytes on.
    const bad = await client(p.revoked).catch((e) => e);
    if (!(bad instanceof Error)) {
      await bad.write(new TextEncoder().encode("A-ASSOCIATE-RQ")).catch(() => {});
      assert.equal(await readSome(bad).catch(() => null), null, "the server closes the connection");
      bad.close();
    }
    await until(() => srv.refused.length > 0, "the server's refusal");
    const err = srv.refused[0].err;
    assert.equal(err.kind, "revoked");
    assert.match(err.message, /^the client's certificate has been revoked \(CN=revoked-peer, /);
    // The next connection accepted is the good client's: the revoked one never was.
    const ok = await client(p.client);
    const accepted = (await srv.listener.accept())! as TlsTransport;
    assert.equal(accepted.tls.peerSubject, "CN=dimse-client");
    await ok.write(new Uint8Array([7]));
    assert.deepEqual(await readSome(accepted), new Uint8Array([7]));
    ok.close();
    accepted.close();
  } finally {
    srv.listener.close();
  }
});

Deno.test("CRL files are checked when loaded: not a CRL, unreadable, parsed once", async () => {
  const p = await pki();
  assert.throws(
    () => loadTlsCredentials({ trustedFiles: [p.ca], crlFiles: [`${p.dir}/none.crl`] }),
    (e: unknown) =>
      e instanceof TlsError && e.kind === "bad-credentials" && /none\.crl/.test(e.message),
  );
  // A PEM certificate is no CRL: refused while loading.
  assert.throws(
    () => loadTlsCredentials({ crlFiles: [p.client.cert] }),
    (e: unknown) => e instanceof TlsError && e.message.includes(`no CRL in ${p.client.cert}`),
  );
  // A DER certificate is refused once parsed, before connecting or binding.
  const err = await expectTlsError(
    connectTls("127.0.0.1", 1, { crlFiles: [p.serverDer.cert], fileFormat: "der" }),
    "bad-credentials",
  );
  assert.match(err.message, /server\.der is not a CRL/);
  await expectTlsError(
    listenTls("127.0.0.1", 0, serving(p.server, { crlFiles: [p.serverDer.cert] })),
    "bad-credentials",
  );
  const creds = loadTlsCredentials({ crlFiles: [p.crl.revoking, p.crl.inter] });
  const lists = await creds.crls!;
  assert.deepEqual(lists.map((l) => l.issuer), ["CN=DIMSE Test CA", "CN=DIMSE Intermediate CA"]);
  assert.deepEqual(
    [...lists[0].revoked.keys()].sort(),
    [serialOf(p.revoked.cert), serialOf(p.inter)].sort(),
  );
  assert.equal(loadTlsCredentials({ trustedFiles: [p.ca] }).crls, undefined, "no CRL, no parser");
});

Deno.test({
  name: "CRL interop: DCMTK storescp +crl refuses our revoked client certificate",
  ignore: !HAVE_DCMTK,
}, async () => {
  const p = await pki();
  const { proc, port } = await startStorescp(
    tlsArgs(p, p.server, ["+crl", p.crl.revoking, "-od", p.dir]),
  );
  try {
    const echo = async (cert: { cert: string; key: string }) =>
      (await echoOverTls(port, { trustedFiles: [p.ca], keyFile: cert.key, certFile: cert.cert }))
        .result;
    const ok = await echo(p.client);
    assert.equal(ok.outcome, "success", `${ok.diagnosis ?? ""}\n${proc.stderr}`);
    const refused = await echo(p.revoked);
    assert.notEqual(refused.outcome, "success", proc.stderr);
    // DCMTK 3.6.7 words every verification failure alike.
    await until(
      () => /TLS error: certificate verify failed/.test(proc.stderr),
      "storescp's refusal",
    );
  } finally {
    await proc.stop();
  }
});

/** DCMTK echoscu +tls with our test certificate `cert`, trusting our CA, plus `extra` options. */
function dcmtkEcho(
  p: TestPki,
  cert: { cert: string; key: string },
  port: number,
  extra: string[] = [],
) {
  return runCommand("echoscu", tlsArgs(p, cert, [...extra, "127.0.0.1", String(port)]));
}

Deno.test({
  name: "CRL interop: our listener +crl refuses DCMTK echoscu with the revoked certificate",
  ignore: !HAVE_DCMTK,
}, async () => {
  const p = await pki();
  const scp = await startTlsEchoScp(
    serving(p.server, { trustedFiles: [p.ca], verifyPeer: "require", crlFiles: [p.crl.revoking] }),
  );
  try {
    const ok = await dcmtkEcho(p, p.client, scp.port);
    assert.equal(ok.code, 0, show(ok));
    const refused = await dcmtkEcho(p, p.revoked, scp.port);
    assert.notEqual(refused.code, 0, show(refused));
    await until(() => scp.refused.length > 0, "the refusal");
    assert.equal(scp.refused[0].err.kind, "revoked");
  } finally {
    await scp.stop();
  }
});

Deno.test({
  name: "CRL interop: DCMTK echoscu +crl refuses our server presenting a revoked certificate",
  ignore: !HAVE_DCMTK,
}, async () => {
  const p = await pki();
  const scp = await startTlsEchoScp(serving(p.revoked));
  try {
    const plain = await dcmtkEcho(p, p.client, scp.port);
    assert.equal(plain.code, 0, `without +crl it connects: ${show(plain)}`);
    const refused = await dcmtkEcho(p, p.client, scp.port, ["+crl", p.crl.revoking]);
    assert.notEqual(refused.code, 0, show(refused));
    assert.match(refused.stderr, /TLS error: certificate verify failed/, show(refused));
  } finally {
    await scp.stop();
  }
});
