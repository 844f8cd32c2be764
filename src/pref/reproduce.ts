/**
 * `gshf lm reproduce`: SFT π0 → per seed: labelled π0 pool → reward models → offline DPO, RSO,
 * multi-step RSO, online iterative DPO (warm and retrain schedules), the uncertainty enhancer and the
 * hybrid → the η-frontier → report. Every stage writes its outputs into the run folder atomically and
 * is skipped on resume; every human label goes through the ledger (labels.jsonl), so a killed run
 * resumes with no lost or duplicated labels and ends with the same numbers.
 *
 * Crash hook for tests: GSHF_CRASH_AFTER_LABELS=N kills the process (SIGKILL) right after the N-th
 * label newly obtained in this process has been written to the ledger.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RunDir } from '../report/run-dir.js';
import { Progress } from '../report/progress.js';
import {
  ByteTokenizer,
  GPT,
  autoKernelThreads,
  initSftModel,
  kernelBackend,
  PRODUCTS,
  runSft,
} from '../nn/index.js';
import { GoldOracle } from './gold.js';
import { LabelLedger } from './labels.js';
import { readPrompts, splitPrompts } from './prompts.js';
import {
  labelBudget,
  modelConfigOf,
  pipelineConfigSchema,
  rsoFrontierSeeds,
  type PipelineConfig,
} from './pipeline-config.js';
import {
  evaluatePolicy,
  loadPolicy,
  runStage,
  seedTag,
  stageDir,
  type Ctx,
  type PolicyResult,
  type RmStageResult,
} from './methods/common.js';
import {
  runMultiStepRso,
  runOfflineDpo,
  runPool,
  runRmFull,
  runRmSeed,
  runRso,
  type PoolResult,
} from './methods/offline.js';
import { onlineVariants, runOnline, type OnlineVariant, type SelectionResult } from './methods/iterative.js';
import { buildReport } from './report.js';

export interface ReproduceOptions {
  outDir: string;
  resume?: boolean;
  /** Shown in the report as the command that reproduces it. */
  command?: string;
  log?: (line: string) => void;
  /** Show a progress bar / lines (default true; GSHF_QUIET=1 silences it). */
  progress?: boolean;
}

export interface Pi0Result {
  params: number;
  sftSteps: number;
  valLoss: number;
  initialValLoss: number;
  seconds: number;
  kernels: string;
}

export interface ReproduceResults {
  name: string;
  budget: number;
  seeds: number;
  pi0: Pi0Result;
  promptPool: {
    size: number;
    iterations: number;
    perIteration: number;
    validation: number;
    test: number;
    offline: number;
  };
  pool: (PoolResult & { seed: number })[];
  rms: (RmStageResult & { seed: number; kind: 'seed' | 'full' })[];
  /** Every evaluated policy: π0, offline DPO, RSO, multi-step RSO stages, online iterations; main η and frontier. */
  rows: PolicyResult[];
  selections: SelectionResult[];
  ledger: { labels: number; duplicateIds: number; bySeed: Record<string, number> };
  /** Seconds per stage kind, summed over the run folder's stages (this run and any earlier part of it). */
  stageSeconds: Record<string, number>;
}

export interface ReproduceSummary {
  outDir: string;
  results: ReproduceResults;
  reportPath: string;
  wallSeconds: number;
  stagesRun: number;
  stagesSkipped: number;
}

/** The prompt pool: "Review of <adj> <product>:" for every adjective × product, plus the bare corpus prompts. */
export function generatedPrompts(adjectives: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of PRODUCTS) {
    out.push(`Review of ${p}:`);
    for (const a of adjectives) out.push(`Review of ${a} ${p}:`);
  }
  return out;
}

export function promptPool(cfg: PipelineConfig): string[] {
  return cfg.prompts.source === 'generated'
    ? generatedPrompts(cfg.prompts.adjectives)
    : readPrompts(cfg.prompts.source);
}

