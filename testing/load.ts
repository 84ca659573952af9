/**
 * Load, leak and churn run against our own SCPs (issue 5; docs/SECURITY_CLASSES.md
 * #5, per-connection leaks). Our storescp and echoscp run as child
 * processes, measured from outside; the SCU side runs in this process with
 * the library, so that hundreds of associations do not mean hundreds of
 * processes. Five phases:
 *
 *  - store: `--associations N` (200) concurrent storescu associations, each
 *    sending the same `--files M` (10) files of `--size` bytes (512 KiB) into
 *    one storescp (+uf: every copy gets its own file); then every file must
 *    be there, whole: count, and the SHA-256 of its data set against the
 *    data set sent;
 *  - echo: `--echo E` (1,000) concurrent echo associations against echoscp;
 *  - churn: `--churn C` (10,000) associations against the same storescp,
 *    `--parallel P` (100) at a time, every other one malformed (bad PDUs of
 *    docs/SECURITY_CLASSES.md #3, #4, #8 and #11, connect-then-close, aborts and
 *    closes in the middle of a data set); every good one must be served and
 *    nothing half-written may stay in -od.
 * *  - attack (issue 11): a storescp of its own with its default caps, under
 *    a limit of `--attack-nofile L` (256) open files, against crowds of
 *    `--attack A` (512) connections that hold a place and do nothing: idle,
 *    half-started associations, half-started C-STOREs, silent associations,
 *    from many loopback addresses and the good client's own; while each
 *    crowd holds its connections and after it left, a good client (an echo
 *    and a store, from 127.0.0.1) must be served within a second, and no
 *    `.part` file may stay;
 *  - tls-attack: the same with stalled TLS handshakes (and idle
 *    connections) against an echoscp with +tls.
 *
 * Each phase runs `--rounds R` (3) times and reports the SCP's resident
 * memory (VmRSS, and VmHWM for the peak) and open file descriptors
 * (/proc/<pid>/fd) before (after a warm-up), at the peak, after the first
 * round and after the last (each once the descriptors are back, plus
 * `--idle` quiet seconds), and the peak number of associations the SCP held
 * at once (from its --json events). Descriptors are deterministic: after
 * every round they must equal the count before. Memory is not: the garbage
 * collector is not forced, V8 keeps heap it grew into, and freed buffers
 * stay with the C allocator, so the RSS after a phase stays well above the
 * RSS before it for tens of seconds or for good. "Back to baseline" is
 * therefore judged against the working size the earlier rounds reached: the
 * RSS after the last round may exceed the highest RSS of the rounds before
 * it by at most `--mem-tolerance` MiB (64). Heap that is merely kept levels
 * off round after round (1,000 concurrent echoes take two or three rounds to
 * get there, hence `--rounds 3`); a leak grows with every round (64 KiB per
 * association is 640 MiB more per churn round of 10,000).
 *
 * Open files: 1,000 concurrent echoes need about 1,000 descriptors on each
 * side. The SCPs are started through `sh -c 'ulimit -n ...; exec ...'`
 * (raised to what the phase needs, within the hard limit); this process
 * must already have enough (`ulimit -n` before `deno task load`).
 *
 * Usage: deno task load [--associations 200] [--files 10] [--size 524288]
 *   [--echo 1000] [--churn 10000] [--parallel 100] [--attack 512]
 *   [--attack-nofile 256] [--rounds 3] [--idle 3] [--mem-tolerance 64] [--json]
 *   (--attack 0 leaves the attack phases out)
 *
 * @module
 */
import { decodeFileMeta } from "../lib/dicom/part10.ts";
import { PRIORITY } from "../lib/dimse/messages.ts";
import { NULL_LOGGER } from "../lib/log/logger.ts";
import { DimseChannel } from "../lib/ae/channel.ts";
import { runEchoScu } from "../lib/cli/echoscu/engine.ts";
import { buildAssociateRq } from "../lib/ae/negotiation.ts";
import { runStoreScu, storeScuDefaults } from "../lib/cli/storescu/engine.ts";
import { encodePdu } from "../lib/pdu/codec.ts";
import { connectTcp } from "../lib/transport/tcp.ts";
import type { Transport } from "../lib/transport/transport.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN, VERIFICATION_SOP_CLASS } from "../lib/dicom/uids.ts";
import { requestAssociation } from "../lib/ul/association.ts";
import { type AttackKind, Crowd, type GoodClient, goodVisit, loopbackSources } from "./attacks.ts";
import { makeTestPki, tlsArgs } from "./certs.ts";
import { MR_IMAGE_STORAGE, writeImageFile } from "./dicom_files.ts";
import { lineProblems } from "./json_lines.ts";
import { toolArgv } from "./procs.ts";

