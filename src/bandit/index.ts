/** The bandit lab's core: environments, files, exact policy quantities, oracle, MLE, uncertainty. */
export * from './env.js';
export * from './files.js';
export * from './generate.js';
export * from './policy.js';
export * from './oracle.js';
export * from './mle.js';
export * from './uncertainty.js';
export * from './evaluate.js';
export * from '../math/special.js';
export * from '../math/linalg.js';
export * from '../math/stats.js';
