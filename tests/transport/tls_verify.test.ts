/**
 * Offline certificate checks (DCMTK +vc / +rc are built on them): each
 * verdict, its reason, and agreement with DCMTK 3.6.7's echoscu on the same
 * files. The tools' wording of a verdict: tests/cli/tls_advice.test.ts.
 */
import assert from "node:assert/strict";
import { checkRootCertificate, verifyCertificateFile } from "../../lib/transport/tls_verify.ts";
import { TlsError, type TlsSettings } from "../../lib/transport/tls.ts";
import { sharedTestPki as pki, type TestPki } from "../../testing/certs.ts";
import { dcmtkAvailable, runCommand, show } from "../../testing/procs.ts";

/** DCMTK for the interop tests: skipped without it locally, a failure in CI. */
const HAVE_DCMTK = dcmtkAvailable();

/** +vc cases: file, extra settings (beyond +cf ca), expected cause (undefined = passes). */
function vcCases(p: TestPki): [string, Partial<TlsSettings>, string | undefined][] {
  return [
    [p.server.cert, {}, undefined],
    [p.ca, {}, undefined],
    [p.interLeaf.cert, {}, undefined],
    [`${p.dir}/interleaf.pem`, {}, "unknown-ca"],
    [p.otherCaServer.cert, {}, "unknown-ca"],
    [p.selfSignedLeaf, {}, "self-signed"],
    [p.expired.cert, {}, "expired"],
    [p.revoked.cert, {}, undefined],
    [p.revoked.cert, { crlFiles: [p.crl.revoking] }, "revoked"],
    [p.server.cert, { crlFiles: [p.crl.revoking] }, undefined],
    [p.server.cert, { crlCheck: "leaf" }, "crl-missing"],
    [p.server.cert, { crlFiles: [p.crl.forged] }, "crl-missing"],
    [p.server.cert, { crlFiles: [p.crl.expired] }, "crl-expired"],
    [p.interLeaf.cert, { crlFiles: [p.crl.revoking, p.crl.inter] }, undefined],
    [p.interLeaf.cert, { crlFiles: [p.crl.revoking, p.crl.inter], crlCheck: "chain" }, "revoked"],
  ];
}

Deno.test("+vc: each verdict, with the cause the handshake would name", async () => {
  const p = await pki();
  for (const [file, extra, cause] of vcCases(p)) {
    const v = await verifyCertificateFile(file, { trustedFiles: [p.ca], ...extra });
    const what = `${file} ${JSON.stringify(extra)}: ${v.reason}${v.specifics}`;
    assert.equal(v.ok, cause === undefined, what);
    assert.equal(v.cause, cause, what);
  }
});

