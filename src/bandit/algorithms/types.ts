/**
 * The common shape of every bandit algorithm (offline, online, hybrid), so that the experiment
 * runner can sweep them uniformly. An algorithm sees only what a learner would: the environment's
 * features, π0 and η (never θ*), offline pairs, and — for online ones — a label-counting oracle.
 */
import type { BanditEnv, PairData } from '../env.js';
import type { PreferenceOracle } from '../oracle.js';
import type { Rng } from '../../math/rng.js';
import type { DivergenceName } from '../divergences/registry.js';

export interface AlgorithmContext {
  env: BanditEnv;
  /** Offline preference data (empty for purely online runs). */
  offline: PairData;
  /** Oracle for online queries; every call counts one label. Offline algorithms must not call it. */
  oracle: PreferenceOracle | null;
  rng: Rng;
  /** Optional hook: called once per online iteration with the current main agent (for traces). */
  onIteration?: (it: IterationRecord) => void;
}

export interface IterationRecord {
  iteration: number;
  /** Total labels used so far (offline + online). */
  labels: number;
  /** Main agent after this iteration (log-probs, flat layout). */
  policy: Float64Array;
  /** Validation score used for model selection (higher is better), if computed. */
  validationScore?: number;
  diagnostics?: Record<string, number>;
}

export interface AlgorithmResult {
  /** The algorithm's output policy (log-probs, flat layout). */
  policy: Float64Array;
  /** Preference labels consumed: offline pairs + online oracle queries (validation queries excluded). */
  labelsUsed: number;
  /** Oracle queries spent on model selection only (reported separately). */
  validationLabels?: number;
  /** The reward parameter the policy was derived from, when there is one. */
  thetaHat?: Float64Array;
  /** Per-iteration trace for online/hybrid/multi-step algorithms. */
  iterations?: IterationRecord[];
  /** Named scalars worth logging (e.g. β used, enhancer KL, constraint slack). */
  diagnostics?: Record<string, number>;
  /**
   * The regulariser when it is not the paper's reverse KL (src/bandit/divergences): the runner then
   * also reports D_f(π̂‖π0) and the gap under f.
   */
  regulariser?: { divergence: DivergenceName; alpha?: number };
}

export interface BanditAlgorithm<Options> {
  /** Stable identifier used in configs and reports, e.g. "gshf-offline-option2". */
  readonly name: string;
  readonly setting: 'offline' | 'online' | 'hybrid';
  /** One-paragraph description for reports and --help. */
  readonly description: string;
  run(ctx: AlgorithmContext, options: Options): AlgorithmResult;
  /**
   * Validates options exactly as `run` would, without running (so a sweep fails before it writes
   * anything). `d` is the environment's feature dimension. Throws with the algorithm's name.
   */
  checkOptions?(options: Options, d: number): void;
}
