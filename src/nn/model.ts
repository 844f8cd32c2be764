/**
 * GPT-2-style decoder-only transformer over Float32Array with explicit forward/backward per layer
 * (llm.c style). Pre-LayerNorm blocks, causal multi-head attention on strided views of the fused
 * qkv buffer, GELU(tanh) MLP, tied or untied LM head, or a scalar (reward) head.
 *
 * Memory: parameters and gradients each live in one Float32Array arena; activations are
 * preallocated per batch shape (B, T) and reused, so a training step allocates nothing large.
 * Gradients accumulate across backward calls until `zeroGrad()` (gradient accumulation).
 */
import { Rng } from '../math/rng.js';
import { type GPTConfig, parseGPTConfig, type GPTConfigInput } from './config.js';
import { nativeOp } from '../native/index.js';
import {
  addBiasRows,
  biasBackward,
  geluBackward,
  geluForward,
  layerNormBackward,
  layerNormForward,
  sgemm,
} from './kernels.js';
import { attendCached, attentionBackward, attentionForward } from './attention.js';
import {
  addLlamaTensors,
  LlamaActs,
  llamaBackward,
  LlamaDecodeScratch,
  llamaDecodeStep,
  llamaDims,
  llamaForward,
  llamaLayerViews,
  llamaPrefillCopy,
  type LlamaLayerParams,
} from './llama.js';

/** One named parameter tensor inside the arena. */
export interface TensorInfo {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
  /** True for matrices/embeddings (AdamW weight decay applies), false for biases and norms. */
  readonly decay: boolean;
}

/**
 * Where a model loaded from a Hugging Face folder came from: its family, the raw config.json and the
 * folder (tokenizer and generation files are copied from it when the model is written back).
 */
export interface HFOrigin {
  readonly family: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly dir: string;
}

/** Token ids for a batch: B rows of T tokens, row-major, right-padded. */
export interface TokenBatch {
  readonly B: number;
  readonly T: number;
  readonly tokens: Int32Array;
}

/**
 * A batch for log-prob scoring and LM training. mask[b·T + t] > 0 means token t (t ≥ 1) of row b is
 * scored given tokens < t (weight = mask value, usually 1 on response tokens, 0 on prompt/padding).
 */
export interface SeqBatch extends TokenBatch {
  readonly mask: Float32Array;
}

/** A batch for the scalar head: the reward is read at position lengths[b] − 1 (last non-pad token). */
export interface RewardBatch extends TokenBatch {
  readonly lengths: Int32Array;
}

export interface LogProbResult {
  /** Σ_t mask·log p(token t | < t) per sequence. */
  readonly seqLogProbs: Float64Array;
  /** Per-token log p(token t | < t) at [b·T + t] (0 where mask is 0). */
  readonly tokenLogProbs: Float32Array;
  /** Number of tokens with mask > 0 per sequence. */
  readonly counts: Int32Array;
}

interface LayerViews {
  ln1: Float32Array;
  ln1Mean: Float32Array;
  ln1Rstd: Float32Array;
  qkv: Float32Array;
  atty: Float32Array;
  att: Float32Array;
  res2: Float32Array;
  ln2: Float32Array;
  ln2Mean: Float32Array;
  ln2Rstd: Float32Array;
  fch: Float32Array;
  fchGelu: Float32Array;
  res3: Float32Array;
}

/** Activations and backward scratch for one batch shape. */
class Workspace {
  readonly BT: number;
  readonly encoded: Float32Array;
  readonly layers: LayerViews[] = [];
  readonly lnf: Float32Array;
  readonly lnfMean: Float32Array;
  readonly lnfRstd: Float32Array;
  readonly logits: Float32Array; // BT×V (LM head) — becomes dlogits in backward
  readonly lse: Float32Array; // log Σ exp(logits) per row, for rows that were scored
  readonly dlogp: Float32Array; // dL/d logp per token position (backward input)
  readonly tokLp: Float32Array; // per-token log-probs of the last scored batch
  readonly seqLp: Float64Array;
  readonly counts: Int32Array;
  // backward scratch (allocated lazily on first backward for this shape)
  dres: Float32Array | null = null;
  dln: Float32Array | null = null;
  dqkv: Float32Array | null = null;
  datty: Float32Array | null = null;
  dfch: Float32Array | null = null;
  dfchGelu: Float32Array | null = null;
  datt: Float32Array | null = null;
  /** Tokens of the last forward (copied so backward can scatter embedding grads). */
  readonly tokens: Int32Array;
  readonly mask: Float32Array;
  readonly rewardPos: Int32Array;
  lastKind: 'none' | 'logprob' | 'reward' = 'none';
  /** Activations of the Llama block (config.llama), instead of `layers`. */
  readonly llama: LlamaActs | null;

