/**
 * P-DATA fragmentation (PS3.8 9.3.5, Annex E.2; class 10 of docs/SECURITY_CLASSES.md)
 * and PDV reassembly (PS3.7 8.1; class 6).
 */

import assert from "node:assert/strict";
import type { PDataTfPdu, Pdv } from "../../lib/pdu/types.ts";
import { encodeCommandSet } from "../../lib/dimse/command.ts";
import { DimseDecodeError } from "../../lib/dimse/errors.ts";
import {
  type AssemblyEvent,
  fragmentMessage,
  fragmentPdus,
  maxPdvDataLength,
  MessageAssembler,
} from "../../lib/dimse/fragment.ts";
import { type DimseMessage, messageToCommandSet } from "../../lib/dimse/messages.ts";
import { concatBytes } from "../../lib/util/bytes.ts";

/** Length of a P-DATA-TF variable field: per PDV, 4-byte length + context ID + header + data. */
function variableFieldLength(pdu: PDataTfPdu): number {
  return pdu.pdvs.reduce((n, pdv) => n + 6 + pdv.data.length, 0);
}

function evenBytes(length: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);
}

const ECHO_RQ: DimseMessage = {
  type: "C-ECHO-RQ",
  messageId: 1,
  affectedSopClassUid: "1.2.840.10008.1.1",
};
const STORE_RQ: DimseMessage = {
  type: "C-STORE-RQ",
  messageId: 2,
  affectedSopClassUid: "1.2.840.10008.5.1.4.1.1.7",
  affectedSopInstanceUid: "1.2.3.4.5",
  priority: 0,
};

function commandBytes(msg: DimseMessage): Uint8Array {
  return encodeCommandSet(messageToCommandSet(msg));
}

/** PDVs of a message (command, then data set if given) for context `ctx`. */
function pdvsOf(ctx: number, msg: DimseMessage, dataset?: Uint8Array, pdvData = 16): Pdv[] {
  const pdus = [...fragmentMessage(ctx, true, commandBytes(msg), pdvData)];
  if (dataset) pdus.push(...fragmentMessage(ctx, false, dataset, pdvData));
  return pdus.flatMap((p) => p.pdvs);
}

function pushAll(assembler: MessageAssembler, pdvs: Pdv[]): AssemblyEvent[] {
  return pdvs.flatMap((pdv) => assembler.push(pdv));
}

function assertSequenceError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof DimseDecodeError, String(error));
    assert.equal(error.code, "sequence");
    assert.match(error.message, pattern);
    return true;
  });
}

// ---- maxPdvDataLength --------------------------------------------------------------

Deno.test("maxPdvDataLength: peer maximum minus 6, rounded down to even", () => {
  const cases: [number, number][] = [
    [4096, 4090],
    [16384, 16378],
    [4097, 4090],
    [16385, 16378],
    [8193, 8186],
    [8, 2],
    [9, 2],
    [10, 4],
    [0xffffffff, 0xffffffff - 7],
  ];
  for (const [peer, expected] of cases) {
    assert.equal(maxPdvDataLength(peer, 65536), expected, `peer ${peer}`);
  }
});

Deno.test("maxPdvDataLength: peer maximum 0 means no limit: our chunk, made even", () => {
  assert.equal(maxPdvDataLength(0, 65536), 65536);
  assert.equal(maxPdvDataLength(0, 16385), 16384);
  assert.equal(maxPdvDataLength(0, 2), 2);
});

Deno.test("maxPdvDataLength: tiny, negative or fractional values are RangeErrors", () => {
  for (const peer of [1, 2, 6, 7]) {
    assert.throws(() => maxPdvDataLength(peer, 65536), /below 8/);
  }
  for (const peer of [-1, 4096.5, 2 ** 32, Number.NaN]) {
    assert.throws(() => maxPdvDataLength(peer, 65536), RangeError);
  }
  for (const chunk of [0, 1, 1.5]) assert.throws(() => maxPdvDataLength(0, chunk), RangeError);
});

// ---- fragmentMessage ---------------------------------------------------------------

