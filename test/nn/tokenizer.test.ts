import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { BPETokenizer, ByteTokenizer, incompleteUtf8Tail } from '../../src/nn/tokenizer.js';

const FIXTURE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../test/nn/fixtures/tiny-bpe-tokenizer.json',
);

test('byte tokenizer round-trips UTF-8 (accents, CJK, emoji, control chars)', () => {
  const t = new ByteTokenizer();
  for (const s of [
    '',
    'hello',
    'héllo wörld',
    '日本語のテキスト',
    'emoji 🙂👍🏽 ok',
    'tab\tnew\nline\u0000nul',
    'Review of mug: Awful.',
  ]) {
    const ids = t.encode(s);
    assert.ok(ids.every((i) => i >= 0 && i < 256));
    assert.equal(ids.length, Buffer.byteLength(s, 'utf8'));
    assert.equal(t.decode(ids), s);
    assert.equal(t.decode([t.bos, ...ids, t.eos, t.pad, t.pad]), s, 'specials are dropped');
  }
  assert.equal(t.vocabSize, 259);
  assert.deepEqual([t.bos, t.eos, t.pad], [256, 257, 258]);
  // a cut multi-byte character decodes to U+FFFD instead of throwing
  const cut = t.encode('🙂').slice(0, 2);
  assert.equal(t.decode(cut), '\uFFFD');
});

test('BPE tokenizer.json loader: merges applied by rank, added tokens, byte-level round trip', () => {
  const t = BPETokenizer.fromFile(FIXTURE);
  assert.equal(t.vocabSize, 269);
  assert.equal(t.eos, 268);
  assert.equal(t.bos, 268); // GPT-2 style: <|endoftext|> plays every role
  assert.deepEqual(t.encode('hello world'), [259, 264]);
  // rank order matters: (h, e) has rank 0, so ' the' becomes Ġt + he and the later (Ġt, h) never applies
  assert.deepEqual(t.encode('hello the world!'), [259, 265, 256, 264, 33]);
  assert.deepEqual(t.encode('hold'), [104, 111, 263]); // only the (l, d) merge applies
  assert.deepEqual(t.encode('hello<|endoftext|>x'), [259, 268, 120]);
  for (const s of ['hello world', 'héllo wörld 🙂', '  spaced   out\n', 'x']) {
    assert.equal(t.decode(t.encode(s)), s);
  }
  assert.equal(t.decode([259, 268, 264]), 'hello world', 'special tokens are dropped on decode');
});

test('BPE loader accepts [a, b] merge pairs and rejects unsupported files with field names', () => {
  const json = JSON.parse(readFileSync(FIXTURE, 'utf8')) as {
    model: { merges: unknown[]; type: string };
    pre_tokenizer: unknown;
  };
  const pairs = {
    ...json,
    model: { ...json.model, merges: (json.model.merges as string[]).map((m) => m.split(' ')) },
  };
  assert.deepEqual(new BPETokenizer(pairs, 'pairs.json').encode('hello world'), [259, 264]);
  assert.throws(
    () => new BPETokenizer({ ...json, model: { ...json.model, type: 'WordPiece' } }, 'x.json'),
    /x\.json: model\.type: model "WordPiece" is not supported/,
  );
  assert.throws(
    () => new BPETokenizer({ ...json, pre_tokenizer: { type: 'Whitespace' } }, 'x.json'),
    /x\.json: pre_tokenizer\.type: pre-tokenizer "Whitespace" is not supported/,
  );
  assert.throws(
    () => new BPETokenizer({ ...json, model: { ...json.model, merges: [42] } }, 'x.json'),
    /x\.json: model\.merges\[0\]/,
  );
  assert.throws(
    () => BPETokenizer.fromFile('/nonexistent/tokenizer.json'),
    /nonexistent\/tokenizer\.json: cannot read/,
  );
});

test('incompleteUtf8Tail: counts the bytes of a UTF-8 sequence cut off at the end', () => {
  assert.equal(incompleteUtf8Tail([0x61]), 0);
  assert.equal(incompleteUtf8Tail([0x61, 0xe2, 0x82]), 2); // € = e2 82 ac, cut after 2 bytes
  assert.equal(incompleteUtf8Tail([0xe2, 0x82, 0xac]), 0);
  assert.equal(incompleteUtf8Tail([0xf0, 0x9f, 0x98]), 3); // 😀 = f0 9f 98 80
  assert.equal(incompleteUtf8Tail([0xc3]), 1);
  assert.equal(incompleteUtf8Tail([0x80]), 0); // a lone continuation byte is invalid, not cut: it stays U+FFFD
  assert.equal(incompleteUtf8Tail([0x61, 0xff]), 0);
  assert.equal(incompleteUtf8Tail([]), 0);
});

test('ByteTokenizer.decode(ids, cutTail): a sample cut mid-character ends cleanly, invalid bytes stay visible', () => {
  const tok = new ByteTokenizer();
  const cut = [...tok.encode('café €'), 0xe2, 0x82]; // the model's last two bytes start another €
  assert.equal(tok.decode(cut), 'café €\uFFFD');
  assert.equal(tok.decode(cut, true), 'café €');
  assert.equal(tok.decode([0x61, 0xff, 0x62], true), 'a\uFFFDb');
});
