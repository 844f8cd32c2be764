/**
 * Expands an experiment config into independent jobs and runs one job. A job is pure: its result
 * depends only on (config, job), so jobs can run in any order, in any worker, and be resumed.
 *
 * Common random numbers: every run in a cell with the same seed index sees the SAME offline data
 * (drawn from a stream keyed by coverage and seed), so differences between algorithms are paired
 * and their confidence intervals are tight. Offline data for a smaller budget is a prefix of the
 * data for a larger one (one stream, drawn sequentially).
 */
import { GshfInputError } from '../../math/errors.js';
import { Rng } from '../../math/rng.js';
import { readEnvFile } from '../files.js';
import { generateEnv, behaviourPolicy, type Coverage } from '../generate.js';
import { emptyPairs, type BanditEnv } from '../env.js';
import { PreferenceOracle, samplePairs } from '../oracle.js';
import { expectedReward, gapMetric, klToRef, trueRewards } from '../policy.js';
import { getAlgorithm, type AlgorithmResult } from '../algorithms/index.js';
import { getDivergence } from '../divergences/registry.js';
import { fDivergence, fGapMetric } from '../divergences/optimum.js';
import type { EnvSpec, ExperimentConfig } from './config.js';
import { expandLabJobs, runLabJob } from './lab-studies.js';

export interface Job {
  /** Unique, stable identity (used for resuming). */
  key: string;
  study: string;
  run: string;
  coverage: Coverage;
  budget: number;
  seedIndex: number;
  /** Frontier studies: the target η for this job (else the environment's). */
  eta?: number;
}

export interface JobResult {
  key: string;
  study: string;
  run: string;
  algorithm: string;
  setting: string;
  coverage: Coverage;
  budget: number;
  seedIndex: number;
  eta: number;
  gap: number;
  suboptimality: number;
  klStarToHat: number;
  /** E_x E_{a~π} r*(x,a) and KL(π‖π0): the axes of reward–KL frontiers. */
  reward: number;
  klToRef: number;
  labelsUsed: number;
  validationLabels: number;
  seconds: number;
  /** Runs whose algorithm regularises with another divergence: D_f(π̂‖π0) and the gap under f. */
  own?: { divergence: string; toRef: number; gap: number };
  /** Frontier studies listing `divergences`: D_f(π̂‖π0) for each of them. */
  divergences?: Record<string, number>;
  /** Online runs: gap of the main agent after each iteration vs labels used so far. */
  trace?: { labels: number; gap: number }[];
  diagnostics?: Record<string, number>;
  /** Lab studies: the study's named metrics for this arm and seed. */
  metrics?: Record<string, number>;
}

export function expandJobs(cfg: ExperimentConfig): Job[] {
  const jobs: Job[] = [];
  for (const study of cfg.studies) {
    if (study.kind === 'lab') {
      jobs.push(
        ...expandLabJobs(study, study.seeds ?? cfg.seeds).map((j) => ({
          ...j,
          coverage: 'good' as const,
          budget: 0,
        })),
      );
      continue;
    }
    if (study.kind === 'frontier') {
      for (const eta of study.etas)
        for (const run of study.runs)
          for (let s = 0; s < cfg.seeds; s++)
            jobs.push({
              key: `${study.name}/${run}/${study.coverage}/eta=${eta}/n=${study.budget}/s=${s}`,
              study: study.name,
              run,
              coverage: study.coverage,
              budget: study.budget,
              seedIndex: s,
              eta,
            });
      continue;
    }
    const coverages = Array.isArray(study.coverage) ? study.coverage : [study.coverage];
    for (const coverage of coverages)
      for (const budget of study.budgets)
        for (const run of study.runs)
          for (let s = 0; s < (study.seeds ?? cfg.seeds); s++)
            jobs.push({
              key: `${study.name}/${run}/${coverage}/n=${budget}/s=${s}`,
              study: study.name,
              run,
              coverage,
              budget,
              seedIndex: s,
            });
  }
  return jobs;
}

/**
 * The environment a study runs in: the config's, with the study's `env` change applied, and with
 * `varyEnv` the generator seed moved by the seed index.
 */
export function studyEnvSpec(cfg: ExperimentConfig, studyName: string, seedIndex = 0): EnvSpec {
  const study = cfg.studies.find((s) => s.name === studyName);
  const grid = study?.kind === 'grid' ? study : undefined;
  if (!grid?.env && !grid?.varyEnv) return cfg.env;
  if (cfg.env.source !== 'generate')
    throw new GshfInputError(
      `study "${studyName}": env changes need a generated environment (env.source: generate)`,
    );
  return { ...cfg.env, ...grid.env, ...(grid.varyEnv ? { seed: cfg.env.seed + seedIndex } : {}) };
}

/** Environments kept per worker (a study with varyEnv builds one per seed index). */
const ENV_CACHE_SIZE = 16;
const envCache = new Map<string, BanditEnv>();

export function loadEnv(spec: EnvSpec): BanditEnv {
  const k = JSON.stringify(spec);
  let env = envCache.get(k);
  if (!env) {
    env =
      spec.source === 'file'
        ? readEnvFile(spec.path)
        : generateEnv({
            d: spec.d,
            K: spec.K,
            nContexts: spec.nContexts,
            normB: spec.normB,
            refTemperature: spec.refTemperature,
            eta: spec.eta,
            seed: spec.seed,
          });
    if (!env.thetaStar)
      throw new Error(
        'experiments need an environment with theta_star (the ground truth to evaluate against)',
      );
    if (envCache.size >= ENV_CACHE_SIZE) envCache.delete(envCache.keys().next().value as string);
    envCache.set(k, env);
  }
  return env;
}

