/**
 * Built-in label sources that answer at once: the gold Bradley–Terry oracle (src/pref/gold.ts, the
 * simulated human of the miniature) and a local reward-model checkpoint. Both are synchronous
 * `LabelSource`s of the preference layer seen through the async interface.
 */
import { z } from 'zod';
import { GoldOracle } from '../pref/gold.js';
import { RewardModelLabelSource } from '../pref/labels.js';
import { RewardModel } from '../pref/reward-model.js';
import type { LabelSource } from '../pref/types.js';
import type { AsyncLabelSource, LabelAnswer, LabelQuery } from './types.js';

/** A synchronous "prefer a?" source as an async one (verdict 'a' or 'b', every query answered). */
export function fromSyncSource(
  src: LabelSource,
  detail?: (q: LabelQuery) => Record<string, unknown>,
): AsyncLabelSource {
  return {
    name: src.name,
    label: async (queries) =>
      queries.map((q): LabelAnswer => {
        const ans: LabelAnswer = {
          id: q.id,
          verdict: src.compare(q.prompt, q.a, q.b, q.id) ? 'a' : 'b',
          source: src.name,
        };
        if (detail) ans.detail = detail(q);
        return ans;
      }),
  };
}

export const oracleSourceSchema = z
  .object({
    kind: z.literal('oracle'),
    /** Bradley–Terry temperature on the gold reward: 0 = always the higher r*, 1 = the miniature's. */
    temperature: z.number().min(0).default(1),
    /** Seed of the oracle's coin flips (default: the run's seed). */
    seed: z.union([z.string(), z.number()]).optional(),
  })
  .strict();
export type OracleSourceConfig = z.output<typeof oracleSourceSchema>;

/** The gold BT oracle (AFINN r*): a stand-in human whose answers depend only on (seed, query id). */
export function oracleSource(cfg: OracleSourceConfig, runSeed: string): AsyncLabelSource {
  const oracle = new GoldOracle({
    seed: String(cfg.seed ?? `${runSeed}/oracle`),
    temperature: cfg.temperature,
  });
  return fromSyncSource(oracle);
}

export const rewardModelSourceSchema = z
  .object({
    kind: z.literal('reward-model'),
    /** A reward-model checkpoint folder (gshf pref rm) — or an LM checkpoint, given a fresh head. */
    path: z.string().min(1),
    /** Exact score ties: a coin seeded by the query id ('random') or slot a ('first', TRL's rule). */
    ties: z.enum(['random', 'first']).default('random'),
  })
  .strict();
export type RewardModelSourceConfig = z.output<typeof rewardModelSourceSchema>;

/** A local reward model as the labeller: prefers the response it scores higher (batched scoring). */
export function rewardModelSource(cfg: RewardModelSourceConfig, runSeed: string): AsyncLabelSource {
  const rm = RewardModel.load(cfg.path);
  const name = `reward-model:${cfg.path}`;
  return {
    name,
    label: async (queries) => {
      const prompts = queries.flatMap((q) => [q.prompt, q.prompt]);
      const texts = queries.flatMap((q) => [q.a, q.b]);
      const r = rm.score(prompts, texts);
      const score = new Map<string, number>();
      texts.forEach((t, i) => score.set(`${prompts[i]}\u0000${t}`, r[i]));
      const src = new RewardModelLabelSource((p, t) => score.get(`${p}\u0000${t}`) ?? NaN, {
        name,
        ties: cfg.ties,
        seed: `${runSeed}/rm-ties`,
      });
      return fromSyncSource(src, (q) => ({
        ra: score.get(`${q.prompt}\u0000${q.a}`),
        rb: score.get(`${q.prompt}\u0000${q.b}`),
      })).label(queries);
    },
  };
}
