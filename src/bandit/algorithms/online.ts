/**
 * Online iterative GSHF and hybrid GSHF (paper §2.2 = RLHF Workflow Algorithm 1) for the exact
 * bandit lab. One loop serves both; they differ only in the starting data set D:
 *
 *   D ← D_off (hybrid: ctx.offline; online: ∅);  Σ_1 = λI + Σ_{D} ΔφΔφᵀ
 *   for t = 1..T:
 *     θ_t = ridge BT-MLE on D;  π_t^1 = Gibbs(π0, r_θt/η)            (main agent: pure exploitation)
 *     π_t^2 / pair rule from the enhancer (enhancers.ts)              (exploration)
 *     collect m_t labelled pairs: x ~ d0, (a1, a2) from the enhancer, y from the oracle;
 *       proposals with a1 = a2 are dropped without a query, and drawing continues until m_t labels
 *       are used or maxDrawFactor·m_t proposals were made (so budgets match across enhancers)
 *     D ← D ∪ batch;  Σ_{t+1} = Σ_t + Σ_batch ΔφΔφᵀ
 *   θ_{T+1} = MLE on all of D;  π_{T+1}^1 = Gibbs(r_θ{T+1}/η)
 *   output: the best of π_1^1..π_{T+1}^1 on held-out validation ('validation'), or π_{T+1}^1 ('last').
 *
 * Validation (the paper says only "chosen on a validation set"): each candidate gets
 * `validationQueries` fresh oracle comparisons against π0 (x ~ d0, a ~ candidate, b ~ π0) and is
 * scored by its win rate ('win-rate', default) or by its exact J under a reward fitted to all the
 * validation comparisons ('objective'); ties in the score go to the later candidate (more data). It runs after
 * training, on its own RNG stream, so the training trajectory is identical under both selection
 * rules. Its queries are reported as validationLabels, never in labelsUsed.
 */
import { addOuterProducts, scaledIdentity } from '../../math/linalg.js';
import type { Rng } from '../../math/rng.js';
import { allocPairs, featureDiffs, type BanditEnv, type PairData } from '../env.js';
import { fitMLE } from '../mle.js';
import { contextCdf, policyCdf, searchCdf, type PreferenceOracle } from '../oracle.js';
import { gibbs, objective, rewardsOf } from '../policy.js';
import {
  resolveOptions,
  requireInteger,
  requireNonNegative,
  requireNormBound,
  requireOneOf,
  requirePositive,
} from './offline-common.js';
import { ENHANCER_NAMES, prepareEnhancer, type EnhancerName, type PreparedEnhancer } from './enhancers.js';
import { bootstrapPrecision } from './ensemble-uncertainty.js';
import type { AlgorithmContext, AlgorithmResult, BanditAlgorithm, IterationRecord } from './types.js';

export type Selection = 'validation' | 'last';
export type ValidationScore = 'win-rate' | 'objective';

export interface OnlineGshfOptions {
  /** Number of online iterations (policy updates). */
  T: number;
  /** Labels per iteration (ignored when onlineBudget is set). */
  m: number;
  /**
   * Total online labels; when set (≥ 0) it overrides m: batch t gets ⌊budget/T⌋ or ⌈budget/T⌉ labels
   * so the total is exactly the budget (lets a runner sweep label budgets at fixed T). 0 is allowed
   * (a hybrid run whose whole budget went offline: every candidate is then the offline MLE-Gibbs).
   */
  onlineBudget: number | null;
  /** Ridge λ of the MLE and of Σ = λI + Σ ΔφΔφᵀ. */
  lambda: number;
  /** Optional ‖θ‖ ≤ B constraint of the MLE (null: none). */
  normBound: number | null;
  /** Confidence radius β in Γ_t = β‖·‖_{Σ_t⁻¹} (only the 'uncertainty' enhancer's behaviour depends on it). */
  beta: number;
  /** Samples per context for the 'best-worst' and 'uncertainty-pair' enhancers. */
  n: number;
  enhancer: EnhancerName;
  /** ε of the 'epsilon-greedy' enhancer: the second action is uniform with probability ε. */
  epsilon: number;
  /**
   * The Σ the enhancer sees: 'design' = λI + Σ ΔφΔφᵀ (the paper's), 'ensemble' = the inverse
   * covariance of a bootstrap ensemble of MLEs (ensemble-uncertainty.ts). The MLE is unchanged.
   */
  sigmaSource: 'design' | 'ensemble';
  /** Bootstrap members K for sigmaSource 'ensemble'. */
  ensembleSize: number;
  /** Oracle comparisons vs π0 per candidate for model selection (counted as validationLabels). */
  validationQueries: number;
  selection: Selection;
  /**
   * Validation score: 'win-rate' = win rate vs π0 over the candidate's queries; 'objective' = the
   * exact J of the candidate under a held-out reward (BT-MLE on all candidates' validation queries).
   */
  validationScore: ValidationScore;
  /** At most maxDrawFactor·m_t proposals per iteration (guards against an enhancer that only ties). */
  maxDrawFactor: number;
}

