/**
 * docs/SECURITY_CLASSES.md #11: non-DICOM traffic on the port, against the storescp
 * CLI (its log is what an operator reads): on the plain port an HTTP GET, a
 * TLS ClientHello, random bytes and connect-then-close; on its TLS port
 * (+tls) a plain A-ASSOCIATE-RQ, an HTTP GET, random bytes and
 * connect-then-close. Each: the connection ends (an A-ABORT or a close),
 * exactly one log line names what came, and the next good peer (echoscu,
 * plain or TLS) is served; nothing is written to -od.
 *
 * Already covered elsewhere: echoscp_bad_input.test.ts (the same plain-port
 * inputs and all 249 non-PDU first bytes against echoscp), tls_cli.test.ts
 * (echoscu +tla at a plain port; plain echoscu at a TLS port),
 * transport_tls.test.ts (a plain TCP client at a TLS listener, named).
 */
import assert from "node:assert/strict";
import { connectTcp } from "../../lib/transport/tcp.ts";
import { opensslAvailable, sharedTestPki, tlsArgs } from "../../testing/certs.ts";
import { associateRqBytes, HOST, RawPeer, tlsClientHelloStart } from "../../testing/bad_peer.ts";
import { type Background, runTool, show, withTool } from "../../testing/procs.ts";
import { listDir, withTempDir } from "../../testing/temp_files.ts";
import { readSome } from "../../testing/transport_reads.ts";

const encoder = new TextEncoder();

interface Input {
  name: string;
  bytes: () => Uint8Array;
  /** The one line expected on the plain port, and on the TLS port. */
  plain: RegExp;
  tls: RegExp;
}

const TLS_REFUSED = /^E: TLS connection from 127\.0\.0\.1:\d+ refused: /;
const INPUTS: Input[] = [
  {
    name: "an HTTP GET",
    bytes: () => encoder.encode("GET / HTTP/1.1\r\nHost: pacs\r\n\r\n"),
    plain:
      /^E: Association Request Failed \(127\.0\.0\.1:\d+\): malformed PDU: unrecognized PDU type 0x47: looks like HTTP$/,
    tls: TLS_REFUSED,
  },
  {
    name: "a TLS ClientHello",
    bytes: tlsClientHelloStart,
    plain: /malformed PDU: unrecognized PDU type 0x16: looks like a TLS ClientHello/,
    tls: TLS_REFUSED, // unused: a ClientHello on the TLS port is a handshake
  },
  {
    name: "random bytes",
    bytes: () => {
      const b = crypto.getRandomValues(new Uint8Array(300));
      b[0] |= 0x80; // no PDU type, no TLS record type
      return b;
    },
    plain: /malformed PDU: unrecognized PDU type 0x[89a-f][0-9a-f]$/,
    tls: TLS_REFUSED,
  },
  {
    name: "a plain A-ASSOCIATE-RQ",
    bytes: () => associateRqBytes({ calledAeTitle: "STORESCP" }),
    plain: /^$/, // unused: that is a good peer on the plain port
    tls: TLS_REFUSED,
  },
];
// Connect, then close (a health check) is no error: it is logged at debug level only
// (issue 16), tested in tests/cli/scp_lines.test.ts.

/** Waits (bounded) for a new error line after `before` lines; returns the new error lines. */
async function newErrorLines(proc: Background, before: number): Promise<string[]> {
  const errors = () => proc.stderrLines().slice(before).filter((l) => /^[WEF]: /.test(l));
  await proc.waitFor(() => errors().length > 0, 10_000);
  // A second line would come right behind the first: give it a moment to show.
  await new Promise((r) => setTimeout(r, 100));
  return errors();
}

/**
 * Sends `bytes` on a fresh plain TCP connection and reads until the server
 * closes. A DICOM server aborts first (before association, as a service
 * user: AA-1); a TLS server may answer with a TLS alert, not a PDU.
 */
async function sendRaw(port: number, bytes: Uint8Array, tls: boolean): Promise<void> {
  const transport = await connectTcp({ host: HOST, port, family: "ipv4" });
  if (bytes.length > 0) await transport.write(bytes).catch(() => {});
  else return transport.close();
  if (!tls) {
    const got = await new RawPeer(transport).abortOrClose(10_000);
    if (got !== "closed") assert.deepEqual(got, { type: "A-ABORT", source: 0, reason: 0 });
    return;
  }
  const end = Date.now() + 10_000;
  for (;;) {
    assert.ok(Date.now() < end, "the TLS server did not close");
    const chunk = await readSome(transport).catch(() => null);
    if (chunk === null) break;
    assert.notEqual(chunk[0], 0x02, "no A-ASSOCIATE-AC over plain TCP");
  }
  transport.close();
}

/**
 * storescp (`-od od`, then `serverArgs`) fed each input for its port (TLS
 * or plain) on a fresh connection: exactly one error line, the one
 * expected, then a good echoscu (`clientArgs`) is still served.
 */
async function eachInput(
  t: Deno.TestContext,
  od: string,
  tls: boolean,
  serverArgs: string[],
  clientArgs: string[],
): Promise<void> {
  const scp = await withTool("storescp", ["-v", "-od", od, ...serverArgs], async (port, proc) => {
    // The input each port takes for a good peer's first bytes is no test of it.
    const own = tls ? "a TLS ClientHello" : "a plain A-ASSOCIATE-RQ";
    for (const input of INPUTS.filter((i) => i.name !== own)) {
      await t.step(input.name, async () => {
        const before = proc.stderrLines().length;
        await sendRaw(port, input.bytes(), tls);
        const lines = await newErrorLines(proc, before);
        assert.equal(lines.length, 1, lines.join("\n"));
        assert.match(lines[0], tls ? input.tls : input.plain);
        const good = await runTool("echoscu", [
          ...clientArgs,
          HOST,
          String(port),
          "-aec",
          "STORESCP",
        ]);
        assert.equal(good.code, 0, show(good));
      });
    }
  });
  assert.equal(scp.code, 0, show(scp));
}

Deno.test("class 11: non-DICOM traffic on storescp's plain and TLS ports", async (t) => {
  await withTempDir("dimse_security_11_", async (od) => {
    await t.step("plain port", (t) => eachInput(t, od, false, [], []));
    await t.step({
      name: "TLS port (+tls)",
      ignore: !(await opensslAvailable()),
      fn: async (t) => {
        const p = await sharedTestPki();
        await eachInput(t, od, true, tlsArgs(p, p.server), tlsArgs(p, p.client));
      },
    });
    assert.deepEqual(await listDir(od, true), []);
  });
});
