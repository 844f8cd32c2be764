/** The bandit lab's core: environments, files, exact policy quantities, oracle, MLE, uncertainty. */
export * from './env.js';
export * from './files.js';
export * from './generate.js';
export * from './policy.js';
export * from './oracle.js';
export * from './mle.js';
export * from './uncertainty.js';
export * from './evaluate.js';
export * from './multi/index.js';
export * from '../math/special.js';
export * from '../math/linalg.js';
export * from '../math/stats.js';
// The algorithm registry and the experiment runner (`gshf/bandit`; also re-exported by `gshf`).
export { algorithmNames, getAlgorithm } from './algorithms/index.js';
export type {
  AnyAlgorithm,
  AlgorithmContext,
  AlgorithmResult,
  BanditAlgorithm,
  IterationRecord,
} from './algorithms/index.js';
export { runExperiment, checkAlgorithms, writeReport } from './experiment/run.js';
export type { RunOptions, RunSummary } from './experiment/run.js';
export { experimentConfigSchema } from './experiment/config.js';
export type { ExperimentConfig, EnvSpec, AlgorithmSpec, StudySpec, ClaimSpec } from './experiment/config.js';
export { expandJobs, runJob, loadEnv } from './experiment/jobs.js';
export { registerLabStudy, getLabStudy, labStudyNames } from './experiment/lab-studies.js';
export type { LabStudy, LabStudyContext, LabArmResult, LabMetric } from './experiment/lab-study-types.js';
export type { Job, JobResult } from './experiment/jobs.js';
