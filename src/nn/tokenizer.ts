/**
 * Tokenizers. Default: byte-level (ids 0..255 are UTF-8 bytes, then BOS, EOS, PAD).
 * Optional: a HuggingFace `tokenizer.json` whose model.type is "BPE" with a ByteLevel
 * pre-tokenizer (GPT-2 / RoBERTa style), loaded by our own small BPE implementation (no npm
 * dependency; see docs/lm-engine.md for what is and is not supported).
 */
import {
  HFTokenizer,
  libraryUnsupportedFeature,
  ourNormalizer,
  ourPreTokenizer,
  ourUnsupportedFeature,
  named,
  readTokenizerJson,
  type SpecialTokenNames,
  type OurPreTokenizer,
} from './tokenizer-json.js';

import type { Tokenizer, TokenizerSpec } from './tokenizer-types.js';

export type { SpecialTokenNames };

export type { Tokenizer, TokenizerSpec };

const utf8 = new TextEncoder();

/**
 * How many bytes at the end of `bytes` start a UTF-8 sequence that is valid so far but incomplete
 * (0 when the bytes end on a character boundary or in invalid UTF-8, which stays U+FFFD).
 */
export function incompleteUtf8Tail(bytes: ArrayLike<number>): number {
  const n = bytes.length;
  for (let k = 1; k <= Math.min(3, n); k++) {
    const b = bytes[n - k];
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const need = (b & 0xe0) === 0xc0 ? 2 : (b & 0xf0) === 0xe0 ? 3 : (b & 0xf8) === 0xf0 ? 4 : 1;
    return need > k ? k : 0;
  }
  return 0;
}

function dropIncompleteTail(bytes: number[], cutTail: boolean | undefined): Uint8Array {
  return new Uint8Array(cutTail ? bytes.slice(0, bytes.length - incompleteUtf8Tail(bytes)) : bytes);
}

export class ByteTokenizer implements Tokenizer {
  readonly vocabSize = 259;
  readonly bos = 256;
  readonly eos = 257;
  readonly pad = 258;
  readonly spec: TokenizerSpec = { type: 'byte' };
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });

  encode(text: string): number[] {
    return Array.from(utf8.encode(text));
  }

  decode(ids: ArrayLike<number>, cutTail?: boolean): string {
    const bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) if (ids[i] < 256) bytes.push(ids[i]);
    return this.decoder.decode(dropIncompleteTail(bytes, cutTail));
  }
}

/** GPT-2's reversible byte → printable-unicode map used by ByteLevel BPE. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let i = 33; i <= 126; i++) bs.push(i);
  for (let i = 161; i <= 172; i++) bs.push(i);
  for (let i = 174; i <= 255; i++) bs.push(i);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const table: string[] = new Array<string>(256);
  for (let i = 0; i < bs.length; i++) table[bs[i]] = String.fromCodePoint(cs[i]);
  return table;
}

interface AddedToken {
  id: number;
  content: string;
  special?: boolean;
}

function fail(file: string, field: string, msg: string): never {
  throw new Error(`${file}: ${field}: ${msg}`);
}

/**
 * Byte-level BPE from a HuggingFace tokenizer.json (GPT-2, Llama-3, Qwen, GPT-4o/o200k style).
 * Supported: model.type "BPE" with vocab and merges (either "a b" strings or ["a", "b"] pairs),
 * ignore_merges; Unicode normalizers (NFC/NFD/NFKC/NFKD, Sequence); pre-tokenizers ByteLevel
 * (add_prefix_space, use_regex), Split (Regex/String; Isolated, Removed ± invert) and Sequence;
 * added_tokens (matched literally before normalization). Anything else fails with a
 * TokenizerFeatureError naming the JSON path; `loadTokenizer` then hands the file to
 * @huggingface/tokenizers (HFTokenizer) when that library covers it.
 */
