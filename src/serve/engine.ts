/**
 * The generation engine behind `gshf lm serve`: text prompts in, choices out, on top of src/nn's
 * batched KV-cache sampler. Adds what the OpenAI API needs and the sampler does not have: stop
 * strings (ended inside the sampler through its `onToken` hook), incremental text for streaming
 * (never splitting a UTF-8 character or a possible stop string), and per-token log-probs with
 * top alternatives, computed by one extra forward over each finished choice.
 *
 * Log-probs are the MODEL's distribution log softmax(logits) — temperature 1, no top-k/top-p —
 * so they equal src/nn's scoring of the same tokens (`scoreEncoded`).
 */
import { generate, type FinishReason, type GPT, type Tokenizer } from '../nn/index.js';

export interface GenParams {
  n: number;
  temperature: number;
  topP: number;
  topK: number;
  /** New tokens per choice; undefined = fill the context. */
  maxTokens?: number;
  /** Stop strings (the text is cut before the first one; finish 'stop'). */
  stop: readonly string[];
  seed: number;
  /** null = no log-probs; k ≥ 0 = each token's log-prob plus the k most likely alternatives. */
  logprobs: number | null;
}

export interface TopLogprob {
  token: string;
  id: number;
  logprob: number;
  bytes: number[];
}

export interface TokenLogprob extends TopLogprob {
  top: TopLogprob[];
}

export interface Choice {
  /** Which prompt (0-based) and which of its n samples. */
  prompt: number;
  sample: number;
  text: string;
  /** Generated token ids (EOS excluded; with a stop string, up to the token that completed it). */
  tokens: number[];
  finish: 'stop' | 'length';
  logprobs?: TokenLogprob[];
}

export interface GenResult {
  /** choices[i][j] = sample j of prompt i. */
  choices: Choice[][];
  promptTokens: number;
  completionTokens: number;
}

/** Streaming sink: a text delta of sample j of prompt i (never empty). */
export type DeltaSink = (prompt: number, sample: number, delta: string) => void;

/** A prompt that does not fit the model's context. */
export class PromptTooLongError extends Error {
  constructor(
    readonly tokens: number,
    readonly context: number,
  ) {
    super(
      `the prompt is ${tokens} tokens (with BOS) but the model's context is ${context} tokens, leaving no room for a response`,
    );
    this.name = 'PromptTooLongError';
  }
}

/** Follows one sample's text: stop-string detection and the streamable prefix. */
class TextTracker {
  readonly tokens: number[] = [];
  text = '';
  /** Index in `text` where a stop string begins (-1 = none yet). */
  cut = -1;
  emitted = 0;
  constructor(
    private readonly tok: Tokenizer,
    private readonly stops: readonly string[],
    private readonly holdBack: number,
  ) {}

  /** Appends a token; true when a stop string has now appeared. */
  push(id: number): boolean {
    this.tokens.push(id);
    this.text = this.tok.decode(this.tokens);
    if (this.stops.length === 0) return false;
    // A new stop occurrence must end in the new tail: search only the last (token + stop) chars.
    for (const s of this.stops) {
      const i = this.text.indexOf(s, Math.max(0, this.emitted - s.length));
      if (i >= 0 && (this.cut < 0 || i < this.cut)) this.cut = i;
    }
    return this.cut >= 0;
  }

  /** Final text: cut before the stop string. */
  final(): string {
    return this.cut >= 0 ? this.text.slice(0, this.cut) : this.text;
  }

  /** The next streamable delta ('' if nothing is safe yet). `done` flushes everything. */
  delta(done: boolean): string {
    const full = this.final();
    let end = full.length;
    if (!done) {
      if (this.cut < 0) end -= this.holdBack;
      while (end > this.emitted && full.charCodeAt(end - 1) === 0xfffd) end--; // maybe an unfinished UTF-8 char
      const hi = full.charCodeAt(end - 1);
      if (end > this.emitted && hi >= 0xd800 && hi < 0xdc00) end--; // never split a surrogate pair
    }
    if (end <= this.emitted) return '';
    const d = full.slice(this.emitted, end);
    this.emitted = end;
    return d;
  }
}

export class LmEngine {
  constructor(
    readonly model: GPT,
    readonly tok: Tokenizer,
  ) {
    if (model.config.head !== 'lm') throw new Error("lm serve: the checkpoint needs an 'lm' head");
  }

  get contextSize(): number {
    return this.model.config.blockSize;
  }

  /** [BOS] + tokens of `text`; throws PromptTooLongError when no response token would fit. */
  encodePrompt(text: string): number[] {
    const ids = [this.tok.bos, ...this.tok.encode(text)];
    if (ids.length >= this.contextSize) throw new PromptTooLongError(ids.length, this.contextSize);
    return ids;
  }

