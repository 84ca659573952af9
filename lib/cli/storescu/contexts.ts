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
import { STORESCU_DEFAULT_SOP_CLASSES } from "../../dicom/sop_classes.ts";
import { isNativeUncompressed } from "../../dicom/transfer_syntax.ts";
import type { AssociateAcPdu, AssociateRqPdu, PresentationContextRq } from "../../pdu/types.ts";
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  transferSyntaxName,
} from "../../dicom/uids.ts";
import { uidName } from "../../dicom/uid_names.ts";
import { type AcceptedContext, PC_RESULT } from "../../ae/negotiation.ts";

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

/** A file as the proposal sees it: its SOP class and the syntax it is encoded in. */
export interface ProposalFile {
  /** SOP Class UID of its data set. */
  sopClassUid: string;
  /** Its transfer syntax. */
  transferSyntaxUid: string;
}

/** What to propose. */
export interface ProposalParams {
  /** The `-x...` option in force. */
  proposal: ProposalOption;
  /** The files, in the order they come (duplicates allowed). */
  files: readonly ProposalFile[];
  /** -R: only the files' SOP classes, not DCMTK's default list as well. */
  required: boolean;
  /** +C: one context per SOP class with the preferred and fallback syntaxes together. */
  combine: boolean;
  /**
   * Propose exactly what DCMTK 3.6.7's storescu does: its default classes
   * (or with -R the files'), none added for the files, none of the files'
   * own compressed syntaxes; more than 128 contexts is an error.
   */
  dcmtk?: boolean;
  /** The classes proposed without -R (default: DCMTK 3.6.7 storescu's 64). */
  defaults?: readonly string[];
}

/** Files that could not be proposed: all of a SOP class, or those of one class in one syntax. */
export interface LeftOut {
  /** The SOP class. */
  sopClassUid: string;
  /** The syntax, when only the files of the class in this syntax are left out. */
  transferSyntaxUid?: string;
  /** Why, in words. */
  reason: string;
}

/** What storescu proposes, and which files it could not make room for. */
export interface StorageProposal {
  /** The presentation contexts, IDs 1, 3, 5... */
  contexts: PresentationContextRq[];
  /** Files left out for want of room (never with `dcmtk`, which throws instead). */
  leftOut: LeftOut[];
}

/** The fallback syntaxes of a proposal: the uncompressed ones other than the preferred. */
export function fallbackSyntaxes(p: ProposalOption): string[] {
  return p.fallback ? UNCOMPRESSED.filter((ts) => ts !== p.preferred) : [];
}

/**
 * Whether a file in `ts` can go on a context in one of `syntaxes`: its own
 * syntax, or, for a native one (PS3.5 A.1-A.3, A.5), any native one, to
 * which it is converted. Compressed data are never decoded.
 */
export function canTravelIn(ts: string, syntaxes: readonly string[]): boolean {
  return syntaxes.includes(ts) || (isNativeUncompressed(ts) && syntaxes.some(isNativeUncompressed));
}

/**
 * Whether files in `ts` need a context of their own beside the contexts
 * `base` of their class, so that they go as they are whatever the peer
 * picks in a context of several syntaxes: not when a context offers `ts`
 * alone. An uncompressed file whose syntax the `-x` option does not propose
 * at all is converted instead, as DCMTK does (`-xi`), unless no native
 * syntax is proposed (the video options), and with +C, which asks for one
 * context per class; a compressed or deflated one always gets its own, sent
 * as it is, never decoded.
 */
function needsOwnContext(ts: string, base: readonly string[][], combine: boolean): boolean {
  if (base.some((list) => list.length === 1 && list[0] === ts)) return false;
  const proposed = base.flat();
  if (!UNCOMPRESSED.includes(ts)) return true;
  // +C asks for one context per class: an uncompressed file goes on it, converted if need be.
  if (combine && proposed.includes(ts)) return false;
  return proposed.includes(ts) || !proposed.some(isNativeUncompressed);
}

/** The transfer syntax lists of a class's contexts under `p` (one or two lists). */
function baseContexts(p: ProposalParams): string[][] {
  const fallback = fallbackSyntaxes(p.proposal);
  return p.combine || fallback.length === 0
    ? [[p.proposal.preferred, ...fallback]]
    : [[p.proposal.preferred], fallback];
}

