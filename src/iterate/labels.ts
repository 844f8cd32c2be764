/**
 * The label-source interface of the online iteration. A label source answers "which of
 * a and b is the better response to prompt?" for a batch of queries, asynchronously: an oracle or a
 * local reward model answers at once, a remote reward model or an LLM judge over HTTP, an external
 * command over stdin/stdout, and people through the annotation service (`human`), who may answer
 * only part of a batch before a deadline.
 *
 * Contract:
 *   - `label(queries)` resolves to answers for a subset of the queries (every answer's `id` is one of
 *     the queries' ids, at most one answer per id). A query without an answer is simply not labelled
 *     (a human deadline passed, a judge refused); the caller decides what to do with it. Sources that
 *     always answer everything (oracle, reward models) return one answer per query, in query order.
 *   - Query ids are deterministic and hierarchical (`it2/p17`): asking the same id again must be
 *     answered from the crash-safe ledger that wraps every paid source, never paid twice.
 *   - Errors are thrown as `LabelSourceError` with one line naming the source (and endpoint/command)
 *     and what went wrong; answers already returned stay in the ledger.
 *   - `verdict` is from the point of view of the query's own order (`a` then `b`), whatever order a
 *     source showed them in (a judge asks both orders; the annotation page randomises sides).
 */

/** One pair to label. `priority` (higher first) is the enhancer's uncertainty where it has one. */
export interface LabelQuery {
  id: string;
  prompt: string;
  a: string;
  b: string;
  priority?: number;
  /** The current reward model's r(a) − r(b) (the loop puts its favourite in slot a, so ≥ 0). */
  margin?: number;
  /**
   * The reward model's uncertainty about that difference where it has one: ‖φ_a − φ_b‖ in Σ⁻¹ for
   * the linear RM, the members' standard deviation of r(a) − r(b) for an ensemble. Routing by cost
   * (the `router` label source) reads it.
   */
  uncertainty?: number;
}

/** 'a' / 'b' = that response is preferred; 'tie' = no preference; 'both-bad' = neither is acceptable. */
export type Verdict = 'a' | 'b' | 'tie' | 'both-bad';

export const VERDICTS: readonly Verdict[] = ['a', 'b', 'tie', 'both-bad'];

export interface LabelAnswer {
  id: string;
  verdict: Verdict;
  /** Name of the source that produced it (e.g. "oracle", "judge:http://127.0.0.1:8000/v1"). */
  source: string;
  /** Source-specific details kept in the ledger (scores, judge replies, annotator ids, …). JSON only. */
  detail?: Record<string, unknown>;
}

export interface LabelOptions {
  /** Aborts waiting (e.g. on SIGINT); answers obtained so far are returned or already recorded. */
  signal?: AbortSignal;
}

export interface AsyncLabelSource {
  readonly name: string;
  label(queries: readonly LabelQuery[], opts?: LabelOptions): Promise<LabelAnswer[]>;
  /**
   * Called once by the ledger, before any `label` call, with the answers it already holds (a resumed
   * run), so a source with state of its own (a router's spent budget) can recount it. Optional.
   */
  restore?(answers: readonly LabelAnswer[]): void;
  /** Releases connections, child processes, timers. Optional. */
  close?(): Promise<void>;
}

/**
 * The one error type label sources throw: `message` is a single line fit for the user. `partial`
 * holds the answers a source obtained (and paid for) before it failed, so that the ledger can keep
 * them; it is empty when nothing was answered.
 */
export class LabelSourceError extends Error {
  constructor(
    readonly source: string,
    message: string,
    readonly partial: readonly LabelAnswer[] = [],
  ) {
    super(`${source}: ${message}`);
    this.name = 'LabelSourceError';
  }
}
