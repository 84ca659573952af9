/**
 * Test helpers for the bad-input class tests (tests/security_*.test.ts): our
 * storescp/echoscp server in process (one DicomServer answering C-ECHO and
 * C-STORE, storing below a temporary directory, its log in memory), a raw
 * peer that writes whatever bytes a test makes and reads PDUs back with
 * bounded waits, hand-built command and data sets, and "the next good peer
 * is served".
 *
 * @module
 */
import { loadServerDumps, toolServerOptions } from "../lib/cli/common/server_lines.ts";
import assert from "node:assert/strict";
import { type CStoreRq, PRIORITY } from "../lib/dimse/messages.ts";
import { type CommandSet, decodeCommandSet, encodeCommandSet } from "../lib/dimse/command.ts";
import { messageToCommandSet } from "../lib/dimse/messages.ts";
import { createMemoryLogger, type MemoryLogger } from "../lib/log/logger.ts";
import { echoHandler } from "../lib/cli/echoscp/echo_handler.ts";
import { runEchoScu } from "../lib/cli/echoscu/engine.ts";
import { buildAssociateRq } from "../lib/ae/negotiation.ts";
import { DicomServer, type ServerEvent } from "../lib/ae/server.ts";
import {
  storagePolicy,
  type StoreEvent,
  storeHandler,
  type StoreScpOptions,
  storeScpTransferSyntaxes,
} from "../lib/cli/storescp/store_handler.ts";
import { concatBytes } from "../lib/util/bytes.ts";
import { encodePdu } from "../lib/pdu/codec.ts";
import { PduReader } from "../lib/pdu/reader.ts";
import type { AssociateAcPdu, Pdu } from "../lib/pdu/types.ts";
import { connectTcp } from "../lib/transport/tcp.ts";
import type { Transport, TransportListener } from "../lib/transport/transport.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN, VERIFICATION_SOP_CLASS } from "../lib/dicom/uids.ts";
import { echoScuOptions } from "./echo_peers.ts";
import { listDir } from "./temp_files.ts";

/** The loopback address every test uses. */
export const HOST = "127.0.0.1";
/** MR Image Storage. */
export const MR = "1.2.840.10008.5.1.4.1.1.4";

// ---------------------------------------------------------------------------
// the server under test

/** A running in-process storescp/echoscp and what it has said. */
export interface ScpUnderTest {
  server: DicomServer;
  port: number;
  /** A temporary directory holding `od` (unless given): whatever escapes -od lands here. */
  root: string;
  /** The output directory (-od). */
  od: string;
  /** Server and store events, in order. */
  events: (ServerEvent | StoreEvent)[];
  log: MemoryLogger;
  /** Number of log lines so far: a mark for {@link ScpUnderTest.linesSince}. */
  mark(): number;
  /** Log lines written since `mark`. */
  linesSince(mark: number): string[];
  /** The UL transitions logged so far, "T: Sta6 + Evt17 (...) -> AA-4 -> Sta1" (log level trace). */
  transitions(): string[];
  /** Every file below `root`, relative to it (so `od/...` for stored files). */
  files(): Promise<string[]>;
  /** Stops the server and removes `root`. */
  stop(): Promise<void>;
}

/** How to start the server under test. */
export interface ScpSetup {
  /** Store handler options beyond the output directory. */
  store?: Partial<StoreScpOptions>;
  /** Our maximum length received (default 16384). */
  maxPdu?: number;
  /** -ta (default 2 s: bad peers are cut off quickly). */
  acseTimeoutMs?: number;
  /** -td (default 5 s). */
  dimseTimeoutMs?: number;
  /** -ts (default none). */
  socketTimeoutMs?: number;
  /** -pm: accept unknown SOP classes too. */
  promiscuous?: boolean;
  /** An output directory of the test's own (a tmpfs) instead of `<root>/od`; left in place. */
  od?: string;
  /** A listener other than plain TCP (TLS). */
  listen?: (hostname: string, port: number) => TransportListener;
  /** Log threshold (default info, as storescp -v; trace adds the UL transitions). */
  logLevel?: "info" | "debug" | "trace";
  /** --async: the asynchronous operations window granted (default none). */
  asyncWindow?: number;
}

