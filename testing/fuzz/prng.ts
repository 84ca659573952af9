/**
 * The fuzzer's randomness: sfc32 (Chris Doty-Humphrey's small fast counting
 * generator, 128-bit state), seeded per input from the run's 32-bit seed,
 * the target's name and the input's index. Any input can thus be rebuilt
 * alone, without replaying the ones before it.
 *
 * @module
 */

/** A source of random numbers with the helpers the mutators need. */
export interface Rng {
  /** A uniform 32-bit unsigned integer. */
  u32(): number;
  /** A uniform integer in 0..n-1 (n >= 1). */
  below(n: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** A uniformly chosen element of a non-empty list. */
  pick<T>(list: readonly T[]): T;
}

/** FNV-1a of a string: folds the target's name into the seed. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** sfc32 over four 32-bit words of state. */
export function sfc32(a: number, b: number, c: number, d: number): Rng {
  const next = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (a + b + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  // The first outputs of a fresh state are poorly mixed (the author's advice: skip 12).
  for (let i = 0; i < 12; i++) next();
  return {
    u32: next,
    below: (n) => Math.floor((next() / 0x1_0000_0000) * n),
    chance: (p) => next() / 0x1_0000_0000 < p,
    pick: (list) => list[Math.floor((next() / 0x1_0000_0000) * list.length)],
  };
}

/** The generator of input `index` of `target` in the run seeded with `seed`. */
export function inputRng(seed: number, target: string, index: number): Rng {
  return sfc32(
    seed >>> 0,
    fnv1a(target),
    index >>> 0,
    Math.floor(index / 0x1_0000_0000) ^ 0x9e3779b9,
  );
}

/** A seed as printed and accepted on the command line: 0x and 8 hex digits. */
export function formatSeed(seed: number): string {
  return `0x${(seed >>> 0).toString(16).padStart(8, "0")}`;
}

/** Parses a seed given as hex (0x...) or decimal; undefined if it is neither or over 32 bits. */
export function parseSeed(text: string): number | undefined {
  const n = /^0x[0-9a-f]{1,8}$/i.test(text)
    ? parseInt(text.slice(2), 16)
    : /^\d{1,10}$/.test(text)
    ? Number(text)
    : NaN;
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff ? n : undefined;
}
