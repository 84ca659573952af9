/**
 * P-DATA fragmentation and reassembly of DIMSE messages (PS3.7 8.1;
 * PS3.8 9.3.5, Annex E.2).
 *
 * A message is a command set, then (if its CommandDataSetType says so) a
 * data set. Each is cut into presentation data values (PDVs); the message
 * control header of a PDV says whether it carries command or data bytes and
 * whether it is the last fragment of them (PS3.8 E.2). All PDVs of one
 * message use the same presentation context (PS3.7 8.1).
 *
 * @module
 */

import { concatBytes } from "../util/bytes.ts";
import type { PDataTfPdu, Pdv } from "../pdu/types.ts";
import { type CommandSet, DEFAULT_MAX_COMMAND_SET_LENGTH, NO_DATASET } from "./command.ts";
import { DimseDecodeError } from "./errors.ts";
import { decodeMessage, type DimseMessage } from "./messages.ts";

/**
 * Bytes of a PDV item besides its data: the 4-byte item length, the
 * presentation context ID and the message control header (PS3.8 9.3.5.1).
 */
const PDV_OVERHEAD = 6;

/** The smallest peer maximum that still lets a PDV carry data: overhead + 2 even bytes. */
const MIN_PEER_MAX_PDU = PDV_OVERHEAD + 2;

/**
 * Data bytes per PDV when we send one PDV per P-DATA-TF.
 *
 * The peer's Maximum Length Received (PS3.8 D.1) bounds the PDU's variable
 * field, which holds our single PDV item: 6 bytes of item overhead plus the
 * data. The result is `peerMaxPdu - 6` rounded down to even (PDVs stay even,
 * PS3.8 9.3.5.1), so a PDU fills the peer's maximum exactly when it is even.
 * A peer maximum of 0 means "no limit" (PS3.8 D.1); `ourChunk` (rounded down
 * to even) is then used.
 *
 * @throws RangeError if `peerMaxPdu` is not an integer in 0..2^32-1, is
 * 1..7 (too small for any data), or `ourChunk` is not an integer >= 2.
 */
export function maxPdvDataLength(peerMaxPdu: number, ourChunk: number): number {
  if (!Number.isInteger(peerMaxPdu) || peerMaxPdu < 0 || peerMaxPdu > 0xffffffff) {
    throw new RangeError(`peer maximum PDU length ${peerMaxPdu} is not a uint32`);
  }
  if (!Number.isInteger(ourChunk) || ourChunk < 2) {
    throw new RangeError(`our PDV chunk size ${ourChunk} must be an integer of at least 2`);
  }
  if (peerMaxPdu === 0) return ourChunk - (ourChunk % 2);
  if (peerMaxPdu < MIN_PEER_MAX_PDU) {
    throw new RangeError(
      `peer maximum PDU length ${peerMaxPdu} is below ${MIN_PEER_MAX_PDU}: ` +
        `a PDV needs ${PDV_OVERHEAD} bytes of header and an even, non-empty data field`,
    );
  }
  const data = peerMaxPdu - PDV_OVERHEAD;
  return data - (data % 2);
}

/**
 * Cuts a command set or data set (or a piece of a streamed data set) into
 * P-DATA-TF PDUs of one PDV each, at most `pdvDataLength` data bytes per PDV
 * (PS3.8 9.3.5, E.2). PDV data are views into `bytes`, not copies.
 *
 * The last fragment is flagged last when `isLast` is true; an empty input
 * then still yields one empty PDV flagged last (an empty data set). A caller
 * streaming a large data set passes `isLast = false` for every piece but the
 * final one; pieces of a length multiple of `pdvDataLength` then fill every
 * PDU.
 *
 * @throws RangeError if `contextId` is not an odd integer 1..255
 * (PS3.8 9.3.2.2), `pdvDataLength` is not an even integer >= 2, or `bytes`
 * has an odd length (DIMSE encodings are always even, PS3.5 7.1, so every
 * PDV stays even).
 */
export function* fragmentMessage(
  contextId: number,
  isCommand: boolean,
  bytes: Uint8Array,
  pdvDataLength: number,
  isLast = true,
): Generator<PDataTfPdu> {
  yield* fragmentPdus(contextId, isCommand, bytes, pdvDataLength, isLast);
}

/**
 * {@link fragmentMessage}'s PDUs as a list, made at once: for a sender on
 * the hot path (every message is cut here, nearly always into one PDU),
 * without a generator and a result object per PDU.
 *
 * @throws RangeError as `fragmentMessage`
 */
