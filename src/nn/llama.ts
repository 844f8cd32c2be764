/**
 * The Llama-family decoder block (Llama 3.x, Qwen2/2.5/3, SmolLM2, Mistral) over Float32Array with
 * explicit forward and backward, plugged into `GPT` (src/nn/model.ts) when `config.llama` is set:
 *
 *   x₀ = embed[token]
 *   per layer:  h = x + o_proj(attn(rope(q), rope(k), v))      q, k, v = {q,k,v}_proj(rms₁(x))
 *               x = h + down_proj(silu(gate_proj(rms₂(h))) ⊙ up_proj(rms₂(h)))
 *   out = rms_f(x)   (the LM / scalar head of model.ts reads it)
 *
 * Semantics follow Hugging Face's modelling code: RMSNorm y = w ⊙ x / √(mean x² + eps) in float32;
 * RoPE in the "rotate half" layout (dimension j pairs with j + hd/2) with inverse frequencies
 * θ^(−2j/hd), optionally rescaled ('linear' or 'llama3'); grouped-query attention (query head h reads
 * key/value head ⌊h / (NH/NKV)⌋); Qwen3's per-head q/k RMSNorm before RoPE; no dropout.
 *
 * Shapes (BT = B·T rows): C = nEmbd, NH / NKV heads of width hd, Q = NH·hd, KV = NKV·hd,
 * QKV = Q + 2·KV, I = intermediateSize. q/k/v weights are stored consecutively so they act as one
 * [QKV, C] matrix (one GEMM); gate and up likewise as one [2I, C] matrix.
 */
import { attendCached, attentionBackward, attentionForward } from './attention.js';
import type { GPTConfig, LlamaBlock, RopeScaling } from './config.js';
import { nativeOp } from '../native/index.js';
import { addBiasRows, biasBackward, sgemm } from './kernels.js';

/** Derived sizes of a Llama-block config. */
export interface LlamaDims {
  readonly C: number;
  readonly NH: number;
  readonly NKV: number;
  readonly hd: number;
  readonly Q: number;
  readonly KV: number;
  readonly QKV: number;
  readonly I: number;
  /** Query heads per key/value head. */
  readonly grp: number;
  readonly eps: number;
}

export function llamaDims(cfg: GPTConfig): LlamaDims {
  const b = cfg.llama as LlamaBlock;
  const hd = b.headDim;
  const Q = cfg.nHead * hd;
  const KV = b.nKVHead * hd;
  return {
    C: cfg.nEmbd,
    NH: cfg.nHead,
    NKV: b.nKVHead,
    hd,
    Q,
    KV,
    QKV: Q + 2 * KV,
    I: b.intermediateSize,
    grp: cfg.nHead / b.nKVHead,
    eps: cfg.layerNormEps,
  };
}

type AddTensor = (name: string, shape: number[], decay: boolean) => void;

/** Hugging Face tensor names of layer l's parameters. */
export function llamaLayerPrefix(l: number): string {
  return `model.layers.${l}.`;
}

/**
 * Declares the trunk's tensors in arena order with Hugging Face names (model.embed_tokens.weight,
 * model.layers.N.self_attn.q_proj.weight, …, model.norm.weight). The head is declared by model.ts.
 */
export function addLlamaTensors(cfg: GPTConfig, add: AddTensor): void {
  const d = llamaDims(cfg);
  const b = cfg.llama as LlamaBlock;
  add('model.embed_tokens.weight', [cfg.vocabSize, d.C], true);
  for (let l = 0; l < cfg.nLayer; l++) {
    const p = llamaLayerPrefix(l);
    add(p + 'input_layernorm.weight', [d.C], false);
    // q, k, v weights consecutive (one [QKV, C] GEMM), then their biases (one [QKV] bias)
    add(p + 'self_attn.q_proj.weight', [d.Q, d.C], true);
    add(p + 'self_attn.k_proj.weight', [d.KV, d.C], true);
    add(p + 'self_attn.v_proj.weight', [d.KV, d.C], true);
    if (b.qkvBias) {
      add(p + 'self_attn.q_proj.bias', [d.Q], false);
      add(p + 'self_attn.k_proj.bias', [d.KV], false);
      add(p + 'self_attn.v_proj.bias', [d.KV], false);
    }
    if (b.qkNorm) {
      add(p + 'self_attn.q_norm.weight', [d.hd], false);
      add(p + 'self_attn.k_norm.weight', [d.hd], false);
    }
    add(p + 'self_attn.o_proj.weight', [d.C, d.Q], true);
    if (b.oBias) add(p + 'self_attn.o_proj.bias', [d.C], false);
    add(p + 'post_attention_layernorm.weight', [d.C], false);
    add(p + 'mlp.gate_proj.weight', [d.I, d.C], true);
    add(p + 'mlp.up_proj.weight', [d.I, d.C], true);
    if (b.mlpBias) {
      add(p + 'mlp.gate_proj.bias', [d.I], false);
      add(p + 'mlp.up_proj.bias', [d.I], false);
    }
    add(p + 'mlp.down_proj.weight', [d.C, d.I], true);
    if (b.mlpBias) add(p + 'mlp.down_proj.bias', [d.C], false);
  }
  add('model.norm.weight', [d.C], false);
}

