/**
 * The situations each exit code of movescu and getscu stands for, played
 * by a scripted archive (qr_peer.ts) or no peer at all, with the code our
 * tool gives and the code DCMTK 3.6.7's tool gave when measured the same
 * way (tests/cli/retrieve_exit_codes.test.ts measures both again;
 * `deno run -A scripts/dcmtk_exit_codes.ts` prints the table for the
 * README).
 *
 * @module
 */
import type { DimseMessage } from "../lib/dimse/messages.ts";
import { type ReceivedRequest, type ScriptedResponse, startQrPeer } from "./qr_peer.ts";
import { freePort } from "./procs.ts";

/** One situation, for one tool. */
export interface RetrieveExitScenario {
  tool: "movescu" | "getscu";
  /** What happens, in the README's words. */
  name: string;
  /** The archive's answer to the retrieve, or "none" (nothing listens). */
  peer: ((r: ReceivedRequest) => ScriptedResponse[]) | "none";
  /** Options before the peer. */
  args: string[];
  /** Our tool's exit code. */
  ours: number;
  /** DCMTK 3.6.7's, as measured. */
  dcmtk: number;
}

/** A final response with `status` and the counts remaining/completed/failed/warning. */
function final(status: number, counts: [number, number, number, number]) {
  return (r: ReceivedRequest): ScriptedResponse[] => [{
    message: {
      type: r.message.type === "C-GET-RQ" ? "C-GET-RSP" : "C-MOVE-RSP",
      messageIdBeingRespondedTo: (r.message as { messageId: number }).messageId,
      affectedSopClassUid: r.abstractSyntax,
      status,
      remainingSuboperations: counts[0],
      completedSuboperations: counts[1],
      failedSuboperations: counts[2],
      warningSuboperations: counts[3],
    } as DimseMessage,
  }];
}

const KEYS = ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=1.2.3.4"];

function both(
  name: string,
  peer: RetrieveExitScenario["peer"],
  args: string[],
  ours: number,
  dcmtk: { movescu: number; getscu: number },
): RetrieveExitScenario[] {
  return (["movescu", "getscu"] as const).map((tool) => ({
    tool,
    name,
    peer,
    args,
    ours,
    dcmtk: dcmtk[tool],
  }));
}

/** Every scenario, each for both tools. */
export const RETRIEVE_EXIT_SCENARIOS: readonly RetrieveExitScenario[] = [
  ...both("success", final(0, [0, 1, 0, 0]), KEYS, 0, { movescu: 0, getscu: 0 }),
  ...both("command line error", "none", ["--bogus", ...KEYS], 1, { movescu: 1, getscu: 1 }),
  ...both("no query keys nor query file", "none", [], 1, { movescu: 1, getscu: 1 }),
  ...both("connection refused", "none", KEYS, 60, { movescu: 61, getscu: 1 }),
  ...both(
    "final status 0xB000 (some sub-operations failed)",
    final(0xb000, [0, 1, 1, 0]),
    KEYS,
    68,
    { movescu: 68, getscu: 0 },
  ),
  ...both("final status 0xA801 (move destination unknown)", final(0xa801, [0, 0, 0, 0]), KEYS, 69, {
    movescu: 69,
    getscu: 0,
  }),
  ...both("final status 0xC000 (unable to process)", final(0xc000, [0, 0, 0, 0]), KEYS, 69, {
    movescu: 69,
    getscu: 0,
  }),
  ...both("the archive aborts the association", () => [{ abort: true }], KEYS, 70, {
    movescu: 0,
    getscu: 1,
  }),
  ...both("no response within -td 1", () => [], ["-td", "1", ...KEYS], 71, {
    movescu: 0,
    getscu: 1,
  }),
];

/**
 * Runs one scenario with `run` (our tool or DCMTK's, given the argument
 * list) and returns its exit code.
 */
export async function playRetrieveScenario(
  s: RetrieveExitScenario,
  run: (args: string[]) => Promise<number>,
): Promise<number> {
  const respond = s.peer;
  const peer = respond === "none" ? undefined : startQrPeer({
    respond: (r) =>
      r.message.type === "C-MOVE-RQ" || r.message.type === "C-GET-RQ" ? respond(r) : [],
  });
  try {
    const port = peer?.port ?? freePort();
    return await run([...s.args, "127.0.0.1", String(port)]);
  } finally {
    await peer?.close();
  }
}
