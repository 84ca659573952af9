/**
 * Our echo SCU and SCP in one process over an in-memory transport: what our
 * own code (UL, channel, request path, server loop, codecs) costs per C-ECHO
 * on both sides, without sockets, the kernel or the event loop's I/O. A/B
 * friendly (run it in two worktrees, alternating): a change to the per-message
 * path shows here at a few percent, where the socket round trip of
 * `deno task bench --only echo` varies by tens of percent on a loaded machine.
 *
 * Usage: deno run --allow-read --allow-env scripts/bench_echo_memory.ts [ECHOES] [WARM-UP]
 * (defaults 20000 and 3000; the warm-up echoes let the JIT settle first).
 *
 * @module
 */
import process from "node:process";
import { associate } from "../lib/ae/associate.ts";
import { DicomServer } from "../lib/ae/server.ts";
import { echoHandler, verificationPolicy } from "../lib/cli/echoscp/echo_handler.ts";
import { NULL_LOGGER } from "../lib/log/logger.ts";
import type { Transport, TransportListener } from "../lib/transport/transport.ts";
import { memoryTransportPair } from "../testing/memory_transport.ts";

const echoes = Number(Deno.args[0] ?? 20_000);
const warmUp = Number(Deno.args[1] ?? 3_000);

/** A listener whose connections are the server ends of memory pairs made by `connect`. */
const waiting: Transport[] = [];
let accepting: ((t: Transport | null) => void) | undefined;
const listener: TransportListener = {
  local: { host: "127.0.0.1", port: 104 },
  accept: () =>
    waiting.length > 0
      ? Promise.resolve(waiting.shift()!)
      : new Promise((resolve) => accepting = resolve),
  close: () => accepting?.(null),
};
function connect(): Promise<Transport> {
  const [ours, theirs] = memoryTransportPair();
  if (accepting) {
    const accept = accepting;
    accepting = undefined;
    accept(theirs);
  } else waiting.push(theirs);
  return Promise.resolve(ours);
}

// The server as echoscp runs it by default (timeouts and transfer floor included).
const server = await DicomServer.open({
  hostname: "127.0.0.1",
  port: 104,
  logger: NULL_LOGGER,
  policy: verificationPolicy({ aeTitle: "ANY-SCP", maxPdu: 16384, preference: "uncompressed" }),
  handlers: { "C-ECHO-RQ": echoHandler },
  acseTimeoutMs: 30_000,
  dimseTimeoutMs: 60_000,
  socketTimeoutMs: 60_000,
  transferFloor: { bytesPerSecond: 1024, windowMs: 30_000 },
  freeDescriptors: 1000,
  listen: () => listener,
});
const assoc = await associate("ANY-SCP@127.0.0.1:104", { connect });
for (let i = 0; i < warmUp; i++) await assoc.echo();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < echoes; i++) await assoc.echo();
const wallUs = (performance.now() - t0) * 1000 / echoes;
const cpu = process.cpuUsage(cpu0);
await assoc.release();
await server.stop();
console.log(
  `${echoes} echoes in memory, both sides: ${wallUs.toFixed(1)} us each, CPU ` +
    `${((cpu.user + cpu.system) / echoes).toFixed(1)} us (user ${(cpu.user / echoes).toFixed(1)})`,
);
