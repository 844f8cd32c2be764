/**
 * Label sources and the label ledger. The ledger is the accounting of the human-label budget: every
 * answered query is appended (fsync'd) to a JSONL file before it is returned, and a query whose id is
 * already in the file is answered from the file at no cost. So a run killed at any point and resumed
 * loses no answered label and never pays twice for the same query.
 */
import { closeSync, existsSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { didYouMean, GshfInputError } from '../math/errors.js';
import { readJsonl } from '../report/jsonl.js';
import { Rng, type Seed } from '../math/rng.js';
import { VERDICTS, type Verdict } from '../iterate/labels.js';
import type { LabelSource, Scorer } from './types.js';

export interface RewardModelLabelSourceOptions {
  name?: string;
  /**
   * Exact ties r(a) = r(b): 'random' (default) = a coin seeded by (seed, queryId), so a tie-heavy
   * scorer does not systematically favour whichever slot the caller puts first; 'first' = prefer a
   * (TRL OnlineDPOTrainer's rule).
   */
  ties?: 'random' | 'first';
  seed?: Seed;
}

/** Deterministic labeller: prefers the response with the higher score under any Scorer (a reward model, r*, …). */
export class RewardModelLabelSource implements LabelSource {
  readonly name: string;
  private readonly ties: 'random' | 'first';
  private readonly root: Rng;

  constructor(
    private readonly scorer: Scorer,
    opts: RewardModelLabelSourceOptions = {},
  ) {
    this.name = opts.name ?? 'reward-model';
    this.ties = opts.ties ?? 'random';
    this.root = new Rng(opts.seed ?? 0);
  }

  compare(prompt: string, a: string, b: string, queryId: string): boolean {
    const ra = this.scorer(prompt, a);
    const rb = this.scorer(prompt, b);
    if (Number.isNaN(ra) || Number.isNaN(rb))
      throw new Error(`${this.name}: scorer returned NaN for query ${queryId}`);
    if (ra !== rb) return ra > rb;
    return this.ties === 'first' ? true : this.root.fork(queryId).uniform() < 0.5;
  }
}

/**
 * One line of a ledger file. `t` is the ISO time the label was obtained. `verdict` (async sources)
 * is the full answer; files written before it existed, and the synchronous ledger, carry only
 * `a_preferred` (a tie or both-bad verdict is stored with a_preferred false and its verdict).
 */
export interface LabelRecord {
  id: string;
  prompt: string;
  a: string;
  b: string;
  a_preferred: boolean;
  verdict?: Verdict;
  source: string;
  t: string;
  /** Source-specific details (scores, judge replies, annotator ids). */
  detail?: Record<string, unknown>;
}

/** The answer a record holds ('a'/'b' from a_preferred when the record predates verdicts). */
export function recordVerdict(r: LabelRecord): Verdict {
  return r.verdict ?? (r.a_preferred ? 'a' : 'b');
}

export interface LabelLedgerOptions {
  /** fsync after every append (default true). Tests on tmpfs may turn it off for speed. */
  fsync?: boolean;
}

function isLabelRecord(o: unknown): o is LabelRecord {
  if (typeof o !== 'object' || o === null) return false;
  const r = o as Record<string, unknown>;
  return (
    typeof r.id === 'string' &&
    typeof r.prompt === 'string' &&
    typeof r.a === 'string' &&
    typeof r.b === 'string' &&
    typeof r.a_preferred === 'boolean' &&
    (r.verdict === undefined || (VERDICTS as readonly unknown[]).includes(r.verdict)) &&
    (r.detail === undefined || (typeof r.detail === 'object' && r.detail !== null)) &&
    typeof r.source === 'string' &&
    typeof r.t === 'string'
  );
}

/** Is `id` equal to `prefix` or below it in the '/'-separated hierarchy ("it1" does not match "it10/p3"). */
export function idUnder(id: string, prefix: string): boolean {
  if (prefix === '') return true;
  const p = prefix.endsWith('/') ? prefix : prefix + '/';
  return id === prefix || id.startsWith(p);
}

/**
 * The ledger's file format, shared by the synchronous `LabelLedger` (the miniature) and the async
 * ledger of the loop (src/feedback/ledger.ts): one JSON record per line, appended and fsync'd
 * before the answer is used; on load a torn last line (a crash mid-append) is cut away, a complete
 * last record lacking its newline is kept, and anything else malformed is an error naming the line.
 * The same id recorded with different texts is a determinism bug and throws.
 */
export class LedgerFile {
  readonly path: string;
  private readonly records = new Map<string, LabelRecord>();
  private readonly doFsync: boolean;
  private fd: number | null = null;
  /** Bytes removed from a torn last line when the file was loaded (0 when the file was clean). */
  readonly tornBytes: number;

  constructor(path: string, opts: LabelLedgerOptions = {}) {
    this.path = path;
    this.doFsync = opts.fsync ?? true;
    this.tornBytes = existsSync(path) ? this.load() : 0;
  }

  /**
   * Reads an existing ledger with the shared JSONL reader (src/report/jsonl.ts): a torn final line
   * is truncated away, a complete last record lacking its newline is kept, anything else malformed
   * throws naming the line. Returns the bytes dropped.
   */
  private load(): number {
    const { records, repaired } = readJsonl(this.path, { torn: 'repair' });
    for (const { line, value } of records) {
      if (!isLabelRecord(value)) {
        throw new GshfInputError('not a label record (need id, prompt, a, b, a_preferred, source, t)', {
          file: this.path,
          line,
        });
      }
      const prev = this.records.get(value.id);
      if (prev) {
        this.checkSame(prev, value.prompt, value.a, value.b);
        continue; // a duplicate line (should not happen) costs nothing
      }
      this.records.set(value.id, value);
    }
    return repaired?.bytesDropped ?? 0;
  }

  /** Throws unless the recorded texts of `rec` equal the ones asked now. */
  checkSame(rec: LabelRecord, prompt: string, a: string, b: string): void {
    const diff = rec.prompt !== prompt ? 'prompt' : rec.a !== a ? 'a' : rec.b !== b ? 'b' : null;
    if (diff !== null) {
      const was = JSON.stringify((rec as unknown as Record<string, string>)[diff]).slice(0, 80);
      const now = JSON.stringify(diff === 'prompt' ? prompt : diff === 'a' ? a : b).slice(0, 80);
      throw new Error(
        `label ledger ${this.path}: query "${rec.id}" was recorded with ${diff} ${was} but is asked again with ${diff} ${now} ` +
          `(the same queryId must always carry the same texts: a sampling/determinism bug, or a ledger from another run)`,
      );
    }
  }

  get(id: string): LabelRecord | undefined {
    return this.records.get(id);
  }

  /** Every record, in the order first written. */
  values(): IterableIterator<LabelRecord> {
    return this.records.values();
  }

  has(id: string): boolean {
    return this.records.has(id);
  }

  /** Appends (and fsyncs) one record; it is durable when this returns. */
  append(rec: LabelRecord): void {
    if (this.fd === null) this.fd = openSync(this.path, 'a');
    writeSync(this.fd, JSON.stringify(rec) + '\n');
    if (this.doFsync) fsyncSync(this.fd);
    this.records.set(rec.id, rec);
  }

  get size(): number {
    return this.records.size;
  }

  /** Unique labels whose id is `prefix` or under it (e.g. "seed0/iterative-dpo/it2"). */
  countUnder(prefix: string): number {
    let n = 0;
    for (const id of this.records.keys()) if (idUnder(id, prefix)) n++;
    return n;
  }

  entries(): LabelRecord[] {
    return [...this.records.values()];
  }

  close(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }
}

/**
 * The one label ledger: the accounting over a `LedgerFile` (replays, budget counts, records). Its
 * two front ends are the synchronous `LabelLedger` (the miniature asks one "prefer a?" at a time)
 * and the asynchronous `AsyncLabelLedger` (src/feedback/ledger.ts: batches to remote sources,
 * humans, judges); both pay for a query id once and replay it free ever after.
 */
export class LedgerBook<S extends { readonly name: string } = { readonly name: string }> {
  /** The paid source's name (answers replayed from the file keep their recorded source). */
  readonly name: string;
  readonly path: string;
  protected readonly file: LedgerFile;
  private replayed = 0;

  constructor(
    readonly source: S,
    path: string,
    opts: LabelLedgerOptions = {},
  ) {
    this.name = source.name;
    this.path = path;
    this.file = new LedgerFile(path, opts);
  }

  /** Bytes removed from a torn last line when the file was loaded (0 when the file was clean). */
  get tornBytes(): number {
    return this.file.tornBytes;
  }

  /** The recorded answer of a query, if any (no cost, no source call). */
  get(queryId: string): LabelRecord | undefined {
    return this.file.get(queryId);
  }

  has(queryId: string): boolean {
    return this.file.has(queryId);
  }

  /** The record of an already-paid query (checked to carry the same texts, counted as a replay), or undefined. */
  protected replay(q: { id: string; prompt: string; a: string; b: string }): LabelRecord | undefined {
    const rec = this.file.get(q.id);
    if (!rec) return undefined;
    this.file.checkSame(rec, q.prompt, q.a, q.b);
    this.replayed++;
    return rec;
  }

  /** Appends (fsync'd) the answer to a query: durable when this returns. */
  protected record(
    q: { id: string; prompt: string; a: string; b: string },
    verdict: Verdict | boolean,
    source: string,
    detail?: Record<string, unknown>,
  ): void {
    const rec: LabelRecord = {
      id: q.id,
      prompt: q.prompt,
      a: q.a,
      b: q.b,
      a_preferred: verdict === true || verdict === 'a',
      ...(typeof verdict === 'string' ? { verdict } : {}),
      source,
      t: new Date().toISOString(),
    };
    if (detail) rec.detail = detail;
    this.file.append(rec);
  }

  /** Unique labels paid for, including those loaded from the file (the budget actually spent). */
  get labelsUsed(): number {
    return this.file.size;
  }

  /** Queries answered from the record in this process (free). */
  get replays(): number {
    return this.replayed;
  }

  /** Unique labels whose id is `prefix` or under it (e.g. "seed0/iterative-dpo/it2"). */
  labelsBy(prefix: string): number {
    return this.file.countUnder(prefix);
  }

  /** All records in insertion (file) order. */
  entries(): LabelRecord[] {
    return this.file.entries();
  }

  /** Closes the append handle (appends reopen it). */
  close(): void {
    this.file.close();
  }
}

/**
 * Wraps a LabelSource with a persistent, crash-safe record of answered queries. It is itself a
 * LabelSource, so it can be passed wherever one is expected. QueryIds are hierarchical,
 * e.g. `seed0/iterative-dpo/it2/p17`, and must identify the query deterministically: the same id
 * with different texts is a determinism bug and throws.
 */
export class LabelLedger extends LedgerBook<LabelSource> implements LabelSource {
  private asked = 0;

  compare(prompt: string, a: string, b: string, queryId: string): boolean {
    const q = { id: queryId, prompt, a, b };
    const rec = this.replay(q);
    if (rec) return rec.a_preferred;
    const aPreferred = this.source.compare(prompt, a, b, queryId);
    this.record(q, aPreferred, this.source.name);
    this.asked++;
    return aPreferred;
  }

  /** Labels asked from the source in this process (excludes replays and loaded records). */
  get labelsAskedThisSession(): number {
    return this.asked;
  }
}

const QUERY_KEYS = ['prompt', 'a', 'b', 'id'] as const;

/**
 * `gshf pref label`: every {"prompt", "a", "b", "id"?} line of a JSONL file labelled through the
 * ledger (an id already in it is replayed free; the default id is `line<N>`), as preference pairs in
 * file order. Lines are read with the shared JSONL reader (strict JSON, errors name file and line);
 * a missing or non-string field, or an unknown key, is an error naming the line and the field.
 */
export function labelQueryFile(
  path: string,
  ledger: LabelLedger,
): { prompt: string; chosen: string; rejected: string }[] {
  return readJsonl(path).records.map(({ line, value }) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new GshfInputError('expected a JSON object {"prompt", "a", "b"}', { file: path, line });
    const r = value as Record<string, unknown>;
    for (const k of Object.keys(r))
      if (!(QUERY_KEYS as readonly string[]).includes(k))
        throw new GshfInputError(`unknown key "${k}"${didYouMean(k, QUERY_KEYS)}`, {
          file: path,
          line,
          field: k,
        });
    for (const k of ['prompt', 'a', 'b'] as const)
      if (typeof r[k] !== 'string')
        throw new GshfInputError('expected a string', { file: path, line, field: k });
    if (r.id !== undefined && typeof r.id !== 'string')
      throw new GshfInputError('expected a string', { file: path, line, field: 'id' });
    const [prompt, a, b] = [r.prompt as string, r.a as string, r.b as string];
    const aWins = ledger.compare(prompt, a, b, (r.id as string | undefined) ?? `line${line}`);
    return { prompt, chosen: aWins ? a : b, rejected: aWins ? b : a };
  });
}