/** Stages the run will execute (for the progress bar). */
export function plannedStages(cfg: PipelineConfig): number {
  const m = cfg.methods;
  const T = m.iterative.iterations;
  const nOnline =
    (m.iterative.enabled ? m.iterative.schedules.length : 0) +
    (m.uncertainty.enabled ? 1 : 0) +
    (m.hybrid.enabled ? 1 : 0);
  const online = nOnline * (T + 1) + (m.hybrid.enabled ? 1 : 0);
  const rso = (m.rso.enabled ? 1 : 0) + (m.multiStepRso.enabled ? m.multiStepRso.etas.length : 0);
  const perSeed = 1 + 1 + 2 + (m.offlineDpo.enabled ? 1 : 0) + rso + online;
  let frontier = 0;
  if (cfg.frontier.enabled) {
    const etas = cfg.frontier.etas.filter((e) => e !== cfg.dpo.eta).length;
    for (const k of cfg.frontier.methods) {
      frontier +=
        k === 'rso' ? rsoFrontierSeeds(cfg) : (k === 'offline-dpo' ? 1 : T + 1) * cfg.frontier.seeds;
    }
    frontier *= etas;
  }
  return 1 + cfg.seeds * perSeed + frontier;
}

function crashAfter(): number {
  const v = process.env.GSHF_CRASH_AFTER_LABELS;
  if (!v) return Infinity;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`GSHF_CRASH_AFTER_LABELS: expected a positive integer, got "${v}"`);
  return n;
}

