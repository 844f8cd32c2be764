/**
 * Evaluation metrics on test prompts: pure functions of texts, log-probs and gold scores (the
 * pipeline samples and scores; nothing here touches a model). Definitions: docs/pref-data.md.
 */
import { mean, meanCI95, quantile, std, type MeanCI } from '../math/stats.js';
import { bradleyTerryProb } from './gold.js';

function sameLength(what: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new RangeError(`${what}: length mismatch (${a.length} vs ${b.length})`);
}

/** Mean gold reward with a 95% Student-t interval. */
export function goldRewardCI(scores: ArrayLike<number>): MeanCI {
  return meanCI95(scores);
}

export interface ScoreSummary {
  n: number;
  min: number;
  q05: number;
  q25: number;
  median: number;
  q75: number;
  q95: number;
  max: number;
  mean: number;
  sd: number;
}

/** Spread of a set of scores (e.g. r* of π0's samples: the pipeline needs them to spread widely). */
export function describeScores(xs: ArrayLike<number>): ScoreSummary {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] < min) min = xs[i];
    if (xs[i] > max) max = xs[i];
  }
  if (xs.length === 0) min = max = NaN;
  const q = (p: number) => quantile(xs, p);
  return {
    n: xs.length,
    min,
    q05: q(0.05),
    q25: q(0.25),
    median: q(0.5),
    q75: q(0.75),
    q95: q(0.95),
    max,
    mean: mean(xs),
    sd: std(xs),
  };
}

export interface KLEstimate {
  /** k1: mean over samples of log π(y|x) − log π0(y|x) (unbiased; can be negative on a finite sample). */
  k1: number;
  /** 95% CI of k1 (Student-t over sequences). */
  k1CI: MeanCI;
  /** k3: mean of (ρ − 1) − log ρ with ρ = π0(y|x)/π(y|x) per sequence (unbiased, each term ≥ 0). */
  k3: number;
  n: number;
}

/**
 * Sequence-level Monte Carlo KL(π‖π0) from samples y ~ π(·|x). `logpPolicy[i]`, `logpRef[i]` are
 * the summed response log-probs (incl. EOS if the sample stopped) of the same sample under π and π0.
 * k3 uses expm1 for accuracy; it is +Infinity if some sequence has log ρ > ~709 (π0 ≫ π).
 */
export function klEstimate(logpPolicy: ArrayLike<number>, logpRef: ArrayLike<number>): KLEstimate {
  sameLength('klEstimate', logpPolicy, logpRef);
  const n = logpPolicy.length;
  const k1s = new Float64Array(n);
  let k3 = 0;
  for (let i = 0; i < n; i++) {
    const lr = logpPolicy[i] - logpRef[i];
    k1s[i] = lr;
    const logRho = -lr;
    k3 += Math.expm1(logRho) - logRho;
  }
  const ci = meanCI95(k1s);
  return { k1: ci.mean, k1CI: ci, k3: n === 0 ? NaN : k3 / n, n };
}

/**
 * Expected win rate of the policy against π0 under the gold BT model: paired samples (policy and π0
 * on the same test prompt), mean of σ((r*(a) − r*(b))/temperature); a tie counts ½. 95% CI over pairs.
 */
export function winRate(policyGold: ArrayLike<number>, refGold: ArrayLike<number>, temperature = 1): MeanCI {
  sameLength('winRate', policyGold, refGold);
  const p = new Float64Array(policyGold.length);
  for (let i = 0; i < p.length; i++) p[i] = bradleyTerryProb(policyGold[i], refGold[i], temperature);
  return meanCI95(p);
}

/** Whitespace tokens of a response (split on runs of whitespace; punctuation stays attached, case kept). */
export function whitespaceTokens(text: string): string[] {
  return text.split(/\s+/).filter((w) => w.length > 0);
}

/**
 * distinct-n: unique n-grams / total n-grams over all responses (n-grams do not cross response
 * boundaries; whitespace tokens, case-sensitive). 0 when there are no n-grams at all.
 */
export function distinctN(responses: readonly string[], n: number): number {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`distinctN: n must be a positive integer, got ${n}`);
  const seen = new Set<string>();
  let total = 0;
  for (const r of responses) {
    const w = whitespaceTokens(r);
    for (let i = 0; i + n <= w.length; i++) {
      // \u0000 cannot occur inside a whitespace token, so the joined key is unambiguous.
      seen.add(w.slice(i, i + n).join('\u0000'));
      total++;
    }
  }
  return total === 0 ? 0 : seen.size / total;
}

/** Mean response length in characters (UTF-16 code units, i.e. JS string length). */
export function meanLengthChars(responses: readonly string[]): number {
  if (responses.length === 0) return NaN;
  let s = 0;
  for (const r of responses) s += r.length;
  return s / responses.length;
}

/** Mean token count; without `tokenCounts` the UTF-8 byte length (= ByteTokenizer tokens, EOS excluded). */
export function meanLengthTokens(responses: readonly string[], tokenCounts?: ArrayLike<number>): number {
  if (responses.length === 0) return NaN;
  let s = 0;
  if (tokenCounts) {
    sameLength('meanLengthTokens', { length: responses.length }, tokenCounts);
    for (let i = 0; i < tokenCounts.length; i++) s += tokenCounts[i];
  } else {
    for (const r of responses) s += Buffer.byteLength(r, 'utf8');
  }
  return s / responses.length;
}

export interface EvalInput {
  /** Policy samples on the test prompts, one per (prompt, draw). */
  responses: readonly string[];
  /** r* of each policy response. */
  gold: ArrayLike<number>;
  /** Summed log π(y|x) and log π0(y|x) of each policy response (for KL). */
  logpPolicy: ArrayLike<number>;
  logpRef: ArrayLike<number>;
  /** r* of a π0 sample paired with each policy response (same test prompt), for the win rate. */
  refGold: ArrayLike<number>;
  /** Token count of each response (default: UTF-8 bytes, the ByteTokenizer count). */
  tokenCounts?: ArrayLike<number>;
  /** Gold BT temperature for the win rate (default 1, the GoldOracle default). */
  temperature?: number;
}

/** One row of the results table. `*_ci` are 95% half-widths (report as value ± ci). */
export interface EvalSummary {
  gold_reward: number;
  gold_reward_ci: number;
  kl: number;
  kl_k3: number;
  win_rate: number;
  win_rate_ci: number;
  length_chars: number;
  length_tokens: number;
  distinct_1: number;
  distinct_2: number;
  n: number;
}

/** All metrics of one policy on the test prompts. */
export function evalSummary(input: EvalInput): EvalSummary {
  const n = input.responses.length;
  for (const [k, v] of [
    ['gold', input.gold],
    ['logpPolicy', input.logpPolicy],
    ['logpRef', input.logpRef],
    ['refGold', input.refGold],
  ] as const) {
    if (v.length !== n) throw new RangeError(`evalSummary: ${n} responses but ${v.length} values in "${k}"`);
  }
  const g = goldRewardCI(input.gold);
  const kl = klEstimate(input.logpPolicy, input.logpRef);
  const w = winRate(input.gold, input.refGold, input.temperature ?? 1);
  return {
    gold_reward: g.mean,
    gold_reward_ci: g.halfWidth,
    kl: kl.k1,
    kl_k3: kl.k3,
    win_rate: w.mean,
    win_rate_ci: w.halfWidth,
    length_chars: meanLengthChars(input.responses),
    length_tokens: meanLengthTokens(input.responses, input.tokenCounts),
    distinct_1: distinctN(input.responses, 1),
    distinct_2: distinctN(input.responses, 2),
    n,
  };
}
