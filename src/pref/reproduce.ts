/**
 * `gshf lm reproduce`: SFT π0 → per seed: labelled π0 pool → reward models → offline DPO, RSO,
 * multi-step RSO, online iterative DPO (warm and retrain schedules), the uncertainty enhancer and the
 * hybrid → the η-frontier → report. Every stage writes its outputs into the run folder atomically and
 * is skipped on resume; every human label goes through the ledger (labels.jsonl), so a killed run
 * resumes with no lost or duplicated labels and ends with the same numbers.
 *
 * Crash hooks for tests (`opts.hooks`, built by the CLI and by each seed worker from the environment,
 * src/report/crash-hooks.ts): after each label newly obtained in this process is in the ledger, and
 * after each SFT step of π0.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { RunDir } from '../report/run-dir.js';
import type { CrashHooks } from '../report/crash-hooks.js';
import { Progress } from '../report/progress.js';
import { writeFileSync } from 'node:fs';
import {
  BPETokenizer,
  ByteTokenizer,
  type Tokenizer,
  GPT,
  autoKernelThreads,
  builtinCorpusPath,
  kernelBackend,
  PRODUCTS,
  readExamples,
  runSft,
  trainBpe,
} from '../nn/index.js';
import { Rng } from '../math/rng.js';
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
  oodEvaluation,
  loadStagePolicy,
  runStage,
  seedTag,
  stageDir,
  type StageCtx,
  type BaseCtx,
  type Ctx,
  type PolicyResult,
} from './methods/common.js';
import {
  runMultiStepRso,
  runOfflineDpo,
  runOfflineDpoProxy,
  runPessimisticDpo,
  runPool,
  runProxyPool,
  runRmFull,
  runRmSeed,
  runRso,
} from './methods/offline.js';
import { onlineVariants, runOnline, type OnlineVariant, type SelectionResult } from './methods/iterative.js';
import { WordFeatures } from './linear-rm.js';
import { mergeParts, runSeedsInWorkers } from './seed-workers.js';
import { buildReport } from './report.js';
import type { Pi0Result, ReproduceResults } from './results.js';

export type { Pi0Result, ReproduceResults };

export interface ReproduceOptions {
  outDir: string;
  resume?: boolean;
  /** Shown in the report as the command that reproduces it. */
  command?: string;
  log?: (line: string) => void;
  /** Show a progress bar / lines (default true; GSHF_QUIET=1 silences it). */
  progress?: boolean;
  /** Crash hooks (tests): `afterLabel`, `afterSftStep`. */
  hooks?: CrashHooks;
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

/**
 * The out-of-distribution test prompts: "Review of <adjective> <product>:" with adjectives from
 * `prompts.oodAdjectives` (in neither the pool nor the corpus), `prompts.ood` of them, seeded.
 */
export function oodPrompts(cfg: PipelineConfig): string[] {
  if (cfg.prompts.ood === 0) return [];
  const all = PRODUCTS.flatMap((p) => cfg.prompts.oodAdjectives.map((a) => `Review of ${a} ${p}:`));
  const pool = new Set(promptPool(cfg));
  const fresh = all.filter((p) => !pool.has(p));
  return new Rng(`${cfg.prompts.seed}/ood`).shuffle(fresh).slice(0, cfg.prompts.ood);
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
  const upTo = (x: { enabled: boolean; seeds?: number | undefined }): number =>
    x.enabled ? Math.min(cfg.seeds, x.seeds ?? cfg.seeds) : 0;
  // Per run: its iterations (the hybrid's iterate 0 and the proxy's RM stage included) + the selection.
  const runStages = (v: OnlineVariant): number =>
    v.hybrid ? Math.min(T, m.hybrid.iterations ?? T) + 2 : v.labels === 'proxy' ? T + 3 : T + 1;
  const online = onlineVariants(cfg).reduce((a, v) => a + v.seeds * runStages(v), 0);
  const rso = upTo(m.rso) + upTo(m.multiStepRso) * m.multiStepRso.etas.length;
  const rmStages =
    (cfg.labels.rmSeed > 0 && m.iterative.rewardModels.includes('neural') ? 1 : 0) +
    (needFullRm(cfg) ? 1 : 0);
  const perSeed = 2 + rmStages;
  let frontier = 0;
  if (cfg.frontier.enabled) {
    const etas = cfg.frontier.etas.filter((e) => e !== cfg.dpo.eta).length;
    for (const k of cfg.frontier.methods) {
      frontier +=
        k === 'rso'
          ? rsoFrontierSeeds(cfg)
          : k === 'multi-step-rso'
            ? rsoFrontierSeeds(cfg) * m.multiStepRso.etas.length
            : (k === 'offline-dpo' ? 1 : T + 1) * cfg.frontier.seeds;
    }
    frontier *= etas;
  }
  return (
    1 +
    (cfg.tokenizer.type === 'bpe' ? 1 : 0) +
    cfg.seeds * perSeed +
    upTo(m.offlineDpo) +
    upTo(m.pessimisticDpo) * pessimismBetas(cfg).length +
    online +
    rso +
    frontier
  );
}

