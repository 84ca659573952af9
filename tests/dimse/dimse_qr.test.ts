/**
 * Query/Retrieve DIMSE messages (PS3.7 9.1.2-9.1.4, 9.3.2-9.3.4): command
 * sets byte for byte as DCMTK 3.6.7 sends them, status wording as DCMTK
 * prints it, and the `-d` dumps of its findscu, movescu and getscu.
 *
 * The vectors were captured from the wire: requests from DCMTK's findscu,
 * movescu and getscu (and findscu --cancel) talking to testing/qr_peer.ts,
 * responses from DCMTK's dcmqrscp answering a raw SCU.
 * tests/interop/dimse_qr_dcmtk.test.ts repeats the request captures live whenever
 * DCMTK is installed.
 */

import assert from "node:assert/strict";
import { decodeCommandSet, encodeCommandSet } from "../../lib/dimse/command.ts";
import { dumpMessage } from "../../lib/dimse/dump.ts";
import {
  commandSetToMessage,
  type DimseMessage,
  messageToCommandSet,
  PRIORITY,
} from "../../lib/dimse/messages.ts";
import {
  type QueryRetrieveService,
  statusCategory,
  statusLogText,
  statusMeaning,
} from "../../lib/dimse/status.ts";
import { QUERY_RETRIEVE_SOP_CLASSES as QR } from "../../lib/dicom/uids.ts";
import { uidName } from "../../lib/dicom/uid_names.ts";
import { hex } from "../../testing/hex.ts";

/** One captured command set and the message it is. */
interface Vector {
  name: string;
  bytes: string;
  message: DimseMessage;
}

const STUDY = QR.studyRoot;
// The study root SOP class UIDs as their command elements carry them: tag, length 28, UID + NUL.
const FIND_UID = "02001c000000 312e322e3834302e31303030382e352e312e342e312e322e322e3100";
const MOVE_UID = "02001c000000 312e322e3834302e31303030382e352e312e342e312e322e322e3200";
const GET_UID = "02001c000000 312e322e3834302e31303030382e352e312e342e312e322e322e3300";

