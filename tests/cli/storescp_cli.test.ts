/**
 * storescp's command line as a process: help, exit codes, the output
 * directory check, concurrent associations and their limit, the calling AE
 * filter, --refuse, --ignore, --abort-during/--abort-after, C-ECHO and a
 * clean stop on SIGTERM. DCMTK's storescu and echoscu are the peers.
 */
import assert from "node:assert/strict";
import { newUid } from "../../lib/util/uid.ts";
import { NULL_LOGGER } from "../../lib/log/logger.ts";
import { buildAssociateRq } from "../../lib/ae/negotiation.ts";
import { connectTcp } from "../../lib/transport/tcp.ts";
import { VERIFICATION_SOP_CLASS } from "../../lib/dicom/uids.ts";
import { requestAssociation } from "../../lib/ul/association.ts";
import { writeImageFile } from "../../testing/dicom_files.ts";
import { dcmtkAvailable, runCommand, runTool, startTool } from "../../testing/procs.ts";
import { listDir } from "../../testing/temp_files.ts";

const HAVE_DCMTK = dcmtkAvailable();

/** A temporary directory with one small MR file in it, and an empty output directory. */
async function workspace(): Promise<{ dir: string; od: string; file: string; uid: string }> {
  const dir = await Deno.makeTempDir({ prefix: "storescp_cli_" });
  const od = `${dir}/od`;
  await Deno.mkdir(od);
  const uid = newUid();
  const file = `${dir}/in.dcm`;
  await writeImageFile(file, { sopInstanceUid: uid, rows: 32, cols: 32 });
  return { dir, od, file, uid };
}

/**
 * Opens an association with our own SCU and keeps it open until `release`
 * is called; `withoutImplementationClassUid` leaves that item out.
 */
async function holdAssociation(port: number, withoutImplementationClassUid = false) {
  const transport = await connectTcp({ host: "127.0.0.1", port, family: "ipv4" });
  const rq = buildAssociateRq({
    aeTitle: "HOLDER",
    calledAeTitle: "STORESCP",
    maxPdu: 16384,
    presentationContexts: [{
      id: 1,
      abstractSyntax: VERIFICATION_SOP_CLASS,
      transferSyntaxes: ["1.2.840.10008.1.2"],
    }],
  });
  if (withoutImplementationClassUid) delete rq.userInformation.implementationClassUid;
  const r = await requestAssociation(transport, rq, { logger: NULL_LOGGER, artimTimeoutMs: 5000 });
  if (r.kind !== "accepted") throw new Error(`association not accepted: ${r.kind}`);
  return { release: () => r.association.release() };
}

Deno.test("--help lists DCMTK's options and ours", async () => {
  const out = await runTool("storescp", ["--help"]);
  assert.equal(out.code, 0);
  for (
    const line of [
      /^ {2}port +tcp\/ip port number to listen on/m,
      /^ {4}\+xa +--accept-all +accept all supported transfer syntaxes$/m,
      /^ {4}-su +--sort-on-study-uid +\[p\]refix: string$/m,
      /^ {4}\+uf +--unique-filenames +generate unique filenames$/m,
      /^ {4}-od +--output-directory +\[d\]irectory: string \(default: "\."\)$/m,
      /--max-associations/,
      /^ +--max-pending +\[n\]umber: integer \(default: from the open file limit\)$/m,
      /^ +--max-per-peer +\[n\]umber: integer \(default: max\(8, associations\/4\)\)$/m,
      /^ +--min-transfer-rate +\[b\]ytes per second: integer \(default: 1024\)$/m,
      /^ {4}-td +--dimse-timeout +\[s\]econds: integer \(default: 60\)$/m,
      /^ +--remove-stale-parts +remove partial files/m,
      /--accept-calling/,
    ]
  ) assert.match(out.stdout, line);
});

