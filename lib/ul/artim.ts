/**
 * A restartable one-shot timer, used for the ARTIM timer of PS3.8 9.1.5
 * (Association Request/Reject/Release Timer) and the runtime's other
 * timeouts. It holds at most one pending `setTimeout`, so stopping it always
 * leaves nothing behind.
 *
 * @module
 */

/** A one-shot timer that can be started, restarted and stopped. */
export class Timer {
  #id: ReturnType<typeof setTimeout> | undefined;

  /** True while an expiry is pending. */
  get running(): boolean {
    return this.#id !== undefined;
  }

  /** Starts the timer, or restarts it if already running ("start (or restart)", PS3.8 AA-1). */
  start(ms: number, onExpire: () => void): void {
    this.stop();
    this.#id = setTimeout(() => {
      this.#id = undefined;
      onExpire();
    }, ms);
  }

  /** Stops the timer if it is running. */
  stop(): void {
    if (this.#id !== undefined) clearTimeout(this.#id);
    this.#id = undefined;
  }
}
