/**
 * Crowds of hostile connections, for the resource tests (issue 11) and
 * `deno task load`: many sockets opened through node:net, so that each may
 * come from a loopback source address of its own (127.0.0.2, 127.0.0.3...:
 * Linux routes all of 127.0.0.0/8 to the loopback), and each doing one
 * thing that costs a server a connection while the attacker spends nothing:
 *
 * - "idle": connects and sends nothing;
 * - "half-associate": sends the first half of an A-ASSOCIATE-RQ;
 * - "tls-stall": sends the start of a TLS ClientHello (a TLS port's handshake stalls);
 * - "half-store": gets an association accepted, sends a C-STORE-RQ and the
 *   first fragment of its data set, then nothing (the server holds a socket
 *   and a `.part` file);
 * - "silent-associated": gets an association accepted, then sends nothing.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import * as net from "node:net";
import { runEchoScu } from "../lib/cli/echoscu/engine.ts";
import { buildAssociateRq } from "../lib/ae/negotiation.ts";
import type { ScuOptions } from "../lib/cli/common/scu.ts";
import { runStoreScu, storeScuDefaults } from "../lib/cli/storescu/engine.ts";
import { encodePdu } from "../lib/pdu/codec.ts";
import { connectTls, type TlsSettings } from "../lib/transport/tls.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN, VERIFICATION_SOP_CLASS } from "../lib/dicom/uids.ts";
import { cStoreRq, MR, pdata, tlsClientHelloStart } from "./bad_peer.ts";
import { echoScuOptions } from "./echo_peers.ts";

/** What each connection of a crowd does. */
export type AttackKind =
  | "idle"
  | "half-associate"
  | "tls-stall"
  | "half-store"
  | "silent-associated";

/** Where and how a crowd connects. */
export interface CrowdOptions {
  /** The server's port (on 127.0.0.1). */
  port: number;
  /** Connections to open. */
  count: number;
  /** Source addresses, used in turn (default: 127.0.0.2 only). */
  from?: string[];
  /** Connections opening at once (default 50). */
  parallel?: number;
  /** Called AE title of the associating kinds (default ANY-SCP). */
  calledAeTitle?: string;
}

/** `n` loopback source addresses 127.0.0.2, 127.0.0.3, ... */
export function loopbackSources(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `127.0.${(i + 2) >> 8}.${(i + 2) & 0xff}`);
}

/** The A-ASSOCIATE-RQ of the associating kinds: Verification and MR Image Storage. */
function associateRq(calledAeTitle: string): Uint8Array {
  return encodePdu(buildAssociateRq({
    aeTitle: "ATTACKER",
    calledAeTitle,
    maxPdu: 16384,
    presentationContexts: [
      {
        id: 1,
        abstractSyntax: VERIFICATION_SOP_CLASS,
        transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN],
      },
      { id: 3, abstractSyntax: MR, transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN] },
    ],
  }));
}

/** A C-STORE-RQ and the first 16,000 bytes of its data set (not the last fragment). */
function halfStore(n: number): Uint8Array {
  const command = pdata({
    contextId: 3,
    command: true,
    last: true,
    data: cStoreRq(`1.2.826.0.1.3680043.10.1011.${n + 1}`),
  });
  const data = pdata({ contextId: 3, command: false, last: false, data: new Uint8Array(16_000) });
  return new Uint8Array([...command, ...data]);
}

/** One connection of a crowd. */
class Member {
  readonly socket: net.Socket;
  /** The server closed or reset the connection. */
  closedByServer = false;
  #received = new Uint8Array(0);
  #onData: (() => void) | undefined;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (b: Buffer) => {
      const all = new Uint8Array(this.#received.length + b.length);
      all.set(this.#received);
      all.set(b, this.#received.length);
      this.#received = all;
      this.#onData?.();
    });
    const ended = () => {
      this.closedByServer = true;
      this.#onData?.();
    };
    socket.on("end", ended);
    socket.on("error", ended);
    socket.on("close", ended);
  }

  /** Waits (at most `ms`) for one whole PDU; its type, or undefined. */
  async pduType(ms: number): Promise<number | undefined> {
    const end = Date.now() + ms;
    while (Date.now() < end && !this.closedByServer) {
      const r = this.#received;
      if (r.length >= 6 && r.length >= 6 + new DataView(r.buffer).getUint32(2)) return r[0];
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, end - Date.now());
        this.#onData = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#onData = undefined;
    }
    return undefined;
  }

  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.write(Buffer.from(bytes), () => resolve());
    });
  }
}

/** A crowd of hostile connections, open until {@link Crowd.close}. */
export class Crowd {
  readonly members: Member[] = [];
  /** Connections that could not be opened or set up (refused, closed during setup). */
  failed = 0;
  /** Associating kinds: how many got an A-ASSOCIATE-AC. */
  associated = 0;

