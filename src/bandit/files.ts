/**
 * File formats of the bandit lab (see docs/bandit-file-formats.md):
 *  - environment JSON: {"eta", "theta_star"?, "name"?, "description"?, "contexts": [{"weight"?, "features", "ref_logprobs"}]}
 *  - preference pairs JSONL: one {"context", "chosen", "rejected"} object per line.
 * Every error is a DataFileError naming the file, the line, the field and the offending value.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { logSumExp } from '../math/special.js';
import { GshfInputError } from '../math/errors.js';
import { findDuplicateKey } from '../math/json.js';
import { allocPairs, type BanditEnv, type PairData } from './env.js';

/** A bad environment or pairs file (a `GshfInputError`; the message names file, line and field). */
export class DataFileError extends GshfInputError {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Refuses a repeated key in one object (JSON.parse would silently keep the last value). */
function checkDuplicateKeys(text: string, source: string, line?: number): void {
  const dup = findDuplicateKey(text);
  if (!dup) return;
  const at = line ?? lineCol(text, dup.pos).line;
  throw new DataFileError(
    `${source} line ${at}: field "${dup.path}": duplicate key "${dup.key}" (JSON would keep only the last value)`,
    source,
    at,
    dup.path,
  );
}

type PathKey = string | number;

function formatPath(path: readonly PathKey[]): string {
  let s = '';
  for (const k of path) s += typeof k === 'number' ? `[${k}]` : s === '' ? k : `.${k}`;
  return s === '' ? '(root)' : s;
}

function showValue(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function lineCol(text: string, pos: number): { line: number; col: number } {
  let line = 1;
  let last = -1;
  const end = Math.min(pos, text.length);
  for (let i = 0; i < end; i++)
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  return { line, col: pos - last };
}

/**
 * Minimal JSON scanner used only on the error path: finds the text offset where the value at
 * `target` starts, or the offset, path and reason of the first syntax error. (JSON.parse does the
 * real parsing; V8's messages do not always carry a position.)
 */
class JsonScanner {
  pos = 0;
  found = -1;
  path: PathKey[] = [];
  constructor(
    private readonly text: string,
    private readonly target: readonly PathKey[] | null,
  ) {}

  fail(reason: string): never {
    throw new JsonSyntax(this.pos, [...this.path], reason);
  }

  ws(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.pos++;
      else break;
    }
  }

  private atTarget(): boolean {
    const tg = this.target;
    if (tg === null || this.found >= 0 || tg.length !== this.path.length) return false;
    for (let i = 0; i < tg.length; i++) if (tg[i] !== this.path[i]) return false;
    return true;
  }

  document(): void {
    this.ws();
    if (this.pos >= this.text.length) this.fail('the file is empty');
    this.value();
    this.ws();
    if (this.pos < this.text.length) this.fail('unexpected text after the end of the JSON value');
  }

  value(): void {
    this.ws();
    if (this.atTarget()) this.found = this.pos;
    const t = this.text;
    if (this.pos >= t.length) this.fail('unexpected end of file');
    const ch = t[this.pos];
    if (ch === '{') this.object();
    else if (ch === '[') this.array();
    else if (ch === '"') this.string();
    else if (ch === '-' || (ch >= '0' && ch <= '9')) this.number();
    else if (t.startsWith('true', this.pos)) this.pos += 4;
    else if (t.startsWith('false', this.pos)) this.pos += 5;
    else if (t.startsWith('null', this.pos)) this.pos += 4;
    else {
      const word = /^[A-Za-z_+\-.0-9]+/.exec(t.slice(this.pos, this.pos + 20))?.[0] ?? ch;
      this.fail(
        /^[-+]?(NaN|Infinity|inf|nan)$/i.test(word)
          ? `'${word}' is not a JSON number (JSON has no NaN or Infinity)`
          : `unexpected token '${word}'`,
      );
    }
  }

  object(): void {
    this.pos++;
    this.ws();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.text[this.pos] !== '"') this.fail('expected a double-quoted property name');
      const keyStart = this.pos;
      this.string();
      const key = JSON.parse(this.text.slice(keyStart, this.pos)) as string;
      this.ws();
      if (this.text[this.pos] !== ':') this.fail(`expected ':' after property name "${key}"`);
      this.pos++;
      this.path.push(key);
      this.value();
      this.path.pop();
      this.ws();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === '}') {
        this.pos++;
        return;
      }
      this.fail(
        c === undefined
          ? 'unexpected end of file inside an object'
          : "expected ',' or '}' after a property value",
      );
    }
  }

  array(): void {
    this.pos++;
    this.ws();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return;
    }
    for (let i = 0; ; i++) {
      this.path.push(i);
      this.value();
      this.path.pop();
      this.ws();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === ']') {
        this.pos++;
        return;
      }
      this.path.push(i);
      this.fail(
        c === undefined
          ? 'unexpected end of file inside an array'
          : "expected ',' or ']' after an array element",
      );
    }
  }

  string(): void {
    const t = this.text;
    this.pos++;
    while (this.pos < t.length) {
      const c = t[this.pos];
      if (c === '\\') this.pos += 2;
      else if (c === '"') {
        this.pos++;
        return;
      } else if (c === '\n') this.fail('unterminated string');
      else this.pos++;
    }
    this.fail('unterminated string');
  }

  number(): void {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(
      this.text.slice(this.pos, this.pos + 400),
    );
    if (!m) this.fail(`malformed number`);
    this.pos += m[0].length;
  }
}

