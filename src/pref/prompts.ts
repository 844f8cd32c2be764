/**
 * The prompt pool: distinct prompts from the corpus or a user file, split (seeded) into disjoint
 * per-iteration sets, a validation set and a test set, plus the offline set for offline DPO / RSO.
 */
import { readFileSync } from 'node:fs';
import { Rng, type Seed } from '../math/rng.js';
import { builtinCorpusPath } from '../nn/index.js';
import { parseJsonStrict } from '../report/jsonl.js';
import { chatToPromptText, csvRows, jsonlRows, type ChatMessage, type ChatTemplate } from './data.js';

/**
 * A prompt cell: a non-empty string, or a non-empty list of {role, content} messages (made into
 * text with `template`, as conversational preference rows). `where` names file and line/row.
 */
export function promptText(p: unknown, where: string, template: ChatTemplate = 'content'): string {
  if (typeof p === 'string' && p !== '') return p;
  if (Array.isArray(p) && p.length > 0) {
    const msgs: ChatMessage[] = p.map((m, j) => {
      const o = (typeof m === 'object' && m !== null ? m : {}) as Record<string, unknown>;
      if (typeof o.role !== 'string' || o.role === '' || typeof o.content !== 'string')
        throw new Error(
          `${where}: field "prompt[${j}]": expected a message {"role", "content"}, got ${JSON.stringify(m)}`,
        );
      return { role: o.role, content: o.content };
    });
    const text = chatToPromptText(msgs, template);
    if (text !== '') return text;
  }
  const got = JSON.stringify(p) ?? 'nothing';
  throw new Error(
    `${where}: field "prompt": expected a non-empty string or a list of messages, got ${got.length > 60 ? got.slice(0, 57) + '...' : got}`,
  );
}

/**
 * Distinct prompts of a prompt-only set for the loop: everything `readPrompts` reads, plus Parquet
 * (`.parquet`, read with hyparquet; a "prompt" column of strings or message lists, e.g. the
 * UltraFeedback / HH prompt sets). Errors name the file and the row.
 */
export async function readPromptFile(path: string, template: ChatTemplate = 'content'): Promise<string[]> {
  if (!/\.parquet$/i.test(path)) return readPrompts(path, template);
  const { asyncBufferFromFile, parquetReadObjects } = await import('hyparquet');
  let rows: Record<string, unknown>[];
  try {
    rows = await parquetReadObjects({ file: await asyncBufferFromFile(path) });
  } catch (e) {
    throw new Error(`${path}: cannot read Parquet (${(e as Error).message})`);
  }
  if (rows.length === 0) throw new Error(`${path}: no prompts (0 rows)`);
  if (!('prompt' in rows[0]))
    throw new Error(
      `${path}: no "prompt" column (columns: ${Object.keys(rows[0])
        .map((k) => `"${k}"`)
        .join(', ')})`,
    );
  return dedupePrompts(rows.map((r, i) => promptText(r.prompt, `${path} row ${i + 1}`, template)));
}

/** Exact-string deduplication, first occurrence order (no trimming: whitespace is part of what the LM sees). */
export function dedupePrompts(prompts: Iterable<string>): string[] {
  return [...new Set(prompts)];
}

/**
 * Distinct prompts of a prompts file. `.jsonl` (or `.json` not starting with "["): one object per
 * line with a string "prompt" (other fields, e.g. the corpus's response/sentiment/style, are
 * ignored, so the corpus itself is a valid prompts file). `.json` array: strings or {"prompt"}
 * objects. `.csv`: a header row with a "prompt" column (RFC 4180 quoting). Any other extension: one prompt per non-empty line, taken verbatim. Extensions match in
 * any letter case; a JSONL "prompt" may be a list of messages (made into text with `template`).
 */
