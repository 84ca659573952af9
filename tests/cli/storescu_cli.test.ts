/**
 * storescu's command line and the answers DCMTK's storescp cannot give:
 * option errors, help, the exit code of each failure (a fake SCP in this
 * process answers with any status, late, or with an A-ABORT), user
 * identity negotiation, and the pure parts (progress line, invented
 * identities, status words, exit codes, wildcards).
 */
import assert from "node:assert/strict";
import { storeExitCode, summaryLines } from "../../lib/cli/storescu/main.ts";
import {
  estimateRemainingMs,
  formatBytes,
  formatDuration,
  ProgressBar,
  progressLine,
  type ProgressState,
  withProgressLine,
} from "../../lib/cli/common/progress.ts";
import { newUid } from "../../lib/util/uid.ts";
import type { DimseMessage } from "../../lib/dimse/messages.ts";
import { createMemoryLogger, NULL_LOGGER } from "../../lib/log/logger.ts";
import type { AcceptorPolicy } from "../../lib/ae/negotiation.ts";
import { type CommandHandler, DicomServer } from "../../lib/ae/server.ts";
import {
  cstoreStatusString,
  IdentityInventor,
  type StoreResult,
  wildcardRegExp,
} from "../../lib/cli/storescu/engine.ts";
import type { UserIdentityRq } from "../../lib/pdu/types.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN } from "../../lib/dicom/uids.ts";
import { MR_IMAGE_STORAGE, writeImageFile } from "../../testing/dicom_files.ts";
import { freePort, runTool, show } from "../../testing/procs.ts";

const HOST = "127.0.0.1";

const lines = (text: string) => text.split("\n").filter((l) => l !== "");
const storescu = (args: string[]) => runTool("storescu", args, 60_000);