/** Views of one layer's parameters (or gradients); absent optional tensors are empty arrays. */
export interface LlamaLayerParams {
  ln1: Float32Array; // [C]
  qkvw: Float32Array; // [QKV, C] = q_proj | k_proj | v_proj
  qkvb: Float32Array; // [QKV] or empty
  qNorm: Float32Array; // [hd] or empty
  kNorm: Float32Array; // [hd] or empty
  ow: Float32Array; // [C, Q]
  ob: Float32Array; // [C] or empty
  ln2: Float32Array; // [C]
  guw: Float32Array; // [2I, C] = gate_proj | up_proj
  gub: Float32Array; // [2I] or empty
  dw: Float32Array; // [C, I]
  db: Float32Array; // [C] or empty
}

/** `span(first, last)`: the arena range from the start of tensor `first` to the end of `last`. */
export type SpanOf = (first: string, last: string) => Float32Array;

export function llamaLayerViews(cfg: GPTConfig, span: SpanOf): LlamaLayerParams[] {
  const b = cfg.llama as LlamaBlock;
  const layers: LlamaLayerParams[] = [];
  const none = new Float32Array(0);
  for (let l = 0; l < cfg.nLayer; l++) {
    const p = llamaLayerPrefix(l) + 'self_attn.';
    const m = llamaLayerPrefix(l) + 'mlp.';
    const one = (n: string): Float32Array => span(n, n);
    layers.push({
      ln1: one(llamaLayerPrefix(l) + 'input_layernorm.weight'),
      qkvw: span(p + 'q_proj.weight', p + 'v_proj.weight'),
      qkvb: b.qkvBias ? span(p + 'q_proj.bias', p + 'v_proj.bias') : none,
      qNorm: b.qkNorm ? one(p + 'q_norm.weight') : none,
      kNorm: b.qkNorm ? one(p + 'k_norm.weight') : none,
      ow: one(p + 'o_proj.weight'),
      ob: b.oBias ? one(p + 'o_proj.bias') : none,
      ln2: one(llamaLayerPrefix(l) + 'post_attention_layernorm.weight'),
      guw: span(m + 'gate_proj.weight', m + 'up_proj.weight'),
      gub: b.mlpBias ? span(m + 'gate_proj.bias', m + 'up_proj.bias') : none,
      dw: one(m + 'down_proj.weight'),
      db: b.mlpBias ? one(m + 'down_proj.bias') : none,
    });
  }
  return layers;
}

// ---------------------------------------------------------------- rotary tables

/** cos/sin of position·invFreq[j], [blockSize, hd/2] each. */
export interface RopeTables {
  readonly half: number;
  readonly cos: Float32Array;
  readonly sin: Float32Array;
}

/** Inverse frequencies θ^(−2j/hd), j < hd/2, after `scaling` (float64). */
export function ropeInvFreq(hd: number, theta: number, scaling: RopeScaling | null): Float64Array {
  const half = hd / 2;
  const inv = new Float64Array(half);
  for (let j = 0; j < half; j++) inv[j] = 1 / Math.pow(theta, (2 * j) / hd);
  if (!scaling) return inv;
  if (scaling.type === 'linear') {
    for (let j = 0; j < half; j++) inv[j] /= scaling.factor;
    return inv;
  }
  // llama3: wavelengths above old/low are divided by factor, below old/high kept, blended between
  const old = scaling.originalMaxPositionEmbeddings;
  const lowWave = old / scaling.lowFreqFactor;
  const highWave = old / scaling.highFreqFactor;
  for (let j = 0; j < half; j++) {
    const wave = (2 * Math.PI) / inv[j];
    if (wave < highWave) continue;
    if (wave > lowWave) inv[j] /= scaling.factor;
    else {
      const smooth = (old / wave - scaling.lowFreqFactor) / (scaling.highFreqFactor - scaling.lowFreqFactor);
      inv[j] = ((1 - smooth) * inv[j]) / scaling.factor + smooth * inv[j];
    }
  }
  return inv;
}

const ropeCache = new WeakMap<GPTConfig, RopeTables>();

/** The config's rotary tables (computed once per config object). */
export function ropeTables(cfg: GPTConfig): RopeTables {
  let t = ropeCache.get(cfg);
  if (t) return t;
  const b = cfg.llama as LlamaBlock;
  const half = b.headDim / 2;
  // HF computes the inverse frequencies and angles in float32; round them the same way.
  const inv = Float32Array.from(ropeInvFreq(b.headDim, b.ropeTheta, b.ropeScaling));
  const cos = new Float32Array(cfg.blockSize * half);
  const sin = new Float32Array(cfg.blockSize * half);
  for (let p = 0; p < cfg.blockSize; p++)
    for (let j = 0; j < half; j++) {
      const ang = Math.fround(p * inv[j]);
      cos[p * half + j] = Math.cos(ang);
      sin[p * half + j] = Math.sin(ang);
    }
  t = { half, cos, sin };
  ropeCache.set(cfg, t);
  return t;
}

