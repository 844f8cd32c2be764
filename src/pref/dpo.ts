/**
 * The DPO trainer: a trainable policy GPT against reference log-probs precomputed once per data set
 * (TRL `precompute_ref_log_probs`; the reference π0 is fixed), any loss from losses.ts, AdamW with
 * warmup + cosine, global-norm clipping, seeded shuffling, optional NLL term and a per-pair offset
 * (the pessimistic margin). One step = one forward over the concatenated chosen+rejected batch, the
 * per-pair dL/dlogp, one `backwardSeqLogProbs`.
 */
import { Rng, type Seed } from '../math/rng.js';
import {
  encodePair,
  runEpochs,
  type EncodedSeq,
  type EpochTrainOptions,
  type StepMetrics,
  type OptimizerOptions,
  type GPT,
  type RewardBatch,
  type SeqBatch,
  type Tokenizer,
} from '../nn/index.js';
import {
  dpoMetrics,
  preferenceLoss,
  type DpoMetrics,
  type LossOptions,
  type LossType,
  type PairLogProbs,
} from './losses.js';
import type { PreferencePair } from './types.js';

/** A preference pair already tokenised as [BOS] prompt response [EOS] (see nn `encodePair`/`encodePairIds`). */
export interface EncodedPair {
  chosen: EncodedSeq;
  rejected: EncodedSeq;
}

/** Text pairs or already-encoded pairs (e.g. sampled token ids, which should not round-trip through text). */
export type PairInput = readonly PreferencePair[] | readonly EncodedPair[];

function isEncoded(p: PairInput): p is readonly EncodedPair[] {
  return p.length > 0 && typeof (p[0] as EncodedPair).chosen === 'object';
}

/** Tokenises text pairs with nn's `encodePair` (EOS appended, cut to blockSize). */
export function encodePreferencePairs(
  tok: Tokenizer,
  pairs: readonly PreferencePair[],
  blockSize: number,
): EncodedPair[] {
  return pairs.map((p) => ({
    chosen: encodePair(tok, p.prompt, p.chosen, blockSize),
    rejected: encodePair(tok, p.prompt, p.rejected, blockSize),
  }));
}

/** Encodes `pairs` if they are text. */
export function toEncoded(tok: Tokenizer, pairs: PairInput, blockSize: number): readonly EncodedPair[] {
  return isEncoded(pairs) ? pairs : encodePreferencePairs(tok, pairs as readonly PreferencePair[], blockSize);
}

/**
 * Fills right-padded [chosen rows; rejected rows] batches into reused buffers. T is fixed per data
 * set (longest sequence) so the model keeps one activation workspace per batch size.
 */
export class PairBatcher {
  readonly T: number;
  private readonly cache = new Map<number, SeqBatch & RewardBatch>();

  constructor(
    readonly pairs: readonly EncodedPair[],
    readonly pad: number,
    blockSize: number,
  ) {
    let T = 1;
    for (const p of pairs) T = Math.max(T, p.chosen.ids.length, p.rejected.ids.length);
    this.T = Math.min(T, blockSize);
  }

  /** Batch of 2·idx.length rows: row b = chosen of pairs[idx[b]], row n+b = its rejected. A view reused across calls. */
  fill(idx: ArrayLike<number>): SeqBatch & RewardBatch {
    const n = idx.length;
    const T = this.T;
    let batch = this.cache.get(n);
    if (!batch) {
      batch = {
        B: 2 * n,
        T,
        tokens: new Int32Array(2 * n * T),
        mask: new Float32Array(2 * n * T),
        lengths: new Int32Array(2 * n),
      };
      this.cache.set(n, batch);
    }
    const { tokens, mask, lengths } = batch;
    tokens.fill(this.pad);
    mask.fill(0);
    const put = (row: number, s: EncodedSeq): void => {
      const len = Math.min(T, s.ids.length);
      lengths[row] = len;
      const o = row * T;
      for (let t = 0; t < len; t++) {
        tokens[o + t] = s.ids[t];
        if (t >= s.responseStart && t >= 1) mask[o + t] = 1;
      }
    };
    for (let b = 0; b < n; b++) {
      const p = this.pairs[idx[b]];
      put(b, p.chosen);
      put(n + b, p.rejected);
    }
    return batch;
  }
}

