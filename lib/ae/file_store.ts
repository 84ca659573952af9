/**
 * Storing received data sets in files without ever leaving half of one:
 * each goes into a `.part` file as its fragments arrive, renamed into
 * place only when complete (dcm4che's way); names are checked to stay
 * inside their directory. Write batches come from a pool with a total, so
 * a crowd of stores begun and left hanging cannot grow the process.
 *
 * @module
 */

/** An open file being written. */
export interface SinkFile {
  /** Writes all of `data` before returning; throws when it cannot. */
  write(data: Uint8Array): void;
  /** Closes the file. */
  close(): void;
}

/**
 * The file operations storescp needs: the real file system, or a test's
 * stand-in. All are synchronous, as DCMTK's storescp does its file work:
 * on a local disk each takes a few microseconds, and a write only copies
 * into the page cache (the kernel writes it back while we read the
 * network). The asynchronous forms would cost a round trip through the
 * runtime's blocking thread pool per call (thread wake-ups, a duplicated
 * descriptor): for small files, more than the work itself. The price: a
 * disk that cannot keep up (the page cache full of unwritten data) slows
 * every association this process serves, not only the one writing.
 */
export interface FileSink {
  /** Creates a new file; fails if it exists. */
  create(path: string): SinkFile;
  /**
   * Moves a file to `to` if nothing is there; false, and nothing moved, when
   * something is (then {@link FileSink.rename} replaces it).
   */
  moveNew(from: string, to: string): boolean;
  /** Moves a file into place, replacing what is there. */
  rename(from: string, to: string): void;
  /** Removes a file. */
  remove(path: string): void;
  /** Creates a directory; false when it already existed. */
  makeDirectory(path: string): boolean;
}

/**
 * Bytes per write(2) at most, each ending on a multiple of it in the file.
 * The kernel's page cache gives a write a folio as large as the write and
 * its alignment allow (Linux 6.x, ext4 and others), and on a virtual
 * machine whose host takes free guest memory back, a large folio is new
 * memory the host must fault in page by page: on this project's machine a
 * 1 GiB file took 1.2-1.7 s of system time in 256 KiB writes and 0.26-0.29
 * s in aligned 32 KiB writes (dd, interleaved); with memory just freed,
 * 32 KiB costs no more than 256 KiB. Misaligned 32 KiB writes (a 128 KiB
 * PDU's fragments after the file meta information) cost a third more.
 */
const WRITE_CHUNK = 32 * 1024;

/** The file system, through Deno's file API. */
export const DENO_FILE_SINK: FileSink = {
  create(path) {
    const file = Deno.openSync(path, { write: true, createNew: true });
    let position = 0;
    return {
      write(data) {
        for (let off = 0; off < data.length;) {
          // Up to the next multiple of WRITE_CHUNK in the file: aligned folios of that size.
          const end = off + WRITE_CHUNK - (position % WRITE_CHUNK);
          const n = file.writeSync(data.subarray(off, end));
          off += n;
          position += n;
        }
      },
      close: () => file.close(),
    };
  },
  moveNew(from, to) {
    // A hard link fails when `to` exists and, in the common case where it
    // does not, succeeds without an exception. Looking first (lstat) threw
    // NotFound for every new file, and a Deno error costs far more to build
    // than the system call: some 30 ms of CPU per 300 files.
    try {
      Deno.linkSync(from, to);
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists) return false;
      // No hard links on this file system (FAT, some network shares): look, then move.
      if (pathExists(to)) return false;
      Deno.renameSync(from, to);
      return true;
    }
    Deno.removeSync(from);
    return true;
  },
  rename: (from, to) => Deno.renameSync(from, to),
  remove: (path) => Deno.removeSync(path),
  makeDirectory(path) {
    try {
      Deno.mkdirSync(path);
      return true;
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists) return false;
      throw err;
    }
  },
};

/** True when something (a dangling symbolic link too) is at `path`. */
function pathExists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Bytes gathered before one write: few system calls, bounded memory. */
export const DEFAULT_WRITE_BATCH = 256 * 1024;

/**
 * Memory all stores together may hold in write batches, by default: data
 * received and not yet on disk. Past it, a store writes each fragment as it
 * arrives (more system calls, no memory): a crowd of stores begun and left
 * hanging cannot grow the server, and no store is refused for it.
 */
export const DEFAULT_BUFFER_TOTAL = 32 * 1024 * 1024;

/**
 * Write batches shared by every file being received, within a total: a
 * fresh 256 KiB buffer per file costs more (zeroing, page faults, garbage
 * collection) than copying the fragments into a used one.
 */
export class WriteBufferPool {
  readonly #total: number;
  readonly #spare = new Map<number, Uint8Array[]>();
  /** Bytes of buffers taken and not given back, plus spares kept. */
  #held = 0;
  #short = false;

  /** A pool whose buffers add up to at most `total` bytes. */
  constructor(total = DEFAULT_BUFFER_TOTAL) {
    this.#total = total;
  }

  /** Bytes held by stores and spares. */
  get held(): number {
    return this.#held;
  }

