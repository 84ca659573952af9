/**
 * findscu's command line and behaviour against scripted peers
 * (testing/qr_peer.ts): help, bad keys and query files; matches then the
 * final status, in DCMTK's lines and in --json; --cancel n; -X; character
 * sets decoded, undecodable text said; failure statuses with one plain
 * line each; and bad input from the peer (a pending response without
 * identifier, a malformed identifier, a response to a message ID we never
 * sent): a clear error and an exit code, never a crash.
 */
import assert from "node:assert/strict";
import { attribute, decodeAttributesFile, encodeAttributes } from "../../lib/dicom/attributes.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from "../../lib/dicom/uids.ts";
import { findRsp, runOursAgainstPeer, studyMatch } from "../../testing/find_responses.ts";
import { type QrPeerScript, startQrPeer } from "../../testing/qr_peer.ts";
import { procFile } from "../../testing/dcmqrscp.ts";
import { auditToolStdout } from "../../testing/json_lines.ts";
import { type Finished, freePort, runTool, show, toolArgv } from "../../testing/procs.ts";
import { withTempDir } from "../../testing/temp_files.ts";

const TS = EXPLICIT_VR_LITTLE_ENDIAN;
const KEYS = [
  "-S",
  "-k",
  "QueryRetrieveLevel=STUDY",
  "-k",
  "PatientName",
  "-k",
  "StudyInstanceUID",
];

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

function jsonLines(r: Finished): Record<string, unknown>[] {
  return lines(r.stdout).map((l) => JSON.parse(l));
}

/** A peer that answers each C-FIND-RQ with `statuses` (pending ones carry a match). */
function answering(statuses: number[]): QrPeerScript {
  return {
    chooseTransferSyntax: () => TS,
    respond: (rq) =>
      rq.message.type !== "C-FIND-RQ" ? [] : statuses.map((s, i) =>
        findRsp(
          rq,
          s,
          (s & 0xff00) === 0xff00 ? studyMatch(TS, `1.2.3.${i + 1}`, `Name^${i + 1}`) : undefined,
        )
      ),
  };
}

/** The line before the summary line of a failed run. */
function diagnosisLine(r: Finished): string {
  const err = lines(r.stderr);
  assert.match(err.at(-1)!, new RegExp(`^findscu: .*; failed: .* \\(exit ${r.code}\\)$`), show(r));
  return err.at(-2)!;
}

Deno.test("findscu --help: DCMTK's options we implement, --json, the exit codes", async () => {
  const r = await runTool("findscu", ["--help"]);
  assert.equal(r.code, 0, show(r));
  for (
    const want of [
      /^usage: findscu \[options\] peer port \[dcmfile-in\.\.\.\]$/m,
      /^ {4}-k {4}--key {17}\[k\]ey: gggg,eeee="str", path or dict\. name="str"$/m,
      /^ {4}-W {4}--worklist {12}use modality worklist information model \(def\.\)$/m,
      /^ {4}-O {4}--psonly {14}use patient\/study only information model$/m,
      /^ {4}-xd {3}--propose-deflated/m,
      /^ {10}--cancel {14}\[n\]umber: integer$/m,
      /^ {4}-X {4}--extract {13}extract responses to DICOM file \(rsp0001\.dcm\.\.\.\)$/m,
      /--json/,
      /^ +68 +a C-FIND ended with a failure status/m,
    ]
  ) assert.match(r.stdout, want);
  // Not implemented, so not offered (no option parsed and ignored).
  assert.doesNotMatch(r.stdout, /--extract-xml|--enable-correction|--compression-level/);
});

Deno.test("findscu: a bad -k key or an unreadable query file is a command line error (exit 1)", async () => {
  const bad = await runTool("findscu", ["-k", "NoSuchKeyword=1", "127.0.0.1", String(freePort())]);
  assert.equal(bad.code, 1, show(bad));
  assert.match(bad.stderr, /^findscu: bad key 'NoSuchKeyword=1': /m);
  const value = await runTool("findscu", ["-k", "Rows=abc", "127.0.0.1", String(freePort())]);
  assert.equal(value.code, 1, show(value));
  const file = await runTool("findscu", ["127.0.0.1", String(freePort()), "/nonexistent/q.dcm"]);
  assert.equal(file.code, 1, show(file));
  assert.match(file.stderr, /cannot read query file \/nonexistent\/q\.dcm/);
  const od = await runTool("findscu", ["-X", "-od", "/nonexistent/dir", "127.0.0.1", "104"]);
  assert.equal(od.code, 1, show(od));
  assert.match(od.stderr, /output directory does not exist/);
});