/** Per-batch-size scratch of 2·m float64 (one per [chosen; rejected] row), reused across steps. */
export function pairScratch(): (m: number) => Float64Array {
  const cache = new Map<number, Float64Array>();
  return (m) => {
    let a = cache.get(m);
    if (!a) cache.set(m, (a = new Float64Array(2 * m)));
    return a;
  };
}

/** Reference (π0) summed log-probs and scored-token counts per pair. */
export interface ReferenceLogProbs {
  chosen: Float64Array;
  rejected: Float64Array;
  chosenTokens: Int32Array;
  rejectedTokens: Int32Array;
}

/** One pass of the frozen reference over the data set (no gradients); batchSize in pairs. */
export function referenceLogProbs(
  refModel: GPT,
  tok: Tokenizer,
  pairs: PairInput,
  opts: { batchSize?: number } = {},
): ReferenceLogProbs {
  const enc = toEncoded(tok, pairs, refModel.config.blockSize);
  const n = enc.length;
  const out: ReferenceLogProbs = {
    chosen: new Float64Array(n),
    rejected: new Float64Array(n),
    chosenTokens: new Int32Array(n),
    rejectedTokens: new Int32Array(n),
  };
  const bs = Math.max(1, opts.batchSize ?? 32);
  const batcher = new PairBatcher(enc, tok.pad, refModel.config.blockSize);
  const idx: number[] = [];
  for (let i = 0; i < n; i += bs) {
    idx.length = 0;
    for (let j = i; j < Math.min(n, i + bs); j++) idx.push(j);
    const r = refModel.tokenLogProbs(batcher.fill(idx));
    const m = idx.length;
    for (let b = 0; b < m; b++) {
      out.chosen[i + b] = r.seqLogProbs[b];
      out.rejected[i + b] = r.seqLogProbs[m + b];
      out.chosenTokens[i + b] = r.counts[b];
      out.rejectedTokens[i + b] = r.counts[m + b];
    }
  }
  return out;
}

/** Optimizer options (lr, warmupSteps, weightDecay, …): see nn OptimizerOptions; DPO defaults lr 5e-4, no weight decay. */
export interface DpoOptions extends EpochTrainOptions<DpoStepMetrics> {
  /** β = the paper's η. Default 0.1. */
  beta?: number;
  /** Default 'sigmoid'. */
  loss?: LossType;
  /** ε for cdpo / robust. */
  labelSmoothing?: number;
  /** IPO length normalisation (default true, TRL). */
  ipoNormalize?: boolean;
  /** NLL-on-chosen weight α (RPO). Default 0. */
  nllAlpha?: number;
  /** Per-pair additive offset inside the link, aligned with `pairs` (e.g. pessimisticOffset(Γ_w, Γ_l)). */
  offsets?: ArrayLike<number>;
  seed?: Seed;
}

/** DPO's optimizer defaults (the rest: nn OPTIMIZER_DEFAULTS). */
export const DPO_OPTIMIZER: OptimizerOptions = { lr: 5e-4, weightDecay: 0 };

/** One DPO step's record: the loss's metrics, the epoch and the loop's StepMetrics. */
export interface DpoStepMetrics extends DpoMetrics, StepMetrics {
  epoch: number;
}

export interface DpoResult {
  steps: number;
  seconds: number;
  history: DpoStepMetrics[];
}

/**
 * One DPO batch: forward of `batch` (= batcher.fill(idx): chosen rows then rejected rows), per-pair
 * losses, and ONE backward with dL/dlogp (mean over pairs); gradients accumulate into policy.grads.
 * `lps`, `losses` (length ≥ idx.length) and `dSeq` (length 2·idx.length) are caller scratch.
 */
export function dpoBatchLossAndGrad(
  policy: GPT,
  batch: SeqBatch,
  idx: ArrayLike<number>,
  ref: ReferenceLogProbs,
  type: LossType,
  lossOpts: LossOptions,
  offsets: ArrayLike<number> | undefined,
  lps: PairLogProbs[],
  losses: Float64Array,
  dSeq: Float64Array,
): DpoMetrics {
  const m = idx.length;
  const r = policy.tokenLogProbs(batch);
  for (let b = 0; b < m; b++) {
    const i = idx[b];
    const p = lps[b];
    p.policyChosen = r.seqLogProbs[b];
    p.policyRejected = r.seqLogProbs[m + b];
    p.refChosen = ref.chosen[i];
    p.refRejected = ref.rejected[i];
    p.chosenTokens = ref.chosenTokens[i];
    p.rejectedTokens = ref.rejectedTokens[i];
    const l = preferenceLoss(type, p, lossOpts, offsets ? offsets[i] : 0);
    losses[b] = l.loss;
    dSeq[b] = l.dChosen / m;
    dSeq[m + b] = l.dRejected / m;
  }
  const metrics = dpoMetrics(lps.length === m ? lps : lps.slice(0, m), lossOpts.beta, losses.subarray(0, m));
  policy.backwardSeqLogProbs(dSeq);
  return metrics;
}

