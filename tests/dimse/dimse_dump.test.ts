/** DCMTK-style DIMSE dumps, compared with DCMTK 3.6.7 output. */

import assert from "node:assert/strict";
import { dumpMessage } from "../../lib/dimse/dump.ts";

const NAMES: Record<string, string> = {
  "1.2.840.10008.1.1": "VerificationSOPClass",
  "1.2.840.10008.5.1.4.1.1.7": "SecondaryCaptureImageStorage",
};
const uidName = (uid: string) => NAMES[uid];

Deno.test("dump: incoming C-ECHO RQ equals storescp -d (testing/fixtures/dcmtk367_storescp_debug.log)", () => {
  const expected = [
    "===================== INCOMING DIMSE MESSAGE ====================",
    "Message Type                  : C-ECHO RQ",
    "Presentation Context ID       : 1",
    "Message ID                    : 1",
    "Data Set                      : none",
    "======================= END DIMSE MESSAGE =======================",
  ].join("\n");
  const dump = dumpMessage(
    { type: "C-ECHO-RQ", messageId: 1, affectedSopClassUid: "1.2.840.10008.1.1" },
    "INCOMING",
    { contextId: 1 },
  );
  assert.equal(dump, expected);
});

Deno.test("dump: outgoing C-STORE RQ equals storescu -d", () => {
  const expected = [
    "===================== OUTGOING DIMSE MESSAGE ====================",
    "Message Type                  : C-STORE RQ",
    "Message ID                    : 1",
    "Affected SOP Class UID        : SecondaryCaptureImageStorage",
    "Affected SOP Instance UID     : 1.2.3.4.5",
    "Data Set                      : present",
    "Priority                      : medium",
    "======================= END DIMSE MESSAGE =======================",
  ].join("\n");
  const dump = dumpMessage(
    {
      type: "C-STORE-RQ",
      messageId: 1,
      affectedSopClassUid: "1.2.840.10008.5.1.4.1.1.7",
      affectedSopInstanceUid: "1.2.3.4.5",
      priority: 0,
    },
    "OUTGOING",
    { uidName },
  );
  assert.equal(dump, expected);
});

Deno.test("dump: incoming C-STORE RSP equals storescu -d", () => {
  const expected = [
    "===================== INCOMING DIMSE MESSAGE ====================",
    "Message Type                  : C-STORE RSP",
    "Presentation Context ID       : 201",
    "Message ID Being Responded To : 1",
    "Affected SOP Class UID        : SecondaryCaptureImageStorage",
    "Affected SOP Instance UID     : 1.2.3.4.5",
    "Data Set                      : none",
    "DIMSE Status                  : 0x0000: Success",
    "======================= END DIMSE MESSAGE =======================",
  ].join("\n");
  const dump = dumpMessage(
    {
      type: "C-STORE-RSP",
      messageIdBeingRespondedTo: 1,
      affectedSopClassUid: "1.2.840.10008.5.1.4.1.1.7",
      affectedSopInstanceUid: "1.2.3.4.5",
      status: 0,
    },
    "INCOMING",
    { contextId: 201, uidName },
  );
  assert.equal(dump, expected);
});

Deno.test("dump: C-ECHO RSP, C-STORE RSP without UIDs and with a failure status", () => {
  assert.equal(
    dumpMessage(
      { type: "C-ECHO-RSP", messageIdBeingRespondedTo: 5, status: 0 },
      "OUTGOING",
      { contextId: 3 },
    ),
    [
      "===================== OUTGOING DIMSE MESSAGE ====================",
      "Message Type                  : C-ECHO RSP",
      "Presentation Context ID       : 3",
      "Message ID Being Responded To : 5",
      "Affected SOP Class UID        : none",
      "Data Set                      : none",
      "DIMSE Status                  : 0x0000: Success",
      "======================= END DIMSE MESSAGE =======================",
    ].join("\n"),
  );
  const store = dumpMessage(
    { type: "C-STORE-RSP", messageIdBeingRespondedTo: 2, status: 0xa700 },
    "OUTGOING",
  ).split("\n");
  assert.equal(store[3], "Affected SOP Class UID        : none");
  assert.equal(store[4], "Affected SOP Instance UID     : none");
  // DCMTK prints the code with C++ std::hex: lower case.
  assert.equal(store[6], "DIMSE Status                  : 0xa700: Refused: Out of resources");
});

Deno.test("dump: C-STORE RQ with move originator and unnamed UID", () => {
  const lines = dumpMessage(
    {
      type: "C-STORE-RQ",
      messageId: 9,
      affectedSopClassUid: "1.2.3",
      affectedSopInstanceUid: "4.5.6",
      priority: 1,
      moveOriginatorAeTitle: "MOVER",
      moveOriginatorMessageId: 77,
    },
    "INCOMING",
    { contextId: 5, uidName },
  ).split("\n");
  assert.deepEqual(lines.slice(4), [
    "Affected SOP Class UID        : 1.2.3",
    "Affected SOP Instance UID     : 4.5.6",
    "Data Set                      : present",
    "Priority                      : high",
    "Move Originator AE Title      : MOVER",
    "Move Originator ID            : 77",
    "======================= END DIMSE MESSAGE =======================",
  ]);
});
