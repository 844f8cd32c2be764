/**
 * `gshf lm serve`: an OpenAI-compatible HTTP server (fastify) for a gshf checkpoint.
 *   GET  /v1/models, /v1/models/:id, /health
 *   POST /v1/completions, /v1/chat/completions  (n, temperature, top_p, top_k, max_tokens, stop,
 *        seed, logprobs, usage, streaming over SSE ending in `data: [DONE]`)
 * Bodies are validated before anything runs; errors use OpenAI's `{"error": {…}}` shape with a 4xx
 * for bad input. With an API key, every /v1 route needs `Authorization: Bearer <key>` (the key is
 * kept only as a SHA-256 digest and compared in constant time).
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createApp, type AppOptions } from './app.js';
import type { ZodType } from 'zod';
import { LmEngine, PromptTooLongError, type Choice, type GenParams, type GenResult } from './engine.js';
import { ApiError, badRequestFromZod } from './errors.js';
import {
  applyChatTemplate,
  chatRequestSchema,
  completionRequestSchema,
  keysAt,
  messageText,
  type ChatMessage,
  type ChatRequest,
  type ChatTemplate,
  type CompletionRequest,
} from './openai-schemas.js';
import { Scheduler } from './scheduler.js';
import type { GPT, Tokenizer } from '../nn/index.js';

export interface OpenAIServerOptions extends AppOptions {
  model: GPT;
  tokenizer: Tokenizer;
  /** The name clients must send as `model` (default "gshf"). */
  modelName?: string;
  /** Requests admitted at once (running + queued); more get 429 (default 64). */
  maxConcurrency?: number;
  chatTemplate?: ChatTemplate;
  /**
   * The model's own chat template (a Hugging Face folder's tokenizer_config.json chat_template,
   * src/nn/hf/chat.ts): messages → prompt text. Takes precedence over `chatTemplate`.
   */
  renderChat?: (messages: readonly { role: string; content: string }[]) => string;
}

type Mode = 'completion' | 'chat';

/** What one request asks for, after validation. */
interface Plan {
  mode: Mode;
  model: string;
  prompts: number[][];
  params: GenParams;
  seeded: boolean;
  stream: boolean;
  includeUsage: boolean;
}

export function createOpenAIServer(opts: OpenAIServerOptions): FastifyInstance {
  const engine = new LmEngine(opts.model, opts.tokenizer);
  const name = opts.modelName ?? 'gshf';
  const builtin = opts.chatTemplate ?? 'role-lines';
  const render = opts.renderChat;
  const template = (messages: readonly ChatMessage[]): string =>
    render
      ? render(messages.map((m) => ({ role: m.role, content: messageText(m) })))
      : applyChatTemplate(messages, builtin);
  const scheduler = new Scheduler(engine, opts.maxConcurrency ?? 64);
  const created = Math.floor(Date.now() / 1000);
  const app = createApp(opts);

  const modelCard = { id: name, object: 'model', created, owned_by: 'gshf' };
  app.get('/health', async () => ({ status: 'ok', queued: scheduler.load }));
  app.get('/v1/models', async () => ({ object: 'list', data: [modelCard] }));
  app.get<{ Params: { id: string } }>('/v1/models/:id', async (req) => {
    if (req.params.id !== name) throw unknownModel(req.params.id, 'id');
    return modelCard;
  });

  const handle = (mode: Mode) => async (req: FastifyRequest, reply: FastifyReply) => {
    const plan = mode === 'chat' ? planChat(req.body, engine, template) : planCompletion(req.body, engine);
    if (plan.model !== name) throw unknownModel(plan.model, 'model');
    if (plan.stream) return stream(plan, scheduler, reply);
    const res = await admit(scheduler, plan);
    return mode === 'chat' ? chatBody(plan, res) : completionBody(plan, res);
  };
  app.post('/v1/completions', handle('completion'));
  app.post('/v1/chat/completions', handle('chat'));
  return app;
}

// ---------------------------------------------------------------- validation → plan

function parseBody<T>(schema: ZodType<T>, body: unknown, kind: Mode): T {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new ApiError(
      400,
      'invalid_request_error',
      'The request body must be a JSON object.',
      null,
      'invalid_body',
    );
  const r = schema.safeParse(body);
  if (!r.success) throw badRequestFromZod(r.error, (path) => keysAt(kind, path));
  return r.data;
}

