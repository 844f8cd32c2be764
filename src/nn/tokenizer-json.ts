/**
 * HuggingFace `tokenizer.json` pipelines: which parts our own byte-level BPE runs (normalizers,
 * pre-tokenizers), the adapter over `@huggingface/tokenizers` for the rest, and the loader that
 * picks between them (docs/lm-engine.md, "Tokenizers"). Every refusal names the exact JSON path and
 * type of the feature, e.g. `pre_tokenizer.pretokenizers[1].type "Metaspace"`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Tokenizer, TokenizerSpec } from './tokenizer-types.js';

/**
 * Special-token strings that take precedence over the built-in guesses (<|endoftext|>, </s>, …),
 * e.g. a Hugging Face folder's tokenizer_config.json bos_token / eos_token / pad_token.
 */
export interface SpecialTokenNames {
  bos?: string;
  eos?: string;
  pad?: string;
}

/** The override name first (when given), for the `find(...)` lists of the tokenizers. */
export function named(name: string | undefined): string[] {
  return name ? [name] : [];
}

/** An unsupported feature: its JSON path in tokenizer.json and what it is. */
export class TokenizerFeatureError extends Error {
  constructor(
    readonly file: string,
    readonly path: string,
    readonly feature: string,
  ) {
    super(`${file}: ${path}: ${feature}`);
  }
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : null;

/** The normalizer as a string → string function (Unicode normal forms, or a Sequence of them). */
export function ourNormalizer(v: unknown, file: string, path = 'normalizer'): (s: string) => string {
  if (v === null || v === undefined) return (s) => s;
  const n = obj(v);
  if (!n) throw new TokenizerFeatureError(file, path, `expected an object, got ${JSON.stringify(v)}`);
  if (n.type === 'NFC' || n.type === 'NFD' || n.type === 'NFKC' || n.type === 'NFKD') {
    const form = n.type;
    return (s) => s.normalize(form);
  }
  if (n.type === 'Sequence' && Array.isArray(n.normalizers)) {
    const fs = n.normalizers.map((x, i) => ourNormalizer(x, file, `${path}.normalizers[${i}]`));
    return (s) => fs.reduce((t, f) => f(t), s);
  }
  throw new TokenizerFeatureError(
    file,
    `${path}.type`,
    `normalizer ${JSON.stringify(n.type)} is not supported`,
  );
}

/**
 * A Rust-regex (the `tokenizers` crate's onig/fancy-regex syntax) pattern as a JS RegExp with the
 * `u` flag. JS has no inline `(?i:…)` before Node 23, so ASCII letters inside such a group become
 * `[aA]` (the patterns in use only fold ASCII contractions such as 's 't 're).
 */
export function rustRegexToJs(src: string, file: string, path: string): RegExp {
  let out = '';
  let inClass = false;
  const fold: boolean[] = [];
  const folding = () => fold.length > 0 && fold[fold.length - 1];
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      out += c + (src[i + 1] ?? '');
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
    } else if (src.startsWith('(?i:', i)) {
      fold.push(true);
      out += '(?:';
      i += 3;
    } else if (c === '(') {
      if (src.startsWith('(?', i) && !/^\(\?(:|=|!|<=|<!)/.test(src.slice(i)))
        throw new TokenizerFeatureError(
          file,
          path,
          `regex group ${JSON.stringify(src.slice(i, i + 4))} is not supported`,
        );
      fold.push(folding());
      out += c;
    } else if (c === ')') {
      fold.pop();
      out += c;
    } else if (folding() && /[A-Za-z]/.test(c)) out += `[${c.toLowerCase()}${c.toUpperCase()}]`;
    else out += c;
  }
  try {
    return new RegExp(out, 'gu');
  } catch (e) {
    throw new TokenizerFeatureError(file, path, `regex not usable in JavaScript (${(e as Error).message})`);
  }
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Pieces of `s` split by `re` under a HF Split behaviour: Isolated (matches and gaps) or Removed. */
function splitBy(s: string, re: RegExp, keep: 'all' | 'matches' | 'gaps'): string[] {
  const out: string[] = [];
  let last = 0;
  for (const m of s.matchAll(re)) {
    const at = m.index ?? 0;
    if (m[0] === '') continue;
    if (at > last && keep !== 'matches') out.push(s.slice(last, at));
    if (keep !== 'gaps') out.push(m[0]);
    last = at + m[0].length;
  }
  if (last < s.length && keep !== 'matches') out.push(s.slice(last));
  return out;
}

// GPT-2 pre-tokenization pattern (what HF's ByteLevel pre-tokenizer uses with use_regex = true).
export const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export interface OurPreTokenizer {
  /** Text (after added tokens are cut out and normalization) → pieces, before byte mapping. */
  split(text: string, first: boolean): string[];
}

/**
 * The pre-tokenizer as our splitter: ByteLevel (add_prefix_space, use_regex), Split (Regex or String
 * pattern; behaviour Isolated, or Removed with or without invert), or a Sequence of them. The
 * pipeline must contain exactly one ByteLevel step (we run byte-level BPE only).
 */
export function ourPreTokenizer(v: unknown, file: string): OurPreTokenizer {
  const steps: ((s: string, first: boolean) => string[])[] = [];
  let byteLevel = 0;
  const add = (x: unknown, path: string): void => {
    const p = obj(x);
    if (!p) throw new TokenizerFeatureError(file, path, `expected an object, got ${JSON.stringify(x)}`);
    if (p.type === 'Sequence' && Array.isArray(p.pretokenizers)) {
      p.pretokenizers.forEach((y, i) => add(y, `${path}.pretokenizers[${i}]`));
      return;
    }
    if (p.type === 'ByteLevel') {
      byteLevel++;
      const prefix = p.add_prefix_space === true;
      const regex = p.use_regex !== false;
      steps.push((s, first) => {
        const t = prefix && first && !s.startsWith(' ') ? ' ' + s : s;
        return regex ? [...t.matchAll(GPT2_SPLIT)].map((m) => m[0]) : [t];
      });
      return;
    }
    if (p.type === 'Split') {
      const pat = obj(p.pattern);
      let re: RegExp;
      if (pat && typeof pat.Regex === 'string') re = rustRegexToJs(pat.Regex, file, `${path}.pattern.Regex`);
      else if (pat && typeof pat.String === 'string') re = new RegExp(escapeRegExp(pat.String), 'gu');
      else throw new TokenizerFeatureError(file, `${path}.pattern`, 'expected {"Regex"} or {"String"}');
      const invert = p.invert === true;
      let keep: 'all' | 'matches' | 'gaps';
      if (p.behavior === 'Isolated') keep = 'all';
      else if (p.behavior === 'Removed') keep = invert ? 'matches' : 'gaps';
      else
        throw new TokenizerFeatureError(
          file,
          `${path}.behavior`,
          `Split behavior ${JSON.stringify(p.behavior)} is not supported (Isolated, Removed)`,
        );
      steps.push((s) => splitBy(s, re, keep));
      return;
    }
    throw new TokenizerFeatureError(
      file,
      `${path}.type`,
      `pre-tokenizer ${JSON.stringify(p.type)} is not supported`,
    );
  };
  if (v === null || v === undefined)
    throw new TokenizerFeatureError(
      file,
      'pre_tokenizer',
      'null (byte-level BPE needs a ByteLevel pre-tokenizer)',
    );
  add(v, 'pre_tokenizer');
  if (byteLevel !== 1)
    throw new TokenizerFeatureError(
      file,
      'pre_tokenizer',
      `${byteLevel} ByteLevel steps (byte-level BPE needs exactly one)`,
    );
  return {
    split(text, first) {
      let pieces = [text];
      for (const step of steps) pieces = pieces.flatMap((s, i) => step(s, first && i === 0));
      return pieces;
    },
  };
}

/** The first feature of a tokenizer.json our BPETokenizer does not run, or null. */
export function ourUnsupportedFeature(root: Json, file: string): TokenizerFeatureError | null {
  try {
    const model = obj(root.model);
    if (!model) return new TokenizerFeatureError(file, 'model', 'missing');
    if (model.type !== 'BPE')
      return new TokenizerFeatureError(
        file,
        'model.type',
        `model ${JSON.stringify(model.type)} is not supported`,
      );
    for (const k of ['continuing_subword_prefix', 'end_of_word_suffix'] as const)
      if (model[k])
        return new TokenizerFeatureError(file, `model.${k}`, `${JSON.stringify(model[k])} is not supported`);
    if (model.byte_fallback === true)
      return new TokenizerFeatureError(file, 'model.byte_fallback', 'true is not supported');
    if (model.dropout !== null && model.dropout !== undefined && model.dropout !== 0)
      return new TokenizerFeatureError(
        file,
        'model.dropout',
        `${JSON.stringify(model.dropout)} is not supported`,
      );
    ourNormalizer(root.normalizer, file);
    ourPreTokenizer(root.pre_tokenizer, file);
    const dec = obj(root.decoder);
    if (dec && dec.type !== 'ByteLevel')
      return new TokenizerFeatureError(
        file,
        'decoder.type',
        `decoder ${JSON.stringify(dec.type)} is not supported`,
      );
    return null;
  } catch (e) {
    if (e instanceof TokenizerFeatureError) return e;
    throw e;
  }
}

// The component types @huggingface/tokenizers 0.2.0 constructs (its create_* switches).
const LIB_TYPES: Record<string, { key: string; nested: string; types: Set<string> }> = {
  normalizer: {
    key: 'normalizer',
    nested: 'normalizers',
    types: new Set([
      'BertNormalizer',
      'Precompiled',
      'Sequence',
      'Replace',
      'NFC',
      'NFD',
      'NFKC',
      'NFKD',
      'Strip',
      'StripAccents',
      'Lowercase',
      'Prepend',
    ]),
  },
  pre_tokenizer: {
    key: 'pre_tokenizer',
    nested: 'pretokenizers',
    types: new Set([
      'BertPreTokenizer',
      'Sequence',
      'Whitespace',
      'WhitespaceSplit',
      'Metaspace',
      'ByteLevel',
      'Split',
      'Punctuation',
      'Digits',
      'Replace',
      'FixedLength',
    ]),
  },
  model: { key: 'model', nested: '', types: new Set(['WordPiece', 'Unigram', 'BPE']) },
  post_processor: {
    key: 'post_processor',
    nested: 'processors',
    types: new Set(['TemplateProcessing', 'ByteLevel', 'BertProcessing', 'RobertaProcessing', 'Sequence']),
  },
  decoder: {
    key: 'decoder',
    nested: 'decoders',
    types: new Set([
      'ByteLevel',
      'WordPiece',
      'Metaspace',
      'BPEDecoder',
      'CTC',
      'Sequence',
      'Replace',
      'Fuse',
      'Strip',
      'ByteFallback',
    ]),
  },
};

/** The first component of a tokenizer.json that @huggingface/tokenizers does not construct, or null. */
export function libraryUnsupportedFeature(root: Json, file: string): TokenizerFeatureError | null {
  for (const { key, nested, types } of Object.values(LIB_TYPES)) {
    const walk = (v: unknown, path: string): TokenizerFeatureError | null => {
      const o = obj(v);
      if (!o) return null;
      if (!types.has(String(o.type))) {
        if (key === 'model' && o.type === undefined && o.vocab !== undefined) return null; // type-less BPE
        return new TokenizerFeatureError(
          file,
          `${path}.type`,
          `${key} ${JSON.stringify(o.type)} is not supported`,
        );
      }
      if (nested && Array.isArray(o[nested]))
        for (let i = 0; i < (o[nested] as unknown[]).length; i++) {
          const r = walk((o[nested] as unknown[])[i], `${path}.${nested}[${i}]`);
          if (r) return r;
        }
      return null;
    };
    const r = walk(root[key], key);
    if (r) return r;
  }
  return null;
}

interface HfEncoding {
  ids: number[];
}
interface HfTokenizerLike {
  encode(text: string, options?: { add_special_tokens?: boolean }): HfEncoding;
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  token_to_id(token: string): number | undefined;
}
type HfTokenizerCtor = new (json: object, config: object) => HfTokenizerLike;

const require = createRequire(import.meta.url);
let libCtor: HfTokenizerCtor | null = null;
/** The `Tokenizer` class of @huggingface/tokenizers (its CommonJS build, so loading stays synchronous). */
export function hfTokenizerClass(): HfTokenizerCtor {
  libCtor ??= (require('@huggingface/tokenizers') as { Tokenizer: HfTokenizerCtor }).Tokenizer;
  return libCtor;
}

/** Largest id in model.vocab (object or Unigram [piece, score] list) and added_tokens, plus one. */
function vocabSizeOf(root: Json): number {
  let max = -1;
  const model = obj(root.model);
  const vocab = model?.vocab;
  if (Array.isArray(vocab)) max = vocab.length - 1;
  else if (obj(vocab))
    for (const id of Object.values(vocab as Json)) if (typeof id === 'number') max = Math.max(max, id);
  if (Array.isArray(root.added_tokens))
    for (const t of root.added_tokens) {
      const id = obj(t)?.id;
      if (typeof id === 'number') max = Math.max(max, id);
    }
  return max + 1;
}

/**
 * A tokenizer.json run by @huggingface/tokenizers (WordPiece, Unigram, Metaspace, byte fallback,
 * BERT normalizers, …): encode without special tokens, decode skipping them.
 */
export class HFTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bos: number;
  readonly eos: number;
  readonly pad: number;
  readonly spec: TokenizerSpec;
  private readonly lib: HfTokenizerLike;

