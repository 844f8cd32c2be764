/**
 * The one linear Bradley–Terry reward model of the project, r(y) = ⟨θ, φ(y)⟩, on a pluggable text
 * feature map φ: the bridge from the bandit lab to the LM. θ is the lab's exact ridge BT-MLE
 * (`fitMLE`, Newton), Σ = λI + Σ ΔφΔφᵀ the lab's covariance of the labelled feature differences, and
 * uncertainties are Σ⁻¹-norms through the lab's `Uncertainty` (a stored Cholesky factor).
 *
 * Two feature maps:
 *   - `WordFeatures` (the miniature, `gshf lm reproduce`): word counts of the RESPONSE over a fixed
 *     vocabulary (lower-cased runs of the letters a–z, the tokenisation AFINN/`sentiment` uses up to
 *     punctuation), plus one coordinate counting out-of-vocabulary words. The vocabulary is every word
 *     that occurs at least `minCount` times in the SFT corpus's responses. The gold reward r* (AFINN
 *     sum / 5) is linear in these counts (up to `sentiment`'s negation rule and words outside the
 *     corpus), so the paper's linear theory applies.
 *   - `HashedTextFeatures` (`gshf loop`, any language, no vocabulary): hashed word unigram and bigram
 *     counts, L2-normalised, plus log length.
 */
import { addOuterProducts, cholesky, scaledIdentity } from '../math/linalg.js';
import { hashString, type Rng } from '../math/rng.js';
import { fitMLE } from '../bandit/mle.js';
import { Uncertainty } from '../bandit/uncertainty.js';
import { drawGaussianFromPrecision } from '../bandit/algorithms/explorers.js';
import { bestWorstPair } from './sampling.js';

/** Lower-cased a–z word runs of a text. */
export function textWords(text: string): string[] {
  return text.toLowerCase().match(/[a-z]+/g) ?? [];
}

/** A text feature map φ: d coordinates per response. */
export interface FeatureMap {
  readonly d: number;
  /** φ(text) into out[off, off + d) (a fresh array by default). */
  phi(text: string, out?: Float64Array, off?: number): Float64Array;
}

/** Word-count features over a vocabulary, plus one out-of-vocabulary counter (the last coordinate). */
export class WordFeatures implements FeatureMap {
  readonly vocab: readonly string[];
  readonly d: number;
  private readonly index: Map<string, number>;

  constructor(vocab: readonly string[]) {
    if (vocab.length === 0) throw new RangeError('WordFeatures: empty vocabulary');
    this.vocab = [...vocab];
    this.index = new Map(this.vocab.map((w, i) => [w, i]));
    if (this.index.size !== this.vocab.length) throw new RangeError('WordFeatures: duplicate words');
    this.d = this.vocab.length + 1;
  }

  /** The vocabulary of `texts`: words occurring ≥ minCount times, most frequent first (ties: alphabetical). */
  static fromTexts(texts: Iterable<string>, minCount = 1): WordFeatures {
    if (!(Number.isInteger(minCount) && minCount >= 1))
      throw new RangeError(`WordFeatures: minCount must be an integer ≥ 1, got ${minCount}`);
    const counts = new Map<string, number>();
    for (const t of texts) for (const w of textWords(t)) counts.set(w, (counts.get(w) ?? 0) + 1);
    const vocab = [...counts]
      .filter(([, c]) => c >= minCount)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([w]) => w);
    return new WordFeatures(vocab);
  }

  has(word: string): boolean {
    return this.index.has(word);
  }

  /** φ(y): counts per vocabulary word, last coordinate = out-of-vocabulary words. */
  phi(text: string, out: Float64Array = new Float64Array(this.d), off = 0): Float64Array {
    out.fill(0, off, off + this.d);
    for (const w of textWords(text)) {
      const i = this.index.get(w);
      out[off + (i ?? this.d - 1)] += 1;
    }
    return out;
  }
}

/** Share of the words of `texts` that are in the vocabulary (NaN when there are no words). */
export function vocabularyShare(features: WordFeatures, texts: readonly string[]): number {
  let n = 0;
  let hit = 0;
  for (const t of texts)
    for (const w of textWords(t)) {
      n++;
      if (features.has(w)) hit++;
    }
  return n === 0 ? NaN : hit / n;
}

/** φ(a): hashed unigram/bigram counts (L2-normalised) in the first d−1 slots, log(1 + chars)/5 last. */
export class HashedTextFeatures implements FeatureMap {
  constructor(readonly d: number) {
    if (!(Number.isInteger(d) && d >= 2))
      throw new RangeError(`HashedTextFeatures: d must be an integer ≥ 2, got ${d}`);
  }

