/**
 * echoscu's command line behaviour: bad options, help and version,
 * --arguments and @file, and every exit code, the failures provoked by
 * hand-written peers in this file (a port that never answers, a peer that
 * hangs up, fake SCPs built with encodePdu).
 */
import assert from "node:assert/strict";
import { decodeCommandSet, encodeCommandSet } from "../../lib/dimse/command.ts";
import {
  commandSetToMessage,
  type DimseMessage,
  messageToCommandSet,
} from "../../lib/dimse/messages.ts";
import { encodePdu } from "../../lib/pdu/codec.ts";
import { PduReader } from "../../lib/pdu/reader.ts";
import type { AssociateAcPdu, AssociateRqPdu, Pdu } from "../../lib/pdu/types.ts";
import { answerAssociateRq } from "../../lib/ae/negotiation.ts";
import { verificationPolicy } from "../../lib/cli/echoscp/echo_handler.ts";
import { echoJsonLines, echoSummaryLine } from "../../lib/cli/echoscu/main.ts";
import type { EchoResult } from "../../lib/cli/echoscu/engine.ts";
import { type Finished, freePort, runTool, show, startTool } from "../../testing/procs.ts";

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

/**
 * The diagnosis: the line before the summary line a failed run ends with
 * (checked here: the tool, and the exit code it names).
 */
function diagnosisLine(r: Finished): string {
  const err = lines(r.stderr);
  assert.match(err.at(-1)!, new RegExp(`^echoscu: C-ECHO to .*; failed: .* \\(exit ${r.code}\\)$`));
  return err.at(-2)!;
}

function echoscu(args: string[], timeoutMs = 30_000): Promise<Finished> {
  return runTool("echoscu", args, timeoutMs);
}

// ---------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------

const BAD_OPTIONS: { args: string[]; message: RegExp }[] = [
  { args: ["-pdu", "1", "127.0.0.1", "104"], message: /--max-pdu.*1/ },
  { args: ["--bogus", "127.0.0.1", "104"], message: /Unknown option --bogus/ },
  { args: ["127.0.0.1"], message: /Missing parameter port/ },
  { args: ["127.0.0.1", "70000"], message: /70000/ },
  { args: ["127.0.0.1", "0"], message: /0/ },
  { args: ["-pts", "54", "127.0.0.1", "104"], message: /--propose-ts.*54/ },
  { args: ["-ppc", "0", "127.0.0.1", "104"], message: /--propose-pc.*0/ },
  { args: ["-ppc", "129", "127.0.0.1", "104"], message: /--propose-pc.*129/ },
  { args: ["--repeat", "0", "127.0.0.1", "104"], message: /--repeat.*0/ },
  { args: ["-aet"], message: /Missing value for option --aetitle/ },
  { args: ["127.0.0.1", "104", "-aet"], message: /Missing value for option --aetitle/ },
  { args: ["-ta", "x", "127.0.0.1", "104"], message: /--acse-timeout/ },
];

for (const { args, message } of BAD_OPTIONS) {
  Deno.test(`echoscu ${args.join(" ")}: one stderr line, exit 1`, async () => {
    const r = await echoscu(args);
    assert.equal(r.code, 1, show(r));
    assert.equal(r.stdout, "", show(r));
    const err = lines(r.stderr);
    assert.equal(err.length, 1, show(r));
    assert.match(err[0], /^echoscu: /);
    assert.match(err[0], message);
  });
}

Deno.test("echoscu --help: usage on stdout, exit 0", async () => {
  const r = await echoscu(["--help"]);
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stderr, "");
  assert.match(r.stdout, /^\$dimse-deno: echoscu v\d+\.\d+\.\d+ \$/);
  assert.match(r.stdout, /usage: echoscu \[options\] peer port/);
  for (const opt of ["-aet", "-aec", "-pts", "-ppc", "-pdu", "--repeat", "--abort", "--json"]) {
    assert.ok(r.stdout.includes(opt), `${opt} in --help`);
  }
});

