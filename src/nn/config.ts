/**
 * Model configuration (validated with zod) and named presets.
 */
import { z } from 'zod';

/**
 * RoPE frequency scaling (Hugging Face `rope_scaling`): 'linear' divides every inverse frequency by
 * `factor`; 'llama3' is Llama 3.1's piecewise rule (long wavelengths ÷ factor, short ones kept,
 * smooth blend between the two wavelength bounds).
 */
export const RopeScalingSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('linear'), factor: z.number().positive() }).strict(),
  z
    .object({
      type: z.literal('llama3'),
      factor: z.number().positive(),
      lowFreqFactor: z.number().positive(),
      highFreqFactor: z.number().positive(),
      originalMaxPositionEmbeddings: z.number().int().positive(),
    })
    .strict(),
]);
export type RopeScaling = z.output<typeof RopeScalingSchema>;

/**
 * The Llama-family block (Llama 3.x, Qwen2/2.5/3, SmolLM2, Mistral): RMSNorm, rotary positions,
 * grouped-query attention, SwiGLU MLP. Present on a config = the model uses this block instead of
 * GPT-2's (no position table, no LayerNorm biases).
 */
export const LlamaBlockSchema = z
  .object({
    /** Key/value heads (grouped-query attention); nHead must be a multiple. */
    nKVHead: z.number().int().min(1).max(256),
    /** Width of one head (Qwen3 sets it independently of nEmbd / nHead). */
    headDim: z.number().int().min(2).max(4096),
    intermediateSize: z.number().int().min(1).max(1_000_000),
    ropeTheta: z.number().positive(),
    ropeScaling: RopeScalingSchema.nullable().default(null),
    /** Bias on q_proj/k_proj/v_proj (Qwen2, Llama with attention_bias). */
    qkvBias: z.boolean().default(false),
    /** Bias on o_proj (Llama with attention_bias). */
    oBias: z.boolean().default(false),
    /** Biases on gate/up/down projections (Llama with mlp_bias). */
    mlpBias: z.boolean().default(false),
    /** Per-head RMSNorm of queries and keys before RoPE (Qwen3). */
    qkNorm: z.boolean().default(false),
  })
  .strict()
  .refine((c) => c.headDim % 2 === 0, { message: 'headDim must be even (RoPE pairs)', path: ['headDim'] });
export type LlamaBlock = z.output<typeof LlamaBlockSchema>;

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
    /** LayerNorm eps (GPT-2 block) or RMSNorm eps (Llama block). */
    layerNormEps: z.number().positive().default(1e-5),
    /** The Llama-family block instead of GPT-2's (see LlamaBlockSchema). */
    llama: LlamaBlockSchema.optional(),
  })
  .strict()
  .refine((c) => c.llama !== undefined || c.nEmbd % c.nHead === 0, {
    message: 'nEmbd must be divisible by nHead',
    path: ['nEmbd'],
  })
  .refine((c) => c.llama === undefined || c.nHead % c.llama.nKVHead === 0, {
    message: 'nHead must be a multiple of llama.nKVHead',
    path: ['llama', 'nKVHead'],
  });

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
