/**
 * JSON over HTTP for the loop's clients (remote reward model, LLM judge, OpenAI-compatible
 * generation): one POST with a timeout, retried with exponential backoff and full jitter on the
 * failures that are worth retrying, then ONE error line naming the endpoint and what it returned.
 *
 * Retried: connection errors (refused, reset, DNS), timeouts, HTTP 408/409/429/5xx, a body that is
 * not JSON, and a JSON body of the wrong shape (the `parse` callback throws `ShapeError`).
 * Not retried: other 4xx (bad request, bad key, unknown model): repeating them cannot help.
 * API keys come from environment variables only and never appear in an error message.
 */
import { z } from 'zod';

/** Config fields every HTTP client shares (embedded in the clients' zod schemas, snake_case). */
export const httpClientFields = {
  /** Per-attempt timeout in ms. */
  timeout_ms: z.number().int().min(1).default(30_000),
  /** Retries after the first attempt. */
  retries: z.number().int().min(0).max(20).default(3),
  /** First backoff in ms (doubling per retry, full jitter, capped at 5 s). */
  backoff_ms: z.number().int().min(0).default(200),
  /** Name of the environment variable holding the API key (sent as a bearer token). */
  api_key_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name (the key itself never goes in a config)')
    .optional(),
};

/** The retry policy of a config that embeds `httpClientFields`. */
export function retryPolicyOf(c: { timeout_ms: number; retries: number; backoff_ms: number }): RetryPolicy {
  return { timeoutMs: c.timeout_ms, retries: c.retries, backoffMs: c.backoff_ms };
}

/** Thrown by a response parser when the JSON has the wrong shape; its message says what is wrong. */
export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}

/** The one error a failed request ends in: `message` is a single line naming the endpoint. */
export class HttpJsonError extends Error {
  constructor(
    readonly endpoint: string,
    readonly attempts: number,
    readonly problem: string,
    /** HTTP status of the last answer (0 when there was none: connection error or timeout). */
    readonly status: number,
  ) {
    super(`POST ${endpoint}: ${problem}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`);
    this.name = 'HttpJsonError';
  }
}

export interface RetryPolicy {
  /** Per-attempt timeout in ms (connect + answer). */
  timeoutMs: number;
  /** Retries after the first attempt (0 = try once). */
  retries: number;
  /** First backoff in ms (default 200); attempt k waits up to min(maxBackoffMs, base·2^k). */
  backoffMs?: number;
  /** Cap on one backoff (default 5000 ms). */
  maxBackoffMs?: number;
  /** Uniform [0, 1) source for the jitter (default Math.random; tests pass a fixed one). */
  random?: () => number;
}

export interface JsonPost<T> {
  /** The endpoint, or several: attempt k goes to urls[k mod length] (fail-over between replicas). */
  url: string | readonly string[];
  body: unknown;
  /** Extra headers (e.g. from `authHeader`). */
  headers?: Record<string, string>;
  /** Validates and converts the parsed JSON; throw `ShapeError` for a wrong shape (retried). */
  parse: (json: unknown) => T;
  signal?: AbortSignal;
}

/** Backoff before retry k (0-based): full jitter, uniform in [0, min(cap, base·2^k)). */
export function backoffDelay(k: number, policy: RetryPolicy): number {
  const base = policy.backoffMs ?? 200;
  const cap = policy.maxBackoffMs ?? 5000;
  return Math.min(cap, base * 2 ** k) * (policy.random ?? Math.random)();
}

/** `Authorization: Bearer …` from the environment variable `envVar` (none when envVar is unset). */
export function authHeader(envVar: string | undefined, who: string): Record<string, string> {
  if (!envVar) return {};
  const key = process.env[envVar];
  if (key === undefined || key === '')
    throw new Error(`${who}: the API-key environment variable ${envVar} is not set`);
  return { authorization: `Bearer ${key}` };
}

/** Shortens a response body for an error line (one line, ≤ 160 chars). */
export function snippet(text: string, max = 160): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(one.length > max ? one.slice(0, max) + '…' : one);
}

type Attempt<T> = { ok: true; value: T } | { ok: false; retry: boolean; problem: string; status: number };

/** POSTs `body` as JSON and returns `parse(answer)`, retrying per `policy`; throws HttpJsonError. */
export async function postJson<T>(req: JsonPost<T>, policy: RetryPolicy): Promise<T> {
  const urls = typeof req.url === 'string' ? [req.url] : req.url;
  if (urls.length === 0) throw new RangeError('postJson: no endpoint');
  let last: Attempt<T> = { ok: false, retry: false, problem: 'no attempt made', status: 0 };
  const attempts = policy.retries + 1;
  for (let k = 0; k < attempts; k++) {
    if (k > 0) await sleep(backoffDelay(k - 1, policy), req.signal);
    const url = urls[k % urls.length];
    last = await attempt(url, req, policy.timeoutMs);
    if (last.ok) return last.value;
    if (!last.retry || req.signal?.aborted) throw new HttpJsonError(url, k + 1, last.problem, last.status);
  }
  const tried = [...new Set(urls.slice(0, attempts))].join(', ');
  throw new HttpJsonError(tried, attempts, last.problem, last.status);
}

async function attempt<T>(url: string, req: JsonPost<T>, timeoutMs: number): Promise<Attempt<T>> {
  // Phase 1: send, bounded by the timeout (and the caller's abort signal).
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...req.headers },
      body: JSON.stringify(req.body),
      signal,
    });
    text = await res.text();
  } catch (e) {
    if (req.signal?.aborted) return { ok: false, retry: false, problem: 'aborted', status: 0 };
    if (timeout.aborted)
      return { ok: false, retry: true, problem: `no answer within ${timeoutMs} ms`, status: 0 };
    return { ok: false, retry: true, problem: connectProblem(e), status: 0 };
  }
  // Phase 2: status.
  if (!res.ok) {
    const retry = res.status === 408 || res.status === 409 || res.status === 429 || res.status >= 500;
    return { ok: false, retry, problem: `HTTP ${res.status} ${snippet(text)}`, status: res.status };
  }
  // Phase 3: JSON and shape.
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, retry: true, problem: `malformed JSON ${snippet(text)}`, status: res.status };
  }
  try {
    return { ok: true, value: req.parse(json) };
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e;
    return { ok: false, retry: true, problem: `wrong shape: ${e.message}`, status: res.status };
  }
}

function connectProblem(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `cannot connect (${cause.code})`;
  return `cannot connect (${cause?.message ?? (e as Error).message})`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Runs `fn` over `items` with at most `limit` promises in flight; results in item order. */
export async function mapConcurrent<I, O>(
  items: readonly I[],
  limit: number,
  fn: (item: I, index: number) => Promise<O>,
): Promise<O[]> {
  const out = new Array<O>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
