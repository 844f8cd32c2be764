/** Public API of the feedback layer: the async label-source contract (src/feedback/types.ts). */
export * from './types.js';
