/**
 * Input validation at the HTTP boundary: zod schemas (strict: unknown keys are errors, with the
 * nearest known key suggested) and one error type that the service turns into a 4xx JSON reply.
 */
import { z } from 'zod';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds, sent as Retry-After (429s). */
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = [...r.error.issues].sort(
    (x, y) => Number(y.code === 'unrecognized_keys') - Number(x.code === 'unrecognized_keys'),
  );
  const msgs = issues.slice(0, 3).map((issue) => {
    const path = [where, ...issue.path.map(String)].join('.');
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(schema, issue.path);
      return issue.keys
        .map((k) => {
          const near = nearest(k, known);
          return `${path}: unknown key "${k}"${near ? ` (did you mean "${near}"?)` : ''}`;
        })
        .join('; ');
    }
    return `${path}: ${issue.message}`;
  });
  throw new HttpError(400, 'bad_request', msgs.join('; '));
}

/** The keys of the object schema at `path` (through arrays, optionals and defaults). */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let cur: unknown = schema;
  const unwrap = () => {
    for (let i = 0; i < 5; i++) {
      const c = cur as { unwrap?: () => unknown; def?: { innerType?: unknown } };
      if (c.def?.innerType !== undefined) cur = c.def.innerType;
      else if (typeof c.unwrap === 'function' && !(cur instanceof z.ZodArray)) cur = c.unwrap();
      else break;
    }
  };
  for (const p of path) {
    unwrap();
    if (cur instanceof z.ZodArray) cur = cur.element;
    else if (cur instanceof z.ZodObject) cur = (cur.shape as Record<string, unknown>)[String(p)];
    else return [];
  }
  unwrap();
  return cur instanceof z.ZodObject ? Object.keys(cur.shape) : [];
}

/** The known key within edit distance ≤ 2 (or a prefix match), if any. */
export function nearest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = k.startsWith(key) || key.startsWith(k) ? 1 : editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}
