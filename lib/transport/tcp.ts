/**
 * TCP transport over Deno.connect / Deno.listen (PS3.8 9.1.1: the upper
 * layer runs over TCP; PS3.8 9.1.2 leaves connection setup to the user).
 *
 * @module
 */
import { type MissingPermission, missingPermission } from "../util/permission.ts";
import type { Endpoint, Transport, TransportListener } from "./transport.ts";

/** IP protocol selection, DCMTK's -i4 / -i6 / -i0. */
export type IpFamily = "ipv4" | "ipv6" | "auto";

/** Where and how to connect. */
export interface TcpConnectOptions {
  /** Host name or IP address of the peer. */
  host: string;
  /** TCP port of the peer. */
  port: number;
  /** Address family used to resolve `host`. */
  family: IpFamily;
  /** Connection timeout (DCMTK -to); undefined or 0 = the OS default. */
  timeoutMs?: number;
}

/** Why a connection could not be made, with plain words for the user. */
export class ConnectError extends Error {
  /**
   * Creates the error.
   *
   * @param message plain-words description for the user
   * @param code the kind of failure
   * @param permission for `not-permitted`: the Deno permission the process lacks
   */
  constructor(
    message: string,
    readonly code: "refused" | "timeout" | "unreachable" | "lookup" | "not-permitted" | "other",
    readonly permission?: MissingPermission,
  ) {
    super(message);
    this.name = "ConnectError";
  }
}

function endpointOf(addr: Deno.Addr): Endpoint {
  const a = addr as Deno.NetAddr;
  return { host: a.hostname, port: a.port };
}

/** Wraps one connected Deno.Conn: reads go straight into the caller's memory. */
export class ConnTransport implements Transport {
  #conn: Deno.Conn;
  #closed = false;
  readonly remote: Endpoint;
  readonly local: Endpoint;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.remote = endpointOf(conn.remoteAddr);
    this.local = endpointOf(conn.localAddr);
  }

  /** Reads into `into`; null at the end of the stream, after a reset, or once we closed. */
  readInto(into: Uint8Array): Promise<number | null> {
    if (this.#closed) return Promise.resolve(null);
    // Every message read passes here: the read's own promise, its failures mapped by a
    // callback made once, not an async function (a promise and a turn more per read). Its
    // count needs no mapping: Deno.Conn.read gives 0 only for an empty buffer, which the
    // contract excludes, and null at the end of the stream.
    return this.#conn.read(into).catch(this.#readFailed);
  }

  readonly #readFailed = (err: unknown): null => {
    // A reset or a read on a socket we closed ourselves ends the stream.
    if (this.#closed || isConnectionError(err)) return null;
    throw err;
  };

  write(data: Uint8Array): Promise<void> {
    // Nearly every write is taken whole by the first call: no async function for that.
    if (data.length === 0) return Promise.resolve();
    return this.#conn.write(data).then((n) =>
      n < data.length ? this.#writeRest(data.subarray(n)) : undefined
    );
  }

  async #writeRest(data: Uint8Array): Promise<void> {
    let off = 0;
    while (off < data.length) off += await this.#conn.write(data.subarray(off));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the runtime after a reset: nothing left to release.
    }
  }
}

function isConnectionError(err: unknown): boolean {
  return err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.BrokenPipe ||
    err instanceof Deno.errors.BadResource ||
    err instanceof Deno.errors.Interrupted ||
    err instanceof Deno.errors.ConnectionAborted;
}

async function resolve(host: string, family: IpFamily): Promise<string> {
  // A literal needs no lookup, whatever the family asked for (getaddrinfo, too,
  // returns it as it is); skipping it keeps Deno's Node compatibility layer,
  // some tens of milliseconds of start-up, out of the common `echoscu 10.0.0.5 104`.
  if (isIpLiteral(host)) return host;
  const fam = family === "ipv4" ? 4 : family === "ipv6" ? 6 : 0;
  try {
    // getaddrinfo, so /etc/hosts and the system resolver apply as for DCMTK. Loaded
    // here: a static import starts Deno's Node compatibility layer in every process,
    // some milliseconds that a listening SCP, which resolves nothing, would pay too.
    const { lookup } = await import("node:dns/promises");
    const res = await lookup(host, { family: fam });
    return res.address;
  } catch (err) {
    // Deno refuses name lookups without --allow-net: that, not the name, is the cause.
    const denied = missingPermission(err) ?? await lookupDenied(host);
    if (denied) throw notPermitted(`resolve host name '${host}'`, denied);
    const which = family === "auto" ? "" : ` as ${family === "ipv4" ? "IPv4" : "IPv6"}`;
    throw new ConnectError(`cannot resolve host name '${host}'${which}`, "lookup");
  }
}

