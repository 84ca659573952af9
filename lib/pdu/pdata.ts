/**
 * P-DATA-TF PDU body (PS3.8 9.3.5): bytes 7-xxx, one or more presentation
 * data value items.
 *
 * @module
 */

import type { Field } from "./bytes.ts";
import { PduDecodeError } from "./errors.ts";
import { readU32 } from "../util/bytes.ts";
import { ABORT_REASON, type PDataTfPdu, type Pdv } from "./types.ts";

const INVALID = ABORT_REASON.invalidPduParameterValue;

/** Message control header bits (PS3.8 Annex E.2); bits 2-7 are reserved, written 0, not tested. */
const COMMAND_BIT = 0x01;
const LAST_BIT = 0x02;

/**
 * One PDV item (PS3.8 9.3.5.1): 1-4 item-length (counting from byte 5),
 * 5 presentation-context-ID, 6-xxx presentation-data-value, whose first
 * byte is the message control header (Annex E.2). The item-length therefore
 * is at least 2; the data is returned as a view of the PDU's bytes.
 */
const pdvItem: Field<Pdv> = {
  read(r) {
    const length = r.u32();
    if (length < 2) {
      throw new PduDecodeError(`PDV item length ${length} is below the minimum of 2`, INVALID);
    }
    const item = r.sub(length, "PDV item");
    const contextId = item.u8();
    const control = item.u8();
    return {
      contextId,
      isCommand: (control & COMMAND_BIT) !== 0,
      isLast: (control & LAST_BIT) !== 0,
      data: item.rest(),
    };
  },
  write(w, v) {
    w.lengthPrefixed(4, () => {
      w.u8(v.contextId);
      w.u8((v.isCommand ? COMMAND_BIT : 0) | (v.isLast ? LAST_BIT : 0));
      w.bytes(v.data);
    });
  },
};

/**
 * The PDV items of a P-DATA-TF body, `bytes[start, end)`, read in one pass
 * (PS3.8 9.3.5.1: item-length, presentation-context-ID, then the message
 * control header of Annex E.2 and the fragment, a view of `bytes`): nearly
 * every PDU received is one, and this makes no cursor per PDU or item.
 * Undefined when the body is malformed (no item, an item length below 2 or
 * past the end): {@link pDataTfBody} then names the fault.
 */
export function readPdvs(bytes: Uint8Array, start: number, end: number): Pdv[] | undefined {
  if (start >= end) return undefined;
  // The list is made once the items are known: a PDU of one PDV (every command, nearly every
  // data PDU) gets a list of exactly one, not an empty one grown by a push (room for 17).
  let first: Pdv | undefined;
  let more: Pdv[] | undefined;
  for (let at = start; at < end;) {
    if (end - at < 6) return undefined;
    const length = readU32(bytes, at, false);
    const item = at + 4;
    if (length < 2 || length > end - item) return undefined;
    const control = bytes[item + 1];
    const pdv: Pdv = {
      contextId: bytes[item],
      isCommand: (control & COMMAND_BIT) !== 0,
      isLast: (control & LAST_BIT) !== 0,
      data: bytes.subarray(item + 2, item + length),
    };
    if (first === undefined) first = pdv;
    else if (more === undefined) more = [first, pdv];
    else more.push(pdv);
    at = item + length;
  }
  return more ?? [first!];
}

/** P-DATA-TF body; an empty one is invalid (9.3.5: "one or more" PDV items). */
export const pDataTfBody: Field<PDataTfPdu> = {
  read(r) {
    const whole = readPdvs(r.bytes, r.end - r.remaining, r.end);
    if (whole) {
      r.skip(r.remaining);
      return { type: "P-DATA-TF", pdvs: whole };
    }
    // Malformed: read item by item up to the fault, which names itself.
    if (r.remaining === 0) throw new PduDecodeError("P-DATA-TF without PDV items", INVALID);
    const pdvs: Pdv[] = [];
    while (r.remaining > 0) pdvs.push(pdvItem.read(r));
    return { type: "P-DATA-TF", pdvs };
  },
  write(w, v) {
    for (const pdv of v.pdvs) pdvItem.write(w, pdv);
  },
};

/** Encoded size of a P-DATA-TF PDU: the 6-byte header, then per PDV 6 bytes of item header and its data (PS3.8 9.3.5). */
export function pDataTfPduLength(pdu: PDataTfPdu): number {
  return 6 + 6 * pdu.pdvs.length + pDataTfDataLength(pdu);
}

