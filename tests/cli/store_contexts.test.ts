/**
 * storescu's presentation contexts, without a network: what is proposed
 * for each -x option, -R and +C, the 128-context limit, and which accepted
 * context each file goes on (DCMTK's ASC_findAcceptedPresentationContextID
 * order, plus the explanation when none fits).
 */
import assert from "node:assert/strict";
import { STORESCU_DEFAULT_SOP_CLASSES } from "../../lib/dicom/sop_classes.ts";
import { buildAssociateRq, PC_RESULT } from "../../lib/ae/negotiation.ts";
import {
  chooseContext,
  type ContextChoice,
  DEFAULT_PROPOSAL,
  fallbackSyntaxes,
  MAX_PRESENTATION_CONTEXTS,
  noAcceptedContextAdvice,
  PROPOSAL_OPTIONS,
  type ProposalOption,
  storageContexts,
  TooManyContextsError,
} from "../../lib/cli/storescu/contexts.ts";
import type { AssociateAcPdu, PresentationContextRq } from "../../lib/pdu/types.ts";

const ILE = "1.2.840.10008.1.2";
const ELE = "1.2.840.10008.1.2.1";
const EBE = "1.2.840.10008.1.2.2";
const DEFL = "1.2.840.10008.1.2.1.99";
const JPEG_LOSSLESS = "1.2.840.10008.1.2.4.70";
const MR = "1.2.840.10008.5.1.4.1.1.4";
const CT = "1.2.840.10008.5.1.4.1.1.2";
const PRIVATE = "1.3.12.2.1107.5.9.1";

const option = (short: string): ProposalOption => PROPOSAL_OPTIONS.find((p) => p.short === short)!;

/** The contexts for files of these classes (in `ts`); `dcmtk` for DCMTK's proposal. */
function propose(
  short: string,
  classes: string[],
  required = false,
  combine = false,
  { ts = ELE, dcmtk = false } = {},
) {
  const files = classes.map((sopClassUid) => ({ sopClassUid, transferSyntaxUid: ts }));
  const p = storageContexts({ proposal: option(short), files, required, combine, dcmtk });
  assert.deepEqual(p.leftOut, []);
  return p.contexts;
}

Deno.test("default (-x=): DCMTK's 64 classes, two contexts each, IDs 1..255", () => {
  const pcs = propose("-x=", [MR]);
  assert.equal(pcs.length, 128);
  assert.deepEqual(pcs.map((p) => p.id), Array.from({ length: 128 }, (_, i) => 2 * i + 1));
  for (let i = 0; i < 64; i++) {
    const [a, b] = [pcs[2 * i], pcs[2 * i + 1]];
    assert.equal(a.abstractSyntax, STORESCU_DEFAULT_SOP_CLASSES[i]);
    assert.equal(b.abstractSyntax, STORESCU_DEFAULT_SOP_CLASSES[i]);
    assert.deepEqual(a.transferSyntaxes, [ELE]);
    assert.deepEqual(b.transferSyntaxes, [EBE, ILE]);
  }
});

Deno.test("preferred and fallback syntaxes of every -x option", () => {
  const cases: [string, string, string[]][] = [
    ["-x=", ELE, [EBE, ILE]],
    ["-xe", ELE, [EBE, ILE]],
    ["-xb", EBE, [ELE, ILE]],
    ["-xi", ILE, []],
    ["-xs", JPEG_LOSSLESS, [ELE, EBE, ILE]],
    ["-xy", "1.2.840.10008.1.2.4.50", [ELE, EBE, ILE]],
    ["-xx", "1.2.840.10008.1.2.4.51", [ELE, EBE, ILE]],
    ["-xv", "1.2.840.10008.1.2.4.90", [ELE, EBE, ILE]],
    ["-xw", "1.2.840.10008.1.2.4.91", [ELE, EBE, ILE]],
    ["-xt", "1.2.840.10008.1.2.4.80", [ELE, EBE, ILE]],
    ["-xu", "1.2.840.10008.1.2.4.81", [ELE, EBE, ILE]],
    ["-xr", "1.2.840.10008.1.2.5", [ELE, EBE, ILE]],
    ["-xd", DEFL, [ELE, EBE, ILE]],
    ["-xm", "1.2.840.10008.1.2.4.100", []],
    ["-x5", "1.2.840.10008.1.2.4.108", []],
  ];
  for (const [short, preferred, fallback] of cases) {
    const p = option(short);
    assert.equal(p.preferred, preferred, short);
    assert.deepEqual(fallbackSyntaxes(p), fallback, short);
  }
  assert.equal(DEFAULT_PROPOSAL.short, "-x=");
});

