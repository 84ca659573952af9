/** Typed DIMSE messages (PS3.7 9.3) and their validation (class 6). */

import assert from "node:assert/strict";
import { type CommandSet, decodeCommandSet, encodeCommandSet } from "../../lib/dimse/command.ts";
import { DimseDecodeError } from "../../lib/dimse/errors.ts";
import {
  COMMAND_FIELD,
  commandSetToMessage,
  DATASET_RULE,
  decodeMessage,
  type DimseMessage,
  encodeMessage,
  hasDataset,
  messageToCommandSet,
  PRIORITY,
} from "../../lib/dimse/messages.ts";

const VERIFICATION = "1.2.840.10008.1.1";
const SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7";
const STUDY_FIND = "1.2.840.10008.5.1.4.1.2.2.1";
const STUDY_MOVE = "1.2.840.10008.5.1.4.1.2.2.2";
const STUDY_GET = "1.2.840.10008.5.1.4.1.2.2.3";

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
  { type: "C-FIND-RQ", messageId: 3, affectedSopClassUid: STUDY_FIND, priority: PRIORITY.high },
  {
    type: "C-FIND-RSP",
    messageIdBeingRespondedTo: 3,
    affectedSopClassUid: STUDY_FIND,
    status: 0xff00,
    datasetPresent: true,
  },
  { type: "C-FIND-RSP", messageIdBeingRespondedTo: 3, status: 0x0000 },
  { type: "C-GET-RQ", messageId: 4, affectedSopClassUid: STUDY_GET, priority: PRIORITY.medium },
  {
    type: "C-GET-RSP",
    messageIdBeingRespondedTo: 4,
    affectedSopClassUid: STUDY_GET,
    status: 0xff00,
    remainingSuboperations: 9,
    completedSuboperations: 1,
    failedSuboperations: 0,
    warningSuboperations: 0,
  },
  {
    type: "C-GET-RSP",
    messageIdBeingRespondedTo: 4,
    status: 0xb000,
    completedSuboperations: 8,
    failedSuboperations: 2,
    warningSuboperations: 0,
    datasetPresent: true,
  },
  {
    type: "C-MOVE-RQ",
    messageId: 5,
    affectedSopClassUid: STUDY_MOVE,
    priority: PRIORITY.low,
    moveDestination: "STORESCP",
  },
  {
    type: "C-MOVE-RSP",
    messageIdBeingRespondedTo: 5,
    affectedSopClassUid: STUDY_MOVE,
    status: 0xa801,
    errorComment: "Unknown move destination",
  },
  { type: "C-CANCEL-RQ", messageIdBeingRespondedTo: 3 },
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

Deno.test("messages: a decoded message has its fields in the order of its type (JSON output shows them so)", () => {
  for (const msg of SAMPLES) {
    const bytes = encodeCommandSet(messageToCommandSet(msg));
    assert.deepEqual(Object.keys(commandSetToMessage(decodeCommandSet(bytes))), Object.keys(msg));
  }
});