Deno.test("class 10: fragments fit every peer maximum, fill even ones, stay even, rejoin", () => {
  const peers = [0, 8, 9, 10, 11, 12, 100, 101, 4096, 4097, 8192, 8193, 16384, 16385];
  for (const peer of peers) {
    const pdvData = maxPdvDataLength(peer, 32768);
    const lengths = [0, 2, pdvData - 2, pdvData, pdvData + 2, 3 * pdvData, 3 * pdvData + 10, 70000];
    for (const length of lengths.filter((n) => n >= 0 && n <= 200000)) {
      const input = evenBytes(length, peer);
      for (const isCommand of [true, false]) {
        const pdus = [...fragmentMessage(7, isCommand, input, pdvData)];
        assert.ok(pdus.length >= 1);
        pdus.forEach((pdu, i) => {
          const field = variableFieldLength(pdu);
          assert.equal(pdu.type, "P-DATA-TF");
          assert.equal(pdu.pdvs.length, 1);
          const [pdv] = pdu.pdvs;
          if (peer > 0) assert.ok(field <= peer, `peer ${peer} len ${length}: field ${field}`);
          const last = i === pdus.length - 1;
          if (peer > 0 && peer % 2 === 0 && !last) assert.equal(field, peer);
          if (peer === 0 && !last) assert.equal(pdv.data.length, 32768);
          assert.equal(pdv.data.length % 2, 0);
          assert.equal(pdv.isLast, last);
          assert.equal(pdv.isCommand, isCommand);
          assert.equal(pdv.contextId, 7);
        });
        assert.deepEqual(concatBytes(pdus.map((p) => p.pdvs[0].data)), input);
      }
    }
  }
});

Deno.test("fragmentPdus: fragmentMessage's PDUs as a list, data in the input's own memory", () => {
  const input = evenBytes(100);
  for (const length of [0, 2, 40, 42, 84, 100]) {
    const bytes = input.subarray(0, length);
    for (const isLast of [true, false]) {
      const list = fragmentPdus(5, true, bytes, 42, isLast);
      assert.deepEqual(list, [...fragmentMessage(5, true, bytes, 42, isLast)]);
      let offset = 0;
      for (const pdu of list) {
        const data = pdu.pdvs[0].data;
        assert.equal(data.buffer, input.buffer);
        assert.equal(data.byteOffset, input.byteOffset + offset);
        offset += data.length;
      }
    }
  }
  for (const [ctx, pdv, length] of [[2, 42, 4], [1, 3, 4], [1, 42, 3]]) {
    const error = (f: () => unknown) => assert.throws(f, RangeError);
    error(() => fragmentPdus(ctx, false, evenBytes(length), pdv));
    error(() => [...fragmentMessage(ctx, false, evenBytes(length), pdv)]);
  }
});

Deno.test("class 10: peer maximum 2^32-1 sends a large message in one PDU", () => {
  const input = evenBytes(1 << 20);
  const pdus = [...fragmentMessage(1, false, input, maxPdvDataLength(0xffffffff, 65536))];
  assert.equal(pdus.length, 1);
  assert.ok(variableFieldLength(pdus[0]) <= 0xffffffff);
  assert.equal(pdus[0].pdvs[0].data.length, input.length);
});

Deno.test("fragmentMessage: an empty data set is one empty PDV flagged last", () => {
  const pdus = [...fragmentMessage(3, false, new Uint8Array(0), 4090)];
  assert.equal(pdus.length, 1);
  assert.deepEqual(pdus[0].pdvs, [{
    contextId: 3,
    isCommand: false,
    isLast: true,
    data: new Uint8Array(0),
  }]);
});

Deno.test("fragmentMessage: PDV data are views, not copies", () => {
  const input = evenBytes(100);
  const [first] = [...fragmentMessage(1, false, input, 40)];
  assert.equal(first.pdvs[0].data.buffer, input.buffer);
});