  constructor(
    readonly cfg: GPTConfig,
    readonly B: number,
    readonly T: number,
  ) {
    const C = cfg.nEmbd;
    const BT = B * T;
    this.BT = BT;
    const L = cfg.nLayer;
    const NH = cfg.nHead;
    this.llama = cfg.llama ? new LlamaActs(cfg, B, T) : null;
    this.encoded = new Float32Array(cfg.llama ? 0 : BT * C);
    for (let l = 0; l < (cfg.llama ? 0 : L); l++) {
      this.layers.push({
        ln1: new Float32Array(BT * C),
        ln1Mean: new Float32Array(BT),
        ln1Rstd: new Float32Array(BT),
        qkv: new Float32Array(BT * 3 * C),
        atty: new Float32Array(BT * C),
        att: new Float32Array(B * NH * T * T),
        res2: new Float32Array(BT * C),
        ln2: new Float32Array(BT * C),
        ln2Mean: new Float32Array(BT),
        ln2Rstd: new Float32Array(BT),
        fch: new Float32Array(BT * 4 * C),
        fchGelu: new Float32Array(BT * 4 * C),
        res3: new Float32Array(BT * C),
      });
    }
    this.lnf = new Float32Array(BT * C);
    this.lnfMean = new Float32Array(BT);
    this.lnfRstd = new Float32Array(BT);
    this.logits = new Float32Array(cfg.head === 'lm' ? BT * cfg.vocabSize : 0);
    this.lse = new Float32Array(BT);
    this.dlogp = new Float32Array(BT);
    this.tokLp = new Float32Array(BT);
    this.seqLp = new Float64Array(B);
    this.counts = new Int32Array(B);
    this.tokens = new Int32Array(BT);
    this.mask = new Float32Array(BT);
    this.rewardPos = new Int32Array(B);
  }

  ensureBackward(): void {
    if (this.dres) return;
    const C = this.cfg.nEmbd;
    const BT = this.BT;
    this.dres = new Float32Array(BT * C);
    this.dln = new Float32Array(BT * C);
    if (this.llama) return; // the Llama block keeps its own scratch
    this.dqkv = new Float32Array(BT * 3 * C);
    this.datty = new Float32Array(BT * C);
    this.dfch = new Float32Array(BT * 4 * C);
    this.dfchGelu = new Float32Array(BT * 4 * C);
    this.datt = new Float32Array(this.T * this.T);
  }
}

/** Views of one block's parameters (or gradients) in an arena. */
interface BlockParams {
  ln1w: Float32Array;
  ln1b: Float32Array;
  qkvw: Float32Array;
  qkvb: Float32Array;
  projw: Float32Array;
  projb: Float32Array;
  ln2w: Float32Array;
  ln2b: Float32Array;
  fcw: Float32Array;
  fcb: Float32Array;
  fcprojw: Float32Array;
  fcprojb: Float32Array;
}

interface ParamViews {
  wte: Float32Array;
  wpe: Float32Array;
  blocks: BlockParams[];
  lnfw: Float32Array;
  lnfb: Float32Array;
  /** LM head weight [V, C] (= wte when tied); empty for the scalar head. */
  head: Float32Array;
  scoreW: Float32Array;
  scoreB: Float32Array;
  /** Llama-block layers (config.llama); `blocks` is then empty. */
  llama: LlamaLayerParams[];
}

/** Decode-step scratch for S concurrent sequences (KV-cache sampling). */
export class KVCache {
  /** Per layer: keys and values [S, blockSize, C]. */
  readonly k: Float32Array[] = [];
  readonly v: Float32Array[] = [];
  /** Number of cached positions per sequence. */
  readonly pos: Int32Array;
  readonly x: Float32Array;
  readonly ln: Float32Array;
  readonly mean: Float32Array;
  readonly rstd: Float32Array;
  readonly qkv: Float32Array;
  readonly atty: Float32Array;
  readonly fch: Float32Array;
  readonly fchGelu: Float32Array;
  readonly scores: Float32Array;
  /** Logits of the last step, S×V. */
  readonly logits: Float32Array;
  /** Slots and attended lengths of the rows of the current decode step (for the native kernel). */
  readonly slotsI32: Int32Array;
  readonly lensI32: Int32Array;

  /** Width of one cached position (C, or NKV·headDim for the Llama block). */
  readonly kvWidth: number;
  /** Decode scratch of the Llama block (config.llama). */
  readonly llama: LlamaDecodeScratch | null;

  constructor(
    readonly cfg: GPTConfig,
    readonly S: number,
  ) {
    const llama = cfg.llama !== undefined;
    const C = llama ? 0 : cfg.nEmbd; // the Llama block has its own scratch: GPT buffers stay empty
    this.kvWidth = llama ? llamaDims(cfg).KV : cfg.nEmbd;
    this.llama = llama ? new LlamaDecodeScratch(cfg, S) : null;
    for (let l = 0; l < cfg.nLayer; l++) {
      this.k.push(new Float32Array(S * cfg.blockSize * this.kvWidth));
      this.v.push(new Float32Array(S * cfg.blockSize * this.kvWidth));
    }
    this.pos = new Int32Array(S);
    this.x = new Float32Array(S * C);
    this.ln = new Float32Array(S * cfg.nEmbd);
    this.mean = new Float32Array(S);
    this.rstd = new Float32Array(S);
    this.qkv = new Float32Array(S * 3 * C);
    this.atty = new Float32Array(S * C);
    this.fch = new Float32Array(S * 4 * C);
    this.fchGelu = new Float32Array(S * 4 * C);
    this.scores = new Float32Array(cfg.blockSize);
    this.logits = new Float32Array(S * cfg.vocabSize);
    this.slotsI32 = new Int32Array(S);
    this.lensI32 = new Int32Array(S);
  }
}

/** out[r, :] = bias (exactly 0 + bias, as the GEMM then accumulates with beta = 1). */
function fillRows(out: Float32Array, bias: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) out.set(bias, r * cols);
}

/** seqLp[b] = Σ_t mask·tokLp and counts[b] = #{t ≥ 1 : mask ≠ 0}, from the per-token log-probs. */
function sumSeqLogProbs(ws: Workspace): void {
  const { B, T, mask, tokLp, seqLp, counts } = ws;
  for (let b = 0; b < B; b++) {
    let s = 0;
    let c = 0;
    for (let t = 1; t < T; t++) {
      const m = mask[b * T + t];
      if (m === 0) continue;
      s += m * tokLp[b * T + t];
      c++;
    }
    seqLp[b] = s;
    counts[b] = c;
  }
}