Deno.test("encodeMessage: the bytes and errors of encodeCommandSet(messageToCommandSet(m))", () => {
  const encodeOld = (m: DimseMessage) => encodeCommandSet(messageToCommandSet(m));
  const outcome = (encode: (m: DimseMessage) => Uint8Array, m: DimseMessage) => {
    try {
      return encode(m);
    } catch (err) {
      return `${(err as Error).name}: ${(err as Error).message}`;
    }
  };
  // Each type's order is worked out on its first message: the samples come twice, first
  // with the optional fields set then without (and the reverse), so that neither way of
  // meeting a type first leaves an element out or in.
  const bare = SAMPLES.map((m) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(m)) {
      if (["type", "messageId", "messageIdBeingRespondedTo", "status", "priority"].includes(k)) {
        out[k] = v;
      }
    }
    if (m.type === "C-MOVE-RQ") out.moveDestination = m.moveDestination;
    if ("affectedSopClassUid" in m && m.type.endsWith("-RQ")) {
      out.affectedSopClassUid = m.affectedSopClassUid;
    }
    if (m.type === "C-STORE-RQ") out.affectedSopInstanceUid = m.affectedSopInstanceUid;
    return out as unknown as DimseMessage;
  });
  const bad: DimseMessage[] = [
    { type: "C-ECHO-RQ", messageId: 70000, affectedSopClassUid: VERIFICATION },
    { type: "C-ECHO-RSP", messageIdBeingRespondedTo: 1, status: 0, errorComment: "é".repeat(70) },
    { type: "C-STORE-RSP", messageIdBeingRespondedTo: 2, status: 0, offendingElement: [-1] },
  ];
  const all = [...SAMPLES.slice(0, 4), ...bare, ...SAMPLES, ...bad, ...bare.toReversed()];
  for (const m of all) {
    const want = outcome(encodeOld, m);
    assert.deepEqual(outcome(encodeMessage, m), want, JSON.stringify(m));
  }
  // The errors above are real ones, not two equal crashes.
  for (const m of bad) assert.equal(typeof outcome(encodeOld, m), "string");
  assert.equal(typeof outcome(encodeOld, SAMPLES[0]), "object");
});

Deno.test("encodeMessage: a command set stays as encoded while later ones are encoded", () => {
  // The sets share memory (a slab per some hundred messages): none may be written again.
  // Thousands of messages of every sample's size, long ones with their own buffer, and
  // failed ones in between, all kept; then each is compared with a fresh encoding.
  const sent: { message: DimseMessage; bytes: Uint8Array }[] = [];
  for (let i = 0; i < 3000; i++) {
    const sample = SAMPLES[i % SAMPLES.length];
    const message = { ...sample } as DimseMessage & Record<string, unknown>;
    if ("messageId" in message) message.messageId = i + 1;
    if (i % 7 === 0 && "status" in message) message.errorComment = "x".repeat(i % 64);
    if (i % 500 === 0) message.affectedSopClassUid = "1.2." + "3".repeat(60);
    if (i % 11 === 0) {
      const id = "messageId" in message ? "messageId" : "messageIdBeingRespondedTo";
      assert.throws(() => encodeMessage({ ...message, [id]: 70000 } as DimseMessage), RangeError);
    }
    sent.push({ message, bytes: encodeMessage(message) });
  }
  for (const { message, bytes } of sent) {
    assert.deepEqual(
      bytes,
      encodeCommandSet(messageToCommandSet(message)),
      JSON.stringify(message),
    );
  }
});

Deno.test("encodeMessage: a set reused from the last of its type gives the encoder's bytes for every ID", () => {
  // Messages in a row that differ only in their message ID reuse the last set with the ID
  // written over; ones that differ elsewhere (any field, set or unset, a list) must not.
  const outcome = (encode: (m: DimseMessage) => Uint8Array, m: DimseMessage) => {
    try {
      return encode(m);
    } catch (err) {
      return `${(err as Error).name}: ${(err as Error).message}`;
    }
  };
  const ids = [1, 0, 2, 255, 256, 257, 0x7fff, 0x8000, 0xfffe, 0xffff, 1, 70000, -1, 1.5, 3];
  const variants: Record<string, unknown>[] = [
    {},
    { status: 0xa700 },
    { errorComment: "out of resources" },
    { errorComment: "out of resources!" },
    { affectedSopClassUid: "1.2.840.10008.5.1.4.1.1.7" },
    { offendingElement: [0x00100010] },
    { offendingElement: [0x00100020] },
    { priority: 2 },
    { moveOriginatorAeTitle: "MOVER", moveOriginatorMessageId: 9 },
    { numberOfRemainingSuboperations: 4 },
    { numberOfRemainingSuboperations: 3 },
  ];
  let reused = 0;
  for (const sample of SAMPLES) {
    for (const variant of variants) {
      for (const id of ids) {
        const key = "messageId" in sample ? "messageId" : "messageIdBeingRespondedTo";
        const m = { ...sample, ...variant, [key]: id } as DimseMessage;
        const want = outcome((x) => encodeCommandSet(messageToCommandSet(x)), m);
        const got = outcome(encodeMessage, m);
        assert.deepEqual(got, want, JSON.stringify(m));
        if (typeof got === "object") {
          reused++;
          // The caller's copy may be changed: the next set of the type must not show it.
          got.fill(0xee);
        }
      }
    }
  }
  assert.ok(reused > 1000);
  // A list changed in place after its message was encoded is encoded again, not reused.
  const offending = [0x00100010];
  const rsp = {
    type: "C-STORE-RSP",
    messageIdBeingRespondedTo: 1,
    affectedSopClassUid: "1.2.840.10008.5.1.4.1.1.7",
    affectedSopInstanceUid: "1.2.3",
    status: 0xa900,
    offendingElement: offending,
  } as DimseMessage;
  encodeMessage(rsp);
  offending[0] = 0x00100020;
  const again = { ...rsp, messageIdBeingRespondedTo: 2 } as DimseMessage;
  assert.deepEqual(encodeMessage(again), encodeCommandSet(messageToCommandSet(again)));
});

