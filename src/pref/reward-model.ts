/**
 * Bradley–Terry reward models on the engine's scalar head, and ensembles of them (mean and std per
 * response = the uncertainty used by pessimism and exploration). Loss (TRL RewardTrainer):
 * L = −log σ(r(x,y+) − r(x,y−) − margin), mean over the batch.
 */
import { Rng, type Seed } from '../math/rng.js';
import { softplus, sigmoid } from '../math/special.js';
import {
  GPT,
  encodePair,
  loadCheckpoint,
  runEpochs,
  makeBatch,
  saveCheckpoint,
  type EncodedSeq,
  type GPTConfigInput,
  type EpochTrainOptions,
  type StepMetrics,
  type OptimizerOptions,
  type RewardBatch,
  type Tokenizer,
} from '../nn/index.js';
import { PairBatcher, pairScratch, toEncoded, type PairInput } from './dpo.js';

/**
 * A scalar-head GPT initialised from an LM's trunk: every tensor with the same name and shape is
 * copied from `lm` (embeddings, blocks, final norm), the score head is fresh (seeded), the LM head dropped.
 */
export function rewardModelFromLM(lm: GPT, seed: Seed = 0): GPT {
  const rm = new GPT({ ...lm.config, head: 'scalar' }, seed);
  for (const t of rm.tensors) {
    const s = lm.tensor(t.name);
    if (s && s.size === t.size && s.shape.every((d, i) => d === t.shape[i])) {
      rm.params.set(lm.params.subarray(s.offset, s.offset + s.size), t.offset);
    }
  }
  // The GPT constructor initialises the head from `seed`; make it explicit that the head is fresh.
  rm.initScoreHead(seed);
  return rm;
}

/** A scalar-head GPT from scratch (GPT-2 init). */
export function rewardModelFromScratch(config: GPTConfigInput, seed: Seed = 0): GPT {
  return new GPT({ ...config, head: 'scalar' }, seed);
}

/** TRL RewardTrainer metric names (per step, batch means). */
export interface RewardMetrics {
  loss: number;
  /** Fraction of pairs with r(chosen) > r(rejected) (strict). */
  accuracy: number;
  /** Mean of r(chosen) − r(rejected). */
  margin: number;
  mean_reward: number;
  min_reward: number;
  max_reward: number;
}

/** One reward-model step's record: the BT metrics, the epoch and the loop's StepMetrics. */
export interface RewardStepMetrics extends RewardMetrics, StepMetrics {
  epoch: number;
}

/** Optimizer options: see nn OptimizerOptions; reward models default to lr 1e-3, no weight decay. */
export interface RewardTrainOptions extends EpochTrainOptions<RewardStepMetrics> {
  seed?: Seed;
  /** Per-pair margins (TRL `margin` column), aligned with `pairs`: L = −log σ(Δr − margin). */
  margins?: ArrayLike<number>;
  /** TRL `center_rewards_coefficient`: adds c·mean((r+ + r−)²) to keep rewards centred. Default 0. */
  centerRewardsCoefficient?: number;
}

/** Reward-model optimizer defaults (the rest: nn OPTIMIZER_DEFAULTS). */
export const RM_OPTIMIZER: OptimizerOptions = { lr: 1e-3, weightDecay: 0 };

export interface RewardTrainResult {
  steps: number;
  seconds: number;
  history: RewardStepMetrics[];
}

/**
 * The BT loss and dL/dr for a batch whose rows are [chosen (m); rejected (m)], written into `dr`.
 * Exported for the gradient tests.
 */
export function btLossAndGrad(
  r: ArrayLike<number>,
  m: number,
  dr: Float64Array,
  margins?: ArrayLike<number>,
  center = 0,
): RewardMetrics {
  let loss = 0,
    acc = 0,
    marg = 0,
    sum = 0,
    mn = Infinity,
    mx = -Infinity;
  for (let b = 0; b < m; b++) {
    const c = r[b];
    const w = r[m + b];
    const z = c - w - (margins ? margins[b] : 0);
    loss += softplus(-z);
    const dz = -sigmoid(-z) / m;
    dr[b] = dz;
    dr[m + b] = -dz;
    if (center > 0) {
      loss += center * (c + w) * (c + w); // TRL: c·mean((r+ + r−)²); the mean's 1/m is applied below
      dr[b] += (2 * center * (c + w)) / m;
      dr[m + b] += (2 * center * (c + w)) / m;
    }
    if (c > w) acc++;
    marg += c - w;
    sum += c + w;
    mn = Math.min(mn, c, w);
    mx = Math.max(mx, c, w);
  }
  return {
    loss: loss / m,
    accuracy: acc / m,
    margin: marg / m,
    mean_reward: sum / (2 * m),
    min_reward: mn,
    max_reward: mx,
  };
}

