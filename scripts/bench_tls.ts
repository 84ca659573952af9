/**
 * `deno task bench --tls`: every pair runs DICOM TLS (PS3.15 B.1, mutual
 * authentication with -rc, the default profile) with certificates made for
 * the run, so TLS costs are compared with DCMTK's OpenSSL build side by side.
 *
 * @module
 */
import { makeTestPki } from "../testing/certs.ts";

/** The TLS options each side of a pair adds to its command line; empty over plain TCP. */
export interface TlsArgs {
  /** For an SCP: its key and certificate, and the CA its clients must chain to. */
  server: string[];
  /** For an SCU: its key and certificate, and the CA the server must chain to. */
  client: string[];
  /** The files themselves, for the raw TLS floor (scripts/bench_raw_tcp.ts); absent over TCP. */
  files?: { serverCert: string; serverKey: string; ca: string };
}

/** Plain TCP: no extra options. */
export const PLAIN: TlsArgs = { server: [], client: [] };

/** Makes a CA, server and client certificate; `cleanup` removes them. */
export async function tlsArgs(): Promise<TlsArgs & { cleanup(): Promise<void> }> {
  const pki = await makeTestPki();
  return {
    server: ["+tls", pki.server.key, pki.server.cert, "+cf", pki.ca],
    client: ["+tls", pki.client.key, pki.client.cert, "+cf", pki.ca],
    files: { serverCert: pki.server.cert, serverKey: pki.server.key, ca: pki.ca },
    cleanup: () => pki.cleanup(),
  };
}