export async function reproduce(cfg: PipelineConfig, opts: ReproduceOptions): Promise<ReproduceSummary> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const t0 = performance.now();
  const dir = new RunDir(opts.outDir);
  const configPath = join(opts.outDir, 'config.json');
  const stagesPath = join(opts.outDir, 'stages');
  if (existsSync(configPath) || existsSync(stagesPath)) {
    if (!opts.resume)
      throw new Error(
        `${opts.outDir} already holds a run: pass --resume to continue it, or choose another --out`,
      );
    if (existsSync(configPath)) {
      const saved = pipelineConfigSchema.parse(JSON.parse(readFileSync(configPath, 'utf8')));
      if (JSON.stringify({ ...saved, claimNotes: {} }) !== JSON.stringify({ ...cfg, claimNotes: {} })) {
        throw new Error(
          `${configPath}: --resume with a different config than the one this run folder was started with`,
        );
      }
    }
  }
  dir.writeConfig(cfg);

  const budget = labelBudget(cfg);
  const T = cfg.methods.iterative.iterations;
  const m = cfg.labels.perIteration;
  const pool = promptPool(cfg);
  const split = splitPrompts(pool, {
    iterations: T,
    perIteration: m,
    validation: cfg.prompts.validation,
    test: cfg.prompts.test,
    offline: budget,
    seed: cfg.prompts.seed,
  });

  const oracle = new GoldOracle({ seed: `${cfg.seed}/oracle`, temperature: cfg.oracle.temperature });
  const ledger = new LabelLedger(oracle, join(opts.outDir, 'labels.jsonl'));
  const crashN = crashAfter();
  const ask = (prompt: string, a: string, b: string, queryId: string): boolean => {
    const ans = ledger.compare(prompt, a, b, queryId);
    if (ledger.labelsAskedThisSession >= crashN) {
      ledger.close();
      process.kill(process.pid, 'SIGKILL');
    }
    return ans;
  };
  if (ledger.labelsUsed > 0) log(`resuming: ${ledger.labelsUsed} labels already in the ledger`);

  const total = plannedStages(cfg);
  const progress = new Progress('lm reproduce', total, opts.progress === false ? { quiet: true } : {});
  let ran = 0;
  let skipped = 0;
  const tok = new ByteTokenizer();
  const modelCfg = modelConfigOf(cfg.model);
  // Bootstrap context for the SFT stage (π0 not yet available).
  const partial = { cfg, dir: opts.outDir, tok, ledger, ask, split, log } as const;
  const onStage = (id: string, wasSkipped: boolean): void => {
    if (wasSkipped) skipped++;
    else ran++;
    progress.tick(1, `${wasSkipped ? 'skip ' : ''}${id}`);
  };

  // --- π0 by SFT
  const pi0Res = runStage({ ...partial, pi0: new GPT(modelCfg, 0), onStage } as Ctx, 'pi0', (d) => {
    const { model } = initSftModel({ preset: modelCfg, seed: cfg.sft.seed });
    autoKernelThreads(model.numParams);
    const sft = cfg.sft;
    // The one SFT entry point (as `gshf lm sft`); the stage itself is the unit of resume here.
    const res = runSft({
      data: sft.data,
      out: join(d, 'policy'),
      model,
      tokenizer: tok,
      steps: sft.steps,
      batchSize: sft.batch,
      accumulation: sft.accumulation,
      lr: sft.lr,
      warmupSteps: sft.warmup,
      weightDecay: sft.weightDecay,
      gradClip: sft.clip,
      evalEvery: sft.evalEvery,
      valFraction: sft.valFraction,
      seed: sft.seed,
      checkpointEvery: 0,
      meta: { stage: 'pi0', sftSteps: sft.steps },
    });
    return {
      params: model.numParams,
      sftSteps: cfg.sft.steps,
      valLoss: res.valLoss,
      initialValLoss: res.initialValLoss,
      seconds: res.seconds,
      kernels: kernelBackend(),
    };
  });
  const bootstrap = { ...partial, pi0: new GPT(modelCfg, 0), onStage } as Ctx;
  const pi0 = loadPolicy(bootstrap, 'pi0');
  autoKernelThreads(pi0.numParams);
  const ctx: Ctx = { ...partial, pi0, onStage };

  const rows: PolicyResult[] = [];
  const selections: SelectionResult[] = [];
  const pools: ReproduceResults['pool'] = [];
  const rms: ReproduceResults['rms'] = [];
  const variants = onlineVariants(ctx);
  const needFull =
    cfg.methods.rso.enabled ||
    cfg.methods.multiStepRso.enabled ||
    cfg.methods.iterative.labelSource === 'reward-model' ||
    (cfg.frontier.enabled && cfg.frontier.methods.includes('rso'));

  const runMethodsAt = (
    s: number,
    eta: number,
    which: { offline: boolean; rso: boolean; ms: boolean; online: OnlineVariant[] },
  ): void => {
    if (which.offline) rows.push(runOfflineDpo(ctx, s, eta));
    if (which.rso) rows.push(runRso(ctx, s, eta));
    if (which.ms) rows.push(...runMultiStepRso(ctx, s, eta));
    for (const v of which.online) {
      const o = runOnline(ctx, s, eta, v);
      rows.push(...o.iterations);
      selections.push(o.selection);
    }
  };

  for (let s = 0; s < cfg.seeds; s++) {
    rows.push(
      runStage(ctx, `${seedTag(s)}/pi0-eval`, () => ({
        method: 'pi0',
        seed: s,
        eta: cfg.dpo.eta,
        labelsUsed: 0,
        budget,
        eval: evaluatePolicy(ctx, pi0, s),
        train: { pairs: 0, steps: 0, finalLoss: NaN, finalAccuracy: NaN, finalMargin: NaN, seconds: 0 },
      })),
    );
    pools.push({ seed: s, ...runPool(ctx, s) });
    rms.push({ seed: s, kind: 'seed', ...runRmSeed(ctx, s) });
    if (needFull) rms.push({ seed: s, kind: 'full', ...runRmFull(ctx, s) });
    else ctx.onStage(`${seedTag(s)}/rm-full (not needed)`, true);
    runMethodsAt(s, cfg.dpo.eta, {
      offline: cfg.methods.offlineDpo.enabled,
      rso: cfg.methods.rso.enabled,
      ms: cfg.methods.multiStepRso.enabled,
      online: variants,
    });
  }

  if (cfg.frontier.enabled) {
    const fm = new Set(cfg.frontier.methods);
    const warm: OnlineVariant = {
      key: 'iterative-dpo-warm',
      schedule: 'warm',
      enhancer: 'best-worst',
      hybrid: false,
    };
    const fs = cfg.frontier.seeds;
    for (let s = 0; s < Math.max(fs, rsoFrontierSeeds(cfg)); s++) {
      for (const eta of cfg.frontier.etas) {
        if (eta === cfg.dpo.eta) continue;
        runMethodsAt(s, eta, {
          offline: fm.has('offline-dpo') && s < fs,
          rso: fm.has('rso') && s < rsoFrontierSeeds(cfg),
          ms: false,
          online: fm.has('iterative-dpo-warm') && s < fs ? [warm] : [],
        });
      }
    }
  }
  progress.finish();

  // Ledger audit: unique ids (the ledger keys by id; the file must not hold an id twice).
  const lines = readFileSync(ledger.path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const ids = lines.map((l) => (JSON.parse(l) as { id: string }).id);
  const duplicateIds = ids.length - new Set(ids).size;
  const bySeed: Record<string, number> = {};
  for (let s = 0; s < cfg.seeds; s++) bySeed[seedTag(s)] = ledger.labelsBy(seedTag(s));
  ledger.close();

  const results: ReproduceResults = {
    name: cfg.name,
    budget,
    seeds: cfg.seeds,
    pi0: pi0Res,
    promptPool: {
      size: split.poolSize,
      iterations: T,
      perIteration: m,
      validation: split.validation.length,
      test: split.test.length,
      offline: split.offline.length,
    },
    pool: pools,
    rms,
    rows,
    selections,
    ledger: { labels: ledger.labelsUsed, duplicateIds, bySeed },
    stageSeconds: stageSeconds(opts.outDir),
  };
  const wallSeconds = (performance.now() - t0) / 1000;
  const command = opts.command ?? `gshf lm reproduce --out ${opts.outDir}`;
  // Wall time: this invocation plus earlier invocations of the same run folder (resumes add up).
  const infoPath = join(opts.outDir, 'run-info.json');
  const prev = existsSync(infoPath)
    ? (JSON.parse(readFileSync(infoPath, 'utf8')) as { invocations?: number[] })
    : {};
  const invocations = [...(prev.invocations ?? []), Number(wallSeconds.toFixed(1))];
  dir.writeAtomic(
    'run-info.json',
    JSON.stringify(
      {
        invocations,
        wallSeconds: invocations.reduce((a, b) => a + b, 0),
        command,
        stagesRun: ran,
        stagesSkipped: skipped,
      },
      null,
      1,
    ) + '\n',
  );
  dir.writeAtomic('results.json', JSON.stringify(results, null, 1) + '\n');
  const report = buildReport(cfg, results, {
    command,
    wallSeconds: invocations.reduce((a, b) => a + b, 0),
    invocations,
  });
  for (const sv of report.svgs) dir.writeAtomic(sv.name, sv.content);
  const reportPath = dir.writeAtomic('report.md', report.markdown + '\n');
  log(`report: ${reportPath}`);
  return { outDir: opts.outDir, results, reportPath, wallSeconds, stagesRun: ran, stagesSkipped: skipped };
}