/**
 * One BT batch through the model: rewards of [chosen; rejected] rows, mean loss, one backward
 * (gradients accumulate into rm.grads). `dr` has length batch.B.
 */
export function rewardBatchLossAndGrad(
  rm: GPT,
  batch: RewardBatch,
  dr: Float64Array,
  margins?: ArrayLike<number>,
  center = 0,
): RewardMetrics {
  const r = rm.rewards(batch);
  const met = btLossAndGrad(r, batch.B / 2, dr, margins, center);
  rm.backwardRewards(dr);
  return met;
}

/** Trains the scalar-head `rm` in place on preference pairs. */
export function trainRewardModel(
  rm: GPT,
  tok: Tokenizer,
  pairs: PairInput,
  opts: RewardTrainOptions = {},
): RewardTrainResult {
  if (rm.config.head !== 'scalar')
    throw new Error("trainRewardModel: the model needs head 'scalar' (use rewardModelFromLM)");
  const enc = toEncoded(tok, pairs, rm.config.blockSize);
  const n = enc.length;
  if (n === 0) return { steps: 0, seconds: 0, history: [] };
  const batcher = new PairBatcher(enc, tok.pad, rm.config.blockSize);
  const dr = pairScratch();
  const marginBuf = new Float64Array(Math.max(1, Math.min(opts.batchSize ?? 16, n)));
  const lossAndGrad = (idx: number[]): RewardMetrics => {
    if (opts.margins) for (let b = 0; b < idx.length; b++) marginBuf[b] = opts.margins[idx[b]];
    const margins = opts.margins ? marginBuf : undefined;
    const center = opts.centerRewardsCoefficient ?? 0;
    return rewardBatchLossAndGrad(rm, batcher.fill(idx), dr(idx.length), margins, center);
  };
  const rng = new Rng(opts.seed ?? 0).fork('rm-shuffle');
  return runEpochs({
    name: 'reward model',
    model: rm,
    n,
    rng,
    opts,
    trainerDefaults: RM_OPTIMIZER,
    lossAndGrad,
  });
}

/**
 * r for already-encoded sequences ([BOS] prompt response [EOS], e.g. exact sampled ids), batched
 * with one padded length per call (at most two batch shapes, so the model's workspaces are reused).
 */
export function scoreEncodedRewards(
  rm: GPT,
  seqs: readonly EncodedSeq[],
  pad: number,
  batchSize = 64,
): Float64Array {
  const out = new Float64Array(seqs.length);
  let T = 1;
  for (const s of seqs) T = Math.max(T, Math.min(s.ids.length, rm.config.blockSize));
  for (let i = 0; i < seqs.length; i += batchSize)
    out.set(rm.rewards(makeBatch(seqs.slice(i, i + batchSize), pad, T)), i);
  return out;
}

/** r(x, y) for each (prompts[i], responses[i]), batched. */
export function scoreResponses(
  rm: GPT,
  tok: Tokenizer,
  prompts: readonly string[],
  responses: readonly string[],
  batchSize = 64,
): Float64Array {
  if (prompts.length !== responses.length)
    throw new RangeError(`${prompts.length} prompts but ${responses.length} responses`);
  return scoreEncodedRewards(
    rm,
    prompts.map((p, i) => encodePair(tok, p, responses[i], rm.config.blockSize)),
    tok.pad,
    batchSize,
  );
}

/** Evaluation metrics (no update) of `rm` on pairs: accuracy, margin, loss, reward range. */
export function evaluateRewardModel(
  rm: GPT,
  tok: Tokenizer,
  pairs: PairInput,
  batchSize = 64,
): RewardMetrics {
  const enc = toEncoded(tok, pairs, rm.config.blockSize);
  const n = enc.length;
  const batcher = new PairBatcher(enc, tok.pad, rm.config.blockSize);
  const all = new Float64Array(2 * n);
  const idx: number[] = [];
  for (let i = 0; i < n; i += batchSize) {
    idx.length = 0;
    for (let j = i; j < Math.min(n, i + batchSize); j++) idx.push(j);
    const r = rm.rewards(batcher.fill(idx));
    const m = idx.length;
    for (let b = 0; b < m; b++) {
      all[i + b] = r[b];
      all[n + i + b] = r[m + b];
    }
  }
  return btLossAndGrad(all, n, new Float64Array(2 * n));
}

/** A trained reward model with its tokenizer: the `Scorer`-compatible face the methods use. */
export class RewardModel {
  constructor(
    readonly model: GPT,
    readonly tok: Tokenizer,
  ) {
    if (model.config.head !== 'scalar') throw new Error("RewardModel: the model needs head 'scalar'");
  }

  /** r(prompts[i], responses[i]). */
  score(prompts: readonly string[], responses: readonly string[]): Float64Array {
    return scoreResponses(this.model, this.tok, prompts, responses);
  }

  /** One response (a `Scorer`); batch with `score` where possible. */
  scoreOne(prompt: string, response: string): number {
    return this.score([prompt], [response])[0];
  }

