/**
 * The C-STORE round-trip matrix (issue 3, "Tests"), compared element by
 * element: our storescu -> our storescp, our storescu -> DCMTK's storescp
 * and DCMTK's storescu -> our storescp. In each direction one file in each
 * of the four native syntaxes (implicit VR LE, explicit VR LE, explicit VR
 * BE, deflated explicit VR LE) is sent with each proposal -xi, -xe, -xb and
 * -xd, so every pair of syntaxes is crossed: sent as is, transcoded both
 * ways, deflated and inflated. Each direction uses one SCP process and one
 * storescu run per proposal. Last, a large multi-frame file goes ours ->
 * ours with the peak memory of both processes bounded.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { type Dataset, datasetDifferences, decodeDataset } from "../../lib/dicom/dataset.ts";
import { decodeFileMeta, inspectDicomFile } from "../../lib/dicom/part10.ts";
import { newUid } from "../../lib/util/uid.ts";
import { tsEncoding } from "../../lib/dicom/transfer_syntax.ts";
import { swapInPlace } from "../../lib/dicom/vr.ts";
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN as DEFL,
  EXPLICIT_VR_BIG_ENDIAN as EBE,
  EXPLICIT_VR_LITTLE_ENDIAN as ELE,
  IMPLICIT_VR_LITTLE_ENDIAN as ILE,
  transferSyntaxName,
} from "../../lib/dicom/uids.ts";
import {
  type ImageFileOptions,
  MR_IMAGE_STORAGE,
  readPart10,
  writeImageFile,
} from "../../testing/dicom_files.ts";
import {
  Background,
  dcmtkAvailable,
  type Finished,
  runCommand,
  runTool,
  show,
  startStorescp,
  startTool,
  toolArgv,
} from "../../testing/procs.ts";
import { withTempDir } from "../../testing/temp_files.ts";

const HAVE_DCMTK = dcmtkAvailable();
const HOST = "127.0.0.1";
/** Our calling AE title: both storescps record it as (0002,0016) Source AE Title. */
const CALLING_AE = "ROUNDTRIP";
const PROPOSALS = ["-xi", "-xe", "-xb", "-xd"] as const;
type Proposal = typeof PROPOSALS[number];

/**
 * The syntax a file travels in, by proposal and file syntax, with an SCP
 * that accepts every syntax (+xa). Without +C the SCU proposes two contexts
 * per SOP class: the preferred syntax alone, and the other uncompressed
 * ones; the SCP accepts the first as proposed and, on the second, its own
 * preference (explicit VR LE, then BE, then implicit). A file goes in its
 * own syntax when that was accepted, else converted to the preferred one;
 * with -xd every uncompressed file goes deflated (DCMTK's storescu.cc does
 * so, and ours follows it). Both SCUs and both SCPs must agree on this.
 */
const WIRE: Record<Proposal, Record<string, string>> = {
  "-xi": { [ILE]: ILE, [ELE]: ILE, [EBE]: ILE, [DEFL]: ILE },
  "-xe": { [ILE]: ELE, [ELE]: ELE, [EBE]: EBE, [DEFL]: ELE },
  "-xb": { [ILE]: EBE, [ELE]: ELE, [EBE]: EBE, [DEFL]: EBE },
  "-xd": { [ILE]: DEFL, [ELE]: DEFL, [EBE]: DEFL, [DEFL]: DEFL },
};

/**
 * The source files: one per native syntax, each stressing something else
 * when converted — defined-length sequences (implicit), multi-frame with an
 * AT value that changes byte order (explicit LE and BE), 8-bit OB pixel data
 * (deflated). All carry nested sequences and private elements (LO, US, OB,
 * UN, SQ), which lose their VRs in implicit VR and must survive as UN.
 */
const SOURCES: { ts: string; options: ImageFileOptions }[] = [
  { ts: ILE, options: { frames: 2, definedLengths: true } },
  { ts: ELE, options: { frames: 3 } },
  { ts: EBE, options: { frames: 3 } },
  { ts: DEFL, options: { bitsAllocated: 8 } },
];

