/**
 * DIMSE status codes (PS3.7 Annex C; C-STORE codes of PS3.4 Table B.2-1;
 * Query/Retrieve codes of PS3.4 C.4.1.1.4, C.4.2.1.5, C.4.3.1.4).
 *
 * Wording follows DCMTK 3.6.7: {@linkcode statusMeaning} that of its DIMSE
 * dump (dcmnet `dimdump.cc`), {@linkcode statusLogText} that of the log
 * lines of its Q/R tools (dcmnet `diutil.cc`), so that our output reads like
 * DCMTK's, which users' scripts parse. Both tables were read off DCMTK
 * 3.6.7's findscu, movescu and getscu answering every code of
 * tests/fixtures/dcmtk367_qr_statuses.json.
 *
 * @module
 */

/** The status classes of PS3.7 Annex C. */
export type StatusCategory = "success" | "warning" | "failure" | "cancel" | "pending";

/** The DIMSE service a status answers; its codes mean different things per service. */
export type StatusService = "C-ECHO" | "C-STORE" | "C-FIND" | "C-GET" | "C-MOVE";

/** The Query/Retrieve services (PS3.4 Annex C). */
export type QueryRetrieveService = "C-FIND" | "C-GET" | "C-MOVE";

/**
 * The class of a status code (PS3.7 Annex C):
 * success 0x0000 (C.1); pending 0xFF00, 0xFF01 (C.2); cancel 0xFE00 (C.3);
 * warning 0x0001, 0xBxxx, 0x0107, 0x0116 (C.4); failure 0xAxxx, 0xCxxx and
 * the 0x01xx / 0x02xx general codes (C.5).
 *
 * A code outside every class is reported as `failure`: a peer's unknown
 * answer never counts as success.
 */
export function statusCategory(code: number): StatusCategory {
  if (code === 0x0000) return "success";
  if (code === 0xff00 || code === 0xff01) return "pending";
  if (code === 0xfe00) return "cancel";
  if ((code & 0xf000) === 0xb000 || code === 0x0001 || code === 0x0107 || code === 0x0116) {
    return "warning";
  }
  return "failure";
}

/** Whether PS3.7 Annex C assigns the code a class at all (DCMTK's "standard" status). */
function isStandardStatus(code: number): boolean {
  const high = code & 0xff00;
  const nibble = code & 0xf000;
  return code === 0x0000 || code === 0x0001 || high === 0x0100 || high === 0x0200 ||
    nibble === 0xa000 || nibble === 0xb000 || nibble === 0xc000 || code === 0xfe00 ||
    code === 0xff00 || code === 0xff01;
}

/** The class name DCMTK prints for a code it has no specific wording for. */
function classWording(code: number): string {
  if (!isStandardStatus(code)) return "Unknown Status Code (non-standard)";
  const names: Record<StatusCategory, string> = {
    success: "Success",
    warning: "Warning",
    failure: "Failure",
    cancel: "Cancel",
    pending: "Pending",
  };
  return names[statusCategory(code)];
}

/** General codes of PS3.7 C.4/C.5 with DCMTK's DIMSE-N wording. */
const GENERAL_MEANINGS: ReadonlyMap<number, string> = new Map([
  [0x0000, "Success"],
  [0x0105, "No such attribute"],
  [0x0106, "Invalid attribute value"],
  [0x0107, "Attribute list error"],
  [0x0110, "Processing failure"],
  [0x0111, "Duplicate SOP Instance"],
  [0x0112, "No such SOP Instance"],
  [0x0113, "No such Event Type"],
  [0x0114, "No such argument"],
  [0x0115, "Invalid argument value"],
  [0x0116, "Attribute value out of range"],
  [0x0117, "Invalid SOP Instance"],
  [0x0118, "No such SOP Class"],
  [0x0119, "Class-Instance conflict"],
  [0x0120, "Missing attribute"],
  [0x0121, "Missing attribute value"],
  [0x0122, "SOP Class not supported"],
  [0x0123, "No such action"],
  [0x0124, "Refused: Not authorized"],
  [0x0210, "Duplicate invocation"],
  [0x0211, "Unrecognized operation"],
  [0x0212, "Mistyped argument"],
  [0x0213, "Resource limitation"],
  [0xfe00, "Cancel"],
]);

