/**
 * AdamW (decoupled weight decay, only on matrices/embeddings), global-norm gradient clipping and a
 * linear-warmup + cosine learning-rate schedule.
 */
import { adamw, scaleInPlace, sumSquares } from './kernels.js';
import { GshfInputError } from '../math/errors.js';

/** One parameter tensor inside a model's arena: where it lives and whether weight decay applies. */
export interface ParamTensor {
  readonly offset: number;
  readonly size: number;
  readonly decay: boolean;
}

/**
 * What the loop, AdamW and clipping need of a model: one parameter arena, one gradient arena of
 * the same length, the tensors inside them, and a way to zero the gradients. `GPT` is one; a LoRA
 * wrapper presents only its adapter weights here (the frozen base stays outside the arenas).
 */
export interface TrainableModel {
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly numParams: number;
  readonly tensors: readonly ParamTensor[];
  zeroGrad(): void;
}

/**
 * The one optimizer-options type of every trainer (SFT, DPO, reward models): AdamW hyper-parameters,
 * the warmup + cosine schedule and gradient clipping. Each trainer has its own defaults (see
 * `createOptimizer`); an option given here always wins.
 */
export interface OptimizerOptions {
  /** Peak learning rate. */
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay (matrices/embeddings only). */
  weightDecay?: number;
  /** Linear warmup steps. */
  warmupSteps?: number;
  /** Cosine floor as a fraction of lr. */
  minLrRatio?: number;
  /** Max global gradient norm (0 = off). */
  gradClip?: number;
}

/** The AdamW part of OptimizerOptions (what the AdamW class itself takes). */
export type AdamWOptions = Pick<OptimizerOptions, 'lr' | 'beta1' | 'beta2' | 'eps' | 'weightDecay'>;

/** Every option resolved. */
export type ResolvedOptimizerOptions = Required<OptimizerOptions>;

/** Library-wide fallbacks; trainers override some (e.g. DPO's lr), callers override any. */
export const OPTIMIZER_DEFAULTS: Omit<ResolvedOptimizerOptions, 'warmupSteps'> = {
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.99,
  eps: 1e-8,
  weightDecay: 0.1,
  minLrRatio: 0.1,
  gradClip: 1,
};

/**
 * Resolves options (caller > trainer defaults > OPTIMIZER_DEFAULTS; warmup defaults to 10% of the
 * steps) and validates them, naming the option and the value.
 */
export function resolveOptimizerOptions(
  opts: OptimizerOptions,
  totalSteps: number,
  trainerDefaults: OptimizerOptions = {},
): ResolvedOptimizerOptions {
  const pick = <K extends keyof OptimizerOptions>(k: K, fallback: number): number =>
    opts[k] ?? trainerDefaults[k] ?? fallback;
  const r: ResolvedOptimizerOptions = {
    lr: pick('lr', OPTIMIZER_DEFAULTS.lr),
    beta1: pick('beta1', OPTIMIZER_DEFAULTS.beta1),
    beta2: pick('beta2', OPTIMIZER_DEFAULTS.beta2),
    eps: pick('eps', OPTIMIZER_DEFAULTS.eps),
    weightDecay: pick('weightDecay', OPTIMIZER_DEFAULTS.weightDecay),
    warmupSteps: pick('warmupSteps', Math.floor(totalSteps / 10)),
    minLrRatio: pick('minLrRatio', OPTIMIZER_DEFAULTS.minLrRatio),
    gradClip: pick('gradClip', OPTIMIZER_DEFAULTS.gradClip),
  };
  const check = (k: keyof OptimizerOptions, ok: boolean, want: string): void => {
    if (!ok) throw new GshfInputError(`optimizer option ${k}: expected ${want}, got ${r[k]}`);
  };
  check('lr', Number.isFinite(r.lr) && r.lr > 0, 'a finite number > 0');
  check('beta1', r.beta1 >= 0 && r.beta1 < 1, 'a number in [0, 1)');
  check('beta2', r.beta2 >= 0 && r.beta2 < 1, 'a number in [0, 1)');
  check('eps', Number.isFinite(r.eps) && r.eps > 0, 'a finite number > 0');
  check('weightDecay', Number.isFinite(r.weightDecay) && r.weightDecay >= 0, 'a finite number ≥ 0');
  check('warmupSteps', Number.isInteger(r.warmupSteps) && r.warmupSteps >= 0, 'an integer ≥ 0');
  check('minLrRatio', r.minLrRatio >= 0 && r.minLrRatio <= 1, 'a number in [0, 1]');
  check('gradClip', Number.isFinite(r.gradClip) && r.gradClip >= 0, 'a finite number ≥ 0 (0 = off)');
  return r;
}

