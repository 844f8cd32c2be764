/**
 * The lab studies of the multi-objective / rich-feedback extensions, registered for `gshf bandit
 * run` (`kind: lab` studies, see experiment/lab-studies.ts). Each arm sees only what a learner
 * would (labels, features, π0, η); every metric is computed exactly against the ground truth.
 * Options are strict zod schemas; see examples/bandit/extensions.yaml and docs/bandit-*.md.
 */
import { z } from 'zod';
import type { Rng } from '../../math/rng.js';
import type { BanditEnv } from '../env.js';
import { behaviourPolicy } from '../generate.js';
import { fitMLE } from '../mle.js';
import { PreferenceOracle, samplePairs } from '../oracle.js';
import { dropTies } from '../env.js';
import { expectedReward, gapMetric, gibbsOfTheta, klToRef, rewardsOf } from '../policy.js';
import { Uncertainty, pairCovariance } from '../uncertainty.js';
import type { LabArmResult, LabStudy } from '../experiment/lab-study-types.js';
import { AnnotatorPool } from './annotators.js';
import { MultiObjectiveOracle, combineThetas, objectiveThetas } from './objectives.js';
import { runAnnotatedOnline, runMultiObjectiveGshf } from './online.js';
import { centredOnReference, constrainedGibbs, pessimisticRewards } from './pareto.js';
import { fitPlackettLuce, sampleRankings } from './rankings.js';
import { TieOracle, fitRaoKupper, sampleTiedPairs, withoutTies } from './ties.js';

const coverage = z.enum(['good', 'poor', 'adversarial', 'tempting']).default('good');

function thetaError(env: BanditEnv, theta: ArrayLike<number>): number {
  const t = env.thetaStar as Float64Array;
  return Math.hypot(...Array.from(t, (v, j) => theta[j] - v));
}

/** Gap and ‖θ̂ − θ*‖ of Gibbs(θ̂) under the environment's own θ*. */
function scalarArm(
  env: BanditEnv,
  theta: Float64Array,
  labelsUsed: number,
  extra: Record<string, number> = {},
): LabArmResult {
  const policy = gibbsOfTheta(env, theta);
  return {
    policy,
    labelsUsed,
    metrics: { gap: gapMetric(env, policy).gap, thetaError: thetaError(env, theta), ...extra },
  };
}

const gapMetricSpec = {
  name: 'gap',
  lowerIsBetter: true,
  description: "the paper's gap J(π*) − J(π̂) + η·KL(π*‖π̂) of Gibbs(θ̂)",
};
const thetaErrorSpec = { name: 'thetaError', lowerIsBetter: true, description: '‖θ̂ − θ*‖₂' };

// ---------------------------------------------------------------------------------------------

const rankingOptions = z
  .object({
    /** Annotation effort per run, in pairwise-label units; a ranking of K costs K − 1. */
    effort: z.number().int().positive(),
    K: z.number().int().min(3).max(20).default(4),
    lambda: z.number().positive().default(0.01),
    coverage,
  })
  .strict();

/** Pairs vs Plackett–Luce rankings of K responses at equal annotation effort. */
export const rankingsVsPairs: LabStudy<z.infer<typeof rankingOptions>> = {
  name: 'rankings-vs-pairs',
  description:
    'Rankings of K responses (Plackett–Luce MLE) against pairwise labels (BT-MLE) at equal annotation effort: a ranking of K costs K − 1 label units, so a budget of E buys E pairs or ⌊E/(K−1)⌋ rankings. Responses are drawn from the behaviour policy.',
  options: rankingOptions,
  arms: () => ['pairs', 'rankings', 'rankings-as-adjacent-pairs'],
  metrics: [gapMetricSpec, thetaErrorSpec],
  runArm(ctx, arm) {
    const { env, options: o } = ctx;
    const mu = behaviourPolicy(env, o.coverage);
    const theta = env.thetaStar as Float64Array;
    const nRank = Math.floor(o.effort / (o.K - 1));
    if (arm === 'pairs') {
      const oracle = new PreferenceOracle(env, theta, ctx.dataRng.fork('pair-labels'), ctx.oracleTemperature);
      const pairs = samplePairs(env, mu, mu, o.effort, oracle, ctx.dataRng.fork('pairs'), {
        dropTies: false,
      });
      return scalarArm(env, fitMLE(env, dropTies(pairs), { lambda: o.lambda }).theta, o.effort);
    }
    const rankings = sampleRankings(
      env,
      mu,
      nRank,
      o.K,
      theta,
      ctx.dataRng.fork('rankings'),
      ctx.oracleTemperature,
    );
    const effort = nRank * (o.K - 1);
    if (arm === 'rankings')
      return scalarArm(env, fitPlackettLuce(env, rankings, { lambda: o.lambda }).theta, effort);
    // The naive use of a ranking: its K − 1 adjacent pairs fitted as if independent BT labels.
    const pairs = { context: [] as number[], chosen: [] as number[], rejected: [] as number[] };
    for (let i = 0; i < nRank; i++)
      for (let p = rankings.start[i]; p < rankings.start[i + 1] - 1; p++) {
        pairs.context.push(rankings.context[i]);
        pairs.chosen.push(rankings.items[p]);
        pairs.rejected.push(rankings.items[p + 1]);
      }
    const pd = {
      context: Int32Array.from(pairs.context),
      chosen: Int32Array.from(pairs.chosen),
      rejected: Int32Array.from(pairs.rejected),
    };
    return scalarArm(env, fitMLE(env, pd, { lambda: o.lambda }).theta, effort);
  },
};

