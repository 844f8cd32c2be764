/**
 * Per-pair preference losses (TRL `DPOTrainer` definitions, docs/pref-training.md) as pure functions
 * of the four summed log-probs. Each returns the loss and its derivatives w.r.t. the two POLICY
 * log-probs (the reference is a constant), which the trainer feeds to `backwardSeqLogProbs`.
 *
 * Notation: Δ = (logπ(c) − logπref(c)) − (logπ(r) − logπref(r)), z = β·Δ + offset, where `offset`
 * is an extra additive term inside the link (the paper's pessimistic margin Γ(x,a_w) − Γ(x,a_l)).
 */
import { softplus, sigmoid } from '../math/special.js';
import { getDivergence, type Divergence, type DivergenceName } from '../bandit/divergences/registry.js';

export type LossType = 'sigmoid' | 'cdpo' | 'robust' | 'ipo' | 'hinge' | 'fdpo' | 'chipo';
export const LOSS_TYPES: readonly LossType[] = ['sigmoid', 'cdpo', 'robust', 'ipo', 'hinge', 'fdpo', 'chipo'];

/** Summed completion log-probs of one pair; token counts are needed by IPO (normalised) and the NLL term. */
export interface PairLogProbs {
  policyChosen: number;
  policyRejected: number;
  refChosen: number;
  refRejected: number;
  /** Scored tokens of the chosen / rejected completion (default 1). */
  chosenTokens?: number;
  rejectedTokens?: number;
}

export interface LossOptions {
  /** β (the paper's η): KL strength. Must be > 0. */
  beta: number;
  /** ε for `cdpo` (label smoothing) and `robust` (label-flip rate), in [0, 0.5). Default 0. */
  labelSmoothing?: number;
  /**
   * IPO only: true (default, TRL) uses per-token average log-ratios (sum / token count);
   * false uses summed log-ratios (OpenRLHF). β means different things in the two.
   */
  ipoNormalize?: boolean;
  /** RPO-style NLL-on-chosen weight α: adds α·(−logπ(c) / |c|). Default 0. */
  nllAlpha?: number;
  /** `fdpo` only: the divergence (src/bandit/divergences registry). Default 'reverse-kl' (= DPO). */
  divergence?: DivergenceName;
  /** `fdpo` with divergence 'alpha': its α in (0, 1). Default 0.5. */
  alpha?: number;
  /** `chipo` only: clip each implicit reward β·φ(u) to [−c, c] (the χPO paper's 2·R_max). Default ∞. */
  chipoClip?: number;
}

export interface PairLoss {
  loss: number;
  /** ∂loss/∂ logπ(chosen) */
  dChosen: number;
  /** ∂loss/∂ logπ(rejected) */
  dRejected: number;
}

function check(o: LossOptions): void {
  if (!(o.beta > 0) || !Number.isFinite(o.beta))
    throw new RangeError(`beta must be a positive number, got ${o.beta}`);
  const eps = o.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps < 0.5)) throw new RangeError(`labelSmoothing must be in [0, 0.5), got ${eps}`);
}

function delta(p: PairLogProbs): number {
  return p.policyChosen - p.refChosen - (p.policyRejected - p.refRejected);
}

/** Shared tail for losses of z = βΔ + offset: chain rule through ∂z/∂logπ(c) = β, ∂z/∂logπ(r) = −β. */
function fromZ(loss: number, dz: number, beta: number): PairLoss {
  return { loss, dChosen: beta * dz, dRejected: -beta * dz };
}

/** DPO: L = −log σ(z) = softplus(−z). */
export function sigmoidLoss(p: PairLogProbs, o: LossOptions, offset = 0): PairLoss {
  check(o);
  const z = o.beta * delta(p) + offset;
  return fromZ(softplus(-z), -sigmoid(-z), o.beta);
}

/** cDPO: L = −(1−ε)·log σ(z) − ε·log σ(−z). */
export function cdpoLoss(p: PairLogProbs, o: LossOptions, offset = 0): PairLoss {
  check(o);
  const eps = o.labelSmoothing ?? 0;
  const z = o.beta * delta(p) + offset;
  const loss = (1 - eps) * softplus(-z) + eps * softplus(z);
  const dz = -(1 - eps) * sigmoid(-z) + eps * sigmoid(z);
  return fromZ(loss, dz, o.beta);
}

/**
 * Robust DPO (rDPO): L = [−(1−ε)·log σ(z) + ε·log σ(−z)] / (1 − 2ε). The + sign and the division
 * make it an unbiased estimate of the clean-label loss under label flips of rate ε (not a smoothing).
 */