Deno.test("partial files an earlier run left in -od: reported at start; --remove-stale-parts removes those a minute old", async () => {
  const w = await workspace();
  try {
    const hour = Date.now() / 1000 - 7200;
    const stale = `${w.od}/MR.1.2.3.4.0badcafe.part`;
    const fresh = `${w.od}/CT.1.2.3.5.deadbeef.part`;
    const foreign = `${w.od}/notes.part`;
    for (const f of [stale, fresh, foreign]) await Deno.writeTextFile(f, "x");
    await Deno.utime(stale, hour, hour);
    const report = await startTool("storescp", ["-od", w.od]);
    const { code } = await report.proc.stop();
    assert.equal(code, 0);
    assert.match(
      report.proc.stderr,
      new RegExp(
        `^W: 2 partial files \\(\\*\\.part\\) from an earlier run in ${w.od}, the oldest last ` +
          "written 2 h ago: --remove-stale-parts removes them$",
        "m",
      ),
    );
    const line = report.proc.events().find((e) => e.type === "stale-parts");
    assert.deepEqual(
      { directory: line?.directory, count: line?.count, removed: line?.removed },
      { directory: w.od, count: 2, removed: 0 },
    );
    assert.ok(Number(line?.oldestSeconds) >= 7200, JSON.stringify(line));
    assert.deepEqual(
      (await listDir(w.od)).sort(),
      [fresh, foreign, stale].map((f) => f.slice(w.od.length + 1)).sort(),
    );
    const removing = await startTool("storescp", ["-od", w.od, "--remove-stale-parts"]);
    await removing.proc.stop();
    assert.match(
      removing.proc.stderr,
      /^W: removed 1 partial file \(\*\.part\) an earlier run left in .*, the oldest last written 2 h ago; kept 1 written to within the last minute \(another storescp\?\)$/m,
    );
    // Only ours, and only a stale one: the name pattern <name>.<8 hex>.part, a minute old.
    assert.deepEqual((await listDir(w.od)).sort(), ["CT.1.2.3.5.deadbeef.part", "notes.part"]);
  } finally {
    await Deno.remove(w.dir, { recursive: true });
  }
});

Deno.test("exit code 60 when the port cannot be opened", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dir = await Deno.makeTempDir({ prefix: "storescp_cli_" });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    const out = await runTool("storescp", ["--bind", "127.0.0.1", "-od", dir, String(port)]);
    assert.equal(out.code, 60, out.stderr);
    assert.match(out.stderr, new RegExp(`^F: cannot listen on port ${port}: `, "m"));
  } finally {
    taken.close();
    await Deno.remove(dir);
  }
});

Deno.test("-od must be an existing directory; -fe and -su take no path separators", async () => {
  const missing = await runTool("storescp", ["-od", "/nonexistent/storescp", "0"]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, "F: specified output directory does not exist\n");
  for (const args of [["-fe", "/x"], ["-su", "a/b"], ["-fe", "a\\b"]]) {
    const bad = await runTool("storescp", [...args, "0"]);
    assert.equal(bad.code, 1, args.join(" "));
    assert.match(
      bad.stderr,
      /^storescp: --(filename-extension|sort-on-study-uid): no path separators/,
    );
  }
});

