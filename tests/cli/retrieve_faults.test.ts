/**
 * movescu and getscu against a scripted archive (testing/qr_peer.ts) that
 * misbehaves or fails: an abort in the middle of a retrieve, a response
 * for a message ID we did not send, a response of the wrong type, a final
 * response with a malformed identifier, and the statuses whose diagnosis
 * names the next step (0xA701, 0xC000, 0xB000 with its Failed SOP Instance
 * UID List). Each ends with its exit code and one plain line; none with a
 * stack trace.
 */
import assert from "node:assert/strict";
import { attribute, encodeAttributes } from "../../lib/dicom/attributes.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN } from "../../lib/dicom/uids.ts";
import type { CGetRsp, CMoveRsp, DimseMessage } from "../../lib/dimse/messages.ts";
import { type ReceivedRequest, type ScriptedResponse, startQrPeer } from "../../testing/qr_peer.ts";
import { runTool, show } from "../../testing/procs.ts";
import { lineProblems } from "../../testing/json_lines.ts";

const KEYS = ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=1.2.3.4"];

function rsp(
  request: ReceivedRequest,
  status: number,
  counts: [number, number, number, number],
  extra: Partial<CMoveRsp> = {},
): DimseMessage {
  const [
    remainingSuboperations,
    completedSuboperations,
    failedSuboperations,
    warningSuboperations,
  ] = counts;
  const type = request.message.type === "C-GET-RQ" ? "C-GET-RSP" : "C-MOVE-RSP";
  return {
    type,
    messageIdBeingRespondedTo: (request.message as { messageId: number }).messageId,
    affectedSopClassUid: request.abstractSyntax,
    status,
    remainingSuboperations,
    completedSuboperations,
    failedSuboperations,
    warningSuboperations,
    ...extra,
  } as CMoveRsp | CGetRsp;
}

/** Runs `tool` against a peer answering its retrieve with `answer`. */
async function against(
  tool: "movescu" | "getscu",
  args: string[],
  answer: (r: ReceivedRequest) => ScriptedResponse[],
) {
  const peer = startQrPeer({
    respond: (r) =>
      r.message.type === "C-MOVE-RQ" || r.message.type === "C-GET-RQ" ? answer(r) : [],
  });
  try {
    const run = await runTool(tool, [...args, ...KEYS, "127.0.0.1", String(peer.port)]);
    assert.doesNotMatch(run.stderr, /internal error| {4}at /, show(run));
    return run;
  } finally {
    await peer.close();
  }
}

for (const tool of ["movescu", "getscu"] as const) {
  Deno.test(`${tool}: the archive aborts in the middle of the retrieve: exit 70, said once`, async () => {
    const run = await against(tool, [], (r) => [
      { message: rsp(r, 0xff00, [2, 1, 0, 0]) },
      { abort: true },
    ]);
    assert.equal(run.code, 70, show(run));
    assert.match(run.stderr, /A-ABORT|aborted/i);
    assert.match(
      run.stderr,
      new RegExp(`^${tool}: .*failed: association aborted \\(exit 70\\)$`, "m"),
    );
  });

  Deno.test(`${tool}: a response for a message ID we did not send: protocol error, exit 70`, async () => {
    const run = await against(tool, ["--json"], (r) => [
      { message: { ...rsp(r, 0, [0, 1, 0, 0]), messageIdBeingRespondedTo: 999 } as DimseMessage },
    ]);
    assert.equal(run.code, 70, show(run));
    for (const l of run.stdout.trimEnd().split("\n")) assert.deepEqual(lineProblems(l), [], l);
    const summary = JSON.parse(run.stdout.trimEnd().split("\n").at(-1)!);
    assert.equal(summary.outcome, "aborted");
    assert.match(
      String(summary.diagnosis),
      /with C-MOVE-RSP \(message ID 999, none of ours\)|with C-GET-RSP \(message ID 999, none of ours\)/,
    );
  });

  Deno.test(`${tool}: a response of the wrong type answering the retrieve: exit 70`, async () => {
    const run = await against(tool, [], (r) => [{
      message: {
        type: "C-FIND-RSP",
        messageIdBeingRespondedTo: (r.message as { messageId: number }).messageId,
        affectedSopClassUid: r.abstractSyntax,
        status: 0,
      } as DimseMessage,
    }]);
    assert.equal(run.code, 70, show(run));
  });

  Deno.test(`${tool}: a final response with a malformed identifier: the counts still judged`, async () => {
    const run = await against(tool, [], (r) => [{
      message: rsp(r, 0xb000, [0, 2, 1, 0], { datasetPresent: true }),
      dataset: new Uint8Array([0x08, 0x00, 0x58, 0x00, 0x55, 0x49, 0xff, 0xff, 1, 2]),
    }]);
    assert.equal(run.code, 68, show(run));
    assert.match(run.stderr, /^E: 1 sub-operation of 3 failed/m);
  });
}