Deno.test("fragmentMessage: streamed pieces with isLast=false until the final piece", () => {
  const pieces = [evenBytes(100, 1), evenBytes(0), evenBytes(50 * 2, 2), evenBytes(30, 3)];
  const pdvs = pieces.flatMap((piece, i) =>
    [...fragmentMessage(5, false, piece, 40, i === pieces.length - 1)].flatMap((p) => p.pdvs)
  );
  // 100 bytes: 3 PDVs, empty: none, 100 bytes: 3, 30 bytes: 1 (the only one flagged last).
  assert.deepEqual(pdvs.map((p) => p.isLast), [...Array(6).fill(false), true]);
  assert.deepEqual(concatBytes(pdvs.map((p) => p.data)), concatBytes(pieces));
});

Deno.test("fragmentMessage: odd input, bad context IDs and PDV lengths are RangeErrors", () => {
  const run = (
    ctx: number,
    bytes: Uint8Array,
    len: number,
  ) => [...fragmentMessage(ctx, false, bytes, len)];
  assert.throws(() => run(1, new Uint8Array(3), 100), /odd data length 3/);
  for (const ctx of [0, 2, 256, 257, -1, 1.5]) {
    assert.throws(() => run(ctx, new Uint8Array(2), 100), RangeError);
  }
  for (const len of [0, 1, 3, 4095, 2.5]) {
    assert.throws(() => run(1, new Uint8Array(2), len), RangeError);
  }
});

// ---- MessageAssembler ----------------------------------------------------------------

Deno.test("reassembly: a command split over many 2-byte PDVs", () => {
  const assembler = new MessageAssembler();
  const pdvs = pdvsOf(1, ECHO_RQ, undefined, 2);
  assert.equal(pdvs.length, 34);
  const events = pushAll(assembler, pdvs);
  assert.equal(events.length, 1);
  const [event] = events;
  assert.equal(event.kind, "command");
  if (event.kind !== "command") return;
  assert.equal(event.contextId, 1);
  assert.equal(event.datasetFollows, false);
  assert.deepEqual(event.message, ECHO_RQ);
  assert.equal(event.error, undefined);
  assert.ok(assembler.idle);
});

Deno.test("reassembly: a C-STORE data set is streamed one event per PDV, unchanged", () => {
  const assembler = new MessageAssembler();
  const dataset = evenBytes(100_000);
  const pdvs = pdvsOf(201, STORE_RQ, dataset, 16378);
  const commandPdvs = pdvs.filter((p) => p.isCommand).length;
  const events = pushAll(assembler, pdvs);
  assert.equal(events[0].kind, "command");
  assert.equal(events[0].kind === "command" && events[0].datasetFollows, true);
  const data = events.slice(1);
  assert.equal(data.length, pdvs.length - commandPdvs);
  data.forEach((event, i) => {
    assert.equal(event.kind, "data");
    if (event.kind !== "data") return;
    assert.equal(event.contextId, 201);
    // The very bytes of the PDV: nothing is copied or accumulated.
    assert.equal(event.chunk, pdvs[commandPdvs + i].data);
    assert.equal(event.last, i === data.length - 1);
  });
  assert.deepEqual(
    concatBytes(data.map((e) => (e.kind === "data" ? e.chunk : new Uint8Array()))),
    dataset,
  );
  assert.ok(assembler.idle);
});

Deno.test("reassembly: a 2 GiB data set passes through in chunks without accumulating", () => {
  const assembler = new MessageAssembler();
  pushAll(assembler, pdvsOf(1, STORE_RQ));
  const chunk = new Uint8Array(16 * 1024 * 1024);
  const count = (2 * 1024 * 1024 * 1024) / chunk.length;
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const events = assembler.push({
      contextId: 1,
      isCommand: false,
      isLast: i === count - 1,
      data: chunk,
    });
    assert.equal(events.length, 1);
    const [event] = events;
    assert.ok(event.kind === "data" && event.chunk === chunk);
    bytes += event.chunk.length;
  }
  assert.equal(bytes, 2 ** 31);
  assert.ok(assembler.idle);
});

Deno.test("reassembly: messages back to back, on different contexts", () => {
  const assembler = new MessageAssembler();
  const pdvs = [
    ...pdvsOf(1, ECHO_RQ),
    ...pdvsOf(3, STORE_RQ, evenBytes(40)),
    ...pdvsOf(5, STORE_RQ, new Uint8Array(0)),
    ...pdvsOf(1, ECHO_RQ),
  ];
  const kinds = pushAll(assembler, pdvs).map((e) => `${e.kind}@${e.contextId}`);
  assert.deepEqual(kinds, [
    "command@1",
    "command@3",
    "data@3",
    "data@3",
    "data@3",
    "command@5",
    "data@5",
    "command@1",
  ]);
});

