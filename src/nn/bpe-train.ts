/**
 * A small byte-level BPE trainer (GPT-2 style): pre-tokenise with GPT-2's pattern, start from the
 * 256 byte symbols, and repeatedly merge the most frequent adjacent pair (ties: the
 * lexicographically smallest pair, so training is deterministic) until the vocabulary has
 * `vocabSize` entries including the special tokens. The output is a HuggingFace `tokenizer.json`
 * (model.type "BPE", ByteLevel pre-tokenizer) that `BPETokenizer` in ./tokenizer.ts loads.
 *
 * Why: on the review corpus a few hundred merges turn most words into single tokens, so a tiny GPT
 * samples whole words instead of spelling them byte by byte, and sequences are ~3× shorter.
 */
import { bytesToUnicode } from './tokenizer.js';
import { GPT2_SPLIT } from './tokenizer-json.js';

export interface BpeTrainOptions {
  /** Total vocabulary: 256 bytes + merges + 3 special tokens. */
  vocabSize: number;
  /** Stop early when the best pair occurs fewer times than this (default 2). */
  minFrequency?: number;
}

export const BPE_SPECIALS = { eos: '<|endoftext|>', bos: '<s>', pad: '<pad>' } as const;

/** The tokenizer.json object of a byte-level BPE trained on `texts`. */
export function trainBpe(texts: Iterable<string>, opts: BpeTrainOptions): Record<string, unknown> {
  const nSpecial = 3;
  if (!(Number.isInteger(opts.vocabSize) && opts.vocabSize >= 256 + nSpecial))
    throw new RangeError(`trainBpe: vocabSize must be an integer ≥ ${256 + nSpecial}, got ${opts.vocabSize}`);
  const minFreq = opts.minFrequency ?? 2;
  const enc = bytesToUnicode();
  const utf8 = new TextEncoder();
  // Word counts after pre-tokenisation, each word as its byte symbols.
  const counts = new Map<string, number>();
  for (const t of texts)
    for (const m of t.matchAll(GPT2_SPLIT)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  const words: { syms: string[]; n: number }[] = [...counts]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([w, n]) => ({ syms: Array.from(utf8.encode(w), (b) => enc[b]), n }));
  const vocab: Record<string, number> = {};
  for (let b = 0; b < 256; b++) vocab[enc[b]] = b;
  const merges: string[] = [];
  let next = 256;
  while (next < opts.vocabSize - nSpecial) {
    const best = bestPair(words);
    if (!best || best.n < minFreq) break;
    const [a, b] = best.pair;
    merges.push(`${a} ${b}`);
    vocab[a + b] = next++;
    for (const w of words) w.syms = mergeWord(w.syms, a, b);
  }
  const added = [BPE_SPECIALS.eos, BPE_SPECIALS.bos, BPE_SPECIALS.pad].map((content, i) => ({
    id: next + i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  for (const a of added) vocab[a.content] = a.id;
  return {
    version: '1.0',
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    decoder: { type: 'ByteLevel' },
    model: { type: 'BPE', dropout: null, unk_token: null, vocab, merges },
  };
}

function bestPair(
  words: readonly { syms: string[]; n: number }[],
): { pair: [string, string]; n: number } | null {
  const freq = new Map<string, number>();
  for (const w of words)
    for (let k = 0; k + 1 < w.syms.length; k++) {
      const key = w.syms[k] + '\u0000' + w.syms[k + 1];
      freq.set(key, (freq.get(key) ?? 0) + w.n);
    }
  let best: string | null = null;
  let bestN = 0;
  for (const [key, n] of freq)
    if (n > bestN || (n === bestN && best !== null && key < best)) [best, bestN] = [key, n];
  if (best === null) return null;
  const [a, b] = best.split('\u0000');
  return { pair: [a, b], n: bestN };
}

function mergeWord(syms: string[], a: string, b: string): string[] {
  if (syms.length < 2) return syms;
  const out: string[] = [];
  for (let k = 0; k < syms.length; k++) {
    if (k + 1 < syms.length && syms[k] === a && syms[k + 1] === b) {
      out.push(a + b);
      k++;
    } else out.push(syms[k]);
  }
  return out;
}