/** A temporary directory with `n` small MR images in it, removed afterwards. */
async function withImages(n: number, fn: (files: string[], dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "dimse-storescu-cli-" });
  try {
    const files: string[] = [];
    for (let i = 0; i < n; i++) {
      files.push(`${dir}/f${i}.dcm`);
      await writeImageFile(files[i], { rows: 16, cols: 16, sopInstanceUid: newUid() });
    }
    await fn(files, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// ---------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------

const BAD_OPTIONS: { args: string[]; message: RegExp }[] = [
  { args: ["127.0.0.1", "104"], message: /^Missing parameter dcmfile-in$/ },
  {
    args: ["+v", "127.0.0.1", "104", "f"],
    message: /^--verbose-pc only allowed with verbose mode$/,
  },
  {
    args: ["+sp", "*.dcm", "127.0.0.1", "104", "d"],
    message: /^--scan-pattern only allowed with --scan-directories$/,
  },
  {
    args: ["+r", "127.0.0.1", "104", "d"],
    message: /^--recurse only allowed with --scan-directories$/,
  },
  {
    args: ["+cl", "5", "127.0.0.1", "104", "f"],
    message: /^--compression-level only allowed with --propose-deflated/,
  },
  {
    args: ["-xd", "+cl", "10", "127.0.0.1", "104", "f"],
    message: /^Invalid value for option --compression-level \(overflow: 10\)$/,
  },
  {
    args: ["-pwd", "x", "127.0.0.1", "104", "f"],
    message: /^--password only allowed with --user$/,
  },
  {
    args: ["-epw", "127.0.0.1", "104", "f"],
    message: /^--empty-password only allowed with --user$/,
  },
  { args: ["-rsp", "127.0.0.1", "104", "f"], message: /^--pos-response only allowed with --user/ },
  { args: ["--repeat", "0", "127.0.0.1", "104", "f"], message: /--repeat \(underflow: 0\)/ },
  { args: ["+IR", "0", "127.0.0.1", "104", "f"], message: /--invent-series \(underflow: 0\)/ },
  { args: ["-pdu", "1000", "127.0.0.1", "104", "f"], message: /--max-pdu \(underflow: 1000\)/ },
  { args: ["--max-send-pdu", "200000", "127.0.0.1", "104", "f"], message: /--max-send-pdu/ },
  { args: ["-xf", "a.cfg", "Default", "127.0.0.1", "104", "f"], message: /not supported/ },
  { args: ["--jwt", "/nonexistent/jwt", "127.0.0.1", "104", "f"], message: /Unable to open/ },
];

for (const { args, message } of BAD_OPTIONS) {
  Deno.test(`storescu ${args.join(" ")}: one stderr line, exit 1`, async () => {
    const r = await storescu(args);
    assert.equal(r.code, 1, show(r));
    assert.equal(r.stdout, "", show(r));
    const err = lines(r.stderr);
    assert.equal(err.length, 1, show(r));
    assert.match(err[0].replace(/^storescu: /, ""), message);
  });
}

Deno.test("storescu --help: DCMTK's usage with every option, exit 0", async () => {
  const r = await storescu(["--help"]);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /usage: storescu \[options\] peer port dcmfile-in\.\.\./);
  const shorts = ["+v", "+f", "+fo", "-f", "+sd", "+sp", "-r", "+r", "-rn", "+rn", "-aet", "-aec"];
  const proposals = ["-x=", "-xe", "-xb", "-xi", "-xs", "-xy", "-xx", "-xv", "-xw", "-xt", "-xu"];
  const more = ["-xr", "-xd", "-R", "+C", "+u", "-u", "+cl", "-usr", "-pwd", "-epw", "-kt"];
  const network = ["--saml", "--jwt", "-rsp", "-to", "-ts", "-ta", "-td", "-pdu"];
  const other = ["--max-send-pdu", "--repeat", "--abort", "-nh", "-up", "+II", "+IR", "+IS"];
  for (const opt of [...shorts, ...proposals, ...more, ...network, ...other, "+IP", "--json"]) {
    assert.match(r.stdout, new RegExp(`(^|\\s)${opt.replace(/[+=]/g, "\\$&")}\\s`), opt);
  }
});

Deno.test("storescu, connection refused: exit 60 as echoscu, DCMTK's line, a diagnosis, --json", async () => {
  await withImages(2, async (files) => {
    const port = freePort();
    const r = await storescu(["--json", HOST, String(port), ...files]);
    assert.equal(r.code, 60, show(r));
    assert.match(r.stderr, /^F: Association Request Failed: TCP Initialization Error: .*refused/m);
    assert.match(r.stderr, /^E: .*nothing listens on that port/m);
    const records = lines(r.stdout).map((l) => JSON.parse(l));
    assert.deepEqual(records.map((x) => x.type === "summary" ? "summary" : x.outcome), [
      "not-sent",
      "not-sent",
      "summary",
    ]);
    assert.equal(records[2].outcome, "connect-failed");
    assert.equal(records[2].exitCode, 60);
  });
});

Deno.test("storescu, a file that does not exist: DCMTK's fatal line before associating, exit 1", async () => {
  await withImages(1, async (files) => {
    const port = freePort();
    const r = await storescu([HOST, String(port), `${files[0]}.missing`, files[0]]);
    assert.equal(r.code, 1, show(r));
    assert.deepEqual(lines(r.stderr), [
      `F: cannot access file: ${files[0]}.missing`,
      // The file that cannot be read failed, the one after it was not sent.
      `storescu: 2 files to ANY-SCP@${HOST}:${port}: 0 stored, 1 failed, 1 not sent; 0 B in ` +
      `${lines(r.stderr)[1]?.match(/in (\d+\.\d{3}) s/)?.[1]} s (0.0 MB/s); a file could ` +
      "not be sent (exit 1)",
    ]);
    const nh = await storescu(["-nh", HOST, String(port), `${files[0]}.missing`]);
    assert.equal(nh.code, 1, show(nh));
    assert.match(nh.stderr, /^W: cannot access file: .*\.missing, ignoring file$/m);
    assert.doesNotMatch(nh.stderr, /Association/);
  });
});

Deno.test("storescu -R: a file of no storage SOP class is refused as DCMTK does", async () => {
  await withImages(0, async (_files, dir) => {
    const path = `${dir}/dir.dcm`;
    await writeImageFile(path, { rows: 4, cols: 4, sopClassUid: "1.2.840.10008.1.3.10" });
    const r = await storescu(["-R", HOST, String(freePort()), path]);
    assert.equal(r.code, 1, show(r));
    const err = lines(r.stderr);
    assert.equal(err.length, 2, show(r));
    assert.equal(err[0], `F: unknown storage SOP class in file: ${path}: 1.2.840.10008.1.3.10`);
    assert.match(err[1], /^storescu: 1 file to .*: 0 stored, 1 failed, 0 not sent; .*\(exit 1\)$/);
  });
});

Deno.test("storescu -R, 65 SOP classes: DCMTK's error with --dcmtk-proposal, else the last class left out", async () => {
  await withImages(0, async (_files, dir) => {
    const files = [];
    for (let i = 0; i < 65; i++) {
      files.push(`${dir}/p${i}.dcm`);
      await writeImageFile(files[i], { rows: 2, cols: 2, sopClassUid: `1.3.6.1.4.1.5962.99.${i}` });
    }
    const r = await storescu(["--dcmtk-proposal", "-R", HOST, String(freePort()), ...files]);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /^F: Too many presentation contexts: 65 SOP classes need 130.*\+C/m);
    // By default the classes that fit are proposed; the last file is left out, said once.
    const d = await storescu(["-R", HOST, String(freePort()), ...files]);
    assert.equal(d.code, 60, show(d)); // nothing listens there: the rest was tried
    assert.match(
      d.stderr,
      new RegExp(
        "^W: cannot propose 1\\.3\\.6\\.1\\.4\\.1\\.5962\\.99\\.64: the files' 65 SOP classes need 2 " +
          `more presentation contexts than the 128 one association carries \\(\\+C proposes one per ` +
          `class\\); not sent \\(send them in another run\\): ${files[64]}$`,
        "m",
      ),
    );
  });
});