/** C-ECHO codes (PS3.7 9.1.5.1.4) with DCMTK's wording. */
const ECHO_MEANINGS: ReadonlyMap<number, string> = new Map([
  [0x0000, "Success"],
  [0x0122, "Refused: SOP Class not supported"],
  [0x0210, "Duplicate invocation"],
  [0x0211, "Unrecognized operation"],
  [0x0212, "Mistyped argument"],
]);

/** C-STORE codes (PS3.7 9.1.1.1.9, PS3.4 Table B.2-1) with DCMTK's wording. */
const STORE_MEANINGS: ReadonlyMap<number, string> = new Map([
  [0x0000, "Success"],
  [0x0122, "Refused: SOP Class not supported"],
  [0x0124, "Refused: Not authorized"],
  [0x0117, "Invalid SOP Class"],
  [0x0210, "Duplicate invocation"],
  [0x0211, "Unrecognized operation"],
  [0x0212, "Mistyped argument"],
  [0xb000, "Warning: Coercion of Data Elements"],
  [0xb007, "Warning: Data Set does not match SOP Class"],
  [0xb006, "Warning: Elements discarded"],
]);

/** C-STORE code ranges (PS3.4 Table B.2-1): A7xx, A9xx, Cxxx. */
function storeRangeMeaning(code: number): string | undefined {
  if ((code & 0xff00) === 0xa700) return "Refused: Out of resources";
  if ((code & 0xff00) === 0xa900) return "Error: Data Set does not match SOP Class";
  if ((code & 0xf000) === 0xc000) return "Error: Cannot understand";
  return undefined;
}

/** C-FIND codes (PS3.4 Table C.4-1) in DCMTK's dump wording. */
const FIND_MEANINGS: ReadonlyMap<number, string> = new Map([
  [0x0000, "Success: Matching is complete"],
  [0x0122, "Refused: SOP Class not supported"],
  [0xa700, "Refused: Out of resources"],
  [0xfe00, "Cancel: Matching terminated due to Cancel Request"],
  [0xff00, "Pending: Matches are continuing"],
  [0xff01, "Pending: Matches are continuing - Warning: Unsupported optional keys"],
]);

/** C-FIND code ranges in DCMTK's dump wording: A9xx, Cxxx. */
function findRangeMeaning(code: number): string | undefined {
  if ((code & 0xff00) === 0xa900) return "Error: Data Set does not match SOP Class";
  if ((code & 0xf000) === 0xc000) return "Failed: Unable to process";
  return undefined;
}

/**
 * C-GET and C-MOVE codes (PS3.4 Tables C.4-2, C.4-3) in DCMTK's dump
 * wording; DCMTK's C-GET table lacks 0x0124 and 0xA801, which C-GET does
 * not define (no move destination).
 */
const RETRIEVE_MEANINGS: ReadonlyMap<number, string> = new Map([
  [0x0000, "Success: Sub-operations complete - No failures or warnings"],
  [0x0122, "Refused: SOP Class not supported"],
  [0x0124, "Refused: Not authorized"],
  [0x0210, "Duplicate invocation"],
  [0x0211, "Unrecognized operation"],
  [0x0212, "Mistyped argument"],
  [0xa701, "Refused: Out of resources - Unable to calculate number of matches"],
  [0xa702, "Refused: Out of resources - Unable to perform sub-operations"],
  [0xa801, "Refused: Move Destination unknown"],
  [0xa900, "Error: Data Set does not match SOP Class"],
  [0xaa00, "Failed: None of the frames requested were found in SOP Instance"],
  [0xaa01, "Failed: Unable to create new object for this SOP Class"],
  [0xaa02, "Failed: Unable to extract frames"],
  [0xaa03, "Failed: Time-based request for non-time-based SOP Instance"],
  [0xaa04, "Failed: Invalid request"],
  [0xb000, "Warning: Sub-operations complete - One or more failures or warnings"],
  [0xfe00, "Cancel: Sub-operations terminated due to Cancel Indication"],
  [0xff00, "Pending: Sub-operations are continuing"],
]);

/** Codes DCMTK's C-GET dump does not name although C-MOVE's does. */
const NOT_GET_CODES = new Set([0x0124, 0xa801]);

/** A C-GET or C-MOVE code in DCMTK's dump wording, undefined when it has none. */
function retrieveMeaning(code: number, service: "C-GET" | "C-MOVE"): string | undefined {
  if (service === "C-GET" && NOT_GET_CODES.has(code)) return undefined;
  if ((code & 0xf000) === 0xc000) return "Failed: Unable to process";
  return RETRIEVE_MEANINGS.get(code);
}

