/**
 * Plackett–Luce rankings of K responses (a ranking of K = 2 is one Bradley–Terry pair):
 *   P(a_1 ≻ a_2 ≻ … ≻ a_K | x) = Π_{k<K} exp(r(x,a_k)) / Σ_{m≥k} exp(r(x,a_m)),  r = ⟨θ, φ⟩.
 * Ridge negative log-likelihood L(θ) = Σ_rankings Σ_k [log Σ_{m≥k} e^{r_m} − r_k] + (λ/2)‖θ‖²,
 * ∇L = Σ Σ_k (E_{S_k}φ − φ_{a_k}) + λθ and ∇²L = Σ Σ_k Cov_{S_k}(φ) + λI, where S_k is the set of
 * items from position k on and E_{S_k}, Cov_{S_k} are under softmax(r) restricted to S_k. ∇²L does
 * not depend on the labels' order beyond the sets S_k; its expectation over rankings is the Fisher
 * information (`plExpectedInformation`, exact by enumeration for small K).
 */
import { GshfInputError } from '../../math/errors.js';
import type { Rng } from '../../math/rng.js';
import { logSumExp } from '../../math/special.js';
import type { BanditEnv } from '../env.js';
import { contextCdf, searchCdf } from '../oracle.js';
import { gibbsOfTheta, rewardsOf } from '../policy.js';
import { newtonMinimize, type NewtonResult } from './newton.js';

/** n rankings: ranking i ranks items[start[i] .. start[i+1]) (local action indices, best first) of context[i]. */
export interface RankingData {
  context: Int32Array;
  start: Int32Array;
  items: Int32Array;
}

export function nRankings(r: RankingData): number {
  return r.context.length;
}

export function rankingsFromLists(list: { context: number; items: number[] }[]): RankingData {
  const start = new Int32Array(list.length + 1);
  list.forEach((r, i) => (start[i + 1] = start[i] + r.items.length));
  return {
    context: Int32Array.from(list, (r) => r.context),
    start,
    items: Int32Array.from(list.flatMap((r) => r.items)),
  };
}

/** Validates ranges and distinctness; throws naming the ranking. */
export function requireValidRankings(env: BanditEnv, data: RankingData, fn: string): void {
  for (let i = 0; i < data.context.length; i++) {
    const c = data.context[i];
    if (!(c >= 0 && c < env.nContexts))
      throw new GshfInputError(`${fn}: ranking ${i}: context ${c} out of range`);
    const K = env.offsets[c + 1] - env.offsets[c];
    const seen = new Set<number>();
    for (let p = data.start[i]; p < data.start[i + 1]; p++) {
      const a = data.items[p];
      if (!(a >= 0 && a < K) || seen.has(a))
        throw new GshfInputError(`${fn}: ranking ${i}: item ${a} is out of range 0..${K - 1} or repeated`);
      seen.add(a);
    }
  }
}

/**
 * Adds the terms of one ranking given per-item scores h (the reward, or DPO's implicit reward):
 * returns Σ_k [logsumexp_{m≥k} h − h_k], adds `scale`·Σ_k (E_{S_k}φ − φ_{a_k}) into grad and
 * scale²·Σ_k Cov_{S_k}(φ) into hess (d×d), when given.
 */
function rankingTerms(
  env: BanditEnv,
  flat: number[],
  h: ArrayLike<number>,
  scale: number,
  grad?: Float64Array,
  hess?: Float64Array,
): number {
  const d = env.d;
  const F = env.features;
  const K = flat.length;
  const hs = Float64Array.from(flat, (a) => h[a]);
  const mean = new Float64Array(d);
  let nll = 0;
  for (let k = 0; k < K - 1; k++) {
    const lse = logSumExp(hs, k, K - k);
    nll += lse - hs[k];
    if (!grad) continue;
    mean.fill(0);
    for (let m = k; m < K; m++) {
      const p = Math.exp(hs[m] - lse);
      for (let j = 0; j < d; j++) mean[j] += p * F[flat[m] * d + j];
    }
    for (let j = 0; j < d; j++) grad[j] += scale * (mean[j] - F[flat[k] * d + j]);
    if (!hess) continue;
    for (let m = k; m < K; m++) {
      const p = Math.exp(hs[m] - lse) * scale * scale;
      const o = flat[m] * d;
      for (let i = 0; i < d; i++) {
        const fi = F[o + i] - mean[i];
        for (let j = 0; j < d; j++) hess[i * d + j] += p * fi * (F[o + j] - mean[j]);
      }
    }
  }
  return nll;
}

