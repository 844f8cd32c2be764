/**
 * Training on your own pairs, as `gshf pref rm | dpo | score` run it (the CLI only parses flags):
 * every run is planned first (data, checkpoints, reference log-probs and the output folder are all
 * read and checked) and only then writes, into `<out>.partial-<pid>`, renamed to `<out>` at the end.
 * Each training run writes a per-step `metrics.jsonl` with TRL's metric names and `training.svg`
 * (loss, accuracy, margin per step). Formats: docs/pref-data.md §4.
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { linePlot } from '../report/svg.js';
import {
  autoKernelThreads,
  ByteTokenizer,
  GPT,
  loadCheckpoint,
  loadTokenizer,
  PRESETS,
  readCheckpointConfig,
  saveCheckpoint,
  type PresetName,
  type Tokenizer,
} from '../nn/index.js';
import { jsonlRows, type ScoredPair } from './data.js';
import { encodePreferencePairs, referenceLogProbs, trainDpo, type ReferenceLogProbs } from './dpo.js';
import { LOSS_TYPES, type LossType } from './losses.js';
import {
  RewardEnsemble,
  RewardModel,
  rewardModelFromLM,
  rewardModelFromScratch,
  trainRewardEnsemble,
  trainRewardModel,
} from './reward-model.js';

export const METRICS_FILE = 'metrics.jsonl';
export const PLOT_FILE = 'training.svg';
export const REF_LOGPS_FILE = 'ref_logps.jsonl';

/** Refuses an existing output folder unless `force` (checked before anything is written). */
export function checkOutDir(out: string, force: boolean): void {
  if (out.trim() === '') throw new Error('--out: expected a folder path, got ""');
  if (existsSync(out) && !force)
    throw new Error(`${out}: already exists; pass --force to replace it (nothing was written)`);
}

/** Runs `write(tmp)` in a fresh `<out>.partial-<pid>` folder, then replaces `out` with it. */
function writeOutDir(out: string, write: (tmp: string) => void): void {
  const tmp = `${out}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    write(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
}

/** Appends one JSON record per line (the file is created on the first record). */
class MetricsLog {
  constructor(readonly path: string) {}
  write(rec: Record<string, number | string>): void {
    appendFileSync(this.path, JSON.stringify(rec) + '\n');
  }
}

/** Loss, accuracy and margin per step as an SVG (one series each; `member` runs are concatenated). */
export function trainingPlot(
  rows: readonly { step: number; loss: number; accuracy: number; margin: number }[],
  title: string,
): string {
  const x = rows.map((_, i) => i + 1);
  return linePlot(
    [
      { label: 'loss', x, y: rows.map((r) => r.loss) },
      { label: 'accuracy', x, y: rows.map((r) => r.accuracy) },
      { label: 'margin', x, y: rows.map((r) => r.margin) },
    ],
    { title, xLabel: 'step', yLabel: 'value' },
  );
}

/**
 * A note when pairs do not fit the model's context ([BOS] prompt response [EOS] > blockSize): the
 * encoder then cuts prompts from the left and responses from the right, which the user must know.
 */
export function fitNote(tok: Tokenizer, pairs: readonly ScoredPair[], blockSize: number): string | null {
  let over = 0;
  let longest = 0;
  for (const p of pairs) {
    const np = tok.encode(p.prompt).length;
    const n = 2 + np + Math.max(tok.encode(p.chosen).length, tok.encode(p.rejected).length);
    longest = Math.max(longest, n);
    if (n > blockSize) over++;
  }
  if (over === 0) return null;
  return `${over} of ${pairs.length} pairs exceed the model's context of ${blockSize} tokens (longest ${longest}): their prompts are cut from the left and responses from the right`;
}

/** Where a model's initial weights and tokenizer come from. */
export type ModelSource = { init: string } | { preset: PresetName; tokenizer?: string };