Deno.test("encodeMessage: each C-ECHO's set is its own memory, the ID of its own message", () => {
  // Two associations echoing in turn share the per-type memory of the encoder: each set
  // must stay as encoded while the other's are made, and changing one changes no other.
  const kept: { id: number; bytes: Uint8Array }[] = [];
  for (let id = 1; id <= 2000; id++) {
    const m = { type: "C-ECHO-RQ", messageId: id, affectedSopClassUid: VERIFICATION } as const;
    const bytes = encodeMessage(m);
    for (const k of kept.slice(-2)) {
      assert.ok(k.bytes.buffer !== bytes.buffer || k.bytes.byteOffset !== bytes.byteOffset);
    }
    kept.push({ id, bytes });
  }
  kept[0].bytes.fill(0);
  for (const { id, bytes } of kept.slice(1)) {
    const m = { type: "C-ECHO-RQ", messageId: id, affectedSopClassUid: VERIFICATION } as const;
    assert.deepEqual(bytes, encodeCommandSet(messageToCommandSet(m)));
    assert.deepEqual(commandSetToMessage(decodeCommandSet(bytes)), m);
  }
});

Deno.test("decodeMessage: the set and message (or error) of decodeCommandSet and commandSetToMessage, whatever came before", () => {
  // Sets in a row that differ only in their message ID give the last one's set and message
  // with the new ID; ones that differ elsewhere (any field, set or unset, a list) must not,
  // and no result may show a change made to an earlier one or to the bytes it came from.
  const full = (bytes: Uint8Array) => {
    let commandSet: CommandSet;
    try {
      commandSet = decodeCommandSet(bytes);
    } catch (err) {
      return `thrown ${(err as Error).message}`;
    }
    try {
      return { commandSet, message: commandSetToMessage(commandSet) };
    } catch (error) {
      return { commandSet, error };
    }
  };
  const got = (bytes: Uint8Array) => {
    try {
      return decodeMessage(bytes);
    } catch (err) {
      return `thrown ${(err as Error).message}`;
    }
  };
  const ids = [1, 0, 2, 255, 256, 0x7fff, 0x8000, 0xffff, 1, 3];
  const variants: Record<string, unknown>[] = [
    {},
    { status: 0xa700 },
    { errorComment: "out of resources" },
    { errorComment: "out of resources!" },
    { affectedSopClassUid: "1.2.840.10008.5.1.4.1.1.8" },
    { offendingElement: [0x00100010] },
    { offendingElement: [0x00100020] },
    { priority: 2 },
    { moveOriginatorAeTitle: "MOVER", moveOriginatorMessageId: 9 },
    { numberOfRemainingSuboperations: 4 },
  ];
  // Sets no message is made of (returned with the error) and sets that do not decode.
  const broken = [
    { CommandField: 0x0030, MessageID: 1, CommandDataSetType: 0x0101 },
    { CommandField: 0x0999, MessageID: 1, CommandDataSetType: 0x0101 },
  ].map((set) => encodeCommandSet(set));
  let decoded = 0;
  for (const sample of SAMPLES) {
    for (const variant of variants) {
      for (const id of ids) {
        const key = "messageId" in sample ? "messageId" : "messageIdBeingRespondedTo";
        const m = { ...sample, ...variant, [key]: id } as DimseMessage;
        const bytes = encodeCommandSet(messageToCommandSet(m));
        const want = full(bytes);
        const result = got(bytes);
        assert.deepEqual(result, want, JSON.stringify(m));
        if (typeof result === "object" && result.message !== undefined) {
          decoded++;
          // The caller's objects and the bytes (a reader's memory, read into again) may
          // change: later results must not show it.
          (result.message as unknown as Record<string, unknown>).status = 0xeeee;
          (result.commandSet as Record<string, unknown>).Status = 0xeeee;
          const list = result.commandSet.OffendingElement;
          if (list) list.push(0xeeee);
          bytes.fill(0xee, 12);
        }
      }
      for (const bytes of broken) assert.deepEqual(got(bytes), full(bytes));
      assert.deepEqual(got(new Uint8Array(3)), full(new Uint8Array(3)));
    }
  }
  assert.ok(decoded > 1000);
});