/**
 * CPU seconds (user + system) of this process and of its finished children (the seed workers):
 * process.cpuUsage() plus the children's times from /proc/self/stat (Linux; elsewhere self only).
 */
export function cpuSecondsSoFar(): number {
  const self = process.cpuUsage();
  let children = 0;
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 16 and 17 (cutime, cstime), counted from the state field (3) onwards; clock ticks of 1/100 s.
    children = (Number(f[13]) + Number(f[14])) / 100;
  } catch {
    children = 0;
  }
  return (self.user + self.system) / 1e6 + (Number.isFinite(children) ? children : 0);
}

/** Phase: refuse a foreign run folder, accept a resume of the same config, record the config. */
function openRunFolder(cfg: PipelineConfig, opts: ReproduceOptions): RunDir {
  const dir = new RunDir(opts.outDir);
  const configPath = join(opts.outDir, 'config.json');
  if (existsSync(configPath) || existsSync(join(opts.outDir, 'stages'))) {
    if (!opts.resume)
      throw new Error(
        `${opts.outDir} already holds a run: pass --resume to continue it, or choose another --out`,
      );
    if (existsSync(configPath)) {
      const saved = pipelineConfigSchema.parse(JSON.parse(readFileSync(configPath, 'utf8')));
      // Claim notes and the worker count do not change any number.
      const same = (c: PipelineConfig): string => JSON.stringify({ ...c, claimNotes: {}, workers: 1 });
      if (same(saved) !== same(cfg))
        throw new Error(
          `${configPath}: --resume with a different config than the one this run folder was started with`,
        );
    }
  }
  dir.writeConfig(cfg);
  return dir;
}

/** The SFT corpus's responses (vocabulary of the linear RM and of the "writes words" share). */
function corpusTexts(cfg: PipelineConfig): string[] {
  const path = cfg.sft.data === 'builtin' ? builtinCorpusPath() : cfg.sft.data;
  return readExamples(path).map((e) => (e.kind === 'pair' ? e.response : e.text));
}

/** π0's tokenizer: bytes, or a BPE trained on the SFT corpus (a stage: the file lives in the run folder). */
function pipelineTokenizer(cfg: PipelineConfig, sc: StageCtx): Tokenizer {
  const spec = cfg.tokenizer;
  if (spec.type === 'byte') return new ByteTokenizer();
  runStage(sc, 'tokenizer', (d) => {
    const path = cfg.sft.data === 'builtin' ? builtinCorpusPath() : cfg.sft.data;
    const texts = readExamples(path).flatMap((e) => (e.kind === 'pair' ? [e.prompt, e.response] : [e.text]));
    const json = trainBpe(texts, { vocabSize: spec.vocabSize });
    writeFileSync(join(d, 'tokenizer.json'), JSON.stringify(json) + '\n');
    return { vocabSize: spec.vocabSize, merges: (json.model as { merges: string[] }).merges.length };
  });
  return BPETokenizer.fromFile(join(stageDir(sc, 'tokenizer'), 'tokenizer.json'));
}