const VECTORS: Vector[] = [
  {
    name: "findscu -S: C-FIND-RQ",
    bytes: `00000000 04000000 4c000000 0000${FIND_UID}
      0000 0001 02000000 2000   // CommandField C-FIND-RQ
      0000 1001 02000000 0100   // MessageID 1
      0000 0007 02000000 0000   // Priority medium
      0000 0008 02000000 0100   // CommandDataSetType: identifier follows`,
    message: { type: "C-FIND-RQ", messageId: 1, affectedSopClassUid: STUDY.find, priority: 0 },
  },
  {
    name: "movescu -S -aem DEST: C-MOVE-RQ",
    bytes: `00000000 04000000 58000000 0000${MOVE_UID}
      0000 0001 02000000 2100
      0000 1001 02000000 0100
      0000 0006 04000000 44455354   // MoveDestination DEST
      0000 0007 02000000 0000
      0000 0008 02000000 0100`,
    message: {
      type: "C-MOVE-RQ",
      messageId: 1,
      affectedSopClassUid: STUDY.move,
      priority: PRIORITY.medium,
      moveDestination: "DEST",
    },
  },
  {
    name: "getscu -S: C-GET-RQ",
    bytes: `00000000 04000000 4c000000 0000${GET_UID}
      0000 0001 02000000 1000
      0000 1001 02000000 0100
      0000 0007 02000000 0000
      0000 0008 02000000 0100`,
    message: { type: "C-GET-RQ", messageId: 1, affectedSopClassUid: STUDY.get, priority: 0 },
  },
  {
    name: "findscu --cancel 1: C-CANCEL-RQ",
    bytes: `00000000 04000000 1e000000
      0000 0001 02000000 ff0f   // CommandField C-CANCEL-RQ
      0000 2001 02000000 0100   // MessageIDBeingRespondedTo 1
      0000 0008 02000000 0101   // no data set`,
    message: { type: "C-CANCEL-RQ", messageIdBeingRespondedTo: 1 },
  },
  {
    name: "dcmqrscp: pending C-FIND-RSP with a match",
    bytes: `00000000 04000000 4c000000 0000${FIND_UID}
      0000 0001 02000000 2080
      0000 2001 02000000 0700
      0000 0008 02000000 0100
      0000 0009 02000000 00ff   // Status 0xFF00 Pending`,
    message: {
      type: "C-FIND-RSP",
      messageIdBeingRespondedTo: 7,
      affectedSopClassUid: STUDY.find,
      status: 0xff00,
      datasetPresent: true,
    },
  },
  {
    name: "dcmqrscp: final C-FIND-RSP",
    bytes: `00000000 04000000 4c000000 0000${FIND_UID}
      0000 0001 02000000 2080
      0000 2001 02000000 0700
      0000 0008 02000000 0101
      0000 0009 02000000 0000`,
    message: {
      type: "C-FIND-RSP",
      messageIdBeingRespondedTo: 7,
      affectedSopClassUid: STUDY.find,
      status: 0,
    },
  },
  {
    name: "dcmqrscp: pending C-MOVE-RSP after one sub-operation",
    bytes: `00000000 04000000 74000000 0000${MOVE_UID}
      0000 0001 02000000 2180
      0000 2001 02000000 0700
      0000 0008 02000000 0101
      0000 0009 02000000 00ff
      0000 2010 02000000 0000   // Remaining 0
      0000 2110 02000000 0100   // Completed 1
      0000 2210 02000000 0000   // Failed 0
      0000 2310 02000000 0000   // Warning 0`,
    message: {
      type: "C-MOVE-RSP",
      messageIdBeingRespondedTo: 7,
      affectedSopClassUid: STUDY.move,
      status: 0xff00,
      remainingSuboperations: 0,
      completedSuboperations: 1,
      failedSuboperations: 0,
      warningSuboperations: 0,
    },
  },
  {
    name: "dcmqrscp: final C-MOVE-RSP, no remaining count",
    bytes: `00000000 04000000 6a000000 0000${MOVE_UID}
      0000 0001 02000000 2180
      0000 2001 02000000 0700
      0000 0008 02000000 0101
      0000 0009 02000000 0000
      0000 2110 02000000 0100
      0000 2210 02000000 0000
      0000 2310 02000000 0000`,
    message: {
      type: "C-MOVE-RSP",
      messageIdBeingRespondedTo: 7,
      affectedSopClassUid: STUDY.move,
      status: 0,
      completedSuboperations: 1,
      failedSuboperations: 0,
      warningSuboperations: 0,
    },
  },
  {
    name: "dcmqrscp: C-MOVE-RSP to an unknown destination",
    bytes: `00000000 04000000 6a000000 0000${MOVE_UID}
      0000 0001 02000000 2180
      0000 2001 02000000 0700
      0000 0008 02000000 0101
      0000 0009 02000000 01a8   // Status 0xA801 Move Destination unknown
      0000 2110 02000000 0000
      0000 2210 02000000 0000
      0000 2310 02000000 0000`,
    message: {
      type: "C-MOVE-RSP",
      messageIdBeingRespondedTo: 7,
      affectedSopClassUid: STUDY.move,
      status: 0xa801,
      completedSuboperations: 0,
      failedSuboperations: 0,
      warningSuboperations: 0,
    },
  },
  {
    name: "dcmqrscp: pending C-GET-RSP",
    bytes: `00000000 04000000 74000000 0000${GET_UID}
      0000 0001 02000000 1080
      0000 2001 02000000 0700
      0000 0008 02000000 0101
      0000 0009 02000000 00ff
      0000 2010 02000000 0000
      0000 2110 02000000 0100
      0000 2210 02000000 0000
      0000 2310 02000000 0000`,
    message: {
      type: "C-GET-RSP",
      messageIdBeingRespondedTo: 7,
      affectedSopClassUid: STUDY.get,
      status: 0xff00,
      remainingSuboperations: 0,
      completedSuboperations: 1,
      failedSuboperations: 0,
      warningSuboperations: 0,
    },
  },
  {
    name: "dcmqrscp: C-STORE-RQ sub-operation of a C-GET",
    bytes: `00000000 04000000 60000000
      0000 0200 1a000000 312e322e3834302e31303030382e352e312e342e312e312e3700
      0000 0001 02000000 0100
      0000 1001 02000000 0100
      0000 0007 02000000 0000
      0000 0008 02000000 0100
      0000 0010 0e000000 312e322e332e342e3130302e3100`,
    message: {
      type: "C-STORE-RQ",
      messageId: 1,
      affectedSopClassUid: "1.2.840.10008.5.1.4.1.1.7",
      affectedSopInstanceUid: "1.2.3.4.100.1",
      priority: 0,
    },
  },
];

