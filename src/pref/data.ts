/**
 * Preference data on disk: TRL-style prompt/chosen/rejected JSONL (import and export, "standard"
 * strings and "conversational" message lists), and the pipeline's {"prompt","response"} JSONL.
 * Rules (templates, implicit prompts, strictness): docs/pref-data.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { parse as parseCsv } from 'csv-parse/sync';
import type { PreferencePair } from './types.js';
import {
  acceptedLayouts,
  detectLayout,
  extractStringPrompt,
  hhPromptMessages,
  splitHh,
  type PairLayout,
} from './layouts.js';
import { writeFileAtomic } from '../report/atomic.js';
import { parseJsonl, parseJsonStrict } from '../report/jsonl.js';
import { GshfInputError } from '../math/errors.js';

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
  /** Force a layout instead of detecting it from the first row. */
  layout?: PairLayout;
}

export interface TrlImport {
  pairs: ScoredPair[];
  /** Message form of the file: strings ('standard') or message lists ('conversational'). */
  format: TrlFormat;
  /** The row layout (detected from the first row, or forced). */
  layout: PairLayout;
  /** Lenient-mode notes ("line 3: ignored unknown field "id""), in line order. */
  warnings: string[];
}

const KNOWN_FIELDS = new Set(['prompt', 'chosen', 'rejected', 'margin', 'score_chosen', 'score_rejected']);
/** UltraFeedback-binarized extras: read past without a warning (the scores are kept). */
const ULTRAFEEDBACK_FIELDS = new Set([...KNOWN_FIELDS, 'prompt_id', 'messages']);
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

/** `side` that must be a string (strings=true) or a message list (strings=false) in this layout. */
function sideOf(field: string, v: unknown, strings: boolean, layout: PairLayout): string | ChatMessage[] {
  const s = side(field, v);
  if ((typeof s === 'string') !== strings)
    fail(field, `expected ${strings ? 'a string' : 'a list of messages'} (${layout} layout)`, v);
  return s;
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
  identical: boolean;
  unknown: string[];
  notes: string[];
}

type Texts = { prompt: string; chosen: string; rejected: string };

/** Number of shared leading messages of chosen and rejected (TRL's implicit conversational prompt). */
function sharedMessages(cm: ChatMessage[], rm: ChatMessage[]): number {
  let k = 0;
  while (k < cm.length && k < rm.length && sameMessage(cm[k], rm[k])) k++;
  return k;
}

/** Message-list rows: an explicit prompt list, or (prompt null) the shared leading messages. */
function conversationalTexts(
  prompt: ChatMessage[] | null,
  cm: ChatMessage[],
  rm: ChatMessage[],
  template: ChatTemplate,
  fallbackPrompt?: string,
): Texts | 'identical' {
  if (prompt !== null)
    return {
      prompt: chatToPromptText(prompt, template),
      chosen: responseOf('chosen', cm),
      rejected: responseOf('rejected', rm),
    };
  const k = sharedMessages(cm, rm);
  if (k === cm.length && k === rm.length) return 'identical';
  if (k === 0) {
    if (fallbackPrompt !== undefined)
      return {
        prompt: fallbackPrompt,
        chosen: responseOf('chosen', cm),
        rejected: responseOf('rejected', rm),
      };
    fail(
      'chosen',
      'no "prompt" and chosen/rejected share no leading messages, so there is no implicit prompt',
      cm,
    );
  }
  return {
    prompt: chatToPromptText(cm.slice(0, k), template),
    chosen: responseOf('chosen', cm.slice(k)),
    rejected: responseOf('rejected', rm.slice(k)),
  };
}