Deno.test("+vc: OpenSSL's reason, the specifics and the subject; no tool's option named", async () => {
  const p = await pki();
  const trust = { trustedFiles: [p.ca] };
  const ok = await verifyCertificateFile(p.server.cert, trust);
  assert.deepEqual(ok, { ok: true, subject: "CN=localhost" });
  const expired = await verifyCertificateFile(p.expired.cert, trust);
  assert.deepEqual(expired, {
    ok: false,
    subject: "CN=localhost",
    reason: "certificate has expired",
    cause: "expired",
    specifics: " (CN=localhost, not after Jan  1 00:00:00 2001 GMT)",
  });
  const revoked = await verifyCertificateFile(p.revoked.cert, {
    ...trust,
    crlFiles: [p.crl.revoking],
  });
  assert.equal(revoked.subject, "CN=revoked-peer");
  assert.equal(revoked.reason, "certificate revoked");
  assert.match(revoked.specifics!, /^ \(CN=revoked-peer, serial \w+, revoked/);
  const unknown = await verifyCertificateFile(p.otherCaServer.cert, trust);
  assert.equal(unknown.reason, "unable to get local issuer certificate");
  const selfSigned = await verifyCertificateFile(p.selfSignedLeaf, trust);
  assert.equal(selfSigned.reason, "self-signed certificate");
  const noCrl = await verifyCertificateFile(p.server.cert, { ...trust, crlCheck: "leaf" });
  assert.equal(noCrl.reason, "unable to get certificate CRL");
  const oldCrl = await verifyCertificateFile(p.server.cert, {
    ...trust,
    crlFiles: [p.crl.expired],
  });
  assert.equal(oldCrl.reason, "CRL is not current");
  const missing = await verifyCertificateFile(`${p.dir}/absent.pem`, trust);
  assert.equal(missing.ok, false);
  assert.equal(missing.subject, "");
  assert.match(missing.reason!, /^cannot open certificate file/);
  const notCert = await verifyCertificateFile(p.crl.empty, trust);
  assert.equal(notCert.reason, "no certificate in the file");
  // DER (-der).
  const der = await verifyCertificateFile(p.serverDer.cert, { ...trust, fileFormat: "der" });
  assert.equal(der.ok, true, der.reason);
  // A trust list that cannot be loaded is the settings' fault: it throws, as connecting would.
  await assert.rejects(
    verifyCertificateFile(p.server.cert, { trustedFiles: [`${p.dir}/absent-ca.pem`] }),
    (e: unknown) => e instanceof TlsError && e.kind === "bad-credentials",
  );
});

Deno.test("+rc: root CAs pass; leaves, intermediates, CA:FALSE and bad self-signatures fail", () =>
  pki().then((p) => {
    const root = (file: string, format: "pem" | "der" = "pem") =>
      checkRootCertificate(file, format);
    assert.deepEqual(root(p.ca), { ok: true, subject: "CN=DIMSE Test CA" });
    assert.equal(root(p.otherCa).ok, true);
    const cases: [string, RegExp][] = [
      [p.server.cert, /^its issuer is CN=DIMSE Test CA$/],
      [p.inter, /its issuer is CN=DIMSE Test CA$/],
      [p.selfSignedLeaf, /basicConstraints says CA:FALSE$/],
      [p.forgedRoot, /its own key does not verify its signature$/],
      [`${p.dir}/absent.pem`, /cannot open certificate file/],
      [p.crl.empty, /no certificate in the file$/],
    ];
    for (const [file, why] of cases) {
      const v = root(file);
      assert.equal(v.ok, false, file);
      assert.match(v.reason!, why);
    }
    assert.match(root(p.serverDer.cert, "der").reason!, /its issuer is CN=DIMSE Test CA$/);
  }));

Deno.test({
  name: "+vc/+rc interop: DCMTK echoscu gives the same verdicts on the same files",
  ignore: !HAVE_DCMTK,
}, async () => {
  const p = await pki();
  const dcmtk = (args: string[]) =>
    runCommand("echoscu", ["+tls", p.client.key, p.client.cert, ...args, "localhost", "1"]);
  for (const [file, extra, cause] of vcCases(p)) {
    const args = ["+cf", p.ca];
    for (const f of extra.crlFiles ?? []) args.push("+crl", f);
    if (extra.crlCheck === "leaf") args.push("+crv");
    if (extra.crlCheck === "chain") args.push("+cra");
    const r = await dcmtk([...args, "+vc", file]);
    const passed = cause === undefined;
    // DCMTK exits 0 when it passes, 22 when it fails.
    assert.equal(r.code, passed ? 0 : 22, `${file} ${args.join(" ")}: ${show(r)}`);
    assert.match(
      r.stdout,
      new RegExp(`Verification of certificate '.*' ${passed ? "passed" : "failed"}`),
    );
  }
  // +rc agrees, except that DCMTK 3.6.7 calls a self-signed CA:FALSE leaf a root CA
  // and does not check the self-signature.
  for (const file of [p.ca, p.otherCa, p.server.cert, p.inter]) {
    const r = await dcmtk(["+rc", file]);
    assert.equal(r.code === 0, checkRootCertificate(file, "pem").ok, `${file}: ${show(r)}`);
  }
  for (const file of [p.selfSignedLeaf, p.forgedRoot]) {
    const r = await dcmtk(["+rc", file]);
    assert.equal(r.code, 0, `DCMTK accepts ${file}: ${show(r)}`);
    assert.equal(checkRootCertificate(file, "pem").ok, false);
  }
});
