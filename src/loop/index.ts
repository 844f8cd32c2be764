/** Public API of the loop layer: the shared iteration, enhancers, the linear RM and `gshf loop`'s driver. */
export * from '../iterate/iteration.js';
export { makeEnhancer, randomPair, ENHANCERS } from './enhancers.js';
export type { EnhancerName } from './enhancers.js';
export {
  textFeatures,
  fitLinearRm,
  linearReward,
  linearScorer,
  emptyLinearRm,
  linearRmSchema,
} from './linear-rm.js';
export type { LinearRmState, LinearRmConfig } from './linear-rm.js';
export { loopConfigSchema, resolveConfigPaths, pickLabelSource } from './config.js';
export type { LoopConfig } from './config.js';
export { runLoop, planPrompts } from './driver.js';
export type { LoopOptions, LoopSummary } from './driver.js';
export type { LoopMetrics } from './run-folder.js';
