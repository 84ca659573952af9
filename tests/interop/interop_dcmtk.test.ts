/**
 * Interoperability with DCMTK 3.6.7 both ways: DCMTK's echoscu against our
 * echoscp, our echoscu against DCMTK's storescp (which answers C-ECHO), and
 * our two tools against each other. Everything runs on 127.0.0.1 with ports
 * chosen by the OS; every process is stopped by its own handle.
 *
 * Without DCMTK the DCMTK tests are skipped locally (with a warning) and the
 * file fails in CI (dcmtkAvailable() throws at load).
 */
import assert from "node:assert/strict";
import {
  type Background,
  countLines,
  dcmtkAvailable,
  type Finished,
  runCommand,
  runTool,
  show,
  startStorescp,
  startTool,
} from "../../testing/procs.ts";

const HAVE_DCMTK = dcmtkAvailable();

const IMPLICIT_LE = "1.2.840.10008.1.2";
const EXPLICIT_LE = "1.2.840.10008.1.2.1";
const VERIFICATION = "1.2.840.10008.1.1";

/** DCMTK's version ("3.6.7"), read once from `storescp --version`. */
const DCMTK_VERSION = HAVE_DCMTK
  ? (await runCommand("storescp", ["--version"], 10_000)).stdout.match(/v(\d+\.\d+\.\d+)/)?.[1]
  : undefined;

/** Runs `fn` against our echoscp (`-v --bind 127.0.0.1 --json`), always stopping it. */
async function withEchoscp(
  args: string[],
  fn: (port: number, scp: Background) => Promise<void>,
): Promise<Background> {
  const { proc, port } = await startTool("echoscp", ["-v", "--bind", "127.0.0.1", ...args]);
  try {
    await fn(port, proc);
  } finally {
    const status = await proc.stop();
    assert.equal(status.code, 0, `echoscp exit code; stderr:\n${proc.stderr}`);
  }
  return proc;
}

/** Runs `fn` against DCMTK's storescp (`-v`), always stopping it. */
async function withStorescp(
  args: string[],
  fn: (port: number, scp: Background) => Promise<void>,
): Promise<void> {
  const outDir = await Deno.makeTempDir({ prefix: "dimse-storescp-" });
  const { proc, port } = await startStorescp(["-v", "--output-directory", outDir, ...args]);
  try {
    await fn(port, proc);
  } finally {
    await proc.stop();
    await Deno.remove(outDir, { recursive: true });
  }
}

function dcmtkEchoscu(args: string[], port: number): Promise<Finished> {
  return runCommand("echoscu", ["-v", ...args, "127.0.0.1", String(port)], 30_000);
}