  constructor(json: unknown, file = 'tokenizer.json', config: object = {}, specials: SpecialTokenNames = {}) {
    this.spec = { type: 'bpe', file };
    const root = obj(json);
    if (!root) throw new TokenizerFeatureError(file, '(root)', 'expected a JSON object');
    const missing = libraryUnsupportedFeature(root, file);
    if (missing) throw missing;
    const Ctor = hfTokenizerClass();
    try {
      this.lib = new Ctor(root, config);
    } catch (e) {
      throw new Error(`${file}: @huggingface/tokenizers cannot load it (${(e as Error).message})`);
    }
    const find = (...names: string[]): number | undefined => {
      for (const n of names) {
        const id = this.lib.token_to_id(n);
        if (id !== undefined) return id;
      }
      return undefined;
    };
    const eos = find(...named(specials.eos), '<|endoftext|>', '</s>', '<eos>', '<|eos|>', '[SEP]');
    if (eos === undefined)
      throw new TokenizerFeatureError(
        file,
        'added_tokens',
        'needs an end-of-text token (<|endoftext|>, </s>, <eos>, <|eos|> or [SEP])',
      );
    this.eos = eos;
    this.bos = find(...named(specials.bos), '<|startoftext|>', '<s>', '<bos>', '<|bos|>', '[CLS]') ?? eos;
    this.pad = find(...named(specials.pad), '<pad>', '<|pad|>', '[PAD]') ?? eos;
    this.vocabSize = vocabSizeOf(root);
  }

  encode(text: string): number[] {
    return this.lib.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: ArrayLike<number>, cutTail?: boolean): string {
    if (ids.length === 0) return '';
    const text = this.lib.decode(Array.from(ids), { skip_special_tokens: true });
    // The library gives no bytes: a cut-off sequence shows as trailing U+FFFD, dropped when cut.
    return cutTail ? text.replace(/\uFFFD+$/, '') : text;
  }
}

/** Reads and parses a tokenizer.json (errors name the file). */
export function readTokenizerJson(path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read tokenizer file (${(e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: invalid JSON (${(e as Error).message})`);
  }
  const root = obj(json);
  if (!root) throw new Error(`${path}: expected a JSON object`);
  return root;
}
