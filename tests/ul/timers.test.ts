/**
 * The runtime's own timers (lib/util/timer.ts): they fire, a cancelled or
 * stopped one lets the process exit at once, a deadline moved later is not
 * re-armed, and an association with echoes and every timeout set never
 * calls the global `setTimeout` (whose first call loads Deno's Node
 * compatibility timers, tens of milliseconds of a short tool's run).
 */
import assert from "node:assert/strict";
import { after, Deadline } from "../../lib/util/timer.ts";
import { serve, verification } from "../../mod.ts";
import { repoPath } from "../../testing/procs.ts";

/** Runs `code` as a module in a fresh process; its stdout, and how long the process took. */
async function runScript(code: string): Promise<{ out: string; ms: number }> {
  const t0 = performance.now();
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-read", "--allow-env", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = r.stdin.getWriter();
  await w.write(new TextEncoder().encode(code));
  await w.close();
  const done = await r.output();
  const ms = performance.now() - t0;
  const err = new TextDecoder().decode(done.stderr);
  assert.equal(done.code, 0, err);
  return { out: new TextDecoder().decode(done.stdout), ms };
}

const TIMER = JSON.stringify(repoPath("lib/util/timer.ts"));

Deno.test("after() fires once after its delay; a cancelled one never fires", async () => {
  const fired: string[] = [];
  const t0 = performance.now();
  const cancel = after(20, () => fired.push("cancelled"));
  const done = new Promise<number>((resolve) =>
    after(40, () => {
      fired.push("kept");
      resolve(performance.now() - t0);
    })
  );
  cancel();
  cancel();
  assert.ok(await done >= 39, "fired early");
  await new Promise<void>((resolve) => after(30, resolve));
  assert.deepEqual(fired, ["kept"]);
});

Deno.test("a pending timer keeps the process alive; a cancelled or stopped one does not", async () => {
  const kept = await runScript(
    `import { after } from ${TIMER}; after(1500, () => console.log("fired"));`,
  );
  assert.equal(kept.out.trim(), "fired");
  assert.ok(kept.ms >= 1500, `exited after ${kept.ms} ms`);
  const cancelled = await runScript(
    `import { after, Deadline } from ${TIMER};
     after(60000, () => console.log("fired"))();
     const d = new Deadline(); d.start(60000, () => console.log("fired")); d.stop();
     d.start(120000, () => console.log("fired")); d.stop();
     console.log("done");`,
  );
  assert.equal(cancelled.out.trim(), "done");
  // Far less than the 60 s a pending timer would have held it.
  assert.ok(cancelled.ms < 30_000, `exited after ${cancelled.ms} ms`);
});

Deno.test("a parked Deadline keeps the process alive until its timer fires, without calling back", async () => {
  const parked = await runScript(
    `import { Deadline } from ${TIMER};
     const d = new Deadline(); d.start(1500, () => console.log("fired")); d.park();
     console.log("parked");`,
  );
  assert.equal(parked.out.trim(), "parked");
  assert.ok(parked.ms >= 1500, `exited after ${parked.ms} ms`);
  const stopped = await runScript(
    `import { Deadline } from ${TIMER};
     const d = new Deadline(); d.start(60000, () => console.log("fired")); d.park(); d.stop();
     console.log("stopped");`,
  );
  assert.equal(stopped.out.trim(), "stopped");
  assert.ok(stopped.ms < 30_000, `exited after ${stopped.ms} ms`);
});

Deno.test("timed waits for requests attach their timer once per association, and a closed one holds nothing", async () => {
  const lib = (path: string) => JSON.stringify(repoPath(path));
  const { out, ms } = await runScript(
    `let attached = 0;
     const add = AbortSignal.prototype.addEventListener;
     AbortSignal.prototype.addEventListener = function (...a) {
       if (a[0] === "abort") attached++;
       return add.apply(this, a);
     };
     const { associate } = await import(${lib("mod.ts")});
     const { startEchoScp } = await import(${lib("testing/echo_peers.ts")});
     // As echoscp serves: a deadline on each request, and the transfer floor.
     const server = startEchoScp(undefined, {
       dimseTimeoutMs: 60000,
       transferFloor: { bytesPerSecond: 1024, windowMs: 120000 },
     });
     const assoc = await associate("ANY-SCP@127.0.0.1:" + server.local.port);
     await assoc.echo();
     const before = attached;
     for (let i = 0; i < 50; i++) await assoc.echo();
     console.log(attached - before);
     await assoc.release();
     await server.stop();`,
  );
  // The server waited for each of the 50 requests with a deadline: one listener for all.
  assert.ok(Number(out.trim()) < 10, `${out.trim()} listeners attached for 50 requests`);
  // Far less than the 60 s the server's parked timer would have held the process.
  assert.ok(ms < 30_000, `exited after ${ms} ms`);
});

