/**
 * Valid inputs the mutators start from, all built with our own encoders:
 * every PDU type and item, A-ASSOCIATE-RQ with many contexts and every user
 * information sub-item, P-DATA with command and data set PDVs, every DIMSE
 * command we know, data sets in the four uncompressed syntaxes (sequences,
 * defined and undefined lengths, encapsulated pixel data) and Part 10 files.
 * Deterministic: the same corpus on every run, so a seed replays exactly.
 *
 * @module
 */

import { attribute, type Attributes, encodeAttributes } from "../../lib/dicom/attributes.ts";
import { type Dataset, encodeDataset } from "../../lib/dicom/dataset.ts";
import { queryFromKeys } from "../../lib/dicom/query_keys.ts";
import { encodeCommandSet } from "../../lib/dimse/command.ts";
import { fragmentMessage } from "../../lib/dimse/fragment.ts";
import { type DimseMessage, messageToCommandSet, PRIORITY } from "../../lib/dimse/messages.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import { encodePdu } from "../../lib/pdu/codec.ts";
import {
  type AssociateRqPdu,
  DICOM_APPLICATION_CONTEXT,
  ITEM_TYPE,
  type Pdu,
  PDU_TYPE,
} from "../../lib/pdu/types.ts";
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  QUERY_RETRIEVE_SOP_CLASSES,
  VERIFICATION_SOP_CLASS,
} from "../../lib/dicom/uids.ts";
import { deflateRaw } from "../../lib/dicom/deflate.ts";
import { encodeText } from "../../lib/dicom/vr.ts";
import { JPEG_LOSSLESS_SV1, makeImageFile, MR_IMAGE_STORAGE } from "../dicom_files.ts";
import {
  DCMTK_AC,
  DCMTK_RQ,
  FULL_USER_INFORMATION,
  fullAssociatePdus,
  PDU_VECTORS,
} from "../pdu_vectors.ts";
import type { LengthField } from "./mutate.ts";

/** The uncompressed syntaxes, by the short names the targets use. */
export const SYNTAXES = {
  ile: IMPLICIT_VR_LITTLE_ENDIAN,
  ele: EXPLICIT_VR_LITTLE_ENDIAN,
  ebe: EXPLICIT_VR_BIG_ENDIAN,
  deflate: DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
} as const;

/** Fixed UIDs, so that the corpus is the same on every run. */
export const SOP_INSTANCE = "1.2.826.0.1.3680043.2.1125.99.1";
const STUDY = "1.2.826.0.1.3680043.2.1125.99.2";
const SERIES = "1.2.826.0.1.3680043.2.1125.99.3";

/** A small MR image data set (no meta information) in `ts`, 4x4 pixels. */
export function smallImage(ts: string, definedLengths = false): Uint8Array {
  return makeImageFile({
    ts,
    rows: 4,
    cols: 4,
    meta: false,
    definedLengths,
    sopInstanceUid: SOP_INSTANCE,
    studyUid: STUDY,
    seriesUid: SERIES,
  });
}

// ---------------------------------------------------------------------------
// DIMSE

const STUDY_ROOT = QUERY_RETRIEVE_SOP_CLASSES.studyRoot;