// ---------------------------------------------------------------- element-wise ops

/** x [rows, ·] (row stride ld, offset off) → y = w ⊙ x/√(mean x² + eps) [rows, n]; rstd [rows]. */
export function rmsNormForward(
  x: Float32Array,
  xOff: number,
  xLd: number,
  w: Float32Array,
  y: Float32Array,
  yOff: number,
  yLd: number,
  rstd: Float32Array,
  rows: number,
  n: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    const xo = xOff + r * xLd;
    const yo = yOff + r * yLd;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[xo + i] * x[xo + i];
    const rs = 1 / Math.sqrt(Math.fround(ss / n) + eps);
    rstd[r] = rs;
    for (let i = 0; i < n; i++) y[yo + i] = w[i] * Math.fround(x[xo + i] * rs);
  }
}

/**
 * Backward of {@link rmsNormForward}: with n̂ = x·rstd, dw += Σ_rows dy ⊙ n̂ and
 * dx (+)= rstd·(dy⊙w − n̂·mean(dy⊙w⊙n̂)). `accumulate` adds into dx (a residual stream), else overwrites.
 */
export function rmsNormBackward(
  dy: Float32Array,
  dyOff: number,
  dyLd: number,
  x: Float32Array,
  xOff: number,
  xLd: number,
  w: Float32Array,
  rstd: Float32Array,
  dx: Float32Array,
  dxOff: number,
  dxLd: number,
  dw: Float32Array,
  rows: number,
  n: number,
  accumulate: boolean,
): void {
  for (let r = 0; r < rows; r++) {
    const go = dyOff + r * dyLd;
    const xo = xOff + r * xLd;
    const dO = dxOff + r * dxLd;
    const rs = rstd[r];
    let dot = 0;
    for (let i = 0; i < n; i++) {
      const nh = x[xo + i] * rs;
      dot += dy[go + i] * w[i] * nh;
      dw[i] += dy[go + i] * nh;
    }
    const m = dot / n;
    for (let i = 0; i < n; i++) {
      const v = rs * (dy[go + i] * w[i] - x[xo + i] * rs * m);
      dx[dO + i] = accumulate ? dx[dO + i] + v : v;
    }
  }
}

/**
 * Rotary embedding in place on `heads` heads of width hd per row (head h of row r at
 * off + r·ld + h·hd); row r has position r mod T. sign = +1 rotates by +angle (forward), −1 by
 * −angle (the transpose: backward).
 */
export function ropeInPlace(
  x: Float32Array,
  off: number,
  ld: number,
  rows: number,
  T: number,
  heads: number,
  hd: number,
  rope: RopeTables,
  sign: 1 | -1,
  positions?: ArrayLike<number>,
): void {
  const half = rope.half;
  for (let r = 0; r < rows; r++) {
    const pos = positions ? positions[r] : r % T;
    const to = pos * half;
    for (let h = 0; h < heads; h++) {
      const o = off + r * ld + h * hd;
      for (let j = 0; j < half; j++) {
        const c = rope.cos[to + j];
        const s = sign * rope.sin[to + j];
        const a = x[o + j];
        const b = x[o + j + half];
        x[o + j] = a * c - b * s;
        x[o + j + half] = b * c + a * s;
      }
    }
  }
}

/** gu [rows, 2I] = gate | up → act [rows, I] = silu(gate) ⊙ up. */
export function swigluForward(gu: Float32Array, act: Float32Array, rows: number, I: number): void {
  for (let r = 0; r < rows; r++) {
    const go = r * 2 * I;
    const ao = r * I;
    for (let i = 0; i < I; i++) {
      const g = gu[go + i];
      act[ao + i] = (g / (1 + Math.exp(-g))) * gu[go + I + i];
    }
  }
}

/** Backward of {@link swigluForward}: dact [rows, I] → dgu [rows, 2I] (overwritten). */
export function swigluBackward(
  gu: Float32Array,
  dact: Float32Array,
  dgu: Float32Array,
  rows: number,
  I: number,
): void {
  for (let r = 0; r < rows; r++) {
    const go = r * 2 * I;
    const ao = r * I;
    for (let i = 0; i < I; i++) {
      const g = gu[go + i];
      const u = gu[go + I + i];
      const sg = 1 / (1 + Math.exp(-g));
      const d = dact[ao + i];
      dgu[go + i] = d * u * sg * (1 + g * (1 - sg));
      dgu[go + I + i] = d * g * sg;
    }
  }
}

/**
 * Repeats each of nSrc heads `grp` times: dst[r, (j·grp + g)·hd + i] = src[r, srcOff + j·hd + i]
 * (dst at dstOff with row stride dstLd). Grouped-query keys/values → one head per query head.
 */
