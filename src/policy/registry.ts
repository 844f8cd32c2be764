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

/** `kind: openai` in the loop config: the generator's own schema with `kind` for `backend`. */
const openaiKindSchema = openaiPolicySchema.omit({ backend: true }).extend({ kind: z.literal('openai') });

/** An OpenAI-compatible client as a Generator (model by name, seeds per request). */
function openaiGenerator(opts: Record<string, unknown>): { gen: Generator; initialModel: string } {
  const rest = { ...opts };
  delete rest.kind;
  const g = new OpenAIGenerator({ ...rest, backend: 'openai' } as unknown as z.input<
    typeof openaiPolicySchema
  >);
  return {
    gen: { name: g.name, sample: (model, prompts, n, seed) => g.generate(prompts, n, { seed, model }) },
    initialModel: g.cfg.model,
  };
}

/** Remote generation kinds (they need a `trainer`). */
const GENERATORS: Record<string, GeneratorKind> = {
  openai: { schema: openaiKindSchema, create: openaiGenerator },
};

export const POLICY_KINDS: readonly string[] = ['local', ...Object.keys(GENERATORS)];

/** The policy config: a union discriminated by `kind` (local, or a remote generator). */
export const policySchema = z.discriminatedUnion('kind', [localPolicySchema, openaiKindSchema], {
  error: (iss) =>
    iss.code === 'invalid_union'
      ? `unknown policy kind ${JSON.stringify((iss.input as { kind?: unknown })?.kind)} (kinds: ${POLICY_KINDS.join(', ')})`
      : undefined,
});

export type PolicyConfig = { kind: string } & Record<string, unknown>;

/** True when the kind trains in-process (no `trainer` needed). */
export function trainsLocally(kind: string): boolean {
  return kind === 'local';
}

export function createPolicyBackend(cfg: PolicyConfig, trainer: TrainerConfig | undefined): PolicyBackend {
  if (cfg.kind === 'local') return new LocalPolicy(localPolicySchema.parse(cfg));
  const g = GENERATORS[cfg.kind];
  if (g === undefined) throw new Error(`unknown policy kind "${cfg.kind}"`);
  if (!trainer)
    throw new Error(`policy kind "${cfg.kind}" needs a "trainer" section (it cannot train in-process)`);
  const { gen, initialModel } = g.create(cfg);
  return new TrainerPolicy(gen, trainer, initialModel);
}