  phi(text: string, out: Float64Array = new Float64Array(this.d), off = 0): Float64Array {
    out.fill(0, off, off + this.d);
    const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
    const h = this.d - 1;
    for (let i = 0; i < words.length; i++) {
      out[off + (hashString(words[i]) % h)] += 1;
      if (i + 1 < words.length) out[off + (hashString(`${words[i]} ${words[i + 1]}`) % h)] += 1;
    }
    let s = 0;
    for (let k = 0; k < h; k++) s += out[off + k] * out[off + k];
    if (s > 0) for (let k = 0; k < h; k++) out[off + k] /= Math.sqrt(s);
    out[off + h] = Math.log1p(text.length) / 5;
    return out;
  }
}

export interface TextPair {
  chosen: string;
  rejected: string;
}

/** The fitted model, small and JSON-serialisable (the loop keeps it per iteration as rm.json). */
export interface LinearRmJson {
  d: number;
  lambda: number;
  pairs: number;
  theta: number[];
  /** Σ = λI + Σ ΔφΔφᵀ (row-major d×d). */
  sigma: number[];
  converged: boolean;
  negLogLik: number;
  /** Training accuracy: share of pairs with r(chosen) > r(rejected) (NaN with no pairs). */
  accuracy: number;
}

/** r(y) = ⟨θ, φ(y)⟩ with θ the ridge BT-MLE, and Σ for uncertainties. */
export class LinearRewardModel<F extends FeatureMap = FeatureMap> {
  readonly features: F;
  readonly theta: Float64Array;
  readonly lambda: number;
  readonly pairs: number;
  readonly converged: boolean;
  readonly negLogLik: number;
  readonly accuracy: number;
  private readonly unc: Uncertainty;
  private readonly buf: Float64Array;
  /** Cholesky factor of Σ for posterior draws (computed on the first draw). */
  private chol: Float64Array | null = null;

  private constructor(
    features: F,
    fitted: Omit<LinearRmJson, 'd' | 'theta' | 'sigma'>,
    theta: Float64Array,
    sigma: Float64Array,
  ) {
    if (theta.length !== features.d)
      throw new RangeError(`LinearRewardModel: θ has ${theta.length} entries, the feature map ${features.d}`);
    this.features = features;
    this.theta = theta;
    this.lambda = fitted.lambda;
    this.pairs = fitted.pairs;
    this.converged = fitted.converged;
    this.negLogLik = fitted.negLogLik;
    this.accuracy = fitted.accuracy;
    this.unc = new Uncertainty(sigma, features.d);
    this.buf = new Float64Array(features.d);
  }

  /** Feature differences Δφ = φ(chosen) − φ(rejected), n×d row-major. */
  static diffs(features: FeatureMap, pairs: readonly TextPair[]): Float64Array {
    const d = features.d;
    const dphi = new Float64Array(pairs.length * d);
    const tmp = new Float64Array(d);
    pairs.forEach((p, i) => {
      features.phi(p.chosen, dphi, i * d);
      features.phi(p.rejected, tmp);
      for (let j = 0; j < d; j++) dphi[i * d + j] -= tmp[j];
    });
    return dphi;
  }

  /** Fits θ by the exact ridge BT-MLE on the pairs and sets Σ = λI + Σ ΔφΔφᵀ. No pairs: θ = 0, Σ = λI. */
  static fit<F extends FeatureMap>(
    features: F,
    pairs: readonly TextPair[],
    lambda: number,
  ): LinearRewardModel<F> {
    if (!(lambda > 0)) throw new RangeError(`LinearRewardModel: lambda must be > 0, got ${lambda}`);
    const d = features.d;
    const n = pairs.length;
    if (n === 0) {
      const fitted = { lambda, pairs: 0, converged: true, negLogLik: 0, accuracy: NaN };
      return new LinearRewardModel(features, fitted, new Float64Array(d), scaledIdentity(d, lambda));
    }
    const dphi = LinearRewardModel.diffs(features, pairs);
    const fit = fitMLE({ dphi, n, d }, { lambda });
    const sigma = addOuterProducts(n, d, dphi, null, scaledIdentity(d, lambda));
    let right = 0;
    for (let i = 0; i < n; i++) {
      let m = 0;
      for (let k = 0; k < d; k++) m += fit.theta[k] * dphi[i * d + k];
      if (m > 0) right++;
    }
    const fitted = {
      lambda,
      pairs: n,
      converged: fit.converged,
      negLogLik: fit.negLogLik,
      accuracy: right / n,
    };
    return new LinearRewardModel(features, fitted, fit.theta, sigma);
  }

  /** The model `toJSON` wrote, on the same feature map. */
  static fromJSON<F extends FeatureMap>(features: F, json: LinearRmJson): LinearRewardModel<F> {
    if (json.d !== features.d)
      throw new RangeError(`LinearRewardModel: stored d = ${json.d}, the feature map has d = ${features.d}`);
    return new LinearRewardModel(
      features,
      json,
      Float64Array.from(json.theta),
      Float64Array.from(json.sigma),
    );
  }