/** The data bytes a P-DATA-TF's PDVs carry, without their item headers. */
export function pDataTfDataLength(pdu: PDataTfPdu): number {
  let n = 0;
  const pdvs = pdu.pdvs;
  // Indexed, not for-of: an array iterator (and, until optimised, a result per step) per message.
  for (let i = 0; i < pdvs.length; i++) n += pdvs[i].data.length;
  return n;
}

/**
 * Bytes before the data of a P-DATA-TF carrying one PDV: the PDU header
 * (PDU-type, reserved, PDU-length; PS3.8 9.3.1) and the PDV item's
 * (item-length, presentation context ID, message control header; 9.3.5.1).
 */
export const PDATA_OVERHEAD = 12;

/** The memory of every frame, by its ArrayBuffer (a frame owns its buffer). */
const FRAMES = new WeakSet<ArrayBufferLike>();

/**
 * One P-DATA-TF PDU of one PDV laid out in one buffer: room for the headers,
 * then room for `capacity` data bytes. Data placed in {@link PDataFrame.data}
 * (a file read straight into it, say) goes out without being copied:
 * {@linkcode encodePdu} writes the headers in front of it and returns the
 * frame's own bytes. The frame may be filled again once the PDU sent from it
 * has been written.
 */
export class PDataFrame {
  /** The whole frame: {@link PDATA_OVERHEAD} header bytes, then the data room. */
  readonly bytes: Uint8Array;
  /** Where the data goes: the `capacity` bytes behind the headers. */
  readonly data: Uint8Array;

  /**
   * A frame for up to `capacity` data bytes (a PDV's worth, e.g. what
   * maxPdvDataLength gives for the peer's maximum).
   *
   * @throws RangeError if `capacity` is not an integer that fits a PDU-length
   */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0 || capacity > 0xffffffff - 6) {
      throw new RangeError(`P-DATA frame capacity ${capacity} is not a length a PDV can have`);
    }
    this.bytes = new Uint8Array(PDATA_OVERHEAD + capacity);
    this.data = this.bytes.subarray(PDATA_OVERHEAD);
    FRAMES.add(this.bytes.buffer);
  }

  /**
   * The PDU that carries the first `length` bytes of {@link PDataFrame.data}
   * (all of it by default) as one PDV; its data is a view of the frame.
   *
   * @throws RangeError if `length` is more than the frame holds
   */
  pdu(
    contextId: number,
    isCommand: boolean,
    isLast: boolean,
    length = this.data.length,
  ): PDataTfPdu {
    if (!Number.isInteger(length) || length < 0 || length > this.data.length) {
      throw new RangeError(`${length} data bytes in a frame of ${this.data.length}`);
    }
    return {
      type: "P-DATA-TF",
      pdvs: [{ contextId, isCommand, isLast, data: this.data.subarray(0, length) }],
    };
  }
}

/**
 * Where `pdu` can be encoded in place: the frame's bytes up to the end of
 * its data, when it is one PDV whose data starts right behind a frame's
 * headers or is a slot of a {@link PDataRun}; undefined for any other PDU,
 * whose data is then copied as usual (bytes in front of a PDV that is not
 * in a frame are never written).
 */
export function frameOf(pdu: PDataTfPdu): Uint8Array | undefined {
  if (pdu.pdvs.length !== 1) return undefined;
  const { data } = pdu.pdvs[0];
  const inFrame = data.byteOffset === PDATA_OVERHEAD && FRAMES.has(data.buffer);
  if (!inFrame && !RUN_SLOTS.has(data)) return undefined;
  return new Uint8Array(
    data.buffer,
    data.byteOffset - PDATA_OVERHEAD,
    PDATA_OVERHEAD + data.length,
  );
}

/**
 * Free bytes in front of the PDU header room of `data` when it is a slot of
 * a {@link PDataRun} (the run's front room for its first slot, 0 for the
 * others); undefined for any other view. The upper layer moves a command
 * PDU queued just before the run's first PDU there, so that command and
 * data set leave in one write without the data being copied.
 */
export function runRoom(data: Uint8Array): number | undefined {
  return RUN_SLOTS.get(data);
}

