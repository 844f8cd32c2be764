/**
 * Synthetic environments and behaviour policies for the bandit lab. Every scheme is documented
 * here and in src/bandit/README.md, and every draw comes from a forked seeded stream, so the
 * same options always give the same environment.
 */
import { GshfInputError } from '../math/errors.js';
import { Rng } from '../math/rng.js';
import type { BanditEnv } from './env.js';
import { normalizePerContext, rewardsOf } from './policy.js';
import { searchCdf, contextCdf } from './oracle.js';

export interface GenerateEnvOptions {
  d: number;
  /** Actions per context (fixed for generated environments). */
  K: number;
  nContexts: number;
  /** ‖θ*‖ = B. */
  normB: number;
  /** π0(·|x) = softmax(⟨ψ, φ(x,·)⟩ / refTemperature) for a random unit ψ independent of θ*. */
  refTemperature: number;
  eta: number;
  seed: number | string;
  /** ‖φ(x,a)‖ for every action (default 1, the paper's bound). */
  featureNorm?: number;
  name?: string;
}

function unitVector(rng: Rng, d: number, out: Float64Array, off: number, scale: number): void {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const g = rng.normal();
    out[off + j] = g;
    s += g * g;
  }
  // s = 0 has probability 0, but guard anyway so we never divide by zero.
  const f = s > 0 ? scale / Math.sqrt(s) : 0;
  if (f === 0) out[off] = scale;
  for (let j = 0; j < d; j++) out[off + j] *= f;
}

/**
 * A random linear bandit:
 *  - φ(x,a): uniform on the sphere of radius featureNorm (default 1), i.i.d. over (x,a);
 *  - θ*: uniform direction scaled to ‖θ*‖ = normB;
 *  - π0(·|x) = softmax(⟨ψ, φ(x,·)⟩ / refTemperature) with ψ a uniform unit vector drawn independently
 *    of θ* (so π0 is informative about *something*, but not about the true reward);
 *  - d0 uniform over contexts.
 * Streams: features, theta, psi are forked from the seed separately, so e.g. changing normB does not
 * change the features.
 */
/** Rewards divided by η must stay well inside float64 (exp-normalising them needs headroom). */
export const MAX_REWARD_OVER_ETA = 1e300;
/** Largest generated environment (features + π0 + workspace, in bytes) we agree to allocate. */
export const MAX_ENV_BYTES = 2 ** 31;

/** Bytes a generated environment needs in memory, and as the JSON `bandit generate` writes. */
export function estimateEnvBytes(o: Pick<GenerateEnvOptions, 'd' | 'K' | 'nContexts'>): {
  memory: number;
  json: number;
} {
  const A = o.K * o.nContexts;
  // Float64 features (d) + π0 + rewards + a behaviour policy and its CDF per action.
  const memory = A * (o.d + 4) * 8;
  // ~20 characters per printed float64 (17 significant digits, sign, exponent, comma).
  const json = A * (o.d + 1) * 20 + o.nContexts * 40;
  return { memory, json };
}

/**
 * Refuses, before allocating anything, an environment too large for memory or whose rewards/η
 * would overflow float64. Field names are the options' (normB, K, …); messages carry the numbers.
 */
export function checkEnvScale(o: Omit<GenerateEnvOptions, 'seed'>): void {
  const { memory } = estimateEnvBytes(o);
  if (memory > MAX_ENV_BYTES)
    throw new GshfInputError(
      `an environment of ${o.nContexts} contexts × ${o.K} actions × d=${o.d} needs ≈ ${formatBytes(memory)} of memory (limit ${formatBytes(MAX_ENV_BYTES)}); use fewer contexts or actions`,
      { field: 'K × nContexts' },
    );
  const scale = (o.normB * (o.featureNorm ?? 1)) / o.eta;
  if (!(scale <= MAX_REWARD_OVER_ETA))
    throw new GshfInputError(
      `‖θ*‖·‖φ‖/η = ${scale} overflows float64 arithmetic (must be ≤ ${MAX_REWARD_OVER_ETA}); use a smaller normB or a larger eta`,
      { field: 'normB', value: o.normB },
    );
}