/**
 * Defaults. β = 1 is a practical choice, not the theory's: the BT-MLE radius
 * √((d + log 1/δ)/γ² + λB²) (offline-common theoryBeta) is ≈13 for d = 4, B = 1 and makes the
 * enhancer tilt almost to an argmax; the guarantee holds for "suitable β" only up to constants.
 */
export const onlineDefaults: OnlineGshfOptions = {
  T: 10,
  m: 100,
  onlineBudget: null,
  lambda: 1,
  normBound: null,
  beta: 1,
  n: 8,
  enhancer: 'uncertainty',
  epsilon: 0.1,
  sigmaSource: 'design',
  ensembleSize: 8,
  validationQueries: 200,
  selection: 'validation',
  validationScore: 'win-rate',
  maxDrawFactor: 50,
};

export const hybridDefaults: OnlineGshfOptions = { ...onlineDefaults };

function validateOptions(
  name: string,
  given: Partial<OnlineGshfOptions> | undefined,
  defaults: OnlineGshfOptions,
): OnlineGshfOptions {
  const o = resolveOptions(name, defaults, given);
  requireInteger(name, 'T', o.T, 1);
  requireInteger(name, 'm', o.m, 1);
  if (o.onlineBudget !== null) requireInteger(name, 'onlineBudget', o.onlineBudget, 0);
  requirePositive(name, 'lambda', o.lambda);
  requireNormBound(name, o.normBound);
  requirePositive(name, 'beta', o.beta);
  requireInteger(name, 'n', o.n, 2);
  requireOneOf(name, 'enhancer', o.enhancer, ENHANCER_NAMES);
  requireOneOf(name, 'sigmaSource', o.sigmaSource, ['design', 'ensemble'] as const);
  requireInteger(name, 'ensembleSize', o.ensembleSize, 2);
  if (!(o.epsilon >= 0 && o.epsilon <= 1))
    throw new Error(`${name}: option epsilon must be in [0, 1], got ${o.epsilon}`);
  requireInteger(name, 'validationQueries', o.validationQueries, 0);
  requireOneOf(name, 'selection', o.selection, ['validation', 'last'] as const);
  requireOneOf(name, 'validationScore', o.validationScore, ['win-rate', 'objective'] as const);
  requireNonNegative(name, 'maxDrawFactor', o.maxDrawFactor);
  if (o.maxDrawFactor < 1)
    throw new Error(`${name}: option maxDrawFactor must be ≥ 1, got ${o.maxDrawFactor}`);
  if (o.selection === 'validation' && o.validationQueries < 1)
    throw new Error(`${name}: selection 'validation' needs validationQueries ≥ 1`);
  return o;
}

/** Batch sizes m_1..m_T. */
export function batchSizes(o: Pick<OnlineGshfOptions, 'T' | 'm' | 'onlineBudget'>): number[] {
  if (o.onlineBudget === null) return Array.from({ length: o.T }, () => o.m);
  const base = Math.floor(o.onlineBudget / o.T);
  const extra = o.onlineBudget - base * o.T;
  return Array.from({ length: o.T }, (_, i) => base + (i < extra ? 1 : 0));
}