Deno.test("movescu: 0xB000 with its Failed SOP Instance UID List: exit 68 as DCMTK's, the UIDs named", async () => {
  const failed = encodeAttributes(
    [attribute(0x00080058, "1.2.3.4.5.6\\1.2.3.4.5.7")],
    EXPLICIT_VR_LITTLE_ENDIAN,
  );
  const run = await against(
    "movescu",
    ["--json", "-aem", "ELSEWHERE"],
    (r) => [{ message: rsp(r, 0xb000, [0, 1, 2, 0], { datasetPresent: true }), dataset: failed }],
  );
  assert.equal(run.code, 68, show(run));
  assert.match(
    run.stderr,
    /^E: 2 sub-operations of 3 failed to 'ELSEWHERE' \(0xB000 .*\(failed SOP instances: 1\.2\.3\.4\.5\.6, 1\.2\.3\.4\.5\.7\): check that 'ELSEWHERE' is running/m,
  );
  const summary = JSON.parse(run.stdout.trimEnd().split("\n").at(-1)!);
  assert.deepEqual(summary.failedSopInstanceUids, ["1.2.3.4.5.6", "1.2.3.4.5.7"]);
  assert.equal(summary.outcome, "retrieve-warning");
});

Deno.test("movescu: 0xA701 and 0xC000 are refusals (exit 69), each with its next step", async () => {
  const tooMany = await against("movescu", [], (r) => [{ message: rsp(r, 0xa701, [0, 0, 0, 0]) }]);
  assert.equal(tooMany.code, 69, show(tooMany));
  assert.match(tooMany.stderr, /^E: the archive refused: too many matches .*narrow the query/m);
  const cannot = await against("movescu", [], (r) => [{ message: rsp(r, 0xc000, [0, 0, 0, 0]) }]);
  assert.equal(cannot.code, 69, show(cannot));
  assert.match(
    cannot.stderr,
    /^E: the archive could not process the request \(0xC000 .*QueryRetrieveLevel/m,
  );
});

Deno.test("getscu: the counts as pending responses arrive, DCMTK's final report", async () => {
  const run = await against("getscu", ["-v"], (r) => [
    { message: rsp(r, 0xff00, [1, 0, 0, 0]) },
    { message: rsp(r, 0x0000, [0, 0, 0, 0]) },
  ]);
  assert.equal(run.code, 0, show(run));
  assert.match(
    run.stderr,
    /^I: Received C-GET Response \(Pending\)\nI: Received C-GET Response \(Success\)$/m,
  );
  assert.match(run.stderr, /^I: {3}Number of Remaining Suboperations : 0$/m);
});

Deno.test("movescu --cancel 1: a C-CANCEL-RQ after the first response; the archive's Cancel is no failure", async () => {
  let moveId = 0;
  const peer = startQrPeer({
    respond: (r) => {
      if (r.message.type === "C-MOVE-RQ") {
        moveId = r.message.messageId;
        return [{ message: rsp(r, 0xff00, [3, 1, 0, 0]) }];
      }
      if (r.message.type === "C-CANCEL-RQ") {
        assert.equal(r.message.messageIdBeingRespondedTo, moveId);
        const cancelled: CMoveRsp = {
          type: "C-MOVE-RSP",
          messageIdBeingRespondedTo: moveId,
          affectedSopClassUid: r.abstractSyntax,
          status: 0xfe00,
          remainingSuboperations: 2,
          completedSuboperations: 1,
          failedSuboperations: 0,
          warningSuboperations: 0,
        };
        return [{ message: cancelled }];
      }
      return [];
    },
  });
  try {
    const run = await runTool("movescu", [
      "-v",
      "--cancel",
      "1",
      ...KEYS,
      "127.0.0.1",
      String(peer.port),
    ]);
    assert.equal(run.code, 0, show(run));
    assert.match(run.stderr, /^I: Sending Cancel Request \(MsgID 1\)$/m);
    assert.match(run.stderr, /^I: Received Final Move Response \(Cancel: /m);
    assert.ok(peer.requests.some((q) => q.message.type === "C-CANCEL-RQ"));
  } finally {
    await peer.close();
  }
});