export function robustLoss(p: PairLogProbs, o: LossOptions, offset = 0): PairLoss {
  check(o);
  const eps = o.labelSmoothing ?? 0;
  const z = o.beta * delta(p) + offset;
  const k = 1 / (1 - 2 * eps);
  const loss = k * ((1 - eps) * softplus(-z) - eps * softplus(z));
  const dz = k * (-(1 - eps) * sigmoid(-z) - eps * sigmoid(z));
  return fromZ(loss, dz, o.beta);
}

/**
 * IPO: L = (Δ' + offset/β − 1/(2β))², Δ' = Δ built from per-token average log-ratios (default, TRL)
 * or sums. Equivalent to ((z − ½)/β)² with z = βΔ' + offset, so the offset shifts the target the
 * same way it shifts the sigmoid losses. Minimiser: Δ' = 1/(2β) − offset/β.
 */
export function ipoLoss(p: PairLogProbs, o: LossOptions, offset = 0): PairLoss {
  check(o);
  const norm = o.ipoNormalize ?? true;
  const nc = norm ? Math.max(1, p.chosenTokens ?? 1) : 1;
  const nr = norm ? Math.max(1, p.rejectedTokens ?? 1) : 1;
  const d = (p.policyChosen - p.refChosen) / nc - (p.policyRejected - p.refRejected) / nr;
  const u = d + offset / o.beta - 1 / (2 * o.beta);
  return { loss: u * u, dChosen: (2 * u) / nc, dRejected: (-2 * u) / nr };
}

/** Hinge (SLiC / RSO): L = max(0, 1 − z). Subgradient 0 at the kink z = 1 (like ReLU'(0) in PyTorch). */
export function hingeLoss(p: PairLogProbs, o: LossOptions, offset = 0): PairLoss {
  check(o);
  const z = o.beta * delta(p) + offset;
  return z < 1 ? fromZ(1 - z, -1, o.beta) : { loss: 0, dChosen: 0, dRejected: 0 };
}

/**
 * The f-DPO link for an interior divergence: the optimum of J_f satisfies
 * r(x,a) = η·f′(π(a|x)/π0(a|x)) + λ(x), and λ(x) cancels in r_w − r_l exactly when f′(0+) = −∞,
 * so L = −log σ(β·[f′(u_w) − f′(u_l)] + offset) with u = π/π_ref, computed from the log-ratios.
 * Returns z and ∂z/∂s_w, ∂z/∂s_l (s = log-ratio) for the chain rule.
 */
function fLink(
  div: Divergence,
  p: PairLogProbs,
  beta: number,
  clip: number,
): { z: number; dw: number; dl: number } {
  const sw = p.policyChosen - p.refChosen;
  const sl = p.policyRejected - p.refRejected;
  const side = (s: number): [number, number] => {
    const v = beta * div.fPrimeLog(s);
    // Outside the clip band the implicit reward is constant (zero gradient, as torch.clamp).
    if (v > clip) return [clip, 0];
    if (v < -clip) return [-clip, 0];
    return [v, beta * div.fPrimeLogSlope(s)];
  };
  const [vw, dw] = side(sw);
  const [vl, dl] = side(sl);
  return { z: vw - vl, dw, dl: -dl };
}

function fdpoFromLink(
  div: Divergence,
  p: PairLogProbs,
  o: LossOptions,
  offset: number,
  clip: number,
): PairLoss {
  check(o);
  const { z: zl, dw, dl } = fLink(div, p, o.beta, clip);
  const z = zl + offset;
  const dz = -sigmoid(-z);
  return { loss: softplus(-z), dChosen: dz * dw, dRejected: dz * dl };
}

/**
 * f-DPO (Wang et al., "Beyond reverse KL"): L = −log σ(β·[f′(u_w) − f′(u_l)] + offset). Only for the
 * divergences whose optimum is interior (f′(0+) = −∞: reverse KL — where it is DPO —, forward KL,
 * α, Jensen–Shannon, χ² + KL); χ² alone clips actions to zero mass, the normaliser no longer
 * cancels, and it is rejected (use `chipo`).
 */
export function fdpoLoss(p: PairLogProbs, o: LossOptions, offset = 0): PairLoss {
  const div = getDivergence(o.divergence ?? 'reverse-kl', { alpha: o.alpha });
  if (!div.interior)
    throw new RangeError(
      `fdpo: the ${div.label} optimum clips actions to zero mass (f′(0+) = ${div.fPrime0}), so the f-DPO identity does not hold; use loss 'chipo' (χ² + KL)`,
    );
  return fdpoFromLink(div, p, o, offset, Infinity);
}

/**
 * χPO (Huang et al., χ²-preference optimisation): f-DPO with the χ² + KL regulariser,
 * φ(u) = u + log u, each implicit reward β·φ(u) clipped to [−chipoClip, chipoClip].
 */
