/**
 * Public API of the preference-learning layer (see src/pref/README.md).
 */
export * from './types.js';
export * from './pipeline-config.js';
export { reproduce, rebuildReport, generatedPrompts, promptPool, plannedStages } from './reproduce.js';
export type { ReproduceOptions, ReproduceResults, ReproduceSummary, Pi0Result } from './reproduce.js';
export { buildReport, finalRows, CLAIMS } from './report.js';
export type { ClaimVerdict, PrefReport, Verdict } from './report.js';