/** Growable Δφ store so the MLE is refit on all of D without rebuilding feature differences. */
class DiffStore {
  dphi: Float64Array;
  n = 0;
  constructor(
    readonly d: number,
    capacity: number,
  ) {
    this.dphi = new Float64Array(Math.max(1, capacity) * d);
  }
  push(rows: Float64Array, count: number): void {
    const need = (this.n + count) * this.d;
    if (need > this.dphi.length) {
      const next = new Float64Array(Math.max(need, 2 * this.dphi.length));
      next.set(this.dphi.subarray(0, this.n * this.d));
      this.dphi = next;
    }
    this.dphi.set(rows.subarray(0, count * this.d), this.n * this.d);
    this.n += count;
  }
}

/**
 * Validation draws shared by every candidate (common random numbers): contexts, π0's actions and the
 * uniforms that pick each candidate's action by inverse CDF. Similar candidates then pick the same
 * actions on most queries, so score differences reflect policy differences rather than sampling
 * noise (the oracle's own label noise remains).
 */
interface ValidationDraws {
  context: Int32Array;
  refAction: Int32Array;
  u: Float64Array;
}

function validationDraws(env: BanditEnv, q: number, rng: Rng): ValidationDraws {
  const ccdf = contextCdf(env);
  const cdf0 = policyCdf(env, env.refLogprobs);
  const out: ValidationDraws = {
    context: new Int32Array(q),
    refAction: new Int32Array(q),
    u: new Float64Array(q),
  };
  for (let i = 0; i < q; i++) {
    const c = searchCdf(ccdf, 0, env.nContexts, rng.uniform());
    out.context[i] = c;
    out.refAction[i] = searchCdf(cdf0, env.offsets[c], env.offsets[c + 1], rng.uniform());
    out.u[i] = rng.uniform();
  }
  return out;
}

/**
 * Query the oracle on candidate-vs-π0 pairs over the shared draws (one query each). Returns the win
 * rate (a = b counts as the oracle's fair coin under BT) and writes the labelled pairs (winner as
 * chosen) into `pairs` from row `row` on, for the held-out reward fit of the 'objective' score.
 */
function queryVsRef(
  env: BanditEnv,
  logp: Float64Array,
  draws: ValidationDraws,
  oracle: PreferenceOracle,
  pairs: PairData,
  row: number,
): number {
  const cdf = policyCdf(env, logp);
  const q = draws.context.length;
  let wins = 0;
  for (let i = 0; i < q; i++) {
    const c = draws.context[i];
    const a = searchCdf(cdf, env.offsets[c], env.offsets[c + 1], draws.u[i]);
    const b = draws.refAction[i];
    const y = oracle.prefers(c, a, b);
    if (y) wins++;
    pairs.context[row + i] = c;
    pairs.chosen[row + i] = y ? a : b;
    pairs.rejected[row + i] = y ? b : a;
  }
  return wins / q;
}

/** The data so far (D, as feature differences Δφ) and Σ = λI + Σ_D ΔφΔφᵀ, with the ridge BT-MLE on D. */
class LoopData {
  readonly store: DiffStore;
  readonly sigma: Float64Array;
  theta: Float64Array;

  constructor(
    private readonly env: BanditEnv,
    offline: PairData,
    capacity: number,
    private readonly o: OnlineGshfOptions,
  ) {
    const d = env.d;
    this.store = new DiffStore(d, capacity);
    this.sigma = scaledIdentity(d, o.lambda);
    this.theta = new Float64Array(d);
    const nOff = offline.context.length;
    if (nOff > 0) this.add(featureDiffs(env, offline), nOff);
  }

  /** D ← D ∪ rows; Σ += Σ_rows ΔφΔφᵀ. */
  add(dphi: Float64Array, count: number): void {
    this.store.push(dphi, count);
    addOuterProducts(count, this.env.d, dphi, null, this.sigma);
  }