const HOST = "127.0.0.1";

/** What to run. */
export interface LoadOptions {
  /** Concurrent storescu associations. */
  associations: number;
  /** Files each association sends. */
  files: number;
  /** Approximate size of each file in bytes. */
  size: number;
  /** Concurrent echo associations. */
  echo: number;
  /** Churn associations, every other one malformed. */
  churn: number;
  /** Churn associations in flight at once. */
  parallel: number;
  /** Connections in each crowd of the attack phases; 0 = no attack phases. */
  attack: number;
  /** The open-file limit of the SCPs under attack. */
  attackNofile: number;
  /** Quiet milliseconds before the "after" measurement. */
  idleMs: number;
  /** Rounds of each phase: the first brings the heap to its working size. */
  rounds: number;
  /** Allowed RSS growth from the first round to the last, in MiB. */
  memToleranceMb: number;
  /** Progress lines (stderr) as phases start and end. */
  progress?: (line: string) => void;
}

/** Defaults of `deno task load`. */
export const DEFAULT_LOAD: LoadOptions = {
  associations: 200,
  files: 10,
  size: 512 * 1024,
  echo: 1000,
  churn: 10_000,
  parallel: 100,
  attack: 512,
  attackNofile: 256,
  idleMs: 3000,
  rounds: 3,
  memToleranceMb: 64,
};

/** One look at the SCP process from outside. */
export interface Sample {
  /** Resident set, KiB (VmRSS). */
  rssKb: number;
  /** Peak resident set so far, KiB (VmHWM). */
  hwmKb: number;
  /** Open file descriptors. */
  fds: number;
}

/** What one phase measured. */
export interface PhaseReport {
  phase: "store" | "echo" | "churn" | "attack" | "tls-attack";
  /** Associations attempted, and those that ended as they should. */
  associations: number;
  succeeded: number;
  seconds: number;
  associationsPerSecond: number;
  /** Store phase: files stored and checked whole. */
  files?: number;
  filesPerSecond?: number;
  mbPerSecond?: number;
  /** Most associations the SCP held at once (accepted, not yet ended). */
  peakConcurrent: number;
  before: Sample;
  /** Highest RSS (VmHWM) and descriptor count seen during the phase. */
  peak: Sample;
  /** Once the first round has settled: the heap at its working size. */
  afterFirstRound: Sample;
  /** Once the last round has settled. */
  after: Sample;
  /** Milliseconds until the descriptors were back at their count before. */
  settleMs: number;
  /** What went wrong: empty when the phase passed. */
  problems: string[];
  /** Churn phase: malformed connections by kind. */
  kinds?: Record<string, number>;
  /** Attack phases: by kind, the most connections of a crowd the SCP held at once. */
  held?: Record<string, number>;
}

// ---------------------------------------------------------------------------
// the SCP under load, measured from outside

/** An SCP child process whose --json events are counted as they arrive. */
class Scp {
  readonly #child: Deno.ChildProcess;
  readonly port: Promise<number>;
  readonly #done: Promise<void>;
  #exited = false;
  /** Peers holding an accepted association now. */
  readonly #held = new Set<string>();
  peakHeld = 0;
  stores = 0;
  accepted = 0;
  stderrTail = "";
  /** --json lines that do not match their schema (schemas/v1). */
  readonly invalidJson: string[] = [];

