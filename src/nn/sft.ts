/**
 * Supervised fine-tuning loop: random minibatches (preallocated, fixed shape), masked next-token
 * loss, gradient accumulation, global-norm clipping, AdamW with warmup + cosine, periodic
 * validation loss. Progress goes to a callback so the CLI decides how to display it.
 */
import { Rng, type RngState } from '../math/rng.js';
import type { EncodedSeq } from './data.js';
import { makeBatch } from './data.js';
import type { GPT, SeqBatch } from './model.js';
import { createOptimizer, type OptimizerOptions } from './optim.js';
import { runSteps, type LoopState, type StepMetrics } from './train-loop.js';
import { GshfInputError } from '../math/errors.js';

/**
 * SFT's defaults, shared by `gshf lm sft` and the reproduce pipeline's π0 stage (one set). Warmup
 * defaults to min(100, steps/10) (see sftWarmup).
 */
export const SFT_DEFAULTS = {
  steps: 2000,
  batchSize: 16,
  accumulation: 1,
  lr: 2e-3,
  weightDecay: 0.1,
  beta2: 0.99,
  minLrRatio: 0.1,
  gradClip: 1,
  evalEvery: 250,
  valFraction: 0.05,
  seed: 0,
  /** Steps between resumable checkpoints of a run folder (0 = only at the end). */
  checkpointEvery: 100,
} as const;

/** SFT's default warmup: min(100, steps/10). */
export function sftWarmup(steps: number): number {
  return Math.min(100, Math.floor(steps / 10));
}

/** Optimizer options (lr, warmupSteps, weightDecay, gradClip, …): nn OptimizerOptions, SFT_DEFAULTS. */
export interface SftOptions extends OptimizerOptions {
  steps: number;
  batchSize?: number;
  /** Micro-batches per optimizer step (gradients are averaged). */
  accumulation?: number;
  /** Validate every this many steps (and at the end); 0 = only at the end. */
  evalEvery?: number;
  seed?: number | string;
  onProgress?: (p: SftProgress) => void;
  /** Continue from a state saved by `onCheckpoint` (same model, data and options). */
  resume?: SftState;
  /** Called every `checkpointEvery` steps (after that step's onProgress) with the state to save. */
  onCheckpoint?: (state: SftState) => void;
  checkpointEvery?: number;
  /** Stop after this many steps (counted from 0) as if interrupted: no final validation. */
  stopAfter?: number;
}

/** One SFT step's record: the loop's StepMetrics, the run length and, when validated, val_loss. */
export interface SftProgress extends StepMetrics {
  steps: number;
  val_loss?: number;
}

/**
 * Everything a resumed run needs to continue bit-for-bit: weights, AdamW moments and step, the batch
 * sampler's RNG (= the data position) and the running numbers. The arrays are views into the live
 * model and optimizer, valid during the onCheckpoint call (write them out, do not keep them).
 */
export interface SftState extends LoopState {
  rng: RngState;
  tokensSeen: number;
  loss: number;
  valLoss: number;
  initialValLoss: number;
  elapsedSec: number;
}

export interface SftResult {
  steps: number;
  /** Steps done by this call (less than `steps` after a resume or with stopAfter). */
  stepsRun: number;
  /** False when stopAfter ended the run early. */
  finished: boolean;
  finalTrainLoss: number;
  /** NaN when there is no validation set. */
  valLoss: number;
  initialValLoss: number;
  /** Seconds of training, summed over resumed parts. */
  seconds: number;
  tokensPerSec: number;
  /** This call's steps only. */
  history: SftProgress[];
}

/** Token-weighted mean masked NLL over `seqs` (batched, padded). */
export function evaluateLoss(model: GPT, seqs: readonly EncodedSeq[], pad: number, batchSize = 32): number {
  let total = 0;
  let count = 0;
  for (let i = 0; i < seqs.length; i += batchSize) {
    const batch = makeBatch(seqs.slice(i, i + batchSize), pad);
    const r = model.tokenLogProbs(batch);
    for (let b = 0; b < batch.B; b++) {
      total -= r.seqLogProbs[b];
      count += r.counts[b];
    }
  }
  return count > 0 ? total / count : NaN;
}

/**
 * Splits sequences deterministically into train and validation sets. valFraction 0 means no
 * validation set; otherwise at least one sequence is held out, and a split that would leave no
 * training sequence (or no validation sequence) is refused with the counts.
 */
export function splitTrainVal<T>(
  items: readonly T[],
  valFraction: number,
  seed: number | string,
  maxVal = 1000,
): { train: T[]; val: T[] } {
  if (!(valFraction >= 0 && valFraction < 1))
    throw new GshfInputError(`valFraction: expected a number in [0, 1), got ${valFraction}`);
  const idx = items.map((_, i) => i);
  new Rng(seed).fork('split').shuffle(idx);
  const nVal = valFraction === 0 ? 0 : Math.min(maxVal, Math.max(1, Math.round(items.length * valFraction)));
  if (nVal > 0 && items.length - nVal < 1)
    throw new GshfInputError(
      `${items.length} sequence${items.length === 1 ? '' : 's'} cannot be split into training and validation (valFraction ${valFraction}): ` +
        'use more data, or valFraction 0 to train without validation',
    );
  return { val: idx.slice(0, nVal).map((i) => items[i]), train: idx.slice(nVal).map((i) => items[i]) };
}