// ---------------------------------------------------------------------------
// A fake SCP in this process
// ---------------------------------------------------------------------------

interface FakeScp {
  port: number;
  /** The user identity each association asked for. */
  identities: (UserIdentityRq | undefined)[];
  /** The C-STORE-RQs received, with their data set sizes. */
  stores: { message: DimseMessage; bytes: number }[];
}

/**
 * Runs `fn` against a storage SCP in this process that accepts MR Image
 * Storage in explicit VR little endian, reads each data set and answers
 * with `answer(n)` for the n-th store (0-based): a status, "abort", or a
 * delay before the status.
 */
async function withFakeScp(
  answer: (n: number) => number | "abort" | { delayMs: number; status: number },
  fn: (scp: FakeScp) => Promise<void>,
): Promise<void> {
  const policy: AcceptorPolicy = {
    aeTitle: "FAKE",
    maxPdu: 16384,
    abstractSyntaxes: new Map([[MR_IMAGE_STORAGE, [EXPLICIT_VR_LITTLE_ENDIAN]]]),
  };
  const scp: FakeScp = { port: 0, identities: [], stores: [] };
  const store: CommandHandler = async (message, ctx) => {
    let bytes = 0;
    for (;;) {
      const ev = await ctx.channel.receive();
      if (ev.kind !== "data") return { interrupted: ev };
      bytes += ev.chunk.length;
      if (ev.last) break;
    }
    const a = answer(scp.stores.length);
    scp.stores.push({ message, bytes });
    if (a === "abort" || message.type !== "C-STORE-RQ") return "abort";
    const status = typeof a === "object" ? a.status : a;
    if (typeof a === "object") await new Promise((r) => setTimeout(r, a.delayMs));
    // The handler answers itself (PS3.7 9.3.1.2), on the request's context.
    await ctx.channel.send(ctx.contextId, {
      type: "C-STORE-RSP",
      messageIdBeingRespondedTo: message.messageId,
      affectedSopClassUid: message.affectedSopClassUid,
      affectedSopInstanceUid: message.affectedSopInstanceUid,
      status,
    });
    return status;
  };
  const server = DicomServer.start({
    hostname: HOST,
    port: 0,
    logger: NULL_LOGGER,
    policy,
    handlers: { "C-STORE-RQ": store },
    acseTimeoutMs: 5_000,
    refuse: (rq) => {
      scp.identities.push(rq.userInformation.userIdentityRq);
      return undefined;
    },
  });
  scp.port = server.local.port;
  try {
    await fn(scp);
  } finally {
    await server.stop();
  }
}