/** The oracle's ledger at `path` and the `ask` that goes through it (with the crash hook). */
function ledgerAndAsk(cfg: PipelineConfig, path: string, hooks: CrashHooks): Pick<BaseCtx, 'ledger' | 'ask'> {
  const oracle = new GoldOracle({ seed: `${cfg.seed}/oracle`, temperature: cfg.oracle.temperature });
  const ledger = new LabelLedger(oracle, path);
  const ask = (prompt: string, a: string, b: string, queryId: string): boolean => {
    const before = ledger.labelsAskedThisSession;
    const ans = ledger.compare(prompt, a, b, queryId);
    if (ledger.labelsAskedThisSession > before) hooks.afterLabel?.(ledger.labelsAskedThisSession);
    return ans;
  };
  return { ledger, ask };
}

/** Phase: everything but π0 — split, oracle + ledger, word features, tokenizer. */
function baseContext(
  cfg: PipelineConfig,
  outDir: string,
  ledgerPath: string,
  onStage: BaseCtx['onStage'],
  log: BaseCtx['log'],
  hooks: CrashHooks,
): BaseCtx {
  const split = splitPrompts(promptPool(cfg), {
    iterations: cfg.methods.iterative.iterations,
    perIteration: cfg.labels.perIteration,
    validation: cfg.prompts.validation,
    test: cfg.prompts.test,
    offline: labelBudget(cfg),
    seed: cfg.prompts.seed,
  });
  const { ledger, ask } = ledgerAndAsk(cfg, ledgerPath, hooks);
  const texts = corpusTexts(cfg);
  const words = {
    rm: WordFeatures.fromTexts(texts, cfg.linearRm.minCount),
    corpus: WordFeatures.fromTexts(texts, 1),
  };
  const tok = pipelineTokenizer(cfg, { dir: outDir, onStage });
  return { cfg, dir: outDir, tok, ledger, ask, split, log, onStage, words, ood: oodPrompts(cfg) };
}

/** The context of a run whose π0 exists (a seed worker, or the collecting pass after workers). */
export function seedContext(
  cfg: PipelineConfig,
  outDir: string,
  ledgerPath: string,
  onStage: BaseCtx['onStage'],
  hooks: CrashHooks = {},
): Ctx {
  // The tokenizer exists already: loading it is not one of this seed's stages (no "skipped" tick).
  const base = {
    ...baseContext(
      cfg,
      outDir,
      ledgerPath,
      () => {},
      () => {},
      hooks,
    ),
    onStage,
  };
  const pi0 = loadStagePolicy(base, 'pi0');
  autoKernelThreads(pi0.numParams);
  return { ...base, pi0 };
}