export function repeatHeads(
  src: Float32Array,
  srcOff: number,
  srcLd: number,
  dst: Float32Array,
  dstOff: number,
  dstLd: number,
  rows: number,
  nSrc: number,
  grp: number,
  hd: number,
): void {
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < nSrc; j++) {
      const s = srcOff + r * srcLd + j * hd;
      const src1 = src.subarray(s, s + hd);
      for (let g = 0; g < grp; g++) dst.set(src1, dstOff + r * dstLd + (j * grp + g) * hd);
    }
}

/** Backward of {@link repeatHeads}: dsrc[r, j] = Σ_g ddst[r, j·grp + g] (overwrites dsrc). */
export function sumRepeatedHeads(
  ddst: Float32Array,
  dstOff: number,
  dstLd: number,
  dsrc: Float32Array,
  srcOff: number,
  srcLd: number,
  rows: number,
  nSrc: number,
  grp: number,
  hd: number,
): void {
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < nSrc; j++) {
      const s = srcOff + r * srcLd + j * hd;
      for (let i = 0; i < hd; i++) {
        let acc = 0;
        for (let g = 0; g < grp; g++) acc += ddst[dstOff + r * dstLd + (j * grp + g) * hd + i];
        dsrc[s + i] = acc;
      }
    }
}

// ---------------------------------------------------------------- activations

interface LlamaLayerActs {
  xn1: Float32Array; // [BT, C] rms₁(x)
  rstd1: Float32Array; // [BT]
  qkv: Float32Array; // [BT, QKV] projections (+bias); per layer only with qkNorm (else shared scratch)
  qkn: Float32Array; // [BT, Q + KV] q/k after per-head RMSNorm (qkNorm only)
  qkRstd: Float32Array; // [BT·(NH + NKV)] (qkNorm only)
  attIn: Float32Array; // [BT, 3Q] roped q | repeated roped k | repeated v
  att: Float32Array; // [B·NH, T, T] attention probabilities
  atty: Float32Array; // [BT, Q] attention output
  h1: Float32Array; // [BT, C] x + o_proj(atty)
  xn2: Float32Array; // [BT, C] rms₂(h1)
  rstd2: Float32Array; // [BT]
  gu: Float32Array; // [BT, 2I] gate | up
  act: Float32Array; // [BT, I] silu(gate)·up
  h2: Float32Array; // [BT, C] layer output
}

/** Forward activations and backward scratch of the Llama trunk for one batch shape. */
export class LlamaActs {
  readonly layers: LlamaLayerActs[] = [];
  readonly x0: Float32Array; // [BT, C] embeddings
  readonly rstdF: Float32Array; // [BT] final norm
  // backward scratch (lazy)
  dxn: Float32Array | null = null; // [BT, C]
  dqkv: Float32Array | null = null; // [BT, QKV]
  dqkn: Float32Array | null = null; // [BT, Q + KV]
  dattIn: Float32Array | null = null; // [BT, 3Q]
  datty: Float32Array | null = null; // [BT, Q]
  dgu: Float32Array | null = null; // [BT, 2I]
  dact: Float32Array | null = null; // [BT, I]
  datt: Float32Array | null = null; // [T, T]

  constructor(
    readonly cfg: GPTConfig,
    readonly B: number,
    readonly T: number,
  ) {
    const d = llamaDims(cfg);
    const BT = B * T;
    const qkNorm = (cfg.llama as LlamaBlock).qkNorm;
    const sharedQkv = qkNorm ? null : new Float32Array(BT * d.QKV);
    const empty = new Float32Array(0);
    this.x0 = new Float32Array(BT * d.C);
    this.rstdF = new Float32Array(BT);
    for (let l = 0; l < cfg.nLayer; l++)
      this.layers.push({
        xn1: new Float32Array(BT * d.C),
        rstd1: new Float32Array(BT),
        qkv: sharedQkv ?? new Float32Array(BT * d.QKV),
        qkn: qkNorm ? new Float32Array(BT * (d.Q + d.KV)) : empty,
        qkRstd: qkNorm ? new Float32Array(BT * (d.NH + d.NKV)) : empty,
        attIn: new Float32Array(BT * 3 * d.Q),
        att: new Float32Array(B * d.NH * T * T),
        atty: new Float32Array(BT * d.Q),
        h1: new Float32Array(BT * d.C),
        xn2: new Float32Array(BT * d.C),
        rstd2: new Float32Array(BT),
        gu: new Float32Array(BT * 2 * d.I),
        act: new Float32Array(BT * d.I),
        h2: new Float32Array(BT * d.C),
      });
  }

  ensureBackward(): void {
    if (this.dxn) return;
    const d = llamaDims(this.cfg);
    const BT = this.B * this.T;
    this.dxn = new Float32Array(BT * d.C);
    this.dqkv = new Float32Array(BT * d.QKV);
    this.dqkn = new Float32Array(BT * (d.Q + d.KV));
    this.dattIn = new Float32Array(BT * 3 * d.Q);
    this.datty = new Float32Array(BT * d.Q);
    this.dgu = new Float32Array(BT * 2 * d.I);
    this.dact = new Float32Array(BT * d.I);
    this.datt = new Float32Array(this.T * this.T);
  }

