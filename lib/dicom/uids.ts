/**
 * UIDs the networking tools name: transfer syntaxes (PS3.5 Section 10, PS3.6
 * Table A-1) and the SOP classes and well-known UIDs the upper layer uses.
 *
 * Names are DCMTK's short names (what `-d` dumps print after `=`), so our
 * dumps read like DCMTK's; newer syntaxes DCMTK 3.6.7 does not know use the
 * PS3.6 keyword. The name of any UID (storage SOP classes included) is in
 * ./uid_names.ts, kept apart so that a run that prints no name does not load the
 * storage SOP class table. UID syntax and generation are below every layer, in
 * lib/util/uid.ts.
 *
 * @module
 */

/** One transfer syntax: its UID and DCMTK-style short name. */
export interface TransferSyntaxInfo {
  /** The transfer syntax UID (PS3.6 Annex A). */
  uid: string;
  /** DCMTK's short name, e.g. `LittleEndianImplicit`. */
  name: string;
}

/** Implicit VR Little Endian, the default transfer syntax (PS3.5 10.1). */
export const IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2";
/** Explicit VR Little Endian (PS3.5 A.2). */
export const EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1";
/** Explicit VR Big Endian, retired (PS3.5 A.3). */
export const EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2";
/** Deflated Explicit VR Little Endian (PS3.5 A.5). */
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1.99";
/** Verification SOP Class (PS3.4 Annex A). */
export const VERIFICATION_SOP_CLASS = "1.2.840.10008.1.1";

/**
 * The Query/Retrieve information models (PS3.4 C.6, K.6): the SOP class of
 * each C-FIND, C-MOVE and C-GET of a model. Patient/Study Only is retired
 * but still served by DCMTK's dcmqrscp; Modality Worklist has C-FIND only.
 */
export const QUERY_RETRIEVE_SOP_CLASSES = {
  patientRoot: {
    find: "1.2.840.10008.5.1.4.1.2.1.1",
    move: "1.2.840.10008.5.1.4.1.2.1.2",
    get: "1.2.840.10008.5.1.4.1.2.1.3",
  },
  studyRoot: {
    find: "1.2.840.10008.5.1.4.1.2.2.1",
    move: "1.2.840.10008.5.1.4.1.2.2.2",
    get: "1.2.840.10008.5.1.4.1.2.2.3",
  },
  patientStudyOnly: {
    find: "1.2.840.10008.5.1.4.1.2.3.1",
    move: "1.2.840.10008.5.1.4.1.2.3.2",
    get: "1.2.840.10008.5.1.4.1.2.3.3",
  },
  modalityWorklist: { find: "1.2.840.10008.5.1.4.31" },
} as const;

