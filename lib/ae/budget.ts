/**
 * A server's connection budget: how many connections it holds before they
 * are associated, how many associations, how many connections from one
 * peer address, all within what the process may open (its descriptor
 * limit, less a reserve for files, logs and TLS). A process that reaches
 * that limit cannot even refuse a connection cleanly (Deno 2.9.5 panics
 * when accept fails with EMFILE), so the budget keeps it below: over a cap
 * a connection is closed at once, and refusals are reported once per
 * burst, not once per connection.
 *
 * When a cap is reached, room is made where that hurts no one at work: the
 * oldest connection not yet associated that has waited at least
 * {@link EVICT_AFTER_MS} is closed (a real peer's connection, associated
 * within milliseconds, is never among them), or, for a new association or
 * a peer at its share, the association whose peer has sent nothing for
 * longest, if for at least {@link EVICT_QUIET_MS}, is aborted (a peer in
 * the middle of a transfer sends all the time). A crowd of connections
 * that hold a place and do nothing cannot keep a real peer out; a crowd
 * that keeps every connection busy can, up to the caps, which is what the
 * caps and the transfer floor bound.
 *
 * @module
 */
import type { ConnectionGate, ConnectionPlace, Endpoint } from "../transport/transport.ts";
import { after, type CancelTimer } from "../util/timer.ts";

/** The caps of a {@link ConnectionBudget}. */
export interface ConnectionLimits {
  /** Connections not yet associated (TLS handshake, A-ASSOCIATE-RQ awaited or being answered). */
  maxPending: number;
  /** Associations at once. */
  maxAssociations: number;
  /** Connections (associated or not) from one peer address. */
  maxPerPeer: number;
}

/** How many more files (descriptors) the process may open, and how that was found. */
export interface DescriptorLimit {
  /** Descriptors free now: the limit less those open; at least this many when `atLeast`. */
  free: number;
  /** The probe stopped before reaching the limit: `free` is a lower bound. */
  atLeast: boolean;
  /** `/proc/self/limits` (with /proc/self/fd), `probe`, or `assumed` (see {@link readDescriptorLimit}). */
  source: "/proc/self/limits" | "probe" | "assumed";
}

/**
 * Descriptors assumed free where neither /proc nor a probe can tell (no
 * permission to read the null device): the usual Linux limit of 1024 less
 * what a Deno process holds at start.
 */
export const ASSUMED_FREE_DESCRIPTORS = 1000;

/** The probe opens at most this many: enough for every default cap at its ceiling. */
export const PROBE_DESCRIPTORS = 4096;

/**
 * A server's probe at start looks only this far (the usual soft limit), and further (to
 * {@link PROBE_DESCRIPTORS}) once a cap derived from it is first reached: each descriptor
 * opened and closed costs about 13 us, so the full probe was some 50 ms of every start
 * without --allow-all, for caps few runs come near.
 */
export const FIRST_PROBE_DESCRIPTORS = 1024;

/** Descriptors kept for everything but connections: files, logs, TLS, closes in flight. */
export const RESERVED_DESCRIPTORS = 48;

/** No default cap exceeds this, however many descriptors are free: memory is finite too. */
export const DEFAULT_CAP_CEILING = 1000;

/** A connection not yet associated is closed to make room only after waiting this long. */
export const EVICT_AFTER_MS = 500;

/**
 * An association is ended to make room only when its peer has sent nothing
 * for this long, while it owed us the rest of a request or nobody owed
 * anything (not while it waits for our answer).
 */
export const EVICT_QUIET_MS = 1000;

/** Connections being closed to make room, at most, beyond the caps (the reserve covers them). */
export const EVICT_SLACK = 16;

/** Refusals this far apart belong to one burst; a burst ends after this long without one. */
export const BURST_QUIET_MS = 10_000;

/**
 * How many descriptors the process may still open. Linux tells in
 * /proc/self/limits and /proc/self/fd, which Deno lets a program read only
 * with --allow-all; otherwise (and on macOS and Windows) the null device
 * is opened until the OS refuses or `upTo` (or `need`, if more) are open,
 * then all are closed again: a refused open is an ordinary error (unlike a
 * refused accept, which Deno 2.9.5 does not survive). Without permission to
 * read the null device, {@link ASSUMED_FREE_DESCRIPTORS} are assumed.
 */
