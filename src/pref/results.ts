/**
 * What `gshf lm reproduce` hands its report: the numbers of every stage of one run (results.json).
 * Apart from reproduce.ts so the report reads them without importing the pipeline that makes them.
 */
import type { PolicyResult, RmStageResult } from './methods/common.js';
import type { PoolResult } from './methods/offline.js';
import type { SelectionResult } from './methods/iterative.js';

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
  /** Vocabulary sizes: the linear RM's words, and every word of the SFT corpus. */
  vocab?: { rm: number; corpus: number };
}
