/**
 * DPO on the bandit (paper §1.3): minimise the mean over offline pairs of
 *   −log σ(η·[(log π_w/π0)(a_w|x) − (log π_w/π0)(a_l|x)])
 * with the fixed reference π0 (η is DPO's β). Two policy classes:
 *
 *  - 'tabular': a free logit per (x,a), initialised at log π0, trained for a finite number of
 *    full-batch Adam (or GD) steps. The loss has no finite minimiser when a context's comparisons
 *    are separable or an action is never compared against some other: the chosen logits grow
 *    without bound while unseen actions keep their initial logits. This is the over-optimisation
 *    DPO shows in practice, so the result depends on lr·steps (early stopping is the regulariser).
 *  - 'linear': log π_w(a|x) = log π0(a|x) + ⟨w,φ(x,a)⟩ − log Z_w(x). Then the log-ratio difference is
 *    η⟨w, Δφ⟩ exactly, so the DPO loss is the BT logistic loss in θ = ηw, and with the ridge
 *    (λη²/2n)‖w‖² (= (λ/2n)‖θ‖²) its minimiser is w = θ̂_MLE/η: linear DPO reproduces MLE-Gibbs.
 */
import { nPairs, type BanditEnv, type PairData } from '../env.js';
import { fitMLE } from '../mle.js';
import { featureDiffs } from '../env.js';
import { sigmoid, softplus } from '../../math/special.js';
import { gibbsOfTheta, klToRef, normalizePerContext } from '../policy.js';
import type { AlgorithmContext, AlgorithmResult, BanditAlgorithm } from './types.js';
import { nativeOp } from '../../native/index.js';
import {
  requireInteger,
  requireNonNegative,
  requireOneOf,
  requirePositive,
  resolveOptions,
} from './offline-common.js';

export type DpoOptimizer = 'adam' | 'gd';
/** Learning-rate schedule over the steps: constant, or linear decay to 0 (TRL/HF Trainer default). */
export type LrSchedule = 'constant' | 'linear';

export interface TrainDpoTabularOptions {
  /** DPO's β = the KL coefficient η of the target Gibbs policy. */
  eta: number;
  lr: number;
  steps: number;
  /** Initial logits (flat); default log π0. Only differences within a context matter. */
  init?: Float64Array;
  /** Reference log-probs (flat); default env.refLogprobs (π0). */
  ref?: Float64Array;
  /** Default 'adam' (β1 = 0.9, β2 = 0.999, ε = 1e-8). */
  optimizer?: DpoOptimizer;
  /** Default 'constant'. */
  schedule?: LrSchedule;
}

export interface TrainDpoTabularResult {
  /** Trained logits (flat, unnormalised). */
  logits: Float64Array;
  /** Normalised log-probabilities of the trained policy. */
  policy: Float64Array;
  initialLoss: number;
  finalLoss: number;
  steps: number;
}

/**
 * Mean DPO loss of tabular logits over the pairs; adds the gradient w.r.t. the logits into
 * `grad` (flat) when given. log π(a_w) − log π(a_l) = ℓ_w − ℓ_l (the log-normaliser cancels), so
 * each pair touches exactly two logits: ∂/∂ℓ_w = −η·σ(−h)/n, ∂/∂ℓ_l = +η·σ(−h)/n,
 * h = η[(ℓ_w − ℓ_l) − (ref_w − ref_l)]. No pairs → loss 0.
 */
export function dpoTabularLoss(
  env: BanditEnv,
  pairs: PairData,
  logits: ArrayLike<number>,
  ref: ArrayLike<number>,
  eta: number,
  grad?: Float64Array,
): number {
  const n = pairs.context.length;
  if (n === 0) return 0;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const base = env.offsets[pairs.context[i]];
    const w = base + pairs.chosen[i];
    const l = base + pairs.rejected[i];
    const h = eta * (logits[w] - logits[l] - (ref[w] - ref[l]));
    loss += softplus(-h);
    if (grad) {
      const g = (eta * sigmoid(-h)) / n;
      grad[w] -= g;
      grad[l] += g;
    }
  }
  return loss / n;
}

/**
 * The gradient half of {@link dpoTabularLoss} alone (added into `grad`): the same terms in the same
 * order, without the loss's softplus — the optimiser's steps never read the loss.
 */