/** In place, logits → dlogits: row t = dlogp[t+1]·(onehot(token t+1) − softmax(row t)) (TS path). */
function dlogitsFromDlogp(ws: Workspace, V: number): void {
  const { B, T, logits } = ws;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * V;
      const g = t + 1 < T ? ws.dlogp[b * T + t + 1] : 0;
      if (g === 0) {
        logits.fill(0, row, row + V);
        continue;
      }
      const lse = ws.lse[b * T + t];
      for (let v = 0; v < V; v++) logits[row + v] = -g * Math.exp(logits[row + v] - lse);
      logits[row + ws.tokens[b * T + t + 1]] += g;
    }
  }
}

export class GPT {
  readonly config: GPTConfig;
  readonly tensors: readonly TensorInfo[];
  readonly numParams: number;
  /** All parameters, one arena. */
  readonly params: Float32Array;
  private gradArena: Float32Array | null = null;
  private readonly p: ParamViews;
  private g: ParamViews | null = null;
  private readonly workspaces = new Map<string, Workspace>();
  /** How many activation workspaces (one per batch shape) are kept; least recently used are dropped. */
  maxWorkspaces = 4;
  private last: Workspace | null = null;
  /** Set when loaded from a Hugging Face folder: saving then writes that layout back. */
  hf: HFOrigin | null = null;

  /** Builds a model with GPT-2 initialisation (N(0, 0.02), residual projections scaled by 1/√(2L)). */
  constructor(config: GPTConfigInput, seed: number | string = 0) {
    this.config = parseGPTConfig(config);
    const cfg = this.config;
    const C = cfg.nEmbd;
    const V = cfg.vocabSize;
    const tensors: TensorInfo[] = [];
    let off = 0;
    const add = (name: string, shape: number[], decay: boolean): void => {
      const size = shape.reduce((a, b) => a * b, 1);
      tensors.push({ name, shape, offset: off, size, decay });
      off += size;
    };
    if (cfg.llama) addLlamaTensors(cfg, add);
    else this.addGptTensors(add);
    if (cfg.head === 'lm' && !cfg.tiedHead) add('lm_head.weight', [V, C], true);
    if (cfg.head === 'scalar') {
      add('score_head.weight', [1, C], true);
      add('score_head.bias', [1], false);
    }
    this.tensors = tensors;
    this.numParams = off;
    this.params = new Float32Array(off);
    this.p = this.views(this.params);
    this.init(new Rng(seed));
  }

  /** GPT-2 block tensors (nanoGPT names), in arena order. */
  private addGptTensors(add: (name: string, shape: number[], decay: boolean) => void): void {
    const cfg = this.config;
    const C = cfg.nEmbd;
    add('transformer.wte.weight', [cfg.vocabSize, C], true);
    add('transformer.wpe.weight', [cfg.blockSize, C], true);
    for (let l = 0; l < cfg.nLayer; l++) {
      const h = `transformer.h.${l}.`;
      add(h + 'ln_1.weight', [C], false);
      add(h + 'ln_1.bias', [C], false);
      add(h + 'attn.c_attn.weight', [3 * C, C], true);
      add(h + 'attn.c_attn.bias', [3 * C], false);
      add(h + 'attn.c_proj.weight', [C, C], true);
      add(h + 'attn.c_proj.bias', [C], false);
      add(h + 'ln_2.weight', [C], false);
      add(h + 'ln_2.bias', [C], false);
      add(h + 'mlp.c_fc.weight', [4 * C, C], true);
      add(h + 'mlp.c_fc.bias', [4 * C], false);
      add(h + 'mlp.c_proj.weight', [C, 4 * C], true);
      add(h + 'mlp.c_proj.bias', [C], false);
    }
    add('transformer.ln_f.weight', [C], false);
    add('transformer.ln_f.bias', [C], false);
  }

  /** A new model with the same config and a copy of the parameters (e.g. policy and frozen reference). */
  clone(): GPT {
    const m = new GPT(this.config, 0);
    m.params.set(this.params);
    m.hf = this.hf;
    return m;
  }

  /** Copies parameters from a model with the identical config. */
  copyParamsFrom(other: GPT): void {
    if (other.numParams !== this.numParams || JSON.stringify(other.config) !== JSON.stringify(this.config)) {
      throw new Error('copyParamsFrom: configs differ');
    }
    this.params.set(other.params);
  }

  /** Tensor metadata by name. */
  tensor(name: string): TensorInfo | undefined {
    return this.tensors.find((t) => t.name === name);
  }

  /** Gradient arena (allocated on first use), same layout as `params`. */
  get grads(): Float32Array {
    if (!this.gradArena) {
      this.gradArena = new Float32Array(this.numParams);
      this.g = this.views(this.gradArena);
    }
    return this.gradArena;
  }

  zeroGrad(): void {
    this.grads.fill(0);
  }

