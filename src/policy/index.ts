/** Public API of the policy layer: the backend interface, the local engine, the external trainer. */
export * from './types.js';
export { LocalPolicy, localPolicySchema } from './local.js';
export type { LocalPolicyConfig, LocalSample } from './local.js';
export { TrainerPolicy, trainerSchema, renderTemplate } from './trainer.js';
export type { Generator, TrainerConfig } from './trainer.js';
export { policySchema, createPolicyBackend, POLICY_KINDS } from './registry.js';
export type { PolicyConfig } from './registry.js';