  /** Output of the last layer (input of the final norm). */
  get last(): Float32Array {
    return this.layers.length ? this.layers[this.layers.length - 1].h2 : this.x0;
  }
}

// ---------------------------------------------------------------- forward

/** out [BT, C] = embed[tokens] (tokens already validated). */
export function embedRows(
  embed: Float32Array,
  tokens: Int32Array,
  out: Float32Array,
  BT: number,
  C: number,
): void {
  for (let r = 0; r < BT; r++) out.set(embed.subarray(tokens[r] * C, tokens[r] * C + C), r * C);
}

/** out [rows, N] = x [rows, K]·Wᵀ (+ bias; W is [N, K]), overwriting out. */
function linear(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array,
  out: Float32Array,
  rows: number,
  N: number,
  K: number,
): void {
  if (b.length) for (let r = 0; r < rows; r++) out.set(b, r * N);
  sgemm(false, true, rows, N, K, 1, x, 0, K, w, 0, K, b.length ? 1 : 0, out, 0, N);
}

/** out [rows, C] = res + x [rows, K]·Wᵀ (+ bias) (the residual add, same order as the decode step). */
function residualLinear(
  res: Float32Array,
  x: Float32Array,
  w: Float32Array,
  b: Float32Array,
  out: Float32Array,
  rows: number,
  C: number,
  K: number,
): void {
  if (out !== res) out.set(res.subarray(0, rows * C));
  if (b.length) addBiasRows(out, b, rows, C);
  sgemm(false, true, rows, C, K, 1, x, 0, K, w, 0, K, 1, out, 0, C);
}

/** qkv [rows, QKV] → qkn [rows, Q + KV]: per-head RMSNorm of q (weight qNorm) and k (weight kNorm). */
function qkNormForward(
  qkv: Float32Array,
  qkn: Float32Array,
  rstd: Float32Array,
  p: LlamaLayerParams,
  rows: number,
  d: LlamaDims,
): void {
  const w = d.Q + d.KV;
  const tmp = new Float32Array(1);
  for (let r = 0; r < rows; r++)
    for (let h = 0; h < d.NH + d.NKV; h++) {
      const o = h * d.hd;
      rmsNormForward(
        qkv,
        r * d.QKV + o,
        0,
        h < d.NH ? p.qNorm : p.kNorm,
        qkn,
        r * w + o,
        0,
        tmp,
        1,
        d.hd,
        d.eps,
      );
      rstd[r * (d.NH + d.NKV) + h] = tmp[0];
    }
}

/** Backward of {@link qkNormForward}: dqkn → dqkv[:, 0:Q+KV] (overwritten), norm weight grads. */
function qkNormBackward(
  dqkn: Float32Array,
  qkv: Float32Array,
  rstd: Float32Array,
  p: LlamaLayerParams,
  g: LlamaLayerParams,
  dqkv: Float32Array,
  rows: number,
  d: LlamaDims,
): void {
  const w = d.Q + d.KV;
  const nh = d.NH + d.NKV;
  for (let r = 0; r < rows; r++)
    for (let h = 0; h < nh; h++) {
      const o = h * d.hd;
      const q = h < d.NH;
      rmsNormBackward(
        dqkn,
        r * w + o,
        0,
        qkv,
        r * d.QKV + o,
        0,
        q ? p.qNorm : p.kNorm,
        rstd.subarray(r * nh + h, r * nh + h + 1),
        dqkv,
        r * d.QKV + o,
        0,
        q ? g.qNorm : g.kNorm,
        1,
        d.hd,
        false,
      );
    }
}

/** qkv (or qkn for q/k) → attIn [BT, 3Q]: q, keys and values repeated per query head, q/k roped. */
function buildAttentionInput(a: LlamaLayerActs, BT: number, T: number, d: LlamaDims, rope: RopeTables): void {
  const Q3 = 3 * d.Q;
  const qk = a.qkn.length ? a.qkn : a.qkv;
  const qkLd = a.qkn.length ? d.Q + d.KV : d.QKV;
  repeatHeads(qk, 0, qkLd, a.attIn, 0, Q3, BT, d.NH, 1, d.hd);
  repeatHeads(qk, d.Q, qkLd, a.attIn, d.Q, Q3, BT, d.NKV, d.grp, d.hd);
  repeatHeads(a.qkv, d.Q + d.KV, d.QKV, a.attIn, 2 * d.Q, Q3, BT, d.NKV, d.grp, d.hd);
  ropeInPlace(a.attIn, 0, Q3, BT, T, 2 * d.NH, d.hd, rope, 1);
}

