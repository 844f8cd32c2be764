/**
 * Sampling-side helpers for the methods: n responses per prompt, best-vs-worst pairs (RLHF Workflow
 * Algorithm 2), statistical rejection sampling toward π0·exp(r/η) (RSO), pairs from accepted
 * samples, and the pair of responses whose reward difference is most uncertain (enhancer).
 */
import { cholesky, mahalanobisSq } from '../math/linalg.js';
import type { Rng } from '../math/rng.js';
import {
  GPT,
  makeBatch,
  encodePair,
  sampleText,
  type EncodedSeq,
  type SampleOptions,
  type Tokenizer,
} from '../nn/index.js';
import type { PreferencePair, Scorer } from './types.js';

export interface ResponseSampleOptions {
  /** Responses per prompt. */
  n: number;
  temperature?: number;
  /**
   * Several temperatures (e.g. [1.0, 0.7], RLHF Workflow: n/2 at each): n is split evenly across
   * them, overriding `temperature`.
   */
  temperatures?: readonly number[];
  topP?: number;
  topK?: number;
  maxTokens?: number;
  seed?: number | string;
  /** Max concurrent decode rows (nn default 64). */
  maxBatch?: number;
}

/**
 * n responses per prompt from `gpt` (wraps nn `sampleText`; EOS ends a response). Sample j of prompt i
 * has its own seeded stream, so results do not depend on batching.
 */
export function sampleResponses(
  gpt: GPT,
  tok: Tokenizer,
  prompts: readonly string[],
  opts: ResponseSampleOptions,
): string[][] {
  const temps = opts.temperatures;
  if (temps && temps.length > 0) {
    // n split as evenly as possible over the temperatures (earlier ones get the remainder), each
    // group with its own seed stream; responses are concatenated in temperature order.
    const out: string[][] = prompts.map(() => []);
    temps.forEach((t, k) => {
      const nk = Math.floor(opts.n / temps.length) + (k < opts.n % temps.length ? 1 : 0);
      if (nk === 0) return;
      const part = sampleResponses(gpt, tok, prompts, {
        ...opts,
        n: nk,
        temperature: t,
        temperatures: undefined,
        seed: `${opts.seed ?? 0}/T${k}`,
      });
      part.forEach((row, i) => out[i].push(...row));
    });
    return out;
  }
  const so: SampleOptions = {
    n: opts.n,
    temperature: opts.temperature ?? 1,
    topP: opts.topP ?? 1,
    topK: opts.topK ?? 0,
    seed: opts.seed ?? 0,
  };
  if (opts.maxTokens !== undefined) so.maxTokens = opts.maxTokens;
  if (opts.maxBatch !== undefined) so.maxBatch = opts.maxBatch;
  return sampleText(gpt, tok, prompts, so).map((row) => row.map((s) => s.text));
}

export interface IndexedPair {
  chosen: string;
  rejected: string;
  chosenIndex: number;
  rejectedIndex: number;
}

/**
 * Best (argmax score, first index among equal maxima) vs worst (argmin, first index among equal
 * minima). Returns null — the pair is dropped — when all scores are equal or the best and worst
 * texts are identical (no information in that direction, as in RLHF Workflow).
 */
export function bestWorstPair(responses: readonly string[], scores: ArrayLike<number>): IndexedPair | null {
  if (responses.length !== scores.length)
    throw new RangeError(`${responses.length} responses but ${scores.length} scores`);
  if (responses.length < 2) return null;
  let hi = 0;
  let lo = 0;
  for (let i = 1; i < scores.length; i++) {
    if (scores[i] > scores[hi]) hi = i;
    if (scores[i] < scores[lo]) lo = i;
  }
  if (!(scores[hi] > scores[lo])) return null;
  if (responses[hi] === responses[lo]) return null;
  return { chosen: responses[hi], rejected: responses[lo], chosenIndex: hi, rejectedIndex: lo };
}

