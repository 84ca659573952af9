/**
 * The diagnoses of movescu and getscu (lib/cli/common/retrieve.ts) as
 * units: from a final response, what our storage SCP saw and what the
 * archive granted, the one line naming the cause and the next step. The
 * live cases (unknown destination, not listening, wrong port...) are in
 * tests/interop/retrieve_dcmqrscp.test.ts; here the ones a test archive
 * cannot be made to produce.
 */
import assert from "node:assert/strict";
import {
  type CallbackObservation,
  explainRetrieve,
  type RetrieveResponseRecord,
  type RetrieveResult,
  retrieveVerdict,
} from "../../lib/cli/common/retrieve.ts";

const MR = "1.2.840.10008.5.1.4.1.1.4";
const JPEG_LOSSLESS = "1.2.840.10008.1.2.4.70";

function final(status: number, failed: number, completed = 0, uids: string[] = []) {
  return {
    retrieve: 1,
    messageId: 1,
    status,
    pending: false,
    counts: {
      remainingSuboperations: 0,
      completedSuboperations: completed,
      failedSuboperations: failed,
      warningSuboperations: 0,
    },
    failedSopInstanceUids: uids,
  } satisfies RetrieveResponseRecord;
}

function result(op: "move" | "get", f: RetrieveResponseRecord): RetrieveResult {
  return {
    outcome: "retrieve-failed",
    peer: { host: "10.0.0.5", port: 104 },
    callingAeTitle: "MOVESCU",
    calledAeTitle: "PACS",
    timings: {},
    operation: op,
    model: "study",
    destination: op === "move" ? "MOVESCU" : undefined,
    planned: 1,
    responses: [f],
    received: [],
    final: f,
    rolesRefused: [],
  };
}

Deno.test("verdicts: success, failed sub-operations behind a Success, warnings, refusals, cancel", () => {
  assert.equal(retrieveVerdict(final(0, 0, 3), false), "success");
  assert.equal(retrieveVerdict(final(0, 1, 2), false), "retrieve-warning");
  assert.equal(retrieveVerdict(final(0xb000, 1, 2), false), "retrieve-warning");
  assert.equal(retrieveVerdict(final(0xa801, 0), false), "retrieve-failed");
  assert.equal(retrieveVerdict(final(0xc123, 0), false), "retrieve-failed");
  assert.equal(retrieveVerdict(final(0xfe00, 0), true), "success");
  assert.equal(retrieveVerdict(final(0xfe00, 0), false), "retrieve-failed");
});

Deno.test("a move destination the archive does not know: add it with our host and --port", () => {
  const seen: CallbackObservation = { port: 11113, associations: 0, refused: [] };
  assert.equal(
    explainRetrieve(result("move", final(0xa801, 0)), seen, "10.0.0.9"),
    "the archive does not know the move destination 'MOVESCU' (0xA801 (Refused: Move " +
      "Destination unknown)): ask its administrator to add AE title 'MOVESCU' with host " +
      "10.0.0.9, port 11113 (this machine as the archive sees it, and --port), or name a " +
      "destination it knows with -aem",
  );
});

Deno.test("our SCP refused what the archive offered: which classes, which syntaxes, and +xa", () => {
  const seen: CallbackObservation = {
    port: 11113,
    associations: 1,
    refused: [
      { sopClassUid: MR, transferSyntaxes: [JPEG_LOSSLESS], reason: "syntax" },
      { sopClassUid: "1.2.826.0.1.3680043.9.7433.99.1", transferSyntaxes: [], reason: "class" },
    ],
  };
  const line = explainRetrieve(
    result("move", final(0xa702, 2, 0, ["1.2.3.1", "1.2.3.2"])),
    seen,
    "10.0.0.9",
  )!;
  assert.match(line, /^the archive connected back but our storage SCP refused what it offered: /);
  assert.match(line, /MRImageStorage offered only in JPEGLossless.*\(accept them with \+xa/);
  assert.match(line, /1\.2\.826\.0\.1\.3680043\.9\.7433\.99\.1: storage classes we do not accept/);
  assert.match(
    line,
    /2 failed sub-operations\)\s*\(failed SOP instances: 1\.2\.3\.1, 1\.2\.3\.2\)$/,
  );
});

Deno.test("it connected back and delivered nothing, though we refused nothing", () => {
  const seen: CallbackObservation = { port: 11113, associations: 1, refused: [] };
  assert.match(
    explainRetrieve(result("move", final(0xa702, 1)), seen, "10.0.0.9")!,
    /^the archive connected back to port 11113 but did not deliver 1 instance .*no presentation context/,
  );
});

Deno.test("an instance we could not store: its status and -od", () => {
  const r = result("get", final(0xb000, 1, 1));
  r.received.push({
    peer: { host: "10.0.0.5", port: 104 },
    callingAeTitle: "PACS",
    calledAeTitle: "GETSCU",
    messageId: 2,
    sopClassUid: MR,
    sopInstanceUid: "1.2.3.4",
    transferSyntax: "1.2.840.10008.1.2.1",
    path: null,
    status: 0xa700,
    bytes: 10,
    ms: 1,
    diagnosis: "cannot write file: No space left on device",
  });
  assert.match(
    explainRetrieve(r, undefined, undefined)!,
    /^1 instance sent to us could not be stored \(status 0xA700: cannot write file: No space left on device\): check -od/,
  );
});

Deno.test("C-GET: storage classes whose SCP role the archive refused are named", () => {
  const r = result("get", final(0xb000, 2, 0));
  r.rolesRefused = [MR];
  assert.match(
    explainRetrieve(r, undefined, undefined)!,
    /the archive did not accept our SCP role \(or a context\) for 1 storage class \(MRImageStorage\), so it cannot send those with C-GET: use movescu/,
  );
});

Deno.test("a complete success has no diagnosis", () => {
  const r = result("get", final(0, 0, 3));
  r.outcome = "success";
  assert.equal(explainRetrieve(r, undefined, undefined), undefined);
});
