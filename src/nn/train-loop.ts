/**
 * The one training step loop of every trainer (SFT, DPO, reward models, and any model family that
 * presents a {@link TrainableModel}): zero the gradients, accumulate the loss gradients of the
 * step's micro-batches, refuse a non-finite loss, clip the global norm, take one AdamW step at the
 * scheduled rate, report the same per-step metrics, and checkpoint / resume the weights, the
 * optimizer and the step bit for bit. What is specific to a trainer — how batches are drawn and
 * how a batch turns into a loss and gradients — comes in as two callbacks.
 */
import { GshfInputError, GshfNumericError } from '../math/errors.js';
import {
  clipGradNorm,
  createOptimizer,
  learningRate,
  type Optimizer,
  type OptimizerOptions,
  type TrainableModel,
} from './optim.js';

export type { ParamTensor, TrainableModel } from './optim.js';

/** The metrics every trainer reports for every step (metrics.jsonl column names). */
export interface StepMetrics {
  /** 1-based step number. */
  step: number;
  /** Mean loss over the step's micro-batches. */
  loss: number;
  lr: number;
  /** Global gradient norm before clipping. */
  grad_norm: number;
  /** Wall-clock seconds of this step. */
  step_seconds: number;
  /** Seconds since the run started, summed over resumed parts. */
  elapsed_seconds: number;
}

/** What a resumed loop needs: weights, AdamW moments and step count, the completed steps. */
export interface LoopState {
  /** Completed optimizer steps. */
  step: number;
  params: Float32Array;
  adamM: Float32Array;
  adamV: Float32Array;
  adamStep: number;
  elapsedSec: number;
}

export interface RunStepsOptions<Batch, M extends { loss: number }> {
  /** Trainer name for error messages ("SFT", "DPO", "reward model"). */
  name: string;
  model: TrainableModel;
  /** From `createOptimizer(model, …, totalSteps, …)`. */
  optimizer: Optimizer;
  totalSteps: number;
  /** Micro-batches per step (default 1); each gets scale 1/accumulation. */
  accumulation?: number;
  /** The micro-batch `micro` of step `step` (0-based); called in order, accumulation times per step. */
  batches: (step: number, micro: number) => Batch;
  /** Accumulates scale·∇loss into model.grads (already zeroed for the step) and returns the metrics. */
  lossAndGrad: (batch: Batch, scale: number) => M;
  /** Extra fields for a step's record after its update (e.g. a validation loss), or undefined. */
  afterStep?: (step: number, last: boolean) => Record<string, number> | undefined;
  onStep?: (record: M & StepMetrics) => void;
  /** Continue from a state given to onCheckpoint (same model, data and options). */
  resume?: LoopState;
  /** Stop after this many steps (counted from 0) as if interrupted. */
  stopAfter?: number;
  /** Steps between onCheckpoint calls (0 or absent: never; never after the last step). */
  checkpointEvery?: number;
  /** The arrays are live views of the model and optimizer: write them out, do not keep them. */
  onCheckpoint?: (state: LoopState) => void;
  /** Appended to the non-finite-loss error (default "(lower lr?)"). */
  hint?: string;
  /** Ends the run after the step whose record makes this true (e.g. a convergence criterion). */
  until?: (record: M & StepMetrics) => boolean;
}

/** The resume and checkpoint options of {@link RunStepsOptions}, for trainers to pass through. */
export type LoopResumeOptions = Pick<
  RunStepsOptions<never, { loss: number }>,
  'resume' | 'stopAfter' | 'checkpointEvery' | 'onCheckpoint'
>;

export interface RunStepsResult<M> {
  /** Steps done by this call. */
  stepsRun: number;
  /** Completed steps in total (resumed ones included). */
  step: number;
  /** False when stopAfter ended the run early. */
  finished: boolean;
  /** Seconds of training, summed over resumed parts. */
  seconds: number;
  /** This call's records. */
  history: (M & StepMetrics)[];
}

/** Restores weights, AdamW state and the step from a saved LoopState (lengths checked). */
function restore(
  o: Pick<RunStepsOptions<never, { loss: number }>, 'model' | 'optimizer' | 'name' | 'totalSteps'>,
  r: LoopState,
): void {
  const { model, optimizer, name, totalSteps } = o;
  const n = model.numParams;
  if (r.params.length !== n || r.adamM.length !== n || r.adamV.length !== n)
    throw new GshfInputError(
      `${name} resume: the saved state holds ${r.params.length} parameters, the model has ${n}`,
    );
  if (!(Number.isInteger(r.step) && r.step >= 0 && r.step <= totalSteps))
    throw new GshfInputError(`${name} resume: saved step ${r.step} is outside 0..${totalSteps}`);
  model.params.set(r.params);
  optimizer.adamw.m.set(r.adamM);
  optimizer.adamw.v.set(r.adamV);
  optimizer.adamw.step = r.adamStep;
}

