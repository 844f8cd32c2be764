/**
 * Model configuration (validated with zod) and named presets.
 */
import { z } from 'zod';

export const GPTConfigSchema = z
  .object({
    /** Vocabulary size (byte tokenizer: 256 bytes + specials). */
    vocabSize: z.number().int().min(2).max(1_000_000),
    /** Maximum context length (positions). */
    blockSize: z.number().int().min(1).max(65_536),
    nLayer: z.number().int().min(1).max(256),
    nHead: z.number().int().min(1).max(256),
    nEmbd: z.number().int().min(1).max(65_536),
    /** Share the token embedding with the LM output head (GPT-2 does). */
    tiedHead: z.boolean().default(false),
    /** 'lm': next-token logits; 'scalar': reward head (last non-pad hidden → linear → r). */
    head: z.enum(['lm', 'scalar']).default('lm'),
    layerNormEps: z.number().positive().default(1e-5),
  })
  .strict()
  .refine((c) => c.nEmbd % c.nHead === 0, { message: 'nEmbd must be divisible by nHead', path: ['nEmbd'] });

export type GPTConfig = z.output<typeof GPTConfigSchema>;
export type GPTConfigInput = z.input<typeof GPTConfigSchema>;

/** Byte-level vocabulary: 256 bytes + BOS, EOS, PAD. */
export const BYTE_VOCAB_SIZE = 259;

/** Presets. 'default' is the ≈0.87M-param reference model; 'large' has ≈4× the parameters. */
export const PRESETS: Readonly<Record<'tiny' | 'default' | 'large', GPTConfig>> = {
  tiny: {
    vocabSize: BYTE_VOCAB_SIZE,
    blockSize: 32,
    nLayer: 2,
    nHead: 2,
    nEmbd: 32,
    tiedHead: false,
    head: 'lm',
    layerNormEps: 1e-5,
  },
  default: {
    vocabSize: BYTE_VOCAB_SIZE,
    blockSize: 64,
    nLayer: 4,
    nHead: 4,
    nEmbd: 128,
    tiedHead: false,
    head: 'lm',
    layerNormEps: 1e-5,
  },
  large: {
    vocabSize: BYTE_VOCAB_SIZE,
    blockSize: 128,
    nLayer: 4,
    nHead: 8,
    nEmbd: 256,
    tiedHead: false,
    head: 'lm',
    layerNormEps: 1e-5,
  },
};

export type PresetName = keyof typeof PRESETS;

/** Formats zod issues as "field: message; field: message" (used for clear config errors). */
export function formatZodIssues(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
): string {
  return issues
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/** Validates a config object; throws naming `source` (e.g. a file path) and the bad field. */
export function parseGPTConfig(raw: unknown, source = 'config'): GPTConfig {
  const r = GPTConfigSchema.safeParse(raw);
  if (!r.success) throw new Error(`${source}: invalid model config: ${formatZodIssues(r.error.issues)}`);
  return r.data;
}