/** Fills the preallocated batch with B random training sequences; returns the tokens used. */
function fillBatch(batch: SeqBatch, train: readonly EncodedSeq[], pad: number, rng: Rng): number {
  const { B, T, tokens, mask } = batch;
  tokens.fill(pad);
  mask.fill(0);
  let ntok = 0;
  for (let b = 0; b < B; b++) {
    const s = train[rng.int(train.length)];
    const n = Math.min(T, s.ids.length);
    for (let t = 0; t < n; t++) {
      tokens[b * T + t] = s.ids[t];
      if (t >= Math.max(1, s.responseStart)) mask[b * T + t] = 1;
    }
    ntok += n;
  }
  return ntok;
}

function checkSftOptions(opts: SftOptions, train: number): void {
  const int = (
    k: 'steps' | 'batchSize' | 'accumulation' | 'evalEvery' | 'checkpointEvery',
    min: number,
  ): void => {
    const v = opts[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= min))
      throw new GshfInputError(`SFT option ${k}: expected an integer ≥ ${min}, got ${v}`);
  };
  int('steps', 1);
  int('batchSize', 1);
  int('accumulation', 1);
  int('evalEvery', 0);
  int('checkpointEvery', 0);
  if (train === 0) throw new GshfInputError('SFT: no training sequences');
}

/** Trains `model` on `train`, validating on `val` (empty: no validation, valLoss NaN). */
export function trainSft(
  model: GPT,
  train: readonly EncodedSeq[],
  val: readonly EncodedSeq[],
  pad: number,
  opts: SftOptions,
): SftResult {
  // --- setup: options, optimizer, sampler, buffers
  checkSftOptions(opts, train.length);
  const B = opts.batchSize ?? SFT_DEFAULTS.batchSize;
  const T = Math.min(model.config.blockSize, Math.max(...train.map((s) => s.ids.length)));
  const rng = new Rng(opts.seed ?? SFT_DEFAULTS.seed).fork('sft-batches');
  const optimizer = createOptimizer(model, opts, opts.steps, {
    ...SFT_DEFAULTS,
    warmupSteps: sftWarmup(opts.steps),
  });
  const batch: SeqBatch = { B, T, tokens: new Int32Array(B * T), mask: new Float32Array(B * T) };
  const evalEvery = opts.evalEvery ?? SFT_DEFAULTS.evalEvery;

  // --- start: fresh, or the saved sampler position and running numbers
  const r = opts.resume;
  if (r) rng.setState(r.rng);
  const initialValLoss = r ? r.initialValLoss : val.length ? evaluateLoss(model, val, pad) : NaN;
  let tokensSeen = r?.tokensSeen ?? 0;
  let loss = r?.loss ?? NaN;
  let valLoss = r?.valLoss ?? initialValLoss;

  // --- train: the shared step loop
  const res = runSteps({
    name: 'SFT',
    hint: '(lower --lr?)',
    model,
    optimizer,
    totalSteps: opts.steps,
    accumulation: opts.accumulation ?? SFT_DEFAULTS.accumulation,
    batches: () => {
      tokensSeen += fillBatch(batch, train, pad, rng);
      return batch;
    },
    lossAndGrad: (b, scale) => {
      const l = model.lmLoss(b);
      model.backwardLmLoss(scale);
      return { loss: l };
    },
    afterStep: (step, last) => {
      if (!val.length || !(last || (evalEvery > 0 && step % evalEvery === 0))) return undefined;
      valLoss = evaluateLoss(model, val, pad);
      return { val_loss: valLoss };
    },
    onStep: (rec) => {
      loss = rec.loss;
      opts.onProgress?.({ ...rec, steps: opts.steps });
    },
    resume: r,
    stopAfter: opts.stopAfter,
    checkpointEvery: opts.checkpointEvery ?? SFT_DEFAULTS.checkpointEvery,
    onCheckpoint:
      opts.onCheckpoint &&
      ((st) =>
        opts.onCheckpoint?.({ ...st, rng: rng.getState(), tokensSeen, loss, valLoss, initialValLoss })),
  });

  // --- result
  return {
    steps: opts.steps,
    stepsRun: res.stepsRun,
    finished: res.finished,
    finalTrainLoss: loss,
    valLoss,
    initialValLoss,
    seconds: res.seconds,
    tokensPerSec: tokensSeen / res.seconds,
    history: res.history.map((h) => ({ ...h, steps: opts.steps })),
  };
}