/**
 * Rebuilds report.md and the SVGs of a finished run folder from its results.json. `claimNotes`
 * (e.g. from the shipped config, written after looking at the numbers) replace the run's notes.
 */
export function rebuildReport(outDir: string, claimNotes?: Record<string, string>): string {
  const saved = pipelineConfigSchema.parse(JSON.parse(readFileSync(join(outDir, 'config.json'), 'utf8')));
  const cfg = claimNotes ? { ...saved, claimNotes } : saved;
  const results = JSON.parse(readFileSync(join(outDir, 'results.json'), 'utf8')) as ReproduceResults;
  const info = JSON.parse(readFileSync(join(outDir, 'run-info.json'), 'utf8')) as {
    wallSeconds: number;
    command: string;
    invocations: number[];
  };
  const dir = new RunDir(outDir);
  const report = buildReport(cfg, results, {
    command: info.command,
    wallSeconds: info.wallSeconds,
    invocations: info.invocations,
  });
  for (const sv of report.svgs) dir.writeAtomic(sv.name, sv.content);
  return dir.writeAtomic('report.md', report.markdown + '\n');
}

/** Sums stage timing.json files by stage kind (the path without seed/eta/iteration parts). */
function stageSeconds(outDir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (d: string, rel: string[]): void => {
    if (!existsSync(d)) return;
    const t = join(d, 'timing.json');
    if (existsSync(t)) {
      const kind =
        rel.filter((p) => !/^(seed\d+|eta[\d.e-]+|it\d+|stage\d+)$/.test(p)).join('/') || rel.join('/');
      out[kind] = (out[kind] ?? 0) + (JSON.parse(readFileSync(t, 'utf8')) as { seconds: number }).seconds;
    }
    for (const e of readdirSync(d, { withFileTypes: true }))
      if (e.isDirectory() && !['policy', 'rm'].includes(e.name)) walk(join(d, e.name), [...rel, e.name]);
  };
  walk(join(outDir, 'stages'), []);
  void stageDir;
  return out;
}
