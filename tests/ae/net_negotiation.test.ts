import assert from "node:assert/strict";
import {
  acceptedContexts,
  answerAssociateRq,
  buildAssociateRq,
  preferredTransferSyntaxes,
  repeatedContexts,
} from "../../lib/ae/negotiation.ts";
import { verificationPolicy } from "../../lib/cli/echoscp/echo_handler.ts";
import { explainReject } from "../../lib/cli/common/diagnose.ts";
import { describeReject } from "../../lib/ul/reasons.ts";
import type { AssociateAcPdu, AssociateRqPdu } from "../../lib/pdu/types.ts";
import { ECHO_TRANSFER_SYNTAXES, VERIFICATION_SOP_CLASS } from "../../lib/dicom/uids.ts";
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from "../../lib/util/version.ts";
import { decodePdu, encodePdu } from "../../lib/pdu/codec.ts";

const ILE = "1.2.840.10008.1.2";
const ELE = "1.2.840.10008.1.2.1";
const EBE = "1.2.840.10008.1.2.2";

function rq(contexts = repeatedContexts(VERIFICATION_SOP_CLASS, [ILE, ELE, EBE], 2)) {
  return buildAssociateRq({
    aeTitle: "ECHOSCU",
    calledAeTitle: "ANY-SCP",
    maxPdu: 16384,
    presentationContexts: contexts,
  });
}

const policy = (pref: "uncompressed" | "big" | "implicit", allowed?: string[]) =>
  verificationPolicy({
    aeTitle: "ECHOSCP",
    maxPdu: 32768,
    preference: pref,
    allowedCallingAeTitles: allowed,
  });

Deno.test("the RQ carries our identity and odd context IDs 1, 3, 5... (-ppc)", () => {
  const r = rq(repeatedContexts(VERIFICATION_SOP_CLASS, [ILE], 128));
  assert.deepEqual(r.presentationContexts.map((c) => c.id).slice(0, 3), [1, 3, 5]);
  assert.equal(r.presentationContexts.at(-1)!.id, 255);
  assert.equal(r.userInformation.implementationClassUid, IMPLEMENTATION_CLASS_UID);
  assert.equal(r.userInformation.implementationVersionName, IMPLEMENTATION_VERSION_NAME);
  assert.equal(r.userInformation.maxLength, 16384);
  // It must survive the wire: encode then decode gives the same RQ.
  assert.deepEqual(decodePdu(encodePdu(r)), r);
});

Deno.test("-pts n proposes the first n of DCMTK's 53 transfer syntaxes in order", () => {
  assert.equal(ECHO_TRANSFER_SYNTAXES.length, 53);
  assert.deepEqual(ECHO_TRANSFER_SYNTAXES.slice(0, 3).map((t) => t.uid), [ILE, ELE, EBE]);
  assert.equal(new Set(ECHO_TRANSFER_SYNTAXES.map((t) => t.uid)).size, 53);
});

Deno.test("acceptor: -x= prefers explicit LE, -xb explicit BE, -xi implicit only", () => {
  for (const [pref, want] of [["uncompressed", ELE], ["big", EBE], ["implicit", ILE]] as const) {
    const ac = answerAssociateRq(rq(), policy(pref)) as AssociateAcPdu;
    assert.equal(ac.type, "A-ASSOCIATE-AC");
    assert.deepEqual(ac.presentationContexts.map((c) => [c.id, c.result, c.transferSyntax]), [
      [1, 0, want],
      [3, 0, want],
    ]);
    assert.equal(ac.userInformation.maxLength, 32768);
  }
  assert.deepEqual(preferredTransferSyntaxes("little"), [ELE, EBE, ILE]);
});

Deno.test("acceptor: unknown abstract syntax -> result 3; no common TS -> result 4", () => {
  const r = rq([
    { id: 1, abstractSyntax: "1.2.3.4", transferSyntaxes: [ILE] },
    { id: 3, abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [ELE] },
    { id: 5, abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [ILE] },
  ]);
  const ac = answerAssociateRq(r, policy("implicit")) as AssociateAcPdu;
  assert.deepEqual(ac.presentationContexts.map((c) => c.result), [3, 4, 0]);
  assert.deepEqual(acceptedContexts(r, ac), [
    { id: 5, abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntax: ILE },
  ]);
});

Deno.test("acceptor: calling AE title filter rejects with 1/1/3; exact and case-sensitive", () => {
  assert.deepEqual(answerAssociateRq(rq(), policy("uncompressed", ["echoscu"])), {
    type: "A-ASSOCIATE-RJ",
    result: 1,
    source: 1,
    reason: 3,
  });
  assert.equal(answerAssociateRq(rq(), policy("uncompressed", ["ECHOSCU"])).type, "A-ASSOCIATE-AC");
});

Deno.test("acceptor: a non-DICOM application context is rejected with 1/1/2", () => {
  const r: AssociateRqPdu = { ...rq(), applicationContext: "1.2.3" };
  assert.deepEqual(answerAssociateRq(r, policy("uncompressed")), {
    type: "A-ASSOCIATE-RJ",
    result: 1,
    source: 1,
    reason: 2,
  });
});

Deno.test("requestor: an accepted TS we never proposed makes the context unusable", () => {
  const r = rq(repeatedContexts(VERIFICATION_SOP_CLASS, [ILE], 1));
  const ac = answerAssociateRq(r, policy("implicit")) as AssociateAcPdu;
  ac.presentationContexts[0].transferSyntax = EBE;
  assert.deepEqual(acceptedContexts(r, ac), []);
});

Deno.test("rejections in DCMTK's words, with a plain diagnosis", () => {
  const rj = (result: number, source: number, reason: number) =>
    ({ type: "A-ASSOCIATE-RJ", result, source, reason }) as const;
  assert.deepEqual(describeReject(rj(1, 1, 1)), [
    "Result: Rejected Permanent, Source: Service User",
    "Reason: No Reason",
  ]);
  assert.deepEqual(describeReject(rj(2, 3, 1)), [
    "Result: Rejected Transient, Source: Service Provider (Presentation Related Function)",
    "Reason: Temporary Congestion",
  ]);
  assert.deepEqual(describeReject(rj(1, 2, 2)), [
    "Result: Rejected Permanent, Source: Service Provider (ACSE Related Function)",
    "Reason: Protocol Version Not Supported",
  ]);
  assert.equal(describeReject(rj(3, 9, 9))[1], "Reason: Reserved (9)");
  const ae = { calling: "ME", called: "PACS" };
  assert.match(
    explainReject(rj(1, 1, 7), ae),
    /called AE title 'PACS' not recognized: -aec must match/,
  );
  assert.match(explainReject(rj(1, 1, 7), ae), /case-sensitive/);
  assert.match(explainReject(rj(1, 1, 3), ae), /calling AE title 'ME' not recognized.*-aet/);
  assert.match(explainReject(rj(2, 3, 2), ae), /limit.*\(transient: retrying later may work\)/);
});
