/**
 * `--async` of storescu and storescp (the asynchronous operations window,
 * PS3.7 D.3.3.3): windowed sends into our storescp (granted, files stored
 * whole), into a peer answering out of order, into one answering an unknown
 * message ID (A-ABORT, exit code 10 as for every protocol error), the
 * option's bounds, and storescp granting only when asked.
 */
import assert from "node:assert/strict";
import { newUid } from "../../lib/util/uid.ts";
import { readPart10, writeImageFile } from "../../testing/dicom_files.ts";
import { startFakeScp } from "../../testing/fake_scp.ts";
import { runTool, show, withTool } from "../../testing/procs.ts";
import { withTempDir } from "../../testing/temp_files.ts";

const HOST = "127.0.0.1";
const storescu = (args: string[]) => runTool("storescu", args, 60_000);

/** `n` small MR images in `dir`. */
async function images(dir: string, n: number): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    files.push(`${dir}/f${i}.dcm`);
    await writeImageFile(files[i], { rows: 16, cols: 16, sopInstanceUid: newUid() });
  }
  return files;
}

Deno.test("storescu --async 4 into storescp --async 8: granted 4, every file stored whole, both sides say the window", async () => {
  await withTempDir("dimse-async-", async (dir) => {
    const files = await images(dir, 12);
    await Deno.mkdir(`${dir}/out`);
    const server = await withTool(
      "storescp",
      ["-v", "--async", "8", "-od", `${dir}/out`],
      async (port) => {
        const r = await storescu(["-v", "--async", "4", HOST, String(port), ...files]);
        assert.equal(r.code, 0, show(r));
        assert.match(
          r.stderr,
          /^I: Asynchronous Operations Window: proposed 4, granted 4 outstanding operations$/m,
        );
        assert.match(r.stderr, /12 files to .*: 12 stored, 0 failed, 0 not sent/);
      },
    );
    assert.match(
      server.stderr,
      /^I: Asynchronous Operations Window: requested 4, granted 4 outstanding operations$/m,
    );
    const stored = [...Deno.readDirSync(`${dir}/out`)].map((e) => e.name).sort();
    assert.equal(stored.length, 12);
    assert.ok(stored.every((n) => n.startsWith("MR.") && !n.endsWith(".part")));
    for (const f of files) {
      const sent = await readPart10(f);
      const got = await readPart10(`${dir}/out/MR.${sent.meta.mediaStorageSopInstanceUid}`);
      assert.deepEqual(got.raw, sent.raw);
    }
  });
});

Deno.test("storescp without --async grants no window (DCMTK's answer): storescu --async falls back to one at a time and says so", async () => {
  await withTempDir("dimse-async-", async (dir) => {
    const files = await images(dir, 3);
    await Deno.mkdir(`${dir}/out`);
    const server = await withTool("storescp", ["-v", "-od", `${dir}/out`], async (port) => {
      const r = await storescu(["-v", "--async", "8", HOST, String(port), ...files]);
      assert.equal(r.code, 0, show(r));
      assert.match(
        r.stderr,
        /^I: Asynchronous Operations Window: proposed 8, not granted by the peer: one operation at a time$/m,
      );
    });
    assert.doesNotMatch(server.stderr, /Asynchronous Operations Window/);
    assert.equal([...Deno.readDirSync(`${dir}/out`)].length, 3);
  });
});

Deno.test("storescu without --async proposes no window (DCMTK's request) and says nothing of one", async () => {
  await withTempDir("dimse-async-", async (dir) => {
    const files = await images(dir, 1);
    await Deno.mkdir(`${dir}/out`);
    await withTool("storescp", ["--async", "8", "-od", `${dir}/out`], async (port) => {
      const r = await storescu(["-d", HOST, String(port), ...files]);
      assert.equal(r.code, 0, show(r));
      assert.doesNotMatch(r.stderr, /Asynchronous Operations Window/);
      // The request's bytes hold no 0x53 sub-item: the user information is DCMTK's.
      assert.doesNotMatch(r.stderr, /\b53 +00 +00 +04\b/);
    });
  });
});

Deno.test("storescu --async 4 into a peer answering each group of 4 in reverse order: every file stored, exit 0", async () => {
  const fake = startFakeScp({ kind: "answer-reversed", window: 4, status: 0 });
  try {
    await withTempDir("dimse-async-", async (dir) => {
      const files = await images(dir, 10);
      const r = await storescu(["-v", "--async", "4", HOST, String(fake.port), ...files]);
      assert.equal(r.code, 0, show(r));
      assert.match(r.stderr, /10 files to .*: 10 stored, 0 failed, 0 not sent/);
    });
  } finally {
    await fake.close();
  }
});

Deno.test("storescu --async into a peer answering an unknown message ID: each outstanding file fails with the protocol error, A-ABORT, exit 10", async () => {
  const fake = startFakeScp({ kind: "unknown-message-id", window: 4 });
  try {
    await withTempDir("dimse-async-", async (dir) => {
      const files = await images(dir, 4);
      const r = await storescu(["--async", "4", HOST, String(fake.port), ...files]);
      assert.equal(r.code, 10, show(r));
      // The four stores were outstanding when the stray response came: each is a failure.
      assert.equal(
        r.stderr.split("\n").filter((l) =>
          l ===
            "E: unexpected C-STORE-RSP (message ID 1001, none of ours) on the association"
        ).length,
        4,
        r.stderr,
      );
      assert.match(r.stderr, /0 stored, 4 failed, 0 not sent.*association aborted \(exit 10\)/);
      assert.ok(fake.pduTypes().includes("A-ABORT"), fake.pduTypes().join());
      assert.ok(!fake.pduTypes().includes("A-RELEASE-RQ"), fake.pduTypes().join());
    });
  } finally {
    await fake.close();
  }
});

Deno.test("--async bounds: storescu 1..65535, storescp 1..65535; one line, exit 1", async () => {
  for (const [tool, value] of [["storescu", "0"], ["storescu", "65536"], ["storescp", "0"]]) {
    const args = tool === "storescu"
      ? ["--async", value, HOST, "104", "x.dcm"]
      : ["--async", value, "104"];
    const r = await runTool(tool, args);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /--async/);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});

Deno.test("storescu --async 4, every store refused: the first refusal halts, the 4 outstanding are answered and counted, the rest not sent, the association released", async () => {
  const fake = startFakeScp({ kind: "answer-reversed", window: 4, status: 0xa700 });
  try {
    await withTempDir("dimse-async-", async (dir) => {
      const files = await images(dir, 10);
      const r = await storescu(["--async", "4", HOST, String(fake.port), ...files]);
      assert.equal(r.code, 0xa7, show(r));
      assert.match(r.stderr, /10 files to .*: 0 stored, 4 failed, 6 not sent/);
      assert.deepEqual(fake.pduTypes(), ["A-ASSOCIATE-RQ", "A-RELEASE-RQ"]);
    });
  } finally {
    await fake.close();
  }
});