/** Starts storescp's handlers (and C-ECHO) in process on an ephemeral loopback port. */
export async function startScp(setup: ScpSetup = {}): Promise<ScpUnderTest> {
  const root = await Deno.makeTempDir({ prefix: "dimse_security_" });
  const od = setup.od ?? `${root}/od`;
  if (!setup.od) await Deno.mkdir(od);
  const events: (ServerEvent | StoreEvent)[] = [];
  const log = createMemoryLogger({ level: setup.logLevel ?? "info" });
  const server = DicomServer.start({
    hostname: HOST,
    port: 0,
    logger: log,
    ...toolServerOptions("dcmtk", log, {}, await loadServerDumps("dcmtk", log)),
    policy: storagePolicy({
      aeTitle: "STORESCP",
      maxPdu: setup.maxPdu ?? 16384,
      transferSyntaxes: storeScpTransferSyntaxes("all"),
      promiscuous: setup.promiscuous,
      maxOperationsPerformed: setup.asyncWindow,
    }),
    handlers: {
      "C-ECHO-RQ": echoHandler,
      "C-STORE-RQ": storeHandler({
        outputDirectory: od,
        onStore: (e) => events.push(e),
        ...setup.store,
      }),
    },
    acseTimeoutMs: setup.acseTimeoutMs ?? 2000,
    dimseTimeoutMs: setup.dimseTimeoutMs ?? 5000,
    socketTimeoutMs: setup.socketTimeoutMs,
    onEvent: (e) => events.push(e),
    listen: setup.listen,
  });
  return {
    server,
    port: server.local.port,
    root,
    od,
    events,
    log,
    mark: () => log.sink.lines.length,
    linesSince: (mark) => log.sink.lines.slice(mark),
    transitions: () => log.sink.lines.filter((l) => /^T: Sta\d+ \+ Evt\d+/.test(l)),
    files: () => listDir(root, true),
    async stop() {
      await server.stop();
      await Deno.remove(root, { recursive: true });
    },
  };
}

/** Runs `fn` against a fresh server, always stopping it. */
export async function withScp(
  setup: ScpSetup,
  fn: (scp: ScpUnderTest) => Promise<void>,
): Promise<void> {
  const scp = await startScp(setup);
  try {
    await fn(scp);
  } finally {
    await scp.stop();
  }
}

