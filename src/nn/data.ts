/**
 * Turning text into model batches: prompt/response pairs (loss mask on the response + EOS), plain
 * documents (chunked to the context), right padding, and JSONL loading.
 */
import { readFileSync } from 'node:fs';
import { GshfInputError, ioError } from '../math/errors.js';
import { isJsonlPath, readJsonl } from '../report/jsonl.js';
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

/**
 * How a prompt/response pair longer than the context is handled when scoring: 'error' refuses it,
 * 'left' drops the oldest tokens (prompt first, after BOS; then the response's head), 'right' drops
 * the newest (EOS, then the response's tail; at least one response token must remain).
 */
export type TruncateMode = 'error' | 'left' | 'right';

export const TRUNCATE_MODES: readonly TruncateMode[] = ['error', 'left', 'right'];

/** An encoded pair and how many tokens were cut to fit the context. */
export interface FittedSeq extends EncodedSeq {
  dropped: number;
}

/**
 * [BOS] prompt response [EOS] fitted to `blockSize` under an explicit truncation mode (see
 * TruncateMode). Unlike encodePairIds, nothing is cut silently: 'error' throws naming the lengths.
 */
export function fitPairIds(
  tok: Tokenizer,
  prompt: readonly number[],
  response: readonly number[],
  blockSize: number,
  addEos: boolean,
  truncate: TruncateMode,
): FittedSeq {
  const r = addEos ? [...response, tok.eos] : [...response];
  const total = 1 + prompt.length + r.length;
  if (r.length === 0) throw new GshfInputError('nothing to score: empty response and no EOS');
  if (total <= blockSize)
    return { ids: [tok.bos, ...prompt, ...r], responseStart: 1 + prompt.length, dropped: 0 };
  const lengths = `[BOS] + ${prompt.length} prompt + ${response.length} response${addEos ? ' + EOS' : ''} = ${total} tokens`;
  if (truncate === 'left') {
    const body = [...prompt, ...r].slice(total - blockSize);
    return {
      ids: [tok.bos, ...body],
      responseStart: 1 + Math.max(0, prompt.length - (total - blockSize)),
      dropped: total - blockSize,
    };
  }
  if (truncate === 'right') {
    if (1 + prompt.length >= blockSize)
      throw new GshfInputError(
        `${lengths}: the prompt alone fills the context of ${blockSize}, so truncating on the right leaves no response token (use left truncation)`,
      );
    return {
      ids: [tok.bos, ...prompt, ...r].slice(0, blockSize),
      responseStart: 1 + prompt.length,
      dropped: total - blockSize,
    };
  }
  throw new GshfInputError(
    `${lengths} exceed the model's context of ${blockSize} (truncate explicitly: left or right)`,
  );
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
  if (B === 0) throw new GshfInputError('makeBatch: empty batch');
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
export type JsonlExample = (
  | { kind: 'pair'; prompt: string; response: string }
  | { kind: 'text'; text: string }
) & {
  /** 1-based line in a JSONL file (absent for plain-text paragraphs). */
  line?: number;
};

/**
 * Reads JSONL with {"prompt","response"} or {"text"} objects per line (the shared JSONL reader:
 * duplicate keys and torn last lines refused); a file not ending in .jsonl/.json (any letter case)
 * is read as plain text (one document per non-empty paragraph). Errors name file, line and field.
 */
export function readExamples(path: string): JsonlExample[] {
  if (!isJsonlPath(path) && !/\.json$/i.test(path)) {
    let content: string;
    try {
      content = readFileSync(path, 'utf8');
    } catch (e) {
      throw ioError(e, path, 'read the data file');
    }
    const docs = content
      .split(/\n\s*\n/)
      .map((t) => t.trim())
      .filter((t) => t.length > 0)
      .map((text) => ({ kind: 'text' as const, text }));
    if (docs.length === 0) throw new GshfInputError('no examples (the file is empty)', { file: path });
    return docs;
  }
  const out: JsonlExample[] = [];
  for (const { line, value } of readJsonl(path).records) {
    const o = value as Record<string, unknown>;
    const isObj = typeof o === 'object' && o !== null && !Array.isArray(o);
    if (isObj && typeof o.prompt === 'string' && typeof o.response === 'string') {
      out.push({ kind: 'pair', prompt: o.prompt, response: o.response, line });
    } else if (isObj && typeof o.text === 'string') {
      out.push({ kind: 'text', text: o.text, line });
    } else {
      throw new GshfInputError('expected {"prompt": string, "response": string} or {"text": string}', {
        file: path,
        line,
      });
    }
  }
  if (out.length === 0) throw new GshfInputError('no examples (the file is empty)', { file: path });
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