/** One message of every type we know, with every optional field in some of them. */
export const MESSAGES: readonly DimseMessage[] = [
  { type: "C-ECHO-RQ", messageId: 1, affectedSopClassUid: VERIFICATION_SOP_CLASS },
  { type: "C-ECHO-RSP", messageIdBeingRespondedTo: 1, status: 0 },
  {
    type: "C-ECHO-RSP",
    messageIdBeingRespondedTo: 0xffff,
    affectedSopClassUid: VERIFICATION_SOP_CLASS,
    status: 0x0122,
    errorComment: "not supported",
    errorId: 7,
    offendingElement: [0x00000002],
  },
  {
    type: "C-STORE-RQ",
    messageId: 2,
    affectedSopClassUid: MR_IMAGE_STORAGE,
    affectedSopInstanceUid: SOP_INSTANCE,
    priority: PRIORITY.medium,
  },
  {
    type: "C-STORE-RQ",
    messageId: 3,
    affectedSopClassUid: MR_IMAGE_STORAGE,
    affectedSopInstanceUid: SOP_INSTANCE,
    priority: PRIORITY.high,
    moveOriginatorAeTitle: "MOVESCU",
    moveOriginatorMessageId: 9,
  },
  {
    type: "C-STORE-RSP",
    messageIdBeingRespondedTo: 2,
    affectedSopClassUid: MR_IMAGE_STORAGE,
    affectedSopInstanceUid: SOP_INSTANCE,
    status: 0,
  },
  {
    type: "C-STORE-RSP",
    messageIdBeingRespondedTo: 3,
    status: 0xa900,
    errorComment: "data set does not match",
    offendingElement: [0x00080016, 0x00080018],
  },
  { type: "C-FIND-RQ", messageId: 4, affectedSopClassUid: STUDY_ROOT.find, priority: 0 },
  {
    type: "C-FIND-RSP",
    messageIdBeingRespondedTo: 4,
    affectedSopClassUid: STUDY_ROOT.find,
    status: 0xff00,
    datasetPresent: true,
  },
  { type: "C-GET-RQ", messageId: 5, affectedSopClassUid: STUDY_ROOT.get, priority: 2 },
  {
    type: "C-GET-RSP",
    messageIdBeingRespondedTo: 5,
    status: 0xb000,
    remainingSuboperations: 0,
    completedSuboperations: 3,
    failedSuboperations: 1,
    warningSuboperations: 0,
    datasetPresent: true,
  },
  {
    type: "C-MOVE-RQ",
    messageId: 6,
    affectedSopClassUid: STUDY_ROOT.move,
    priority: 1,
    moveDestination: "STORESCP",
  },
  {
    type: "C-MOVE-RSP",
    messageIdBeingRespondedTo: 6,
    affectedSopClassUid: STUDY_ROOT.move,
    status: 0xa801,
    completedSuboperations: 0,
    failedSuboperations: 0,
    warningSuboperations: 0,
  },
  { type: "C-CANCEL-RQ", messageIdBeingRespondedTo: 4 },
];

/** A command set with every element of PS3.7 Annex E, retired ones included. */
function everyElement(): Uint8Array {
  return encodeCommandSet({
    AffectedSOPClassUID: MR_IMAGE_STORAGE,
    RequestedSOPClassUID: MR_IMAGE_STORAGE,
    CommandField: 0x0001,
    MessageID: 5,
    MessageIDBeingRespondedTo: 4,
    MoveDestination: "DEST",
    Priority: 0,
    CommandDataSetType: 0x0101,
    Status: 0xff00,
    OffendingElement: [0x00100010, 0x00100020],
    ErrorComment: "comment",
    ErrorID: 1,
    AffectedSOPInstanceUID: SOP_INSTANCE,
    RequestedSOPInstanceUID: SOP_INSTANCE,
    EventTypeID: 1,
    AttributeIdentifierList: [0x00080016],
    ActionTypeID: 2,
    NumberOfRemainingSuboperations: 3,
    NumberOfCompletedSuboperations: 4,
    NumberOfFailedSuboperations: 5,
    NumberOfWarningSuboperations: 6,
    MoveOriginatorApplicationEntityTitle: "ORIG",
    MoveOriginatorMessageID: 7,
    CommandLengthToEnd: 0,
    CommandRecognitionCode: "RC",
    Initiator: "INIT",
    Receiver: "RECV",
    FindLocation: "LOC",
    NumberOfMatches: 1,
    ResponseSequenceNumber: 2,
    DialogReceiver: "dialog",
    TerminalType: "term",
    MessageSetID: "SET",
    EndMessageID: "END",
    DisplayFormat: "fmt",
    PagePositionID: "pos",
    TextFormatID: "TXT",
    NormalReverse: "NORMAL",
    AddGrayScale: "YES",
    Borders: "NO",
    Copies: "1",
    CommandMagnificationType: "REPLICATE",
    Erase: "YES",
    Print: "YES",
    Overlays: [1, 2],
  });
}

