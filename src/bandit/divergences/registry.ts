/**
 * The registry of f-divergences D_f(π‖π0) = Σ_a π0(a)·f(π(a)/π0(a)) used as regularisers of the
 * KL-regularised bandit's generalisation J_f(π) = E_x[E_{a~π} r − η·D_f(π(·|x)‖π0(·|x))].
 *
 * One entry per divergence. Each gives the generator f (convex, f(1) = 0), its derivative as a
 * function of the log-ratio s = log u (what f-DPO needs: f′(e^s) and d f′(e^s)/ds = u·f″(u)), the
 * inverse (f′)⁻¹ in log form (what the exact optimum needs) and the limits that decide the corner
 * cases: f(0+), f′(0+) (−∞ ⇔ the optimum never puts zero mass on an action of π0 ⇔ the f-DPO
 * identity r_w − r_l = η·(f′(u_w) − f′(u_l)) holds) and f′(∞) = lim f(u)/u (finite ⇔ the optimum's
 * normaliser is bounded, and mass on an action with π0 = 0 has finite cost).
 *
 * Conventions (the χ² ones follow the χPO paper, the α ones TRL/f-DPO):
 *   reverse-kl  f = u log u                         f′ = 1 + log u             → the Gibbs policy
 *   forward-kl  f = −log u                          f′ = −1/u
 *   alpha (α∈(0,1))  f = (u^{1−α} − (1−α)u − α)/(α(α−1))   f′ = (1 − u^{−α})/α  (α→0: reverse KL, α→1: forward KL)
 *   js          f = u log u − (1+u) log((1+u)/2)    f′ = log(2u/(1+u))
 *   chi2        f = ½(u − 1)²                       f′ = u − 1   (f′(0) = −1: the optimum clips actions to 0)
 *   chi2-kl     f = ½(u − 1)² + u log u (χPO)       f′ = u + log u
 */
import { GshfInputError } from '../../math/errors.js';
import { softplus, sigmoid } from '../../math/special.js';

export type DivergenceName = 'reverse-kl' | 'forward-kl' | 'alpha' | 'js' | 'chi2' | 'chi2-kl';
export const DIVERGENCE_NAMES: readonly DivergenceName[] = [
  'reverse-kl',
  'forward-kl',
  'alpha',
  'js',
  'chi2',
  'chi2-kl',
];

export interface Divergence {
  /** Registry name ('alpha' entries carry their α in `label`). */
  readonly name: DivergenceName;
  /** Display label, e.g. "α-divergence (α = 0.5)". */
  readonly label: string;
  /** The generator f(u), u = π/π0 ≥ 0 (f(0) = f0). */
  f(u: number): number;
  /** π0·f(π/π0) from log π and log π0 (finite, both > −∞), computed without overflow where it matters. */
  term(lp: number, lq: number): number;
  /** f(0+) (Infinity for forward KL). */
  readonly f0: number;
  /** f′(∞) = lim_{u→∞} f(u)/u (Infinity when unbounded). */
  readonly slopeInf: number;
  /** f′(0+) (−Infinity when the optimum is always interior). */
  readonly fPrime0: number;
  /** f′(e^s). */
  fPrimeLog(s: number): number;
  /** d f′(e^s)/ds = u·f″(u) at u = e^s (> 0). */
  fPrimeLogSlope(s: number): number;
  /** log (f′)⁻¹(y) for fPrime0 < y < slopeInf; −Infinity for y ≤ fPrime0 (the clipped region). */
  logInvFPrime(y: number): number;
  /** True when f′(0+) = −∞, i.e. the f-DPO pairwise identity holds exactly (no clipping). */
  readonly interior: boolean;
}

export interface DivergenceParams {
  /** α of the α-divergence, in (0, 1). Default 0.5. */
  alpha?: number;
}

const LOG2 = Math.log(2);

const reverseKl: Divergence = {
  name: 'reverse-kl',
  label: 'reverse KL',
  f: (u) => (u === 0 ? 0 : u * Math.log(u)),
  term: (lp, lq) => Math.exp(lp) * (lp - lq),
  f0: 0,
  slopeInf: Infinity,
  fPrime0: -Infinity,
  fPrimeLog: (s) => 1 + s,
  fPrimeLogSlope: () => 1,
  logInvFPrime: (y) => y - 1,
  interior: true,
};

const forwardKl: Divergence = {
  name: 'forward-kl',
  label: 'forward KL',
  f: (u) => -Math.log(u),
  term: (lp, lq) => Math.exp(lq) * (lq - lp),
  f0: Infinity,
  slopeInf: 0,
  fPrime0: -Infinity,
  fPrimeLog: (s) => -Math.exp(-s),
  fPrimeLogSlope: (s) => Math.exp(-s),
  // −1/u = y ⇒ u = −1/y (y < 0).
  logInvFPrime: (y) => (y < 0 ? -Math.log(-y) : Infinity),
  interior: true,
};