Deno.test({
  name: "associations are served concurrently; --max-associations limits them",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    const w = await workspace();
    try {
      {
        const { proc, port } = await startTool("storescp", ["-od", w.od]);
        try {
          const held = await holdAssociation(port);
          // DCMTK's storescp would make this wait for the held association to end.
          const out = await runCommand("storescu", ["127.0.0.1", String(port), w.file]);
          assert.equal(out.code, 0, out.stderr);
          assert.deepEqual(await listDir(w.od), [`MR.${w.uid}`]);
          assert.equal(await held.release(), "released");
        } finally {
          await proc.stop();
        }
      }
      await Deno.remove(`${w.od}/MR.${w.uid}`);
      const { proc, port } = await startTool("storescp", ["--max-associations", "1", "-od", w.od]);
      try {
        const held = await holdAssociation(port);
        const refused = await runCommand("storescu", ["127.0.0.1", String(port), w.file]);
        assert.notEqual(refused.code, 0);
        assert.match(refused.stderr, /Association Rejected/);
        const rejected = await proc.waitForEvent((e) => e.type === "association-rejected");
        assert.match(String(rejected.diagnosis), /Transient/i);
        assert.deepEqual(await listDir(w.od), []);
        assert.equal(await held.release(), "released");
        await proc.waitForEvent((e) => e.type === "association-released");
        const out = await runCommand("storescu", ["127.0.0.1", String(port), w.file]);
        assert.equal(out.code, 0, out.stderr);
      } finally {
        await proc.stop();
      }
    } finally {
      await Deno.remove(w.dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "--accept-calling admits only the listed calling AE titles; --refuse refuses all",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    const w = await workspace();
    try {
      {
        const { proc, port } = await startTool("storescp", [
          "--accept-calling",
          "GOOD",
          "--accept-calling",
          "ALSOGOOD",
          "-od",
          w.od,
        ]);
        try {
          const bad = await runCommand("storescu", [
            "-aet",
            "BAD",
            "127.0.0.1",
            String(port),
            w.file,
          ]);
          assert.notEqual(bad.code, 0);
          assert.match(bad.stderr, /Calling AE Title Not Recognized/i);
          assert.deepEqual(await listDir(w.od), []);
          for (const aet of ["GOOD", "ALSOGOOD"]) {
            const ok = await runCommand("storescu", [
              "-aet",
              aet,
              "127.0.0.1",
              String(port),
              w.file,
            ]);
            assert.equal(ok.code, 0, ok.stderr);
          }
        } finally {
          await proc.stop();
        }
      }
      const { proc, port } = await startTool("storescp", ["-v", "--refuse", "-od", w.od]);
      try {
        const echo = await runCommand("echoscu", ["127.0.0.1", String(port)]);
        assert.notEqual(echo.code, 0);
        await proc.waitFor((p) => p.stderr.includes("Refusing"));
        assert.match(proc.stderr, /^I: Refusing Association \(forced via command line\)$/m);
      } finally {
        await proc.stop();
      }
    } finally {
      await Deno.remove(w.dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "--ignore receives and answers success but stores nothing; C-ECHO is answered",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    const w = await workspace();
    const { proc, port } = await startTool("storescp", ["--ignore", "-od", w.od]);
    try {
      const out = await runCommand("storescu", ["127.0.0.1", String(port), w.file]);
      assert.equal(out.code, 0, out.stderr);
      const echo = await runCommand("echoscu", ["127.0.0.1", String(port)]);
      assert.equal(echo.code, 0, echo.stderr);
      const ev = await proc.waitForEvent((e) => e.type === "store");
      assert.equal(ev.status, 0);
      assert.equal(ev.path, null);
      assert.ok(Number(ev.bytes) > 32 * 32 * 2);
      assert.deepEqual(await listDir(w.od), []);
    } finally {
      assert.equal((await proc.stop()).code, 0, "SIGTERM ends storescp with exit code 0");
      await Deno.remove(w.dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "--abort-during and --abort-after abort the association and store nothing",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    const w = await workspace();
    try {
      for (const option of ["--abort-during", "--abort-after"]) {
        const { proc, port } = await startTool("storescp", ["-v", option, "-od", w.od]);
        try {
          const out = await runCommand("storescu", ["127.0.0.1", String(port), w.file]);
          assert.notEqual(out.code, 0, option);
          await proc.waitForEvent((e) => e.type === "association-aborted");
          assert.match(proc.stderr, /^I: ABORT initiated \(due to command line options\)$/m);
          assert.deepEqual(await listDir(w.od), [], option);
        } finally {
          await proc.stop();
        }
      }
    } finally {
      await Deno.remove(w.dir, { recursive: true });
    }
  },
});

Deno.test("--reject: a requestor without implementation class UID is rejected, others served", async () => {
  const dir = await Deno.makeTempDir({ prefix: "storescp_cli_" });
  const { proc, port } = await startTool("storescp", ["-v", "--reject", "-od", dir]);
  try {
    await assert.rejects(holdAssociation(port, true), /association not accepted: rejected/);
    await proc.waitFor((p) => p.stderr.includes("Rejected"));
    assert.match(
      proc.stderr,
      /^I: Association Rejected: No Implementation Class UID provided$/m,
    );
    const ev = await proc.waitForEvent((e) => e.type === "association-rejected");
    assert.match(String(ev.diagnosis), /Permanent/i);
    const held = await holdAssociation(port);
    assert.equal(await held.release(), "released");
  } finally {
    await proc.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