/** Runs the optimizer steps of one training run (see the file comment). */
export function runSteps<Batch, M extends { loss: number }>(o: RunStepsOptions<Batch, M>): RunStepsResult<M> {
  // --- setup: start step, clock, schedule
  const { model, optimizer, totalSteps } = o;
  const accum = o.accumulation ?? 1;
  if (o.resume) restore(o, o.resume);
  const first = o.resume?.step ?? 0;
  const end = Math.min(totalSteps, o.stopAfter ?? Infinity);
  const t0 = performance.now() - (o.resume?.elapsedSec ?? 0) * 1000;
  const every = o.checkpointEvery ?? 0;
  const history: (M & StepMetrics)[] = [];
  let done = end;

  // --- steps
  for (let step = first; step < end; step++) {
    const ts = performance.now();
    const lr = learningRate(step, optimizer.schedule);
    model.zeroGrad();
    let m: M | undefined;
    let lsum = 0;
    for (let a = 0; a < accum; a++) {
      m = o.lossAndGrad(o.batches(step, a), 1 / accum);
      lsum += m.loss;
    }
    const loss = lsum / accum;
    if (!Number.isFinite(loss))
      throw new GshfNumericError(
        `${o.name}: loss became ${loss} at step ${step + 1} ${o.hint ?? '(lower lr?)'}`,
      );
    const gn = clipGradNorm(model, optimizer.gradClip);
    optimizer.adamw.update(lr);
    const now = performance.now();
    const last = step + 1 === totalSteps;
    const rec = {
      ...(m as M),
      loss,
      step: step + 1,
      lr,
      grad_norm: gn,
      step_seconds: (now - ts) / 1000,
      elapsed_seconds: (now - t0) / 1000,
      ...o.afterStep?.(step + 1, last),
    };
    history.push(rec);
    o.onStep?.(rec);
    if (o.onCheckpoint && every > 0 && (step + 1) % every === 0 && !last)
      o.onCheckpoint({
        step: step + 1,
        params: model.params,
        adamM: optimizer.adamw.m,
        adamV: optimizer.adamw.v,
        adamStep: optimizer.adamw.step,
        elapsedSec: rec.elapsed_seconds,
      });
    if (o.until?.(rec)) {
      done = step + 1;
      break;
    }
  }

  // --- result
  return {
    stepsRun: done - first,
    step: done,
    finished: done === totalSteps || done < end,
    seconds: (performance.now() - t0) / 1000,
    history,
  };
}

/** A batch of an epoch-shuffled sampler: pair (or example) indices and the 1-based epoch. */
export interface EpochBatch {
  idx: number[];
  epoch: number;
}

/**
 * Epoch batches over n items: each epoch shuffles the order once (with `rng`, in place, continuing
 * the previous epoch's order) and cuts it into ceil(n / batchSize) batches, the last one shorter.
 * Random access by step: a resumed run replays the shuffles of the epochs it skips, so its batches
 * equal an uninterrupted run's.
 */
export function epochBatches(
  n: number,
  batchSize: number,
  rng: { shuffle(a: number[]): void },
): { perEpoch: number; at: (step: number) => EpochBatch } {
  const perEpoch = Math.ceil(n / batchSize);
  const order = Array.from({ length: n }, (_, i) => i);
  let shuffled = 0; // epochs whose shuffle has been applied
  return {
    perEpoch,
    at(step: number): EpochBatch {
      const epoch = Math.floor(step / perEpoch);
      if (epoch + 1 < shuffled)
        throw new RangeError(`epochBatches: step ${step} is before the current epoch`);
      while (shuffled <= epoch) {
        rng.shuffle(order);
        shuffled++;
      }
      const s = step - epoch * perEpoch;
      return { idx: order.slice(s * batchSize, Math.min(n, (s + 1) * batchSize)), epoch: epoch + 1 };
    },
  };
}

/** The options of an epoch-based trainer (DPO, reward models) that runEpochs reads. */
export interface EpochTrainOptions<R> extends OptimizerOptions, LoopResumeOptions {
  epochs?: number;
  /** Items per step (default 16, at most the data size). */
  batchSize?: number;
  /** Stop after this many steps (default: epochs × ceil(n / batchSize)). */
  maxSteps?: number;
  onStep?: (record: R) => void;
  /** Called after every full epoch with its mean loss; true ends training there (a convergence criterion). */
  stopAfterEpoch?: (epoch: number, meanLoss: number) => boolean;
}

/**
 * runSteps over epoch-shuffled batches of n items (epochBatches): the whole loop of DPO and reward
 * models. `lossAndGrad(idx)` gets the step's item indices; every record also carries its `epoch`.
 */
export function runEpochs<M extends { loss: number }>(o: {
  name: string;
  model: TrainableModel;
  n: number;
  rng: { shuffle(a: number[]): void };
  opts: EpochTrainOptions<M & StepMetrics & { epoch: number }>;
  trainerDefaults: OptimizerOptions;
  lossAndGrad: (idx: number[]) => M;
}): { steps: number; seconds: number; history: (M & StepMetrics & { epoch: number })[] } {
  const { opts, model } = o;
  const bs = Math.max(1, Math.min(opts.batchSize ?? 16, o.n));
  const batches = epochBatches(o.n, bs, o.rng);
  const total = Math.min(opts.maxSteps ?? Infinity, (opts.epochs ?? 1) * batches.perEpoch);
  let epochLoss = 0;
  const until = opts.stopAfterEpoch
    ? (rec: { loss: number; step: number }): boolean => {
        epochLoss += rec.loss;
        if (rec.step % batches.perEpoch !== 0) return false;
        const mean = epochLoss / batches.perEpoch;
        epochLoss = 0;
        return (opts.stopAfterEpoch as (e: number, l: number) => boolean)(rec.step / batches.perEpoch, mean);
      }
    : undefined;
  const res = runSteps({
    name: o.name,
    model,
    optimizer: createOptimizer(model, opts, total, o.trainerDefaults),
    totalSteps: total,
    batches: (step) => batches.at(step),
    lossAndGrad: ({ idx, epoch }: EpochBatch) => ({ ...o.lossAndGrad(idx), epoch }),
    onStep: opts.onStep,
    resume: opts.resume,
    stopAfter: opts.stopAfter,
    checkpointEvery: opts.checkpointEvery,
    onCheckpoint: opts.onCheckpoint,
    ...(until ? { until } : {}),
  });
  return { steps: res.step, seconds: res.seconds, history: res.history };
}
