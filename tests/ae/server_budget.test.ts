/**
 * The connection budget (lib/net/budget.ts) and the DIMSE channel's
 * deadlines (lib/net/dimse_channel.ts) as units, with a clock of the
 * test's own: the caps derived from the free descriptors, refusals and the
 * room made by closing what sits idle, refusals reported once per burst; a
 * wait bounded as a whole, and the transfer floor.
 */
import assert from "node:assert/strict";
import {
  type AssociationHooks,
  ConnectionBudget,
  DEFAULT_CAP_CEILING,
  descriptorsNeeded,
  EVICT_AFTER_MS,
  EVICT_QUIET_MS,
  FIRST_PROBE_DESCRIPTORS,
  type OverloadEnd,
  type OverloadStart,
  readDescriptorLimit,
  resolveLimits,
} from "../../lib/ae/budget.ts";
import { DimseChannel } from "../../lib/ae/channel.ts";
import { until } from "../../testing/bad_peer.ts";
import { startEchoScp } from "../../testing/echo_peers.ts";
import type { PDataTfPdu } from "../../lib/pdu/types.ts";
import type { UlAssociation, UlIndication } from "../../lib/ul/association.ts";
import { cStoreRq } from "../../testing/bad_peer.ts";

Deno.test("caps from the free descriptors: a reserve, a quarter waiting to associate, the rest associations; a request that does not fit is lowered and said so", () => {
  // 256 open files, 22 held by the runtime: storescp (a socket and a .part per association).
  assert.deepEqual(resolveLimits(234, 2).limits, {
    maxPending: 44,
    maxAssociations: 67,
    maxPerPeer: 17,
  });
  assert.deepEqual(resolveLimits(234, 1).limits, {
    maxPending: 44,
    maxAssociations: 134,
    maxPerPeer: 34,
  });
  // However many are free, no default above the ceiling; one peer a quarter (at least 8).
  const big = resolveLimits(1_000_000, 2);
  assert.deepEqual(big.limits, {
    maxPending: DEFAULT_CAP_CEILING,
    maxAssociations: DEFAULT_CAP_CEILING,
    maxPerPeer: DEFAULT_CAP_CEILING / 4,
  });
  assert.deepEqual(big.lowered, []);
  assert.equal(resolveLimits(60, 1).limits.maxPerPeer, 8);
  // Asked for what fits: taken; for more: the most that fits, with one line each.
  assert.deepEqual(
    resolveLimits(20_000, 2, { maxAssociations: 5000 }).limits.maxAssociations,
    5000,
  );
  const lowered = resolveLimits(234, 2, { maxAssociations: 500, maxPending: 10 });
  assert.deepEqual(lowered.limits.maxAssociations, 84);
  assert.deepEqual(lowered.lowered, [
    "500 associations do not fit in the 234 files this process may still open: at most 84",
  ]);
});

Deno.test("the free descriptors are probed without --allow-all (no /proc/self): more than 100, fewer than the limit", async () => {
  const limit = Number(
    new TextDecoder().decode(
      (await new Deno.Command("sh", { args: ["-c", "ulimit -n"], stdout: "piped" }).output())
        .stdout,
    ),
  );
  const found = readDescriptorLimit();
  assert.ok(found.source === "probe" || found.source === "/proc/self/limits", found.source);
  assert.ok(found.free > 100 && found.free < limit, `${found.free} free of ${limit}`);
  // Every probe file is closed again: the next probe finds as many.
  assert.ok(Math.abs(readDescriptorLimit().free - found.free) <= 2);
});

Deno.test("a server's first probe stops at its bound: what it found is a lower bound", () => {
  const found = readDescriptorLimit(0, 64);
  if (found.source === "/proc/self/limits") return; // run with --allow-all: nothing probed
  assert.deepEqual(found, { free: 64, atLeast: true, source: "probe" });
  // A need above the bound is probed in full.
  assert.equal(readDescriptorLimit(100, 64).free, 100);
  assert.ok(FIRST_PROBE_DESCRIPTORS < 4096);
});

