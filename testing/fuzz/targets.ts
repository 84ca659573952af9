/**
 * Fuzz targets over the decoders, in process. Each input must give a value
 * or one of our typed errors (PduDecodeError, DimseDecodeError,
 * DicomParseError, DicomFileError); anything else thrown is a finding. What
 * decodes is encoded and decoded again and must come back the same, and
 * the streaming readers must agree with the whole-buffer ones whatever the
 * chunking (docs/SECURITY_CLASSES.md #9).
 *
 * @module
 */

import { toDicomJson } from "../../lib/dicom/json_model.ts";
import { isDeepStrictEqual } from "node:util";
import { type Attributes, decodeAttributes, encodeAttributes } from "../../lib/dicom/attributes.ts";
import { CharsetError } from "../../lib/dicom/charset.ts";
import { formatDataset } from "../../lib/dicom/dump.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN } from "../../lib/dicom/uids.ts";
import {
  type Dataset,
  datasetDifferences,
  decodeDataset,
  encodeDataset,
} from "../../lib/dicom/dataset.ts";
import { deflateRaw } from "../../lib/dicom/deflate.ts";
import { DicomFileError, DicomParseError } from "../../lib/dicom/errors.ts";
import { tagVr } from "../../lib/dicom/dictionary.ts";
import { DatasetParser, type DatasetToken, type ParserLimits } from "../../lib/dicom/parser.ts";
import {
  decodeFileMeta,
  encodeFileMeta,
  type FileMeta,
  guessTransferSyntax,
  type InputFormat,
  inspectDicomFile,
  readDatasetChunks,
} from "../../lib/dicom/part10.ts";
import { transcodeDataset } from "../../lib/dicom/transcode.ts";
import { isNativeUncompressed, tsEncoding } from "../../lib/dicom/transfer_syntax.ts";
import { TopLevelWatcher } from "../../lib/dicom/watcher.ts";
import { type CommandSet, decodeCommandSet, encodeCommandSet } from "../../lib/dimse/command.ts";
import { DimseDecodeError } from "../../lib/dimse/errors.ts";
import { MessageAssembler } from "../../lib/dimse/fragment.ts";
import {
  commandSetToMessage,
  type DimseMessage,
  messageToCommandSet,
} from "../../lib/dimse/messages.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import { decodePdu, encodePdu } from "../../lib/pdu/codec.ts";
import { PduDecodeError } from "../../lib/pdu/errors.ts";
import { type PduLimits, PduReader } from "../../lib/pdu/reader.ts";
import type { Pdu } from "../../lib/pdu/types.ts";
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from "../../lib/util/version.ts";
import {
  commandCorpus,
  commandLengthFields,
  datasetCorpus,
  datasetInserts,
  identifierCorpus,
  part10Corpus,
  PDU_INSERTS,
  pduCorpus,
  pduLengthFields,
  sessionCorpus,
  SYNTAXES,
} from "./corpus.ts";
import { mutate, type Structure } from "./mutate.ts";
import type { Rng } from "./prng.ts";

/** An invariant the target checks did not hold (an exception of another type is a finding too). */
export class Finding extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Finding";
  }
}

/** Whether an input decoded or was refused with a typed error. */
export type Outcome = "decoded" | "rejected";

/** One fuzz target. */
export interface Target {
  readonly name: string;
  /** What it feeds to what. */
  readonly description: string;
  /** Builds the input from its generator (the run uses what is left of the same generator). */
  generate(rng: Rng): Uint8Array;
  /** Feeds the input; throws Finding, or whatever the code under test let escape. */
  run(input: Uint8Array, rng: Rng): Outcome | Promise<Outcome>;
  /** Inputs run at once (live targets); default 1. */
  readonly concurrency?: number;
  /** Inputs between two {@linkcode Target.afterBatch} checks. */
  readonly batch?: number;
  /** Starts what the target needs (a server); called once before the first input. */
  setup?(): Promise<void>;
  /** Checks the invariants that hold between inputs (memory, files, a good association). */
  afterBatch?(): Promise<void>;
  /** Stops what setup started. */
  teardown?(): Promise<void>;
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** `fn()`, or undefined when it throws one of `allowed`; anything else thrown goes on. */
export function typed<T>(fn: () => T, ...allowed: ErrorClass[]): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (allowed.some((c) => e instanceof c)) return undefined;
    throw e;
  }
}

