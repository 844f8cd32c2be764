/**
 * Shared machinery of the pipeline's methods: the run context, stage bookkeeping (atomic,
 * skip-on-resume), sampling that keeps token ids (so log-probs are scored on exactly the sampled
 * sequences), stored preference pairs, reward-model ensembles, DPO training, labelling through the
 * ledger, label accounting, evaluation on the test prompts and model selection on validation.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../../report/atomic.js';
import { StageMemo } from '../../report/stages.js';
import Sentiment from 'sentiment';
import { meanCI95 } from '../../math/stats.js';
import {
  encodePairIds,
  generate,
  loadCheckpoint,
  makeBatch,
  saveCheckpoint,
  scoreEncoded,
  type EncodedSeq,
  type GPT,
  type Tokenizer,
} from '../../nn/index.js';
import { referenceLogProbs, trainDpo, type EncodedPair } from '../dpo.js';
import { evalSummary, type EvalSummary } from '../eval.js';
import { goldReward } from '../gold.js';
import type { LabelLedger } from '../labels.js';
import type { PromptSplit } from '../prompts.js';
import { RewardEnsemble, trainRewardEnsemble, trainRewardModel } from '../reward-model.js';
import { Rng } from '../../math/rng.js';
import type { PipelineConfig } from '../pipeline-config.js';
import { agreement, vocabularyShare, type WordFeatures } from '../linear-rm.js';

/** One sampled response: its text (what labellers and r* see) and the exact token ids sampled. */
export interface Resp {
  text: string;
  tokens: number[];
  /** Ended with EOS (so EOS is part of the sequence and is scored). */
  stop: boolean;
}

/** A labelled pair of sampled responses. `qid`: the label's ledger id (absent when the RM labelled it). */
export interface StoredPair {
  prompt: string;
  chosen: Resp;
  rejected: Resp;
  qid?: string;
}

export interface StageLog {
  (line: string): void;
}

/** What stage bookkeeping needs: the run folder and the progress callback. */
export interface StageCtx {
  /** Run folder. */
  dir: string;
  /** Called when a stage finishes (or is skipped on resume). */
  onStage: (id: string, skipped: boolean) => void;
}

/** The run context before π0 exists (the SFT stage runs with it). */
export interface BaseCtx extends StageCtx {
  cfg: PipelineConfig;
  tok: Tokenizer;
  /** The oracle's ledger: the only way human labels are obtained. */
  ledger: LabelLedger;
  /** Ask the human (oracle) through the ledger; applies the crash hook. */
  ask: (prompt: string, a: string, b: string, queryId: string) => boolean;
  split: PromptSplit;
  log: StageLog;
  /** Word features: `rm` = the linear reward model's vocabulary, `corpus` = every corpus word. */
  words: { rm: WordFeatures; corpus: WordFeatures };
  /** Out-of-distribution test prompts (adjectives outside the pool and the corpus; may be empty). */
  ood: string[];
}

/** Everything a method needs. One per process; models are loaded from the run folder by stage. */
export interface Ctx extends BaseCtx {
  /** π0, the frozen reference (never trained in place). */
  pi0: GPT;
}

// ---------------------------------------------------------------------------------------------
// Stages

/** The run folder's stage memo (stages/<id>/, result.json written last; see src/report/stages.ts). */
function stages(ctx: StageCtx): StageMemo {
  return new StageMemo(join(ctx.dir, 'stages'), ctx.onStage);
}

export function stageDir(ctx: StageCtx, id: string): string {
  return stages(ctx).dir(id);
}

/** True when the stage's result.json exists (written last, atomically). */
export function stageDone(ctx: StageCtx, id: string): boolean {
  return stages(ctx).done(id);
}

export function readStage<T>(ctx: StageCtx, id: string): T {
  return stages(ctx).read<T>(id);
}

/**
 * Runs a stage unless its result.json exists. An unfinished stage (a crash before result.json) is
 * wiped and rerun from scratch: every stage is a deterministic function of its inputs, and its
 * labels come back from the ledger for free.
 */
export function runStage<T>(ctx: StageCtx, id: string, fn: (dir: string) => T): T {
  return stages(ctx).run(id, fn);
}

/** `runStage` for a stage whose body is asynchronous (the shared online iteration). */
export function runStageAsync<T>(ctx: StageCtx, id: string, fn: (dir: string) => Promise<T>): Promise<T> {
  return stages(ctx).runAsync(id, fn);
}