for (
  const [status, code, words] of [
    [0xc000, 0xc0, "Error: CannotUnderstand"],
    [0xa900, 0xa9, "Error: DataSetDoesNotMatchSOPClass"],
    [0x0122, 1, "Refused: SOPClassNotSupported"],
  ] as const
) {
  Deno.test(`storescu, status 0x${status.toString(16)}: exit ${code}, the rest not sent`, async () => {
    await withImages(2, async (files) => {
      await withFakeScp(() => status, async (scp) => {
        const r = await storescu(["-v", "-aec", "FAKE", HOST, String(scp.port), ...files]);
        assert.equal(r.code, code, show(r));
        assert.match(r.stderr, new RegExp(`^I: Received Store Response \\(${words}\\)$`, "m"));
        // What we know, not a guess at the peer's reason.
        assert.match(
          r.stderr,
          /^E: .*: the peer refused it with 0x[0-9A-F]{4} .*: it gave no comment or offending element; the request and the data set carried SOP Class UID 1\.2\.840\.10008\.5\.1\.4\.1\.1\.4 \(MRImageStorage\) and SOP Instance UID [0-9.]+, sent as the file holds it, in Little Endian Explicit: the peer's log says why$/m,
        );
        assert.equal(scp.stores.length, 1);
        assert.match(r.stderr, /^I: Releasing Association$/m);
      });
    });
  });
}

Deno.test("storescu, a warning status: stored, exit 0, the record says warning", async () => {
  await withImages(2, async (files) => {
    await withFakeScp(() => 0xb000, async (scp) => {
      const r = await storescu(["-v", "--json", HOST, String(scp.port), ...files]);
      assert.equal(r.code, 0, show(r));
      assert.match(r.stderr, /^I: Received Store Response \(Warning: CoercionOfDataElements\)$/m);
      const records = lines(r.stdout).map((l) => JSON.parse(l));
      assert.deepEqual(records.map((x) => x.type === "summary" ? "summary" : x.outcome), [
        "warning",
        "warning",
        "summary",
      ]);
      assert.equal(records[2].warning, 2);
      assert.equal(records[0].bytes, scp.stores[0].bytes);
    });
  });
});

Deno.test("storescu -td 1, no response in time: exit 69 as echoscu, DCMTK's Store Failed line", async () => {
  await withImages(1, async (files) => {
    await withFakeScp(() => ({ delayMs: 3_000, status: 0 }), async (scp) => {
      const r = await storescu(["-td", "1", HOST, String(scp.port), ...files]);
      assert.equal(r.code, 69, show(r));
      assert.match(r.stderr, new RegExp(`^E: Store Failed, file: ${files[0]}:$`, "m"));
      assert.match(r.stderr, /^E: DIMSE timeout after 1 s$/m);
    });
  });
});

Deno.test("storescu, the peer aborts during a store: exit 10 as DCMTK; -nh goes on anew", async () => {
  await withImages(2, async (files) => {
    await withFakeScp((n) => (n === 0 ? "abort" : 0), async (scp) => {
      const r = await storescu(["-v", HOST, String(scp.port), ...files]);
      assert.equal(r.code, 10, show(r));
      assert.match(r.stderr, /^I: Peer Aborted Association$/m);
      assert.equal(scp.stores.length, 1);
    });
    await withFakeScp((n) => (n === 0 ? "abort" : 0), async (scp) => {
      const r = await storescu(["-v", "-nh", "--json", HOST, String(scp.port), ...files]);
      assert.equal(r.code, 10, show(r));
      const records = lines(r.stdout).map((l) => JSON.parse(l));
      assert.deepEqual(records.map((x) => x.type === "summary" ? "summary" : x.outcome), [
        "failed",
        "success",
        "summary",
      ]);
      assert.equal(records[2].associations, 2);
      assert.equal(scp.stores.length, 2);
    });
  });
});

