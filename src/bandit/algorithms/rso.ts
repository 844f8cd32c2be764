/**
 * RSO (statistical rejection sampling optimisation) and the paper's multi-step variant on the bandit.
 *
 * `rso`: for each context draw N candidates from π0 and accept each independently with probability
 * exp((r̂(a) − max_candidates r̂)/η) (r̂ = r_MLE): accepted samples follow ≈ Gibbs(π0, r̂/η), exactly
 * so once the candidates contain the context's best action. Accepted samples of one batch are
 * shuffled and paired consecutively (as in RSO), labelled by r̂ (higher preferred, equal rewards
 * dropped; or BT-sampled from σ(r̂_1 − r̂_2)), and a tabular DPO policy with reference π0 is trained
 * on the pairs. The labels are synthetic (from r̂), so no preference labels beyond the offline ones.
 *
 * `rso-multistep` (paper §2.1, whose exact recipe is [UNVERIFIED]); our reading, stage i = 1..N with
 * η_1 > … > η_N = η: propose from π_{i−1} (the policy trained at stage i−1; π_0 = π0), accept with
 * probability exp(w(a) − max_candidates w), w(a) = r̂(a)·(1/η_i − 1/η_{i−1}) with 1/η_0 = 0 (this
 * corrects Gibbs(η_{i−1}) to Gibbs(η_i), assuming π_{i−1} ≈ Gibbs(η_{i−1})), build pairs as in
 * `rso`, and train π_i by tabular DPO against the FIXED reference π0 at β = η_i, warm-started from
 * π_{i−1}'s logits, on stage i's pairs only. Option acceptance = 'exact' instead uses the true
 * ratio w(a) = log π0 + r̂/η_i − log π_{i−1}, which removes the error of the trained proposal.
 */
import { nPairs, type BanditEnv, type PairData } from '../env.js';
import { sigmoid } from '../../math/special.js';
import type { Rng } from '../../math/rng.js';
import { policyCdf, searchCdf } from '../oracle.js';
import { klToRef, rewardsOf } from '../policy.js';
import type { AlgorithmContext, AlgorithmResult, BanditAlgorithm, IterationRecord } from './types.js';
import { trainDpoTabular, type DpoOptimizer, type LrSchedule } from './dpo.js';
import {
  fitThetaMle,
  requireInteger,
  requireNonNegative,
  requireNormBound,
  requireOneOf,
  requirePositive,
  resolveOptions,
} from './offline-common.js';

export interface RejectionSampleOptions {
  /** Proposal log-probs (flat). */
  proposal: ArrayLike<number>;
  /** Log acceptance weights (flat): target ∝ proposal·exp(logWeights). */
  logWeights: ArrayLike<number>;
  /** Candidates per batch. */
  nCandidates: number;
  /** Contexts to sample (each gets `rounds` independent batches). */
  contexts: ArrayLike<number>;
  /** Batches per context (default 1). */
  rounds?: number;
}

export interface RejectionSampleResult {
  /** One entry per accepted sample. */
  context: Int32Array;
  /** Local action index of each accepted sample. */
  action: Int32Array;
  /** Batch id of each accepted sample (samples of one batch are contiguous). */
  batch: Int32Array;
  candidates: number;
  accepted: number;
  acceptanceRate: number;
}

/**
 * Statistical rejection sampling (RSO): per batch, draw N candidates from the proposal and accept
 * each with probability exp(w(a) − max_{candidates} w). The max over the batch replaces the unknown
 * global bound M, so the accepted law is exactly proposal·exp(w)/Z when the batch contains the
 * context's max-weight action and slightly flattened otherwise.
 */