class JsonSyntax {
  constructor(
    readonly pos: number,
    readonly path: PathKey[],
    readonly reason: string,
  ) {}
}

/** Text offset of the value at `path` (or of its nearest existing ancestor); -1 if not locatable. */
function locate(text: string, path: readonly PathKey[]): number {
  for (let k = path.length; k >= 0; k--) {
    const s = new JsonScanner(text, path.slice(0, k));
    try {
      s.document();
    } catch {
      return -1;
    }
    if (s.found >= 0) return s.found;
  }
  return -1;
}

/** JSON.parse with a DataFileError giving line:column (and the JSON path) on syntax errors. */
function parseJsonText(text: string, source: string): unknown {
  try {
    const value = JSON.parse(text) as unknown;
    checkDuplicateKeys(text, source);
    return value;
  } catch (e) {
    if (e instanceof DataFileError) throw e;
    const s = new JsonScanner(text, null);
    try {
      s.document();
    } catch (err) {
      if (err instanceof JsonSyntax) {
        const { line, col } = lineCol(text, err.pos);
        const field = err.path.length ? formatPath(err.path) : undefined;
        throw new DataFileError(
          `${source} line ${line} column ${col}: invalid JSON${field ? ` in field "${field}"` : ''}: ${err.reason}`,
          source,
          line,
          field,
        );
      }
      throw err;
    }
    throw new DataFileError(`${source}: invalid JSON: ${(e as Error).message}`, source);
  }
}

