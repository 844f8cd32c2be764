/**
 * Online iterative DPO (online GSHF-DPO, RLHF Workflow Algorithm 2) and its variants:
 *   - schedule 'warm'    (RLHF Workflow): π_t is initialised from π_{t−1} and trained on the new batch D_t only;
 *   - schedule 'retrain' (ICML paper):    π_t is trained from π0 on all data D_1 ∪ … ∪ D_t;
 *   - enhancer 'best-worst':  per prompt, n samples of π_{t−1}; the pair is best-of-n vs worst-of-n under
 *                             the current RM, ties dropped;
 *   - enhancer 'uncertainty': the pair with the largest uncertainty — for the linear RM the paper's
 *                             ‖φ(a) − φ(b)‖_{Σ⁻¹}, for the neural ensemble the std of r(a_i) − r(a_j);
 *   - reward model 'linear' (ridge BT-MLE on word counts, refit exactly on all labels so far) or
 *     'neural' (the scalar-head ensemble, refit warm-started);
 *   - labels 'oracle' (the gold BT oracle through the ledger), 'reward-model' (the full-pool RM, free)
 *     or 'proxy' (the papers' accounting: a proxy RM fitted on a large pool labels the pairs);
 *   - hybrid: the loop seeded with the offline data (the RM seed pairs): π_0' = DPO(π0, D_seed).
 * With no reward model yet (labels.rmSeed = 0: fair accounting), iteration 1 labels a random pair of
 * π0 samples — the offline distribution — so every label the method pays for also trains its policy.
 * The reference is always π0. The output is the iterate with the best mean RM reward (config: or RM
 * objective r_RM − η·KL) on the validation prompts: no labels, no gold.
 */
import { join } from 'node:path';
import { bestWorstPair, uncertaintyPair } from '../sampling.js';
import { labelBudget } from '../pipeline-config.js';
import { LinearRewardModel, mostUncertainPair, type TextPair } from '../linear-rm.js';
import type { RewardEnsemble } from '../reward-model.js';
import {
  assertBudget,
  dpo,
  encodeResp,
  ensembleScorer,
  evaluatePolicy,
  heldOutAgreement,
  heldOutPairs,
  loadEnsemble,
  loadPairs,
  loadPolicy,
  refitEnsembleStage,
  runStage,
  runTag,
  samplePolicy,
  savePairs,
  savePolicy,
  scoreWithEnsemble,
  seedTag,
  trainEnsembleStage,
  type Ctx,
  type PolicyResult,
  type Resp,
  type ResponseScorer,
  type StoredPair,
  type ValidationScore,
} from './common.js';
import { poolPairs, proxyModel, rmFullStageId, rmSeedStageId } from './offline.js';
import { validatePolicy } from './common.js';
import type { GPT } from '../../nn/index.js';

export type Schedule = 'warm' | 'retrain';
export type Enhancer = 'best-worst' | 'uncertainty';
export type RmKind = 'neural' | 'linear';
export type LabelKind = 'oracle' | 'reward-model' | 'proxy';

export interface OnlineVariant {
  /** Method key, e.g. "iterative-dpo-warm". */
  key: string;
  schedule: Schedule;
  enhancer: Enhancer;
  hybrid: boolean;
  rm: RmKind;
  labels: LabelKind;
  /** Runs on seeds 0..seeds−1. */
  seeds: number;
}

export interface SelectionResult {
  method: string;
  seed: number;
  eta: number;
  /** Chosen iteration (0 = the hybrid's offline start). */
  selected: number;
  validation: (ValidationScore & { iteration: number })[];
  labelsUsed: number;
  budget: number;
}

export interface OnlineOutcome {
  iterations: PolicyResult[];
  selection: SelectionResult;
}

