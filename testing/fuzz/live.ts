/**
 * Live fuzz targets: an in-process DicomServer set up as echoscp or as
 * storescp (temporary -od) with short timeouts, fed mutated association
 * byte streams over real TCP connections, several at once. Invariants:
 * every connection ends within the timeouts; the server neither lets an
 * exception escape a handler (its "Association with ... failed" line) nor
 * leaves an unhandled rejection; after each batch no association is left,
 * memory stays bounded, the output directory holds only complete files,
 * and a good association still succeeds (docs/SECURITY_CLASSES.md #5, #8, #11).
 *
 * @module
 */

import { toolServerOptions } from "../../lib/cli/common/server_lines.ts";
import { decodeFileMeta } from "../../lib/dicom/part10.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import { type Appender, createLogger } from "../../lib/log/logger.ts";
import { echoHandler, verificationPolicy } from "../../lib/cli/echoscp/echo_handler.ts";
import { runEchoScu } from "../../lib/cli/echoscu/engine.ts";
import { DicomServer } from "../../lib/ae/server.ts";
import {
  storagePolicy,
  storeHandler,
  storeScpTransferSyntaxes,
} from "../../lib/cli/storescp/store_handler.ts";
import {
  PDU_INSERTS,
  pduLengthFields,
  sessionCorpus,
  SOP_INSTANCE,
  storeSession,
} from "./corpus.ts";
import { echoScuOptions } from "../echo_peers.ts";
import { mutate, type Structure } from "./mutate.ts";
import { type Rng, sfc32 } from "./prng.ts";
import { Finding, type Target } from "./targets.ts";

const HOST = "127.0.0.1";

/** -ta, -td and -ts of the servers: short, so that a stalled input ends soon. */
export const LIVE_TIMEOUTS = { acseMs: 1000, dimseMs: 2000, socketMs: 2000 } as const;

/**
 * How long a connection may stay open: ARTIM while associating, the longer
 * of the DIMSE and socket timeouts once associated, ARTIM again in Sta13
 * after our A-ABORT, and slack for a loaded machine.
 */
const CONNECTION_BOUND_MS = 2 * LIVE_TIMEOUTS.acseMs +
  Math.max(LIVE_TIMEOUTS.dimseMs, LIVE_TIMEOUTS.socketMs) + 4000;

/** Growth of the resident set over what it was before the first input that counts as unbounded. */
const MAX_RSS_GROWTH = 256 * 1024 * 1024;

const STRUCTURE: Structure = {
  lengthFields: pduLengthFields,
  littleEndian: false,
  inserts: PDU_INSERTS,
};

/** Memory seen by a live target, for the report. */
export interface LiveMemory {
  baselineRss: number;
  peakRss: number;
  lastHeapUsed: number;
}

/** What the server sends on one connection, read until it closes. */
class Reply {
  readonly #got: Uint8Array[] = [];
  #wake: () => void = () => {};
  /** Resolves "closed" when the server closed, "timeout" past the bound. */
  readonly done: Promise<"closed" | "timeout">;
  #closed = false;

  constructor(conn: Deno.Conn, boundMs: number) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) =>
      timer = setTimeout(() => resolve("timeout"), boundMs)
    );
    const reading = (async () => {
      const buf = new Uint8Array(16 * 1024);
      for (;;) {
        const n = await conn.read(buf).catch(() => null);
        if (n === null) break;
        // Only the first PDU types are looked at: keep a bounded amount.
        if (this.#got.length < 64) this.#got.push(buf.slice(0, n));
        this.#wake();
      }
      this.#closed = true;
      this.#wake();
      return "closed" as const;
    })();
    this.done = Promise.race([reading, timeout]).finally(() => clearTimeout(timer));
  }

  /** Waits until `ready()` holds for the bytes so far or the server closed (true), or `ms` passed (false). */
  async until(ready: (bytes: Uint8Array) => boolean, ms: number): Promise<boolean> {
    const deadline = performance.now() + ms;
    for (;;) {
      if (this.#closed || ready(this.bytes)) return true;
      if (performance.now() >= deadline) return false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, deadline - performance.now());
      });
      clearTimeout(timer);
      this.#wake = () => {};
    }
  }

  get bytes(): Uint8Array {
    return concatBytes(this.#got);
  }
}

/** True when `reply` holds a PDU of type `type` at a PDU boundary. */
function hasPdu(reply: Uint8Array, type: number): boolean {
  const v = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  for (let at = 0; at + 6 <= reply.length; at += 6 + v.getUint32(at + 2)) {
    if (reply[at] === type) return true;
  }
  return false;
}

/** Where the first PDU of `input` ends by its PDU-length, if within it. */
function firstPduEnd(input: Uint8Array): number {
  if (input.length < 6) return input.length;
  const end = 6 + new DataView(input.buffer, input.byteOffset).getUint32(2);
  return Math.min(end, input.length);
}

