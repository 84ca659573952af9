/** Typed DIMSE messages (PS3.7 9.3.1, 9.3.5) and their validation (class 6). */

import assert from "node:assert/strict";
import { type CommandSet, decodeCommandSet, encodeCommandSet } from "../lib/dimse/command.ts";
import { DimseDecodeError } from "../lib/dimse/errors.ts";
import {
  COMMAND_FIELD,
  commandSetToMessage,
  type DimseMessage,
  hasDataset,
  messageToCommandSet,
  PRIORITY,
} from "../lib/dimse/messages.ts";

const VERIFICATION = "1.2.840.10008.1.1";
const SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7";

const SAMPLES: DimseMessage[] = [
  { type: "C-ECHO-RQ", messageId: 1, affectedSopClassUid: VERIFICATION },
  {
    type: "C-ECHO-RSP",
    messageIdBeingRespondedTo: 1,
    affectedSopClassUid: VERIFICATION,
    status: 0,
  },
  { type: "C-ECHO-RSP", messageIdBeingRespondedTo: 65535, status: 0x0211 },
  {
    type: "C-STORE-RQ",
    messageId: 7,
    affectedSopClassUid: SECONDARY_CAPTURE,
    affectedSopInstanceUid: "1.2.3.4.5",
    priority: PRIORITY.medium,
  },
  {
    type: "C-STORE-RQ",
    messageId: 8,
    affectedSopClassUid: SECONDARY_CAPTURE,
    affectedSopInstanceUid: "1.2.3.4.6",
    priority: PRIORITY.low,
    moveOriginatorAeTitle: "MOVESCU",
    moveOriginatorMessageId: 3,
  },
  {
    type: "C-STORE-RSP",
    messageIdBeingRespondedTo: 7,
    affectedSopClassUid: SECONDARY_CAPTURE,
    affectedSopInstanceUid: "1.2.3.4.5",
    status: 0x0000,
  },
  {
    type: "C-STORE-RSP",
    messageIdBeingRespondedTo: 9,
    status: 0xa900,
    errorComment: "SOP class mismatch",
    errorId: 4,
    offendingElement: [0x00080016],
  },
];