  score(text: string): number {
    return this.scoreWith(this.theta, text);
  }

  /** ⟨θ, φ(y)⟩ for another parameter θ (e.g. a posterior draw). */
  scoreWith(theta: ArrayLike<number>, text: string): number {
    const f = this.features.phi(text, this.buf);
    let s = 0;
    for (let j = 0; j < f.length; j++) s += theta[j] * f[j];
    return s;
  }

  /** A posterior draw θ̃ ~ N(θ̂, ν²Σ⁻¹) (the bandit lab's Thompson sampler, `drawGaussianFromPrecision`). */
  drawTheta(rng: Rng, nu: number): Float64Array {
    this.chol ??= cholesky(this.unc.sigma, this.features.d);
    return drawGaussianFromPrecision(this.chol, this.features.d, this.theta, nu, rng);
  }

  /** ‖φ(a) − ν‖_{Σ⁻¹} (ν = 0 when omitted): the point-wise Γ without β. */
  gamma(text: string, nu?: ArrayLike<number>): number {
    const f = this.features.phi(text, this.buf);
    if (nu) for (let j = 0; j < f.length; j++) f[j] -= nu[j];
    return this.unc.norm(f);
  }

  /** ‖φ(a) − φ(b)‖_{Σ⁻¹}: the uncertainty of comparing a with b. */
  pairUncertainty(a: string, b: string): number {
    return this.diffUncertainty(
      this.features.phi(a, new Float64Array(this.features.d)),
      this.features.phi(b, this.buf),
    );
  }

  /** ‖φa − φb‖_{Σ⁻¹} for precomputed features (fa is overwritten). */
  diffUncertainty(fa: Float64Array, fb: ArrayLike<number>): number {
    for (let j = 0; j < fa.length; j++) fa[j] -= fb[j];
    return this.unc.norm(fa);
  }

  toJSON(): LinearRmJson {
    return {
      d: this.features.d,
      lambda: this.lambda,
      pairs: this.pairs,
      theta: Array.from(this.theta),
      sigma: Array.from(this.unc.sigma),
      converged: this.converged,
      negLogLik: this.negLogLik,
      accuracy: this.accuracy,
    };
  }
}

/**
 * The uncertainty enhancer: among n responses, the pair (i, j) with the largest ‖φ(a_i) − φ(a_j)‖ in
 * Σ⁻¹; slot i is the one the model scores higher. Null when every pair is textually identical.
 */
export function mostUncertainPair(
  rm: LinearRewardModel,
  texts: readonly string[],
): { i: number; j: number; uncertainty: number } | null {
  let best: { i: number; j: number; uncertainty: number } | null = null;
  for (let i = 0; i < texts.length; i++)
    for (let j = i + 1; j < texts.length; j++) {
      if (texts[i] === texts[j]) continue;
      const u = rm.pairUncertainty(texts[i], texts[j]);
      if (!best || u > best.uncertainty) best = { i, j, uncertainty: u };
    }
  if (!best) return null;
  return rm.score(texts[best.i]) >= rm.score(texts[best.j])
    ? best
    : { i: best.j, j: best.i, uncertainty: best.uncertainty };
}

/**
 * Share of pairs (r* ties skipped) a scorer orders like r*: `margin(i)` is the scorer's
 * r(a) − r(b) of pair i; a zero margin on a non-tied pair counts as a miss.
 */
export function agreement(
  pairs: readonly { goldA: number; goldB: number }[],
  margin: (i: number) => number,
): { agreement: number; pairs: number } {
  let n = 0;
  let hit = 0;
  pairs.forEach((p, i) => {
    const g = p.goldA - p.goldB;
    if (g === 0) return;
    n++;
    if (Math.sign(margin(i)) === Math.sign(g)) hit++;
  });
  return { agreement: n === 0 ? NaN : hit / n, pairs: n };
}

/**
 * The Thompson enhancer on text: one posterior draw θ̃ ~ N(θ̂, ν²Σ⁻¹) per prompt, then the best-
 * vs-worst pair of the n responses under r_θ̃ (slot i = best). Null when the draw ties every
 * response or best and worst are the same text. As ν → 0 it is best-vs-worst under θ̂.
 */
export function thompsonPair(
  rm: LinearRewardModel,
  texts: readonly string[],
  rng: Rng,
  nu: number,
): { i: number; j: number } | null {
  if (!(nu >= 0 && Number.isFinite(nu))) throw new RangeError(`thompsonPair: nu must be ≥ 0, got ${nu}`);
  const th = rm.drawTheta(rng, nu);
  const p = bestWorstPair(
    texts,
    texts.map((t) => rm.scoreWith(th, t)),
  );
  return p ? { i: p.chosenIndex, j: p.rejectedIndex } : null;
}