/** Writes `bytes` in random pieces; false if the server closed on us. */
async function writePieces(conn: Deno.Conn, bytes: Uint8Array, rng: Rng): Promise<boolean> {
  try {
    for (let at = 0; at < bytes.length;) {
      const n = 1 + rng.below(rng.chance(0.3) ? 8 : 8192);
      const piece = bytes.subarray(at, at + n);
      for (let done = 0; done < piece.length;) done += await conn.write(piece.subarray(done));
      at += n;
    }
    return true;
  } catch {
    // Reset or broken pipe: what the server does with bad input.
    return false;
  }
}

/** PDUs after which a requestor has nothing more to wait for: A-ASSOCIATE-RJ, A-RELEASE-RP, A-ABORT. */
const FINAL_PDUS = [0x03, 0x06, 0x07];

/**
 * How a session ends on our side: close once the server sent a final PDU
 * (as a requestor does), half-close as soon as everything is written (the
 * end of the stream reaches the server in whatever state it is), or leave
 * the connection open (the server's timers must end it).
 */
type Ending = "after-reply" | "half-close" | "stay-open";

/**
 * Plays `input` as a requestor would: the first PDU (the A-ASSOCIATE-RQ),
 * then, once the server has answered, the rest (PS3.8 allows nothing before
 * the A-ASSOCIATE-AC). The reply, or a Finding if the connection outlives
 * the bound.
 */
async function session(
  port: number,
  input: Uint8Array,
  rng: Rng,
  ending: Ending,
  onPort?: (p: number) => void,
): Promise<Uint8Array> {
  const conn = await Deno.connect({ hostname: HOST, port });
  onPort?.((conn.localAddr as Deno.NetAddr).port);
  const began = performance.now();
  const reply = new Reply(conn, CONNECTION_BOUND_MS);
  const first = firstPduEnd(input);
  if (await writePieces(conn, input.subarray(0, first), rng)) {
    await reply.until((b) => b.length > 0, 2 * LIVE_TIMEOUTS.acseMs);
    if (await writePieces(conn, input.subarray(first), rng) && ending === "half-close") {
      await conn.closeWrite().catch(() => {});
    }
  }
  let how: "closed" | "timeout" = "closed";
  if (ending === "after-reply") {
    if (!await reply.until((b) => FINAL_PDUS.some((t) => hasPdu(b, t)), CONNECTION_BOUND_MS)) {
      how = "timeout";
    }
    conn.close();
  }
  if (await reply.done === "timeout") how = "timeout";
  try {
    conn.close();
  } catch {
    // Already closed.
  }
  if (how === "timeout") {
    throw new Finding(
      `connection neither ended nor answered ${
        Math.round(performance.now() - began)
      } ms after connecting ` +
        `(bound ${CONNECTION_BOUND_MS} ms, ${ending})`,
    );
  }
  return reply.bytes;
}

