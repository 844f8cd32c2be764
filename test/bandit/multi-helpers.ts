/** Small hand-built environments and brute-force policy grids for the multi-objective tests. */
import type { BanditEnv } from '../../src/bandit/env.js';

/** One context, K actions with the given features (K×d) and π0 probabilities. */
export function oneContextEnv(
  features: number[][],
  ref: number[],
  eta: number,
  theta: number[] | null = null,
): BanditEnv {
  const K = features.length;
  const d = features[0].length;
  const s = ref.reduce((a, b) => a + b, 0);
  return {
    name: 'tiny',
    eta,
    d,
    nContexts: 1,
    offsets: Int32Array.from([0, K]),
    features: Float64Array.from(features.flat()),
    refLogprobs: Float64Array.from(ref, (p) => Math.log(p / s)),
    weights: Float64Array.from([1]),
    thetaStar: theta ? Float64Array.from(theta) : null,
  };
}

/** Every 3-action distribution on a grid of step 1/n, as log-probabilities (zero masses as −∞). */
export function simplexGrid3(n: number): Float64Array[] {
  const out: Float64Array[] = [];
  for (let i = 0; i <= n; i++)
    for (let j = 0; i + j <= n; j++) out.push(Float64Array.from([i / n, j / n, (n - i - j) / n], Math.log));
  return out;
}

export function close(a: number, b: number, tol: number, what = ''): void {
  if (!(Math.abs(a - b) <= tol)) throw new Error(`${what}: ${a} vs ${b} (|Δ| = ${Math.abs(a - b)} > ${tol})`);
}

/** Central finite-difference gradient of f at x. */
export function fdGradient(f: (x: Float64Array) => number, x: ArrayLike<number>, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let j = 0; j < x.length; j++) {
    const p = Float64Array.from(x);
    const m = Float64Array.from(x);
    p[j] += h;
    m[j] -= h;
    g[j] = (f(p) - f(m)) / (2 * h);
  }
  return g;
}
