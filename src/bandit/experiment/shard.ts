/**
 * Scale-out without a scheduler of ours: `gshf bandit run --shard i/N` runs a deterministic 1/N of
 * a sweep's jobs into its own folder, and `mergeShards` combines the N folders into one run folder
 * whose metrics, results.json and report equal those of a single-machine run (only wall-clock
 * fields differ). This works because a job is a pure function of (config, job): the shard a job
 * lands in cannot change its numbers.
 *
 * Assignment: job j of the expanded job list (expandJobs order) belongs to shard j mod N. Adjacent
 * jobs differ mostly by seed, so every shard gets a similar mix of cheap and costly cells.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile, readJsonl } from '../../report/jsonl.js';
import { experimentConfigSchema, type ExperimentConfig } from './config.js';
import { expandJobs, type Job, type JobResult } from './jobs.js';

export interface Shard {
  /** 0-based: 0 ≤ index < count (Slurm `--array=0-(N-1)`, Kubernetes JOB_COMPLETION_INDEX). */
  index: number;
  count: number;
}

/** The file a sharded run folder carries beside config.json. */
export const SHARD_FILE = 'shard.json';

/** Parses "i/N" (0-based i); the error names the flag and the value. */
export function parseShard(text: string, flag = '--shard'): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new Error(`${flag}: expected i/N (0-based shard i of N, e.g. 0/4), got "${text}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count) throw new Error(`${flag}: expected 0 ≤ i < N in i/N, got "${text}"`);
  return { index, count };
}

/** The jobs of one shard, in expandJobs order. */
export function shardJobs(jobs: Job[], shard: Shard | undefined): Job[] {
  if (!shard || shard.count === 1) return jobs;
  return jobs.filter((_, j) => j % shard.count === shard.index);
}

/** The shard a run folder holds: its shard.json, or 0/1 for an ordinary (unsharded) run folder. */
export function readShard(dir: string): Shard {
  const p = join(dir, SHARD_FILE);
  if (!existsSync(p)) return { index: 0, count: 1 };
  const o = readJsonFile(p) as Partial<Shard> | null;
  const ok =
    o !== null &&
    typeof o === 'object' &&
    Number.isInteger(o.index) &&
    Number.isInteger(o.count) &&
    (o.count as number) >= 1 &&
    (o.index as number) >= 0 &&
    (o.index as number) < (o.count as number);
  if (!ok) throw new Error(`${p}: expected {"index": i, "count": N} with 0 ≤ i < N`);
  return { index: o.index as number, count: o.count as number };
}

export function shardLabel(s: Shard): string {
  return `${s.index}/${s.count}`;
}

interface ShardFolder {
  dir: string;
  shard: Shard;
  configText: string;
  results: Map<string, JobResult>;
  wallSeconds: number | undefined;
}

function readFolder(dir: string): ShardFolder & { cfg: ExperimentConfig } {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new Error(`${dir}: no config.json (not a bandit run folder)`);
  const parsed = experimentConfigSchema.safeParse(readJsonFile(configPath));
  if (!parsed.success) throw new Error(`${configPath}: not a bandit experiment config`);
  const results = new Map<string, JobResult>();
  // Read without taking the folder's lock; a torn last line (a shard cut short) is refused.
  const metricsPath = join(dir, 'metrics.jsonl');
  for (const { line, value } of readJsonl(metricsPath, { missingOk: true }).records) {
    const key = (value as { key?: unknown } | null)?.key;
    if (typeof key !== 'string')
      throw new Error(`${metricsPath}:${line}: expected a run record with a "key"`);
    results.set(key, value as JobResult);
  }
  const infoPath = join(dir, 'run-info.json');
  let wallSeconds: number | undefined;
  if (existsSync(infoPath)) {
    const info = readJsonFile(infoPath) as { wallSeconds?: unknown } | null;
    if (typeof info?.wallSeconds === 'number') wallSeconds = info.wallSeconds;
  }
  return {
    dir,
    shard: readShard(dir),
    cfg: parsed.data,
    configText: JSON.stringify(parsed.data),
    results,
    wallSeconds,
  };
}

export interface MergedShards {
  cfg: ExperimentConfig;
  /** All jobs' results in expandJobs order: what a single-machine run records. */
  results: JobResult[];
  /** Wall time of the slowest shard (the sweep's wall time when shards run side by side). */
  wallSeconds: number;
}

/**
 * Reads N shard folders and checks, before anything is written, that they share one config, that
 * their shards are exactly 0..N−1 of one N with no repeats, and that each holds all of its jobs.
 * Every error names the offending folder.
 */
export function collectShards(dirs: string[]): MergedShards {
  if (dirs.length === 0) throw new Error('merge: give at least one shard folder');
  const folders = dirs.map(readFolder);
  const first = folders[0];
  for (const f of folders.slice(1)) {
    if (f.configText !== first.configText)
      throw new Error(
        `${f.dir}: its config.json differs from ${first.dir}'s (shards of different sweeps cannot be merged)`,
      );
    if (f.shard.count !== first.shard.count)
      throw new Error(
        `${f.dir}: shard ${shardLabel(f.shard)}, but ${first.dir} is shard ${shardLabel(first.shard)} (different N)`,
      );
  }
  const N = first.shard.count;
  const byIndex = new Map<number, string>();
  for (const f of folders) {
    const other = byIndex.get(f.shard.index);
    if (other !== undefined)
      throw new Error(`${f.dir}: shard ${shardLabel(f.shard)} is also in ${other} (overlapping shards)`);
    byIndex.set(f.shard.index, f.dir);
  }
  const missing = Array.from({ length: N }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length)
    throw new Error(
      `merge: shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${N}`).join(', ')} missing`,
    );

  const cfg = first.cfg;
  const all = expandJobs(cfg);
  const results: JobResult[] = [];
  for (const f of folders) {
    const mine = shardJobs(all, f.shard);
    const want = new Set(mine.map((j) => j.key));
    for (const key of f.results.keys())
      if (!want.has(key))
        throw new Error(`${f.dir}: holds job "${key}", which is not in shard ${shardLabel(f.shard)}`);
    const absent = mine.filter((j) => !f.results.has(j.key));
    if (absent.length)
      throw new Error(
        `${f.dir}: shard ${shardLabel(f.shard)} is incomplete (${absent.length} of ${mine.length} jobs missing, ` +
          `first "${absent[0].key}"); finish it with --resume`,
      );
  }
  const byKey = new Map<string, JobResult>();
  for (const f of folders) for (const [k, r] of f.results) byKey.set(k, r);
  for (const j of all) results.push(byKey.get(j.key) as JobResult);
  const wallSeconds = Math.max(...folders.map((f) => f.wallSeconds ?? 0));
  return { cfg, results, wallSeconds };
}