/** RSO acceptance probabilities exp((r_i − max_j r_j)/η): the best candidate is always accepted. */
export function rejectionAcceptProbs(scores: ArrayLike<number>, eta: number): Float64Array {
  if (!(eta > 0)) throw new RangeError(`eta must be > 0, got ${eta}`);
  let mx = -Infinity;
  for (let i = 0; i < scores.length; i++) mx = Math.max(mx, scores[i]);
  const p = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) p[i] = Math.exp((scores[i] - mx) / eta);
  return p;
}

/**
 * Statistical rejection sampling toward π0·exp(r/η) from candidates drawn from π0: accepts
 * candidate i independently with probability exp((r_i − max_j r_j)/η). Since the candidates are π0
 * samples, an accepted one is distributed ∝ π0·exp(r/η) (with the sample max standing in for the
 * unknown bound, as in RSO). Returns accepted indices in candidate order; `maxAccepted` caps the
 * count (candidates are then visited in a random order, RSO's Algorithm 1, and the result sorted).
 */
export function rejectionSampleIndices(
  scores: ArrayLike<number>,
  eta: number,
  rng: Rng,
  maxAccepted = Infinity,
): number[] {
  const p = rejectionAcceptProbs(scores, eta);
  const order = Array.from({ length: p.length }, (_, i) => i);
  if (Number.isFinite(maxAccepted)) rng.shuffle(order);
  const out: number[] = [];
  for (const i of order) {
    if (out.length >= maxAccepted) break;
    if (rng.uniform() < p[i]) out.push(i);
  }
  return out.sort((a, b) => a - b);
}

/**
 * The RSO paper's sampler (Liu et al., Algorithm 1): rounds over the candidates not yet accepted;
 * in each round every remaining candidate, in a random order, is accepted with probability
 * exp((r_i − max_remaining r)/η), until `k` are accepted or none remain. The remaining maximum is
 * always accepted, so it returns min(k, candidates) indices (sorted); at small η it tends to the
 * top k, at large η to a uniform draw.
 */
export function sequentialRejectionSample(
  scores: ArrayLike<number>,
  eta: number,
  rng: Rng,
  k: number,
): number[] {
  if (!(eta > 0)) throw new RangeError(`eta must be > 0, got ${eta}`);
  const remaining = Array.from({ length: scores.length }, (_, i) => i);
  const out: number[] = [];
  while (out.length < k && remaining.length > 0) {
    let mx = -Infinity;
    for (const i of remaining) mx = Math.max(mx, scores[i]);
    rng.shuffle(remaining);
    const kept: number[] = [];
    for (const i of remaining) {
      if (out.length < k && rng.uniform() < Math.exp((scores[i] - mx) / eta)) out.push(i);
      else kept.push(i);
    }
    remaining.length = 0;
    remaining.push(...kept);
  }
  return out.sort((a, b) => a - b);
}

/** `rejectionSampleIndices` returning the accepted candidates themselves (in candidate order). */
export function rejectionSample<T>(
  candidates: readonly T[],
  scores: ArrayLike<number>,
  eta: number,
  rng: Rng,
  maxAccepted = Infinity,
): T[] {
  if (candidates.length !== scores.length)
    throw new RangeError(`${candidates.length} candidates but ${scores.length} scores`);
  return rejectionSampleIndices(scores, eta, rng, maxAccepted).map((i) => candidates[i]);
}

/**
 * Pairs consecutive accepted samples (0,1), (2,3), … and labels each pair by the score (higher =
 * chosen). Ties (equal scores or identical texts) are dropped; an odd last sample is unused.
 * `score` is either scores aligned with `accepted` or a Scorer called once per sample.
 */
