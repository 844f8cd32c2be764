/** Public API of the feedback layer: the async label-source contract (src/iterate/labels.ts). */
export * from './types.js';
export { AsyncLabelLedger } from './ledger.js';
export type { AsyncLedgerOptions } from './ledger.js';
export { labelSourceSchema, createLabelSource, isFreeSource, LABEL_SOURCE_KINDS } from './registry.js';
export type { LabelSourceConfig, LabelSourceKind, SourceContext } from './registry.js';
export { CommandLabelSource, commandSourceSchema } from './command.js';
export { fromSyncSource, oracleSource, rewardModelSource } from './sync.js';
export { HumanLabelSource, HumanSourceOptions } from './human.js';
export type { HumanSourceDeps } from './human.js';
export { JudgeSource, judgeSourceSchema } from './judge.js';
export type { JudgeSourceConfig, JudgeSourceInput } from './judge.js';
export { HttpRmSource, httpRmSourceSchema } from './http-rm.js';
export type { HttpRmSourceConfig, HttpRmSourceInput } from './http-rm.js';
