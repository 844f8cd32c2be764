/**
 * Online loops of the multi-objective and multi-annotator lab (the iterative GSHF loop of paper
 * §2.2 with a richer feedback channel). Both follow the same schedule: T batches; before each, the
 * main agent π¹_t = Gibbs(π0, r̂_t/η) from all data so far; pairs drawn as a1 ~ π¹_t, a2 ~ the
 * exploration policy ½π¹_t + ½·uniform (a1 ≠ a2); after the last batch the final estimate's Gibbs
 * policy is the output.
 *
 * Multi-objective (`runMultiObjectiveGshf`): the target is the scalarised reward Σ_k w_k r_k; the
 * main agent uses Σ_k w_k θ̂_k with per-dimension BT-MLEs. Each pair is labelled on one dimension:
 *   'round-robin' — dimensions in turn;
 *   'uncertainty' — the enhancer's choice: the dimension whose label removes the most variance
 *                   from this pair's scalarised reward difference, k* = argmax_k w_k²·q_k²/(1 + q_k)
 *                   with q_k = Δφᵀ Σ_k⁻¹ Δφ (the Sherman–Morrison decrease of w_k²·Δφᵀ Σ_k⁻¹ Δφ),
 *                   Σ_k updated after every label so the choice accounts for labels already bought.
 *
 * Annotators (`runAnnotatedOnline`): labels come from a pool with unknown reliabilities;
 *   'plain'    — BT-MLE on every label as if all annotators were the reference;
 *   'weighted' — the joint (θ, s) estimate (annotators.ts) re-fitted before every batch;
 *   'routed'   — weighted, and the next batch's labels are routed to annotator j with probability
 *                ∝ max(ŝ_j, 0)² (down-ranking unreliable annotators; uniform before the first fit).
 */
import { GshfInputError } from '../../math/errors.js';
import { Uncertainty } from '../uncertainty.js';
import type { Rng } from '../../math/rng.js';
import type { BanditEnv } from '../env.js';
import { fitMLE } from '../mle.js';
import { gibbsOfTheta, uniformPolicy } from '../policy.js';
import { scaledIdentity } from '../../math/linalg.js';
import {
  combineThetas,
  concatMultiPairs,
  fitPerDimension,
  sampleMultiPairs,
  type MultiObjectiveOracle,
  type MultiPairData,
} from './objectives.js';
import {
  AnnotatorPool,
  concatAnnotated,
  fitAnnotatorModel,
  sampleAnnotatedPairs,
  type AnnotatedPairs,
} from './annotators.js';

export interface OnlineScheduleOptions {
  T: number;
  /** Total labels over the T batches (split as evenly as possible). */
  budget: number;
  lambda: number;
}

function batchSizes(o: OnlineScheduleOptions): number[] {
  if (!Number.isInteger(o.T) || o.T < 1)
    throw new GshfInputError(`online loop: T must be an integer ≥ 1, got ${o.T}`);
  return Array.from(
    { length: o.T },
    (_, t) => Math.floor(((t + 1) * o.budget) / o.T) - Math.floor((t * o.budget) / o.T),
  );
}

/** log(½π + ½·uniform), flat. */
function explorationPolicy(env: BanditEnv, logp: Float64Array): Float64Array {
  const u = uniformPolicy(env);
  return Float64Array.from(logp, (lp, a) => Math.log(0.5 * Math.exp(lp) + 0.5 * Math.exp(u[a])));
}

export interface MultiObjectiveRun {
  policy: Float64Array;
  thetas: Float64Array[];
  labelsPerDimension: number[];
}