Deno.test("budget: caps from a partial count widen once, at the first cap met, and then hold", () => {
  const clock = { now: 0 };
  const starts: OverloadStart[] = [];
  const wider = { maxPending: 3, maxAssociations: 2, maxPerPeer: 8 };
  let widened = 0;
  const b = new ConnectionBudget({ maxPending: 2, maxAssociations: 1, maxPerPeer: 8 }, {
    now: () => clock.now,
    onOverload: (e) => starts.push(e),
    widen: () => {
      widened++;
      return wider;
    },
  });
  const hooks: AssociationHooks = { lastActivity: () => clock.now, evict: () => {} };
  const peer = { host: "10.0.0.1", port: 1 };
  const a = b.admit(peer, () => {})!;
  b.admit(peer, () => {});
  assert.equal(widened, 0, "no cap met yet");
  // The pending cap (2) is met: the wider caps apply, to this connection too.
  assert.ok(b.admit(peer, () => {}));
  assert.equal(widened, 1);
  assert.deepEqual(b.limits, wider);
  assert.equal(b.admit(peer, () => {}), undefined, "the wider cap holds");
  assert.ok(b.associate(a, peer, hooks));
  assert.equal(widened, 1, "once");
  assert.deepEqual(starts.map((s) => [s.cap, s.limit]), [["pending", 3]]);
  b.close();

  // No wider caps to be had: the refusal stands, and the count is not retried.
  let asked = 0;
  const c = new ConnectionBudget({ maxPending: 1, maxAssociations: 1, maxPerPeer: 8 }, {
    now: () => clock.now,
    widen: () => {
      asked++;
      return undefined;
    },
  });
  const first = c.admit(peer, () => {})!;
  assert.equal(c.admit(peer, () => {}), undefined);
  assert.equal(c.admit(peer, () => {}), undefined);
  assert.equal(asked, 1);
  assert.ok(c.associate(first, peer, hooks));
  const second = c.admit(peer, () => {})!;
  assert.equal(c.associate(second, peer, hooks), false, "the association cap holds");
  assert.equal(asked, 1);
  c.close();
});

Deno.test("a server without /proc starts with the caps of its first probe and counts on when a connection meets one: nobody refused", async () => {
  const first = readDescriptorLimit(descriptorsNeeded({}, 1), FIRST_PROBE_DESCRIPTORS);
  // With --allow-all the limit is read, not probed; under a low limit the probe ends at it.
  if (first.source !== "probe" || !first.atLeast) return;
  const server = startEchoScp();
  const conns: Deno.Conn[] = [];
  try {
    const start = server.limits;
    assert.deepEqual(start, resolveLimits(first.free, 1).limits);
    // One connection more than one address may hold under the first caps.
    while (conns.length <= start.maxPerPeer) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port: server.local.port }));
    }
    await until(() => server.pendingConnections === conns.length, "every connection admitted");
    assert.ok(server.limits.maxPerPeer > start.maxPerPeer, JSON.stringify(server.limits));
    assert.equal(server.totals.refused, 0);
  } finally {
    for (const c of conns) c.close();
    await server.stop();
  }
});

/** A budget with a clock of its own and the reports it made. */
function budget(limits = { maxPending: 3, maxAssociations: 2, maxPerPeer: 4 }) {
  const clock = { now: 0 };
  const starts: OverloadStart[] = [];
  const ends: OverloadEnd[] = [];
  const b = new ConnectionBudget(limits, {
    now: () => clock.now,
    onOverload: (e) => starts.push(e),
    onOverloadEnd: (e) => ends.push(e),
  });
  const closed: string[] = [];
  const admit = (host: string, name: string) =>
    b.admit({ host, port: 1000 }, () => closed.push(name));
  return { b, clock, starts, ends, closed, admit };
}