Deno.test("-xi and the video syntaxes: one context per class, no fallback", () => {
  for (const short of ["-xi", "-xn"]) {
    const pcs = propose(short, [MR], false, false, { dcmtk: true });
    assert.equal(pcs.length, 64, short);
    assert.ok(pcs.every((p) => p.transferSyntaxes.length === 1), short);
  }
  // By default an uncompressed file gets its own syntax beside a video one (nothing converts).
  const video = propose("-xn", [MR]).filter((p) => p.abstractSyntax === MR);
  assert.deepEqual(video.map((p) => p.transferSyntaxes), [["1.2.840.10008.1.2.4.102"], [ELE]]);
});

Deno.test("-R: only the files' classes, first come first, without duplicates", () => {
  const pcs = propose("-x=", [CT, MR, CT, MR], true);
  assert.deepEqual(pcs, [
    { id: 1, abstractSyntax: CT, transferSyntaxes: [ELE] },
    { id: 3, abstractSyntax: CT, transferSyntaxes: [EBE, ILE] },
    { id: 5, abstractSyntax: MR, transferSyntaxes: [ELE] },
    { id: 7, abstractSyntax: MR, transferSyntaxes: [EBE, ILE] },
  ]);
});

Deno.test("+C: one context per class with the preferred syntax first", () => {
  assert.deepEqual(propose("-xs", [MR], true, true), [
    { id: 1, abstractSyntax: MR, transferSyntaxes: [JPEG_LOSSLESS, ELE, EBE, ILE] },
  ]);
  assert.equal(propose("-x=", [MR], false, true).length, 64);
});

Deno.test("default with a class outside DCMTK's list: it is added, an unused default makes room", () => {
  const pcs = propose("-x=", [PRIVATE, MR]);
  assert.equal(pcs.length, MAX_PRESENTATION_CONTEXTS);
  const classes = [...new Set(pcs.map((p) => p.abstractSyntax))];
  assert.equal(classes.at(-1), PRIVATE);
  assert.ok(classes.includes(MR));
  // The default list's last class no file needs gave way; the rest keep DCMTK's order.
  const kept = STORESCU_DEFAULT_SOP_CLASSES.filter((c) => classes.includes(c));
  assert.equal(kept.length, 63);
  assert.ok(!classes.includes(STORESCU_DEFAULT_SOP_CLASSES[63]));
  assert.deepEqual(classes.slice(0, 63), kept);
});

Deno.test("--dcmtk-proposal: more contexts than IDs is DCMTK's error naming +C; +C fits twice as many", () => {
  const classes = Array.from({ length: 65 }, (_, i) => `1.2.3.${i}`);
  const dcmtk = { dcmtk: true };
  assert.throws(() => propose("-x=", classes, true, false, dcmtk), (e: unknown) => {
    assert.ok(e instanceof TooManyContextsError);
    assert.match(e.message, /65 SOP classes need 130.*at most 128 \(IDs 1\.\.255\).*\+C/);
    return true;
  });
  assert.equal(propose("-x=", classes, true, true, dcmtk).length, 65);
  const tooMany = Array.from({ length: 129 }, (_, i) => `1.2.3.${i}`);
  assert.throws(() => propose("-x=", tooMany, true, true, dcmtk), TooManyContextsError);
  // DCMTK's list only: a class outside it is not added.
  const pcs = propose("-x=", [PRIVATE, MR], false, false, dcmtk);
  assert.deepEqual(
    [...new Set(pcs.map((p) => p.abstractSyntax))],
    [...STORESCU_DEFAULT_SOP_CLASSES],
  );
  // Nor a compressed syntax of the files.
  assert.deepEqual(
    propose("-x=", [MR], false, false, { ts: JPEG_LOSSLESS, dcmtk: true }),
    propose("-x=", [CT]),
  );
});

Deno.test("more contexts than IDs by default: the classes that fit go, the rest are left out and said so", () => {
  const classes = Array.from({ length: 65 }, (_, i) => `1.2.3.${i}`);
  const files = classes.map((sopClassUid) => ({ sopClassUid, transferSyntaxUid: ELE }));
  const p = storageContexts({ proposal: option("-x="), files, required: true, combine: false });
  assert.equal(p.contexts.length, 128);
  assert.equal(p.contexts.at(-1)!.abstractSyntax, "1.2.3.63");
  assert.deepEqual(p.leftOut.map((l) => l.sopClassUid), ["1.2.3.64"]);
  assert.match(
    p.leftOut[0].reason,
    /65 SOP classes need 2 more presentation contexts than the 128 .*\+C/,
  );
  // Without -R the default list gives way first, then the same.
  const q = storageContexts({ proposal: option("-x="), files, required: false, combine: false });
  assert.deepEqual(q.contexts, p.contexts);
});

