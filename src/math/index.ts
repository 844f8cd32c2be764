/** Public API of the numerics layer: seeded RNG, special functions, small dense linear algebra, statistics. */
export * from './rng.js';
export * from './special.js';
export * from './linalg.js';
export * from './stats.js';