Deno.test("storescu --max-send-pdu 4096: PDVs cut for 4096-byte PDUs", async () => {
  await withImages(1, async (files) => {
    await withFakeScp(() => 0, async (scp) => {
      const r = await storescu(["-v", "--max-send-pdu", "4096", HOST, String(scp.port), ...files]);
      assert.equal(r.code, 0, show(r));
      assert.match(r.stderr, /^I: Association Accepted \(Max Send PDV: 4090\)$/m);
    });
  });
});

Deno.test("storescu -usr -pwd -rsp: the user identity sub-item; no positive response, exit 1", async () => {
  await withImages(1, async (files, dir) => {
    await withFakeScp(() => 0, async (scp) => {
      const args = ["-usr", "alice", "-pwd", "s3cret", HOST, String(scp.port), ...files];
      const ok = await storescu(args);
      assert.equal(ok.code, 0, show(ok));
      const r = await storescu(["-rsp", ...args]);
      assert.equal(r.code, 1, show(r));
      assert.match(
        r.stderr,
        /^E: User Identity Negotiation failed: Positive response requested but none received$/m,
      );
      const text = new TextDecoder();
      for (const [i, id] of scp.identities.entries()) {
        assert.equal(id?.identityType, 2);
        assert.equal(text.decode(id?.primaryField), "alice");
        assert.equal(text.decode(id?.secondaryField), "s3cret");
        assert.equal(id?.positiveResponseRequested, i === 1);
      }
      assert.equal(scp.stores.length, 1);

      await Deno.writeTextFile(`${dir}/token.jwt`, "eyJhbGciOiJub25lIn0.e30.");
      const jwt = await storescu(["--jwt", `${dir}/token.jwt`, HOST, String(scp.port), ...files]);
      assert.equal(jwt.code, 0, show(jwt));
      assert.equal(scp.identities[2]?.identityType, 5);
      assert.equal(text.decode(scp.identities[2]?.primaryField), "eyJhbGciOiJub25lIn0.e30.");
      const epw = await storescu(["-usr", "bob", "-epw", HOST, String(scp.port), ...files]);
      assert.equal(epw.code, 0, show(epw));
      assert.equal(scp.identities[3]?.identityType, 2);
      assert.equal(scp.identities[3]?.secondaryField.length, 0);
    });
  });
});

// ---------------------------------------------------------------------------
// Pure parts
// ---------------------------------------------------------------------------

Deno.test("cstoreStatusString: DCMTK's DU_cstoreStatusString words", () => {
  const cases: [number, string][] = [
    [0x0000, "Success"],
    [0x0122, "Refused: SOPClassNotSupported"],
    [0xb000, "Warning: CoercionOfDataElements"],
    [0xb006, "Warning: ElementsDiscarded"],
    [0xb007, "Warning: DataSetDoesNotMatchSOPClass"],
    [0xa701, "Refused: OutOfResources"],
    [0xa9ff, "Error: DataSetDoesNotMatchSOPClass"],
    [0xc123, "Error: CannotUnderstand"],
    [0x0211, "Unknown Status: 0x211"],
  ];
  for (const [code, text] of cases) assert.equal(cstoreStatusString(code), text);
});

function result(outcome: StoreResult["outcome"], failureStatus?: number): StoreResult {
  return {
    outcome,
    failureStatus,
    peer: { host: HOST, port: 104 },
    callingAeTitle: "STORESCU",
    calledAeTitle: "ANY-SCP",
    timings: {},
    records: [],
    summary: {
      associations: 1,
      files: 5,
      sent: 4,
      success: 2,
      warning: 1,
      failed: 2,
      notSent: 0,
      bytes: 1_500_000,
      ms: 500,
      retried: 0,
      skipped: 0,
    },
  };
}

