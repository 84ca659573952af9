/**
 * storescu's resume journal (`--journal FILE`): one JSON line per C-STORE-RSP
 * received, appended and flushed to the disk as the response arrives, so that
 * a run killed at any moment (SIGKILL, power loss) can be resumed: a rerun
 * with the same journal skips the stores the same peer already acknowledged
 * with a success or warning status (PS3.4 B.2.3) and sends exactly the rest.
 *
 * @module
 */
import { resolve } from "node:path";
import { statusCategory } from "../../dimse/status.ts";

/** One line of the journal. */
export interface JournalEntry {
  /** The file, as an absolute path. */
  path: string;
  /** SOP Instance UID as sent. */
  sopInstanceUid: string;
  /** The file's own SOP Instance UID (differs from the one sent with +II). */
  fileSopInstanceUid: string;
  /** C-STORE-RSP status. */
  status: number;
  /** Who acknowledged it: `AE@host:port` as called. */
  peer: string;
  /** When the response arrived (ISO 8601). */
  time: string;
}

/** How a journal read went. */
export interface JournalRead {
  /** Stores acknowledged (success or warning) by this peer, counted by path and SOP Instance UID. */
  acknowledged: Map<string, number>;
  /** Lines that could not be read (a torn last line after a kill is the usual one). */
  unreadable: number;
  /** Acknowledged entries from other peers (not skipped). */
  otherPeers: number;
}

/** `path` made absolute (against the working directory), as journal entries name files. */
export function absolutePath(path: string): string {
  return resolve(path);
}

/** The key a store is matched by: the absolute path and the file's SOP Instance UID. */
export function journalKey(path: string, fileSopInstanceUid: string): string {
  return `${resolve(path)}\n${fileSopInstanceUid}`;
}

/** `AE@host:port`: the peer a journal entry belongs to. */
export function journalPeer(o: { calledAeTitle: string; host: string; port: number }): string {
  return `${o.calledAeTitle}@${o.host}:${o.port}`;
}

/** Reads a journal (a missing one is empty), keeping what `peer` acknowledged. */
export async function readJournal(file: string, peer: string): Promise<JournalRead> {
  const out: JournalRead = { acknowledged: new Map(), unreadable: 0, otherPeers: 0 };
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return out;
    throw err;
  }
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let e: Partial<JournalEntry>;
    try {
      e = JSON.parse(line);
    } catch {
      out.unreadable++;
      continue;
    }
    if (
      typeof e.path !== "string" || typeof e.fileSopInstanceUid !== "string" ||
      typeof e.status !== "number" || typeof e.peer !== "string"
    ) {
      out.unreadable++;
      continue;
    }
    const category = statusCategory(e.status);
    if (category !== "success" && category !== "warning") continue;
    if (e.peer !== peer) {
      out.otherPeers++;
      continue;
    }
    const key = journalKey(e.path, e.fileSopInstanceUid);
    out.acknowledged.set(key, (out.acknowledged.get(key) ?? 0) + 1);
  }
  return out;
}

/**
 * Appends entries, each line written whole and flushed to the disk
 * (fdatasync) before its promise resolves. Appends that arrive while a flush
 * is under way (parallel associations) go out together with the next one
 * (a group commit): one fdatasync for all of them, lines never interleaved.
 */
export class JournalWriter {
  readonly #file: Deno.FsFile;
  /** Lines waiting for the next flush, with their waiters. */
  #waiting: { bytes: Uint8Array; done: () => void; failed: (err: unknown) => void }[] = [];
  #flushing: Promise<void> | undefined;
  #failed: unknown;

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** Opens `path` for appending; a torn last line (no newline) is ended first. */
  static async open(path: string): Promise<JournalWriter> {
    const file = await Deno.open(path, { append: true, create: true, read: true });
    const size = (await file.stat()).size;
    const writer = new JournalWriter(file);
    if (size > 0) {
      const last = new Uint8Array(1);
      await file.seek(size - 1, Deno.SeekMode.Start);
      await file.read(last);
      if (last[0] !== 0x0a) await writer.#write(new TextEncoder().encode("\n"));
    }
    return writer;
  }

  async #write(bytes: Uint8Array): Promise<void> {
    for (let off = 0; off < bytes.length;) off += await this.#file.write(bytes.subarray(off));
    await this.#file.syncData();
  }

  /** Writes what waits, in turns, until nothing does. */
  async #flush(): Promise<void> {
    while (this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0);
      try {
        if (this.#failed) throw this.#failed;
        const bytes = new Uint8Array(batch.reduce((n, w) => n + w.bytes.length, 0));
        let off = 0;
        for (const w of batch) {
          bytes.set(w.bytes, off);
          off += w.bytes.length;
        }
        await this.#write(bytes);
        for (const w of batch) w.done();
      } catch (err) {
        this.#failed = err;
        for (const w of batch) w.failed(err);
      }
    }
    this.#flushing = undefined;
  }

  /** Appends one entry; resolves once it is on the disk (rejects if the write failed). */
  append(e: JournalEntry): Promise<void> {
    const bytes = new TextEncoder().encode(`${JSON.stringify(e)}\n`);
    const written = new Promise<void>((done, failed) => {
      this.#waiting.push({ bytes, done, failed });
    });
    this.#flushing ??= this.#flush();
    return written;
  }

  /** Waits for the appends under way and closes the file. */
  async close(): Promise<void> {
    await this.#flushing;
    this.#file.close();
  }
}
