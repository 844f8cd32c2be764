/**
 * The label-source registry: a config `{kind: ..., ...options}` → an AsyncLabelSource. Each kind
 * brings a strict zod schema (unknown keys are errors) and a factory; adding a kind is one line in
 * KINDS.
 */
import { z } from 'zod';
import { CommandLabelSource, commandSourceSchema } from './command.js';
import { HttpRmSource, httpRmSourceSchema } from './http-rm.js';
import { HumanLabelSource, HumanSourceOptions } from './human.js';
import { JudgeSource, judgeSourceSchema } from './judge.js';
import { oracleSource, oracleSourceSchema, rewardModelSource, rewardModelSourceSchema } from './sync.js';
import { RouterLabelSource, routerSourceSchema } from './router.js';
import type { AsyncLabelSource } from './types.js';

/** What a factory may use besides its own options. */
export interface SourceContext {
  /** The run's seed key (sources with randomness fork from it). */
  seed: string;
  /** Environment to read API keys from (by the variable names the config gives). */
  env: NodeJS.ProcessEnv;
}

export interface LabelSourceKind<S extends z.ZodType = z.ZodType> {
  schema: S;
  create(opts: z.output<S>, ctx: SourceContext): AsyncLabelSource | Promise<AsyncLabelSource>;
  /** True when the source costs nothing per label (an oracle, a local model): informs the report. */
  free?: boolean;
}

function kind<S extends z.ZodType>(k: LabelSourceKind<S>): LabelSourceKind {
  return k as unknown as LabelSourceKind;
}

const KINDS: Record<string, LabelSourceKind> = {
  oracle: kind({ schema: oracleSourceSchema, create: (o, c) => oracleSource(o, c.seed), free: true }),
  'reward-model': kind({
    schema: rewardModelSourceSchema,
    create: (o, c) => rewardModelSource(o, c.seed),
    free: true,
  }),
  command: kind({ schema: commandSourceSchema, create: (o) => new CommandLabelSource(o) }),
  'http-rm': kind({ schema: httpRmSourceSchema, create: (o) => new HttpRmSource(o) }),
  judge: kind({ schema: judgeSourceSchema, create: (o) => new JudgeSource(o) }),
  human: kind({ schema: HumanSourceOptions, create: (o, c) => new HumanLabelSource(o, { env: c.env }) }),
  router: kind({
    schema: routerSourceSchema(z.lazy(() => labelSourceSchema)),
    create: async (o, c) => {
      const tiers = [];
      for (const t of o.tiers)
        tiers.push({
          ...t,
          source:
            t.source === 'self'
              ? ('self' as const)
              : await createLabelSource(t.source as LabelSourceConfig, c),
        });
      return new RouterLabelSource(tiers, {
        budget: o.budget,
        escalate: o.escalate,
        confidence: o.confidence,
      });
    },
  }),
};

export const LABEL_SOURCE_KINDS: readonly string[] = Object.keys(KINDS);

/** A validated label-source config (its kind's parsed options). */
export type LabelSourceConfig = { kind: string } & Record<string, unknown>;

/**
 * The schema of a label-source config: a union discriminated by `kind` of each kind's own strict
 * schema, so the config loader names the line and field and suggests the nearest key.
 */
export const labelSourceSchema = z.discriminatedUnion(
  'kind',
  Object.values(KINDS).map((k) => k.schema) as unknown as [
    z.ZodObject<{ kind: z.ZodString }>,
    ...z.ZodObject<{ kind: z.ZodString }>[],
  ],
  {
    error: (iss) =>
      iss.code === 'invalid_union'
        ? `unknown label source kind ${JSON.stringify((iss.input as { kind?: unknown })?.kind)} (kinds: ${LABEL_SOURCE_KINDS.join(', ')})`
        : undefined,
  },
);

/** Builds the source of a validated config. */
export async function createLabelSource(
  cfg: LabelSourceConfig,
  ctx: SourceContext,
): Promise<AsyncLabelSource> {
  const k = KINDS[cfg.kind];
  if (k === undefined) throw new Error(`unknown label source kind "${cfg.kind}"`);
  return k.create(cfg, ctx);
}

/** True for kinds that cost nothing per label (the budget still applies). */
export function isFreeSource(kindName: string): boolean {
  const k = KINDS[kindName];
  return k !== undefined && k.free === true;
}