/** An AdamW optimizer, its schedule and its clipping threshold, from one OptimizerOptions. */
export interface Optimizer {
  adamw: AdamW;
  schedule: ScheduleOptions;
  gradClip: number;
  options: ResolvedOptimizerOptions;
}

/** Builds the optimizer of a trainer that runs `totalSteps` steps. */
export function createOptimizer(
  model: TrainableModel,
  opts: OptimizerOptions,
  totalSteps: number,
  trainerDefaults: OptimizerOptions = {},
): Optimizer {
  const o = resolveOptimizerOptions(opts, totalSteps, trainerDefaults);
  return {
    adamw: new AdamW(model, o),
    schedule: { lr: o.lr, warmupSteps: o.warmupSteps, totalSteps, minLrRatio: o.minLrRatio },
    gradClip: o.gradClip,
    options: o,
  };
}

export class AdamW {
  readonly m: Float32Array;
  readonly v: Float32Array;
  /** Number of steps taken so far (bias correction uses t = step + 1). */
  step = 0;
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;

  /** Per-tensor views (param, grad, m, v, decay), built once so a step allocates nothing. */
  private readonly groups: {
    p: Float32Array;
    g: Float32Array;
    m: Float32Array;
    v: Float32Array;
    decay: boolean;
  }[];

  constructor(
    readonly model: TrainableModel,
    opts: AdamWOptions = {},
  ) {
    this.m = new Float32Array(model.numParams);
    this.v = new Float32Array(model.numParams);
    const sub = (a: Float32Array, o: number, n: number): Float32Array => a.subarray(o, o + n);
    this.groups = model.tensors.map((t) => ({
      p: sub(model.params, t.offset, t.size),
      g: sub(model.grads, t.offset, t.size),
      m: sub(this.m, t.offset, t.size),
      v: sub(this.v, t.offset, t.size),
      decay: t.decay,
    }));
    // One set of defaults for every optimizer (OPTIMIZER_DEFAULTS).
    this.lr = opts.lr ?? OPTIMIZER_DEFAULTS.lr;
    this.beta1 = opts.beta1 ?? OPTIMIZER_DEFAULTS.beta1;
    this.beta2 = opts.beta2 ?? OPTIMIZER_DEFAULTS.beta2;
    this.eps = opts.eps ?? OPTIMIZER_DEFAULTS.eps;
    this.weightDecay = opts.weightDecay ?? OPTIMIZER_DEFAULTS.weightDecay;
  }

  /** One update with the model's accumulated gradients; `lr` overrides the current rate. */
  update(lr = this.lr): void {
    const t = ++this.step;
    // Per tensor, because weight decay applies to matrices only; sub-views keep the kernel at offset 0.
    for (const gr of this.groups) {
      adamw(
        gr.p,
        gr.g,
        gr.m,
        gr.v,
        gr.p.length,
        lr,
        this.beta1,
        this.beta2,
        this.eps,
        gr.decay ? this.weightDecay : 0,
        t,
      );
    }
  }
}

/** Global L2 norm of the model's gradients. */
export function gradNorm(model: TrainableModel): number {
  return Math.sqrt(sumSquares(model.grads, model.numParams));
}

/** Scales gradients so their global norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(model: TrainableModel, maxNorm: number): number {
  const norm = gradNorm(model);
  if (maxNorm > 0 && norm > maxNorm) scaleInPlace(model.grads, model.numParams, maxNorm / (norm + 1e-6));
  return norm;
}

export interface ScheduleOptions {
  /** Peak learning rate. */
  lr: number;
  /** Linear warmup steps (from lr/warmup to lr). */
  warmupSteps: number;
  totalSteps: number;
  /** Final rate as a fraction of the peak (cosine floor). */
  minLrRatio?: number;
}

/** Learning rate at step `step` (0-based): linear warmup, then cosine decay to minLrRatio·lr. */
export function learningRate(step: number, o: ScheduleOptions): number {
  const minLr = o.lr * (o.minLrRatio ?? 0.1);
  if (o.warmupSteps > 0 && step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
  const decay = Math.max(1, o.totalSteps - o.warmupSteps);
  const p = Math.min(1, Math.max(0, (step - o.warmupSteps) / decay));
  return minLr + 0.5 * (o.lr - minLr) * (1 + Math.cos(Math.PI * p));
}