export function dpoTabularGradient(
  env: BanditEnv,
  pairs: PairData,
  logits: ArrayLike<number>,
  ref: ArrayLike<number>,
  eta: number,
  grad: Float64Array,
): void {
  const n = pairs.context.length;
  const off = env.offsets;
  for (let i = 0; i < n; i++) {
    const base = off[pairs.context[i]];
    const w = base + pairs.chosen[i];
    const l = base + pairs.rejected[i];
    const h = eta * (logits[w] - logits[l] - (ref[w] - ref[l]));
    const g = (eta * sigmoid(-h)) / n;
    grad[w] -= g;
    grad[l] += g;
  }
}

/**
 * In-place full-batch first-order minimisation (Adam or GD) of a loss over `params`; returns the
 * final loss. The steps call `gradient` (default: lossAndGrad, its loss ignored).
 */
function firstOrderMinimize(
  params: Float64Array,
  lossAndGrad: (p: Float64Array, grad: Float64Array) => number,
  o: { lr: number; steps: number; optimizer: DpoOptimizer; schedule: LrSchedule },
  gradient: (p: Float64Array, grad: Float64Array) => void = lossAndGrad,
): number {
  const P = params.length;
  const g = new Float64Array(P);
  const m = new Float64Array(P);
  const v = new Float64Array(P);
  const b1 = 0.9;
  const b2 = 0.999;
  const eps = 1e-8;
  for (let t = 1; t <= o.steps; t++) {
    g.fill(0);
    gradient(params, g);
    const lr = o.schedule === 'linear' ? (o.lr * (o.steps - t + 1)) / o.steps : o.lr;
    if (o.optimizer === 'gd') {
      for (let k = 0; k < P; k++) params[k] -= lr * g[k];
      continue;
    }
    const c1 = 1 - b1 ** t;
    const c2 = 1 - b2 ** t;
    for (let k = 0; k < P; k++) {
      const gk = g[k];
      m[k] = b1 * m[k] + (1 - b1) * gk;
      v[k] = b2 * v[k] + (1 - b2) * gk * gk;
      // Parameters never touched by a pair have m = v = 0 and stay exactly where they are.
      if (v[k] === 0) continue;
      params[k] -= (lr * (m[k] / c1)) / (Math.sqrt(v[k] / c2) + eps);
    }
  }
  g.fill(0);
  return lossAndGrad(params, g);
}

type StepSchedule = { lr: number; steps: number; optimizer: DpoOptimizer; schedule: LrSchedule };

/** Per-step learning rates and Adam bias corrections 1 − β^t, t = 1..steps (as firstOrderMinimize computes them). */
function stepSchedule(o: StepSchedule): { lr: Float64Array; c1: Float64Array; c2: Float64Array } {
  const lr = new Float64Array(o.steps);
  const c1 = new Float64Array(o.steps);
  const c2 = new Float64Array(o.steps);
  for (let t = 1; t <= o.steps; t++) {
    lr[t - 1] = o.schedule === 'linear' ? (o.lr * (o.steps - t + 1)) / o.steps : o.lr;
    c1[t - 1] = 1 - 0.9 ** t;
    c2[t - 1] = 1 - 0.999 ** t;
  }
  return { lr, c1, c2 };
}

/**
 * The optimiser steps of tabular DPO in the native addon (same operations and order as
 * firstOrderMinimize + dpoTabularGradient; exp may differ in the last ulp). Returns false when the
 * addon is absent, and the caller runs the TypeScript loop.
 */
export function trainTabularStepsNative(
  env: BanditEnv,
  pairs: PairData,
  logits: Float64Array,
  ref: ArrayLike<number>,
  eta: number,
  o: StepSchedule,
): boolean {
  const train = nativeOp('dpoTabularTrain');
  if (!train) return false;
  const n = pairs.context.length;
  const win = new Int32Array(n);
  const lose = new Int32Array(n);
  const refDiff = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const base = env.offsets[pairs.context[i]];
    win[i] = base + pairs.chosen[i];
    lose[i] = base + pairs.rejected[i];
    refDiff[i] = ref[win[i]] - ref[lose[i]];
  }
  const P = logits.length;
  const { lr, c1, c2 } = stepSchedule(o);
  const scratch = () => new Float64Array(P);
  train(
    win,
    lose,
    refDiff,
    eta,
    logits,
    scratch(),
    scratch(),
    scratch(),
    o.steps,
    lr,
    c1,
    c2,
    o.optimizer === 'adam',
  );
  return true;
}