// ---------------------------------------------------------------------------------------------

const tieOptions = z
  .object({
    n: z.number().int().positive(),
    /** Rao–Kupper threshold α of the simulated annotators. */
    alpha: z.number().positive().default(0.8),
    lambda: z.number().positive().default(0.01),
    coverage,
  })
  .strict();

/** Tie-aware (Rao–Kupper) vs tie-blind (ties dropped, BT) estimation on the same labels. */
export const tiesStudy: LabStudy<z.infer<typeof tieOptions>> = {
  name: 'ties',
  description:
    'Annotators may answer "no preference" (Rao–Kupper, threshold α). Tie-aware: joint MLE of (θ, α) on every label. Tie-blind: ties dropped, BT-MLE on the rest (what a pipeline that discards ties does). Same labels for both arms; every label (ties included) counts in the budget.',
  options: tieOptions,
  arms: () => ['tie-aware', 'tie-blind'],
  metrics: [
    gapMetricSpec,
    thetaErrorSpec,
    { name: 'tieRate', lowerIsBetter: true, description: 'fraction of labels that were ties' },
  ],
  runArm(ctx, arm) {
    const { env, options: o } = ctx;
    const oracle = new TieOracle(env, env.thetaStar as Float64Array, o.alpha, ctx.dataRng.fork('labels'));
    const data = sampleTiedPairs(
      env,
      behaviourPolicy(env, o.coverage),
      o.n,
      oracle,
      ctx.dataRng.fork('pairs'),
    );
    const tieRate = data.tie.reduce((s, t) => s + t, 0) / Math.max(1, data.tie.length);
    const theta =
      arm === 'tie-aware'
        ? fitRaoKupper(env, data, { lambda: o.lambda }).theta
        : fitMLE(env, withoutTies(data), { lambda: o.lambda }).theta;
    return scalarArm(env, theta, data.tie.length, { tieRate });
  },
};

// ---------------------------------------------------------------------------------------------

const annotatorOptions = z
  .object({
    budget: z.number().int().positive(),
    T: z.number().int().min(1).default(5),
    annotators: z.number().int().min(2).default(10),
    /** Fraction of annotators that answer with s = −1 (prefer the worse response). */
    adversarialFraction: z.number().min(0).max(0.49).default(0.2),
    /** Reliability of the honest annotators (spread evenly over [honestMin, 1]). */
    honestMin: z.number().positive().max(1).default(0.5),
    lambda: z.number().positive().default(0.01),
  })
  .strict();