/** One layer forward: x [BT, C] → a.h2. */
function layerForward(
  p: LlamaLayerParams,
  a: LlamaLayerActs,
  x: Float32Array,
  B: number,
  T: number,
  d: LlamaDims,
  rope: RopeTables,
): void {
  const BT = B * T;
  rmsNormForward(x, 0, d.C, p.ln1, a.xn1, 0, d.C, a.rstd1, BT, d.C, d.eps);
  linear(a.xn1, p.qkvw, p.qkvb, a.qkv, BT, d.QKV, d.C);
  if (a.qkn.length) qkNormForward(a.qkv, a.qkn, a.qkRstd, p, BT, d);
  buildAttentionInput(a, BT, T, d, rope);
  attentionForward(a.attIn, a.att, a.atty, B, T, d.NH, d.hd);
  residualLinear(x, a.atty, p.ow, p.ob, a.h1, BT, d.C, d.Q);
  rmsNormForward(a.h1, 0, d.C, p.ln2, a.xn2, 0, d.C, a.rstd2, BT, d.C, d.eps);
  linear(a.xn2, p.guw, p.gub, a.gu, BT, 2 * d.I, d.C);
  swigluForward(a.gu, a.act, BT, d.I);
  residualLinear(a.h1, a.act, p.dw, p.db, a.h2, BT, d.C, d.I);
}

/** Trunk forward: tokens [BT] → out [BT, C] = rms_f(last layer). */
export function llamaForward(
  cfg: GPTConfig,
  embed: Float32Array,
  layers: readonly LlamaLayerParams[],
  normF: Float32Array,
  acts: LlamaActs,
  tokens: Int32Array,
  out: Float32Array,
): void {
  const d = llamaDims(cfg);
  const { B, T } = acts;
  const BT = B * T;
  const rope = ropeTables(cfg);
  embedRows(embed, tokens, acts.x0, BT, d.C);
  let x = acts.x0;
  for (let l = 0; l < cfg.nLayer; l++) {
    layerForward(layers[l], acts.layers[l], x, B, T, d, rope);
    x = acts.layers[l].h2;
  }
  rmsNormForward(x, 0, d.C, normF, out, 0, d.C, acts.rstdF, BT, d.C, d.eps);
}

// ---------------------------------------------------------------- backward

/** dW [N, K] += dyᵀ·x, db += Σ rows dy, dx [rows, K] = dy·W (overwritten). */
function linearBackward(
  dy: Float32Array,
  x: Float32Array,
  w: Float32Array,
  gw: Float32Array,
  gb: Float32Array,
  dx: Float32Array,
  rows: number,
  N: number,
  K: number,
): void {
  sgemm(true, false, N, K, rows, 1, dy, 0, N, x, 0, K, 1, gw, 0, K);
  if (gb.length) biasBackward(dy, gb, rows, N);
  sgemm(false, false, rows, K, N, 1, dy, 0, N, w, 0, K, 0, dx, 0, K);
}

/** Backward of {@link buildAttentionInput}: dattIn (roped in place back) → dqkv [BT, QKV]. */
function attentionInputBackward(
  a: LlamaLayerActs,
  acts: LlamaActs,
  p: LlamaLayerParams,
  g: LlamaLayerParams,
  BT: number,
  T: number,
  d: LlamaDims,
  rope: RopeTables,
): void {
  const Q3 = 3 * d.Q;
  const dattIn = acts.dattIn as Float32Array;
  const dqkv = acts.dqkv as Float32Array;
  ropeInPlace(dattIn, 0, Q3, BT, T, 2 * d.NH, d.hd, rope, -1);
  sumRepeatedHeads(dattIn, 2 * d.Q, Q3, dqkv, d.Q + d.KV, d.QKV, BT, d.NKV, d.grp, d.hd);
  if (!a.qkn.length) {
    sumRepeatedHeads(dattIn, 0, Q3, dqkv, 0, d.QKV, BT, d.NH, 1, d.hd);
    sumRepeatedHeads(dattIn, d.Q, Q3, dqkv, d.Q, d.QKV, BT, d.NKV, d.grp, d.hd);
    return;
  }
  const dqkn = acts.dqkn as Float32Array;
  const w = d.Q + d.KV;
  sumRepeatedHeads(dattIn, 0, Q3, dqkn, 0, w, BT, d.NH, 1, d.hd);
  sumRepeatedHeads(dattIn, d.Q, Q3, dqkn, d.Q, w, BT, d.NKV, d.grp, d.hd);
  qkNormBackward(dqkn, a.qkv, a.qkRstd, p, g, dqkv, BT, d);
}

