/**
 * The one error type the PDU decoders throw.
 *
 * @module
 */

/**
 * Malformed or over-limit input. `abortReason` is an ABORT_REASON value
 * (types.ts, PS3.8 Table 9-26): the A-ABORT reason the upper layer should
 * send before closing the connection.
 */
export class PduDecodeError extends Error {
  /**
   * Creates the error.
   *
   * @param message human-readable description of the fault
   * @param abortReason the ABORT_REASON value to send in the A-ABORT
   */
  constructor(message: string, readonly abortReason: number) {
    super(message);
    this.name = "PduDecodeError";
  }
}