/** Online GSHF with a pool of annotators, some adversarial: plain BT vs reliability-weighted vs routed. */
export const annotatorStudy: LabStudy<z.infer<typeof annotatorOptions>> = {
  name: 'annotators',
  description:
    'Online GSHF whose labels come from a pool of annotators with BT temperatures of their own (reliability s_j; a fraction answers adversarially, s = −1). plain: BT-MLE on all labels. weighted: joint (θ, s) estimate before every batch. routed: weighted, and later batches go to annotators ∝ max(ŝ_j, 0)².',
  options: annotatorOptions,
  arms: () => ['plain', 'weighted', 'routed'],
  metrics: [
    gapMetricSpec,
    thetaErrorSpec,
    { name: 'reliabilityError', lowerIsBetter: true, description: 'max_j |ŝ_j − s_j| (plain: ŝ = 1)' },
    {
      name: 'adversarialShare',
      lowerIsBetter: true,
      description: 'fraction of the labels answered by adversarial annotators',
    },
  ],
  runArm(ctx, arm) {
    const { env, options: o } = ctx;
    const nAdv = Math.round(o.adversarialFraction * o.annotators);
    const honest = o.annotators - nAdv;
    const truth = Array.from({ length: o.annotators }, (_, j) =>
      j < honest ? (honest === 1 ? 1 : 1 - ((1 - o.honestMin) * j) / (honest - 1)) : -1,
    );
    const pool = new AnnotatorPool(env, env.thetaStar as Float64Array, truth, ctx.dataRng.fork('annotators'));
    const run = runAnnotatedOnline(
      env,
      pool,
      arm as 'plain' | 'weighted' | 'routed',
      { T: o.T, budget: o.budget, lambda: o.lambda },
      ctx.armRng,
    );
    const total = run.labels.reduce((s, v) => s + v, 0);
    const adv = run.labels.slice(honest).reduce((s, v) => s + v, 0);
    return scalarArm(env, run.theta, total, {
      reliabilityError: Math.max(...truth.map((s, j) => Math.abs(run.reliability[j] - s))),
      adversarialShare: adv / Math.max(1, total),
    });
  },
};

// ---------------------------------------------------------------------------------------------

const safeOptions = z
  .object({
    /** Labels per dimension (helpfulness and safety each), from the behaviour policy. */
    n: z.number().int().positive(),
    /** cos(θ_help, θ_safe): negative means the objectives conflict. */
    correlation: z.number().min(-1).max(1).default(-0.5),
    /** Required safety gain over π0: E_π r_safe − E_π0 r_safe ≥ c. */
    c: z.number().default(0),
    /** Pessimism radius β of the lower-confidence safety reward. */
    beta: z.number().positive().default(1),
    lambda: z.number().positive().default(0.01),
    coverage,
  })
  .strict();

/** Safe alignment: plain vs pessimistic constraint on the estimated safety reward. */
export const safeConstraintStudy: LabStudy<z.infer<typeof safeOptions>> = {
  name: 'safe-constraint',
  description:
    'Constrained alignment: max E r_help − η·KL s.t. E_π r_safe − E_π0 r_safe ≥ c, solved exactly by the Lagrangian dual on estimated rewards (n labels per dimension). plain: the constraint on r̂_safe. pessimistic: on r̂_safe − β·‖φ − E_π0 φ‖_{Σ⁻¹}. exact: the true rewards (reference).',
  options: safeOptions,
  arms: () => ['plain', 'pessimistic', 'exact'],
  metrics: [
    {
      name: 'violation',
      lowerIsBetter: true,
      description: '1 when the true safety gain of π̂ is below c, else 0 (its mean is the violation rate)',
    },
    { name: 'shortfall', lowerIsBetter: true, description: 'max(0, c − true safety gain of π̂)' },
    {
      name: 'helpRegret',
      lowerIsBetter: true,
      description:
        'J_help(π_exact) − J_help(π̂): helpfulness given up against the true constrained optimum (negative when π̂ violates)',
    },
  ],
  runArm(ctx, arm) {
    const { env, options: o } = ctx;
    const [tHelp, tSafe] = objectiveThetas(env, {
      k: 2,
      correlation: o.correlation,
      seed: 'safe-constraint',
    });
    const rHelp = rewardsOf(env, tHelp);
    const rSafe = centredOnReference(env, rewardsOf(env, tSafe));
    const exact = constrainedGibbs(env, rHelp, rSafe, o.c);
    const evaluate = (policy: Float64Array, labelsUsed: number): LabArmResult => {
      const gain = expectedReward(env, policy, rSafe);
      const help = expectedReward(env, policy, rHelp) - env.eta * klToRef(env, policy);
      return {
        policy,
        labelsUsed,
        metrics: {
          violation: gain < o.c - 1e-12 ? 1 : 0,
          shortfall: Math.max(0, o.c - gain),
          helpRegret: exact.value - help,
        },
      };
    };
    if (arm === 'exact') return evaluate(exact.policy, 0);
    const mu = behaviourPolicy(env, o.coverage);
    const label = (theta: Float64Array, name: string, rng: Rng) =>
      samplePairs(
        env,
        mu,
        mu,
        o.n,
        new PreferenceOracle(env, theta, rng.fork(`${name}-labels`), ctx.oracleTemperature),
        rng.fork(name),
        { dropTies: false },
      );
    const helpPairs = dropTies(label(tHelp, 'help', ctx.dataRng));
    const safePairs = dropTies(label(tSafe, 'safe', ctx.dataRng));
    const rHelpHat = rewardsOf(env, fitMLE(env, helpPairs, { lambda: o.lambda }).theta);
    let rSafeHat = centredOnReference(
      env,
      rewardsOf(env, fitMLE(env, safePairs, { lambda: o.lambda }).theta),
    );
    if (arm === 'pessimistic')
      rSafeHat = pessimisticRewards(
        env,
        rSafeHat,
        new Uncertainty(pairCovariance(env, safePairs, o.lambda), env.d),
        o.beta,
      );
    return evaluate(constrainedGibbs(env, rHelpHat, rSafeHat, o.c).policy, 2 * o.n);
  },
};

