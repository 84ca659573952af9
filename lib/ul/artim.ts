/**
 * A restartable one-shot timer, used for the ARTIM timer of PS3.8 9.1.5
 * (Association Request/Reject/Release Timer) and the runtime's other
 * timeouts. It holds at most one pending timer, so stopping it always
 * leaves nothing behind. The timers are the runtime's own ({@link after}):
 * a plain `setTimeout` would load Deno's Node compatibility layer into
 * every process that associates.
 *
 * @module
 */
import { after, type CancelTimer } from "../util/timer.ts";

/**
 * A one-shot timer that can be started, restarted and stopped.
 *
 * Restarting only moves the deadline: the pending timer stays and, if it
 * fires before the new deadline, re-arms itself for the rest. The idle
 * timer is restarted on every read, and a cancel and re-arm per read is
 * measurable on the echo round trip.
 */
export class Timer {
  #cancel: CancelTimer | undefined;
  #deadline = 0;
  #onExpire: () => void = () => {};

  /** True while an expiry is pending. */
  get running(): boolean {
    return this.#cancel !== undefined;
  }

  /** Starts the timer, or restarts it if already running ("start (or restart)", PS3.8 AA-1). */
  start(ms: number, onExpire: () => void): void {
    const deadline = performance.now() + ms;
    this.#onExpire = onExpire;
    if (this.#cancel !== undefined && deadline >= this.#deadline) {
      this.#deadline = deadline;
      return;
    }
    this.stop();
    this.#deadline = deadline;
    this.#arm(ms);
  }

  /** Stops the timer if it is running. */
  stop(): void {
    this.#cancel?.();
    this.#cancel = undefined;
  }

  #arm(ms: number): void {
    this.#cancel = after(ms, () => {
      const left = this.#deadline - performance.now();
      if (left > 0) return this.#arm(left);
      this.#cancel = undefined;
      this.#onExpire();
    });
  }
}
