/**
 * Query/Retrieve DIMSE messages against DCMTK 3.6.7, live: the command sets
 * its findscu, movescu and getscu send equal ours byte for byte, and what
 * they print for the responses we send (their `-d` dumps, their `-v` status
 * words) equals what our dump and status functions say.
 *
 * Without DCMTK the tests are skipped locally (with a warning) and the file
 * fails in CI (dcmtkAvailable() throws at load).
 */

import assert from "node:assert/strict";
import { encodeCommandSet } from "../../lib/dimse/command.ts";
import { dumpMessage } from "../../lib/dimse/dump.ts";
import { type DimseMessage, messageToCommandSet } from "../../lib/dimse/messages.ts";
import { type QueryRetrieveService, statusLogText, statusMeaning } from "../../lib/dimse/status.ts";
import { QUERY_RETRIEVE_SOP_CLASSES as QR } from "../../lib/dicom/uids.ts";
import { uidName } from "../../lib/dicom/uid_names.ts";
import { dcmtkAvailable, show } from "../../testing/procs.ts";
import {
  preferring,
  type ReceivedRequest,
  runAgainstPeer,
  type ScriptedResponse,
} from "../../testing/qr_peer.ts";

const HAVE_DCMTK = dcmtkAvailable(["findscu", "movescu", "getscu"]);
const IMPLICIT_LE = "1.2.840.10008.1.2";

/** The responses to a request. */
type Answer = (request: ReceivedRequest) => ScriptedResponse[];

/** Runs a DCMTK tool against a peer that accepts implicit VR little endian and answers `answer`. */
function againstPeer(tool: string, args: string[], answer: Answer) {
  return runAgainstPeer(tool, args, preferring(IMPLICIT_LE, answer));
}

/** The id of a request message, for its responses. */
function idOf(request: ReceivedRequest): number {
  const m = request.message;
  return "messageId" in m ? m.messageId : m.messageIdBeingRespondedTo;
}

/** Sub-operation counts for retrieve responses. */
const COUNTS = {
  remainingSuboperations: 1,
  completedSuboperations: 2,
  failedSuboperations: 3,
  warningSuboperations: 4,
};

/** A final response of the service with `status` (counts for retrieves). */
function finalResponse(request: ReceivedRequest, status: number): DimseMessage {
  const base = {
    messageIdBeingRespondedTo: idOf(request),
    affectedSopClassUid: request.abstractSyntax,
    status,
  };
  switch (request.message.type) {
    case "C-FIND-RQ":
      return { type: "C-FIND-RSP", ...base };
    case "C-MOVE-RQ":
      return { type: "C-MOVE-RSP", ...base, ...COUNTS };
    default:
      return { type: "C-GET-RSP", ...base, ...COUNTS };
  }
}

/** The INCOMING DIMSE MESSAGE blocks of a `-d` output, without the `D: ` prefix. */
function incomingDumps(output: string): string[] {
  const lines = output.split("\n").map((l) => l.replace(/^D: /, ""));
  const blocks: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].includes("INCOMING DIMSE MESSAGE")) continue;
    const end = lines.indexOf(
      "======================= END DIMSE MESSAGE =======================",
      i,
    );
    blocks.push(lines.slice(i, end + 1).join("\n"));
    i = end;
  }
  return blocks;
}

const STUDY_KEY = ["-k", "QueryRetrieveLevel=STUDY"];

