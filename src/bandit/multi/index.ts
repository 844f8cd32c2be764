/** Multi-objective rewards, constrained / lexicographic optima, rankings, ties and annotators (docs/bandit-multi-*.md). */
export * from './objectives.js';
export * from './pareto.js';
export * from './rankings.js';
export * from './ties.js';
export * from './annotators.js';
export * from './agreement.js';
export * from './online.js';
export * from './newton.js';
export { drawDistinctPairs, concatColumns } from './pairs.js';
export { multiLabStudies } from './studies.js';
