import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trainBpe } from '../../src/nn/bpe-train.js';
import { BPETokenizer } from '../../src/nn/tokenizer.js';

test('trainBpe: merges the most frequent pair first; the loader round-trips text', () => {
  // Words " good" ×3 and " goal" ×1 (space = Ġ). Pair counts: Ġg 4, go 4, oo 3, od 3, oa 1, al 1.
  // Tie at 4 → the lexicographically smaller key: "g o" (g < Ġ). Then Ġ+go 4. Then "go o" 3 and
  // "o d" 3 tie → "o d" (o < Ġ, the first symbol of "Ġgo o").
  const json = trainBpe([' good good good', ' goal'], { vocabSize: 256 + 3 + 3 });
  const model = json.model as { merges: string[]; vocab: Record<string, number> };
  assert.deepEqual(model.merges, ['g o', 'Ġ go', 'o d']);
  assert.equal(model.vocab['od'], 258);
  const tok = new BPETokenizer(json, 'mem.json');
  assert.equal(tok.vocabSize, 262);
  assert.deepEqual(tok.encode('good'), [256, 258]);
  assert.deepEqual(tok.encode(' good'), [257, 258]);
  for (const t of [' good goal', 'Héllo, wörld!', '']) assert.equal(tok.decode(tok.encode(t)), t);
  assert.equal(tok.eos, 259);
  assert.equal(tok.bos, 260);
  assert.equal(tok.pad, 261);
});

test('trainBpe: stops at minFrequency and rejects a vocabulary below bytes + specials', () => {
  const json = trainBpe(['ab'], { vocabSize: 300 });
  assert.deepEqual((json.model as { merges: string[] }).merges, []);
  assert.throws(() => trainBpe(['x'], { vocabSize: 100 }), /vocabSize must be an integer ≥ 259/);
});
