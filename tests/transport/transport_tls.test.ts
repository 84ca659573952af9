/**
 * DICOM TLS transport (PS3.15 Annex B, BCP 195) over node:tls inside Deno:
 * bytes both ways, mutual authentication, and each failure named for what
 * it is. Certificates are made here with the openssl CLI (testing/certs.ts).
 */
import assert from "node:assert/strict";
import { connectTcp, listenTcp } from "../../lib/transport/tcp.ts";
import {
  listenTls,
  looksLikeTlsClientHello,
  TlsError,
  type TlsFailureKind,
  type TlsSettings,
  TlsTransport,
} from "../../lib/transport/tls.ts";
import type { Transport } from "../../lib/transport/transport.ts";
import { until } from "../../testing/bad_peer.ts";
import { sharedTestPki as pki, type TestPki, tlsArgs } from "../../testing/certs.ts";
import { dcmtkAvailable, runCommand, show, startStorescp } from "../../testing/procs.ts";
import {
  connectLoopback,
  echoOverTls,
  expectTlsError,
  listenLoopback,
  type RecordingListener,
  serving,
  startTlsEchoScp,
} from "../../testing/tls_loopback.ts";
import { readSome } from "../../testing/transport_reads.ts";

/** DCMTK for the interop tests: skipped without it locally, a failure in CI. */
const HAVE_DCMTK = dcmtkAvailable();

/** Server settings: our server certificate, trusting our CA. */
function serverSettings(p: TestPki, extra: Partial<TlsSettings> = {}): TlsSettings {
  return serving(p.server, { trustedFiles: [p.ca], ...extra });
}

/** Client settings: trusting our CA, no certificate of its own. */
function clientSettings(p: TestPki, extra: Partial<TlsSettings> = {}): TlsSettings {
  return { trustedFiles: [p.ca], ...extra };
}

/** A TLS listener, a client connected to it, and the server's end of that connection. */
interface TlsPair {
  srv: RecordingListener;
  client: TlsTransport;
  server: TlsTransport;
}

/**
 * Listens with our server settings plus `server`, connects a client with `client` and accepts
 * it. The caller closes `srv`; if the connection fails, the listener is closed here.
 */
async function tlsPair(
  server: Partial<TlsSettings> = {},
  client: Partial<TlsSettings> = {},
): Promise<TlsPair> {
  const p = await pki();
  const srv = await listenLoopback(serverSettings(p, server));
  try {
    const accepted = srv.listener.accept();
    const c = await connectLoopback(srv.listener.local.port, clientSettings(p, client));
    return { srv, client: c, server: (await accepted)! as TlsTransport };
  } catch (err) {
    srv.close();
    throw err;
  }
}

/** `size` bytes of a pattern that does not repeat within 64 KiB. */
function patterned(size: number): Uint8Array {
  return new Uint8Array(size).map((_, i) => (i * 131 + (i >> 16)) & 0xff);
}

/** Writes `data` in pieces of varying size, from 1 byte to about 146 KiB. */
async function sendVaried(t: Transport, data: Uint8Array): Promise<void> {
  for (let off = 0, n = 1; off < data.length; off += n, n = (n * 7 + 4093) % 150_001) {
    await t.write(data.subarray(off, off + n));
  }
}

async function readAll(t: Transport, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const n = await t.readInto(out.subarray(off));
    if (n === null) break;
    off += n;
  }
  assert.equal(off, n, "all bytes arrived");
  return out;
}

Deno.test("TLS: bytes both ways, and what the handshake settled", async () => {
  const { srv, client, server } = await tlsPair();
  try {
    await client.write(new TextEncoder().encode("A-ASSOCIATE-RQ"));
    assert.equal(new TextDecoder().decode(await readAll(server, 14)), "A-ASSOCIATE-RQ");
    // An empty write must resolve: node:tls alone does not complete one.
    await client.write(new Uint8Array(0));
    await server.write(new TextEncoder().encode("AC"));
    assert.equal(new TextDecoder().decode(await readAll(client, 2)), "AC");
    assert.equal(client.tls.protocol, "TLSv1.3");
    assert.ok(client.tls.cipher.length > 0);
    assert.equal(client.tls.peerSubject, "CN=localhost");
    assert.equal(client.tls.peerIssuer, "CN=DIMSE Test CA");
    assert.equal(client.tls.peerVerified, true);
    assert.equal(server.tls.peerSubject, undefined, "no client certificate");
    assert.equal(client.remote.port, srv.listener.local.port);
    assert.equal(server.local.port, srv.listener.local.port);
    client.close();
    assert.equal(await readSome(server), null, "close reaches the peer as end of stream");
    server.close();
  } finally {
    srv.close();
  }
});