/** prompt/chosen/rejected texts of one row under `layout` (see layouts.ts). */
function rowTexts(
  o: Record<string, unknown>,
  layout: PairLayout,
  template: ChatTemplate,
): Texts | 'identical' {
  const strings = layout === 'standard' || layout === 'implicit' || layout === 'hh-rlhf';
  const chosen = sideOf('chosen', o.chosen, strings, layout);
  const rejected = sideOf('rejected', o.rejected, strings, layout);
  if (layout === 'standard') {
    if (o.prompt === undefined) fail('prompt', 'required in the standard layout', undefined);
    const prompt = sideOf('prompt', o.prompt, true, layout) as string;
    return { prompt, chosen: chosen as string, rejected: rejected as string };
  }
  if (o.prompt !== undefined && (layout === 'implicit' || layout === 'hh-rlhf'))
    fail('prompt', `not expected in the ${layout} layout (the prompt is inside chosen/rejected)`, o.prompt);
  if (layout === 'implicit') {
    if (chosen === rejected) return 'identical';
    const t = extractStringPrompt(chosen as string, rejected as string);
    if (t === null)
      fail(
        'chosen',
        'no "prompt" and chosen/rejected share no prefix, so there is no implicit prompt',
        chosen,
      );
    return t;
  }
  if (layout === 'hh-rlhf') {
    const t = splitHh(chosen as string, rejected as string);
    if ('error' in t) fail(t.field, t.error, t.field === 'chosen' ? chosen : rejected);
    return t;
  }
  const cm = chosen as ChatMessage[];
  const rm = rejected as ChatMessage[];
  if (layout === 'ultrafeedback') {
    if (typeof o.prompt !== 'string' || o.prompt === '')
      fail('prompt', 'expected a non-empty string (ultrafeedback layout)', o.prompt);
    // TRL's maybe_extract_prompt: a string prompt with message completions is replaced by the
    // shared leading messages; rows whose completions hold only the answer keep the string prompt.
    return conversationalTexts(null, cm, rm, template, o.prompt);
  }
  const prompt = o.prompt === undefined ? null : (sideOf('prompt', o.prompt, false, layout) as ChatMessage[]);
  return conversationalTexts(prompt, cm, rm, template);
}

function parseRow(o: Record<string, unknown>, layout: PairLayout, template: ChatTemplate): ParsedRow {
  const known = layout === 'ultrafeedback' ? ULTRAFEEDBACK_FIELDS : KNOWN_FIELDS;
  const unknown = Object.keys(o).filter((k) => !known.has(k));
  const notes: string[] = [];
  const extras: Partial<Record<(typeof NUMERIC_FIELDS)[number], number>> = {};
  for (const k of NUMERIC_FIELDS) {
    if (o[k] === undefined || o[k] === null) continue;
    const r = FiniteNumber.safeParse(o[k]);
    if (r.success) extras[k] = r.data;
    else if (layout === 'ultrafeedback')
      notes.push(`ignored field "${k}" (not a finite number: ${preview(o[k])})`);
    else fail(k, 'expected a finite number', o[k]);
  }
  const t = rowTexts(o, layout, template);
  if (t === 'identical')
    return { pair: { prompt: '', chosen: '', rejected: '' }, identical: true, unknown, notes };
  if (t.prompt === '') fail('prompt', 'expected a non-empty prompt', t.prompt);
  if (t.chosen === '') fail('chosen', 'expected a non-empty response', t.chosen);
  if (t.rejected === '') fail('rejected', 'expected a non-empty response', t.rejected);
  return { pair: { ...t, ...extras }, identical: t.chosen === t.rejected, unknown, notes };
}

/**
 * Rows of CSV text (RFC 4180: a header row, quoted fields with embedded commas, quotes and newlines;
 * parsed by csv-parse) as objects keyed by the header, each with the 1-based line its record starts
 * on. Every value is a string; a row with more or fewer fields than the header, an empty or
 * duplicated column name, or malformed quoting is an error `<name>:<line>: …`.
 */
