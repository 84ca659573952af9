/**
 * The tools' words for TLS failures and certificate verdicts
 * (lib/cli/common/tls_advice.ts): the transport names a cause, the tools add
 * the option that fixes it, in the very sentences they printed when the
 * transport still named the options itself.
 */
import assert from "node:assert/strict";
import { rootVerdictLine, tlsMessage, verifyVerdictLine } from "../../lib/cli/common/tls_advice.ts";
import { classifyTlsError, tlsFailure } from "../../lib/transport/tls_errors.ts";
import { checkRootCertificate, verifyCertificateFile } from "../../lib/transport/tls_verify.ts";
import { sharedTestPki as pki } from "../../testing/certs.ts";

Deno.test("tlsMessage: the option that fixes the cause, inside the transport's sentence", () => {
  const cases: [ReturnType<typeof tlsFailure>, string][] = [
    [
      tlsFailure("unknown-ca", "client", ": CN=localhost"),
      "the server's certificate is not issued by a trusted CA (add its CA with +cf/+cd): CN=localhost",
    ],
    [
      tlsFailure("self-signed", "client", " (CN=x)"),
      "the server's certificate is self-signed and not trusted (add it with +cf) (CN=x)",
    ],
    [
      tlsFailure("crl-missing", "server", " (issuer CN=CA)"),
      "cannot check the client's certificate for revocation: no valid CRL of its CA was loaded " +
      "(add it with +crl) (issuer CN=CA)",
    ],
    [
      tlsFailure("crl-expired", "client"),
      "cannot check the server's certificate for revocation: the CRL of its CA is not current " +
      "(load a newer one with +crl)",
    ],
    [
      tlsFailure("no-peer-certificate", "server"),
      "the client presented no certificate, but one is required (-rc)",
    ],
    [
      tlsFailure("cipher-not-allowed", "client", ": TLS_AES_256_GCM_SHA384 (TLSv1.3)"),
      "the negotiated cipher suite is not in the allowed list (+cs): TLS_AES_256_GCM_SHA384 (TLSv1.3)",
    ],
    [
      classifyTlsError(
        Object.assign(new Error("alert"), { code: "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED" }),
        "client",
      ),
      "the server refused the TLS connection: it requires a client certificate (+tls key cert)",
    ],
    // No option changes these: the transport's sentence as it is.
    [tlsFailure("expired", "client", " (CN=x)"), "the server's certificate has expired (CN=x)"],
    [
      tlsFailure("handshake-timeout", "server", " within 5 s"),
      "the client did not complete the TLS handshake within 5 s",
    ],
  ];
  for (const [err, line] of cases) {
    assert.equal(tlsMessage(err), line);
    // Below the tools the same failure names no option.
    assert.equal(err.message, line.replace(/ \((add |load |-rc|\+cs|\+tls)[^)]*\)/, ""));
  }
});

Deno.test("+vc and +rc verdicts in DCMTK's words, with OpenSSL's reason and the option to give", async () => {
  const p = await pki();
  const trust = { trustedFiles: [p.ca] };
  const line = async (file: string, extra = {}) =>
    verifyVerdictLine(file, await verifyCertificateFile(file, { ...trust, ...extra }));
  assert.equal(await line(p.server.cert), `Verification of certificate '${p.server.cert}' passed.`);
  assert.match(
    await line(p.expired.cert),
    new RegExp(
      `^Verification of certificate '${p.expired.cert}' failed: certificate has expired ` +
        `\\(CN=localhost, not after Jan  1 00:00:00 2001 GMT\\)$`,
    ),
  );
  assert.match(
    await line(p.revoked.cert, { crlFiles: [p.crl.revoking] }),
    /failed: certificate revoked \(CN=revoked-peer, serial \w+, revoked/,
  );
  assert.match(
    await line(p.otherCaServer.cert),
    /failed: unable to get local issuer certificate \(add its CA with \+cf\/\+cd\)/,
  );
  assert.match(
    await line(p.selfSignedLeaf),
    /failed: self-signed certificate \(not in the trust list; add it with \+cf\)/,
  );
  assert.match(
    await line(p.server.cert, { crlCheck: "leaf" }),
    /failed: unable to get certificate CRL \(add its CA's CRL with \+crl\)/,
  );
  assert.match(
    await line(p.server.cert, { crlFiles: [p.crl.expired] }),
    /failed: CRL is not current \(load a newer one with \+crl\)/,
  );
  assert.match(await line(`${p.dir}/absent.pem`), /failed: cannot open certificate file/);
  assert.match(await line(p.crl.empty), /failed: no certificate in the file$/);
  assert.equal(
    rootVerdictLine(p.ca, checkRootCertificate(p.ca, "pem")),
    `Certificate '${p.ca}' is a valid, self-signed root CA.`,
  );
  assert.match(
    rootVerdictLine(p.server.cert, checkRootCertificate(p.server.cert, "pem")),
    /^Certificate '.*' is not a valid, self-signed root CA: its issuer is CN=DIMSE Test CA$/,
  );
});
