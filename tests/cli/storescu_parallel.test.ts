/**
 * storescu over several associations (--parallel), with retries (--retries,
 * --retry-delay) and a resume journal (--journal): every file stored once
 * whichever association carried it, refused associations leaving the queue
 * to the others, transient failures tried again on a fresh association with
 * each attempt in the JSON, a SIGKILLed run resumed by sending exactly the
 * stores not acknowledged, a journal of another peer skipping nothing, and
 * invented UIDs unique across associations; with an asynchronous operations
 * window (--async) on each association too, and windowed stores retried when
 * their association is aborted under them. Peers: our storescp (also behind
 * the latency proxy, so that a kill lands mid-batch) and the fake SCP.
 */
import assert from "node:assert/strict";
import { newUid } from "../../lib/util/uid.ts";
import {
  isTransientStatus,
  MAX_RETRY_DELAY_MS,
  retryDelay,
} from "../../lib/cli/storescu/engine.ts";
import { journalPeer, readJournal } from "../../lib/cli/storescu/journal.ts";
import { writeImageFile } from "../../testing/dicom_files.ts";
import { startFakeScp } from "../../testing/fake_scp.ts";
import { LatencyProxy } from "../../testing/latency_proxy.ts";
import { Background, runTool, show, startTool, toolArgv } from "../../testing/procs.ts";

const HOST = "127.0.0.1";