  /** θ ← ridge BT-MLE on D, warm-started from the previous θ (0 with no data). */
  fit(): { iterations: number; converged: boolean } {
    const d = this.env.d;
    if (this.store.n === 0) {
      this.theta = new Float64Array(d);
      return { iterations: 0, converged: true };
    }
    const { lambda, normBound } = this.o;
    const opts = normBound === null ? { lambda, init: this.theta } : { lambda, normBound, init: this.theta };
    const r = fitMLE({ dphi: this.store.dphi, n: this.store.n, d }, opts);
    this.theta = r.theta;
    return { iterations: r.iterations, converged: r.converged };
  }
}

interface Candidate {
  policy: Float64Array;
  theta: Float64Array;
  labels: number;
}

/** Running totals over the iterations (the run's diagnostics). */
interface Totals {
  onlineLabels: number;
  draws: number;
  dropped: number;
  shortfall: number;
  minSlack: number;
  gammaSum: number;
  gammaCount: number;
  mleNotConverged: number;
}

/**
 * One batch: draw x ~ d0 and the enhancer's pair until `quota` labels are used or `maxDraws`
 * proposals were made; each labelled pair's Δφ (winner − loser) goes into `dphi`.
 */
function collectBatch(
  env: BanditEnv,
  oracle: PreferenceOracle,
  enh: PreparedEnhancer,
  rng: Rng,
  ccdf: Float64Array,
  quota: number,
  maxDraws: number,
  dphi: Float64Array,
): { got: number; draws: number; dropped: number } {
  const d = env.d;
  const pair = new Int32Array(2);
  let got = 0;
  let draws = 0;
  let dropped = 0;
  while (got < quota && draws < maxDraws) {
    draws++;
    const c = searchCdf(ccdf, 0, env.nContexts, rng.uniform());
    if (!enh.propose(c, rng, pair)) {
      dropped++;
      continue;
    }
    const y = oracle.prefers(c, pair[0], pair[1]);
    const w = y ? pair[0] : pair[1];
    const l = y ? pair[1] : pair[0];
    const fw = (env.offsets[c] + w) * d;
    const fl = (env.offsets[c] + l) * d;
    for (let j = 0; j < d; j++) dphi[got * d + j] = env.features[fw + j] - env.features[fl + j];
    got++;
  }
  return { got, draws, dropped };
}

/** Iteration t: fit, main agent π_t¹ (a candidate), the enhancer's batch, D and Σ updated. */
function runOnlineRound(
  ctx: AlgorithmContext,
  oracle: PreferenceOracle,
  data: LoopData,
  o: OnlineGshfOptions,
  t: number,
  quota: number,
  loop: {
    rng: Rng;
    ensembleRng: Rng;
    ccdf: Float64Array;
    batchDphi: Float64Array;
    nOff: number;
    totals: Totals;
  },
  candidates: Candidate[],
): IterationRecord {
  const { env } = ctx;
  const { totals } = loop;
  const mle = data.fit();
  if (!mle.converged) totals.mleNotConverged++;
  const rewards = rewardsOf(env, data.theta);
  const main = gibbs(env, rewards);
  const labelsBefore = loop.nOff + totals.onlineLabels;
  candidates.push({ policy: main, theta: Float64Array.from(data.theta), labels: labelsBefore });

  // The ensemble needs data: until there are 2 pairs the enhancer sees the design Σ = λI.
  const { store } = data;
  const sigma =
    o.sigmaSource === 'ensemble' && store.n >= 2
      ? bootstrapPrecision(store.dphi, store.n, env.d, o.lambda, o.ensembleSize, loop.ensembleRng).precision
      : data.sigma;
  const enh = prepareEnhancer(o.enhancer, {
    env,
    mainLogp: main,
    rewards,
    sigma,
    beta: o.beta,
    n: o.n,
    theta: data.theta,
    epsilon: o.epsilon,
  });
  const maxDraws = Math.ceil(o.maxDrawFactor * quota);
  const b = collectBatch(env, oracle, enh, loop.rng, loop.ccdf, quota, maxDraws, loop.batchDphi);
  data.add(loop.batchDphi, b.got);
  totals.onlineLabels += b.got;
  totals.draws += b.draws;
  totals.dropped += b.dropped;
  totals.shortfall += quota - b.got;
  if ('enhancerSlack' in enh.diagnostics)
    totals.minSlack = Math.min(totals.minSlack, enh.diagnostics.enhancerSlack);
  if ('enhancerGamma' in enh.diagnostics) {
    totals.gammaSum += enh.diagnostics.enhancerGamma;
    totals.gammaCount++;
  }
  const diagnostics: Record<string, number> = {
    ...enh.diagnostics,
    batchLabels: b.got,
    draws: b.draws,
    dropped: b.dropped,
    mleIterations: mle.iterations,
    thetaNorm: Math.hypot(...data.theta),
  };
  return { iteration: t, labels: labelsBefore, policy: main, diagnostics };
}