Deno.test("echoscu --version: name, version and runtime on stdout, exit 0", async () => {
  const r = await echoscu(["--version"]);
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stderr, "");
  assert.match(r.stdout, /^\$dimse-deno: echoscu v\d+\.\d+\.\d+ \$/);
  assert.match(r.stdout, /Deno \d+\.\d+/);
});

Deno.test("echoscu --arguments: DCMTK's line listing the arguments", async () => {
  const port = freePort();
  const r = await echoscu(["--arguments", "-aet", "ME", "127.0.0.1", String(port)]);
  assert.equal(r.code, 60, show(r));
  assert.equal(
    lines(r.stderr)[0],
    `I: calling 'echoscu' with 5 arguments: '--arguments' '--aetitle' 'ME' '127.0.0.1' '${port}' `,
  );
});

Deno.test("echoscu @file: options from a file, a quoted AE title with a space kept whole", async () => {
  const { proc, port } = await startTool("echoscp", ["--bind", "127.0.0.1"]);
  const dir = await Deno.makeTempDir({ prefix: "dimse-echoscu-" });
  try {
    const file = `${dir}/args.txt`;
    await Deno.writeTextFile(file, `-aet "MY AE"\n--call 'THE SCP'\n-v\n`);
    const r = await echoscu([`@${file}`, "127.0.0.1", String(port)]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stderr, /^I: Received Echo Response \(Success\)$/m);
    const ev = await proc.waitForEvent((e) => e.type === "association-received");
    assert.equal(ev.callingAeTitle, "MY AE");
    assert.equal(ev.calledAeTitle, "THE SCP");
  } finally {
    await proc.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------
// Exit codes 60 and 66: no DICOM peer
// ---------------------------------------------------------------------------

Deno.test("echoscu, connection refused: exit 60, DCMTK's line and a diagnosis", async () => {
  const port = freePort();
  const r = await echoscu(["127.0.0.1", String(port)]);
  assert.equal(r.code, 60, show(r));
  const err = lines(r.stderr);
  assert.equal(err.length, 3, show(r));
  assert.match(err[0], /^F: Association Request Failed: TCP Initialization Error: .*refused/);
  assert.match(err[1], /^E: .*nothing listens on that port/);
  assert.equal(
    err[2],
    `echoscu: C-ECHO to ANY-SCP@127.0.0.1:${port}: no answer; failed: cannot connect (exit 60)`,
  );
});

/** A TCP listener in this process that accepts and then does what `onConn` says. */
async function withListener(
  onConn: (conn: Deno.Conn) => Promise<void>,
  fn: (port: number) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const conns: Deno.Conn[] = [];
  const handlers: Promise<void>[] = [];
  const accepting = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return; // listener closed
      }
      conns.push(conn);
      handlers.push(onConn(conn).catch(() => {}));
    }
  })();
  try {
    await fn(port);
  } finally {
    listener.close();
    await accepting;
    for (const c of conns) {
      try {
        c.close();
      } catch {
        // The handler closed it.
      }
    }
    await Promise.all(handlers);
  }
}

Deno.test("echoscu -ta 1, a port that accepts TCP and never answers: exit 66, TLS/DICOM diagnosis", async () => {
  // Accept and hold: read (and drop) whatever comes until the client hangs up.
  const hold = async (conn: Deno.Conn) => {
    const buf = new Uint8Array(4096);
    while (await conn.read(buf) !== null);
  };
  await withListener(hold, async (port) => {
    const t0 = performance.now();
    const r = await echoscu(["-ta", "1", "127.0.0.1", String(port)], 15_000);
    const ms = performance.now() - t0;
    assert.equal(r.code, 66, show(r));
    assert.ok(ms < 8_000, `took ${ms} ms`);
    assert.match(r.stderr, /^F: Association Request Failed: .*ARTIM timeout/m, show(r));
    const diagnosis = diagnosisLine(r);
    assert.match(diagnosis, /^E: /);
    assert.match(diagnosis, /DICOM port/);
    assert.match(diagnosis, /TLS/);
  });
});