/** Command sets: every message, and one with every element. */
export function commandCorpus(): Uint8Array[] {
  return [...MESSAGES.map((m) => encodeCommandSet(messageToCommandSet(m))), everyElement()];
}

/** Length fields of a command set: the 32-bit little endian length of each element (PS3.7 6.3.1). */
export function commandLengthFields(bytes: Uint8Array): LengthField[] {
  const out: LengthField[] = [];
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at + 8 <= bytes.length; at += 8 + v.getUint32(at + 4, true)) {
    out.push({ offset: at + 4, size: 4, littleEndian: true });
  }
  return out;
}

// ---------------------------------------------------------------------------
// PDUs

const PCS_PER_BIG_RQ = 64;

/** An A-ASSOCIATE-RQ with 64 contexts of 3 syntaxes each and every user information sub-item, repeated ones many times. */
function bigAssociateRq(): AssociateRqPdu {
  return {
    type: "A-ASSOCIATE-RQ",
    protocolVersion: 1,
    calledAeTitle: "STORESCP",
    callingAeTitle: "FUZZ",
    applicationContext: DICOM_APPLICATION_CONTEXT,
    presentationContexts: Array.from({ length: PCS_PER_BIG_RQ }, (_, i) => ({
      id: 2 * i + 1,
      abstractSyntax: `${MR_IMAGE_STORAGE}.${i}`,
      transferSyntaxes: [
        EXPLICIT_VR_LITTLE_ENDIAN,
        IMPLICIT_VR_LITTLE_ENDIAN,
        EXPLICIT_VR_BIG_ENDIAN,
      ],
    })),
    userInformation: {
      ...FULL_USER_INFORMATION,
      roleSelections: Array.from({ length: 8 }, (_, i) => ({
        sopClassUid: `1.2.${i}`,
        scuRole: i % 2 === 0,
        scpRole: i % 3 === 0,
      })),
      extendedNegotiations: Array.from({ length: 4 }, (_, i) => ({
        sopClassUid: `1.2.${i}`,
        serviceClassApplicationInformation: new Uint8Array([i, 1, 0, 1]),
      })),
    },
  };
}

/** The C-STORE-RQ of the store sessions. */
const STORE_RQ = MESSAGES[3];

/** A DIMSE message as P-DATA-TF PDUs of at most `pdv` data bytes each: command, then data set. */
function messagePdus(
  contextId: number,
  message: DimseMessage,
  dataset: Uint8Array | undefined,
  pdv: number,
): Pdu[] {
  const command = encodeCommandSet(messageToCommandSet(message));
  const pdus: Pdu[] = [...fragmentMessage(contextId, true, command, pdv)];
  if (dataset) pdus.push(...fragmentMessage(contextId, false, dataset, pdv));
  return pdus;
}

/** Single PDUs: every type, every item and sub-item, P-DATA with command and data set PDVs. */
export function pduCorpus(): Uint8Array[] {
  const image = smallImage(EXPLICIT_VR_LITTLE_ENDIAN);
  const store = messagePdus(1, STORE_RQ, image, 256);
  // One P-DATA-TF holding a whole message: command PDV then data set PDVs (PS3.8 9.3.5).
  const together: Pdu = {
    type: "P-DATA-TF",
    pdvs: store.flatMap((p) => p.type === "P-DATA-TF" ? p.pdvs : []).slice(0, 6),
  };
  return [
    ...PDU_VECTORS.map((v) => v.bytes),
    ...fullAssociatePdus().map((p) => encodePdu(p)),
    DCMTK_RQ.raw,
    DCMTK_AC.raw,
    encodePdu(bigAssociateRq()),
    encodePdu(together),
    ...store.slice(0, 2).map((p) => encodePdu(p)),
    ...[0, 1, 2].map((reason) => encodePdu({ type: "A-ABORT", source: 2, reason })),
    encodePdu({ type: "A-ASSOCIATE-RJ", result: 2, source: 3, reason: 2 }),
  ];
}

