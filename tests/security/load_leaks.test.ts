/**
 * docs/SECURITY_CLASSES.md #5, per-connection leaks (denial of service by
 * repetition), as a CI-sized run of `deno task load` (scripts/load.ts, testing/load.ts):
 * our storescp and echoscp as child processes, measured from outside.
 *
 * The class's inputs and where each is tested:
 * - 1,000 malformed and 1,000 normal associations, open resources and
 *   memory before and after, the server still answering: here (500 + 500
 *   against storescp in the churn phase, 200 concurrent echoes, 20 x 5
 *   stores, every file whole), and at full size by `deno task load`;
 * - the malformed kinds of the churn, one by one with their log lines and
 *   A-ABORTs: tests/security/echoscp_bad_input.test.ts (#11), tests/pdu/pdu_abuse.test.ts
 *   (#3, #4), tests/security/storescp_safety.test.ts (aborts mid-data set), and
 *   tests/security/faults.test.ts (#8);
 * - issue 11's crowds that hold a place and do nothing (idle, half-started
 *   associations and C-STOREs, silent associations, stalled TLS
 *   handshakes), 512 each against SCPs limited to 256 open files, a good
 *   client served within a second throughout: the attack phases here, and
 *   each kind on its own in tests/security/server_resources.test.ts;
 * - timers left behind: the UL clears every timer in Sta1
 *   (tests/ul/ul_association_matrix.test.ts ends every case in Sta1, and Deno's
 *   test sanitizers fail a test that leaks a timer or a resource).
 *
 * Every phase runs twice. Descriptors are compared exactly, after each
 * round against before the first. Memory after the second round is
 * compared with the highest RSS of the first (which grows the heap to
 * its working size; the garbage collector is not forced), with a tolerance
 * of 128 MiB: over a churn round of 1,000 associations that catches a leak
 * of 128 KiB or more per association (one of the 256 KiB read buffers or
 * 1 MiB write batches each connection uses), not a smaller one.
 */
import assert from "node:assert/strict";
import { runEchoScu } from "../../lib/cli/echoscu/engine.ts";
import { formatReport, MALFORMED, runLoad, sampleProcess } from "../../testing/load.ts";
import { echoScuOptions, startEchoScp } from "../../testing/echo_peers.ts";

Deno.test("load, CI size, twice: 20 x 5 stores whole, 200 concurrent echoes, 1,000 churn half malformed, crowds of 512 against a limit of 256 files; descriptors back exactly, no memory growth over 128 MiB", async () => {
  // The SCU side is measured too: warm it up first (DNS module, first sockets).
  await warmUpOurSide();
  const self = await sampleProcess(Deno.pid);
  const reports = await runLoad({
    associations: 20,
    files: 5,
    size: 64 * 1024,
    echo: 200,
    churn: 1000,
    parallel: 50,
    attack: 512,
    attackNofile: 256,
    idleMs: 1000,
    rounds: 2,
    memToleranceMb: 128,
  });
  const text = formatReport(reports);
  for (const r of reports) assert.deepEqual(r.problems, [], text);
  const [store, echo, churn, attack, tlsAttack] = reports;
  assert.equal(store.files, 200, text);
  assert.equal(store.succeeded, 40, text);
  assert.equal(echo.succeeded, 400, text);
  assert.equal(churn.succeeded, 2000, text);
  // Two good visits (during, after) per crowd kind per round, each served.
  assert.equal(attack.succeeded, 16, text);
  assert.equal(tlsAttack.succeeded, 8, text);
  for (const kind of Object.keys(MALFORMED)) {
    assert.ok((churn.kinds?.[kind] ?? 0) >= 90, `${kind} sent ${churn.kinds?.[kind]} times`);
  }
  for (const r of reports) assert.equal(r.after.fds, r.before.fds, `${r.phase}: ${text}`);
  // Our own SCU side: every connection and file it opened is closed again. A resource
  // closed while an op of it is pending is freed when that op ends, so the count may
  // take a moment to come back (seen: 47 against 45 right after the load): wait, bounded.
  let fds = (await sampleProcess(Deno.pid)).fds;
  for (let i = 0; i < 100 && fds > self.fds; i++) {
    await new Promise((r) => setTimeout(r, 100));
    fds = (await sampleProcess(Deno.pid)).fds;
  }
  assert.ok(fds <= self.fds, `SCU-side descriptors: ${fds} after, ${self.fds} before`);
});

/** One echo from this process to a server in it: what stays open after the first use is not a leak. */
async function warmUpOurSide(): Promise<void> {
  const server = startEchoScp();
  try {
    const r = await runEchoScu(
      echoScuOptions(server.local.port, { host: "localhost", callingAeTitle: "WARMUP" }),
    );
    assert.equal(r.outcome, "success");
  } finally {
    await server.stop();
  }
}
