/**
 * Incremental PDU reader: bytes arrive in chunks of any size, PDUs come out
 * whole. The header is validated before anything is allocated for the body
 * (docs/SECURITY_CLASSES.md #3), each PDU's buffer is allocated once at its exact
 * size and filled as chunks arrive (no re-joining), and a PDU split over
 * many chunks, or many PDUs in one chunk, read the same (#9).
 *
 * @module
 */

import {
  decodePdu,
  fixedPduLength,
  PDU_HEADER_LENGTH,
  pduTypeName,
  unrecognizedPduError,
} from "./codec.ts";
import { PduDecodeError } from "./errors.ts";
import { readPdvs } from "./pdata.ts";
import { readU32, Slab } from "../util/bytes.ts";
import { Fifo } from "../util/fifo.ts";
import { ABORT_REASON, type Pdu, PDU_TYPE } from "./types.ts";

const PDATA_TF = PDU_TYPE["P-DATA-TF"];

/** Limits on what a peer may make us buffer. */
export interface PduLimits {
  /** A-ASSOCIATE-RQ/AC/RJ larger than this are refused (default 1 MiB, as DCMTK caps it). */
  maxAssociatePduLength: number;
  /** Largest P-DATA-TF variable field we accept: our Maximum Length Received; 0 means unlimited, but then a hard cap of 64 MiB still applies. */
  maxPDataLength: number;
}

/** The P-DATA-TF cap when our Maximum Length Received is 0 ("unlimited", PS3.8 D.1). */
const UNLIMITED_PDATA_CAP = 64 * 1024 * 1024;

/**
 * The staging buffer that reads land in between PDUs ({@link PduReader.room}):
 * it starts small and grows four-fold each time a read fills it, up to
 * about {@link STAGE_MAX} (see stageMaxFor), so a connection gone quiet
 * after a handshake holds 4 KiB and a bulk transfer reads about 256 KiB at
 * a time. Stages above the first size are taken from
 * {@link STAGE_GROWTH_TOTAL} shared by all readers: a crowd that sends one
 * burst each and then waits cannot make every connection hold a large one.
 * Data PDUs whole in a stage are lent from it rather than copied (see
 * #lend): a stage with PDUs still lent is set aside for another of its
 * size, so, like the pool's buffers, the stages set aside are bounded by
 * what the upper layer holds unreleased.
 */
const STAGE_FIRST = 4 * 1024;
const STAGE_MAX = 256 * 1024;
/**
 * The largest stage once our maximum length is set: the whole number of
 * P-DATA-TFs at that length nearest {@link STAGE_MAX} (one at least, so at
 * most 1.5 times it), so that a read of bulk data holds whole PDUs, each
 * lent, none copied (see room()). A 256 KiB stage held two 128 KiB PDUs
 * less 12 bytes: every other one was copied out of it into a pool buffer,
 * 537 MB of a 1 GiB transfer (16 KiB PDUs: 67 MB).
 */
function stageMaxFor(pduSize: number): number {
  return pduSize === 0 ? STAGE_MAX : Math.max(1, Math.round(STAGE_MAX / pduSize)) * pduSize;
}
/** Bytes of staging buffers larger than the first size, all readers together, at most. */
export const STAGE_GROWTH_TOTAL = 32 * 1024 * 1024;
/** Bytes of staging buffers larger than the first size held now. */
let stageGrown = 0;
/**
 * A PDU under way with at least this much missing is read straight into its
 * own buffer; less, and the next read goes to the staging buffer, where it
 * may bring the following PDUs too.
 */
const DIRECT_MIN = 16 * 1024;
/**
 * A P-DATA-TF up to this length gets a buffer of its exact length as soon as
 * its header is in (the length was checked against our maximum first): the
 * rest of it is then read straight into it. Longer ones (only when our
 * maximum is "unlimited") grow with the bytes that arrive, so a peer that
 * claims much and sends little costs what it sent (docs/SECURITY_CLASSES.md #3).
 */
