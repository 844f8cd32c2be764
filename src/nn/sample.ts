/**
 * Sampling (temperature, top-k, top-p, stop tokens, max length, n samples per prompt, batched
 * prompts, KV cache) and batched log-prob scoring. Deterministic under a seed: sample j of prompt i
 * draws from its own stream `Rng(seed).fork("i/j")`, so results do not depend on batching.
 */
import { Rng, type Seed } from '../math/rng.js';
import { fitPairIds, makeBatch, TRUNCATE_MODES, type EncodedSeq, type TruncateMode } from './data.js';
import type { GPT } from './model.js';
import type { Tokenizer } from './tokenizer.js';
import { GshfInputError, GshfNumericError } from '../math/errors.js';

/**
 * Keeps the k largest entries of x[0..n) (ties at the k-th value are kept, like PyTorch/HF), sets the
 * rest to −Infinity. k ≤ 0 or k ≥ n is a no-op. `scratch` (length ≥ n) avoids allocation.
 */
export function topKFilter(
  x: Float32Array,
  k: number,
  n: number = x.length,
  scratch: Float32Array = new Float32Array(n),
): void {
  if (k <= 0 || k >= n) return;
  const s = scratch.subarray(0, n);
  s.set(x.subarray(0, n));
  s.sort();
  const kth = s[n - k]; // ascending sort: k-th largest
  for (let i = 0; i < n; i++) if (x[i] < kth) x[i] = -Infinity;
}

/**
 * Nucleus filter on logits x[0..n): keeps the smallest set of highest-probability tokens whose total
 * probability reaches p (the token crossing p is kept; at least one token always survives).
 * p ≥ 1 is a no-op.
 */
export function topPFilter(
  x: Float32Array,
  p: number,
  n: number = x.length,
  order: Int32Array = new Int32Array(n),
  probs: Float64Array = new Float64Array(n),
): void {
  if (p >= 1) return;
  let mx = -Infinity;
  for (let i = 0; i < n; i++) if (x[i] > mx) mx = x[i];
  let z = 0;
  for (let i = 0; i < n; i++) {
    const e = x[i] === -Infinity ? 0 : Math.exp(x[i] - mx);
    probs[i] = e;
    z += e;
  }
  const idx = order.subarray(0, n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => probs[b] - probs[a] || a - b);
  let cum = 0;
  let keep = 0;
  while (keep < n) {
    cum += probs[idx[keep]] / z;
    keep++;
    if (cum >= p) break;
  }
  for (let r = keep; r < n; r++) x[idx[r]] = -Infinity;
}

export interface SampleOptions {
  /** Samples per prompt (default 1). */
  n?: number;
  /** 0 = greedy (default 1). */
  temperature?: number;
  /** 0 = off. */
  topK?: number;
  /** 1 = off. */
  topP?: number;
  /** Max new tokens (default: fill the context). */
  maxTokens?: number;
  /** Token ids that end a sample (not included in the output). Default: [EOS] when a tokenizer is given. */
  stop?: readonly number[];
  seed?: Seed;
  /** Use the KV cache (default true); false re-runs the whole prefix every token (reference path). */
  kvCache?: boolean;
  /** Max concurrent sequences in one decode batch (default 64; whole prompts are grouped, at least n). */
  maxBatch?: number;
  /**
   * Called with each token as it is appended to sample `index` of prompt `prompt` (streaming, stop
   * strings); returning true ends that sample right there with finish 'stop', the token kept.
   */
  onToken?: (prompt: number, index: number, token: number) => boolean | void;
}

export type FinishReason = 'stop' | 'length' | 'context';

export interface Sample {
  prompt: number;
  index: number;
  /** Generated token ids (stop token excluded). */
  tokens: number[];
  finish: FinishReason;
}

class LogitProcessor {
  private readonly buf: Float32Array;
  private readonly sortScratch: Float32Array;
  private readonly order: Int32Array;
  private readonly probs: Float64Array;
  constructor(
    readonly V: number,
    readonly temperature: number,
    readonly topK: number,
    readonly topP: number,
  ) {
    this.buf = new Float32Array(V);
    this.sortScratch = new Float32Array(V);
    this.order = new Int32Array(V);
    this.probs = new Float64Array(V);
  }