export function fragmentPdus(
  contextId: number,
  isCommand: boolean,
  bytes: Uint8Array,
  pdvDataLength: number,
  isLast = true,
): PDataTfPdu[] {
  if (!Number.isInteger(contextId) || contextId < 1 || contextId > 255 || contextId % 2 === 0) {
    throw new RangeError(`presentation context ID ${contextId} is not an odd number 1..255`);
  }
  if (!Number.isInteger(pdvDataLength) || pdvDataLength < 2 || pdvDataLength % 2 !== 0) {
    throw new RangeError(`PDV data length ${pdvDataLength} is not an even integer >= 2`);
  }
  if (bytes.length % 2 !== 0) {
    throw new RangeError(`odd ${isCommand ? "command" : "data"} length ${bytes.length}`);
  }
  if (bytes.length <= pdvDataLength && (bytes.length > 0 || isLast)) {
    // One PDU (nearly every command set): a list of exactly one, not an empty one grown by a
    // push (its first push allocates room for 17).
    return [{ type: "P-DATA-TF", pdvs: [{ contextId, isCommand, isLast, data: bytes }] }];
  }
  const pdus: PDataTfPdu[] = [];
  if (bytes.length === 0) {
    if (isLast) {
      pdus.push({ type: "P-DATA-TF", pdvs: [{ contextId, isCommand, isLast, data: bytes }] });
    }
    return pdus;
  }
  for (let offset = 0; offset < bytes.length; offset += pdvDataLength) {
    const end = Math.min(offset + pdvDataLength, bytes.length);
    pdus.push({
      type: "P-DATA-TF",
      pdvs: [{
        contextId,
        isCommand,
        isLast: isLast && end === bytes.length,
        // The whole of `bytes` as it is when it fits one PDV: no view made of it.
        data: offset === 0 && end === bytes.length ? bytes : bytes.subarray(offset, end),
      }],
    });
  }
  return pdus;
}

/** Limits of a {@linkcode MessageAssembler}. */
export interface AssemblerLimits {
  /** Largest command set accepted, in bytes (default 64 KiB). */
  maxCommandSetLength: number;
}

/**
 * A complete command set. `message` is its typed form, or `error` says why it
 * has none (an unknown CommandField, a missing mandatory element...) so that
 * the caller can answer with a failure status: the assembler still tracks
 * the data set the command set announced.
 */
export type CommandEvent =
  & {
    /** Event discriminant. */
    kind: "command";
    /** Presentation context of the command's PDVs. */
    contextId: number;
    /** The decoded command set. */
    commandSet: CommandSet;
    /** Whether data PDVs follow (CommandDataSetType other than 0x0101, PS3.7 E.1). */
    datasetFollows: boolean;
  }
  & ({ message: DimseMessage; error?: undefined } | {
    message?: undefined;
    error: DimseDecodeError;
  });

/**
 * One data PDV's bytes, passed on as they arrive (never accumulated). The
 * chunk is a view into the received PDU.
 */
export interface DataEvent {
  /** Event discriminant. */
  kind: "data";
  /** Presentation context of the PDV (the same as its command's). */
  contextId: number;
  /** The PDV's data bytes. */
  chunk: Uint8Array;
  /** Last fragment of the data set (PS3.8 E.2 bit 1). */
  last: boolean;
}

/** What {@linkcode MessageAssembler.push} reports. */
export type AssemblyEvent = CommandEvent | DataEvent;

/** Throws a `sequence` error. */
function sequenceError(message: string): never {
  throw new DimseDecodeError("sequence", message);
}

/**
 * Reassembles DIMSE messages from PDVs (PS3.7 8.1, PS3.8 E.2): command
 * fragments are gathered (up to `maxCommandSetLength`) and decoded when the
 * last one arrives; data fragments are streamed out one event per PDV.
 *
 * Sequence violations throw a {@linkcode DimseDecodeError} `sequence`: data
 * before any command, data while a command set is incomplete, data when the
 * command announced none, a second command while a data set is incomplete,
 * a fragment on another presentation context than its message's, a command
 * set over the limit. Command sets that do not decode throw the command
 * codec's error. After a throw the association should be aborted; the
 * assembler is not meant to be reused.
 */
export class MessageAssembler {
  readonly #maxCommandSetLength: number;
  // Where the assembler is in the message sequence of PS3.7 8.1, in fields of its own rather
  // than a state object per phase: every message passes through here on both sides, and the
  // objects (a state per command and per data set, a fragment list, the event spread from a
  // base) were ~470 B of an echo's ~7.1 KB on the SCU (sampled heap profile).
  #phase: "idle" | "command" | "data" = "idle";
  /** In "idle": the last command said no data set follows (names the fault of a data PDV). */
  #afterNoDataset = false;
  /** The presentation context of the message under way ("command", "data"). */
  #contextId = 0;
  /** The command set's first fragment ("command"); nearly every command set has no other. */
  #first: Uint8Array | undefined;
  /** The fragments after the first, when there are any. */
  #more: Uint8Array[] | undefined;
  /** Bytes of the command set gathered so far. */
  #length = 0;

