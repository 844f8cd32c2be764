/** The label-source contract lives in src/iterate (below every layer that labels); re-exported here. */
export * from '../iterate/labels.js';