/** One source file: where it is, its syntax and SOP instance UID, its decoded data set. */
interface Source {
  path: string;
  ts: string;
  uid: string;
  dataset: Dataset;
}

/** What an SCU run reported: source path -> the syntax it sent that file in. */
type SentSyntaxes = Map<string, string>;

/** Sends `files` to `port` with one storescu run, proposing with `proposal`. */
type Sender = (port: number, proposal: Proposal, files: string[]) => Promise<SentSyntaxes>;

/** A running SCP: its port, output directory, and what it reported storing. */
interface Receiver {
  port: number;
  od: string;
  /**
   * SOP instance UID -> the syntax it was stored in, as the SCP reported
   * since the last call (waiting for `count` reports); undefined for an SCP
   * that reports nothing we can read (DCMTK's).
   */
  stored?: (count: number) => Promise<Map<string, string>>;
}

/** The JSON objects among the lines of `text`. */
function jsonLines(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

/** A temporary directory for one test, removed afterwards. */
const withDir = (fn: (dir: string) => Promise<void>) => withTempDir("dimse-roundtrip-", fn);

/** Writes the four source files (64x48 MR images) under `dir` and decodes them. */
async function writeSources(dir: string): Promise<Source[]> {
  const out: Source[] = [];
  for (const { ts, options } of SOURCES) {
    const uid = newUid();
    const path = `${dir}/${uid}.dcm`;
    await writeImageFile(path, { rows: 64, cols: 48, ts, sopInstanceUid: uid, ...options });
    const { dataset } = await readPart10(path);
    out.push({ path, ts, uid, dataset });
  }
  return out;
}

/**
 * Our storescu, its `--json` file records giving the syntax each file went
 * in. With DCMTK's proposal, so that the conversions are DCMTK's: by default
 * a deflated file gets a context of its own and goes as it is
 * (storescu_mixed.test.ts).
 */
const ourStorescu: Sender = async (port, proposal, files) => {
  const args = [
    "--json",
    "--dcmtk-proposal",
    "-aet",
    CALLING_AE,
    proposal,
    HOST,
    String(port),
    ...files,
  ];
  const r = await runTool("storescu", args, 60_000);
  assert.equal(r.code, 0, `storescu ${args.join(" ")}\n${show(r)}`);
  const records = jsonLines(r.stdout).filter((x) => x.type === "store");
  assert.deepEqual(
    records.map((x) => [x.path, x.outcome, x.status]),
    files.map((f) => [f, "success", 0]),
    show(r),
  );
  return new Map(records.map((x) => [String(x.path), String(x.transferSyntax)]));
};

/** DCMTK's names of the four native syntaxes, as its storescu -v logs them. */
const SYNTAX_BY_NAME = new Map([ILE, ELE, EBE, DEFL].map((ts) => [transferSyntaxName(ts), ts]));

/**
 * DCMTK's storescu; the syntax each file went in is read from its `-v` log:
 * `Sending file: <path>`, then `Converting transfer syntax: A -> B` when
 * the file's own syntax was not used (3.6.7 logs it even for A -> A).
 */
const dcmtkStorescu: Sender = async (port, proposal, files) => {
  const args = ["-v", "-aet", CALLING_AE, proposal, HOST, String(port), ...files];
  const r = await runCommand("storescu", args, 60_000);
  assert.equal(r.code, 0, `storescu ${args.join(" ")}\n${show(r)}`);
  const log = `${r.stdout}${r.stderr}`;
  assert.equal((log.match(/Received Store Response \(Success\)/g) ?? []).length, files.length, log);
  const sent: SentSyntaxes = new Map();
  let current: string | undefined;
  for (const line of log.split("\n")) {
    const file = line.match(/Sending file: (.+)$/);
    const conv = line.match(/Converting transfer syntax: .+ -> (.+)$/);
    if (file) {
      current = file[1];
      const { meta } = await readPart10(current);
      sent.set(current, meta.transferSyntaxUid);
    } else if (conv && current !== undefined) {
      sent.set(current, SYNTAX_BY_NAME.get(conv[1].trim()) ?? `unknown: ${conv[1]}`);
    }
  }
  return sent;
};

/** Our storescp (accepting every syntax) on a port of its choosing, writing to `od`. */
async function withOurStorescp(od: string, fn: (r: Receiver) => Promise<void>): Promise<void> {
  const { proc, port } = await startTool("storescp", ["+xa", "--bind", HOST, "-od", od]);
  const storeEvents = () => proc.events().filter((e) => e.type === "store");
  let seen = 0;
  const stored = async (count: number) => {
    // The SCU has exited; the SCP's last event lines may still be in the pipe.
    await proc.waitFor(() => storeEvents().length >= seen + count);
    const fresh = storeEvents().slice(seen);
    seen += fresh.length;
    for (const e of fresh) assert.equal(e.status, 0, JSON.stringify(e));
    return new Map(fresh.map((e) => [String(e.sopInstanceUid), String(e.transferSyntax)]));
  };
  try {
    await fn({ port, od, stored });
  } finally {
    await proc.stop();
  }
}

/** DCMTK's storescp accepting every syntax (+xa), writing to `od`. */
async function withDcmtkStorescp(od: string, fn: (r: Receiver) => Promise<void>): Promise<void> {
  const { proc, port } = await startStorescp(["+xa", "-od", od]);
  try {
    await fn({ port, od });
  } finally {
    await proc.stop();
  }
}

/** dcmdump reads every file to its Pixel Data without an error. */
async function assertDcmdumpReads(paths: string[]): Promise<void> {
  const r = await runCommand("dcmdump", paths);
  assert.equal(r.code, 0, show(r));
  assert.doesNotMatch(r.stderr, /^E: /m, show(r));
  assert.equal((r.stdout.match(/ PixelData$/gm) ?? []).length, paths.length, show(r));
}

/**
 * Runs the whole matrix in one direction: each proposal sends the four
 * sources in one storescu run; each received file is checked (syntax as
 * negotiated, SOP UIDs and source AE as sent, data set equal element by
 * element, dcmdump reads it) and removed before the next run. Failures are
 * collected so that one broken pair does not hide the rest of the matrix.
 */
async function roundTrips(dir: string, send: Sender, receiver: Receiver): Promise<void> {
  const sources = await writeSources(dir);
  const failures: string[] = [];
  for (const proposal of PROPOSALS) {
    const sent = await send(receiver.port, proposal, sources.map((s) => s.path));
    const stored = await receiver.stored?.(sources.length);
    // Both storescps name a file <modality>.<SOP instance UID> by default (-uf).
    const names: string[] = [];
    for await (const e of Deno.readDir(receiver.od)) names.push(e.name);
    assert.deepEqual(names.sort(), sources.map((s) => `MR.${s.uid}`).sort(), proposal);
    const paths = sources.map((s) => `${receiver.od}/MR.${s.uid}`);
    for (const [i, s] of sources.entries()) {
      const wire = WIRE[proposal][s.ts];
      const label = `${transferSyntaxName(s.ts)} file, storescu ${proposal} ` +
        `(expected on the wire: ${transferSyntaxName(wire)})`;
      try {
        assert.equal(sent.get(s.path), wire, "syntax the SCU sent");
        if (stored) assert.equal(stored.get(s.uid), wire, "syntax the SCP reported storing");
        const { meta, dataset } = await readPart10(paths[i]);
        assert.equal(meta.transferSyntaxUid, wire, "(0002,0010) Transfer Syntax UID");
        assert.equal(meta.mediaStorageSopClassUid, MR_IMAGE_STORAGE, "(0002,0002)");
        assert.equal(meta.mediaStorageSopInstanceUid, s.uid, "(0002,0003)");
        assert.equal(meta.sourceAeTitle, CALLING_AE, "(0002,0016) Source AE Title");
        assert.deepEqual(datasetDifferences(s.dataset, dataset, s.ts, wire), [], "data set");
      } catch (e) {
        failures.push(`${label}: ${e instanceof Error ? e.message : e}`);
      }
    }
    if (HAVE_DCMTK) await assertDcmdumpReads(paths);
    for (const p of paths) await Deno.remove(p);
  }
  assert.deepEqual(failures, []);
}

Deno.test("round trips: our storescu -> our storescp, 4 file syntaxes x -xi/-xe/-xb/-xd", () =>
  withDir(async (dir) => {
    await Deno.mkdir(`${dir}/od`);
    await withOurStorescp(`${dir}/od`, (r) => roundTrips(dir, ourStorescu, r));
  }));

Deno.test({
  name: "round trips: our storescu -> DCMTK storescp, 4 file syntaxes x -xi/-xe/-xb/-xd",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      await Deno.mkdir(`${dir}/od`);
      await withDcmtkStorescp(`${dir}/od`, (r) => roundTrips(dir, ourStorescu, r));
    }),
});

