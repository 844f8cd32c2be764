/** Shared fixtures of the loop tests: a tiny untrained π0 checkpoint, a prompts file, a config. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { LoopMetrics } from '../../src/loop/run-folder.js';
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

/** A free loopback TCP port. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** Polls `url` (POSTing `body` if given) until it answers 2xx; throws after ~20 s. */
export async function waitFor(url: string, body?: unknown): Promise<void> {
  for (let i = 0; i < 400; i++) {
    try {
      const r = await fetch(
        url,
        body
          ? { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
          : {},
      );
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not come up`);
}

/** A loop run's metrics.jsonl rows without wall-clock fields and with run-relative policy paths. */
export const loopRows = (out: string) =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as LoopMetrics)
    .map((r) => ({ ...r, timing: undefined, policy: r.policy.replace(/^.*\/iterations\//, '') }));

/** A loop run's label ledger (labels.jsonl). */
export const ledgerRows = (out: string) =>
  readFileSync(join(out, 'labels.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; prompt: string; a: string; b: string; verdict: string });