function encode(engine: LmEngine, text: string, param: string): number[] {
  try {
    return engine.encodePrompt(text);
  } catch (e) {
    if (e instanceof PromptTooLongError)
      throw new ApiError(400, 'invalid_request_error', e.message, param, 'context_length_exceeded');
    throw e;
  }
}

function baseParams(
  b: CompletionRequest | ChatRequest,
  maxTokens: number | undefined,
  logprobs: number | null,
): Pick<Plan, 'params' | 'seeded' | 'stream' | 'includeUsage'> {
  const topK = b.top_k ?? 0;
  const params: GenParams = {
    n: b.n ?? 1,
    temperature: b.temperature ?? 1,
    topP: b.top_p ?? 1,
    topK: topK < 0 ? 0 : topK,
    maxTokens,
    stop: b.stop == null ? [] : typeof b.stop === 'string' ? [b.stop] : b.stop,
    seed: b.seed ?? randomInt(2 ** 31),
    logprobs,
  };
  return {
    params,
    seeded: b.seed != null,
    stream: b.stream ?? false,
    includeUsage: b.stream_options?.include_usage ?? false,
  };
}

function planCompletion(body: unknown, engine: LmEngine): Plan {
  const b = parseBody(completionRequestSchema, body, 'completion');
  if (b.best_of != null && b.best_of !== (b.n ?? 1))
    throw new ApiError(
      400,
      'invalid_request_error',
      'best_of must equal n (no server-side reranking)',
      'best_of',
    );
  if (b.stream_options && !b.stream)
    throw new ApiError(
      400,
      'invalid_request_error',
      'stream_options is only allowed with stream: true',
      'stream_options',
    );
  const texts = typeof b.prompt === 'string' ? [b.prompt] : b.prompt;
  const prompts = texts.map((t, i) =>
    encode(engine, t, typeof b.prompt === 'string' ? 'prompt' : `prompt[${i}]`),
  );
  // OpenAI's default for the legacy completions endpoint is 16 tokens.
  return {
    mode: 'completion',
    model: b.model,
    prompts,
    ...baseParams(b, b.max_tokens ?? 16, b.logprobs ?? null),
  };
}

function planChat(
  body: unknown,
  engine: LmEngine,
  template: (messages: readonly ChatMessage[]) => string,
): Plan {
  const b = parseBody(chatRequestSchema, body, 'chat');
  if (b.top_logprobs != null && !b.logprobs)
    throw new ApiError(400, 'invalid_request_error', 'top_logprobs needs logprobs: true', 'top_logprobs');
  if (b.stream_options && !b.stream)
    throw new ApiError(
      400,
      'invalid_request_error',
      'stream_options is only allowed with stream: true',
      'stream_options',
    );
  const prompts = [encode(engine, template(b.messages), 'messages')];
  const maxTokens = b.max_completion_tokens ?? b.max_tokens ?? undefined;
  const logprobs = b.logprobs ? (b.top_logprobs ?? 0) : null;
  return { mode: 'chat', model: b.model, prompts, ...baseParams(b, maxTokens, logprobs) };
}

function unknownModel(model: string, param: string): ApiError {
  return new ApiError(
    404,
    'not_found_error',
    `The model '${model}' does not exist`,
    param,
    'model_not_found',
  );
}

function admit(scheduler: Scheduler, plan: Plan, onDelta?: Parameters<Scheduler['submit']>[0]['onDelta']) {
  const p = scheduler.submit({ prompts: plan.prompts, params: plan.params, seeded: plan.seeded, onDelta });
  if (!p)
    throw new ApiError(
      429,
      'rate_limit_error',
      `The server is busy (${scheduler.maxJobs} requests in progress); retry shortly`,
      null,
      'server_busy',
    );
  return p;
}

// ---------------------------------------------------------------- response bodies

function usage(res: GenResult) {
  return {
    prompt_tokens: res.promptTokens,
    completion_tokens: res.completionTokens,
    total_tokens: res.promptTokens + res.completionTokens,
  };
}