function requirePositive(name: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0)) throw new Error(`--${name}: expected a number > 0, got ${v}`);
}
function requireInt(name: string, v: number, min: number): void {
  if (!(Number.isInteger(v) && v >= min))
    throw new Error(`--${name}: expected an integer ≥ ${min}, got ${v}`);
}

// ---------------------------------------------------------------------------------------------
// Reward model (TRL RewardTrainer): pairs → Bradley–Terry reward model or ensemble
// ---------------------------------------------------------------------------------------------

export interface RmRunOptions {
  pairs: readonly ScoredPair[];
  /** Name of the data file (recorded in the checkpoint's meta). */
  dataName: string;
  out: string;
  force?: boolean;
  source: ModelSource;
  /** Ensemble size (1 = a single reward model in `out`; K > 1: `out/member-<k>`). */
  k?: number;
  /** Bootstrap resamples per member (ensembles only; default true). */
  bootstrap?: boolean;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  maxSteps?: number;
  /** Use the pairs' `margin` field: L = −log σ(Δr − margin) (TRL). */
  useMargins?: boolean;
  /** TRL center_rewards_coefficient. */
  centerRewards?: number;
  onStep?: (done: number, total: number, rec: Record<string, number>) => void;
  /** Notes for the user (e.g. truncation), before training starts. */
  onWarn?: (note: string) => void;
}

export interface RunResult {
  out: string;
  steps: number;
  last: Record<string, number>;
}

function startModel(
  source: ModelSource,
  head: 'scalar',
  seed: number,
): { model: GPT; tok: Tokenizer; lm?: GPT } {
  if ('init' in source) {
    readCheckpointConfig(source.init); // names the file if it is not a checkpoint
    const { model, tokenizer } = loadCheckpoint(source.init);
    return { model: rewardModelFromLM(model, seed), tok: tokenizer, lm: model };
  }
  if (!(source.preset in PRESETS))
    throw new Error(
      `--preset: unknown preset "${source.preset}" (choose ${Object.keys(PRESETS).join(', ')})`,
    );
  const tok = source.tokenizer ? loadTokenizer(source.tokenizer) : new ByteTokenizer();
  const base = PRESETS[source.preset];
  const config = { ...base, vocabSize: source.tokenizer ? tok.vocabSize : base.vocabSize, head };
  return { model: rewardModelFromScratch(config, seed), tok };
}

function checkRmOptions(o: RmRunOptions): void {
  requireInt('k', o.k ?? 1, 1);
  requireInt('epochs', o.epochs ?? 1, 1);
  requireInt('batch', o.batchSize ?? 16, 1);
  requirePositive('lr', o.lr ?? 1e-3);
  if (o.maxSteps !== undefined) requireInt('max-steps', o.maxSteps, 1);
  if (o.centerRewards !== undefined && !(o.centerRewards >= 0))
    throw new Error(`--center-rewards: expected a number ≥ 0, got ${o.centerRewards}`);
  if (o.pairs.length === 0) throw new Error(`${o.dataName}: no pairs`);
  if (o.useMargins && o.pairs.some((p) => p.margin === undefined))
    throw new Error(`${o.dataName}: --use-margins needs a "margin" on every pair`);
}