/**
 * Model selection: the last candidate ('last'), or the best on held-out validation comparisons
 * against π0 (win rate, or exact J under a reward fitted to them; ties go to the later candidate).
 */
function selectCandidate(
  ctx: AlgorithmContext,
  oracle: PreferenceOracle,
  o: OnlineGshfOptions,
  name: string,
  candidates: readonly Candidate[],
  records: IterationRecord[],
): { selected: number; validationLabels: number; bestScore: number; winRate: number } {
  const { env } = ctx;
  if (o.selection !== 'validation')
    return { selected: candidates.length - 1, validationLabels: 0, bestScore: NaN, winRate: NaN };
  const queries0 = oracle.queries;
  const draws = validationDraws(env, o.validationQueries, ctx.rng.fork(`${name}:validation`));
  const q = o.validationQueries;
  const pooled = allocPairs(q * candidates.length);
  const winRates = candidates.map((cand, i) => queryVsRef(env, cand.policy, draws, oracle, pooled, i * q));
  let scores = winRates;
  if (o.validationScore === 'objective') {
    // Held-out reward: ridge BT-MLE on all validation comparisons (never used for training), then
    // the exact KL-regularised objective of each candidate under it.
    const thetaVal = fitMLE(env, pooled, { lambda: o.lambda }).theta;
    const rVal = rewardsOf(env, thetaVal);
    scores = candidates.map((cand) => objective(env, cand.policy, rVal));
  }
  let selected = candidates.length - 1;
  let bestScore = -Infinity;
  scores.forEach((score, i) => {
    records[i].validationScore = score;
    if (score >= bestScore) {
      bestScore = score;
      selected = i;
    }
  });
  return { selected, validationLabels: oracle.queries - queries0, bestScore, winRate: winRates[selected] };
}