/** Trains `policy` in place on `pairs` against precomputed reference log-probs `ref` (aligned with `pairs`). */
export function trainDpo(
  policy: GPT,
  tok: Tokenizer,
  pairs: PairInput,
  ref: ReferenceLogProbs,
  opts: DpoOptions = {},
): DpoResult {
  const enc = toEncoded(tok, pairs, policy.config.blockSize);
  const n = enc.length;
  if (n === 0) return { steps: 0, seconds: 0, history: [] };
  if (ref.chosen.length !== n)
    throw new RangeError(`reference log-probs cover ${ref.chosen.length} pairs, data has ${n}`);
  if (opts.offsets && opts.offsets.length !== n)
    throw new RangeError(`offsets has ${opts.offsets.length} entries, data has ${n}`);
  const beta = opts.beta ?? 0.1;
  const type = opts.loss ?? 'sigmoid';
  const lossOpts: LossOptions = {
    beta,
    labelSmoothing: opts.labelSmoothing,
    ipoNormalize: opts.ipoNormalize,
    nllAlpha: opts.nllAlpha,
  };
  const bs = Math.max(1, Math.min(opts.batchSize ?? 16, n));
  const batcher = new PairBatcher(enc, tok.pad, policy.config.blockSize);
  const lps: PairLogProbs[] = Array.from({ length: bs }, () => ({
    policyChosen: 0,
    policyRejected: 0,
    refChosen: 0,
    refRejected: 0,
    chosenTokens: 1,
    rejectedTokens: 1,
  }));
  const losses = new Float64Array(bs);
  const dSeq = pairScratch();
  const lossAndGrad = (idx: number[]): DpoMetrics =>
    dpoBatchLossAndGrad(
      policy,
      batcher.fill(idx),
      idx,
      ref,
      type,
      lossOpts,
      opts.offsets,
      lps,
      losses,
      dSeq(idx.length),
    );
  const rng = new Rng(opts.seed ?? 0).fork('dpo-shuffle');
  return runEpochs({ name: 'DPO', model: policy, n, rng, opts, trainerDefaults: DPO_OPTIMIZER, lossAndGrad });
}

/**
 * Evaluates the DPO metrics (no update) of `policy` on `pairs`, e.g. on a validation set or at step 0.
 */
export function evaluateDpo(
  policy: GPT,
  tok: Tokenizer,
  pairs: PairInput,
  ref: ReferenceLogProbs,
  opts: Pick<
    DpoOptions,
    'beta' | 'loss' | 'labelSmoothing' | 'ipoNormalize' | 'nllAlpha' | 'offsets' | 'batchSize'
  > = {},
): DpoMetrics {
  const pol = referenceLogProbs(policy, tok, pairs, { batchSize: opts.batchSize });
  const n = pol.chosen.length;
  const beta = opts.beta ?? 0.1;
  const lossOpts = {
    beta,
    labelSmoothing: opts.labelSmoothing,
    ipoNormalize: opts.ipoNormalize,
    nllAlpha: opts.nllAlpha,
  };
  const lps: PairLogProbs[] = [];
  const losses = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p: PairLogProbs = {
      policyChosen: pol.chosen[i],
      policyRejected: pol.rejected[i],
      refChosen: ref.chosen[i],
      refRejected: ref.rejected[i],
      chosenTokens: ref.chosenTokens[i],
      rejectedTokens: ref.rejectedTokens[i],
    };
    lps.push(p);
    losses[i] = preferenceLoss(opts.loss ?? 'sigmoid', p, lossOpts, opts.offsets ? opts.offsets[i] : 0).loss;
  }
  return dpoMetrics(lps, beta, losses);
}
