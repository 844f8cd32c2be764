/**
 * Request bodies of the OpenAI-compatible endpoints, validated with zod (unknown fields are errors).
 * Fields that real clients send but that gshf's engine cannot honour are accepted only at their
 * neutral value (penalties 0, empty logit_bias, echo false, …); the list is in docs/serving.md.
 */
import { z } from 'zod';

const nullish = <T extends z.ZodType>(t: T) => t.nullable().optional();

const stopSchema = nullish(z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]));

/** Fields shared by /v1/completions and /v1/chat/completions. */
const common = {
  model: z.string().min(1),
  max_tokens: nullish(z.number().int().min(1)),
  temperature: nullish(z.number().min(0).max(2)),
  top_p: nullish(z.number().gt(0).max(1)),
  /** vLLM extension: keep the k most likely tokens (0 or −1 = off). */
  top_k: nullish(z.number().int().min(-1)),
  n: nullish(z.number().int().min(1).max(64)),
  stop: stopSchema,
  seed: nullish(z.number().int()),
  stream: nullish(z.boolean()),
  stream_options: nullish(z.object({ include_usage: nullish(z.boolean()) }).strict()),
  // Accepted and ignored (no effect on sampling):
  user: nullish(z.string()),
  metadata: nullish(z.record(z.string(), z.string())),
  store: nullish(z.boolean()),
  service_tier: nullish(z.string()),
  // Accepted only at the neutral value (the engine has no penalties or biases):
  presence_penalty: nullish(z.literal(0, { message: 'only 0 is supported (no penalties)' })),
  frequency_penalty: nullish(z.literal(0, { message: 'only 0 is supported (no penalties)' })),
  logit_bias: nullish(
    z.record(z.string(), z.number()).refine((o) => Object.keys(o).length === 0, {
      message: 'not supported (only {} is accepted)',
    }),
  ),
};

export const completionRequestSchema = z
  .object({
    ...common,
    prompt: z.union([z.string(), z.array(z.string()).min(1).max(64)]),
    /** Number of top alternatives per token (0..20); null = no log-probs. */
    logprobs: nullish(z.number().int().min(0).max(20)),
    echo: nullish(z.literal(false, { message: 'only false is supported' })),
    suffix: nullish(z.literal('', { message: 'not supported' })),
    best_of: nullish(z.number().int().min(1)),
  })
  .strict();

const textPart = z.object({ type: z.literal('text'), text: z.string() }).strict();

export const chatMessageSchema = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant']),
    content: z.union([z.string(), z.array(textPart)]),
    name: nullish(z.string()),
  })
  .strict();

export const chatRequestSchema = z
  .object({
    ...common,
    messages: z.array(chatMessageSchema).min(1),
    max_completion_tokens: nullish(z.number().int().min(1)),
    logprobs: nullish(z.boolean()),
    top_logprobs: nullish(z.number().int().min(0).max(20)),
    response_format: nullish(z.object({ type: z.literal('text') }).strict()),
    parallel_tool_calls: nullish(z.boolean()),
  })
  .strict();

export type CompletionRequest = z.output<typeof completionRequestSchema>;
export type ChatRequest = z.output<typeof chatRequestSchema>;
export type ChatMessage = z.output<typeof chatMessageSchema>;

/** Accepted keys at a path of a request body (for "did you mean" hints). */
export function keysAt(schema: 'completion' | 'chat', path: readonly PropertyKey[]): readonly string[] {
  if (schema === 'chat' && path[0] === 'messages') return Object.keys(chatMessageSchema.shape);
  if (path[0] === 'stream_options') return ['include_usage'];
  if (path[0] === 'response_format') return ['type'];
  return Object.keys((schema === 'chat' ? chatRequestSchema : completionRequestSchema).shape);
}

/**
 * The chat templates for gshf's own models (they have no chat format of their own):
 *   - `role-lines` (default): one line "role: content" per message, then "assistant: " — the model
 *     continues after it, and EOS ends the answer;
 *   - `plain`: the messages' contents joined by "\n", nothing added — for models trained on plain
 *     prompt → response pairs (a single user message is then exactly the training prompt).
 */
export const CHAT_TEMPLATES = ['role-lines', 'plain'] as const;
export type ChatTemplate = (typeof CHAT_TEMPLATES)[number];

export function messageText(m: ChatMessage): string {
  return typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join('');
}

export function applyChatTemplate(messages: readonly ChatMessage[], template: ChatTemplate): string {
  if (template === 'plain') return messages.map(messageText).join('\n');
  return messages.map((m) => `${m.role}: ${messageText(m)}\n`).join('') + 'assistant: ';
}
