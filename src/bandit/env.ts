/**
 * The KL-regularised linear contextual bandit (paper §1): contexts x with weights d0(x), actions
 * a with features φ(x,a) ∈ R^d, a reference policy π0 and a KL coefficient η.
 *
 * Flat layout: context c owns actions offsets[c] .. offsets[c+1]−1 of one "flat action index"
 * space, so K may differ per context. Policies are Float64Array log-probabilities in this layout
 * (normalised per context); rewards are Float64Arrays in the same layout.
 */

export interface BanditEnv {
  name: string;
  /** KL coefficient: J(π) = E_x[E_a r − η·KL(π‖π0)], π* ∝ π0·exp(r/η). */
  eta: number;
  /** Feature dimension. */
  d: number;
  nContexts: number;
  /** nContexts + 1 entries; context c has actions offsets[c]..offsets[c+1]−1. */
  offsets: Int32Array;
  /** totalActions × d, row-major. */
  features: Float64Array;
  /** log π0(a|x), normalised per context. */
  refLogprobs: Float64Array;
  /** d0(x): per-context weights, summing to 1. */
  weights: Float64Array;
  /** Ground-truth reward parameter, r*(x,a) = ⟨θ*, φ(x,a)⟩; null when unknown (real data). */
  thetaStar: Float64Array | null;
}

/** n preference pairs. chosen/rejected are LOCAL action indices within the context (0..K_c−1). */
export interface PairData {
  context: Int32Array;
  chosen: Int32Array;
  rejected: Int32Array;
}

export function totalActions(env: BanditEnv): number {
  return env.offsets[env.nContexts];
}

/** K_c, the number of actions of context c. */
export function nActions(env: BanditEnv, c: number): number {
  return env.offsets[c + 1] - env.offsets[c];
}

/** Flat action index of local action a in context c. */
export function flatIndex(env: BanditEnv, c: number, a: number): number {
  return env.offsets[c] + a;
}

export function nPairs(p: PairData): number {
  return p.context.length;
}

export function emptyPairs(): PairData {
  return { context: new Int32Array(0), chosen: new Int32Array(0), rejected: new Int32Array(0) };
}

/** Pairs with preallocated (zeroed) storage for n entries. */
export function allocPairs(n: number): PairData {
  return { context: new Int32Array(n), chosen: new Int32Array(n), rejected: new Int32Array(n) };
}

export function concatPairs(a: PairData, b: PairData): PairData {
  const cat = (x: Int32Array, y: Int32Array): Int32Array => {
    const out = new Int32Array(x.length + y.length);
    out.set(x, 0);
    out.set(y, x.length);
    return out;
  };
  return {
    context: cat(a.context, b.context),
    chosen: cat(a.chosen, b.chosen),
    rejected: cat(a.rejected, b.rejected),
  };
}

/** Copy of pairs [start, end). */
export function slicePairs(p: PairData, start: number, end: number = p.context.length): PairData {
  return {
    context: p.context.slice(start, end),
    chosen: p.chosen.slice(start, end),
    rejected: p.rejected.slice(start, end),
  };
}

/**
 * Pairs with chosen == rejected removed. Sampling two actions from policies can draw the same
 * action twice; such a pair carries no information (Δφ = 0) and the file format rejects it.
 */
export function dropTies(p: PairData): PairData {
  let m = 0;
  for (let i = 0; i < p.context.length; i++) if (p.chosen[i] !== p.rejected[i]) m++;
  const out = allocPairs(m);
  let j = 0;
  for (let i = 0; i < p.context.length; i++) {
    if (p.chosen[i] === p.rejected[i]) continue;
    out.context[j] = p.context[i];
    out.chosen[j] = p.chosen[i];
    out.rejected[j] = p.rejected[i];
    j++;
  }
  return out;
}

/** n×d row-major matrix of Δφ_i = φ(x_i, chosen_i) − φ(x_i, rejected_i). */
export function featureDiffs(env: BanditEnv, pairs: PairData, out?: Float64Array): Float64Array {
  const n = pairs.context.length;
  const d = env.d;
  const D = out ?? new Float64Array(n * d);
  const F = env.features;
  for (let i = 0; i < n; i++) {
    const base = env.offsets[pairs.context[i]];
    const w = (base + pairs.chosen[i]) * d;
    const l = (base + pairs.rejected[i]) * d;
    const o = i * d;
    for (let j = 0; j < d; j++) D[o + j] = F[w + j] - F[l + j];
  }
  return D;
}

/**
 * Structural sanity check of an in-memory environment (shapes, finiteness, normalisation).
 * Throws an Error naming the first problem. Cheap: O(totalActions·d).
 */
export function validateEnv(env: BanditEnv): void {
  const { d, nContexts, offsets } = env;
  if (!(env.eta > 0)) throw new Error(`env ${env.name}: eta must be > 0, got ${env.eta}`);
  if (!Number.isInteger(d) || d < 1)
    throw new Error(`env ${env.name}: d must be a positive integer, got ${d}`);
  if (offsets.length !== nContexts + 1 || offsets[0] !== 0)
    throw new Error(`env ${env.name}: offsets must have nContexts+1 entries starting at 0`);
  for (let c = 0; c < nContexts; c++)
    if (offsets[c + 1] <= offsets[c]) throw new Error(`env ${env.name}: context ${c} has no actions`);
  const A = offsets[nContexts];
  if (env.features.length !== A * d)
    throw new Error(`env ${env.name}: features length ${env.features.length} != ${A}×${d}`);
  if (env.refLogprobs.length !== A)
    throw new Error(`env ${env.name}: refLogprobs length ${env.refLogprobs.length} != ${A}`);
  if (env.weights.length !== nContexts)
    throw new Error(`env ${env.name}: weights length ${env.weights.length} != ${nContexts}`);
  for (let i = 0; i < env.features.length; i++)
    if (!Number.isFinite(env.features[i]))
      throw new Error(`env ${env.name}: features[${i}] is ${env.features[i]}`);
  let ws = 0;
  for (let c = 0; c < nContexts; c++) {
    if (!(env.weights[c] >= 0))
      throw new Error(`env ${env.name}: weight of context ${c} is ${env.weights[c]}`);
    ws += env.weights[c];
    let s = 0;
    for (let a = offsets[c]; a < offsets[c + 1]; a++) s += Math.exp(env.refLogprobs[a]);
    if (Math.abs(s - 1) > 1e-9) throw new Error(`env ${env.name}: π0 of context ${c} sums to ${s}, not 1`);
  }
  if (Math.abs(ws - 1) > 1e-9) throw new Error(`env ${env.name}: context weights sum to ${ws}, not 1`);
  if (env.thetaStar !== null && env.thetaStar.length !== d)
    throw new Error(`env ${env.name}: thetaStar has length ${env.thetaStar.length}, expected d = ${d}`);
}