/** The A-ASSOCIATE-RQ of the live sessions: Verification, and MR storage in the four syntaxes. */
export function sessionRq(calledAeTitle: string): AssociateRqPdu {
  const ts = [
    IMPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  ];
  return {
    type: "A-ASSOCIATE-RQ",
    protocolVersion: 1,
    calledAeTitle,
    callingAeTitle: "FUZZ",
    applicationContext: DICOM_APPLICATION_CONTEXT,
    presentationContexts: [
      {
        id: 1,
        abstractSyntax: VERIFICATION_SOP_CLASS,
        transferSyntaxes: [IMPLICIT_VR_LITTLE_ENDIAN],
      },
      // One syntax per context, so that the data set's encoding is the accepted one.
      ...ts.map((t, i) => ({
        id: 3 + 2 * i,
        abstractSyntax: MR_IMAGE_STORAGE,
        transferSyntaxes: [t],
      })),
    ],
    userInformation: {
      maxLength: 16384,
      implementationClassUid: "1.2.826.0.1.3680043.2.1125.99",
      implementationVersionName: "FUZZ",
      roleSelections: [],
      extendedNegotiations: [],
      commonExtendedNegotiations: [],
    },
  };
}

const RELEASE_RQ: Pdu = { type: "A-RELEASE-RQ" };

/** A whole association as the requestor's bytes: RQ, messages, A-RELEASE-RQ. */
function session(pdus: Pdu[]): Uint8Array {
  return concatBytes(pdus.map((p) => encodePdu(p)));
}

/** A C-ECHO association: RQ, one or two C-ECHO-RQ, A-RELEASE-RQ. */
export function echoSession(calledAeTitle: string, echoes = 1): Uint8Array {
  const rq = sessionRq(calledAeTitle);
  const msgs = Array.from(
    { length: echoes },
    (_, i) =>
      messagePdus(1, { ...MESSAGES[0], messageId: i + 1 } as DimseMessage, undefined, 16378),
  );
  return session([rq, ...msgs.flat(), RELEASE_RQ]);
}

/**
 * A C-STORE association: RQ, C-STORE-RQ of `dataset` (default the small
 * image) in the syntax of context `contextId` (3 implicit, 5 explicit little,
 * 7 explicit big endian, 9 deflated) in PDVs of `pdv` bytes, A-RELEASE-RQ.
 */
export function storeSession(
  calledAeTitle: string,
  contextId: 3 | 5 | 7 | 9,
  pdv: number,
  dataset?: Uint8Array,
): Uint8Array {
  const ts = sessionRq(calledAeTitle).presentationContexts.find((pc) => pc.id === contextId)!
    .transferSyntaxes[0];
  return session([
    sessionRq(calledAeTitle),
    ...messagePdus(contextId, STORE_RQ, dataset ?? smallImage(ts), pdv),
    RELEASE_RQ,
  ]);
}

/**
 * 32 MiB of zeros deflated: 32 KiB that inflate a thousandfold, and parse
 * as endless empty (0000,0000) elements (docs/SECURITY_CLASSES.md #3).
 */
function deflateBomb(): Uint8Array {
  return deflateRaw(new Uint8Array(32 * 1024 * 1024), 9);
}

/** Whole associations as byte streams: echoes, stores in each syntax and PDV size, a deflate bomb. */
export function sessionCorpus(calledAeTitle: string): Uint8Array[] {
  return [
    echoSession(calledAeTitle),
    echoSession(calledAeTitle, 2),
    storeSession(calledAeTitle, 3, 16378),
    storeSession(calledAeTitle, 5, 512),
    storeSession(calledAeTitle, 7, 128),
    storeSession(calledAeTitle, 9, 1024),
    storeSession(calledAeTitle, 9, 16378, deflateBomb()),
  ];
}