  constructor(tool: string, args: string[], nofile: number) {
    // exec: the shell becomes the SCP, so the child's pid is the one measured.
    this.#child = new Deno.Command("sh", {
      args: [
        "-c",
        `ulimit -n ${nofile} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`,
        Deno.execPath(),
        ...toolArgv(tool),
        "--json",
        "--bind",
        HOST,
        ...args,
        "0",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.#child.status.then(() => this.#exited = true);
    let listening!: (port: number) => void;
    this.port = new Promise((resolve) => listening = resolve);
    this.#done = Promise.all([
      this.#lines(this.#child.stdout, (line) => this.#event(line, listening)),
      this.#lines(this.#child.stderr, (line) => {
        this.stderrTail = `${this.stderrTail}${line}\n`.slice(-4000);
      }),
    ]).then(() => {});
  }

  get pid(): number {
    return this.#child.pid;
  }

  /** The process has not exited. */
  get alive(): boolean {
    return !this.#exited;
  }

  get held(): number {
    return this.#held.size;
  }

  async #lines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
    let rest = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + text).split("\n");
      rest = lines.pop()!;
      for (const line of lines) onLine(line);
    }
  }

  #event(line: string, listening: (port: number) => void): void {
    let e: { type?: string; peer?: { host: string; port: number }; port?: number };
    try {
      e = JSON.parse(line);
    } catch {
      return;
    }
    // Each line is checked against its schema (schemas/v1), as in the test suite.
    const problems = lineProblems(line);
    if (problems.length) this.invalidJson.push(`${line}\n  ${problems.join("\n  ")}`);
    const peer = e.peer && `${e.peer.host}:${e.peer.port}`;
    switch (e.type) {
      case "listening":
        listening(e.port!);
        break;
      case "association-accepted":
        this.accepted++;
        this.#held.add(peer!);
        this.peakHeld = Math.max(this.peakHeld, this.#held.size);
        break;
      case "association-released":
      case "association-aborted":
        this.#held.delete(peer!);
        break;
      case "store":
        this.stores++;
        break;
    }
  }

  async sample(): Promise<Sample> {
    return await sampleProcess(this.pid);
  }

  async stop(): Promise<number> {
    this.#child.kill("SIGTERM");
    const status = await this.#child.status;
    await this.#done;
    return status.code;
  }
}

/**
 * RSS, peak RSS and descriptors of a live process (Linux). Through `sh`:
 * Deno lets only --allow-all read another process's /proc entries.
 */
export async function sampleProcess(pid: number): Promise<Sample> {
  const out = await new Deno.Command("sh", {
    args: ["-c", 'ls "/proc/$0/fd" | wc -l; cat "/proc/$0/status"', String(pid)],
    stdout: "piped",
    stderr: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1] ?? NaN);
  return { fds: Number(text.split("\n")[0]), rssKb: kb("VmRSS"), hwmKb: kb("VmHWM") };
}

/** Samples `scp` every 100 ms while `work` runs; the highest values seen. */
async function withPeak<T>(scp: Scp, work: Promise<T>): Promise<{ value: T; peak: Sample }> {
  const peak: Sample = { rssKb: 0, hwmKb: 0, fds: 0 };
  let running = true;
  const sampler = (async () => {
    while (running) {
      const s = await scp.sample();
      peak.rssKb = Math.max(peak.rssKb, s.rssKb);
      peak.hwmKb = Math.max(peak.hwmKb, s.hwmKb);
      peak.fds = Math.max(peak.fds, s.fds);
      await sleep(100);
    }
  })();
  try {
    return { value: await work, peak };
  } finally {
    running = false;
    await sampler;
  }
}

/**
 * Waits (at most `limitMs`) until the SCP holds no association and its
 * descriptors are back to `fds`, then `idleMs` more; the sample then and
 * how long the descriptors took.
 */
async function settle(
  scp: Scp,
  fds: number,
  idleMs: number,
  limitMs = 60_000,
): Promise<{ after: Sample; settleMs: number }> {
  const t0 = performance.now();
  while (performance.now() - t0 < limitMs) {
    if (scp.held === 0 && (await scp.sample()).fds <= fds) break;
    await sleep(100);
  }
  const settleMs = Math.round(performance.now() - t0);
  await sleep(idleMs);
  return { after: await scp.sample(), settleMs };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `count` tasks, at most `parallel` at a time. */
async function pool(count: number, parallel: number, task: (i: number) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
}

// ---------------------------------------------------------------------------
// the data sent, and what arrived

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The SOP Instance UID of a Part 10 file and the SHA-256 of its data set (after the meta). */
async function datasetDigest(path: string): Promise<{ uid: string; hash: string }> {
  const bytes = await Deno.readFile(path);
  const { meta, length } = decodeFileMeta(bytes, path);
  return { uid: meta.mediaStorageSopInstanceUid, hash: await sha256(bytes.subarray(length)) };
}

/** `count` MR images of about `size` bytes, each its own SOP instance; digest by UID. */
async function writeSources(dir: string, count: number, size: number) {
  const study = "1.2.826.0.1.3680043.10.1001.5";
  const rows = 256;
  const cols = Math.max(1, Math.round(size / (2 * rows)));
  const paths: string[] = [];
  const digests = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const path = `${dir}/src${i}.dcm`;
    await writeImageFile(path, {
      rows,
      cols,
      bitsAllocated: 16,
      sopClassUid: MR_IMAGE_STORAGE,
      sopInstanceUid: `${study}.1.${i + 1}`,
      studyUid: study,
      seriesUid: `${study}.1`,
    });
    const d = await datasetDigest(path);
    digests.set(d.uid, d.hash);
    paths.push(path);
  }
  return { paths, digests };
}

