/**
 * The crash-safe label ledger for async label sources: the accounting of the label budget. Every
 * answer is appended (fsync'd) to a JSONL file the moment the source returns it, before the caller
 * sees it; a query whose id is already in the file is answered from the file at no cost. So a run
 * killed at any point and resumed loses no answered label and never pays twice for the same query.
 * It is the asynchronous front end of the project's one ledger (`LedgerBook` in src/pref/labels.ts,
 * whose synchronous front end the miniature uses): same file format, torn-line repair and accounting.
 */
import { LedgerBook, recordVerdict, type LabelLedgerOptions, type LabelRecord } from '../pref/labels.js';
import {
  LabelSourceError,
  VERDICTS,
  type AsyncLabelSource,
  type LabelAnswer,
  type LabelOptions,
  type LabelQuery,
} from './types.js';

export interface AsyncLedgerOptions extends LabelLedgerOptions {
  /**
   * Queries sent to the source per call (default: all the new ones at once). Smaller chunks record
   * answers sooner, so a crash in a slow source loses less paid work.
   */
  chunk?: number;
  /** Called after each newly paid answer is durable (tests use it as a crash hook). */
  onPaid?: (paidThisSession: number) => void;
}

export class AsyncLabelLedger extends LedgerBook<AsyncLabelSource> implements AsyncLabelSource {
  private readonly chunk: number;
  private readonly onPaid?: (n: number) => void;
  private paid = 0;

  constructor(source: AsyncLabelSource, path: string, opts: AsyncLedgerOptions = {}) {
    super(source, path, opts);
    this.chunk = opts.chunk ?? Infinity;
    if (!(this.chunk >= 1)) throw new RangeError(`ledger chunk must be >= 1, got ${opts.chunk}`);
    this.onPaid = opts.onPaid;
    source.restore?.(Array.from(this.file.values(), (r) => answerOf(r)));
  }

  /**
   * Answers from the file for known ids (checked to carry the same texts), from the source for the
   * rest (recorded as they arrive). Returns answers in query order; unanswered queries are absent.
   */
  async label(queries: readonly LabelQuery[], opts: LabelOptions = {}): Promise<LabelAnswer[]> {
    // --- phase 1: replay what is paid for; collect the rest (one per id)
    const fresh: LabelQuery[] = [];
    const seen = new Map<string, LabelQuery>();
    for (const q of queries) {
      const dup = seen.get(q.id);
      if (dup) {
        if (dup.prompt !== q.prompt || dup.a !== q.a || dup.b !== q.b)
          throw new Error(
            `label ledger ${this.path}: query "${q.id}" appears twice in one batch with different texts`,
          );
        continue;
      }
      seen.set(q.id, q);
      if (!this.replay(q)) fresh.push(q);
    }
    // --- phase 2: ask the source, chunk by chunk, recording each answer before going on
    for (let i = 0; i < fresh.length; i += this.chunk === Infinity ? fresh.length : this.chunk) {
      if (opts.signal?.aborted) break;
      const part = fresh.slice(i, i + (this.chunk === Infinity ? fresh.length : this.chunk));
      let answers: LabelAnswer[];
      try {
        answers = await this.source.label(part, opts);
      } catch (e) {
        // Answers the source paid for before it failed stay in the ledger; --resume asks only the rest.
        if (e instanceof LabelSourceError && e.partial.length > 0) this.recordAnswers(part, e.partial);
        throw e;
      }
      this.recordAnswers(part, answers);
    }
    // --- phase 3: everything answered, in query order
    const out: LabelAnswer[] = [];
    for (const q of seen.values()) {
      const rec = this.file.get(q.id);
      if (!rec) continue;
      out.push(answerOf(rec));
    }
    return out;
  }

  /** Validates a source's answers against the queries asked and appends them (fsync'd). */
  private recordAnswers(asked: readonly LabelQuery[], answers: readonly LabelAnswer[]): void {
    const byId = new Map(asked.map((q) => [q.id, q]));
    const done = new Set<string>();
    for (const ans of answers) {
      const q = byId.get(ans.id);
      if (!q) throw new LabelSourceError(this.name, `answered an unknown query id ${JSON.stringify(ans.id)}`);
      if (done.has(ans.id)) throw new LabelSourceError(this.name, `answered query ${ans.id} twice`);
      if (!VERDICTS.includes(ans.verdict))
        throw new LabelSourceError(
          this.name,
          `query ${ans.id}: invalid verdict ${JSON.stringify(ans.verdict)}`,
        );
      done.add(ans.id);
      this.record(q, ans.verdict, ans.source, ans.detail);
      this.paid++;
      this.onPaid?.(this.paid);
    }
  }

  /** Labels paid in this process. */
  get labelsPaidThisSession(): number {
    return this.paid;
  }

  /** Closes the file and the source. */
  override async close(): Promise<void> {
    super.close();
    await this.source.close?.();
  }
}

/** A ledger record as the answer it holds. */
function answerOf(rec: LabelRecord): LabelAnswer {
  const a: LabelAnswer = { id: rec.id, verdict: recordVerdict(rec), source: rec.source };
  if (rec.detail) a.detail = rec.detail;
  return a;
}