export function savePolicy(dir: string, gpt: GPT, tok: Tokenizer, meta: Record<string, unknown> = {}): void {
  saveCheckpoint(join(dir, 'policy'), gpt, tok, meta);
}

export function loadPolicy(ctx: Ctx, stageId: string | null): GPT {
  if (stageId === null) return ctx.pi0.clone();
  return loadStagePolicy(ctx, stageId);
}

/** The policy a finished stage saved (also before π0 exists: π0 itself is loaded this way). */
export function loadStagePolicy(ctx: StageCtx, stageId: string): GPT {
  return loadCheckpoint(join(stageDir(ctx, stageId), 'policy')).model;
}

export function savePairs(dir: string, name: string, pairs: readonly StoredPair[]): void {
  writeJsonAtomic(join(dir, name), pairs);
}

/** `{ oodEval }` when OOD prompts are configured, else nothing (spread into a PolicyResult). */
export function oodEvaluation(ctx: Ctx, gpt: GPT, seedIndex: number): { oodEval?: EvalRow } {
  return ctx.ood.length ? { oodEval: evaluatePolicy(ctx, gpt, seedIndex, 'ood') } : {};
}

export function loadPairs(ctx: Ctx, stageId: string, name = 'pairs.json'): StoredPair[] {
  return JSON.parse(readFileSync(join(stageDir(ctx, stageId), name), 'utf8')) as StoredPair[];
}

// ---------------------------------------------------------------------------------------------
// Sampling and encoding

/** n responses per prompt from `gpt`, keeping the sampled token ids. Deterministic in `seed`. */
export function samplePolicy(
  ctx: Ctx,
  gpt: GPT,
  prompts: readonly string[],
  n: number,
  seed: string,
): Resp[][] {
  // No prompts, no samples (e.g. an empty seed part under fair accounting); the engine's
  // generate refuses an empty batch as a caller error, so do not ask it.
  if (prompts.length === 0) return [];
  const { tok } = ctx;
  const ids = prompts.map((p) => [tok.bos, ...tok.encode(p)]);
  const out = generate(gpt, ids, {
    n,
    temperature: ctx.cfg.sampling.temperature,
    maxTokens: ctx.cfg.sampling.maxTokens,
    stop: [tok.eos],
    seed,
  });
  return out.map((row) =>
    row.map((s) => ({ text: tok.decode(s.tokens), tokens: s.tokens, stop: s.finish === 'stop' })),
  );
}

/** [BOS] prompt response [EOS if it stopped], exactly the sampled ids. */
export function encodeResp(ctx: Ctx, prompt: string, r: Resp): EncodedSeq {
  return encodePairIds(ctx.tok, ctx.tok.encode(prompt), r.tokens, ctx.pi0.config.blockSize, r.stop);
}

export function encodePairs(ctx: Ctx, pairs: readonly StoredPair[]): EncodedPair[] {
  return pairs.map((p) => ({
    chosen: encodeResp(ctx, p.prompt, p.chosen),
    rejected: encodeResp(ctx, p.prompt, p.rejected),
  }));
}

/** Summed log-probs of the sequences under `gpt`. */
export function logProbs(ctx: Ctx, gpt: GPT, seqs: readonly EncodedSeq[]): Float64Array {
  const r = scoreEncoded(gpt, seqs, ctx.tok.pad, 64);
  return Float64Array.from(r.map((x) => x.logProb));
}

// ---------------------------------------------------------------------------------------------
// Reward models

export interface EnsembleScore {
  mean: Float64Array;
  members: Float64Array[];
}

/** Scores already-encoded sequences with every member; mean = the RM's reward. */
export function scoreWithEnsemble(ctx: Ctx, ens: RewardEnsemble, seqs: readonly EncodedSeq[]): EnsembleScore {
  const members = ens.members.map((m) => {
    const out = new Float64Array(seqs.length);
    for (let i = 0; i < seqs.length; i += 64) {
      const chunk = seqs.slice(i, i + 64);
      out.set(m.model.rewards(makeBatch(chunk, ctx.tok.pad)), i);
    }
    return out;
  });
  const mean = new Float64Array(seqs.length);
  for (const s of members) for (let i = 0; i < s.length; i++) mean[i] += s[i] / members.length;
  return { mean, members };
}

