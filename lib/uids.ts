/**
 * UIDs the networking tools name: transfer syntaxes (PS3.5 Section 10, PS3.6
 * Table A-1) and the SOP classes and well-known UIDs the upper layer uses.
 *
 * Names are DCMTK's short names (what `-d` dumps print after `=`), so our
 * dumps read like DCMTK's; newer syntaxes DCMTK 3.6.7 does not know use the
 * PS3.6 keyword.
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
 * The transfer syntaxes echoscu proposes with `-pts n`, in DCMTK 3.7's
 * order: the first n of this list go into every presentation context.
 */
export const ECHO_TRANSFER_SYNTAXES: readonly TransferSyntaxInfo[] = [
  { uid: IMPLICIT_VR_LITTLE_ENDIAN, name: "LittleEndianImplicit" },
  { uid: EXPLICIT_VR_LITTLE_ENDIAN, name: "LittleEndianExplicit" },
  { uid: EXPLICIT_VR_BIG_ENDIAN, name: "BigEndianExplicit" },
  { uid: "1.2.840.10008.1.2.1.98", name: "EncapsulatedUncompressedLittleEndianExplicit" },
  { uid: "1.2.840.10008.1.2.4.50", name: "JPEGBaseline" },
  { uid: "1.2.840.10008.1.2.4.51", name: "JPEGExtended:Process2+4" },
  { uid: "1.2.840.10008.1.2.4.52", name: "JPEGExtended:Process3+5" },
  { uid: "1.2.840.10008.1.2.4.53", name: "JPEGSpectralSelection:Non-hierarchical:Process6+8" },
  { uid: "1.2.840.10008.1.2.4.54", name: "JPEGSpectralSelection:Non-hierarchical:Process7+9" },
  { uid: "1.2.840.10008.1.2.4.55", name: "JPEGFullProgression:Non-hierarchical:Process10+12" },
  { uid: "1.2.840.10008.1.2.4.56", name: "JPEGFullProgression:Non-hierarchical:Process11+13" },
  { uid: "1.2.840.10008.1.2.4.57", name: "JPEGLossless:Non-hierarchical:Process14" },
  { uid: "1.2.840.10008.1.2.4.58", name: "JPEGLossless:Non-hierarchical:Process15" },
  { uid: "1.2.840.10008.1.2.4.59", name: "JPEGExtended:Hierarchical:Process16+18" },
  { uid: "1.2.840.10008.1.2.4.60", name: "JPEGExtended:Hierarchical:Process17+19" },
  { uid: "1.2.840.10008.1.2.4.61", name: "JPEGSpectralSelection:Hierarchical:Process20+22" },
  { uid: "1.2.840.10008.1.2.4.62", name: "JPEGSpectralSelection:Hierarchical:Process21+23" },
  { uid: "1.2.840.10008.1.2.4.63", name: "JPEGFullProgression:Hierarchical:Process24+26" },
  { uid: "1.2.840.10008.1.2.4.64", name: "JPEGFullProgression:Hierarchical:Process25+27" },
  { uid: "1.2.840.10008.1.2.4.65", name: "JPEGLossless:Hierarchical:Process28" },
  { uid: "1.2.840.10008.1.2.4.66", name: "JPEGLossless:Hierarchical:Process29" },
  { uid: "1.2.840.10008.1.2.4.70", name: "JPEGLossless:Non-hierarchical-1stOrderPrediction" },
  { uid: "1.2.840.10008.1.2.5", name: "RLELossless" },
  { uid: DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, name: "DeflatedLittleEndianExplicit" },
  { uid: "1.2.840.10008.1.2.8.1", name: "DeflatedImageFrameCompression" },
  { uid: "1.2.840.10008.1.2.4.80", name: "JPEGLSLossless" },
  { uid: "1.2.840.10008.1.2.4.81", name: "JPEGLSLossy" },
  { uid: "1.2.840.10008.1.2.4.90", name: "JPEG2000LosslessOnly" },
  { uid: "1.2.840.10008.1.2.4.91", name: "JPEG2000" },
  { uid: "1.2.840.10008.1.2.4.92", name: "JPEG2000MulticomponentLosslessOnly" },
  { uid: "1.2.840.10008.1.2.4.93", name: "JPEG2000Multicomponent" },
  { uid: "1.2.840.10008.1.2.4.100", name: "MPEG2MainProfile@MainLevel" },
  { uid: "1.2.840.10008.1.2.4.101", name: "MPEG2MainProfile@HighLevel" },
  { uid: "1.2.840.10008.1.2.4.102", name: "MPEG4HighProfile/Level4.1" },
  { uid: "1.2.840.10008.1.2.4.103", name: "MPEG4BDcompatibleHighProfile/Level4.1" },
  { uid: "1.2.840.10008.1.2.4.104", name: "MPEG4HighProfile/Level4.2For2DVideo" },
  { uid: "1.2.840.10008.1.2.4.105", name: "MPEG4HighProfile/Level4.2For3DVideo" },
  { uid: "1.2.840.10008.1.2.4.106", name: "MPEG4StereoHighProfile/Level4.2" },
  { uid: "1.2.840.10008.1.2.4.107", name: "HEVCMainProfile/Level5.1" },
  { uid: "1.2.840.10008.1.2.4.108", name: "HEVCMain10Profile/Level5.1" },
  { uid: "1.2.840.10008.1.2.4.100.1", name: "FragmentableMPEG2MainProfile@MainLevel" },
  { uid: "1.2.840.10008.1.2.4.101.1", name: "FragmentableMPEG2MainProfile@HighLevel" },
  { uid: "1.2.840.10008.1.2.4.102.1", name: "FragmentableMPEG4HighProfile/Level4.1" },
  {
    uid: "1.2.840.10008.1.2.4.103.1",
    name: "FragmentableMPEG4BDcompatibleHighProfile/Level4.1",
  },
  { uid: "1.2.840.10008.1.2.4.104.1", name: "FragmentableMPEG4HighProfile/Level4.2For2DVideo" },
  { uid: "1.2.840.10008.1.2.4.105.1", name: "FragmentableMPEG4HighProfile/Level4.2For3DVideo" },
  { uid: "1.2.840.10008.1.2.4.106.1", name: "FragmentableMPEG4StereoHighProfile/Level4.2" },
  { uid: "1.2.840.10008.1.2.4.201", name: "HTJ2KLossless" },
  { uid: "1.2.840.10008.1.2.4.202", name: "HTJ2KLosslessRPCL" },
  { uid: "1.2.840.10008.1.2.4.203", name: "HTJ2K" },
  { uid: "1.2.840.10008.1.2.4.110", name: "JPEGXLLossless" },
  { uid: "1.2.840.10008.1.2.4.111", name: "JPEGXLJPEGRecompression" },
  { uid: "1.2.840.10008.1.2.4.112", name: "JPEGXL" },
];

const OTHER_NAMES: readonly TransferSyntaxInfo[] = [
  { uid: VERIFICATION_SOP_CLASS, name: "VerificationSOPClass" },
];

const NAMES = new Map<string, string>(
  [...ECHO_TRANSFER_SYNTAXES, ...OTHER_NAMES].map((t) => [t.uid, t.name]),
);

/** DCMTK-style short name of a known UID, or undefined. */
export function uidName(uid: string): string | undefined {
  return NAMES.get(uid);
}

/** `=Name` for a known UID (as DCMTK dumps print it), else the UID itself. */
export function uidLabel(uid: string): string {
  const name = NAMES.get(uid);
  return name === undefined ? uid : `=${name}`;
}

/** True when `uid` is a syntactically valid UID (PS3.5 9.1): digits and dots, ≤ 64 chars, no empty or zero-led components. */
export function isValidUid(uid: string): boolean {
  return uid.length > 0 && uid.length <= 64 && /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/.test(uid);
}
