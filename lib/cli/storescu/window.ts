/**
 * storescu's asynchronous operations window (PS3.7 D.3.3.3, `--async`):
 * how many stores to keep outstanding on an association, and the line
 * that says what was negotiated.
 *
 * @module
 */
import type { Association } from "../../ae/association.ts";

/**
 * How many stores to keep outstanding on an association: the window the
 * peer granted (PS3.7 D.3.3.3; 0, unlimited, is held to the proposal),
 * never more than proposed; one without a proposal.
 */
export function windowLanes(granted: number, proposed: number | undefined): number {
  if (proposed === undefined) return 1;
  return Math.max(1, granted === 0 ? proposed : Math.min(granted, proposed));
}

/** The -v line of the asynchronous operations window negotiated (PS3.7 D.3.3.3). */
export function windowLine(assoc: Association, proposed: number): string {
  const lanes = windowLanes(assoc.asyncWindow.maxOperationsInvoked, proposed);
  return assoc.ac.userInformation.asynchronousOperationsWindow === undefined
    ? `Asynchronous Operations Window: proposed ${proposed}, not granted by the peer: ` +
      "one operation at a time"
    : `Asynchronous Operations Window: proposed ${proposed}, granted ${lanes} outstanding ` +
      "operations";
}
