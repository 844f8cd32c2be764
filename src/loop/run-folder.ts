/**
 * The loop's run folder: one metrics row per iteration, the iteration folders, and the eval samples re-scored under the final reward model. Shared by the driver and the report.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IterationResult, IterationStep, Numbers } from '../iterate/iteration.js';
import type { PolicyRef } from '../iterate/policy.js';
import { linearReward, type LinearRmState } from './linear-rm.js';

/** One metrics row (metrics.jsonl). `timing` is wall-clock and the only non-deterministic field. */
export interface LoopMetrics {
  iteration: number;
  policy: PolicyRef;
  labels_used: number;
  budget: number;
  selection: IterationResult['selection'] | null;
  rm_sample_mean: number | null;
  rm_best_of_n: number | null;
  train: Numbers | null;
  refit: Numbers | null;
  eval: Numbers;
  budget_reached: boolean;
  timing: Partial<Record<IterationStep | 'total' | 'overhead', number>>;
}

/** Reads a JSON file this run folder wrote (trusted: no schema). */
export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export function iterDir(out: string, t: number): string {
  return join(out, 'iterations', `it${t}`);
}

/** The eval samples of every iteration re-scored under the final reward model (for the report). */
export function finalRmRewards(out: string, rows: readonly LoopMetrics[]): (number | null)[] {
  const last = rows[rows.length - 1];
  const rmPath = join(iterDir(out, last.iteration), 'rm.json');
  if (!existsSync(rmPath)) return rows.map(() => null);
  const reward = linearReward(readJson<LinearRmState>(rmPath));
  return rows.map((r) => {
    const p = join(iterDir(out, r.iteration), 'eval-samples.json');
    if (!existsSync(p)) return null;
    const { texts } = readJson<{ texts: string[] }>(p);
    return texts.length ? texts.reduce((a, t) => a + reward(t), 0) / texts.length : null;
  });
}