export interface RmStageResult {
  pairs: number;
  /** Oracle labels the RM was trained on (ledger prefixes). */
  labelPrefixes: string[];
  trainAccuracy: number;
  /** Accuracy against the gold reward's ordering on its own training pairs (how well it learned r*). */
  goldAgreement: number;
  seconds: number;
}

/** Trains an ensemble (trunk from π0) on `pairs` and saves it under dir/rm. */
export function trainEnsembleStage(
  ctx: Ctx,
  dir: string,
  pairs: readonly StoredPair[],
  seed: string,
  labelPrefixes: string[],
): RmStageResult {
  const t0 = performance.now();
  const enc = encodePairs(ctx, pairs);
  const c = ctx.cfg.rm;
  const { ensemble, results } = trainRewardEnsemble(ctx.tok, enc, {
    k: c.members,
    init: ctx.pi0,
    epochs: c.epochs,
    batchSize: c.batch,
    lr: c.lr,
    bootstrap: c.bootstrap,
    seed,
  });
  void results;
  ensemble.save(join(dir, 'rm'), { pairs: pairs.length, seed });
  return rmQuality(ctx, ensemble, pairs, enc, labelPrefixes, t0);
}

/**
 * Refits an ensemble on `pairs`, each member warm-started from the member of `prevStage` (its own
 * bootstrap resample, `epochs` passes). Cheaper than training from π0's trunk on all data every
 * iteration; the RM still sees every label so far.
 */
export function refitEnsembleStage(
  ctx: Ctx,
  dir: string,
  prevStage: string,
  pairs: readonly StoredPair[],
  seed: string,
  epochs: number,
): RmStageResult {
  const t0 = performance.now();
  const enc = encodePairs(ctx, pairs);
  const c = ctx.cfg.rm;
  const prev = loadEnsemble(ctx, prevStage);
  prev.members.forEach((m, k) => {
    const ms = `${seed}/${k}`;
    let data = enc;
    if (c.bootstrap) {
      const rng = new Rng(ms).fork('bootstrap');
      data = enc.map(() => enc[rng.int(enc.length)]);
    }
    trainRewardModel(m.model, ctx.tok, data, { epochs, batchSize: c.batch, lr: c.lr, seed: ms });
  });
  prev.save(join(dir, 'rm'), { pairs: pairs.length, seed, warmStartFrom: prevStage });
  return rmQuality(ctx, prev, pairs, enc, [], t0);
}

function rmQuality(
  ctx: Ctx,
  ensemble: RewardEnsemble,
  pairs: readonly StoredPair[],
  enc: readonly EncodedPair[],
  labelPrefixes: string[],
  t0: number,
): RmStageResult {
  const seqs = enc.flatMap((p) => [p.chosen, p.rejected]);
  const s = scoreWithEnsemble(ctx, ensemble, seqs);
  let acc = 0;
  let gold = 0;
  let goldN = 0;
  pairs.forEach((p, i) => {
    const dc = s.mean[2 * i] - s.mean[2 * i + 1];
    if (dc > 0) acc++;
    const gc = goldReward(p.prompt, p.chosen.text) - goldReward(p.prompt, p.rejected.text);
    if (gc !== 0) {
      goldN++;
      if (Math.sign(gc) === Math.sign(dc)) gold++;
    }
  });
  return {
    pairs: pairs.length,
    labelPrefixes,
    trainAccuracy: pairs.length ? acc / pairs.length : NaN,
    goldAgreement: goldN ? gold / goldN : NaN,
    seconds: (performance.now() - t0) / 1000,
  };
}

export function loadEnsemble(ctx: Ctx, stageId: string): RewardEnsemble {
  return RewardEnsemble.load(join(stageDir(ctx, stageId), 'rm'), ctx.cfg.rm.members);
}

// ---------------------------------------------------------------------------------------------
// DPO

export interface DpoSummary {
  pairs: number;
  steps: number;
  finalLoss: number;
  finalAccuracy: number;
  finalMargin: number;
  seconds: number;
  /** Epochs run, and the loss's floor (its value with every pair at its optimal margin). */
  epochs?: number;
  lossFloor?: number;
  /** Last epoch's mean loss minus the floor (an upper bound on the empirical objective's gap). */
  gap?: number;
  /** Mean loss of the epoch before the last (how much the last epoch still moved it). */
  prevEpochLoss?: number;
  /** The convergence criterion held (gap ≤ dpo.tol) before `epochs` ran out. */
  converged?: boolean;
  finalGradNorm?: number;
}

