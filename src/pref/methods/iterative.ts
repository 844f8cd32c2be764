/**
 * Online iterative DPO (online GSHF-DPO, RLHF Workflow Algorithm 2) and its variants:
 *   - schedule 'warm'    (RLHF Workflow): π_t is initialised from π_{t−1} and trained on the new batch D_t only;
 *   - schedule 'retrain' (ICML paper):    π_t is trained from π0 on all data D_1 ∪ … ∪ D_t;
 *   - enhancer 'best-worst':  per prompt, n samples of π_{t−1}; the pair is best-of-n vs worst-of-n under
 *                             the current RM (ensemble mean), ties dropped;
 *   - enhancer 'uncertainty': the pair (i, j) with the largest ensemble std of r(a_i) − r(a_j);
 *   - hybrid: the loop seeded with the offline data (the RM seed pairs): π_0' = DPO(π0, D_seed), and
 *             D_seed stays in the history.
 * The selected pair is labelled by the label source (the gold BT oracle through the ledger, one label
 * per prompt, or the current RM for free). The reference is always π0. After each iteration the RM
 * ensemble is refit on every oracle label so far (the MLE on all data). The output is the iterate with
 * the best mean RM reward (config: or RM objective r_RM − η·KL) on the validation prompts: no labels, no gold.
 */
import { bestWorstPair, uncertaintyPair } from '../sampling.js';
import { labelBudget } from '../pipeline-config.js';
import {
  assertBudget,
  dpo,
  encodeResp,
  evaluatePolicy,
  loadEnsemble,
  loadPairs,
  loadPolicy,
  runStage,
  runTag,
  samplePolicy,
  savePairs,
  savePolicy,
  scoreWithEnsemble,
  seedTag,
  refitEnsembleStage,
  validatePolicy,
  type Ctx,
  type PolicyResult,
  type StoredPair,
  type ValidationScore,
} from './common.js';
import { poolPairs, rmFullStageId, rmSeedStageId } from './offline.js';
import { join } from 'node:path';

export type Schedule = 'warm' | 'retrain';
export type Enhancer = 'best-worst' | 'uncertainty';

export interface OnlineVariant {
  /** Method key, e.g. "iterative-dpo-warm". */
  key: string;
  schedule: Schedule;
  enhancer: Enhancer;
  hybrid: boolean;
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
  const m = ctx.cfg.methods;
  const out: OnlineVariant[] = [];
  if (m.iterative.enabled)
    for (const s of m.iterative.schedules)
      out.push({ key: `iterative-dpo-${s}`, schedule: s, enhancer: 'best-worst', hybrid: false });
  if (m.uncertainty.enabled)
    out.push({
      key: 'uncertainty',
      schedule: m.uncertainty.schedule,
      enhancer: 'uncertainty',
      hybrid: false,
    });
  if (m.hybrid.enabled)
    out.push({ key: 'hybrid', schedule: m.hybrid.schedule, enhancer: 'best-worst', hybrid: true });
  return out;
}

function usesOracle(ctx: Ctx): boolean {
  return ctx.cfg.methods.iterative.labelSource === 'oracle';
}

/** Ledger prefixes of the labels a variant relies on. */
function prefixes(ctx: Ctx, s: number, tag: string, v: OnlineVariant): string[] {
  const rm = usesOracle(ctx) ? `${seedTag(s)}/pool/seed` : `${seedTag(s)}/pool`;
  return [rm, `${tag}/${v.key}`];
}