Deno.test("TLS: mutual authentication, client certificate required and verified", async () => {
  const p = await pki();
  const { srv, client, server } = await tlsPair(
    { verifyPeer: "require" },
    { keyFile: p.client.key, certFile: p.client.cert },
  );
  try {
    assert.equal(server.tls.peerSubject, "CN=dimse-client");
    assert.equal(server.tls.peerVerified, true);
    await client.write(new Uint8Array([1, 2, 3]));
    assert.deepEqual([...await readAll(server, 3)], [1, 2, 3]);
    client.close();
    server.close();
  } finally {
    srv.close();
  }
});

for (const version of ["TLSv1.3", "TLSv1.2"] as const) {
  Deno.test(`TLS: a client without certificate is refused with its cause (${version})`, async () => {
    const p = await pki();
    const srv = await listenLoopback(serverSettings(p, { verifyPeer: "require" }));
    try {
      // The server decides after the handshake, so the client sees only the
      // close: TLS 1.2 during its handshake, TLS 1.3 on its first read.
      const c = await connectLoopback(
        srv.listener.local.port,
        clientSettings(p, { maxVersion: version }),
      )
        .catch((err) => err as TlsError);
      if (version === "TLSv1.2") {
        assert.ok(c instanceof TlsError);
        assert.equal(c.kind, "closed-during-handshake");
      } else {
        assert.ok(c instanceof TlsTransport);
        assert.equal(await readSome(c).catch(() => null), null);
        c.close();
      }
      await until(() => srv.refused.length > 0, "the server's report");
      assert.equal(srv.refused[0].err.kind, "no-peer-certificate");
      assert.equal(
        srv.refused[0].err.message,
        "the client presented no certificate, but one is required",
      );
    } finally {
      srv.close();
    }
  });
}

Deno.test("TLS: a client certificate from another CA is refused as unknown CA", async () => {
  const p = await pki();
  const srv = await listenLoopback(serverSettings(p, { verifyPeer: "require" }));
  try {
    const c = await connectLoopback(
      srv.listener.local.port,
      clientSettings(p, { keyFile: p.otherCaClient.key, certFile: p.otherCaClient.cert }),
    ).catch(() => undefined);
    // The client sees the connection end (TLS 1.3: after its handshake).
    if (c) assert.equal(await readSome(c).catch(() => null), null);
    c?.close();
    await until(() => srv.refused.length > 0, "the server's report");
    assert.equal(srv.refused[0].err.kind, "unknown-ca");
    assert.match(srv.refused[0].err.message, /CN=other-client/);
  } finally {
    srv.close();
  }
});

Deno.test("TLS: -vc accepts a client without certificate, refuses a bad one", async () => {
  const p = await pki();
  const { srv, client: c, server: s } = await tlsPair({ verifyPeer: "verify-if-present" });
  try {
    assert.equal(s.tls.peerSubject, undefined);
    c.close();
    s.close();
    const bad = await connectLoopback(
      srv.listener.local.port,
      clientSettings(p, { keyFile: p.otherCaClient.key, certFile: p.otherCaClient.cert }),
    ).catch(() => undefined);
    bad?.close();
    await until(() => srv.refused.length > 0, "the server's report");
    assert.equal(srv.refused[0].err.kind, "unknown-ca");
  } finally {
    srv.close();
  }
});

/** The client's failure against a server presenting `cert`. */
async function clientFailure(
  cert: { cert: string; key: string },
  kind: TlsFailureKind,
  client: Partial<TlsSettings> = {},
  host = "127.0.0.1",
): Promise<TlsError> {
  const p = await pki();
  const srv = await listenLoopback(serverSettings(p, { keyFile: cert.key, certFile: cert.cert }));
  try {
    return await expectTlsError(
      connectLoopback(srv.listener.local.port, clientSettings(p, client), host),
      kind,
    );
  } finally {
    srv.close();
  }
}