/** The variants the config enables, in report order. */
export function onlineVariants(ctx: Ctx): OnlineVariant[] {
  const { cfg } = ctx;
  const m = cfg.methods;
  const out: OnlineVariant[] = [];
  const labels: LabelKind = m.iterative.labelSource;
  const add = (
    key: string,
    schedule: Schedule,
    enhancer: Enhancer,
    hybrid: boolean,
    seeds: number | undefined,
    allRms = false,
  ): void => {
    // The extra reward models only for the plain iterative variants (the RM comparison).
    const rms = allRms ? m.iterative.rewardModels : m.iterative.rewardModels.slice(0, 1);
    rms.forEach((rm, k) => {
      const s = k === 0 ? seeds : (m.iterative.secondarySeeds ?? seeds);
      out.push({
        key: k === 0 ? key : `${key}-${rm}`,
        schedule,
        enhancer,
        hybrid,
        rm,
        labels,
        seeds: Math.min(cfg.seeds, s ?? cfg.seeds),
      });
    });
  };
  if (m.iterative.enabled)
    for (const s of m.iterative.schedules)
      add(`iterative-dpo-${s}`, s, 'best-worst', false, m.iterative.seeds);
  if (m.uncertainty.enabled)
    add('uncertainty', m.uncertainty.schedule, 'uncertainty', false, m.uncertainty.seeds);
  if (m.hybrid.enabled) add('hybrid', m.hybrid.schedule, 'best-worst', true, m.hybrid.seeds);
  if (m.proxy.enabled)
    out.push({
      key: 'iterative-dpo-proxy',
      schedule: 'warm',
      enhancer: 'best-worst',
      hybrid: false,
      rm: 'linear',
      labels: 'proxy',
      seeds: Math.min(cfg.seeds, m.proxy.seeds ?? cfg.seeds),
    });
  return out;
}

/** Ledger prefixes of the labels a variant pays for. */
function prefixes(ctx: Ctx, s: number, tag: string, v: OnlineVariant): string[] {
  if (v.labels === 'proxy') return [`${tag}/${v.key}`];
  const rm = v.labels === 'oracle' ? `${seedTag(s)}/pool/seed` : `${seedTag(s)}/pool`;
  return [rm, `${tag}/${v.key}`];
}

/** The reward model an iteration ranks with (null: none yet, the pair is random). */
type OnlineRm =
  | { kind: 'linear'; model: LinearRewardModel }
  | { kind: 'neural'; ens: RewardEnsemble; stage: string }
  | null;

interface LoopState {
  ctx: Ctx;
  s: number;
  eta: number;
  v: OnlineVariant;
  tag: string;
  budget: number;
  seedData: StoredPair[];
  stageOf: (t: number) => string;
}

const textPairs = (pairs: readonly StoredPair[]): TextPair[] =>
  pairs.map((p) => ({ chosen: p.chosen.text, rejected: p.rejected.text }));

/** Oracle-labelled pairs the RM may use before iteration t: the RM seed pairs and D_1..D_{t−1}. */
function labelledSoFar(st: LoopState, t: number): StoredPair[] {
  const seed = st.ctx.cfg.labels.rmSeed > 0 ? poolPairs(st.ctx, st.s, 'seed') : [];
  const hist: StoredPair[] = [];
  for (let k = 1; k < t; k++) hist.push(...loadPairs(st.ctx, st.stageOf(k)));
  return [...seed, ...hist];
}

/** Phase 1: the reward model of iteration t. */
function rmForIteration(st: LoopState, t: number): OnlineRm {
  const { ctx, v, s } = st;
  if (v.labels === 'proxy') return { kind: 'linear', model: proxyModel(ctx, s) };
  if (v.rm === 'linear') {
    const data = v.labels === 'reward-model' ? poolPairs(ctx, s, 'all') : labelledSoFar(st, t);
    if (data.length === 0) return null;
    return {
      kind: 'linear',
      model: LinearRewardModel.fit(ctx.words.rm, textPairs(data), ctx.cfg.linearRm.lambda),
    };
  }
  const stage =
    t > 1
      ? st.stageOf(t - 1)
      : v.labels === 'oracle'
        ? ctx.cfg.labels.rmSeed > 0
          ? rmSeedStageId(s)
          : null
        : rmFullStageId(s);
  return stage === null ? null : { kind: 'neural', ens: loadEnsemble(ctx, stage), stage };
}