function assertMessageError(cmd: CommandSet, code: string, pattern: RegExp): DimseDecodeError {
  let caught: unknown;
  try {
    commandSetToMessage(cmd);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof DimseDecodeError, `expected DimseDecodeError, got ${caught}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, pattern);
  return caught;
}

Deno.test("messages: round trip through command set bytes", () => {
  for (const msg of SAMPLES) {
    const bytes = encodeCommandSet(messageToCommandSet(msg));
    assert.deepEqual(commandSetToMessage(decodeCommandSet(bytes)), msg);
  }
});

Deno.test("messages: command field and data set type follow the message type", () => {
  const expected = {
    "C-ECHO-RQ": [0x0030, false],
    "C-ECHO-RSP": [0x8030, false],
    "C-STORE-RQ": [0x0001, true],
    "C-STORE-RSP": [0x8001, false],
  } as const;
  for (const msg of SAMPLES) {
    const cmd = messageToCommandSet(msg);
    assert.equal(cmd.CommandField, expected[msg.type][0]);
    assert.equal(COMMAND_FIELD[msg.type], expected[msg.type][0]);
    assert.equal(hasDataset(msg), expected[msg.type][1]);
    assert.equal(cmd.CommandDataSetType === 0x0101, !expected[msg.type][1]);
  }
});

Deno.test("messages: C-STORE-RQ command set matches DCMTK storescu's elements", () => {
  const cmd = messageToCommandSet(SAMPLES[3]);
  // storescu -ll trace: (0000,0002) (0000,0100)=1 (0000,0110)=1 (0000,0700)=0
  // (0000,0800)=1 (0000,1000); no move originator elements when unset.
  assert.deepEqual(decodeCommandSet(encodeCommandSet(cmd)), {
    AffectedSOPClassUID: SECONDARY_CAPTURE,
    CommandField: 0x0001,
    MessageID: 7,
    Priority: 0,
    CommandDataSetType: 0x0001,
    AffectedSOPInstanceUID: "1.2.3.4.5",
  });
});

Deno.test("class 6: C-ECHO-RQ without AffectedSOPClassUID or MessageID", () => {
  const full = messageToCommandSet(SAMPLES[0]);
  const { AffectedSOPClassUID: _c, ...noClass } = full;
  const e1 = assertMessageError(noClass, "missing-element", /\(0000,0002\) AffectedSOPClassUID/);
  assert.equal(e1.tag, 0x00000002);
  assert.equal(e1.messageId, 1);
  const { MessageID: _m, ...noId } = full;
  const e2 = assertMessageError(
    noId,
    "missing-element",
    /C-ECHO-RQ without \(0000,0110\) MessageID/,
  );
  assert.equal(e2.tag, 0x00000110);
  assertMessageError(
    { ...full, AffectedSOPClassUID: "" },
    "missing-element",
    /AffectedSOPClassUID/,
  );
});

Deno.test("class 6: every mandatory element of every message type, removed one at a time", () => {
  const mandatory: Record<DimseMessage["type"], (keyof CommandSet)[]> = {
    "C-ECHO-RQ": ["CommandField", "MessageID", "AffectedSOPClassUID", "CommandDataSetType"],
    "C-ECHO-RSP": ["CommandField", "MessageIDBeingRespondedTo", "Status", "CommandDataSetType"],
    "C-STORE-RQ": [
      "CommandField",
      "MessageID",
      "AffectedSOPClassUID",
      "AffectedSOPInstanceUID",
      "Priority",
      "CommandDataSetType",
    ],
    "C-STORE-RSP": ["CommandField", "MessageIDBeingRespondedTo", "Status", "CommandDataSetType"],
  };
  for (const msg of SAMPLES) {
    for (const keyword of mandatory[msg.type]) {
      const cmd: CommandSet = { ...messageToCommandSet(msg) };
      delete cmd[keyword];
      assertMessageError(cmd, "missing-element", new RegExp(keyword));
    }
  }
});

Deno.test("class 6: unknown command field carries the raw field and message id", () => {
  for (const field of [0x0000, 0x0020, 0x8020, 0x0fff, 0x0100, 0xffff]) {
    const error = assertMessageError(
      { CommandField: field, MessageID: 42, CommandDataSetType: 0x0101 },
      "unknown-command",
      /unsupported CommandField 0x/,
    );
    assert.equal(error.commandField, field);
    assert.equal(error.messageId, 42);
  }
});

Deno.test("class 6: data set announced on the wrong message, and the reverse", () => {
  const echo = messageToCommandSet(SAMPLES[0]);
  assertMessageError(
    { ...echo, CommandDataSetType: 0x0001 },
    "bad-value",
    /no data set may follow/,
  );
  assertMessageError({ ...echo, CommandDataSetType: 0x0000 }, "bad-value", /0x0000/);
  const store = messageToCommandSet(SAMPLES[3]);
  assertMessageError(
    { ...store, CommandDataSetType: 0x0101 },
    "bad-value",
    /a data set must follow/,
  );
  const rsp = messageToCommandSet(SAMPLES[5]);
  assertMessageError({ ...rsp, CommandDataSetType: 0xfefe }, "bad-value", /C-STORE-RSP/);
  // Any value but 0x0101 announces a data set (PS3.7 E.1).
  assert.equal(commandSetToMessage({ ...store, CommandDataSetType: 0xfefe }).type, "C-STORE-RQ");
});

Deno.test("class 6: C-STORE-RQ with a priority outside 0..2", () => {
  const store = messageToCommandSet(SAMPLES[3]);
  assertMessageError({ ...store, Priority: 3 }, "bad-value", /Priority 3/);
});

Deno.test("messages: optional response fields stay absent when not sent", () => {
  const msg = commandSetToMessage({
    CommandField: 0x8001,
    MessageIDBeingRespondedTo: 2,
    CommandDataSetType: 0x0101,
    Status: 0xb000,
  });
  assert.deepEqual(msg, { type: "C-STORE-RSP", messageIdBeingRespondedTo: 2, status: 0xb000 });
});

Deno.test("messages: messageToCommandSet leaves unset optional elements out", () => {
  assert.deepEqual(messageToCommandSet(SAMPLES[0]), {
    CommandField: 0x0030,
    CommandDataSetType: 0x0101,
    AffectedSOPClassUID: VERIFICATION,
    MessageID: 1,
  });
  assert.deepEqual(Object.keys(messageToCommandSet(SAMPLES[2])).sort(), [
    "CommandDataSetType",
    "CommandField",
    "MessageIDBeingRespondedTo",
    "Status",
  ]);
});
