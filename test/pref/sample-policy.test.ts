/** samplePolicy: the pipeline's sampler over the engine (regression: an empty prompt part). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT } from '../../src/nn/model.js';
import { ByteTokenizer } from '../../src/nn/tokenizer.js';
import { samplePolicy, type Ctx } from '../../src/pref/methods/common.js';

// samplePolicy reads only the tokenizer and the sampling settings of its context.
function ctxOf(tok: ByteTokenizer): Ctx {
  return { tok, cfg: { sampling: { temperature: 1, maxTokens: 4 } } } as unknown as Ctx;
}

test('samplePolicy: no prompts → no samples (fair accounting can leave the seed part empty)', () => {
  const tok = new ByteTokenizer();
  const gpt = new GPT({ vocabSize: tok.vocabSize, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 8 }, 1);
  assert.deepEqual(samplePolicy(ctxOf(tok), gpt, [], 2, 'seed0/pool/seed'), []);
});

test('samplePolicy: n samples per prompt, at most maxTokens each, the same under the same seed', () => {
  const tok = new ByteTokenizer();
  const gpt = new GPT({ vocabSize: tok.vocabSize, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 8 }, 1);
  const a = samplePolicy(ctxOf(tok), gpt, ['Hi', 'Yo'], 2, 's');
  const b = samplePolicy(ctxOf(tok), gpt, ['Hi', 'Yo'], 2, 's');
  assert.equal(a.length, 2);
  for (const row of a) {
    assert.equal(row.length, 2);
    for (const r of row) assert.ok(r.tokens.length >= 1 && r.tokens.length <= 4);
  }
  assert.deepEqual(
    a.map((row) => row.map((r) => r.text)),
    b.map((row) => row.map((r) => r.text)),
  );
});
