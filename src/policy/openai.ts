/**
 * OpenAI-compatible generation for the loop: n responses per prompt from any server that speaks
 * /v1/completions or /v1/chat/completions (vLLM, llama.cpp, `gshf lm serve`, …).
 *   - several endpoints: request r starts at endpoint r mod E (round-robin); a retry moves on to the
 *     next endpoint, so one replica down costs a retry, not the run;
 *   - bounded concurrency: at most `concurrency` requests in flight;
 *   - n per prompt, split into requests of at most `max_n_per_request` (servers cap n);
 *   - deterministic seeds: request (prompt i, chunk c) sends seed = hash(seed/i/c), so a server that
 *     honours `seed` returns the same samples on a rerun (gshf lm serve does);
 *   - log-probs where offered: the response's summed token log-probs (completions: `logprobs: 0`;
 *     chat: `logprobs: true`), or undefined when the server sends none.
 * Plain fetch (src/net/http-json.ts) rather than the `openai` npm client: the client retries only
 * on status codes, not on malformed JSON or a wrong number of choices, and one retry/backoff/error
 * path shared with the reward-model and judge clients is simpler than two.
 */
import { z } from 'zod';
import { hashString } from '../math/rng.js';
import {
  authHeader,
  httpClientFields,
  mapConcurrent,
  postJson,
  retryPolicyOf,
  ShapeError,
} from '../net/http-json.js';

export const openaiPolicySchema = z
  .object({
    backend: z.literal('openai'),
    /** Base URLs of the API (…/v1), one per replica. */
    endpoints: z.array(z.url({ protocol: /^https?$/ })).min(1),
    model: z.string().min(1),
    mode: z.enum(['completions', 'chat']).default('completions'),
    concurrency: z.number().int().min(1).max(1024).default(4),
    ...httpClientFields,
    timeout_ms: z.number().int().min(1).default(120_000),
    temperature: z.number().min(0).max(2).default(1),
    top_p: z.number().gt(0).max(1).default(1),
    max_tokens: z.number().int().min(1).default(64),
    stop: z.array(z.string().min(1)).max(4).optional(),
    /** Ask for log-probs (their sum is returned as `logprob`). */
    logprobs: z.boolean().default(true),
    max_n_per_request: z.number().int().min(1).max(128).default(16),
  })
  .strict();

export type OpenAIPolicyConfig = z.output<typeof openaiPolicySchema>;
export type OpenAIPolicyInput = z.input<typeof openaiPolicySchema>;

/** One generated response (structurally a loop `PolicySample`). */
export interface GeneratedSample {
  text: string;
  /** Ended by the model (EOS or a stop string) rather than by max_tokens. */
  stop: boolean;
  finish: string;
  /** Summed token log-probs, when the server offered them. */
  logprob?: number;
}

export interface GenerateOptions {
  /** Seed key of this call (e.g. "it3/sample"); per-request seeds derive from it. */
  seed: string;
  /** Model to ask (default: the config's); after external training, the model it produced. */
  model?: string;
  signal?: AbortSignal;
}

interface CompletionChoice {
  index: number;
  text?: string;
  message?: { content?: string | null };
  finish_reason?: string | null;
  logprobs?: { token_logprobs?: (number | null)[]; content?: { logprob: number }[] | null } | null;
}

/** Checks the answer has exactly `n` choices with indices 0..n−1 and text; returns them in index order. */
export function parseChoices(json: unknown, n: number, mode: 'completions' | 'chat'): GeneratedSample[] {
  const choices = (json as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices)) throw new ShapeError('no "choices" array');
  if (choices.length !== n) throw new ShapeError(`${choices.length} choices, expected n = ${n}`);
  const out = new Array<GeneratedSample | undefined>(n);
  for (const c of choices as CompletionChoice[]) {
    const text = mode === 'chat' ? c?.message?.content : c?.text;
    if (typeof text !== 'string')
      throw new ShapeError(`choice ${c?.index} has no ${mode === 'chat' ? 'message.content' : 'text'}`);
    if (!Number.isInteger(c.index) || c.index < 0 || c.index >= n || out[c.index])
      throw new ShapeError(`choice index ${c.index} is not a distinct integer in [0, ${n})`);
    const finish = c.finish_reason ?? 'unknown';
    out[c.index] = { text, stop: finish === 'stop', finish, logprob: sumLogprobs(c, mode) };
  }
  return out as GeneratedSample[];
}

function sumLogprobs(c: CompletionChoice, mode: 'completions' | 'chat'): number | undefined {
  const lps = mode === 'chat' ? c.logprobs?.content?.map((t) => t.logprob) : c.logprobs?.token_logprobs;
  if (!lps) return undefined;
  let s = 0;
  for (const x of lps) {
    if (typeof x !== 'number' || !Number.isFinite(x)) return undefined;
    s += x;
  }
  return s;
}

export class OpenAIGenerator {
  readonly name: string;
  readonly cfg: OpenAIPolicyConfig;
  private readonly urls: string[];
  private next = 0;

  constructor(cfg: OpenAIPolicyInput) {
    this.cfg = openaiPolicySchema.parse(cfg);
    const path = this.cfg.mode === 'chat' ? '/chat/completions' : '/completions';
    this.urls = this.cfg.endpoints.map((e) => e.replace(/\/+$/, '') + path);
    this.name = `openai:${this.cfg.endpoints.join(',')}`;
    authHeader(this.cfg.api_key_env, this.name); // a missing key fails here, before any request
  }

  /** n samples per prompt, in prompt order; sample j of prompt i is out[i][j]. */
  async generate(prompts: readonly string[], n: number, opts: GenerateOptions): Promise<GeneratedSample[][]> {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be an integer ≥ 1, got ${n}`);
    const per = this.cfg.max_n_per_request;
    const jobs = prompts.flatMap((_, i) =>
      Array.from({ length: Math.ceil(n / per) }, (_, c) => ({ i, c, k: Math.min(per, n - c * per) })),
    );
    const parts = await mapConcurrent(jobs, this.cfg.concurrency, (j) =>
      this.request(prompts[j.i], j.k, `${opts.seed}/${j.i}/${j.c}`, opts),
    );
    const out: GeneratedSample[][] = prompts.map(() => []);
    jobs.forEach((j, r) => out[j.i].push(...parts[r]));
    return out;
  }

  private request(
    prompt: string,
    n: number,
    seedKey: string,
    opts: GenerateOptions,
  ): Promise<GeneratedSample[]> {
    const c = this.cfg;
    const chat = c.mode === 'chat';
    const body: Record<string, unknown> = {
      model: opts.model ?? c.model,
      ...(chat ? { messages: [{ role: 'user', content: prompt }] } : { prompt }),
      n,
      temperature: c.temperature,
      top_p: c.top_p,
      max_tokens: c.max_tokens,
      seed: hashString(seedKey) & 0x7fffffff,
      ...(c.stop ? { stop: c.stop } : {}),
      ...(c.logprobs ? (chat ? { logprobs: true } : { logprobs: 0 }) : {}),
    };
    // Round-robin start; retries walk on through the other endpoints.
    const start = this.next++ % this.urls.length;
    const urls = [...this.urls.slice(start), ...this.urls.slice(0, start)];
    return postJson(
      {
        url: urls,
        body,
        headers: authHeader(c.api_key_env, this.name),
        parse: (json) => parseChoices(json, n, c.mode),
        signal: opts.signal,
      },
      retryPolicyOf(c),
    );
  }
}