/**
 * The floor of a DPO-family loss over one pair: 0 for the sigmoid loss (approached only as the
 * margin grows without bound — on finite data with one label per pair it has no minimiser), the
 * entropy H(ε) of the smoothed label for cdpo (attained at the margin log((1−ε)/ε)).
 */
export function dpoLossFloor(loss: string, eps: number): number {
  if (loss !== 'cdpo' || eps <= 0) return 0;
  return -(1 - eps) * Math.log(1 - eps) - eps * Math.log(eps);
}

/**
 * DPO on `pairs` with the reference fixed to π0 (precomputed log-probs), in place on `policy`.
 * With `dpo.tol` > 0: a constant learning rate after warmup, and training stops at the first epoch
 * whose mean loss is within tol of the loss's floor (or after `dpo.epochs`).
 */
export function dpo(
  ctx: Ctx,
  policy: GPT,
  pairs: readonly StoredPair[],
  eta: number,
  seed: string,
  offsets?: ArrayLike<number>,
): DpoSummary {
  if (pairs.length === 0)
    return { pairs: 0, steps: 0, finalLoss: NaN, finalAccuracy: NaN, finalMargin: NaN, seconds: 0 };
  const enc = encodePairs(ctx, pairs);
  const ref = referenceLogProbs(ctx.pi0, ctx.tok, enc, { batchSize: 64 });
  const c = ctx.cfg.dpo;
  const floor = dpoLossFloor(c.loss, c.labelSmoothing);
  const epochLosses: number[] = [];
  let converged = false;
  const res = trainDpo(policy, ctx.tok, enc, ref, {
    beta: eta,
    loss: c.loss,
    labelSmoothing: c.labelSmoothing,
    epochs: c.epochs,
    batchSize: c.batch,
    lr: c.lr,
    seed,
    ...(c.tol > 0 ? { minLrRatio: 1 } : {}),
    ...(offsets ? { offsets } : {}),
    stopAfterEpoch: (_e, loss) => {
      epochLosses.push(loss);
      // The pessimistic margin shifts each pair's optimum but not the floor's value.
      converged = c.tol > 0 && loss - floor <= c.tol;
      return converged;
    },
  });
  // Mean of the last epoch's steps.
  const perEpoch = Math.ceil(pairs.length / Math.min(c.batch, pairs.length));
  const last = res.history.slice(-perEpoch);
  const avg = (f: (m: (typeof last)[number]) => number): number =>
    last.reduce((a, m) => a + f(m), 0) / Math.max(1, last.length);
  const finalLoss = avg((m) => m.loss);
  return {
    pairs: pairs.length,
    steps: res.steps,
    finalLoss,
    finalAccuracy: avg((m) => m['rewards/accuracies']),
    finalMargin: avg((m) => m['rewards/margins']),
    seconds: res.seconds,
    epochs: epochLosses.length,
    lossFloor: floor,
    gap: finalLoss - floor,
    prevEpochLoss: epochLosses.length > 1 ? epochLosses[epochLosses.length - 2] : NaN,
    converged,
    finalGradNorm: avg((m) => m.grad_norm),
  };
}

// ---------------------------------------------------------------------------------------------
// Labels

/** Labels a method used: ledger counts under its own prefix plus the prefixes of the RM it relied on. */
export function labelsUsed(ctx: Ctx, prefixes: readonly string[]): number {
  return prefixes.reduce((a, p) => a + ctx.ledger.labelsBy(p), 0);
}