Deno.test("decodeMessage: the length limit holds for a set like the last one", () => {
  const rq = { type: "C-ECHO-RQ", messageId: 1, affectedSopClassUid: VERIFICATION } as const;
  const bytes = encodeCommandSet(messageToCommandSet(rq));
  assert.deepEqual(decodeMessage(bytes).message, rq);
  const next = encodeCommandSet(messageToCommandSet({ ...rq, messageId: 2 }));
  assert.throws(
    () => decodeMessage(next, { maxLength: bytes.length - 1 }),
    (err) => err instanceof DimseDecodeError && err.code === "too-long",
  );
  assert.deepEqual(decodeMessage(next, { maxLength: bytes.length }).message, {
    ...rq,
    messageId: 2,
  });
});

Deno.test("decodeMessage: the memory a set was read from may be read into again", () => {
  // A reader reuses its memory: a set read where the last one was is not taken for it.
  const rsp = {
    type: "C-ECHO-RSP",
    messageIdBeingRespondedTo: 1,
    affectedSopClassUid: VERIFICATION,
    status: 0,
  } as const;
  const memory = encodeCommandSet(messageToCommandSet(rsp));
  assert.deepEqual(decodeMessage(memory).message, rsp);
  const failed = { ...rsp, status: 0x0211 };
  memory.set(encodeCommandSet(messageToCommandSet(failed)));
  const next = encodeCommandSet(messageToCommandSet({ ...failed, messageIdBeingRespondedTo: 2 }));
  assert.deepEqual(decodeMessage(next).message, { ...failed, messageIdBeingRespondedTo: 2 });
});