export function rejectionSample(env: BanditEnv, rng: Rng, o: RejectionSampleOptions): RejectionSampleResult {
  const N = o.nCandidates;
  const rounds = o.rounds ?? 1;
  if (!Number.isInteger(N) || N < 1)
    throw new RangeError(`rejectionSample: nCandidates must be an integer ≥ 1, got ${N}`);
  const cdf = policyCdf(env, o.proposal);
  const ctx: number[] = [];
  const act: number[] = [];
  const bat: number[] = [];
  const cand = new Int32Array(N);
  let candidates = 0;
  let batch = 0;
  for (let k = 0; k < o.contexts.length; k++) {
    const c = o.contexts[k];
    const lo = env.offsets[c];
    const hi = env.offsets[c + 1];
    for (let r = 0; r < rounds; r++, batch++) {
      let wmax = -Infinity;
      for (let i = 0; i < N; i++) {
        const a = searchCdf(cdf, lo, hi, rng.uniform());
        cand[i] = a;
        wmax = Math.max(wmax, o.logWeights[lo + a]);
      }
      candidates += N;
      for (let i = 0; i < N; i++) {
        if (rng.uniform() < Math.exp(o.logWeights[lo + cand[i]] - wmax)) {
          ctx.push(c);
          act.push(cand[i]);
          bat.push(batch);
        }
      }
    }
  }
  return {
    context: Int32Array.from(ctx),
    action: Int32Array.from(act),
    batch: Int32Array.from(bat),
    candidates,
    accepted: ctx.length,
    acceptanceRate: candidates > 0 ? ctx.length / candidates : 0,
  };
}

export type RsoLabels = 'reward' | 'bt';

/**
 * Pairs from accepted samples: within each batch, shuffle and pair consecutive samples (RSO's
 * recipe); label by `rewards` ('reward': higher preferred, equal rewards dropped, which also drops
 * identical actions; 'bt': chosen ~ σ(r_1 − r_2), identical actions dropped).
 */
export function pairsFromSamples(
  env: BanditEnv,
  s: RejectionSampleResult,
  rewards: ArrayLike<number>,
  labels: RsoLabels,
  rng: Rng,
): PairData {
  const c: number[] = [];
  const w: number[] = [];
  const l: number[] = [];
  let i = 0;
  while (i < s.accepted) {
    let j = i;
    while (j < s.accepted && s.batch[j] === s.batch[i]) j++;
    const idx: number[] = [];
    for (let k = i; k < j; k++) idx.push(k);
    rng.shuffle(idx);
    for (let k = 0; k + 1 < idx.length; k += 2) {
      const ctx = s.context[idx[k]];
      const a1 = s.action[idx[k]];
      const a2 = s.action[idx[k + 1]];
      if (a1 === a2) continue;
      const base = env.offsets[ctx];
      const r1 = rewards[base + a1];
      const r2 = rewards[base + a2];
      let first: boolean;
      if (labels === 'reward') {
        if (r1 === r2) continue;
        first = r1 > r2;
      } else first = rng.uniform() < sigmoid(r1 - r2);
      c.push(ctx);
      w.push(first ? a1 : a2);
      l.push(first ? a2 : a1);
    }
    i = j;
  }
  return { context: Int32Array.from(c), chosen: Int32Array.from(w), rejected: Int32Array.from(l) };
}

export interface RsoOptions {
  /** Ridge λ of the BT-MLE r̂ used for acceptance and labels. */
  lambda: number;
  normBound: number | null;
  /** Candidates per batch (RSO used 64 per prompt; a bandit context has few actions). */
  nCandidates: number;
  /** Independent batches per context. */
  rounds: number;
  /** Contexts to sample: every context of the environment, or only those in the offline pairs. */
  contexts: 'all' | 'data';
  labels: RsoLabels;
  dpoLr: number;
  dpoSteps: number;
  dpoOptimizer: DpoOptimizer;
  dpoSchedule: LrSchedule;
}

export const defaultRsoOptions: RsoOptions = {
  lambda: 1,
  normBound: null,
  nCandidates: 16,
  rounds: 8,
  contexts: 'all',
  labels: 'reward',
  dpoLr: 0.05,
  dpoSteps: 300,
  dpoOptimizer: 'adam',
  dpoSchedule: 'constant',
};

export interface RsoMultistepOptions extends RsoOptions {
  /** Explicit decreasing schedule η_1 > … > η_N (the output targets η_N); null = geometric default. */
  etas: number[] | null;
  /** Default schedule: `stages` values geometric from etaMaxFactor·η down to η. */
  stages: number;
  etaMaxFactor: number;
  /** 'schedule' = r̂·(1/η_i − 1/η_{i−1}) (paper reading); 'exact' = log π0 + r̂/η_i − log π_{i−1}. */
  acceptance: 'schedule' | 'exact';
  /** Initialise stage i's logits at π_{i−1} (true) or at π0 (false). */
  warmStart: boolean;
}

export const defaultRsoMultistepOptions: RsoMultistepOptions = {
  ...defaultRsoOptions,
  etas: null,
  stages: 4,
  etaMaxFactor: 8,
  acceptance: 'schedule',
  warmStart: true,
};

