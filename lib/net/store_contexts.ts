/**
 * The presentation contexts a storage SCU proposes (PS3.8 9.3.2.2) and the
 * one each file then travels on, as DCMTK 3.6.7's storescu chooses them
 * (its `addStoragePresentationContexts` and `ASC_findAcceptedPresentationContextID`),
 * plus what DCMTK leaves out: the files' own SOP classes are proposed by
 * default, and a file that cannot go says which option would let it.
 *
 * Pure functions: the tests compare the proposals with the A-ASSOCIATE-RQ
 * DCMTK's storescu sends.
 *
 * @module
 */
import { STORESCU_DEFAULT_SOP_CLASSES } from "../dicom/sop_classes.ts";
import { isNativeUncompressed } from "../dicom/transfer_syntax.ts";
import type { AssociateAcPdu, AssociateRqPdu, PresentationContextRq } from "../pdu/types.ts";
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  transferSyntaxName,
  uidName,
} from "../uids.ts";
import { type AcceptedContext, PC_RESULT } from "./negotiation.ts";

/** One of storescu's "proposed transmission transfer syntaxes" options. */
export interface ProposalOption {
  /** Long option name, e.g. `--propose-lossless`. */
  long: string;
  /** Short option name, e.g. `-xs`. */
  short: string;
  /** The transfer syntax proposed first, in a context of its own. */
  preferred: string;
  /**
   * Whether the uncompressed syntaxes go along as fallback: DCMTK proposes
   * none with `-xi` (implicit VR little endian is the default transfer
   * syntax every SCP supports, PS3.5 10.1) nor with the video syntaxes
   * (they cannot be decompressed anyway).
   */
  fallback: boolean;
  /** The usage text, DCMTK's wording. */
  help: string;
}

const JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70";

/**
 * The `-x...` options in DCMTK's order. Explicit VR "local byte order" (`-x=`)
 * is little endian on every platform Deno runs on.
 */
export const PROPOSAL_OPTIONS: readonly ProposalOption[] = [
  {
    long: "--propose-uncompr",
    short: "-x=",
    preferred: EXPLICIT_VR_LITTLE_ENDIAN,
    fallback: true,
    help: "propose all uncompressed TS, explicit VR\nwith local byte ordering first (default)",
  },
  {
    long: "--propose-little",
    short: "-xe",
    preferred: EXPLICIT_VR_LITTLE_ENDIAN,
    fallback: true,
    help: "propose all uncompressed TS, explicit VR\nlittle endian first",
  },
  {
    long: "--propose-big",
    short: "-xb",
    preferred: EXPLICIT_VR_BIG_ENDIAN,
    fallback: true,
    help: "propose all uncompressed TS, explicit VR\nbig endian first",
  },
  {
    long: "--propose-implicit",
    short: "-xi",
    preferred: IMPLICIT_VR_LITTLE_ENDIAN,
    fallback: false,
    help: "propose implicit VR little endian TS only",
  },
  {
    long: "--propose-lossless",
    short: "-xs",
    preferred: JPEG_LOSSLESS_SV1,
    fallback: true,
    help: "propose default JPEG lossless TS\nand all uncompressed transfer syntaxes",
  },
  {
    long: "--propose-jpeg8",
    short: "-xy",
    preferred: "1.2.840.10008.1.2.4.50",
    fallback: true,
    help: "propose default JPEG lossy TS for 8 bit data\nand all uncompressed transfer syntaxes",
  },
  {
    long: "--propose-jpeg12",
    short: "-xx",
    preferred: "1.2.840.10008.1.2.4.51",
    fallback: true,
    help: "propose default JPEG lossy TS for 12 bit data\nand all uncompressed transfer syntaxes",
  },
  {
    long: "--propose-j2k-lossless",
    short: "-xv",
    preferred: "1.2.840.10008.1.2.4.90",
    fallback: true,
    help: "propose JPEG 2000 lossless TS\nand all uncompressed transfer syntaxes",
  },
  {
    long: "--propose-j2k-lossy",
    short: "-xw",
    preferred: "1.2.840.10008.1.2.4.91",
    fallback: true,
    help: "propose JPEG 2000 lossy TS\nand all uncompressed transfer syntaxes",
  },
  {
    long: "--propose-jls-lossless",
    short: "-xt",
    preferred: "1.2.840.10008.1.2.4.80",
    fallback: true,
    help: "propose JPEG-LS lossless TS\nand all uncompressed transfer syntaxes",
  },
  {
    long: "--propose-jls-lossy",
    short: "-xu",
    preferred: "1.2.840.10008.1.2.4.81",
    fallback: true,
    help: "propose JPEG-LS lossy TS\nand all uncompressed transfer syntaxes",
  },
  {
    long: "--propose-mpeg2",
    short: "-xm",
    preferred: "1.2.840.10008.1.2.4.100",
    fallback: false,
    help: "propose MPEG2 Main Profile @ Main Level TS",
  },
  {
    long: "--propose-mpeg2-high",
    short: "-xh",
    preferred: "1.2.840.10008.1.2.4.101",
    fallback: false,
    help: "propose MPEG2 Main Profile @ High Level TS",
  },
  {
    long: "--propose-mpeg4",
    short: "-xn",
    preferred: "1.2.840.10008.1.2.4.102",
    fallback: false,
    help: "propose MPEG4 AVC/H.264 HP / Level 4.1 TS",
  },
  {
    long: "--propose-mpeg4-bd",
    short: "-xl",
    preferred: "1.2.840.10008.1.2.4.103",
    fallback: false,
    help: "propose MPEG4 AVC/H.264 BD-compatible TS",
  },
  {
    long: "--propose-mpeg4-2-2d",
    short: "-x2",
    preferred: "1.2.840.10008.1.2.4.104",
    fallback: false,
    help: "propose MPEG4 AVC/H.264 HP / Level 4.2 TS (2D)",
  },
  {
    long: "--propose-mpeg4-2-3d",
    short: "-x3",
    preferred: "1.2.840.10008.1.2.4.105",
    fallback: false,
    help: "propose MPEG4 AVC/H.264 HP / Level 4.2 TS (3D)",
  },
  {
    long: "--propose-mpeg4-2-st",
    short: "-xo",
    preferred: "1.2.840.10008.1.2.4.106",
    fallback: false,
    help: "propose MPEG4 AVC/H.264 Stereo / Level 4.2 TS",
  },
  {
    long: "--propose-hevc",
    short: "-x4",
    preferred: "1.2.840.10008.1.2.4.107",
    fallback: false,
    help: "propose HEVC/H.265 Main Profile / Level 5.1 TS",
  },
  {
    long: "--propose-hevc10",
    short: "-x5",
    preferred: "1.2.840.10008.1.2.4.108",
    fallback: false,
    help: "propose HEVC/H.265 Main 10 Profile / Level 5.1 TS",
  },
  {
    long: "--propose-rle",
    short: "-xr",
    preferred: "1.2.840.10008.1.2.5",
    fallback: true,
    help: "propose RLE lossless TS\nand all uncompressed transfer syntaxes",
  },
  {
    long: "--propose-deflated",
    short: "-xd",
    preferred: DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    fallback: true,
    help: "propose deflated expl. VR little endian TS\nand all uncompressed transfer syntaxes",
  },
];

