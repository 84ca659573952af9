/**
 * Item and sub-item codecs of the A-ASSOCIATE-RQ/AC variable fields
 * (PS3.8 9.3.2.x, 9.3.3.x, Annex D; PS3.7 Annex D.3.3).
 *
 * Every item starts with the same 4 bytes (PS3.8 9.3.2.1 and following):
 * byte 1 item-type, byte 2 reserved (00H, not tested), bytes 3-4 item-length
 * counting the bytes after the length field. The tables below list the rest
 * of each item with the "item bytes" numbering of the standard, so each
 * offset can be checked against it; the framing is shared by
 * {@link writeItem} and {@link readItems}.
 *
 * @module
 */

import {
  type ByteReader,
  bytes16,
  bytesRest,
  type ByteWriter,
  type Field,
  flag,
  mapped,
  record,
  u16,
  u32,
  u8,
} from "./bytes.ts";
import { latin1, latin1Bytes } from "../util/bytes.ts";
import { PduDecodeError } from "./errors.ts";
import {
  ABORT_REASON,
  type AsynchronousOperationsWindow,
  ITEM_TYPE,
  type PresentationContextAc,
  type PresentationContextRq,
  type RoleSelection,
  type SopClassCommonExtendedNegotiation,
  type SopClassExtendedNegotiation,
  type UserIdentityAc,
  type UserIdentityRq,
  type UserInformation,
} from "./types.ts";

const INVALID = ABORT_REASON.invalidPduParameterValue;

/** PS3.5 9.1: a UID is at most 64 characters. */
const MAX_UID_LENGTH = 64;

/** One item type: its code and the codec of what follows its 4-byte header. */
export interface ItemCodec<V> {
  readonly type: number;
  readonly name: string;
  readonly body: Field<V>;
}

function itemCodec<V>(type: number, name: string, body: Field<V>): ItemCodec<V> {
  return { type, name, body };
}

/** Writes item-type, reserved 00H, item-length (computed) and the body. */
export function writeItem<V>(w: ByteWriter, codec: ItemCodec<V>, v: V): void {
  w.u8(codec.type);
  w.u8(0);
  w.lengthPrefixed(2, () => codec.body.write(w, v));
}

/** Decodes one item body, which must be consumed exactly. */
function readBody<V>(codec: ItemCodec<V>, body: ByteReader): V {
  const v = codec.body.read(body);
  body.expectEnd();
  return v;
}

const KNOWN_ITEM_TYPES: ReadonlySet<number> = new Set(Object.values(ITEM_TYPE));

/**
 * The decoded items of one variable field, grouped by type. Built by
 * {@link readItems}; the accessors enforce how many of each the standard
 * allows.
 */
export class ItemBag {
  readonly #values = new Map<number, unknown[]>();

  constructor(readonly where: string) {}

  add(type: number, value: unknown): void {
    const list = this.#values.get(type);
    if (list) list.push(value);
    else this.#values.set(type, [value]);
  }