  /**
   * A buffer of `size` bytes, or undefined when the total is reached;
   * `onShortage` is called when a shortage begins (again only once the
   * buffers in use have fallen below half the total).
   */
  take(size: number, onShortage?: () => void): Uint8Array | undefined {
    const spare = this.#spare.get(size)?.pop();
    if (spare) return spare;
    if (this.#held + size > this.#total) {
      if (!this.#short) onShortage?.();
      this.#short = true;
      return undefined;
    }
    this.#held += size;
    return new Uint8Array(size);
  }

  /** Gives a buffer back: kept for the next store (a few), or let go. */
  give(buffer: Uint8Array): void {
    const list = this.#spare.get(buffer.length) ?? [];
    if (list.length < 8) list.push(buffer);
    else this.#held -= buffer.length;
    this.#spare.set(buffer.length, list);
    if (this.#held - this.#spareBytes() < this.#total / 2) this.#short = false;
  }

  #spareBytes(): number {
    let n = 0;
    for (const [size, list] of this.#spare) n += size * list.length;
    return n;
  }
}

/**
 * A `.part` file filling up as data set fragments arrive. Fragments are
 * copied into a batch buffer (a large one's middle is written from its
 * own memory, see {@link PartFile.add}) that is written whenever it is full, so a
 * transfer holds one batch whatever the size of its data set, and a small
 * data set (its file meta information included) takes a single write;
 * without a batch (the pool's total reached) each fragment is written as
 * it comes. After a write error nothing more is written: the caller drains
 * the data set, discards the file and answers 0xA700.
 */
export class PartFile {
  /** The `.part` file's path. */
  readonly path: string;
  readonly #sink: FileSink;
  readonly #file: SinkFile;
  readonly #pool: WriteBufferPool;
  #batch: Uint8Array | undefined;
  #filled = 0;
  /** Bytes written to the file so far. */
  #position = 0;
  #closed = false;
  /** The first write error. */
  error: unknown;

  /** Creates the file and queues its first bytes (the file meta information). */
  constructor(
    sink: FileSink,
    path: string,
    head: Uint8Array,
    batch: { size: number; pool: WriteBufferPool; onShortage?: () => void },
  ) {
    this.#sink = sink;
    this.path = path;
    this.#file = sink.create(path);
    this.#pool = batch.pool;
    this.#batch = batch.pool.take(batch.size, batch.onShortage);
    this.add(head);
  }

  /**
   * Queues bytes, writing each batch as it fills. A fragment of a quarter
   * of a batch or more (64 KiB by default: a large PDU's) is written from
   * its own memory, but only from the first multiple of {@link WRITE_CHUNK}
   * in the file it holds to the last: its bytes before are copied to
   * complete the batch, written first, and its bytes after start the next
   * batch. So every write but a file's last starts and ends on a multiple
   * of WRITE_CHUNK, as with small PDUs, whatever the fragments' length.
   * Written whole, the fragments of 128 KiB PDUs (131,066 bytes, 6 short)
   * cut the page cache's folios at both ends of each: a 1 GiB file took
   * 57,344 folios and 40,961 writes instead of 32,769 of each, and 0.07-0.19 s
   * more system time (of 0.8). The ends copied are about a quarter of
   * such a fragment.
   * Either way, `bytes` is no longer needed when this returns.
   */
  add(bytes: Uint8Array): void {
    const batch = this.#batch;
    if (!batch) return this.#put(bytes);
    const into = (this.#position + this.#filled) % WRITE_CHUNK;
    const head = into === 0 ? 0 : WRITE_CHUNK - into;
    if (4 * bytes.length < batch.length || bytes.length <= head) {
      return this.#queue(bytes, 0, bytes.length);
    }
    this.#queue(bytes, 0, head);
    if (this.#filled > 0) this.#write();
    const tail = bytes.length - (bytes.length - head) % WRITE_CHUNK;
    if (tail > head) this.#put(bytes.subarray(head, tail));
    this.#queue(bytes, tail, bytes.length);
  }

  /** Copies `bytes[from, to)` into the batch, writing it whenever it is full. */
  #queue(bytes: Uint8Array, from: number, to: number): void {
    const batch = this.#batch!;
    for (let off = from; off < to && this.error === undefined;) {
      const n = Math.min(batch.length - this.#filled, to - off);
      batch.set(n === bytes.length ? bytes : bytes.subarray(off, off + n), this.#filled);
      this.#filled += n;
      off += n;
      if (this.#filled === batch.length) this.#write();
    }
  }

  #write(): void {
    this.#put(this.#batch!.subarray(0, this.#filled));
    this.#filled = 0;
  }

  /** Writes `data` unless a write has failed; keeps the first error. */
  #put(data: Uint8Array): void {
    if (this.error !== undefined) return;
    try {
      this.#file.write(data);
      this.#position += data.length;
    } catch (err) {
      this.error = err;
    }
  }

  /** Writes what is left and closes the file; throws the first write error. */
  finish(): void {
    if (this.#filled > 0 && this.error === undefined) this.#write();
    this.#close();
    if (this.error !== undefined) throw this.error;
  }

  /** Closes and removes the file, whatever state it is in. */
  discard(): void {
    this.#close();
    try {
      this.#sink.remove(this.path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#batch) this.#pool.give(this.#batch);
    this.#batch = undefined;
    this.#file.close();
  }
}

/** Strips trailing path separators, as DCMTK's normalizeDirName does, for display. */
export function normalizeDir(dir: string): string {
  const trimmed = dir.replace(/[/\\]+$/, "");
  return trimmed === "" ? dir : trimmed;
}

/**
 * `dir/name` when `name` is one plain path component (no separator, not
 * `.` or `..`, no NUL), so that the path names an entry directly inside
 * `dir`; undefined otherwise. The last line of defence: names are built
 * from validated UIDs and checked options already.
 */
export function childPath(dir: string, name: string): string | undefined {
  if (name === "" || name === "." || name === ".." || !isSafeNamePart(name)) return undefined;
  return `${dir}/${name}`;
}

/** True when `text` can be part of a file name we build (-fe, -su): no separators, no NUL. */
export function isSafeNamePart(text: string): boolean {
  return !/[/\\\0]/.test(text);
}