/** Trains a reward model (k = 1) or an ensemble and writes it with metrics.jsonl and training.svg. */
export function runRewardModel(o: RmRunOptions): RunResult {
  // Phase 1: validate and load everything; nothing is written yet.
  checkRmOptions(o);
  checkOutDir(o.out, o.force ?? false);
  const seed = o.seed ?? 0;
  const k = o.k ?? 1;
  const { model, tok, lm } = startModel(o.source, 'scalar', seed);
  autoKernelThreads(model.numParams);
  const note = fitNote(tok, o.pairs, model.config.blockSize);
  if (note) o.onWarn?.(note);
  const margins = o.useMargins ? o.pairs.map((p) => p.margin ?? 0) : undefined;
  const common = {
    epochs: o.epochs ?? 1,
    batchSize: o.batchSize ?? 16,
    lr: o.lr ?? 1e-3,
    seed,
    maxSteps: o.maxSteps,
    margins,
    centerRewardsCoefficient: o.centerRewards ?? 0,
  };
  const perMember = Math.min(
    o.maxSteps ?? Infinity,
    common.epochs * Math.ceil(o.pairs.length / Math.min(common.batchSize, o.pairs.length)),
  );
  const meta = {
    trainer: 'gshf pref rm',
    data: o.dataName,
    pairs: o.pairs.length,
    ...common,
    margins: !!margins,
  };
  // Phase 2: train into the partial folder.
  const rows: { step: number; loss: number; accuracy: number; margin: number }[] = [];
  let last: Record<string, number> = {};
  writeOutDir(o.out, (tmp) => {
    const log = new MetricsLog(join(tmp, METRICS_FILE));
    const record = (member: number | undefined, m: Parameters<NonNullable<RmRunOptions['onStep']>>[2]) => {
      const rec = {
        ...(member !== undefined ? { member } : {}),
        step: m.step,
        epoch: m.epoch,
        learning_rate: m.lr,
        grad_norm: m.grad_norm,
        loss: m.loss,
        accuracy: m.accuracy,
        margin: m.margin,
        mean_reward: m.mean_reward,
        min_reward: m.min_reward,
        max_reward: m.max_reward,
      };
      log.write(rec);
      rows.push({ step: m.step, loss: m.loss, accuracy: m.accuracy, margin: m.margin });
      last = rec;
      o.onStep?.(rows.length, perMember * k, rec);
    };
    if (k === 1) {
      trainRewardModel(model, tok, o.pairs, { ...common, onStep: (m) => record(undefined, { ...m }) });
      new RewardModel(model, tok).save(tmp, meta);
    } else {
      const { ensemble } = trainRewardEnsemble(tok, o.pairs, {
        ...common,
        k,
        bootstrap: o.bootstrap ?? true,
        init: lm,
        config: lm ? undefined : model.config,
        onMemberStep: (member, m) => record(member, { ...m }),
      });
      ensemble.save(tmp, meta);
    }
    writeText(join(tmp, PLOT_FILE), trainingPlot(rows, `gshf pref rm: ${basename(o.out)}`));
  });
  return { out: o.out, steps: rows.length, last };
}

function writeText(path: string, text: string): void {
  writeFileSync(path, text);
}

/** A reward-model checkpoint folder: one model (config.json) or an ensemble (member-0 … member-K−1). */
export function loadRewardModels(dir: string): RewardModel[] {
  if (existsSync(join(dir, 'config.json'))) return [RewardModel.load(dir)];
  const k = existsSync(dir) ? readdirSync(dir).filter((f) => /^member-\d+$/.test(f)).length : 0;
  if (k === 0)
    throw new Error(`${dir}: not a reward-model folder (no config.json and no member-<k> folders)`);
  return RewardEnsemble.load(dir, k).members.slice();
}

// ---------------------------------------------------------------------------------------------
// DPO (TRL DPOTrainer): pairs + policy init + reference (model or precomputed log-probs)
// ---------------------------------------------------------------------------------------------

export interface DpoRunOptions {
  pairs: readonly ScoredPair[];
  dataName: string;
  out: string;
  force?: boolean;
  /** Policy initial checkpoint (an LM). */
  init: string;
  /** Reference checkpoint (default: `init`, as TRL's auto-copy). Ignored when `refLogps` is given. */
  ref?: string;
  /** Precomputed reference log-probs JSONL ({"ref_chosen_logps","ref_rejected_logps"} per pair). */
  refLogps?: string;
  loss?: LossType;
  beta?: number;
  labelSmoothing?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  maxSteps?: number;
  onStep?: (done: number, total: number, rec: Record<string, number>) => void;
  onWarn?: (note: string) => void;
}