  /**
   * Creates an assembler waiting for a command.
   *
   * @param limits `maxCommandSetLength` defaults to 64 KiB.
   * @throws RangeError if the limit could not hold even a CommandGroupLength.
   */
  constructor(limits: Partial<AssemblerLimits> = {}) {
    const max = limits.maxCommandSetLength ?? DEFAULT_MAX_COMMAND_SET_LENGTH;
    if (!Number.isInteger(max) || max < 12) {
      throw new RangeError(`maxCommandSetLength ${max} cannot hold a CommandGroupLength`);
    }
    this.#maxCommandSetLength = max;
  }

  /** True between messages: no command set or data set is partially received. */
  get idle(): boolean {
    return this.#phase === "idle";
  }

  /**
   * Takes the next PDV of the association, in arrival order.
   *
   * @returns the events it completes: at most one command event or one data event.
   * @throws DimseDecodeError on a sequence violation or an undecodable command set.
   */
  push(pdv: Pdv): AssemblyEvent[] {
    const event = this.take(pdv);
    return event === undefined ? [] : [event];
  }

  /**
   * {@link push} for a reader on the hot path: the event the PDV completes
   * (a PDV completes at most one), or undefined; no array per PDV.
   *
   * @throws DimseDecodeError as `push`.
   */
  take(pdv: Pdv): AssemblyEvent | undefined {
    switch (this.#phase) {
      case "idle":
        if (!pdv.isCommand) {
          sequenceError(
            this.#afterNoDataset
              ? `data PDV on context ${pdv.contextId} but the command said no data set follows`
              : `data PDV on context ${pdv.contextId} before any command`,
          );
        }
        this.#phase = "command";
        this.#contextId = pdv.contextId;
        this.#length = 0;
        return this.#pushCommand(pdv);
      case "command":
        if (!pdv.isCommand) {
          sequenceError(
            `data PDV on context ${pdv.contextId} before the command set was complete`,
          );
        }
        if (pdv.contextId !== this.#contextId) {
          sequenceError(
            `command fragment on context ${pdv.contextId}, ` +
              `previous fragments on context ${this.#contextId}`,
          );
        }
        return this.#pushCommand(pdv);
      case "data":
        if (pdv.isCommand) {
          sequenceError(
            `command PDV on context ${pdv.contextId} while the data set on context ` +
              `${this.#contextId} is incomplete`,
          );
        }
        if (pdv.contextId !== this.#contextId) {
          sequenceError(
            `data PDV on context ${pdv.contextId}, its command was on context ${this.#contextId}`,
          );
        }
        if (pdv.isLast) {
          this.#phase = "idle";
          this.#afterNoDataset = false;
        }
        return { kind: "data", contextId: pdv.contextId, chunk: pdv.data, last: pdv.isLast };
    }
  }

  /** Adds a command fragment; decodes the command set on the last one. */
  #pushCommand(pdv: Pdv): AssemblyEvent | undefined {
    const length = this.#length + pdv.data.length;
    if (length > this.#maxCommandSetLength) {
      sequenceError(`command set exceeds ${this.#maxCommandSetLength} bytes (${length} so far)`);
    }
    this.#length = length;
    if (this.#first === undefined) this.#first = pdv.data;
    else (this.#more ??= []).push(pdv.data);
    if (!pdv.isLast) return undefined;

    const more = this.#more;
    const bytes = more === undefined ? this.#first : concatBytes([this.#first, ...more]);
    this.#first = this.#more = undefined;
    const decoded = decodeMessage(bytes, { maxLength: this.#maxCommandSetLength });
    const commandSet = decoded.commandSet;
    const dataSetType = commandSet.CommandDataSetType;
    if (dataSetType === undefined) {
      throw new DimseDecodeError(
        "missing-element",
        "command set without (0000,0800) CommandDataSetType: cannot tell whether data follows",
        { tag: 0x00000800, commandField: commandSet.CommandField, messageId: commandSet.MessageID },
      );
    }
    const datasetFollows = dataSetType !== NO_DATASET;
    this.#phase = datasetFollows ? "data" : "idle";
    this.#afterNoDataset = !datasetFollows;
    const contextId = this.#contextId;
    // One object, made whole (a literal of each shape, no base spread into it).
    return decoded.error === undefined
      ? { kind: "command", contextId, commandSet, datasetFollows, message: decoded.message }
      : { kind: "command", contextId, commandSet, datasetFollows, error: decoded.error };
  }
}
