/**
 * Seeded, splittable pseudo-random generator: xoshiro128** (32-bit state words, fast in JS),
 * seeded through splitmix32 so that any integer or string gives a well-mixed state.
 * `fork(label)` derives an independent stream, so adding a random draw in one component
 * never shifts the numbers another component sees (runs stay reproducible from their config).
 */

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a hash of a string to 32 bits (used to turn fork labels and string seeds into numbers). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export type Seed = number | string;

/** A generator's full state (for checkpoints): the four xoshiro words and the cached normal. */
export interface RngState {
  s: [number, number, number, number];
  spareNormal: number | null;
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;
  /** The 32-bit seed this stream was created from (for logging). */
  readonly seed: number;

  constructor(seed: Seed) {
    const n = typeof seed === 'string' ? hashString(seed) : (seed >>> 0) ^ Math.floor(seed / 2 ** 32);
    this.seed = n >>> 0;
    const sm = splitmix32(this.seed);
    this.s0 = sm();
    this.s1 = sm();
    this.s2 = sm();
    this.s3 = sm();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** The full state, so a resumed run continues the exact same stream. */
  getState(): RngState {
    return {
      s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0],
      spareNormal: this.spareNormal,
    };
  }

  /** Restores a state from getState() (the seed label is kept). */
  setState(st: RngState): void {
    const ok =
      Array.isArray(st.s) &&
      st.s.length === 4 &&
      st.s.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32) &&
      (st.s[0] | st.s[1] | st.s[2] | st.s[3]) !== 0 &&
      (st.spareNormal === null || Number.isFinite(st.spareNormal));
    if (!ok) throw new RangeError(`Rng.setState: invalid state ${JSON.stringify(st)}`);
    [this.s0, this.s1, this.s2, this.s3] = st.s;
    this.spareNormal = st.spareNormal;
  }

  /** Next uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). Rejection sampling avoids modulo bias. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0)
      throw new RangeError(`Rng.int: n must be a positive integer, got ${n}`);
    if (n <= 2 ** 32) {
      const limit = Math.floor(2 ** 32 / n) * n;
      for (;;) {
        const u = this.nextU32();
        if (u < limit) return u % n;
      }
    }
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal draw (Marsaglia polar method; caches the second variate). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    for (;;) {
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const f = Math.sqrt((-2 * Math.log(s)) / s);
        this.spareNormal = v * f;
        return u * f;
      }
    }
  }

  /** Bernoulli(p) draw. */
  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  /** Index drawn from a probability vector (need not be exactly normalised). */
  categorical(probs: ArrayLike<number>, offset = 0, length = probs.length - offset): number {
    let total = 0;
    for (let i = 0; i < length; i++) total += probs[offset + i];
    let u = this.uniform() * total;
    for (let i = 0; i < length; i++) {
      u -= probs[offset + i];
      if (u < 0) return i;
    }
    // Rounding can leave u >= 0 after the loop: return the last index with positive mass.
    for (let i = length - 1; i >= 0; i--) if (probs[offset + i] > 0) return i;
    throw new RangeError('Rng.categorical: all probabilities are zero');
  }

  /** Index drawn from unnormalised log-probabilities (Gumbel-max: exact, no exp overflow). */
  categoricalLog(logits: ArrayLike<number>, offset = 0, length = logits.length - offset): number {
    let best = -1;
    let bestVal = -Infinity;
    for (let i = 0; i < length; i++) {
      const l = logits[offset + i];
      if (l === -Infinity) continue;
      const g = l - Math.log(-Math.log(this.uniform() || Number.MIN_VALUE));
      if (g > bestVal) {
        bestVal = g;
        best = i;
      }
    }
    if (best < 0) throw new RangeError('Rng.categoricalLog: all log-probabilities are -Infinity');
    return best;
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  /** An independent stream derived from this generator's seed and a label (does not advance this stream). */
  fork(label: string | number): Rng {
    return new Rng((Math.imul(this.seed ^ 0x5bd1e995, 0x27d4eb2d) ^ hashString(String(label))) >>> 0);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
