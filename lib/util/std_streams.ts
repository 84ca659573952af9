/**
 * The process's standard output and error as everything in this package
 * writes them.
 *
 * When the reader of a pipe goes away (`echoscu --help | head -1`, a log
 * viewer closed), a C program such as DCMTK's tools dies of SIGPIPE at its
 * next write. Deno ignores SIGPIPE, so the write throws `BrokenPipe`
 * instead, from wherever it happened: a stack trace, or an association cut
 * in the middle. Here that write and every later one on the same stream are
 * dropped and the stream remembers it was closed: the work under way
 * finishes (an association is released, a file stored whole), and the tool
 * runner reports the lost output in its exit code.
 *
 * @module
 */

/** A synchronous writer such as `Deno.stdout` or a `Deno.FsFile`. */
export interface SyncWriter {
  /** Writes some of `p`; returns how many bytes. */
  writeSync(p: Uint8Array): number;
}

/** Writes all of `data`, in as many calls as the writer needs. */
export function writeAllSync(w: SyncWriter, data: Uint8Array): void {
  for (let off = 0; off < data.length;) off += w.writeSync(data.subarray(off));
}

const encoder = new TextEncoder();

/** A standard stream whose reader may go away: writes after that are dropped. */
export class StdStream implements SyncWriter {
  readonly #target: SyncWriter;
  #closed = false;

  /** The stream writing to `target` (Deno.stdout or Deno.stderr). */
  constructor(target: SyncWriter) {
    this.#target = target;
  }

  /** True once a write found the reader gone (EPIPE): the output since then is lost. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Writes some of `p` (all of it, dropped, once the reader is gone); returns how many bytes. */
  writeSync(p: Uint8Array): number {
    if (this.#closed) return p.length;
    try {
      return this.#target.writeSync(p);
    } catch (err) {
      if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
      this.#closed = true;
      return p.length;
    }
  }

  /** Writes all of `data` (text as UTF-8). */
  writeAll(data: Uint8Array | string): void {
    writeAllSync(this, typeof data === "string" ? encoder.encode(data) : data);
  }
}

/** The process's standard output. */
export const stdout: StdStream = new StdStream(Deno.stdout);
/** The process's standard error. */
export const stderr: StdStream = new StdStream(Deno.stderr);