Deno.test("reassembly: fragmented command sets back to back each decode alone, each within the limit", () => {
  // The assembler keeps one command set's fragments and length at a time: each message must
  // start from nothing (no fragment or byte count of the one before).
  const echoLength = commandBytes(ECHO_RQ).length;
  const storeLength = commandBytes(STORE_RQ).length;
  const assembler = new MessageAssembler({
    maxCommandSetLength: Math.max(echoLength, storeLength),
  });
  const messages: DimseMessage[] = [
    ECHO_RQ,
    { ...ECHO_RQ, messageId: 7 },
    STORE_RQ,
    ECHO_RQ,
  ];
  const pdvs = [
    ...pdvsOf(1, messages[0], undefined, 2),
    ...pdvsOf(3, messages[1]),
    ...pdvsOf(1, messages[2], new Uint8Array(0), 10),
    ...pdvsOf(5, messages[3], undefined, echoLength),
  ];
  const commands = pushAll(assembler, pdvs).filter((e) => e.kind === "command");
  assert.deepEqual(commands.map((e) => e.kind === "command" && e.message), messages);
  assert.deepEqual(commands.map((e) => e.contextId), [1, 3, 1, 5]);
  assert.ok(assembler.idle);
});

Deno.test("reassembly: an unknown command is reported with its error, its data still tracked", () => {
  const assembler = new MessageAssembler();
  // N-ACTION-RQ (PS3.7 E.1): a valid command field that we do not support.
  const cmd = encodeCommandSet({ CommandField: 0x0130, MessageID: 9, CommandDataSetType: 0x0001 });
  const [event] = assembler.push({ contextId: 1, isCommand: true, isLast: true, data: cmd });
  assert.equal(event.kind, "command");
  if (event.kind !== "command") return;
  assert.equal(event.message, undefined);
  assert.equal(event.error?.code, "unknown-command");
  assert.equal(event.error?.messageId, 9);
  assert.equal(event.error?.commandField, 0x0130);
  assert.equal(event.datasetFollows, true);
  assert.equal(event.commandSet.CommandField, 0x0130);
  assert.ok(!assembler.idle);
  const [data] = assembler.push({
    contextId: 1,
    isCommand: false,
    isLast: true,
    data: evenBytes(4),
  });
  assert.equal(data.kind, "data");
  assert.ok(assembler.idle);
});

Deno.test("reassembly: a C-ECHO-RQ missing MessageID is reported, not thrown", () => {
  const assembler = new MessageAssembler();
  const cmd = encodeCommandSet({
    CommandField: 0x0030,
    AffectedSOPClassUID: "1.2",
    CommandDataSetType: 0x0101,
  });
  const [event] = assembler.push({ contextId: 1, isCommand: true, isLast: true, data: cmd });
  assert.ok(event.kind === "command" && event.error?.code === "missing-element");
  assert.ok(assembler.idle);
});

Deno.test("class 6: a command without CommandDataSetType cannot be framed: thrown", () => {
  const assembler = new MessageAssembler();
  const cmd = encodeCommandSet({ CommandField: 0x0030, MessageID: 1, AffectedSOPClassUID: "1.2" });
  assert.throws(
    () => assembler.push({ contextId: 1, isCommand: true, isLast: true, data: cmd }),
    (e: unknown) =>
      e instanceof DimseDecodeError && e.code === "missing-element" && e.tag === 0x0800,
  );
});

Deno.test("class 6: a malformed command set reassembled from fragments is thrown", () => {
  const assembler = new MessageAssembler();
  const bytes = commandBytes(ECHO_RQ).slice();
  bytes[8] += 2; // group length off by two
  assert.throws(
    () => pushAll(assembler, [...fragmentMessage(1, true, bytes, 10)].flatMap((p) => p.pdvs)),
    (e: unknown) => e instanceof DimseDecodeError && e.code === "group-length",
  );
});

