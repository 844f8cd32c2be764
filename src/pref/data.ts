/**
 * Preference data on disk: TRL-style prompt/chosen/rejected JSONL (import and export, "standard"
 * strings and "conversational" message lists), and the pipeline's {"prompt","response"} JSONL.
 * Rules (templates, implicit prompts, strictness): docs/pref-data.md.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { z } from 'zod';
import type { PreferencePair } from './types.js';
import { writeFileAtomic } from '../report/atomic.js';

export interface ChatMessage {
  role: string;
  content: string;
}

export type TrlFormat = 'standard' | 'conversational';

/** How a list of prompt messages becomes the prompt text the LM sees. */
export type ChatTemplate = 'content' | 'roles';

/** A preference pair with TRL's optional numeric extras. */
export interface ScoredPair extends PreferencePair {
  margin?: number;
  score_chosen?: number;
  score_rejected?: number;
}

/** One TRL row as written to / read from JSONL. */
export interface TrlRow {
  prompt?: string | ChatMessage[];
  chosen: string | ChatMessage[];
  rejected: string | ChatMessage[];
  margin?: number;
  score_chosen?: number;
  score_rejected?: number;
}

export interface ReadTrlOptions {
  /**
   * Lenient mode: unknown fields are ignored and pairs with chosen == rejected are dropped, each
   * with a warning. Default (strict): both are errors, because a typo'd field name ("choosen") or a
   * no-signal pair usually means the file is not what the user thinks it is.
   */
  lenient?: boolean;
  /** Prompt messages → text (default 'content'); see chatToPromptText. */
  template?: ChatTemplate;
}

export interface TrlImport {
  pairs: ScoredPair[];
  /** Format of the file (mixing the two is rejected, as TRL datasets are homogeneous). */
  format: TrlFormat;
  /** Lenient-mode notes ("line 3: ignored unknown field "id""), in line order. */
  warnings: string[];
}

const KNOWN_FIELDS = new Set(['prompt', 'chosen', 'rejected', 'margin', 'score_chosen', 'score_rejected']);
const NUMERIC_FIELDS = ['margin', 'score_chosen', 'score_rejected'] as const;

const MessageSchema = z.object({ role: z.string().min(1), content: z.string() }).strict();
const FiniteNumber = z.number().finite();

