/**
 * DCMTK-style `-d` dumps, compared line for line with real DCMTK 3.6.7
 * output (the "D: " logger prefix stripped).
 */

import assert from "node:assert/strict";
import { uidName } from "../../lib/dicom/uid_names.ts";
import { formatAssociateDump, formatPduHeaderAndHex } from "../../lib/pdu/dump.ts";
import type { AssociateAcPdu, AssociateRqPdu } from "../../lib/pdu/types.ts";
import {
  DCMTK_AC,
  DCMTK_RQ,
  dcmtkAc,
  dcmtkRq,
  fixtureDump,
  FULL_USER_INFORMATION,
  h,
} from "../../testing/pdu_vectors.ts";

const OURS = {
  ourImplementationClassUid: "1.2.276.0.7230010.3.0.3.6.7",
  ourImplementationVersionName: "OFFIS_DCMTK_367",
  ourMaxPdu: 16384,
  uidName,
};

Deno.test("dump: PDU header line and hex, as DCMTK prints them", () => {
  for (const pdu of [DCMTK_RQ, DCMTK_AC]) {
    assert.deepEqual(formatPduHeaderAndHex(pdu.raw).split("\n"), pdu.lines);
  }
  assert.equal(
    formatPduHeaderAndHex(h`05 00 00000004 00000000`),
    "PDU Type: Release Request, PDU Length: 4 + 6 bytes PDU header\n  05  00  00  00  00  04  00  00  00  00",
  );
});

Deno.test("dump: requestor's A-ASSOCIATE-RQ (echoscu)", () => {
  assert.deepEqual(
    formatAssociateDump("A-ASSOCIATE-RQ", { rq: dcmtkRq(), we: "requestor", ...OURS }).split("\n"),
    fixtureDump("dcmtk367_echoscu_debug.log", "RQ"),
  );
});

Deno.test("dump: requestor's A-ASSOCIATE-AC (echoscu)", () => {
  const params = { rq: dcmtkRq(), ac: dcmtkAc(), we: "requestor" as const, ...OURS };
  assert.deepEqual(
    formatAssociateDump("A-ASSOCIATE-AC", params).split("\n"),
    fixtureDump("dcmtk367_echoscu_debug.log", "AC"),
  );
});

Deno.test("dump: acceptor's A-ASSOCIATE-RQ (storescp)", () => {
  assert.deepEqual(
    formatAssociateDump("A-ASSOCIATE-RQ", { rq: dcmtkRq(), we: "acceptor", ...OURS }).split("\n"),
    fixtureDump("dcmtk367_storescp_debug.log", "RQ"),
  );
});

Deno.test("dump: acceptor's A-ASSOCIATE-AC (storescp)", () => {
  const params = { rq: dcmtkRq(), ac: dcmtkAc(), we: "acceptor" as const, ...OURS };
  assert.deepEqual(
    formatAssociateDump("A-ASSOCIATE-AC", params).split("\n"),
    fixtureDump("dcmtk367_storescp_debug.log", "AC"),
  );
});

/** The presentation context lines of a dump. */
function contextLines(dump: string): string[] {
  const lines = dump.split("\n");
  return lines.slice(
    lines.indexOf("Presentation Contexts:") + 1,
    lines.findIndex((l) => l.startsWith("Requested Extended Negotiation")),
  );
}