Deno.test("Q/R vectors: DCMTK's command sets decode to the message, which encodes to the same bytes", () => {
  for (const v of VECTORS) {
    const bytes = hex(v.bytes);
    assert.deepEqual(commandSetToMessage(decodeCommandSet(bytes)), v.message, v.name);
    assert.deepEqual(encodeCommandSet(messageToCommandSet(v.message)), bytes, v.name);
  }
});

interface StatusRow {
  service: QueryRetrieveService;
  status: string;
  dump: string;
  log: string;
}

const FIXTURE: { responses: StatusRow[] } = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/dcmtk367_qr_statuses.json", import.meta.url)),
);

Deno.test("Q/R statuses: DCMTK 3.6.7's dump and log wording of every captured code", () => {
  assert.equal(FIXTURE.responses.length, 132);
  for (const row of FIXTURE.responses) {
    const code = parseInt(row.status, 16);
    const where = `${row.service} ${row.status}`;
    assert.equal(statusMeaning(code, row.service), row.dump, `${where} dump`);
    assert.equal(statusLogText(code, row.service), row.log, `${where} log`);
  }
});

Deno.test("Q/R statuses: classes of PS3.4 C.4 (pending, cancel, warning, failure)", () => {
  const cases: [number, string][] = [
    [0xff00, "pending"],
    [0xff01, "pending"],
    [0xfe00, "cancel"],
    [0xb000, "warning"],
    [0xa700, "failure"],
    [0xa701, "failure"],
    [0xa702, "failure"],
    [0xa801, "failure"],
    [0xa900, "failure"],
    [0xc000, "failure"],
    [0xcfff, "failure"],
    [0x0000, "success"],
  ];
  for (const [code, category] of cases) assert.equal(statusCategory(code), category);
});

// The -d dumps below are DCMTK 3.6.7's, captured from findscu, movescu and getscu.
const RQ_DUMPS: [DimseMessage, number, string[]][] = [
  [VECTORS[0].message, 1, [
    "===================== OUTGOING DIMSE MESSAGE ====================",
    "Message Type                  : C-FIND RQ",
    "Presentation Context ID       : 1",
    "Message ID                    : 1",
    "Affected SOP Class UID        : FINDStudyRootQueryRetrieveInformationModel",
    "Data Set                      : present",
    "Priority                      : medium",
    "======================= END DIMSE MESSAGE =======================",
  ]],
  [VECTORS[1].message, 3, [
    "===================== OUTGOING DIMSE MESSAGE ====================",
    "Message Type                  : C-MOVE RQ",
    "Presentation Context ID       : 3",
    "Message ID                    : 1",
    "Affected SOP Class UID        : MOVEStudyRootQueryRetrieveInformationModel",
    "Data Set                      : present",
    "Priority                      : medium",
    "Move Destination              : DEST",
    "======================= END DIMSE MESSAGE =======================",
  ]],
];

Deno.test("Q/R dumps: outgoing C-FIND RQ and C-MOVE RQ as findscu -d and movescu -d print them", () => {
  for (const [message, contextId, lines] of RQ_DUMPS) {
    assert.equal(dumpMessage(message, "OUTGOING", { contextId, uidName }), lines.join("\n"));
  }
});