/** Tabular DPO (see file comment). Reusable by the online/RSO algorithms. */
export function trainDpoTabular(
  env: BanditEnv,
  pairs: PairData,
  opts: TrainDpoTabularOptions,
): TrainDpoTabularResult {
  const ref = opts.ref ?? env.refLogprobs;
  const A = env.offsets[env.nContexts];
  const logits = Float64Array.from(opts.init ?? env.refLogprobs);
  if (logits.length !== A)
    throw new RangeError(`trainDpoTabular: init has ${logits.length} entries, env has ${A} actions`);
  if (!(opts.eta > 0)) throw new RangeError(`trainDpoTabular: eta must be > 0, got ${opts.eta}`);
  const initialLoss = dpoTabularLoss(env, pairs, logits, ref, opts.eta);
  let finalLoss = initialLoss;
  const schedule: StepSchedule = {
    lr: opts.lr,
    steps: opts.steps,
    optimizer: opts.optimizer ?? 'adam',
    schedule: opts.schedule ?? 'constant',
  };
  if (nPairs(pairs) > 0 && opts.steps > 0) {
    if (trainTabularStepsNative(env, pairs, logits, ref, opts.eta, schedule))
      finalLoss = dpoTabularLoss(env, pairs, logits, ref, opts.eta);
    else
      finalLoss = firstOrderMinimize(
        logits,
        (p, g) => dpoTabularLoss(env, pairs, p, ref, opts.eta, g),
        schedule,
        (p, g) => dpoTabularGradient(env, pairs, p, ref, opts.eta, g),
      );
  }
  const policy = normalizePerContext(env, Float64Array.from(logits));
  return { logits, policy, initialLoss, finalLoss, steps: opts.steps };
}

/** log π_w = log π0 + ⟨w,φ⟩ − log Z_w, flat. */
export function linearPolicy(env: BanditEnv, w: ArrayLike<number>): Float64Array {
  return gibbsOfTheta(env, w, 1);
}

/**
 * Mean linear-DPO loss (1/n)Σ softplus(−η[(log π_w/π0)(a_w) − (log π_w/π0)(a_l)]) + (λη²/2n)‖w‖²,
 * computed through the normalised policy; adds ∇_w into `grad` when given.
 */
export function dpoLinearLoss(
  env: BanditEnv,
  pairs: PairData,
  w: ArrayLike<number>,
  eta: number,
  lambda: number,
  grad?: Float64Array,
): number {
  const n = pairs.context.length;
  const d = env.d;
  if (n === 0) return 0;
  const logp = linearPolicy(env, w);
  const F = env.features;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const base = env.offsets[pairs.context[i]];
    const aw = base + pairs.chosen[i];
    const al = base + pairs.rejected[i];
    const h = eta * (logp[aw] - env.refLogprobs[aw] - (logp[al] - env.refLogprobs[al]));
    loss += softplus(-h);
    if (grad) {
      // ∂h/∂w = η(φ_w − φ_l): the E_π φ terms of ∇log π cancel between the two actions.
      const c = (-eta * sigmoid(-h)) / n;
      for (let j = 0; j < d; j++) grad[j] += c * (F[aw * d + j] - F[al * d + j]);
    }
  }
  let w2 = 0;
  for (let j = 0; j < d; j++) w2 += w[j] * w[j];
  const ridge = (lambda * eta * eta) / n;
  if (grad) for (let j = 0; j < d; j++) grad[j] += ridge * w[j];
  return loss / n + 0.5 * ridge * w2;
}

export interface DpoOptions {
  parameterization: 'tabular' | 'linear';
  /** Adam/GD learning rate (tabular; linear with solver 'first-order'). */
  lr: number;
  /** Full-batch steps (tabular; linear with solver 'first-order'). */
  steps: number;
  optimizer: DpoOptimizer;
  schedule: LrSchedule;
  /** Linear only: ridge on θ = ηw, same meaning as the MLE's λ (so λ equal ⇒ same minimiser). */
  lambda: number;
  /** Linear only: 'newton' = exact minimiser of the (strongly convex) loss; 'first-order' = lr/steps. */
  linearSolver: 'newton' | 'first-order';
}