export class BPETokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bos: number;
  readonly eos: number;
  readonly pad: number;
  readonly spec: TokenizerSpec;
  private readonly vocab = new Map<string, number>();
  private readonly idToToken: string[] = [];
  private readonly ranks = new Map<string, number>();
  private readonly added: AddedToken[];
  private readonly byteEnc = bytesToUnicode();
  private readonly byteDec = new Map<string, number>();
  private readonly normalize: (s: string) => string;
  private readonly preTokenizer: OurPreTokenizer;
  private readonly ignoreMerges: boolean;
  private readonly specialIds = new Set<number>();
  private readonly cache = new Map<string, number[]>();
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });

  constructor(json: unknown, file = 'tokenizer.json', specials: SpecialTokenNames = {}) {
    this.spec = { type: 'bpe', file };
    if (typeof json !== 'object' || json === null) fail(file, '(root)', 'expected a JSON object');
    const root = json as Record<string, unknown>;
    const unsupported = ourUnsupportedFeature(root, file);
    if (unsupported) throw unsupported;
    const model = root.model as Record<string, unknown>;
    this.normalize = ourNormalizer(root.normalizer, file);
    this.preTokenizer = ourPreTokenizer(root.pre_tokenizer, file);
    this.ignoreMerges = model.ignore_merges === true;
    const vocab = model.vocab as Record<string, unknown> | undefined;
    if (!vocab || typeof vocab !== 'object') fail(file, 'model.vocab', 'missing or not an object');
    let maxId = -1;
    for (const [tok, id] of Object.entries(vocab)) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0)
        fail(file, `model.vocab[${JSON.stringify(tok)}]`, 'id must be a non-negative integer');
      this.vocab.set(tok, id);
      this.idToToken[id] = tok;
      maxId = Math.max(maxId, id);
    }
    const merges = model.merges;
    if (!Array.isArray(merges)) fail(file, 'model.merges', 'missing or not an array');
    merges.forEach((m: unknown, i: number) => {
      let pair: [string, string];
      if (typeof m === 'string') {
        const parts = m.split(' ');
        if (parts.length !== 2) fail(file, `model.merges[${i}]`, `expected "a b", got ${JSON.stringify(m)}`);
        pair = [parts[0], parts[1]];
      } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
        pair = [m[0], m[1]];
      } else fail(file, `model.merges[${i}]`, 'expected "a b" or ["a", "b"]');
      this.ranks.set(pair[0] + '\u0000' + pair[1], i);
    });
    this.added = [];
    const added = root.added_tokens;
    if (added !== undefined && added !== null) {
      if (!Array.isArray(added)) fail(file, 'added_tokens', 'expected an array');
      added.forEach((a: unknown, i: number) => {
        const t = a as AddedToken;
        if (typeof t?.id !== 'number' || typeof t?.content !== 'string')
          fail(file, `added_tokens[${i}]`, 'needs numeric id and string content');
        this.added.push({ id: t.id, content: t.content, special: t.special });
        this.idToToken[t.id] = t.content;
        this.vocab.set(t.content, t.id);
        if (t.special) this.specialIds.add(t.id);
        maxId = Math.max(maxId, t.id);
      });
    }
    this.added.sort((a, b) => b.content.length - a.content.length); // longest match first
    for (let b = 0; b < 256; b++) this.byteDec.set(this.byteEnc[b], b);
    const find = (...names: string[]): number | undefined => {
      for (const n of names) {
        const id = this.vocab.get(n);
        if (id !== undefined) return id;
      }
      return undefined;
    };
    const eos = find(...named(specials.eos), '<|endoftext|>', '</s>', '<eos>', '<|eos|>');
    const bos = find(...named(specials.bos), '<|startoftext|>', '<s>', '<bos>', '<|bos|>') ?? eos;
    const pad = find(...named(specials.pad), '<pad>', '<|pad|>', '[PAD]') ?? eos;
    if (eos === undefined || bos === undefined || pad === undefined) {
      fail(file, 'added_tokens', 'needs an end-of-text token (<|endoftext|>, </s>, <eos> or <|eos|>)');
    }
    this.bos = bos;
    this.eos = eos;
    this.pad = pad;
    this.specialIds.add(bos).add(eos).add(pad);
    this.vocabSize = maxId + 1;
  }

  static fromFile(path: string): BPETokenizer {
    return new BPETokenizer(readTokenizerJson(path), path);
  }

  encode(text: string): number[] {
    const out: number[] = [];
    // Split out added tokens literally, BPE the rest.
    let i = 0;
    let start = 0;
    while (i < text.length) {
      let hit: AddedToken | undefined;
      for (const a of this.added) {
        if (a.content.length > 0 && text.startsWith(a.content, i)) {
          hit = a;
          break;
        }
      }
      if (hit) {
        if (i > start) this.encodeChunk(text.slice(start, i), start === 0, out);
        out.push(hit.id);
        i += hit.content.length;
        start = i;
      } else i++;
    }
    if (start < text.length) this.encodeChunk(text.slice(start), start === 0, out);
    return out;
  }

  private encodeChunk(text: string, first: boolean, out: number[]): void {
    for (const piece of this.preTokenizer.split(this.normalize(text), first)) {
      const bytes = utf8.encode(piece);
      let word = '';
      for (const b of bytes) word += this.byteEnc[b];
      const whole = this.ignoreMerges ? this.vocab.get(word) : undefined;
      if (whole !== undefined) out.push(whole);
      else for (const id of this.bpe(word)) out.push(id);
    }
  }

  private bpe(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    let parts = Array.from(word);
    while (parts.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let k = 0; k < parts.length - 1; k++) {
        const r = this.ranks.get(parts[k] + '\u0000' + parts[k + 1]);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = k;
        }
      }
      if (best < 0) break;
      const a = parts[best];
      const b = parts[best + 1];
      const merged: string[] = [];
      for (let k = 0; k < parts.length; k++) {
        if (k < parts.length - 1 && parts[k] === a && parts[k + 1] === b) {
          merged.push(a + b);
          k++;
        } else merged.push(parts[k]);
      }
      parts = merged;
    }
    const ids = parts.map((p) => {
      const id = this.vocab.get(p);
      if (id === undefined) throw new Error(`BPE: symbol ${JSON.stringify(p)} is not in the vocabulary`);
      return id;
    });
    if (this.cache.size < 50_000) this.cache.set(word, ids);
    return ids;
  }

  decode(ids: ArrayLike<number>, cutTail?: boolean): string {
    const bytes: number[] = [];
    let text = '';
    const flush = (last = false): void => {
      text += this.decoder.decode(dropIncompleteTail(bytes, last && cutTail));
      bytes.length = 0;
    };
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (this.specialIds.has(id)) continue;
      const tok = this.idToToken[id];
      if (tok === undefined) continue;
      if (this.added.some((a) => a.id === id)) {
        flush();
        text += tok;
        continue;
      }
      for (const ch of tok) {
        const b = this.byteDec.get(ch);
        if (b !== undefined) bytes.push(b);
      }
    }
    flush(true);
    return text;
  }
}

