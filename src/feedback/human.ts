/**
 * The `human` label source: people answer through the annotation service (`gshf serve`).
 *
 * `label(queries)`:
 *   1. creates the project if it does not exist (with `k` annotations per pair);
 *   2. pushes the queries as tasks (id = query id, priority = query.priority, higher first).
 *      Pushing the same ids again is a no-op on the server, so a resumed iteration re-pushes safely;
 *   3. polls the vote counts every `poll_ms` until at least `min_fraction` of the queries have k
 *      annotations, or `deadline_s` seconds have passed, or the abort signal fires;
 *   4. answers every query that has at least one (non-skip) annotation with the majority verdict
 *      of its annotations (a split top count gives 'tie'; see majorityVerdict), already in the
 *      query's own a/b order (the server maps the page's randomised sides back). `detail` keeps the
 *      vote counts, n, k and whether the task was complete. Queries nobody answered are left out.
 *
 * Construct with options validated by `HumanSourceOptions` (the `labels:` block of a loop config):
 *   new HumanLabelSource(HumanSourceOptions.parse({ kind: 'human', url: 'http://127.0.0.1:8787',
 *     project: 'loop', deadline_s: 3600 }))
 * The admin token is read from the env var named by `token_env` (default GSHF_ADMIN_TOKEN).
 */
import { z } from 'zod';
import { majorityVerdict } from './agreement.js';
import {
  LabelSourceError,
  type AsyncLabelSource,
  type LabelAnswer,
  type LabelOptions,
  type LabelQuery,
  type Verdict,
} from './types.js';

export const HumanSourceOptions = z.strictObject({
  kind: z.literal('human'),
  /** Base URL of the annotation service, e.g. http://127.0.0.1:8787 */
  url: z.string().regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, 'an http(s) URL'),
  project: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a project name (letters, digits, . _ -)'),
  token_env: z.string().min(1).default('GSHF_ADMIN_TOKEN'),
  /** Stop waiting after this many seconds and continue with what arrived. */
  deadline_s: z.number().positive().default(3600),
  /** Stop waiting once this fraction of the batch has k annotations. */
  min_fraction: z.number().min(0).max(1).default(1),
  poll_ms: z.number().int().min(10).max(600_000).default(5000),
  /** Annotations per pair, used when the source creates the project. */
  k: z.number().int().min(1).max(50).default(1),
});
export type HumanSourceOptions = z.infer<typeof HumanSourceOptions>;

export interface HumanSourceDeps {
  fetch?: typeof fetch;
  env?: Record<string, string | undefined>;
  now?: () => number;
}

interface VotesReply {
  k: number;
  tasks: { id: string; votes: Record<Verdict, number>; n: number }[];
}

const PUSH_CHUNK = 1000;

export class HumanLabelSource implements AsyncLabelSource {
  readonly name: string;
  private readonly base: string;
  private readonly token: string;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private projectReady = false;

  constructor(
    readonly options: HumanSourceOptions,
    deps: HumanSourceDeps = {},
  ) {
    this.base = options.url.replace(/\/+$/, '');
    this.name = `human:${this.base}/${options.project}`;
    const token = (deps.env ?? process.env)[options.token_env];
    if (token === undefined || token === '') {
      throw new LabelSourceError(this.name, `env var ${options.token_env} (the admin token) is not set`);
    }
    this.token = token;
    this.fetch = deps.fetch ?? fetch;
    this.now = deps.now ?? Date.now;
  }

  async label(queries: readonly LabelQuery[], opts: LabelOptions = {}): Promise<LabelAnswer[]> {
    if (queries.length === 0) return [];
    const deadline = this.now() + this.options.deadline_s * 1000;
    // Phase 1: project and tasks (idempotent).
    await this.ensureProject();
    for (let i = 0; i < queries.length; i += PUSH_CHUNK) {
      const tasks = queries.slice(i, i + PUSH_CHUNK).map((q) => ({
        id: q.id,
        prompt: q.prompt,
        a: q.a,
        b: q.b,
        priority: q.priority ?? 0,
      }));
      await this.call('POST', `/api/projects/${this.options.project}/tasks`, { tasks });
    }
    // Phase 2: wait for enough complete tasks, the deadline or an abort.
    const ids = queries.map((q) => q.id);
    let votes = await this.votes(ids);
    while (!opts.signal?.aborted && this.now() < deadline) {
      const complete = votes.tasks.filter((t) => t.n >= votes.k).length;
      if (complete >= this.options.min_fraction * queries.length) break;
      await sleep(Math.min(this.options.poll_ms, Math.max(0, deadline - this.now())), opts.signal);
      votes = await this.votes(ids);
    }
    // Phase 3: majority verdicts, in query order.
    const byId = new Map(votes.tasks.map((t) => [t.id, t]));
    const answers: LabelAnswer[] = [];
    for (const q of queries) {
      const t = byId.get(q.id);
      const verdict = t ? majorityVerdict(t.votes) : undefined;
      if (t === undefined || verdict === undefined) continue;
      answers.push({
        id: q.id,
        verdict,
        source: this.name,
        detail: { votes: t.votes, n: t.n, k: votes.k, complete: t.n >= votes.k },
      });
    }
    return answers;
  }

  private async ensureProject(): Promise<void> {
    if (this.projectReady) return;
    const res = await this.request('POST', '/api/projects', {
      name: this.options.project,
      k: this.options.k,
    });
    if (res.status !== 201 && res.status !== 409) throw await this.failure('POST', '/api/projects', res);
    this.projectReady = true;
  }

  private async votes(ids: readonly string[]): Promise<VotesReply> {
    const out: VotesReply = { k: 1, tasks: [] };
    for (let i = 0; i < ids.length; i += PUSH_CHUNK) {
      const r = (await this.call('POST', `/api/projects/${this.options.project}/votes`, {
        ids: ids.slice(i, i + PUSH_CHUNK),
      })) as VotesReply;
      out.k = r.k;
      out.tasks.push(...r.tasks);
    }
    return out;
  }

  private async call(method: string, path: string, body: unknown): Promise<unknown> {
    const res = await this.request(method, path, body);
    if (!res.ok) throw await this.failure(method, path, res);
    return res.json();
  }

  private async request(method: string, path: string, body: unknown): Promise<Response> {
    try {
      return await this.fetch(this.base + path, {
        method,
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (err) {
      throw new LabelSourceError(this.name, `${method} ${path}: ${(err as Error).message}`);
    }
  }

  private async failure(method: string, path: string, res: Response): Promise<LabelSourceError> {
    const text = await res.text().catch(() => '');
    let msg = text.slice(0, 300);
    try {
      msg = (JSON.parse(text) as { message?: string }).message ?? msg;
    } catch {
      // not JSON: keep the text
    }
    return new LabelSourceError(this.name, `${method} ${path}: HTTP ${res.status}: ${msg}`);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
