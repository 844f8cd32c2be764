/**
 * `gshf bandit run`: expand the config into jobs, run them across worker threads, append each
 * result to metrics.jsonl as it lands (so a killed sweep resumes where it stopped with --resume),
 * then write results.json, report.md and the SVG plots.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RunDir } from '../../report/run-dir.js';
import { TornLineError, readJsonFile } from '../../report/jsonl.js';
import { Progress } from '../../report/progress.js';
import { experimentConfigSchema, type ExperimentConfig } from './config.js';
import { expandJobs, loadEnv, type Job, type JobResult } from './jobs.js';
import { runJobs } from './pool.js';
import { buildReport } from './report.js';
import { getAlgorithm } from '../algorithms/index.js';
import { checkLabStudies } from './lab-studies.js';
import { GshfInputError } from '../../math/errors.js';
import { SHARD_FILE, collectShards, readShard, shardJobs, shardLabel, type Shard } from './shard.js';

export interface RunOptions {
  outDir: string;
  resume?: boolean;
  workers?: number;
  /** The config file, named in validation errors. */
  configPath?: string;
  /** Shown in the report as the command that reproduces it. */
  command?: string;
  log?: (line: string) => void;
  /** Run only this deterministic 1/N of the jobs (no report: combine the shards with mergeShards). */
  shard?: Shard;
}

export interface RunSummary {
  outDir: string;
  results: JobResult[];
  /** null for a shard of a sharded run (its report is written by mergeShards). */
  reportPath: string | null;
  skipped: number;
}

/**
 * Fails early (before the run folder is created) on unknown algorithms and on options an
 * algorithm rejects, exactly as its `run` would. `d` is the environment's feature dimension.
 */
export function checkAlgorithms(cfg: ExperimentConfig, d: number, source?: string): void {
  for (const [key, spec] of Object.entries(cfg.algorithms)) {
    let algorithm;
    try {
      algorithm = getAlgorithm(spec.algorithm);
    } catch (e) {
      throw new GshfInputError((e as Error).message, { file: source, field: `algorithms.${key}.algorithm` });
    }
    // runJob adds the online budget of each job; any value passes the check here.
    const options = algorithm.setting === 'offline' ? spec.options : { ...spec.options, onlineBudget: 1 };
    try {
      algorithm.checkOptions?.(options, d);
    } catch (e) {
      throw new GshfInputError((e as Error).message, { file: source, field: `algorithms.${key}.options` });
    }
  }
}

export async function runExperiment(cfg: ExperimentConfig, opts: RunOptions): Promise<RunSummary> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  // Validate everything before writing anything: a refused run leaves no folder behind.
  let env;
  try {
    env = loadEnv(cfg.env);
  } catch (e) {
    if (!(e instanceof GshfInputError) || cfg.env.source !== 'generate') throw e;
    throw new GshfInputError(`env: ${e.message}`, { file: opts.configPath });
  }
  checkAlgorithms(cfg, env.d, opts.configPath);
  checkLabStudies(cfg, opts.configPath);
  const shard = opts.shard ?? { index: 0, count: 1 };
  const dir = openRunFolder(cfg, opts, shard);
  const jobs = shardJobs(expandJobs(cfg), shard);
  const done = recordedResults(dir, jobs.length, log);
  const todo = jobs.filter((j) => !done.has(j.key));
  log(
    `${todo.length} runs (${cfg.studies.length} studies, ${cfg.seeds} seeds) on ${opts.workers ?? cfg.workers ?? 'all'} workers`,
  );
  const seconds = await runPending(cfg, todo, dir, done, opts.workers);

  const results = jobs.map((j) => done.get(j.key)).filter((r): r is JobResult => r !== undefined);
  // Wall time of this invocation (a resumed run reports only the resumed part), kept for rebuilds.
  const command = opts.command ?? `gshf bandit run <config> --out ${opts.outDir}`;
  dir.writeAtomic(
    'run-info.json',
    JSON.stringify({
      wallSeconds: seconds,
      runs: results.length,
      resumedFrom: jobs.length - todo.length,
      command,
    }) + '\n',
  );
  if (shard.count > 1) {
    dir.writeAtomic('results.json', JSON.stringify(results, null, 1) + '\n');
    return { outDir: opts.outDir, results, reportPath: null, skipped: jobs.length - todo.length };
  }
  const reportPath = writeReport(dir, cfg, results, { command, seconds });
  return { outDir: opts.outDir, results, reportPath, skipped: jobs.length - todo.length };
}