function alphaDivergence(alpha: number): Divergence {
  if (!(alpha > 0 && alpha < 1))
    throw new GshfInputError(`alpha-divergence: alpha must be in (0, 1), got ${alpha}`);
  const a = alpha;
  const f = (u: number): number => (u ** (1 - a) - (1 - a) * u - a) / (a * (a - 1));
  return {
    name: 'alpha',
    label: `α-divergence (α = ${a})`,
    f,
    term: (lp, lq) => Math.exp(lq) * f(Math.exp(lp - lq)),
    f0: 1 / (1 - a),
    slopeInf: 1 / a,
    fPrime0: -Infinity,
    fPrimeLog: (s) => -Math.expm1(-a * s) / a,
    fPrimeLogSlope: (s) => Math.exp(-a * s),
    // (1 − u^{−α})/α = y ⇒ u = (1 − αy)^{−1/α} (y < 1/α).
    logInvFPrime: (y) => (y < 1 / a ? -Math.log1p(-a * y) / a : Infinity),
    interior: true,
  };
}

const jensenShannon: Divergence = {
  name: 'js',
  label: 'Jensen–Shannon',
  f: (u) => (u === 0 ? LOG2 : u * Math.log(u) - (1 + u) * Math.log((1 + u) / 2)),
  // q·f(p/q) = p log(2p/(p+q)) + q log(2q/(p+q)), from the logs: log(2p/(p+q)) = log 2 − softplus(lq − lp).
  term: (lp, lq) => Math.exp(lp) * (LOG2 - softplus(lq - lp)) + Math.exp(lq) * (LOG2 - softplus(lp - lq)),
  f0: LOG2,
  slopeInf: LOG2,
  fPrime0: -Infinity,
  // log(2u/(1+u)) = log 2 − softplus(−s).
  fPrimeLog: (s) => LOG2 - softplus(-s),
  fPrimeLogSlope: (s) => sigmoid(-s),
  // 2u/(1+u) = e^y ⇒ u = e^y/(2 − e^y) (y < log 2).
  logInvFPrime: (y) => (y < LOG2 ? y - Math.log(2 - Math.exp(y)) : Infinity),
  interior: true,
};

const chi2: Divergence = {
  name: 'chi2',
  label: 'χ² (½(u−1)²)',
  f: (u) => 0.5 * (u - 1) ** 2,
  term: (lp, lq) => 0.5 * Math.exp(lq) * Math.expm1(lp - lq) ** 2,
  f0: 0.5,
  slopeInf: Infinity,
  fPrime0: -1,
  fPrimeLog: (s) => Math.expm1(s),
  fPrimeLogSlope: (s) => Math.exp(s),
  logInvFPrime: (y) => (y > -1 ? Math.log1p(y) : -Infinity),
  interior: false,
};

/** Solve e^s + s = y for s (u = W(e^y)): Newton from the right of the root, monotone (g convex, increasing). */
export function solveExpPlusLinear(y: number): number {
  if (!Number.isFinite(y)) return y;
  let s = y > 1 ? Math.log(y) : y;
  for (let it = 0; it < 200; it++) {
    const e = Math.exp(s);
    const step = (e + s - y) / (e + 1);
    s -= step;
    if (Math.abs(step) <= 1e-15 * Math.max(1, Math.abs(s))) break;
  }
  return s;
}

const chi2Kl: Divergence = {
  name: 'chi2-kl',
  label: 'χ² + KL (χPO)',
  f: (u) => 0.5 * (u - 1) ** 2 + (u === 0 ? 0 : u * Math.log(u)),
  term: (lp, lq) => 0.5 * Math.exp(lq) * Math.expm1(lp - lq) ** 2 + Math.exp(lp) * (lp - lq),
  f0: 0.5,
  slopeInf: Infinity,
  fPrime0: -Infinity,
  fPrimeLog: (s) => Math.exp(s) + s,
  fPrimeLogSlope: (s) => Math.exp(s) + 1,
  logInvFPrime: solveExpPlusLinear,
  interior: true,
};

/**
 * Look a divergence up by name. `alpha` takes `params.alpha` (default 0.5); the others take no
 * parameters. Unknown names throw with the list of known ones.
 */
export function getDivergence(name: string, params: DivergenceParams = {}): Divergence {
  switch (name as DivergenceName) {
    case 'reverse-kl':
      return reverseKl;
    case 'forward-kl':
      return forwardKl;
    case 'alpha':
      return alphaDivergence(params.alpha ?? 0.5);
    case 'js':
      return jensenShannon;
    case 'chi2':
      return chi2;
    case 'chi2-kl':
      return chi2Kl;
    default:
      throw new GshfInputError(`unknown divergence "${name}" (known: ${DIVERGENCE_NAMES.join(', ')})`);
  }
}
