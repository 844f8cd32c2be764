/**
 * Ties: the Rao–Kupper model (1967). With Δ = r(x,a1) − r(x,a2) and a tie threshold α > 0,
 *   P(a1 ≻ a2) = σ(Δ − α),   P(a2 ≻ a1) = σ(−Δ − α),   P(tie) = 1 − σ(Δ − α) − σ(−Δ − α),
 * and in log space log P(tie) = log σ(α − Δ) + log σ(α + Δ) + log(1 − e^{−2α}) (exact, no
 * cancellation). α → 0 recovers Bradley–Terry (no ties). The negative log-likelihood is jointly
 * convex in (θ, α) (an ordinal logistic model), so the tie-aware MLE is one damped Newton solve
 * over d + 1 parameters. The tie-blind estimator drops the ties and fits BT (the core's fitMLE):
 * given no tie, P(a1 ≻ a2) has slope σ(α)/2 > ¼ at Δ = 0, so it overstates the reward scale.
 */
import { GshfInputError } from '../../math/errors.js';
import type { Rng } from '../../math/rng.js';
import { logSigmoid, sigmoid } from '../../math/special.js';
import type { BanditEnv, PairData } from '../env.js';
import { featureDiffs } from '../env.js';
import { gibbsOfTheta, rewardsOf } from '../policy.js';
import { newtonMinimize, type NewtonResult } from './newton.js';
import { drawDistinctPairs } from './pairs.js';

/** Pairs with a tie flag: tie[i] = 1 means "no preference" (then chosen/rejected are just a1, a2). */
export interface TiedPairData extends PairData {
  tie: Uint8Array;
}

export type Outcome = 'first' | 'second' | 'tie';

/** [P(a1 ≻ a2), P(a2 ≻ a1), P(tie)] under Rao–Kupper. */
export function raoKupperProbabilities(delta: number, alpha: number): [number, number, number] {
  const w = sigmoid(delta - alpha);
  const l = sigmoid(-delta - alpha);
  return [w, l, Math.exp(logTie(delta, alpha))];
}

function logTie(delta: number, alpha: number): number {
  return logSigmoid(alpha - delta) + logSigmoid(alpha + delta) + Math.log(-Math.expm1(-2 * alpha));
}

/** Per-pair −log-likelihood and its derivatives in (Δ, α); `won` = first preferred, `tie` = tie. */
export interface PairTerms {
  nll: number;
  dD: number;
  dA: number;
  dDD: number;
  dAA: number;
  dDA: number;
}

/** −log P(outcome) with Δ = r(chosen) − r(rejected) for non-ties, r(a1) − r(a2) for ties. */
export function raoKupperTerms(delta: number, alpha: number, tie: boolean): PairTerms {
  if (!tie) {
    // −log σ(Δ − α): p = σ(α − Δ).
    const p = sigmoid(alpha - delta);
    const v = p * (1 - p);
    return { nll: -logSigmoid(delta - alpha), dD: -p, dA: p, dDD: v, dAA: v, dDA: -v };
  }
  const s1 = sigmoid(alpha - delta);
  const s2 = sigmoid(alpha + delta);
  const v1 = s1 * (1 - s1);
  const v2 = s2 * (1 - s2);
  const e = Math.expm1(2 * alpha); // e^{2α} − 1
  return {
    nll: -logTie(delta, alpha),
    dD: 1 - s1 - (1 - s2),
    dA: -(1 - s1) - (1 - s2) - 2 / e,
    dDD: v1 + v2,
    dAA: v1 + v2 + (4 * (e + 1)) / (e * e),
    dDA: -v1 + v2,
  };
}

/** Rao–Kupper oracle at θ and α: outcome of (a1, a2) in context c. Counts queries. */
export class TieOracle {
  queries = 0;
  readonly rewards: Float64Array;

  constructor(
    readonly env: BanditEnv,
    theta: Float64Array,
    readonly alpha: number,
    readonly rng: Rng,
  ) {
    if (!(alpha > 0)) throw new GshfInputError(`TieOracle: alpha must be > 0, got ${alpha}`);
    this.rewards = rewardsOf(env, theta);
  }

  outcome(c: number, a1: number, a2: number): Outcome {
    this.queries++;
    const base = this.env.offsets[c];
    const [w, l] = raoKupperProbabilities(this.rewards[base + a1] - this.rewards[base + a2], this.alpha);
    const u = this.rng.uniform();
    return u < w ? 'first' : u < w + l ? 'second' : 'tie';
  }
}

/** n labelled pairs with a1 ≠ a2 (x ~ d0, a1, a2 ~ policy; redrawn when equal, at most 50n draws). */
export function sampleTiedPairs(
  env: BanditEnv,
  policy: ArrayLike<number>,
  n: number,
  oracle: TieOracle,
  rng: Rng,
): TiedPairData {
  const ctx: number[] = [];
  const ch: number[] = [];
  const rj: number[] = [];
  const tie: number[] = [];
  drawDistinctPairs(env, policy, policy, n, rng, (_i, c, a1, a2) => {
    const o = oracle.outcome(c, a1, a2);
    ctx.push(c);
    ch.push(o === 'second' ? a2 : a1);
    rj.push(o === 'second' ? a1 : a2);
    tie.push(o === 'tie' ? 1 : 0);
  });
  return {
    context: Int32Array.from(ctx),
    chosen: Int32Array.from(ch),
    rejected: Int32Array.from(rj),
    tie: Uint8Array.from(tie),
  };
}