/** Throws if a method spent more than the budget. */
export function assertBudget(ctx: Ctx, method: string, prefixes: readonly string[], budget: number): number {
  const used = labelsUsed(ctx, prefixes);
  if (used > budget) {
    throw new Error(
      `label budget exceeded: ${method} used ${used} labels (${prefixes.join(' + ')}), budget ${budget}`,
    );
  }
  return used;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

const lexicon = new Sentiment();

/** Fraction of responses that repeat a lexicon-scored word (the cheap way to game an AFINN sum). */
export function repeatRate(responses: readonly string[]): number {
  if (responses.length === 0) return NaN;
  let n = 0;
  for (const r of responses) {
    const words = lexicon.analyze(r).words;
    if (new Set(words).size < words.length) n++;
  }
  return n / responses.length;
}

export interface EvalRow extends EvalSummary {
  /** Standard deviation of r* over the samples (does the policy's gold reward spread?). */
  gold_sd: number;
  /** Fraction of distinct response texts among the samples. */
  unique_frac: number;
  repeat_rate: number;
  /** Fraction of samples that ended with EOS (the rest hit max tokens). */
  stop_rate: number;
  /** Examples for the report (first sample of the first few test prompts). */
  examples: string[];
  /** Up to 4 samples that repeat a lexicon-scored word. */
  repeat_examples?: string[];
  /** Share of the sampled words that occur in the SFT corpus (does the policy write words?). */
  vocab_share?: number;
}

/** π0's evaluation samples of a seed: the reference of the win rate and the held-out RM pairs. */
interface RefSamples {
  gold: number[];
  prompts: string[];
  resps: Resp[][];
}

const refCache = new Map<string, RefSamples>();

/** The evaluation prompt sets: the test split, or the out-of-distribution prompts. */
export type EvalSet = 'test' | 'ood';

/** Common random numbers: every policy of a seed is evaluated with the same sampling seed. */
function evalSeed(ctx: Ctx, seedIndex: number, set: EvalSet): string {
  return `${ctx.cfg.seed}/eval${set === 'ood' ? '-ood' : ''}/seed${seedIndex}`;
}

function evalPrompts(ctx: Ctx, set: EvalSet): string[] {
  return set === 'ood' ? ctx.ood : ctx.split.test;
}

function refSamples(ctx: Ctx, seedIndex: number, set: EvalSet = 'test'): RefSamples {
  const key = `${ctx.dir}|${seedIndex}|${set}`;
  const hit = refCache.get(key);
  if (hit) return hit;
  const S = ctx.cfg.eval.samplesPerPrompt;
  const prompts = evalPrompts(ctx, set);
  const tag = set === 'ood' ? 'eval-ref-ood' : 'eval-ref';
  const res = samplePolicy(ctx, ctx.pi0, prompts, S, `${ctx.cfg.seed}/${tag}/seed${seedIndex}`);
  const gold = res.flatMap((row, i) => row.map((r) => goldReward(prompts[i], r.text)));
  const out = { gold, prompts: [...prompts], resps: res };
  refCache.set(key, out);
  return out;
}

/** Gold reward, KL (k1, k3), win rate vs π0, length, distinct-n, repetition, on the test (or OOD) prompts. */
export function evaluatePolicy(ctx: Ctx, gpt: GPT, seedIndex: number, set: EvalSet = 'test'): EvalRow {
  const S = ctx.cfg.eval.samplesPerPrompt;
  const prompts = evalPrompts(ctx, set);
  const res = samplePolicy(ctx, gpt, prompts, S, evalSeed(ctx, seedIndex, set));
  const flat = res.flatMap((row, i) => row.map((r) => ({ prompt: prompts[i], r })));
  const seqs = flat.map((x) => encodeResp(ctx, x.prompt, x.r));
  const lpPol = logProbs(ctx, gpt, seqs);
  const lpRef = gpt === ctx.pi0 ? lpPol : logProbs(ctx, ctx.pi0, seqs);
  const ref = refSamples(ctx, seedIndex, set);
  const texts = flat.map((x) => x.r.text);
  const summary = evalSummary({
    responses: texts,
    gold: flat.map((x) => goldReward(x.prompt, x.r.text)),
    logpPolicy: lpPol,
    logpRef: lpRef,
    refGold: ref.gold,
    tokenCounts: flat.map((x) => x.r.tokens.length),
    temperature: ctx.cfg.oracle.temperature,
  });
  const golds = flat.map((x) => goldReward(x.prompt, x.r.text));
  const gm = golds.reduce((a, b) => a + b, 0) / golds.length;
  return {
    ...summary,
    gold_sd: Math.sqrt(golds.reduce((a, g) => a + (g - gm) ** 2, 0) / Math.max(1, golds.length - 1)),
    unique_frac: new Set(texts).size / texts.length,
    repeat_rate: repeatRate(texts),
    stop_rate: flat.filter((x) => x.r.stop).length / flat.length,
    vocab_share: vocabularyShare(ctx.words.corpus, texts),
    examples: res.slice(0, 6).map((row, i) => `${prompts[i]}${row[0].text}`),
    repeat_examples: flat
      .filter((x) => repeatRate([x.r.text]) === 1)
      .slice(0, 4)
      .map((x) => `${x.prompt}${x.r.text}`),
  };
}

export interface ValidationScore {
  /** Mean RM reward of samples on the validation prompts. */
  rm: number;
  /** k1 KL(π‖π0) on the same samples. */
  kl: number;
  /** rm − η·kl: the KL-regularised objective under the RM (the selection criterion). */
  objective: number;
}

/**
 * Held-out pairs for judging a reward model against r*: π0's evaluation samples on the TEST prompts
 * (never labelled, never trained on), paired (0,1), (2,3), … per prompt; r* ties are kept here and
 * skipped by `agreement`.
 */
export interface HeldOutPair {
  prompt: string;
  a: Resp;
  b: Resp;
  goldA: number;
  goldB: number;
}

export function heldOutPairs(ctx: Ctx, seedIndex: number): HeldOutPair[] {
  const ref = refSamples(ctx, seedIndex, 'test');
  const out: HeldOutPair[] = [];
  ref.resps.forEach((row, i) => {
    for (let k = 0; k + 1 < row.length; k += 2) {
      const prompt = ref.prompts[i];
      const [a, b] = [row[k], row[k + 1]];
      out.push({ prompt, a, b, goldA: goldReward(prompt, a.text), goldB: goldReward(prompt, b.text) });
    }
  });
  return out;
}

/** Share of held-out pairs (r* ties skipped) that `scores` (one per response, a and b alternating) orders like r*. */
export function heldOutAgreement(pairs: readonly HeldOutPair[], scores: ArrayLike<number>): number {
  return agreement(pairs, (i) => scores[2 * i] - scores[2 * i + 1]).agreement;
}

/** Scores sampled responses (one value per response, row-major over prompts × samples). */
export type ResponseScorer = (prompts: readonly string[], samples: readonly Resp[][]) => Float64Array;

/** A reward-model ensemble as a ResponseScorer (its mean). */
export function ensembleScorer(ctx: Ctx, ens: RewardEnsemble): ResponseScorer {
  return (prompts, samples) =>
    scoreWithEnsemble(
      ctx,
      ens,
      samples.flatMap((row, i) => row.map((r) => encodeResp(ctx, prompts[i], r))),
    ).mean;
}

/** Model selection score on the validation prompts: RM (no labels spent, no gold seen). */
export function validatePolicy(
  ctx: Ctx,
  gpt: GPT,
  scorer: ResponseScorer,
  eta: number,
  seed: string,
): ValidationScore {
  const prompts = ctx.split.validation;
  const res = samplePolicy(ctx, gpt, prompts, ctx.cfg.eval.validationSamples, seed);
  const seqs = res.flatMap((row, i) => row.map((r) => encodeResp(ctx, prompts[i], r)));
  const rm = scorer(prompts, res);
  const lpPol = logProbs(ctx, gpt, seqs);
  const lpRef = logProbs(ctx, ctx.pi0, seqs);
  const kls = Array.from(lpPol, (v, i) => v - lpRef[i]);
  const r = meanCI95(rm).mean;
  const kl = meanCI95(kls).mean;
  return { rm: r, kl, objective: r - eta * kl };
}

/** Stage ids and label prefixes are built from these. */
export function seedTag(seedIndex: number): string {
  return `seed${seedIndex}`;
}

/** "seed0" for the main η, "seed0/eta0.3" for a frontier point. */
export function runTag(ctx: Ctx, seedIndex: number, eta: number): string {
  return eta === ctx.cfg.dpo.eta ? seedTag(seedIndex) : `${seedTag(seedIndex)}/eta${eta}`;
}

/** Result of a policy-producing stage. */
export interface PolicyResult {
  method: string;
  seed: number;
  eta: number;
  /** Iteration (online methods), or stage index (multi-step RSO); absent otherwise. */
  iteration?: number;
  labelsUsed: number;
  budget: number;
  eval: EvalRow;
  /** The same metrics on the out-of-distribution prompts (offline arms and π0, when configured). */
  oodEval?: EvalRow;
  train: DpoSummary;
  extra?: Record<string, number | string | boolean | null>;
}
