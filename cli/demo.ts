/**
 * demo: the main job on an embedded default. Starts our echoscp on an
 * ephemeral 127.0.0.1 port, runs our echoscu against it, prints the result.
 *
 * @module
 */
import { createLogger } from "../lib/log/logger.ts";
import { echoHandler, verificationPolicy } from "../lib/net/echo_scp.ts";
import { runEchoScu } from "../lib/net/echo_scu.ts";
import { DicomServer } from "../lib/net/server.ts";
import { uidName } from "../lib/uids.ts";
import { ECHO_EXIT_CODES } from "./echoscu.ts";

/** Runs the demo; resolves with echoscu's exit code. */
export async function main(): Promise<number> {
  const server = DicomServer.start({
    hostname: "127.0.0.1",
    port: 0,
    logger: createLogger({ level: "warn", name: "echoscp" }),
    policy: verificationPolicy({ aeTitle: "ECHOSCP", maxPdu: 16384, preference: "uncompressed" }),
    handlers: { "C-ECHO-RQ": echoHandler },
    acseTimeoutMs: 30_000,
  });
  const { host, port } = server.local;
  console.log(`echoscp listening on ${host}:${port} (AE title ECHOSCP)`);
  console.log(`echoscu -v -pts 3 --repeat 3 -aec ECHOSCP ${host} ${port}`);
  try {
    const r = await runEchoScu({
      host,
      port,
      family: "ipv4",
      callingAeTitle: "ECHOSCU",
      calledAeTitle: "ECHOSCP",
      proposeTs: 3,
      proposePc: 1,
      maxPdu: 16384,
      acseTimeoutMs: 30_000,
      socketTimeoutMs: 60_000,
      repeat: 3,
      abort: false,
      logger: createLogger({ level: "info", name: "echoscu" }),
    });
    const rtts = r.echoes.map((e) => `${e.roundTripMs.toFixed(2)} ms`).join(", ");
    console.log(
      r.outcome === "success"
        ? `C-ECHO ${r.echoes.map((e) => e.statusText).join(", ")} over ` +
          `${uidName(r.transferSyntax!)}: round trips ${rtts}; connect ` +
          `${r.timings.connectMs?.toFixed(2)} ms, associate ${
            r.timings.associateMs?.toFixed(2)
          } ms, ` +
          `release ${r.timings.releaseMs?.toFixed(2)} ms`
        : `C-ECHO failed (${r.outcome}): ${r.diagnosis}`,
    );
    return ECHO_EXIT_CODES[r.outcome];
  } finally {
    await server.stop();
  }
}

if (import.meta.main) Deno.exit(await main());