function resolveRso<T extends RsoOptions>(name: string, defaults: T, options: object | undefined): T {
  const o = resolveOptions(name, defaults, options);
  requireNonNegative(name, 'lambda', o.lambda);
  requireNormBound(name, o.normBound);
  requireInteger(name, 'nCandidates', o.nCandidates, 1);
  requireInteger(name, 'rounds', o.rounds, 1);
  requireOneOf(name, 'contexts', o.contexts, ['all', 'data'] as const);
  requireOneOf(name, 'labels', o.labels, ['reward', 'bt'] as const);
  requirePositive(name, 'dpoLr', o.dpoLr);
  requireInteger(name, 'dpoSteps', o.dpoSteps, 0);
  requireOneOf(name, 'dpoOptimizer', o.dpoOptimizer, ['adam', 'gd'] as const);
  requireOneOf(name, 'dpoSchedule', o.dpoSchedule, ['constant', 'linear'] as const);
  return o;
}

function samplingContexts(env: BanditEnv, offline: PairData, which: 'all' | 'data'): Int32Array {
  if (which === 'all') return Int32Array.from({ length: env.nContexts }, (_, c) => c);
  const seen = new Uint8Array(env.nContexts);
  for (let i = 0; i < offline.context.length; i++) seen[offline.context[i]] = 1;
  const out: number[] = [];
  for (let c = 0; c < env.nContexts; c++) if (seen[c]) out.push(c);
  return Int32Array.from(out);
}

interface StageResult {
  logits: Float64Array;
  policy: Float64Array;
  acceptanceRate: number;
  pairs: number;
  dpoLoss: number;
}

/** One RSO stage: sample from `proposal` with `logWeights`, pair, label by r̂, tabular DPO at `eta`. */
function rsoStage(
  env: BanditEnv,
  rng: Rng,
  o: RsoOptions,
  contexts: Int32Array,
  rewards: Float64Array,
  proposal: Float64Array,
  logWeights: Float64Array,
  eta: number,
  init: Float64Array,
): StageResult {
  const s = rejectionSample(env, rng.fork('sample'), {
    proposal,
    logWeights,
    nCandidates: o.nCandidates,
    contexts,
    rounds: o.rounds,
  });
  const pairs = pairsFromSamples(env, s, rewards, o.labels, rng.fork('pairs'));
  const t = trainDpoTabular(env, pairs, {
    eta,
    lr: o.dpoLr,
    steps: o.dpoSteps,
    init,
    optimizer: o.dpoOptimizer,
    schedule: o.dpoSchedule,
  });
  return {
    logits: t.logits,
    policy: t.policy,
    acceptanceRate: s.acceptanceRate,
    pairs: nPairs(pairs),
    dpoLoss: t.finalLoss,
  };
}

export const rso: BanditAlgorithm<Partial<RsoOptions>> & { readonly defaults: RsoOptions } = {
  name: 'rso',
  setting: 'offline',
  description:
    'RSO: rejection-sample π0 toward Gibbs(π0, r_MLE/η), pair accepted samples labelled by r_MLE, and train a tabular DPO policy (reference π0) on them.',
  defaults: defaultRsoOptions,
  checkOptions(options: Partial<RsoOptions>) {
    resolveRso(this.name, defaultRsoOptions, options);
  },
  run(ctx: AlgorithmContext, options: Partial<RsoOptions>): AlgorithmResult {
    const { env, offline } = ctx;
    const o = resolveRso(this.name, defaultRsoOptions, options);
    const theta = fitThetaMle(env, offline, o.lambda, o.normBound);
    const r = rewardsOf(env, theta);
    const w = Float64Array.from(r, (x) => x / env.eta);
    const contexts = samplingContexts(env, offline, o.contexts);
    // Same stream as stage 1 of rso-multistep, so a one-stage multi-step run reproduces rso exactly.
    const st = rsoStage(
      env,
      ctx.rng.fork('stage-0'),
      o,
      contexts,
      r,
      env.refLogprobs,
      w,
      env.eta,
      env.refLogprobs,
    );
    return {
      policy: st.policy,
      labelsUsed: nPairs(offline),
      thetaHat: theta,
      diagnostics: {
        acceptanceRate: st.acceptanceRate,
        pairs: st.pairs,
        dpoLoss: st.dpoLoss,
        klToRef: klToRef(env, st.policy),
      },
    };
  },
};