Deno.test("TLS: a server certificate from an unknown CA is named", async () => {
  const p = await pki();
  const err = await clientFailure(p.otherCaServer, "unknown-ca");
  assert.match(err.message, /not issued by a trusted CA/);
  // Trusting that CA instead (+cf) makes it work: only the user's list counts.
  const srv = await listenLoopback(
    serverSettings(p, { keyFile: p.otherCaServer.key, certFile: p.otherCaServer.cert }),
  );
  try {
    const c = await connectLoopback(srv.listener.local.port, { trustedFiles: [p.otherCa] });
    assert.equal(c.tls.peerVerified, true);
    c.close();
  } finally {
    srv.close();
  }
});

Deno.test("TLS: an expired server certificate is named", async () => {
  const p = await pki();
  const err = await clientFailure(p.expired, "expired");
  assert.match(err.message, /has expired/);
  assert.match(err.message, /2001/);
});

Deno.test("TLS: a certificate for another host is named; -ic accepts anything", async () => {
  const p = await pki();
  const err = await clientFailure(p.wrongHost, "hostname-mismatch");
  assert.match(err.message, /not issued for the host/);
  assert.match(err.message, /127\.0\.0\.1/);
  await clientFailure(p.wrongHost, "hostname-mismatch", {}, "localhost");
  // Certificate chain still checked without the host name check.
  const srv = await listenLoopback(
    serverSettings(p, { keyFile: p.wrongHost.key, certFile: p.wrongHost.cert }),
  );
  try {
    const c = await connectLoopback(
      srv.listener.local.port,
      clientSettings(p, { verifyHostname: false }),
    );
    assert.equal(c.tls.peerVerified, true);
    c.close();
  } finally {
    srv.close();
  }
  const srv2 = await listenLoopback(
    serverSettings(p, { keyFile: p.otherCaServer.key, certFile: p.otherCaServer.cert }),
  );
  try {
    const c = await connectLoopback(
      srv2.listener.local.port,
      clientSettings(p, { verifyPeer: "ignore" }),
    );
    assert.equal(c.tls.peerVerified, false);
    assert.equal(c.tls.peerSubject, "CN=localhost");
    c.close();
  } finally {
    srv2.close();
  }
});

Deno.test("TLS: a certificate without subjectAltName is accepted by its CN", async () => {
  // Deno.connectTls refuses such certificates (webpki); node:tls falls back
  // to the CN for host names, as OpenSSL-based DICOM peers do.
  const p = await pki();
  const srv = await listenLoopback(
    serverSettings(p, { keyFile: p.noSan.key, certFile: p.noSan.cert }),
  );
  try {
    const c = await connectLoopback(srv.listener.local.port, clientSettings(p), "localhost");
    assert.equal(c.tls.peerVerified, true);
    c.close();
  } finally {
    srv.close();
  }
});

Deno.test("TLS: a plain TCP peer is named, whether it answers or just closes", async () => {
  const p = await pki();
  // A plain DICOM acceptor answers garbage with an A-ABORT-like PDU.
  const answering = listenTcp({ hostname: "127.0.0.1", port: 0 });
  const closing = listenTcp({ hostname: "127.0.0.1", port: 0 });
  const serve = (async () => {
    const t = (await answering.accept())!;
    const first = (await readSome(t))!;
    assert.ok(looksLikeTlsClientHello(first), "the plain server sees a ClientHello");
    await t.write(new Uint8Array([0x07, 0, 0, 0, 0, 4, 0, 0, 2, 0]));
    t.close();
    const u = (await closing.accept())!;
    await readSome(u);
    u.close();
  })();
  try {
    const e1 = await expectTlsError(
      connectLoopback(answering.local.port, clientSettings(p)),
      "plain-tcp-peer",
    );
    assert.match(e1.message, /does not speak TLS/);
    await expectTlsError(
      connectLoopback(closing.local.port, clientSettings(p)),
      "closed-during-handshake",
    );
    await serve;
  } finally {
    answering.close();
    closing.close();
  }
});

Deno.test("TLS: a plain TCP client at a TLS server is named", async () => {
  const p = await pki();
  const srv = await listenLoopback(serverSettings(p));
  try {
    const plain = await connectTcp({
      host: "127.0.0.1",
      port: srv.listener.local.port,
      family: "ipv4",
    });
    // An A-ASSOCIATE-RQ header, as a DICOM SCU without TLS sends it.
    await plain.write(new Uint8Array([0x01, 0, 0, 0, 0, 0xcd, 0, 1, 0, 0]));
    while ((await readSome(plain)) !== null) { /* the server's alert, then the end */ }
    plain.close();
    await until(() => srv.refused.length > 0, "the server's report");
    assert.equal(srv.refused[0].err.kind, "plain-tcp-peer");
    assert.match(srv.refused[0].err.message, /the client does not speak TLS/);
  } finally {
    srv.close();
  }
});

