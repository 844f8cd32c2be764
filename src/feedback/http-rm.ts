/**
 * `http-rm` label source: a remote reward model over OpenRLHF's contract,
 *   POST <url>  {"query": [prompt+a, prompt+b, …], "prompts": [prompt, prompt, …]}  →  {"rewards": […]}
 * Both responses of a pair are scored in the same request; the verdict is the one with the larger
 * reward ('tie' when |r_a − r_b| ≤ tie_margin, 0 by default = exact equality; identical responses
 * are a tie without a request). `url` is the full
 * endpoint (e.g. http://host:5000/get_reward), as OpenRLHF's `remote_rm_url`.
 */
import { z } from 'zod';
import {
  authHeader,
  HttpJsonError,
  httpClientFields,
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
} from './types.js';

export const httpRmSourceSchema = z
  .object({
    kind: z.literal('http-rm'),
    url: z.url({ protocol: /^https?$/ }),
    ...httpClientFields,
    /** Pairs per request (each pair = 2 queries). */
    batch_size: z.number().int().min(1).max(2048).default(32),
    /** Rewards closer than this are a tie. */
    tie_margin: z.number().min(0).default(0),
    /** Send OpenRLHF's optional `prompts` field (lets the server split prompt and response exactly). */
    send_prompts: z.boolean().default(true),
  })
  .strict();

export type HttpRmSourceConfig = z.output<typeof httpRmSourceSchema>;
export type HttpRmSourceInput = z.input<typeof httpRmSourceSchema>;

/** Parses `{"rewards": [numbers]}` with exactly `n` finite numbers. */
export function parseRewards(json: unknown, n: number): number[] {
  const r = (json as { rewards?: unknown } | null)?.rewards;
  if (!Array.isArray(r))
    throw new ShapeError(`expected {"rewards": [numbers]}, got ${JSON.stringify(json).slice(0, 80)}`);
  if (r.length !== n) throw new ShapeError(`"rewards" has ${r.length} numbers, expected ${n}`);
  const bad = r.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
  if (bad >= 0) throw new ShapeError(`rewards[${bad}] is ${JSON.stringify(r[bad])}, not a finite number`);
  return r as number[];
}

export class HttpRmSource implements AsyncLabelSource {
  readonly name: string;
  private readonly cfg: HttpRmSourceConfig;

  constructor(cfg: HttpRmSourceInput) {
    this.cfg = httpRmSourceSchema.parse(cfg);
    this.name = `http-rm:${this.cfg.url}`;
    authHeader(this.cfg.api_key_env, this.name); // fail now, not at the first label, if the key is missing
  }

  async label(queries: readonly LabelQuery[], opts: LabelOptions = {}): Promise<LabelAnswer[]> {
    // Identical responses are a tie without asking (float32 batch rounding could split them).
    const ask = queries.filter((q) => q.a !== q.b);
    const got = new Map<string, LabelAnswer>();
    const inOrder = (): LabelAnswer[] =>
      queries.flatMap((q) => {
        const a = q.a === q.b ? this.identical(q) : got.get(q.id);
        return a ? [a] : [];
      });
    for (let i = 0; i < ask.length; i += this.cfg.batch_size) {
      const batch = ask.slice(i, i + this.cfg.batch_size);
      let rewards: number[];
      try {
        rewards = await this.score(batch, opts.signal);
      } catch (e) {
        if (e instanceof HttpJsonError) throw new LabelSourceError(this.name, e.message, inOrder());
        throw e;
      }
      batch.forEach((q, k) => got.set(q.id, this.answer(q, rewards[2 * k], rewards[2 * k + 1])));
    }
    return inOrder();
  }

  private identical(q: LabelQuery): LabelAnswer {
    return { id: q.id, verdict: 'tie', source: this.name, detail: { identical: true } };
  }

  private score(batch: readonly LabelQuery[], signal?: AbortSignal): Promise<number[]> {
    const query = batch.flatMap((q) => [q.prompt + q.a, q.prompt + q.b]);
    const body = this.cfg.send_prompts
      ? { query, prompts: batch.flatMap((q) => [q.prompt, q.prompt]) }
      : { query };
    return postJson(
      {
        url: this.cfg.url,
        body,
        headers: authHeader(this.cfg.api_key_env, this.name),
        parse: (json) => parseRewards(json, query.length),
        signal,
      },
      retryPolicyOf(this.cfg),
    );
  }

  private answer(q: LabelQuery, ra: number, rb: number): LabelAnswer {
    const d = ra - rb;
    const verdict = Math.abs(d) <= this.cfg.tie_margin ? 'tie' : d > 0 ? 'a' : 'b';
    return { id: q.id, verdict, source: this.name, detail: { reward_a: ra, reward_b: rb } };
  }
}