  /** Draws the next token from logits[off .. off+V). */
  pick(logits: Float32Array, off: number, rng: Rng): number {
    const V = this.V;
    for (let v = 0; v < V; v++)
      if (Number.isNaN(logits[off + v]))
        throw new GshfNumericError(
          `sampling: the model produced a NaN logit (token ${v}): its weights or activations are not finite`,
        );
    if (this.temperature <= 0) {
      let best = 0;
      for (let v = 1; v < V; v++) if (logits[off + v] > logits[off + best]) best = v;
      return best;
    }
    const x = this.buf;
    const inv = 1 / this.temperature;
    for (let v = 0; v < V; v++) x[v] = logits[off + v] * inv;
    if (this.topK > 0) topKFilter(x, this.topK, V, this.sortScratch);
    if (this.topP < 1) topPFilter(x, this.topP, V, this.order, this.probs);
    return rng.categoricalLog(x, 0, V);
  }
}

/**
 * Validates SampleOptions at the public API, naming the option and the value (NaN, a negative
 * temperature or top-p > 1 would otherwise surface as an Rng error or a silent no-op).
 */
export function checkSampleOptions(opts: SampleOptions, vocabSize: number): void {
  const fail = (what: string, v: unknown): never => {
    throw new GshfInputError(`sampling option ${what}, got ${String(v)}`);
  };
  const { n, temperature, topK, topP, maxTokens, maxBatch, stop, seed } = opts;
  if (n !== undefined && !(Number.isInteger(n) && n >= 1)) fail('n: expected an integer ≥ 1', n);
  if (temperature !== undefined && !(Number.isFinite(temperature) && temperature >= 0))
    fail('temperature: expected a finite number ≥ 0 (0 = greedy)', temperature);
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 0))
    fail('topK: expected an integer ≥ 0 (0 = off)', topK);
  if (topP !== undefined && !(topP > 0 && topP <= 1))
    fail('topP: expected a number in (0, 1] (1 = off)', topP);
  if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && maxTokens >= 1))
    fail('maxTokens: expected an integer ≥ 1', maxTokens);
  if (maxBatch !== undefined && !(Number.isInteger(maxBatch) && maxBatch >= 1))
    fail('maxBatch: expected an integer ≥ 1', maxBatch);
  if (typeof seed === 'number' && !Number.isFinite(seed))
    fail('seed: expected a finite number or a string', seed);
  for (const t of stop ?? [])
    if (!(Number.isInteger(t) && t >= 0 && t < vocabSize))
      fail(`stop: expected token ids in [0, ${vocabSize})`, t);
}

/**
 * Samples continuations for token-id prompts. Returns one array per prompt with `n` samples each.
 */
export function generate(
  model: GPT,
  prompts: readonly (readonly number[])[],
  opts: SampleOptions = {},
): Sample[][] {
  const cfg = model.config;
  checkSampleOptions(opts, cfg.vocabSize);
  const n = opts.n ?? 1;
  const V = cfg.vocabSize;
  const stop = new Set(opts.stop ?? []);
  const proc = new LogitProcessor(V, opts.temperature ?? 1, opts.topK ?? 0, opts.topP ?? 1);
  const base = new Rng(opts.seed ?? 0);
  if (prompts.length === 0) throw new GshfInputError('generate: no prompts (pass at least one)');
  for (const [i, p] of prompts.entries()) {
    if (p.length < 1) throw new GshfInputError(`prompt ${i} is empty (it needs at least a BOS token)`);
    if (p.length >= cfg.blockSize)
      throw new GshfInputError(
        `prompt ${i} has ${p.length} tokens, which leaves no room in the context of ${cfg.blockSize}`,
      );
    const bad = p.findIndex((t) => !Number.isInteger(t) || t < 0 || t >= V);
    if (bad >= 0)
      throw new GshfInputError(`prompt ${i}: token ${bad} is ${p[bad]}, outside the vocabulary [0, ${V})`);
  }
  const out: Sample[][] = prompts.map(() => []);
  // Flatten (prompt, sample) pairs into decode jobs; process them in groups of whole prompts.
  const maxBatch = Math.max(n, opts.maxBatch ?? 64);
  const promptsPerGroup = Math.max(1, Math.floor(maxBatch / n));
  for (let g0 = 0; g0 < prompts.length; g0 += promptsPerGroup) {
    const group = prompts.slice(g0, g0 + promptsPerGroup);
    const res =
      opts.kvCache === false
        ? runNoCache(model, group, g0, n, opts, stop, proc, base)
        : runCached(model, group, g0, n, opts, stop, proc, base);
    res.forEach((s) => out[s.prompt].push(s));
  }
  return out;
}