// Every transfer syntax of PS3.6 Table A-1, plus the private GE one DCMTK
// knows: UID, DCMTK 3.6.7's short name (dcuid.cc uidNameMap; for syntaxes
// added later, the PS3.6 keyword as DCMTK 3.7 spells it) and the
// human-readable name DCMTK's DcmXfer gives it in log lines (dcxfer.cc; for
// syntaxes DCMTK 3.6.7 does not know, the PS3.6 name).
const TRANSFER_SYNTAX_TABLE: readonly (readonly [uid: string, name: string, text: string])[] = [
  [IMPLICIT_VR_LITTLE_ENDIAN, "LittleEndianImplicit", "Little Endian Implicit"],
  [EXPLICIT_VR_LITTLE_ENDIAN, "LittleEndianExplicit", "Little Endian Explicit"],
  [
    "1.2.840.10008.1.2.1.98",
    "EncapsulatedUncompressedLittleEndianExplicit",
    "Encapsulated Uncompressed Explicit VR Little Endian",
  ],
  [
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    "DeflatedLittleEndianExplicit",
    "Deflated Explicit VR Little Endian",
  ],
  [EXPLICIT_VR_BIG_ENDIAN, "BigEndianExplicit", "Big Endian Explicit"],
  ["1.2.840.10008.1.2.4.50", "JPEGBaseline", "JPEG Baseline"],
  ["1.2.840.10008.1.2.4.51", "JPEGExtended:Process2+4", "JPEG Extended, Process 2+4"],
  ["1.2.840.10008.1.2.4.52", "JPEGExtended:Process3+5", "JPEG Extended, Process 3+5"],
  [
    "1.2.840.10008.1.2.4.53",
    "JPEGSpectralSelection:Non-hierarchical:Process6+8",
    "JPEG Spectral Selection, Non-hierarchical, Process 6+8",
  ],
  [
    "1.2.840.10008.1.2.4.54",
    "JPEGSpectralSelection:Non-hierarchical:Process7+9",
    "JPEG Spectral Selection, Non-hierarchical, Process 7+9",
  ],
  [
    "1.2.840.10008.1.2.4.55",
    "JPEGFullProgression:Non-hierarchical:Process10+12",
    "JPEG Full Progression, Non-hierarchical, Process 10+12",
  ],
  [
    "1.2.840.10008.1.2.4.56",
    "JPEGFullProgression:Non-hierarchical:Process11+13",
    "JPEG Full Progression, Non-hierarchical, Process 11+13",
  ],
  [
    "1.2.840.10008.1.2.4.57",
    "JPEGLossless:Non-hierarchical:Process14",
    "JPEG Lossless, Non-hierarchical, Process 14",
  ],
  [
    "1.2.840.10008.1.2.4.58",
    "JPEGLossless:Non-hierarchical:Process15",
    "JPEG Lossless, Non-hierarchical, Process 15",
  ],
  [
    "1.2.840.10008.1.2.4.59",
    "JPEGExtended:Hierarchical:Process16+18",
    "JPEG Extended, Hierarchical, Process 16+18",
  ],
  [
    "1.2.840.10008.1.2.4.60",
    "JPEGExtended:Hierarchical:Process17+19",
    "JPEG Extended, Hierarchical, Process 17+19",
  ],
  [
    "1.2.840.10008.1.2.4.61",
    "JPEGSpectralSelection:Hierarchical:Process20+22",
    "JPEG Spectral Selection, Hierarchical, Process 20+22",
  ],
  [
    "1.2.840.10008.1.2.4.62",
    "JPEGSpectralSelection:Hierarchical:Process21+23",
    "JPEG Spectral Selection, Hierarchical, Process 21+23",
  ],
  [
    "1.2.840.10008.1.2.4.63",
    "JPEGFullProgression:Hierarchical:Process24+26",
    "JPEG Full Progression, Hierarchical, Process 24+26",
  ],
  [
    "1.2.840.10008.1.2.4.64",
    "JPEGFullProgression:Hierarchical:Process25+27",
    "JPEG Full Progression, Hierarchical, Process 25+27",
  ],
  [
    "1.2.840.10008.1.2.4.65",
    "JPEGLossless:Hierarchical:Process28",
    "JPEG Lossless, Hierarchical, Process 28",
  ],
  [
    "1.2.840.10008.1.2.4.66",
    "JPEGLossless:Hierarchical:Process29",
    "JPEG Lossless, Hierarchical, Process 29",
  ],
  [
    "1.2.840.10008.1.2.4.70",
    "JPEGLossless:Non-hierarchical-1stOrderPrediction",
    "JPEG Lossless, Non-hierarchical, 1st Order Prediction",
  ],
  ["1.2.840.10008.1.2.4.80", "JPEGLSLossless", "JPEG-LS Lossless"],
  ["1.2.840.10008.1.2.4.81", "JPEGLSLossy", "JPEG-LS Lossy (Near-lossless)"],
  ["1.2.840.10008.1.2.4.90", "JPEG2000LosslessOnly", "JPEG 2000 (Lossless only)"],
  ["1.2.840.10008.1.2.4.91", "JPEG2000", "JPEG 2000 (Lossless or Lossy)"],
  [
    "1.2.840.10008.1.2.4.92",
    "JPEG2000MulticomponentLosslessOnly",
    "JPEG 2000 Part 2 Multicomponent Image Compression (Lossless only)",
  ],
  [
    "1.2.840.10008.1.2.4.93",
    "JPEG2000Multicomponent",
    "JPEG 2000 Part 2 Multicomponent Image Compression (Lossless or Lossy)",
  ],
  ["1.2.840.10008.1.2.4.94", "JPIPReferenced", "JPIP Referenced"],
  ["1.2.840.10008.1.2.4.95", "JPIPReferencedDeflate", "JPIP Referenced Deflate"],
  ["1.2.840.10008.1.2.4.100", "MPEG2MainProfile@MainLevel", "MPEG2 Main Profile @ Main Level"],
  ["1.2.840.10008.1.2.4.101", "MPEG2MainProfile@HighLevel", "MPEG2 Main Profile @ High Level"],
  [
    "1.2.840.10008.1.2.4.102",
    "MPEG4HighProfile/Level4.1",
    "MPEG-4 AVC/H.264 High Profile / Level 4.1",
  ],
  [
    "1.2.840.10008.1.2.4.103",
    "MPEG4BDcompatibleHighProfile/Level4.1",
    "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1",
  ],
  [
    "1.2.840.10008.1.2.4.104",
    "MPEG4HighProfile/Level4.2For2DVideo",
    "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video",
  ],
  [
    "1.2.840.10008.1.2.4.105",
    "MPEG4HighProfile/Level4.2For3DVideo",
    "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video",
  ],
  [
    "1.2.840.10008.1.2.4.106",
    "MPEG4StereoHighProfile/Level4.2",
    "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2",
  ],
  ["1.2.840.10008.1.2.4.107", "HEVCMainProfile/Level5.1", "HEVC/H.265 Main Profile / Level 5.1"],
  [
    "1.2.840.10008.1.2.4.108",
    "HEVCMain10Profile/Level5.1",
    "HEVC/H.265 Main 10 Profile / Level 5.1",
  ],
  [
    "1.2.840.10008.1.2.4.100.1",
    "FragmentableMPEG2MainProfile@MainLevel",
    "Fragmentable MPEG2 Main Profile / Main Level",
  ],
  [
    "1.2.840.10008.1.2.4.101.1",
    "FragmentableMPEG2MainProfile@HighLevel",
    "Fragmentable MPEG2 Main Profile / High Level",
  ],
  [
    "1.2.840.10008.1.2.4.102.1",
    "FragmentableMPEG4HighProfile/Level4.1",
    "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.1",
  ],
  [
    "1.2.840.10008.1.2.4.103.1",
    "FragmentableMPEG4BDcompatibleHighProfile/Level4.1",
    "Fragmentable MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1",
  ],
  [
    "1.2.840.10008.1.2.4.104.1",
    "FragmentableMPEG4HighProfile/Level4.2For2DVideo",
    "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video",
  ],
  [
    "1.2.840.10008.1.2.4.105.1",
    "FragmentableMPEG4HighProfile/Level4.2For3DVideo",
    "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video",
  ],
  [
    "1.2.840.10008.1.2.4.106.1",
    "FragmentableMPEG4StereoHighProfile/Level4.2",
    "Fragmentable MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2",
  ],
  ["1.2.840.10008.1.2.4.110", "JPEGXLLossless", "JPEG XL Lossless"],
  ["1.2.840.10008.1.2.4.111", "JPEGXLJPEGRecompression", "JPEG XL JPEG Recompression"],
  ["1.2.840.10008.1.2.4.112", "JPEGXL", "JPEG XL"],
  [
    "1.2.840.10008.1.2.4.201",
    "HTJ2KLossless",
    "High-Throughput JPEG 2000 Image Compression (Lossless Only)",
  ],
  [
    "1.2.840.10008.1.2.4.202",
    "HTJ2KLosslessRPCL",
    "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)",
  ],
  ["1.2.840.10008.1.2.4.203", "HTJ2K", "High-Throughput JPEG 2000 Image Compression"],
  ["1.2.840.10008.1.2.4.204", "JPIPHTJ2KReferenced", "JPIP HTJ2K Referenced"],
  ["1.2.840.10008.1.2.4.205", "JPIPHTJ2KReferencedDeflate", "JPIP HTJ2K Referenced Deflate"],
  ["1.2.840.10008.1.2.5", "RLELossless", "RLE Lossless"],
  ["1.2.840.10008.1.2.6.1", "RFC2557MIMEEncapsulation", "RFC 2557 MIME Encapsulation"],
  ["1.2.840.10008.1.2.6.2", "XMLEncoding", "XML Encoding"],
  [
    "1.2.840.10008.1.2.7.1",
    "SMPTEST211020UncompressedProgressiveActiveVideo",
    "SMPTE ST 2110-20 Uncompressed Progressive Active Video",
  ],
  [
    "1.2.840.10008.1.2.7.2",
    "SMPTEST211020UncompressedInterlacedActiveVideo",
    "SMPTE ST 2110-20 Uncompressed Interlaced Active Video",
  ],
  [
    "1.2.840.10008.1.2.7.3",
    "SMPTEST211030PCMDigitalAudio",
    "SMPTE ST 2110-30 PCM Digital Audio",
  ],
  ["1.2.840.10008.1.2.8.1", "DeflatedImageFrameCompression", "Deflated Image Frame Compression"],
  [
    "1.2.840.113619.5.2",
    "PrivateGELittleEndianImplicitWithBigEndianPixelData",
    "Private GE Little Endian Implicit with big endian pixel data",
  ],
];