/** One layer backward: dres [BT, C] = dL/d h2 in, dL/d x out (in place); grads accumulate into g. */
function layerBackward(
  p: LlamaLayerParams,
  g: LlamaLayerParams,
  a: LlamaLayerActs,
  acts: LlamaActs,
  x: Float32Array,
  dres: Float32Array,
  d: LlamaDims,
  rope: RopeTables,
): void {
  const { B, T } = acts;
  const BT = B * T;
  const dxn = acts.dxn as Float32Array;
  const dgu = acts.dgu as Float32Array;
  const dact = acts.dact as Float32Array;
  const datty = acts.datty as Float32Array;
  const dqkv = acts.dqkv as Float32Array;
  // MLP: h2 = h1 + down(act)
  linearBackward(dres, a.act, p.dw, g.dw, g.db, dact, BT, d.C, d.I);
  swigluBackward(a.gu, dact, dgu, BT, d.I);
  linearBackward(dgu, a.xn2, p.guw, g.guw, g.gub, dxn, BT, 2 * d.I, d.C);
  rmsNormBackward(dxn, 0, d.C, a.h1, 0, d.C, p.ln2, a.rstd2, dres, 0, d.C, g.ln2, BT, d.C, true);
  // attention: h1 = x + o(attn(q, k, v))
  linearBackward(dres, a.atty, p.ow, g.ow, g.ob, datty, BT, d.C, d.Q);
  // qkv slot of attIn's buffer doubles as the 3Q-wide dqkv of the attention kernel
  attentionBackward(
    a.attIn,
    a.att,
    datty,
    acts.dattIn as Float32Array,
    acts.datt as Float32Array,
    B,
    T,
    d.NH,
    d.hd,
  );
  attentionInputBackward(a, acts, p, g, BT, T, d, rope);
  linearBackward(dqkv, a.xn1, p.qkvw, g.qkvw, g.qkvb, dxn, BT, d.QKV, d.C);
  rmsNormBackward(dxn, 0, d.C, x, 0, d.C, p.ln1, a.rstd1, dres, 0, d.C, g.ln1, BT, d.C, true);
}

/**
 * Trunk backward from dout = dL/d(final norm output) [BT, C]; `dres` [BT, C] is scratch. Gradients
 * accumulate into gEmbed / gLayers / gNormF.
 */
export function llamaBackward(
  cfg: GPTConfig,
  layers: readonly LlamaLayerParams[],
  normF: Float32Array,
  gEmbed: Float32Array,
  gLayers: readonly LlamaLayerParams[],
  gNormF: Float32Array,
  acts: LlamaActs,
  tokens: Int32Array,
  dout: Float32Array,
  dres: Float32Array,
): void {
  const d = llamaDims(cfg);
  const BT = acts.B * acts.T;
  const rope = ropeTables(cfg);
  acts.ensureBackward();
  rmsNormBackward(dout, 0, d.C, acts.last, 0, d.C, normF, acts.rstdF, dres, 0, d.C, gNormF, BT, d.C, false);
  for (let l = cfg.nLayer - 1; l >= 0; l--) {
    const x = l === 0 ? acts.x0 : acts.layers[l - 1].h2;
    layerBackward(layers[l], gLayers[l], acts.layers[l], acts, x, dres, d, rope);
  }
  for (let r = 0; r < BT; r++) {
    const o = tokens[r] * d.C;
    for (let c = 0; c < d.C; c++) gEmbed[o + c] += dres[r * d.C + c];
  }
}

// ---------------------------------------------------------------- KV-cache decoding

/** Decode scratch for S rows (the KV cache itself lives in model.ts's KVCache). */
export class LlamaDecodeScratch {
  readonly x: Float32Array; // [S, C]
  readonly xn: Float32Array; // [S, C]
  readonly rstd: Float32Array; // [S·max(1, NH + NKV)]
  readonly qkv: Float32Array; // [S, QKV]
  readonly atty: Float32Array; // [S, Q]
  readonly gu: Float32Array; // [S, 2I]
  readonly act: Float32Array; // [S, I]
  readonly scores: Float32Array; // [blockSize]
  readonly positions: Int32Array; // [S]

  constructor(cfg: GPTConfig, S: number) {
    const d = llamaDims(cfg);
    this.x = new Float32Array(S * d.C);
    this.xn = new Float32Array(S * d.C);
    this.rstd = new Float32Array(S * (d.NH + d.NKV));
    this.qkv = new Float32Array(S * d.QKV);
    this.atty = new Float32Array(S * d.Q);
    this.gu = new Float32Array(S * 2 * d.I);
    this.act = new Float32Array(S * d.I);
    this.scores = new Float32Array(cfg.blockSize);
    this.positions = new Int32Array(S);
  }
}

/** Per-head RMSNorm of q and k in place on qkv rows (decode: the raw values are not kept). */
function qkNormInPlace(sc: LlamaDecodeScratch, p: LlamaLayerParams, S: number, d: LlamaDims): void {
  for (let r = 0; r < S; r++)
    for (let h = 0; h < d.NH + d.NKV; h++) {
      const o = r * d.QKV + h * d.hd;
      rmsNormForward(sc.qkv, o, 0, h < d.NH ? p.qNorm : p.kNorm, sc.qkv, o, 0, sc.rstd, 1, d.hd, d.eps);
    }
}