/** 1234567 → "1.2 MB". */
export function formatBytes(n: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let u = 0;
  while (n >= 1000 && u < units.length - 1) {
    n /= 1000;
    u++;
  }
  return `${u === 0 ? n : n.toFixed(1)} ${units[u]}`;
}

export function generateEnv(opts: GenerateEnvOptions): BanditEnv {
  const { d, K, nContexts, normB, refTemperature, eta } = opts;
  const featureNorm = opts.featureNorm ?? 1;
  for (const [k, v] of [
    ['d', d],
    ['K', K],
    ['nContexts', nContexts],
  ] as const)
    if (!Number.isInteger(v) || v < 1)
      throw new RangeError(`generateEnv: ${k} must be a positive integer, got ${v}`);
  if (!(normB >= 0)) throw new RangeError(`generateEnv: normB must be ≥ 0, got ${normB}`);
  if (!(refTemperature > 0))
    throw new RangeError(`generateEnv: refTemperature must be > 0, got ${refTemperature}`);
  if (!(eta > 0)) throw new RangeError(`generateEnv: eta must be > 0, got ${eta}`);
  if (!(featureNorm > 0)) throw new RangeError(`generateEnv: featureNorm must be > 0, got ${featureNorm}`);
  checkEnvScale(opts);
  const root = new Rng(opts.seed);
  const A = nContexts * K;
  const offsets = new Int32Array(nContexts + 1);
  for (let c = 0; c <= nContexts; c++) offsets[c] = c * K;
  const features = new Float64Array(A * d);
  const fr = root.fork('features');
  for (let a = 0; a < A; a++) unitVector(fr, d, features, a * d, featureNorm);
  const thetaStar = new Float64Array(d);
  unitVector(root.fork('theta'), d, thetaStar, 0, 1);
  for (let j = 0; j < d; j++) thetaStar[j] *= normB;
  const psi = new Float64Array(d);
  unitVector(root.fork('psi'), d, psi, 0, 1);
  const env: BanditEnv = {
    name: opts.name ?? `gen-d${d}-K${K}-n${nContexts}-B${normB}-s${opts.seed}`,
    eta,
    d,
    nContexts,
    offsets,
    features,
    refLogprobs: new Float64Array(A),
    weights: new Float64Array(nContexts).fill(1 / nContexts),
    thetaStar,
  };
  const logits = rewardsOf(env, psi);
  for (let a = 0; a < A; a++) logits[a] /= refTemperature;
  env.refLogprobs = normalizePerContext(env, logits);
  return env;
}

export type Coverage = 'good' | 'poor' | 'adversarial' | 'tempting' | 'optimal';

/** Mass spread uniformly over the "unsupported" actions of poor/adversarial policies (keeps log-probs finite). */
export const COVERAGE_FLOOR = 1e-3;

/** Total behaviour mass of the tempting actions in 'tempting' coverage (so they are rarely compared). */
export const TEMPTING_MASS = 0.02;

/**
 * The direction the 'tempting' data leaves nearly unidentified: u = (e₀⊥ − θ̂*)/‖·‖, where e₀⊥ is
 * e₀ with its θ* component removed and θ̂* = θ* / ‖θ*‖. Actions that stick out along u look neutral
 * to a model that has not learned θ along u (the ridge MLE shrinks it to 0) but are truly worse
 * (⟨θ*, u⟩ = −‖θ*‖/√2): "tempting".
 */
export function temptingDirection(env: BanditEnv): Float64Array {
  const d = env.d;
  const u = new Float64Array(d);
  u[0] = 1;
  const t = env.thetaStar;
  if (t !== null) {
    const tn = Math.hypot(...t);
    if (tn > 0) {
      for (let j = 0; j < d; j++) u[j] -= (t[0] / (tn * tn)) * t[j];
      const en = Math.hypot(...u);
      for (let j = 0; j < d; j++) u[j] = (en > 0 ? u[j] / en : 0) - t[j] / tn;
    }
  }
  const n = Math.hypot(...u);
  for (let j = 0; j < d; j++) u[j] /= n > 0 ? n : 1;
  return u;
}

