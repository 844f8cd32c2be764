/**
 * `import … from 'gshf'`: the main public API. The most used names of each layer are exported flat;
 * every layer is also available whole as a namespace here (`bandit`, `nn`, `pref`, …) and as a
 * subpath (`gshf/bandit`, `gshf/nn`, `gshf/pref`, `gshf/math`, `gshf/report`, `gshf/feedback`).
 * Layers: docs/ARCHITECTURE.md.
 */
export * as math from './math/index.js';
export * as bandit from './bandit/index.js';
export * as nn from './nn/index.js';
export * as pref from './pref/index.js';
export * as report from './report/index.js';
export * as feedback from './feedback/index.js';
export * as policy from './policy/index.js';
export * as iterate from './iterate/index.js';
export * as loop from './loop/index.js';

// math
export { Rng, hashString } from './math/rng.js';

// the kernel registry: one switch forcing the TypeScript kernels everywhere (LM engine and bandit lab)
export { setBackend, withBackend, kernelBackendName, traceKernels } from './native/index.js';
export type { KernelBackend, KernelBackendChoice } from './native/index.js';
export type { Seed } from './math/rng.js';

// bandit lab: environments, the algorithm registry, the experiment runner
export {
  algorithmNames,
  getAlgorithm,
  runExperiment,
  experimentConfigSchema,
  loadEnv,
  validateEnv,
  gibbs,
  rewardsOf,
} from './bandit/index.js';
export type {
  AnyAlgorithm,
  BanditAlgorithm,
  AlgorithmContext,
  AlgorithmResult,
  BanditEnv,
  PairData,
  ExperimentConfig,
  RunOptions,
  RunSummary,
} from './bandit/index.js';

// LM engine
export {
  GPT,
  ByteTokenizer,
  BPETokenizer,
  loadTokenizer,
  PRESETS,
  loadCheckpoint,
  saveCheckpoint,
  trainSft,
  sampleText,
  scoreLogProbs,
} from './nn/index.js';
export type { GPTConfig, Tokenizer, TokenizerSpec } from './nn/index.js';

// preference learning: data in/out, losses, DPO, reward models
export {
  readPreferenceFile,
  parsePreferenceRows,
  readPromptFile,
  writeTrlJsonl,
  preferenceLoss,
  LOSS_TYPES,
  trainDpo,
  referenceLogProbs,
  RewardModel,
  RewardEnsemble,
  trainRewardModel,
  trainRewardEnsemble,
  goldReward,
} from './pref/index.js';
export type { PreferencePair, ScoredPair, LossType, PairLayout } from './pref/index.js';

// feedback
export type { AsyncLabelSource, LabelQuery, LabelAnswer } from './feedback/index.js';