/** Runs all iterations and the selection of one variant at one η. */
export function runOnline(ctx: Ctx, s: number, eta: number, v: OnlineVariant): OnlineOutcome {
  const { cfg } = ctx;
  const tag = runTag(ctx, s, eta);
  const T = cfg.methods.iterative.iterations;
  const budget = labelBudget(cfg);
  const oracle = usesOracle(ctx);
  const firstRm = oracle ? rmSeedStageId(s) : rmFullStageId(s);
  const seedData: StoredPair[] = v.hybrid ? poolPairs(ctx, s, 'seed') : [];
  const results: PolicyResult[] = [];
  const stageOf = (t: number): string => `${tag}/${v.key}/it${t}`;
  let prevPolicy: string | null = null;

  if (v.hybrid) {
    // Iteration 0: DPO on the offline data (the labelled RM seed pairs), no new labels.
    const id = stageOf(0);
    results.push(
      runStage(ctx, id, (dir) => {
        const policy = ctx.pi0.clone();
        const train = dpo(ctx, policy, seedData, eta, `${cfg.seed}/${id}/dpo`);
        savePolicy(dir, policy, ctx.tok, { stage: id });
        savePairs(dir, 'pairs.json', []);
        const used = assertBudget(ctx, v.key, prefixes(ctx, s, tag, v), budget);
        return {
          method: v.key,
          seed: s,
          eta,
          iteration: 0,
          labelsUsed: used,
          budget,
          eval: evaluatePolicy(ctx, policy, s),
          train,
        };
      }),
    );
    prevPolicy = id;
  }

  for (let t = 1; t <= T; t++) {
    const id = stageOf(t);
    const prevId = prevPolicy;
    const rmStage = t === 1 ? firstRm : stageOf(t - 1);
    results.push(
      runStage(ctx, id, (dir) => {
        const prompts = ctx.split.iterations[t - 1];
        const n = cfg.methods.iterative.n;
        const behaviour = loadPolicy(ctx, prevId);
        const ens = loadEnsemble(ctx, rmStage);
        const samples = samplePolicy(ctx, behaviour, prompts, n, `${cfg.seed}/${id}/sample`);
        const seqs = samples.flatMap((row, i) => row.map((r) => encodeResp(ctx, prompts[i], r)));
        const sc = scoreWithEnsemble(ctx, ens, seqs);
        const pairs: StoredPair[] = [];
        let dropped = 0;
        let rmBestMean = 0;
        let rmMean = 0;
        samples.forEach((row, i) => {
          const texts = row.map((r) => r.text);
          const mean = sc.mean.subarray(i * n, (i + 1) * n);
          rmMean += mean.reduce((a, b) => a + b, 0) / n;
          rmBestMean += Math.max(...mean);
          let pick: { a: number; b: number } | null = null;
          if (v.enhancer === 'best-worst') {
            const p = bestWorstPair(texts, mean);
            if (p) pick = { a: p.chosenIndex, b: p.rejectedIndex };
          } else {
            const p = uncertaintyPair(texts, {
              ensemble: sc.members.map((m) => m.subarray(i * n, (i + 1) * n)),
            });
            // Order the pair by the RM mean, so slot a is the RM's favourite (as for best-worst).
            if (p) pick = mean[p.i] >= mean[p.j] ? { a: p.i, b: p.j } : { a: p.j, b: p.i };
          }
          if (!pick) {
            dropped++;
            return;
          }
          const a = row[pick.a];
          const b = row[pick.b];
          if (oracle) {
            const qid = `${id}/p${i}`;
            const aWins = ctx.ask(prompts[i], a.text, b.text, qid);
            pairs.push({ prompt: prompts[i], chosen: aWins ? a : b, rejected: aWins ? b : a, qid });
          } else {
            // RM label source: the pair is ordered by the RM's mean reward (best-of-n is chosen).
            pairs.push({ prompt: prompts[i], chosen: a, rejected: b });
          }
        });
        savePairs(dir, 'pairs.json', pairs);
        // Training data and initialisation per schedule.
        const history: StoredPair[] = [];
        for (let k = 1; k < t; k++) history.push(...loadPairs(ctx, stageOf(k)));
        let policy;
        let data: StoredPair[];
        if (v.schedule === 'warm') {
          policy = behaviour;
          data = pairs;
        } else {
          policy = ctx.pi0.clone();
          data = [...seedData, ...history, ...pairs];
        }
        const train = dpo(ctx, policy, data, eta, `${cfg.seed}/${id}/dpo`);
        savePolicy(dir, policy, ctx.tok, { stage: id });
        // Refit the RM on every oracle label so far (seed pairs + D_1..D_t); else keep the previous one.
        let rmInfo: Record<string, number> = {};
        if (oracle && cfg.methods.iterative.refitRm) {
          const rmData = [...poolPairs(ctx, s, 'seed'), ...history, ...pairs];
          const r = refitEnsembleStage(
            ctx,
            dir,
            rmStage,
            rmData,
            `${cfg.seed}/${id}/rm`,
            cfg.methods.iterative.refitEpochs,
          );
          rmInfo = { rmPairs: r.pairs, rmGoldAgreement: r.goldAgreement };
        } else {
          copyEnsemble(ctx, rmStage, dir);
        }
        const used = assertBudget(ctx, v.key, prefixes(ctx, s, tag, v), budget);
        return {
          method: v.key,
          seed: s,
          eta,
          iteration: t,
          labelsUsed: used,
          budget,
          eval: evaluatePolicy(ctx, policy, s),
          train,
          extra: {
            newPairs: pairs.length,
            dropped,
            trainPairs: data.length,
            rmMean: rmMean / prompts.length,
            rmBestOfN: rmBestMean / prompts.length,
            ...rmInfo,
          },
        };
      }),
    );
    prevPolicy = id;
  }

  // Model selection on validation with the final RM (no labels, no gold).
  const selId = `${tag}/${v.key}/select`;
  const selection = runStage(ctx, selId, () => {
    const ens = loadEnsemble(ctx, stageOf(T));
    const first = v.hybrid ? 0 : 1;
    const validation: (ValidationScore & { iteration: number })[] = [];
    for (let t = first; t <= T; t++) {
      const pol = loadPolicy(ctx, stageOf(t));
      validation.push({ iteration: t, ...validatePolicy(ctx, pol, ens, eta, `${cfg.seed}/${selId}/val`) });
    }
    const crit = (x: ValidationScore): number =>
      cfg.methods.iterative.selection === 'rm' ? x.rm : x.objective;
    let best = validation[0];
    for (const x of validation) if (crit(x) > crit(best)) best = x;
    const used = assertBudget(ctx, v.key, prefixes(ctx, s, tag, v), budget);
    return { method: v.key, seed: s, eta, selected: best.iteration, validation, labelsUsed: used, budget };
  });
  return { iterations: results, selection };
}

/** The iterate chosen on validation, as a policy row. */
export function selectedRow(o: OnlineOutcome): PolicyResult {
  const row = o.iterations.find((r) => r.iteration === o.selection.selected);
  if (!row)
    throw new Error(`${o.selection.method}: selected iteration ${o.selection.selected} has no result`);
  return { ...row, labelsUsed: o.selection.labelsUsed };
}

/** When the RM is not refit, the iteration's stage still carries the RM it used (for the next one). */
function copyEnsemble(ctx: Ctx, fromStage: string, toDir: string): void {
  const ens = loadEnsemble(ctx, fromStage);
  ens.save(join(toDir, 'rm'), { copiedFrom: fromStage });
}