/** Phase: π0 by SFT (a stage), then loaded from the run folder. */
function trainPi0(base: BaseCtx, hooks: CrashHooks): { ctx: Ctx; pi0Res: Pi0Result } {
  const { cfg, tok } = base;
  const pi0Res = runStage(base, 'pi0', (d) => {
    const model = new GPT({ ...modelConfigOf(cfg.model), vocabSize: tok.vocabSize }, cfg.sft.seed);
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
      onProgress: (p) => hooks.afterSftStep?.(p.step),
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
  const pi0 = loadStagePolicy(base, 'pi0');
  autoKernelThreads(pi0.numParams);
  return { ctx: { ...base, pi0 }, pi0Res };
}

/** What the seed loop and the frontier collect. */
export interface Collected {
  rows: PolicyResult[];
  selections: SelectionResult[];
  pools: ReproduceResults['pool'];
  rms: ReproduceResults['rms'];
}

interface MethodSet {
  offline: boolean;
  rso: boolean;
  ms: boolean;
  proxy: boolean;
  /** β values of the pessimism arms to run. */
  pessimistic: number[];
  online: OnlineVariant[];
}

async function runMethodsAt(
  ctx: Ctx,
  acc: Collected,
  s: number,
  eta: number,
  which: MethodSet,
): Promise<void> {
  if (which.offline) acc.rows.push(runOfflineDpo(ctx, s, eta));
  for (const beta of which.pessimistic) acc.rows.push(runPessimisticDpo(ctx, s, eta, beta));
  if (which.proxy) acc.rows.push(runOfflineDpoProxy(ctx, s, eta));
  if (which.rso) acc.rows.push(runRso(ctx, s, eta));
  if (which.ms) acc.rows.push(...runMultiStepRso(ctx, s, eta));
  for (const v of which.online) {
    const o = await runOnline(ctx, s, eta, v);
    acc.rows.push(...o.iterations);
    acc.selections.push(o.selection);
  }
}

/** The pessimism arms' β values: the main β, then the sweep. */
export function pessimismBetas(cfg: PipelineConfig): number[] {
  const p = cfg.methods.pessimisticDpo;
  return [...new Set([p.beta, ...p.betas])];
}

/** Does method `m` (with an optional `seeds` limit) run on seed s? */
function onSeed(ctx: Ctx, m: { enabled: boolean; seeds?: number | undefined }, s: number): boolean {
  return m.enabled && s < (m.seeds ?? ctx.cfg.seeds);
}

function needFullRm(cfg: PipelineConfig): boolean {
  const m = cfg.methods;
  return (
    (m.rso.enabled && m.rso.ranker === 'neural') ||
    (m.multiStepRso.enabled && m.multiStepRso.ranker === 'neural') ||
    (cfg.methods.iterative.labelSource === 'reward-model' &&
      cfg.methods.iterative.rewardModels.includes('neural')) ||
    (cfg.frontier.enabled && cfg.frontier.methods.includes('rso') && m.rso.ranker === 'neural')
  );
}

/** Phase: one preference seed — π0's evaluation, the labelled pool, RMs, every method at the main η, its frontier points. */
export async function runSeed(ctx: Ctx, acc: Collected, s: number): Promise<void> {
  const { cfg } = ctx;
  const m = cfg.methods;
  acc.rows.push(
    runStage(ctx, `${seedTag(s)}/pi0-eval`, () => ({
      method: 'pi0',
      seed: s,
      eta: cfg.dpo.eta,
      labelsUsed: 0,
      budget: labelBudget(cfg),
      eval: evaluatePolicy(ctx, ctx.pi0, s),
      ...oodEvaluation(ctx, ctx.pi0, s),
      train: { pairs: 0, steps: 0, finalLoss: NaN, finalAccuracy: NaN, finalMargin: NaN, seconds: 0 },
    })),
  );
  acc.pools.push({ seed: s, ...runPool(ctx, s) });
  if (cfg.labels.rmSeed > 0 && m.iterative.rewardModels.includes('neural'))
    acc.rms.push({ seed: s, kind: 'seed', ...runRmSeed(ctx, s) });
  if (needFullRm(cfg)) acc.rms.push({ seed: s, kind: 'full', ...runRmFull(ctx, s) });
  if (onSeed(ctx, m.proxy, s)) runProxyPool(ctx, s);
  await runMethodsAt(ctx, acc, s, cfg.dpo.eta, {
    offline: onSeed(ctx, m.offlineDpo, s),
    rso: onSeed(ctx, m.rso, s),
    ms: onSeed(ctx, m.multiStepRso, s),
    proxy: onSeed(ctx, m.proxy, s),
    pessimistic: onSeed(ctx, m.pessimisticDpo, s) ? pessimismBetas(cfg) : [],
    online: onlineVariants(cfg).filter((v) => s < v.seeds),
  });
  await runFrontierSeed(ctx, acc, s);
}

/**
 * Phase: seed s's points of the reward–KL frontiers over η (the main η is reused). Part of the seed,
 * so the seed workers run the frontiers in parallel too.
 */
async function runFrontierSeed(ctx: Ctx, acc: Collected, s: number): Promise<void> {
  const { cfg } = ctx;
  if (!cfg.frontier.enabled) return;
  const fm = new Set(cfg.frontier.methods);
  const warm = onlineVariants(cfg).find((v) => v.key === 'iterative-dpo-warm');
  const fs = cfg.frontier.seeds;
  const rs = rsoFrontierSeeds(cfg);
  if (s >= Math.max(fs, rs)) return;
  for (const eta of cfg.frontier.etas) {
    if (eta === cfg.dpo.eta) continue;
    await runMethodsAt(ctx, acc, s, eta, {
      offline: fm.has('offline-dpo') && s < fs,
      rso: fm.has('rso') && s < rs,
      ms: fm.has('multi-step-rso') && s < rs,
      proxy: false,
      pessimistic: [],
      online: warm && fm.has('iterative-dpo-warm') && s < fs ? [warm] : [],
    });
  }
}

/** Phase: the ledger audit (unique ids; the ledger keys by id, the file must not hold an id twice). */
function auditLedger(ctx: Ctx): ReproduceResults['ledger'] {
  const { ledger, cfg } = ctx;
  const ids = readFileSync(ledger.path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { id: string }).id);
  const bySeed: Record<string, number> = {};
  for (let s = 0; s < cfg.seeds; s++) bySeed[seedTag(s)] = ledger.labelsBy(seedTag(s));
  return { labels: ledger.labelsUsed, duplicateIds: ids.length - new Set(ids).size, bySeed };
}

/** Phase: run-info.json (wall time adds up over resumes), results.json, the report and its SVGs. */
function writeOutputs(
  dir: RunDir,
  cfg: PipelineConfig,
  results: ReproduceResults,
  opts: ReproduceOptions,
  run: { wallSeconds: number; cpuSeconds: number; ran: number; skipped: number; load: number[] },
): string {
  const command = opts.command ?? `gshf lm reproduce --out ${opts.outDir}`;
  const infoPath = join(opts.outDir, 'run-info.json');
  const prev = existsSync(infoPath)
    ? (JSON.parse(readFileSync(infoPath, 'utf8')) as { invocations?: number[]; cpuSeconds?: number })
    : {};
  const invocations = [...(prev.invocations ?? []), Number(run.wallSeconds.toFixed(1))];
  const wallSeconds = invocations.reduce((a, b) => a + b, 0);
  const cpuSeconds = Number(((prev.cpuSeconds ?? 0) + run.cpuSeconds).toFixed(1));
  const info = {
    invocations,
    wallSeconds,
    cpuSeconds,
    command,
    stagesRun: run.ran,
    stagesSkipped: run.skipped,
    loadAverage: run.load,
  };
  dir.writeAtomic('run-info.json', JSON.stringify(info, null, 1) + '\n');
  dir.writeAtomic('results.json', JSON.stringify(results, null, 1) + '\n');
  const report = buildReport(cfg, results, {
    command,
    wallSeconds,
    invocations,
    loadAverage: run.load,
    cpuSeconds,
  });
  for (const sv of report.svgs) dir.writeAtomic(sv.name, sv.content);
  return dir.writeAtomic('report.md', report.markdown + '\n');
}

export async function reproduce(cfg: PipelineConfig, opts: ReproduceOptions): Promise<ReproduceSummary> {
  const t0 = performance.now();
  const cpu0 = cpuSecondsSoFar();
  const load0 = loadavg();
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const dir = openRunFolder(cfg, opts);
  mergeParts(opts.outDir); // labels of workers killed in an earlier invocation
  const progress = new Progress(
    'lm reproduce',
    plannedStages(cfg),
    opts.progress === false ? { quiet: true } : {},
  );
  const count = { ran: 0, skipped: 0 };
  const onStage = (id: string, wasSkipped: boolean): void => {
    if (wasSkipped) count.skipped++;
    else count.ran++;
    progress.tick(1, `${wasSkipped ? 'skip ' : ''}${id}`);
  };
  const ledgerPath = join(opts.outDir, 'labels.jsonl');
  const hooks = opts.hooks ?? {};
  const base = baseContext(cfg, opts.outDir, ledgerPath, onStage, log, hooks);
  if (base.ledger.labelsUsed > 0) log(`resuming: ${base.ledger.labelsUsed} labels already in the ledger`);
  const trained = trainPi0(base, hooks);
  const pi0Res = trained.pi0Res;
  let ctx = trained.ctx;

  const acc: Collected = { rows: [], selections: [], pools: [], rms: [] };
  if (cfg.workers > 1 && cfg.seeds > 1) {
    // Seeds in child processes; then a collecting pass in which every seed stage is a skip.
    ctx.ledger.close();
    await runSeedsInWorkers(cfg, opts.outDir, cfg.workers, onStage);
    mergeParts(opts.outDir);
    ctx = { ...seedContext(cfg, opts.outDir, ledgerPath, () => {}, hooks), log, onStage };
    const quiet = { ...ctx, onStage: () => {} };
    for (let s = 0; s < cfg.seeds; s++) await runSeed(quiet, acc, s);
  } else {
    for (let s = 0; s < cfg.seeds; s++) await runSeed(ctx, acc, s);
  }
  progress.finish();
  const ledger = auditLedger(ctx);
  ctx.ledger.close();

  const split = ctx.split;
  const results: ReproduceResults = {
    name: cfg.name,
    budget: labelBudget(cfg),
    seeds: cfg.seeds,
    pi0: pi0Res,
    promptPool: {
      size: split.poolSize,
      iterations: cfg.methods.iterative.iterations,
      perIteration: cfg.labels.perIteration,
      validation: split.validation.length,
      test: split.test.length,
      offline: split.offline.length,
    },
    pool: acc.pools,
    rms: acc.rms,
    rows: acc.rows,
    selections: acc.selections,
    ledger,
    stageSeconds: stageSeconds(opts.outDir),
    vocab: { rm: ctx.words.rm.vocab.length, corpus: ctx.words.corpus.vocab.length },
  };
  const wallSeconds = (performance.now() - t0) / 1000;
  // Load average (1 min) at the start and at the end: the machine is shared.
  const load = [Number(load0[0].toFixed(2)), Number(loadavg()[0].toFixed(2))];
  const reportPath = writeOutputs(dir, cfg, results, opts, {
    wallSeconds,
    cpuSeconds: cpuSecondsSoFar() - cpu0,
    ran: count.ran,
    skipped: count.skipped,
    load,
  });
  (opts.log ?? ((l: string) => process.stderr.write(l + '\n')))(`report: ${reportPath}`);
  return {
    outDir: opts.outDir,
    results,
    reportPath,
    wallSeconds,
    stagesRun: count.ran,
    stagesSkipped: count.skipped,
  };
}

/**
 * Rebuilds report.md and the SVGs of a finished run folder from its results.json. `claimNotes`
 * (e.g. from the shipped config, written after looking at the numbers) replace the run's notes.
 */
export function rebuildReport(outDir: string, claimNotes?: PipelineConfig['claimNotes']): string {
  const saved = pipelineConfigSchema.parse(JSON.parse(readFileSync(join(outDir, 'config.json'), 'utf8')));
  const cfg = claimNotes ? { ...saved, claimNotes } : saved;
  const results = JSON.parse(readFileSync(join(outDir, 'results.json'), 'utf8')) as ReproduceResults;
  const info = JSON.parse(readFileSync(join(outDir, 'run-info.json'), 'utf8')) as {
    wallSeconds: number;
    command: string;
    invocations: number[];
    loadAverage?: number[];
    cpuSeconds?: number;
  };
  const dir = new RunDir(outDir);
  const report = buildReport(cfg, results, {
    command: info.command,
    wallSeconds: info.wallSeconds,
    invocations: info.invocations,
    ...(info.loadAverage ? { loadAverage: info.loadAverage } : {}),
    ...(info.cpuSeconds !== undefined ? { cpuSeconds: info.cpuSeconds } : {}),
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
  return out;
}
