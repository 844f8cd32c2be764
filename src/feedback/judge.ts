/**
 * `judge` label source: an LLM as judge through any OpenAI-compatible chat endpoint.
 *
 * Every pair is asked in BOTH orders (a shown as "A", then b shown as "A") to cancel position
 * bias: the verdict is the response preferred in both orders, and a disagreement is a 'tie' (a
 * judge that always answers "A" therefore yields only ties). The answer is parsed strictly: after
 * trimming whitespace and one trailing period it must be exactly "A" or "B". An unparseable answer
 * is asked again (`parse_retries` times, each with its own seed), then counts as a tie for that
 * order (`on_unparseable: 'tie'`, default) or fails the batch (`'error'`).
 *
 * The template's placeholders {prompt}, {a} and {b} are filled in one pass, so a response that
 * itself contains "{b}" is shown verbatim.
 */
import { z } from 'zod';
import { hashString } from '../math/rng.js';
import {
  authHeader,
  HttpJsonError,
  httpClientFields,
  mapConcurrent,
  postJson,
  retryPolicyOf,
  ShapeError,
} from '../net/http-json.js';
import {
  LabelSourceError,
  type AsyncLabelSource,
  type LabelAnswer,
  type LabelOptions,
  type LabelQuery,
  type Verdict,
} from './types.js';

export const DEFAULT_JUDGE_TEMPLATE = `You compare two responses to the same prompt.

Prompt:
{prompt}

Response A:
{a}

Response B:
{b}

Which response is better? Answer with exactly one letter: A or B.`;

const PLACEHOLDERS = ['{prompt}', '{a}', '{b}'] as const;

export const judgeSourceSchema = z
  .object({
    kind: z.literal('judge'),
    /** Base URL of the OpenAI-compatible API (…/v1); the judge POSTs to <url>/chat/completions. */
    url: z.url({ protocol: /^https?$/ }),
    model: z.string().min(1),
    template: z
      .string()
      .refine((t) => PLACEHOLDERS.every((p) => t.includes(p)), {
        message: `the template must contain ${PLACEHOLDERS.join(', ')}`,
      })
      .default(DEFAULT_JUDGE_TEMPLATE),
    /** Optional system message sent before the filled template. */
    system: z.string().optional(),
    ...httpClientFields,
    temperature: z.number().min(0).max(2).default(0),
    max_tokens: z.number().int().min(1).default(4),
    /** Pairs judged at once (each pair = 2 requests in flight). */
    concurrency: z.number().int().min(1).max(256).default(4),
    /** Extra asks after an unparseable answer. */
    parse_retries: z.number().int().min(0).max(10).default(2),
    on_unparseable: z.enum(['tie', 'error']).default('tie'),
  })
  .strict();

export type JudgeSourceConfig = z.output<typeof judgeSourceSchema>;
export type JudgeSourceInput = z.input<typeof judgeSourceSchema>;

/** Fills {prompt}, {a}, {b} in one pass (substituted text is never re-scanned). */
export function fillTemplate(template: string, prompt: string, a: string, b: string): string {
  const values: Record<string, string> = { prompt, a, b };
  return template.replace(/\{(prompt|a|b)\}/g, (_m, k: string) => values[k]);
}

/** "A" / "B" (whitespace and one trailing period allowed), else null. */
export function parseJudgeAnswer(text: string): 'A' | 'B' | null {
  const t = text.trim().replace(/\.$/, '');
  return t === 'A' || t === 'B' ? t : null;
}

/** Combines the two orders: the response preferred in both, else a tie. */
export function combineOrders(ab: 'A' | 'B' | null, ba: 'A' | 'B' | null): Verdict {
  // Order 1 shows a as "A"; order 2 shows b as "A".
  const first = ab === null ? null : ab === 'A' ? 'a' : 'b';
  const second = ba === null ? null : ba === 'A' ? 'b' : 'a';
  return first !== null && first === second ? first : 'tie';
}

interface Ask {
  answer: 'A' | 'B' | null;
  replies: string[];
}

class UnparseableError extends Error {}

function chatContent(json: unknown): string {
  const c = (json as { choices?: { message?: { content?: unknown } }[] } | null)?.choices?.[0]?.message
    ?.content;
  if (typeof c !== 'string') throw new ShapeError('expected choices[0].message.content to be a string');
  return c;
}

export class JudgeSource implements AsyncLabelSource {
  readonly name: string;
  private readonly cfg: JudgeSourceConfig;
  private readonly endpoint: string;

  constructor(cfg: JudgeSourceInput) {
    this.cfg = judgeSourceSchema.parse(cfg);
    this.endpoint = `${this.cfg.url.replace(/\/+$/, '')}/chat/completions`;
    this.name = `judge:${this.cfg.url}`;
    authHeader(this.cfg.api_key_env, this.name); // a missing key fails here, before any label
  }

  async label(queries: readonly LabelQuery[], opts: LabelOptions = {}): Promise<LabelAnswer[]> {
    const done: (LabelAnswer | undefined)[] = new Array(queries.length);
    try {
      await mapConcurrent(queries, this.cfg.concurrency, async (q, i) => {
        done[i] = await this.judge(q, opts.signal);
      });
    } catch (e) {
      const partial = done.filter((a): a is LabelAnswer => a !== undefined);
      if (e instanceof HttpJsonError || e instanceof UnparseableError)
        throw new LabelSourceError(this.name, e.message, partial);
      throw e;
    }
    return done as LabelAnswer[];
  }

  private async judge(q: LabelQuery, signal?: AbortSignal): Promise<LabelAnswer> {
    const [ab, ba] = await Promise.all([
      this.ask(q, q.a, q.b, 'ab', signal),
      this.ask(q, q.b, q.a, 'ba', signal),
    ]);
    return {
      id: q.id,
      verdict: combineOrders(ab.answer, ba.answer),
      source: this.name,
      detail: { order_ab: ab.answer, order_ba: ba.answer, replies_ab: ab.replies, replies_ba: ba.replies },
    };
  }

  /** One order, asked until the answer parses (or the parse retries run out). */
  private async ask(
    q: LabelQuery,
    first: string,
    second: string,
    order: string,
    signal?: AbortSignal,
  ): Promise<Ask> {
    const content = fillTemplate(this.cfg.template, q.prompt, first, second);
    const messages = [
      ...(this.cfg.system ? [{ role: 'system', content: this.cfg.system }] : []),
      { role: 'user', content },
    ];
    const replies: string[] = [];
    for (let k = 0; k <= this.cfg.parse_retries; k++) {
      const reply = await postJson(
        {
          url: this.endpoint,
          body: {
            model: this.cfg.model,
            messages,
            temperature: this.cfg.temperature,
            max_tokens: this.cfg.max_tokens,
            seed: hashString(`${q.id}/${order}/${k}`) & 0x7fffffff,
          },
          headers: authHeader(this.cfg.api_key_env, this.name),
          parse: chatContent,
          signal,
        },
        retryPolicyOf(this.cfg),
      );
      replies.push(reply);
      const answer = parseJudgeAnswer(reply);
      if (answer) return { answer, replies };
    }
    if (this.cfg.on_unparseable === 'error')
      throw new UnparseableError(
        `POST ${this.endpoint}: query ${q.id}: no "A"/"B" answer in ${replies.length} asks (last: ${JSON.stringify(replies[replies.length - 1].slice(0, 60))})`,
      );
    return { answer: null, replies };
  }
}
