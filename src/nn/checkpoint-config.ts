/**
 * The gshf checkpoint's config.json schema and the loaded-checkpoint type, shared by
 * checkpoint.ts (gshf folders) and hf/folder.ts (Hugging Face folders, reported in the same shape).
 */
import { z } from 'zod';
import { GPTConfigSchema } from './config.js';
import type { GPT } from './model.js';
import type { Tokenizer } from './tokenizer.js';

const TokenizerSpecSchema = z.union([
  z.object({ type: z.literal('byte') }).strict(),
  z.object({ type: z.literal('bpe'), file: z.string().min(1) }).strict(),
]);

export const CheckpointConfigSchema = z
  .object({
    format: z.literal('gshf-lm'),
    version: z.literal(1),
    model: GPTConfigSchema,
    tokenizer: TokenizerSpecSchema,
    meta: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export type CheckpointConfig = z.output<typeof CheckpointConfigSchema>;

export interface LoadedCheckpoint {
  model: GPT;
  tokenizer: Tokenizer;
  config: CheckpointConfig;
}
