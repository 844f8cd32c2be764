/**
 * HTTP errors in the OpenAI shape `{"error": {"message", "type", "param", "code"}}`, and the
 * translation of zod issues on a request body into one of them (the first issue wins; an unknown
 * field is named, with the nearest accepted field as a suggestion: src/math's `didYouMean`).
 */
import type { z } from 'zod';
import { didYouMean } from '../math/errors.js';

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
    return new ApiError(
      400,
      'invalid_request_error',
      `Unrecognized request argument supplied: ${param}${didYouMean(key, keysAt(issue.path))}`,
      param,
      'unrecognized_argument',
    );
  }
  const param = dotted(issue.path) || null;
  const message = param ? `Invalid value for '${param}': ${issue.message}` : issue.message;
  return new ApiError(400, 'invalid_request_error', message, param, 'invalid_value');
}
