/**
 * Deno's own floor for the echo round trip: a 74-byte request and a 74-byte
 * reply (a C-ECHO's size) between two Deno processes over loopback TCP, no
 * DICOM code, with each socket API Deno offers:
 *
 * - `read`: `Deno.Conn` read and write, awaited (what lib/transport/tcp.ts uses);
 * - `then`: the same calls chained with callbacks made once, no async frame;
 * - `stream`: `conn.readable` (a BYOB reader) and `conn.writable`;
 * - `node`: `node:net` sockets, their "data" events.
 *
 * Each variant runs in a fresh pair of processes; the first 1,000 round
 * trips (while V8 compiles the loop and Deno's own code) and the rest
 * (steady state) are reported apart, as wall time and as CPU time of each
 * process (all its threads, from /proc/<pid>/task/<tid>/schedstat).
 *
 * Usage: deno run --allow-all scripts/bench_pingpong.ts [ROUND-TRIPS] [VARIANT...]
 * (defaults: 11000, every variant). Internal: `serve VARIANT PORT`.
 *
 * @module
 */

const MESSAGE = 74;
const VARIANTS = ["read", "then", "stream", "node"] as const;
type Variant = (typeof VARIANTS)[number];
/** Round trips counted as warm-up. */
const FIRST = 1000;

/** CPU nanoseconds of process `pid`, all threads ("self" for this one). */
function cpuNs(pid: string): number {
  let total = 0;
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/schedstat`).split(" ")[0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return total;
}

/** Answers every read with one reply, until the peer closes. */
async function serve(variant: Variant, port: number): Promise<void> {
  const reply = new Uint8Array(MESSAGE).fill(2);
  if (variant === "node") {
    const net = await import("node:net");
    net.createServer((s) => {
      s.setNoDelay(true);
      s.on("data", () => s.write(reply));
    }).listen(port, "127.0.0.1", () => console.log("ready"));
    return;
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  console.log("ready");
  const conn = await listener.accept();
  listener.close();
  conn.setNoDelay(true);
  const buf = new Uint8Array(65536);
  if (variant === "read") {
    while (await conn.read(buf) !== null) await conn.write(reply);
  } else if (variant === "then") {
    await new Promise<void>((done) => {
      const next = (): void => void conn.read(buf).then(got);
      const got = (n: number | null): void => {
        if (n === null) done();
        else conn.write(reply).then(next);
      };
      next();
    });
  } else {
    const reader = conn.readable.getReader({ mode: "byob" });
    const writer = conn.writable.getWriter();
    let into = new Uint8Array(65536);
    for (;;) {
      const { value, done } = await reader.read(into);
      if (done) break;
      into = new Uint8Array(value.buffer);
      await writer.write(reply);
    }
    // The readable's end closed the connection.
    return;
  }
  conn.close();
}

/** One run: `n` round trips; [wall ms, client CPU ms, server CPU ms] after FIRST and after `n`. */
async function run(variant: Variant, n: number, port: number, server: string): Promise<number[]> {
  const request = new Uint8Array(MESSAGE).fill(1);
  const marks: number[] = [];
  let t0 = 0, c0 = 0, s0 = 0;
  const mark = (i: number) => {
    if (i === 0) [t0, c0, s0] = [performance.now(), cpuNs("self"), cpuNs(server)];
    else if (i === FIRST || i === n) {
      marks.push(performance.now() - t0, (cpuNs("self") - c0) / 1e6, (cpuNs(server) - s0) / 1e6);
    }
  };
  if (variant === "node") {
    const net = await import("node:net");
    const s = net.connect(port, "127.0.0.1");
    s.setNoDelay(true);
    await new Promise((ok) => s.once("connect", ok));
    await new Promise<void>((done) => {
      let i = 0;
      s.on("data", () => {
        mark(++i);
        if (i === n) return done();
        s.write(request);
      });
      mark(0);
      s.write(request);
    });
    s.destroy();
    return marks;
  }
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  const buf = new Uint8Array(65536);
  if (variant === "read") {
    mark(0);
    for (let i = 1; i <= n; i++) {
      await conn.write(request);
      await conn.read(buf);
      mark(i);
    }
  } else if (variant === "then") {
    await new Promise<void>((done) => {
      let i = 0;
      const sent = (): void => void conn.read(buf).then(got);
      const got = (): void => {
        mark(++i);
        if (i === n) done();
        else conn.write(request).then(sent);
      };
      mark(0);
      conn.write(request).then(sent);
    });
  } else {
    const reader = conn.readable.getReader({ mode: "byob" });
    const writer = conn.writable.getWriter();
    let into = new Uint8Array(65536);
    mark(0);
    for (let i = 1; i <= n; i++) {
      await writer.write(request);
      into = new Uint8Array((await reader.read(into)).value!.buffer);
      mark(i);
    }
  }
  conn.close();
  return marks;
}

/** A free port: bound, read back and released. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  return port;
}

if (Deno.args[0] === "serve") {
  await serve(Deno.args[1] as Variant, Number(Deno.args[2]));
} else {
  const n = Number(Deno.args[0] ?? 11_000);
  if (!(n > FIRST)) throw new RangeError(`round trips must exceed ${FIRST}`);
  const asked = Deno.args.slice(1) as Variant[];
  const bad = asked.find((v) => !VARIANTS.includes(v));
  if (bad) throw new RangeError(`unknown variant ${bad}: one of ${VARIANTS.join(", ")}`);
  const load = () => Deno.loadavg()[0].toFixed(1);
  console.log(`bench_pingpong: ${MESSAGE}-byte ping-pong, ${n} round trips; load ${load()}`);
  console.log(
    "| API | first 1,000: wall, client, server CPU us | then: wall, client, server CPU us |",
  );
  console.log("|---|---:|---:|");
  for (const variant of asked.length ? asked : VARIANTS) {
    const port = freePort();
    const server = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-read",
        new URL(import.meta.url).pathname,
        "serve",
        variant,
        String(port),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    // The server's "ready" line: it listens.
    const lines = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    await lines.read();
    const [w1, c1, s1, wn, cn, sn] = await run(variant, n, port, String(server.pid));
    server.kill();
    await server.status;
    lines.releaseLock();
    const us = (ms: number, count: number) => ((ms * 1000) / count).toFixed(1);
    const rest = n - FIRST;
    console.log(
      `| ${variant} | ${us(w1, FIRST)}, ${us(c1, FIRST)}, ${us(s1, FIRST)} | ` +
        `${us(wn - w1, rest)}, ${us(cn - c1, rest)}, ${us(sn - s1, rest)} |`,
    );
  }
  console.log(`load ${load()} after`);
}