/** Waits (bounded) until `pred` holds. */
export async function until(
  pred: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Counts the server events of one kind. */
export function countEvents(scp: ScpUnderTest, kind: string): number {
  return scp.events.filter((e) => e.event === kind).length;
}

/**
 * The outcome every bad input must leave: the server still serves a good
 * peer (our echo SCU: associate, C-ECHO, release), and that good peer adds
 * no error line.
 */
export async function assertNextServed(scp: ScpUnderTest, what: string): Promise<void> {
  const released = countEvents(scp, "association-released");
  const mark = scp.mark();
  const r = await runEchoScu(
    echoScuOptions(scp.port, { callingAeTitle: "GOODPEER", calledAeTitle: "STORESCP" }),
  );
  assert.equal(r.outcome, "success", `${what}: next good peer: ${JSON.stringify(r)}`);
  await until(() => countEvents(scp, "association-released") > released, `${what}: release`);
  const errors = scp.linesSince(mark).filter((l) => /^[WEF]: /.test(l));
  assert.deepEqual(errors, [], `${what}: the good peer logged no error`);
}

// ---------------------------------------------------------------------------
// a raw peer

/** What a bounded read ended with. */
export type ReadOutcome = Pdu | "closed" | "timeout";

/**
 * One connection under the test's full control: any bytes out, PDUs in
 * (any length accepted, so that what the server sends is seen as sent).
 */
export class RawPeer {
  readonly transport: Transport;
  readonly #reader = new PduReader({ maxPDataLength: 0xffffffff });
  /** What the pending read fills; its bytes are copied out before the next read. */
  readonly #buf = new Uint8Array(64 * 1024);
  #pending: Promise<number | null> | undefined;
  #closed = false;
  /** Every PDU received, with its wire length (header included). */
  readonly received: { pdu: Pdu; length: number }[] = [];

  constructor(transport: Transport) {
    this.transport = transport;
  }

  /** Connects over plain TCP. */
  static async connect(port: number): Promise<RawPeer> {
    return new RawPeer(await connectTcp({ host: HOST, port, family: "ipv4" }));
  }

  /** Writes; false when the server has already closed or reset the connection. */
  async write(bytes: Uint8Array): Promise<boolean> {
    // Nothing to send (a cut at a PDU's end): node:tls never confirms an empty write.
    if (bytes.length === 0) return true;
    try {
      await this.transport.write(bytes);
      return true;
    } catch {
      return false;
    }
  }

  /** Writes `bytes` in pieces cut at `cuts` (offsets), one write each. */
  async writeSplit(bytes: Uint8Array, cuts: number[]): Promise<boolean> {
    let from = 0;
    for (const cut of [...cuts, bytes.length]) {
      if (cut > from && !(await this.write(bytes.subarray(from, cut)))) return false;
      from = Math.max(from, cut);
    }
    return true;
  }

  /** The next PDU, "closed" when the server closed first, "timeout" after `ms`. */
  async next(ms = 5000): Promise<ReadOutcome> {
    const end = Date.now() + ms;
    for (;;) {
      const item = this.#reader.next();
      if (item) {
        this.received.push({ pdu: item.pdu, length: item.raw.length });
        return item.pdu;
      }
      if (this.#closed) return "closed";
      // A read that outlives a timeout stays pending for the next call: one read at a time.
      this.#pending ??= this.transport.readInto(this.#buf).catch(() => null);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        this.#pending,
        new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), end - Date.now())),
      ]).finally(() => clearTimeout(timer));
      if (n === "timeout") return "timeout";
      this.#pending = undefined;
      if (n === null) {
        this.#closed = true;
        continue;
      }
      this.#reader.push(this.#buf.slice(0, n));
    }
  }

  /** The next PDU, which must be of `type`. */
  async expect<T extends Pdu["type"]>(type: T, ms = 5000): Promise<Extract<Pdu, { type: T }>> {
    const got = await this.next(ms);
    assert.ok(typeof got === "object" && got.type === type, `expected ${type}, got ${show(got)}`);
    return got as Extract<Pdu, { type: T }>;
  }

  /**
   * What the server does after bad input: an A-ABORT, then it closes (we
   * close on receipt, as a peer in Sta13 would). Returns the A-ABORT, or
   * "closed" when it closed without one. P-DATA-TF before it are skipped.
   */
  async abortOrClose(ms = 5000): Promise<Pdu | "closed"> {
    for (;;) {
      const got = await this.next(ms);
      assert.notEqual(got, "timeout", "the server neither aborted nor closed");
      if (got === "closed" || got === "timeout") return "closed";
      if (got.type === "P-DATA-TF") continue;
      this.close();
      return got;
    }
  }

  /**
   * The next DIMSE response: the command set of the P-DATA-TF PDVs that
   * follow (all on one context), or the PDU that came instead (an A-ABORT)
   * or "closed".
   */
  async response(ms = 10_000): Promise<{ contextId: number; command: CommandSet } | ReadOutcome> {
    const parts: Uint8Array[] = [];
    for (;;) {
      const got = await this.next(ms);
      if (typeof got !== "object" || got.type !== "P-DATA-TF") return got;
      for (const pdv of got.pdvs) {
        assert.ok(pdv.isCommand, "a response carries no data set");
        parts.push(pdv.data);
        if (pdv.isLast) {
          return { contextId: pdv.contextId, command: decodeCommandSet(concatBytes(parts)) };
        }
      }
    }
  }

  /** Releases the association (A-RELEASE-RQ, then the A-RELEASE-RP) and closes. */
  async release(): Promise<void> {
    await this.write(encodePdu({ type: "A-RELEASE-RQ" }));
    await this.expect("A-RELEASE-RP");
    this.close();
  }

  close(): void {
    this.transport.close();
  }
}

