/**
 * The offline algorithms of the bandit lab (paper §2.1 and the DPO/RSO baselines), for the
 * registry in ./index.ts. Each consumes only the offline pairs (never the oracle) and reports
 * labelsUsed = number of offline pairs. Documentation: docs/bandit-algorithms-offline.md.
 */
import { mleGibbs } from './offline-mle.js';
import { gshfOfflineOption1, gshfOfflineOption2 } from './offline-pessimism.js';
import { dpo } from './dpo.js';
import { rso, rsoMultistep } from './rso.js';

export { mleGibbs, defaultMleGibbsOptions, type MleGibbsOptions } from './offline-mle.js';
export {
  gshfOfflineOption1,
  gshfOfflineOption2,
  defaultOption1Options,
  defaultOption2Options,
  defaultPessimismOptions,
  solveExpectedPessimism,
  pointwisePessimisticRewards,
  type Option1Options,
  type Option2Options,
  type PessimismOptions,
  type ExpectedPessimismSolution,
} from './offline-pessimism.js';
export {
  dpo,
  defaultDpoOptions,
  trainDpoTabular,
  trainDpoLinear,
  dpoTabularLoss,
  dpoLinearLoss,
  type DpoOptions,
  type TrainDpoTabularOptions,
  type TrainDpoTabularResult,
} from './dpo.js';
export {
  rso,
  rsoMultistep,
  defaultRsoOptions,
  defaultRsoMultistepOptions,
  rejectionSample,
  pairsFromSamples,
  multistepEtas,
  type RsoOptions,
  type RsoMultistepOptions,
  type RejectionSampleOptions,
  type RejectionSampleResult,
} from './rso.js';
export { theoryBeta, referenceFeatures, fitThetaMle, type Reference } from './offline-common.js';

export type OfflineAlgorithm =
  | typeof mleGibbs
  | typeof gshfOfflineOption1
  | typeof gshfOfflineOption2
  | typeof dpo
  | typeof rso
  | typeof rsoMultistep;

export const offlineAlgorithms: readonly OfflineAlgorithm[] = [
  mleGibbs,
  gshfOfflineOption1,
  gshfOfflineOption2,
  dpo,
  rso,
  rsoMultistep,
];