/** The default proposal, `-x=`. */
export const DEFAULT_PROPOSAL: ProposalOption = PROPOSAL_OPTIONS[0];

/** The uncompressed syntaxes, in the order DCMTK proposes them as fallback. */
const UNCOMPRESSED = [
  EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
];

/** PS3.8 9.3.2.2: presentation context IDs are odd numbers 1..255, so 128 fit. */
export const MAX_PRESENTATION_CONTEXTS = 128;

/** More presentation contexts are needed than one association can carry. */
export class TooManyContextsError extends Error {
  /** `message` says how many were needed and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "TooManyContextsError";
  }
}

/** What to propose. */
export interface ProposalParams {
  /** The `-x...` option in force. */
  proposal: ProposalOption;
  /** The files' SOP classes, in the order the files come (duplicates allowed). */
  fileSopClasses: readonly string[];
  /** -R: only the files' SOP classes, not DCMTK's default list as well. */
  required: boolean;
  /** +C: one context per SOP class with the preferred and fallback syntaxes together. */
  combine: boolean;
  /** The classes proposed without -R (default: DCMTK 3.6.7 storescu's 64). */
  defaults?: readonly string[];
}

/** The fallback syntaxes of a proposal: the uncompressed ones other than the preferred. */
export function fallbackSyntaxes(p: ProposalOption): string[] {
  return p.fallback ? UNCOMPRESSED.filter((ts) => ts !== p.preferred) : [];
}

/**
 * The SOP classes to propose, in order. With -R the files' classes as they
 * come (DCMTK's order). Otherwise DCMTK's default list, then any class a
 * file needs that the list lacks; if that needs more contexts than fit,
 * default classes no file needs make room, from the end of the list, so a
 * batch whose classes are all in the list proposes exactly what DCMTK does.
 */
export function proposedSopClasses(p: ProposalParams, perClass: number): string[] {
  const files = [...new Set(p.fileSopClasses)];
  if (p.required) return files;
  const defaults = [...(p.defaults ?? STORESCU_DEFAULT_SOP_CLASSES)];
  const extra = files.filter((uid) => !defaults.includes(uid));
  const room = Math.floor(MAX_PRESENTATION_CONTEXTS / perClass) - extra.length;
  const needed = new Set(files);
  for (let i = defaults.length - 1; i >= 0 && defaults.length > room; i--) {
    if (!needed.has(defaults[i])) defaults.splice(i, 1);
  }
  return [...defaults, ...extra];
}

/**
 * The presentation contexts storescu proposes, IDs 1, 3, 5...: per SOP
 * class one context with the preferred syntax and one with the fallback
 * syntaxes (none with `-xi` or a video syntax), or with +C one context
 * with both. Throws {@link TooManyContextsError} past ID 255.
 */
export function storageContexts(p: ProposalParams): PresentationContextRq[] {
  const fallback = fallbackSyntaxes(p.proposal);
  const perContext: string[][] = p.combine || fallback.length === 0
    ? [[p.proposal.preferred, ...fallback]]
    : [[p.proposal.preferred], fallback];
  const classes = proposedSopClasses(p, perContext.length);
  const needed = classes.length * perContext.length;
  if (needed > MAX_PRESENTATION_CONTEXTS) {
    throw new TooManyContextsError(
      `Too many presentation contexts: ${classes.length} SOP classes need ${needed}, and one ` +
        `association carries at most ${MAX_PRESENTATION_CONTEXTS} (IDs 1..255)` +
        (perContext.length > 1 ? "; +C proposes one per SOP class" : "") +
        "; or send the files in batches of fewer SOP classes",
    );
  }
  const out: PresentationContextRq[] = [];
  for (const abstractSyntax of classes) {
    for (const syntaxes of perContext) {
      out.push({ id: 2 * out.length + 1, abstractSyntax, transferSyntaxes: [...syntaxes] });
    }
  }
  return out;
}

/** How a file goes: its own bytes, converted, or not at all (and why). */
export type ContextChoice =
  | { kind: "as-is"; context: AcceptedContext }
  | { kind: "convert"; context: AcceptedContext }
  | { kind: "none"; reason: string };

/** A SOP class as messages name it: DCMTK's name, else the UID. */
function sopClassLabel(uid: string): string {
  return uidName(uid) ?? uid;
}

/**
 * The accepted context a file travels on, after DCMTK's
 * `ASC_findAcceptedPresentationContextID`: one for its SOP class in its own
 * transfer syntax (sent as it is); else, for a file in a native encoding
 * (PS3.5 A.1-A.3, A.5), one in explicit VR (little or big endian, whichever
 * was accepted first), then implicit VR, then deflate (converted). With
 * `-xd` a native file looks for deflate first, as DCMTK does. Encapsulated
 * (compressed) files are never converted: we have no codecs.
 *
 * `rq`/`ac` only serve the explanation when nothing fits: which option
 * would propose the file's syntax, or what the peer refused.
 */
export function chooseContext(
  accepted: readonly AcceptedContext[],
  file: { sopClassUid: string; transferSyntaxUid: string },
  proposal: ProposalOption,
  negotiation: { rq: AssociateRqPdu; ac: AssociateAcPdu },
): ContextChoice {
  const forClass = accepted.filter((c) => c.abstractSyntax === file.sopClassUid);
  const own = file.transferSyntaxUid;
  const native = isNativeUncompressed(own);
  const find = (ts: readonly string[]) => forClass.find((c) => ts.includes(c.transferSyntax));
  const wantDeflate = native && proposal.preferred === DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN;
  const first = (wantDeflate ? find([DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN]) : undefined) ??
    find([own]);
  if (first) return { kind: first.transferSyntax === own ? "as-is" : "convert", context: first };
  if (native) {
    const converted = find([EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN]) ??
      find([IMPLICIT_VR_LITTLE_ENDIAN]) ?? find([DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN]);
    if (converted) return { kind: "convert", context: converted };
  }
  return { kind: "none", reason: noContextReason(file, forClass, negotiation) };
}

/** Why no context fits, and what would make one. */
function noContextReason(
  file: { sopClassUid: string; transferSyntaxUid: string },
  forClass: readonly AcceptedContext[],
  { rq, ac }: { rq: AssociateRqPdu; ac: AssociateAcPdu },
): string {
  const sop = sopClassLabel(file.sopClassUid);
  const tsName = transferSyntaxName(file.transferSyntaxUid);
  const proposed = rq.presentationContexts.filter((pc) => pc.abstractSyntax === file.sopClassUid);
  if (proposed.length === 0) {
    return `no presentation context for ${sop}: it was not proposed (-R proposes the files' ` +
      "SOP classes)";
  }
  if (forClass.length === 0) {
    const ids = new Set(proposed.map((pc) => pc.id));
    const results = ac.presentationContexts.filter((pc) => ids.has(pc.id)).map((pc) => pc.result);
    const why = results.includes(PC_RESULT.abstractSyntaxNotSupported)
      ? "the peer does not support this SOP class (abstract syntax not supported)"
      : "the peer rejected every context proposed for it";
    return `no presentation context for ${sop}: ${why}`;
  }
  const offered = proposed.some((pc) => pc.transferSyntaxes.includes(file.transferSyntaxUid));
  if (offered) {
    const took = [...new Set(forClass.map((c) => transferSyntaxName(c.transferSyntax)))];
    return `no presentation context for ${sop} in ${tsName}: the peer accepted only ` +
      `${took.join(", ")}, and a ${tsName} file cannot be converted (decompress it first)`;
  }
  const option = PROPOSAL_OPTIONS.find((o) => o.preferred === file.transferSyntaxUid);
  return `no presentation context for ${sop} in ${tsName}: ` +
    (option
      ? `propose it with ${option.short}`
      : "no option proposes it and it cannot be converted (decompress it first)");
}