function scorerOf(ctx: Ctx, rm: Exclude<OnlineRm, null>): ResponseScorer {
  if (rm.kind === 'neural') return ensembleScorer(ctx, rm.ens);
  return (_p, samples) => Float64Array.from(samples.flat(), (r) => rm.model.score(r.text));
}

interface Picked {
  pairs: StoredPair[];
  dropped: number;
  rmMean: number;
  rmBestOfN: number;
}

/** Phase 2: one pair per prompt (random / best-vs-worst / most uncertain), labelled by the variant's source. */
function pickAndLabel(
  st: LoopState,
  t: number,
  rm: OnlineRm,
  prompts: readonly string[],
  samples: Resp[][],
): Picked {
  const { ctx, v } = st;
  const n = samples[0]?.length ?? 0;
  const means = rm ? scorerOf(ctx, rm)(prompts, samples) : null;
  const members =
    rm?.kind === 'neural' && v.enhancer === 'uncertainty'
      ? scoreWithEnsemble(
          ctx,
          rm.ens,
          samples.flatMap((row, i) => row.map((r) => encodeResp(ctx, prompts[i], r))),
        ).members
      : null;
  const out: Picked = { pairs: [], dropped: 0, rmMean: 0, rmBestOfN: 0 };
  samples.forEach((row, i) => {
    const texts = row.map((r) => r.text);
    const mean = means ? means.subarray(i * n, (i + 1) * n) : null;
    if (mean) {
      out.rmMean += mean.reduce((a, b) => a + b, 0) / n / prompts.length;
      out.rmBestOfN += Math.max(...mean) / prompts.length;
    }
    const pick = choosePair(
      rm,
      v.enhancer,
      texts,
      mean,
      members?.map((m) => m.subarray(i * n, (i + 1) * n)),
    );
    if (!pick) {
      out.dropped++;
      return;
    }
    const [a, b] = [row[pick.a], row[pick.b]];
    const qid = `${st.stageOf(t)}/p${i}`;
    if (v.labels === 'oracle') {
      const aWins = ctx.ask(prompts[i], a.text, b.text, qid);
      out.pairs.push({ prompt: prompts[i], chosen: aWins ? a : b, rejected: aWins ? b : a, qid });
    } else {
      // RM / proxy label source: the pair is ordered by that model (slot a is its favourite).
      out.pairs.push({ prompt: prompts[i], chosen: a, rejected: b });
    }
  });
  return out;
}

/** Indices (a = the RM's favourite) of the pair to label; random (0, 1) when there is no RM yet. */
function choosePair(
  rm: OnlineRm,
  enhancer: Enhancer,
  texts: string[],
  mean: Float64Array | null,
  members: Float64Array[] | undefined,
): { a: number; b: number } | null {
  if (!rm || !mean) return texts.length >= 2 && texts[0] !== texts[1] ? { a: 0, b: 1 } : null;
  if (enhancer === 'best-worst') {
    const p = bestWorstPair(texts, mean);
    return p ? { a: p.chosenIndex, b: p.rejectedIndex } : null;
  }
  if (rm.kind === 'linear') {
    const p = mostUncertainPair(rm.model, texts);
    return p ? { a: p.i, b: p.j } : null;
  }
  const p = uncertaintyPair(texts, { ensemble: members ?? [] });
  if (!p) return null;
  return mean[p.i] >= mean[p.j] ? { a: p.i, b: p.j } : { a: p.j, b: p.i };
}

/** Phase 3: DPO per schedule (warm: from π_{t−1} on D_t; retrain: from π0 on everything so far). */
function trainIterate(st: LoopState, t: number, behaviour: GPT, pairs: StoredPair[]) {
  const { ctx, v, eta } = st;
  const history: StoredPair[] = [];
  for (let k = 1; k < t; k++) history.push(...loadPairs(ctx, st.stageOf(k)));
  const policy = v.schedule === 'warm' ? behaviour : ctx.pi0.clone();
  const data = v.schedule === 'warm' ? pairs : [...st.seedData, ...history, ...pairs];
  const train = dpo(ctx, policy, data, eta, `${ctx.cfg.seed}/${st.stageOf(t)}/dpo`);
  return { policy, train, trainPairs: data.length };
}