Deno.test("storeExitCode: DCMTK's status high byte, 10, 1; echoscu's association codes", () => {
  const cases: [StoreResult, number][] = [
    [result("success"), 0],
    [result("store-failed", 0xa700), 0xa7],
    [result("store-failed", 0xc001), 0xc0],
    [result("store-failed", 0x0110), 1],
    [result("store-failed", 0x0002), 1],
    [result("aborted"), 10],
    [result("file-failed"), 1],
    [result("too-many-contexts"), 1],
    [result("identity-not-confirmed"), 1],
    [result("release-failed"), 1],
    [result("connect-failed"), 60],
    [result("rejected"), 61],
    [result("association-failed"), 66],
    [result("no-presentation-context"), 67],
    [result("dimse-timeout"), 69],
  ];
  for (const [r, code] of cases) assert.equal(storeExitCode(r), code, r.outcome);
});

Deno.test("summaryLines: dcmsend's layout with our counts", () => {
  assert.deepEqual(summaryLines(result("file-failed")), [
    "Status Summary",
    "--------------",
    "Number of associations   : 1",
    "Number of SOP instances  : 5",
    "- sent to the peer       : 4",
    "  * with status SUCCESS  : 2",
    "  * with status WARNING  : 1",
    "  * with status ERROR    : 1",
    "- NOT sent to the peer   : 1",
    "  * file failed          : 1",
    "  * not attempted        : 0",
    "Data set bytes sent      : 1.50 MB",
    "Time                     : 0.500 s (3.0 MB/s)",
  ]);
});

Deno.test("IdentityInventor: DCMTK's counters for new series, studies and patients", () => {
  const inv = new IdentityInventor(
    { seriesEvery: 2, studyEvery: 2, patientEvery: 2 },
    () => 1700000000,
  );
  const heads = Array.from({ length: 9 }, () => inv.next());
  assert.deepEqual(
    heads.map((h) => h.lines[0].replace(/^Inventing Identifying Information /, "")),
    [
      "(pa0, st0, se0, im0):",
      "(pa0, st0, se0, im1):",
      "(pa0, st0, se1, im0):",
      "(pa0, st0, se1, im1):",
      "(pa0, st1, se0, im0):",
      "(pa0, st1, se0, im1):",
      "(pa0, st1, se1, im0):",
      "(pa0, st1, se1, im1):",
      "(pa1, st0, se0, im0):",
    ],
  );
  const v = (i: number, tag: number) => heads[i].replace.get(tag);
  assert.equal(v(0, 0x0020000e), v(1, 0x0020000e));
  assert.notEqual(v(1, 0x0020000e), v(2, 0x0020000e));
  assert.equal(v(3, 0x0020000d), v(0, 0x0020000d));
  assert.notEqual(v(4, 0x0020000d), v(0, 0x0020000d));
  assert.equal(v(7, 0x00100020), "PID_17000000000");
  assert.equal(v(8, 0x00100020), "PID_17000000001");
  assert.equal(v(8, 0x00100010), "OFFIS^TEST_PN_17000000001");
  assert.equal(v(4, 0x00200010), "SID_17000000001");
  assert.equal(v(2, 0x00200011), "1");
  assert.equal(v(3, 0x00200013), "1");
  assert.equal(new Set(heads.map((h) => h.replace.get(0x00080018))).size, 9);
  assert.deepEqual(heads[0].lines.slice(1).map((l) => l.split("=")[0]), [
    "  PatientName",
    "  PatientID",
    "  StudyInstanceUID",
    "  StudyID",
    "  SeriesInstanceUID",
    "  SeriesNumber",
    "  SOPInstanceUID",
    "  ImageNumber",
  ]);
});

Deno.test("wildcardRegExp: * and ? as fnmatch, everything else literal", () => {
  assert.ok(wildcardRegExp("*.dcm").test("a.dcm"));
  assert.ok(!wildcardRegExp("*.dcm").test("a.dcmx"));
  assert.ok(wildcardRegExp("IM?").test("IM1"));
  assert.ok(!wildcardRegExp("IM?").test("IM12"));
  assert.ok(!wildcardRegExp("a.b").test("axb"));
  assert.ok(wildcardRegExp("(x)+[y]").test("(x)+[y]"));
});