/** A PDU or read outcome, short, for assertion messages. */
export function show(x: ReadOutcome): string {
  return typeof x === "string"
    ? x
    : JSON.stringify(x, (_, v) => v instanceof Uint8Array ? `<${v.length} bytes>` : v);
}

/** Asserts an A-ABORT with this source and reason (PS3.8 9.3.8, Table 9-26). */
export function assertAbort(got: unknown, source: number, reason: number, what: string): void {
  assert.deepEqual(got, { type: "A-ABORT", source, reason }, `${what}: ${JSON.stringify(got)}`);
}

/** An A-ASSOCIATE-RQ from a raw peer: one context per (abstract syntax, transfer syntax). */
export function associateRqBytes(o: {
  contexts?: [abstractSyntax: string, ts: string][];
  maxPdu?: number;
  callingAeTitle?: string;
  calledAeTitle?: string;
} = {}): Uint8Array {
  const contexts = o.contexts ?? [[VERIFICATION_SOP_CLASS, EXPLICIT_VR_LITTLE_ENDIAN]];
  return encodePdu(buildAssociateRq({
    aeTitle: o.callingAeTitle ?? "RAWPEER",
    calledAeTitle: o.calledAeTitle ?? "STORESCP",
    maxPdu: o.maxPdu ?? 16384,
    presentationContexts: contexts.map(([abstractSyntax, ts], i) => ({
      id: 2 * i + 1,
      abstractSyntax,
      transferSyntaxes: [ts],
    })),
  }));
}

/** Connects and gets an association accepted: the peer and the A-ASSOCIATE-AC. */
export async function associated(
  port: number,
  o: Parameters<typeof associateRqBytes>[0] = {},
): Promise<{ peer: RawPeer; ac: AssociateAcPdu }> {
  const peer = await RawPeer.connect(port);
  await peer.write(associateRqBytes(o));
  const ac = await peer.expect("A-ASSOCIATE-AC");
  return { peer, ac };
}

// ---------------------------------------------------------------------------
// PDUs, command sets and data sets built by hand

/** A P-DATA-TF of the given PDVs (PS3.8 9.3.5), encoded by hand so that anything goes. */
export function pdata(
  ...pdvs: { contextId: number; command: boolean; last: boolean; data: Uint8Array }[]
): Uint8Array {
  const length = pdvs.reduce((n, p) => n + 6 + p.data.length, 0);
  const out = new Uint8Array(6 + length);
  const view = new DataView(out.buffer);
  out[0] = 0x04;
  view.setUint32(2, length);
  let off = 6;
  for (const p of pdvs) {
    view.setUint32(off, 2 + p.data.length);
    out[off + 4] = p.contextId;
    out[off + 5] = (p.command ? 1 : 0) | (p.last ? 2 : 0);
    out.set(p.data, off + 6);
    off += 6 + p.data.length;
  }
  return out;
}

/**
 * The start of a TLS ClientHello: record header (handshake, record version
 * TLS 1.0), handshake header, client version TLS 1.2 and 32 random bytes
 * (RFC 8446 5.1, 4.1.2), what a TLS client sends a port without TLS.
 */
export function tlsClientHelloStart(): Uint8Array {
  const head = [0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03];
  return new Uint8Array([...head, ...crypto.getRandomValues(new Uint8Array(32))]);
}

/** A whole command set PDV, last fragment. */
export function commandPdv(contextId: number, data: Uint8Array) {
  return { contextId, command: true, last: true, data };
}

/** A whole data set PDV, last fragment. */
export function dataPdv(contextId: number, data: Uint8Array, last = true) {
  return { contextId, command: false, last, data };
}

/** ASCII text padded to even length with `pad` (NUL for UI, space for the others). */
export function text(s: string, pad = 0): Uint8Array {
  const bytes = new Uint8Array(s.length + (s.length % 2));
  bytes.fill(pad);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i) & 0xff;
  return bytes;
}

/** Bytes of UTF-8 text (for non-ASCII values), padded to even with NUL. */
export function utf8(s: string): Uint8Array {
  const raw = new TextEncoder().encode(s);
  const out = new Uint8Array(raw.length + (raw.length % 2));
  out.set(raw);
  return out;
}