export function csvRows(text: string, name: string): { line: number; obj: Record<string, unknown> }[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parseCsv(text.replace(/^\uFEFF/, ''), {
      info: true,
      relax_column_count: false,
      skip_empty_lines: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (e) {
    const err = e as Error & { lines?: number };
    throw new GshfInputError(
      `${name}:${err.lines ?? 1}: invalid CSV (${err.message.replace(/^Invalid Record Length: /, '')})`,
    );
  }
  if (records.length === 0) throw new GshfInputError(`${name}: empty CSV file (no header row)`);
  const header = records[0].record.map((h) => h.trim());
  header.forEach((h, i) => {
    if (h === '') throw new GshfInputError(`${name}:1: column ${i + 1} has no name in the header row`);
    if (header.indexOf(h) !== i)
      throw new GshfInputError(`${name}:1: column "${h}" appears twice in the header row`);
  });
  return records.slice(1).map(({ record, info }) => ({
    line: info.lines,
    obj: Object.fromEntries(header.map((h, i) => [h, record[i]])),
  }));
}

/**
 * Parsed JSON objects of JSONL text with their 1-based line numbers, through the project's one
 * JSONL reader (src/report/jsonl.ts: invalid JSON, duplicate keys and torn last lines are errors
 * `<name>:<line>: …`); a line that is not an object fails naming `shape`.
 */
export function jsonlRows(
  text: string,
  name: string,
  shape: string,
): { line: number; obj: Record<string, unknown> }[] {
  const { records, torn } = parseJsonl(text, name);
  if (torn)
    throw new GshfInputError(`invalid JSON (an incomplete last line of ${torn.bytes} bytes)`, {
      file: name,
      line: torn.line,
    });
  return records.map(({ line, value }) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new GshfInputError(`${name}:${line}: expected a JSON object ${shape}, got ${preview(value)}`);
    return { line, obj: value as Record<string, unknown> };
  });
}

/** The layout of a file from its first row, or an error listing the accepted layouts. */
function fileLayout(first: { line: number; obj: Record<string, unknown> }, name: string): PairLayout {
  const l = detectLayout(first.obj);
  if (l !== null) return l;
  // A value that is no layout's (a number, an empty list, a bad message) gets the field error.
  try {
    if (first.obj.chosen !== undefined || first.obj.rejected !== undefined)
      for (const k of ['chosen', 'rejected', 'prompt'])
        if (k !== 'prompt' || first.obj[k] !== undefined) side(k, first.obj[k]);
  } catch (e) {
    if (e instanceof RowError) throw new GshfInputError(`${name}:${first.line}: ${e.message}`);
    throw e;
  }
  const keys =
    Object.keys(first.obj)
      .map((k) => `"${k}"`)
      .join(', ') || 'no keys';
  throw new GshfInputError(
    `${name}:${first.line}: unknown preference layout (keys ${keys}; prompt/chosen/rejected types ${['prompt', 'chosen', 'rejected'].map((k) => (Array.isArray(first.obj[k]) ? 'list' : typeof first.obj[k])).join('/')}). Accepted layouts:\n${acceptedLayouts()}`,
  );
}

/**
 * Parses preference JSONL text in any accepted layout (layouts.ts); `name` (usually the file name)
 * prefixes every error: "<name> line N: field "x": expected …, got …".
 */
export function parseTrlJsonl(text: string, name: string, opts: ReadTrlOptions = {}): TrlImport {
  return parseTrlRows(jsonlRows(text, name, '{"prompt", "chosen", "rejected"}'), name, opts);
}

/** Preference rows (from JSONL or CSV) in any accepted layout → pairs; errors `<name>:<line>: …`. */
function parseTrlRows(
  rows: { line: number; obj: Record<string, unknown> }[],
  name: string,
  opts: ReadTrlOptions,
): TrlImport {
  const template = opts.template ?? 'content';
  if (rows.length === 0) throw new Error(`${name}: empty file (no preference rows)`);
  const layout = opts.layout ?? fileLayout(rows[0], name);
  const pairs: ScoredPair[] = [];
  const warnings: string[] = [];
  for (const { line, obj } of rows) {
    const where = `${name}:${line}`;
    let row: ParsedRow;
    try {
      row = parseRow(obj, layout, template);
    } catch (e) {
      if (e instanceof RowError) throw new GshfInputError(`${where}: ${e.message}`);
      throw e;
    }
    for (const n of row.notes) warnings.push(`${where}: ${n}`);
    if (row.unknown.length > 0) {
      const list = row.unknown.map((k) => `"${k}"`).join(', ');
      if (!opts.lenient) {
        throw new GshfInputError(
          `${where}: unknown field(s) ${list} (the ${layout} layout takes ${[...(layout === 'ultrafeedback' ? ULTRAFEEDBACK_FIELDS : KNOWN_FIELDS)].join(', ')}; pass lenient to ignore)`,
        );
      }
      warnings.push(`${where}: ignored unknown field(s) ${list}`);
    }
    if (row.identical) {
      if (!opts.lenient)
        throw new GshfInputError(
          `${where}: chosen and rejected are identical (no preference signal; pass lenient to drop such rows)`,
        );
      warnings.push(`${where}: dropped, chosen and rejected are identical`);
      continue;
    }
    pairs.push(row.pair);
  }
  if (pairs.length === 0)
    throw new Error(`${name}: no usable preference rows (all ${warnings.length} dropped)`);
  const format: TrlFormat =
    layout === 'conversational' || layout === 'ultrafeedback' ? 'conversational' : 'standard';
  return { pairs, format, layout, warnings };
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

/**
 * Reads a preference file: TRL JSONL in any accepted layout, or CSV (`.csv`: a header row with the
 * string columns prompt, chosen, rejected — or chosen, rejected for the implicit / HH layouts — plus
 * optional numeric score_chosen / score_rejected). Errors: "<file>:<line>: field "x": expected …".
 */
export function readTrlJsonl(path: string, opts: ReadTrlOptions = {}): TrlImport {
  const text = readText(path, 'preference file');
  if (!/\.csv$/i.test(path)) return parseTrlJsonl(text, basename(path), opts);
  const rows = csvRows(text, basename(path)).map(({ line, obj }) => ({ line, obj: numericScores(obj) }));
  if (rows.length === 0) throw new Error(`${basename(path)}: empty file (no preference rows)`);
  return parseTrlRows(rows, basename(path), opts);
}

/** CSV cells are strings: the numeric extras (score_chosen, …) become numbers where they parse. */
function numericScores(obj: Record<string, unknown>): Record<string, unknown> {
  const out = { ...obj };
  for (const k of NUMERIC_FIELDS)
    if (typeof out[k] === 'string') {
      const v = (out[k] as string).trim();
      if (v === '') delete out[k];
      else if (Number.isFinite(Number(v))) out[k] = Number(v);
    }
  return out;
}

/** Same as readTrlJsonl: a preference file in any accepted layout (`import { readPreferenceFile } from 'gshf'`). */
export const readPreferenceFile = readTrlJsonl;
/** Same as parseTrlJsonl, for text already in memory. */
export const parsePreferenceRows = parseTrlJsonl;

/**
 * gshf pairs JSONL (what `pref import` writes and `pref export --in` / the training commands read):
 * the standard layout, strictly — an empty file, unknown fields, empty strings or chosen == rejected
 * are errors naming file, line and field, so nothing is exported that `pref import` would refuse.
 */
export function readPairsFile(path: string): ScoredPair[] {
  return readTrlJsonl(path, { layout: 'standard' }).pairs;
}

const StoredSideSchema = z.object({ text: z.string() }).passthrough();
const StoredPairSchema = z
  .object({ prompt: z.string(), chosen: StoredSideSchema, rejected: StoredSideSchema })
  .passthrough();

/**
 * The pairs a `gshf lm reproduce` stage collected (`<run>/stages/<stage>/pairs.json`, or the pool's
 * seed.json + rest.json). A corrupt file is an error naming the file, item and field.
 */
export function readStagePairs(run: string, stage: string): PreferencePair[] {
  const dir = join(run, 'stages', stage);
  const files = existsSync(join(dir, 'pairs.json'))
    ? ['pairs.json']
    : ['seed.json', 'rest.json'].filter((f) => existsSync(join(dir, f)));
  if (files.length === 0)
    throw new Error(
      `${dir}: no pairs.json (a stage that collects pairs: seedS/pool, seedS/rso, seedS/<online method>/itT, …)`,
    );
  const out: PreferencePair[] = [];
  for (const f of files) {
    const path = join(dir, f);
    const rows = parseJsonStrict(readText(path, 'stage pairs'), path);
    if (!Array.isArray(rows))
      throw new Error(`${path}: expected a JSON array of pairs, got ${preview(rows)}`);
    rows.forEach((r, i) => {
      const p = StoredPairSchema.safeParse(r);
      if (!p.success) {
        const issue = p.error.issues[0];
        throw new Error(
          `${path} item ${i}: field "${issue.path.join('.')}": ${issue.message}, got ${preview(r)}`,
        );
      }
      out.push({ prompt: p.data.prompt, chosen: p.data.chosen.text, rejected: p.data.rejected.text });
    });
  }
  return out;
}

export interface WriteTrlOptions {
  format: TrlFormat;
}

/**
 * Internal pairs → TRL rows. Conversational rows use an explicit prompt (TRL's recommended form):
 * prompt = one user message, chosen/rejected = one assistant message each. A prompt that is an
 * HH-RLHF transcript becomes its turns (user / assistant messages, markers removed) and the
 * responses lose HH's leading space. Optional numeric extras are kept when present.
 */
export function pairsToTrlRows(pairs: readonly ScoredPair[], opts: WriteTrlOptions): TrlRow[] {
  return pairs.map((p) => {
    const turns = opts.format === 'conversational' ? hhPromptMessages(p.prompt) : null;
    const reply = (text: string) => (turns ? text.trim() : text);
    const row: TrlRow =
      opts.format === 'standard'
        ? { prompt: p.prompt, chosen: p.chosen, rejected: p.rejected }
        : {
            prompt: turns ?? [{ role: 'user', content: p.prompt }],
            chosen: [{ role: 'assistant', content: reply(p.chosen) }],
            rejected: [{ role: 'assistant', content: reply(p.rejected) }],
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
  for (const { line, obj: r } of jsonlRows(
    readText(path, 'prompt/response file'),
    name,
    '{"prompt", "response"}',
  )) {
    const where = `${name}:${line}`;
    if (typeof r.prompt !== 'string' || r.prompt === '')
      throw new GshfInputError(
        `${where}: field "prompt": expected a non-empty string, got ${preview(r.prompt)}`,
      );
    if (typeof r.response !== 'string')
      throw new GshfInputError(`${where}: field "response": expected a string, got ${preview(r.response)}`);
    out.push({ prompt: r.prompt, response: r.response });
  }
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
