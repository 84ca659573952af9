/**
 * The error raised for malformed DIMSE input (PS3.7 6.3, 9.3, Annex E;
 * PS3.8 9.3.5, Annex E.2).
 *
 * @module
 */

/**
 * Machine-readable reason of a {@linkcode DimseDecodeError}:
 *
 * - `truncated`: an element header or value runs past the end of the command set.
 * - `tag-order`: a tag outside group 0000, or tags not strictly ascending
 *   (PS3.5 7.1: elements appear in increasing tag order, at most once).
 * - `unknown-element`: a group 0000 tag that PS3.7 Annex E does not define.
 * - `bad-vr-length`: a value length that its VR forbids (a US of 3 bytes, an
 *   AT list of 6 bytes, a UI longer than 64 bytes...).
 * - `group-length`: (0000,0000) CommandGroupLength missing, or not equal to
 *   the number of bytes that follow it.
 * - `too-long`: the command set exceeds the configured limit.
 * - `missing-element`: a mandatory element of the message type is absent or empty.
 * - `bad-value`: an element has a value the message type does not allow.
 * - `unknown-command`: the CommandField is none of the supported messages.
 * - `sequence`: PDVs arrive in an order PS3.7 8.1 / PS3.8 Annex E.2 forbid.
 */
export type DimseDecodeErrorCode =
  | "truncated"
  | "tag-order"
  | "unknown-element"
  | "bad-vr-length"
  | "group-length"
  | "too-long"
  | "missing-element"
  | "bad-value"
  | "unknown-command"
  | "sequence";

/** Optional facts attached to a {@linkcode DimseDecodeError}. */
export interface DimseDecodeErrorDetails {
  /** The element concerned, as `(group << 16) | element`. */
  tag?: number;
  /** The raw (0000,0100) CommandField, when one was read. */
  commandField?: number;
  /**
   * The raw (0000,0110) MessageID, when one was read, so that a caller can
   * answer an unsupported request with a failure status (PS3.7 C.5).
   */
  messageId?: number;
}

/** Malformed command set, message or PDV sequence. */
export class DimseDecodeError extends Error {
  /** Short machine code of the failure. */
  readonly code: DimseDecodeErrorCode;
  /** The element concerned, as `(group << 16) | element`, if any. */
  readonly tag?: number;
  /** The raw CommandField, if one was read. */
  readonly commandField?: number;
  /** The raw MessageID, if one was read. */
  readonly messageId?: number;

  /**
   * Creates the error.
   *
   * @param code machine code of the failure
   * @param message human-readable description
   * @param details element, command field and message id, when known
   */
  constructor(code: DimseDecodeErrorCode, message: string, details: DimseDecodeErrorDetails = {}) {
    super(message);
    this.name = "DimseDecodeError";
    this.code = code;
    this.tag = details.tag;
    this.commandField = details.commandField;
    this.messageId = details.messageId;
  }
}

/** Formats a tag as `(gggg,eeee)` with upper-case hex digits. */
export function formatTag(tag: number): string {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, "0");
  return `(${hex(tag >>> 16)},${hex(tag & 0xffff)})`;
}