/**
 * 'tempting' coverage (the regime built for pessimism): per context the two actions with
 * the largest feature component along u = temptingDirection(env) are "tempting" and share only
 * TEMPTING_MASS; the two actions with the smallest |⟨φ, u⟩| share most of the mass. So the data's
 * feature differences barely move along u, the few comparisons of tempting actions decide the
 * MLE's θ along u, and label noise there over-estimates some of them — exactly what the Σ⁻¹-norm
 * penalty of pessimism is for.
 */
function temptingPolicy(env: BanditEnv, out: Float64Array): Float64Array {
  const d = env.d;
  const u = temptingDirection(env);
  const off = env.offsets;
  for (let c = 0; c < env.nContexts; c++) {
    const s = off[c];
    const K = off[c + 1] - s;
    if (K <= 4) {
      out.fill(-Math.log(K), s, s + K);
      continue;
    }
    const proj = Array.from({ length: K }, (_, a) => {
      let p = 0;
      for (let j = 0; j < d; j++) p += env.features[(s + a) * d + j] * u[j];
      return { a, p };
    });
    const byP = [...proj].sort((x, y) => y.p - x.p || x.a - y.a);
    const tempting = [byP[0].a, byP[1].a];
    const plain = proj
      .filter((x) => !tempting.includes(x.a))
      .sort((x, y) => Math.abs(x.p) - Math.abs(y.p) || x.a - y.a)
      .slice(0, 2)
      .map((x) => x.a);
    out.fill(Math.log(COVERAGE_FLOOR / (K - 4)), s, s + K);
    for (const a of tempting) out[s + a] = Math.log(TEMPTING_MASS / 2);
    for (const a of plain) out[s + a] = Math.log((1 - TEMPTING_MASS - COVERAGE_FLOOR) / 2);
  }
  return out;
}

/** log π* = normalise(log π0 + r* / η) per context (the behaviour policies' copy of π*). */
function logOptimal(env: BanditEnv, thetaStar: Float64Array): Float64Array {
  const star = rewardsOf(env, thetaStar);
  for (let a = 0; a < star.length; a++) star[a] = env.refLogprobs[a] + star[a] / env.eta;
  return normalizePerContext(env, star);
}

/** Behaviour mass spread uniformly over all actions in 'optimal' coverage (the rest follows π*). */
export const OPTIMAL_UNIFORM_MASS = 0.05;

/**
 * 'optimal' coverage, the regime the offline guarantee speaks to: both actions of a pair come from
 * (1 − ρ)·π* + ρ·uniform (ρ = OPTIMAL_UNIFORM_MASS), so the data covers π* as well as any data
 * can (single-policy concentrability ≈ 1/(1 − ρ)) while the actions π* avoids are compared only
 * rarely (mass ≈ ρ/K each). Needs θ*.
 */
function optimalCoveragePolicy(env: BanditEnv, out: Float64Array): Float64Array {
  if (env.thetaStar === null)
    throw new Error(`behaviourPolicy: 'optimal' needs theta_star, env '${env.name}' has none`);
  const star = logOptimal(env, env.thetaStar);
  const off = env.offsets;
  for (let c = 0; c < env.nContexts; c++) {
    const K = off[c + 1] - off[c];
    for (let a = off[c]; a < off[c + 1]; a++)
      out[a] = Math.log(OPTIMAL_UNIFORM_MASS / K + (1 - OPTIMAL_UNIFORM_MASS) * Math.exp(star[a]));
  }
  return normalizePerContext(env, out);
}