Deno.test("TLS: 4 MiB each way at once arrive intact (backpressure)", async () => {
  const { srv, client, server } = await tlsPair();
  try {
    const size = 4 << 20;
    const a = patterned(size);
    const b = new Uint8Array(size).map((_, i) => (i * 7 + 3) & 0xff);
    const [, , gotA, gotB] = await Promise.all([
      sendVaried(client, a),
      sendVaried(server, b),
      readAll(server, size),
      readAll(client, size),
    ]);
    assert.ok(gotA.every((x, i) => x === a[i]), "client to server intact");
    assert.ok(gotB.every((x, i) => x === b[i]), "server to client intact");
    client.close();
    server.close();
  } finally {
    srv.close();
  }
});

Deno.test("TLS: readInto fills rooms smaller and larger than what arrived, in order", async () => {
  const { srv, client, server } = await tlsPair();
  try {
    const size = 1 << 20;
    const a = patterned(size);
    const sending = sendVaried(client, a).then(() => client.close());
    const got = new Uint8Array(size);
    let off = 0;
    // Rooms of 1 byte to 200 KiB: parts of a chunk node handed over, and several chunks.
    for (let room = 1; off < size; room = (room * 13 + 1021) % 200_003 || 1) {
      const into = new Uint8Array(Math.min(room, size - off));
      const n = await server.readInto(into);
      assert.ok(n !== null && n >= 1 && n <= into.length, `read ${n} into ${into.length}`);
      got.set(into.subarray(0, n), off);
      off += n;
    }
    await sending;
    assert.ok(got.every((x, i) => x === a[i]), "intact and in order");
    server.close();
  } finally {
    srv.close();
  }
});

for (const reader of ["server", "client"] as const) {
  Deno.test(`TLS: the ${reader}'s pending readInto ends once the peer closed after more than it holds unread`, async () => {
    const { srv, client, server } = await tlsPair();
    try {
      const [ours, peer] = reader === "server" ? [server, client] : [client, server];
      // 4 MiB sent and closed while nothing is read: the socket stops reading at its bound
      // with the end of the stream queued behind the bytes.
      const size = 4 << 20;
      const data = patterned(size);
      for (let off = 0; off < size; off += 65_536) {
        await peer.write(data.subarray(off, off + 65_536));
      }
      peer.close();
      await new Promise((r) => setTimeout(r, 200));
      const got = new Uint8Array(size);
      let off = 0;
      // A guard, not a timing: Deno 2.9.5 lost the end here and the read never returned.
      let guard: ReturnType<typeof setTimeout> | undefined;
      const stuck = new Promise<"stuck">((r) => guard = setTimeout(() => r("stuck"), 20_000));
      try {
        for (;;) {
          const n = await Promise.race([
            ours.readInto(got.subarray(Math.min(off, size - 1))),
            stuck,
          ]);
          assert.notEqual(n, "stuck", `no end of stream after ${off} bytes`);
          if (n === null) break;
          off += n as number;
          assert.ok(off <= size, "no more bytes than were sent");
        }
      } finally {
        clearTimeout(guard);
      }
      assert.equal(off, size, "every byte before the end");
      assert.ok(got.every((x, i) => x === data[i]), "intact and in order");
      ours.close();
    } finally {
      srv.close();
    }
  });
}

Deno.test("TLS: minimum and maximum protocol versions are honoured", async () => {
  const p = await pki();
  const srv12 = await listenLoopback(serverSettings(p, { maxVersion: "TLSv1.2" }));
  try {
    const c = await connectLoopback(srv12.listener.local.port, clientSettings(p));
    assert.equal(c.tls.protocol, "TLSv1.2", "the default profile accepts TLS 1.2");
    c.close();
    const err = await expectTlsError(
      connectLoopback(srv12.listener.local.port, clientSettings(p, { minVersion: "TLSv1.3" })),
      "protocol-version",
    );
    assert.match(err.message, /no TLS protocol version in common/);
  } finally {
    srv12.close();
  }
  const srv13 = await listenLoopback(serverSettings(p, { minVersion: "TLSv1.3" }));
  try {
    await expectTlsError(
      connectLoopback(srv13.listener.local.port, clientSettings(p, { maxVersion: "TLSv1.2" })),
      "protocol-version",
    );
    await until(() => srv13.refused.length > 0, "the server's report");
    assert.equal(srv13.refused[0].err.kind, "protocol-version");
  } finally {
    srv13.close();
  }
});