function preview(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

class RowError extends Error {}

function fail(field: string, msg: string, value: unknown): never {
  throw new RowError(`field "${field}": ${msg}, got ${preview(value)}`);
}

/** A string or a non-empty list of {role, content} messages; anything else fails naming the field. */
function side(field: string, v: unknown): string | ChatMessage[] {
  if (typeof v === 'string') return v;
  if (!Array.isArray(v) || v.length === 0) fail(field, 'expected a string or a list of messages', v);
  return v.map((m, i) => {
    const r = MessageSchema.safeParse(m);
    if (!r.success) {
      const issue = r.error.issues[0];
      const key = issue.path.length > 0 ? `.${issue.path.join('.')}` : '';
      const got =
        issue.path.length > 0 && typeof m === 'object' && m !== null
          ? (m as Record<string, unknown>)[String(issue.path[0])]
          : m;
      const what =
        issue.code === 'unrecognized_keys'
          ? `unexpected key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')} in a message (only "role" and "content")`
          : key === '.role'
            ? 'expected a non-empty string role'
            : key === '.content'
              ? 'expected a string content'
              : 'expected a message {"role", "content"}';
      fail(
        `${field}[${i}]${issue.code === 'unrecognized_keys' ? '' : key}`,
        what,
        issue.code === 'unrecognized_keys' ? m : got,
      );
    }
    return r.data;
  });
}

function sameMessage(x: ChatMessage, y: ChatMessage): boolean {
  return x.role === y.role && x.content === y.content;
}

/**
 * Prompt messages → prompt text. 'content' (default): the message contents joined with "\n", roles
 * dropped, so a single user message maps to its content verbatim (our own conversational export
 * round-trips exactly). 'roles': "<role>: <content>\n" per message, then "assistant:" — a minimal
 * role-tagged transcript for multi-turn data. Either way the response is the assistant content verbatim.
 */
export function chatToPromptText(
  messages: readonly ChatMessage[],
  template: ChatTemplate = 'content',
): string {
  if (template === 'content') return messages.map((m) => m.content).join('\n');
  return messages.map((m) => `${m.role}: ${m.content}\n`).join('') + 'assistant:';
}

/** The response of a completion side: exactly one assistant message. */
function responseOf(field: string, msgs: ChatMessage[]): string {
  if (msgs.length !== 1) {
    fail(field, `expected a single assistant message after the prompt (${msgs.length} messages)`, msgs);
  }
  if (msgs[0].role !== 'assistant')
    fail(`${field}[0].role`, 'expected "assistant" for the response turn', msgs[0].role);
  return msgs[0].content;
}

interface ParsedRow {
  pair: ScoredPair;
  format: TrlFormat;
  identical: boolean;
  unknown: string[];
}

function parseRow(o: Record<string, unknown>, template: ChatTemplate): ParsedRow {
  const unknown = Object.keys(o).filter((k) => !KNOWN_FIELDS.has(k));
  const chosen = side('chosen', o.chosen);
  const rejected = side('rejected', o.rejected);
  const prompt = o.prompt === undefined ? undefined : side('prompt', o.prompt);
  const conv = typeof chosen !== 'string';
  if ((typeof rejected !== 'string') !== conv) {
    fail('rejected', `expected ${conv ? 'a list of messages' : 'a string'} like "chosen"`, o.rejected);
  }
  if (prompt !== undefined && (typeof prompt !== 'string') !== conv) {
    fail('prompt', `expected ${conv ? 'a list of messages' : 'a string'} like "chosen"`, o.prompt);
  }
  const extras: Partial<Record<(typeof NUMERIC_FIELDS)[number], number>> = {};
  for (const k of NUMERIC_FIELDS) {
    if (o[k] === undefined) continue;
    const r = FiniteNumber.safeParse(o[k]);
    if (!r.success) fail(k, 'expected a finite number', o[k]);
    extras[k] = r.data;
  }
  let p: string;
  let c: string;
  let r: string;
  if (!conv) {
    if (prompt === undefined) {
      fail(
        'prompt',
        'required in the standard (string) format; implicit prompts are extracted only from message lists',
        undefined,
      );
    }
    [p, c, r] = [prompt as string, chosen as string, rejected as string];
  } else {
    let pm: ChatMessage[];
    let cm = chosen as ChatMessage[];
    let rm = rejected as ChatMessage[];
    if (prompt !== undefined) {
      pm = prompt as ChatMessage[];
    } else {
      // TRL's implicit prompt: the longest common message prefix of chosen and rejected.
      let k = 0;
      while (k < cm.length && k < rm.length && sameMessage(cm[k], rm[k])) k++;
      if (k === cm.length && k === rm.length) {
        return {
          pair: { prompt: chatToPromptText(cm.slice(0, -1), template), chosen: '', rejected: '' },
          format: 'conversational',
          identical: true,
          unknown,
        };
      }
      if (k === 0)
        fail(
          'chosen',
          'no "prompt" and chosen/rejected share no leading messages, so there is no implicit prompt',
          o.chosen,
        );
      pm = cm.slice(0, k);
      cm = cm.slice(k);
      rm = rm.slice(k);
    }
    p = chatToPromptText(pm, template);
    c = responseOf('chosen', cm);
    r = responseOf('rejected', rm);
  }
  if (p === '') fail('prompt', 'expected a non-empty prompt', p);
  if (c === '') fail('chosen', 'expected a non-empty response', c);
  if (r === '') fail('rejected', 'expected a non-empty response', r);
  return {
    pair: { prompt: p, chosen: c, rejected: r, ...extras },
    format: conv ? 'conversational' : 'standard',
    identical: c === r,
    unknown,
  };
}

/** Parses TRL preference JSONL text; `name` (usually the file name) prefixes every error. */
export function parseTrlJsonl(text: string, name: string, opts: ReadTrlOptions = {}): TrlImport {
  const template = opts.template ?? 'content';
  const pairs: ScoredPair[] = [];
  const warnings: string[] = [];
  let format: TrlFormat | null = null;
  let formatLine = 0;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const where = `${name} line ${i + 1}`;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new Error(`${where}: invalid JSON (${(e as Error).message})`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      throw new Error(
        `${where}: expected a JSON object {"prompt", "chosen", "rejected"}, got ${preview(obj)}`,
      );
    }
    let row: ParsedRow;
    try {
      row = parseRow(obj as Record<string, unknown>, template);
    } catch (e) {
      if (e instanceof RowError) throw new Error(`${where}: ${e.message}`);
      throw e;
    }
    if (row.unknown.length > 0) {
      const list = row.unknown.map((k) => `"${k}"`).join(', ');
      if (!opts.lenient) {
        throw new Error(
          `${where}: unknown field(s) ${list} (expected prompt, chosen, rejected, margin, score_chosen, score_rejected; pass lenient to ignore)`,
        );
      }
      warnings.push(`${where}: ignored unknown field(s) ${list}`);
    }
    if (format === null) {
      format = row.format;
      formatLine = i + 1;
    } else if (row.format !== format) {
      throw new Error(
        `${where}: ${row.format} row in a ${format} file (line ${formatLine} is ${format}); do not mix the two formats`,
      );
    }
    if (row.identical) {
      if (!opts.lenient)
        throw new Error(
          `${where}: chosen and rejected are identical (no preference signal; pass lenient to drop such rows)`,
        );
      warnings.push(`${where}: dropped, chosen and rejected are identical`);
      return;
    }
    pairs.push(row.pair);
  });
  if (format === null) throw new Error(`${name}: empty file (no preference rows)`);
  if (pairs.length === 0)
    throw new Error(`${name}: no usable preference rows (all ${warnings.length} dropped)`);
  return { pairs, format, warnings };
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(
      `${path}: cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
}

/** Reads a TRL preference JSONL file (errors: "<file> line N: field "x": expected …, got …"). */
export function readTrlJsonl(path: string, opts: ReadTrlOptions = {}): TrlImport {
  return parseTrlJsonl(readText(path, 'preference file'), basename(path), opts);
}

export interface WriteTrlOptions {
  format: TrlFormat;
}

/**
 * Internal pairs → TRL rows. Conversational rows use an explicit prompt (TRL's recommended form):
 * prompt = one user message, chosen/rejected = one assistant message each. Optional numeric extras
 * are kept when present.
 */
export function pairsToTrlRows(pairs: readonly ScoredPair[], opts: WriteTrlOptions): TrlRow[] {
  return pairs.map((p) => {
    const row: TrlRow =
      opts.format === 'standard'
        ? { prompt: p.prompt, chosen: p.chosen, rejected: p.rejected }
        : {
            prompt: [{ role: 'user', content: p.prompt }],
            chosen: [{ role: 'assistant', content: p.chosen }],
            rejected: [{ role: 'assistant', content: p.rejected }],
          };
    for (const k of NUMERIC_FIELDS) if (typeof p[k] === 'number') row[k] = p[k];
    return row;
  });
}

/** Writes pairs as TRL JSONL (one row per line, keys in prompt, chosen, rejected, extras order). */
export function writeTrlJsonl(path: string, pairs: readonly ScoredPair[], opts: WriteTrlOptions): void {
  writeFileAtomic(
    path,
    pairsToTrlRows(pairs, opts)
      .map((r) => JSON.stringify(r) + '\n')
      .join(''),
  );
}

/** One {"prompt","response"} line (generated or scored samples, SFT data). */
export interface PromptResponse {
  prompt: string;
  response: string;
}

/**
 * Reads {"prompt","response"} JSONL. Other fields are ignored here (unlike preference files): the
 * built-in corpus carries "sentiment"/"style" and generation logs carry scores. `response` may be
 * empty (a model can stop at once); `prompt` may not.
 */
export function readPromptResponses(path: string): PromptResponse[] {
  const name = basename(path);
  const out: PromptResponse[] = [];
  readText(path, 'prompt/response file')
    .split('\n')
    .forEach((raw, i) => {
      if (raw.trim() === '') return;
      const where = `${name} line ${i + 1}`;
      let o: unknown;
      try {
        o = JSON.parse(raw);
      } catch (e) {
        throw new Error(`${where}: invalid JSON (${(e as Error).message})`);
      }
      if (typeof o !== 'object' || o === null || Array.isArray(o))
        throw new Error(`${where}: expected a JSON object {"prompt", "response"}, got ${preview(o)}`);
      const r = o as Record<string, unknown>;
      if (typeof r.prompt !== 'string' || r.prompt === '')
        throw new Error(`${where}: field "prompt": expected a non-empty string, got ${preview(r.prompt)}`);
      if (typeof r.response !== 'string')
        throw new Error(`${where}: field "response": expected a string, got ${preview(r.response)}`);
      out.push({ prompt: r.prompt, response: r.response });
    });
  if (out.length === 0) throw new Error(`${name}: empty file (no prompt/response rows)`);
  return out;
}

/** Writes {"prompt","response"} JSONL (atomically). */
export function writePromptResponses(path: string, rows: readonly PromptResponse[]): void {
  writeFileAtomic(
    path,
    rows.map((r) => JSON.stringify({ prompt: r.prompt, response: r.response }) + '\n').join(''),
  );
}