/** Files of `sopClassUid` in each of `syntaxes`. */
const filesIn = (sopClassUid: string, ...syntaxes: string[]) =>
  syntaxes.map((transferSyntaxUid) => ({ sopClassUid, transferSyntaxUid }));
const JPEG_BASELINE = "1.2.840.10008.1.2.4.50";
const RLE = "1.2.840.10008.1.2.5";

Deno.test("default: each syntax the files of a class are in that its contexts cannot carry gets a context", () => {
  const files = [
    ...filesIn(MR, ELE, JPEG_LOSSLESS, EBE, JPEG_BASELINE, JPEG_LOSSLESS, DEFL, ILE),
    ...filesIn(CT, RLE),
  ];
  const p = storageContexts({ proposal: option("-x="), files, required: false, combine: false });
  assert.deepEqual(p.leftOut, []);
  const of = (c: string) => p.contexts.filter((pc) => pc.abstractSyntax === c);
  // Big endian and implicit VR alone too: in [EBE, ILE] the peer would take one of them.
  assert.deepEqual(of(MR).map((pc) => pc.transferSyntaxes), [
    [ELE],
    [EBE, ILE],
    [JPEG_LOSSLESS],
    [EBE],
    [JPEG_BASELINE],
    [DEFL],
    [ILE],
  ]);
  assert.deepEqual(of(CT).map((pc) => pc.transferSyntaxes), [[ELE], [EBE, ILE], [RLE]]);
  // 6 extra contexts: the last three default classes no file needs made room.
  assert.equal(p.contexts.length, 128);
  assert.equal(new Set(p.contexts.map((pc) => pc.abstractSyntax)).size, 61);
  assert.deepEqual(p.contexts.map((pc) => pc.id), Array.from({ length: 128 }, (_, i) => 2 * i + 1));
  // -R: only the files' classes; +C: the extras stay separate (a combined context gets one syntax).
  const r = storageContexts({ proposal: option("-x="), files, required: true, combine: true });
  // Uncompressed files go on the combined context, converted if the peer picks another syntax.
  assert.deepEqual(r.contexts.map((pc) => [pc.abstractSyntax, pc.transferSyntaxes]), [
    [MR, [ELE, EBE, ILE]],
    [MR, [JPEG_LOSSLESS]],
    [MR, [JPEG_BASELINE]],
    [MR, [DEFL]],
    [CT, [ELE, EBE, ILE]],
    [CT, [RLE]],
  ]);
});

Deno.test("default with -x options: their meaning kept, a syntax they already carry not added again", () => {
  const files = filesIn(MR, ELE, JPEG_LOSSLESS, DEFL);
  const syntaxes = (short: string) =>
    storageContexts({ proposal: option(short), files, required: true, combine: false }).contexts
      .map((pc) => pc.transferSyntaxes);
  assert.deepEqual(syntaxes("-xs"), [[JPEG_LOSSLESS], [ELE, EBE, ILE], [ELE], [DEFL]]);
  assert.deepEqual(syntaxes("-xd"), [[DEFL], [ELE, EBE, ILE], [ELE], [JPEG_LOSSLESS]]);
  assert.deepEqual(syntaxes("-xe"), [[ELE], [EBE, ILE], [JPEG_LOSSLESS], [DEFL]]);
  // -xi: the uncompressed file is converted to implicit VR, as DCMTK does.
  assert.deepEqual(syntaxes("-xi"), [[ILE], [JPEG_LOSSLESS], [DEFL]]);
  // A video syntax carries no uncompressed data: the files' own syntaxes go alongside.
  assert.deepEqual(syntaxes("-xm"), [["1.2.840.10008.1.2.4.100"], [ELE], [JPEG_LOSSLESS], [DEFL]]);
});