function valueAt(data: unknown, path: readonly PathKey[]): unknown {
  let cur: unknown = data;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

/** A DataFileError for the value at `path` of a parsed JSON document (line located in the text). */
function fieldError(
  text: string | null,
  source: string,
  data: unknown,
  path: readonly PathKey[],
  reason: string,
): DataFileError {
  const pos = text === null ? -1 : locate(text, path);
  const line = text !== null && pos >= 0 ? lineCol(text, pos).line : undefined;
  const field = formatPath(path);
  const where = line === undefined ? source : `${source} line ${line}`;
  const value = valueAt(data, path);
  const shown = value === undefined ? '' : ` (value: ${showValue(value)})`;
  return new DataFileError(`${where}: field "${field}": ${reason}${shown}`, source, line, field);
}

// JSON has no NaN/Infinity, but zod's number() also rejects them, which keeps in-memory callers honest.
const finite = z.number().refine(Number.isFinite, 'expected a finite number');

const ContextSchema = z.strictObject({
  name: z.string().optional(),
  weight: z.number().nonnegative().optional(),
  features: z.array(z.array(finite)).min(1, 'a context needs at least one action'),
  ref_logprobs: z.array(finite),
});

const EnvSchema = z.strictObject({
  name: z.string().optional(),
  description: z.string().optional(),
  eta: z.number().positive(),
  theta_star: z.array(finite).optional(),
  contexts: z.array(ContextSchema).min(1, 'the environment has no contexts'),
});

/**
 * Parse an environment JSON document (`source` names the file in errors). Normalisation on load: each context's ref_logprobs are
 * shifted by their log-sum-exp (so they may be given unnormalised, e.g. as logits), unless
 * already normalised to within 1e-12; weights default to 1 and are divided by their sum.
 */
export function parseEnv(text: string, source: string): BanditEnv {
  if (text.trim() === '') throw new DataFileError(`${source}: the file is empty`, source);
  return buildEnv(parseJsonText(text, source), source, text);
}

/**
 * An environment from an in-memory object in the env JSON format (same validation and
 * normalisation as parseEnv; errors name `source` and the field path, without line numbers).
 */
export function envFromJson(data: unknown, source = '(in-memory env)'): BanditEnv {
  return buildEnv(data, source, null);
}

function buildEnv(data: unknown, source: string, text: string | null): BanditEnv {
  const parsed = EnvSchema.safeParse(data);
  if (!parsed.success) {
    // An unknown key is usually a typo that also causes a "missing field" issue: report the typo.
    const issues = parsed.error.issues;
    const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0];
    let path = issue.path.filter((p): p is PathKey => typeof p !== 'symbol');
    let reason = issue.message;
    if (issue.code === 'unrecognized_keys') {
      path = [...path, issue.keys[0]];
      reason = `unknown field "${issue.keys[0]}"`;
    } else if (valueAt(data, path) === undefined) reason = 'missing required field';
    throw fieldError(text, source, data, path, reason);
  }
  const doc = parsed.data;
  const ctxs = doc.contexts;
  const d = ctxs[0].features[0].length;
  if (d < 1)
    throw fieldError(
      text,
      source,
      data,
      ['contexts', 0, 'features', 0],
      'feature rows must have at least one entry',
    );
  const nContexts = ctxs.length;
  const offsets = new Int32Array(nContexts + 1);
  for (let c = 0; c < nContexts; c++) {
    const K = ctxs[c].features.length;
    offsets[c + 1] = offsets[c] + K;
    for (let a = 0; a < K; a++)
      if (ctxs[c].features[a].length !== d)
        throw fieldError(
          text,
          source,
          data,
          ['contexts', c, 'features', a],
          `feature row has length ${ctxs[c].features[a].length}, expected d = ${d} (the length of contexts[0].features[0])`,
        );
    if (ctxs[c].ref_logprobs.length !== K)
      throw fieldError(
        text,
        source,
        data,
        ['contexts', c, 'ref_logprobs'],
        `has ${ctxs[c].ref_logprobs.length} entries but the context has K = ${K} actions (feature rows)`,
      );
  }
  if (doc.theta_star !== undefined && doc.theta_star.length !== d)
    throw fieldError(
      text,
      source,
      data,
      ['theta_star'],
      `has length ${doc.theta_star.length}, expected d = ${d}`,
    );
  const A = offsets[nContexts];
  const features = new Float64Array(A * d);
  const refLogprobs = new Float64Array(A);
  const weights = new Float64Array(nContexts);
  let wsum = 0;
  for (let c = 0; c < nContexts; c++) {
    const ctx = ctxs[c];
    const base = offsets[c];
    for (let a = 0; a < ctx.features.length; a++) {
      features.set(ctx.features[a], (base + a) * d);
      refLogprobs[base + a] = ctx.ref_logprobs[a];
      if (doc.theta_star !== undefined) {
        // r/η must stay finite with headroom, or every later log-probability overflows.
        let r = 0;
        for (let j = 0; j < d; j++) r += doc.theta_star[j] * ctx.features[a][j];
        if (!(Math.abs(r / doc.eta) <= 1e300))
          throw fieldError(
            text,
            source,
            data,
            ['contexts', c, 'features', a],
            `reward ⟨theta_star, φ⟩/eta = ${r / doc.eta} overflows float64 (must be within ±1e300)`,
          );
      }
    }
    const z = logSumExp(refLogprobs, base, ctx.features.length);
    if (Math.abs(z) > 1e-12) for (let a = 0; a < ctx.features.length; a++) refLogprobs[base + a] -= z;
    weights[c] = ctx.weight ?? 1;
    wsum += weights[c];
  }
  if (!(wsum > 0)) throw fieldError(text, source, data, ['contexts'], 'all context weights are zero');
  if (wsum !== 1) for (let c = 0; c < nContexts; c++) weights[c] /= wsum;
  return {
    name: doc.name ?? source.replace(/^.*[\\/]/, '').replace(/\.json$/i, ''),
    eta: doc.eta,
    d,
    nContexts,
    offsets,
    features,
    refLogprobs,
    weights,
    thetaStar: doc.theta_star ? Float64Array.from(doc.theta_star) : null,
  };
}