/**
 * Every regular file below `od` (recursively), checked against the sources:
 * returns the problems found ("MR.X... holds a data set that was never
 * sent", a `.part` left, a wrong count per SOP instance).
 */
async function checkStored(
  od: string,
  digests: Map<string, string>,
  copies: number,
): Promise<{ files: number; problems: string[] }> {
  const problems: string[] = [];
  const count = new Map<string, number>();
  let files = 0;
  for await (const e of Deno.readDir(od)) {
    if (e.name.endsWith(".part")) {
      problems.push(`${e.name}: a partial file was left in -od`);
      continue;
    }
    files++;
    const d = await datasetDigest(`${od}/${e.name}`);
    if (digests.get(d.uid) !== d.hash) {
      problems.push(`${e.name}: its data set differs from the one sent for ${d.uid}`);
    }
    count.set(d.uid, (count.get(d.uid) ?? 0) + 1);
  }
  for (const uid of digests.keys()) {
    if ((count.get(uid) ?? 0) !== copies) {
      problems.push(`${uid}: ${count.get(uid) ?? 0} copies stored, ${copies} sent`);
    }
  }
  return { files, problems };
}

// ---------------------------------------------------------------------------
// clients

const SCU_COMMON = {
  host: HOST,
  family: "ipv4" as const,
  maxPdu: 16384,
  connectTimeoutMs: 30_000,
  acseTimeoutMs: 30_000,
  dimseTimeoutMs: 60_000,
  socketTimeoutMs: 60_000,
  abort: false,
  logger: NULL_LOGGER,
};

function echoOnce(port: number, calledAeTitle = "ANY-SCP") {
  return runEchoScu({
    ...SCU_COMMON,
    port,
    callingAeTitle: "LOADECHO",
    calledAeTitle,
    proposeTs: 1,
    proposePc: 1,
    repeat: 1,
  });
}

function storeFiles(port: number, files: string[]) {
  return runStoreScu({
    ...SCU_COMMON,
    ...storeScuDefaults(),
    port,
    callingAeTitle: "LOADSCU",
    calledAeTitle: "STORESCP",
    files,
  });
}

/**
 * Waits (at most `ms`) for the server's answer (its A-ABORT) or its close, then
 * closes, as a requestor does after an A-ABORT (PS3.8 9.2.2, AA-3); a server left
 * waiting in Sta13 for that close would hold the connection until ARTIM.
 */
async function awaitAnswerAndClose(conn: Deno.Conn, ms = 10_000): Promise<void> {
  const timer = setTimeout(() => conn.close(), ms);
  try {
    await conn.read(new Uint8Array(4096));
  } catch {
    // Reset by the server, or closed by the timer.
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }
}

/** A-ASSOCIATE-RQ for Verification and MR Image Storage, explicit VR little endian. */
const CHURN_RQ = buildAssociateRq({
  aeTitle: "CHURN",
  calledAeTitle: "STORESCP",
  maxPdu: 16384,
  presentationContexts: [
    {
      id: 1,
      abstractSyntax: VERIFICATION_SOP_CLASS,
      transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN],
    },
    { id: 3, abstractSyntax: MR_IMAGE_STORAGE, transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN] },
  ],
});
const RQ_BYTES = encodePdu(CHURN_RQ);
/** A TLS ClientHello's record (49 bytes) and handshake headers, zeros for the rest (#11). */
const CLIENT_HELLO = (() => {
  const hello = new Uint8Array(5 + 49);
  hello.set([0x16, 0x03, 0x01, 0x00, 49, 0x01, 0x00, 0x00, 45, 0x03, 0x03]);
  return hello;
})();

/** Raw bytes on a fresh connection, then whatever the server answers until it closes. */
function rawPeer(bytes: () => Uint8Array) {
  return async (port: number) => {
    const conn = await Deno.connect({ hostname: HOST, port });
    await conn.write(bytes()).catch(() => 0);
    await awaitAnswerAndClose(conn);
  };
}

