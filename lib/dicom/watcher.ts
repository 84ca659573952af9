/**
 * Picks text values of chosen top-level elements out of a data set as it
 * streams past, without holding it: storescp's `-su` (Study Instance UID)
 * and the SOP UIDs of data sets that have no file meta information.
 *
 * @module
 */

import { inflateRaw } from "./deflate.ts";
import { DicomParseError } from "./errors.ts";
import { DatasetParser, type DatasetToken, type ParserLimits } from "./parser.ts";
import { type TsEncoding, tsEncoding } from "./transfer_syntax.ts";
import { decodeText } from "./vr.ts";

/** Most bytes a deflated data set's prefix may inflate to while it is watched. */
const MAX_INFLATED = 8 * 1024 * 1024;
/** Inflated bytes parsed at a time. */
const INFLATED_SLICE = 64 * 1024;
/** The first slice {@link TopLevelWatcher.pushSliced} parses; doubling up to {@link SLICE_MAX}. */
const SLICE_FIRST = 256;
/** The largest slice {@link TopLevelWatcher.pushSliced} parses at a time. */
const SLICE_MAX = 16 * 1024;

/** Options of a {@linkcode TopLevelWatcher}. */
export interface WatcherOptions extends ParserLimits {
  /** Values longer than this are not collected (default 1024 bytes: UIDs and names are far shorter). */
  maxCollected?: number;
  /**
   * For a deflated syntax, compressed bytes kept while looking (default
   * 1 MiB); the watcher gives up, `done` without the values, past that.
   */
  maxDeflated?: number;
  /**
   * Keep reading the data set's structure once the values are found, to its
   * {@link TopLevelWatcher.end}, so that malformed input anywhere (nesting
   * past `maxDepth`, a length past its item, a data set cut short) sets
   * `error` (docs/SECURITY_CLASSES.md #7: storescp must not store what it could not
   * read back). `done` then stays false until the end. Not for deflated
   * data sets, which are only looked at up to `maxDeflated`.
   */
  wholeDataset?: boolean;
}

/**
 * Watches a data set streamed in `push` calls for top-level elements with
 * the given tags and keeps their text values (padding removed, PS3.5 6.2).
 * Elements come in ascending tag order (PS3.5 7.1), so it is `done` as soon
 * as a top-level tag beyond the last wanted one goes by, and ignores
 * whatever comes after. Malformed input stops it (`done`, with `error`).
 */
export class TopLevelWatcher {
  readonly #encoding: TsEncoding;
  readonly #wanted: Set<number>;
  readonly #last: number;
  readonly #options: WatcherOptions;
  readonly #maxCollected: number;
  readonly #whole: boolean;
  /** Still collecting values (the wanted tags have not all gone by). */
  #looking = true;
  #parser: DatasetParser;
  #values = new Map<number, Uint8Array>();
  #collecting: Uint8Array[] | undefined;
  #collectTag = 0;
  #done = false;
  #error: DicomParseError | undefined;
  #deflated: Uint8Array[] = [];
  #deflatedBytes = 0;
  #nextInflate = 0;

  /**
   * Creates a watcher.
   *
   * @param ts transfer syntax UID of the data set
   * @param tags top-level tags whose values are wanted
   * @param options limits
   * @throws {DicomParseError} `unsupported` for an unknown transfer syntax
   */
  constructor(ts: string, tags: readonly number[], options: WatcherOptions = {}) {
    const encoding = tsEncoding(ts);
    if (!encoding) throw new DicomParseError("unsupported", `unknown transfer syntax ${ts}`);
    this.#encoding = encoding;
    this.#wanted = new Set(tags);
    this.#last = Math.max(-1, ...tags);
    this.#options = options;
    this.#maxCollected = options.maxCollected ?? 1024;
    this.#parser = new DatasetParser(encoding, options);
    this.#whole = (options.wholeDataset ?? false) && !encoding.deflated;
    if (tags.length === 0) this.#stopLooking();
  }

  /**
   * All wanted tags have gone by (with `wholeDataset`: the end was declared),
   * or the input was malformed: later input is ignored.
   */
  get done(): boolean {
    return this.#done;
  }

  /** The error that stopped the watcher, if the input was malformed. */
  get error(): DicomParseError | undefined {
    return this.#error;
  }

