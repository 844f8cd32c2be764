/**
 * Damped Newton for the smooth convex negative log-likelihoods of this folder (Plackett–Luce,
 * Rao–Kupper ties, annotator reliabilities): each supplies value, gradient and Hessian at x, and
 * may declare points outside its domain (e.g. a tie parameter α ≤ 0) by returning +∞. Armijo
 * backtracking on the full objective makes the iteration globally convergent on strictly convex
 * objectives. The Bradley–Terry MLE has its own specialised solver (../mle.ts) and is not rerouted here.
 */
import { cholesky, choleskySolve } from '../../math/linalg.js';
import { GshfNumericError } from '../../math/errors.js';

/** f(x); when grad/hess are given, also writes ∇f (length p) and ∇²f (p×p row-major, zeroed by the caller). */
export type ConvexObjective = (x: Float64Array, grad?: Float64Array, hess?: Float64Array) => number;

export interface NewtonOptions {
  maxIter?: number;
  /** Stop when ‖∇f‖₂ ≤ tol (absolute; the caller scales it). */
  tol?: number;
}

export interface NewtonResult {
  x: Float64Array;
  value: number;
  gradNorm: number;
  iterations: number;
  converged: boolean;
}

/** Minimises f from x0 (which must be in f's domain). */
export function newtonMinimize(
  f: ConvexObjective,
  x0: ArrayLike<number>,
  opts: NewtonOptions = {},
): NewtonResult {
  const p = x0.length;
  const maxIter = opts.maxIter ?? 100;
  const tol = opts.tol ?? 1e-10;
  let x = Float64Array.from(x0);
  const g = new Float64Array(p);
  const H = new Float64Array(p * p);
  let value = evaluate(f, x, g, H);
  if (!Number.isFinite(value)) throw new GshfNumericError(`newtonMinimize: f(x0) = ${value}`);
  let it = 0;
  for (; it < maxIter; it++) {
    if (norm(g) <= tol) break;
    const step = newtonStep(H, g, p);
    const slope = dotp(g, step);
    // Near the optimum the decrease falls below the rounding error of f (a sum of many terms):
    // allow that much slack so the quadratically convergent full step is still taken.
    const slack = 8 * Number.EPSILON * Math.max(1, Math.abs(value));
    let t = 1;
    let accepted = false;
    const trial = new Float64Array(p);
    for (let ls = 0; ls < 60; ls++) {
      for (let j = 0; j < p; j++) trial[j] = x[j] + t * step[j];
      const v = f(trial);
      if (Number.isFinite(v) && v <= value + 1e-4 * t * slope + slack) {
        accepted = true;
        break;
      }
      t *= 0.5;
    }
    if (!accepted) break; // no decrease representable: reported through gradNorm / converged
    x = trial;
    value = evaluate(f, x, g, H);
  }
  const gradNorm = norm(g);
  return { x, value, gradNorm, iterations: it, converged: gradNorm <= tol };
}

function evaluate(f: ConvexObjective, x: Float64Array, g: Float64Array, H: Float64Array): number {
  g.fill(0);
  H.fill(0);
  return f(x, g, H);
}

/** −H⁻¹g, with a growing diagonal jitter if H is not numerically positive definite. */
function newtonStep(H: Float64Array, g: Float64Array, p: number): Float64Array {
  let jitter = 0;
  for (let attempt = 0; attempt < 30; attempt++) {
    const A = Float64Array.from(H);
    if (jitter > 0) for (let j = 0; j < p; j++) A[j * p + j] += jitter;
    try {
      const s = choleskySolve(cholesky(A, p), p, g);
      for (let j = 0; j < p; j++) s[j] = -s[j];
      return s;
    } catch {
      jitter = jitter === 0 ? 1e-12 * (1 + maxDiag(H, p)) : jitter * 10;
    }
  }
  throw new GshfNumericError('newtonMinimize: Hessian could not be regularised');
}

function maxDiag(H: Float64Array, p: number): number {
  let m = 0;
  for (let j = 0; j < p; j++) m = Math.max(m, Math.abs(H[j * p + j]));
  return m;
}

function dotp(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dotp(a, a));
}