  save(dir: string, meta: Record<string, unknown> = {}): void {
    saveCheckpoint(dir, this.model, this.tok, { kind: 'reward-model', ...meta });
  }

  /** Loads a reward-model checkpoint (or an LM checkpoint as a fresh-head RM, seeded by `seed`). */
  static load(dir: string, seed: Seed = 0): RewardModel {
    const { model, tokenizer } = loadCheckpoint(dir, { head: 'scalar', seed });
    return new RewardModel(model, tokenizer);
  }
}

export interface EnsembleOptions extends RewardTrainOptions {
  /** Number of members K (default 4). */
  k?: number;
  /** Train each member on a bootstrap resample of the pairs (default true); seeds always differ. */
  bootstrap?: boolean;
  /** Initialise members from this LM's trunk (else from scratch with `config`). */
  init?: GPT;
  config?: GPTConfigInput;
  /** Called per member step with the member index. */
  onMemberStep?: (member: number, m: RewardStepMetrics) => void;
}

export interface EnsembleScores {
  /** scores[k][i] = r_k(x_i, y_i). */
  members: Float64Array[];
  mean: Float64Array;
  /** Population std over members (uncertainty). */
  std: Float64Array;
}

/** K reward models (different head seeds, shuffles and optional bootstrap resamples). */
export class RewardEnsemble {
  constructor(readonly members: readonly RewardModel[]) {
    if (members.length === 0) throw new RangeError('RewardEnsemble: no members');
  }

  score(prompts: readonly string[], responses: readonly string[]): EnsembleScores {
    return RewardEnsemble.combine(this.members.map((m) => m.score(prompts, responses)));
  }

  /** Same for already-encoded sequences (exact sampled ids). */
  scoreEncoded(seqs: readonly EncodedSeq[], pad: number, batchSize = 64): EnsembleScores {
    return RewardEnsemble.combine(
      this.members.map((m) => scoreEncodedRewards(m.model, seqs, pad, batchSize)),
    );
  }

  private static combine(all: Float64Array[]): EnsembleScores {
    const n = all[0].length;
    const K = all.length;
    const mean = new Float64Array(n);
    const std = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += all[k][i];
      const mu = s / K;
      let v = 0;
      for (let k = 0; k < K; k++) v += (all[k][i] - mu) ** 2;
      mean[i] = mu;
      std[i] = Math.sqrt(v / K);
    }
    return { members: all, mean, std };
  }

  /** Saves member k to `${dir}/member-${k}`. */
  save(dir: string, meta: Record<string, unknown> = {}): void {
    this.members.forEach((m, k) =>
      m.save(`${dir}/member-${k}`, { ...meta, member: k, of: this.members.length }),
    );
  }

  static load(dir: string, k: number): RewardEnsemble {
    return new RewardEnsemble(Array.from({ length: k }, (_, i) => RewardModel.load(`${dir}/member-${i}`)));
  }
}

/** Trains K members; member k uses seed `${seed}/k` for its head, shuffling and bootstrap. */
export function trainRewardEnsemble(
  tok: Tokenizer,
  pairs: PairInput,
  opts: EnsembleOptions,
): { ensemble: RewardEnsemble; results: RewardTrainResult[] } {
  const K = opts.k ?? 4;
  const base = String(opts.seed ?? 0);
  const enc = toEncoded(tok, pairs, (opts.init?.config ?? opts.config)?.blockSize ?? Infinity);
  const members: RewardModel[] = [];
  const results: RewardTrainResult[] = [];
  for (let k = 0; k < K; k++) {
    const seed = `${base}/${k}`;
    let model: GPT;
    if (opts.init) model = rewardModelFromLM(opts.init, seed);
    else if (opts.config) model = rewardModelFromScratch(opts.config, seed);
    else throw new Error('trainRewardEnsemble: give `init` (an LM) or `config`');
    let data = enc;
    let margins = opts.margins;
    if (opts.bootstrap ?? true) {
      const rng = new Rng(seed).fork('bootstrap');
      const pick = Array.from({ length: enc.length }, () => rng.int(enc.length));
      data = pick.map((i) => enc[i]);
      if (opts.margins) {
        const src = opts.margins;
        margins = pick.map((i) => src[i]);
      }
    }
    const onStep = opts.onMemberStep ? (m: RewardStepMetrics) => opts.onMemberStep?.(k, m) : opts.onStep;
    // Members are not resumable one by one: the loop's resume options are not passed on.
    const noResume = {
      resume: undefined,
      stopAfter: undefined,
      checkpointEvery: undefined,
      onCheckpoint: undefined,
    };
    results.push(trainRewardModel(model, tok, data, { ...opts, ...noResume, seed, margins, onStep }));
    members.push(new RewardModel(model, tok));
  }
  return { ensemble: new RewardEnsemble(members), results };
}