function checkDpoOptions(o: DpoRunOptions): void {
  const loss = o.loss ?? 'sigmoid';
  if (!LOSS_TYPES.includes(loss))
    throw new Error(`--loss: expected one of ${LOSS_TYPES.join(', ')}, got "${String(loss)}"`);
  requirePositive('beta', o.beta ?? 0.1);
  requirePositive('lr', o.lr ?? 5e-4);
  requireInt('epochs', o.epochs ?? 1, 1);
  requireInt('batch', o.batchSize ?? 16, 1);
  if (o.maxSteps !== undefined) requireInt('max-steps', o.maxSteps, 1);
  const eps = o.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps < 0.5))
    throw new Error(`--label-smoothing: expected a number in [0, 0.5), got ${eps}`);
  if ((loss === 'cdpo' || loss === 'robust') && eps === 0)
    throw new Error(
      `--loss ${loss}: needs --label-smoothing ε in (0, 0.5) (with ε = 0 it is plain sigmoid DPO)`,
    );
  if (o.pairs.length === 0) throw new Error(`${o.dataName}: no pairs`);
}

/** Reads precomputed reference log-probs (TRL column names), one line per pair, in pair order. */
export function readRefLogps(path: string, n: number): { chosen: Float64Array; rejected: Float64Array } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read reference log-probs (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  const rows = jsonlRows(text, path, '{"ref_chosen_logps", "ref_rejected_logps"}');
  if (rows.length !== n)
    throw new Error(
      `${path}: ${rows.length} lines of reference log-probs for ${n} pairs (one per pair, in order)`,
    );
  const chosen = new Float64Array(n);
  const rejected = new Float64Array(n);
  rows.forEach(({ line, obj }, i) => {
    for (const key of ['ref_chosen_logps', 'ref_rejected_logps']) {
      const v = obj[key];
      if (typeof v !== 'number' || !Number.isFinite(v) || v > 0)
        throw new Error(
          `${path}:${line}: field "${key}": expected a finite log-probability ≤ 0, got ${JSON.stringify(v)}`,
        );
    }
    chosen[i] = obj.ref_chosen_logps as number;
    rejected[i] = obj.ref_rejected_logps as number;
  });
  return { chosen, rejected };
}

/** Scored-token counts per pair, as the batcher masks them (IPO's length normalisation needs them). */
function tokenCounts(tok: Tokenizer, pairs: readonly ScoredPair[], blockSize: number) {
  const enc = encodePreferencePairs(tok, pairs, blockSize);
  let T = 1;
  for (const p of enc) T = Math.max(T, p.chosen.ids.length, p.rejected.ids.length);
  T = Math.min(T, blockSize);
  const count = (s: { ids: number[]; responseStart: number }) =>
    Math.max(0, Math.min(T, s.ids.length) - Math.max(1, s.responseStart));
  return {
    chosenTokens: Int32Array.from(enc, (p) => count(p.chosen)),
    rejectedTokens: Int32Array.from(enc, (p) => count(p.rejected)),
  };
}

