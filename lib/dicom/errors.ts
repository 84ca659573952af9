/**
 * Errors of the data set codec (PS3.5) and of Part 10 file reading (PS3.10).
 *
 * @module
 */

/**
 * Machine-readable reason of a {@linkcode DicomParseError}:
 *
 * - `truncated`: the data set ends inside an element, item or sequence.
 * - `overrun`: a declared length runs past the end of its enclosing item or
 *   sequence (a lying length, PS3.5 7.5.1).
 * - `too-long`: a value length exceeds the configured limit.
 * - `too-deep`: sequences nest deeper than the configured limit.
 * - `bad-vr`: a VR that cannot be used where it is found (e.g. undefined
 *   length on a VR other than SQ, UN, OB, OW; PS3.5 7.1.2).
 * - `bad-item`: a tag other than an item or delimitation where one must be
 *   (PS3.5 7.5, A.4), or a delimitation item where none may be.
 * - `deflate`: the deflated data set (PS3.5 A.5) is corrupt or ends early.
 * - `unsupported`: input the codec cannot encode or decode (an unknown or
 *   encapsulated transfer syntax asked to be transcoded, encapsulated pixel
 *   data in a syntax other than explicit VR little endian).
 */
export type DicomParseErrorCode =
  | "truncated"
  | "overrun"
  | "too-long"
  | "too-deep"
  | "bad-vr"
  | "bad-item"
  | "deflate"
  | "unsupported";

/** Malformed or unsupported data set encoding. */
export class DicomParseError extends Error {
  /** Short machine code of the failure. */
  readonly code: DicomParseErrorCode;
  /** Byte offset in the (inflated) data set where the fault was seen, if known. */
  readonly offset?: number;

  /**
   * Creates the error.
   *
   * @param code machine code of the failure
   * @param message human-readable description
   * @param offset byte offset in the data set, when known
   */
  constructor(code: DicomParseErrorCode, message: string, offset?: number) {
    super(offset === undefined ? message : `${message} (at data set offset ${offset})`);
    this.name = "DicomParseError";
    this.code = code;
    this.offset = offset;
  }
}

/**
 * Failures of a file that another reading format would avoid (see
 * `InputFormat`), named so a caller can say which format to ask for:
 * - `no-dicm-prefix`: a file was required (PS3.10 7.1) but has no `DICM`
 *   prefix after its preamble;
 * - `meta-in-dataset`: a bare data set was required but the file has file
 *   meta information.
 */
export type DicomFileFormatMismatch = "no-dicm-prefix" | "meta-in-dataset";

/**
 * A file that cannot be read as DICOM: no `DICM` prefix when one is
 * required, truncated or lying file meta information (PS3.10 7.1), a
 * transfer syntax or SOP UIDs missing, or an I/O failure.
 */
export class DicomFileError extends Error {
  /** The file concerned. */
  readonly path: string;
  /** Set when the file is not in the format it was to be read as. */
  readonly formatMismatch?: DicomFileFormatMismatch;

  /**
   * Creates the error; the message is prefixed with the path.
   *
   * @param path the file concerned
   * @param message what is wrong with it
   * @param options the underlying cause, if any, and the format mismatch
   */
  constructor(
    path: string,
    message: string,
    options?: ErrorOptions & { formatMismatch?: DicomFileFormatMismatch },
  ) {
    super(`${path}: ${message}`, options);
    this.name = "DicomFileError";
    this.path = path;
    if (options?.formatMismatch) this.formatMismatch = options.formatMismatch;
  }
}
