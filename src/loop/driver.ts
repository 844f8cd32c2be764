/**
 * `gshf loop`: online iterative GSHF on the user's prompts. T iterations of the shared iteration
 * (src/iterate/iteration.ts) with a policy backend, an enhancer, a label source through the crash-safe
 * ledger, and the linear reward model refit on every label; a metrics row per iteration
 * (metrics.jsonl) and a report (report.md + SVG plots).
 *
 * Run folder:
 *   config.json            the validated config (a resume must bring the same one)
 *   labels.jsonl           the ledger: every paid label, fsync'd before use
 *   iterations/it<t>/      steps/<step>/result.json (the stage memo of each step), policy/ (local backend),
 *                          rm.json (RM_t), pairs.json (D_t), eval-samples.json, result.json (last)
 *   metrics.jsonl          one row per finished iteration (rewritten atomically from result.json files)
 *   report.md, *.svg
 * Resume: a finished iteration (result.json) is read back; an unfinished one continues from its last
 * memoised step, its labels replayed from the ledger at no cost. Everything random is keyed by the
 * seed and the iteration/prompt ids, so a killed-and-resumed run ends with the same numbers.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AsyncLabelLedger } from '../feedback/ledger.js';
import { createLabelSource, type LabelSourceConfig } from '../feedback/registry.js';
import { goldReward } from '../pref/gold.js';
import { readPrompts } from '../pref/prompts.js';
import { Rng } from '../math/rng.js';
import { createPolicyBackend } from '../policy/registry.js';
import { writeFileAtomic, writeJsonAtomic } from '../report/atomic.js';
import { acquireRunLock } from '../report/lock.js';
import type { PolicyBackend, PolicyRef, PolicySample, TrainPair } from '../iterate/policy.js';
import { loopConfigSchema, type LoopConfig } from './config.js';
import { makeEnhancer } from './enhancers.js';
import { runIteration, type Numbers } from '../iterate/iteration.js';
import { emptyLinearRm, fitLinearRm, linearReward, linearScorer, type LinearRmState } from './linear-rm.js';
import { loopWarnings, writeLoopReport } from './report.js';
import { iterDir, readJson, type LoopMetrics } from './run-folder.js';
import { StageMemo } from '../report/stages.js';
import type { CrashHooks } from '../report/crash-hooks.js';

export interface LoopOptions {
  out: string;
  resume?: boolean;
  log?: (line: string) => void;
  /** The environment label sources read their tokens from (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Crash hooks (tests): after each newly paid label, after each memoised step (`it<t>/<step>`). */
  hooks?: CrashHooks;
}

export interface LoopSummary {
  out: string;
  rows: LoopMetrics[];
  labelsUsed: number;
  stoppedBy: 'iterations' | 'budget';
}

export interface PromptPlan {
  eval: { id: string; prompt: string }[];
  /** Prompts of iteration t (index t−1). */
  iterations: { id: string; prompt: string }[][];
}

/** Shuffle (seeded), the first `eval` prompts held out, then blocks of m per iteration (wrapping around). */
export function planPrompts(prompts: readonly string[], cfg: LoopConfig): PromptPlan {
  const items = prompts.map((prompt, i) => ({ id: `p${i}`, prompt }));
  if (cfg.prompts.shuffle) new Rng(`${cfg.seed}/prompts`).shuffle(items);
  const evalSet = items.slice(0, cfg.prompts.eval);
  const pool = items.slice(cfg.prompts.eval);
  const m = cfg.prompts.perIteration;
  if (pool.length < m)
    throw new Error(
      `${cfg.prompts.path}: ${prompts.length} distinct prompts, but prompts.eval (${cfg.prompts.eval}) + prompts.perIteration (${m}) need ${cfg.prompts.eval + m}`,
    );
  const iterations = Array.from({ length: cfg.iterations }, (_, t) =>
    Array.from({ length: m }, (_, k) => pool[(t * m + k) % pool.length]),
  );
  return { eval: evalSet, iterations };
}

/** Opens (or checks, on --resume) the run folder; nothing is written before the config is valid. */
function openRunFolder(cfg: LoopConfig, opts: LoopOptions): void {
  const configPath = join(opts.out, 'config.json');
  if (existsSync(configPath)) {
    if (!opts.resume)
      throw new Error(
        `${opts.out} already holds a run: pass --resume to continue it, or choose another --out`,
      );
    const saved = loopConfigSchema.parse(readJson(configPath));
    if (JSON.stringify(saved) !== JSON.stringify(cfg))
      throw new Error(
        `${configPath}: --resume with a different config than the one this run folder was started with`,
      );
    return;
  }
  mkdirSync(opts.out, { recursive: true });
  writeJsonAtomic(configPath, cfg);
}

interface Services {
  backend: PolicyBackend;
  ledger: AsyncLabelLedger;
  oracle: boolean;
}