  /** Every item of this type, in order. */
  all<V>(codec: ItemCodec<V>): V[] {
    return (this.#values.get(codec.type) ?? []) as V[];
  }

  /** At most one item of this type. */
  optional<V>(codec: ItemCodec<V>): V | undefined {
    return atMostOne(this.where, codec.name, this.all(codec));
  }

  /** Exactly one item of this type. */
  one<V>(codec: ItemCodec<V>): V {
    return exactlyOne(this.where, codec.name, this.all(codec));
  }
}

/** The one item of `list` if any; more than one is an unexpected parameter. */
function atMostOne<V>(where: string, name: string, list: readonly V[]): V | undefined {
  if (list.length > 1) {
    throw new PduDecodeError(
      `${where}: ${list.length} ${name} items, at most one is allowed`,
      ABORT_REASON.unexpectedPduParameter,
    );
  }
  return list[0];
}

/** The one item of `list`; none is an invalid parameter, more than one unexpected. */
function exactlyOne<V>(where: string, name: string, list: readonly V[]): V {
  const v = atMostOne(where, name, list);
  if (v === undefined) throw new PduDecodeError(`${where}: missing ${name} item`, INVALID);
  return v;
}

/**
 * Reads the items of a variable field, decoding each as it comes so errors
 * are reported in byte order. Each declared item-length is checked against
 * the bytes left before it is used. Item types this standard does not define
 * are skipped by their length (forward compatibility); defined types that do
 * not belong in this field are an unexpected PDU parameter.
 */
export function readItems(
  r: ByteReader,
  where: string,
  expected: readonly ItemCodec<unknown>[],
): ItemBag {
  const bag = new ItemBag(where);
  const byType = new Map(expected.map((c) => [c.type, c]));
  while (r.remaining > 0) {
    const type = r.u8();
    r.skip(1);
    const length = r.u16();
    const codec = byType.get(type);
    const body = r.sub(length, `${where}, ${codec?.name ?? `type ${hex2(type)}`} item`);
    if (codec) bag.add(type, readBody(codec, body));
    else if (KNOWN_ITEM_TYPES.has(type)) {
      throw new PduDecodeError(
        `${where}: item type ${hex2(type)} does not belong here`,
        ABORT_REASON.unexpectedPduParameter,
      );
    }
  }
  return bag;
}

function hex2(n: number): string {
  return `0x${n.toString(16).padStart(2, "0")}`;
}

// ---------------------------------------------------------------------------
// UIDs and names

/**
 * What is wrong with a UID read from the wire or about to be written, if
 * anything: `required` UIDs must not be empty; none may exceed 64
 * characters (PS3.5 9.1).
 */
function uidProblem(uid: string, required: boolean): string | undefined {
  if (uid.length > MAX_UID_LENGTH) return `UID of ${uid.length} characters (max ${MAX_UID_LENGTH})`;
  if (required && uid.length === 0) return "empty UID";
  return undefined;
}

/**
 * A UID from its bytes. Decoding strips trailing NUL or space padding, which
 * some peers add (PS3.8 9.3.2.2.1 note, PS3.5 9.1).
 */
function decodeUid(b: Uint8Array, required: boolean): string {
  const uid = latin1(b).replace(/[\0 ]+$/, "");
  const problem = uidProblem(uid, required);
  if (problem) throw new PduDecodeError(problem, INVALID);
  return uid;
}

/**
 * A UID's bytes. Encoding never pads, since the UL fields carry the exact
 * length and odd lengths are legal.
 */
function encodeUid(uid: string, required: boolean): Uint8Array {
  const problem = uidProblem(uid, required);
  if (problem) throw new RangeError(problem);
  return latin1Bytes(uid);
}

/** A UID carried in `carrier`'s bytes. */
function uidIn(carrier: Field<Uint8Array>, required: boolean): Field<string> {
  return mapped(
    carrier,
    (b) => decodeUid(b, required),
    (s) => encodeUid(s, required),
  );
}

/** A UID filling the rest of its item. */
const uidRest = uidIn(bytesRest, true);
/** A UID preceded by a 2-byte UID-length. */
const uid16 = uidIn(bytes16, true);

/**
 * A list of UIDs preceded by the 2-byte length of the whole list, each UID
 * with its own 2-byte length (PS3.7 D.3.3.6, related general SOP class
 * identification).
 */
const uidList16: Field<string[]> = {
  read(r) {
    const list = r.sub(r.u16(), "related general SOP class identification");
    const out: string[] = [];
    while (list.remaining > 0) out.push(uid16.read(list));
    return out;
  },
  write(w, v) {
    w.lengthPrefixed(2, () => v.forEach((uid) => uid16.write(w, uid)));
  },
};

// ---------------------------------------------------------------------------
// Items of the A-ASSOCIATE-RQ and -AC variable fields (PS3.8 9.3.2, 9.3.3)

/** PS3.8 9.3.2.1 / 9.3.3.1 application context item: 5-xxx application-context-name. */
export const applicationContextItem = itemCodec(
  ITEM_TYPE.applicationContext,
  "application context",
  uidRest,
);

/** PS3.8 9.3.2.2.1 abstract syntax sub-item: 5-xxx abstract-syntax-name. */
export const abstractSyntaxItem = itemCodec(ITEM_TYPE.abstractSyntax, "abstract syntax", uidRest);

/** PS3.8 9.3.2.2.2 transfer syntax sub-item: 5-xxx transfer-syntax-name. */
export const transferSyntaxItem = itemCodec(ITEM_TYPE.transferSyntax, "transfer syntax", uidRest);

/**
 * The transfer syntax sub-item of an A-ASSOCIATE-AC context (PS3.8
 * 9.3.3.2.1). Its value "shall not be tested" unless the context was
 * accepted, so it may be empty there; the context checks acceptance.
 */
const acceptedTransferSyntaxItem = itemCodec(
  ITEM_TYPE.transferSyntax,
  "transfer syntax",
  uidIn(bytesRest, false),
);

/**
 * The abstract and transfer syntax sub-items of a presentation context item:
 * in the RQ (`rq`) one abstract syntax and transfer syntaxes (PS3.8
 * 9.3.2.2.1-2), in the AC a transfer syntax, empty allowed (9.3.3.2.1).
 * This is {@link readItems} with the {@link uidRest} codecs, written out: a
 * storescu proposes 128 contexts, and that generic path (a bag, a map, a
 * reader and a message per sub-item) cost about 25 us per context in a
 * process's first association. Same checks, same errors, in byte order.
 */
function readContextUids(r: ByteReader, where: string, rq: boolean): [string[], string[]] {
  const abstractSyntaxes: string[] = [];
  const transferSyntaxes: string[] = [];
  while (r.remaining > 0) {
    const type = r.u8();
    r.skip(1);
    const body = r.bytesView(r.u16());
    if (type === ITEM_TYPE.transferSyntax) transferSyntaxes.push(decodeUid(body, rq));
    else if (rq && type === ITEM_TYPE.abstractSyntax) abstractSyntaxes.push(decodeUid(body, true));
    else if (KNOWN_ITEM_TYPES.has(type)) {
      throw new PduDecodeError(
        `${where}: item type ${hex2(type)} does not belong here`,
        ABORT_REASON.unexpectedPduParameter,
      );
    }
  }
  return [abstractSyntaxes, transferSyntaxes];
}

/** A UID sub-item (PS3.8 9.3.2.2.1-2, 9.3.3.2.1), as {@link writeItem} writes it with {@link uidRest}. */
function writeUidItem(w: ByteWriter, type: number, uid: string, required: boolean): void {
  const problem = uidProblem(uid, required);
  if (problem) throw new RangeError(problem);
  w.u8(type);
  w.u8(0);
  // One byte per character (ByteWriter.latin1 refuses any that is not).
  w.u16(uid.length);
  w.latin1(uid);
}

/**
 * PS3.8 9.3.2.2 presentation context item (RQ):
 * 5 presentation-context-ID, 6-8 reserved,
 * 9-xxx one abstract syntax sub-item and one or more transfer syntax
 * sub-items.
 */
export const presentationContextRqItem = itemCodec<PresentationContextRq>(
  ITEM_TYPE.presentationContextRq,
  "presentation context",
  {
    read(r) {
      const id = r.u8();
      r.skip(3);
      const where = `presentation context ${id}`;
      const [abstractSyntaxes, transferSyntaxes] = readContextUids(r, where, true);
      const abstractSyntax = exactlyOne(where, abstractSyntaxItem.name, abstractSyntaxes);
      if (transferSyntaxes.length === 0) {
        throw new PduDecodeError(`${where}: no transfer syntax sub-item`, INVALID);
      }
      return { id, abstractSyntax, transferSyntaxes };
    },
    write(w, v) {
      w.u8(v.id);
      w.zeros(3);
      writeUidItem(w, ITEM_TYPE.abstractSyntax, v.abstractSyntax, true);
      for (const ts of v.transferSyntaxes) writeUidItem(w, ITEM_TYPE.transferSyntax, ts, true);
    },
  },
);

/**
 * PS3.8 9.3.3.2 presentation context item (AC):
 * 5 presentation-context-ID, 6 reserved, 7 result/reason, 8 reserved,
 * 9-xxx one transfer syntax sub-item. A missing sub-item in a rejected
 * context is tolerated (its value is not significant) and read as "".
 */
export const presentationContextAcItem = itemCodec<PresentationContextAc>(
  ITEM_TYPE.presentationContextAc,
  "presentation context",
  {
    read(r) {
      const id = r.u8();
      r.skip(1);
      const result = r.u8();
      r.skip(1);
      const where = `presentation context ${id}`;
      const [, list] = readContextUids(r, where, false);
      const name = acceptedTransferSyntaxItem.name;
      const transferSyntax = result === 0
        ? exactlyOne(where, name, list)
        : atMostOne(where, name, list) ?? "";
      if (result === 0 && transferSyntax === "") {
        throw new PduDecodeError(`${where}: accepted with an empty transfer syntax`, INVALID);
      }
      return { id, result, transferSyntax };
    },
    write(w, v) {
      w.u8(v.id);
      w.u8(0);
      w.u8(v.result);
      w.u8(0);
      writeUidItem(w, ITEM_TYPE.transferSyntax, v.transferSyntax, false);
    },
  },
);

// ---------------------------------------------------------------------------
// Sub-items of the user information item (PS3.8 Annex D, PS3.7 Annex D.3.3)

/** PS3.8 D.1 maximum length sub-item: 5-8 maximum-length-received (0 = unlimited). */
export const maximumLengthItem = itemCodec(ITEM_TYPE.maximumLength, "maximum length", u32);

/** PS3.7 D.3.3.2.1 implementation class UID sub-item: 5-xxx implementation-class-uid. */
export const implementationClassUidItem = itemCodec(
  ITEM_TYPE.implementationClassUid,
  "implementation class UID",
  uidRest,
);

/**
 * PS3.7 D.3.3.3 asynchronous operations window sub-item:
 * 5-6 maximum-number-operations-invoked, 7-8 maximum-number-operations-performed.
 */
export const asynchronousOperationsWindowItem = itemCodec(
  ITEM_TYPE.asynchronousOperationsWindow,
  "asynchronous operations window",
  record<AsynchronousOperationsWindow>(
    ["maxOperationsInvoked", u16], // 5-6
    ["maxOperationsPerformed", u16], // 7-8
  ),
);

/**
 * PS3.7 D.3.3.4 SCP/SCU role selection sub-item:
 * 5-6 UID-length, 7-xxx SOP-class-uid, xxx+1 SCU-role, xxx+2 SCP-role
 * (0 non-support, 1 support).
 */
export const roleSelectionItem = itemCodec(
  ITEM_TYPE.roleSelection,
  "SCP/SCU role selection",
  record<RoleSelection>(
    ["sopClassUid", uid16], // 5-6 length, 7-xxx
    ["scuRole", flag], // xxx+1
    ["scpRole", flag], // xxx+2
  ),
);

/**
 * PS3.7 D.3.3.2.3 implementation version name sub-item: 5-xxx
 * implementation-version-name. Kept exactly as received: it is a name, not a
 * UID, and nothing pads it.
 */
export const implementationVersionNameItem = itemCodec(
  ITEM_TYPE.implementationVersionName,
  "implementation version name",
  mapped(bytesRest, latin1, latin1Bytes),
);

/**
 * PS3.7 D.3.3.5 SOP class extended negotiation sub-item:
 * 5-6 SOP-class-uid-length, 7-xxx SOP-class-uid,
 * xxx-xxx service-class-application-information (to the end of the item).
 */
export const sopClassExtendedNegotiationItem = itemCodec(
  ITEM_TYPE.sopClassExtendedNegotiation,
  "SOP class extended negotiation",
  record<SopClassExtendedNegotiation>(
    ["sopClassUid", uid16], // 5-6 length, 7-xxx
    ["serviceClassApplicationInformation", bytesRest], // xxx-xxx
  ),
);

/**
 * PS3.7 D.3.3.6 SOP class common extended negotiation sub-item. Byte 2 is
 * the sub-item version (00H), written by {@link writeItem} as the reserved
 * byte. 5-6 SOP-class-uid-length, 7-x SOP-class-uid,
 * x+1..x+2 service-class-uid-length, x+3..y service-class-uid,
 * y+1..y+2 related-general-sop-class-identification-length, y+3..z the list.
 */
export const sopClassCommonExtendedNegotiationItem = itemCodec(
  ITEM_TYPE.sopClassCommonExtendedNegotiation,
  "SOP class common extended negotiation",
  record<SopClassCommonExtendedNegotiation>(
    ["sopClassUid", uid16], // 5-6 length, 7-x
    ["serviceClassUid", uid16], // x+1..x+2 length, x+3..y
    ["relatedGeneralSopClassUids", uidList16], // y+1..y+2 length, y+3..z
  ),
);

/**
 * PS3.7 D.3.3.7.1 user identity sub-item (RQ): 5 user-identity-type,
 * 6 positive-response-requested, 7-8 primary-field-length, 9-n primary-field,
 * n+1..n+2 secondary-field-length, n+3..m secondary-field (length 0 unless
 * the type is 2, username and passcode).
 */
export const userIdentityRqItem = itemCodec(
  ITEM_TYPE.userIdentityRq,
  "user identity",
  record<UserIdentityRq>(
    ["identityType", u8], // 5
    ["positiveResponseRequested", flag], // 6
    ["primaryField", bytes16], // 7-8 length, 9-n
    ["secondaryField", bytes16], // n+1..n+2 length, n+3..m
  ),
);

/** PS3.7 D.3.3.7.2 user identity sub-item (AC): 5-6 server-response-length, 7-n server-response. */
export const userIdentityAcItem = itemCodec(
  ITEM_TYPE.userIdentityAc,
  "user identity response",
  record<UserIdentityAc>(["serverResponse", bytes16]),
);

/**
 * PS3.8 9.3.2.3 / 9.3.3.3 user information item: 5-xxx user data sub-items.
 * Written in the order DCMTK and pynetdicom use (maximum length, class UID,
 * asynchronous window, roles, version name, extended negotiations, user
 * identity); read in any order.
 */
export const userInformationItem = itemCodec<UserInformation>(
  ITEM_TYPE.userInformation,
  "user information",
  {
    read(r) {
      const sub = readItems(r, "user information", [
        maximumLengthItem,
        implementationClassUidItem,
        asynchronousOperationsWindowItem,
        roleSelectionItem,
        implementationVersionNameItem,
        sopClassExtendedNegotiationItem,
        sopClassCommonExtendedNegotiationItem,
        userIdentityRqItem,
        userIdentityAcItem,
      ]);
      const ui: UserInformation = {
        roleSelections: sub.all(roleSelectionItem),
        extendedNegotiations: sub.all(sopClassExtendedNegotiationItem),
        commonExtendedNegotiations: sub.all(sopClassCommonExtendedNegotiationItem),
      };
      // Optional values are only set when present, so a decoded value
      // compares equal to one built without them.
      const maxLength = sub.optional(maximumLengthItem);
      if (maxLength !== undefined) ui.maxLength = maxLength;
      const classUid = sub.optional(implementationClassUidItem);
      if (classUid !== undefined) ui.implementationClassUid = classUid;
      const window = sub.optional(asynchronousOperationsWindowItem);
      if (window !== undefined) ui.asynchronousOperationsWindow = window;
      const versionName = sub.optional(implementationVersionNameItem);
      if (versionName !== undefined) ui.implementationVersionName = versionName;
      const identityRq = sub.optional(userIdentityRqItem);
      if (identityRq !== undefined) ui.userIdentityRq = identityRq;
      const identityAc = sub.optional(userIdentityAcItem);
      if (identityAc !== undefined) ui.userIdentityAc = identityAc;
      return ui;
    },
    write(w, v) {
      const optional = <V>(codec: ItemCodec<V>, value: V | undefined) => {
        if (value !== undefined) writeItem(w, codec, value);
      };
      optional(maximumLengthItem, v.maxLength);
      optional(implementationClassUidItem, v.implementationClassUid);
      optional(asynchronousOperationsWindowItem, v.asynchronousOperationsWindow);
      for (const role of v.roleSelections) writeItem(w, roleSelectionItem, role);
      optional(implementationVersionNameItem, v.implementationVersionName);
      for (const ext of v.extendedNegotiations) {
        writeItem(w, sopClassExtendedNegotiationItem, ext);
      }
      for (const ext of v.commonExtendedNegotiations) {
        writeItem(w, sopClassCommonExtendedNegotiationItem, ext);
      }
      optional(userIdentityRqItem, v.userIdentityRq);
      optional(userIdentityAcItem, v.userIdentityAc);
    },
  },
);