export type TokenizerEngine = 'auto' | 'gshf' | 'hf';

/**
 * Loads a HuggingFace tokenizer.json. 'auto' (default): our BPETokenizer when it runs every part of
 * the file (it is faster, docs/lm-engine.md), else @huggingface/tokenizers (HFTokenizer) when that
 * library covers it, else an error naming the exact unsupported feature (JSON path and type).
 */
export function loadTokenizer(
  path: string,
  engine: TokenizerEngine = 'auto',
  specials: SpecialTokenNames = {},
): Tokenizer {
  const json = readTokenizerJson(path);
  if (engine === 'gshf') return new BPETokenizer(json, path, specials);
  if (engine === 'hf') return new HFTokenizer(json, path, {}, specials);
  const ours = ourUnsupportedFeature(json, path);
  if (ours === null) return new BPETokenizer(json, path, specials);
  const lib = libraryUnsupportedFeature(json, path);
  if (lib === null) return new HFTokenizer(json, path, {}, specials);
  throw new Error(`${lib.message} (neither gshf's byte-level BPE nor @huggingface/tokenizers runs it)`);
}

/** Builds the tokenizer described by a spec; `dir` resolves a relative tokenizer.json path. */
export function tokenizerFromSpec(spec: TokenizerSpec, dir?: string): Tokenizer {
  if (spec.type === 'byte') return new ByteTokenizer();
  const path = dir && !spec.file.startsWith('/') ? `${dir}/${spec.file}` : spec.file;
  return loadTokenizer(path);
}