/** Phase 4: the neural RM for the next iteration (refit on every oracle label so far, or copied). */
function nextNeuralRm(
  st: LoopState,
  t: number,
  dir: string,
  rm: OnlineRm,
  pairs: StoredPair[],
): Record<string, number> {
  const { ctx, v } = st;
  if (v.rm !== 'neural' || v.labels === 'proxy') return {};
  const c = ctx.cfg.methods.iterative;
  const seed = `${ctx.cfg.seed}/${st.stageOf(t)}/rm`;
  if (v.labels === 'oracle' && c.refitRm) {
    const data = [...labelledSoFar(st, t), ...pairs];
    const r =
      rm?.kind === 'neural'
        ? refitEnsembleStage(ctx, dir, rm.stage, data, seed, c.refitEpochs)
        : trainEnsembleStage(ctx, dir, data, seed, []);
    return { rmPairs: r.pairs, rmGoldAgreement: r.goldAgreement };
  }
  if (rm?.kind !== 'neural') throw new Error(`${v.key}: no reward model to carry to iteration ${t + 1}`);
  rm.ens.save(join(dir, 'rm'), { copiedFrom: rm.stage });
  return {};
}

/** Held-out agreement with r* of the RM that ranked this iteration's samples, and its label count. */
function rmHeldOut(st: LoopState, t: number, rm: OnlineRm): Record<string, number> {
  if (!rm) return {};
  const pairs = heldOutPairs(st.ctx, st.s);
  const scores = scorerOf(st.ctx, rm)(
    pairs.map((p) => p.prompt),
    pairs.map((p) => [p.a, p.b]),
  );
  const labels =
    rm.kind === 'linear'
      ? rm.model.pairs
      : st.v.labels === 'oracle'
        ? labelledSoFar(st, t).length
        : labelBudget(st.ctx.cfg);
  return { rmHeldOutAgreement: heldOutAgreement(pairs, scores), rmLabels: labels };
}

/** One online iteration t as a stage: sample, pick, label, train, refit, evaluate. */
function runIteration(st: LoopState, t: number, prevId: string | null): PolicyResult {
  const { ctx, v, s, eta } = st;
  const id = st.stageOf(t);
  return runStage(ctx, id, (dir) => {
    const prompts = ctx.split.iterations[t - 1];
    const behaviour = loadPolicy(ctx, prevId);
    const rm = rmForIteration(st, t);
    const samples = samplePolicy(
      ctx,
      behaviour,
      prompts,
      ctx.cfg.methods.iterative.n,
      `${ctx.cfg.seed}/${id}/sample`,
    );
    const picked = pickAndLabel(st, t, rm, prompts, samples);
    savePairs(dir, 'pairs.json', picked.pairs);
    const { policy, train, trainPairs } = trainIterate(st, t, behaviour, picked.pairs);
    savePolicy(dir, policy, ctx.tok, { stage: id });
    const rmInfo = { ...rmHeldOut(st, t, rm), ...nextNeuralRm(st, t, dir, rm, picked.pairs) };
    const used = assertBudget(ctx, v.key, prefixes(ctx, s, st.tag, v), st.budget);
    return {
      method: v.key,
      seed: s,
      eta,
      iteration: t,
      labelsUsed: used,
      budget: st.budget,
      eval: evaluatePolicy(ctx, policy, s),
      train,
      extra: {
        newPairs: picked.pairs.length,
        dropped: picked.dropped,
        trainPairs,
        rmMean: rm ? picked.rmMean : NaN,
        rmBestOfN: rm ? picked.rmBestOfN : NaN,
        randomPairs: rm ? 0 : picked.pairs.length,
        ...rmInfo,
      },
    };
  });
}