/** Evaluation of a policy on the held-out prompts (samples stored for the final re-scoring). */
async function evaluatePolicy(
  cfg: LoopConfig,
  svc: Services,
  plan: PromptPlan,
  policy: PolicyRef,
  rm: LinearRmState,
  dir: string,
): Promise<Numbers> {
  if (plan.eval.length === 0) return {};
  const S = cfg.eval.samplesPerPrompt;
  const prompts = plan.eval.map((p) => p.prompt);
  const samples = await svc.backend.sample(policy, prompts, S, `${cfg.seed}/eval`);
  const flatPrompts = samples.flatMap((row, i) => row.map(() => prompts[i]));
  const flat = samples.flat();
  writeJsonAtomic(join(dir, 'eval-samples.json'), { prompts: flatPrompts, texts: flat.map((s) => s.text) });
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const reward = linearReward(rm);
  const out: Numbers = {
    rm_reward: mean(flat.map((s) => reward(s.text))),
    length_chars: mean(flat.map((s) => s.text.length)),
    length_tokens: flat.every((s) => s.tokens) ? mean(flat.map((s) => s.tokens!.length)) : null,
    kl: null,
    gold: svc.oracle ? mean(flat.map((s, i) => goldReward(flatPrompts[i], s.text))) : null,
  };
  if (svc.backend.logProbs) {
    // k1 estimate of KL(π‖π0) on samples of π: mean of log π − log π0.
    const lp = await svc.backend.logProbs(policy, flatPrompts, flat);
    const lp0 =
      policy === svc.backend.initial
        ? lp
        : await svc.backend.logProbs(svc.backend.initial, flatPrompts, flat);
    out.kl = mean(lp.map((v, i) => v - lp0[i]));
  }
  return out;
}

/** Iteration 0: π0 evaluated (the baseline row). */
async function baseline(cfg: LoopConfig, svc: Services, plan: PromptPlan, out: string): Promise<LoopMetrics> {
  const dir = iterDir(out, 0);
  const resultPath = join(dir, 'result.json');
  if (existsSync(resultPath)) return readJson<LoopMetrics>(resultPath);
  mkdirSync(dir, { recursive: true });
  const rm = emptyLinearRm(cfg.rewardModel);
  writeJsonAtomic(join(dir, 'rm.json'), rm);
  writeJsonAtomic(join(dir, 'pairs.json'), []);
  const t0 = performance.now();
  const ev = await evaluatePolicy(cfg, svc, plan, svc.backend.initial, rm, dir);
  const row: LoopMetrics = {
    iteration: 0,
    policy: svc.backend.initial,
    labels_used: svc.ledger.labelsUsed,
    budget: cfg.budget,
    selection: null,
    rm_sample_mean: null,
    rm_best_of_n: null,
    train: null,
    refit: null,
    eval: ev,
    budget_reached: false,
    timing: { evaluate: (performance.now() - t0) / 1000 },
  };
  writeJsonAtomic(resultPath, row);
  return row;
}

/** One iteration of the loop: the shared core, with the loop's store, RM and evaluation. */
async function loopIteration(
  cfg: LoopConfig,
  svc: Services,
  plan: PromptPlan,
  out: string,
  t: number,
  prev: LoopMetrics,
  hooks: CrashHooks,
): Promise<LoopMetrics> {
  const dir = iterDir(out, t);
  const prevDir = iterDir(out, t - 1);
  const rmPrev = readJson<LinearRmState>(join(prevDir, 'rm.json'));
  const history: TrainPair[] = [];
  for (let k = 1; k < t; k++) history.push(...readJson<TrainPair[]>(join(iterDir(out, k), 'pairs.json')));
  const timing: LoopMetrics['timing'] = {};
  const store = new StageMemo(join(dir, 'steps'), (name, skipped) => {
    if (!skipped) hooks.afterStep?.(`it${t}/${name}`);
  });
  const prompts = plan.iterations[t - 1];
  const t0 = performance.now();
  let rmNext: LinearRmState = rmPrev;
  const res = await runIteration(
    {
      iteration: t,
      prompts: prompts.map((p) => p.prompt),
      promptIds: prompts.map((p) => p.id),
      idPrefix: `it${t}`,
      n: cfg.n,
      seed: `${cfg.seed}/it${t}`,
      schedule: cfg.schedule,
      policy: prev.policy,
      history,
      out: dir,
    },
    {
      backend: svc.backend,
      rewardModel: linearScorer(rmPrev),
      select: makeEnhancer(cfg.enhancer, String(cfg.seed)),
      ledger: svc.ledger,
      budget: { limit: cfg.budget, used: () => svc.ledger.labelsUsed },
      store,
      refit: async (all) => {
        const st = fitLinearRm(cfg.rewardModel, all);
        writeJsonAtomic(join(dir, 'rm.json'), st);
        return { rm_pairs: st.pairs, rm_accuracy: st.accuracy, rm_neg_log_lik: st.negLogLik };
      },
      evaluate: async (policy) => {
        rmNext = readJson<LinearRmState>(join(dir, 'rm.json'));
        return evaluatePolicy(cfg, svc, plan, policy, rmNext, dir);
      },
      onStep: (step, s) => {
        timing[step] = s;
      },
    },
  );
  if (!existsSync(join(dir, 'rm.json'))) writeJsonAtomic(join(dir, 'rm.json'), rmNext);
  writeJsonAtomic(join(dir, 'pairs.json'), res.pairs);
  timing.total = (performance.now() - t0) / 1000;
  timing.overhead = timing.total - (timing.sample ?? 0) - (timing.train ?? 0);
  const row: LoopMetrics = {
    iteration: t,
    policy: res.policy,
    labels_used: svc.ledger.labelsUsed,
    budget: cfg.budget,
    selection: res.selection,
    rm_sample_mean: res.rmSampleMean,
    rm_best_of_n: res.rmBestOfN,
    train: res.train,
    refit: res.refit,
    eval: res.eval ?? {},
    budget_reached: res.budgetReached,
    timing,
  };
  writeJsonAtomic(join(dir, 'result.json'), row);
  return row;
}

