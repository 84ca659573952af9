/**
 * Command set codec: byte-exact vectors (PS3.7 6.3.1, E.1) and class 6 of
 * docs/SECURITY_CLASSES.md (malformed command sets).
 */

import assert from "node:assert/strict";
import {
  COMMAND_DICTIONARY,
  COMMAND_TAG,
  type CommandSet,
  decodeCommandSet,
  encodeCommandSet,
} from "../../lib/dimse/command.ts";
import { DimseDecodeError } from "../../lib/dimse/errors.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import { hex } from "../../testing/hex.ts";

/** One implicit VR LE element: group 0000, element, 4-byte length, value. */
function element(elementNumber: number, value: Uint8Array, group = 0x0000): Uint8Array {
  const out = new Uint8Array(8 + value.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, group, true);
  view.setUint16(2, elementNumber, true);
  view.setUint32(4, value.length, true);
  out.set(value, 8);
  return out;
}

function us(value: number): Uint8Array {
  return new Uint8Array([value & 0xff, value >> 8]);
}

function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** A command set with a correct (0000,0000) in front of `body`. */
function withGroupLength(body: Uint8Array, declared = body.length): Uint8Array {
  const gl = new Uint8Array(4);
  new DataView(gl.buffer).setUint32(0, declared, true);
  return concatBytes([element(0x0000, gl), body]);
}

