/**
 * The `-d` view of the wire, as DCMTK prints it: received association PDUs
 * as a header line and hex dump at debug level, every other PDU's header at
 * trace level.
 *
 * @module
 */
import type { Logger } from "../../log/logger.ts";
import type { Pdu } from "../../pdu/types.ts";

const CONSTRUCTING: Partial<Record<Pdu["type"], string>> = {
  "A-ASSOCIATE-RQ": "Constructing Associate RQ PDU",
  "A-ASSOCIATE-AC": "Constructing Associate AC PDU",
  "A-ASSOCIATE-RJ": "Constructing Associate RJ PDU",
};

/**
 * An `onPdu` hook for the upper layer that logs like DCMTK's `-d`, with lib/pdu/dump.ts's
 * `formatPduHeaderAndHex` (passed in: an SCU loads the dump code only when it logs at debug).
 */
export function pduLogger(
  log: Logger,
  formatPduHeaderAndHex: (raw: Uint8Array) => string,
): (dir: "sent" | "received", pdu: Pdu, raw: Uint8Array) => void {
  return (dir, pdu, raw) => {
    const isAssociate = pdu.type.startsWith("A-ASSOCIATE");
    if (dir === "sent") {
      const line = CONSTRUCTING[pdu.type];
      if (line && log.isEnabled("debug")) log.debug(line);
      else if (log.isEnabled("trace")) log.trace(`Sending ${pdu.type} PDU (${raw.length} bytes)`);
      return;
    }
    if (isAssociate && log.isEnabled("debug")) {
      log.debug(formatPduHeaderAndHex(raw));
      log.debug(`Parsing an ${pdu.type.slice(0, 11)} PDU`);
    } else if (log.isEnabled("trace")) {
      log.trace(`Received ${pdu.type} PDU (${raw.length} bytes)`);
    }
  };
}
