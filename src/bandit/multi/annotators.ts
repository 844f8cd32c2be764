/**
 * Noisy and disagreeing annotators: annotator j answers with a Bradley–Terry temperature of its own,
 *   P_j(a1 ≻ a2) = σ(s_j·(r(x,a1) − r(x,a2))),   s_j = 1/T_j ∈ R  (the annotator's reliability),
 * so s_j = 1 is the reference annotator, 0 < s_j < 1 a noisy one, s_j = 0 a coin and s_j < 0 an
 * adversarial one (it prefers the worse response). (θ, s) are identified only up to θ → cθ, s → s/c;
 * we fix the scale by making the label-weighted median of s equal to 1 ("the reward is measured in
 * the units of the median annotator"), which needs an honest majority.
 *
 * Joint MLE by block coordinate descent on L(θ, s) = Σ_i softplus(−s_{j(i)}⟨θ, Δφ_i⟩) + (λ/2)‖θ‖²
 * + (λ_s/2)Σ_j s_j²: the θ-block is the core's ridge BT-MLE on rows Δφ_i·s_{j(i)} (fitMLE on
 * DiffData), each s_j-block a 1-D convex Newton solve on its own labels; then the median rescaling.
 * λ_s > 0 shrinks annotators with few labels toward s = 0 (uninformative), never toward trust.
 */
import { GshfInputError, GshfNumericError } from '../../math/errors.js';
import type { Rng } from '../../math/rng.js';
import { logSigmoid, sigmoid } from '../../math/special.js';
import type { BanditEnv, PairData } from '../env.js';
import { featureDiffs } from '../env.js';
import { fitMLE } from '../mle.js';
import { rewardsOf } from '../policy.js';
import { newtonMinimize } from './newton.js';
import { concatColumns, drawDistinctPairs } from './pairs.js';

/** Pairs with the annotator who labelled each (0..nAnnotators−1). */
export interface AnnotatedPairs extends PairData {
  annotator: Int32Array;
}

/** A pool of simulated annotators with reliabilities s_j at the true θ. */
export class AnnotatorPool {
  readonly rewards: Float64Array;
  /** Labels answered per annotator. */
  readonly queries: Int32Array;

  constructor(
    readonly env: BanditEnv,
    theta: Float64Array,
    readonly reliability: number[],
    readonly rng: Rng,
  ) {
    if (reliability.length === 0 || reliability.some((s) => !Number.isFinite(s)))
      throw new GshfInputError(
        `AnnotatorPool: reliabilities must be finite numbers, got [${reliability.join(', ')}]`,
      );
    this.rewards = rewardsOf(env, theta);
    this.queries = new Int32Array(reliability.length);
  }

  get size(): number {
    return this.reliability.length;
  }

  prefers(j: number, c: number, a1: number, a2: number): boolean {
    this.queries[j]++;
    const base = this.env.offsets[c];
    return (
      this.rng.uniform() < sigmoid(this.reliability[j] * (this.rewards[base + a1] - this.rewards[base + a2]))
    );
  }
}

/**
 * n labelled pairs with a1 ≠ a2 (x ~ d0, a1 ~ π1, a2 ~ π2, redrawn when equal), each labelled by an
 * annotator drawn from `route` (probabilities over annotators; default uniform).
 */
export function sampleAnnotatedPairs(
  env: BanditEnv,
  policy1: ArrayLike<number>,
  policy2: ArrayLike<number>,
  n: number,
  pool: AnnotatorPool,
  rng: Rng,
  route: ArrayLike<number> = new Float64Array(pool.size).fill(1),
): AnnotatedPairs {
  const o = {
    context: [] as number[],
    chosen: [] as number[],
    rejected: [] as number[],
    annotator: [] as number[],
  };
  drawDistinctPairs(env, policy1, policy2, n, rng, (_i, c, a1, a2) => {
    const j = rng.categorical(route);
    const y = pool.prefers(j, c, a1, a2);
    o.context.push(c);
    o.chosen.push(y ? a1 : a2);
    o.rejected.push(y ? a2 : a1);
    o.annotator.push(j);
  });
  return {
    context: Int32Array.from(o.context),
    chosen: Int32Array.from(o.chosen),
    rejected: Int32Array.from(o.rejected),
    annotator: Int32Array.from(o.annotator),
  };
}

export function concatAnnotated(a: AnnotatedPairs, b: AnnotatedPairs): AnnotatedPairs {
  return concatColumns(a, b);
}

