/**
 * Streaming transcoding of a data set between the uncompressed transfer
 * syntaxes (PS3.5 A.1, A.2, A.3, A.5), with top-level value replacement for
 * storescu's `+II`/`+IR`/`+IS`/`+IP`/`-up` and DCMTK's `-u`.
 *
 * @module
 */

import { formatTag, tagVr } from "./dictionary.ts";
import { deflateRawChunks, inflateRawChunks, padDeflatedChunks } from "./deflate.ts";
import { DicomParseError } from "./errors.ts";
import { VrResolver } from "./multi_vr.ts";
import { DatasetParser, type DatasetToken } from "./parser.ts";
import { type TsEncoding, tsEncoding } from "./transfer_syntax.ts";
import { encodeText } from "./vr.ts";
import { ChunkSink, DatasetEncoder } from "./writer.ts";

/** Options of {@linkcode transcodeDataset}. */
export interface TranscodeOptions {
  /** Deepest nesting of sequences accepted (default 32). */
  maxDepth?: number;
  /** Longest value accepted, in bytes (default: any). */
  maxValueLength?: number;
  /** zlib level 0-9 when writing deflated explicit VR little endian (DCMTK's `+cl`), default 6. */
  compressionLevel?: number;
  /**
   * Top-level elements to set, tag to text value: an element present is
   * given the value (keeping its VR), an absent one is inserted in tag order
   * with the dictionary's VR. Values are padded to even length (PS3.5 6.2).
   */
  replace?: ReadonlyMap<number, string>;
  /** Write post-1993 VRs (UN, UT, UR, UC, OF, OD, OL, OV, SV, UV) as OB, as DCMTK's `-u`. */
  disableNewVr?: boolean;
}

/**
 * Re-encodes a data set streamed in `fromTs` into `toTs`, yielding chunks of
 * at most 256 KiB; memory use does not grow with the size of the data set.
 *
 * When the syntaxes are the same and no option asks for a change, the
 * source is returned as it is: its bytes go out untouched, never parsed (a
 * deflated one only gets the NUL byte that makes its length even if it
 * lacks it, PS3.5 A.5). Otherwise the data set is parsed and written again:
 * values byte-swapped by VR where the byte order changes, sequences and
 * items with undefined lengths (their sizes may change), group lengths
 * (gggg,0000) left out (PS3.5 7.2), encapsulated pixel data passed through
 * between explicit VR little endian forms. Odd value lengths are kept as
 * read. Deflated output always has an even length (PS3.5 A.5).
 *
 * @throws {DicomParseError} `unsupported` at once when the syntaxes differ
 *   and either is unknown or encapsulated (compressed data are not
 *   transcoded), or a rewrite is asked of an unknown syntax; while
 *   iterating, for malformed input
 */
export function transcodeDataset(
  src: AsyncIterable<Uint8Array>,
  fromTs: string,
  toTs: string,
  options: TranscodeOptions = {},
): AsyncIterable<Uint8Array> {
  const from = tsEncoding(fromTs);
  const to = tsEncoding(toTs);
  const rewrite = (options.replace?.size ?? 0) > 0 ||
    (options.disableNewVr === true && to?.explicitVr === true);
  if (fromTs === toTs && !rewrite) return to?.deflated ? padDeflatedChunks(src) : src;
  if (!from || !to) {
    throw new DicomParseError(
      "unsupported",
      `cannot re-encode ${from ? toTs : fromTs}: unknown transfer syntax`,
    );
  }
  if (fromTs !== toTs && (from.encapsulated || to.encapsulated)) {
    throw new DicomParseError(
      "unsupported",
      `cannot transcode ${fromTs} to ${toTs}: compressed (encapsulated) syntaxes are not converted`,
    );
  }
  return reencode(src, from, to, options);
}

async function* reencode(
  src: AsyncIterable<Uint8Array>,
  from: TsEncoding,
  to: TsEncoding,
  options: TranscodeOptions,
): AsyncGenerator<Uint8Array> {
  const body = encodeStream(from.deflated ? inflateRawChunks(src) : src, from, to, options);
  yield* to.deflated ? deflateRawChunks(body, options.compressionLevel) : body;
}

async function* encodeStream(
  src: AsyncIterable<Uint8Array>,
  from: TsEncoding,
  to: TsEncoding,
  options: TranscodeOptions,
): AsyncGenerator<Uint8Array> {
  const parser = new DatasetParser(from, options);
  // Implicit VR values (the data set's, or a UN sequence's items) get their open VRs
  // resolved before they are written with a VR or byte-swapped by one (multi_vr.ts).
  const resolver = new VrResolver(from);
  const sink = new ChunkSink();
  const encoder = new DatasetEncoder(from, to, sink, {
    disableNewVr: options.disableNewVr,
    dropGroupLengths: true,
  });
  const encode = (t: DatasetToken) => encoder.encode(resolver.resolve(t));
  const replacer = options.replace?.size ? new Replacer(options.replace, encode) : undefined;
  const feed = replacer ? (t: DatasetToken) => replacer.feed(t) : encode;
  for await (const chunk of src) {
    for (const t of parser.push(chunk)) feed(t);
    yield* sink.take();
  }
  parser.end();
  replacer?.finish();
  sink.flush();
  yield* sink.take();
}

/**
 * Sets top-level element values in a token stream: replaces the value of a
 * listed element, inserts a listed element that is absent before the first
 * top-level element with a greater tag (PS3.5 7.1: ascending tag order).
 */
class Replacer {
  readonly #pending: [number, string][];
  readonly #emit: (t: DatasetToken) => void;
  #skipping = false;

  constructor(replace: ReadonlyMap<number, string>, emit: (t: DatasetToken) => void) {
    this.#pending = [...replace].sort((a, b) => a[0] - b[0]);
    this.#emit = emit;
  }

  feed(t: DatasetToken): void {
    if (this.#skipping) {
      // t is a piece of the value being replaced.
      this.#skipping = !(t as { last: boolean }).last;
      return;
    }
    if (t.kind === "element" || t.kind === "sequence" || t.kind === "encapsulated") {
      if (t.depth === 0) {
        while (this.#pending.length > 0 && this.#pending[0][0] < t.tag) this.#insert(undefined);
        if (this.#pending[0]?.[0] === t.tag) {
          if (t.kind !== "element") {
            throw new DicomParseError(
              "unsupported",
              `cannot replace ${formatTag(t.tag)}: it holds items, not a value`,
            );
          }
          this.#insert(t.vr);
          this.#skipping = t.length > 0;
          return;
        }
      }
    }
    this.#emit(t);
  }

  finish(): void {
    while (this.#pending.length > 0) this.#insert(undefined);
  }

  #insert(vr: string | undefined): void {
    const [tag, text] = this.#pending.shift()!;
    const elementVr = vr ?? tagVr(tag);
    const bytes = encodeText(text, elementVr);
    this.#emit({ kind: "element", tag, vr: elementVr, length: bytes.length, depth: 0 });
    if (bytes.length > 0) this.#emit({ kind: "value", bytes, last: true });
  }
}