export function readDescriptorLimit(need = 0, upTo = PROBE_DESCRIPTORS): DescriptorLimit {
  try {
    const text = Deno.readTextFileSync("/proc/self/limits");
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
    if (m) {
      const open = [...Deno.readDirSync("/proc/self/fd")].length;
      const limit = m[1] === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(m[1]);
      return { free: Math.max(0, limit - open), atLeast: false, source: "/proc/self/limits" };
    }
  } catch {
    // Not Linux, or not allowed to read /proc/self: probe.
  }
  const probe = Math.max(upTo, need);
  const files: Deno.FsFile[] = [];
  const device = Deno.build.os === "windows" ? "NUL" : "/dev/null";
  try {
    while (files.length < probe) files.push(Deno.openSync(device));
  } catch {
    // The limit (or no permission to open the device: nothing opened).
  } finally {
    for (const f of files) f.close();
  }
  if (files.length === 0) {
    return { free: ASSUMED_FREE_DESCRIPTORS, atLeast: true, source: "assumed" };
  }
  return { free: files.length, atLeast: files.length === probe, source: "probe" };
}

/**
 * Descriptors that `requested` caps need, with the default share of
 * connections not yet associated when that cap is not given, and the
 * reserve: how far a probe must look.
 */
export function descriptorsNeeded(
  requested: Partial<ConnectionLimits>,
  perAssociation: number,
): number {
  const pending = requested.maxPending ?? DEFAULT_CAP_CEILING;
  const caps = pending + (requested.maxAssociations ?? 0) * perAssociation;
  return Math.ceil(((caps + RESERVED_DESCRIPTORS) * 32) / 31) + 1;
}

/** The caps that fit the free descriptors, and what had to be lowered. */
export interface ResolvedLimits {
  /** The caps to enforce. */
  limits: ConnectionLimits;
  /** Descriptors the caps may use at most (those free less the reserve). */
  usable: number;
  /** One line per requested cap that did not fit and was lowered. */
  lowered: string[];
}

/**
 * The caps for a process with `free` descriptors, whose associations hold
 * `perAssociation` descriptors each (a socket, plus a file being written
 * for a storage SCP). Defaults: a reserve of {@link RESERVED_DESCRIPTORS}
 * plus 1/32 of them; a quarter of the rest for connections not yet
 * associated, the remainder for associations; one peer address may hold a
 * quarter of the associations (at least 8); none above
 * {@link DEFAULT_CAP_CEILING}. A requested cap is taken as given when it
 * fits, else lowered to what fits (and said so).
 */
export function resolveLimits(
  free: number,
  perAssociation: number,
  requested: Partial<ConnectionLimits> = {},
): ResolvedLimits {
  const reserve = RESERVED_DESCRIPTORS + Math.ceil(free / 32);
  const usable = Math.max(1 + perAssociation, free - reserve);
  const lowered: string[] = [];
  const cap = (n: number) => Math.max(1, Math.min(DEFAULT_CAP_CEILING, Math.floor(n)));
  let maxPending = requested.maxPending ?? cap(usable / 4);
  if (maxPending > usable - perAssociation) {
    const fits = Math.max(1, usable - perAssociation);
    lowered.push(lowerLine("connections waiting to associate", maxPending, fits, free));
    maxPending = fits;
  }
  const room = Math.max(1, Math.floor((usable - maxPending) / perAssociation));
  let maxAssociations = requested.maxAssociations ?? cap(room);
  if (maxAssociations > room) {
    lowered.push(lowerLine("associations", maxAssociations, room, free));
    maxAssociations = room;
  }
  const maxPerPeer = requested.maxPerPeer ?? Math.max(8, Math.ceil(maxAssociations / 4));
  return { limits: { maxPending, maxAssociations, maxPerPeer }, usable, lowered };
}

function lowerLine(what: string, asked: number, fits: number, free: number): string {
  return `${asked} ${what} do not fit in the ${free} files this process may still open: ` +
    `at most ${fits}`;
}

/** Which cap refused a connection. */
export type RefusedBy = "pending" | "associations" | "per-peer";

/** The first refusal (or connection closed to make room) of a burst. */
export interface OverloadStart {
  /** The cap that was reached. */
  cap: RefusedBy;
  /** Its value. */
  limit: number;
  /** The peer whose connection met the cap, host:port. */
  peer: string;
  /** Whether that connection was refused, or an older one closed to make room for it. */
  action: "refused" | "evicted";
}

/** A burst of refusals that has ended (or the server stopped). */
export interface OverloadEnd {
  /** Connections closed at once, by the cap that refused them. */
  refused: Record<RefusedBy, number>;
  /** Connections not yet associated that were closed to make room for newer ones. */
  evicted: number;
  /** From the first refusal to the last, seconds. */
  seconds: number;
}