Deno.test("echoscu, a peer that closes right after accept: exit 66, diagnosis", async () => {
  await withListener((conn) => Promise.resolve(conn.close()), async (port) => {
    const r = await echoscu(["127.0.0.1", String(port)], 15_000);
    assert.equal(r.code, 66, show(r));
    assert.match(r.stderr, /^F: Association Request Failed: peer closed the connection/m);
    assert.match(diagnosisLine(r), /^E: the peer closed the connection .*TLS/);
  });
});

// ---------------------------------------------------------------------------
// Exit codes 67..70: fake SCPs
// ---------------------------------------------------------------------------

/** One connection of a fake SCP: whole PDUs in, encoded PDUs out. */
class FakePeer {
  readonly #conn: Deno.Conn;
  readonly #reader = new PduReader();
  readonly #buf = new Uint8Array(65536);

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** The next PDU, or null once the client closed. */
  async next(): Promise<Pdu | null> {
    for (;;) {
      const item = this.#reader.next();
      if (item) return item.pdu;
      let n: number | null;
      try {
        n = await this.#conn.read(this.#buf);
      } catch {
        return null;
      }
      if (n === null) return null;
      this.#reader.push(this.#buf.slice(0, n));
    }
  }

  async expect<T extends Pdu["type"]>(type: T): Promise<Extract<Pdu, { type: T }>> {
    const pdu = await this.next();
    if (pdu?.type !== type) throw new Error(`fake SCP expected ${type}, got ${pdu?.type}`);
    return pdu as Extract<Pdu, { type: T }>;
  }

  async send(pdu: Pdu): Promise<void> {
    const bytes = encodePdu(pdu);
    let off = 0;
    while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
  }

  /** Reads the next DIMSE command (one PDV, as echoscu sends a C-ECHO-RQ). */
  async command(): Promise<{ contextId: number; message: DimseMessage }> {
    const p = await this.expect("P-DATA-TF");
    const pdv = p.pdvs[0];
    assert.ok(pdv.isCommand && pdv.isLast);
    return { contextId: pdv.contextId, message: commandSetToMessage(decodeCommandSet(pdv.data)) };
  }

  async sendCommand(contextId: number, message: DimseMessage): Promise<void> {
    const data = encodeCommandSet(messageToCommandSet(message));
    await this.send({
      type: "P-DATA-TF",
      pdvs: [{ contextId, isCommand: true, isLast: true, data }],
    });
  }

  /**
   * What a conforming SCP does until the end: answers an A-RELEASE-RQ with
   * an A-RELEASE-RP, stops at an A-ABORT (AA-3: the caller then closes).
   * Returns the PDU types received.
   */
  async finish(): Promise<string[]> {
    const seen: string[] = [];
    for (let p = await this.next(); p !== null; p = await this.next()) {
      seen.push(p.type);
      if (p.type === "A-ABORT") break;
      if (p.type === "A-RELEASE-RQ") await this.send({ type: "A-RELEASE-RP" });
    }
    return seen;
  }

  /** A hung SCP: reads and ignores everything, never closes, until the client does. */
  async ignoreAll(): Promise<string[]> {
    const seen: string[] = [];
    for (let p = await this.next(); p !== null; p = await this.next()) seen.push(p.type);
    return seen;
  }
}

/** Our answer accepting the Verification contexts, as echoscp would. */
function accept(rq: AssociateRqPdu): AssociateAcPdu {
  const ac = answerAssociateRq(
    rq,
    verificationPolicy({ aeTitle: "FAKESCP", maxPdu: 16384, preference: "uncompressed" }),
  );
  assert.equal(ac.type, "A-ASSOCIATE-AC");
  return ac as AssociateAcPdu;
}

/** Runs echoscu against a fake SCP scripted by `script`; returns echoscu's result and the script's. */
async function againstFake(
  args: string[],
  script: (peer: FakePeer) => Promise<string[]>,
): Promise<{ r: Finished; trail: string[] }> {
  let trail: string[] = [];
  let failure: unknown;
  let r: Finished | undefined;
  await withListener(async (conn) => {
    try {
      trail = await script(new FakePeer(conn));
    } catch (err) {
      failure = err;
    } finally {
      conn.close();
    }
  }, async (port) => {
    r = await echoscu([...args, "127.0.0.1", String(port)], 20_000);
  });
  if (failure) throw failure;
  return { r: r!, trail };
}