export function chipoLoss(p: PairLogProbs, o: LossOptions, offset = 0): PairLoss {
  const clip = o.chipoClip ?? Infinity;
  if (!(clip > 0)) throw new RangeError(`chipoClip must be > 0, got ${clip}`);
  return fdpoFromLink(getDivergence('chi2-kl'), p, o, offset, clip);
}

const LOSSES: Record<LossType, (p: PairLogProbs, o: LossOptions, offset: number) => PairLoss> = {
  sigmoid: sigmoidLoss,
  cdpo: cdpoLoss,
  robust: robustLoss,
  ipo: ipoLoss,
  hinge: hingeLoss,
  fdpo: fdpoLoss,
  chipo: chipoLoss,
};

/**
 * The loss `type` plus the optional NLL term α·(−logπ(c)/|c|) (per-pair form of TRL's `rpo_alpha`,
 * which averages the chosen-token NLL over the batch's tokens instead).
 */
export function preferenceLoss(type: LossType, p: PairLogProbs, o: LossOptions, offset = 0): PairLoss {
  const f = LOSSES[type];
  if (!f) throw new RangeError(`unknown loss type "${String(type)}" (expected ${LOSS_TYPES.join(', ')})`);
  const r = f(p, o, offset);
  const alpha = o.nllAlpha ?? 0;
  if (alpha !== 0) {
    const n = Math.max(1, p.chosenTokens ?? 1);
    r.loss += (alpha * -p.policyChosen) / n;
    r.dChosen += -alpha / n;
  }
  return r;
}

/**
 * The paper's pessimistic margin as a loss offset: offset = coef·(Γ(x,a_w) − Γ(x,a_l)), added inside
 * the link (z = βΔ + offset). With r̂ = r − Γ (pessimistic reward) the BT likelihood of the data is
 * σ(r̂_w − r̂_l + Γ_w − Γ_l), and the policy's implicit reward βΔ plays r̂_w − r̂_l. A more uncertain
 * chosen (Γ_w > Γ_l) gives a positive offset, so the fit needs a smaller βΔ: the preference for the
 * uncertain response is DEcreased; a more uncertain rejected response gets pushed down further.
 */
export function pessimisticOffset(gammaChosen: number, gammaRejected: number, coef = 1): number {
  return coef * (gammaChosen - gammaRejected);
}

/** Element-wise `pessimisticOffset` for a data set (e.g. Γ = ensemble std of each response), aligned with the pairs. */
export function pessimisticOffsets(
  gammaChosen: ArrayLike<number>,
  gammaRejected: ArrayLike<number>,
  coef = 1,
): Float64Array {
  if (gammaChosen.length !== gammaRejected.length)
    throw new RangeError(`${gammaChosen.length} chosen vs ${gammaRejected.length} rejected uncertainties`);
  const out = new Float64Array(gammaChosen.length);
  for (let i = 0; i < out.length; i++) out[i] = coef * (gammaChosen[i] - gammaRejected[i]);
  return out;
}

/** TRL DPOTrainer metric names. */
export interface DpoMetrics {
  'rewards/chosen': number;
  'rewards/rejected': number;
  'rewards/margins': number;
  'rewards/accuracies': number;
  'logps/chosen': number;
  'logps/rejected': number;
  loss: number;
}

/**
 * Batch metrics with TRL's definitions: rewards = β·(raw, summed) log-ratio, means over pairs;
 * accuracy counts strict chosen > rejected (ties are wrong); logps are batch means of SUMMED
 * policy log-probs; loss is the mean of the per-pair losses passed in.
 */
export function dpoMetrics(
  pairs: readonly PairLogProbs[],
  beta: number,
  losses: ArrayLike<number>,
): DpoMetrics {
  const n = pairs.length;
  let rc = 0,
    rr = 0,
    acc = 0,
    lc = 0,
    lr = 0,
    l = 0;
  for (let i = 0; i < n; i++) {
    const p = pairs[i];
    const c = beta * (p.policyChosen - p.refChosen);
    const r = beta * (p.policyRejected - p.refRejected);
    rc += c;
    rr += r;
    if (c > r) acc++;
    lc += p.policyChosen;
    lr += p.policyRejected;
    l += losses[i];
  }
  const k = n > 0 ? 1 / n : NaN;
  return {
    'rewards/chosen': rc * k,
    'rewards/rejected': rr * k,
    'rewards/margins': (rc - rr) * k,
    'rewards/accuracies': acc * k,
    'logps/chosen': lc * k,
    'logps/rejected': lr * k,
    loss: l * k,
  };
}
