/**
 * Turning text into model batches: prompt/response pairs (loss mask on the response + EOS), plain
 * documents (chunked to the context), right padding, and JSONL loading.
 */
import { readFileSync } from 'node:fs';
import type { RewardBatch, SeqBatch } from './model.js';
import type { Tokenizer } from './tokenizer.js';

/** A tokenised sequence; tokens at index ≥ responseStart (and < ids.length) are scored/trained. */
export interface EncodedSeq {
  ids: number[];
  responseStart: number;
}

export interface TextExample {
  prompt: string;
  response: string;
}

/**
 * [BOS] prompt response [EOS], cut to `blockSize` tokens. A prompt too long for the context is
 * left-truncated so at least one response token fits; a long response is cut at the right (no EOS).
 */
export function encodePair(
  tok: Tokenizer,
  prompt: string,
  response: string,
  blockSize: number,
  addEos = true,
): EncodedSeq {
  return encodePairIds(tok, tok.encode(prompt), tok.encode(response), blockSize, addEos);
}

/**
 * Same as encodePair for token ids (e.g. sampled responses, which need not be valid UTF-8 and so
 * should not go through decode → encode). `prompt` is tok.encode(prompt) without BOS (BOS is
 * added here); pass addEos = (sample.finish === 'stop').
 */
export function encodePairIds(
  tok: Tokenizer,
  prompt: readonly number[],
  response: readonly number[],
  blockSize: number,
  addEos = true,
): EncodedSeq {
  let p = prompt.slice();
  const r = response.slice();
  if (addEos) r.push(tok.eos);
  if (1 + p.length >= blockSize) p = p.slice(Math.max(0, p.length - (blockSize - 2)));
  const ids = [tok.bos, ...p, ...r].slice(0, blockSize);
  return { ids, responseStart: 1 + p.length };
}

/** A document trained on every token: [BOS] text [EOS], split into chunks of at most blockSize. */
export function encodeDocument(tok: Tokenizer, text: string, blockSize: number): EncodedSeq[] {
  const all = [tok.bos, ...tok.encode(text), tok.eos];
  const out: EncodedSeq[] = [];
  for (let i = 0; i < all.length - 1; i += blockSize) {
    out.push({ ids: all.slice(i, i + blockSize), responseStart: 1 });
  }
  return out;
}

/** Right-pads sequences into a SeqBatch (+ lengths, for the scalar head). T defaults to the longest. */
export function makeBatch(seqs: readonly EncodedSeq[], pad: number, T?: number): SeqBatch & RewardBatch {
  const B = seqs.length;
  if (B === 0) throw new RangeError('makeBatch: empty batch');
  const TT = T ?? Math.max(...seqs.map((s) => s.ids.length));
  const tokens = new Int32Array(B * TT).fill(pad);
  const mask = new Float32Array(B * TT);
  const lengths = new Int32Array(B);
  seqs.forEach((s, b) => {
    const n = Math.min(s.ids.length, TT);
    lengths[b] = n;
    for (let t = 0; t < n; t++) {
      tokens[b * TT + t] = s.ids[t];
      if (t >= s.responseStart && t >= 1) mask[b * TT + t] = 1;
    }
  });
  return { B, T: TT, tokens, mask, lengths };
}

/** One line of a training/scoring JSONL file. */
export type JsonlExample =
  | { kind: 'pair'; prompt: string; response: string }
  | { kind: 'text'; text: string };

/**
 * Reads JSONL with {"prompt","response"} or {"text"} objects per line; a file not ending in .jsonl
 * or .json (in any letter case: `.JSONL` too) is read as plain text (one document per non-empty paragraph). Errors name file, line and field.
 */
export function readExamples(path: string): JsonlExample[] {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(
      `${path}: cannot read data file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  if (!/\.jsonl?$/i.test(path)) {
    return content
      .split(/\n\s*\n/)
      .map((t) => t.trim())
      .filter((t) => t.length > 0)
      .map((text) => ({ kind: 'text' as const, text }));
  }
  const out: JsonlExample[] = [];
  const lines = content.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new Error(`${path}:${i + 1}: invalid JSON (${(e as Error).message})`);
    }
    const o = obj as Record<string, unknown>;
    if (
      typeof o === 'object' &&
      o !== null &&
      typeof o.prompt === 'string' &&
      typeof o.response === 'string'
    ) {
      out.push({ kind: 'pair', prompt: o.prompt, response: o.response });
    } else if (typeof o === 'object' && o !== null && typeof o.text === 'string') {
      out.push({ kind: 'text', text: o.text });
    } else {
      throw new Error(
        `${path}:${i + 1}: expected {"prompt": string, "response": string} or {"text": string}`,
      );
    }
  });
  if (out.length === 0) throw new Error(`${path}: no examples`);
  return out;
}

/** Encodes examples into trainable sequences. */
export function encodeExamples(
  tok: Tokenizer,
  examples: readonly JsonlExample[],
  blockSize: number,
): EncodedSeq[] {
  const out: EncodedSeq[] = [];
  for (const e of examples) {
    if (e.kind === 'pair') out.push(encodePair(tok, e.prompt, e.response, blockSize));
    else out.push(...encodeDocument(tok, e.text, blockSize));
  }
  return out;
}
