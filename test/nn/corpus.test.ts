import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import {
  BUILTIN_CORPUS_SIZE,
  builtinCorpusPath,
  corpusToJsonl,
  generateReviewCorpus,
} from '../../src/nn/corpus.js';
import { readExamples } from '../../src/nn/data.js';
import { ByteTokenizer } from '../../src/nn/tokenizer.js';

test('the committed corpus is exactly the seeded generator output and well under 10 MB', () => {
  const path = builtinCorpusPath();
  assert.ok(statSync(path).size < 10 * 1024 * 1024);
  assert.equal(readFileSync(path, 'utf8'), corpusToJsonl(generateReviewCorpus(BUILTIN_CORPUS_SIZE)));
  assert.equal(readExamples(path).length, BUILTIN_CORPUS_SIZE);
});

test('corpus spans sentiment levels and styles; most examples fit the default 64-token context', () => {
  const c = generateReviewCorpus(5000, 'x');
  const levels = new Map<number, number>();
  const styles = new Map<string, number>();
  for (const e of c) {
    levels.set(e.sentiment, (levels.get(e.sentiment) ?? 0) + 1);
    styles.set(e.style, (styles.get(e.style) ?? 0) + 1);
    assert.match(e.prompt, /^Review of [a-z ]+:$/);
  }
  assert.deepEqual([...levels.keys()].sort(), [-1, -2, 0, 1, 2]);
  for (const n of levels.values()) assert.ok(n > 800);
  assert.equal(styles.size, 6);
  const tok = new ByteTokenizer();
  const fits = c.filter((e) => 2 + tok.encode(e.prompt + e.response).length <= 64).length;
  assert.ok(fits / c.length > 0.9, `fit fraction ${fits / c.length}`);
  // the sentiment words are there: very negative reviews mention e.g. awful/terrible/hate…
  const neg = c.filter((e) => e.sentiment === -2 && e.style === 'plain').map((e) => e.response.toLowerCase());
  assert.ok(
    neg.every((r) =>
      /awful|terrible|worst|hate|horrible|garbage|useless|broken|disgusting|disaster|pathetic/.test(r),
    ),
  );
  assert.deepEqual(generateReviewCorpus(50, 'x'), c.slice(0, 50), 'deterministic');
});
