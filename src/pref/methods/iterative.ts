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
import { labelBudget, type PipelineConfig } from '../pipeline-config.js';
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
  loadStagePolicy,
  refitEnsembleStage,
  runStage,
  runStageAsync,
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
  type DpoSummary,
  type ValidationScore,
} from './common.js';
import { poolPairs, proxyModel, rmFullStageId, rmSeedStageId } from './offline.js';
import { validatePolicy } from './common.js';
import type { GPT } from '../../nn/index.js';
import {
  runIteration as loopIteration,
  syncLedgerView,
  type LedgerView,
  type RewardScorer,
} from '../../iterate/iteration.js';
import type { PolicyBackend, TrainPair } from '../../iterate/policy.js';

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
export function onlineVariants(cfg: PipelineConfig): OnlineVariant[] {
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
  // The further reward models run with the first schedule only (the RM comparison).
  if (m.iterative.enabled)
    m.iterative.schedules.forEach((s, k) =>
      add(
        `iterative-dpo-${s}`,
        s,
        'best-worst',
        false,
        s === 'retrain' && k > 0 ? (m.iterative.retrainSeeds ?? m.iterative.seeds) : m.iterative.seeds,
        k === 0,
      ),
    );
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

/** Labels the variant used so far (its ledger prefixes + its offline pairs); throws above the budget. */
function budgetUsed(st: LoopState): number {
  const { ctx, s, v } = st;
  return (
    assertBudget(ctx, v.key, prefixes(ctx, s, st.tag, v), st.budget - st.offlineLabels) + st.offlineLabels
  );
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
  /** Offline pairs the loop starts from (the hybrid's; empty otherwise) and how many labels they cost. */
  seedData: StoredPair[];
  offlineLabels: number;
  /** Online iterations and prompts (= at most that many labels) per iteration of this variant. */
  iterations: number;
  perIteration: number;
  stageOf: (t: number) => string;
}

const textPairs = (pairs: readonly StoredPair[]): TextPair[] =>
  pairs.map((p) => ({ chosen: p.chosen.text, rejected: p.rejected.text }));

/** Oracle-labelled pairs the RM may use before iteration t: the RM seed (or hybrid offline) pairs and D_1..D_{t−1}. */
function labelledSoFar(st: LoopState, t: number): StoredPair[] {
  const seed = st.ctx.cfg.labels.rmSeed > 0 ? poolPairs(st.ctx, st.s, 'seed') : st.seedData;
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

const PI0 = 'pi0';

/** The in-process GPT as the shared iteration's policy backend: refs are stage ids ('pi0' = π0). */
function stageBackend(st: LoopState, trained: { policy?: GPT; train?: DpoSummary }): PolicyBackend<Resp> {
  const { ctx } = st;
  const load = (ref: string): GPT => (ref === PI0 ? ctx.pi0.clone() : loadStagePolicy(ctx, ref));
  return {
    name: 'miniature',
    initial: PI0,
    sample: (ref, prompts, n, seed) =>
      Promise.resolve(samplePolicy(ctx, ref === PI0 ? ctx.pi0 : load(ref), prompts, n, seed)),
    train: (req) => {
      const policy = load(req.init);
      const pairs: StoredPair[] = req.pairs.map((p) => ({
        prompt: p.prompt,
        chosen: p.chosen,
        rejected: p.rejected,
        ...(p.id !== undefined ? { qid: p.id } : {}),
      }));
      const train = dpo(ctx, policy, pairs, st.eta, req.seed);
      savePolicy(req.out, policy, ctx.tok, { stage: req.out });
      trained.policy = policy;
      trained.train = train;
      const summary: Record<string, number> = {};
      for (const [k, x] of Object.entries(train))
        if (x !== undefined) summary[k] = typeof x === 'boolean' ? Number(x) : x;
      return Promise.resolve({ policy: st.stageOf(req.iteration), summary });
    },
  };
}

/** The reward model as the shared iteration's scorer (zeros when there is none yet). */
function rowScorer(st: LoopState, rm: OnlineRm): RewardScorer<Resp> {
  return {
    score: (prompts, samples) => {
      const n = samples[0]?.length ?? 0;
      if (!rm) return Promise.resolve(samples.map((row) => ({ mean: row.map(() => 0) })));
      const mean = scorerOf(st.ctx, rm)(prompts, samples as Resp[][]);
      const members =
        rm.kind === 'neural' && st.v.enhancer === 'uncertainty'
          ? scoreWithEnsemble(
              st.ctx,
              rm.ens,
              samples.flatMap((row, i) => row.map((r) => encodeResp(st.ctx, prompts[i], r))),
            ).members
          : null;
      return Promise.resolve(
        samples.map((_, i) => ({
          mean: Array.from(mean.subarray(i * n, (i + 1) * n)),
          ...(members ? { members: members.map((m) => Array.from(m.subarray(i * n, (i + 1) * n))) } : {}),
        })),
      );
    },
  };
}

/** The labeller of a variant: the oracle through the ledger, or the RM / proxy (slot a is its favourite). */
function ledgerView(st: LoopState): LedgerView {
  const { ctx, v } = st;
  if (v.labels === 'oracle')
    return syncLedgerView('oracle', ctx.ask, (id) => ctx.ledger.get(id) !== undefined);
  return syncLedgerView(
    v.labels,
    () => true,
    () => true,
  );
}

const toTrainPair = (p: StoredPair): TrainPair<Resp> => ({
  prompt: p.prompt,
  chosen: p.chosen,
  rejected: p.rejected,
  ...(p.qid !== undefined ? { id: p.qid } : {}),
});

/**
 * One online iteration t as a stage, through the ONE iteration implementation shared with
 * `gshf loop` (src/iterate/iteration.ts): sample, select, label, train, refit; then evaluate π_t.
 */
function runOnlineIteration(st: LoopState, t: number, prevId: string | null): Promise<PolicyResult> {
  const { ctx, v, s, eta } = st;
  const id = st.stageOf(t);
  return runStageAsync(ctx, id, async (dir) => {
    const rm = rmForIteration(st, t);
    const history = [...st.seedData];
    for (let k = 1; k < t; k++) history.push(...loadPairs(ctx, st.stageOf(k)));
    const trained: { policy?: GPT; train?: DpoSummary } = {};
    let rmInfo: Record<string, number> = {};
    const res = await loopIteration(
      {
        iteration: t,
        prompts: ctx.split.iterations[t - 1].slice(0, st.perIteration),
        idPrefix: id,
        n: ctx.cfg.methods.iterative.n,
        seed: `${ctx.cfg.seed}/${id}`,
        schedule: v.schedule,
        policy: prevId ?? PI0,
        history: history.map(toTrainPair),
        out: dir,
      },
      {
        backend: stageBackend(st, trained),
        rewardModel: rowScorer(st, rm),
        select: (texts, sc) =>
          choosePair(
            rm,
            v.enhancer,
            [...texts],
            rm ? Float64Array.from(sc.mean) : null,
            sc.members?.map((m) => Float64Array.from(m)),
          ),
        ledger: ledgerView(st),
        refit: (all) => {
          rmInfo = {
            ...rmHeldOut(st, t, rm),
            ...nextNeuralRm(st, t, dir, rm, all.slice(history.length).map(fromTrainPair)),
          };
          return Promise.resolve(rmInfo);
        },
      },
    );
    const pairs = res.pairs.map(fromTrainPair);
    savePairs(dir, 'pairs.json', pairs);
    const policy = trained.policy ?? loadPolicy(ctx, prevId);
    if (!trained.policy) savePolicy(dir, policy, ctx.tok, { stage: id });
    const used = budgetUsed(st);
    return {
      method: v.key,
      seed: s,
      eta,
      iteration: t,
      labelsUsed: used,
      budget: st.budget,
      eval: evaluatePolicy(ctx, policy, s),
      train: trained.train ?? {
        pairs: 0,
        steps: 0,
        finalLoss: NaN,
        finalAccuracy: NaN,
        finalMargin: NaN,
        seconds: 0,
      },
      extra: {
        newPairs: pairs.length,
        dropped: res.selection.noPair,
        trainPairs: v.schedule === 'warm' ? pairs.length : history.length + pairs.length,
        rmMean: rm ? res.rmSampleMean : NaN,
        rmBestOfN: rm ? res.rmBestOfN : NaN,
        randomPairs: rm ? 0 : pairs.length,
        ...rmInfo,
      },
    };
  });
}

const fromTrainPair = (p: TrainPair<Resp>): StoredPair => ({
  prompt: p.prompt,
  chosen: p.chosen,
  rejected: p.rejected,
  ...(p.id !== undefined ? { qid: p.id } : {}),
});

/** The hybrid's iteration 0: DPO on the offline data (the labelled RM seed pairs), no new labels. */
function runHybridStart(st: LoopState): PolicyResult {
  const { ctx, v, s, eta } = st;
  const id = st.stageOf(0);
  return runStage(ctx, id, (dir) => {
    const policy = ctx.pi0.clone();
    const train = dpo(ctx, policy, st.seedData, eta, `${ctx.cfg.seed}/${id}/dpo`);
    savePolicy(dir, policy, ctx.tok, { stage: id });
    savePairs(dir, 'pairs.json', []);
    const used = budgetUsed(st);
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
  const selId = `${st.tag}/${v.key}/select`;
  return runStage(ctx, selId, () => {
    const rm = finalRm(st);
    const scorer = scorerOf(ctx, rm);
    const validation: (ValidationScore & { iteration: number })[] = [];
    for (let t = v.hybrid ? 0 : 1; t <= st.iterations; t++) {
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
    const used = budgetUsed(st);
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
  const T = st.iterations;
  const rm =
    st.v.rm === 'neural' && st.v.labels !== 'proxy'
      ? ({ kind: 'neural', ens: loadEnsemble(st.ctx, st.stageOf(T)), stage: st.stageOf(T) } as const)
      : rmForIteration(st, T + 1);
  if (!rm) throw new Error(`${st.v.key}: no reward model for model selection`);
  return rm;
}

/**
 * Offline start, iterations and batch size of a variant. The hybrid under fair accounting
 * (labels.rmSeed 0): the first `hybrid.offline` labelled pool pairs, then `hybrid.iterations`
 * iterations sharing the rest of the budget; with an RM seed: the seed pairs, then T × m.
 */
function loopShape(
  ctx: Ctx,
  s: number,
  v: OnlineVariant,
): Pick<LoopState, 'seedData' | 'offlineLabels' | 'iterations' | 'perIteration'> {
  const { cfg } = ctx;
  const T = cfg.methods.iterative.iterations;
  const m = cfg.labels.perIteration;
  if (!v.hybrid) return { seedData: [], offlineLabels: 0, iterations: T, perIteration: m };
  if (cfg.labels.rmSeed > 0)
    return { seedData: poolPairs(ctx, s, 'seed'), offlineLabels: 0, iterations: T, perIteration: m };
  const h = cfg.methods.hybrid;
  const offline = h.offline ?? m;
  const its = Math.min(h.iterations ?? T, T);
  const seedData = poolPairs(ctx, s, 'rest').slice(0, offline);
  return {
    seedData,
    offlineLabels: seedData.filter((p) => p.qid !== undefined).length,
    iterations: its,
    perIteration: Math.min(m, Math.floor((labelBudget(cfg) - offline) / its)),
  };
}

/** Runs all iterations and the selection of one variant at one η. */
export async function runOnline(ctx: Ctx, s: number, eta: number, v: OnlineVariant): Promise<OnlineOutcome> {
  const tag = runTag(ctx, s, eta);
  const st: LoopState = {
    ctx,
    s,
    eta,
    v,
    tag,
    budget: labelBudget(ctx.cfg),
    stageOf: (t) => `${tag}/${v.key}/it${t}`,
    ...loopShape(ctx, s, v),
  };
  const results: PolicyResult[] = [];
  let prev: string | null = null;
  if (v.hybrid) {
    results.push(runHybridStart(st));
    prev = st.stageOf(0);
  }
  for (let t = 1; t <= st.iterations; t++) {
    results.push(await runOnlineIteration(st, t, prev));
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