const EXACT_MAX = STAGE_MAX + PDU_HEADER_LENGTH;
/** Small PDUs copied out of the staging buffer are carved from here (see Slab). */
const SMALL_PDUS = new Slab(16384);
/**
 * The largest PDU carved from a slab (here and where the upper layer encodes
 * lone commands); a larger one gets a buffer of its own.
 */
export const SMALL_PDU_MAX = 1024;
/**
 * PDU bodies (and staging buffers) given back ({@link ReadPdu.release}) kept for the next PDUs,
 * per reader (at least {@link POOL_SPARES_MIN} buffers, and one more for the
 * PDU under way): as many as can be lent at once, so that a queue drained
 * and filled again takes all its buffers from the pool. The upper layer
 * queues up to 256 KiB unread, and the PDUs of one 256 KiB staging read are
 * all handed on before it looks at its queue: 512 KiB. (Counted in headers
 * too, 16 KiB PDUs kept 31 of the 32 lent: some 300-900 fresh 16 KiB
 * buffers per 1,000 CT files of 0.5 MB.)
 */
const POOL_SPARE_BYTES = 512 * 1024;
const POOL_SPARES_MIN = 4;

/**
 * A staging buffer, and how many PDUs lent from it ({@link ReadPdu.release}
 * not yet called) are views of it: it is read into again only when none is.
 */
interface Stage {
  bytes: Uint8Array;
  lent: number;
}

/** The byte every buffer given back is filled with, when set (a debugging aid). */
let poison: number | undefined;

/**
 * Fills every PDU buffer given back through {@link ReadPdu.release} with
 * `byte` at once (undefined: no more): a consumer that still reads a PDV
 * it released then sees it, at once and whether or not the buffer is reused
 * soon. For tests and debugging; it costs a fill per PDU.
 */
export function poisonReleasedBuffers(byte: number | undefined): void {
  poison = byte;
}

/** Default limits: 1 MiB per A-ASSOCIATE PDU, P-DATA-TF bounded only by the 64 MiB cap. */
export const DEFAULT_PDU_LIMITS: PduLimits = Object.freeze({
  maxAssociatePduLength: 1024 * 1024,
  maxPDataLength: 0,
});

/** A decoded PDU and its bytes. */
export interface ReadPdu {
  /** The decoded PDU. */
  pdu: Pdu;
  /** The whole PDU's bytes incl. header, for -d hex dumps. PDV data are views of it. */
  raw: Uint8Array;
  /**
   * Set for a P-DATA-TF of data PDVs only, in a buffer of the reader's pool
   * or lent from its staging buffer (a view of it, not copied): gives the
   * memory back for later PDUs (valid until released: the reader reads into
   * it again only when every PDU lent from it is given back). Call it only
   * once nothing holds `raw` or any PDV's data (or a view of them) any more;
   * it does nothing the second time. Not calling it is safe: the memory is
   * then collected, and the reader takes new memory for its next reads.
   */
  release?: () => void;
}

