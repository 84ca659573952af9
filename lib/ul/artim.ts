/**
 * A restartable one-shot timer, used for the ARTIM timer of PS3.8 9.1.5
 * (Association Request/Reject/Release Timer) and the runtime's other
 * timeouts. It holds at most one pending `setTimeout`, so stopping it always
 * leaves nothing behind.
 *
 * @module
 */

/**
 * A one-shot timer that can be started, restarted and stopped.
 *
 * Restarting only moves the deadline: the pending `setTimeout` stays and,
 * if it fires before the new deadline, re-arms itself for the rest. The idle
 * timer is restarted on every read, and a clearTimeout/setTimeout pair per
 * read is measurable on the echo round trip.
 */
export class Timer {
  #id: ReturnType<typeof setTimeout> | undefined;
  #deadline = 0;
  #onExpire: () => void = () => {};

  /** True while an expiry is pending. */
  get running(): boolean {
    return this.#id !== undefined;
  }

  /** Starts the timer, or restarts it if already running ("start (or restart)", PS3.8 AA-1). */
  start(ms: number, onExpire: () => void): void {
    const deadline = performance.now() + ms;
    this.#onExpire = onExpire;
    if (this.#id !== undefined && deadline >= this.#deadline) {
      this.#deadline = deadline;
      return;
    }
    this.stop();
    this.#deadline = deadline;
    this.#arm(ms);
  }

  /** Stops the timer if it is running. */
  stop(): void {
    if (this.#id !== undefined) clearTimeout(this.#id);
    this.#id = undefined;
  }

  #arm(ms: number): void {
    this.#id = setTimeout(() => {
      const left = this.#deadline - performance.now();
      if (left > 0) return this.#arm(left);
      this.#id = undefined;
      this.#onExpire();
    }, ms);
  }
}