function ourEchoscu(args: string[], port: number): Promise<Finished> {
  return runTool("echoscu", [...args, "127.0.0.1", String(port)], 30_000);
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

/** Waits until our echoscp has finished `n` associations (released or aborted). */
async function waitForEnded(scp: Background, n: number): Promise<void> {
  await scp.waitFor(
    (b) =>
      b.events().filter((e) =>
        e.type === "association-released" || e.type === "association-aborted"
      ).length >= n,
    15_000,
  );
  // The log line is written just before the event; let stderr catch up.
  await scp.waitFor((b) => /I: Association (Released|Aborted)/.test(b.stderr), 5_000);
}

// ---------------------------------------------------------------------------
// DCMTK echoscu -> our echoscp
// ---------------------------------------------------------------------------

const DCMTK_TO_OURS: { name: string; args: string[]; echoes: number; abort?: boolean }[] = [
  { name: "default", args: [], echoes: 1 },
  { name: "-pts 38 -ppc 128", args: ["-pts", "38", "-ppc", "128"], echoes: 1 },
  { name: "--repeat 5", args: ["--repeat", "5"], echoes: 5 },
  { name: "--abort", args: ["--abort"], echoes: 1, abort: true },
  { name: "-pdu 4096", args: ["-pdu", "4096"], echoes: 1 },
  { name: "-pdu 131072", args: ["-pdu", "131072"], echoes: 1 },
];

for (const c of DCMTK_TO_OURS) {
  Deno.test({
    name: `DCMTK echoscu ${c.name} -> our echoscp`,
    ignore: !HAVE_DCMTK,
    async fn() {
      await withEchoscp([], async (port, scp) => {
        const r = await dcmtkEchoscu(c.args, port);
        assert.equal(r.code, 0, show(r));
        assert.equal(
          countLines(r.stderr, /^I: Received Echo Response \(Success\)$/),
          c.echoes,
          show(r),
        );
        await waitForEnded(scp, 1);
        const log = scp.stderr;
        assert.equal(countLines(log, /^I: Association Received$/), 1, log);
        assert.equal(countLines(log, /^I: Association Accepted$/), 1, log);
        for (let id = 1; id <= c.echoes; id++) {
          assert.equal(
            countLines(log, new RegExp(`^I: Received Echo Request \\(MsgID ${id}\\)$`)),
            1,
            log,
          );
        }
        assert.equal(countLines(log, /^I: Received Echo Request/), c.echoes, log);
        if (c.abort) {
          assert.equal(countLines(log, /^I: Association Aborted \(by peer\)$/), 1, log);
          assert.equal(countLines(log, /Association Released/), 0, log);
        } else {
          assert.equal(countLines(log, /^I: Association Released$/), 1, log);
        }
        // Nothing went wrong on our side: no warning or error lines.
        assert.equal(countLines(log, /^[WEF]: /), 0, log);
        const accepted = scp.events().find((e) => e.type === "association-accepted");
        const ppc = c.args.includes("-ppc") ? Number(c.args[c.args.indexOf("-ppc") + 1]) : 1;
        assert.equal((accepted?.contexts as unknown[]).length, ppc);
      });
    },
  });
}

for (
  const [args, label, ts] of [
    [["-xi"], "-xi: implicit VR little endian is accepted", IMPLICIT_LE],
    [[], "(default preference): explicit VR little endian", EXPLICIT_LE],
  ] as const
) {
  Deno.test({
    name: `DCMTK echoscu -pts 3 -> our echoscp ${label}`,
    ignore: !HAVE_DCMTK,
    async fn() {
      await withEchoscp([...args], async (port, scp) => {
        const r = await dcmtkEchoscu(["-pts", "3"], port);
        assert.equal(r.code, 0, show(r));
        const ev = await scp.waitForEvent((e) => e.type === "association-accepted");
        assert.deepEqual(ev.contexts, [
          { id: 1, abstractSyntax: VERIFICATION, transferSyntax: ts },
        ]);
        await waitForEnded(scp, 1);
      });
    },
  });
}

Deno.test({
  name: "DCMTK echoscu -> our echoscp --accept-calling OTHER: rejected, calling AE not recognized",
  ignore: !HAVE_DCMTK,
  async fn() {
    await withEchoscp(["--accept-calling", "OTHER"], async (port, scp) => {
      const r = await dcmtkEchoscu([], port);
      assert.equal(r.code, 1, show(r));
      assert.match(r.stderr, /^F: Association Rejected:$/m, show(r));
      assert.match(r.stderr, /Reason: Calling AE Title Not Recognized/, show(r));
      const ev = await scp.waitForEvent((e) => e.type === "association-rejected");
      assert.match(String(ev.diagnosis), /Calling AE Title Not Recognized/);
      await scp.waitFor((b) => /I: Association Rejected: /.test(b.stderr), 5_000);
      assert.equal(countLines(scp.stderr, /^I: Association Accepted/), 0);
    });
  },
});

// ---------------------------------------------------------------------------
// our echoscu -> DCMTK storescp
// ---------------------------------------------------------------------------

/** Checks a successful run of our echoscu with `n` echoes, DCMTK's log lines. */
function assertEchoOk(r: Finished, n = 1): void {
  assert.equal(r.code, 0, show(r));
  assert.equal(countLines(r.stderr, /^I: Received Echo Response \(Success\)$/), n, show(r));
  assert.equal(countLines(r.stderr, /^[EF]: /), 0, show(r));
}

const OURS_TO_DCMTK: { name: string; args: string[]; echoes: number; abort?: boolean }[] = [
  { name: "default", args: [], echoes: 1 },
  { name: "-ppc 128", args: ["-ppc", "128"], echoes: 1 },
  { name: "--repeat 3", args: ["--repeat", "3"], echoes: 3 },
  { name: "--abort", args: ["--abort"], echoes: 1, abort: true },
  { name: "-pdu 4096", args: ["-pdu", "4096"], echoes: 1 },
  // DCMTK 3.6.7 takes at most 50 transfer syntaxes per context (DICOM_MAXTRANSFERSYNTAXES).
  { name: "-pts 50", args: ["-pts", "50"], echoes: 1 },
];

for (const c of OURS_TO_DCMTK) {
  Deno.test({
    name: `our echoscu ${c.name} -> DCMTK storescp`,
    ignore: !HAVE_DCMTK,
    async fn() {
      await withStorescp([], async (port, scp) => {
        const r = await ourEchoscu(["-v", ...c.args], port);
        assertEchoOk(r, c.echoes);
        assert.match(
          r.stderr,
          c.abort ? /^I: Aborting Association$/m : /^I: Releasing Association$/m,
        );
        await scp.waitFor(
          (b) => countLines(b.stderr, /^I: Received Echo Request/) === c.echoes,
          10_000,
        );
        const end = c.abort ? /^I: Association Aborted$/m : /^I: Association Release$/m;
        await scp.waitFor((b) => end.test(b.stderr), 10_000);
      });
    },
  });
}

Deno.test({
  name:
    "our echoscu -pts 53 -> DCMTK storescp: accepted (or, 3.6.7, the silent hang is bounded by -ta)",
  ignore: !HAVE_DCMTK,
  async fn() {
    await withStorescp([], async (port) => {
      const t0 = performance.now();
      const r = await ourEchoscu(["-v", "-pts", "53", "-ta", "2", "--json"], port);
      const rec = JSON.parse(lines(r.stdout).at(-1)!);
      if (DCMTK_VERSION === "3.6.7") {
        // storescp 3.6.7 fails ASC_receiveAssociation ("too many transfer syntaxes")
        // and then neither answers nor closes: our ARTIM bound ends the wait.
        assert.equal(r.code, 66, show(r));
        assert.equal(rec.outcome, "association-failed");
        // It goes silent: the diagnosis names the large proposal and the way out.
        assert.match(rec.diagnosis, /53 transfer syntaxes in one presentation context.*-pts 50/);
        assert.ok(performance.now() - t0 < 15_000, "bounded by -ta 2");
      } else {
        assert.equal(r.code, 0, show(r));
        assert.ok(rec.transferSyntax !== null, show(r));
      }
    });
  },
});

Deno.test({
  name: "our echoscu -> DCMTK storescp --refuse: exit 61, DCMTK reject lines and a diagnosis",
  ignore: !HAVE_DCMTK,
  async fn() {
    await withStorescp(["--refuse"], async (port) => {
      const r = await ourEchoscu([], port);
      assert.equal(r.code, 61, show(r));
      const err = lines(r.stderr);
      assert.ok(err.includes("F: Association Rejected:"), show(r));
      assert.ok(err.includes("F: Result: Rejected Permanent, Source: Service User"), show(r));
      assert.ok(err.includes("F: Reason: No Reason"), show(r));
      // The plain-words diagnosis: one sentence, last.
      assert.match(err.at(-2)!, /^E: the peer rejected the association .*AE title/, show(r));
      assert.match(
        err.at(-1)!,
        /^echoscu: C-ECHO to .*; failed: association rejected \(exit 61\)$/,
      );
    });
  },
});

Deno.test({
  name: "our echoscu -> DCMTK storescp --reject: accepted, so we send an implementation class UID",
  ignore: !HAVE_DCMTK,
  async fn() {
    await withStorescp(["--reject", "-d"], async (port, scp) => {
      const r = await ourEchoscu(["-v"], port);
      assertEchoOk(r);
      await scp.waitFor((b) => /Their Implementation Class UID: +2\.25\./.test(b.stderr), 10_000);
      assert.match(scp.stderr, /Their Implementation Version Name: DIMSE_DENO_/);
    });
  },
});

Deno.test({
  name: "our echoscu -d -> DCMTK storescp: A-ASSOCIATE-RQ and -AC dumps between rulers",
  ignore: !HAVE_DCMTK,
  async fn() {
    await withStorescp([], async (port) => {
      const r = await ourEchoscu(["-d"], port);
      assertEchoOk(r);
      const order = [
        /^D: =+ BEGIN A-ASSOCIATE-RQ =+$/m,
        /^D: =+ END A-ASSOCIATE-RQ =+$/m,
        /^D: =+ BEGIN A-ASSOCIATE-AC =+$/m,
        /^D: =+ END A-ASSOCIATE-AC =+$/m,
      ];
      let at = 0;
      for (const re of order) {
        const m = re.exec(r.stderr.slice(at));
        assert.ok(m, `${re} after offset ${at}:\n${r.stderr}`);
        at += m.index + m[0].length;
      }
      assert.match(r.stderr, /Their Implementation Version Name: OFFIS_DCMTK_/);
    });
  },
});

Deno.test({
  name: "our echoscu --json -> DCMTK storescp: the documented record",
  ignore: !HAVE_DCMTK,
  async fn() {
    await withStorescp(["--aetitle", "STORESCP"], async (port) => {
      const r = await ourEchoscu(["--json", "-aet", "ME", "-aec", "STORESCP", "-pts", "3"], port);
      assert.equal(r.code, 0, show(r));
      // At the default level only the summary line, like ping's.
      assert.match(
        r.stderr,
        new RegExp(
          `^echoscu: C-ECHO to STORESCP@127\\.0\\.0\\.1:${port}: Success, round trip \\d+\\.\\d{3} ms\n$`,
        ),
      );
      const recs = lines(r.stdout).map((l) => JSON.parse(l));
      assert.deepEqual(recs.map((x) => x.type), ["echo", "summary"]);
      const [echo, summary] = recs;
      for (const rec of recs) {
        assert.equal(rec.tool, "echoscu");
        assert.ok(Math.abs(Date.parse(rec.time) - Date.now()) < 60_000, rec.time);
        assert.deepEqual(rec.peer, { host: "127.0.0.1", port });
        assert.equal(rec.callingAeTitle, "ME");
        assert.equal(rec.calledAeTitle, "STORESCP");
        assert.equal(rec.transferSyntax, EXPLICIT_LE);
        assert.equal(rec.outcome, "success");
        assert.equal(rec.diagnosis, null);
      }
      assert.equal(echo.messageId, 1);
      assert.equal(echo.status, 0);
      assert.equal(echo.statusText, "Success");
      assert.ok(echo.ms >= 0);
      for (const k of ["connectMs", "associateMs", "releaseMs"]) {
        assert.equal(typeof summary.timings[k], "number", k);
        assert.ok(summary.timings[k] >= 0, k);
      }
      assert.equal(summary.exitCode, 0);
      assert.deepEqual(
        [summary.planned, summary.sent, summary.success, summary.failed, summary.notSent],
        [1, 1, 1, 0, 0],
      );
      assert.equal(summary.roundTripMs.min, echo.ms);
    });
  },
});

// ---------------------------------------------------------------------------
// our echoscu -> our echoscp
// ---------------------------------------------------------------------------

Deno.test("our echoscu -> our echoscp: default", async () => {
  await withEchoscp([], async (port, scp) => {
    const r = await ourEchoscu(["-v"], port);
    assertEchoOk(r);
    await waitForEnded(scp, 1);
    assert.equal(countLines(scp.stderr, /^I: Received Echo Request \(MsgID 1\)$/), 1);
    assert.equal(countLines(scp.stderr, /^[WEF]: /), 0, scp.stderr);
  });
});

Deno.test("our echoscu --repeat 10 -> our echoscp", async () => {
  await withEchoscp([], async (port, scp) => {
    const r = await ourEchoscu(["-v", "--repeat", "10", "--json"], port);
    assertEchoOk(r, 10);
    const recs = lines(r.stdout).map((l) => JSON.parse(l));
    assert.deepEqual(recs.map((x) => x.messageId ?? x.type), [
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
      10,
      "summary",
    ]);
    await waitForEnded(scp, 1);
    const ids = scp.events().filter((e) => e.type === "request").map((e) => e.messageId);
    assert.deepEqual(ids, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});

Deno.test("our echoscu -aec mismatch -> our echoscp: accepted (echoscp does not check it)", async () => {
  await withEchoscp(["-aet", "ECHOSCP"], async (port, scp) => {
    const r = await ourEchoscu(["-v", "-aec", "SOMEONE-ELSE"], port);
    assertEchoOk(r);
    const ev = await scp.waitForEvent((e) => e.type === "association-received");
    assert.equal(ev.calledAeTitle, "SOMEONE-ELSE");
    await waitForEnded(scp, 1);
  });
});

Deno.test("our echoscu -> our echoscp --accept-calling: exit 61, diagnosis names -aet", async () => {
  await withEchoscp(
    ["--accept-calling", "OTHER", "--accept-calling", "THIRD"],
    async (port, scp) => {
      const r = await ourEchoscu(["-aet", "ME"], port);
      assert.equal(r.code, 61, show(r));
      const err = lines(r.stderr);
      assert.ok(err.includes("F: Reason: Calling AE Title Not Recognized"), show(r));
      assert.match(err.at(-2)!, /^E: calling AE title 'ME' not recognized: .*-aet/, show(r));
      await scp.waitForEvent((e) => e.type === "association-rejected");
      // An allowed title is accepted by the same server.
      assertEchoOk(await ourEchoscu(["-v", "-aet", "THIRD"], port));
    },
  );
});
