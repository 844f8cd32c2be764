/**
 * The error classes every layer throws (docs/errors.md). This file imports nothing, so every layer
 * (math, nn, bandit, pref, report, cli) may import it. The CLI prints any `GshfError` as one line
 * `gshf: <message>`; anything else is an internal error (a bug), shown with its stack under
 * GSHF_DEBUG=1.
 *
 *   GshfInputError    a bad input: file, config, flag or argument of a public function
 *                     (message: `file:line: message (field "x", value …)` when a file is involved)
 *   GshfIoError       the operating system refused a read or write (ENOSPC, EACCES, EROFS, …),
 *                     naming the path and what was being done
 *   GshfLockError     a run folder is in use by another process
 *   GshfNumericError  a computation diverged or left the finite range (no finite answer exists)
 */

export class GshfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Where a bad input was found; every part optional. */
export interface InputLocation {
  file?: string;
  line?: number;
  field?: string;
  value?: unknown;
}

/** Formats `file:line: message (field "x", value …)`, omitting the parts that are unknown. */
export function formatInputMessage(message: string, at: InputLocation = {}): string {
  let where = at.file ?? '';
  if (at.file !== undefined && at.line !== undefined) where += `:${at.line}`;
  const extra: string[] = [];
  if (at.field !== undefined) extra.push(`field "${at.field}"`);
  if (at.value !== undefined) extra.push(`value ${showValue(at.value)}`);
  return `${where ? where + ': ' : ''}${message}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}

/** A value shortened for an error message (JSON, at most 60 characters). */
export function showValue(v: unknown): string {
  let s: string;
  if (typeof v === 'number') s = String(v);
  else {
    try {
      s = JSON.stringify(v) ?? String(v);
    } catch {
      s = String(v);
    }
  }
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

export class GshfInputError extends GshfError {
  readonly at: InputLocation;
  constructor(message: string, at: InputLocation = {}) {
    super(formatInputMessage(message, at));
    this.at = at;
  }
}

const IO_REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a parent of this path is not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'already exists',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
  ENOTEMPTY: 'directory not empty',
};

export class GshfIoError extends GshfError {
  constructor(
    readonly path: string,
    readonly action: string,
    readonly code: string | undefined,
    detail?: string,
  ) {
    super(
      `${path}: cannot ${action}: ${(code && IO_REASONS[code]) ?? detail ?? 'I/O error'}${code ? ` (${code})` : ''}`,
    );
  }
}

/** The errno code of a Node system error, if any. */
export function errnoCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Turns a Node fs error into a `GshfIoError` naming `path` and the action ("write", "create the
 * folder", …). Errors that are already `GshfError`s, and non-system errors, pass through unchanged.
 */
export function ioError(e: unknown, path: string, action: string): Error {
  if (e instanceof GshfError) return e;
  const code = errnoCode(e);
  if (code === undefined) return e instanceof Error ? e : new Error(String(e));
  return new GshfIoError(path, action, code, e instanceof Error ? e.message : undefined);
}

export class GshfLockError extends GshfError {}

export class GshfNumericError extends GshfError {}

/** Edit distance (insertions, deletions, substitutions; case-sensitive). */
export function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/**
 * `; did you mean "coverage"?` for the known name nearest to `word` (case-insensitive edit
 * distance at most max(2, a third of its length)), or '' when nothing is close.
 */
export function didYouMean(word: string, known: Iterable<string>): string {
  let best = '';
  let bestD = Infinity;
  for (const k of known) {
    const d = levenshtein(word.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best && bestD <= Math.max(2, Math.floor(word.length / 3)) ? `; did you mean "${best}"?` : '';
}

/**
 * The informative part of a failed program's stderr, for a one-line error: the last line that says
 * "error" (Node puts its version line after the error; Python its traceback before it), else the
 * last non-empty line, cut to 300 characters.
 */
export function stderrSummary(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^Node\.js v\d/.test(l));
  const pick =
    [...lines].reverse().find((l) => /error|exception|not found|no such/i.test(l)) ?? lines.at(-1) ?? '';
  return pick.length > 300 ? pick.slice(0, 299) + '…' : pick;
}