  /** The values found so far, by tag. */
  values(): Map<number, string> {
    return new Map([...this.#values].map(([tag, bytes]) => [tag, decodeText(bytes)]));
  }

  /** The values found so far as they were in the data set, padding included. */
  rawValues(): Map<number, Uint8Array> {
    return new Map(this.#values);
  }

  /**
   * Looks at the next chunk of the data set. With `wholeDataset`, the chunk
   * is tokenized in slices of 256 bytes doubling up to 16 KiB while values
   * are wanted, and once they are all found, the rest is only skimmed for
   * its structure ({@link DatasetParser.check}): no tokens are made for what
   * nobody looks at (storescp checks every file it stores this way: a CT
   * image's first 16 KiB made 188 tokens for two UIDs, and its pixel data
   * one per fragment).
   */
  push(chunk: Uint8Array): void {
    if (this.#done) return;
    try {
      if (this.#encoding.deflated) this.#pushDeflated(chunk);
      else this.#pushPlain(chunk);
    } catch (e) {
      if (!(e instanceof DicomParseError)) throw e;
      this.#error = e;
      this.#done = true;
    }
  }

  /**
   * Deflated data sets: node:zlib has no synchronous streaming inflater, so
   * the compressed prefix is kept and inflated again (flushing what is
   * complete) each time it has doubled, into a fresh parser. The work stays
   * linear in the prefix and the prefix is bounded by `maxDeflated`.
   */
  #pushDeflated(chunk: Uint8Array): void {
    const max = this.#options.maxDeflated ?? 1024 * 1024;
    this.#deflated.push(chunk.slice());
    this.#deflatedBytes += chunk.length;
    if (this.#deflatedBytes < this.#nextInflate) return;
    if (this.#deflatedBytes > max) {
      this.#done = true;
      return;
    }
    this.#nextInflate = this.#deflatedBytes * 2;
    const prefix = new Uint8Array(this.#deflatedBytes);
    let o = 0;
    for (const c of this.#deflated) {
      prefix.set(c, o);
      o += c.length;
    }
    // Deflate expands up to ~1000 times: the output is bounded (an error past it), and
    // parsed in slices so that the tokens in hand stay few (docs/SECURITY_CLASSES.md #3).
    const inflated = inflateRaw(prefix, true, MAX_INFLATED);
    this.#parser = new DatasetParser(this.#encoding, this.#options);
    this.#values = new Map();
    this.#collecting = undefined;
    for (let at = 0; at < inflated.length && !this.#done; at += INFLATED_SLICE) {
      this.#tokens(this.#parser.push(inflated.subarray(at, at + INFLATED_SLICE)));
    }
  }

  #pushPlain(chunk: Uint8Array): void {
    if (!this.#whole) {
      this.#tokens(this.#parser.push(chunk));
      return;
    }
    for (let at = 0, slice = SLICE_FIRST; at < chunk.length;) {
      if (!this.#looking) {
        this.#parser.check(at === 0 ? chunk : chunk.subarray(at));
        return;
      }
      this.#tokens(this.#parser.push(chunk.subarray(at, at + slice)));
      at += slice;
      slice = Math.min(slice * 2, SLICE_MAX);
    }
  }

  #tokens(tokens: DatasetToken[]): void {
    for (const t of tokens) {
      if (!this.#looking) return;
      if (t.kind === "value") {
        if (!this.#collecting) continue;
        this.#collecting.push(t.bytes.slice());
        if (t.last) this.#keep(this.#collecting);
        continue;
      }
      if (
        (t.kind !== "element" && t.kind !== "sequence" && t.kind !== "encapsulated") || t.depth > 0
      ) {
        continue;
      }
      if (t.tag > this.#last) {
        this.#stopLooking();
        return;
      }
      if (t.kind === "element" && this.#wanted.has(t.tag) && t.length <= this.#maxCollected) {
        this.#collectTag = t.tag;
        this.#collecting = [];
        if (t.length === 0) this.#keep([]);
      }
    }
  }

  #keep(pieces: Uint8Array[]): void {
    const bytes = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of pieces) {
      bytes.set(p, o);
      o += p.length;
    }
    this.#values.set(this.#collectTag, bytes);
    this.#collecting = undefined;
    if (this.#values.size === this.#wanted.size) this.#stopLooking();
  }

  #stopLooking(): void {
    this.#looking = false;
    if (!this.#whole) this.#done = true;
  }

  /**
   * Looks at `chunk` as {@link TopLevelWatcher.push} does, in slices of
   * 256 bytes doubling up to 16 KiB, and stops after the first slice that
   * makes it `done`. The parser tokenizes a whole slice at a time, and the
   * wanted tags (a file's SOP UIDs) usually come in the first 200 bytes:
   * pushed whole, the first 8 KiB of a CT file were tokenized to its pixel
   * data (55 elements, 188 tokens, 12 KB of heap) for two values (issue 15).
   */
  pushSliced(chunk: Uint8Array): void {
    for (let at = 0, slice = SLICE_FIRST; at < chunk.length && !this.#done;) {
      this.push(chunk.subarray(at, at + slice));
      at += slice;
      slice = Math.min(slice * 2, SLICE_MAX);
    }
  }

  /** Declares the end of the data set: with `wholeDataset`, one cut short sets `error`. */
  end(): void {
    if (this.#done) return;
    this.#done = true;
    if (!this.#whole) return;
    try {
      this.#parser.end();
    } catch (e) {
      if (!(e instanceof DicomParseError)) throw e;
      this.#error = e;
    }
  }
}