/** What a {@link ConnectionBudget} reports, and its clock. */
export interface BudgetReports {
  /** The clock, milliseconds (default `performance.now`; tests set their own). */
  now?: () => number;
  /** A burst of refusals began (called once per burst). */
  onOverload?: (e: OverloadStart) => void;
  /** The burst ended: no refusal for {@link BURST_QUIET_MS}, or the budget was closed. */
  onOverloadEnd?: (e: OverloadEnd) => void;
  /**
   * The caps came from a count of free descriptors that stopped short (a
   * partial probe): called once, when a connection or association first
   * meets a cap, for the caps of a fuller count, which then apply (to that
   * connection too). Undefined: the caps stay.
   */
  widen?: () => ConnectionLimits | undefined;
}

/** What the owner of an association tells the budget, so that it may end it to make room. */
export interface AssociationHooks {
  /**
   * When the peer last sent a byte (performance.now() time); now while it
   * waits for our answer, which is no quiet of its own.
   */
  lastActivity(): number;
  /** Ends the association (an A-ABORT), to make room for a newer one. */
  evict(): void;
}

/** A connection's place: pending until associated. */
class Place implements ConnectionPlace {
  hooks: AssociationHooks | undefined;
  released = false;
  evicted = false;

  constructor(
    readonly budget: ConnectionBudget,
    readonly host: string,
    readonly close: () => void,
    readonly since: number,
  ) {}

  release(): void {
    this.budget.release(this);
  }
}

/**
 * Counts connections against {@link ConnectionLimits}; a listener's
 * {@link ConnectionGate}. A place stays counted until its socket is closed,
 * also once it was closed to make room: a newcomer may then take the room,
 * so that caps are exceeded by at most {@link EVICT_SLACK} connections
 * being closed.
 */
export class ConnectionBudget implements ConnectionGate {
  /** The caps enforced (wider once {@link BudgetReports.widen} gave wider ones). */
  limits: ConnectionLimits;
  #reports: BudgetReports;
  readonly #now: () => number;
  /** Connections not yet associated, oldest first. */
  readonly #pending = new Set<Place>();
  /** Associations. */
  readonly #associated = new Set<Place>();
  readonly #perPeer = new Map<string, number>();
  /** Places closed to make room whose sockets are not closed yet. */
  #evicting = 0;
  #burst: (OverloadEnd & { first: number; last: number }) | undefined;
  #refused = 0;
  // The runtime's own timer (lib/util/timer.ts): the global setTimeout and clearTimeout, even
  // named, start Deno's Node compatibility layer (some 30 ms of a server's first association).
  #timer: CancelTimer | undefined;

  /** A budget with `limits`, reporting bursts of refusals to `reports`. */
  constructor(limits: ConnectionLimits, reports: BudgetReports = {}) {
    this.limits = limits;
    this.#reports = reports;
    this.#now = reports.now ?? (() => performance.now());
  }

  /** Connections not yet associated. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Associations held. */
  get associations(): number {
    return this.#associated.size;
  }

  /** Connections refused or closed to make room since the start (association requests included). */
  get refused(): number {
    return this.#refused;
  }

