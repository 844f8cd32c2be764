/**
 * Shared plumbing of the labelled-pair samplers in this folder: drawing (x, a1, a2) with a1 ≠ a2
 * and concatenating column-wise pair records (PairData plus extra per-pair columns).
 */
import type { Rng } from '../../math/rng.js';
import type { BanditEnv } from '../env.js';
import { contextCdf, policyCdf, searchCdf } from '../oracle.js';

/**
 * Draws x ~ d0, a1 ~ π1(·|x), a2 ~ π2(·|x) until n pairs with a1 ≠ a2 were visited or 50n draws were
 * made (equal draws are redrawn, never labelled); calls visit(i, x, a1, a2) for pair i = 0..
 */
export function drawDistinctPairs(
  env: BanditEnv,
  policy1: ArrayLike<number>,
  policy2: ArrayLike<number>,
  n: number,
  rng: Rng,
  visit: (i: number, context: number, a1: number, a2: number) => void,
): number {
  const ccdf = contextCdf(env);
  const cdf1 = policyCdf(env, policy1);
  const cdf2 = policy1 === policy2 ? cdf1 : policyCdf(env, policy2);
  let m = 0;
  for (let draws = 0; m < n && draws < 50 * n; draws++) {
    const c = searchCdf(ccdf, 0, env.nContexts, rng.uniform());
    const lo = env.offsets[c];
    const hi = env.offsets[c + 1];
    const a1 = searchCdf(cdf1, lo, hi, rng.uniform());
    const a2 = searchCdf(cdf2, lo, hi, rng.uniform());
    if (a1 === a2) continue;
    visit(m++, c, a1, a2);
  }
  return m;
}

type Columns = Record<string, Int32Array | Uint8Array>;

/** Every column of a followed by the same column of b (both records must have the same columns). */
export function concatColumns<T extends object>(a: T, b: T): T {
  const ca = a as unknown as Columns;
  const cb = b as unknown as Columns;
  const out: Columns = {};
  for (const key of Object.keys(ca)) {
    const x = ca[key];
    const y = cb[key];
    const col =
      x instanceof Uint8Array ? new Uint8Array(x.length + y.length) : new Int32Array(x.length + y.length);
    col.set(x);
    col.set(y, x.length);
    out[key] = col;
  }
  return out as unknown as T;
}