/** Each slot of a run: the free bytes in front of its header room (see runRoom). */
const RUN_SLOTS = new WeakMap<Uint8Array, number>();

/**
 * Room a {@link PDataRun} keeps in front of its first PDU: for the command
 * PDU that goes before the data set (PS3.7 6.3.1), which the upper layer
 * moves there instead of copying the data set behind it. A C-STORE-RQ's
 * command set is a few hundred bytes.
 */
export const RUN_FRONT = 1024;

/**
 * The P-DATA-TF PDUs of one data set of one PDV each (PS3.8 9.3.5), laid
 * out back to back in memory the caller gives: {@link RUN_FRONT} bytes of
 * room, then per PDV the {@link PDATA_OVERHEAD} header bytes and its data
 * slot. A file read straight into the slots ({@link PDataRun.slots}) goes
 * to the network from there: the upper layer writes the headers in front of
 * each slot and sends the run as one write, the data not copied. The memory
 * may be changed again only once the PDUs sent from it are written.
 */
export class PDataRun {
  /** Data set bytes in the run. */
  readonly length: number;
  /** Data bytes per PDV (the last one may hold fewer). */
  readonly pdvLength: number;
  /** The data slots, in order: views of the memory, each a PDV's data. */
  readonly slots: readonly Uint8Array[];

  /**
   * Lays out `length` data bytes in PDVs of `pdvLength` in `memory`.
   *
   * @throws RangeError if `pdvLength` is not an even integer of at least 2,
   * `length` is no positive integer, or `memory` is shorter than {@link PDataRun.size}
   */
  constructor(memory: Uint8Array, pdvLength: number, length: number) {
    if (!Number.isInteger(pdvLength) || pdvLength < 2 || pdvLength % 2 !== 0) {
      throw new RangeError(`PDV data length ${pdvLength} is not an even integer >= 2`);
    }
    if (!Number.isInteger(length) || length < 1) {
      throw new RangeError(`a run of ${length} data bytes`);
    }
    const size = PDataRun.size(pdvLength, length);
    if (memory.length < size) {
      throw new RangeError(
        `a run of ${length} data bytes needs ${size} bytes, not ${memory.length}`,
      );
    }
    this.length = length;
    this.pdvLength = pdvLength;
    const slots: Uint8Array[] = [];
    let at = RUN_FRONT + PDATA_OVERHEAD;
    for (let done = 0; done < length; done += pdvLength) {
      const slot = memory.subarray(at, at + Math.min(pdvLength, length - done));
      RUN_SLOTS.set(slot, done === 0 ? RUN_FRONT : 0);
      slots.push(slot);
      at += slot.length + PDATA_OVERHEAD;
    }
    this.slots = slots;
  }

  /** Bytes of memory a run of `length` data bytes in PDVs of `pdvLength` takes. */
  static size(pdvLength: number, length: number): number {
    return RUN_FRONT + length + PDATA_OVERHEAD * Math.ceil(length / pdvLength);
  }

  /** The PDUs {@link PDataRun.pdus} made last, and for which context and end. */
  #pdus: readonly PDataTfPdu[] | undefined;
  #pdusContext = -1;
  #pdusEnd = false;

  /**
   * The PDUs of the run on context `contextId`; its last PDV flagged last
   * (PS3.8 E.2) when `ends` (the run is a data set's last or only one).
   * Asked again with the same arguments (a run whose memory is refilled and
   * sent again), it gives the same PDUs, not made anew: not to be changed.
   */
  pdus(contextId: number, ends = true): readonly PDataTfPdu[] {
    if (this.#pdus && this.#pdusContext === contextId && this.#pdusEnd === ends) {
      return this.#pdus;
    }
    const last = ends ? this.slots.length - 1 : -1;
    this.#pdusContext = contextId;
    this.#pdusEnd = ends;
    return this.#pdus = this.slots.map((data, i) => ({
      type: "P-DATA-TF",
      pdvs: [{ contextId, isCommand: false, isLast: i === last, data }],
    }));
  }
}

/**
 * A data set too long for one {@link PDataRun} (a file of a gigabyte, which
 * must not be read whole), sent as a stream of runs in order: each run is
 * read into reused memory and goes out from there, not copied. `length` is
 * the whole data set's, known up front (a file's, as inspected), so the last
 * PDV of the run that completes it is flagged last without holding a run
 * back. The sender asks for the next run only once every run before the one
 * it was given last has been written: a producer may refill a run's memory
 * when it is asked for the run after next (two buffers in turn suffice).
 */
