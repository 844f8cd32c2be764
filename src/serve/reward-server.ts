/**
 * `gshf pref serve-rm`: OpenRLHF's remote reward-model contract over a gshf reward model.
 *   POST /get_reward  {"query": [texts], "prompts"?: [texts], "labels"?: any}
 *                  →  {"rewards": [numbers], "scores": [numbers]}
 * As in OpenRLHF, each query is the whole text: prompt followed by response. gshf encodes a pair as
 * [BOS] prompt response [EOS] and reads the reward at EOS, so the split matters for tokenisers that
 * merge across the seam: when `prompts[i]` is given it must be a prefix of `query[i]` and is used as
 * the prompt; otherwise the whole query is the response to an empty prompt (identical tokens for
 * the byte tokeniser). `labels` (OpenRLHF sends them for rule-based rewards) is accepted and ignored.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { createApp, type AppOptions } from './app.js';
import { ApiError, badRequestFromZod } from './errors.js';
import type { RewardModel } from '../pref/reward-model.js';

export interface RewardServerOptions extends AppOptions {
  rm: RewardModel;
  /** Max queries in one request (default 4096). */
  maxQueries?: number;
}

export const getRewardRequestSchema = z
  .object({
    query: z.array(z.string()),
    prompts: z.array(z.string()).nullable().optional(),
    labels: z.unknown().optional(),
  })
  .strict();

/** Splits each query into (prompt, response) as documented above; throws ApiError on a bad prefix. */
export function splitQueries(query: readonly string[], prompts?: readonly string[] | null) {
  if (prompts && prompts.length !== query.length)
    throw new ApiError(
      400,
      'invalid_request_error',
      `prompts has ${prompts.length} entries but query has ${query.length}`,
      'prompts',
    );
  return query.map((q, i) => {
    const p = prompts ? prompts[i] : '';
    if (!q.startsWith(p))
      throw new ApiError(
        400,
        'invalid_request_error',
        `prompts[${i}] is not a prefix of query[${i}]`,
        `prompts[${i}]`,
      );
    return { prompt: p, response: q.slice(p.length) };
  });
}

export function createRewardServer(opts: RewardServerOptions): FastifyInstance {
  const app = createApp(opts);
  const maxQueries = opts.maxQueries ?? 4096;
  app.get('/health', async () => ({ status: 'ok' }));
  app.post('/get_reward', async (req) => {
    if (req.body === null || typeof req.body !== 'object' || Array.isArray(req.body))
      throw new ApiError(400, 'invalid_request_error', 'The request body must be a JSON object.');
    const r = getRewardRequestSchema.safeParse(req.body);
    if (!r.success) throw badRequestFromZod(r.error, () => ['query', 'prompts', 'labels']);
    const { query, prompts } = r.data;
    if (query.length > maxQueries)
      throw new ApiError(
        400,
        'invalid_request_error',
        `query has ${query.length} texts; at most ${maxQueries}`,
        'query',
      );
    const pairs = splitQueries(query, prompts);
    const rewards =
      pairs.length === 0
        ? []
        : Array.from(
            opts.rm.score(
              pairs.map((p) => p.prompt),
              pairs.map((p) => p.response),
            ),
          );
    return { rewards, scores: rewards };
  });
  return app;
}