Deno.test("findscu: matches then Success, DCMTK's lines, the summary line and --json", async () => {
  const r = await runOursAgainstPeer(
    "findscu",
    ["-v", "--json", ...KEYS],
    answering([
      0xff00,
      0xff00,
      0x0000,
    ]),
  );
  assert.equal(r.run.code, 0, show(r.run));
  const err = r.run.stderr;
  assert.match(err, /^I: Sending Find Request \(MsgID 1\)$/m);
  assert.match(err, /^I: Find Response: 2 \(Pending\)$/m);
  assert.match(err, /^I: \(0010,0010\) PN \[Name\^2\] +# +6, 1 PatientName$/m);
  assert.match(err, /^I: Received Final Find Response \(Success\)$/m);
  assert.equal(
    lines(err).at(-1),
    `findscu: C-FIND (study root) to ANY-SCP@127.0.0.1:${
      r.requests.length && (jsonLines(r.run).at(-1)!.peer as { port: number }).port
    }: 2 matches`,
  );
  const json = jsonLines(r.run);
  assert.deepEqual(json.map((l) => [l.type, l.outcome]), [
    ["find-response", "pending"],
    ["find-response", "pending"],
    ["find-response", "success"],
    ["summary", "success"],
  ]);
  assert.deepEqual((json[1].identifier as Record<string, unknown>)["00100010"], {
    vr: "PN",
    Value: [{ Alphabetic: "Name^2" }],
  });
  assert.equal(json[2].identifier, null);
  assert.equal(json[3].matches, 2);
  assert.equal(json[3].exitCode, 0);
  // The identifier went out as the keys say, in the accepted syntax.
  assert.equal(r.requests.length, 1);
  assert.deepEqual(
    r.requests[0].dataset,
    encodeAttributes([
      attribute(0x00080052, "STUDY"),
      attribute(0x00100010),
      attribute(0x0020000d),
    ], TS),
  );
});

Deno.test("findscu: each failure status is one plain line with the next step, exit 68", async () => {
  for (
    const [status, want] of [
      [0xa700, /out of resources.*narrow it/],
      [0xa900, /does not fit the study root model; check QueryRetrieveLevel/],
      [0xc000, /could not process the query; its log says why/],
      [0x0122, /does not support C-FIND in the study root model; try another model/],
    ] as const
  ) {
    const r = await runOursAgainstPeer("findscu", KEYS, answering([0xff00, status]));
    assert.equal(r.run.code, 68, show(r.run));
    const line = diagnosisLine(r.run);
    assert.match(line, /^E: the peer ended the C-FIND with 0x[0-9A-F]{4} \(/);
    assert.match(line, want);
    assert.match(r.run.stderr, /^W: Find response with error status/m);
  }
});

Deno.test("findscu --cancel 2: a C-CANCEL-RQ after the second match, the peer's Cancel, exit 0", async () => {
  const script: QrPeerScript = {
    chooseTransferSyntax: () => TS,
    respond: (rq) =>
      rq.message.type === "C-CANCEL-RQ"
        ? [findRsp(rq, 0xfe00)]
        : [1, 2, 3, 4, 5].map((i) => findRsp(rq, 0xff00, studyMatch(TS, `1.2.3.${i}`, `N^${i}`))),
  };
  const r = await runOursAgainstPeer("findscu", ["-v", "--cancel", "2", "--json", ...KEYS], script);
  assert.equal(r.run.code, 0, show(r.run));
  assert.deepEqual(r.requests.map((q) => q.message.type), ["C-FIND-RQ", "C-CANCEL-RQ"]);
  assert.deepEqual(r.requests[1].message, {
    type: "C-CANCEL-RQ",
    messageIdBeingRespondedTo: 1,
  });
  assert.match(r.run.stderr, /^I: Sending Cancel Request \(MsgID 1, PresID 1\)$/m);
  assert.match(
    r.run.stderr,
    /^I: Received Final Find Response \(Cancel: MatchingTerminatedDueToCancelRequest\)$/m,
  );
  const summary = jsonLines(r.run).at(-1)!;
  assert.equal(summary.cancelled, 1);
  assert.equal(summary.matches, 5);
  assert.match(lines(r.run.stderr).at(-1)!, /5 matches \(1 cancelled\)$/);
});

Deno.test("findscu: a pending response without identifier, and a malformed one: said, counted, exit 71", async () => {
  const malformed = new Uint8Array([0x10, 0, 0x10, 0, 0x50, 0x4e, 0xff, 0x7f, 1, 2]);
  const r = await runOursAgainstPeer("findscu", ["--json", ...KEYS], {
    chooseTransferSyntax: () => TS,
    respond: (rq) =>
      rq.message.type !== "C-FIND-RQ" ? [] : [
        findRsp(rq, 0xff00),
        findRsp(rq, 0xff00, malformed),
        findRsp(rq, 0xff00, studyMatch(TS, "1.2.3.9", "Good^One")),
        findRsp(rq, 0x0000),
      ],
  });
  assert.equal(r.run.code, 71, show(r.run));
  assert.match(r.run.stderr, /^W: Find Response 1: pending response without identifier/m);
  assert.match(r.run.stderr, /^E: Find Response 2: malformed identifier \(10 bytes\): /m);
  assert.match(diagnosisLine(r.run), /^E: the peer sent a match without identifier \(response 1/);
  const json = jsonLines(r.run);
  assert.deepEqual(json.slice(0, -1).map((l) => l.problem === null), [false, false, true, true]);
  assert.deepEqual(
    (json[2].identifier as Record<string, { Value: unknown[] }>)["00100010"].Value[0],
    { Alphabetic: "Good^One" } as unknown,
  );
  assert.equal(json.at(-1)!.malformed, 2);
  // Not printed (-sr): the identifiers are still read, and the same two found wanting.
  const quiet = await runOursAgainstPeer("findscu", ["-sr", ...KEYS], {
    chooseTransferSyntax: () => TS,
    respond: (rq) =>
      rq.message.type !== "C-FIND-RQ"
        ? []
        : [findRsp(rq, 0xff00), findRsp(rq, 0xff00, malformed), findRsp(rq, 0)],
  });
  assert.equal(quiet.run.code, 71, show(quiet.run));
  assert.match(quiet.run.stderr, /^E: Find Response 2: malformed identifier \(10 bytes\): /m);
  assert.doesNotMatch(quiet.run.stderr, /Find Response: /);
});

Deno.test("findscu: a response to a message ID we never sent aborts with a clear line, exit 70", async () => {
  const r = await runOursAgainstPeer("findscu", KEYS, {
    chooseTransferSyntax: () => TS,
    respond: (rq) => rq.message.type !== "C-FIND-RQ" ? [] : [findRsp(rq, 0, undefined, 77)],
  });
  assert.equal(r.run.code, 70, show(r.run));
  assert.match(
    r.run.stderr,
    /^E: Find Failed: unexpected C-FIND-RSP \(message ID 77, none of ours\) on the association$/m,
  );
  assert.match(
    diagnosisLine(r.run),
    /answered the C-FIND-RQ with C-FIND-RSP \(message ID 77, none of ours\)/,
  );
});

Deno.test("findscu: text in its character set, undecodable bytes said and shown as U+FFFD", async () => {
  const latin1 = encodeAttributes([
    attribute(0x00080005, "ISO_IR 100"),
    attribute(0x00100010, "Müller^Jörg"),
  ], TS);
  // ISO_IR 192 with bytes that are no UTF-8.
  const badUtf8 = encodeAttributes([
    attribute(0x00080005, "ISO_IR 192"),
    attribute(0x00100010, "X"),
  ], TS);
  const bad = badUtf8.slice();
  bad[bad.length - 2] = 0xff;
  const r = await runOursAgainstPeer("findscu", ["--json", ...KEYS], {
    chooseTransferSyntax: () => TS,
    respond: (rq) =>
      rq.message.type !== "C-FIND-RQ"
        ? []
        : [findRsp(rq, 0xff00, latin1), findRsp(rq, 0xff00, bad), findRsp(rq, 0)],
  });
  assert.equal(r.run.code, 0, show(r.run));
  assert.match(r.run.stderr, /PN \[Müller\^Jörg \]/);
  assert.match(r.run.stderr, /^W: Find Response 2: .*\(shown with U\+FFFD\)$/m);
  const json = jsonLines(r.run);
  assert.deepEqual((json[0].identifier as Record<string, unknown>)["00100010"], {
    vr: "PN",
    Value: [{ Alphabetic: "Müller^Jörg" }],
  });
  assert.match(json[1].problem as string, /text not decodable/);
});

Deno.test("findscu -X -od: rsp0001.dcm... hold the identifiers as received, in Part 10 files", async () => {
  await withTempDir("findscu_x", async (dir) => {
    const r = await runOursAgainstPeer("findscu", ["-X", "-od", dir, "-xi", ...KEYS], {
      chooseTransferSyntax: (p) =>
        p.includes(IMPLICIT_VR_LITTLE_ENDIAN) ? IMPLICIT_VR_LITTLE_ENDIAN : p[0],
      respond: (rq) =>
        rq.message.type !== "C-FIND-RQ" ? [] : [
          findRsp(rq, 0xff00, studyMatch(IMPLICIT_VR_LITTLE_ENDIAN, "1.2.3.1", "A^B")),
          findRsp(rq, 0xff00, studyMatch(IMPLICIT_VR_LITTLE_ENDIAN, "1.2.3.2", "C^D")),
          findRsp(rq, 0),
        ],
    });
    assert.equal(r.run.code, 0, show(r.run));
    // -X alone: responses go to files, not to the log.
    assert.doesNotMatch(r.run.stderr, /Find Response:/);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["rsp0001.dcm", "rsp0002.dcm"]);
    const f = decodeAttributesFile(await Deno.readFile(`${dir}/rsp0002.dcm`));
    assert.equal(f.transferSyntax, IMPLICIT_VR_LITTLE_ENDIAN);
    assert.deepEqual(
      f.attributes.find((a) => a.tag === 0x00100010)?.value,
      ["C^D"],
    );
  });
});

Deno.test("findscu: 10,000 matches streamed in order, within a bounded memory", async () => {
  const n = 10_000;
  const peer = startQrPeer({
    chooseTransferSyntax: () => TS,
    respond: (rq) =>
      rq.message.type !== "C-FIND-RQ" ? [] : [
        ...Array.from({ length: n }, (_, i) =>
          findRsp(rq, 0xff00, studyMatch(TS, `1.2.3.${i + 1}`, `N^${i + 1}`))),
        findRsp(rq, 0),
      ],
  });
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [...toolArgv("findscu"), "--json", "-sr", ...KEYS, "127.0.0.1", String(peer.port)],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    // Peak resident memory, read while it runs (VmHWM only exists while the process does).
    let peakKb = 0;
    const watching = (async () => {
      for (;;) {
        const status = await procFile(`/proc/${child.pid}/status`);
        const kb = Number(/VmHWM:\s+(\d+)/.exec(status ?? "")?.[1] ?? 0);
        peakKb = Math.max(peakKb, kb);
        if (!status) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const out = await child.output();
    await watching;
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    auditToolStdout(toolArgv("findscu"), stdout);
    const json = lines(stdout).map((l) => JSON.parse(l));
    assert.equal(json.length, n + 2);
    json.slice(0, n).forEach((l, i) => {
      assert.equal(l.index, i + 1);
      assert.equal(l.identifier["0020000D"].Value[0], `1.2.3.${i + 1}`);
    });
    assert.equal(json.at(-1).matches, n);
    // Documented in the README: nothing of a response is kept once it is out.
    assert.ok(peakKb > 0 && peakKb < 256 * 1024, `peak RSS ${peakKb} kB`);
  } finally {
    await peer.close();
  }
});

Deno.test("findscu: query files with -k over them, --repeat: one C-FIND per file and repetition", async () => {
  await withTempDir("findscu_q", async (dir) => {
    const q1 = `${dir}/q1.dcm`;
    const q2 = `${dir}/q2.dcm`;
    // Bare data sets (no file meta information): DCMTK's tools read them as query files too.
    await Deno.writeFile(
      q1,
      encodeAttributes([attribute(0x00080052, "STUDY"), attribute(0x00100020, "A")], TS),
    );
    await Deno.writeFile(
      q2,
      encodeAttributes([attribute(0x00080052, "STUDY"), attribute(0x00100020, "B")], TS),
    );
    const r = await runOursAgainstPeer(
      "findscu",
      ["-S", "--repeat", "2", "-k", "PatientName=X*", "--json"],
      answering([0xff00, 0]),
      [q1, q2],
    );
    assert.equal(r.run.code, 0, show(r.run));
    const sent = r.requests.map((q) => decodeAttributesFile(q.dataset!).attributes);
    assert.deepEqual(
      sent.map((a) => a.find((x) => x.tag === 0x00100020)?.value),
      [["A"], ["A"], ["B"], ["B"]],
    );
    assert.ok(
      sent.every((a) => (a.find((x) => x.tag === 0x00100010)?.value as string[])[0] === "X*"),
    );
    assert.deepEqual(
      r.requests.map((q) => (q.message as { messageId: number }).messageId),
      [1, 2, 3, 4],
    );
    const summary = jsonLines(r.run).at(-1)!;
    assert.equal(summary.planned, 4);
    assert.equal(summary.matches, 4);
    assert.deepEqual(
      jsonLines(r.run).filter((l) => l.outcome === "pending").map((l) => l.queryFile),
      [q1, q1, q2, q2],
    );
  });
});
