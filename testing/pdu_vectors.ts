/**
 * Shared helpers of the tests/pdu_*.test.ts files (no tests of its own; the
 * name keeps it with the PDU tests).
 *
 * @module
 */

import assert from "node:assert/strict";
import { PduDecodeError } from "../lib/pdu/errors.ts";
import type { AssociateAcPdu, AssociateRqPdu, Pdu, UserInformation } from "../lib/pdu/types.ts";
import { decodePdu } from "../lib/pdu/codec.ts";
import echoscuLog from "./fixtures/dcmtk367_echoscu_debug.log" with { type: "text" };
import storescpLog from "./fixtures/dcmtk367_storescp_debug.log" with { type: "text" };
import { hex } from "./hex.ts";

/** Bytes from hex text with `${}` splices, read as {@link hex} reads it. */
export function h(strings: TemplateStringsArray, ...values: string[]): Uint8Array {
  return hex(strings.raw.reduce((acc, s, i) => acc + s + (values[i] ?? ""), ""));
}

/** ASCII text as hex, for splicing into {@link h} vectors. */
export function a(text: string): string {
  return Array.from(text, (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
}

/** Runs `fn` and checks it throws PduDecodeError with this abort reason (or one of these). */
export function assertDecodeError(
  fn: () => unknown,
  abortReason: number | number[],
  message?: RegExp,
): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown instanceof PduDecodeError, `expected PduDecodeError, got ${thrown}`);
  const allowed = typeof abortReason === "number" ? [abortReason] : abortReason;
  assert.ok(allowed.includes(thrown.abortReason), `${thrown.abortReason}: ${thrown.message}`);
  if (message) assert.match(thrown.message, message);
}

// Imported as text so the tests need no read permission.
const LOGS: Record<string, string> = {
  "dcmtk367_echoscu_debug.log": echoscuLog,
  "dcmtk367_storescp_debug.log": storescpLog,
};

/** A DCMTK 3.6.7 debug log, lines without the "D: " / "I: " logger prefix. */
export function fixtureLog(name: keyof typeof LOGS): string[] {
  return LOGS[name].split("\n").map((l) => l.slice(3));
}

/** The "PDU Type:" line and hex lines DCMTK logged, and the bytes they show. */
export function fixturePdu(name: keyof typeof LOGS): { lines: string[]; raw: Uint8Array } {
  const log = fixtureLog(name);
  const start = log.findIndex((l) => l.startsWith("PDU Type:"));
  let end = start + 1;
  while (log[end]?.startsWith("  ")) end++;
  const lines = log.slice(start, end);
  return { lines, raw: hex(lines.slice(1).join(" ")) };
}

/** The lines of one BEGIN..END A-ASSOCIATE block of a fixture log. */
export function fixtureDump(name: keyof typeof LOGS, kind: "RQ" | "AC"): string[] {
  const log = fixtureLog(name);
  const start = log.findIndex((l) => l.includes(`BEGIN A-ASSOCIATE-${kind}`));
  const end = log.findIndex((l, i) => i > start && l.includes(`END A-ASSOCIATE-${kind}`));
  return log.slice(start, end + 1);
}

/** The A-ASSOCIATE-RQ echoscu sent, as storescp logged it (2 contexts x 3 TS). */
export const DCMTK_RQ = fixturePdu("dcmtk367_storescp_debug.log");
/** The A-ASSOCIATE-AC storescp sent, as echoscu logged it. */
export const DCMTK_AC = fixturePdu("dcmtk367_echoscu_debug.log");

export function dcmtkRq(): AssociateRqPdu {
  const pdu = decodePdu(DCMTK_RQ.raw);
  assert.equal(pdu.type, "A-ASSOCIATE-RQ");
  return pdu;
}

export function dcmtkAc(): AssociateAcPdu {
  const pdu = decodePdu(DCMTK_AC.raw);
  assert.equal(pdu.type, "A-ASSOCIATE-AC");
  return pdu;
}