function runCached(
  model: GPT,
  group: readonly (readonly number[])[],
  g0: number,
  n: number,
  opts: SampleOptions,
  stop: Set<number>,
  proc: LogitProcessor,
  base: Rng,
): Sample[] {
  const V = model.config.vocabSize;
  const blk = model.config.blockSize;
  const S = group.length * n;
  const cache = model.createKVCache(S);
  const samples: Sample[] = [];
  const rngs: Rng[] = [];
  const done: boolean[] = new Array<boolean>(S).fill(false);
  const next = new Int32Array(S);
  const budget: number[] = [];
  const finish = (s: number, why: FinishReason): void => {
    done[s] = true;
    samples[s].finish = why;
  };
  const accept = (s: number, tok: number): void => {
    if (stop.has(tok)) return finish(s, 'stop');
    samples[s].tokens.push(tok);
    if (opts.onToken?.(samples[s].prompt, samples[s].index, tok) === true) return finish(s, 'stop');
    if (samples[s].tokens.length >= budget[s]) return finish(s, 'length');
    if (cache.pos[s] >= blk) return finish(s, 'context');
    next[s] = tok;
  };
  group.forEach((prompt, gi) => {
    const first = gi * n;
    const logits = model.prefill(cache, first, prompt);
    for (let j = 0; j < n; j++) {
      const s = first + j;
      if (j > 0) model.copyCacheSlot(cache, first, s);
      samples.push({ prompt: g0 + gi, index: j, tokens: [], finish: 'length' });
      rngs.push(base.fork(`${g0 + gi}/${j}`));
      budget.push(Math.min(opts.maxTokens ?? Infinity, blk - prompt.length + 1));
    }
    for (let j = 0; j < n; j++) {
      const s = first + j;
      if (budget[s] <= 0) finish(s, 'length');
      else accept(s, proc.pick(logits, 0, rngs[s]));
    }
  });
  // Decode only the unfinished sequences (compacted rows → cache slots).
  const slots = new Int32Array(S);
  const rowTokens = new Int32Array(S);
  for (;;) {
    let R = 0;
    for (let s = 0; s < S; s++) {
      if (done[s]) continue;
      slots[R] = s;
      rowTokens[R] = next[s];
      R++;
    }
    if (R === 0) break;
    const logits = model.decodeStep(cache, slots, rowTokens, R);
    for (let r = 0; r < R; r++) accept(slots[r], proc.pick(logits, r * V, rngs[slots[r]]));
  }
  return samples;
}

/** Reference sampler without a cache: every token re-runs the full forward over the prefix. */
function runNoCache(
  model: GPT,
  group: readonly (readonly number[])[],
  g0: number,
  n: number,
  opts: SampleOptions,
  stop: Set<number>,
  proc: LogitProcessor,
  base: Rng,
): Sample[] {
  const V = model.config.vocabSize;
  const blk = model.config.blockSize;
  const samples: Sample[] = [];
  group.forEach((prompt, gi) => {
    for (let j = 0; j < n; j++) {
      const rng = base.fork(`${g0 + gi}/${j}`);
      const seq = [...prompt];
      const sample: Sample = { prompt: g0 + gi, index: j, tokens: [], finish: 'length' };
      const budget = Math.min(opts.maxTokens ?? Infinity, blk - prompt.length + 1);
      while (sample.tokens.length < budget) {
        const T = seq.length;
        const logits = model.forwardLogits(Int32Array.from(seq), 1, T);
        const tok = proc.pick(logits, (T - 1) * V, rng);
        if (stop.has(tok)) {
          sample.finish = 'stop';
          break;
        }
        sample.tokens.push(tok);
        if (opts.onToken?.(sample.prompt, sample.index, tok) === true) {
          sample.finish = 'stop';
          break;
        }
        if (sample.tokens.length >= budget) break;
        if (seq.length >= blk) {
          sample.finish = 'context';
          break;
        }
        seq.push(tok);
      }
      samples.push(sample);
    }
  });
  return samples;
}

export interface TextSample {
  prompt: string;
  index: number;
  text: string;
  tokens: number[];
  finish: FinishReason;
}

