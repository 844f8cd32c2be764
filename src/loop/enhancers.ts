/**
 * Enhancers: how the loop picks the one pair per prompt it pays a label for.
 *   - best-worst:  best vs worst of n under the current reward model (RLHF Workflow Algorithm 2);
 *   - uncertainty: the pair whose reward difference is most uncertain (the paper's enhancer: the
 *                  ensemble's spread, or ‖φ_i − φ_j‖ in Σ⁻¹ for the linear RM), slot a = RM favourite;
 *   - random:      two distinct responses, uniformly (a baseline).
 * When the reward model cannot tell the responses apart (no labels yet: all scores equal), the
 * informed enhancers fall back to the random pair. Randomness is keyed by (seed, query id), so a
 * resumed run picks the same pairs.
 */
import { Rng } from '../math/rng.js';
import { bestWorstPair, uncertaintyPair } from '../pref/sampling.js';
import type { PairSelector, RowScores, SelectedPair } from '../iterate/iteration.js';

export type EnhancerName = 'best-worst' | 'uncertainty' | 'random';
export const ENHANCERS = ['best-worst', 'uncertainty', 'random'] as const satisfies readonly EnhancerName[];

/** Two responses with different texts, uniformly at random (null if all texts are equal). */
export function randomPair(texts: readonly string[], rng: Rng): SelectedPair | null {
  const distinct = new Map<string, number>();
  texts.forEach((t, i) => {
    if (!distinct.has(t)) distinct.set(t, i);
  });
  const idx = [...distinct.values()];
  if (idx.length < 2) return null;
  const i = rng.int(idx.length);
  let j = rng.int(idx.length - 1);
  if (j >= i) j++;
  return { a: idx[i], b: idx[j] };
}

function allEqual(xs: readonly number[]): boolean {
  return xs.every((x) => x === xs[0]);
}

function mostUncertain(texts: readonly string[], sc: RowScores): SelectedPair | null {
  let best: SelectedPair | null = null;
  if (sc.uncertainty) {
    for (let i = 0; i < texts.length; i++)
      for (let j = i + 1; j < texts.length; j++) {
        if (texts[i] === texts[j]) continue;
        const u = sc.uncertainty(i, j);
        if (u > 0 && (!best || u > (best.priority ?? 0))) best = { a: i, b: j, priority: u };
      }
  } else if (sc.members && sc.members.length > 1) {
    const p = uncertaintyPair(texts, { ensemble: sc.members.map((m) => Float64Array.from(m)) });
    if (p) best = { a: p.i, b: p.j, priority: p.uncertainty };
  }
  if (!best) return null;
  // Slot a is the reward model's favourite (as for best-worst).
  return sc.mean[best.a] >= sc.mean[best.b] ? best : { a: best.b, b: best.a, priority: best.priority };
}

export function makeEnhancer(name: EnhancerName, seed: string): PairSelector {
  const rngFor = (key: string): Rng => new Rng(`${seed}/enhancer/${key}`);
  return (texts, sc, key) => {
    if (name === 'random') return randomPair(texts, rngFor(key));
    if (name === 'uncertainty') return mostUncertain(texts, sc) ?? randomPair(texts, rngFor(key));
    const p = bestWorstPair(texts, sc.mean);
    if (p)
      return {
        a: p.chosenIndex,
        b: p.rejectedIndex,
        priority: sc.mean[p.chosenIndex] - sc.mean[p.rejectedIndex],
      };
    return allEqual(sc.mean) ? randomPair(texts, rngFor(key)) : null;
  };
}
