/**
 * Causal self-attention shared by the GPT-2 and Llama blocks: the full forward/backward over a fused
 * [q | k | v] buffer (B·NH heads of T×T, per-(b, h) GEMMs on strided views, or one native call) and
 * the single-query cached form used by KV-cache decoding. Both blocks lay q, k and v out as NH heads
 * of width hs each (the Llama block first repeats its grouped key/value heads).
 */
import { nativeOp } from '../native/index.js';
import { sgemm, softmaxCausal } from './kernels.js';

/**
 * One head of cached attention for one query: scores over keys 0..n−1, softmax, weighted sum of
 * values. Kept small so V8 optimises it well; sums run in float64 in the same order as the GEMMs
 * of the full forward (so results are bit-identical on the TS path).
 */
export function attendCached(
  q: Float32Array,
  qo: number,
  kc: Float32Array,
  vc: Float32Array,
  ko: number,
  ld: number,
  n: number,
  hs: number,
  scale: number,
  scores: Float32Array,
  out: Float32Array,
  oo: number,
): void {
  // 4 keys at a time (independent accumulators, each summed over d in order)
  const n4 = n - (n % 4);
  let j = 0;
  for (; j < n4; j += 4) {
    const k0 = ko + j * ld,
      k1 = k0 + ld,
      k2 = k1 + ld,
      k3 = k2 + ld;
    let a0 = 0,
      a1 = 0,
      a2 = 0,
      a3 = 0;
    for (let d = 0; d < hs; d++) {
      const x = q[qo + d];
      a0 += x * kc[k0 + d];
      a1 += x * kc[k1 + d];
      a2 += x * kc[k2 + d];
      a3 += x * kc[k3 + d];
    }
    scores[j] = scale * a0;
    scores[j + 1] = scale * a1;
    scores[j + 2] = scale * a2;
    scores[j + 3] = scale * a3;
  }
  for (; j < n; j++) {
    const kj = ko + j * ld;
    let a = 0;
    for (let d = 0; d < hs; d++) a += q[qo + d] * kc[kj + d];
    scores[j] = scale * a;
  }
  softmaxRow(scores, 0, n);
  // 4 output dims at a time (each summed over keys in order)
  const h4 = hs - (hs % 4);
  let d = 0;
  for (; d < h4; d += 4) {
    let a0 = 0,
      a1 = 0,
      a2 = 0,
      a3 = 0;
    let v = ko + d;
    for (let jj = 0; jj < n; jj++) {
      const w = scores[jj];
      a0 += w * vc[v];
      a1 += w * vc[v + 1];
      a2 += w * vc[v + 2];
      a3 += w * vc[v + 3];
      v += ld;
    }
    out[oo + d] = a0;
    out[oo + d + 1] = a1;
    out[oo + d + 2] = a2;
    out[oo + d + 3] = a3;
  }
  for (; d < hs; d++) {
    let a = 0;
    let v = ko + d;
    for (let jj = 0; jj < n; jj++) {
      a += scores[jj] * vc[v];
      v += ld;
    }
    out[oo + d] = a;
  }
}

/** Row softmax over x[off .. off+n) in place (shared by the full and the cached attention paths). */
function softmaxRow(x: Float32Array, off: number, n: number): void {
  let mx = -Infinity;
  for (let j = 0; j < n; j++) if (x[off + j] > mx) mx = x[off + j];
  let s = 0;
  for (let j = 0; j < n; j++) {
    const e = Math.exp(x[off + j] - mx);
    x[off + j] = e;
    s += e;
  }
  const inv = 1 / s;
  for (let j = 0; j < n; j++) x[off + j] *= inv;
}

/**
 * Causal self-attention of one layer (B·NH heads of T×T): att = causal softmax(Q·Kᵀ/√hs), y = att·V.
 * qkv [B·T, 3C] (q | k | v per row) → att [B·NH, T, T], y [B·T, C]. One native call when the
 * addon has it; otherwise per-(b, h) GEMMs on strided views (lda = 3C), one causal softmax over the
 * B·NH blocks, then the value products.
 */
export function attentionForward(
  qkv: Float32Array,
  att: Float32Array,
  atty: Float32Array,
  B: number,
  T: number,
  NH: number,
  hs: number,
): void {
  const C = NH * hs;
  const C3 = 3 * C;
  const scale = 1 / Math.sqrt(hs);
  const nat = nativeOp('attentionForward');
  if (nat) return nat(qkv, att, atty, B, T, NH, hs, scale);
  for (let b = 0; b < B; b++) {
    const base = b * T * C3;
    for (let h = 0; h < NH; h++) {
      const qo = base + h * hs;
      sgemm(false, true, T, T, hs, scale, qkv, qo, C3, qkv, qo + C, C3, 0, att, (b * NH + h) * T * T, T);
    }
  }
  softmaxCausal(att, T, B * NH);
  for (let b = 0; b < B; b++) {
    const base = b * T * C3;
    for (let h = 0; h < NH; h++) {
      const ao = (b * NH + h) * T * T;
      const qo = base + h * hs;
      sgemm(false, false, T, hs, T, 1, att, ao, T, qkv, qo + 2 * C, C3, 0, atty, b * T * C + h * hs, C);
    }
  }
}

/**
 * Backward of {@link attentionForward}: from dy = dL/d(atty) [B·T, C], overwrites dqkv [B·T, 3C];
 * datt is T×T scratch. One native call when the addon has it.
 */
export function attentionBackward(
  qkv: Float32Array,
  att: Float32Array,
  datty: Float32Array,
  dqkv: Float32Array,
  datt: Float32Array,
  B: number,
  T: number,
  NH: number,
  hs: number,
): void {
  const C = NH * hs;
  const C3 = 3 * C;
  const scale = 1 / Math.sqrt(hs);
  const nat = nativeOp('attentionBackward');
  if (nat) return nat(qkv, att, datty, dqkv, B, T, NH, hs, scale);
  for (let b = 0; b < B; b++) {
    const base = b * T * C3;
    for (let h = 0; h < NH; h++) {
      const ao = (b * NH + h) * T * T;
      const qo = base + h * hs;
      const yo = b * T * C + h * hs;
      // datt = dy·Vᵀ ; dV = attᵀ·dy
      sgemm(false, true, T, T, hs, 1, datty, yo, C, qkv, qo + 2 * C, C3, 0, datt, 0, T);
      sgemm(true, false, T, hs, T, 1, att, ao, T, datty, yo, C, 0, dqkv, qo + 2 * C, C3);
      // softmax backward (causal rows), in place → dpreatt
      for (let t = 0; t < T; t++) {
        const ro = t * T;
        let s = 0;
        for (let j = 0; j <= t; j++) s += att[ao + ro + j] * datt[ro + j];
        for (let j = 0; j <= t; j++) datt[ro + j] = att[ao + ro + j] * (datt[ro + j] - s);
        for (let j = t + 1; j < T; j++) datt[ro + j] = 0;
      }
      // dQ = scale·dpre·K ; dK = scale·dpreᵀ·Q
      sgemm(false, false, T, hs, T, scale, datt, 0, T, qkv, qo + C, C3, 0, dqkv, qo, C3);
      sgemm(true, false, T, hs, T, scale, datt, 0, T, qkv, qo, C3, 0, dqkv, qo + C, C3);
    }
  }
}