Deno.test({
  name: "round trips: DCMTK storescu -> our storescp, 4 file syntaxes x -xi/-xe/-xb/-xd",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      await Deno.mkdir(`${dir}/od`);
      await withOurStorescp(`${dir}/od`, (r) => roundTrips(dir, dcmtkStorescu, r));
    }),
});

// --- A large multi-frame file, memory bounded -------------------------------

const MiB = 1024 * 1024;
/** 1024 frames of 512x512x16 bit: 512 KiB each, 512 MiB of pixel data. */
const LARGE_FRAMES = 1024;
const LARGE_PIXELS = LARGE_FRAMES * 512 * 512 * 2;
/**
 * How far a process's peak RSS may rise above an idle one's (the SCP's
 * right after it listens): half the file. Why a 512 MiB file and not a
 * 64 MB one: V8 lets dead ArrayBuffers (file chunks read, PDVs built) pile
 * up to some 64 MB before its external-memory trigger collects them, so a
 * streaming storescu was measured peaking 75-130 MB above idle whatever
 * the file size (64 MB, 256 MB and 512 MB files alike) — more than holding
 * a 64 MB file once would cost, so a small file cannot tell streaming from
 * buffering. Holding this file costs at least 512 MiB, twice the limit;
 * streaming stays about 125 MiB under it.
 */