Deno.test("budget: over the pending cap a newcomer is refused, unless a connection has waited long enough to be closed for it", () => {
  const t = budget();
  const places = ["a", "b", "c"].map((n) => t.admit(`10.0.0.${n.charCodeAt(0)}`, n)!);
  assert.equal(t.b.pending, 3);
  // All as young as the newcomer: refused, and the burst reported once.
  assert.equal(t.admit("10.0.0.9", "d"), undefined);
  assert.equal(t.admit("10.0.0.9", "e"), undefined);
  assert.equal(t.starts.length, 1);
  assert.deepEqual(t.starts[0], {
    cap: "pending",
    limit: 3,
    peer: "10.0.0.9:1000",
    action: "refused",
  });
  // Old enough: the oldest is closed to make room; its place counts until its socket closes.
  t.clock.now = EVICT_AFTER_MS;
  const f = t.admit("10.0.0.9", "f");
  assert.ok(f);
  assert.deepEqual(t.closed, ["a"]);
  assert.equal(t.b.pending, 4);
  places[0].release();
  assert.equal(t.b.pending, 3);
  t.b.close();
  assert.deepEqual(t.ends, [{
    refused: { pending: 2, associations: 0, "per-peer": 0 },
    evicted: 1,
    seconds: EVICT_AFTER_MS / 1000,
  }]);
});

Deno.test("budget: one address over its share is refused, or its own oldest waiting connection closed; others are not touched", () => {
  const t = budget({ maxPending: 10, maxAssociations: 10, maxPerPeer: 2 });
  t.admit("10.0.0.1", "own1");
  t.clock.now = 100;
  t.admit("10.0.0.2", "other");
  t.admit("10.0.0.1", "own2");
  assert.equal(t.admit("10.0.0.1", "own3"), undefined);
  t.clock.now = EVICT_AFTER_MS + 50;
  assert.ok(t.admit("10.0.0.1", "own4"));
  assert.deepEqual(t.closed, ["own1"], "the address's own oldest, not the older other one");
  assert.equal(t.starts[0].cap, "per-peer");
  t.b.close();
});

Deno.test("budget: over the association cap a request is refused, unless an association's peer has been quiet long enough: then it is ended for the newcomer", () => {
  const t = budget({ maxPending: 10, maxAssociations: 2, maxPerPeer: 10 });
  const quiet: AssociationHooks & { ended: number } = {
    ended: 0,
    lastActivity: () => 0,
    evict: () => quiet.ended++,
  };
  const busy: AssociationHooks & { ended: number } = {
    ended: 0,
    lastActivity: () => t.clock.now,
    evict: () => busy.ended++,
  };
  const peer = { host: "10.0.0.1", port: 1 };
  assert.ok(t.b.associate(t.admit("10.0.0.1", "q")!, peer, quiet));
  assert.ok(t.b.associate(t.admit("10.0.0.1", "b")!, peer, busy));
  const third = t.admit("10.0.0.1", "n")!;
  assert.equal(t.b.associate(third, peer, busy), false, "nobody quiet yet");
  t.clock.now = EVICT_QUIET_MS;
  const fourth = t.admit("10.0.0.1", "m")!;
  assert.ok(t.b.associate(fourth, peer, busy));
  assert.deepEqual([quiet.ended, busy.ended], [1, 0]);
  assert.equal(t.b.associations, 3, "the ended one counts until its socket closes");
  t.b.close();
  assert.deepEqual(t.ends[0].refused, { pending: 0, associations: 1, "per-peer": 0 });
  assert.equal(t.ends[0].evicted, 1);
});

// ---------------------------------------------------------------------------
// the channel's deadlines

/**
 * An association that delivers `script` indications at their times (ms), counting their bytes
 * and, as the upper layer does, when they were read (lastActivity).
 */