/** Locks the run folder, checks a resume matches the saved config (or that a fresh run has an empty folder), writes config.json. */
function openRunFolder(cfg: ExperimentConfig, opts: RunOptions, shard: Shard): RunDir {
  const dir = new RunDir(opts.outDir);
  const configPath = outDirConfig(opts.outDir);
  if (opts.resume && existsSync(configPath)) {
    const saved = readSavedConfig(configPath);
    if (JSON.stringify(saved) !== JSON.stringify(cfg))
      throw new GshfInputError(
        `${configPath}: --resume with a different config than the one this run folder was started with`,
      );
  } else if (!opts.resume && existsSync(dir.metricsPath)) {
    throw new GshfInputError(
      `${opts.outDir} already holds a run: pass --resume to continue it, or choose another --out`,
    );
  }
  checkShardFolder(opts.outDir, shard, opts.resume === true);
  dir.writeConfig(cfg);
  if (shard.count > 1) dir.writeAtomic(SHARD_FILE, JSON.stringify(shard) + '\n');
  else rmSync(join(opts.outDir, SHARD_FILE), { force: true });
  return dir;
}

/** Results already in metrics.jsonl by job key; a torn last line is truncated, and we say so. */
function recordedResults(dir: RunDir, nJobs: number, log: (l: string) => void): Map<string, JobResult> {
  const done = new Map<string, JobResult>();
  const metrics = dir.readMetrics({ repair: true });
  if (metrics.repaired)
    log(
      `${dir.metricsPath}:${metrics.repaired.line}: removed an incomplete last line (${metrics.repaired.bytesDropped} bytes, a write cut short by a crash); that run is redone`,
    );
  for (const m of metrics.records) if (typeof m.key === 'string') done.set(m.key, m as unknown as JobResult);
  if (done.size) log(`resuming: ${done.size} of ${nJobs} runs already in ${dir.metricsPath}`);
  return done;
}

/** Runs the pending jobs on the pool, appending each result as it lands; returns wall seconds. */
async function runPending(
  cfg: ExperimentConfig,
  todo: Job[],
  dir: RunDir,
  done: Map<string, JobResult>,
  workers: number | undefined,
): Promise<number> {
  const t0 = performance.now();
  const progress = new Progress('bandit run', todo.length);
  await runJobs(
    cfg,
    todo,
    (r) => {
      dir.appendMetric(r as unknown as Record<string, unknown>);
      done.set(r.key, r);
      progress.tick(1, r.key);
    },
    workers ?? cfg.workers,
  );
  progress.finish();
  return (performance.now() - t0) / 1000;
}

function outDirConfig(outDir: string): string {
  return join(outDir, 'config.json');
}

/** A run folder's config.json, validated; errors name the file (and field). */
function readSavedConfig(configPath: string): ExperimentConfig {
  const r = experimentConfigSchema.safeParse(readJsonFile(configPath));
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new GshfInputError(`not a valid bandit run config: ${issue.message}`, {
      file: configPath,
      field: issue.path.map(String).join('.'),
    });
  }
  return r.data;
}

/** A resumed folder must hold the same shard; a fresh one must not be some other shard's folder. */
function checkShardFolder(outDir: string, shard: Shard, resume: boolean): void {
  if (!resume || !existsSync(join(outDir, 'config.json'))) return;
  const saved = readShard(outDir);
  if (saved.index !== shard.index || saved.count !== shard.count)
    throw new GshfInputError(
      `${outDir}: --resume as shard ${shardLabel(shard)}, but this folder holds shard ${shardLabel(saved)}`,
    );
}

/**
 * Combines the folders of a sharded run (`gshf bandit run --shard i/N`) into one run folder with
 * the metrics.jsonl, results.json and report a single-machine run writes (jobs in the same order,
 * identical numbers; per-job `seconds` and the wall time are the shards' own). Everything is
 * checked before outDir is touched.
 */
