/**
 * Public API of the iterate layer: one iteration of online GSHF and the interfaces it is
 * parameterised by (label source, policy backend, reward scorer, enhancer, ledger, step store).
 */
export * from './labels.js';
export * from './policy.js';
export * from './iteration.js';
