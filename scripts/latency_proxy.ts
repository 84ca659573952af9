/**
 * A loopback TCP proxy that adds a delay to each direction (a wide-area
 * link on one machine; this kernel has no `tc netem`). The delay line is
 * testing/latency_proxy.ts; this is its command line.
 *
 * Usage:
 *   deno run --allow-net scripts/latency_proxy.ts --listen [HOST:]PORT --to HOST:PORT --delay MS
 *     [--buffer BYTES]
 *
 * `--delay` is added to each direction (the round trip grows by twice it);
 * `--listen 0` lets the OS choose the port. One line on stdout says where it
 * listens; it runs until SIGINT or SIGTERM. `--buffer` bounds the bytes one
 * direction of one connection holds (default 64 MiB): throughput per
 * connection is at most buffer / delay.
 *
 * @module
 */
import { LatencyProxy } from "../testing/latency_proxy.ts";

const USAGE = "usage: latency_proxy.ts --listen [HOST:]PORT --to HOST:PORT --delay MS " +
  "[--buffer BYTES]";

function hostPort(s: string, defaultHost?: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(s);
  const host = m ? (m[1] ?? m[2]) : defaultHost;
  const port = Number(m ? m[3] : s);
  if (!host || !/^\d+$/.test(m ? m[3] : s) || port > 65535) {
    throw new Error(`not a ${defaultHost ? "[HOST:]PORT" : "HOST:PORT"}: ${s}`);
  }
  return { hostname: host, port };
}

function parse(args: string[]) {
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i += 2) {
    const [name, value] = [args[i], args[i + 1]];
    if (!["--listen", "--to", "--delay", "--buffer"].includes(name)) {
      throw new Error(`unknown option ${name}`);
    }
    if (value === undefined) throw new Error(`${name} needs a value`);
    values.set(name, value);
  }
  for (const name of ["--listen", "--to", "--delay"]) {
    if (!values.has(name)) throw new Error(`${name} is required`);
  }
  const delayMs = Number(values.get("--delay"));
  if (!Number.isFinite(delayMs) || delayMs < 0) {
    throw new Error(`--delay takes a number of ms >= 0, not ${values.get("--delay")}`);
  }
  const buffer = values.has("--buffer") ? Number(values.get("--buffer")) : undefined;
  if (buffer !== undefined && !(Number.isInteger(buffer) && buffer > 0)) {
    throw new Error(`--buffer takes a number of bytes > 0, not ${values.get("--buffer")}`);
  }
  const listen = hostPort(values.get("--listen")!, "127.0.0.1");
  return {
    ...listen,
    target: hostPort(values.get("--to")!),
    delayMs,
    maxBufferedBytes: buffer,
  };
}

async function main(args: string[]): Promise<number> {
  let options;
  try {
    options = parse(args);
  } catch (err) {
    console.error(`latency_proxy: ${err instanceof Error ? err.message : err} (${USAGE})`);
    return 1;
  }
  const { maxBufferedBytes, ...rest } = options;
  let proxy: LatencyProxy;
  try {
    proxy = LatencyProxy.start(maxBufferedBytes ? { ...rest, maxBufferedBytes } : rest);
  } catch (err) {
    console.error(`latency_proxy: cannot listen: ${err instanceof Error ? err.message : err}`);
    return 1;
  }
  const { target, delayMs } = options;
  console.log(
    `latency proxy listening on ${proxy.hostname}:${proxy.port} -> ${target.hostname}:` +
      `${target.port}, +${delayMs} ms each way (round trip +${2 * delayMs} ms)`,
  );
  await new Promise<void>((resolve) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, resolve);
  });
  await proxy.close();
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