/** Everything below `dir`, as paths relative to it. */
async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${dir}/${prefix}`)) {
    if (e.isDirectory) out.push(...await listFiles(dir, `${prefix}${e.name}/`));
    else out.push(`${prefix}${e.name}`);
  }
  return out;
}

/** A live target against echoscp or storescp. */
export function liveTarget(kind: "echoscp" | "storescp"): Target & { memory: LiveMemory } {
  const aeTitle = kind === "echoscp" ? "ECHOSCP" : "STORESCP";
  const corpus = sessionCorpus(aeTitle);
  const goodStore = storeSession(aeTitle, 5, 4096);
  let server: DicomServer | undefined;
  let od = "";
  /** Server log lines of exceptions a handler let escape, by the peer port they name. */
  const escaped = new Map<number, string>();
  const unhandled: string[] = [];
  const memory: LiveMemory = { baselineRss: 0, peakRss: 0, lastHeapUsed: 0 };
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    unhandled.push(`unhandled rejection: ${e.reason instanceof Error ? e.reason.stack : e.reason}`);
  };
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    unhandled.push(`uncaught exception: ${e.error instanceof Error ? e.error.stack : e.message}`);
  };
  // Only the line of the server's last-resort catch is kept (lib/net/server.ts #serve).
  const watcher: Appender = {
    append(r) {
      const m = /^Association with [^ ]*:(\d+) failed: (.*)/.exec(r.message);
      if (m) escaped.set(Number(m[1]), m[2]);
    },
  };
  const port = () => server!.local.port;

  return {
    name: kind,
    description: `mutated association streams to an in-process ${kind} over TCP, 16 at once`,
    concurrency: 16,
    batch: 64,
    memory,
    generate: (rng) => mutate(rng.pick(corpus), rng, STRUCTURE, () => rng.pick(corpus)),
    async run(input, rng) {
      let peerPort = 0;
      const ending = rng.pick<Ending>(["after-reply", "after-reply", "half-close", "stay-open"]);
      const reply = await session(port(), input, rng, ending, (p) => peerPort = p);
      const failure = escaped.get(peerPort);
      escaped.delete(peerPort);
      if (failure !== undefined) throw new Finding(`exception escaped to the server: ${failure}`);
      // An A-RELEASE-RP means the association ran to its end.
      return hasPdu(reply, 0x06) ? "decoded" : "rejected";
    },
    async setup() {
      globalThis.addEventListener("unhandledrejection", onRejection);
      globalThis.addEventListener("error", onError);
      od = await Deno.makeTempDir({ prefix: `dimse_fuzz_${kind}_` });
      memory.baselineRss = Deno.memoryUsage().rss;
      const logger = createLogger({ level: "info", appenders: [watcher] });
      const common = {
        hostname: HOST,
        port: 0,
        logger,
        acseTimeoutMs: LIVE_TIMEOUTS.acseMs,
        dimseTimeoutMs: LIVE_TIMEOUTS.dimseMs,
        socketTimeoutMs: LIVE_TIMEOUTS.socketMs,
      };
      server = kind === "echoscp"
        ? DicomServer.start({
          ...common,
          ...toolServerOptions("pynetdicom", logger),
          policy: verificationPolicy({ aeTitle, maxPdu: 16384, preference: "uncompressed" }),
          handlers: { "C-ECHO-RQ": echoHandler },
        })
        : DicomServer.start({
          ...common,
          ...toolServerOptions("dcmtk", logger),
          policy: storagePolicy({
            aeTitle,
            maxPdu: 16384,
            transferSyntaxes: storeScpTransferSyntaxes("all"),
          }),
          handlers: {
            "C-ECHO-RQ": echoHandler,
            "C-STORE-RQ": storeHandler({ outputDirectory: od }),
          },
        });
    },
    async afterBatch() {
      // Every association of the batch ends within the bound (client sockets are closed by now).
      const until = performance.now() + CONNECTION_BOUND_MS;
      while (server!.activeAssociations > 0 && performance.now() < until) {
        await new Promise((r) => setTimeout(r, 20));
      }
      if (server!.activeAssociations > 0) {
        throw new Finding(`${server!.activeAssociations} associations still open after the batch`);
      }
      if (unhandled.length > 0) throw new Finding(unhandled.splice(0).join("\n"));
      for (const [p, m] of escaped) {
        throw new Finding(`exception escaped to the server (peer port ${p}): ${m}`);
      }
      await checkOutputDirectory();
      await checkGoodAssociation();
      const { rss, heapUsed } = Deno.memoryUsage();
      memory.lastHeapUsed = heapUsed;
      memory.peakRss = Math.max(memory.peakRss, rss);
      if (rss > memory.baselineRss + MAX_RSS_GROWTH) {
        throw new Finding(`resident memory grew from ${memory.baselineRss} to ${rss} bytes`);
      }
    },
    async teardown() {
      await server?.stop();
      server = undefined;
      globalThis.removeEventListener("unhandledrejection", onRejection);
      globalThis.removeEventListener("error", onError);
      await Deno.remove(od, { recursive: true }).catch(() => {});
    },
  };

  /** Only complete files: no .part left, each with its meta information; then emptied. */
  async function checkOutputDirectory(): Promise<void> {
    for (const name of await listFiles(od)) {
      const path = `${od}/${name}`;
      if (name.endsWith(".part")) throw new Finding(`${name} left in the output directory`);
      const bytes = await Deno.readFile(path);
      try {
        decodeFileMeta(bytes, name);
      } catch (e) {
        throw new Finding(`incomplete file stored: ${(e as Error).message}`);
      }
      await Deno.remove(path);
    }
  }

  /** A good C-ECHO (and for storescp a good C-STORE) association still succeeds. */
  async function checkGoodAssociation(): Promise<void> {
    const echo = await runEchoScu(
      echoScuOptions(port(), { callingAeTitle: "GOOD", calledAeTitle: aeTitle }),
    );
    if (echo.outcome !== "success") {
      throw new Finding(`good echo failed after the batch: ${echo.outcome}`);
    }
    if (kind !== "storescp") return;
    const reply = await session(port(), goodStore, sfc32(1, 2, 3, 4), "after-reply");
    const stored = (await listFiles(od)).includes(`MR.${SOP_INSTANCE}`);
    if (!hasPdu(reply, 0x06) || !stored) {
      throw new Finding("good C-STORE association failed after the batch");
    }
    await Deno.remove(`${od}/MR.${SOP_INSTANCE}`);
  }
}
