/**
 * The situations each exit code of echoscu and storescu stands for, played
 * by a fake SCP (or no peer at all), with the code our tool gives and the
 * code DCMTK 3.6.7's tool gave when measured the same way (tests/
 * exit_codes.test.ts measures both again; `deno run -A
 * scripts/dcmtk_exit_codes.ts` prints the table for the README).
 *
 * @module
 */
import { type FakeBehaviour, startFakeScp } from "./fake_scp.ts";
import { freePort } from "./procs.ts";

/** One situation, for one tool. */
export interface ExitScenario {
  tool: "echoscu" | "storescu";
  /** What happens, in the README's words. */
  name: string;
  /** The peer: a fake SCP's behaviour, or "none" (nothing listens). */
  peer: FakeBehaviour | "none";
  /** Options before the peer (storescu's file is appended after the port). */
  args: string[];
  /** storescu: send a file that does not exist. */
  missingFile?: boolean;
  /** Our tool's exit code. */
  ours: number;
  /** DCMTK 3.6.7's, as measured. */
  dcmtk: number;
}

/** Every scenario, echoscu's then storescu's. */
export const EXIT_SCENARIOS: readonly ExitScenario[] = [
  {
    tool: "echoscu",
    name: "success",
    peer: { kind: "answer", status: 0 },
    args: [],
    ours: 0,
    dcmtk: 0,
  },
  {
    tool: "echoscu",
    name: "command line error",
    peer: "none",
    args: ["--bogus"],
    ours: 1,
    dcmtk: 1,
  },
  { tool: "echoscu", name: "connection refused", peer: "none", args: [], ours: 60, dcmtk: 1 },
  {
    tool: "echoscu",
    name: "association rejected",
    peer: { kind: "reject", result: 1, source: 1, reason: 7 },
    args: [],
    ours: 61,
    dcmtk: 1,
  },
  {
    tool: "echoscu",
    name: "peer closes without answering the A-ASSOCIATE-RQ",
    peer: { kind: "close-after-rq" },
    args: [],
    ours: 66,
    dcmtk: 1,
  },
  {
    tool: "echoscu",
    name: "peer answers in HTTP",
    peer: { kind: "http" },
    args: [],
    ours: 66,
    dcmtk: 1,
  },
  {
    tool: "echoscu",
    name: "no acceptable presentation context",
    peer: { kind: "refuse-contexts", result: 3 },
    args: [],
    ours: 67,
    dcmtk: 1,
  },
  {
    tool: "echoscu",
    name: "C-ECHO answered with failure status 0x0110",
    peer: { kind: "answer", status: 0x0110 },
    args: [],
    ours: 68,
    dcmtk: 0,
  },
  {
    tool: "echoscu",
    name: "no C-ECHO-RSP within -td 1",
    peer: { kind: "silent-after-accept" },
    args: ["-td", "1"],
    ours: 69,
    dcmtk: 70,
  },
  {
    tool: "echoscu",
    name: "peer aborts after accepting (service-user)",
    peer: { kind: "abort-on-request", source: 0, reason: 0 },
    args: [],
    ours: 70,
    dcmtk: 0,
  },
  {
    tool: "storescu",
    name: "success",
    peer: { kind: "answer", status: 0 },
    args: [],
    ours: 0,
    dcmtk: 0,
  },
  {
    tool: "storescu",
    name: "command line error",
    peer: "none",
    args: ["--bogus"],
    ours: 1,
    dcmtk: 1,
  },
  {
    tool: "storescu",
    name: "input file missing",
    peer: { kind: "answer", status: 0 },
    args: [],
    missingFile: true,
    ours: 1,
    dcmtk: 1,
  },
  { tool: "storescu", name: "connection refused", peer: "none", args: [], ours: 60, dcmtk: 1 },
  {
    tool: "storescu",
    name: "association rejected",
    peer: { kind: "reject", result: 1, source: 1, reason: 7 },
    args: [],
    ours: 61,
    dcmtk: 1,
  },
  {
    tool: "storescu",
    name: "peer closes without answering the A-ASSOCIATE-RQ",
    peer: { kind: "close-after-rq" },
    args: [],
    ours: 66,
    dcmtk: 1,
  },
  {
    tool: "storescu",
    name: "no acceptable presentation context",
    peer: { kind: "refuse-contexts", result: 3 },
    args: [],
    ours: 67,
    dcmtk: 1,
  },
  {
    tool: "storescu",
    name: "C-STORE refused with 0xA700",
    peer: { kind: "answer", status: 0xa700 },
    args: [],
    ours: 167,
    dcmtk: 167,
  },
  {
    tool: "storescu",
    name: "no C-STORE-RSP within -td 1",
    peer: { kind: "silent-after-accept" },
    args: ["-td", "1"],
    ours: 69,
    dcmtk: 1,
  },
  {
    tool: "storescu",
    name: "peer aborts during the store",
    peer: { kind: "abort-on-request", source: 0, reason: 0 },
    args: [],
    ours: 10,
    dcmtk: 10,
  },
];

/**
 * Runs one scenario with `run` (our tool or DCMTK's, given the argument
 * list) and returns its exit code.
 */
export async function playScenario(
  s: ExitScenario,
  file: string,
  run: (args: string[]) => Promise<number>,
): Promise<number> {
  const fake = s.peer === "none" ? undefined : startFakeScp(s.peer);
  try {
    const port = fake?.port ?? freePort();
    const files = s.tool === "storescu" ? [s.missingFile ? `${file}.missing` : file] : [];
    return await run([...s.args, "127.0.0.1", String(port), ...files]);
  } finally {
    await fake?.close();
  }
}
