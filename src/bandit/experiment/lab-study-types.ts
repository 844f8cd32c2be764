/**
 * The interface a lab study implements (see lab-studies.ts for how `gshf bandit run` uses it).
 * Types only, so study implementations can import it without importing the registry.
 */
import type { z } from 'zod';
import type { Rng } from '../../math/rng.js';
import type { BanditEnv } from '../env.js';

export interface LabStudyContext<O> {
  env: BanditEnv;
  options: O;
  /** Shared by every arm of this seed: draw the data here first so arms are paired. */
  dataRng: Rng;
  /** This arm's own stream. */
  armRng: Rng;
  seedIndex: number;
  /** The config's BT oracle temperature. */
  oracleTemperature: number;
}

export interface LabArmResult {
  /** The arm's output policy (log-probabilities, flat layout). */
  policy: Float64Array;
  /** Annotation effort spent, in pairwise-label units (a study defines what a ranking or tie costs). */
  labelsUsed: number;
  /** The study's metrics for this arm (every name of `LabStudy.metrics`). */
  metrics: Record<string, number>;
}

export interface LabMetric {
  name: string;
  /** True when a smaller value is better (claims orient their differences with it). */
  lowerIsBetter: boolean;
  description: string;
}

export interface LabStudy<O = unknown> {
  readonly name: string;
  readonly description: string;
  readonly options: z.ZodType<O>;
  arms(options: O): string[];
  readonly metrics: readonly LabMetric[];
  runArm(ctx: LabStudyContext<O>, arm: string): LabArmResult;
}