export function mergeShards(outDir: string, shardDirs: string[], command: string): RunSummary {
  const merged = collectShards(shardDirs);
  if (existsSync(join(outDir, 'metrics.jsonl')))
    throw new GshfInputError(`${outDir} already holds a run: choose another output folder`);
  const dir = new RunDir(outDir);
  dir.writeConfig(merged.cfg);
  dir.writeAtomic('metrics.jsonl', merged.results.map((r) => JSON.stringify(r) + '\n').join(''));
  dir.writeAtomic(
    'run-info.json',
    JSON.stringify({
      wallSeconds: merged.wallSeconds,
      runs: merged.results.length,
      resumedFrom: 0,
      command,
      mergedFrom: shardDirs,
    }) + '\n',
  );
  const reportPath = writeReport(dir, merged.cfg, merged.results, {
    command,
    seconds: merged.wallSeconds,
  });
  return { outDir, results: merged.results, reportPath, skipped: 0 };
}

function envSummary(cfg: ExperimentConfig): string {
  const env = loadEnv(cfg.env);
  return cfg.env.source === 'generate'
    ? `generated, d=${env.d}, K=${cfg.env.K}, ${env.nContexts} contexts, ‖θ*‖=${cfg.env.normB}, π0 temperature ${cfg.env.refTemperature}, η=${env.eta}`
    : `${cfg.env.path}: d=${env.d}, ${env.nContexts} contexts, η=${env.eta}`;
}

/** Writes results.json, the SVG plots and report.md into the run folder; returns the report's path. */
export function writeReport(
  dir: RunDir,
  cfg: ExperimentConfig,
  results: JobResult[],
  meta: { command: string; seconds: number },
): string {
  dir.writeAtomic('results.json', JSON.stringify(results, null, 1) + '\n');
  const report = buildReport(cfg, results, { ...meta, envSummary: envSummary(cfg) });
  for (const s of report.svgs) dir.writeAtomic(s.name, s.content);
  return dir.writeAtomic('report.md', report.markdown + '\n');
}

/** Rebuilds the report of an existing run folder from its config.json and metrics.jsonl (and run-info.json). */
export function rebuildReport(
  outDir: string,
  command: string,
  log: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): string {
  const configPath = outDirConfig(outDir);
  if (!existsSync(configPath))
    throw new GshfInputError(`${outDir}: no config.json (not a bandit run folder)`);
  const shard = readShard(outDir);
  if (shard.count > 1)
    throw new GshfInputError(
      `${outDir}: holds shard ${shardLabel(shard)} of a sharded run; combine all shards with \`gshf bandit merge\``,
    );
  const cfg = readSavedConfig(configPath);
  const dir = new RunDir(outDir);
  const byKey = new Map<string, JobResult>();
  let metrics;
  try {
    metrics = dir.readMetrics();
  } catch (e) {
    if (e instanceof TornLineError)
      throw new TornLineError(
        e.file,
        e.line,
        e.bytes,
        `resume the run (gshf bandit run <config> --out ${outDir} --resume) to remove it and redo that run`,
      );
    throw e;
  }
  for (const m of metrics.records) if (typeof m.key === 'string') byKey.set(m.key, m as unknown as JobResult);
  const jobs = expandJobs(cfg);
  const results = jobs.map((j) => byKey.get(j.key)).filter((r): r is JobResult => r !== undefined);
  if (results.length < jobs.length)
    log(
      `${dir.metricsPath}: ${results.length} of ${jobs.length} runs recorded (${jobs.length - results.length} missing: the run did not finish); the report covers only these — resume the run to complete it`,
    );
  const infoPath = join(outDir, 'run-info.json');
  const info = existsSync(infoPath)
    ? (readJsonFile(infoPath) as { wallSeconds?: number; command?: string })
    : {};
  const seconds = info.wallSeconds ?? results.reduce((a, r) => a + r.seconds, 0);
  return writeReport(dir, cfg, results, { command: info.command ?? command, seconds });
}