/**
 * The presentation contexts storescu proposes, IDs 1, 3, 5...
 *
 * As DCMTK's storescu: per SOP class one context with the preferred syntax
 * and one with the fallback syntaxes (none with `-xi` or a video syntax),
 * or with +C one context with both; DCMTK's 64 default classes, or with -R
 * the files' classes.
 *
 * Beyond DCMTK (unless `dcmtk`): any class a file needs that the default
 * list lacks, and, per class, one context for each syntax a file of the
 * class is in that no context offers alone (see needsOwnContext), so that
 * every file goes as it is: compressed and deflated ones are never decoded,
 * and uncompressed ones arrive byte for byte whichever syntax the peer picks
 * in a context of several;
 * after the class's own contexts (with +C too: combined, the peer would
 * accept one syntax for all). Default classes no file needs make room, from
 * the end of the list, so a batch that needs nothing more proposes exactly
 * what DCMTK does. When even the files' needs do not fit in 128, the
 * classes come first, in the files' order, then the extra syntaxes in the
 * files' order; what does not fit is left out, and said so in `leftOut`.
 *
 * @throws {TooManyContextsError} with `dcmtk`, past ID 255
 */
export function storageContexts(p: ProposalParams): StorageProposal {
  const base = baseContexts(p);
  const fileClasses = [...new Set(p.files.map((f) => f.sopClassUid))];
  const defaults = p.required ? [] : [...(p.defaults ?? STORESCU_DEFAULT_SOP_CLASSES)];
  if (p.dcmtk) {
    const classes = p.required ? fileClasses : defaults;
    const needed = classes.length * base.length;
    if (needed > MAX_PRESENTATION_CONTEXTS) {
      throw new TooManyContextsError(
        `Too many presentation contexts: ${classes.length} SOP classes need ${needed}, and one ` +
          `association carries at most ${MAX_PRESENTATION_CONTEXTS} (IDs 1..255)` +
          (base.length > 1 ? "; +C proposes one per SOP class" : "") +
          "; or send the files in batches of fewer SOP classes",
      );
    }
    return { contexts: numbered(classes.map((c) => [c, base])), leftOut: [] };
  }
  let room = MAX_PRESENTATION_CONTEXTS;
  const leftOut: LeftOut[] = [];
  const fitting = new Set<string>();
  const overflow = fileClasses.length * base.length - MAX_PRESENTATION_CONTEXTS;
  for (const c of fileClasses) {
    if (room >= base.length) {
      fitting.add(c);
      room -= base.length;
    } else {
      leftOut.push({
        sopClassUid: c,
        reason: `the files' ${fileClasses.length} SOP classes need ${overflow} more presentation ` +
          `contexts than the ${MAX_PRESENTATION_CONTEXTS} one association carries` +
          (base.length > 1 ? " (+C proposes one per class)" : ""),
      });
    }
  }
  const extra = new Map<string, string[]>();
  for (const f of p.files) {
    const ts = f.transferSyntaxUid;
    const own = extra.get(f.sopClassUid) ?? [];
    if (!fitting.has(f.sopClassUid) || !needsOwnContext(ts, base, p.combine) || own.includes(ts)) {
      continue;
    }
    if (leftOut.some((l) => l.sopClassUid === f.sopClassUid && l.transferSyntaxUid === ts)) {
      continue;
    }
    if (room === 0) {
      leftOut.push({
        sopClassUid: f.sopClassUid,
        transferSyntaxUid: ts,
        reason: `the ${MAX_PRESENTATION_CONTEXTS} presentation contexts of one association are ` +
          "used up by the files' SOP classes and the syntaxes of the files before them",
      });
      continue;
    }
    own.push(ts);
    extra.set(f.sopClassUid, own);
    room--;
  }
  const classes: string[] = [];
  for (const c of defaults) {
    if (fitting.has(c)) classes.push(c);
    else if (room >= base.length) {
      classes.push(c);
      room -= base.length;
    }
  }
  classes.push(...[...fitting].filter((c) => !defaults.includes(c)));
  const contexts = numbered(
    classes.map((c) => [c, [...base, ...(extra.get(c) ?? []).map((ts) => [ts])]]),
  );
  return { contexts, leftOut };
}

