/**
 * Pieces shared by the offline bandit algorithms (offline-*.ts, dpo.ts, rso.ts): option merging
 * with validation, the ridge BT-MLE, the reference ν the uncertainty is centred on, and the
 * theoretical confidence radius β.
 */
import type { BanditEnv, PairData } from '../env.js';
import { fitMLE } from '../mle.js';
import { expectedFeatures } from '../policy.js';
import { didYouMean } from '../../math/errors.js';

/** What the pessimism penalty is centred on. The paper leaves ν open (docs/theory.md §2). */
export type Reference = 'pi0' | 'data';

/**
 * Merge user options over defaults. Configs arrive as untyped records, so unknown keys and
 * wrong primitive types are rejected here with the algorithm's name (a typo must not silently
 * fall back to a default).
 */
export function resolveOptions<T extends object>(
  algorithm: string,
  defaults: T,
  given: object | undefined,
): T {
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  if (given === undefined || given === null) return out as T;
  const known = Object.keys(defaults);
  for (const [k, v] of Object.entries(given)) {
    if (!known.includes(k))
      throw new Error(
        `${algorithm}: unknown option "${k}"${didYouMean(k, known) || ` (known: ${known.join(', ')})`}`,
      );
    if (v === undefined) continue;
    out[k] = v;
  }
  return out as T;
}

export function requirePositive(algorithm: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))
    throw new Error(`${algorithm}: option ${name} must be a finite number > 0, got ${String(v)}`);
  return v;
}

export function requireNonNegative(algorithm: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v))
    throw new Error(`${algorithm}: option ${name} must be a finite number ≥ 0, got ${String(v)}`);
  return v;
}

export function requireInteger(algorithm: string, name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new Error(`${algorithm}: option ${name} must be an integer ≥ ${min}, got ${String(v)}`);
  return v;
}

export function requireOneOf<T extends string>(
  algorithm: string,
  name: string,
  v: unknown,
  allowed: readonly T[],
): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
    throw new Error(`${algorithm}: option ${name} must be one of ${allowed.join(' | ')}, got ${String(v)}`);
  return v as T;
}

/** Optional ‖θ‖ ≤ B constraint of the MLE: null (no constraint) or a positive number. */
export function requireNormBound(algorithm: string, v: unknown): number | null {
  if (v === null) return null;
  return requirePositive(algorithm, 'normBound', v);
}

/**
 * Ridge BT-MLE θ̂ = argmin Σ softplus(−⟨θ,Δφ_i⟩) + (λ/2)‖θ‖² (optionally ‖θ‖ ≤ B), via the shared
 * solver in ../mle.ts. With no pairs θ̂ = 0, so every Gibbs policy built from it is π0.
 */
export function fitThetaMle(
  env: BanditEnv,
  pairs: PairData,
  lambda: number,
  normBound: number | null,
): Float64Array {
  if (pairs.context.length === 0) return new Float64Array(env.d);
  const res = fitMLE(env, pairs, normBound === null ? { lambda } : { lambda, normBound });
  return res.theta;
}

/**
 * ν(x) for every context (nContexts×d, row-major).
 *  - 'pi0':  ν(x) = E_{a~π0(·|x)} φ(x,a), the SFT policy's mean feature.
 *  - 'data': ν(x) = mean of φ(x,a) over every action occurrence (chosen and rejected) in the
 *            offline pairs at x, i.e. the empirical behaviour policy's mean feature; contexts with
 *            no pairs fall back to the π0 mean (there is no behaviour estimate there).
 */
export function referenceFeatures(env: BanditEnv, pairs: PairData, nu: Reference): Float64Array {
  const d = env.d;
  const out = expectedFeatures(env, env.refLogprobs);
  if (nu === 'pi0') return out;
  const sums = new Float64Array(env.nContexts * d);
  const counts = new Float64Array(env.nContexts);
  const F = env.features;
  for (let i = 0; i < pairs.context.length; i++) {
    const c = pairs.context[i];
    const base = env.offsets[c];
    for (const a of [pairs.chosen[i], pairs.rejected[i]]) {
      const o = (base + a) * d;
      for (let j = 0; j < d; j++) sums[c * d + j] += F[o + j];
      counts[c]++;
    }
  }
  for (let c = 0; c < env.nContexts; c++) {
    if (counts[c] === 0) continue;
    for (let j = 0; j < d; j++) out[c * d + j] = sums[c * d + j] / counts[c];
  }
  return out;
}

/** E_{x~d0} ν(x) (length d). */
export function meanReference(env: BanditEnv, nuFeatures: Float64Array): Float64Array {
  const d = env.d;
  const m = new Float64Array(d);
  for (let c = 0; c < env.nContexts; c++) {
    const w = env.weights[c];
    for (let j = 0; j < d; j++) m[j] += w * nuFeatures[c * d + j];
  }
  return m;
}

export interface TheoryBetaOptions {
  /** Failure probability δ of the confidence set. */
  delta: number;
  /** Assumed norm bound B on θ* (the learner does not know θ*; this is a modelling input). */
  normBound: number;
  /** Absolute constant c in front (the bound holds for some unspecified c). */
  scale: number;
}

/**
 * β = c·√((d + log(1/δ))/γ² + λB²), γ = 1/(2 + e^{−B} + e^{B}): the standard BT-MLE radius with
 * ‖θ̂ − θ*‖_Σ ≤ β for Σ = λI + Σ_i Δφ_iΔφ_iᵀ (unnormalised sum, as we build Σ). This form
 * is not checked against the ICML text (docs/theory.md §6); it is conservative (≈13 for d = 4, B = 1, δ = 0.05).
 */
export function theoryBeta(d: number, lambda: number, o: TheoryBetaOptions): number {
  const gamma = 1 / (2 + Math.exp(-o.normBound) + Math.exp(o.normBound));
  return (
    o.scale * Math.sqrt((d + Math.log(1 / o.delta)) / (gamma * gamma) + lambda * o.normBound * o.normBound)
  );
}