Deno.test("echoscu, peer accepts the association but rejects every context: exit 67", async () => {
  const { r, trail } = await againstFake(["-ppc", "3"], async (peer) => {
    const rq = await peer.expect("A-ASSOCIATE-RQ");
    const ac = accept(rq);
    ac.presentationContexts = rq.presentationContexts.map((pc) => ({
      id: pc.id,
      result: 3, // abstract syntax not supported
      transferSyntax: pc.transferSyntaxes[0],
    }));
    await peer.send(ac);
    return await peer.finish();
  });
  assert.equal(r.code, 67, show(r));
  assert.match(r.stderr, /^F: No Acceptable Presentation Contexts$/m);
  assert.match(diagnosisLine(r), /^E: .*none of its presentation contexts/);
  assert.deepEqual(trail, ["A-ABORT"], "echoscu aborts the useless association");
});

Deno.test("echoscu, peer answers the C-ECHO with status 0x0110: exit 68", async () => {
  const { r, trail } = await againstFake(["-v", "--json"], async (peer) => {
    const rq = await peer.expect("A-ASSOCIATE-RQ");
    await peer.send(accept(rq));
    const { contextId, message } = await peer.command();
    assert.equal(message.type, "C-ECHO-RQ");
    await peer.sendCommand(contextId, {
      type: "C-ECHO-RSP",
      messageIdBeingRespondedTo: (message as { messageId: number }).messageId,
      affectedSopClassUid: "1.2.840.10008.1.1",
      status: 0x0110,
    });
    return await peer.finish();
  });
  assert.equal(r.code, 68, show(r));
  // DCMTK's wording for a C-ECHO failure status, and the code in the diagnosis.
  assert.match(r.stderr, /^I: Received Echo Response \(Failure\)$/m, show(r));
  assert.match(diagnosisLine(r), /^E: the peer answered the C-ECHO with status 0x0110 /);
  const [echo, summary] = lines(r.stdout).map((l) => JSON.parse(l));
  assert.equal(echo.type, "echo");
  assert.equal(echo.status, 0x0110);
  assert.equal(echo.outcome, "failed");
  assert.match(echo.diagnosis, /status 0x0110/);
  assert.equal(summary.type, "summary");
  assert.equal(summary.outcome, "echo-failed");
  assert.equal(summary.exitCode, 68);
  assert.deepEqual(trail, ["A-RELEASE-RQ"], "a failure status still ends in a release");
});

Deno.test("echoscu -td 1, peer never answers the C-ECHO: exit 69, A-ABORT sent", async () => {
  const t0 = performance.now();
  const { r, trail } = await againstFake(["-td", "1"], async (peer) => {
    const rq = await peer.expect("A-ASSOCIATE-RQ");
    await peer.send(accept(rq));
    const { message } = await peer.command();
    assert.equal(message.type, "C-ECHO-RQ");
    return await peer.finish();
  });
  assert.ok(performance.now() - t0 < 10_000);
  assert.equal(r.code, 69, show(r));
  assert.match(r.stderr, /^E: Echo Failed: DIMSE timeout after 1 s$/m, show(r));
  assert.match(diagnosisLine(r), /^E: no C-ECHO-RSP within 1 s \(-td\)/);
  assert.deepEqual(trail, ["A-ABORT"], "echoscu aborts after the DIMSE timeout");
});

Deno.test("echoscu -td 1 -ta 1, a hung peer that never closes either: exit 69 within -td + -ta", async () => {
  // After its A-ABORT echoscu waits for the peer to close (PS3.8 Sta13), as DCMTK's
  // echoscu does, at most the ACSE timeout.
  const t0 = performance.now();
  const { r, trail } = await againstFake(["-td", "1", "-ta", "1"], async (peer) => {
    const rq = await peer.expect("A-ASSOCIATE-RQ");
    await peer.send(accept(rq));
    await peer.command();
    return await peer.ignoreAll();
  });
  const ms = performance.now() - t0;
  assert.equal(r.code, 69, show(r));
  assert.ok(ms < 8_000, `took ${ms} ms`);
  assert.deepEqual(trail, ["A-ABORT"]);
});