// ---------------------------------------------------------------------------------------------

const multiOptions = z
  .object({
    budget: z.number().int().positive(),
    T: z.number().int().min(1).default(5),
    /** Weights (w_0, w_1) of the two-dimensional target w_0 r_0 + w_1 r_1 (normalised to sum 1). */
    weights: z.tuple([z.number().min(0), z.number().min(0)]).default([0.8, 0.2]),
    correlation: z.number().min(-1).max(1).default(0),
    lambda: z.number().positive().default(0.01),
  })
  .strict();

/** Online multi-objective GSHF: which dimension each label asks about. */
export const multiObjectiveStudy: LabStudy<z.infer<typeof multiOptions>> = {
  name: 'multi-objective-enhancer',
  description:
    "Online GSHF on a scalarised target Σ_k w_k r_k with per-dimension labels and BT-MLEs. round-robin: dimensions in turn. uncertainty: each pair is labelled on the dimension whose label removes the most variance from the pair's scalarised reward difference, w_k²·q²/(1 + q) with q = ‖Δφ‖²_{Σ_k⁻¹}.",
  options: multiOptions,
  arms: () => ['round-robin', 'uncertainty'],
  metrics: [
    {
      name: 'gap',
      lowerIsBetter: true,
      description: 'gap of π̂ for the scalarised target reward (its own π*)',
    },
    {
      name: 'frontGap',
      lowerIsBetter: true,
      description:
        'mean gap over the weights 0, ¼, ½, ¾, 1 of the front estimated from the per-dimension θ̂ (front quality)',
    },
    { name: 'labelsOnFirst', lowerIsBetter: false, description: 'fraction of labels asked on dimension 0' },
  ],
  runArm(ctx, arm) {
    const { env, options: o } = ctx;
    const sum = o.weights.reduce((a, b) => a + b, 0);
    const w = o.weights.map((x) => x / sum);
    const thetas = objectiveThetas(env, { k: w.length, correlation: o.correlation, seed: 'multi-objective' });
    const oracle = new MultiObjectiveOracle(env, thetas, ctx.dataRng.fork('oracles'), ctx.oracleTemperature);
    const run = runMultiObjectiveGshf(
      env,
      oracle,
      w,
      arm as 'round-robin' | 'uncertainty',
      { T: o.T, budget: o.budget, lambda: o.lambda },
      ctx.armRng,
    );
    const gapFor = (wt: number[], policy: Float64Array) =>
      gapMetric({ ...env, thetaStar: combineThetas(thetas, wt) }, policy).gap;
    const front = [0, 0.25, 0.5, 0.75, 1].map((a) =>
      gapFor([1 - a, a], gibbsOfTheta(env, combineThetas(run.thetas, [1 - a, a]))),
    );
    const labels = run.labelsPerDimension.reduce((a, b) => a + b, 0);
    return {
      policy: run.policy,
      labelsUsed: labels,
      metrics: {
        gap: gapFor(w, run.policy),
        frontGap: front.reduce((a, b) => a + b, 0) / front.length,
        labelsOnFirst: run.labelsPerDimension[0] / Math.max(1, labels),
      },
    };
  },
};

export const multiLabStudies = [
  rankingsVsPairs,
  tiesStudy,
  annotatorStudy,
  safeConstraintStudy,
  multiObjectiveStudy,
] as const;
