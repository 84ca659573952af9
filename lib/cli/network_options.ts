/**
 * Option definitions every network tool shares, worded as DCMTK's help
 * prints them, so echoscu, echoscp and the store tools read alike.
 *
 * @module
 */
import type { OptionDef } from "./options.ts";

/** -ta: ARTIM timeout for association setup and release (PS3.8 9.1.5). */
export const ACSE_TIMEOUT_OPTION: OptionDef = {
  long: "--acse-timeout",
  short: "-ta",
  valueHelp: "[s]econds: integer (default: 30)",
  help: "timeout for ACSE messages",
};

/** -td: how long to wait for a DIMSE message. */
export const DIMSE_TIMEOUT_OPTION: OptionDef = {
  long: "--dimse-timeout",
  short: "-td",
  valueHelp: "[s]econds: integer (default: unlimited)",
  help: "timeout for DIMSE messages",
};

/** -pdu: our Maximum Length Received (PS3.8 D.1), DCMTK's range and default. */
export const MAX_PDU_OPTION: OptionDef = {
  long: "--max-pdu",
  short: "-pdu",
  valueHelp: "[n]umber of bytes: integer (4096..131072)",
  help: "set max receive pdu to n bytes (default: 16384)",
};
