/**
 * The config of `gshf loop` (YAML or JSON; validated entirely, with file/line/field errors, before
 * anything is written). Schema reference: docs/loop.md.
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { labelSourceSchema, type LabelSourceConfig } from '../feedback/registry.js';
import { policySchema, trainsLocally } from '../policy/registry.js';
import { checkTemplate, trainerSchema } from '../policy/trainer.js';
import { ENHANCERS } from './enhancers.js';
import { linearRmSchema } from './linear-rm.js';

export const loopConfigSchema = z
  .object({
    /** Master seed: sampling, enhancer coins, training and the oracle fork from it by iteration/prompt ids. */
    seed: z.union([z.number().int(), z.string().min(1)]).default(0),
    prompts: z
      .object({
        /** Prompts file: .jsonl {"prompt"}, .json array, or one prompt per line. */
        path: z.string().min(1),
        /** Prompts per iteration (one labelled pair each at most): the batch size m. */
        perIteration: z.number().int().positive(),
        /** Held-out prompts for evaluation (taken first from the shuffled pool). */
        eval: z.number().int().min(0).default(4),
        /** Shuffle the pool with the seed before splitting (default true). */
        shuffle: z.boolean().default(true),
      })
      .strict(),
    /** T. */
    iterations: z.number().int().positive().max(10_000),
    /** Responses sampled per prompt. */
    n: z.number().int().min(2).max(1024).default(4),
    enhancer: z.enum(ENHANCERS).default('best-worst'),
    /** warm: π_t from π_{t−1} on D_t (RLHF Workflow); retrain: from π0 on D_1..D_t (the ICML paper). */
    schedule: z.enum(['warm', 'retrain']).default('warm'),
    /** Total labels the run may pay for (the loop stops cleanly when it is reached). */
    budget: z.number().int().positive(),
    /** The label source: {kind: oracle | reward-model | http-rm | judge | command | human, ...}. */
    labels: labelSourceSchema,
    /** Alternative label sources by name, picked with `--labels NAME`. */
    labelSources: z.record(z.string(), labelSourceSchema).optional(),
    ledger: z
      .object({
        /** Queries per request to the source (default: a whole iteration at once). */
        chunk: z.number().int().positive().optional(),
        /** fsync every answer (default true). */
        fsync: z.boolean().default(true),
      })
      .strict()
      .default({ fsync: true }),
    policy: policySchema,
    /** External training command (required by remote generation backends). */
    trainer: trainerSchema.optional(),
    rewardModel: linearRmSchema.default({ kind: 'linear', dim: 128, lambda: 1 }),
    eval: z
      .object({
        /** Samples per eval prompt (same seed every iteration: common random numbers). */
        samplesPerPrompt: z.number().int().positive().default(2),
      })
      .strict()
      .default({ samplesPerPrompt: 2 }),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!trainsLocally(c.policy.kind) && !c.trainer)
      ctx.addIssue({
        code: 'custom',
        path: ['trainer'],
        message: `policy kind "${c.policy.kind}" cannot train in-process: add a "trainer" section`,
      });
    if (trainsLocally(c.policy.kind) && c.trainer)
      ctx.addIssue({
        code: 'custom',
        path: ['trainer'],
        message: 'the local policy trains in-process: remove "trainer"',
      });
    if (c.trainer)
      for (const k of ['command', 'after', 'generationModel'] as const) {
        const t = c.trainer[k];
        const err = t === undefined ? null : checkTemplate(t);
        if (err) ctx.addIssue({ code: 'custom', path: ['trainer', k], message: err });
      }
  });

export type LoopConfig = z.output<typeof loopConfigSchema>;

/** Relative file paths in the config are relative to the config file's folder. */
export function resolveConfigPaths(cfg: LoopConfig, baseDir: string): LoopConfig {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  // A command label source runs in the config file's folder unless it names its own `cwd`, so the
  // paths in its command line are relative to the same place as every other path here.
  const src = (s: LabelSourceConfig): LabelSourceConfig =>
    s.kind === 'reward-model' && typeof s.path === 'string'
      ? { ...s, path: abs(s.path) }
      : s.kind === 'command'
        ? { ...s, cwd: abs(typeof s.cwd === 'string' ? s.cwd : '.') }
        : s.kind === 'router' && Array.isArray(s.tiers)
          ? {
              ...s,
              tiers: (s.tiers as { source: LabelSourceConfig | 'self' }[]).map((t) => ({
                ...t,
                source: t.source === 'self' ? t.source : src(t.source),
              })),
            }
          : s;
  const out: LoopConfig = {
    ...cfg,
    prompts: { ...cfg.prompts, path: abs(cfg.prompts.path) },
    labels: src(cfg.labels),
    policy:
      cfg.policy.kind === 'local' && typeof cfg.policy.model === 'string'
        ? { ...cfg.policy, model: abs(cfg.policy.model) }
        : cfg.policy,
  };
  if (cfg.labelSources)
    out.labelSources = Object.fromEntries(Object.entries(cfg.labelSources).map(([k, v]) => [k, src(v)]));
  return out;
}

/**
 * `--labels NAME`: the label source named NAME in `labelSources`, or a kind that needs no options
 * (e.g. `oracle`). Errors name the config file.
 */
export function pickLabelSource(cfg: LoopConfig, name: string, source: string): LoopConfig {
  const named = cfg.labelSources?.[name];
  if (named) return { ...cfg, labels: named };
  const r = labelSourceSchema.safeParse({ kind: name });
  if (!r.success)
    throw new Error(
      `--labels ${name}: not a key of labelSources in ${source}, and not a kind usable without options (${r.error.issues[0].message})`,
    );
  return { ...cfg, labels: r.data };
}
