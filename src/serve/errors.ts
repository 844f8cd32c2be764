/**
 * HTTP errors in the OpenAI shape `{"error": {"message", "type", "param", "code"}}`, and the
 * translation of zod issues on a request body into one of them (the first issue wins; an unknown
 * field is named, with the nearest accepted field as a suggestion).
 */
import type { z } from 'zod';

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): { error: { message: string; type: ErrorType; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** Levenshtein distance (small strings: field names). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** The accepted key closest to `key` (within a third of its length), for "did you mean" hints. */
export function nearestKey(key: string, accepted: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of accepted) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return bestD <= Math.max(2, Math.ceil(key.length / 3)) ? best : undefined;
}

function dotted(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
}

/** Turns the first zod issue on a request body into a 400 naming the field. */
export function badRequestFromZod(
  error: z.ZodError,
  keysAt: (path: readonly PropertyKey[]) => readonly string[],
): ApiError {
  // An unknown field first: it often explains the other issues (a misspelt required field).
  const issue = error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0];
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    const param = dotted([...issue.path, key]);
    const near = nearestKey(key, keysAt(issue.path));
    return new ApiError(
      400,
      'invalid_request_error',
      `Unrecognized request argument supplied: ${param}${near ? ` (did you mean "${near}"?)` : ''}`,
      param,
      'unrecognized_argument',
    );
  }
  const param = dotted(issue.path) || null;
  const message = param ? `Invalid value for '${param}': ${issue.message}` : issue.message;
  return new ApiError(400, 'invalid_request_error', message, param, 'invalid_value');
}