Deno.test("messages: command field and data set type follow the message type", () => {
  // PS3.7 Table E.1-1 command fields; data set: PS3.7 9.3 (M, C/U as the message says, none).
  const expected = {
    "C-ECHO-RQ": [0x0030, false],
    "C-ECHO-RSP": [0x8030, false],
    "C-STORE-RQ": [0x0001, true],
    "C-STORE-RSP": [0x8001, false],
    "C-FIND-RQ": [0x0020, true],
    "C-FIND-RSP": [0x8020, "optional"],
    "C-GET-RQ": [0x0010, true],
    "C-GET-RSP": [0x8010, "optional"],
    "C-MOVE-RQ": [0x0021, true],
    "C-MOVE-RSP": [0x8021, "optional"],
    "C-CANCEL-RQ": [0x0fff, false],
  } as const;
  assert.deepEqual(Object.keys(COMMAND_FIELD).sort(), Object.keys(expected).sort());
  for (const msg of SAMPLES) {
    const cmd = messageToCommandSet(msg);
    const [field, dataset] = expected[msg.type];
    const present = dataset === "optional"
      ? "datasetPresent" in msg && msg.datasetPresent === true
      : dataset;
    assert.equal(cmd.CommandField, field);
    assert.equal(COMMAND_FIELD[msg.type], field);
    assert.equal(
      DATASET_RULE[msg.type],
      dataset === "optional" ? "optional" : dataset ? "always" : "never",
    );
    assert.equal(hasDataset(msg), present, msg.type);
    assert.equal(cmd.CommandDataSetType, present ? 0x0001 : 0x0101, msg.type);
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
    "C-FIND-RQ": [
      "CommandField",
      "MessageID",
      "AffectedSOPClassUID",
      "Priority",
      "CommandDataSetType",
    ],
    "C-FIND-RSP": ["CommandField", "MessageIDBeingRespondedTo", "Status", "CommandDataSetType"],
    "C-GET-RQ": [
      "CommandField",
      "MessageID",
      "AffectedSOPClassUID",
      "Priority",
      "CommandDataSetType",
    ],
    "C-GET-RSP": ["CommandField", "MessageIDBeingRespondedTo", "Status", "CommandDataSetType"],
    "C-MOVE-RQ": [
      "CommandField",
      "MessageID",
      "AffectedSOPClassUID",
      "Priority",
      "MoveDestination",
      "CommandDataSetType",
    ],
    "C-MOVE-RSP": ["CommandField", "MessageIDBeingRespondedTo", "Status", "CommandDataSetType"],
    "C-CANCEL-RQ": ["CommandField", "MessageIDBeingRespondedTo", "CommandDataSetType"],
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
  // N-EVENT-REPORT (0x0100), N-GET (0x0110), N-ACTION (0x0130) and responses are not supported.
  for (const field of [0x0000, 0x0002, 0x0100, 0x0110, 0x0130, 0x8130, 0x8fff, 0xffff]) {
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

Deno.test("class 6: Q/R requests without their identifier, C-CANCEL-RQ with a data set", () => {
  for (const msg of SAMPLES.filter((m) => /^C-(FIND|GET|MOVE)-RQ$/.test(m.type))) {
    assertMessageError(
      { ...messageToCommandSet(msg), CommandDataSetType: 0x0101 },
      "bad-value",
      new RegExp(`${msg.type} with CommandDataSetType 0x0101: a data set must follow`),
    );
  }
  const cancel = messageToCommandSet({ type: "C-CANCEL-RQ", messageIdBeingRespondedTo: 1 });
  assertMessageError(
    { ...cancel, CommandDataSetType: 0x0001 },
    "bad-value",
    /C-CANCEL-RQ with CommandDataSetType 0x0001: no data set may follow/,
  );
});

Deno.test("messages: a Q/R response says whether an identifier follows, whatever its status", () => {
  // PS3.7 E.1: any value but 0x0101 announces a data set; PS3.4 C.4 lets a failed C-GET/C-MOVE
  // carry its Failed SOP Instance UID List, and some SCPs send a final C-FIND-RSP with one.
  for (const type of ["C-FIND-RSP", "C-GET-RSP", "C-MOVE-RSP"] as const) {
    const base = { CommandField: COMMAND_FIELD[type], MessageIDBeingRespondedTo: 2, Status: 0 };
    assert.equal(
      (commandSetToMessage({ ...base, CommandDataSetType: 0x0101 }) as { datasetPresent?: boolean })
        .datasetPresent,
      undefined,
    );
    for (const dataSetType of [0x0000, 0x0001, 0x0102, 0xfefe]) {
      const msg = commandSetToMessage({ ...base, CommandDataSetType: dataSetType });
      assert.equal(hasDataset(msg), true, `${type} 0x${dataSetType.toString(16)}`);
    }
  }
});

Deno.test("class 6: C-STORE-RQ, C-FIND-RQ, C-GET-RQ, C-MOVE-RQ with a priority outside 0..2", () => {
  for (const msg of [SAMPLES[3], ...SAMPLES.filter((m) => /^C-(FIND|GET|MOVE)-RQ$/.test(m.type))]) {
    const cmd = messageToCommandSet(msg);
    const error = assertMessageError(
      { ...cmd, Priority: 3 },
      "bad-value",
      new RegExp(`${msg.type} with Priority 3`),
    );
    assert.equal(error.tag, 0x00000700);
  }
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