  private views(arena: Float32Array): ParamViews {
    const get = (name: string): Float32Array => {
      const t = this.tensors.find((x) => x.name === name);
      return t ? arena.subarray(t.offset, t.offset + t.size) : new Float32Array(0);
    };
    const blocks: BlockParams[] = [];
    for (let l = 0; l < (this.config.llama ? 0 : this.config.nLayer); l++) {
      const h = `transformer.h.${l}.`;
      blocks.push({
        ln1w: get(h + 'ln_1.weight'),
        ln1b: get(h + 'ln_1.bias'),
        qkvw: get(h + 'attn.c_attn.weight'),
        qkvb: get(h + 'attn.c_attn.bias'),
        projw: get(h + 'attn.c_proj.weight'),
        projb: get(h + 'attn.c_proj.bias'),
        ln2w: get(h + 'ln_2.weight'),
        ln2b: get(h + 'ln_2.bias'),
        fcw: get(h + 'mlp.c_fc.weight'),
        fcb: get(h + 'mlp.c_fc.bias'),
        fcprojw: get(h + 'mlp.c_proj.weight'),
        fcprojb: get(h + 'mlp.c_proj.bias'),
      });
    }
    const llama = this.config.llama !== undefined;
    const span = (first: string, last: string): Float32Array => {
      const a = this.tensors.find((x) => x.name === first) as TensorInfo;
      const b = this.tensors.find((x) => x.name === last) as TensorInfo;
      return arena.subarray(a.offset, b.offset + b.size);
    };
    const wte = get(llama ? 'model.embed_tokens.weight' : 'transformer.wte.weight');
    return {
      wte,
      wpe: get('transformer.wpe.weight'),
      blocks,
      llama: llama ? llamaLayerViews(this.config, span) : [],
      lnfw: get(llama ? 'model.norm.weight' : 'transformer.ln_f.weight'),
      lnfb: get('transformer.ln_f.bias'),
      head:
        this.config.head === 'lm'
          ? this.config.tiedHead
            ? wte
            : get('lm_head.weight')
          : new Float32Array(0),
      scoreW: get('score_head.weight'),
      scoreB: get('score_head.bias'),
    };
  }

  private init(rng: Rng): void {
    const std = 0.02;
    const projStd = 0.02 / Math.sqrt(2 * this.config.nLayer);
    for (const t of this.tensors) {
      const view = this.params.subarray(t.offset, t.offset + t.size);
      const isNorm = /(ln_[12f]|norm)\.weight$/.test(t.name);
      if (isNorm) view.fill(1);
      else if (!t.decay) view.fill(0);
      else {
        const s = t.name.endsWith('c_proj.weight') && !this.config.llama ? projStd : std;
        for (let i = 0; i < view.length; i++) view[i] = rng.normal() * s;
      }
    }
  }

  /** Re-initialises the scalar head only (e.g. after loading an LM trunk into a reward model). */
  initScoreHead(seed: number | string): void {
    const rng = new Rng(seed);
    for (let i = 0; i < this.p.scoreW.length; i++) this.p.scoreW[i] = rng.normal() * 0.02;
    this.p.scoreB.fill(0);
  }

  private workspace(B: number, T: number): Workspace {
    if (!Number.isInteger(B) || B < 1)
      throw new RangeError(`batch size B must be a positive integer, got ${B}`);
    if (!Number.isInteger(T) || T < 1 || T > this.config.blockSize) {
      throw new RangeError(
        `sequence length T must be in [1, ${this.config.blockSize}] (blockSize), got ${T}`,
      );
    }
    const key = `${B}x${T}`;
    let ws = this.workspaces.get(key);
    if (ws) {
      // LRU order: most recently used last
      this.workspaces.delete(key);
      this.workspaces.set(key, ws);
      return ws;
    }
    ws = new Workspace(this.config, B, T);
    this.workspaces.set(key, ws);
    // Bounded cache: scoring batches of many different lengths must not keep one arena per shape.
    while (this.workspaces.size > this.maxWorkspaces) {
      const oldest = this.workspaces.keys().next().value as string;
      this.workspaces.delete(oldest);
    }
    return ws;
  }

  /** Drops cached activation buffers (frees memory after using many batch shapes). */
  releaseWorkspaces(): void {
    this.workspaces.clear();
    this.last = null;
  }