/**
 * Length fields of a stream of PDUs: each PDU-length (PS3.8 9.3.1), the
 * item and sub-item lengths of A-ASSOCIATE-RQ/AC (9.3.2, Annex D), the
 * 16-bit UID lengths inside sub-items (PS3.7 D.3.3) and PDV item lengths
 * (9.3.5.1). Read as far as the bytes allow.
 */
export function pduLengthFields(bytes: Uint8Array): LengthField[] {
  const out: LengthField[] = [];
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const be = (offset: number, size: 2 | 4) => out.push({ offset, size, littleEndian: false });
  const items = (from: number, end: number) => {
    for (let p = from; p + 4 <= end;) {
      const type = bytes[p];
      const body = p + 4;
      const bodyEnd = Math.min(end, body + v.getUint16(p + 2));
      be(p + 2, 2);
      if (type === ITEM_TYPE.presentationContextRq || type === ITEM_TYPE.presentationContextAc) {
        items(body + 4, bodyEnd);
      } else if (type === ITEM_TYPE.userInformation) {
        items(body, bodyEnd);
      } else if (
        (type === ITEM_TYPE.roleSelection || type === ITEM_TYPE.sopClassExtendedNegotiation ||
          type === ITEM_TYPE.sopClassCommonExtendedNegotiation) && body + 2 <= bodyEnd
      ) {
        be(body, 2);
      } else if (type === ITEM_TYPE.userIdentityRq && body + 4 <= bodyEnd) {
        be(body + 2, 2);
      }
      p = body + v.getUint16(p + 2);
    }
  };
  for (let at = 0; at + 6 <= bytes.length;) {
    const type = bytes[at];
    const end = at + 6 + v.getUint32(at + 2);
    be(at + 2, 4);
    if (type === PDU_TYPE["A-ASSOCIATE-RQ"] || type === PDU_TYPE["A-ASSOCIATE-AC"]) {
      items(at + 74, Math.min(end, bytes.length));
    } else if (type === PDU_TYPE["P-DATA-TF"]) {
      for (let p = at + 6; p + 4 <= Math.min(end, bytes.length); p += 4 + v.getUint32(p)) be(p, 4);
    }
    at = end;
  }
  return out;
}

/** PDU headers and item headers (known and unknown types) to insert, lengths filled by the mutator. */
export const PDU_INSERTS: readonly Uint8Array[] = [
  ...[0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x16, 0x47, 0xff].map((t) =>
    new Uint8Array([t, 0, 0, 0, 0, 0])
  ),
  ...[
    0x10,
    0x20,
    0x21,
    0x30,
    0x40,
    0x50,
    0x51,
    0x52,
    0x53,
    0x54,
    0x55,
    0x56,
    0x57,
    0x58,
    0x59,
    0x5a,
    0xff,
  ]
    .map((t) => new Uint8Array([t, 0, 0, 0])),
  // A PDV item header: length, context ID, control header (PS3.8 9.3.5.1, E.2).
  new Uint8Array([0, 0, 0, 2, 1, 3]),
  new Uint8Array([0, 0, 0, 2, 1, 0]),
];

// ---------------------------------------------------------------------------
// Data sets and files

/** A data set with sequences nested `depth` deep, undefined or defined lengths, and a UN sequence. */
function nested(ts: string, depth: number): Uint8Array {
  let inner: Dataset = [{ tag: 0x00100010, vr: "PN", value: encodeText("DEEP^ITEM", "PN") }];
  for (let d = 0; d < depth; d++) {
    inner = [{ tag: 0x00081140, vr: "SQ", value: [inner, []] }];
  }
  const ds: Dataset = [
    { tag: 0x00080016, vr: "UI", value: encodeText(MR_IMAGE_STORAGE, "UI") },
    ...inner,
    {
      tag: 0x00091010,
      vr: "UN",
      value: [[{ tag: 0x00100020, vr: "LO", value: encodeText("ID", "LO") }]],
    },
  ];
  return encodeDataset(ds, ts, { definedLengths: depth % 2 === 0 });
}