/**
 * What a status code means, in DCMTK 3.6.7's words.
 *
 * With `service`, the service-specific table of DCMTK's dump is used (for
 * C-STORE, e.g. 0xA700 "Refused: Out of resources", 0xB000 "Warning:
 * Coercion of Data Elements"; for C-MOVE, 0xA801 "Refused: Move
 * Destination unknown"); without it, the general PS3.7 Annex C
 * codes (0x0110 "Processing failure", 0x0211 "Unrecognized operation"...).
 * Other codes give their class name, or "Unknown Status Code
 * (non-standard)" outside every class.
 */
export function statusMeaning(code: number, service?: StatusService): string {
  switch (service) {
    case "C-ECHO":
      return ECHO_MEANINGS.get(code) ?? classWording(code);
    case "C-STORE":
      return STORE_MEANINGS.get(code) ?? storeRangeMeaning(code) ?? classWording(code);
    case "C-FIND":
      return FIND_MEANINGS.get(code) ?? findRangeMeaning(code) ?? classWording(code);
    case "C-GET":
    case "C-MOVE":
      return retrieveMeaning(code, service) ?? classWording(code);
    case undefined:
      return GENERAL_MEANINGS.get(code) ?? classWording(code);
  }
}

/** `0x` and four upper-case hex digits, e.g. `0xA700`. */
export function statusHex(code: number): string {
  return `0x${code.toString(16).toUpperCase().padStart(4, "0")}`;
}

/**
 * A status for log lines: hex code and meaning, e.g.
 * `0xA700 Refused: Out of resources` for C-STORE.
 */
export function formatStatus(code: number, service?: StatusService): string {
  return `${statusHex(code)} ${statusMeaning(code, service)}`;
}

/** C-FIND codes in DCMTK's log wording (`DU_cfindStatusString`). */
const FIND_LOG_TEXTS: ReadonlyMap<number, string> = new Map([
  [0x0000, "Success"],
  [0x0122, "Refused: SOPClassNotSupported"],
  [0xa700, "Refused: OutOfResources"],
  [0xa900, "Error: DataSetDoesNotMatchSOPClass"],
  [0xfe00, "Cancel: MatchingTerminatedDueToCancelRequest"],
  [0xff00, "Pending"],
  [0xff01, "Pending: WarningUnsupportedOptionalKeys"],
]);

/** C-GET and C-MOVE codes in DCMTK's log wording (`DU_cgetStatusString`, `DU_cmoveStatusString`). */
const RETRIEVE_LOG_TEXTS: ReadonlyMap<number, string> = new Map([
  [0x0000, "Success"],
  [0x0122, "Refused: SOPClassNotSupported"],
  [0xa701, "Refused: OutOfResourcesNumberOfMatches"],
  [0xa702, "Refused: OutOfResourcesSubOperations"],
  [0xa801, "Refused: MoveDestinationUnknown"],
  [0xa900, "Error: DataSetDoesNotMatchSOPClass"],
  [0xb000, "Warning: SubOperationsCompleteOneOrMoreFailures"],
  [0xfe00, "Cancel: SubOperationsTerminatedDueToCancelIndication"],
  [0xff00, "Pending"],
]);

/**
 * A Query/Retrieve status as DCMTK 3.6.7's findscu, movescu and getscu put
 * it in their log lines (`I: Received Final Find Response (Success)`,
 * `W: Move response with error status (Refused: MoveDestinationUnknown)`):
 * CamelCase names for the codes of PS3.4 C.4 that DCMTK knows (any Cxxx is
 * `Failed: UnableToProcess`), else `Unknown Status: 0x` and the code in
 * lower-case hex without leading zeros, as DCMTK prints it.
 */
export function statusLogText(code: number, service: QueryRetrieveService): string {
  const known = (code & 0xf000) === 0xc000
    ? "Failed: UnableToProcess"
    : service === "C-FIND"
    ? FIND_LOG_TEXTS.get(code)
    : service === "C-GET" && code === 0xa801
    ? undefined
    : RETRIEVE_LOG_TEXTS.get(code);
  return known ?? `Unknown Status: 0x${code.toString(16)}`;
}