/** As {@linkcode typed}, for promises. */
async function typedAsync<T>(
  fn: () => Promise<T>,
  ...allowed: ErrorClass[]
): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (allowed.some((c) => e instanceof c)) return undefined;
    throw e;
  }
}

function check(ok: boolean, message: () => string): void {
  if (!ok) throw new Finding(message());
}

/** Random chunk boundaries: sizes from 1 byte to a few KiB. */
function* chunks(bytes: Uint8Array, rng: Rng): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length;) {
    const n = 1 + rng.below(rng.chance(0.5) ? 16 : 4096);
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

/** A target that mutates a corpus entry (splicing with another one). */
function corpusTarget(
  name: string,
  description: string,
  corpus: () => Uint8Array[],
  structure: Structure,
  run: Target["run"],
  generate?: (base: Uint8Array, rng: Rng, other: () => Uint8Array) => Uint8Array,
): Target {
  let cached: Uint8Array[] | undefined;
  const get = () => cached ??= corpus();
  return {
    name,
    description,
    generate(rng) {
      const list = get();
      const other = () => rng.pick(list);
      const base = rng.pick(list);
      return generate ? generate(base, rng, other) : mutate(base, rng, structure, other);
    },
    run,
  };
}

// ---------------------------------------------------------------------------
// PDUs

const PDU_STRUCTURE: Structure = {
  lengthFields: pduLengthFields,
  littleEndian: false,
  inserts: PDU_INSERTS,
};

/** Limits of the stream readers: what the servers use. */
const STREAM_LIMITS: Partial<PduLimits> = {
  maxAssociatePduLength: 64 * 1024,
  maxPDataLength: 16384,
};

/** Encodes a decoded PDU and decodes it again: it must come back equal. */
function pduRoundTrip(pdu: Pdu): void {
  const again = decodePdu(encodePdu(pdu));
  check(isDeepStrictEqual(again, pdu), () => `${pdu.type}: decode(encode(pdu)) differs`);
}

interface ReadAll {
  pdus: Pdu[];
  error?: string;
  buffered: number;
}

/** Every PDU a reader yields from `parts`, then its error if any and the bytes left over. */
function readAll(parts: Iterable<Uint8Array>, limits?: Partial<PduLimits>): ReadAll {
  const reader = new PduReader(limits);
  const pdus: Pdu[] = [];
  try {
    for (const part of parts) {
      reader.push(part);
      for (let r = reader.next(); r; r = reader.next()) pdus.push(r.pdu);
    }
  } catch (e) {
    if (!(e instanceof PduDecodeError)) throw e;
    // The hint of an unrecognized PDU type is judged on the bytes at hand (codec.ts):
    // with fewer of them it may differ; the PDU type and the abort reason may not.
    const error = `${e.abortReason} ${e.message.replace(/: looks like .*$/, "")}`;
    return { pdus, error, buffered: reader.buffered };
  }
  return { pdus, buffered: reader.buffered };
}

const pdu = corpusTarget(
  "pdu",
  "decodePdu on one mutated PDU (PDU-length fixed up half the time), the PduReader in random chunks, round trip",
  pduCorpus,
  PDU_STRUCTURE,
  (input, rng) => {
    const whole = typed(() => decodePdu(input), PduDecodeError);
    const read = readAll(chunks(input, rng));
    if (whole) {
      check(
        read.error === undefined && read.pdus.length === 1 &&
          isDeepStrictEqual(read.pdus[0], whole),
        () => `PduReader disagrees with decodePdu: ${read.error ?? `${read.pdus.length} PDUs`}`,
      );
      pduRoundTrip(whole);
      return "decoded";
    }
    check(
      !(read.error === undefined && read.pdus.length === 1 && read.buffered === 0),
      () => "PduReader accepts a PDU decodePdu refuses",
    );
    return "rejected";
  },
  (base, rng, other) => {
    const out = mutate(base, rng, PDU_STRUCTURE, other);
    // So that mutations reach the item decoders rather than stop at the header check.
    if (out.length >= 6 && rng.chance(0.5)) {
      new DataView(out.buffer, out.byteOffset).setUint32(2, out.length - 6);
    }
    return out;
  },
);

const pduStream = corpusTarget(
  "pdu-stream",
  "PduReader over a mutated association byte stream, whole and in random chunks: same PDUs, same error",
  () => sessionCorpus("STORESCP"),
  PDU_STRUCTURE,
  (input, rng) => {
    const whole = readAll([input], STREAM_LIMITS);
    const split = readAll(chunks(input, rng), STREAM_LIMITS);
    // Bytes still buffered after an error depend on how much had been pushed.
    check(
      whole.error === split.error && isDeepStrictEqual(whole.pdus, split.pdus),
      () =>
        `chunked read differs: ${whole.pdus.length}/${whole.error} vs ${split.pdus.length}/${split.error}`,
    );
    for (const p of whole.pdus) pduRoundTrip(p);
    return whole.error === undefined ? "decoded" : "rejected";
  },
);

// ---------------------------------------------------------------------------
// DIMSE

/** A message through its command set and back must be the same message. */
function messageRoundTrip(msg: DimseMessage): void {
  const back = commandSetToMessage(decodeCommandSet(encodeCommandSet(messageToCommandSet(msg))));
  check(isDeepStrictEqual(back, msg), () => `${msg.type}: message round trip differs`);
}

const command = corpusTarget(
  "command",
  "decodeCommandSet and commandSetToMessage on mutated command sets, round trips of both",
  commandCorpus,
  { lengthFields: commandLengthFields, littleEndian: true, inserts: [new Uint8Array(8)] },
  (input) => {
    const cs: CommandSet | undefined = typed(() => decodeCommandSet(input), DimseDecodeError);
    if (!cs) return "rejected";
    const again = decodeCommandSet(encodeCommandSet(cs));
    check(isDeepStrictEqual(again, cs), () => "command set round trip differs");
    const msg = typed(() => commandSetToMessage(cs), DimseDecodeError);
    if (msg) messageRoundTrip(msg);
    return "decoded";
  },
);

const assembler = corpusTarget(
  "assembler",
  "MessageAssembler fed the PDVs of a mutated association stream; messages round trip",
  () => sessionCorpus("STORESCP"),
  PDU_STRUCTURE,
  (input) => {
    const { pdus } = readAll([input], STREAM_LIMITS);
    const asm = new MessageAssembler();
    let ok = true;
    for (const p of pdus) {
      if (p.type !== "P-DATA-TF") continue;
      for (const pdv of p.pdvs) {
        const events = typed(() => asm.push(pdv), DimseDecodeError);
        if (!events) return "rejected";
        for (const e of events) {
          if (e.kind === "command" && e.message) messageRoundTrip(e.message);
          if (e.kind === "command" && e.error) ok = false;
        }
      }
    }
    return ok ? "decoded" : "rejected";
  },
);

// ---------------------------------------------------------------------------
// Data sets

const PARSER_LIMITS: ParserLimits = { maxDepth: 32, maxValueLength: 1 << 20 };
const SOP_CLASS = 0x00080016;
const SOP_INSTANCE = 0x00080018;
const STUDY_UID = 0x0020000d;

/** Tokens with consecutive value pieces joined: the same for any chunking. */
function normalised(tokens: DatasetToken[]): unknown[] {
  const out: unknown[] = [];
  let pieces: Uint8Array[] = [];
  for (const t of tokens) {
    if (t.kind === "value") {
      pieces.push(t.bytes);
      if (t.last) {
        out.push(concatBytes(pieces));
        pieces = [];
      }
    } else out.push(t);
  }
  if (pieces.length > 0) out.push(concatBytes(pieces));
  return out;
}

/** The tokens of a data set pushed in `parts`, then the error that stopped the parser. */
function tokenise(parts: Iterable<Uint8Array>, ts: string): { tokens: unknown[]; error?: string } {
  const parser = new DatasetParser(tsEncoding(ts)!, PARSER_LIMITS);
  const tokens: DatasetToken[] = [];
  try {
    for (const p of parts) tokens.push(...parser.push(p));
    parser.end();
  } catch (e) {
    if (!(e instanceof DicomParseError)) throw e;
    return { tokens: normalised(tokens), error: e.message };
  }
  return { tokens: normalised(tokens) };
}

/** Encodes a decoded data set (both length forms) and decodes it again: no differences. */
function datasetRoundTrip(ds: Dataset, ts: string): void {
  for (const definedLengths of [false, true]) {
    let bytes: Uint8Array;
    try {
      bytes = encodeDataset(ds, ts, { definedLengths });
    } catch (e) {
      // Documented: fragments can only be written in explicit VR little endian.
      if (e instanceof DicomParseError && e.code === "unsupported") return;
      throw e;
    }
    const again = decodeDataset(bytes, ts, PARSER_LIMITS);
    const diff = datasetDifferences(ds, again, ts, ts);
    check(
      diff.length === 0,
      () =>
        `data set round trip (definedLengths ${definedLengths}): ${diff.slice(0, 3).join("; ")}`,
    );
  }
}

/** The top-level watcher storescp uses: it must stop on bad input, never throw. */
function watch(parts: Iterable<Uint8Array>, ts: string): void {
  const w = new TopLevelWatcher(ts, [SOP_CLASS, SOP_INSTANCE, STUDY_UID]);
  for (const p of parts) w.push(p);
  w.values();
}

function datasetTarget(key: keyof typeof SYNTAXES): Target {
  const ts = SYNTAXES[key];
  const deflated = key === "deflate";
  const structure: Structure = {
    littleEndian: key !== "ebe",
    inserts: datasetInserts(key !== "ebe"),
  };
  return corpusTarget(
    `dataset-${key}`,
    deflated
      ? "decodeDataset of deflated data sets (mutated before or after deflating), watcher, round trip"
      : `decodeDataset and DatasetParser in random chunks (${key}), watcher, round trip`,
    () => datasetCorpus(ts),
    structure,
    (input, rng) => {
      const ds = typed(() => decodeDataset(input, ts, PARSER_LIMITS), DicomParseError);
      if (!deflated) {
        const whole = tokenise([input], ts);
        const split = tokenise(chunks(input, rng), ts);
        // The tokens of a push that throws are lost, so only complete parses compare tokens.
        check(
          whole.error === split.error &&
            (whole.error !== undefined || isDeepStrictEqual(whole, split)),
          () => `chunked parse differs: ${whole.error} / ${split.error}`,
        );
        check(
          (whole.error === undefined) === (ds !== undefined),
          () => "parser and decodeDataset disagree",
        );
      }
      watch(chunks(input, rng), ts);
      if (!ds) return "rejected";
      datasetRoundTrip(ds, ts);
      return "decoded";
    },
    deflated
      ? (base, rng, other) => {
        // Mutated before deflating, the damage reaches the parser; after, the inflater.
        if (rng.chance(0.7)) return deflateRaw(mutate(base, rng, structure, other));
        return mutate(deflateRaw(base), rng, structure, () => deflateRaw(other()));
      }
      : undefined,
  );
}

// ---------------------------------------------------------------------------
// Part 10

/** What decodeFileMeta gives for what encodeFileMeta wrote from `meta`. */
function expectedMeta(meta: FileMeta): FileMeta {
  return {
    ...meta,
    implementationClassUid: meta.implementationClassUid ?? IMPLEMENTATION_CLASS_UID,
    implementationVersionName: meta.implementationVersionName ?? IMPLEMENTATION_VERSION_NAME,
  };
}

const PART10_STRUCTURE: Structure = { littleEndian: true, inserts: datasetInserts(true) };

const part10 = corpusTarget(
  "part10",
  "decodeFileMeta, guessTransferSyntax and the data set after the meta information; round trips",
  part10Corpus,
  PART10_STRUCTURE,
  (input) => {
    guessTransferSyntax(input);
    guessTransferSyntax(input.subarray(132));
    const r = typed(() => decodeFileMeta(input, "fuzz"), DicomFileError);
    if (!r) return "rejected";
    const again = decodeFileMeta(encodeFileMeta(r.meta), "fuzz").meta;
    check(isDeepStrictEqual(again, expectedMeta(r.meta)), () => "file meta round trip differs");
    const ts = r.meta.transferSyntaxUid;
    if (!tsEncoding(ts)) return "decoded";
    const ds = typed(
      () => decodeDataset(input.subarray(r.length), ts, PARSER_LIMITS),
      DicomParseError,
    );
    if (ds) datasetRoundTrip(ds, ts);
    return ds ? "decoded" : "rejected";
  },
);

const FORMATS: readonly InputFormat[] = ["file-or-dataset", "file-only", "dataset"];
const NATIVE = Object.values(SYNTAXES);

async function collect(src: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of src) parts.push(c.slice());
  return concatBytes(parts);
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/**
 * The file path of the part10-file target: one per process, made on first
 * use, removed by {@linkcode removeScratchFile}.
 */
let scratch: string | undefined;

/** Removes the part10-file target's scratch directory. */
export async function removeScratchFile(): Promise<void> {
  if (scratch) await Deno.remove(scratch, { recursive: true }).catch(() => {});
  scratch = undefined;
}

const part10File = corpusTarget(
  "part10-file",
  "inspectDicomFile on a mutated file on disk, readDatasetChunks, transcodeDataset to another syntax; compared with decodeDataset",
  part10Corpus,
  PART10_STRUCTURE,
  async (input, rng) => {
    scratch ??= await Deno.makeTempDir({ prefix: "dimse_fuzz_" });
    const path = `${scratch}/input.dcm`;
    await Deno.writeFile(path, input);
    const info = await typedAsync(
      () => inspectDicomFile(path, rng.pick(FORMATS), { maxHeadLength: 64 * 1024 }),
      DicomFileError,
    );
    if (!info) return "rejected";
    const raw = await collect(readDatasetChunks(info, 1 + rng.below(512)));
    const from = info.transferSyntaxUid;
    if (!isNativeUncompressed(from)) return "decoded";
    const to = rng.pick(NATIVE);
    const original = typed(() => decodeDataset(raw, from, PARSER_LIMITS), DicomParseError);
    let out: Uint8Array | undefined;
    try {
      out = await collect(transcodeDataset(once(raw), from, to));
    } catch (e) {
      if (!(e instanceof DicomParseError)) throw e;
      // Documented: encapsulated pixel data stays in explicit VR little endian.
      if (e.code === "unsupported") return "rejected";
    }
    if (out === undefined || original === undefined) {
      // The same parser reads both, so they accept the same data sets; but a
      // source in the target syntax is copied unparsed.
      check(
        (out === undefined) === (original === undefined) || from === to,
        () =>
          `transcode ${out ? "accepts" : "refuses"} what decodeDataset ${
            original ? "accepts" : "refuses"
          }`,
      );
      return "rejected";
    }
    if (!tsEncoding(to)!.explicitVr && tsEncoding(from)!.explicitVr && sequenceConflict(original)) {
      // Implicit VR has no VR of its own: a value on a tag the dictionary calls SQ
      // (or the reverse) cannot be told from the dictionary's reading of it.
      return "decoded";
    }
    const back = decodeDataset(out, to, PARSER_LIMITS);
    const diff = datasetDifferences(original, back, from, to);
    check(diff.length === 0, () => `transcode ${from} -> ${to}: ${diff.slice(0, 3).join("; ")}`);
    return "decoded";
  },
);

/**
 * True when a value (not items) sits on a tag the dictionary calls SQ: in
 * implicit VR it reads back as items. (Items on another tag are written
 * with undefined length, which implicit VR reads as a sequence anyway.)
 */
function sequenceConflict(ds: Dataset): boolean {
  return ds.some((el) =>
    el.value instanceof Uint8Array
      ? tagVr(el.tag) === "SQ"
      : el.vr !== "OB" && el.vr !== "OW" && (el.value as Dataset[]).some(sequenceConflict)
  );
}

// ---------------------------------------------------------------------------
// Q/R identifiers

/**
 * Attributes as encoding leaves them: every level in tag order, and bytes
 * of odd length (invalid, PS3.5 7.1.1) with the NUL the encoder pads them with.
 */
function sortedDeep(attrs: Attributes): Attributes {
  const padded = (v: Uint8Array) => v.length % 2 === 0 ? v : Uint8Array.from([...v, 0]);
  return [...attrs].sort((x, y) => x.tag - y.tag).map((a) => ({
    ...a,
    value: a.value instanceof Uint8Array
      ? padded(a.value)
      : Array.isArray(a.value) && a.value.every(Array.isArray)
      ? (a.value as Attributes[]).map(sortedDeep)
      : a.value,
  }));
}

const identifier = corpusTarget(
  "identifier",
  "decodeAttributes (strict and lenient charsets), formatDataset and toDicomJson on mutated identifiers; round trip",
  identifierCorpus,
  { littleEndian: true, inserts: datasetInserts(true) },
  (input) => {
    const ts = EXPLICIT_VR_LITTLE_ENDIAN;
    const noop = () => {};
    const strict = typed(() => decodeAttributes(input, ts), DicomParseError, CharsetError);
    const lenient = typed(
      () => decodeAttributes(input, ts, { onCharsetProblem: noop }),
      DicomParseError,
    );
    const lines = typed(
      () => formatDataset(input, ts, { onCharsetProblem: noop }),
      DicomParseError,
    );
    check(
      (lenient !== undefined) === (lines !== undefined),
      () => "decodeAttributes and formatDataset disagree on whether the input parses",
    );
    check(
      strict === undefined || isDeepStrictEqual(strict, lenient),
      () => "a strict and a lenient decode of decodable text differ",
    );
    // findscu --json: every decodable identifier has its DICOM JSON model.
    if (lenient) JSON.stringify(toDicomJson(lenient));
    if (!strict) return "rejected";
    // A repeated tag, or text in a set declared only by escapes, is refused by the encoder.
    const encoded = typed(() => encodeAttributes(strict, ts), RangeError, CharsetError);
    if (encoded) {
      const again = decodeAttributes(encoded, ts);
      check(
        isDeepStrictEqual(sortedDeep(again), sortedDeep(strict)),
        () => "decode(encode(attributes)) differs",
      );
    }
    return "decoded";
  },
);

/** Every decoder target, by name. */
export const DECODER_TARGETS: readonly Target[] = [
  pdu,
  pduStream,
  command,
  assembler,
  datasetTarget("ile"),
  datasetTarget("ele"),
  datasetTarget("ebe"),
  datasetTarget("deflate"),
  part10,
  part10File,
  identifier,
];