/** Cached attention of S new rows: keys/values [slot, blockSize, KV]; query head h reads KV head h/grp. */
function attendDecode(
  sc: LlamaDecodeScratch,
  kc: Float32Array,
  vc: Float32Array,
  slots: Int32Array,
  lens: Int32Array,
  S: number,
  d: LlamaDims,
  blk: number,
): void {
  const scale = 1 / Math.sqrt(d.hd);
  const decode = d.grp === 1 ? nativeOp('attentionDecode') : null;
  if (decode) return decode(sc.qkv, d.QKV, kc, vc, sc.atty, slots, lens, S, d.NH, d.hd, blk, scale);
  for (let s = 0; s < S; s++) {
    const base = slots[s] * blk * d.KV;
    for (let h = 0; h < d.NH; h++) {
      const ko = base + Math.floor(h / d.grp) * d.hd;
      attendCached(
        sc.qkv,
        s * d.QKV + h * d.hd,
        kc,
        vc,
        ko,
        d.KV,
        lens[s],
        d.hd,
        scale,
        sc.scores,
        sc.atty,
        s * d.Q + h * d.hd,
      );
    }
  }
}

/** Writes the S new (roped) keys and values into their cache slots at each row's position. */
function storeKV(
  sc: LlamaDecodeScratch,
  kc: Float32Array,
  vc: Float32Array,
  slots: Int32Array,
  S: number,
  d: LlamaDims,
  blk: number,
): void {
  for (let s = 0; s < S; s++) {
    const dst = (slots[s] * blk + sc.positions[s]) * d.KV;
    const src = s * d.QKV + d.Q;
    kc.set(sc.qkv.subarray(src, src + d.KV), dst);
    vc.set(sc.qkv.subarray(src + d.KV, src + 2 * d.KV), dst);
  }
}

/**
 * One decode step for S rows (row s: token tokens[s] at position positions[s] of slot slots[s];
 * lens[s] = positions[s] + 1): writes the final-norm output [S, C] into `out`. Same arithmetic
 * order as the full forward.
 */
export function llamaDecodeStep(
  cfg: GPTConfig,
  embed: Float32Array,
  layers: readonly LlamaLayerParams[],
  normF: Float32Array,
  k: readonly Float32Array[],
  v: readonly Float32Array[],
  sc: LlamaDecodeScratch,
  slots: Int32Array,
  lens: Int32Array,
  tokens: ArrayLike<number>,
  S: number,
  out: Float32Array,
): void {
  const d = llamaDims(cfg);
  const rope = ropeTables(cfg);
  const blk = cfg.blockSize;
  for (let s = 0; s < S; s++) {
    sc.x.set(embed.subarray(tokens[s] * d.C, tokens[s] * d.C + d.C), s * d.C);
    sc.positions[s] = lens[s] - 1;
  }
  for (let l = 0; l < cfg.nLayer; l++) {
    const p = layers[l];
    rmsNormForward(sc.x, 0, d.C, p.ln1, sc.xn, 0, d.C, sc.rstd, S, d.C, d.eps);
    linear(sc.xn, p.qkvw, p.qkvb, sc.qkv, S, d.QKV, d.C);
    if (p.qNorm.length) qkNormInPlace(sc, p, S, d);
    ropeInPlace(sc.qkv, 0, d.QKV, S, 1, d.NH + d.NKV, d.hd, rope, 1, sc.positions);
    storeKV(sc, k[l], v[l], slots, S, d, blk);
    attendDecode(sc, k[l], v[l], slots, lens, S, d, blk);
    residualLinear(sc.x, sc.atty, p.ow, p.ob, sc.x, S, d.C, d.Q);
    rmsNormForward(sc.x, 0, d.C, p.ln2, sc.xn, 0, d.C, sc.rstd, S, d.C, d.eps);
    linear(sc.xn, p.guw, p.gub, sc.gu, S, 2 * d.I, d.C);
    swigluForward(sc.gu, sc.act, S, d.I);
    residualLinear(sc.x, sc.act, p.dw, p.db, sc.x, S, d.C, d.I);
  }
  rmsNormForward(sc.x, 0, d.C, normF, out, 0, d.C, sc.rstd, S, d.C, d.eps);
}

/** After a B = 1 full forward of T prompt tokens: copies its roped keys and values into cache slot s. */
export function llamaPrefillCopy(
  cfg: GPTConfig,
  acts: LlamaActs,
  k: readonly Float32Array[],
  v: readonly Float32Array[],
  s: number,
  T: number,
): void {
  const d = llamaDims(cfg);
  const Q3 = 3 * d.Q;
  const base = s * cfg.blockSize * d.KV;
  for (let l = 0; l < cfg.nLayer; l++) {
    const a = acts.layers[l].attIn;
    for (let t = 0; t < T; t++)
      for (let j = 0; j < d.NKV; j++) {
        const src = t * Q3 + d.Q + j * d.grp * d.hd;
        const dst = base + t * d.KV + j * d.hd;
        k[l].set(a.subarray(src, src + d.hd), dst);
        v[l].set(a.subarray(src + d.Q, src + d.Q + d.hd), dst);
      }
  }
}