/** A temporary directory with `n` small MR images (their SOP Instance UIDs too), removed after. */
async function withImages(
  n: number,
  fn: (files: string[], uids: string[], dir: string) => Promise<void>,
  size = 16,
) {
  const dir = await Deno.makeTempDir({ prefix: "dimse-storescu-parallel-" });
  try {
    const files: string[] = [];
    const uids: string[] = [];
    for (let i = 0; i < n; i++) {
      files.push(`${dir}/f${String(i).padStart(3, "0")}.dcm`);
      uids.push(newUid());
      await writeImageFile(files[i], { rows: size, cols: size, sopInstanceUid: uids[i] });
    }
    await Deno.mkdir(`${dir}/od`);
    await fn(files, uids, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The JSON lines of one type in `stdout`. */
function jsonLines(stdout: string, type: string): Record<string, unknown>[] {
  return stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l))
    .filter((e) => e.type === type);
}

/** The SOP Instance UIDs our storescp stored, from its --json store lines. */
function storedUids(scp: Background): string[] {
  return jsonLines(scp.stdout, "store").filter((e) => e.outcome === "success")
    .map((e) => e.sopInstanceUid as string);
}

const sorted = (xs: Iterable<string>) => [...xs].sort();

/** The lines of a --journal file. */
function journalLines(file: string): Record<string, unknown>[] {
  return Deno.readTextFileSync(file).split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

Deno.test("--parallel 4 into our storescp: every file stored once, four associations, one JSON line per file", async () => {
  await withImages(24, async (files, uids, dir) => {
    const { proc: scp, port } = await startTool("storescp", ["--bind", HOST, "-od", `${dir}/od`]);
    try {
      const out = await runTool("storescu", [
        "--parallel",
        "4",
        "-v",
        "--json",
        HOST,
        String(port),
        ...files,
      ]);
      assert.equal(out.code, 0, show(out));
      const stores = jsonLines(out.stdout, "store");
      assert.equal(stores.length, 24);
      assert.deepEqual(sorted(stores.map((s) => s.sopInstanceUid as string)), sorted(uids));
      assert.ok(stores.every((s) => s.outcome === "success"));
      const carriers = new Set(stores.map((s) => s.association));
      assert.ok(carriers.size >= 2, `several associations carried stores: ${[...carriers]}`);
      assert.ok([...carriers].every((n) => typeof n === "number" && n >= 1 && n <= 4));
      const [summary] = jsonLines(out.stdout, "summary");
      assert.equal(summary.associations, 4);
      assert.equal(summary.success, 24);
      // Each association's lines carry its number.
      for (const n of [1, 2, 3, 4]) {
        assert.match(out.stderr, new RegExp(`^I: \\[${n}\\] Association Accepted`, "m"));
      }
      await scp.waitFor(() => storedUids(scp).length === 24);
      assert.deepEqual(sorted(storedUids(scp)), sorted(uids));
    } finally {
      await scp.stop();
    }
  });
});

Deno.test("--parallel 4 into a storescp serving 2 associations: the refused ones say so once each, the rest carry the queue", async () => {
  await withImages(40, async (files, uids, dir) => {
    const { proc: scp, port } = await startTool("storescp", [
      "--bind",
      HOST,
      "--max-associations",
      "2",
      "-od",
      `${dir}/od`,
    ]);
    try {
      const out = await runTool("storescu", [
        "--parallel",
        "4",
        "--json",
        HOST,
        String(port),
        ...files,
      ]);
      assert.equal(out.code, 0, show(out));
      const refused = out.stderr.split("\n").filter((l) =>
        /^W: association \d of 4 could not be established \(.*\): the queue carries on with the other associations$/
          .test(l)
      );
      assert.ok(refused.length >= 1 && refused.length <= 2, show(out));
      assert.doesNotMatch(out.stderr, /^[EF]: /m);
      const stores = jsonLines(out.stdout, "store");
      assert.deepEqual(sorted(stores.map((s) => s.sopInstanceUid as string)), sorted(uids));
      await scp.waitFor(() => storedUids(scp).length === 40);
      assert.deepEqual(sorted(storedUids(scp)), sorted(uids));
    } finally {
      await scp.stop();
    }
  });
});

Deno.test("--parallel 3, every association rejected: the exit code and error lines of a single association", async () => {
  await withImages(2, async (files) => {
    const fake = startFakeScp({ kind: "reject", result: 1, source: 1, reason: 3 });
    try {
      const one = await runTool("storescu", [HOST, String(fake.port), ...files]);
      const three = await runTool("storescu", [
        "--parallel",
        "3",
        HOST,
        String(fake.port),
        ...files,
      ]);
      assert.notEqual(one.code, 0);
      assert.equal(three.code, one.code, show(three));
      // The same lines, the association's number in front of its own.
      const strip = (s: string) => s.replace(/^([A-Z]): \[\d\] /gm, "$1: ");
      const errorLines = (s: string) => strip(s).split("\n").filter((l) => /^[EF]: /.test(l));
      assert.deepEqual(errorLines(three.stderr), errorLines(one.stderr));
      assert.equal(fake.connections(), 4);
    } finally {
      await fake.close();
    }
  });
});

Deno.test("--parallel 2, a store refused without --no-halt: no file handed out after it, the store in flight on the other association finishes", async () => {
  await withImages(10, async (files) => {
    // The first connection refuses after 300 ms; the second answers Success after 900 ms.
    const fake = startFakeScp((n) =>
      n === 1
        ? { kind: "answer", status: 0xc000, delayMs: 300 }
        : { kind: "answer", status: 0, delayMs: 900 }
    );
    try {
      const out = await runTool("storescu", [
        "--parallel",
        "2",
        "--json",
        HOST,
        String(fake.port),
        ...files,
      ]);
      assert.equal(out.code, 0xc0, show(out));
      const stores = jsonLines(out.stdout, "store");
      assert.equal(stores.length, 10);
      const count = (outcome: string) => stores.filter((s) => s.outcome === outcome).length;
      assert.deepEqual([count("failed"), count("success"), count("not-sent")], [1, 1, 8]);
      const [summary] = jsonLines(out.stdout, "summary");
      assert.equal(summary.outcome, "store-failed");
      assert.equal(fake.connections(), 2);
    } finally {
      await fake.close();
    }
  });
});

Deno.test("--parallel 3, SIGINT mid-batch: every association finishes its store under way and is released; a record per file, exit 130", async () => {
  await withImages(30, async (files) => {
    // Each response takes 300 ms: the signal comes while stores wait for their answers.
    const fake = startFakeScp({ kind: "answer", status: 0, delayMs: 300 });
    try {
      const proc = new Background(Deno.execPath(), [
        ...toolArgv("storescu"),
        "--parallel",
        "3",
        "-v",
        "--json",
        HOST,
        String(fake.port),
        ...files,
      ]);
      await proc.waitFor((b) => b.stdout.includes(`"outcome":"success"`), 20_000);
      const status = await proc.stop("SIGINT");
      assert.equal(status.code, 130, `${proc.stdout}\n${proc.stderr}`);
      const stores = jsonLines(proc.stdout, "store");
      assert.equal(stores.length, 30);
      const done = stores.filter((s) => s.outcome === "success").length;
      const notSent = stores.filter((s) => s.outcome === "not-sent").length;
      assert.equal(done + notSent, 30, "none failed, none cut off");
      assert.ok(done >= 1 && notSent >= 1, `${done} done`);
      assert.equal(jsonLines(proc.stdout, "summary")[0].outcome, "interrupted");
      assert.match(
        proc.stderr,
        /^W: SIGINT received: finishing the stores under way, then releasing the associations/m,
      );
      // Every association that was established is released, none aborted.
      const accepted = proc.stderr.match(/^I: \[\d\] Association Accepted/gm)?.length ?? 0;
      const released = proc.stderr.match(/^I: \[\d\] Releasing Association$/gm)?.length ?? 0;
      assert.equal(released, accepted, proc.stderr);
      assert.doesNotMatch(proc.stderr, /Aborting Association/);
    } finally {
      await fake.close();
    }
  });
});

Deno.test("--retries: an association aborted under a store; the store goes again on a new association, both attempts in the JSON", async () => {
  // 256 KB data sets, 16 KB PDUs: the abort arrives while the data set is going out.
  await withImages(3, async (files) => {
    // The first connection aborts on the first request; the others store.
    const abortingFirst = () =>
      startFakeScp((n) =>
        n === 1 ? { kind: "abort-on-request", source: 2, reason: 0 } : { kind: "answer", status: 0 }
      );
    const plain = abortingFirst();
    try {
      const without = await runTool("storescu", ["--json", HOST, String(plain.port), ...files]);
      assert.equal(without.code, 10, show(without));
    } finally {
      await plain.close();
    }
    const fake = abortingFirst();
    try {
      const out = await runTool("storescu", [
        "--parallel",
        "2",
        "--retries",
        "2",
        "--retry-delay",
        "10",
        "--json",
        HOST,
        String(fake.port),
        ...files,
      ]);
      assert.equal(out.code, 0, show(out));
      const stores = jsonLines(out.stdout, "store");
      assert.equal(stores.length, 3);
      assert.ok(stores.every((s) => s.outcome === "success"));
      const retried = stores.filter((s) => (s.attempts as unknown[]).length === 2);
      assert.equal(retried.length, 1, show(out));
      const [first, last] = retried[0].attempts as Record<string, unknown>[];
      assert.equal(first.outcome, "failed");
      assert.match(String(first.diagnosis), /abort/i);
      assert.equal(last.outcome, "success");
      assert.equal(last.association, retried[0].association);
      assert.match(out.stderr, /^W: .*attempt 1 failed; retrying on a new association in 10 ms/m);
      const [summary] = jsonLines(out.stdout, "summary");
      assert.equal(summary.retried, 1);
      assert.equal(summary.success, 3);
      assert.equal(summary.sent, 3);
    } finally {
      await fake.close();
    }
  }, 256);
});

Deno.test("--retries: a store waiting out its retry delay is not left behind when the queue runs dry", async () => {
  // The other association stores the rest well within the delay, and a new one finds nothing due
  // yet: the store must still go when its delay is over, not be recorded as failed at the end.
  await withImages(3, async (files) => {
    const fake = startFakeScp((n) =>
      n === 1 ? { kind: "abort-on-request", source: 2, reason: 0 } : { kind: "answer", status: 0 }
    );
    try {
      const out = await runTool("storescu", [
        "--parallel",
        "2",
        "--retries",
        "1",
        "--retry-delay",
        "400",
        "--json",
        HOST,
        String(fake.port),
        ...files,
      ]);
      assert.equal(out.code, 0, show(out));
      const stores = jsonLines(out.stdout, "store");
      assert.deepEqual(stores.map((s) => s.outcome), ["success", "success", "success"]);
      const retried = stores.filter((s) => (s.attempts as unknown[]).length === 2);
      assert.equal(retried.length, 1, show(out));
    } finally {
      await fake.close();
    }
  }, 256);
});

Deno.test("--retries: Out of Resources (0xA700) is transient; the last attempt decides", async () => {
  await withImages(1, async (files) => {
    const fake = startFakeScp((n) => ({ kind: "answer", status: n === 1 ? 0xa700 : 0 }));
    try {
      const out = await runTool("storescu", [
        "--retries",
        "1",
        "--retry-delay",
        "0",
        "--json",
        HOST,
        String(fake.port),
        ...files,
      ]);
      assert.equal(out.code, 0, show(out));
      const [store] = jsonLines(out.stdout, "store");
      const attempts = store.attempts as Record<string, unknown>[];
      assert.deepEqual(attempts.map((a) => [a.status, a.outcome]), [[0xa700, "failed"], [
        0,
        "success",
      ]]);
      assert.equal(fake.connections(), 2);
    } finally {
      await fake.close();
    }
    // Failing every time: failed once its retries are spent, with the exit code of its status.
    const always = startFakeScp({ kind: "answer", status: 0xa701 });
    try {
      const out = await runTool("storescu", [
        "--retries",
        "2",
        "--retry-delay",
        "0",
        "--json",
        HOST,
        String(always.port),
        ...files,
      ]);
      assert.equal(out.code, 0xa7, show(out));
      const [store] = jsonLines(out.stdout, "store");
      assert.equal(store.outcome, "failed");
      assert.equal((store.attempts as unknown[]).length, 3);
      // A failure status that is not transient is not tried again.
    } finally {
      await always.close();
    }
    const refusing = startFakeScp({ kind: "answer", status: 0xc000 });
    try {
      const out = await runTool("storescu", [
        "--retries",
        "2",
        HOST,
        String(refusing.port),
        ...files,
      ]);
      assert.equal(out.code, 0xc0, show(out));
      assert.equal(refusing.connections(), 1);
    } finally {
      await refusing.close();
    }
  });
});

Deno.test("--retries: an association rejected as transient is requested again; its lines become warnings", async () => {
  await withImages(2, async (files) => {
    const fake = startFakeScp((n) =>
      n === 1 ? { kind: "reject", result: 2, source: 3, reason: 2 } : { kind: "answer", status: 0 }
    );
    try {
      const out = await runTool("storescu", [
        "--retries",
        "1",
        "--retry-delay",
        "0",
        HOST,
        String(fake.port),
        ...files,
      ]);
      assert.equal(out.code, 0, show(out));
      assert.match(out.stderr, /^W: Association Rejected:$/m);
      assert.match(
        out.stderr,
        /^W: .*: requesting the association again in 0 ms \(retry 1 of 1\)$/m,
      );
      assert.doesNotMatch(out.stderr, /^[EF]: /m);
      assert.equal(fake.connections(), 2);
    } finally {
      await fake.close();
    }
    // A permanent rejection (result 1) is not requested again.
    const permanent = startFakeScp({ kind: "reject", result: 1, source: 1, reason: 3 });
    try {
      const out = await runTool("storescu", [
        "--retries",
        "3",
        HOST,
        String(permanent.port),
        ...files,
      ]);
      assert.equal(out.code, 61, show(out));
      assert.match(out.stderr, /^F: Association Rejected:$/m);
      assert.equal(permanent.connections(), 1);
    } finally {
      await permanent.close();
    }
  });
});

Deno.test("--journal: storescu killed (SIGKILL) mid-batch; the rerun sends exactly the stores not acknowledged", async () => {
  await withImages(60, async (files, uids, dir) => {
    const { proc: scp, port } = await startTool("storescp", ["--bind", HOST, "-od", `${dir}/od`]);
    // 20 ms each way: a store takes a round trip, so the kill lands mid-batch.
    const proxy = LatencyProxy.start({ target: { hostname: HOST, port }, delayMs: 20 });
    const journal = `${dir}/sent.journal`;
    try {
      // Two associations: their acknowledgements share the journal.
      const args = ["--parallel", "2", "--journal", journal, HOST, String(proxy.port), ...files];
      const first = new Background(Deno.execPath(), [...toolArgv("storescu"), ...args]);
      const journaled = async () =>
        (await Deno.readTextFile(journal).catch(() => "")).split("\n").filter((l) => l).length;
      for (let i = 0; i < 400 && await journaled() < 10; i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
      first.kill("SIGKILL");
      await first.exited();
      // A kill mid-write leaves a torn line: the rerun tolerates it.
      await Deno.writeTextFile(journal, '{"path":"/torn', { append: true });
      // Everything the first run sent has reached storescp (its association ended).
      await scp.waitFor(() =>
        scp.events().filter((e) => e.type === "association-ended").length === 2
      );
      const firstCount = storedUids(scp).length;
      const firstRun = new Set(storedUids(scp));
      const acked = (await Deno.readTextFile(journal)).split("\n").filter((l) =>
        l.startsWith("{") && l.endsWith("}")
      ).map((l) => JSON.parse(l).sopInstanceUid as string);
      assert.ok(acked.length >= 10 && acked.length < 60, `journaled ${acked.length}`);
      for (const uid of acked) assert.ok(firstRun.has(uid), "journaled only what was stored");

      const rerun = await runTool("storescu", ["-v", "--json", ...args]);
      assert.equal(rerun.code, 0, show(rerun));
      assert.match(rerun.stderr, /^W: journal .*: 1 unreadable line\(s\) ignored/m);
      assert.match(
        rerun.stderr,
        new RegExp(
          `^I: journal .*: ${acked.length} store\\(s\\) skipped, acknowledged before by `,
          "m",
        ),
      );
      const [summary] = jsonLines(rerun.stdout, "summary");
      assert.equal(summary.skipped, acked.length);
      assert.equal(summary.planned, 60 - acked.length);
      assert.match(rerun.stderr, new RegExp(`, ${acked.length} skipped \\(acknowledged before`));
      await scp.waitFor(() => storedUids(scp).length >= firstCount + 60 - acked.length);
      const secondRun = storedUids(scp).slice(firstCount);
      const ackedSet = new Set(acked);
      assert.deepEqual(sorted(secondRun), sorted(uids.filter((u) => !ackedSet.has(u))));
      // A third run finds everything acknowledged and sends nothing.
      const third = await runTool("storescu", ["--json", ...args]);
      assert.equal(third.code, 0, show(third));
      assert.equal(jsonLines(third.stdout, "summary")[0].skipped, 60);
      assert.equal(jsonLines(third.stdout, "store").length, 0);
    } finally {
      await proxy.close();
      await scp.stop();
    }
  });
});

Deno.test("--journal of another peer skips nothing", async () => {
  await withImages(3, async (files, uids, dir) => {
    const journal = `${dir}/j`;
    const a = await startTool("storescp", ["--bind", HOST, "-od", `${dir}/od`]);
    const b = await startTool("storescp", ["--bind", HOST, "-od", `${dir}/od`]);
    try {
      const toA = await runTool("storescu", ["--journal", journal, HOST, String(a.port), ...files]);
      assert.equal(toA.code, 0, show(toA));
      const read = await readJournal(
        journal,
        journalPeer({ calledAeTitle: "ANY-SCP", host: HOST, port: a.port }),
      );
      assert.equal([...read.acknowledged.values()].reduce((x, y) => x + y, 0), 3);
      const toB = await runTool("storescu", [
        "-v",
        "--json",
        "--journal",
        journal,
        HOST,
        String(b.port),
        ...files,
      ]);
      assert.equal(toB.code, 0, show(toB));
      assert.match(
        toB.stderr,
        /0 store\(s\) skipped.*\(3 acknowledged by other peers not skipped\)/,
      );
      assert.equal(jsonLines(toB.stdout, "summary")[0].skipped, 0);
      await b.proc.waitFor(() => storedUids(b.proc).length === 3);
      assert.deepEqual(sorted(storedUids(b.proc)), sorted(uids));
    } finally {
      await a.proc.stop();
      await b.proc.stop();
    }
  });
});

Deno.test("+II with --parallel 4: invented SOP Instance UIDs unique across associations, in queue order", async () => {
  await withImages(20, async (files, _uids, dir) => {
    const { proc: scp, port } = await startTool("storescp", ["--bind", HOST, "-od", `${dir}/od`]);
    try {
      const out = await runTool("storescu", [
        "--parallel",
        "4",
        "+IR",
        "5",
        "-v",
        "--json",
        HOST,
        String(port),
        ...files,
      ]);
      assert.equal(out.code, 0, show(out));
      const stores = jsonLines(out.stdout, "store");
      const sent = stores.map((s) => s.sopInstanceUid as string);
      assert.equal(new Set(sent).size, 20);
      await scp.waitFor(() => storedUids(scp).length === 20);
      assert.deepEqual(sorted(storedUids(scp)), sorted(sent));
      // Images numbered 0..4 per series, in queue order, whichever association sent them.
      const inventions = [
        ...out.stderr.matchAll(/Inventing Identifying Information \(pa0, st0, se(\d), im(\d)\)/g),
      ]
        .map((m) => `${m[1]}/${m[2]}`);
      assert.deepEqual(
        sorted(inventions),
        sorted(Array.from({ length: 20 }, (_, i) => `${Math.floor(i / 5)}/${i % 5}`)),
      );
      const seriesUids = new Set(
        [...out.stderr.matchAll(/SeriesInstanceUID=(\S+)/g)].map((m) => m[1]),
      );
      assert.equal(seriesUids.size, 4);
    } finally {
      await scp.stop();
    }
  });
});

Deno.test("retry delays double from --retry-delay up to 30 s; 0xA7xx and 0x0213 are transient", () => {
  assert.deepEqual([1, 2, 3, 4].map((n) => retryDelay(1000, n)), [1000, 2000, 4000, 8000]);
  assert.equal(retryDelay(1000, 20), MAX_RETRY_DELAY_MS);
  assert.ok(isTransientStatus(0xa700) && isTransientStatus(0xa7ff) && isTransientStatus(0x0213));
  assert.ok(!isTransientStatus(0xa900) && !isTransientStatus(0xc000) && !isTransientStatus(0x0122));
});

Deno.test("options: --retry-delay only with --retries; --parallel within 1..64", async () => {
  const cases: [string[], RegExp][] = [
    [["--retry-delay", "5"], /--retry-delay only allowed with --retries/],
    [["--parallel", "0"], /Invalid value for option --parallel/],
    [["--parallel", "65"], /Invalid value for option --parallel/],
  ];
  for (const [args, message] of cases) {
    const out = await runTool("storescu", [...args, HOST, "104", "f"]);
    assert.equal(out.code, 1, show(out));
    assert.match(out.stderr, message);
  }
  const help = await runTool("storescu", ["--help"]);
  for (const o of ["--parallel", "--retries", "--retry-delay", "--journal"]) {
    assert.match(help.stdout, new RegExp(`^ +${o} +\\[`, "m"));
  }
});

Deno.test("--parallel 3 --async 4 --journal into our storescp --async 4: a window on each association, every file stored exactly once, one JSON line and one journal line per file", async () => {
  await withImages(36, async (files, uids, dir) => {
    const { proc: scp, port } = await startTool("storescp", [
      "--bind",
      HOST,
      "-v",
      "--async",
      "4",
      "--json",
      "-od",
      `${dir}/od`,
    ]);
    try {
      const out = await runTool("storescu", [
        "--parallel",
        "3",
        "--async",
        "4",
        "--journal",
        `${dir}/journal`,
        "-v",
        "--json",
        HOST,
        String(port),
        ...files,
      ]);
      assert.equal(out.code, 0, show(out));
      for (const n of [1, 2, 3]) {
        assert.match(
          out.stderr,
          new RegExp(
            `^I: \\[${n}\\] Asynchronous Operations Window: proposed 4, granted 4 outstanding operations$`,
            "m",
          ),
        );
      }
      const stores = jsonLines(out.stdout, "store");
      assert.equal(stores.length, 36);
      assert.deepEqual(sorted(stores.map((s) => s.sopInstanceUid as string)), sorted(uids));
      assert.deepEqual(sorted(stores.map((s) => s.path as string)), sorted(files));
      assert.ok(stores.every((s) => s.outcome === "success"));
      // Message IDs are unique across the run, so on each association.
      assert.equal(new Set(stores.map((s) => s.messageId)).size, 36);
      const [summary] = jsonLines(out.stdout, "summary");
      assert.equal(summary.associations, 3);
      assert.equal(summary.success, 36);
      assert.equal(summary.sent, 36);
      await scp.waitFor(() => storedUids(scp).length >= 36);
      // Each exactly once: no UID twice on the receiving side.
      assert.deepEqual(sorted(storedUids(scp)), sorted(uids));
      assert.equal(
        scp.stderr.match(/Asynchronous Operations Window: requested 4, granted 4/g)?.length,
        3,
        scp.stderr,
      );
      // Every response journaled once, whatever the order it came in.
      const journaled = journalLines(`${dir}/journal`);
      assert.equal(journaled.length, 36);
      assert.deepEqual(sorted(journaled.map((e) => e.sopInstanceUid as string)), sorted(uids));
      assert.ok(journaled.every((e) => e.status === 0));
    } finally {
      await scp.stop();
    }
  });
});

Deno.test("--async 4 --retries 1 --journal: the association aborted with 4 stores outstanding; all 4 go again on a new one, both attempts in the JSON, each file journaled once", async () => {
  // The first connection grants 4, reads 4 whole stores without answering, then aborts.
  await withImages(8, async (files, uids, dir) => {
    const fake = startFakeScp((n) =>
      n === 1
        ? { kind: "abort-after-requests", window: 4, requests: 4 }
        : { kind: "answer", status: 0 }
    );
    try {
      const out = await runTool("storescu", [
        "--async",
        "4",
        "--retries",
        "1",
        "--retry-delay",
        "10",
        "--journal",
        `${dir}/journal`,
        "--json",
        HOST,
        String(fake.port),
        ...files,
      ]);
      assert.equal(out.code, 0, show(out));
      const stores = jsonLines(out.stdout, "store");
      assert.equal(stores.length, 8);
      // The aborted attempts got no response: each file is journaled once, by its success.
      const journaled = journalLines(`${dir}/journal`);
      assert.deepEqual(sorted(journaled.map((e) => e.sopInstanceUid as string)), sorted(uids));
      assert.ok(journaled.every((e) => e.status === 0));
      assert.deepEqual(sorted(stores.map((s) => s.sopInstanceUid as string)), sorted(uids));
      assert.ok(stores.every((s) => s.outcome === "success"), show(out));
      const retried = stores.filter((s) => (s.attempts as unknown[]).length === 2);
      assert.equal(retried.length, 4, show(out));
      for (const s of retried) {
        const [first, last] = s.attempts as Record<string, unknown>[];
        assert.equal(first.outcome, "failed");
        assert.match(String(first.diagnosis), /abort/i);
        assert.equal(last.outcome, "success");
      }
      // The four outstanding were the first four of the queue; the rest went once.
      assert.deepEqual(sorted(retried.map((s) => s.path as string)), files.slice(0, 4));
      const [summary] = jsonLines(out.stdout, "summary");
      assert.equal(summary.retried, 4);
      assert.equal(summary.success, 8);
      assert.equal(summary.sent, 8);
      assert.equal(fake.connections(), 2);
    } finally {
      await fake.close();
    }
  });
});
