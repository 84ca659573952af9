/**
 * Streaming raw deflate (RFC 1951) for the Deflated Explicit VR Little
 * Endian transfer syntax, which compresses the whole data set without a
 * zlib header (PS3.5 A.5).
 *
 * @module
 */

import { DicomParseError } from "./errors.ts";

type Zlib = typeof import("node:zlib");
let zlibModule: Zlib | undefined;

/**
 * node:zlib, loaded on first use. A static import of it (or of node:process)
 * starts Deno's Node compatibility layer, some 10 ms of every process start,
 * deflated data or not. It is loaded synchronously, with Node's
 * `process.getBuiltinModule` rather than a dynamic import, because some of
 * its users are synchronous: {@linkcode inflateRaw} for whole data sets and
 * the top-level watcher.
 */
function zlib(): Zlib {
  return zlibModule ??= globalThis.process.getBuiltinModule("node:zlib") as Zlib;
}

/** Input is fed to the inflater in slices this long, bounding what one slice can expand to. */
const INFLATE_SLICE = 16 * 1024;
/** Output chunk size of the zlib streams. */
const ZLIB_CHUNK = 64 * 1024;

type ZlibStream = ReturnType<Zlib["createInflateRaw"]>;

/**
 * Runs `src` through a zlib stream, one slice at a time: each slice is
 * written, its output collected, and yielded before the next slice goes in,
 * so memory stays bounded whatever the size of the data set.
 */
async function* pump(
  z: ZlibStream,
  src: AsyncIterable<Uint8Array>,
  slice: number,
): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  let failure: Error | undefined;
  z.on("data", (c: Uint8Array) => out.push(c));
  z.on("error", (e: Error) => failure ??= e);
  // zlib reports a stream that ends early only after "finish", so the end
  // is awaited as "end" (all output read) or "error", whichever comes.
  const ended = new Promise<void>((resolve) => {
    z.once("end", resolve);
    z.once("error", () => resolve());
  });
  try {
    for await (const chunk of src) {
      for (let o = 0; o < chunk.length; o += slice) {
        await new Promise<void>((resolve) =>
          z.write(chunk.subarray(o, o + slice), () => resolve())
        );
        if (failure) throw failure;
        yield* out.splice(0);
      }
    }
    z.end();
    await ended;
    if (failure) throw failure;
    yield* out.splice(0);
  } finally {
    z.destroy();
  }
}

/**
 * Inflates a raw-deflated data set as it streams.
 *
 * @throws {DicomParseError} `deflate` when the data are corrupt or end early
 */
export async function* inflateRawChunks(
  src: AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  try {
    yield* pump(zlib().createInflateRaw({ chunkSize: ZLIB_CHUNK }), src, INFLATE_SLICE);
  } catch (e) {
    if (e instanceof DicomParseError || !isZlibError(e)) throw e;
    throw new DicomParseError("deflate", `deflated data set: ${e.message}`);
  }
}

/**
 * Deflates a data set as it streams (raw deflate, no zlib header), adding
 * a NUL byte when the result has an odd length: PS3.5 A.5 "If the Deflate
 * algorithm produces an odd number of bytes then a single trailing NULL
 * byte shall be added".
 *
 * @param src the encoded data set
 * @param level zlib compression level 0-9 (DCMTK's `+cl`), default 6
 */
export function deflateRawChunks(
  src: AsyncIterable<Uint8Array>,
  level = 6,
): AsyncGenerator<Uint8Array> {
  return padDeflatedChunks(
    pump(zlib().createDeflateRaw({ level, chunkSize: ZLIB_CHUNK }), src, Infinity),
  );
}

/**
 * A deflated data set as it streams, with the trailing NUL byte PS3.5 A.5
 * requires when its length is odd (files written without it get it here;
 * the inflater stops at the end of the last deflate block and never reads
 * the pad).
 */
export async function* padDeflatedChunks(
  deflated: AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const c of deflated) {
    total += c.length;
    yield c;
  }
  if (total % 2 === 1) yield new Uint8Array(1);
}

/**
 * Inflates a whole raw-deflated data set at once. With `partial`, `bytes`
 * may be the first part of a stream: what it holds is inflated (sync flush)
 * and the missing rest is no error. `maxLength` bounds the output: deflate
 * expands up to about 1000 times, so a peer's few kilobytes could otherwise
 * make gigabytes (docs/SECURITY_CLASSES.md #3).
 *
 * @throws {DicomParseError} `deflate` when the data are corrupt or, unless `partial`, end early;
 *   `too-long` when they inflate to more than `maxLength` bytes
 */
export function inflateRaw(bytes: Uint8Array, partial = false, maxLength?: number): Uint8Array {
  const z = zlib();
  try {
    return z.inflateRawSync(bytes, {
      finishFlush: partial ? z.constants.Z_SYNC_FLUSH : z.constants.Z_FINISH,
      maxOutputLength: maxLength,
    });
  } catch (e) {
    if (maxLength !== undefined && (e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
      throw new DicomParseError(
        "too-long",
        `deflated data set inflates to more than ${maxLength} bytes`,
      );
    }
    throw new DicomParseError("deflate", `deflated data set: ${(e as Error).message}`);
  }
}

/**
 * Deflates a whole data set at once, padded to even length as in
 * {@linkcode deflateRawChunks} (PS3.5 A.5).
 *
 * @param bytes the encoded data set
 * @param level zlib compression level 0-9, default 6
 */
export function deflateRaw(bytes: Uint8Array, level = 6): Uint8Array {
  const deflated = zlib().deflateRawSync(bytes, { level });
  if (deflated.length % 2 === 0) return deflated;
  const out = new Uint8Array(deflated.length + 1);
  out.set(deflated);
  return out;
}

function isZlibError(e: unknown): e is Error {
  return e instanceof Error && "code" in e && String(e.code).startsWith("Z_");
}