/** Every transfer syntax of PS3.6 Table A-1 (and DCMTK's private GE one), with DCMTK's short name. */
export const TRANSFER_SYNTAXES: readonly TransferSyntaxInfo[] = TRANSFER_SYNTAX_TABLE.map((
  [uid, name],
) => ({ uid, name }));

const TS_NAMES = new Map(TRANSFER_SYNTAX_TABLE.map(([uid, name]) => [uid, name]));
const TS_TEXTS = new Map(TRANSFER_SYNTAX_TABLE.map(([uid, , text]) => [uid, text]));

// echoscu -pts n proposes the first n of these, in DCMTK 3.7's order.
const ECHO_ORDER = [
  IMPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  "1.2.840.10008.1.2.1.98",
  "1.2.840.10008.1.2.4.50",
  "1.2.840.10008.1.2.4.51",
  "1.2.840.10008.1.2.4.52",
  "1.2.840.10008.1.2.4.53",
  "1.2.840.10008.1.2.4.54",
  "1.2.840.10008.1.2.4.55",
  "1.2.840.10008.1.2.4.56",
  "1.2.840.10008.1.2.4.57",
  "1.2.840.10008.1.2.4.58",
  "1.2.840.10008.1.2.4.59",
  "1.2.840.10008.1.2.4.60",
  "1.2.840.10008.1.2.4.61",
  "1.2.840.10008.1.2.4.62",
  "1.2.840.10008.1.2.4.63",
  "1.2.840.10008.1.2.4.64",
  "1.2.840.10008.1.2.4.65",
  "1.2.840.10008.1.2.4.66",
  "1.2.840.10008.1.2.4.70",
  "1.2.840.10008.1.2.5",
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  "1.2.840.10008.1.2.8.1",
  "1.2.840.10008.1.2.4.80",
  "1.2.840.10008.1.2.4.81",
  "1.2.840.10008.1.2.4.90",
  "1.2.840.10008.1.2.4.91",
  "1.2.840.10008.1.2.4.92",
  "1.2.840.10008.1.2.4.93",
  "1.2.840.10008.1.2.4.100",
  "1.2.840.10008.1.2.4.101",
  "1.2.840.10008.1.2.4.102",
  "1.2.840.10008.1.2.4.103",
  "1.2.840.10008.1.2.4.104",
  "1.2.840.10008.1.2.4.105",
  "1.2.840.10008.1.2.4.106",
  "1.2.840.10008.1.2.4.107",
  "1.2.840.10008.1.2.4.108",
  "1.2.840.10008.1.2.4.100.1",
  "1.2.840.10008.1.2.4.101.1",
  "1.2.840.10008.1.2.4.102.1",
  "1.2.840.10008.1.2.4.103.1",
  "1.2.840.10008.1.2.4.104.1",
  "1.2.840.10008.1.2.4.105.1",
  "1.2.840.10008.1.2.4.106.1",
  "1.2.840.10008.1.2.4.201",
  "1.2.840.10008.1.2.4.202",
  "1.2.840.10008.1.2.4.203",
  "1.2.840.10008.1.2.4.110",
  "1.2.840.10008.1.2.4.111",
  "1.2.840.10008.1.2.4.112",
];

/**
 * The transfer syntaxes echoscu proposes with `-pts n`, in DCMTK 3.7's
 * order: the first n of this list go into every presentation context.
 */
export const ECHO_TRANSFER_SYNTAXES: readonly TransferSyntaxInfo[] = ECHO_ORDER.map((uid) => ({
  uid,
  // Every UID of ECHO_ORDER is in TRANSFER_SYNTAX_TABLE (tests/dicom/dicom_uids.test.ts).
  name: TS_NAMES.get(uid)!,
}));

/**
 * DCMTK's human-readable name of a transfer syntax, as its log lines print it
 * (`Converting transfer syntax: Little Endian Explicit -> Little Endian
 * Implicit`); the PS3.6 name for syntaxes DCMTK 3.6.7 does not know; the UID
 * itself when the syntax is unknown.
 */
export function transferSyntaxName(uid: string): string {
  return TS_TEXTS.get(uid) ?? uid;
}