/** Text-level sampling: prompts are encoded as [BOS] prompt, EOS stops by default. */
export function sampleText(
  model: GPT,
  tok: Tokenizer,
  prompts: readonly string[],
  opts: SampleOptions = {},
): TextSample[][] {
  if (prompts.length === 0)
    throw new GshfInputError('sampleText: no prompts (pass at least one; "" samples unconditionally)');
  checkSampleOptions(opts, model.config.vocabSize);
  if (tok.vocabSize > model.config.vocabSize)
    throw new GshfInputError(
      `sampleText: the tokenizer has ${tok.vocabSize} tokens but the model only ${model.config.vocabSize}`,
    );
  const blk = model.config.blockSize;
  const ids = prompts.map((p, i) => {
    if (typeof p !== 'string') throw new GshfInputError(`prompt ${i}: expected a string, got ${typeof p}`);
    const enc = [tok.bos, ...tok.encode(p)];
    if (enc.length >= blk)
      throw new GshfInputError(
        `prompt ${i} ("${p.length > 40 ? p.slice(0, 40) + '…' : p}") is ${enc.length} tokens with BOS; the model's context of ${blk} leaves no room for a response`,
      );
    return enc;
  });
  const res = generate(model, ids, { ...opts, stop: opts.stop ?? [tok.eos] });
  return res.map((row, i) =>
    row.map((s) => ({
      prompt: prompts[i],
      index: s.index,
      text: tok.decode(s.tokens, s.finish === 'length'),
      tokens: s.tokens,
      finish: s.finish,
    })),
  );
}

export interface ScoreResult {
  /** Σ log p(response tokens (+EOS) | prompt). */
  logProb: number;
  /** Number of scored tokens. */
  tokens: number;
  /** Tokens cut to fit the context (0 unless a truncation mode was asked for). */
  truncated: number;
}

export interface ScoreOptions {
  /** Sequences per forward pass (default 16). */
  batchSize?: number;
  /** Score the EOS token after the response (default true). */
  includeEos?: boolean;
  /** A pair longer than the context: 'error' (default) refuses, 'left'/'right' cut (see TruncateMode). */
  truncate?: TruncateMode;
}

/** A pair to score; `where` (e.g. "file.jsonl:7") names it in errors. */
export interface ScorePair {
  prompt: string;
  response: string;
  where?: string;
}

/**
 * Per-sequence summed log-prob of each response given its prompt, batched and padded. Sequences are
 * encoded as [BOS] prompt response [EOS] (EOS scored when `includeEos`, default true). A pair that
 * does not fit the context is an error unless `truncate` says how to cut it; then `truncated` says
 * how many tokens were cut.
 */
export function scoreLogProbs(
  model: GPT,
  tok: Tokenizer,
  pairs: readonly ScorePair[],
  opts: ScoreOptions = {},
): ScoreResult[] {
  const truncate = opts.truncate ?? 'error';
  if (!TRUNCATE_MODES.includes(truncate))
    throw new GshfInputError(
      `truncate: expected one of ${TRUNCATE_MODES.join(', ')}, got ${String(truncate)}`,
    );
  const batchSize = opts.batchSize ?? 16;
  if (!(Number.isInteger(batchSize) && batchSize >= 1))
    throw new GshfInputError(`batchSize: expected an integer ≥ 1, got ${batchSize}`);
  const where = (i: number): string => pairs[i].where ?? `pair ${i + 1}`;
  const seqs = pairs.map((p, i) => {
    if (typeof p?.prompt !== 'string' || typeof p.response !== 'string')
      throw new GshfInputError(`${where(i)}: expected {prompt: string, response: string}`);
    try {
      const [pr, re] = [tok.encode(p.prompt), tok.encode(p.response)];
      return fitPairIds(tok, pr, re, model.config.blockSize, opts.includeEos ?? true, truncate);
    } catch (e) {
      throw new GshfInputError(`${where(i)}: ${(e as Error).message}`);
    }
  });
  const res = scoreEncoded(model, seqs, tok.pad, batchSize, where);
  return res.map((r, i) => ({ ...r, truncated: seqs[i].dropped }));
}

/** Same as scoreLogProbs for already-encoded sequences. */
/** A non-finite log-prob is an error (it means non-finite weights or activations), never a null. */
export function scoreEncoded(
  model: GPT,
  seqs: readonly EncodedSeq[],
  pad: number,
  batchSize = 16,
  where: (i: number) => string = (i) => `sequence ${i + 1}`,
): ScoreResult[] {
  const out: ScoreResult[] = [];
  for (let i = 0; i < seqs.length; i += batchSize) {
    const chunk = seqs.slice(i, i + batchSize);
    const r = model.tokenLogProbs(makeBatch(chunk, pad));
    for (let b = 0; b < chunk.length; b++) {
      const lp = r.seqLogProbs[b];
      if (!Number.isFinite(lp))
        throw new GshfNumericError(
          `${where(i + b)}: log-prob is ${lp}: the model produced non-finite values (check the checkpoint's weights)`,
        );
      out.push({ logProb: lp, tokens: r.counts[b], truncated: 0 });
    }
  }
  return out;
}
