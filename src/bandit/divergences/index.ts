/** f-divergence regularisation of the bandit lab: the divergence registry and the exact f-optimum. */
export * from './registry.js';
export * from './optimum.js';