export const defaultDpoOptions: DpoOptions = {
  parameterization: 'tabular',
  lr: 0.05,
  steps: 300,
  optimizer: 'adam',
  schedule: 'constant',
  lambda: 1,
  linearSolver: 'newton',
};

function resolveDpo(name: string, options: Partial<DpoOptions> | undefined): DpoOptions {
  const o = resolveOptions(name, defaultDpoOptions, options);
  return {
    parameterization: requireOneOf(name, 'parameterization', o.parameterization, [
      'tabular',
      'linear',
    ] as const),
    lr: requirePositive(name, 'lr', o.lr),
    steps: requireInteger(name, 'steps', o.steps, 0),
    optimizer: requireOneOf(name, 'optimizer', o.optimizer, ['adam', 'gd'] as const),
    schedule: requireOneOf(name, 'schedule', o.schedule, ['constant', 'linear'] as const),
    lambda: requireNonNegative(name, 'lambda', o.lambda),
    linearSolver: requireOneOf(name, 'linearSolver', o.linearSolver, ['newton', 'first-order'] as const),
  };
}

export interface TrainDpoLinearResult {
  w: Float64Array;
  policy: Float64Array;
  initialLoss: number;
  finalLoss: number;
}

/** Linear DPO (see file comment), exact (Newton) or with lr/steps of Adam/GD from w = 0. */
export function trainDpoLinear(
  env: BanditEnv,
  pairs: PairData,
  o: {
    eta: number;
    lambda: number;
    solver: 'newton' | 'first-order';
    lr: number;
    steps: number;
    optimizer: DpoOptimizer;
    schedule: LrSchedule;
  },
): TrainDpoLinearResult {
  const d = env.d;
  const n = nPairs(pairs);
  let w: Float64Array = new Float64Array(d);
  const initialLoss = dpoLinearLoss(env, pairs, w, o.eta, o.lambda);
  if (n > 0) {
    if (o.solver === 'newton') {
      // n·loss(w) = Σ softplus(−⟨w, ηΔφ⟩) + (λη²/2)‖w‖²: a ridge logistic loss on scaled differences.
      const dphi = featureDiffs(env, pairs);
      for (let k = 0; k < dphi.length; k++) dphi[k] *= o.eta;
      w = fitMLE({ dphi, n, d }, { lambda: o.lambda * o.eta * o.eta }).theta;
    } else {
      firstOrderMinimize(w, (p, g) => dpoLinearLoss(env, pairs, p, o.eta, o.lambda, g), o);
    }
  }
  return {
    w,
    policy: linearPolicy(env, w),
    initialLoss,
    finalLoss: dpoLinearLoss(env, pairs, w, o.eta, o.lambda),
  };
}

export const dpo: BanditAlgorithm<Partial<DpoOptions>> & { readonly defaults: DpoOptions } = {
  name: 'dpo',
  setting: 'offline',
  description:
    'DPO on the offline pairs with reference π0 and β = η: tabular softmax (finite Adam steps from π0; over-optimises on separable pairs) or linear log π0 + ⟨w,φ⟩ (optimum = MLE-Gibbs).',
  defaults: defaultDpoOptions,
  checkOptions(options: Partial<DpoOptions>) {
    resolveDpo(this.name, options);
  },
  run(ctx: AlgorithmContext, options: Partial<DpoOptions>): AlgorithmResult {
    const { env, offline } = ctx;
    const o = resolveDpo(this.name, options);
    if (o.parameterization === 'linear') {
      const res = trainDpoLinear(env, offline, { eta: env.eta, solver: o.linearSolver, ...o });
      const thetaHat = Float64Array.from(res.w, (x) => x * env.eta);
      return {
        policy: res.policy,
        labelsUsed: nPairs(offline),
        thetaHat,
        diagnostics: {
          initialLoss: res.initialLoss,
          finalLoss: res.finalLoss,
          klToRef: klToRef(env, res.policy),
        },
      };
    }
    const res = trainDpoTabular(env, offline, {
      eta: env.eta,
      lr: o.lr,
      steps: o.steps,
      optimizer: o.optimizer,
      schedule: o.schedule,
    });
    return {
      policy: res.policy,
      labelsUsed: nPairs(offline),
      diagnostics: {
        initialLoss: res.initialLoss,
        finalLoss: res.finalLoss,
        klToRef: klToRef(env, res.policy),
      },
    };
  },
};