Deno.test("echoscu, peer sends A-ABORT after the C-ECHO-RQ: exit 70", async () => {
  const { r } = await againstFake(["-v"], async (peer) => {
    const rq = await peer.expect("A-ASSOCIATE-RQ");
    await peer.send(accept(rq));
    await peer.command();
    await peer.send({ type: "A-ABORT", source: 2, reason: 2 });
    return [];
  });
  assert.equal(r.code, 70, show(r));
  assert.match(r.stderr, /^I: Peer Aborted Association$/m, show(r));
  assert.match(diagnosisLine(r), /^E: the association was aborted during the echo/);
});

// ---------------------------------------------------------------------------
// IPv6
// ---------------------------------------------------------------------------

function haveIpv6Loopback(): boolean {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    console.warn("no IPv6 loopback (::1) on this machine: the -i6 test is skipped");
    return false;
  }
}

Deno.test({
  name: "echoscu -i6 ::1 -> our echoscp --bind ::1",
  ignore: !haveIpv6Loopback(),
  async fn() {
    const { proc, port } = await startTool("echoscp", ["--bind", "::1"]);
    try {
      const listening = proc.events().find((e) => e.type === "listening");
      assert.equal(listening?.host, "::1");
      const r = await echoscu(["-v", "-i6", "--json", "::1", String(port)]);
      assert.equal(r.code, 0, show(r));
      assert.match(r.stderr, /^I: Received Echo Response \(Success\)$/m);
      const ev = await proc.waitForEvent((e) => e.type === "association-received");
      assert.equal((ev.peer as { host: string }).host, "::1");
      // The same server is not reachable over IPv4.
      const v4 = await echoscu(["127.0.0.1", String(port)]);
      assert.equal(v4.code, 60, show(v4));
    } finally {
      await proc.stop();
    }
  },
});

Deno.test("echoscu --repeat 200000: the summary's counts and min/avg/max of every echo", () => {
  // Past some 120,000 echoes, Math.min(...list) passes more arguments than the stack holds.
  const n = 200_000;
  const echoes = Array.from({ length: n }, (_, i) => {
    const messageId = (i % 65535) + 1;
    if (i === 7) return { messageId, statusText: "no response", roundTripMs: 99 };
    if (i === 8) return { messageId, status: 0xb000, statusText: "Warning", roundTripMs: 0.5 };
    return { messageId, status: 0, statusText: "Success", roundTripMs: 1 + (i % 3) };
  });
  const r: EchoResult = {
    outcome: "success",
    callingAeTitle: "ECHOSCU",
    calledAeTitle: "ANY-SCP",
    peer: { host: "127.0.0.1", port: 104 },
    timings: {},
    repeat: n,
    echoes,
  };
  const line = echoSummaryLine(r, 0);
  assert.match(
    line,
    /200000 C-ECHOs to ANY-SCP@127\.0\.0\.1:104: 199998 answered with Success, 2 lost/,
  );
  // 199,999 answered: 0.5 once, then 1, 2, 3 in turn (i = 7 unanswered, i = 8 the warning).
  const sum = echoes.reduce((a, e) => a + ("status" in e ? e.roundTripMs : 0), 0);
  assert.match(line, new RegExp(`min/avg/max 0\\.500/${(sum / (n - 1)).toFixed(3)}/3\\.000 ms`));
  const summary = echoJsonLines(r, 0, 1).at(-1)!.fields;
  assert.deepEqual(
    [summary.sent, summary.success, summary.warning, summary.failed],
    [n, n - 2, 1, 1],
  );
  assert.deepEqual(summary.roundTripMs, {
    min: 0.5,
    avg: Number((sum / (n - 1)).toFixed(3)),
    max: 3,
  });
});
