/**
 * Supervised fine-tuning loop: random minibatches (preallocated, fixed shape), masked next-token
 * loss, gradient accumulation, global-norm clipping, AdamW with warmup + cosine, periodic
 * validation loss. Progress goes to a callback so the CLI decides how to display it.
 */
import { Rng } from '../math/rng.js';
import type { EncodedSeq } from './data.js';
import { makeBatch } from './data.js';
import type { GPT, SeqBatch } from './model.js';
import { AdamW, clipGradNorm, learningRate } from './optim.js';

export interface SftOptions {
  steps: number;
  batchSize?: number;
  /** Micro-batches per optimizer step (gradients are averaged). */
  accumulation?: number;
  lr?: number;
  warmupSteps?: number;
  minLrRatio?: number;
  weightDecay?: number;
  beta2?: number;
  gradClip?: number;
  /** Validate every this many steps (and at the end); 0 = only at the end. */
  evalEvery?: number;
  seed?: number | string;
  onProgress?: (p: SftProgress) => void;
}

export interface SftProgress {
  step: number;
  steps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  valLoss?: number;
  elapsedSec: number;
}

export interface SftResult {
  steps: number;
  finalTrainLoss: number;
  valLoss: number;
  initialValLoss: number;
  seconds: number;
  tokensPerSec: number;
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

/** Splits sequences deterministically into train and validation sets. */
export function splitTrainVal<T>(
  items: readonly T[],
  valFraction: number,
  seed: number | string,
  maxVal = 1000,
): { train: T[]; val: T[] } {
  const idx = items.map((_, i) => i);
  new Rng(seed).fork('split').shuffle(idx);
  const nVal = Math.min(maxVal, Math.max(items.length > 1 ? 1 : 0, Math.round(items.length * valFraction)));
  return { val: idx.slice(0, nVal).map((i) => items[i]), train: idx.slice(nVal).map((i) => items[i]) };
}

/** Trains `model` on `train`, validating on `val`. */
export function trainSft(
  model: GPT,
  train: readonly EncodedSeq[],
  val: readonly EncodedSeq[],
  pad: number,
  opts: SftOptions,
): SftResult {
  if (train.length === 0) throw new Error('SFT: no training sequences');
  const B = opts.batchSize ?? 16;
  const accum = Math.max(1, opts.accumulation ?? 1);
  const T = Math.min(model.config.blockSize, Math.max(...train.map((s) => s.ids.length)));
  const rng = new Rng(opts.seed ?? 0).fork('sft-batches');
  const sched = {
    lr: opts.lr ?? 1e-3,
    warmupSteps: opts.warmupSteps ?? Math.min(100, Math.floor(opts.steps / 10)),
    totalSteps: opts.steps,
    minLrRatio: opts.minLrRatio ?? 0.1,
  };
  const opt = new AdamW(model, {
    lr: sched.lr,
    weightDecay: opts.weightDecay ?? 0.1,
    beta2: opts.beta2 ?? 0.99,
  });
  // Preallocated batch buffers: one fixed shape, so the model reuses one workspace.
  const tokens = new Int32Array(B * T);
  const mask = new Float32Array(B * T);
  const batch: SeqBatch = { B, T, tokens, mask };
  const fill = (): number => {
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
  };
  const history: SftProgress[] = [];
  const t0 = performance.now();
  const initialValLoss = val.length ? evaluateLoss(model, val, pad) : NaN;
  let tokensSeen = 0;
  let loss = NaN;
  let valLoss = initialValLoss;
  const evalEvery = opts.evalEvery ?? 0;
  for (let step = 0; step < opts.steps; step++) {
    const lr = learningRate(step, sched);
    model.zeroGrad();
    let lsum = 0;
    for (let a = 0; a < accum; a++) {
      tokensSeen += fill();
      lsum += model.lmLoss(batch);
      model.backwardLmLoss(1 / accum);
    }
    loss = lsum / accum;
    if (!Number.isFinite(loss)) throw new Error(`SFT: loss became ${loss} at step ${step + 1} (lower --lr?)`);
    const gn = clipGradNorm(model, opts.gradClip ?? 1);
    opt.update(lr);
    const last = step + 1 === opts.steps;
    const p: SftProgress = {
      step: step + 1,
      steps: opts.steps,
      loss,
      lr,
      gradNorm: gn,
      elapsedSec: (performance.now() - t0) / 1000,
    };
    if (val.length && (last || (evalEvery > 0 && (step + 1) % evalEvery === 0))) {
      valLoss = evaluateLoss(model, val, pad);
      p.valLoss = valLoss;
    }
    history.push(p);
    opts.onProgress?.(p);
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    steps: opts.steps,
    finalTrainLoss: loss,
    valLoss,
    initialValLoss,
    seconds,
    tokensPerSec: tokensSeen / seconds,
    history,
  };
}
