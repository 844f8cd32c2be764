/**
 * The gold reward r*(x, a) of the miniature reproduction and the gold Bradley–Terry oracle that
 * plays the human labeller. r* is the AFINN-165 lexicon score (npm `sentiment`) of the RESPONSE,
 * raw word-valence sum divided by GOLD_SCALE. The raw sum (not the per-token `comparative`) is used
 * on purpose: repeating "great" keeps adding reward, an exploitable quirk the experiments measure
 * (reward hacking by repetition), and it is what a best-of-n ranker under r* rewards.
 * Quirks and the measured corpus distribution: docs/pref-data.md.
 */
import Sentiment from 'sentiment';
import { Rng, type Seed } from '../math/rng.js';
import { sigmoid } from '../math/special.js';
import type { LabelSource, Scorer } from './types.js';

/**
 * r* = AFINN sum / GOLD_SCALE. AFINN word valences are integers in [−5, 5]; corpus responses sum to
 * roughly −9 … +12 (docs/pref-data.md), so dividing by 5 puts typical best-vs-worst gaps at 1–4 units,
 * where σ(Δr) spans 0.73–0.98: the oracle is informative but still noisy at temperature 1.
 */
export const GOLD_SCALE = 5;

const analyzer = new Sentiment();

/** Raw AFINN-165 score (sum of word valences, with `sentiment`'s negation rule) of a text. */
export function afinnScore(text: string): number {
  return analyzer.analyze(text).score;
}

/** The gold reward r*(x, a): ignores the prompt; AFINN sum of the response / GOLD_SCALE. */
export const goldReward: Scorer = (_prompt: string, response: string): number =>
  afinnScore(response) / GOLD_SCALE;

/** r* for aligned prompts/responses (same length required). */
export function goldScores(prompts: readonly string[], responses: readonly string[]): number[] {
  if (prompts.length !== responses.length) {
    throw new RangeError(`goldScores: ${prompts.length} prompts but ${responses.length} responses`);
  }
  return responses.map((r, i) => goldReward(prompts[i], r));
}

/**
 * Bradley–Terry win probability P(a ≻ b) = σ((ra − rb)/temperature). temperature 0 is the
 * deterministic limit (1, 0, or ½ on an exact tie).
 */
export function bradleyTerryProb(ra: number, rb: number, temperature = 1): number {
  if (!(temperature >= 0)) throw new RangeError(`temperature must be >= 0, got ${temperature}`);
  const d = ra - rb;
  if (temperature === 0) return d > 0 ? 1 : d < 0 ? 0 : 0.5;
  return sigmoid(d / temperature);
}

export interface GoldOracleOptions {
  /** Seed of the label noise; answers depend only on (seed, queryId). */
  seed: Seed;
  /** BT temperature (default 1): higher = noisier labels, 0 = always the higher r*. */
  temperature?: number;
  /** Reward to compare with (default goldReward); lets tests and ablations plug another r*. */
  scorer?: Scorer;
  name?: string;
}

/**
 * The simulated human: answers "a ≻ b?" by a Bradley–Terry draw on the gold reward. The uniform for
 * a query comes from Rng(seed).fork(queryId), so an answer does not depend on call order and a
 * resumed run (or a replayed query) gets the same answer.
 */
export class GoldOracle implements LabelSource {
  readonly name: string;
  readonly temperature: number;
  private readonly root: Rng;
  private readonly scorer: Scorer;

  constructor(opts: GoldOracleOptions) {
    this.temperature = opts.temperature ?? 1;
    if (!(this.temperature >= 0) || !Number.isFinite(this.temperature)) {
      throw new RangeError(`GoldOracle: temperature must be a finite number >= 0, got ${opts.temperature}`);
    }
    this.root = new Rng(opts.seed);
    this.scorer = opts.scorer ?? goldReward;
    this.name = opts.name ?? `gold-bt(T=${this.temperature})`;
  }

  /** P(a ≻ b | prompt) under the oracle. */
  probability(prompt: string, a: string, b: string): number {
    return bradleyTerryProb(this.scorer(prompt, a), this.scorer(prompt, b), this.temperature);
  }

  compare(prompt: string, a: string, b: string, queryId: string): boolean {
    const p = this.probability(prompt, a, b);
    // Always draw (even when p is 0 or 1) so the stream use is identical for every query.
    return this.root.fork(queryId).uniform() < p;
  }
}