/** A quarter of the bytes sent in a second. */
const PROGRESS: ProgressState = {
  filesDone: 12,
  filesTotal: 100,
  bytesDone: 30_000_000,
  bytesTotal: 120_000_000,
  elapsedMs: 1_000,
};

Deno.test("progress figures: bytes, durations, time left", () => {
  assert.equal(formatBytes(950), "950 B");
  assert.equal(formatBytes(12_345), "12.3 kB");
  assert.equal(formatBytes(4_500_000), "4.50 MB");
  assert.equal(formatBytes(123_456_789), "123 MB");
  assert.equal(formatBytes(1_230_000_000), "1.23 GB");
  assert.equal(formatDuration(65_000), "1:05");
  assert.equal(formatDuration(3_723_000), "1:02:03");
  assert.equal(formatDuration(Infinity), "--:--");
  assert.equal(estimateRemainingMs(PROGRESS), 3_000);
  assert.equal(estimateRemainingMs({ ...PROGRESS, bytesDone: 0 }), Infinity);
});

Deno.test("progressLine: the bar takes what the figures leave, within the width", () => {
  const figures = "12/100 files  30.0 MB/120 MB  30.0 MB/s  ETA 0:03";
  const line = progressLine(PROGRESS, 79);
  assert.equal(line.length, 79);
  assert.ok(line.endsWith(`]  ${figures}`), line);
  const inner = 79 - figures.length - 4;
  assert.equal(
    line.slice(1, 1 + inner),
    "#".repeat(Math.round(inner / 4)) + ".".repeat(inner - Math.round(inner / 4)),
  );
  assert.equal(progressLine(PROGRESS, 40), figures.slice(0, 40));
});

Deno.test("ProgressBar: redrawn at most every 100 ms, cleared around log lines", () => {
  let now = 0;
  const out: string[] = [];
  const term = {
    writeSync: (b: Uint8Array) => {
      out.push(new TextDecoder().decode(b));
      return b.length;
    },
  };
  const bar = new ProgressBar(term, { columns: () => 60, now: () => now });
  const p: ProgressState = {
    filesDone: 1,
    filesTotal: 2,
    bytesDone: 10,
    bytesTotal: 20,
    elapsedMs: 5,
  };
  bar.update(p);
  now = 50;
  bar.update({ ...p, filesDone: 2 });
  assert.equal(out.length, 1);
  now = 100;
  bar.update({ ...p, filesDone: 2 });
  assert.equal(out.length, 2);
  assert.ok(out[1].startsWith("\r\x1b[K[") && out[1].includes("]  2/2 files"), out[1]);
  const mem = createMemoryLogger({ level: "info" });
  const log = withProgressLine(mem, bar);
  log.info("hello");
  log.debug("not shown: no redraw either");
  assert.deepEqual(out.slice(2), ["\r\x1b[K", out[1]]);
  assert.equal(mem.sink.text, "I: hello\n");
  bar.finish();
  assert.equal(out.at(-1), "\r\x1b[K");
});

Deno.test("storescu +fo / -f: a file in the other format names the option that reads it", async () => {
  await withImages(1, async ([image], dir) => {
    await Deno.writeTextFile(`${dir}/bare.txt`, "hello, not DICOM\n");
    await withFakeScp(() => 0, async (scp) => {
      const fileOnly = await storescu(["+fo", HOST, String(scp.port), `${dir}/bare.txt`]);
      assert.equal(fileOnly.code, 1, show(fileOnly));
      assert.match(
        fileOnly.stderr,
        /^E: Bad DICOM file: .*bare\.txt: not a DICOM file: no DICM prefix after the 128-byte preamble \(\+f or -f read bare data sets\)$/m,
      );
      const bare = await storescu(["-f", HOST, String(scp.port), image]);
      assert.equal(bare.code, 1, show(bare));
      assert.match(
        bare.stderr,
        /^E: Bad DICOM file: .*f0\.dcm: has file meta information, but was to be read as a bare data set \(-f\)$/m,
      );
      assert.equal(scp.stores.length, 0);
    });
  });
});