Deno.test("dump: rejected contexts, roles and unknown UIDs", () => {
  const rq: AssociateRqPdu = {
    ...dcmtkRq(),
    presentationContexts: [1, 3, 5, 7, 9].map((id) => ({
      id,
      abstractSyntax: `1.2.3.${id}`,
      transferSyntaxes: ["1.2.840.10008.1.2"],
    })),
  };
  rq.userInformation = {
    ...rq.userInformation,
    roleSelections: [
      { sopClassUid: "1.2.3.1", scuRole: true, scpRole: true },
      { sopClassUid: "1.2.3.3", scuRole: false, scpRole: true },
    ],
  };
  const ac: AssociateAcPdu = {
    ...dcmtkAc(),
    presentationContexts: [
      { id: 1, result: 0, transferSyntax: "1.2.840.10008.1.2" },
      { id: 3, result: 1, transferSyntax: "" },
      { id: 5, result: 2, transferSyntax: "" },
      { id: 7, result: 3, transferSyntax: "" },
      { id: 9, result: 4, transferSyntax: "" },
    ],
  };
  ac.userInformation = {
    ...ac.userInformation,
    roleSelections: [{ sopClassUid: "1.2.3.1", scuRole: false, scpRole: true }],
  };
  const dump = formatAssociateDump("A-ASSOCIATE-AC", { rq, ac, we: "requestor", ...OURS });
  assert.deepEqual(contextLines(dump), [
    "  Context ID:        1 (Accepted)",
    "    Abstract Syntax: 1.2.3.1",
    "    Proposed SCP/SCU Role: SCP/SCU",
    "    Accepted SCP/SCU Role: SCP",
    "    Accepted Transfer Syntax: =LittleEndianImplicit",
    "  Context ID:        3 (User Rejection)",
    "    Abstract Syntax: 1.2.3.3",
    "    Proposed SCP/SCU Role: SCP",
    "    Accepted SCP/SCU Role: Default",
    "  Context ID:        5 (Provider Rejection)",
    "    Abstract Syntax: 1.2.3.5",
    "    Proposed SCP/SCU Role: Default",
    "    Accepted SCP/SCU Role: Default",
    "  Context ID:        7 (Abstract Syntax Not Supported)",
    "    Abstract Syntax: 1.2.3.7",
    "    Proposed SCP/SCU Role: Default",
    "    Accepted SCP/SCU Role: Default",
    "  Context ID:        9 (Transfer Syntaxes Not Supported)",
    "    Abstract Syntax: 1.2.3.9",
    "    Proposed SCP/SCU Role: Default",
    "    Accepted SCP/SCU Role: Default",
  ]);
});

Deno.test("dump: extended negotiation and user identity, credentials not shown", () => {
  const rq: AssociateRqPdu = { ...dcmtkRq(), userInformation: FULL_USER_INFORMATION };
  const ac: AssociateAcPdu = { ...dcmtkAc(), userInformation: FULL_USER_INFORMATION };
  const dump = formatAssociateDump("A-ASSOCIATE-AC", { rq, ac, we: "acceptor", ...OURS });
  const lines = dump.split("\n");
  assert.deepEqual(lines.slice(lines.indexOf("Requested Extended Negotiation:"), -1), [
    "Requested Extended Negotiation:",
    "  1.2",
    "    Application Information: [0x01, 0x02, 0x03]",
    "  1.2",
    "    Service Class: 1.2.3",
    "    Related General SOP Class: 1.2.4",
    "    Related General SOP Class: 1.2.5",
    "Accepted Extended Negotiation:",
    "  1.2",
    "    Application Information: [0x01, 0x02, 0x03]",
    "  1.2",
    "    Service Class: 1.2.3",
    "    Related General SOP Class: 1.2.4",
    "    Related General SOP Class: 1.2.5",
    "Requested User Identity Negotiation:",
    "  User Identity Type:          Username and Passcode",
    "  Positive Response Requested: Yes",
    "  Primary Field:               alice",
    "  Secondary Field:             (6 bytes)",
    "User Identity Negotiation Response:",
    "  Server Response:             (2 bytes)",
  ]);
  assert.ok(!dump.includes("secret"));
});

Deno.test("dump: peer text cannot break out of its line", () => {
  const rq: AssociateRqPdu = { ...dcmtkRq(), callingAeTitle: "EVIL\nI: forged" };
  const dump = formatAssociateDump("A-ASSOCIATE-RQ", { rq, we: "acceptor", ...OURS });
  assert.ok(dump.split("\n").includes("Calling Application Name:    EVIL\\x0aI: forged"));
});