export class PDataRuns {
  /** The data set's length, as given. */
  readonly length: number;
  /** The longest PDV of any of its runs, as given. */
  readonly pdvLength: number;
  /** The runs, in order. */
  readonly runs: AsyncIterable<PDataRun>;

  /**
   * A data set of `length` bytes in `runs`.
   *
   * @param length data set bytes in all: the runs must bring exactly these
   * @param pdvLength the longest PDV of any run (the peer must take it)
   * @param runs the runs, in order
   * @throws RangeError if `length` is no positive integer or `pdvLength` no even integer >= 2
   */
  constructor(length: number, pdvLength: number, runs: AsyncIterable<PDataRun>) {
    if (!Number.isInteger(length) || length < 1) {
      throw new RangeError(`a data set of ${length} bytes in runs`);
    }
    if (!Number.isInteger(pdvLength) || pdvLength < 2 || pdvLength % 2 !== 0) {
      throw new RangeError(`PDV data length ${pdvLength} is not an even integer >= 2`);
    }
    this.length = length;
    this.pdvLength = pdvLength;
    this.runs = runs;
  }
}

/**
 * Encodes a P-DATA-TF straight into its buffer (PS3.8 9.3.1, 9.3.5): the
 * same bytes as the field tables write, without a writer, closures or a
 * length patched per item; every message and every data PDU goes through
 * here. Into `into` from its start when given, else into the frame the PDU
 * lies in (its data not copied), else into a new buffer. Undefined when
 * `into` is too small: the caller's general encoder then decides.
 *
 * @throws RangeError as the field tables would: a presentation context ID
 * that is no 8-bit value, a length that is no 32-bit one
 */
export function encodePDataTf(pdu: PDataTfPdu, into?: Uint8Array): Uint8Array | undefined {
  const length = pDataTfPduLength(pdu);
  if (into && into.length < length) {
    checkPDataTf(pdu, length);
    return undefined;
  }
  const out = into ?? frameOf(pdu) ?? new Uint8Array(length);
  writePDataTf(pdu, out, 0, length);
  return length === out.length ? out : out.subarray(0, length);
}

/**
 * Writes a P-DATA-TF of `length` bytes (its {@linkcode pDataTfPduLength})
 * into `out` at `at`, which must have room for it: what encodePDataTf does,
 * for a caller that gathers PDUs back to back in one buffer and needs no
 * view of each (the upper layer's write batch: one per data PDU less).
 *
 * @throws RangeError as {@linkcode encodePDataTf}
 */
export function writePDataTf(pdu: PDataTfPdu, out: Uint8Array, at: number, length: number): void {
  checkPDataTf(pdu, length);
  out[at] = 0x04; // PDU-type P-DATA-TF
  out[at + 1] = 0;
  setUint32(out, at + 2, length - 6);
  at += 6;
  const pdvs = pdu.pdvs;
  for (let i = 0; i < pdvs.length; i++) {
    const pdv = pdvs[i];
    const data = pdv.data;
    setUint32(out, at, 2 + data.length);
    out[at + 4] = pdv.contextId;
    out[at + 5] = (pdv.isCommand ? COMMAND_BIT : 0) | (pdv.isLast ? LAST_BIT : 0);
    at += 6;
    // Data already where it goes (a frame's) is not copied onto itself.
    if (data.buffer !== out.buffer || data.byteOffset !== out.byteOffset + at) out.set(data, at);
    at += data.length;
  }
}

/** The checks the field tables make: 8-bit context IDs, a PDU-length of 32 bits. */
function checkPDataTf(pdu: PDataTfPdu, length: number): void {
  const pdvs = pdu.pdvs;
  for (let i = 0; i < pdvs.length; i++) checkUint8(pdvs[i].contextId);
  if (length - 6 > 0xffffffff) {
    throw new RangeError(`32-bit length: ${length - 6} is not an integer in 0..${0xffffffff}`);
  }
}

/** A 32-bit big-endian length (PS3.8 9.3.1, 9.3.5.1), without a DataView per PDU. */
function setUint32(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}

/** The check of an 8-bit field, worded as the field tables word it. */
function checkUint8(v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) {
    throw new RangeError(`8-bit field: ${v} is not an integer in 0..255`);
  }
}