/** Choice index as OpenAI numbers them: prompt-major, then sample. */
const indexOf = (c: Choice, n: number) => c.prompt * n + c.sample;

function completionLogprobs(c: Choice) {
  if (!c.logprobs) return null;
  let off = 0;
  const text_offset = c.logprobs.map((t) => {
    const o = off;
    off += t.token.length;
    return o;
  });
  return {
    tokens: c.logprobs.map((t) => t.token),
    token_logprobs: c.logprobs.map((t) => t.logprob),
    top_logprobs: c.logprobs.map((t) => Object.fromEntries(t.top.map((a) => [a.token, a.logprob]))),
    text_offset,
  };
}

function chatLogprobs(c: Choice) {
  if (!c.logprobs) return null;
  return {
    content: c.logprobs.map((t) => ({
      token: t.token,
      logprob: t.logprob,
      bytes: t.bytes,
      top_logprobs: t.top.map((a) => ({ token: a.token, logprob: a.logprob, bytes: a.bytes })),
    })),
    refusal: null,
  };
}

function completionBody(plan: Plan, res: GenResult) {
  return {
    id: `cmpl-${randomUUID().replaceAll('-', '')}`,
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: plan.model,
    system_fingerprint: null,
    choices: res.choices.flat().map((c) => ({
      index: indexOf(c, plan.params.n),
      text: c.text,
      logprobs: completionLogprobs(c),
      finish_reason: c.finish,
    })),
    usage: usage(res),
  };
}

function chatBody(plan: Plan, res: GenResult) {
  return {
    id: `chatcmpl-${randomUUID().replaceAll('-', '')}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: plan.model,
    system_fingerprint: null,
    choices: res.choices.flat().map((c) => ({
      index: indexOf(c, plan.params.n),
      message: { role: 'assistant', content: c.text, refusal: null },
      logprobs: chatLogprobs(c),
      finish_reason: c.finish,
    })),
    usage: usage(res),
  };
}

// ---------------------------------------------------------------- streaming (SSE)

async function stream(plan: Plan, scheduler: Scheduler, reply: FastifyReply): Promise<void> {
  const id = `${plan.mode === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`;
  const created = Math.floor(Date.now() / 1000);
  const object = plan.mode === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  const n = plan.params.n;
  const raw = reply.raw;
  // A client that went away mid-stream is not an error: later writes are dropped.
  const send = (obj: unknown): void => {
    if (!raw.destroyed && !raw.writableEnded) raw.write(`data: ${JSON.stringify(obj)}\n\n`);
  };
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    send({ id, object, created, model: plan.model, system_fingerprint: null, choices, ...extra });
  const choiceChunk = (
    index: number,
    text: string | null,
    finish: string | null,
    logprobs: unknown = null,
  ) =>
    plan.mode === 'chat'
      ? { index, delta: text === null ? {} : { content: text }, logprobs, finish_reason: finish }
      : { index, text: text ?? '', logprobs, finish_reason: finish };

  // Admission first: a busy server still answers with a plain 429 JSON error.
  const withLogprobs = plan.params.logprobs !== null;
  const streamed = withLogprobs
    ? undefined // log-probs are computed after sampling: the text is sent with them at the end
    : (i: number, j: number, delta: string) => chunk([choiceChunk(i * n + j, delta, null)]);
  const pending = admit(scheduler, plan, streamed);
  reply.hijack();
  raw.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  if (plan.mode === 'chat')
    for (let j = 0; j < n; j++)
      chunk([{ index: j, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
  try {
    const res = await pending;
    for (const c of res.choices.flat()) {
      const idx = indexOf(c, n);
      if (withLogprobs) {
        const lp = plan.mode === 'chat' ? chatLogprobs(c) : completionLogprobs(c);
        chunk([choiceChunk(idx, c.text, null, lp)]);
      }
      chunk([choiceChunk(idx, null, c.finish)]);
    }
    if (plan.includeUsage) chunk([], { usage: usage(res) });
  } catch (e) {
    const err = e instanceof ApiError ? e : new ApiError(500, 'server_error', (e as Error).message);
    send(err.body());
  }
  if (!raw.destroyed && !raw.writableEnded) raw.end('data: [DONE]\n\n');
}