Deno.test("Q/R dumps: getscu -d prints the C-GET RQ with its identifier", () => {
  const lines = [
    "===================== OUTGOING DIMSE MESSAGE ====================",
    "Message Type                  : C-GET RQ",
    "Presentation Context ID       : 1",
    "Message ID                    : 1",
    "Affected SOP Class UID        : GETStudyRootQueryRetrieveInformationModel",
    "Data Set                      : present",
    "Priority                      : medium",
    "-----------------------------------------------------------------",
    "# Dicom-Data-Set",
    "# Used TransferSyntax: Little Endian Explicit",
    "(0008,0052) CS [STUDY]                                  #   6, 1 QueryRetrieveLevel",
    "======================= END DIMSE MESSAGE =======================",
  ];
  const dataset = lines.slice(8, 11);
  assert.equal(
    dumpMessage(VECTORS[2].message, "OUTGOING", { contextId: 1, uidName, dataset }),
    lines.join("\n"),
  );
});

Deno.test("Q/R dumps: incoming responses, counts given or left out", () => {
  const cases: [DimseMessage, number | undefined, string[]][] = [
    [
      {
        type: "C-FIND-RSP",
        messageIdBeingRespondedTo: 1,
        affectedSopClassUid: STUDY.find,
        status: 0xff00,
        datasetPresent: true,
      },
      undefined,
      [
        "Message Type                  : C-FIND RSP",
        "Message ID Being Responded To : 1",
        "Affected SOP Class UID        : FINDStudyRootQueryRetrieveInformationModel",
        "Data Set                      : present",
        "DIMSE Status                  : 0xff00: Pending: Matches are continuing",
      ],
    ],
    [
      {
        type: "C-MOVE-RSP",
        messageIdBeingRespondedTo: 1,
        affectedSopClassUid: STUDY.move,
        status: 0,
        remainingSuboperations: 0,
        completedSuboperations: 0,
        failedSuboperations: 0,
        warningSuboperations: 0,
      },
      undefined,
      [
        "Message Type                  : C-MOVE RSP",
        "Message ID Being Responded To : 1",
        "Affected SOP Class UID        : MOVEStudyRootQueryRetrieveInformationModel",
        "Remaining Suboperations       : 0",
        "Completed Suboperations       : 0",
        "Failed Suboperations          : 0",
        "Warning Suboperations         : 0",
        "Data Set                      : none",
        "DIMSE Status                  : 0x0000: Success: Sub-operations complete - " +
        "No failures or warnings",
      ],
    ],
    [
      { type: "C-GET-RSP", messageIdBeingRespondedTo: 1, status: 0xff01 },
      1,
      [
        "Message Type                  : C-GET RSP",
        "Presentation Context ID       : 1",
        "Message ID Being Responded To : 1",
        "Affected SOP Class UID        : none",
        "Remaining Suboperations       : none",
        "Completed Suboperations       : none",
        "Failed Suboperations          : none",
        "Warning Suboperations         : none",
        "Data Set                      : none",
        "DIMSE Status                  : 0xff01: Pending",
      ],
    ],
  ];
  for (const [message, contextId, body] of cases) {
    const expected = [
      "===================== INCOMING DIMSE MESSAGE ====================",
      ...body,
      "======================= END DIMSE MESSAGE =======================",
    ];
    assert.equal(dumpMessage(message, "INCOMING", { contextId, uidName }), expected.join("\n"));
  }
});

Deno.test("Q/R dumps: C-CANCEL RQ in the layout of DCMTK's other dumps", () => {
  assert.equal(
    dumpMessage({ type: "C-CANCEL-RQ", messageIdBeingRespondedTo: 5 }, "OUTGOING", {
      contextId: 1,
    }),
    [
      "===================== OUTGOING DIMSE MESSAGE ====================",
      "Message Type                  : C-CANCEL RQ",
      "Presentation Context ID       : 1",
      "Message ID Being Responded To : 5",
      "Data Set                      : none",
      "======================= END DIMSE MESSAGE =======================",
    ].join("\n"),
  );
});