/** A little-endian uint16 value. */
export function us(n: number): Uint8Array {
  return new Uint8Array([n & 0xff, n >> 8]);
}

/**
 * A command set in implicit VR little endian (PS3.7 6.3.1) with its
 * (0000,0000) group length first, computed unless `groupLength` is given.
 */
export function commandSet(
  elements: [tag: number, value: Uint8Array][],
  groupLength?: number,
): Uint8Array {
  const body = elements.map(([tag, value]) => {
    const out = new Uint8Array(8 + value.length);
    const view = new DataView(out.buffer);
    view.setUint16(0, tag >>> 16, true);
    view.setUint16(2, tag & 0xffff, true);
    view.setUint32(4, value.length, true);
    out.set(value, 8);
    return out;
  });
  const length = body.reduce((n, e) => n + e.length, 0);
  const out = new Uint8Array(12 + length);
  const view = new DataView(out.buffer);
  view.setUint32(4, 4, true);
  view.setUint32(8, groupLength ?? length, true);
  let off = 12;
  for (const e of body) {
    out.set(e, off);
    off += e.length;
  }
  return out;
}

/** The elements of a C-STORE-RQ command set (PS3.7 9.3.1.1), to be altered by a test. */
export function cStoreRqElements(
  sopInstance: Uint8Array,
  o: { sopClass?: string; messageId?: number } = {},
): [number, Uint8Array][] {
  return [
    [0x00000002, text(o.sopClass ?? MR)],
    [0x00000100, us(0x0001)],
    [0x00000110, us(o.messageId ?? 1)],
    [0x00000700, us(PRIORITY.medium)],
    [0x00000800, us(0x0000)],
    [0x00001000, sopInstance],
  ];
}

/** A valid C-STORE-RQ command set, encoded by our codec. */
export function cStoreRq(sopInstance: string, messageId = 1, sopClass = MR): Uint8Array {
  const rq: CStoreRq = {
    type: "C-STORE-RQ",
    messageId,
    affectedSopClassUid: sopClass,
    affectedSopInstanceUid: sopInstance,
    priority: PRIORITY.medium,
  };
  return encodeCommandSet(messageToCommandSet(rq));
}

/** One explicit VR little endian data element (PS3.5 7.1.2). */
export function element(tag: number, vr: string, value: Uint8Array, length?: number): Uint8Array {
  const long = ["OB", "OW", "SQ", "UN", "UT"].includes(vr);
  const out = new Uint8Array((long ? 12 : 8) + value.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, tag >>> 16, true);
  view.setUint16(2, tag & 0xffff, true);
  out[4] = vr.charCodeAt(0);
  out[5] = vr.charCodeAt(1);
  if (long) view.setUint32(8, length ?? value.length, true);
  else view.setUint16(6, length ?? value.length, true);
  out.set(value, long ? 12 : 8);
  return out;
}

/**
 * A small MR data set in explicit VR little endian: SOP class and instance
 * (raw bytes, so that any value can be sent), optionally a study UID;
 * `before` (tags below (0008,0016)), `middle` (between (0008,0060) and
 * (0020,000D)) and `after` (between (0020,000D) and (7FE0,0010)) elements
 * go where their tags belong.
 */
export function mrDataset(o: {
  sopInstance: Uint8Array | string;
  sopClass?: string;
  study?: Uint8Array | string;
  before?: Uint8Array;
  middle?: Uint8Array;
  after?: Uint8Array;
  pixels?: number;
}): Uint8Array {
  const bytes = (v: Uint8Array | string) => typeof v === "string" ? text(v) : v;
  const pixels = new Uint8Array(o.pixels ?? 64);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + 3) & 0xff;
  return concatBytes([
    o.before ?? new Uint8Array(0),
    element(0x00080016, "UI", text(o.sopClass ?? MR)),
    element(0x00080018, "UI", bytes(o.sopInstance)),
    element(0x00080060, "CS", text("MR", 0x20)),
    o.middle ?? new Uint8Array(0),
    ...(o.study === undefined ? [] : [element(0x0020000d, "UI", bytes(o.study))]),
    o.after ?? new Uint8Array(0),
    element(0x7fe00010, "OW", pixels),
  ]);
}