/** Where one item sits in an A-ASSOCIATE PDU. */
export interface ItemPosition {
  type: number;
  /** Offset of the item-type byte; the item-length is at at+2..at+3. */
  at: number;
  /** End of the enclosing item or PDU. */
  containerEnd: number;
  /** 0 for the items of the PDU's variable field, 1 for their sub-items. */
  depth: number;
}

/** Items whose contents are themselves items, and where those start in them. */
const NESTED: Record<number, number> = { 0x20: 4, 0x21: 4, 0x50: 0 };

/**
 * Every item and sub-item of a well-formed A-ASSOCIATE-RQ/AC, found by
 * walking the structure independently of the decoder under test.
 */
export function itemPositions(raw: Uint8Array): ItemPosition[] {
  const out: ItemPosition[] = [];
  const walk = (from: number, end: number, depth: number) => {
    for (let at = from; at < end;) {
      const type = raw[at];
      const length = (raw[at + 2] << 8) | raw[at + 3];
      out.push({ type, at, containerEnd: end, depth });
      if (type in NESTED) walk(at + 4 + NESTED[type], at + 4 + length, depth + 1);
      at += 4 + length;
    }
  };
  walk(74, raw.length, 0);
  return out;
}

/** A copy of `raw` with the 16-bit big-endian value at `at` replaced. */
export function withU16(raw: Uint8Array, at: number, value: number): Uint8Array {
  const copy = raw.slice();
  new DataView(copy.buffer).setUint16(at, value);
  return copy;
}

/** A small seeded PRNG (mulberry32), for reproducible random tests. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A PDU value and its bytes, hand-assembled from the PS3.8 9.3 layouts. */
export interface PduVector {
  name: string;
  pdu: Pdu;
  bytes: Uint8Array;
}

const APP_CONTEXT = "1.2.840.10008.3.1.1.1"; // 21 bytes, odd: never padded