function flatItems(env: BanditEnv, data: RankingData, i: number): number[] {
  const base = env.offsets[data.context[i]];
  return Array.from(data.items.subarray(data.start[i], data.start[i + 1]), (a) => base + a);
}

/** Ridge PL negative log-likelihood; adds ∇ and ∇² into grad/hess when given. */
export function plNegLogLik(
  env: BanditEnv,
  data: RankingData,
  theta: ArrayLike<number>,
  lambda: number,
  grad?: Float64Array,
  hess?: Float64Array,
): number {
  const d = env.d;
  const r = rewardsOf(env, theta);
  let s = 0;
  for (let i = 0; i < data.context.length; i++)
    s += rankingTerms(env, flatItems(env, data, i), r, 1, grad, hess);
  let t2 = 0;
  for (let j = 0; j < d; j++) {
    t2 += theta[j] * theta[j];
    if (grad) grad[j] += lambda * theta[j];
    if (hess) hess[j * d + j] += lambda;
  }
  return s + 0.5 * lambda * t2;
}

/** Ridge PL maximum likelihood by damped Newton (strictly convex for λ > 0). */
export function fitPlackettLuce(
  env: BanditEnv,
  data: RankingData,
  opts: { lambda: number; tol?: number; maxIter?: number },
): NewtonResult & { theta: Float64Array } {
  requireValidRankings(env, data, 'fitPlackettLuce');
  if (!(opts.lambda > 0)) throw new GshfInputError(`fitPlackettLuce: lambda must be > 0, got ${opts.lambda}`);
  const res = newtonMinimize(
    (x, g, H) => plNegLogLik(env, data, x, opts.lambda, g, H),
    new Float64Array(env.d),
    { tol: (opts.tol ?? 1e-10) * Math.max(1, nRankings(data)), maxIter: opts.maxIter },
  );
  return { ...res, theta: res.x };
}

/**
 * θ-free design matrix of rankings in the units of the core's pair covariance:
 * λI + 4·Σ Σ_k Cov^{uniform}_{S_k}(φ), so a ranking of two items adds exactly its ΔφΔφᵀ (the BT
 * Hessian at θ = 0 is ¼ΔφΔφᵀ) and a ranking of K items adds Σ_k (4/|S_k|²) Σ_{i<j ∈ S_k} Δφ_ijΔφ_ijᵀ.
 */
export function rankingCovariance(env: BanditEnv, data: RankingData, lambda: number): Float64Array {
  const d = env.d;
  const H = new Float64Array(d * d);
  const g = new Float64Array(d);
  const zero = new Float64Array(env.offsets[env.nContexts]);
  for (let i = 0; i < data.context.length; i++) rankingTerms(env, flatItems(env, data, i), zero, 2, g, H);
  for (let j = 0; j < d; j++) H[j * d + j] += lambda;
  return H;
}

/**
 * Fisher information of one PL ranking of `items` (local indices) in context c at θ:
 * E_{ranking ~ PL(θ)} Σ_k Cov_{S_k}(φ), by enumerating all K! orderings (K ≤ 8).
 */
export function plExpectedInformation(
  env: BanditEnv,
  c: number,
  items: number[],
  theta: ArrayLike<number>,
): Float64Array {
  if (items.length > 8)
    throw new GshfInputError(`plExpectedInformation: K = ${items.length} > 8 (K! orderings)`);
  const d = env.d;
  const r = rewardsOf(env, theta);
  const base = env.offsets[c];
  const out = new Float64Array(d * d);
  for (const perm of permutations(items)) {
    const flat = perm.map((a) => base + a);
    const H = new Float64Array(d * d);
    const nll = rankingTerms(env, flat, r, 1, new Float64Array(d), H);
    const p = Math.exp(-nll);
    for (let j = 0; j < d * d; j++) out[j] += p * H[j];
  }
  return out;
}