/** The η schedule: explicit (validated) or `stages` geometric values from etaMaxFactor·η to η. */
export function multistepEtas(
  eta: number,
  o: Pick<RsoMultistepOptions, 'etas' | 'stages' | 'etaMaxFactor'>,
  name = 'rso-multistep',
): number[] {
  if (o.etas !== null) {
    if (!Array.isArray(o.etas) || o.etas.length === 0)
      throw new Error(`${name}: option etas must be a non-empty array or null`);
    o.etas.forEach((e, i) => {
      requirePositive(name, `etas[${i}]`, e);
      if (i > 0 && !(e < o.etas![i - 1]))
        throw new Error(`${name}: etas must be strictly decreasing, got ${o.etas!.join(', ')}`);
    });
    return [...o.etas];
  }
  const N = requireInteger(name, 'stages', o.stages, 1);
  const f = requirePositive(name, 'etaMaxFactor', o.etaMaxFactor);
  if (N > 1 && !(f > 1)) throw new Error(`${name}: etaMaxFactor must be > 1 with several stages, got ${f}`);
  if (N === 1) return [eta];
  return Array.from({ length: N }, (_, i) => eta * f ** ((N - 1 - i) / (N - 1)));
}

export const rsoMultistep: BanditAlgorithm<Partial<RsoMultistepOptions>> & {
  readonly defaults: RsoMultistepOptions;
} = {
  name: 'rso-multistep',
  setting: 'offline',
  description:
    'Multi-step RSO: a decreasing η schedule (default 8η→η, 4 stages); stage i rejection-samples the previous stage policy toward Gibbs(π0, r_MLE/η_i) and trains tabular DPO (reference π0, β = η_i) on the r_MLE-labelled pairs.',
  defaults: defaultRsoMultistepOptions,
  checkOptions(options: Partial<RsoMultistepOptions>) {
    resolveRso(this.name, defaultRsoMultistepOptions, options);
  },
  run(ctx: AlgorithmContext, options: Partial<RsoMultistepOptions>): AlgorithmResult {
    const { env, offline } = ctx;
    const o = resolveRso(this.name, defaultRsoMultistepOptions, options);
    const acceptance = requireOneOf(this.name, 'acceptance', o.acceptance, ['schedule', 'exact'] as const);
    if (typeof o.warmStart !== 'boolean') throw new Error(`${this.name}: option warmStart must be a boolean`);
    const etas = multistepEtas(env.eta, o, this.name);
    const theta = fitThetaMle(env, offline, o.lambda, o.normBound);
    const r = rewardsOf(env, theta);
    const contexts = samplingContexts(env, offline, o.contexts);
    const A = r.length;
    let proposal: Float64Array = env.refLogprobs;
    let logits: Float64Array = Float64Array.from(env.refLogprobs);
    let invPrev = 0;
    const iterations: IterationRecord[] = [];
    const diagnostics: Record<string, number> = { stages: etas.length };
    for (let i = 0; i < etas.length; i++) {
      const eta = etas[i];
      const w = new Float64Array(A);
      for (let a = 0; a < A; a++)
        w[a] =
          acceptance === 'schedule'
            ? r[a] * (1 / eta - invPrev)
            : env.refLogprobs[a] + r[a] / eta - proposal[a];
      const init = o.warmStart ? logits : env.refLogprobs;
      const st = rsoStage(env, ctx.rng.fork(`stage-${i}`), o, contexts, r, proposal, w, eta, init);
      const kl = klToRef(env, st.policy);
      const rec: IterationRecord = {
        iteration: i + 1,
        labels: nPairs(offline),
        policy: st.policy,
        diagnostics: {
          eta,
          acceptanceRate: st.acceptanceRate,
          pairs: st.pairs,
          dpoLoss: st.dpoLoss,
          klToRef: kl,
        },
      };
      // Not passed to ctx.onIteration: that hook traces online label budgets, and no labels are spent here.
      iterations.push(rec);
      diagnostics[`stage${i + 1}AcceptanceRate`] = st.acceptanceRate;
      diagnostics[`stage${i + 1}Pairs`] = st.pairs;
      diagnostics[`stage${i + 1}KlToRef`] = kl;
      proposal = st.policy;
      logits = st.logits;
      invPrev = 1 / eta;
    }
    diagnostics.klToRef = klToRef(env, proposal);
    return { policy: proposal, labelsUsed: nPairs(offline), thetaHat: theta, iterations, diagnostics };
  },
};
