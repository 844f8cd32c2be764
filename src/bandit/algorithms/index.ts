/** Registry of every bandit algorithm by name (configs and the CLI refer to them by name). */
import type { BanditAlgorithm } from './types.js';
import { offlineAlgorithms } from './offline.js';
import { onlineAlgorithms } from './online.js';
import { referencePolicy } from './baseline.js';
import { mleF } from './f-regularised.js';

export type AnyAlgorithm = BanditAlgorithm<Record<string, unknown>>;

const registry = new Map<string, AnyAlgorithm>();
for (const a of [
  referencePolicy,
  ...offlineAlgorithms,
  ...onlineAlgorithms,
  mleF,
] as unknown as AnyAlgorithm[])
  registry.set(a.name, a);

export function algorithmNames(): string[] {
  return [...registry.keys()];
}

export function getAlgorithm(name: string): AnyAlgorithm {
  const a = registry.get(name);
  if (!a) throw new Error(`unknown algorithm "${name}" (known: ${algorithmNames().join(', ')})`);
  return a;
}

export type { AlgorithmContext, AlgorithmResult, BanditAlgorithm, IterationRecord } from './types.js';
