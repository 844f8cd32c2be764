/** The policy-backend contract lives in src/iterate (below every layer that samples or trains); re-exported here. */
export * from '../iterate/policy.js';