Deno.test("TLS: keys: encrypted with password, wrong password, mismatch, DER", async () => {
  const p = await pki();
  const enc = { keyFile: p.serverKeyEncrypted, certFile: p.server.cert };
  await expectTlsError(listenTls("127.0.0.1", 0, { ...enc, keyPassword: "nope" }), "key-password");
  const noPw = await expectTlsError(listenTls("127.0.0.1", 0, enc), "key-password");
  assert.match(noPw.message, /encrypted and no password given/);
  await expectTlsError(
    listenTls("127.0.0.1", 0, { keyFile: p.client.key, certFile: p.server.cert }),
    "key-mismatch",
  );
  await expectTlsError(
    listenTls("127.0.0.1", 0, { keyFile: `${p.dir}/missing.key`, certFile: p.server.cert }),
    "bad-credentials",
  );
  for (
    const s of [
      serverSettings(p, { ...enc, keyPassword: p.keyPassword }),
      serverSettings(p, {
        keyFile: p.serverDer.key,
        certFile: p.serverDer.cert,
        fileFormat: "der",
      }),
    ]
  ) {
    const srv = await listenLoopback(s);
    try {
      // Trust from a directory (+cd) this time.
      const c = await connectLoopback(srv.listener.local.port, { trustedDirs: [p.caDir] });
      assert.equal(c.tls.peerVerified, true);
      c.close();
    } finally {
      srv.close();
    }
  }
});

Deno.test("TLS: options the stack cannot honour are refused or enforced, never ignored", async () => {
  const p = await pki();
  await expectTlsError(
    listenTls("127.0.0.1", 0, serverSettings(p, { profile: "null" })),
    "unsupported",
  );
  const srv = await listenLoopback(serverSettings(p));
  try {
    // The stack ignores cipher lists; a suite outside +cs ends the connection.
    const err = await expectTlsError(
      connectLoopback(
        srv.listener.local.port,
        clientSettings(p, { ciphers: ["TLS_AES_128_CCM_SHA256"] }),
      ),
      "cipher-not-allowed",
    );
    assert.match(err.message, /TLS_AES_/);
    const c = await connectLoopback(srv.listener.local.port, clientSettings(p));
    const ok = await connectLoopback(
      srv.listener.local.port,
      clientSettings(p, { ciphers: [c.tls.cipher] }),
    );
    c.close();
    ok.close();
  } finally {
    srv.close();
  }
});

Deno.test("TLS: no trusted certificate means nothing is trusted (-rc without +cf)", async () => {
  const p = await pki();
  const srv = await listenLoopback(serverSettings(p));
  try {
    await expectTlsError(connectLoopback(srv.listener.local.port, {}), "unknown-ca");
  } finally {
    srv.close();
  }
});

Deno.test({
  name: "TLS interop: our echo SCU against DCMTK storescp +tls, mutual",
  ignore: !HAVE_DCMTK,
}, async () => {
  const p = await pki();
  const { proc, port } = await startStorescp(tlsArgs(p, p.server, ["-od", p.dir]));
  try {
    const { result: r, tls } = await echoOverTls(
      port,
      clientSettings(p, { keyFile: p.client.key, certFile: p.client.cert }),
    );
    assert.equal(r.outcome, "success", `${r.diagnosis ?? ""}\n${proc.stderr}`);
    assert.equal(tls?.peerSubject, "CN=localhost");
    assert.equal(tls?.peerVerified, true);
  } finally {
    await proc.stop();
  }
});

Deno.test({
  name: "TLS interop: DCMTK echoscu +tls against our TLS listener, mutual",
  ignore: !HAVE_DCMTK,
}, async () => {
  const p = await pki();
  const scp = await startTlsEchoScp(serverSettings(p, { verifyPeer: "require" }));
  try {
    const port = String(scp.port);
    const ok = await runCommand("echoscu", tlsArgs(p, p.client, ["127.0.0.1", port]));
    assert.equal(ok.code, 0, show(ok));
    // Without a client certificate (+tla), -rc on our side refuses it.
    const refused = await runCommand("echoscu", ["+tla", "+cf", p.ca, "127.0.0.1", port]);
    assert.notEqual(refused.code, 0, show(refused));
    await until(() => scp.refused.length > 0, "the refusal");
    assert.equal(scp.refused[0].err.kind, "no-peer-certificate");
  } finally {
    await scp.stop();
  }
});