/**
 * Behaviour policy of an offline dataset (both actions of each pair are drawn from it):
 *  - good: ½·uniform + ¼·π0 + ¼·π* (π0 in place of π* if θ* is unknown). Every action has mass
 *    ≥ 1/(2K), so every feature difference is compared.
 *  - poor: the top-2 actions of π0 per context share 1 − ε; the rest share ε = COVERAGE_FLOOR.
 *    Only one difference direction per context is compared (a dataset of "SFT samples").
 *  - adversarial: like poor, but on the 2 actions with the LOWEST true reward r* (the ones π*
 *    avoids), so the comparator π* sits where the data is thinnest. Needs θ*.
 *  - tempting: see `temptingPolicy` (a direction the data barely identifies, and two actions per
 *    context that stick out along it and are compared only rarely).
 *  - optimal: see `optimalCoveragePolicy` ((1 − ρ)·π* + ρ·uniform; needs θ*).
 * All are deterministic; `seed` is accepted for API stability and currently unused.
 * Returns log-probabilities in the flat layout.
 */
export function behaviourPolicy(env: BanditEnv, coverage: Coverage, _seed?: number | string): Float64Array {
  const A = env.offsets[env.nContexts];
  const out = new Float64Array(A);
  const off = env.offsets;
  if (coverage === 'good') {
    const star = env.thetaStar !== null ? logOptimal(env, env.thetaStar) : env.refLogprobs;
    for (let c = 0; c < env.nContexts; c++) {
      const K = off[c + 1] - off[c];
      for (let a = off[c]; a < off[c + 1]; a++)
        out[a] = Math.log(0.5 / K + 0.25 * Math.exp(env.refLogprobs[a]) + 0.25 * Math.exp(star[a]));
    }
    return normalizePerContext(env, out);
  }
  if (coverage === 'tempting') return temptingPolicy(env, out);
  if (coverage === 'optimal') return optimalCoveragePolicy(env, out);
  let score: Float64Array;
  if (coverage === 'poor') score = env.refLogprobs;
  else if (coverage === 'adversarial') {
    if (env.thetaStar === null)
      throw new Error(`behaviourPolicy: 'adversarial' needs theta_star, env '${env.name}' has none`);
    score = rewardsOf(env, env.thetaStar);
    for (let a = 0; a < A; a++) score[a] = -score[a];
  } else
    throw new RangeError(
      `behaviourPolicy: unknown coverage '${String(coverage)}' (expected good|poor|adversarial|tempting|optimal)`,
    );
  for (let c = 0; c < env.nContexts; c++) {
    const s = off[c];
    const K = off[c + 1] - s;
    if (K <= 2) {
      out.fill(-Math.log(K), s, s + K);
      continue;
    }
    // Top-2 by score (ties broken by lower index, so the result is deterministic).
    let b1 = -1;
    let b2 = -1;
    for (let a = 0; a < K; a++) {
      const v = score[s + a];
      if (b1 < 0 || v > score[s + b1]) {
        b2 = b1;
        b1 = a;
      } else if (b2 < 0 || v > score[s + b2]) b2 = a;
    }
    const rest = Math.log(COVERAGE_FLOOR / (K - 2));
    out.fill(rest, s, s + K);
    out[s + b1] = Math.log((1 - COVERAGE_FLOOR) / 2);
    out[s + b2] = Math.log((1 - COVERAGE_FLOOR) / 2);
  }
  return out;
}

/** Local action index a ~ π(·|context), from log-probabilities (Gumbel-max; exact, no exp overflow). */
export function sampleActions(env: BanditEnv, logp: ArrayLike<number>, context: number, rng: Rng): number {
  const s = env.offsets[context];
  return rng.categoricalLog(logp, s, env.offsets[context + 1] - s);
}

/** Context x ~ d0 (by weights). */
export function sampleContext(env: BanditEnv, rng: Rng): number {
  return rng.categorical(env.weights);
}

/** n contexts x ~ d0 at once (inverse CDF, O(log nContexts) each). */
export function sampleContexts(env: BanditEnv, n: number, rng: Rng): Int32Array {
  const cdf = contextCdf(env);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = searchCdf(cdf, 0, env.nContexts, rng.uniform());
  return out;
}
