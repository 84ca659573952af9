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
import { findRsp, studyMatch } from "./find_responses.ts";
import { startQrPeer } from "./qr_peer.ts";

/** What a scripted Q/R peer answers a C-FIND with (findscu's scenarios). */
export type FindBehaviour =
  /** These statuses, a match with each pending one. */
  | { kind: "statuses"; statuses: number[] }
  /** A match whose identifier is malformed, then Success. */
  | { kind: "malformed" }
  /** A response to a message ID never sent. */
  | { kind: "wrong-id" }
  /** Nothing. */
  | { kind: "silent" };

/** The keys findscu's scenarios query with. */
const FIND_KEYS = ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientName"];

/** One situation, for one tool. */
export interface ExitScenario {
  tool: "echoscu" | "storescu" | "findscu";
  /** What happens, in the README's words. */
  name: string;
  /** The peer: a fake SCP's behaviour, a Q/R peer's (findscu), or "none" (nothing listens). */
  peer: FakeBehaviour | FindBehaviour | "none";
  /** Options before the peer (storescu's file is appended after the port). */
  args: string[];
  /** storescu: send a file that does not exist. */
  missingFile?: boolean;
  /** Our tool's exit code. */
  ours: number;
  /** DCMTK 3.6.7's, as measured. */
  dcmtk: number;
}

/** Every scenario, echoscu's, storescu's, then findscu's. */
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
  ...([
    ["success", { kind: "statuses", statuses: [0xff00, 0] }, [], 0, 0],
    ["command line error", "none", ["--bogus"], 1, 1],
    ["a -k key that names no attribute", "none", ["-k", "NoSuchKeyword=1"], 1, 2],
    ["connection refused", "none", [], 60, 2],
    ["association rejected", { kind: "reject", result: 1, source: 1, reason: 7 }, [], 61, 2],
    ["peer closes without answering the A-ASSOCIATE-RQ", { kind: "close-after-rq" }, [], 66, 2],
    ["no acceptable presentation context", { kind: "refuse-contexts", result: 3 }, [], 67, 2],
    ["C-FIND ended with 0xA700", { kind: "statuses", statuses: [0xa700] }, [], 68, 0],
    ["C-FIND ended with 0xA900", { kind: "statuses", statuses: [0xa900] }, [], 68, 0],
    ["C-FIND ended with 0xC000", { kind: "statuses", statuses: [0xff00, 0xc000] }, [], 68, 0],
    ["no C-FIND-RSP within -td 1", { kind: "silent" }, ["-td", "1"], 69, 0],
    ["a response to a message ID never sent", { kind: "wrong-id" }, [], 70, 0],
    ["a malformed identifier", { kind: "malformed" }, [], 71, 0],
  ] as const).map(([name, peer, args, ours, dcmtk]): ExitScenario => ({
    tool: "findscu",
    name,
    peer: peer as ExitScenario["peer"],
    args: [...args],
    ours,
    dcmtk,
  })),
];

const FIND_KINDS = new Set(["statuses", "malformed", "wrong-id", "silent"]);
const TS = "1.2.840.10008.1.2.1";

/** A scripted Q/R peer answering C-FINDs as `b` says. */
function startFindPeer(b: FindBehaviour): { port: number; close(): Promise<void> } {
  return startQrPeer({
    chooseTransferSyntax: (p) => p.includes(TS) ? TS : p[0],
    respond: (rq) => {
      if (rq.message.type !== "C-FIND-RQ") return [];
      const match = studyMatch(rq.transferSyntax, "1.2.3.4", "Doe^Jane");
      switch (b.kind) {
        case "statuses":
          return b.statuses.map((s) => findRsp(rq, s, (s & 0xff00) === 0xff00 ? match : undefined));
        case "malformed":
          return [
            findRsp(rq, 0xff00, new Uint8Array([0x10, 0, 0x10, 0, 0x50, 0x4e, 0xff, 0x7f])),
            findRsp(rq, 0),
          ];
        case "wrong-id":
          return [findRsp(rq, 0, undefined, 77)];
        case "silent":
          return [];
      }
    },
  });
}

/**
 * Runs one scenario with `run` (our tool or DCMTK's, given the argument
 * list) and returns its exit code.
 */
export async function playScenario(
  s: ExitScenario,
  file: string,
  run: (args: string[]) => Promise<number>,
): Promise<number> {
  const fake = s.peer === "none"
    ? undefined
    : FIND_KINDS.has(s.peer.kind)
    ? startFindPeer(s.peer as FindBehaviour)
    : startFakeScp(s.peer as FakeBehaviour);
  try {
    const port = fake?.port ?? freePort();
    const files = s.tool === "storescu" ? [s.missingFile ? `${file}.missing` : file] : [];
    const keys = s.tool === "findscu" ? FIND_KEYS : [];
    return await run([...keys, ...s.args, "127.0.0.1", String(port), ...files]);
  } finally {
    await fake?.close();
  }
}