/** Associates with our own UL, then `misbehave` with the association and its transport. */
function associatedPeer(
  misbehave: (t: Transport, ch: DimseChannel) => Promise<void>,
) {
  return async (port: number) => {
    const transport = await connectTcp({ host: HOST, port, family: "ipv4" });
    const r = await requestAssociation(transport, CHURN_RQ, {
      logger: NULL_LOGGER,
      artimTimeoutMs: 10_000,
    });
    if (r.kind !== "accepted") throw new Error(`churn association not accepted: ${r.kind}`);
    try {
      await misbehave(transport, new DimseChannel(r.association));
    } finally {
      const closed = r.association.closed;
      const timer = setTimeout(() => transport.close(), 10_000);
      await closed;
      clearTimeout(timer);
    }
  };
}

/** Half of a data set, then `end` (the C-STORE-RQ is on context 3, MR). */
async function halfDataset(ch: DimseChannel, end: () => Promise<void> | void): Promise<void> {
  const half = async function* () {
    yield new Uint8Array(64 * 1024);
    throw new Error("stop in the middle");
  };
  await ch.send(3, {
    type: "C-STORE-RQ",
    messageId: 1,
    affectedSopClassUid: MR_IMAGE_STORAGE,
    affectedSopInstanceUid: "1.2.826.0.1.3680043.10.1001.6.1",
    priority: PRIORITY.medium,
  }, half()).catch(() => {});
  await end();
}

/**
 * The malformed half of the churn, by kind: each connects, misbehaves and
 * ends; the server must answer each with an A-ABORT or a close and serve on.
 */