Deno.test("class 6: data before any command", () => {
  const assembler = new MessageAssembler();
  assertSequenceError(
    () => assembler.push({ contextId: 1, isCommand: false, isLast: true, data: evenBytes(2) }),
    /data PDV on context 1 before any command/,
  );
});

Deno.test("class 6: data while the command set is still incomplete", () => {
  const assembler = new MessageAssembler();
  const [first] = pdvsOf(1, STORE_RQ);
  assembler.push(first);
  assertSequenceError(
    () => assembler.push({ contextId: 1, isCommand: false, isLast: true, data: evenBytes(2) }),
    /before the command set was complete/,
  );
});

Deno.test("class 6: a second command while the announced data set is incomplete", () => {
  const assembler = new MessageAssembler();
  const pdvs = pdvsOf(1, STORE_RQ, evenBytes(64));
  const firstData = pdvs.findIndex((p) => !p.isCommand);
  pushAll(assembler, pdvs.slice(0, firstData + 1));
  assert.ok(!assembler.idle); // data set announced but not finished
  assertSequenceError(
    () => pushAll(assembler, pdvsOf(1, ECHO_RQ)),
    /command PDV .* data set .* incomplete/,
  );
});

Deno.test("class 6: a second command right after a command announcing a data set", () => {
  const assembler = new MessageAssembler();
  pushAll(assembler, pdvsOf(1, STORE_RQ));
  assertSequenceError(() => pushAll(assembler, pdvsOf(1, ECHO_RQ)), /incomplete/);
});

Deno.test("class 6: a data PDV on another context than its command", () => {
  const assembler = new MessageAssembler();
  pushAll(assembler, pdvsOf(1, STORE_RQ));
  assertSequenceError(
    () => assembler.push({ contextId: 3, isCommand: false, isLast: true, data: evenBytes(2) }),
    /data PDV on context 3, its command was on context 1/,
  );
});

Deno.test("class 6: command fragments of two messages interleaved (another context)", () => {
  const assembler = new MessageAssembler();
  const a = pdvsOf(1, ECHO_RQ);
  const b = pdvsOf(3, ECHO_RQ);
  assembler.push(a[0]);
  assertSequenceError(
    () => assembler.push(b[0]),
    /command fragment on context 3, previous fragments on context 1/,
  );
});

Deno.test("class 6: a command set growing past maxCommandSetLength", () => {
  const assembler = new MessageAssembler({ maxCommandSetLength: 100 });
  const fragment = (isLast: boolean) => ({
    contextId: 1,
    isCommand: true,
    isLast,
    data: new Uint8Array(40),
  });
  assembler.push(fragment(false));
  assembler.push(fragment(false));
  assertSequenceError(() => assembler.push(fragment(false)), /exceeds 100 bytes \(120 so far\)/);
  // The default limit is 64 KiB.
  const big = new MessageAssembler();
  for (let i = 0; i < 16; i++) {
    big.push({ contextId: 1, isCommand: true, isLast: false, data: new Uint8Array(4096) });
  }
  assertSequenceError(
    () => big.push({ contextId: 1, isCommand: true, isLast: false, data: new Uint8Array(2) }),
    /exceeds 65536/,
  );
  assert.throws(() => new MessageAssembler({ maxCommandSetLength: 4 }), RangeError);
});

Deno.test("class 6: data when the command said no data set", () => {
  const assembler = new MessageAssembler();
  pushAll(assembler, pdvsOf(1, ECHO_RQ));
  assertSequenceError(
    () => assembler.push({ contextId: 1, isCommand: false, isLast: true, data: evenBytes(2) }),
    /the command said no data set follows/,
  );
});

Deno.test("reassembly: a data set can be empty and flagged last at once", () => {
  const assembler = new MessageAssembler();
  const events = pushAll(assembler, pdvsOf(1, STORE_RQ, new Uint8Array(0)));
  assert.equal(events.length, 2);
  assert.ok(events[1].kind === "data" && events[1].last && events[1].chunk.length === 0);
  assert.ok(assembler.idle);
});