export function runMultiObjectiveGshf(
  env: BanditEnv,
  oracle: MultiObjectiveOracle,
  w: number[],
  rule: 'round-robin' | 'uncertainty',
  o: OnlineScheduleOptions,
  rng: Rng,
): MultiObjectiveRun {
  const k = oracle.k;
  const d = env.d;
  let data: MultiPairData = {
    context: new Int32Array(0),
    chosen: new Int32Array(0),
    rejected: new Int32Array(0),
    dimension: new Int32Array(0),
  };
  const sigmas = Array.from({ length: k }, () => new Uncertainty(scaledIdentity(d, o.lambda), d));
  let thetas: Float64Array[] = Array.from({ length: k }, () => new Float64Array(d));
  let next = 0;
  for (const m of batchSizes(o)) {
    const main = gibbsOfTheta(env, combineThetas(thetas, w));
    const explore = explorationPolicy(env, main);
    const batch =
      rule === 'round-robin'
        ? sampleMultiPairs(env, main, explore, m, oracle, (i) => (next + i) % k, rng)
        : uncertaintyBatch(env, main, explore, m, oracle, w, sigmas, rng);
    next = (next + batch.context.length) % k;
    data = concatMultiPairs(data, batch);
    thetas = fitPerDimension(env, data, k, { lambda: o.lambda }).map((r) => r.theta);
  }
  const labelsPerDimension = Array.from({ length: k }, (_, j) => oracle.queriesOn(j));
  return { policy: gibbsOfTheta(env, combineThetas(thetas, w)), thetas, labelsPerDimension };
}

/** One batch whose every pair is labelled on argmax_k w_k²·‖Δφ‖²_{Σ_k⁻¹}, updating Σ_k as it goes. */
function uncertaintyBatch(
  env: BanditEnv,
  main: Float64Array,
  explore: Float64Array,
  m: number,
  oracle: MultiObjectiveOracle,
  w: number[],
  sigmas: Uncertainty[],
  rng: Rng,
): MultiPairData {
  const d = env.d;
  const chooser = (pairContext: number, a1: number, a2: number): number => {
    const base = env.offsets[pairContext];
    const v = new Float64Array(d);
    for (let j = 0; j < d; j++) v[j] = env.features[(base + a1) * d + j] - env.features[(base + a2) * d + j];
    let best = 0;
    let bestScore = -Infinity;
    sigmas.forEach((s, k) => {
      // Sherman–Morrison: labelling this pair on k lowers w_k²·vᵀΣ_k⁻¹v by w_k²·q²/(1 + q), q = vᵀΣ_k⁻¹v.
      const q = s.norm(v) ** 2;
      const score = (w[k] * w[k] * q * q) / (1 + q);
      if (score > bestScore) [best, bestScore] = [k, score];
    });
    sigmas[best].update(v, 1);
    return best;
  };
  return sampleMultiPairs(env, main, explore, m, oracle, (_i, c, a1, a2) => chooser(c, a1, a2), rng);
}

export type AnnotatorMode = 'plain' | 'weighted' | 'routed';

export interface AnnotatedRun {
  policy: Float64Array;
  theta: Float64Array;
  /** Final reliability estimates (plain: all 1). */
  reliability: Float64Array;
  /** Labels answered per annotator. */
  labels: Int32Array;
}

export function runAnnotatedOnline(
  env: BanditEnv,
  pool: AnnotatorPool,
  mode: AnnotatorMode,
  o: OnlineScheduleOptions,
  rng: Rng,
): AnnotatedRun {
  const J = pool.size;
  let data: AnnotatedPairs = {
    context: new Int32Array(0),
    chosen: new Int32Array(0),
    rejected: new Int32Array(0),
    annotator: new Int32Array(0),
  };
  let theta: Float64Array = new Float64Array(env.d);
  let reliability: Float64Array = new Float64Array(J).fill(1);
  const fit = () => {
    if (mode === 'plain') theta = fitMLE(env, data, { lambda: o.lambda }).theta;
    else ({ theta, reliability } = fitAnnotatorModel(env, data, J, { lambda: o.lambda }));
  };
  for (const m of batchSizes(o)) {
    const main = gibbsOfTheta(env, theta);
    const route =
      mode === 'routed' && data.context.length > 0
        ? Float64Array.from(reliability, (s) => Math.max(s, 0) ** 2)
        : new Float64Array(J).fill(1);
    const batch = sampleAnnotatedPairs(env, main, explorationPolicy(env, main), m, pool, rng, route);
    data = concatAnnotated(data, batch);
    fit();
  }
  return { policy: gibbsOfTheta(env, theta), theta, reliability, labels: Int32Array.from(pool.queries) };
}