Deno.test({
  name:
    "DCMTK findscu, movescu, getscu, findscu --cancel: their command sets are ours, byte for byte",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    const find = await againstPeer("findscu", ["-S", ...STUDY_KEY], (r) => [
      { message: finalResponse(r, 0) },
    ]);
    const move = await againstPeer("movescu", ["-S", "-aem", "DEST", ...STUDY_KEY], (r) => [
      { message: finalResponse(r, 0) },
    ]);
    const get = await againstPeer("getscu", ["-P", ...STUDY_KEY], (r) => [
      { message: finalResponse(r, 0) },
    ]);
    // Three pending responses; findscu cancels after the first.
    const identifier = new Uint8Array([
      0x08,
      0,
      0x52,
      0,
      6,
      0,
      0,
      0,
      ...Array.from("STUDY ", (c) => c.charCodeAt(0)),
    ]);
    const cancel = await againstPeer(
      "findscu",
      ["--cancel", "1", "-S", ...STUDY_KEY],
      (r): ScriptedResponse[] => {
        if (r.message.type !== "C-FIND-RQ") return [];
        const pending = { ...finalResponse(r, 0xff00), datasetPresent: true } as DimseMessage;
        return [
          ...[1, 2, 3].map(() => ({ message: pending, dataset: identifier })),
          { message: finalResponse(r, 0) },
        ];
      },
    );
    const expected: [typeof find, DimseMessage[]][] = [
      [find, [{
        type: "C-FIND-RQ",
        messageId: 1,
        affectedSopClassUid: QR.studyRoot.find,
        priority: 0,
      }]],
      [move, [{
        type: "C-MOVE-RQ",
        messageId: 1,
        affectedSopClassUid: QR.studyRoot.move,
        priority: 0,
        moveDestination: "DEST",
      }]],
      [get, [{
        type: "C-GET-RQ",
        messageId: 1,
        affectedSopClassUid: QR.patientRoot.get,
        priority: 0,
      }]],
      [cancel, [
        { type: "C-FIND-RQ", messageId: 1, affectedSopClassUid: QR.studyRoot.find, priority: 0 },
        { type: "C-CANCEL-RQ", messageIdBeingRespondedTo: 1 },
      ]],
    ];
    for (const [got, messages] of expected) {
      assert.equal(got.run.code, 0, show(got.run));
      assert.deepEqual(got.requests.map((r) => r.message), messages, show(got.run));
      messages.forEach((m, i) =>
        assert.deepEqual(got.requests[i].command, encodeCommandSet(messageToCommandSet(m)), m.type)
      );
    }
  },
});

Deno.test({
  name: "DCMTK findscu, movescu, getscu -d dump our responses as we dump them",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    const sent: DimseMessage[] = [];
    const respond = (statuses: number[]): Answer => (r) =>
      statuses.map((status) => {
        const message = finalResponse(r, status);
        sent.push(message);
        return { message };
      });
    for (
      const [tool, args, statuses, withContext] of [
        ["movescu", ["-d", "-S", "-aem", "DEST", ...STUDY_KEY], [0xff00, 0xb000], false],
        ["getscu", ["-d", "-S", ...STUDY_KEY], [0xff00, 0xa702], true],
        ["findscu", ["-d", "-S", ...STUDY_KEY], [0xa900], false],
      ] as const
    ) {
      sent.length = 0;
      const { run, output } = await againstPeer(tool, [...args], respond([...statuses]));
      const dumps = incomingDumps(output);
      assert.equal(dumps.length, statuses.length, show(run));
      sent.forEach((message, i) =>
        assert.equal(
          dumps[i],
          dumpMessage(message, "INCOMING", { contextId: withContext ? 1 : undefined, uidName }),
          `${tool}, response ${i + 1}`,
        )
      );
    }
  },
});

Deno.test({
  name: "DCMTK findscu, movescu, getscu -v name our final statuses as statusLogText does",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    const samples: [QueryRetrieveService, string, string[], number[]][] = [
      ["C-FIND", "findscu", ["-S", ...STUDY_KEY], [0x0000, 0xa700, 0xc123, 0xfe00, 0xa801]],
      ["C-MOVE", "movescu", ["-S", "-aem", "X", ...STUDY_KEY], [0xa801, 0xa702, 0xb000, 0xc001]],
      ["C-GET", "getscu", ["-S", ...STUDY_KEY], [0xa701, 0xa801, 0xb000, 0xfe00]],
    ];
    for (const [service, tool, args, codes] of samples) {
      for (const code of codes) {
        const { run, output } = await againstPeer(tool, ["-v", ...args], (r) => [
          { message: finalResponse(r, code) },
        ]);
        const words = statusLogText(code, service);
        assert.ok(
          output.includes(`Response (${words})`),
          `${service} 0x${code.toString(16)}: expected (${words})\n${show(run)}`,
        );
        const debug = await againstPeer(tool, ["-d", ...args], (r) => [
          { message: finalResponse(r, code) },
        ]);
        const status = `: 0x${code.toString(16).padStart(4, "0")}: ${statusMeaning(code, service)}`;
        assert.ok(debug.output.includes(`DIMSE Status                  ${status}\n`), status);
      }
    }
  },
});