export function pairsFromAccepted(
  prompt: string,
  accepted: readonly string[],
  score: ArrayLike<number> | Scorer,
): PreferencePair[] {
  const s: ArrayLike<number> = typeof score === 'function' ? accepted.map((a) => score(prompt, a)) : score;
  if (s.length !== accepted.length) throw new RangeError(`${accepted.length} samples but ${s.length} scores`);
  const out: PreferencePair[] = [];
  for (let i = 0; i + 1 < accepted.length; i += 2) {
    const a = accepted[i];
    const b = accepted[i + 1];
    if (a === b || s[i] === s[i + 1]) continue;
    out.push(s[i] > s[i + 1] ? { prompt, chosen: a, rejected: b } : { prompt, chosen: b, rejected: a });
  }
  return out;
}

export interface UncertainPair {
  i: number;
  j: number;
  /** The uncertainty of r(a_i) − r(a_j) (ensemble std, or ‖φ_i − φ_j‖_{Σ⁻¹}). */
  uncertainty: number;
}

/**
 * Uncertainty sources: an ensemble (`ensemble[k][i]` = member k's reward of response i), or features
 * φ_i with the covariance Σ (d×d, row-major, SPD; e.g. `featureCovariance`).
 */
export type UncertaintySource =
  | { ensemble: readonly ArrayLike<number>[] }
  | { features: readonly ArrayLike<number>[]; sigma: ArrayLike<number> };

/**
 * Among n responses, the pair (i < j) with the largest uncertainty of the reward difference:
 * ensemble → population std over members of r_k(a_i) − r_k(a_j); features → ‖φ_i − φ_j‖_{Σ⁻¹}.
 * Pairs of identical texts are skipped; first pair wins ties. Null if no pair has positive uncertainty.
 */
export function uncertaintyPair(
  responses: readonly string[],
  source: UncertaintySource,
): UncertainPair | null {
  const n = responses.length;
  let best: UncertainPair | null = null;
  if ('ensemble' in source) {
    const E = source.ensemble;
    const K = E.length;
    if (K === 0) throw new RangeError('uncertaintyPair: empty ensemble');
    for (const e of E)
      if (e.length !== n) throw new RangeError(`ensemble member has ${e.length} scores for ${n} responses`);
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        if (responses[i] === responses[j]) continue;
        let s = 0;
        for (let k = 0; k < K; k++) s += E[k][i] - E[k][j];
        const mu = s / K;
        let v = 0;
        for (let k = 0; k < K; k++) v += (E[k][i] - E[k][j] - mu) ** 2;
        const u = Math.sqrt(v / K);
        if (u > 0 && (!best || u > best.uncertainty)) best = { i, j, uncertainty: u };
      }
    }
    return best;
  }
  const F = source.features;
  if (F.length !== n) throw new RangeError(`${F.length} feature vectors for ${n} responses`);
  const d = n > 0 ? F[0].length : 0;
  const L = cholesky(source.sigma, d);
  const diff = new Float64Array(d);
  const scratch = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (responses[i] === responses[j]) continue;
      for (let c = 0; c < d; c++) diff[c] = F[i][c] - F[j][c];
      const u = Math.sqrt(mahalanobisSq(L, d, diff, scratch));
      if (u > 0 && (!best || u > best.uncertainty)) best = { i, j, uncertainty: u };
    }
  }
  return best;
}

/** Σ = λI + Σ_p (φ_a − φ_b)(φ_a − φ_b)ᵀ over historical feature differences (paper §1.4). */
export function featureCovariance(
  diffs: readonly ArrayLike<number>[],
  d: number,
  lambda: number,
): Float64Array {
  const S = new Float64Array(d * d);
  for (let i = 0; i < d; i++) S[i * d + i] = lambda;
  for (const v of diffs) {
    for (let a = 0; a < d; a++) {
      const va = v[a];
      if (va === 0) continue;
      for (let b = 0; b < d; b++) S[a * d + b] += va * v[b];
    }
  }
  return S;
}

/** Per reward model: an LM-head twin whose head is [I_C; 0], so its logits are the hidden state. */
const featureTwins = new WeakMap<GPT, GPT>();

