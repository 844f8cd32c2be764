/** Shared helpers for the nn tests: tiny models, random batches, finite-difference checks. */
import { Rng } from '../../src/math/rng.js';
import { GPT, type SeqBatch } from '../../src/nn/model.js';
import type { GPTConfigInput } from '../../src/nn/config.js';

export const TINY: GPTConfigInput = { vocabSize: 13, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 8 };

/** Random tokens and a mask that scores tokens from position `start` on. */
export function randomBatch(
  rng: Rng,
  B: number,
  T: number,
  V: number,
  start = 1,
): SeqBatch & { lengths: Int32Array } {
  const tokens = new Int32Array(B * T);
  const mask = new Float32Array(B * T);
  const lengths = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    lengths[b] = T - (b % 3);
    for (let t = 0; t < T; t++) {
      tokens[b * T + t] = rng.int(V);
      if (t >= start && t < lengths[b]) mask[b * T + t] = 1;
    }
  }
  return { B, T, tokens, mask, lengths };
}

/** Makes a model whose weights are random enough (not the tiny-init regime) for FD checks. */
export function randomModel(cfg: GPTConfigInput, seed: number): GPT {
  const m = new GPT(cfg, seed);
  const rng = new Rng(seed + 1);
  for (const t of m.tensors) {
    for (let i = 0; i < t.size; i++) {
      const isNormW = /ln_.\.weight|ln_f\.weight/.test(t.name);
      m.params[t.offset + i] = isNormW ? 1 + 0.3 * rng.normal() : 0.3 * rng.normal();
    }
  }
  return m;
}

export interface FdReport {
  worst: number;
  checked: number;
  failures: string[];
}

/**
 * Central finite differences of `loss()` for up to `perTensor` random entries of every tensor,
 * against the analytic gradient `grad` (same layout as model.params).
 */
export function fdCheck(
  model: GPT,
  grad: Float32Array,
  loss: () => number,
  rng: Rng,
  perTensor = 4,
  eps = 1e-2,
  rtol = 2e-2,
  atol = 3e-4,
): FdReport {
  const failures: string[] = [];
  let worst = 0;
  let checked = 0;
  for (const t of model.tensors) {
    const n = Math.min(perTensor, t.size);
    for (let k = 0; k < n; k++) {
      const i = t.offset + (n === t.size ? k : rng.int(t.size));
      const orig = model.params[i];
      model.params[i] = orig + eps;
      const up = model.params[i];
      const lp = loss();
      model.params[i] = orig - eps;
      const dn = model.params[i];
      const lm = loss();
      model.params[i] = orig;
      const fd = (lp - lm) / (up - dn);
      const an = grad[i];
      const err = Math.abs(fd - an) / (atol + rtol * Math.max(Math.abs(fd), Math.abs(an)));
      worst = Math.max(worst, err);
      checked++;
      if (err > 1)
        failures.push(
          `${t.name}[${i - t.offset}]: fd ${fd.toExponential(4)} vs analytic ${an.toExponential(4)}`,
        );
    }
  }
  return { worst, checked, failures };
}