/** Trains a DPO policy (any loss of losses.ts) and writes it with metrics.jsonl, training.svg, ref_logps.jsonl. */
export function runDpo(o: DpoRunOptions): RunResult {
  // Phase 1: validate and load everything; nothing is written yet.
  checkDpoOptions(o);
  checkOutDir(o.out, o.force ?? false);
  const policyCk = loadCheckpoint(o.init);
  if (policyCk.model.config.head !== 'lm')
    throw new Error(`${o.init}: --init must be a language model (head "lm")`);
  const tok = policyCk.tokenizer;
  let ref: ReferenceLogProbs;
  if (o.refLogps) {
    ref = {
      ...readRefLogps(o.refLogps, o.pairs.length),
      ...tokenCounts(tok, o.pairs, policyCk.model.config.blockSize),
    };
  } else {
    const refCk = o.ref && o.ref !== o.init ? loadCheckpoint(o.ref) : loadCheckpoint(o.init);
    if (
      refCk.model.config.vocabSize !== policyCk.model.config.vocabSize ||
      JSON.stringify(refCk.config.tokenizer) !== JSON.stringify(policyCk.config.tokenizer)
    )
      throw new Error(`${o.ref}: the reference's tokenizer/vocabulary differs from --init's (${o.init})`);
    ref = referenceLogProbs(refCk.model, refCk.tokenizer, o.pairs);
  }
  const policy = policyCk.model;
  autoKernelThreads(policy.numParams);
  const note = fitNote(tok, o.pairs, policy.config.blockSize);
  if (note) o.onWarn?.(note);
  const opts = {
    loss: o.loss ?? 'sigmoid',
    beta: o.beta ?? 0.1,
    labelSmoothing: o.labelSmoothing ?? 0,
    epochs: o.epochs ?? 1,
    batchSize: o.batchSize ?? 16,
    lr: o.lr ?? 5e-4,
    seed: o.seed ?? 0,
    maxSteps: o.maxSteps,
  };
  const total = Math.min(
    o.maxSteps ?? Infinity,
    opts.epochs * Math.ceil(o.pairs.length / Math.min(opts.batchSize, o.pairs.length)),
  );
  // Phase 2: train into the partial folder.
  const rows: { step: number; loss: number; accuracy: number; margin: number }[] = [];
  let last: Record<string, number> = {};
  writeOutDir(o.out, (tmp) => {
    const refLines = Array.from(
      ref.chosen,
      (c, i) => JSON.stringify({ ref_chosen_logps: c, ref_rejected_logps: ref.rejected[i] }) + '\n',
    );
    writeText(join(tmp, REF_LOGPS_FILE), refLines.join(''));
    const log = new MetricsLog(join(tmp, METRICS_FILE));
    trainDpo(policy, tok, o.pairs, ref, {
      ...opts,
      onStep: (m) => {
        const rec = {
          step: m.step,
          epoch: m.epoch,
          learning_rate: m.lr,
          grad_norm: m.grad_norm,
          loss: m.loss,
          'rewards/chosen': m['rewards/chosen'],
          'rewards/rejected': m['rewards/rejected'],
          'rewards/accuracies': m['rewards/accuracies'],
          'rewards/margins': m['rewards/margins'],
          'logps/chosen': m['logps/chosen'],
          'logps/rejected': m['logps/rejected'],
        };
        log.write(rec);
        rows.push({
          step: m.step,
          loss: m.loss,
          accuracy: m['rewards/accuracies'],
          margin: m['rewards/margins'],
        });
        last = rec;
        o.onStep?.(rows.length, total, rec);
      },
    });
    saveCheckpoint(tmp, policy, tok, {
      kind: 'dpo',
      trainer: 'gshf pref dpo',
      data: o.dataName,
      pairs: o.pairs.length,
      init: o.init,
      ref: o.refLogps ? { logps: o.refLogps } : (o.ref ?? o.init),
      ...opts,
    });
    writeText(
      join(tmp, PLOT_FILE),
      trainingPlot(rows, `gshf pref dpo (${opts.loss}, β = ${opts.beta}): ${basename(o.out)}`),
    );
  });
  return { out: o.out, steps: rows.length, last };
}

// ---------------------------------------------------------------------------------------------
// Scoring
// ---------------------------------------------------------------------------------------------

export interface ScoredRow {
  prompt: string;
  response: string;
  score: number;
  /** Ensembles: population std over members, and each member's score. */
  std?: number;
  members?: number[];
}

/** Reward-model scores of prompt/response rows (an ensemble gives the member mean, std and scores). */
export function scoreRows(
  models: readonly RewardModel[],
  rows: readonly { prompt: string; response: string }[],
): ScoredRow[] {
  const prompts = rows.map((r) => r.prompt);
  const responses = rows.map((r) => r.response);
  if (models.length === 1) {
    const s = models[0].score(prompts, responses);
    return rows.map((r, i) => ({ prompt: r.prompt, response: r.response, score: s[i] }));
  }
  const e = new RewardEnsemble(models).score(prompts, responses);
  return rows.map((r, i) => ({
    prompt: r.prompt,
    response: r.response,
    score: e.mean[i],
    std: e.std[i],
    members: e.members.map((m) => m[i]),
  }));
}