const GROWTH_LIMIT = 256 * MiB;
const CHUNK = 4 * MiB;

/**
 * VmHWM (peak resident set) of a live process in bytes; undefined once it
 * is gone. Read with `cat`: Deno lets only --allow-all read /proc/<pid>,
 * and the test task grants --allow-run, not --allow-all.
 */
async function peakRss(pid: number): Promise<number | undefined> {
  const r = await runCommand("cat", [`/proc/${pid}/status`], 5_000);
  const m = r.stdout.match(/^VmHWM:\s+(\d+) kB$/m);
  return m ? Number(m[1]) * 1024 : undefined;
}

/**
 * Runs our storescu to the end, sampling its VmHWM meanwhile. VmHWM only
 * grows, so the last sample is its peak bar the final few milliseconds
 * (spent releasing the association, not reading files).
 */
async function storescuWithPeak(args: string[]): Promise<Finished & { peak: number }> {
  const proc = new Background(Deno.execPath(), [...toolArgv("storescu"), ...args]);
  const deadline = Date.now() + 60_000;
  let peak = 0;
  while (proc.status === undefined) {
    peak = Math.max(peak, await peakRss(proc.pid) ?? 0);
    if (Date.now() > deadline) {
      await proc.stop("SIGKILL");
      throw new Error(`storescu ran over 60 s:\n${proc.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const { code } = await proc.exited();
  return { code, stdout: proc.stdout, stderr: proc.stderr, peak };
}

/** Reads exactly `buf.length` bytes at the file's position (fewer only at its end). */
async function readFully(file: Deno.FsFile, buf: Uint8Array): Promise<Uint8Array> {
  let n = 0;
  while (n < buf.length) {
    const got = await file.read(buf.subarray(n));
    if (got === null) break;
    n += got;
  }
  return buf.subarray(0, n);
}

/** `length` bytes of a file from `offset`. */
async function readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
  const file = await Deno.open(path);
  try {
    await file.seek(offset, Deno.SeekMode.Start);
    return await readFully(file, new Uint8Array(length));
  } finally {
    file.close();
  }
}

/**
 * The header of Pixel Data holding `length` bytes in syntax `ts`: tag and
 * 32-bit length in implicit VR (PS3.5 7.1.3); tag, "OW", two reserved bytes
 * and 32-bit length in explicit VR (PS3.5 7.1.2).
 */
function pixelDataHeader(length: number, ts: string): Uint8Array {
  const { explicitVr, littleEndian } = tsEncoding(ts)!;
  const bytes = new Uint8Array(explicitVr ? 12 : 8);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, 0x7fe0, littleEndian);
  view.setUint16(2, 0x0010, littleEndian);
  if (explicitVr) bytes.set([0x4f, 0x57], 4);
  view.setUint32(bytes.length - 4, length, littleEndian);
  return bytes;
}

/**
 * Compares a large received file with its source without holding either:
 * the elements before Pixel Data decoded and compared element by element
 * (and byte for byte when the syntax is the same: a file sent in its own
 * syntax goes as its own bytes), the Pixel Data header, then the 16-bit
 * pixel values in 4 MiB chunks, byte-swapped when one side is big endian.
 * Pixel Data is the last element of the synthetic image, so it is the
 * file's last `pixels` bytes.
 */
async function assertLargeEqual(source: string, received: string, pixels: number): Promise<void> {
  const [a, b] = [
    await inspectDicomFile(source, "file-only"),
    await inspectDicomFile(received, "file-only"),
  ];
  const [tsA, tsB] = [a.transferSyntaxUid, b.transferSyntaxUid];
  const [pixA, pixB] = [pixelDataHeader(pixels, tsA), pixelDataHeader(pixels, tsB)];
  const headA = await readRange(
    source,
    a.datasetOffset,
    a.size - a.datasetOffset - pixels - pixA.length,
  );
  const headB = await readRange(
    received,
    b.datasetOffset,
    b.size - b.datasetOffset - pixels - pixB.length,
  );
  assert.deepEqual(
    datasetDifferences(decodeDataset(headA, tsA), decodeDataset(headB, tsB), tsA, tsB),
    [],
  );
  if (tsA === tsB) assert.ok(Buffer.from(headA).equals(Buffer.from(headB)), "header bytes");
  assert.deepEqual(await readRange(received, b.size - pixels - pixB.length, pixB.length), pixB);
  const [fa, fb] = [await Deno.open(source), await Deno.open(received)];
  try {
    await fa.seek(a.size - pixels, Deno.SeekMode.Start);
    await fb.seek(b.size - pixels, Deno.SeekMode.Start);
    const [bufA, bufB] = [new Uint8Array(CHUNK), new Uint8Array(CHUNK)];
    for (let at = 0; at < pixels; at += CHUNK) {
      const x = await readFully(fa, bufA.subarray(0, Math.min(CHUNK, pixels - at)));
      const y = await readFully(fb, bufB.subarray(0, x.length));
      assert.equal(y.length, x.length, `received pixel data ends at byte ${at + y.length}`);
      if (tsEncoding(tsA)!.littleEndian !== tsEncoding(tsB)!.littleEndian) swapInPlace(y, 2);
      if (
        !Buffer.from(x.buffer, x.byteOffset, x.length).equals(Buffer.from(y.buffer, 0, y.length))
      ) {
        const i = x.findIndex((v, k) => v !== y[k]);
        assert.fail(`pixel data differs at byte ${at + i}: ${x[i]} != ${y[i]}`);
      }
    }
  } finally {
    fa.close();
    fb.close();
  }
}

Deno.test("large multi-frame file ours -> ours: 512 MiB sent as is and transcoded, memory bounded", () =>
  withDir(async (dir) => {
    const uid = newUid();
    const source = `${dir}/large.dcm`;
    await writeImageFile(source, { frames: LARGE_FRAMES, ts: EBE, sopInstanceUid: uid });
    const od = `${dir}/od`;
    await Deno.mkdir(od);
    const { proc, port } = await startTool("storescp", ["+xa", "--bind", HOST, "-od", od]);
    const peaks: string[] = [];
    try {
      const idle = await peakRss(proc.pid);
      assert.ok(idle !== undefined, "no VmHWM for the storescp");
      const limit = idle + GROWTH_LIMIT;
      // -xb: the file's own syntax (big endian) is accepted, so it goes as its
      // own bytes; -xi: only implicit VR little endian is, so the storescu
      // transcodes it on the way, every pixel value byte-swapped.
      for (const [proposal, wire] of [["-xb", EBE], ["-xi", ILE]]) {
        const r = await storescuWithPeak(["--json", proposal, HOST, String(port), source]);
        assert.equal(r.code, 0, show(r));
        const [record] = jsonLines(r.stdout).filter((x) => x.type === "store");
        assert.equal(record?.transferSyntax, wire, show(r));
        const ev = await proc.waitForEvent((e) => e.type === "store" && e.transferSyntax === wire);
        const received = `${od}/MR.${uid}`;
        assert.equal(ev.path, received);
        const { meta } = decodeFileMeta(await readRange(received, 0, 4096), received);
        assert.deepEqual(
          [meta.transferSyntaxUid, meta.mediaStorageSopClassUid, meta.mediaStorageSopInstanceUid],
          [wire, MR_IMAGE_STORAGE, uid],
        );
        await assertLargeEqual(source, received, LARGE_PIXELS);
        await Deno.remove(received);
        peaks.push(`storescu ${proposal}: ${(r.peak / MiB).toFixed(0)} MiB`);
        assert.ok(
          r.peak > 0 && r.peak < limit,
          `storescu ${proposal} peak RSS ${r.peak} >= ${limit}`,
        );
      }
      const scpPeak = await peakRss(proc.pid);
      assert.ok(
        scpPeak !== undefined && scpPeak < limit,
        `storescp peak RSS ${scpPeak} >= ${limit}`,
      );
      peaks.push(
        `storescp: ${(scpPeak / MiB).toFixed(0)} MiB (idle ${(idle / MiB).toFixed(0)} MiB)`,
      );
      console.log(`peak RSS, 512 MiB file: ${peaks.join("; ")}`);
    } finally {
      await proc.stop();
    }
  }));

/** A storescu holding this test's 256 MiB file whole would pass this peak RSS by far. */
const RUNS_PEAK_LIMIT = 128 * MiB;

Deno.test({
  name:
    "large multi-frame file ours -> DCMTK storescp +B at 128 KiB PDUs: 256 MiB sent in runs from bounded memory, byte for byte",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withDir(async (dir) => {
      const uid = newUid();
      const source = `${dir}/large.dcm`;
      const frames = LARGE_FRAMES / 2;
      const pixels = LARGE_PIXELS / 2;
      await writeImageFile(source, { frames, ts: ELE, sopInstanceUid: uid });
      const od = `${dir}/od`;
      await Deno.mkdir(od);
      // -pdu 131072: its PDUs take 131,066 data bytes a PDV, at which storescu reads a data
      // set over 1 MiB in runs (issue 15); +B writes the data set as it arrived.
      const { proc, port } = await startStorescp(["+xa", "+B", "-pdu", "131072", "-od", od]);
      try {
        const r = await storescuWithPeak(["--json", "-xe", HOST, String(port), source]);
        assert.equal(r.code, 0, show(r));
        const [record] = jsonLines(r.stdout).filter((x) => x.type === "store");
        assert.equal(record?.transferSyntax, ELE, show(r));
        assert.equal(
          record?.bytes,
          (await Deno.stat(source)).size -
            (await inspectDicomFile(source, "file-only")).datasetOffset,
        );
        await assertLargeEqual(source, `${od}/MR.${uid}`, pixels);
        console.log(
          `storescu peak RSS, 256 MiB file at 128 KiB PDUs: ${(r.peak / MiB).toFixed(0)} MiB`,
        );
        assert.ok(
          r.peak > 0 && r.peak < RUNS_PEAK_LIMIT,
          `storescu peak RSS ${r.peak} >= ${RUNS_PEAK_LIMIT}`,
        );
      } finally {
        await proc.stop();
      }
    }),
});