function featureTwin(rm: GPT): GPT {
  let lm = featureTwins.get(rm);
  if (!lm) {
    lm = new GPT({ ...rm.config, head: 'lm', tiedHead: false }, 0);
    const h = lm.tensor('lm_head.weight');
    if (!h) throw new Error('rewardFeatures: twin model has no lm_head');
    const C = rm.config.nEmbd;
    lm.params.fill(0, h.offset, h.offset + h.size);
    for (let c = 0; c < C; c++) lm.params[h.offset + c * C + c] = 1;
    featureTwins.set(rm, lm);
  }
  // the RM may have been trained since the last call: copy its trunk every time (cheap next to a forward)
  for (const t of lm.tensors) {
    if (t.name === 'lm_head.weight') continue;
    const src = rm.tensor(t.name);
    if (!src) throw new Error(`rewardFeatures: reward model lacks ${t.name}`);
    lm.params.set(rm.params.subarray(src.offset, src.offset + src.size), t.offset);
  }
  return lm;
}

/**
 * Reward-model features φ(x, y) = the final-LayerNorm hidden state at the last token (what the
 * scalar head reads: r = w·φ + b). nn exposes no hidden-state API, so this reads it out exactly
 * through an LM-head twin of the RM whose head weight is [I; 0] (logits = hidden state; needs
 * vocabSize ≥ nEmbd): one forward per batch. Otherwise it falls back to probing the scalar head
 * with unit weights (nEmbd forwards per batch).
 */
export function rewardFeatures(
  rm: GPT,
  tok: Tokenizer,
  prompts: readonly string[],
  responses: readonly string[],
  batchSize = 64,
): Float64Array[] {
  if (rm.config.head !== 'scalar') throw new Error("rewardFeatures: the model needs head 'scalar'");
  if (prompts.length !== responses.length)
    throw new RangeError(`${prompts.length} prompts but ${responses.length} responses`);
  const C = rm.config.nEmbd;
  const seqs = prompts.map((p, i) => encodePair(tok, p, responses[i], rm.config.blockSize));
  const out = seqs.map(() => new Float64Array(C));
  if (seqs.length === 0) return out;
  let T = 1;
  for (const q of seqs) T = Math.max(T, q.ids.length);
  const V = rm.config.vocabSize;
  if (V >= C) {
    const lm = featureTwin(rm);
    for (let i = 0; i < seqs.length; i += batchSize) {
      const batch = makeBatch(seqs.slice(i, i + batchSize), tok.pad, T);
      const logits = lm.forwardLogits(batch.tokens, batch.B, T);
      for (let b = 0; b < batch.B; b++) {
        const row = (b * T + batch.lengths[b] - 1) * V;
        for (let c = 0; c < C; c++) out[i + b][c] = logits[row + c];
      }
    }
    return out;
  }
  return probeFeatures(rm, seqs, tok.pad, T, out);
}

function probeFeatures(
  rm: GPT,
  seqs: readonly EncodedSeq[],
  pad: number,
  T: number,
  out: Float64Array[],
): Float64Array[] {
  const w = rm.tensor('score_head.weight');
  const b = rm.tensor('score_head.bias');
  if (!w || !b) throw new Error("rewardFeatures: the model needs head 'scalar'");
  const C = rm.config.nEmbd;
  const saved = rm.params.slice(w.offset, w.offset + C);
  const savedB = rm.params[b.offset];
  const batch = makeBatch(seqs, pad, T);
  try {
    rm.params.fill(0, w.offset, w.offset + C);
    rm.params[b.offset] = 0;
    for (let c = 0; c < C; c++) {
      rm.params[w.offset + c] = 1;
      const r = rm.rewards(batch);
      for (let k = 0; k < r.length; k++) out[k][c] = r[k];
      rm.params[w.offset + c] = 0;
    }
  } finally {
    rm.params.set(saved, w.offset);
    rm.params[b.offset] = savedB;
  }
  return out;
}