/** One vector per PDU type, plus the AC with a rejected context. */
export const PDU_VECTORS: readonly PduVector[] = [
  {
    name: "A-ASSOCIATE-RQ",
    pdu: {
      type: "A-ASSOCIATE-RQ",
      protocolVersion: 1,
      calledAeTitle: "ANY-SCP",
      callingAeTitle: "ECHOSCU",
      applicationContext: APP_CONTEXT,
      presentationContexts: [{
        id: 1,
        abstractSyntax: "1.2",
        transferSyntaxes: ["1.2.3", "1.2.4"],
      }],
      userInformation: {
        maxLength: 16384,
        roleSelections: [],
        extendedNegotiations: [],
        commonExtendedNegotiations: [],
      },
    },
    bytes: h`
      01 00 0000008a                     // 1 type, 2 reserved, 3-6 PDU-length 138
      0001 0000                          // 7-8 protocol-version, 9-10 reserved
      ${a("ANY-SCP         ")}           // 11-26 called-AE-title, space padded
      ${a("ECHOSCU         ")}           // 27-42 calling-AE-title
      ${"00".repeat(32)}                 // 43-74 reserved
      10 00 0015 ${a(APP_CONTEXT)}       // application context item
      20 00 001d 01 000000               // presentation context item: 5 ID, 6-8 reserved
        30 00 0003 ${a("1.2")}           //   abstract syntax sub-item
        40 00 0005 ${a("1.2.3")}         //   transfer syntax sub-items
        40 00 0005 ${a("1.2.4")}
      50 00 0008                         // user information item
        51 00 0004 00004000              //   maximum length 16384
    `,
  },
  {
    name: "A-ASSOCIATE-AC",
    pdu: {
      type: "A-ASSOCIATE-AC",
      protocolVersion: 1,
      calledAeTitle: "ANY-SCP",
      callingAeTitle: "ECHOSCU",
      applicationContext: APP_CONTEXT,
      presentationContexts: [
        { id: 1, result: 0, transferSyntax: "1.2.3" },
        { id: 3, result: 3, transferSyntax: "" },
      ],
      userInformation: {
        maxLength: 0,
        implementationClassUid: "1.2",
        roleSelections: [],
        extendedNegotiations: [],
        commonExtendedNegotiations: [],
      },
    },
    bytes: h`
      02 00 0000008d 0001 0000           // 1-6 header (length 141), 7-8 version, 9-10 reserved
      ${a("ANY-SCP         ")}           // 11-26 echoed, not tested
      ${a("ECHOSCU         ")}           // 27-42 echoed, not tested
      ${"00".repeat(32)}                 // 43-74 reserved
      10 00 0015 ${a(APP_CONTEXT)}
      21 00 000d 01 00 00 00             // 5 ID, 6 reserved, 7 result acceptance, 8 reserved
        40 00 0005 ${a("1.2.3")}
      21 00 0008 03 00 03 00             // result 3: abstract syntax not supported
        40 00 0000                       //   empty, not significant
      50 00 000f
        51 00 0004 00000000              //   maximum length 0: unlimited
        52 00 0003 ${a("1.2")}           //   implementation class UID
    `,
  },
  {
    name: "A-ASSOCIATE-RJ",
    pdu: { type: "A-ASSOCIATE-RJ", result: 1, source: 1, reason: 7 },
    bytes: h`03 00 00000004 00 01 01 07`, // 7 reserved, 8 result, 9 source, 10 reason
  },
  {
    name: "P-DATA-TF",
    pdu: {
      type: "P-DATA-TF",
      pdvs: [
        { contextId: 1, isCommand: true, isLast: true, data: h`01020304` },
        { contextId: 3, isCommand: false, isLast: false, data: h`ff` },
      ],
    },
    bytes: h`
      04 00 00000011
      00000006 01 03 01020304            // PDV: 1-4 length, 5 context ID, 6 control (command, last), data
      00000003 03 00 ff                  // PDV: data fragment, not last
    `,
  },
  {
    name: "A-RELEASE-RQ",
    pdu: { type: "A-RELEASE-RQ" },
    bytes: h`05 00 00000004 00000000`,
  },
  {
    name: "A-RELEASE-RP",
    pdu: { type: "A-RELEASE-RP" },
    bytes: h`06 00 00000004 00000000`,
  },
  {
    name: "A-ABORT",
    pdu: { type: "A-ABORT", source: 2, reason: 6 },
    bytes: h`07 00 00000004 00 00 02 06`, // 7-8 reserved, 9 source, 10 reason
  },
];

/** User information with every sub-item, in the order the encoder writes them. */
export const FULL_USER_INFORMATION: UserInformation = {
  maxLength: 16384,
  implementationClassUid: "1.2",
  asynchronousOperationsWindow: { maxOperationsInvoked: 3, maxOperationsPerformed: 1 },
  roleSelections: [{ sopClassUid: "1.2", scuRole: true, scpRole: false }],
  implementationVersionName: "ABCD",
  extendedNegotiations: [{ sopClassUid: "1.2", serviceClassApplicationInformation: h`010203` }],
  commonExtendedNegotiations: [{
    sopClassUid: "1.2",
    serviceClassUid: "1.2.3",
    relatedGeneralSopClassUids: ["1.2.4", "1.2.5"],
  }],
  userIdentityRq: {
    identityType: 2,
    positiveResponseRequested: true,
    primaryField: h`${a("alice")}`,
    secondaryField: h`${a("secret")}`,
  },
  userIdentityAc: { serverResponse: h`${a("ok")}` },
};

/** The RQ and AC vectors with every user information sub-item. */
export function fullAssociatePdus(): Pdu[] {
  return PDU_VECTORS.slice(0, 2).map((v) =>
    ({ ...v.pdu, userInformation: FULL_USER_INFORMATION }) as Pdu
  );
}