export const MALFORMED: Record<string, (port: number) => Promise<void>> = {
  "connect-then-close": async (port) => (await Deno.connect({ hostname: HOST, port })).close(),
  "http-get": rawPeer(() => new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n")),
  "tls-client-hello": rawPeer(() => CLIENT_HELLO),
  // Random, but for a first byte that is no PDU type: a valid type with a random length
  // would be a slow drip that ARTIM ends (covered by tests/security/echoscp_bad_input.test.ts).
  "random-bytes": rawPeer(() => {
    const bytes = crypto.getRandomValues(new Uint8Array(64));
    bytes[0] |= 0x80;
    return bytes;
  }),
  "length-0xffffffff": rawPeer(() => new Uint8Array([0x01, 0, 0xff, 0xff, 0xff, 0xff])),
  "truncated-associate-rq": async (port) => {
    const conn = await Deno.connect({ hostname: HOST, port });
    await conn.write(RQ_BYTES.subarray(0, RQ_BYTES.length >> 1)).catch(() => 0);
    conn.close();
  },
  "p-data-before-associate": rawPeer(() =>
    new Uint8Array([0x04, 0, 0, 0, 0, 10, 0, 0, 0, 6, 1, 0x03, 1, 2, 3, 4])
  ),
  "pdv-past-its-pdu": associatedPeer(async (t) => {
    // PDV item length 0xFF00 in a PDU of 10 bytes (docs/SECURITY_CLASSES.md #4).
    await t.write(new Uint8Array([0x04, 0, 0, 0, 0, 10, 0, 0, 0xff, 0, 1, 0x03, 1, 2, 3, 4]));
  }),
  "abort-mid-dataset": associatedPeer((_t, ch) => halfDataset(ch, () => ch.association.abort())),
  "close-mid-dataset": associatedPeer((t, ch) => halfDataset(ch, () => t.close())),
  "reserved-abort-source-reason": associatedPeer(async (t) => {
    // A-ABORT with source 1 (reserved) and reason 7 (undefined) (docs/SECURITY_CLASSES.md #8).
    await t.write(new Uint8Array([0x07, 0, 0, 0, 0, 4, 0, 0, 1, 7]));
  }),
};

// ---------------------------------------------------------------------------
// the phases

function rate(n: number, seconds: number): number {
  return Math.round((n / seconds) * 10) / 10;
}

/** What one round of a phase did. */
interface RoundResult {
  /** Associations that ended as they should. */
  succeeded: number;
  problems: string[];
}

/**
 * Runs `rounds` rounds of `work` against `scp`, settling after each: the
 * descriptors after every round must equal those before the first; the RSS
 * after the last round may exceed the RSS after the first by at most the
 * tolerance (the first round grows the heap to its working size; a leak
 * keeps growing it).
 */
async function phase(
  o: LoadOptions,
  scp: Scp,
  name: PhaseReport["phase"],
  associations: number,
  work: (round: number) => Promise<RoundResult>,
): Promise<PhaseReport> {
  o.progress?.(`${name}: ${o.rounds} round(s) of ${associations} associations`);
  const before = (await settle(scp, Infinity, o.idleMs)).after;
  scp.peakHeld = scp.held;
  const problems: string[] = [];
  const afterRounds: Sample[] = [];
  const peak: Sample = { rssKb: 0, hwmKb: 0, fds: 0 };
  let succeeded = 0;
  let seconds = 0;
  let settleMs = 0;
  /** The working size: the highest RSS the rounds before the last reached. */
  let workingKb = 0;
  for (let round = 0; round < o.rounds; round++) {
    const t0 = performance.now();
    const { value, peak: p } = await withPeak(scp, work(round));
    seconds += (performance.now() - t0) / 1000;
    for (const k of ["rssKb", "hwmKb", "fds"] as const) peak[k] = Math.max(peak[k], p[k]);
    const settled = await settle(scp, before.fds, o.idleMs);
    settleMs = Math.max(settleMs, settled.settleMs);
    afterRounds.push(settled.after);
    if (round < o.rounds - 1) workingKb = Math.max(workingKb, p.hwmKb, settled.after.rssKb);
    o.progress?.(
      `${name} round ${round + 1}: ${value.succeeded}/${associations} ok; after it, SCP RSS ` +
        `${mib(settled.after.rssKb)}, ${settled.after.fds} fds`,
    );
    succeeded += value.succeeded;
    problems.push(...value.problems.map((p) => o.rounds > 1 ? `round ${round + 1}: ${p}` : p));
    if (settled.after.fds !== before.fds) {
      problems.push(
        `round ${round + 1}: open descriptors ${before.fds} before, ${settled.after.fds} after`,
      );
    }
  }
  const after = afterRounds.at(-1)!;
  const grown = (after.rssKb - workingKb) / 1024;
  if (grown > o.memToleranceMb) {
    problems.push(
      `RSS after the last round ${grown.toFixed(1)} MiB above the earlier rounds' peak ` +
        `(tolerance ${o.memToleranceMb} MiB)`,
    );
  }
  const total = associations * o.rounds;
  return {
    phase: name,
    associations: total,
    succeeded,
    seconds,
    associationsPerSecond: rate(total, seconds),
    peakConcurrent: scp.peakHeld,
    before,
    peak,
    afterFirstRound: afterRounds[0],
    after,
    settleMs,
    problems,
  };
}

/** Runs the three phases; the report of each. */
export async function runLoad(o: LoadOptions): Promise<PhaseReport[]> {
  const say = o.progress ?? (() => {});
  const work = await Deno.makeTempDir({ prefix: "dimse-load-" });
  const od = `${work}/od`;
  await Deno.mkdir(od);
  // Every client is on 127.0.0.1: twice the caps the phases need, and a per-peer cap that
  // lets all of them in at once (each storescp association holds a socket and a file).
  const nofile = 8 * Math.max(o.associations, o.echo, o.parallel) + 256;
  const caps = (n: number) =>
    ["--max-associations", 2 * n, "--max-pending", 2 * n, "--max-per-peer", 4 * n].map(String);
  const storescp = new Scp("storescp", [
    "+uf",
    "-od",
    od,
    ...caps(Math.max(o.associations, o.parallel)),
  ], nofile);
  const echoscp = new Scp("echoscp", caps(o.echo), nofile);
  const reports: PhaseReport[] = [];
  try {
    const [storePort, echoPort] = await Promise.all([storescp.port, echoscp.port]);
    const { paths, digests } = await writeSources(`${work}`, o.files, o.size);
    const bytesPerAssociation = (await Promise.all(paths.map((p) => Deno.stat(p))))
      .reduce((n, s) => n + s.size, 0);

    // Warm-up: code paths compiled, first buffers allocated; the warm-up's files are removed.
    say("warm-up");
    for (let i = 0; i < 3; i++) {
      await echoOnce(storePort, "STORESCP");
      await echoOnce(echoPort);
      await storeFiles(storePort, paths.slice(0, 1));
    }
    for await (const e of Deno.readDir(od)) await Deno.remove(`${od}/${e.name}`);

    // ---- store: every round stores every file once more (+uf: each copy its own file)
    const storesBefore = storescp.stores;
    const store = await phase(o, storescp, "store", o.associations, async () => {
      const results = await Promise.all(
        Array.from({ length: o.associations }, () => storeFiles(storePort, paths)),
      );
      const ok = results.filter((r) => r.outcome === "success" && r.summary.success === o.files);
      const bad = results.find((r) => r.outcome !== "success");
      return {
        succeeded: ok.length,
        problems: bad
          ? [`${o.associations - ok.length} failed (${bad.outcome}: ${bad.diagnosis})`]
          : [],
      };
    });
    const copies = o.associations * o.rounds;
    const stored = await checkStored(od, digests, copies);
    store.problems.push(...stored.problems);
    if (storescp.stores - storesBefore !== copies * o.files) {
      store.problems.push(`storescp reported ${storescp.stores - storesBefore} stores`);
    }
    store.files = stored.files;
    store.filesPerSecond = rate(copies * o.files, store.seconds);
    store.mbPerSecond = rate((bytesPerAssociation * copies) / 1e6, store.seconds);
    reports.push(store);

    // ---- echo
    reports.push(
      await phase(o, echoscp, "echo", o.echo, async () => {
        const results = await Promise.all(Array.from({ length: o.echo }, () => echoOnce(echoPort)));
        const ok = results.filter((r) => r.outcome === "success").length;
        const bad = results.find((r) => r.outcome !== "success");
        return {
          succeeded: ok,
          problems: bad ? [`${o.echo - ok} echoes failed (${bad.outcome}: ${bad.diagnosis})`] : [],
        };
      }),
    );

    // ---- churn, against the storescp that took the store phase
    const kinds = Object.keys(MALFORMED);
    const count: Record<string, number> = {};
    const churn = await phase(o, storescp, "churn", o.churn, async () => {
      const failures: string[] = [];
      let good = 0;
      await pool(o.churn, o.parallel, async (i) => {
        if (i % 2 === 1) {
          const r = await echoOnce(storePort, "STORESCP");
          if (r.outcome === "success") good++;
          else failures.push(`good association ${i}: ${r.outcome}: ${r.diagnosis}`);
          return;
        }
        const kind = kinds[(i >> 1) % kinds.length];
        count[kind] = (count[kind] ?? 0) + 1;
        try {
          await MALFORMED[kind](storePort);
        } catch (err) {
          failures.push(`${kind}: ${err instanceof Error ? err.message : err}`);
        }
      });
      const problems = failures.slice(0, 5);
      if (failures.length > 5) problems.push(`... ${failures.length - 5} more failures`);
      if (good !== o.churn >> 1) {
        problems.push(`${(o.churn >> 1) - good} good associations not served`);
      }
      return { succeeded: o.churn - failures.length, problems };
    });
    // Nothing half-written: -od holds exactly the store phase's files, whole.
    churn.problems.push(...(await checkStored(od, digests, copies)).problems);
    churn.kinds = count;
    // Every --json line the servers printed matched its schema.
    for (const scp of [storescp, echoscp]) {
      for (const line of scp.invalidJson.slice(0, 3)) {
        churn.problems.push(`invalid --json line: ${line}`);
      }
    }
    reports.push(churn);
    if (o.attack > 0) reports.push(...(await attackPhases(o, work, paths[0])));
    return reports;
  } finally {
    const codes = await Promise.all([storescp.stop(), echoscp.stop()]);
    if (codes.some((c) => c !== 0)) {
      say(`an SCP exited with ${codes.join(", ")}; stderr:\n${storescp.stderrTail}`);
    }
    await Deno.remove(work, { recursive: true });
  }
}

// ---------------------------------------------------------------------------
// attacks (issue 11)

/** The good client's address twice as often as each of 14 others: per-address and global caps met. */
const ATTACK_SOURCES = [HOST, HOST, ...loopbackSources(14)];

/**
 * One round against `scp`: each crowd of `kinds` in turn; a good visit
 * while it holds its connections (once they are old enough to be told from
 * a newcomer's: 1.2 s) and after it left; `held` gets the most connections
 * each crowd kept open.
 */
async function attackRound(
  o: LoadOptions,
  scp: Scp,
  kinds: AttackKind[],
  client: GoodClient,
  held: Record<string, number>,
): Promise<RoundResult> {
  const problems: string[] = [];
  let succeeded = 0;
  for (const kind of kinds) {
    const crowd = await Crowd.open(kind, {
      port: client.port,
      count: o.attack,
      from: ATTACK_SOURCES,
      calledAeTitle: client.calledAeTitle,
    });
    try {
      await sleep(1200);
      held[kind] = Math.max(held[kind] ?? 0, crowd.open);
      if (!scp.alive) problems.push(`${kind}: the SCP died`);
      const during = await goodVisit(client);
      problems.push(...during.map((p) => `${kind}, during: ${p}`));
      if (during.length === 0) succeeded++;
    } finally {
      crowd.close();
    }
    const after = await goodVisit(client);
    problems.push(...after.map((p) => `${kind}, after: ${p}`));
    if (after.length === 0) succeeded++;
  }
  return { succeeded, problems };
}

/** The attack phases, each against SCPs of their own under `--attack-nofile`. */
async function attackPhases(o: LoadOptions, work: string, file: string): Promise<PhaseReport[]> {
  const od = `${work}/attack-od`;
  await Deno.mkdir(od);
  const pki = await makeTestPki();
  const storescp = new Scp("storescp", ["+uf", "-od", od], o.attackNofile);
  const echoscp = new Scp("echoscp", tlsArgs(pki, pki.server), o.attackNofile);
  try {
    const kinds: AttackKind[] = ["idle", "half-associate", "half-store", "silent-associated"];
    const held: Record<string, number> = {};
    const client = { port: await storescp.port, calledAeTitle: "STORESCP", file };
    const attack = await phase(
      o,
      storescp,
      "attack",
      2 * kinds.length,
      () => attackRound(o, storescp, kinds, client, held),
    );
    attack.held = held;
    for await (const e of Deno.readDir(od)) {
      if (e.name.endsWith(".part")) attack.problems.push(`${e.name}: a partial file was left`);
    }
    const tlsHeld: Record<string, number> = {};
    const tlsClient = {
      port: await echoscp.port,
      calledAeTitle: "ECHOSCP",
      tls: { keyFile: pki.client.key, certFile: pki.client.cert, trustedFiles: [pki.ca] },
    };
    const tls = await phase(
      o,
      echoscp,
      "tls-attack",
      4,
      () => attackRound(o, echoscp, ["tls-stall", "idle"], tlsClient, tlsHeld),
    );
    tls.held = tlsHeld;
    return [attack, tls];
  } finally {
    await Promise.all([storescp.stop(), echoscp.stop()]);
    await Deno.remove(pki.dir, { recursive: true });
  }
}

// ---------------------------------------------------------------------------
// the command line

const mib = (kb: number) => `${(kb / 1024).toFixed(1)} MiB`;

/** The report as a table. */
export function formatReport(reports: PhaseReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    lines.push(
      `${r.phase}: ${r.succeeded}/${r.associations} associations in ${r.seconds.toFixed(1)} s ` +
        `(${r.associationsPerSecond}/s)` +
        (r.files === undefined
          ? ""
          : `, ${r.files} files whole (${r.filesPerSecond} files/s, ${r.mbPerSecond} MB/s)`) +
        `, peak ${r.peakConcurrent} associations held at once`,
      `  SCP RSS ${mib(r.before.rssKb)} before, ${mib(r.peak.hwmKb)} peak, ` +
        `${mib(r.afterFirstRound.rssKb)} after round 1, ${mib(r.after.rssKb)} after; ` +
        `fds ${r.before.fds} before, ${r.peak.fds} peak, ` +
        `${r.after.fds} after (back in ${(r.settleMs / 1000).toFixed(1)} s)`,
    );
    if (r.kinds) {
      lines.push(`  malformed: ${Object.entries(r.kinds).map(([k, n]) => `${k} ${n}`).join(", ")}`);
    }
    if (r.held) {
      lines.push(
        `  most connections of each crowd the SCP kept open: ` +
          Object.entries(r.held).map(([k, n]) => `${k} ${n}`).join(", "),
      );
    }
    lines.push(r.problems.length === 0 ? "  OK" : `  PROBLEMS:\n    ${r.problems.join("\n    ")}`);
  }
  return lines.join("\n");
}

export function parseArgs(args: string[]): { o: LoadOptions; json: boolean } {
  const o = { ...DEFAULT_LOAD, progress: (line: string) => console.error(`load: ${line}`) };
  let json = false;
  const names: Record<string, keyof LoadOptions> = {
    "--associations": "associations",
    "--files": "files",
    "--size": "size",
    "--echo": "echo",
    "--churn": "churn",
    "--parallel": "parallel",
    "--attack": "attack",
    "--attack-nofile": "attackNofile",
    "--rounds": "rounds",
    "--mem-tolerance": "memToleranceMb",
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--json") {
      json = true;
      continue;
    }
    const value = Number(args[++i]);
    if (!Number.isInteger(value) || value < 0) {
      throw new Error(`${a}: a whole number is needed, not '${args[i]}'`);
    }
    if (a === "--idle") o.idleMs = value * 1000;
    else if (names[a]) (o as Record<string, unknown>)[names[a]] = value;
    else throw new Error(`unknown option ${a}`);
  }
  return { o, json };
}
