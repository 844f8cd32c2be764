/**
 * Policy backends by config: `{kind: 'local', ...}` (gshf's engine: sampling and DPO in-process) or
 * `{kind: 'openai', ...}` (generation from OpenAI-compatible servers) together with a `trainer`
 * command (src/policy/trainer.ts). Adding a kind is one entry in GENERATORS.
 */
import { z } from 'zod';
import { LocalPolicy, localPolicySchema } from './local.js';
import { OpenAIGenerator, openaiPolicySchema } from './openai.js';
import { TrainerPolicy, type Generator, type TrainerConfig } from './trainer.js';
import type { PolicyBackend } from './types.js';

interface GeneratorKind {
  schema: z.ZodType;
  create(opts: Record<string, unknown>): { gen: Generator; initialModel: string };
}

/** A copy of `o` without key `k`. */
function without<T extends object, K extends keyof T>(o: T, k: K): Omit<T, K> {
  const c = { ...o };
  delete c[k];
  return c;
}

/** `kind: openai` in the loop config is `backend: openai` in the generator's own schema (validated by it). */
const openaiKindSchema = z
  .object({ kind: z.literal('openai') })
  .passthrough()
  .transform((v) => ({ ...without(v, 'kind'), backend: 'openai' as const }))
  .pipe(openaiPolicySchema)
  .transform((v) => ({ kind: 'openai' as const, ...without(v, 'backend') }));

/** An OpenAI-compatible client as a Generator (model by name, seeds per request). */
function openaiGenerator(opts: Record<string, unknown>): { gen: Generator; initialModel: string } {
  const g = new OpenAIGenerator({ ...without(opts, 'kind'), backend: 'openai' } as z.input<
    typeof openaiPolicySchema
  >);
  return {
    gen: { name: g.name, sample: (model, prompts, n, seed) => g.generate(prompts, n, { seed, model }) },
    initialModel: g.cfg.model,
  };
}

/** Remote generation kinds (they need a `trainer`). */
const GENERATORS: Record<string, GeneratorKind | { unavailable: string }> = {
  openai: { schema: openaiKindSchema, create: openaiGenerator },
};

export const POLICY_KINDS: readonly string[] = ['local', ...Object.keys(GENERATORS)];

export const policySchema = z
  .object({ kind: z.string() })
  .passthrough()
  .transform((v, ctx) => {
    const schema = v.kind === 'local' ? localPolicySchema : undefined;
    const g = GENERATORS[v.kind];
    if (!schema && g === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['kind'],
        message: `unknown policy kind "${v.kind}" (kinds: ${POLICY_KINDS.join(', ')})`,
      });
      return z.NEVER;
    }
    if (g && 'unavailable' in g) {
      ctx.addIssue({ code: 'custom', path: ['kind'], message: g.unavailable });
      return z.NEVER;
    }
    const r = (schema ?? (g as GeneratorKind).schema).safeParse(v);
    if (!r.success) {
      for (const issue of r.error.issues) ctx.addIssue({ ...issue, code: 'custom', message: issue.message });
      return z.NEVER;
    }
    return r.data as PolicyConfig;
  });

export type PolicyConfig = { kind: string } & Record<string, unknown>;

/** True when the kind trains in-process (no `trainer` needed). */
export function trainsLocally(kind: string): boolean {
  return kind === 'local';
}

export function createPolicyBackend(cfg: PolicyConfig, trainer: TrainerConfig | undefined): PolicyBackend {
  if (cfg.kind === 'local') return new LocalPolicy(localPolicySchema.parse(cfg));
  const g = GENERATORS[cfg.kind];
  if (g === undefined || 'unavailable' in g)
    throw new Error(g ? g.unavailable : `unknown policy kind "${cfg.kind}"`);
  if (!trainer)
    throw new Error(`policy kind "${cfg.kind}" needs a "trainer" section (it cannot train in-process)`);
  const { gen, initialModel } = g.create(cfg);
  return new TrainerPolicy(gen, trainer, initialModel);
}