function scripted(script: [ms: number, ind: UlIndication][]): UlAssociation {
  const queue: UlIndication[] = [];
  const waiters: ((i: UlIndication) => void)[] = [];
  const assoc = {
    bytesReceived: 0,
    lastActivity: performance.now(),
    peerMaxPdu: 16384,
    receive: () =>
      new Promise<UlIndication>((resolve) => {
        const next = queue.shift();
        if (next) resolve(next);
        else waiters.push(resolve);
      }),
  } as unknown as UlAssociation & { bytesReceived: number; lastActivity: number };
  for (const [ms, ind] of script) {
    setTimeout(() => {
      if (ind.kind === "p-data") {
        assoc.bytesReceived += ind.pdu.pdvs.reduce((n, p) => n + 6 + p.data.length, 6);
        assoc.lastActivity = performance.now();
      }
      const w = waiters.shift();
      if (w) w(ind);
      else queue.push(ind);
    }, ms);
  }
  return assoc;
}

function pdv(command: boolean, last: boolean, data: Uint8Array): UlIndication {
  const pdu: PDataTfPdu = {
    type: "P-DATA-TF",
    pdvs: [{ contextId: 1, isCommand: command, isLast: last, data }],
  };
  return { kind: "p-data", pdu };
}

Deno.test("channel: receive(ms) bounds the whole wait, however many fragments short of a message arrive", async () => {
  const command = cStoreRq("1.2.3.4");
  // The command set in 2-byte fragments 20 ms apart: whole only after some 2 s.
  const pieces = Array.from({ length: command.length / 2 }, (_, i): [number, UlIndication] => [
    20 * (i + 1),
    pdv(true, i === command.length / 2 - 1, command.subarray(2 * i, 2 * i + 2)),
  ]);
  const ch = new DimseChannel(scripted(pieces));
  const t0 = performance.now();
  const ev = await ch.receive(200);
  const ms = performance.now() - t0;
  assert.deepEqual(ev, { kind: "timeout" });
  assert.ok(ms < 1000, `timed out after ${ms.toFixed(0)} ms`);
  await new Promise((r) => setTimeout(r, 20 * pieces.length + 50));
});

Deno.test("channel: the transfer floor ends a data set that trickles in; a fast one passes", async () => {
  const floor = { bytesPerSecond: 10_000, windowMs: 200 };
  const command = pdv(true, true, cStoreRq("1.2.3.4"));
  // 2 bytes every 20 ms (about 700 bytes/s with headers): below the floor.
  const slow = Array.from({ length: 30 }, (_, i): [number, UlIndication] => [
    20 * (i + 1),
    pdv(false, i === 29, new Uint8Array(2)),
  ]);
  const trickle = new DimseChannel(scripted([[0, command], ...slow]), { floor });
  assert.equal((await trickle.receive(5000)).kind, "command");
  let ev;
  do ev = await trickle.receive(5000); while (ev.kind === "data");
  assert.equal(ev.kind, "timeout");
  assert.ok(ev.kind === "timeout" && ev.slow, JSON.stringify(ev));
  assert.ok(ev.slow.bytes < 2000 && ev.slow.seconds >= 0.2, JSON.stringify(ev.slow));
  // 4 KiB every 20 ms: far above it, to the last fragment.
  const fast = Array.from({ length: 30 }, (_, i): [number, UlIndication] => [
    20 * (i + 1),
    pdv(false, i === 29, new Uint8Array(4096)),
  ]);
  const stream = new DimseChannel(scripted([[0, command], ...fast]), { floor });
  assert.equal((await stream.receive(5000)).kind, "command");
  let data = 0;
  for (;;) {
    const e = await stream.receive(5000);
    assert.equal(e.kind, "data", JSON.stringify(e));
    data++;
    if (e.kind === "data" && e.last) break;
  }
  assert.equal(data, 30);
  await new Promise((r) => setTimeout(r, 700));
});