function permutations(xs: number[]): number[][] {
  if (xs.length <= 1) return [xs.slice()];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

/**
 * n rankings: x ~ d0, K distinct actions drawn from the policy without replacement (renormalised
 * after each draw), ordered by the PL oracle at θ and temperature T (Gumbel-max: sort r/T + Gumbel,
 * which is exact PL sampling). Contexts with fewer than K actions rank all of them.
 */
export function sampleRankings(
  env: BanditEnv,
  policy: ArrayLike<number>,
  n: number,
  K: number,
  theta: ArrayLike<number>,
  rng: Rng,
  temperature = 1,
): RankingData {
  if (!Number.isInteger(K) || K < 2)
    throw new GshfInputError(`sampleRankings: K must be an integer ≥ 2, got ${K}`);
  const r = rewardsOf(env, theta);
  const ccdf = contextCdf(env);
  const list: { context: number; items: number[] }[] = [];
  for (let i = 0; i < n; i++) {
    const c = searchCdf(ccdf, 0, env.nContexts, rng.uniform());
    const lo = env.offsets[c];
    const Kc = env.offsets[c + 1] - lo;
    const probs: number[] = Array.from({ length: Kc }, (_, a) => Math.exp(policy[lo + a]));
    const chosen: number[] = [];
    while (chosen.length < Math.min(K, Kc)) {
      const a = rng.categorical(probs);
      chosen.push(a);
      probs[a] = 0;
      if (!probs.some((p) => p > 0)) probs.forEach((_, j) => (probs[j] = chosen.includes(j) ? 0 : 1));
    }
    const keyed = chosen.map((a) => ({
      a,
      key: r[lo + a] / temperature - Math.log(-Math.log(1 - rng.uniform())),
    }));
    keyed.sort((x, y) => y.key - x.key);
    list.push({ context: c, items: keyed.map((k) => k.a) });
  }
  return rankingsFromLists(list);
}

/**
 * Linear DPO loss in its Plackett–Luce form, for π_w(a|x) ∝ π0(a|x)·exp(⟨w, φ(x,a)⟩):
 * (1/n) Σ_rankings Σ_k [logsumexp_{m≥k} h_m − h_k] + (λη²/2n)‖w‖², h = η·log(π_w/π0) (the implicit
 * reward, computed through the normalised policy). For K = 2 it is the core's dpoLinearLoss. Adds ∇_w
 * into grad when given.
 */
export function dpoPlackettLuceLoss(
  env: BanditEnv,
  data: RankingData,
  w: ArrayLike<number>,
  eta: number,
  lambda: number,
  grad?: Float64Array,
): number {
  const n = data.context.length;
  const d = env.d;
  if (n === 0) return 0;
  const logp = gibbsOfTheta(env, w, 1);
  const h = Float64Array.from(logp, (lp, a) => eta * (lp - env.refLogprobs[a]));
  const g = grad ? new Float64Array(d) : undefined;
  let loss = 0;
  for (let i = 0; i < n; i++) loss += rankingTerms(env, flatItems(env, data, i), h, eta, g);
  let w2 = 0;
  for (let j = 0; j < d; j++) w2 += w[j] * w[j];
  const ridge = (lambda * eta * eta) / n;
  if (grad && g) for (let j = 0; j < d; j++) grad[j] += g[j] / n + ridge * w[j];
  return loss / n + 0.5 * ridge * w2;
}

/** Breaks rankings into pairs: 'adjacent' (K−1 pairs: a_k ≻ a_{k+1}) or 'all' (K(K−1)/2 pairs). */
export function rankingsToPairs(
  data: RankingData,
  mode: 'adjacent' | 'all',
): { context: Int32Array; chosen: Int32Array; rejected: Int32Array } {
  const ctx: number[] = [];
  const ch: number[] = [];
  const rj: number[] = [];
  for (let i = 0; i < data.context.length; i++) {
    const it = data.items.subarray(data.start[i], data.start[i + 1]);
    for (let a = 0; a < it.length; a++)
      for (let b = a + 1; b < (mode === 'adjacent' ? Math.min(a + 2, it.length) : it.length); b++) {
        ctx.push(data.context[i]);
        ch.push(it[a]);
        rj.push(it[b]);
      }
  }
  return { context: Int32Array.from(ctx), chosen: Int32Array.from(ch), rejected: Int32Array.from(rj) };
}