Deno.test("default: extra syntaxes past the budget are left out, files' order first", () => {
  // 60 classes in ELE (120 contexts), then 10 classes with a JPEG file each: 8 fit.
  const files = [
    ...Array.from({ length: 60 }, (_, i) => filesIn(`1.2.3.${i}`, ELE)).flat(),
    ...Array.from({ length: 10 }, (_, i) => filesIn(`1.2.3.${i}`, JPEG_BASELINE)).flat(),
  ];
  const p = storageContexts({ proposal: option("-x="), files, required: true, combine: false });
  assert.equal(p.contexts.length, 128);
  assert.deepEqual(p.leftOut.map((l) => [l.sopClassUid, l.transferSyntaxUid]), [
    ["1.2.3.8", JPEG_BASELINE],
    ["1.2.3.9", JPEG_BASELINE],
  ]);
  assert.match(p.leftOut[0].reason, /128 presentation contexts of one association are used up/);
});

/** An RQ/AC pair: `accepted` maps context ID to the syntax the peer took (others refused). */
function negotiated(pcs: PresentationContextRq[], accepted: Record<number, string>) {
  const rq = buildAssociateRq({
    aeTitle: "STORESCU",
    calledAeTitle: "ANY-SCP",
    maxPdu: 16384,
    presentationContexts: pcs,
  });
  const ac: AssociateAcPdu = {
    type: "A-ASSOCIATE-AC",
    protocolVersion: 1,
    calledAeTitle: "ANY-SCP",
    callingAeTitle: "STORESCU",
    applicationContext: rq.applicationContext,
    presentationContexts: pcs.map((pc) =>
      accepted[pc.id]
        ? { id: pc.id, result: PC_RESULT.acceptance, transferSyntax: accepted[pc.id] }
        : { id: pc.id, result: PC_RESULT.abstractSyntaxNotSupported, transferSyntax: "" }
    ),
    userInformation: rq.userInformation,
  };
  const contexts = ac.presentationContexts.filter((a) => a.result === 0).map((a) => ({
    id: a.id,
    abstractSyntax: pcs.find((p) => p.id === a.id)!.abstractSyntax,
    transferSyntax: a.transferSyntax,
  }));
  return { rq, ac, contexts };
}

function choose(
  short: string,
  accepted: Record<number, string>,
  fileTs: string,
  sopClassUid = MR,
  pcs = propose(short, [MR], true),
) {
  const n = negotiated(pcs, accepted);
  return chooseContext(n.contexts, { sopClassUid, transferSyntaxUid: fileTs }, option(short), n);
}

const syntaxOf = (c: ContextChoice) => c.kind === "none" ? undefined : c.context.transferSyntax;
const reasonOf = (c: ContextChoice) => c.kind === "none" ? c.reason : "";
const idOf = (c: ContextChoice) => c.kind === "none" ? 0 : c.context.id;

Deno.test("a file goes as it is on a context in its own syntax", () => {
  const c = choose("-x=", { 1: ELE, 3: EBE }, EBE);
  assert.equal(c.kind, "as-is");
  assert.equal(idOf(c), 3);
});

Deno.test("else converted: explicit VR (first accepted) before implicit before deflate", () => {
  const toExplicit = choose("-xb", { 1: EBE, 3: ELE }, ILE);
  assert.equal(toExplicit.kind, "convert");
  assert.equal(syntaxOf(toExplicit), EBE);
  const pcs: PresentationContextRq[] = [
    { id: 1, abstractSyntax: MR, transferSyntaxes: [DEFL] },
    { id: 3, abstractSyntax: MR, transferSyntaxes: [ILE] },
  ];
  const toImplicit = choose("-x=", { 1: DEFL, 3: ILE }, ELE, MR, pcs);
  assert.equal(syntaxOf(toImplicit), ILE);
  const toDeflate = choose("-x=", { 1: DEFL }, EBE, MR, pcs);
  assert.equal(syntaxOf(toDeflate), DEFL);
  const inflated = choose("-x=", { 3: ILE }, DEFL, MR, pcs);
  assert.equal(inflated.kind, "convert");
  assert.equal(syntaxOf(inflated), ILE);
});

Deno.test("-xd: a native file looks for deflate first, even when its own syntax was accepted", () => {
  const c = choose("-xd", { 1: DEFL, 3: ELE }, ELE);
  assert.equal(c.kind, "convert");
  assert.equal(syntaxOf(c), DEFL);
  const own = choose("-xd", { 1: DEFL, 3: ELE }, DEFL);
  assert.equal(own.kind, "as-is");
});

Deno.test("a compressed file not accepted in its syntax: the option that would propose it", () => {
  const c = choose("-x=", { 1: ELE, 3: EBE }, JPEG_LOSSLESS);
  assert.equal(c.kind, "none");
  assert.match(
    reasonOf(c),
    /^no presentation context for MRImageStorage in JPEG Lossless.*: propose it with -xs$/,
  );
  const noOption = choose("-x=", { 1: ELE }, "1.2.840.10008.1.2.4.57");
  assert.match(reasonOf(noOption), /was not proposed: send it in a run of its own$/);
});

