/**
 * storescu's presentation contexts, without a network: what is proposed
 * for each -x option, -R and +C, the 128-context limit, and which accepted
 * context each file goes on (DCMTK's ASC_findAcceptedPresentationContextID
 * order, plus the explanation when none fits).
 */
import assert from "node:assert/strict";
import { STORESCU_DEFAULT_SOP_CLASSES } from "../lib/dicom/sop_classes.ts";
import { buildAssociateRq, PC_RESULT } from "../lib/net/negotiation.ts";
import {
  chooseContext,
  type ContextChoice,
  DEFAULT_PROPOSAL,
  fallbackSyntaxes,
  MAX_PRESENTATION_CONTEXTS,
  PROPOSAL_OPTIONS,
  type ProposalOption,
  storageContexts,
  TooManyContextsError,
} from "../lib/net/store_contexts.ts";
import type { AssociateAcPdu, PresentationContextRq } from "../lib/pdu/types.ts";

const ILE = "1.2.840.10008.1.2";
const ELE = "1.2.840.10008.1.2.1";
const EBE = "1.2.840.10008.1.2.2";
const DEFL = "1.2.840.10008.1.2.1.99";
const JPEG_LOSSLESS = "1.2.840.10008.1.2.4.70";
const MR = "1.2.840.10008.5.1.4.1.1.4";
const CT = "1.2.840.10008.5.1.4.1.1.2";
const PRIVATE = "1.3.12.2.1107.5.9.1";

const option = (short: string): ProposalOption => PROPOSAL_OPTIONS.find((p) => p.short === short)!;

function propose(short: string, files: string[], required = false, combine = false) {
  return storageContexts({ proposal: option(short), fileSopClasses: files, required, combine });
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
    const pcs = propose(short, [MR]);
    assert.equal(pcs.length, 64, short);
    assert.ok(pcs.every((p) => p.transferSyntaxes.length === 1), short);
  }
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

Deno.test("more contexts than IDs: a clear error naming +C; +C fits twice as many", () => {
  const classes = Array.from({ length: 65 }, (_, i) => `1.2.3.${i}`);
  assert.throws(() => propose("-x=", classes, true), (e: unknown) => {
    assert.ok(e instanceof TooManyContextsError);
    assert.match(e.message, /65 SOP classes need 130.*at most 128 \(IDs 1\.\.255\).*\+C/);
    return true;
  });
  assert.equal(propose("-x=", classes, true, true).length, 65);
  const tooMany = Array.from({ length: 129 }, (_, i) => `1.2.3.${i}`);
  assert.throws(() => propose("-x=", tooMany, true, true), TooManyContextsError);
  // The files' own classes alone overflow: the default list cannot make room.
  assert.throws(() => propose("-x=", classes), TooManyContextsError);
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
  assert.match(reasonOf(noOption), /no option proposes it/);
});

Deno.test("a compressed syntax proposed but not accepted: what the peer took instead", () => {
  const c = choose("-xs", { 1: "", 3: ELE }, JPEG_LOSSLESS);
  assert.match(
    reasonOf(c),
    /the peer accepted only Little Endian Explicit, .*decompress it first/,
  );
});

Deno.test("a SOP class refused, or never proposed", () => {
  const refused = choose("-x=", {}, ELE);
  assert.match(reasonOf(refused), /does not support this SOP class/);
  const unproposed = choose("-x=", { 1: ELE }, ELE, CT);
  assert.match(reasonOf(unproposed), /CTImageStorage: it was not proposed/);
});