/** Contexts with IDs 1, 3, 5... from (class, transfer syntax lists) in order. */
function numbered(perClass: [string, string[][]][]): PresentationContextRq[] {
  const out: PresentationContextRq[] = [];
  for (const [abstractSyntax, lists] of perClass) {
    for (const syntaxes of lists) {
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

/** What the association was asked and answered, and how the proposal was made. */
export interface Negotiated {
  /** Our A-ASSOCIATE-RQ. */
  rq: AssociateRqPdu;
  /** The peer's A-ASSOCIATE-AC. */
  ac: AssociateAcPdu;
  /** The proposal was DCMTK's (`dcmtk` of {@link ProposalParams}). */
  dcmtk?: boolean;
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
 * `negotiation` only serves the explanation when nothing fits: what the
 * peer accepted for the class and the one thing that would make the file go.
 */
export function chooseContext(
  accepted: readonly AcceptedContext[],
  file: ProposalFile,
  proposal: ProposalOption,
  negotiation: Negotiated,
): ContextChoice {
  const forClass = contextsFor(accepted, file.sopClassUid);
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

/**
 * The accepted contexts for one SOP class, in order. Looked up in a table
 * made once per list: a run sends many files of few classes, and filtering
 * up to 128 contexts by UID cost several microseconds per file. The list is
 * an association's, which does not change once negotiated.
 */
function contextsFor(
  accepted: readonly AcceptedContext[],
  sopClassUid: string,
): readonly AcceptedContext[] {
  let byClass = CONTEXTS_BY_CLASS.get(accepted);
  if (!byClass) {
    byClass = new Map();
    for (const c of accepted) {
      const list = byClass.get(c.abstractSyntax);
      if (list) list.push(c);
      else byClass.set(c.abstractSyntax, [c]);
    }
    CONTEXTS_BY_CLASS.set(accepted, byClass);
  }
  return byClass.get(sopClassUid) ?? NONE;
}

const CONTEXTS_BY_CLASS = new WeakMap<
  readonly AcceptedContext[],
  Map<string, AcceptedContext[]>
>();
const NONE: readonly AcceptedContext[] = [];

/** PS3.8 9.3.3.2 result reasons in words. */
function resultWords(result: number): string {
  switch (result) {
    case PC_RESULT.abstractSyntaxNotSupported:
      return "abstract syntax not supported";
    case PC_RESULT.transferSyntaxesNotSupported:
      return "transfer syntaxes not supported";
    case PC_RESULT.userRejection:
      return "user rejection";
    default:
      return "no reason given";
  }
}

/** Transfer syntax names joined, e.g. "Little Endian Explicit, Little Endian Implicit". */
function names(syntaxes: Iterable<string>): string {
  return [...new Set(syntaxes)].map(transferSyntaxName).join(", ");
}

/** The DCMTK tool that decodes a compressed syntax, for the advice. */
function decoderTool(ts: string): string {
  if (ts === "1.2.840.10008.1.2.5") return "dcmdrle";
  if (ts === "1.2.840.10008.1.2.4.80" || ts === "1.2.840.10008.1.2.4.81") return "dcmdjpls";
  if (/^1\.2\.840\.10008\.1\.2\.4\.(5\d|6\d|70)$/.test(ts)) return "dcmdjpeg";
  return "";
}

/** What lets a file in `ts` go when it was not proposed: the option, or our default. */
function howToPropose(ts: string, dcmtk: boolean | undefined): string {
  const option = PROPOSAL_OPTIONS.find((o) => o.preferred === ts);
  if (dcmtk) {
    return "without --dcmtk-proposal storescu proposes it" +
      (option ? ` (or: ${option.short})` : "");
  }
  return option ? `propose it with ${option.short}` : "send it in a run of its own";
}

/** Why no context fits, and the one thing that would make one. */
function noContextReason(
  file: ProposalFile,
  forClass: readonly AcceptedContext[],
  { rq, ac, dcmtk }: Negotiated,
): string {
  const sop = sopClassLabel(file.sopClassUid);
  const ts = file.transferSyntaxUid;
  const tsName = transferSyntaxName(ts);
  const head = `no presentation context for ${sop}`;
  const proposed = rq.presentationContexts.filter((pc) => pc.abstractSyntax === file.sopClassUid);
  if (proposed.length === 0) {
    return `${head}: it was not proposed (` +
      (dcmtk
        ? "--dcmtk-proposal proposes only DCMTK's default SOP classes; without it, or with -R, " +
          "storescu proposes the files' classes)"
        : "-R proposes the files' SOP classes)");
  }
  if (forClass.length === 0) {
    const ids = new Set(proposed.map((pc) => pc.id));
    const results = new Set(
      ac.presentationContexts.filter((pc) => ids.has(pc.id)).map((pc) => pc.result),
    );
    if (results.size === 1 && results.has(PC_RESULT.abstractSyntaxNotSupported)) {
      return `${head}: the peer does not support this SOP class (abstract syntax not ` +
        `supported, for every context proposed for it): it must be configured to accept ${sop}`;
    }
    if (results.size === 1 && results.has(PC_RESULT.transferSyntaxesNotSupported)) {
      const offered = proposed.flatMap((pc) => pc.transferSyntaxes);
      return `${head}: the peer accepted none of the syntaxes proposed for it (${
        names(offered)
      }); ` +
        (offered.includes(ts) || canTravelIn(ts, offered)
          ? `this file is ${tsName}: it goes once the peer accepts one of them`
          : `this file is ${tsName}: ${howToPropose(ts, dcmtk)}`);
    }
    return `${head}: the peer rejected every context proposed for it (` +
      `${[...results].map(resultWords).join(", ")}): check its configuration for our AE title ` +
      `${rq.callingAeTitle}`;
  }
  const took = forClass.map((c) => c.transferSyntax);
  const only = took.every(isNativeUncompressed)
    ? `only uncompressed syntaxes (${names(took)})`
    : `only ${names(took)}`;
  if (isNativeUncompressed(ts)) {
    return `${head} in ${tsName}: the peer accepted ${only} for it; this file is ${tsName} and ` +
      "cannot be compressed here: compress it first into one of those (e.g. with DCMTK's dcmcjpeg)";
  }
  const wasOffered = proposed.some((pc) => pc.transferSyntaxes.includes(ts));
  if (!wasOffered) {
    return `${head} in ${tsName}: the peer accepted ${only} for it, and ${tsName} was not ` +
      `proposed: ${howToPropose(ts, dcmtk)}`;
  }
  const tool = decoderTool(ts);
  return `${head} in ${tsName}: the peer accepted ${only} for it; this file is ${tsName} and ` +
    "cannot be decompressed here: decompress it first" +
    (tool ? ` (e.g. with DCMTK's ${tool})` : "") + `, or have the peer accept ${tsName}`;
}

/**
 * The diagnosis when the peer accepted none of the proposed contexts,
 * computed from its answer (PS3.8 9.3.3.2 result of each context) for the
 * classes the files need: what it refused and why, and what would help.
 */
export function noAcceptedContextAdvice(
  files: readonly ProposalFile[],
  { rq, ac, dcmtk }: Negotiated,
): string {
  const result = new Map(ac.presentationContexts.map((pc) => [pc.id, pc.result]));
  const classes = [...new Set(files.map((f) => f.sopClassUid))];
  const parts: string[] = [];
  const advice = new Set<string>();
  for (const c of classes) {
    const pcs = rq.presentationContexts.filter((pc) => pc.abstractSyntax === c);
    const sop = sopClassLabel(c);
    if (pcs.length === 0) {
      parts.push(`${sop} was not proposed`);
      advice.add(dcmtk ? "drop --dcmtk-proposal (or use -R)" : "use -R");
      continue;
    }
    const results = new Set(pcs.map((pc) => result.get(pc.id) ?? PC_RESULT.noReason));
    if (results.size === 1 && results.has(PC_RESULT.abstractSyntaxNotSupported)) {
      parts.push(`${sop}: not supported`);
      advice.add(`the peer must be configured to accept ${sop}`);
      continue;
    }
    const offered = pcs.flatMap((pc) => pc.transferSyntaxes);
    if (results.size === 1 && results.has(PC_RESULT.transferSyntaxesNotSupported)) {
      parts.push(`${sop}: none of ${names(offered)}`);
      const own = files.filter((f) => f.sopClassUid === c).map((f) => f.transferSyntaxUid);
      // What we could still send these files in that was not offered.
      if (own.some(isNativeUncompressed)) {
        // Uncompressed files convert to any native syntax: which ones were not offered?
        const left = [...UNCOMPRESSED, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN].filter((t) =>
          !offered.includes(t)
        );
        const options = [
          ...(left.some((t) => UNCOMPRESSED.includes(t)) ? ["-x="] : []),
          ...(left.includes(DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN) ? ["-xd"] : []),
        ];
        if (options.length > 0) {
          advice.add(`for the uncompressed files try ${options.join(" or ")}`);
        }
      }
      for (const t of new Set(own.filter((t) => !canTravelIn(t, offered)))) {
        advice.add(`for the ${transferSyntaxName(t)} files: ${howToPropose(t, dcmtk)}`);
      }
      continue;
    }
    parts.push(`${sop}: ${[...results].map(resultWords).join(", ")}`);
    advice.add(`check the peer's configuration for our AE title ${rq.callingAeTitle}`);
  }
  const what = parts.length > 0 ? parts.join("; ") : "no file's SOP class was proposed";
  const help = advice.size > 0
    ? [...advice].join("; ")
    : "the peer accepts none of the syntaxes these files can be sent in";
  return `the peer accepted the association but none of the ${rq.presentationContexts.length} ` +
    `presentation contexts proposed (${what}): ${help}`;
}