/** The non-tied pairs (what a tie-blind BT fit sees). */
export function withoutTies(data: TiedPairData): PairData {
  const idx = [...data.tie.keys()].filter((i) => data.tie[i] === 0);
  return {
    context: Int32Array.from(idx, (i) => data.context[i]),
    chosen: Int32Array.from(idx, (i) => data.chosen[i]),
    rejected: Int32Array.from(idx, (i) => data.rejected[i]),
  };
}

/**
 * Σ_i −log P_RK(outcome_i | Δ_i = ⟨θ, Δφ_i⟩, α) + (λ/2)‖θ‖² over x = [θ, α] (length d+1); +∞ for α ≤ 0.
 * Adds ∇ and ∇² into grad/hess when given. `scale` multiplies every margin (DPO's η; 1 for the MLE).
 */
export function raoKupperNegLogLik(
  dphi: Float64Array,
  tie: Uint8Array,
  d: number,
  x: ArrayLike<number>,
  lambda: number,
  grad?: Float64Array,
  hess?: Float64Array,
  scale = 1,
): number {
  const alpha = x[d];
  if (!(alpha > 0)) return Infinity;
  const p = d + 1;
  let s = 0;
  const row = new Float64Array(d);
  for (let i = 0; i < tie.length; i++) {
    let z = 0;
    for (let j = 0; j < d; j++) z += x[j] * dphi[i * d + j];
    const t = raoKupperTerms(scale * z, alpha, tie[i] === 1);
    s += t.nll;
    if (!grad) continue;
    for (let j = 0; j < d; j++) row[j] = scale * dphi[i * d + j];
    for (let j = 0; j < d; j++) grad[j] += t.dD * row[j];
    grad[d] += t.dA;
    if (!hess) continue;
    for (let a = 0; a < d; a++) {
      for (let b = 0; b < d; b++) hess[a * p + b] += t.dDD * row[a] * row[b];
      hess[a * p + d] += t.dDA * row[a];
      hess[d * p + a] += t.dDA * row[a];
    }
    hess[d * p + d] += t.dAA;
  }
  let t2 = 0;
  for (let j = 0; j < d; j++) {
    t2 += x[j] * x[j];
    if (grad) grad[j] += lambda * x[j];
    if (hess) hess[j * p + j] += lambda;
  }
  return s + 0.5 * lambda * t2;
}

/** Tie-aware ridge MLE of (θ, α) under Rao–Kupper. */
export function fitRaoKupper(
  env: BanditEnv,
  data: TiedPairData,
  opts: { lambda: number; alpha0?: number; tol?: number },
): NewtonResult & { theta: Float64Array; alpha: number } {
  if (!(opts.lambda > 0)) throw new GshfInputError(`fitRaoKupper: lambda must be > 0, got ${opts.lambda}`);
  const d = env.d;
  const dphi = featureDiffs(env, data);
  const x0 = new Float64Array(d + 1);
  x0[d] = opts.alpha0 ?? 0.5;
  const res = newtonMinimize((x, g, H) => raoKupperNegLogLik(dphi, data.tie, d, x, opts.lambda, g, H), x0, {
    tol: (opts.tol ?? 1e-10) * Math.max(1, data.tie.length),
  });
  return { ...res, theta: res.x.slice(0, d), alpha: res.x[d] };
}

/**
 * Tie-aware linear DPO loss: the Rao–Kupper −log-likelihood with Δ = η·[log(π_w/π0)(a1) −
 * log(π_w/π0)(a2)] (computed through the normalised policy π_w ∝ π0·exp(⟨w,φ⟩)), averaged over pairs,
 * + (λη²/2n)‖w‖². Parameters x = [w, α]; adds ∇ into grad when given.
 */
export function dpoRaoKupperLoss(
  env: BanditEnv,
  data: TiedPairData,
  x: ArrayLike<number>,
  eta: number,
  lambda: number,
  grad?: Float64Array,
): number {
  const n = data.tie.length;
  const d = env.d;
  if (n === 0) return 0;
  const w = Array.from({ length: d }, (_, j) => x[j]);
  const logp = gibbsOfTheta(env, w, 1);
  const alpha = x[d];
  if (!(alpha > 0)) return Infinity;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const base = env.offsets[data.context[i]];
    const a1 = base + data.chosen[i];
    const a2 = base + data.rejected[i];
    const h = eta * (logp[a1] - env.refLogprobs[a1] - (logp[a2] - env.refLogprobs[a2]));
    const t = raoKupperTerms(h, alpha, data.tie[i] === 1);
    loss += t.nll;
    if (!grad) continue;
    // ∂h/∂w = η(φ_a1 − φ_a2): the log Z terms of the two actions cancel.
    for (let j = 0; j < d; j++)
      grad[j] += (t.dD * eta * (env.features[a1 * d + j] - env.features[a2 * d + j])) / n;
    grad[d] += t.dA / n;
  }
  const ridge = (lambda * eta * eta) / n;
  let w2 = 0;
  for (let j = 0; j < d; j++) {
    w2 += w[j] * w[j];
    if (grad) grad[j] += ridge * w[j];
  }
  return loss / n + 0.5 * ridge * w2;
}