/** The hybrid's iteration 0: DPO on the offline data (the labelled RM seed pairs), no new labels. */
function runHybridStart(st: LoopState): PolicyResult {
  const { ctx, v, s, eta } = st;
  const id = st.stageOf(0);
  return runStage(ctx, id, (dir) => {
    const policy = ctx.pi0.clone();
    const train = dpo(ctx, policy, st.seedData, eta, `${ctx.cfg.seed}/${id}/dpo`);
    savePolicy(dir, policy, ctx.tok, { stage: id });
    savePairs(dir, 'pairs.json', []);
    const used = assertBudget(ctx, v.key, prefixes(ctx, s, st.tag, v), st.budget);
    return {
      method: v.key,
      seed: s,
      eta,
      iteration: 0,
      labelsUsed: used,
      budget: st.budget,
      eval: evaluatePolicy(ctx, policy, s),
      train,
    };
  });
}

/** Model selection on validation with the final RM (no labels, no gold). */
function runSelection(st: LoopState): SelectionResult {
  const { ctx, v, s, eta } = st;
  const T = ctx.cfg.methods.iterative.iterations;
  const selId = `${st.tag}/${v.key}/select`;
  return runStage(ctx, selId, () => {
    const rm = finalRm(st);
    const scorer = scorerOf(ctx, rm);
    const validation: (ValidationScore & { iteration: number })[] = [];
    for (let t = v.hybrid ? 0 : 1; t <= T; t++) {
      const pol = loadPolicy(ctx, st.stageOf(t));
      validation.push({
        iteration: t,
        ...validatePolicy(ctx, pol, scorer, eta, `${ctx.cfg.seed}/${selId}/val`),
      });
    }
    const crit = (x: ValidationScore): number =>
      ctx.cfg.methods.iterative.selection === 'rm' ? x.rm : x.objective;
    let best = validation[0];
    for (const x of validation) if (crit(x) > crit(best)) best = x;
    const used = assertBudget(ctx, v.key, prefixes(ctx, s, st.tag, v), st.budget);
    return {
      method: v.key,
      seed: s,
      eta,
      selected: best.iteration,
      validation,
      labelsUsed: used,
      budget: st.budget,
    };
  });
}

/** The RM after the last iteration: every label so far (linear), the last refit (neural), or the proxy. */
function finalRm(st: LoopState): Exclude<OnlineRm, null> {
  const T = st.ctx.cfg.methods.iterative.iterations;
  const rm =
    st.v.rm === 'neural' && st.v.labels !== 'proxy'
      ? ({ kind: 'neural', ens: loadEnsemble(st.ctx, st.stageOf(T)), stage: st.stageOf(T) } as const)
      : rmForIteration(st, T + 1);
  if (!rm) throw new Error(`${st.v.key}: no reward model for model selection`);
  return rm;
}

/** Runs all iterations and the selection of one variant at one η. */
export function runOnline(ctx: Ctx, s: number, eta: number, v: OnlineVariant): OnlineOutcome {
  const tag = runTag(ctx, s, eta);
  const st: LoopState = {
    ctx,
    s,
    eta,
    v,
    tag,
    budget: labelBudget(ctx.cfg),
    seedData: v.hybrid ? poolPairs(ctx, s, 'seed') : [],
    stageOf: (t) => `${tag}/${v.key}/it${t}`,
  };
  const results: PolicyResult[] = [];
  let prev: string | null = null;
  if (v.hybrid) {
    results.push(runHybridStart(st));
    prev = st.stageOf(0);
  }
  for (let t = 1; t <= ctx.cfg.methods.iterative.iterations; t++) {
    results.push(runIteration(st, t, prev));
    prev = st.stageOf(t);
  }
  return { iterations: results, selection: runSelection(st) };
}

/** The iterate chosen on validation, as a policy row. */
export function selectedRow(o: OnlineOutcome): PolicyResult {
  const row = o.iterations.find((r) => r.iteration === o.selection.selected);
  if (!row)
    throw new Error(`${o.selection.method}: selected iteration ${o.selection.selected} has no result`);
  return { ...row, labelsUsed: o.selection.labelsUsed };
}
