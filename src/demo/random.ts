/** Deterministic randomness: every person's draws come from (seed, person index) alone, so shards agree. */

export type Rng = () => number;

export function hash32(a: number, b: number, c = 0): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35) ^ Math.imul(c + 0x165667b1, 0x27d4eb2f);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  h = Math.imul(h, 0x297a2d39);
  h ^= h >>> 15;
  return h >>> 0;
}

/** mulberry32: small, fast and good enough for synthetic data. */
export function rngFor(seed: number, index: number, stream = 0): Rng {
  let state = hash32(seed, index, stream);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function int(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)];
}

/** Picks by weight; `weights` must be the cumulative distribution (last entry 1). */
export function pickWeighted<T>(rng: Rng, items: readonly T[], cumulative: readonly number[]): T {
  const r = rng();
  for (let i = 0; i < cumulative.length; i++) if (r < cumulative[i]) return items[i];
  return items[items.length - 1];
}

export function cumulative(weights: readonly number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  let running = 0;
  return weights.map((w) => (running += w / total));
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const ID_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';
const HEX = '0123456789abcdef';

/** An id string that depends only on (seed, index, stream): the same person gets the same id everywhere. */
export function stableId(seed: number, index: number, stream: number, length: number, alphabet: 'id' | 'alnum' | 'hex' = 'id'): string {
  const chars = alphabet === 'hex' ? HEX : alphabet === 'alnum' ? ALNUM : ID_CHARS;
  let out = '';
  let h = hash32(seed, index, stream);
  for (let i = 0; i < length; i++) {
    if (i % 4 === 0) h = hash32(h, index, stream + i + 1);
    out += chars[h % chars.length];
    h = Math.floor(h / chars.length);
  }
  return out;
}

/** Gamma(shape, 1) by Marsaglia–Tsang; used for purchase intervals that vary per person. */
export function gamma(rng: Rng, shape: number): number {
  if (shape < 1) return gamma(rng, shape + 1) * rng() ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      const u1 = rng() || 1e-12;
      const u2 = rng();
      x = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}