export interface AnnotatorFitOptions {
  /** Ridge λ of θ (> 0). */
  lambda: number;
  /** Ridge λ_s of each s_j toward 0 (default 1). */
  reliabilityRidge?: number;
  maxRounds?: number;
  /** Stop when no s_j moves by more than tol in a round (default 1e-8). */
  tol?: number;
}

export interface AnnotatorFit {
  theta: Float64Array;
  /** s_j per annotator (label-weighted median 1). */
  reliability: Float64Array;
  /** Labels per annotator in the data. */
  labels: Int32Array;
  rounds: number;
  converged: boolean;
}

/** Joint (θ, s) estimate; nAnnotators fixes the length of s (annotators without labels get s = 0). */
export function fitAnnotatorModel(
  env: BanditEnv,
  data: AnnotatedPairs,
  nAnnotators: number,
  opts: AnnotatorFitOptions,
): AnnotatorFit {
  const d = env.d;
  const n = data.context.length;
  const lambdaS = opts.reliabilityRidge ?? 1;
  const dphi = featureDiffs(env, data);
  const labels = new Int32Array(nAnnotators);
  for (const j of data.annotator) {
    if (!(j >= 0 && j < nAnnotators))
      throw new GshfInputError(`fitAnnotatorModel: annotator ${j} is not in 0..${nAnnotators - 1}`);
    labels[j]++;
  }
  let s: Float64Array = Float64Array.from(labels, (c) => (c > 0 ? 1 : 0));
  let theta: Float64Array = new Float64Array(d);
  const scaled = new Float64Array(n * d);
  let round = 0;
  let converged = false;
  for (; round < (opts.maxRounds ?? 200) && !converged; round++) {
    for (let i = 0; i < n; i++)
      for (let j = 0; j < d; j++) scaled[i * d + j] = s[data.annotator[i]] * dphi[i * d + j];
    theta = fitMLE({ dphi: scaled, n, d }, { lambda: opts.lambda, init: theta }).theta;
    const next = reliabilitiesGivenTheta(dphi, data.annotator, d, theta, s, lambdaS);
    const m = weightedMedian(next, labels);
    if (!(m > 0))
      throw new GshfNumericError(
        'fitAnnotatorModel: the median annotator is not reliable (s ≤ 0): no honest majority',
      );
    for (let j = 0; j < d; j++) theta[j] *= m;
    for (let j = 0; j < nAnnotators; j++) next[j] /= m;
    converged = next.every((v, j) => Math.abs(v - s[j]) <= (opts.tol ?? 1e-8));
    s = next;
  }
  return { theta, reliability: s, labels, rounds: round, converged };
}

/** argmin_s Σ_{i of j} softplus(−s·z_i) + (λ_s/2)s², z_i = ⟨θ, Δφ_i⟩, per annotator. */
function reliabilitiesGivenTheta(
  dphi: Float64Array,
  annotator: Int32Array,
  d: number,
  theta: Float64Array,
  start: Float64Array,
  lambdaS: number,
): Float64Array {
  const margins: number[][] = Array.from({ length: start.length }, () => []);
  for (let i = 0; i < annotator.length; i++) {
    let z = 0;
    for (let j = 0; j < d; j++) z += theta[j] * dphi[i * d + j];
    margins[annotator[i]].push(z);
  }
  return Float64Array.from(margins, (zs, j) => {
    if (zs.length === 0) return 0;
    const f = (x: Float64Array, g?: Float64Array, H?: Float64Array) => {
      let v = 0.5 * lambdaS * x[0] * x[0];
      if (g && H) {
        g[0] += lambdaS * x[0];
        H[0] += lambdaS;
      }
      for (const z of zs) {
        v -= logSigmoid(x[0] * z);
        if (!g || !H) continue;
        const p = sigmoid(-x[0] * z);
        g[0] -= p * z;
        H[0] += p * (1 - p) * z * z;
      }
      return v;
    };
    return newtonMinimize(f, [start[j]], { tol: 1e-12 * Math.max(1, zs.length) }).x[0];
  });
}

/** The smallest v with Σ_{s_j ≤ v} w_j ≥ ½Σ w_j (annotators with weight 0 are ignored). */
export function weightedMedian(values: ArrayLike<number>, weights: ArrayLike<number>): number {
  const idx = Array.from(values, (_, j) => j)
    .filter((j) => weights[j] > 0)
    .sort((a, b) => values[a] - values[b]);
  const total = idx.reduce((t, j) => t + weights[j], 0);
  let acc = 0;
  for (const j of idx) {
    acc += weights[j];
    if (acc >= total / 2) return values[j];
  }
  return NaN;
}