  /** Trunk forward: embeddings → blocks → final LayerNorm (into ws.lnf). */
  private forwardTrunk(ws: Workspace, tokens: Int32Array): void {
    const { B, T, BT } = ws;
    const cfg = this.config;
    const C = cfg.nEmbd;
    const V = cfg.vocabSize;
    const NH = cfg.nHead;
    const hs = C / NH;
    const C3 = 3 * C;
    const eps = cfg.layerNormEps;
    if (tokens.length < BT) throw new RangeError(`tokens has ${tokens.length} entries, expected B·T = ${BT}`);
    ws.tokens.set(tokens.subarray(0, BT));
    if (ws.llama) {
      for (let i = 0; i < BT; i++)
        if (!(tokens[i] >= 0 && tokens[i] < V))
          throw new RangeError(
            `token id ${tokens[i]} at [${Math.floor(i / T)}, ${i % T}] is outside the vocabulary [0, ${V})`,
          );
      llamaForward(cfg, this.p.wte, this.p.llama, this.p.lnfw, ws.llama, ws.tokens, ws.lnf);
      this.last = ws;
      return;
    }
    const { wte, wpe } = this.p;
    const enc = ws.encoded;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const tok = tokens[b * T + t];
        if (!(tok >= 0 && tok < V))
          throw new RangeError(`token id ${tok} at [${b}, ${t}] is outside the vocabulary [0, ${V})`);
        const o = (b * T + t) * C;
        const ow = tok * C;
        const op = t * C;
        for (let c = 0; c < C; c++) enc[o + c] = wte[ow + c] + wpe[op + c];
      }
    }
    let x = enc;
    for (let l = 0; l < cfg.nLayer; l++) {
      const a = ws.layers[l];
      const w = this.p.blocks[l];
      layerNormForward(x, w.ln1w, w.ln1b, a.ln1, a.ln1Mean, a.ln1Rstd, BT, C, eps);
      // qkv = ln1·Wᵀ + b
      fillRows(a.qkv, w.qkvb, BT, C3);
      sgemm(false, true, BT, C3, C, 1, a.ln1, 0, C, w.qkvw, 0, C, 1, a.qkv, 0, C3);
      attentionForward(a.qkv, a.att, a.atty, B, T, NH, hs);
      // res2 = x + atty·Wprojᵀ + b (residual fused into the GEMM's beta = 1)
      const res2 = a.res2;
      res2.set(x);
      addBiasRows(res2, w.projb, BT, C);
      sgemm(false, true, BT, C, C, 1, a.atty, 0, C, w.projw, 0, C, 1, res2, 0, C);
      layerNormForward(res2, w.ln2w, w.ln2b, a.ln2, a.ln2Mean, a.ln2Rstd, BT, C, eps);
      fillRows(a.fch, w.fcb, BT, 4 * C);
      sgemm(false, true, BT, 4 * C, C, 1, a.ln2, 0, C, w.fcw, 0, C, 1, a.fch, 0, 4 * C);
      geluForward(a.fch, a.fchGelu, BT * 4 * C);
      const res3 = a.res3;
      res3.set(res2);
      addBiasRows(res3, w.fcprojb, BT, C);
      sgemm(false, true, BT, C, 4 * C, 1, a.fchGelu, 0, 4 * C, w.fcprojw, 0, 4 * C, 1, res3, 0, C);
      x = res3;
    }
    layerNormForward(x, this.p.lnfw, this.p.lnfb, ws.lnf, ws.lnfMean, ws.lnfRstd, BT, C, eps);
    this.last = ws;
  }

  /**
   * Full forward for an LM model; returns the logits [B·T, V] (a view into the workspace, valid
   * until the next forward with the same shape).
   */
  forwardLogits(tokens: Int32Array, B: number, T: number): Float32Array {
    this.requireHead('lm');
    const ws = this.workspace(B, T);
    this.forwardTrunk(ws, tokens);
    const C = this.config.nEmbd;
    const V = this.config.vocabSize;
    sgemm(false, true, B * T, V, C, 1, ws.lnf, 0, C, this.p.head, 0, C, 0, ws.logits, 0, V);
    ws.lastKind = 'none';
    return ws.logits;
  }

  private requireHead(head: 'lm' | 'scalar'): void {
    if (this.config.head !== head)
      throw new Error(
        `this operation needs a model with head '${head}', but this model has head '${this.config.head}'`,
      );
  }

  /**
   * Forward + per-token and per-sequence masked log-probs. Keeps the activations so that
   * `backwardTokenLogProbs` / `backwardSeqLogProbs` can follow (before any other forward).
   */
  tokenLogProbs(batch: SeqBatch): LogProbResult {
    const ws = this.scoreBatch(batch);
    return { seqLogProbs: ws.seqLp.slice(), tokenLogProbs: ws.tokLp.slice(), counts: ws.counts.slice() };
  }

  /** Forward + masked log-probs into the workspace's own buffers (no allocation). */
  private scoreBatch(batch: SeqBatch): Workspace {
    const { B, T } = batch;
    const BT = B * T;
    if (batch.mask.length < BT)
      throw new RangeError(`mask has ${batch.mask.length} entries, expected B·T = ${BT}`);
    const logits = this.forwardLogits(batch.tokens, B, T);
    const ws = this.last as Workspace;
    ws.mask.set(batch.mask.subarray(0, BT));
    const V = this.config.vocabSize;
    const { seqLp, tokLp, counts } = ws;
    tokLp.fill(0);
    const nat = nativeOp('lmLogProbs');
    if (nat) {
      nat(logits, ws.tokens, ws.mask, B, T, V, ws.lse, tokLp);
      sumSeqLogProbs(ws);
      ws.lastKind = 'logprob';
      return ws;
    }
    for (let b = 0; b < B; b++) {
      let s = 0;
      let c = 0;
      for (let t = 1; t < T; t++) {
        const m = ws.mask[b * T + t];
        if (m === 0) continue;
        const row = (b * T + t - 1) * V; // logits at t−1 predict token t
        let mx = -Infinity;
        for (let v = 0; v < V; v++) if (logits[row + v] > mx) mx = logits[row + v];
        let z = 0;
        for (let v = 0; v < V; v++) z += Math.exp(logits[row + v] - mx);
        const lse = mx + Math.log(z);
        ws.lse[b * T + t - 1] = lse;
        const lp = logits[row + ws.tokens[b * T + t]] - lse;
        tokLp[b * T + t] = lp;
        s += m * lp;
        c++;
      }
      seqLp[b] = s;
      counts[b] = c;
    }
    ws.lastKind = 'logprob';
    return ws;
  }

  /**
   * Mean masked next-token NLL (the SFT loss) = −Σ mask·logp / Σ mask; keeps activations for
   * `backwardLmLoss`. Allocates nothing after the first call for a batch shape.
   */
  lmLoss(batch: SeqBatch): number {
    const ws = this.scoreBatch(batch);
    let total = 0;
    let count = 0;
    const BT = batch.B * batch.T;
    for (let i = 0; i < BT; i++) {
      const m = ws.mask[i];
      if (m !== 0 && i % batch.T !== 0) count += m;
    }
    for (let b = 0; b < batch.B; b++) total += ws.seqLp[b];
    this.lmLossDenom = count;
    return count > 0 ? -total / count : 0;
  }

  private lmLossDenom = 0;

  /** Backward of the last `lmLoss` call, scaled by `scale` (e.g. 1/accumulationSteps); grads accumulate. */
  backwardLmLoss(scale = 1): void {
    const ws = this.requireLast('logprob');
    const k = this.lmLossDenom > 0 ? -scale / this.lmLossDenom : 0;
    for (let i = 0; i < ws.BT; i++) ws.dlogp[i] = ws.mask[i] * k;
    this.backwardFromDlogp(ws);
  }

  /** Given dL/d(seqLogProb_b) per sequence, accumulates parameter gradients (after `tokenLogProbs`). */
  backwardSeqLogProbs(dSeq: ArrayLike<number>): void {
    const ws = this.requireLast('logprob');
    if (dSeq.length !== ws.B) throw new RangeError(`dSeq has ${dSeq.length} entries, expected B = ${ws.B}`);
    for (let b = 0; b < ws.B; b++) {
      const g = dSeq[b];
      for (let t = 0; t < ws.T; t++) ws.dlogp[b * ws.T + t] = g * ws.mask[b * ws.T + t];
    }
    this.backwardFromDlogp(ws);
  }

  /**
   * Given dL/d(log p of token t) at [b·T + t] (unmasked: the mask is NOT applied here), accumulates
   * parameter gradients (after `tokenLogProbs`). Positions that were not scored must have 0.
   */
  backwardTokenLogProbs(dTok: ArrayLike<number>): void {
    const ws = this.requireLast('logprob');
    if (dTok.length !== ws.BT)
      throw new RangeError(`dTok has ${dTok.length} entries, expected B·T = ${ws.BT}`);
    for (let i = 0; i < ws.BT; i++) {
      if (dTok[i] !== 0 && (ws.mask[i] === 0 || i % ws.T === 0)) {
        throw new RangeError(
          `dTok[${i}] is non-zero but that token was not scored (mask 0 or first position)`,
        );
      }
      ws.dlogp[i] = dTok[i];
    }
    this.backwardFromDlogp(ws);
  }

  private requireLast(kind: 'logprob' | 'reward'): Workspace {
    const ws = this.last;
    if (!ws || ws.lastKind !== kind) {
      const what = kind === 'logprob' ? 'tokenLogProbs()/lmLoss()' : 'rewards()';
      throw new Error(
        `backward needs a preceding ${what} forward on this model (activations are kept for the last forward only)`,
      );
    }
    return ws;
  }

  /** dlogits[t−1] = dlogp[t]·(onehot(token t) − softmax); then backward through head and trunk. */
  private backwardFromDlogp(ws: Workspace): void {
    void this.grads;
    ws.ensureBackward();
    const { B, T, BT } = ws;
    const V = this.config.vocabSize;
    const C = this.config.nEmbd;
    const logits = ws.logits;
    const nat = nativeOp('lmLogitsBackward');
    if (nat) nat(logits, ws.lse, ws.dlogp, ws.tokens, B, T, V);
    else dlogitsFromDlogp(ws, V);
    ws.lastKind = 'none'; // logits were overwritten by dlogits
    const g = this.g as ParamViews;
    const dlnf = ws.dln as Float32Array;
    // dlnf = dlogits·W ; dW += dlogitsᵀ·lnf
    sgemm(false, false, BT, C, V, 1, logits, 0, V, this.p.head, 0, C, 0, dlnf, 0, C);
    sgemm(true, false, V, C, BT, 1, logits, 0, V, ws.lnf, 0, C, 1, g.head, 0, C);
    this.backwardTrunk(ws, dlnf);
  }

  /** Backward from dL/d(lnf output) (in `dlnf`) down to the embeddings. */
  private backwardTrunk(ws: Workspace, dlnf: Float32Array): void {
    const { B, T, BT } = ws;
    const cfg = this.config;
    const C = cfg.nEmbd;
    const C4 = 4 * C;
    const C3 = 3 * C;
    const NH = cfg.nHead;
    const hs = C / NH;
    const g = this.g as ParamViews;
    const dres = ws.dres as Float32Array;
    const dln = ws.dln as Float32Array;
    const dqkv = ws.dqkv as Float32Array;
    const datty = ws.datty as Float32Array;
    const dfch = ws.dfch as Float32Array;
    const dfchGelu = ws.dfchGelu as Float32Array;
    const datt = ws.datt as Float32Array;
    const L = cfg.nLayer;
    if (ws.llama) {
      llamaBackward(cfg, this.p.llama, this.p.lnfw, g.wte, g.llama, g.lnfw, ws.llama, ws.tokens, dlnf, dres);
      return;
    }
    dres.fill(0);
    const lastRes = L > 0 ? ws.layers[L - 1].res3 : ws.encoded;
    layerNormBackward(dlnf, lastRes, this.p.lnfw, ws.lnfMean, ws.lnfRstd, dres, g.lnfw, g.lnfb, BT, C);
    for (let l = L - 1; l >= 0; l--) {
      const a = ws.layers[l];
      const w = this.p.blocks[l];
      const gw = g.blocks[l];
      const x = l === 0 ? ws.encoded : ws.layers[l - 1].res3;
      // MLP projection: res3 = res2 + fchGelu·Wᵀ + b
      sgemm(true, false, C, C4, BT, 1, dres, 0, C, a.fchGelu, 0, C4, 1, gw.fcprojw, 0, C4);
      biasBackward(dres, gw.fcprojb, BT, C);
      sgemm(false, false, BT, C4, C, 1, dres, 0, C, w.fcprojw, 0, C4, 0, dfchGelu, 0, C4);
      dfch.fill(0);
      geluBackward(a.fch, dfchGelu, dfch, BT * C4);
      sgemm(true, false, C4, C, BT, 1, dfch, 0, C4, a.ln2, 0, C, 1, gw.fcw, 0, C);
      biasBackward(dfch, gw.fcb, BT, C4);
      sgemm(false, false, BT, C, C4, 1, dfch, 0, C4, w.fcw, 0, C, 0, dln, 0, C);
      layerNormBackward(dln, a.res2, w.ln2w, a.ln2Mean, a.ln2Rstd, dres, gw.ln2w, gw.ln2b, BT, C);
      // attention projection: res2 = x + atty·Wᵀ + b
      sgemm(true, false, C, C, BT, 1, dres, 0, C, a.atty, 0, C, 1, gw.projw, 0, C);
      biasBackward(dres, gw.projb, BT, C);
      sgemm(false, false, BT, C, C, 1, dres, 0, C, w.projw, 0, C, 0, datty, 0, C);
      attentionBackward(a.qkv, a.att, datty, dqkv, datt, B, T, NH, hs);
      sgemm(true, false, C3, C, BT, 1, dqkv, 0, C3, a.ln1, 0, C, 1, gw.qkvw, 0, C);
      biasBackward(dqkv, gw.qkvb, BT, C3);
      sgemm(false, false, BT, C, C3, 1, dqkv, 0, C3, w.qkvw, 0, C, 0, dln, 0, C);
      layerNormBackward(dln, x, w.ln1w, a.ln1Mean, a.ln1Rstd, dres, gw.ln1w, gw.ln1b, BT, C);
    }
    // embeddings
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const o = (b * T + t) * C;
        const ow = ws.tokens[b * T + t] * C;
        const op = t * C;
        for (let c = 0; c < C; c++) {
          const d = dres[o + c];
          g.wte[ow + c] += d;
          g.wpe[op + c] += d;
        }
      }
    }
  }

  /** Scalar head: r_b = w·lnf[b, lengths[b] − 1] + bias. Keeps activations for `backwardRewards`. */
  rewards(batch: RewardBatch): Float64Array {
    this.requireHead('scalar');
    const { B, T } = batch;
    const ws = this.workspace(B, T);
    for (let b = 0; b < B; b++) {
      const len = batch.lengths[b];
      if (!(len >= 1 && len <= T)) throw new RangeError(`lengths[${b}] = ${len} must be in [1, T = ${T}]`);
      ws.rewardPos[b] = b * T + len - 1;
    }
    this.forwardTrunk(ws, batch.tokens);
    const C = this.config.nEmbd;
    const out = new Float64Array(B);
    const w = this.p.scoreW;
    for (let b = 0; b < B; b++) {
      const o = ws.rewardPos[b] * C;
      let s = 0;
      for (let c = 0; c < C; c++) s += w[c] * ws.lnf[o + c];
      out[b] = s + this.p.scoreB[0];
    }
    ws.lastKind = 'reward';
    return out;
  }

  /** Given dL/dr_b, accumulates parameter gradients (after `rewards`). */
  backwardRewards(dr: ArrayLike<number>): void {
    const ws = this.requireLast('reward');
    if (dr.length !== ws.B) throw new RangeError(`dr has ${dr.length} entries, expected B = ${ws.B}`);
    void this.grads;
    ws.ensureBackward();
    const g = this.g as ParamViews;
    const C = this.config.nEmbd;
    const dlnf = ws.dln as Float32Array;
    dlnf.fill(0);
    const w = this.p.scoreW;
    for (let b = 0; b < ws.B; b++) {
      const d = dr[b];
      const o = ws.rewardPos[b] * C;
      for (let c = 0; c < C; c++) {
        dlnf[o + c] = d * w[c];
        g.scoreW[c] += d * ws.lnf[o + c];
      }
      g.scoreB[0] += d;
    }
    this.backwardTrunk(ws, dlnf);
  }

  // ---------------------------------------------------------------- KV-cache decoding

  /** Allocates a KV cache for S concurrent sequences. */
  createKVCache(S: number): KVCache {
    this.requireHead('lm');
    return new KVCache(this.config, S);
  }

  /**
   * Prefill: runs the prompt through the full forward and stores its keys/values into cache slot `s`
   * (positions 0..len−1). Returns the next-token logits (a view, length V) at the last prompt position.
   */
  prefill(cache: KVCache, s: number, prompt: ArrayLike<number>): Float32Array {
    const T = prompt.length;
    if (T < 1) throw new RangeError('prefill needs at least one prompt token');
    const ws = this.workspace(1, T);
    const toks = ws.tokens; // reuse as input buffer
    for (let i = 0; i < T; i++) toks[i] = prompt[i];
    const logits = this.forwardLogits(toks, 1, T);
    const C = this.config.nEmbd;
    const C3 = 3 * C;
    const slot = s * this.config.blockSize * C;
    if (ws.llama) llamaPrefillCopy(this.config, ws.llama, cache.k, cache.v, s, T);
    for (let l = 0; l < (ws.llama ? 0 : this.config.nLayer); l++) {
      const qkv = ws.layers[l].qkv;
      const kc = cache.k[l];
      const vc = cache.v[l];
      for (let t = 0; t < T; t++) {
        const src = t * C3;
        const dst = slot + t * C;
        for (let c = 0; c < C; c++) {
          kc[dst + c] = qkv[src + C + c];
          vc[dst + c] = qkv[src + 2 * C + c];
        }
      }
    }
    cache.pos[s] = T;
    const V = this.config.vocabSize;
    return logits.subarray((T - 1) * V, T * V);
  }

  /** Copies cache slot `from` into slot `to` (n samples per prompt share one prefill). */
  copyCacheSlot(cache: KVCache, from: number, to: number): void {
    const n = this.config.blockSize * cache.kvWidth;
    const len = cache.pos[from] * cache.kvWidth;
    for (let l = 0; l < this.config.nLayer; l++) {
      cache.k[l].copyWithin(to * n, from * n, from * n + len);
      cache.v[l].copyWithin(to * n, from * n, from * n + len);
    }
    cache.pos[to] = cache.pos[from];
  }

  /**
   * One decode step for S rows: row r appends tokens[r] to cache slot slots[r] (at position
   * cache.pos[slot]) and yields next-token logits in row r of cache.logits (S×V). Finished
   * sequences are simply left out of `slots`, so no compute is spent on them. Uses the same
   * arithmetic order as the full forward, so on the TS path results are bit-identical.
   */
  decodeStep(
    cache: KVCache,
    slots: ArrayLike<number>,
    tokens: ArrayLike<number>,
    S: number = slots.length,
  ): Float32Array {
    const cfg = this.config;
    const C = cfg.nEmbd;
    const C3 = 3 * C;
    const C4 = 4 * C;
    const V = cfg.vocabSize;
    const NH = cfg.nHead;
    const hs = C / NH;
    const scale = 1 / Math.sqrt(hs);
    const eps = cfg.layerNormEps;
    const blk = cfg.blockSize;
    const { x, ln, mean, rstd, qkv, atty, fch, fchGelu, scores } = cache;
    if (S > cache.S) throw new RangeError(`decodeStep: ${S} rows but the cache has ${cache.S} slots`);
    for (let s = 0; s < S; s++) {
      const pos = cache.pos[slots[s]];
      if (pos >= blk) throw new RangeError(`cache slot ${slots[s]} is full (context ${blk})`);
      const tok = tokens[s];
      if (!(tok >= 0 && tok < V)) throw new RangeError(`token id ${tok} outside the vocabulary`);
      if (!cache.llama)
        for (let c = 0; c < C; c++) x[s * C + c] = this.p.wte[tok * C + c] + this.p.wpe[pos * C + c];
    }
    for (let s = 0; s < S; s++) {
      cache.slotsI32[s] = slots[s];
      cache.lensI32[s] = cache.pos[slots[s]] + 1;
    }
    if (cache.llama) {
      const { wte, llama, lnfw, head } = this.p;
      llamaDecodeStep(
        cfg,
        wte,
        llama,
        lnfw,
        cache.k,
        cache.v,
        cache.llama,
        cache.slotsI32,
        cache.lensI32,
        tokens,
        S,
        ln,
      );
      sgemm(false, true, S, V, C, 1, ln, 0, C, head, 0, C, 0, cache.logits, 0, V);
      for (let s = 0; s < S; s++) cache.pos[slots[s]]++;
      return cache.logits;
    }
    const xs = x.subarray(0, S * C);
    const lns = ln.subarray(0, S * C);
    for (let l = 0; l < cfg.nLayer; l++) {
      const w = this.p.blocks[l];
      layerNormForward(xs, w.ln1w, w.ln1b, lns, mean, rstd, S, C, eps);
      fillRows(qkv, w.qkvb, S, C3);
      sgemm(false, true, S, C3, C, 1, ln, 0, C, w.qkvw, 0, C, 1, qkv, 0, C3);
      const kc = cache.k[l];
      const vc = cache.v[l];
      for (let s = 0; s < S; s++) {
        const dst = slots[s] * blk * C + cache.pos[slots[s]] * C;
        for (let c = 0; c < C; c++) {
          kc[dst + c] = qkv[s * C3 + C + c];
          vc[dst + c] = qkv[s * C3 + 2 * C + c];
        }
      }
      const decode = nativeOp('attentionDecode');
      if (decode) decode(qkv, C3, kc, vc, atty, cache.slotsI32, cache.lensI32, S, NH, hs, blk, scale);
      else
        for (let s = 0; s < S; s++) {
          const pos = cache.pos[slots[s]];
          const slot = slots[s] * blk * C;
          for (let h = 0; h < NH; h++)
            attendCached(
              qkv,
              s * C3 + h * hs,
              kc,
              vc,
              slot + h * hs,
              C,
              pos + 1,
              hs,
              scale,
              scores,
              atty,
              s * C + h * hs,
            );
        }
      // x = x + atty·Wᵀ + b, same rounding sequence as the full forward (copy, +bias, +GEMM)
      addBiasRows(x, w.projb, S, C);
      sgemm(false, true, S, C, C, 1, atty, 0, C, w.projw, 0, C, 1, x, 0, C);
      layerNormForward(xs, w.ln2w, w.ln2b, lns, mean, rstd, S, C, eps);
      fillRows(fch, w.fcb, S, C4);
      sgemm(false, true, S, C4, C, 1, ln, 0, C, w.fcw, 0, C, 1, fch, 0, C4);
      geluForward(fch, fchGelu, S * C4);
      addBiasRows(x, w.fcprojb, S, C);
      sgemm(false, true, S, C, C4, 1, fchGelu, 0, C4, w.fcprojw, 0, C4, 1, x, 0, C);
    }
    layerNormForward(xs, this.p.lnfw, this.p.lnfb, lns, mean, rstd, S, C, eps);
    sgemm(false, true, S, V, C, 1, ln, 0, C, this.p.head, 0, C, 0, cache.logits, 0, V);
    for (let s = 0; s < S; s++) cache.pos[slots[s]]++;
    return cache.logits;
  }
}