/** The shared online/hybrid loop. `offline` is D_off (empty for the purely online algorithm). */
export function runIterativeGshf(
  ctx: AlgorithmContext,
  offline: PairData,
  o: OnlineGshfOptions,
  name: string,
): AlgorithmResult {
  // --- phase 1: D ← D_off, Σ, the collection stream
  const { env, oracle } = ctx;
  if (oracle === null) throw new Error(`${name}: needs a preference oracle (ctx.oracle is null)`);
  const sizes = batchSizes(o);
  const nOff = offline.context.length;
  const queries0 = oracle.queries;
  const data = new LoopData(env, offline, nOff + sizes.reduce((a, b) => a + b, 0), o);
  const totals: Totals = {
    onlineLabels: 0,
    draws: 0,
    dropped: 0,
    shortfall: 0,
    minSlack: Infinity,
    gammaSum: 0,
    gammaCount: 0,
    mleNotConverged: 0,
  };
  const loop = {
    rng: ctx.rng.fork(`${name}:collect`),
    ensembleRng: ctx.rng.fork(`${name}:ensemble`),
    ccdf: contextCdf(env),
    batchDphi: new Float64Array(Math.max(...sizes, 1) * env.d),
    nOff,
    totals,
  };

  // --- phase 2: T rounds (each main agent π_t¹ is a candidate)
  const candidates: Candidate[] = [];
  const records: IterationRecord[] = [];
  for (let t = 1; t <= o.T; t++) {
    const rec = runOnlineRound(ctx, oracle, data, o, t, sizes[t - 1], loop, candidates);
    records.push(rec);
    ctx.onIteration?.(rec);
  }

  // --- phase 3: π_{T+1}^1, the MLE on all data, a candidate too (the paper lists only π_1..π_T, but
  // discarding the last batch's information would waste T·m/… labels; documented in
  // docs/bandit-algorithms-online.md).
  const mleFinal = data.fit();
  if (!mleFinal.converged) totals.mleNotConverged++;
  const finalPolicy = gibbs(env, rewardsOf(env, data.theta));
  const labels = nOff + totals.onlineLabels;
  candidates.push({ policy: finalPolicy, theta: Float64Array.from(data.theta), labels });
  const finalRec: IterationRecord = {
    iteration: o.T + 1,
    labels,
    policy: finalPolicy,
    diagnostics: { mleIterations: mleFinal.iterations, thetaNorm: Math.hypot(...data.theta) },
  };
  records.push(finalRec);
  ctx.onIteration?.(finalRec);
  const queriesTraining = oracle.queries - queries0;
  if (queriesTraining !== totals.onlineLabels)
    throw new Error(
      `${name}: internal label count ${totals.onlineLabels} != oracle queries ${queriesTraining}`,
    );

  // --- phase 4: model selection and the run's diagnostics
  const sel = selectCandidate(ctx, oracle, o, name, candidates, records);
  const diagnostics: Record<string, number> = {
    T: o.T,
    beta: o.beta,
    lambda: o.lambda,
    offlinePairs: nOff,
    onlineLabels: totals.onlineLabels,
    totalDraws: totals.draws,
    totalDropped: totals.dropped,
    shortfall: totals.shortfall,
    selectedIteration: sel.selected + 1,
    mleNotConverged: totals.mleNotConverged,
  };
  if (o.selection === 'validation') {
    diagnostics.selectedValidationScore = sel.bestScore;
    diagnostics.selectedWinRate = sel.winRate;
  }
  if (totals.gammaCount > 0) diagnostics.meanEnhancerGamma = totals.gammaSum / totals.gammaCount;
  if (Number.isFinite(totals.minSlack)) diagnostics.minEnhancerSlack = totals.minSlack;

  return {
    policy: candidates[sel.selected].policy,
    labelsUsed: labels,
    validationLabels: sel.validationLabels,
    thetaHat: candidates[sel.selected].theta,
    iterations: records,
    diagnostics,
  };
}

export const online: BanditAlgorithm<Partial<OnlineGshfOptions>> = {
  name: 'gshf-online',
  setting: 'online',
  description:
    'Online iterative GSHF (paper Alg. "online iterative GSHF" = RLHF Workflow Alg. 1): T rounds of ridge BT-MLE on all ' +
    'labels so far, main agent Gibbs(π0, r_MLE/η), an enhancer for the second action (uncertainty-maximising tilt ' +
    'within the KL budget by default; best-worst, symmetric, pi0, uncertainty-pair), m oracle labels per round; ' +
    'outputs the best main agent on held-out validation. Ignores offline data.',
  checkOptions(options) {
    validateOptions(this.name, options, onlineDefaults);
  },
  run(ctx, options) {
    const o = validateOptions(this.name, options, onlineDefaults);
    return runIterativeGshf(
      ctx,
      { context: new Int32Array(0), chosen: new Int32Array(0), rejected: new Int32Array(0) },
      o,
      this.name,
    );
  },
};

export const hybrid: BanditAlgorithm<Partial<OnlineGshfOptions>> = {
  name: 'gshf-hybrid',
  setting: 'hybrid',
  description:
    'Hybrid GSHF: the online iterative GSHF loop started from the offline preference set (D ← D_off, Σ includes ' +
    'the offline pairs), then T online rounds of m labels each; labelsUsed = offline pairs + online queries.',
  checkOptions(options) {
    validateOptions(this.name, options, hybridDefaults);
  },
  run(ctx, options) {
    const o = validateOptions(this.name, options, hybridDefaults);
    return runIterativeGshf(ctx, ctx.offline, o, this.name);
  },
};

export const onlineAlgorithms = [online, hybrid] as const;