/** Runs (or resumes) the loop. `cfg` must be validated; relative paths are resolved by the caller. */
export async function runLoop(cfg: LoopConfig, opts: LoopOptions): Promise<LoopSummary> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const env = opts.env ?? process.env;
  const out = resolve(opts.out);
  // --- phase 1: inputs, checked before anything is written
  const plan = planPrompts(readPrompts(cfg.prompts.path), cfg);
  // --- phase 2: the run folder (locked), the label source through the ledger, the policy backend
  const lock = acquireRunLock(out, { log });
  try {
    openRunFolder(cfg, { ...opts, out });
    return await runIterations(cfg, plan, out, log, env, opts.hooks ?? {});
  } finally {
    lock.release();
  }
}

async function runIterations(
  cfg: LoopConfig,
  plan: PromptPlan,
  out: string,
  log: (line: string) => void,
  env: NodeJS.ProcessEnv,
  hooks: CrashHooks,
): Promise<LoopSummary> {
  const source = await createLabelSource(cfg.labels, { seed: String(cfg.seed), env });
  const ledger = new AsyncLabelLedger(source, join(out, 'labels.jsonl'), {
    chunk: cfg.ledger.chunk,
    fsync: cfg.ledger.fsync,
    onPaid: (n) => hooks.afterLabel?.(n),
  });
  if (ledger.labelsUsed > 0) log(`resuming: ${ledger.labelsUsed} labels already in the ledger`);
  const svc: Services = {
    backend: createPolicyBackend(cfg.policy, cfg.trainer),
    ledger,
    oracle: usesOracle(cfg.labels),
  };
  try {
    // --- phase 3: iterations
    const rows = [await baseline(cfg, svc, plan, out)];
    let stoppedBy: LoopSummary['stoppedBy'] = 'iterations';
    for (let t = 1; t <= cfg.iterations; t++) {
      const dir = iterDir(out, t);
      const done = join(dir, 'result.json');
      let row: LoopMetrics;
      if (existsSync(done)) row = readJson<LoopMetrics>(done);
      else {
        if (!existsSync(dir) && ledger.labelsUsed >= cfg.budget) {
          stoppedBy = 'budget';
          log(`label budget reached (${ledger.labelsUsed}/${cfg.budget}): stopping before iteration ${t}`);
          break;
        }
        mkdirSync(dir, { recursive: true });
        row = await loopIteration(cfg, svc, plan, out, t, rows[rows.length - 1], hooks);
        log(
          `iteration ${t}/${cfg.iterations}: ${row.selection?.labelled ?? 0} pairs, labels ${row.labels_used}/${cfg.budget}` +
            (typeof row.eval.rm_reward === 'number'
              ? `, eval RM reward ${row.eval.rm_reward.toFixed(3)}`
              : ''),
        );
      }
      rows.push(row);
      writeMetrics(out, rows);
      if (row.budget_reached) {
        stoppedBy = 'budget';
        if (t < cfg.iterations)
          log(`label budget reached (${row.labels_used}/${cfg.budget}) in iteration ${t}: stopping`);
        break;
      }
    }
    writeMetrics(out, rows);
    // --- phase 4: report
    writeLoopReport(out, cfg, rows);
    for (const w of loopWarnings(rows)) log(`warning: ${w}`);
    return { out, rows, labelsUsed: ledger.labelsUsed, stoppedBy };
  } finally {
    await ledger.close();
    await svc.backend.close?.();
  }
}

function writeMetrics(out: string, rows: readonly LoopMetrics[]): void {
  writeFileAtomic(join(out, 'metrics.jsonl'), rows.map((r) => JSON.stringify(r) + '\n').join(''));
}

export type { PolicySample };

/** True when the gold oracle answers some labels (directly or as a router tier): gold r* is then reported. */
function usesOracle(src: LabelSourceConfig | 'self'): boolean {
  if (src === 'self') return false;
  if (src.kind === 'oracle') return true;
  return (
    src.kind === 'router' &&
    Array.isArray(src.tiers) &&
    src.tiers.some((t: { source: LabelSourceConfig | 'self' }) => usesOracle(t.source))
  );
}
