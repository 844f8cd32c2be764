/**
 * Shared shapes of the preference-learning layer (src/pref). Text in, text out: the layer talks to
 * the LM engine (src/nn) through its public API and to people/oracles through label sources.
 */

/** One preference: `chosen` was preferred to `rejected` as a response to `prompt`. */
export interface PreferencePair {
  prompt: string;
  chosen: string;
  rejected: string;
}

/**
 * Something that answers "which of a and b is the better response to prompt?". Every call to
 * `compare` costs one label. Implementations: the gold Bradley–Terry oracle, a reward model,
 * and later real people through a service.
 */
export interface LabelSource {
  readonly name: string;
  /** True when `a` is preferred to `b`. `queryId` identifies the query for accounting and replay. */
  compare(prompt: string, a: string, b: string, queryId: string): boolean;
}

/** A scalar score of a response to a prompt (gold reward r*, or a reward model's r). */
export type Scorer = (prompt: string, response: string) => number;
