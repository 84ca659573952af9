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
