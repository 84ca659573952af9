/**
 * The upper-layer PDUs (PS3.8 9.3): types, the declarative codecs, the incremental reader, P-DATA frames and DCMTK-style dumps.
 *
 * ```ts
 * import { decodePdu, encodePdu } from "@dimse-deno/dimse/pdu";
 * const bytes = encodePdu({ type: "A-RELEASE-RQ" });
 * console.log(decodePdu(bytes).type); // "A-RELEASE-RQ"
 * ```
 *
 * @module
 */
export type * from "./types.ts";
export { ABORT_REASON, DICOM_APPLICATION_CONTEXT, ITEM_TYPE, PDU_TYPE } from "./types.ts";
export { decodePdu, encodePdu } from "./codec.ts";
export { PDATA_OVERHEAD, PDataFrame, PDataRun, PDataRuns, RUN_FRONT } from "./pdata.ts";
export { PduDecodeError } from "./errors.ts";
export { DEFAULT_PDU_LIMITS, type PduLimits, PduReader, type ReadPdu } from "./reader.ts";
export { type AssociateDumpParams, formatAssociateDump, formatPduHeaderAndHex } from "./dump.ts";