/** Runs `fn` with a fresh Deadline and the delays of the runtime timers armed meanwhile. */
async function withArmed(fn: (d: Deadline, armed: number[]) => Promise<void>): Promise<void> {
  const d = new Deadline();
  const armed: number[] = [];
  const timeout = AbortSignal.timeout;
  AbortSignal.timeout = (ms: number) => {
    armed.push(ms);
    return timeout.call(AbortSignal, ms);
  };
  try {
    await fn(d, armed);
  } finally {
    AbortSignal.timeout = timeout;
    d.stop();
  }
}

Deno.test("a Deadline moved later keeps its timer and fires at the last deadline", () =>
  withArmed(async (d, armed) => {
    const t0 = performance.now();
    let fired = 0;
    const fire = () => fired++;
    for (let i = 0; i < 50; i++) {
      d.start(60, fire);
      d.stop();
    }
    const last = new Promise<number>((resolve) =>
      d.start(80, () => {
        fired++;
        resolve(performance.now() - t0);
      })
    );
    assert.ok(await last >= 79);
    assert.equal(fired, 1);
    // One timer armed for all the waits, plus at most one re-arm for the rest of the last.
    assert.ok(armed.length <= 2, `armed ${armed.length} timers`);
    // Started earlier than the pending timer would fire: a new one is armed.
    d.start(10_000, () => {});
    d.stop();
    const before = armed.length;
    d.start(5, () => {});
    assert.equal(armed.length, before + 1);
    d.stop();
  }));

Deno.test("a Deadline started with the caller's clock reading counts from it", () =>
  withArmed(async (d, armed) => {
    d.start(100, () => {});
    assert.deepEqual(armed, [100]);
    // 50 ms from a reading 200 ms ahead: due after the pending timer, which is kept.
    const t0 = performance.now();
    const fired = new Promise<number>((resolve) =>
      d.start(50, () => resolve(performance.now() - t0), t0 + 200)
    );
    assert.deepEqual(armed, [100]);
    assert.ok(await fired >= 249, "fired before its deadline");
    // The rest re-armed once the kept timer fired early.
    assert.equal(armed.length, 2);
  }));

Deno.test("an association with echoes and every timeout set never calls setTimeout", async () => {
  await using server = await serve({
    aeTitle: "ANY-SCP",
    hostname: "127.0.0.1",
    port: 0,
    services: [verification()],
  });
  const mod = JSON.stringify(repoPath("mod.ts"));
  const { out } = await runScript(
    `let calls = 0;
     const real = globalThis.setTimeout;
     globalThis.setTimeout = ((...a) => { calls++; return real(...a); });
     const { associate } = await import(${mod});
     const assoc = await associate("ANY-SCP@127.0.0.1:${server.local.port}", {
       timeouts: { connectMs: 5000, acseMs: 5000, dimseMs: 5000, idleMs: 5000 },
     });
     for (let i = 0; i < 5; i++) await assoc.echo();
     await assoc.release();
     console.log(calls);`,
  );
  assert.equal(out.trim(), "0");
});

Deno.test("a server that serves an association and stops never calls setTimeout or clearTimeout", async () => {
  const mod = JSON.stringify(repoPath("mod.ts"));
  const { out } = await runScript(
    `let calls = 0;
     for (const name of ["setTimeout", "clearTimeout"]) {
       const real = globalThis[name];
       globalThis[name] = (...a) => { calls++; return real(...a); };
     }
     const { associate, serve, verification } = await import(${mod});
     const server = await serve({
       aeTitle: "ANY-SCP",
       hostname: "127.0.0.1",
       port: 0,
       services: [verification()],
     });
     const assoc = await associate("ANY-SCP@127.0.0.1:" + server.local.port);
     await assoc.echo();
     await assoc.release();
     await server[Symbol.asyncDispose]();
     console.log(calls);`,
  );
  // The connection budget's stop (lib/ae/budget.ts) called clearTimeout, which loads
  // Deno's Node timers in a server's first association.
  assert.equal(out.trim(), "0");
});