  /**
   * A new connection: its place, or undefined (close it at once) when the
   * per-peer or the pending cap is reached and no older connection can be
   * closed to make room.
   */
  admit(peer: Endpoint, close: () => void): ConnectionPlace | undefined {
    // One address, whether a dual-stack listener sees it as IPv4 or IPv4-mapped IPv6.
    const host = peer.host.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "");
    if (
      (this.#perPeer.get(host) ?? 0) >= this.limits.maxPerPeer ||
      this.#pending.size >= this.limits.maxPending
    ) this.#widen();
    const l = this.limits;
    if ((this.#perPeer.get(host) ?? 0) >= l.maxPerPeer) {
      const evicted = this.#evictPending(host) || this.#evictQuiet(host);
      this.#incident("per-peer", l.maxPerPeer, peer, evicted ? "evicted" : "refused");
      if (!evicted) return undefined;
    }
    if (this.#pending.size >= l.maxPending) {
      const evicted = this.#evictPending();
      this.#incident("pending", l.maxPending, peer, evicted ? "evicted" : "refused");
      if (!evicted) return undefined;
    }
    const place = new Place(this, host, close, this.#now());
    this.#pending.add(place);
    this.#perPeer.set(host, (this.#perPeer.get(host) ?? 0) + 1);
    return place;
  }

  /**
   * The connection's A-ASSOCIATE-RQ is to be accepted: true when an
   * association is free (the place then counts as one, and `hooks` let the
   * budget end it to make room later), false when the cap is reached and
   * no association has been quiet long enough to be ended for it (the
   * request is to be rejected; the refusal is counted).
   */
  associate(place: ConnectionPlace, peer: Endpoint, hooks: AssociationHooks): boolean {
    const p = place as Place;
    if (p.released || p.evicted) return false;
    if (p.hooks) return true;
    if (this.#associated.size >= this.limits.maxAssociations) this.#widen();
    const max = this.limits.maxAssociations;
    if (this.#associated.size >= max) {
      const evicted = this.#evictQuiet();
      this.#incident("associations", max, peer, evicted ? "evicted" : "refused");
      if (!evicted) return false;
    }
    this.#pending.delete(p);
    this.#associated.add(p);
    p.hooks = hooks;
    return true;
  }

  /** At the first cap met, the caps of a fuller count, if the reports offer them (once). */
  #widen(): void {
    const widen = this.#reports.widen;
    if (!widen) return;
    this.#reports = { ...this.#reports, widen: undefined };
    const wider = widen();
    if (wider) this.limits = wider;
  }

  /** Frees a place (its socket is closed); see {@link ConnectionPlace.release}. */
  release(place: ConnectionPlace): void {
    const p = place as Place;
    if (p.released) return;
    p.released = true;
    if (p.evicted) this.#evicting--;
    this.#pending.delete(p);
    this.#associated.delete(p);
    const n = (this.#perPeer.get(p.host) ?? 1) - 1;
    if (n > 0) this.#perPeer.set(p.host, n);
    else this.#perPeer.delete(p.host);
  }

  /** Ends a burst in progress (reporting it) and its timer: call when the server stops. */
  close(): void {
    this.#timer?.();
    this.#timer = undefined;
    this.#endBurst();
  }

  /**
   * Closes the oldest connection not yet associated (of `host` when given)
   * that has waited {@link EVICT_AFTER_MS}; false when there is none.
   */
  #evictPending(host?: string): boolean {
    if (this.#evicting >= EVICT_SLACK) return false;
    const now = this.#now();
    for (const p of this.#pending) {
      if (now - p.since < EVICT_AFTER_MS) return false; // the rest are younger still
      if (p.evicted || (host !== undefined && p.host !== host)) continue;
      this.#evictPlace(p, p.close);
      return true;
    }
    return false;
  }

  /**
   * Ends the association (of `host` when given) whose peer has been quiet
   * longest, if for at least {@link EVICT_QUIET_MS}; false when there is none.
   */
  #evictQuiet(host?: string): boolean {
    if (this.#evicting >= EVICT_SLACK) return false;
    let quietest: Place | undefined;
    let since = this.#now() - EVICT_QUIET_MS;
    for (const p of this.#associated) {
      if (p.evicted || (host !== undefined && p.host !== host)) continue;
      const last = p.hooks!.lastActivity();
      if (last <= since) {
        quietest = p;
        since = last;
      }
    }
    if (!quietest) return false;
    this.#evictPlace(quietest, quietest.hooks!.evict);
    return true;
  }

  #evictPlace(p: Place, end: () => void): void {
    p.evicted = true;
    this.#evicting++;
    end();
  }

  /** Counts a refusal or eviction in the current burst, reporting the burst's first. */
  #incident(cap: RefusedBy, limit: number, peer: Endpoint, action: OverloadStart["action"]): void {
    const now = this.#now();
    if (!this.#burst) {
      this.#burst = {
        refused: { pending: 0, associations: 0, "per-peer": 0 },
        evicted: 0,
        seconds: 0,
        first: now,
        last: now,
      };
      this.#reports.onOverload?.({ cap, limit, peer: `${peer.host}:${peer.port}`, action });
    }
    this.#refused++;
    if (action === "evicted") this.#burst.evicted++;
    else this.#burst.refused[cap]++;
    this.#burst.last = now;
    this.#timer ??= after(BURST_QUIET_MS, () => this.#checkBurst());
  }

  #checkBurst(): void {
    this.#timer = undefined;
    const b = this.#burst;
    if (!b) return;
    const quiet = this.#now() - b.last;
    if (quiet >= BURST_QUIET_MS) this.#endBurst();
    else this.#timer = after(BURST_QUIET_MS - quiet, () => this.#checkBurst());
  }

  #endBurst(): void {
    const b = this.#burst;
    if (!b) return;
    this.#burst = undefined;
    this.#reports.onOverloadEnd?.({
      refused: b.refused,
      evicted: b.evicted,
      seconds: Math.round((b.last - b.first) / 100) / 10,
    });
  }
}