Deno.test("a compressed syntax proposed but not accepted: what the peer took, and the one way out", () => {
  const c = choose("-xs", { 1: "", 3: ELE }, JPEG_LOSSLESS);
  assert.equal(
    reasonOf(c),
    "no presentation context for MRImageStorage in JPEG Lossless, Non-hierarchical, 1st Order " +
      "Prediction: the peer accepted only uncompressed syntaxes (Little Endian Explicit) for it; " +
      "this file is JPEG Lossless, Non-hierarchical, 1st Order Prediction and cannot be " +
      "decompressed here: decompress it first (e.g. with DCMTK's dcmdjpeg), or have the peer " +
      "accept JPEG Lossless, Non-hierarchical, 1st Order Prediction",
  );
  // An uncompressed file where the peer took only a compressed syntax for the class.
  const pcs: PresentationContextRq[] = [{
    id: 1,
    abstractSyntax: MR,
    transferSyntaxes: [JPEG_LOSSLESS],
  }];
  const n = choose("-x=", { 1: JPEG_LOSSLESS }, ELE, MR, pcs);
  assert.match(
    reasonOf(n),
    /accepted only JPEG Lossless.* for it; this file is Little Endian Explicit and cannot be compressed here/,
  );
});

Deno.test("a SOP class refused, or never proposed", () => {
  const refused = choose("-x=", {}, ELE);
  assert.match(reasonOf(refused), /does not support this SOP class/);
  const unproposed = choose("-x=", { 1: ELE }, ELE, CT);
  assert.match(reasonOf(unproposed), /CTImageStorage: it was not proposed/);
});

/** An RQ and an AC refusing every context with `result`. */
function refusedAll(pcs: PresentationContextRq[], result: number) {
  const n = negotiated(pcs, {});
  n.ac.presentationContexts = pcs.map((pc) => ({ id: pc.id, result, transferSyntax: "" }));
  return n;
}

Deno.test("exit 67: the advice comes from the peer's answer, not a fixed list", () => {
  const mrEle = filesIn(MR, ELE);
  // Every class refused as such: the peer must accept it (no -x option would help).
  const notSupported = refusedAll(propose("-x=", [MR]), PC_RESULT.abstractSyntaxNotSupported);
  assert.equal(
    noAcceptedContextAdvice(mrEle, notSupported),
    "the peer accepted the association but none of the 128 presentation contexts proposed " +
      "(MRImageStorage: not supported): the peer must be configured to accept MRImageStorage",
  );
  // Uncompressed files, every uncompressed syntax refused: only deflate is left to try.
  const tsRefused = refusedAll(propose("-x=", [MR], true), PC_RESULT.transferSyntaxesNotSupported);
  assert.equal(
    noAcceptedContextAdvice(mrEle, tsRefused),
    "the peer accepted the association but none of the 2 presentation contexts proposed " +
      "(MRImageStorage: none of Little Endian Explicit, Big Endian Explicit, Little Endian " +
      "Implicit): for the uncompressed files try -xd",
  );
  // After -xi: explicit VR and deflate are left.
  const implicitRefused = refusedAll(
    propose("-xi", [MR], true),
    PC_RESULT.transferSyntaxesNotSupported,
  );
  assert.match(
    noAcceptedContextAdvice(mrEle, implicitRefused),
    /\(MRImageStorage: none of Little Endian Implicit\): for the uncompressed files try -x= or -xd$/,
  );
  // DCMTK's proposal and JPEG Baseline files: what proposes their syntax.
  const jpeg = filesIn(MR, JPEG_BASELINE);
  const dcmtkRefused = {
    ...refusedAll(
      propose("-x=", [MR], true, false, { dcmtk: true }),
      PC_RESULT.transferSyntaxesNotSupported,
    ),
    dcmtk: true,
  };
  assert.match(
    noAcceptedContextAdvice(jpeg, dcmtkRefused),
    /: for the JPEG Baseline files: without --dcmtk-proposal storescu proposes it \(or: -xy\)$/,
  );
  // Rejected without a reason: the peer's configuration for our AE title.
  const userRejected = refusedAll(propose("-x=", [MR], true), PC_RESULT.userRejection);
  assert.match(
    noAcceptedContextAdvice(mrEle, userRejected),
    /\(MRImageStorage: user rejection\): check the peer's configuration for our AE title STORESCU$/,
  );
});