/** The evaluation fields every job result carries for its output policy (exact, under θ*). */
function policyFields(
  env: BanditEnv,
  policy: Float64Array,
): Pick<JobResult, 'eta' | 'gap' | 'suboptimality' | 'klStarToHat' | 'reward' | 'klToRef'> {
  const g = gapMetric(env, policy);
  return {
    eta: env.eta,
    gap: g.gap,
    suboptimality: g.suboptimality,
    klStarToHat: g.klStarToHat,
    reward: expectedReward(env, policy, trueRewards(env)),
    klToRef: klToRef(env, policy),
  };
}

/** A lab study's job (lab-studies.ts): its arm's policy evaluated like any run, plus its metrics. */
function labJobResult(cfg: ExperimentConfig, job: Job): JobResult {
  const env = loadEnv(cfg.env);
  const out = runLabJob(cfg, job, env);
  return {
    key: job.key,
    study: job.study,
    run: job.run,
    algorithm: out.algorithm,
    setting: 'lab',
    coverage: job.coverage,
    budget: job.budget,
    seedIndex: job.seedIndex,
    ...policyFields(env, out.policy),
    labelsUsed: out.labelsUsed,
    validationLabels: 0,
    seconds: out.seconds,
    metrics: out.metrics,
  };
}

/** Runs one job to completion. Deterministic given (cfg, job). */
export function runJob(cfg: ExperimentConfig, job: Job): JobResult {
  if (cfg.studies.find((s) => s.name === job.study)?.kind === 'lab') return labJobResult(cfg, job);
  const baseEnv = loadEnv(studyEnvSpec(cfg, job.study, job.seedIndex));
  const env: BanditEnv = job.eta === undefined ? baseEnv : { ...baseEnv, eta: job.eta };
  const spec = cfg.algorithms[job.run];
  const algorithm = getAlgorithm(spec.algorithm);
  const thetaStar = env.thetaStar as Float64Array;
  const root = new Rng(cfg.seed);

  // Offline labels for this (coverage, seed): shared across runs and budgets (prefix-consistent).
  const offlineFraction =
    algorithm.setting === 'hybrid' ? (spec.offlineFraction ?? 0.5) : algorithm.setting === 'offline' ? 1 : 0;
  const nOffline = Math.round(job.budget * offlineFraction);
  const dataRng = root.fork(`offline-data/${job.coverage}/${job.seedIndex}`);
  const behaviour = behaviourPolicy(env, job.coverage);
  const offlineOracle = new PreferenceOracle(env, thetaStar, dataRng.fork('labels'), cfg.oracleTemperature);
  const offline =
    nOffline > 0 ? samplePairs(env, behaviour, behaviour, nOffline, offlineOracle, dataRng) : emptyPairs();

  const runRng = root.fork(`run/${job.key}`);
  const oracle =
    algorithm.setting === 'offline'
      ? null
      : new PreferenceOracle(env, thetaStar, runRng.fork('oracle'), cfg.oracleTemperature);
  const options: Record<string, unknown> = { ...spec.options };
  if (algorithm.setting !== 'offline') options.onlineBudget = job.budget - nOffline;

  const trace: { labels: number; gap: number }[] = [];
  const t0 = performance.now();
  const result = algorithm.run(
    {
      env,
      offline,
      oracle,
      rng: runRng.fork('algorithm'),
      onIteration: (it) => trace.push({ labels: it.labels, gap: gapMetric(env, it.policy).gap }),
    },
    options,
  );
  const seconds = (performance.now() - t0) / 1000;
  return {
    key: job.key,
    study: job.study,
    run: job.run,
    algorithm: algorithm.name,
    setting: algorithm.setting,
    coverage: job.coverage,
    budget: job.budget,
    seedIndex: job.seedIndex,
    ...policyFields(env, result.policy),
    labelsUsed: result.labelsUsed,
    validationLabels: result.validationLabels ?? 0,
    seconds,
    ...divergenceFields(cfg, job, env, result),
    ...(trace.length ? { trace } : {}),
    ...(result.diagnostics ? { diagnostics: result.diagnostics } : {}),
  };
}

/** The divergence measurements of a job (see JobResult.own / .divergences); {} for plain runs. */
function divergenceFields(
  cfg: ExperimentConfig,
  job: Job,
  env: BanditEnv,
  result: AlgorithmResult,
): Pick<JobResult, 'own' | 'divergences'> {
  const out: Pick<JobResult, 'own' | 'divergences'> = {};
  if (result.regulariser) {
    const div = getDivergence(result.regulariser.divergence, { alpha: result.regulariser.alpha });
    const g = fGapMetric(env, result.policy, div);
    out.own = { divergence: div.label, toRef: g.divToRef, gap: g.gap };
  }
  const study = cfg.studies.find((s) => s.name === job.study);
  if (study?.kind === 'frontier' && study.divergences?.length) {
    out.divergences = {};
    for (const name of study.divergences)
      out.divergences[name] = fDivergence(env, result.policy, env.refLogprobs, getDivergence(name));
  }
  return out;
}
