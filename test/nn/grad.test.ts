import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/math/rng.js';
import { TINY, fdCheck, randomBatch, randomModel } from './helpers.js';

test('LM loss gradient matches finite differences (every tensor)', () => {
  const model = randomModel(TINY, 1);
  const rng = new Rng(2);
  const batch = randomBatch(rng, 3, 8, 13, 2);
  model.zeroGrad();
  model.lmLoss(batch);
  model.backwardLmLoss();
  const g = model.grads.slice();
  const r = fdCheck(model, g, () => model.lmLoss(batch), rng);
  console.log(`lm loss: checked ${r.checked}, worst ${r.worst.toFixed(3)}`);
  assert.deepEqual(r.failures, []);
});
