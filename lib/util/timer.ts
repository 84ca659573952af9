/**
 * One-shot timers that do not start Deno's Node compatibility layer.
 *
 * In Deno 2.9 the global `setTimeout` is Node's: its first call loads
 * `node:timers` and what it needs, 11-35 ms of a process's start (measured
 * on a plain echo: 70 ms for a script that awaits a 1 ms `setTimeout`
 * against 50 ms for one that awaits `AbortSignal.timeout(1)`).
 * `AbortSignal.timeout` runs on the runtime's own timer, which is kept
 * alive only while an "abort" listener is attached: removing the listener
 * cancels the callback and lets the process exit, as `clearTimeout` does.
 *
 * @module
 */

/** Cancels a timer from {@link after}; safe to call more than once, and after it fired. */
export type CancelTimer = () => void;

/**
 * Calls `fire` once, `ms` milliseconds from now (rounded up to whole
 * milliseconds, within 0..{@link MAX_TIMER_MS}), unless cancelled first.
 * While pending, the timer keeps the process alive, as a `setTimeout` does.
 */
export function after(ms: number, fire: () => void): CancelTimer {
  const signal = AbortSignal.timeout(Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(ms || 0))));
  const listener = () => fire();
  signal.addEventListener("abort", listener, { once: true });
  return () => signal.removeEventListener("abort", listener);
}

/** The longest delay {@link after} takes (about 24.8 days, the limit of `setTimeout` too). */
export const MAX_TIMER_MS = 0x7fffffff;

/**
 * A restartable deadline for waits that come one after another (a read per
 * message, each with the same timeout): moving the deadline later keeps
 * the pending runtime timer, which re-arms itself for the rest when it
 * fires early, and `stop` only detaches from it (it then no longer keeps
 * the process alive). Arming a runtime timer costs some 20 us; attaching to
 * one a few.
 */
export class Deadline {
  /** The runtime timer pending, if any, and when it fires (`performance.now()` time). */
  #signal: AbortSignal | undefined;
  #firesAt = 0;
  #attached = false;
  #deadline = 0;
  #fire: (() => void) | undefined;
  readonly #listener = () => this.#expired();

  /**
   * Calls `fire` once, `ms` from now (see {@link after}), unless stopped or
   * started again first. `now`: `performance.now()`, when the caller has just
   * read it (a clock read is an op call: a wait per message reads it once).
   */
  start(ms: number, fire: () => void, now: number = performance.now()): void {
    this.#fire = fire;
    this.#deadline = now + ms;
    const signal = this.#signal;
    if (signal === undefined || signal.aborted || this.#firesAt > this.#deadline) {
      this.#detach();
      this.#arm(ms);
    } else {
      this.#attach();
    }
  }

  /** Cancels the call; safe to call more than once. */
  stop(): void {
    this.#fire = undefined;
    this.#detach();
  }

  /**
   * Cancels the call as {@link stop} does, but stays attached to the runtime
   * timer, so that the next start() attaches nothing (attaching and detaching
   * an "abort" listener per wait cost some hundreds of bytes and two runtime
   * calls). Until stop() or the timer fires (at the latest deadline started),
   * it keeps the process alive: for owners whose process is kept alive
   * meanwhile anyway (a connection with a read pending), and who call stop()
   * when that ends.
   */
  park(): void {
    this.#fire = undefined;
  }

  #arm(ms: number): void {
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(ms || 0)));
    this.#signal = AbortSignal.timeout(delay);
    this.#firesAt = performance.now() + delay;
    this.#attach();
  }

  #attach(): void {
    if (this.#attached) return;
    // No options: the signal aborts once, and their conversion is measurable per wait.
    this.#signal!.addEventListener("abort", this.#listener);
    this.#attached = true;
  }

  #detach(): void {
    if (!this.#attached) return;
    this.#signal!.removeEventListener("abort", this.#listener);
    this.#attached = false;
  }

  #expired(): void {
    this.#attached = false;
    this.#signal = undefined;
    const fire = this.#fire;
    if (fire === undefined) return;
    const left = this.#deadline - performance.now();
    if (left > 0) return this.#arm(left);
    this.#fire = undefined;
    fire();
  }
}