  private constructor() {}

  /** Opens `o.count` connections of `kind`, `o.parallel` at a time. */
  static async open(kind: AttackKind, o: CrowdOptions): Promise<Crowd> {
    const crowd = new Crowd();
    const from = o.from ?? ["127.0.0.2"];
    const rq = associateRq(o.calledAeTitle ?? "ANY-SCP");
    let next = 0;
    const one = async (i: number) => {
      const member = await connect(o.port, from[i % from.length]);
      if (!member) {
        crowd.failed++;
        return;
      }
      crowd.members.push(member);
      switch (kind) {
        case "idle":
          return;
        case "half-associate":
          return await member.write(rq.subarray(0, rq.length >> 1));
        case "tls-stall":
          return await member.write(tlsClientHelloStart());
        case "half-store":
        case "silent-associated": {
          await member.write(rq);
          const type = await member.pduType(10_000);
          if (type !== 0x02) {
            crowd.failed++;
            return;
          }
          crowd.associated++;
          if (kind === "half-store") await member.write(halfStore(i));
        }
      }
    };
    const worker = async () => {
      while (next < o.count) await one(next++);
    };
    await Promise.all(Array.from({ length: Math.min(o.parallel ?? 50, o.count) }, worker));
    return crowd;
  }

  /** Connections the server has closed so far. */
  get closedByServer(): number {
    return this.members.filter((m) => m.closedByServer).length;
  }

  /** Connections still open. */
  get open(): number {
    return this.members.length - this.closedByServer;
  }

  /** Closes every connection (the attacker goes away). */
  close(): void {
    for (const m of this.members) m.socket.destroy();
  }
}

/** Connects from `localAddress`; undefined when the connection failed. */
function connect(port: number, localAddress: string): Promise<Member | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    const fail = () => {
      socket.destroy();
      resolve(undefined);
    };
    const timer = setTimeout(fail, 10_000);
    socket.once("error", () => {
      clearTimeout(timer);
      fail();
    });
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(new Member(socket));
    });
  });
}

// ---------------------------------------------------------------------------
// the good client, and the server's descriptors

/** How a good client reaches the server under attack. */
export interface GoodClient {
  /** The server's port (on 127.0.0.1). */
  port: number;
  /** Called AE title. */
  calledAeTitle: string;
  /** A small DICOM file to store; no store when absent (echoscp). */
  file?: string;
  /** TLS settings when the port speaks TLS. */
  tls?: TlsSettings;
}

/**
 * One visit of a good client: a C-ECHO, then a C-STORE of `file`, each on
 * its own association from 127.0.0.1, each step (connect and TLS handshake,
 * association, response) allowed one second, and the whole visit too. The
 * problems found; none when it was served.
 */
export async function goodVisit(c: GoodClient): Promise<string[]> {
  const connect = c.tls
    ? (o: ScuOptions) => connectTls(o.host, o.port, c.tls!, { timeoutMs: 1000, family: "ipv4" })
    : undefined;
  const o = echoScuOptions(c.port, {
    calledAeTitle: c.calledAeTitle,
    callingAeTitle: "GOODPEER",
    connectTimeoutMs: 1000,
    acseTimeoutMs: 1000,
    dimseTimeoutMs: 1000,
    connect,
  });
  const problems: string[] = [];
  const t0 = performance.now();
  const echo = await runEchoScu(o);
  if (echo.outcome !== "success") problems.push(`echo: ${echo.outcome}: ${echo.diagnosis}`);
  if (c.file) {
    const store = await runStoreScu({ ...o, ...storeScuDefaults(), files: [c.file] });
    if (store.outcome !== "success") problems.push(`store: ${store.outcome}: ${store.diagnosis}`);
  }
  const ms = performance.now() - t0;
  if (ms >= 1000) problems.push(`served in ${ms.toFixed(0)} ms`);
  return problems;
}

/** Open descriptors of process `pid` (Linux; through `sh`, as Deno reads /proc/<pid> only with -A). */
export async function openDescriptors(pid: number): Promise<number> {
  const out = await new Deno.Command("sh", {
    args: ["-c", 'ls "/proc/$0/fd" | wc -l', String(pid)],
    stdout: "piped",
    stderr: "null",
  }).output();
  return Number(new TextDecoder().decode(out.stdout).trim());
}

/** Waits (at most `ms`) until `pid` has at most `count` descriptors open; the count then. */
export async function descriptorsBackTo(pid: number, count: number, ms = 10_000): Promise<number> {
  const end = Date.now() + ms;
  for (;;) {
    const n = await openDescriptors(pid);
    if (n <= count || Date.now() > end) return n;
    await new Promise((r) => setTimeout(r, 100));
  }
}