function assertDecodeError(bytes: Uint8Array, code: string, pattern?: RegExp): DimseDecodeError {
  let caught: unknown;
  try {
    decodeCommandSet(bytes);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof DimseDecodeError, `expected DimseDecodeError, got ${caught}`);
  assert.equal(caught.code, code, caught.message);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

// PS3.7 9.3.5.1 C-ECHO-RQ, assembled by hand: tag (group, element), 4-byte length, value.
const ECHO_RQ = hex(`
  0000 0000 04000000 38000000
  0000 0200 12000000 312e322e3834302e31303030382e312e3100
  0000 0001 02000000 3000
  0000 1001 02000000 0100
  0000 0008 02000000 0101
`);

// PS3.7 9.3.5.2 C-ECHO-RSP, by hand.
const ECHO_RSP = hex(`
  0000 0000 04000000 42000000
  0000 0200 12000000 312e322e3834302e31303030382e312e3100
  0000 0001 02000000 3080
  0000 2001 02000000 0100
  0000 0008 02000000 0101
  0000 0009 02000000 0000
`);

// The same two command sets as DCMTK 3.6.7 echoscu/storescp sent them, captured
// through a TCP relay (PDV item length, context ID, control header 0x03, command).
const DCMTK_ECHO_RQ_PDV = hex(
  "0000004601030000000004000000380000000000020012000000312e322e3834302e31303030382e312e31" +
    "00000000010200000030000000100102000000010000000008020000000101",
);
const DCMTK_ECHO_RSP_PDV = hex(
  "0000005001030000000004000000420000000000020012000000312e322e3834302e31303030382e312e31" +
    "0000000001020000003080000020010200000001000000000802000000010100000009020000000000",
);

const ECHO_RQ_SET: CommandSet = {
  AffectedSOPClassUID: "1.2.840.10008.1.1",
  CommandField: 0x0030,
  MessageID: 1,
  CommandDataSetType: 0x0101,
};

const ECHO_RSP_SET: CommandSet = {
  AffectedSOPClassUID: "1.2.840.10008.1.1",
  CommandField: 0x8030,
  MessageIDBeingRespondedTo: 1,
  CommandDataSetType: 0x0101,
  Status: 0x0000,
};

Deno.test("encode: C-ECHO-RQ equals the hand-assembled PS3.7 layout and DCMTK's bytes", () => {
  const bytes = encodeCommandSet(ECHO_RQ_SET);
  assert.deepEqual(bytes, ECHO_RQ);
  assert.deepEqual(bytes, DCMTK_ECHO_RQ_PDV.subarray(6));
  assert.equal(bytes.length, 68);
});

Deno.test("encode: C-ECHO-RSP equals the hand-assembled PS3.7 layout and DCMTK's bytes", () => {
  const bytes = encodeCommandSet(ECHO_RSP_SET);
  assert.deepEqual(bytes, ECHO_RSP);
  assert.deepEqual(bytes, DCMTK_ECHO_RSP_PDV.subarray(6));
  assert.equal(bytes.length, 78);
});

Deno.test("decode: the vectors give back the command sets", () => {
  assert.deepEqual(decodeCommandSet(ECHO_RQ), ECHO_RQ_SET);
  assert.deepEqual(decodeCommandSet(ECHO_RSP), ECHO_RSP_SET);
});

Deno.test("encode: writes elements in tag order whatever the key order", () => {
  const reordered: CommandSet = {
    CommandDataSetType: 0x0101,
    MessageID: 1,
    CommandField: 0x0030,
    AffectedSOPClassUID: "1.2.840.10008.1.1",
  };
  assert.deepEqual(encodeCommandSet(reordered), ECHO_RQ);
});

Deno.test("encode: nothing of one call carries into the next (larger, failed, then smaller sets)", () => {
  const all: Record<string, number | number[] | string> = {};
  for (const def of COMMAND_DICTIONARY) {
    if (def.tag === 0) continue;
    const numeric = def.vr === "UL" || def.vr === "US" || def.vr === "AT";
    all[def.keyword] = !numeric ? "12" : def.multi ? [1] : 1;
  }
  // Fails on its last element, after the others were sized.
  assert.throws(
    () => encodeCommandSet({ ...all, Overlays: [0x10000] } as unknown as CommandSet),
    /Overlays: 65536 exceeds US/,
  );
  encodeCommandSet({ ...all, Overlays: [1, 2] } as unknown as CommandSet);
  assert.deepEqual(
    encodeCommandSet({
      CommandField: 0x0030,
      MessageID: 1,
      AffectedSOPClassUID: "1.2.840.10008.1.1",
      CommandDataSetType: 0x0101,
    }),
    ECHO_RQ,
  );
  // Of two wrong values, the one of the lower tag is reported, as element order goes.
  assert.throws(
    () => encodeCommandSet({ Priority: 0x10000, MessageID: 1.5 } as unknown as CommandSet),
    /\(0000,0110\) MessageID: expected a non-negative integer/,
  );
});

Deno.test("encode: UI padded with NUL, strings with space, to even length", () => {
  const bytes = encodeCommandSet({
    AffectedSOPInstanceUID: "1.2.3",
    MoveOriginatorApplicationEntityTitle: "ABC",
    ErrorComment: "odd",
  });
  const expected = withGroupLength(concatBytes([
    element(0x0902, ascii("odd ")),
    element(0x1000, concatBytes([ascii("1.2.3"), new Uint8Array([0])])),
    element(0x1030, ascii("ABC ")),
  ]));
  assert.deepEqual(bytes, expected);
});

Deno.test("encode: AT lists are group then element, little endian", () => {
  const bytes = encodeCommandSet({ OffendingElement: [0x00100010, 0x7fe00010] });
  const expected = withGroupLength(element(0x0901, hex("1000 1000 e07f 1000")));
  assert.deepEqual(bytes, expected);
});

Deno.test("encode: an empty command set is just the group length", () => {
  assert.deepEqual(encodeCommandSet({}), hex("0000 0000 04000000 00000000"));
});

Deno.test("encode: rejects values that do not fit their VR", () => {
  assert.throws(() => encodeCommandSet({ MessageID: 0x10000 }), RangeError);
  assert.throws(() => encodeCommandSet({ MessageID: -1 }), TypeError);
  assert.throws(() => encodeCommandSet({ MessageID: 1.5 }), TypeError);
  assert.throws(() => encodeCommandSet({ AffectedSOPInstanceUID: "1".repeat(65) }), RangeError);
  assert.throws(() => encodeCommandSet({ MoveDestination: "A".repeat(17) }), RangeError);
  assert.throws(() => encodeCommandSet({ ErrorComment: "\u20ac" }), RangeError);
  assert.throws(
    () => encodeCommandSet({ MessageID: "1" } as unknown as CommandSet),
    TypeError,
  );
});

Deno.test("round trip: every dictionary element with a representative value", () => {
  const values: Record<string, number | number[] | string> = {};
  for (const def of COMMAND_DICTIONARY) {
    if (def.keyword === "CommandGroupLength") continue;
    switch (def.vr) {
      case "UL":
        values[def.keyword] = 0xfffffffe;
        break;
      case "US":
        values[def.keyword] = def.multi ? [1, 0xffff] : 0xfffe;
        break;
      case "AT":
        values[def.keyword] = [0x00080016, 0xfffee000];
        break;
      case "UI":
        values[def.keyword] = "1.2.840.10008.5.1.4.1.1.7";
        break;
      case "IS":
        values[def.keyword] = "12";
        break;
      default:
        values[def.keyword] = "TXT";
    }
  }
  const decoded = decodeCommandSet(encodeCommandSet(values as CommandSet));
  assert.deepEqual(decoded, values);
  assert.equal(COMMAND_TAG.MoveOriginatorMessageID, 0x00001031);
});

Deno.test("decode: strips trailing NUL and space padding of UI and strings", () => {
  const bytes = withGroupLength(concatBytes([
    element(0x0002, ascii("1.2.3 ")), // space-padded UI, seen in the wild
    element(0x0600, ascii("DEST  ")),
    element(0x1000, concatBytes([ascii("1.2.34"), new Uint8Array([0, 0])])),
  ]));
  assert.deepEqual(decodeCommandSet(bytes), {
    AffectedSOPClassUID: "1.2.3",
    MoveDestination: "DEST",
    AffectedSOPInstanceUID: "1.2.34",
  });
});

// ---- class 6: malformed command sets -------------------------------------------------

Deno.test("class 6: fixed-length VRs of the wrong length (US 3, US 0, US 4, UL 2, AT 6)", () => {
  for (
    const [el, value] of [
      [0x0100, new Uint8Array(3)],
      [0x0100, new Uint8Array(0)],
      [0x0110, new Uint8Array(4)],
      [0x0800, new Uint8Array(1)],
      [0x0901, new Uint8Array(6)],
    ] as const
  ) {
    const error = assertDecodeError(withGroupLength(element(el, value)), "bad-vr-length");
    assert.equal(error.tag, el);
  }
  // UL group length of 2 bytes
  assertDecodeError(concatBytes([element(0x0000, us(0)), element(0x0100, us(1))]), "bad-vr-length");
});

Deno.test("class 6: strings longer than their VR allows", () => {
  assertDecodeError(withGroupLength(element(0x1000, ascii("1".repeat(66)))), "bad-vr-length", /64/);
  assertDecodeError(withGroupLength(element(0x0600, ascii("A".repeat(18)))), "bad-vr-length");
  // 64 is fine
  assert.equal(
    decodeCommandSet(withGroupLength(element(0x1000, ascii("1".repeat(64)))))
      .AffectedSOPInstanceUID,
    "1".repeat(64),
  );
});

Deno.test("class 6: group length wrong either way, missing, or not first", () => {
  const body = ECHO_RQ.subarray(12);
  assertDecodeError(withGroupLength(body, body.length + 2), "group-length", /58 bytes, 56 follow/);
  assertDecodeError(withGroupLength(body, body.length - 2), "group-length", /54 bytes, 56 follow/);
  assertDecodeError(withGroupLength(body, 0), "group-length");
  assertDecodeError(withGroupLength(body, 0xffffffff), "group-length");
  assertDecodeError(body, "group-length", /not \(0000,0000\)/);
  assertDecodeError(new Uint8Array(0), "group-length", /empty/);
});

Deno.test("class 6: trailing garbage after the last element", () => {
  // Garbage counted in the group length: not a whole element header.
  const extra = concatBytes([ECHO_RQ.subarray(12), new Uint8Array([1, 2])]);
  assertDecodeError(withGroupLength(extra), "truncated");
  // Garbage outside the group length.
  assertDecodeError(concatBytes([ECHO_RQ, new Uint8Array([0, 0])]), "group-length");
  assertDecodeError(concatBytes([ECHO_RQ, element(0x0900, us(0))]), "group-length");
});

Deno.test("class 6: elements out of order, duplicated, or outside group 0000", () => {
  const outOfOrder = withGroupLength(
    concatBytes([element(0x0110, us(1)), element(0x0100, us(0x30))]),
  );
  assertDecodeError(outOfOrder, "tag-order", /\(0000,0100\) .* follows \(0000,0110\)/);
  const duplicate = withGroupLength(concatBytes([element(0x0110, us(1)), element(0x0110, us(2))]));
  assertDecodeError(duplicate, "tag-order");
  const groupLengthTwice = withGroupLength(element(0x0000, new Uint8Array(4)));
  assertDecodeError(groupLengthTwice, "tag-order");
  const dataElement = withGroupLength(element(0x0010, ascii("AB"), 0x0008));
  const error = assertDecodeError(dataElement, "tag-order", /outside command group/);
  assert.equal(error.tag, 0x00080010);
});

Deno.test("class 6: element length past the end (1 over, 0xFFFFFFFF, header cut)", () => {
  const good = element(0x0002, ascii("1.2.840.10008.1.1\0"));
  for (const declared of [good.length - 8 + 1, 0xffff, 0xffffffff]) {
    const bad = good.slice();
    new DataView(bad.buffer).setUint32(4, declared, true);
    assertDecodeError(withGroupLength(bad), "truncated", /declares/);
  }
  // Header cut after 4 bytes.
  assertDecodeError(withGroupLength(good.subarray(0, 4)), "truncated", /header/);
  // Group length element itself cut.
  assertDecodeError(ECHO_RQ.subarray(0, 10), "truncated");
});

Deno.test("class 6: unknown group 0000 elements", () => {
  const error = assertDecodeError(withGroupLength(element(0x0904, us(0))), "unknown-element");
  assert.equal(error.tag, 0x00000904);
});

Deno.test("class 6: a command set over the size limit", () => {
  const big = withGroupLength(element(0x4000, ascii("x".repeat(10240))));
  assert.equal(decodeCommandSet(big).DialogReceiver?.length, 10240);
  assertDecodeError(
    withGroupLength(element(0x4000, ascii("x".repeat(10242)))),
    "bad-vr-length",
  );
  assert.throws(
    () => decodeCommandSet(big, { maxLength: 1024 }),
    (e: unknown) => e instanceof DimseDecodeError && e.code === "too-long",
  );
});

Deno.test("class 6: every truncation of a valid command set is rejected, never crashes", () => {
  for (let cut = 0; cut < ECHO_RSP.length; cut++) {
    assert.throws(() => decodeCommandSet(ECHO_RSP.subarray(0, cut)), DimseDecodeError);
  }
});

Deno.test("class 6: random corruption only ever raises DimseDecodeError", () => {
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < 2000; i++) {
    const bytes = ECHO_RSP.slice();
    const flips = 1 + Math.floor(random() * 4);
    for (let f = 0; f < flips; f++) {
      bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
    }
    try {
      const decoded = decodeCommandSet(bytes);
      // Whatever decodes must encode back to the same bytes, padding aside.
      assert.deepEqual(decodeCommandSet(encodeCommandSet(decoded)), decoded);
    } catch (error) {
      assert.ok(error instanceof DimseDecodeError, String(error));
    }
  }
});

Deno.test("decode: a string value is its own bytes' whatever the values decoded before it", () => {
  // Values of one element one after another: the same, another of the same length, a prefix
  // and an extension of it, padded either way, empty, and the first again.
  const values = [
    "1.2.840.10008.1.1",
    "1.2.840.10008.1.1",
    "1.2.840.10008.1.2",
    "1.2.840.10008.1",
    "1.2.840.10008.1.12",
    "",
    "1.2.840.10008.1.1",
  ];
  for (const pad of [0x00, 0x20]) {
    for (const uid of values) {
      const bytes = encodeCommandSet({ AffectedSOPClassUID: uid, MessageID: 1 });
      if (uid.length % 2 === 1) bytes[12 + 8 + uid.length] = pad;
      assert.deepEqual(decodeCommandSet(bytes), { AffectedSOPClassUID: uid, MessageID: 1 });
    }
  }
});