function readText(path: string): string {
  try {
    // Drop a UTF-8 byte-order mark (some editors add one; JSON.parse rejects it).
    return readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (e) {
    throw new DataFileError(`${path}: cannot read file (${(e as Error).message})`, path);
  }
}

export function readEnvFile(path: string): BanditEnv {
  return parseEnv(readText(path), path);
}

export interface EnvJson {
  name: string;
  eta: number;
  theta_star?: number[];
  contexts: { weight: number; features: number[][]; ref_logprobs: number[] }[];
}

/** The JSON document of an environment (parseEnv(JSON.stringify(envToJson(e))) reproduces e exactly). */
export function envToJson(env: BanditEnv): EnvJson {
  const d = env.d;
  const contexts: EnvJson['contexts'] = [];
  for (let c = 0; c < env.nContexts; c++) {
    const features: number[][] = [];
    const ref: number[] = [];
    for (let a = env.offsets[c]; a < env.offsets[c + 1]; a++) {
      features.push(Array.from(env.features.subarray(a * d, (a + 1) * d)));
      ref.push(env.refLogprobs[a]);
    }
    contexts.push({ weight: env.weights[c], features, ref_logprobs: ref });
  }
  const out: EnvJson = { name: env.name, eta: env.eta, contexts };
  if (env.thetaStar) out.theta_star = Array.from(env.thetaStar);
  return out;
}

/** Writes compact JSON with one context per line (diffable, still small). */
export function writeEnvFile(path: string, env: BanditEnv): void {
  const j = envToJson(env);
  const head: Record<string, unknown> = { name: j.name, eta: j.eta };
  if (j.theta_star) head.theta_star = j.theta_star;
  const headText = JSON.stringify(head).slice(0, -1);
  const body = j.contexts.map((c) => '  ' + JSON.stringify(c)).join(',\n');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${headText},"contexts":[\n${body}\n]}\n`);
}

const PairSchema = z.strictObject({
  context: z.number().int().nonnegative(),
  chosen: z.number().int().nonnegative(),
  rejected: z.number().int().nonnegative(),
});

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/** Parse a pairs JSONL document against an environment. Blank lines are skipped. */
export function parsePairs(text: string, source: string, env: BanditEnv): PairData {
  const lines = text.split('\n');
  let cap = 0;
  for (const l of lines) if (l.trim() !== '') cap++;
  if (cap === 0) throw new DataFileError(`${source}: the file has no pairs (it is empty or blank)`, source);
  const out = allocPairs(cap);
  let m = 0;
  const err = (line: number, field: string | undefined, reason: string): DataFileError =>
    new DataFileError(
      `${source} line ${line}${field ? `: field "${field}"` : ''}: ${reason}`,
      source,
      line,
      field,
    );
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    if (raw.trim() === '') continue;
    const line = i + 1;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (e) {
      const msg = (e as Error).message;
      const at = /position (\d+)/.exec(msg);
      throw err(line, undefined, `invalid JSON${at ? ` at column ${Number(at[1]) + 1}` : ''}: ${msg}`);
    }
    checkDuplicateKeys(raw, source, line);
    const o = obj as Record<string, unknown>;
    // Fast path for well-formed lines (10^6-line files); zod only explains failures.
    const fast =
      obj !== null &&
      typeof obj === 'object' &&
      !Array.isArray(obj) &&
      isIndex(o.context) &&
      isIndex(o.chosen) &&
      isIndex(o.rejected) &&
      Object.keys(o).length === 3;
    if (!fast) {
      const r = PairSchema.safeParse(obj);
      if (!r.success) {
        const issue = r.error.issues[0];
        if (issue.code === 'unrecognized_keys')
          throw err(
            line,
            issue.keys[0],
            `unknown field "${issue.keys[0]}" (expected context, chosen, rejected)`,
          );
        const field = issue.path.length ? String(issue.path[0]) : undefined;
        const value = field !== undefined && obj !== null && typeof obj === 'object' ? o[field] : obj;
        if (field === undefined)
          throw err(
            line,
            undefined,
            `expected an object {"context", "chosen", "rejected"}, got ${showValue(obj)}`,
          );
        if (value === undefined) throw err(line, field, 'missing required field');
        throw err(line, field, `${issue.message} (value: ${showValue(value)})`);
      }
    }
    const c = o.context as number;
    const w = o.chosen as number;
    const l = o.rejected as number;
    if (c >= env.nContexts)
      throw err(
        line,
        'context',
        `unknown context ${c}: environment '${env.name}' has ${env.nContexts} contexts (0..${env.nContexts - 1})`,
      );
    const K = env.offsets[c + 1] - env.offsets[c];
    if (w >= K)
      throw err(line, 'chosen', `unknown action ${w}: context ${c} has K = ${K} actions (0..${K - 1})`);
    if (l >= K)
      throw err(line, 'rejected', `unknown action ${l}: context ${c} has K = ${K} actions (0..${K - 1})`);
    if (w === l)
      throw err(
        line,
        'chosen',
        `chosen and rejected are the same action (${w}); such a pair carries no preference`,
      );
    out.context[m] = c;
    out.chosen[m] = w;
    out.rejected[m] = l;
    m++;
  }
  return out;
}

export function readPairsFile(path: string, env: BanditEnv): PairData {
  return parsePairs(readText(path), path, env);
}

/** Write pairs as JSONL. Ties (chosen == rejected) are rejected by the format: drop them first (dropTies). */
export function writePairsFile(path: string, pairs: PairData): void {
  const n = pairs.context.length;
  const parts: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    if (pairs.chosen[i] === pairs.rejected[i])
      throw new Error(
        `writePairsFile(${path}): pair ${i} has chosen == rejected (${pairs.chosen[i]}); remove ties with dropTies() first`,
      );
    parts[i] =
      `{"context":${pairs.context[i]},"chosen":${pairs.chosen[i]},"rejected":${pairs.rejected[i]}}\n`;
  }
  if (n === 0)
    throw new Error(`writePairsFile(${path}): no pairs to write (the format requires at least one)`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, parts.join(''));
}