function checkLimit(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what}: ${n} is not a length`);
  return n;
}

/** A PDU-length over our limit: an A-ABORT with invalid-PDU-parameter-value (PS3.8 9.3.8). */
function tooLong(name: string, length: number, limit: number, what: string): PduDecodeError {
  return new PduDecodeError(
    `${name} PDU-length ${length} exceeds ${what} of ${limit}`,
    ABORT_REASON.invalidPduParameterValue,
  );
}

/**
 * Reads PDUs from a byte stream. Call {@link PduReader.push} with each chunk
 * received, then {@link PduReader.next} until it returns null. The reader
 * keeps a reference to each pushed chunk until its bytes are consumed: do
 * not reuse a chunk's memory after pushing it. Once next() has thrown, the
 * stream is unusable and every later call throws the same error.
 */
export class PduReader {
  #limits: PduLimits;
  /** Chunks not yet consumed; bytes before #head in the first one are consumed. */
  // A ring, not an array: every read pushes its chunk and takes it off again, and an array
  // emptied by shift() allocates a new backing store (~150 B) at its next push.
  #chunks = new Fifo<Uint8Array>();
  #head = 0;
  #queued = 0;
  readonly #header = new Uint8Array(PDU_HEADER_LENGTH);
  #headerFilled = 0;
  /**
   * The PDU being assembled, allocated once its header has been validated.
   * It grows with the bytes that arrive (at most twice what arrived), up to
   * #pduLength, so a peer that claims a large PDU and sends little costs what
   * it sent (docs/SECURITY_CLASSES.md #3).
   */
  #pdu: Uint8Array | null = null;
  #pduLength = 0;
  #pduFilled = 0;
  #error: PduDecodeError | null = null;
  /** The staging buffer (see room()); empty until first asked for. */
  #stage: Stage = { bytes: new Uint8Array(0), lent: 0 };
  /** Staging buffers of #stage's size whose lent PDUs were all released, for the next reads. */
  #stageSpares: Stage[] = [];
  /** The chunk pushed by filled(), until its bytes are consumed, and the stage it is a view of. */
  #staged: Uint8Array | null = null;
  #stagedFrom: Stage = this.#stage;
  /** Whether room() last returned the rest of the PDU under way. */
  #direct = false;
  /** The length room() last returned. */
  #room = 0;
  /** The size the stage grows to: {@link stageMaxFor} our maximum length. */
  #stageMax = STAGE_MAX;
  /**
   * Size of the pool's buffers (a P-DATA-TF at our maximum length), 0 for
   * no pool (our maximum not set, or "unlimited", or above EXACT_MAX).
   */
  #poolSize = 0;
  /** Buffers given back, ready for the next PDUs. */
  #spares: Uint8Array[] = [];
  /** The pool buffer #pdu is a view of, if it is. */
  #pduPooled: Uint8Array | null = null;

  /** Creates a reader; limits not given take their {@link DEFAULT_PDU_LIMITS} value. */
  constructor(limits: Partial<PduLimits> = {}) {
    const all = { ...DEFAULT_PDU_LIMITS, ...limits };
    this.#limits = {
      maxAssociatePduLength: checkLimit(all.maxAssociatePduLength, "maxAssociatePduLength"),
      maxPDataLength: checkLimit(all.maxPDataLength, "maxPDataLength"),
    };
  }

  /** Sets our Maximum Length Received once negotiated (0 = unlimited, capped at 64 MiB). */
  setMaxPDataLength(n: number): void {
    this.#limits = { ...this.#limits, maxPDataLength: checkLimit(n, "maxPDataLength") };
    const size = n > 0 && PDU_HEADER_LENGTH + n <= EXACT_MAX ? PDU_HEADER_LENGTH + n : 0;
    if (size !== this.#poolSize) this.#spares = [];
    this.#poolSize = size;
    this.#stageMax = stageMaxFor(size);
  }

  /**
   * A pool buffer for a P-DATA-TF of `length` bytes (header included), or
   * null when it gets none: no pool, or a PDU under half the pool's size (a
   * command, a last fragment), which gets memory of its exact size.
   */
  #pooled(type: number, length: number): Uint8Array | null {
    const size = this.#poolSize;
    if (size === 0 || type !== PDATA_TF || length > size || 2 * length < size) return null;
    return this.#spares.pop() ?? new Uint8Array(size);
  }

  /** The PDU read: decoded, with `release` when it is in a pool buffer and holds data only. */
  #read(raw: Uint8Array, pooled: Uint8Array | null): ReadPdu {
    // A P-DATA-TF (nearly every PDU) in one pass; the general decoder names any fault. `raw`
    // is the header and exactly the PDU-length it gives: the reader cut it so.
    const pdvs = raw[0] === PDATA_TF ? readPdvs(raw, PDU_HEADER_LENGTH, raw.length) : undefined;
    const pdu: Pdu = pdvs ? { type: "P-DATA-TF", pdvs } : decodePdu(raw);
    if (pooled === null || pdu.type !== "P-DATA-TF") return { pdu, raw };
    // A command fragment may be kept (the assembler gathers them): its memory is never reused.
    for (const pdv of pdu.pdvs) if (pdv.isCommand) return { pdu, raw };
    let live = true;
    const release = () => {
      if (!live) return;
      live = false;
      if (poison !== undefined) pooled.fill(poison);
      const body = pooled.length - PDU_HEADER_LENGTH;
      const keep = Math.max(POOL_SPARES_MIN, Math.ceil(POOL_SPARE_BYTES / body)) + 1;
      if (pooled.length === this.#poolSize && this.#spares.length < keep) {
        this.#spares.push(pooled);
      }
    };
    return { pdu, raw, release };
  }

  /** Queues one received chunk (not copied); empty chunks are ignored. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#queued += chunk.length;
  }

  /**
   * Where the next read should land: the rest of the PDU under way when much
   * of it is missing (a read straight into its buffer, no copy), else the
   * staging buffer, reused from read to read, up to where the PDUs it may
   * bring would end if they had our maximum length (a bulk transfer's:
   * then none is left half in it, to be copied out). Call
   * {@link PduReader.filled} with what the read brought, then next() until
   * it returns null, before asking for room again.
   */
  room(): Uint8Array {
    const room = this.#roomFor();
    this.#room = room.length;
    return room;
  }

  #roomFor(): Uint8Array {
    if (this.#chunks.length === 0 && this.#pdu !== null && this.#headerFilled === 0) {
      const missing = this.#pduLength - this.#pduFilled;
      if (missing >= DIRECT_MIN) {
        if (this.#pduFilled === this.#pdu.length) {
          // A long PDU that grows with what arrives: twice what is here, at most its length.
          this.#grow(Math.min(this.#pduLength, 2 * this.#pdu.length));
        }
        this.#direct = true;
        return this.#pdu.subarray(this.#pduFilled);
      }
    }
    this.#direct = false;
    let stage = this.#stage;
    if (stage.lent > 0) {
      // PDUs lent from it are still held: this read goes to another stage of the same size.
      stage = this.#stage = this.#stageSpares.pop() ??
        { bytes: new Uint8Array(stage.bytes.length), lent: 0 };
    } else if (stage.bytes.length === 0) {
      stage = this.#stage = { bytes: new Uint8Array(STAGE_FIRST), lent: 0 };
    }
    const size = this.#poolSize;
    const bytes = stage.bytes;
    if (size === 0 || this.#headerFilled > 0) return bytes;
    // The rest of the PDU under way (less than DIRECT_MIN, else it was read directly), then
    // whole PDUs of our maximum length: the next read ends where one of them would.
    const rest = this.#pdu === null ? 0 : this.#pduLength - this.#pduFilled;
    const whole = Math.floor((bytes.length - rest) / size);
    return whole > 0 ? bytes.subarray(0, rest + whole * size) : bytes;
  }

  /** `n` bytes were read into the last {@link PduReader.room}. */
  filled(n: number): void {
    if (n <= 0) return;
    if (this.#direct) {
      this.#pduFilled += n;
      return;
    }
    const stage = this.#stage.bytes;
    const chunk = stage.subarray(0, n);
    this.#staged = chunk;
    this.#stagedFrom = this.#stage;
    this.push(chunk);
    // A read that filled its room shows the peer has more queued: a larger stage next time.
    if (n === this.#room && stage.length < this.#stageMax) {
      // Four-fold, or at once to the largest size when half of it is reached.
      const want = 8 * stage.length < this.#stageMax ? 4 * stage.length : this.#stageMax;
      const held = stage.length > STAGE_FIRST ? stage.length : 0;
      if (stageGrown - held + want <= STAGE_GROWTH_TOTAL) {
        stageGrown += want - held;
        // The old stage stays alive as long as #staged (or a chunk, or a lent PDU) views it.
        this.#stage = { bytes: new Uint8Array(want), lent: 0 };
        this.#stageSpares = [];
      }
    }
  }

  /** Lets go of the staging buffer (its share of the shared total); reading may start again. */
  dispose(): void {
    if (this.#stage.bytes.length > STAGE_FIRST) stageGrown -= this.#stage.bytes.length;
    this.#stage = { bytes: new Uint8Array(0), lent: 0 };
    this.#stageSpares = [];
  }

  /** Bytes received and not yet returned as part of a PDU. */
  get buffered(): number {
    return this.#queued + this.#headerFilled + this.#pduFilled;
  }

  /**
   * The next whole PDU, or null if more bytes are needed. Throws
   * PduDecodeError on malformed or over-limit input.
   */
  next(): ReadPdu | null {
    if (this.#error) throw this.#error;
    try {
      return this.#next();
    } catch (e) {
      if (e instanceof PduDecodeError) this.#error = e;
      throw e;
    }
  }

  #next(): ReadPdu | null {
    if (this.#pdu === null && this.#headerFilled === 0) {
      const whole = this.#wholeInHead();
      if (whole) return whole;
    }
    if (this.#pdu === null) {
      // Nothing more read (every read's last call, after its PDUs): no view made to find so.
      if (this.#queued === 0) return null;
      this.#headerFilled += this.#take(this.#header.subarray(this.#headerFilled));
      if (this.#headerFilled === 0) return null;
      if (pduTypeName(this.#header[0]) === undefined) {
        // Judged on the first byte alone if that is all there is.
        throw unrecognizedPduError(this.#header.subarray(0, this.#headerFilled));
      }
      if (this.#headerFilled < PDU_HEADER_LENGTH) return null;
      const length = new DataView(this.#header.buffer).getUint32(2);
      this.#checkLength(this.#header[0], length);
      this.#pduLength = PDU_HEADER_LENGTH + length;
      // A P-DATA-TF within our limit at its exact length; others twice what has arrived:
      // a PDU of which half is here is allocated once.
      this.#pduPooled = this.#pooled(this.#header[0], this.#pduLength);
      if (this.#pduPooled) this.#pdu = this.#pduPooled.subarray(0, this.#pduLength);
      else if (this.#header[0] === PDATA_TF && this.#pduLength <= SMALL_PDU_MAX) {
        // A short P-DATA-TF split over reads (DCMTK writes a PDU's first PDV header and its
        // value apart): in slab memory, as when it arrives whole, not an ArrayBuffer of its own.
        const at = SMALL_PDUS.take(this.#pduLength);
        this.#pdu = SMALL_PDUS.bytes.subarray(at, at + this.#pduLength);
      } else {
        this.#pdu = new Uint8Array(
          this.#header[0] === PDATA_TF && this.#pduLength <= EXACT_MAX
            ? this.#pduLength
            : Math.min(this.#pduLength, 2 * (PDU_HEADER_LENGTH + this.#queued)),
        );
      }
      this.#pdu.set(this.#header);
      this.#pduFilled = PDU_HEADER_LENGTH;
      this.#headerFilled = 0;
    }
    const wanted = Math.min(this.#pduLength, this.#pduFilled + this.#queued);
    if (wanted > this.#pdu.length) {
      // Doubling keeps the copies linear in the PDU's size.
      this.#grow(Math.min(this.#pduLength, Math.max(wanted, 2 * this.#pdu.length)));
    }
    this.#pduFilled += this.#take(this.#pdu.subarray(this.#pduFilled));
    if (this.#pduFilled < this.#pduLength) return null;
    const raw = this.#pdu;
    const pooled = this.#pduPooled;
    this.#pdu = null;
    this.#pduPooled = null;
    this.#pduFilled = 0;
    return this.#read(raw, pooled);
  }

  /** Moves the PDU under way into a buffer of `size` bytes. */
  #grow(size: number): void {
    const grown = new Uint8Array(size);
    grown.set(this.#pdu!.subarray(0, this.#pduFilled));
    this.#pdu = grown;
    this.#pduPooled = null;
  }

  /**
   * The next PDU as a view of the head chunk when the chunk holds all of it:
   * the common case for bulk P-DATA, which then costs no allocation and no
   * copy. Anything less (or a type or length to reject) takes the general path.
   */
  #wholeInHead(): ReadPdu | null {
    const chunk = this.#chunks.peek();
    const start = this.#head;
    if (chunk === undefined || chunk.length - start < PDU_HEADER_LENGTH) return null;
    if (pduTypeName(chunk[start]) === undefined) return null;
    const length = readU32(chunk, start + 2, false);
    const end = start + PDU_HEADER_LENGTH + length;
    if (end > chunk.length) return null;
    this.#checkLength(chunk[start], length);
    this.#head = end;
    this.#queued -= end - start;
    // The staging buffer is read into again: a PDU in it is copied out.
    const staged = chunk === this.#staged;
    if (end === chunk.length) {
      this.#chunks.shift();
      this.#head = 0;
      if (staged) this.#staged = null;
    }
    const view = chunk.subarray(start, end);
    if (!staged) return this.#read(view, null);
    return this.#lend(view, this.#stagedFrom) ?? this.#read(
      // A small PDU (a command, a response) goes to memory never written again: no
      // ArrayBuffer per message (see Slab).
      end - start > SMALL_PDU_MAX ? chunk.slice(start, end) : SMALL_PDUS.copy(view),
      null,
    );
  }

  /**
   * A P-DATA-TF of data PDVs whole in the staging buffer, at a length that
   * would take a pool buffer, handed on as a view of the stage (no copy):
   * the stage is not read into again until it is released (see room()).
   * Undefined for anything else, which is copied out: a command fragment may
   * be kept by the assembler, and a short PDU should not hold a whole stage.
   */
  #lend(raw: Uint8Array, stage: Stage): ReadPdu | undefined {
    const size = this.#poolSize;
    if (raw[0] !== PDATA_TF || size === 0 || raw.length > size || 2 * raw.length < size) {
      return undefined;
    }
    const pdvs = readPdvs(raw, PDU_HEADER_LENGTH, raw.length);
    if (pdvs === undefined) return undefined;
    for (let i = 0; i < pdvs.length; i++) if (pdvs[i].isCommand) return undefined;
    stage.lent++;
    let live = true;
    const release = () => {
      if (!live) return;
      live = false;
      if (poison !== undefined) raw.fill(poison);
      if (--stage.lent > 0 || stage === this.#stage) return;
      // A stage replaced while lent is kept for a later read once all of it is back.
      const current = this.#stage.bytes.length;
      const keep = Math.ceil(POOL_SPARE_BYTES / current);
      if (stage.bytes.length === current && this.#stageSpares.length < keep) {
        this.#stageSpares.push(stage);
      }
    };
    return { pdu: { type: "P-DATA-TF", pdvs }, raw, release };
  }

  /** Validates a PDU-length against the limit for its type, before any allocation. */
  #checkLength(type: number, length: number): void {
    // P-DATA-TF first: it is nearly every PDU (no name looked up, no closure made per PDU).
    if (type === PDATA_TF) {
      const max = this.#limits.maxPDataLength || UNLIMITED_PDATA_CAP;
      if (length > max) throw tooLong("P-DATA-TF", length, max, "our maximum length received");
      return;
    }
    const name = pduTypeName(type)!;
    const fixed = fixedPduLength(name);
    if (fixed !== undefined) {
      if (length !== fixed) {
        throw new PduDecodeError(
          `${name} PDU-length ${length}, must be ${fixed}`,
          ABORT_REASON.invalidPduParameterValue,
        );
      }
    } else if (length > this.#limits.maxAssociatePduLength) {
      throw tooLong(name, length, this.#limits.maxAssociatePduLength, "the A-ASSOCIATE limit");
    }
  }

  /** Moves queued bytes into `dest` (as many as fit); returns how many. */
  #take(dest: Uint8Array): number {
    let done = 0;
    while (done < dest.length && this.#chunks.length > 0) {
      const chunk = this.#chunks.peek()!;
      const n = Math.min(dest.length - done, chunk.length - this.#head);
      dest.set(chunk.subarray(this.#head, this.#head + n), done);
      done += n;
      this.#head += n;
      if (this.#head === chunk.length) {
        this.#chunks.shift();
        this.#head = 0;
        if (chunk === this.#staged) this.#staged = null;
      }
    }
    this.#queued -= done;
    return done;
  }
}