/** Whether the lookup failed for want of net permission (node:dns says only EPERM). */
async function lookupDenied(host: string): Promise<MissingPermission | undefined> {
  const { state } = await Deno.permissions.query({ name: "net", host });
  return state === "granted" ? undefined : { name: "net", flag: "--allow-net", target: host };
}

function notPermitted(what: string, p: MissingPermission): ConnectError {
  return new ConnectError(`no permission to ${what} (${p.flag} missing)`, "not-permitted", p);
}

/**
 * A dotted quad: four decimal bytes without leading zeros (as node's `isIPv4`: `010` is no
 * literal). Checked by hand: the regular expression it replaced cost every SCU run its compile
 * on first use (about 12 KB of young heap, at start-up).
 */
function isDottedQuad(text: string): boolean {
  const parts = text.split(".");
  if (parts.length !== 4) return false;
  for (const p of parts) {
    if (p.length === 0 || p.length > 3 || (p.length > 1 && p[0] === "0")) return false;
    for (let i = 0; i < p.length; i++) {
      const c = p.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return false;
    }
    if (Number(p) > 255) return false;
  }
  return true;
}
const HEXTET = /^[0-9A-Fa-f]{1,4}$/;

/**
 * True for an IPv4 dotted quad or an IPv6 address in RFC 4291 2.2 text form
 * (`::` once at most, an embedded dotted quad last); anything else, short
 * forms like `127.1` and zone IDs included, is left to getaddrinfo.
 */
export function isIpLiteral(host: string): boolean {
  if (isDottedQuad(host)) return true;
  const halves = host.split("::");
  if (halves.length > 2) return false;
  if (halves.length === 1) return hextets(host, true) === 8;
  const head = hextets(halves[0], false);
  const tail = hextets(halves[1], true);
  return head !== undefined && tail !== undefined && head + tail <= 7;
}

/** How many 16-bit groups `text` (colon-separated) holds, undefined if malformed. */
function hextets(text: string, last: boolean): number | undefined {
  if (text === "") return 0;
  const parts = text.split(":");
  let n = 0;
  for (let i = 0; i < parts.length; i++) {
    if (last && i === parts.length - 1 && isDottedQuad(parts[i])) n += 2;
    else if (HEXTET.test(parts[i])) n++;
    else return undefined;
  }
  return n;
}

/** Connects with TCP_NODELAY on: without it every DIMSE message waits on delayed ACKs. */
export async function connectTcp(opts: TcpConnectOptions): Promise<Transport> {
  const address = await resolve(opts.host, opts.family);
  const signal = opts.timeoutMs ? AbortSignal.timeout(opts.timeoutMs) : undefined;
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: address, port: opts.port, signal });
  } catch (err) {
    const where = `${opts.host}:${opts.port}`;
    const denied = missingPermission(err);
    if (denied) throw notPermitted(`connect to ${where}`, denied);
    if (signal?.aborted) {
      throw new ConnectError(
        `connection to ${where} timed out after ${opts.timeoutMs! / 1000} s`,
        "timeout",
      );
    }
    if (err instanceof Deno.errors.ConnectionRefused) {
      throw new ConnectError(`connection to ${where} refused`, "refused");
    }
    if (err instanceof Deno.errors.TimedOut) {
      throw new ConnectError(`connection to ${where} timed out`, "timeout");
    }
    const msg = err instanceof Error ? err.message : String(err);
    const code = /unreachable/i.test(msg) ? "unreachable" : "other";
    throw new ConnectError(`cannot connect to ${where}: ${msg}`, code);
  }
  conn.setNoDelay(true);
  return new ConnTransport(conn);
}

/** Listens on `hostname:port` (port 0 = ephemeral). */
export function listenTcp(opts: { hostname: string; port: number }): TransportListener {
  const listener = Deno.listen({ hostname: opts.hostname, port: opts.port, transport: "tcp" });
  let closed = false;
  return {
    local: endpointOf(listener.addr),
    async accept(): Promise<Transport | null> {
      while (!closed) {
        try {
          const conn = await listener.accept();
          conn.setNoDelay(true);
          return new ConnTransport(conn);
        } catch (err) {
          if (closed || err instanceof Deno.errors.BadResource) return null;
          // A connection reset before accept completed concerns that peer only.
          if (isConnectionError(err)) continue;
          throw err;
        }
      }
      return null;
    },
    close(): void {
      if (closed) return;
      closed = true;
      listener.close();
    },
  };
}