/** Data sets in `ts` (deflated: the inflated explicit VR little endian bytes). */
export function datasetCorpus(ts: string): Uint8Array[] {
  const layoutTs = ts === SYNTAXES.deflate ? EXPLICIT_VR_LITTLE_ENDIAN : ts;
  const out = [
    smallImage(layoutTs),
    smallImage(layoutTs, true),
    nested(layoutTs, 5),
    nested(layoutTs, 2),
  ];
  if (layoutTs === EXPLICIT_VR_LITTLE_ENDIAN) {
    out.push(
      makeImageFile({
        ts: JPEG_LOSSLESS_SV1,
        rows: 4,
        cols: 4,
        frames: 2,
        meta: false,
        sopInstanceUid: SOP_INSTANCE,
        studyUid: STUDY,
        seriesUid: SERIES,
      }),
    );
  }
  return out;
}

/**
 * Q/R identifiers in explicit VR little endian: query keys with sequences,
 * matches in Latin-1, UTF-8 and ISO 2022 Japanese and Korean text, numbers
 * and bytes of each kind.
 */
export function identifierCorpus(): Uint8Array[] {
  const identifiers: Attributes[] = [
    queryFromKeys([
      "QueryRetrieveLevel=STUDY",
      "PatientName=Smith*",
      "StudyInstanceUID",
      "ModalitiesInStudy=MR\\CT",
      "ScheduledProcedureStepSequence[1].ScheduledProtocolCodeSequence[0].CodeValue=X1",
      "ReferencedStudySequence",
    ]),
    [
      attribute(0x00080005, "ISO_IR 100"),
      attribute(0x00100010, "Buc^Jérôme"),
      attribute(0x00081030, "Kopf über\\Hals", "LO"),
    ],
    [attribute(0x00080005, "ISO_IR 192"), attribute(0x00100010, "Wang^XiaoDong=王^小東=")],
    [
      attribute(0x00080005, "\\ISO 2022 IR 87"),
      attribute(0x00100010, "Yamada^Tarou=山田^太郎=やまだ^たろう"),
      attribute(0x00400100, [[
        attribute(0x00080005, "\\ISO 2022 IR 149"),
        attribute(0x00400007, "洪^吉洞", "LO"),
      ]], "SQ"),
    ],
    [
      attribute(0x00091001, new Uint8Array([1, 2, 3, 4]), "UN"),
      attribute(0x00189089, [0.5, -1.25], "FD"),
      attribute(0x00280009, [0x00181063]),
      attribute(0x00280010, [512]),
      attribute(0x00720076, [0.5], "FL"),
      attribute(0x00720083, [7n], "UV"),
    ],
  ];
  return identifiers.map((a) => encodeAttributes(a, EXPLICIT_VR_LITTLE_ENDIAN));
}

/** Item and delimitation tags (PS3.5 7.5) to insert, in either byte order, lengths filled by the mutator. */
export function datasetInserts(littleEndian: boolean): Uint8Array[] {
  return [0xe000, 0xe00d, 0xe0dd].map((element) => {
    const out = new Uint8Array(8);
    const v = new DataView(out.buffer);
    v.setUint16(0, 0xfffe, littleEndian);
    v.setUint16(2, element, littleEndian);
    return out;
  });
}

/** Part 10 files: the small image in each syntax, an encapsulated one, one without group length. */
export function part10Corpus(): Uint8Array[] {
  const files = [...Object.values(SYNTAXES), JPEG_LOSSLESS_SV1].map((ts) =>
    makeImageFile({
      ts,
      rows: 4,
      cols: 4,
      sopInstanceUid: SOP_INSTANCE,
      studyUid: STUDY,
      seriesUid: SERIES,
    })
  );
  // Without (0002,0000), which readers then delimit by group (as DCMTK does).
  const first = files[1];
  const groupLengthSize = 12;
  files.push(concatBytes([first.subarray(0, 132), first.subarray(132 + groupLengthSize)]));
  return files;
}
