/**
 * A restartable one-shot timer, used for the ARTIM timer of PS3.8 9.1.5
 * (Association Request/Reject/Release Timer) and the runtime's other
 * timeouts. It holds at most one pending timer, so stopping it always
 * leaves nothing behind that keeps the process alive. The timers are the
 * runtime's own ({@link Deadline}): a plain `setTimeout` would load Deno's
 * Node compatibility layer into every process that associates.
 *
 * @module
 */
import { Deadline } from "../util/timer.ts";

/**
 * A one-shot timer that can be started, restarted ("start (or restart)",
 * PS3.8 AA-1) and stopped.
 *
 * Restarting only moves the deadline: the pending timer stays and, if it
 * fires before the new deadline, re-arms itself for the rest. The idle
 * timer is restarted on every read, and a cancel and re-arm per read is
 * measurable on the echo round trip.
 */
export class Timer extends Deadline {}
