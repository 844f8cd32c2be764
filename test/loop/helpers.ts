/** Shared fixtures of the loop tests: a tiny untrained π0 checkpoint, a prompts file, a config. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ByteTokenizer, GPT, saveCheckpoint } from '../../src/nn/index.js';

/** A 2-layer, 16-wide byte-level GPT (untrained, seeded): sampling and DPO take milliseconds. */
export function tinyPi0(dir: string): string {
  const path = join(dir, 'pi0');
  const model = new GPT({ vocabSize: 259, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 16 }, 7);
  saveCheckpoint(path, model, new ByteTokenizer(), { note: 'test π0' });
  return path;
}

export const PROMPTS = [
  'The service was',
  'I found the food',
  'Overall the hotel',
  'The battery life is',
  'My order arrived',
  'This movie felt',
  'The staff were',
  'The screen looks',
];

export function promptsFile(dir: string, prompts: readonly string[] = PROMPTS): string {
  const path = join(dir, 'prompts.jsonl');
  writeFileSync(path, prompts.map((p) => JSON.stringify({ prompt: p }) + '\n').join(''));
  return path;
}

/** A local + oracle loop config (JSON) in `dir`; `over` replaces top-level keys. */
export function loopConfig(dir: string, over: Record<string, unknown> = {}): string {
  mkdirSync(dir, { recursive: true });
  const cfg = {
    seed: 3,
    prompts: { path: promptsFile(dir), perIteration: 4, eval: 2 },
    iterations: 2,
    n: 3,
    budget: 100,
    labels: { kind: 'oracle' },
    ledger: { fsync: false },
    policy: {
      kind: 'local',
      model: tinyPi0(dir),
      sampling: { temperature: 1, maxTokens: 8 },
      dpo: { eta: 0.1, epochs: 1, batch: 4, lr: 0.001 },
    },
    rewardModel: { kind: 'linear', dim: 16, lambda: 1 },
    eval: { samplesPerPrompt: 2 },
    ...over,
  };
  const path = join(dir, 'loop.json');
  writeFileSync(path, JSON.stringify(cfg, null, 2));
  return path;
}