export function readPrompts(path: string, template: ChatTemplate = 'content'): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(
      `${path}: cannot read prompts file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  const lines = text.split('\n');
  const out: string[] = [];
  if (/\.json$/i.test(path) && text.trimStart().startsWith('[')) {
    // A JSON array of prompts (strings or {"prompt"} objects).
    const arr = parseJsonStrict(text, path);
    (arr as unknown[]).forEach((item, i) => {
      const p =
        typeof item === 'string'
          ? item
          : typeof item === 'object' && item !== null
            ? (item as Record<string, unknown>).prompt
            : undefined;
      if (typeof p !== 'string' || p === '') {
        throw new Error(
          `${path} item ${i}: expected a non-empty string or {"prompt": string}, got ${JSON.stringify(item)}`,
        );
      }
      out.push(p);
    });
  } else if (/\.jsonl?$/i.test(path)) {
    for (const { line, obj } of jsonlRows(text, path, '{"prompt"}'))
      out.push(promptText(obj.prompt, `${path}:${line}`, template));
  } else if (/\.csv$/i.test(path)) {
    for (const { line, obj } of csvRows(text, path)) {
      if (!('prompt' in obj))
        throw new Error(
          `${path}:1: a prompts CSV needs a "prompt" column (columns: ${Object.keys(obj).join(', ')})`,
        );
      out.push(promptText(obj.prompt, `${path}:${line}`, template));
    }
  } else if (/\.parquet$/i.test(path)) {
    throw new Error(`${path}: Parquet prompt files are read by readPromptFile (async), not readPrompts`);
  } else {
    for (const line of lines) if (line.trim() !== '') out.push(line.replace(/\r$/, ''));
  }
  if (out.length === 0) throw new Error(`${path}: no prompts`);
  return dedupePrompts(out);
}

/** Distinct prompts of the committed built-in corpus (data/corpus/reviews.jsonl), or of another corpus file. */
export function corpusPrompts(path: string = builtinCorpusPath()): string[] {
  return readPrompts(path);
}

export interface SplitOptions {
  /** Number of online iterations T. */
  iterations: number;
  /** Prompts per iteration m. */
  perIteration: number;
  validation: number;
  test: number;
  /**
   * Size of the offline prompt set (offline DPO / RSO). Default T·m. Drawn from the training part
   * (never from validation/test); it starts with the iteration prompts, so with the default it is
   * exactly their union: offline and online methods see the same prompts, only the pairs differ.
   */
  offline?: number;
  seed: Seed;
}

export interface PromptSplit {
  /** T disjoint sets of m prompts. */
  iterations: string[][];
  validation: string[];
  test: string[];
  /** May overlap the iteration sets (by design, see SplitOptions.offline); disjoint from validation and test. */
  offline: string[];
  /** Training-side prompts not in any iteration set. */
  unused: string[];
  /** Distinct prompts in the pool. */
  poolSize: number;
}

function count(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0)
    throw new RangeError(`splitPrompts: ${name} must be a non-negative integer, got ${v}`);
  return v;
}

/**
 * Seeded disjoint split. The deduplicated pool is shuffled with Rng(seed).fork("prompt-split") and
 * cut in the order test, validation, iteration 1..T, rest: the test set depends only on (pool, seed,
 * test size), so changing T or m never moves a prompt into or out of the test set.
 */
export function splitPrompts(prompts: readonly string[], opts: SplitOptions): PromptSplit {
  const T = count('iterations', opts.iterations);
  const m = count('perIteration', opts.perIteration);
  const nVal = count('validation', opts.validation);
  const nTest = count('test', opts.test);
  const pool = dedupePrompts(prompts);
  const need = T * m + nVal + nTest;
  if (need > pool.length) {
    throw new RangeError(
      `splitPrompts: the prompt pool has ${pool.length} distinct prompts but the split needs ${need} ` +
        `(iterations ${T}×${m} = ${T * m}, validation ${nVal}, test ${nTest}); ` +
        `use fewer or smaller sets, or a larger prompts file`,
    );
  }
  const train = pool.length - nVal - nTest;
  const nOff = count('offline', opts.offline ?? T * m);
  if (nOff > train) {
    throw new RangeError(
      `splitPrompts: offline set of ${nOff} prompts requested but only ${train} prompts are outside validation and test`,
    );
  }
  const order = new Rng(opts.seed).fork('prompt-split').shuffle(pool.slice());
  const test = order.slice(0, nTest);
  const validation = order.slice(nTest, nTest + nVal);
  const rest = order.slice(nTest + nVal);
  const iterations = Array.from({ length: T }, (_, t) => rest.slice(t * m, (t + 1) * m));
  return {
    iterations,
    validation,
    test,
    offline: rest.slice(0, nOff),
    unused: rest.slice(T * m),
    poolSize: pool.length,
  };
}
