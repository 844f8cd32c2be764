/**
 * Public API of the preference-learning layer (see src/pref/README.md): data formats, gold reward
 * and oracle, label ledger, prompt splits, evaluation metrics, DPO-family losses and trainer, reward
 * models, sampling helpers, and the reproduce pipeline with its config and report.
 */
export * from './types.js';
export * from './data.js';
export * from './layouts.js';
export * from './gold.js';
export * from './labels.js';
export * from './prompts.js';
export * from './eval.js';
export * from './losses.js';
export * from './reward-model.js';
export * from './dpo.js';
export * from './sampling.js';
export * from './pipeline-config.js';
export { reproduce, rebuildReport, generatedPrompts, promptPool, plannedStages } from './reproduce.js';
export type { ReproduceOptions, ReproduceResults, ReproduceSummary, Pi0Result } from './reproduce.js';
export { buildReport, finalRows, CLAIMS } from './report.js';
export type { ClaimVerdict, PrefReport, Verdict } from './report.js';
export { onlineVariants, runOnline, selectedRow } from './methods/iterative.js';
export type {
  OnlineVariant,
  OnlineOutcome,
  SelectionResult,
  Schedule,
  Enhancer,
} from './methods/iterative.js';
export {
  runPool,
  runRmSeed,
  runRmFull,
  runOfflineDpo,
  runRso,
  runMultiStepRso,
  multiStepEtas,
} from './methods/offline.js';
export type { PoolResult } from './methods/offline.js';
export type {
  Ctx,
  Resp,
  StoredPair,
  PolicyResult,
  EvalRow,
  ValidationScore,
  DpoSummary,
  RmStageResult,
} from './methods/common.js';
