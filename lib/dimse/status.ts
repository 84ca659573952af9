/**
 * DIMSE status codes (PS3.7 Annex C; C-STORE codes of PS3.4 Table B.2-1).
 *
 * Wording follows DCMTK 3.6.7's DIMSE dump (dcmnet `dimdump.cc`) so that our
 * `-d` output reads like DCMTK's, which users' scripts parse.
 *
 * @module
 */

/** The status classes of PS3.7 Annex C. */
export type StatusCategory = "success" | "warning" | "failure" | "cancel" | "pending";

/** The DIMSE service a status answers; its codes mean different things per service. */
export type StatusService = "C-ECHO" | "C-STORE";

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

/**
 * What a status code means, in DCMTK 3.6.7's words.
 *
 * With `service`, the service-specific table of DCMTK's dump is used (for
 * C-STORE, e.g. 0xA700 "Refused: Out of resources", 0xB000 "Warning:
 * Coercion of Data Elements"); without it, the general PS3.7 Annex C
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