  /** Samples `params.n` choices per prompt; `onDelta` receives streaming text as it is generated. */
  run(prompts: readonly number[][], params: GenParams, onDelta?: DeltaSink): GenResult {
    // Phase 1: sample, tracking text per choice when stop strings or streaming need it.
    const track = params.stop.length > 0 || onDelta !== undefined;
    const holdBack = Math.max(0, ...params.stop.map((s) => s.length - 1));
    const trackers = prompts.map(() =>
      Array.from({ length: params.n }, () => new TextTracker(this.tok, params.stop, holdBack)),
    );
    const onToken = track
      ? (i: number, j: number, id: number): boolean => {
          const t = trackers[i][j];
          const stopped = t.push(id);
          if (onDelta) {
            const d = t.delta(false);
            if (d) onDelta(i, j, d);
          }
          return stopped;
        }
      : undefined;
    const samples = generate(this.model, prompts, {
      n: params.n,
      temperature: params.temperature,
      topP: params.topP,
      topK: params.topK,
      maxTokens: params.maxTokens,
      seed: params.seed,
      stop: [this.tok.eos],
      onToken,
    });
    // Phase 2: choices (final text, flushed deltas), then log-probs.
    const choices = samples.map((row, i) =>
      row.map((s): Choice => {
        const t = trackers[i][s.index];
        const text = track ? t.final() : this.tok.decode(s.tokens);
        if (onDelta) {
          const d = t.delta(true);
          if (d) onDelta(i, s.index, d);
        }
        return { prompt: i, sample: s.index, text, tokens: s.tokens, finish: finishOf(s.finish) };
      }),
    );
    if (params.logprobs !== null) this.addLogprobs(prompts, choices.flat(), params.logprobs);
    const completionTokens = choices.flat().reduce((a, c) => a + c.tokens.length, 0);
    const promptTokens = prompts.reduce((a, p) => a + p.length, 0);
    return { choices, promptTokens, completionTokens };
  }

  /** Fills `logprobs` of each choice: one forward over [prompt, tokens[0..k−1)] per choice, batched. */
  private addLogprobs(prompts: readonly number[][], choices: Choice[], top: number): void {
    const todo = choices.filter((c) => c.tokens.length > 0);
    choices.forEach((c) => (c.logprobs = []));
    const V = this.model.config.vocabSize;
    const batch = 16;
    for (let b0 = 0; b0 < todo.length; b0 += batch) {
      const group = todo.slice(b0, b0 + batch);
      const seqs = group.map((c) => [...prompts[c.prompt], ...c.tokens.slice(0, -1)]);
      const T = Math.max(...seqs.map((s) => s.length));
      const ids = new Int32Array(group.length * T).fill(this.tok.pad);
      seqs.forEach((s, b) => ids.set(s, b * T));
      const logits = this.model.forwardLogits(ids, group.length, T);
      group.forEach((c, b) => {
        const P = prompts[c.prompt].length;
        c.logprobs = c.tokens.map((id, k) => this.tokenLogprob(logits, (b * T + P - 1 + k) * V, id, top));
      });
    }
  }

  /** log softmax at one logits row (float64, same arithmetic as GPT.tokenLogProbs) + top alternatives. */
  private tokenLogprob(logits: Float32Array, row: number, id: number, top: number): TokenLogprob {
    const V = this.model.config.vocabSize;
    let mx = -Infinity;
    for (let v = 0; v < V; v++) if (logits[row + v] > mx) mx = logits[row + v];
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp(logits[row + v] - mx);
    const lse = mx + Math.log(z);
    const best: number[] = [];
    for (let v = 0; v < V && top > 0; v++) {
      if (best.length < top || logits[row + v] > logits[row + best[best.length - 1]]) {
        let at = best.length;
        while (at > 0 && logits[row + v] > logits[row + best[at - 1]]) at--;
        best.splice(at, 0, v);
        if (best.length > top) best.pop();
      }
    }
    const entry = (v: number): TopLogprob => ({
      ...this.tokenText(v),
      id: v,
      logprob: logits[row + v] - lse,
    });
    return { ...entry(id), top: best.map(entry) };
  }

  /** A token's text and bytes (special tokens: empty text, no bytes). */
  tokenText(id: number): { token: string; bytes: number[] } {
    const token = this.tok.decode([id]);
    // A byte tokenizer's token is one raw byte (possibly half a UTF-8 character): report that byte.
    if (this.tok.spec.type === 'byte') return { token, bytes: id < 256 ? [id] : [] };
    return { token, bytes: [...Buffer.from(token, 'utf8')] };
  }
}

function finishOf(f: FinishReason): 'stop' | 'length' {
  return f === 'stop' ? 'stop' : 'length';
}
