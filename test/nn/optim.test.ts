import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOptimizer, OPTIMIZER_DEFAULTS, resolveOptimizerOptions } from '../../src/nn/optim.js';
import { GPT } from '../../src/nn/model.js';
import { DPO_OPTIMIZER } from '../../src/pref/dpo.js';
import { RM_OPTIMIZER } from '../../src/pref/reward-model.js';
import { SFT_DEFAULTS, sftWarmup } from '../../src/nn/sft.js';
import { TINY } from './helpers.js';

test('one optimizer-options type: caller > trainer defaults > library defaults; warmup 10% by default', () => {
  const r = resolveOptimizerOptions({ lr: 0.01 }, 200, DPO_OPTIMIZER);
  assert.deepEqual(r, { ...OPTIMIZER_DEFAULTS, lr: 0.01, weightDecay: 0, warmupSteps: 20 });
  assert.equal(resolveOptimizerOptions({}, 50, RM_OPTIMIZER).lr, 1e-3);
  assert.equal(resolveOptimizerOptions({}, 50, DPO_OPTIMIZER).lr, 5e-4);
  const sft = resolveOptimizerOptions({}, 3000, { ...SFT_DEFAULTS, warmupSteps: sftWarmup(3000) });
  assert.deepEqual([sft.lr, sft.warmupSteps, sft.weightDecay, sft.beta2], [2e-3, 100, 0.1, 0.99]);
  const o = createOptimizer(new GPT(TINY, 1), { gradClip: 0.5 }, 40);
  assert.deepEqual(o.schedule, { lr: 1e-3, warmupSteps: 4, totalSteps: 40, minLrRatio: 0.1 });
  assert.deepEqual([o.gradClip, o.adamw.beta2, o.adamw.weightDecay], [0.5, 0.99, 0.1]);
});

test('optimizer options are validated, naming the option and the value', () => {
  const bad: [object, RegExp][] = [
    [{ lr: 0 }, /optimizer option lr: expected a finite number > 0, got 0/],
    [{ lr: NaN }, /lr: .* got NaN/],
    [{ beta2: 1 }, /beta2: expected a number in \[0, 1\), got 1/],
    [{ weightDecay: -0.1 }, /weightDecay: expected a finite number ≥ 0, got -0\.1/],
    [{ warmupSteps: 2.5 }, /warmupSteps: expected an integer ≥ 0, got 2\.5/],
    [{ minLrRatio: 2 }, /minLrRatio: expected a number in \[0, 1\], got 2/],
    [{ gradClip: -1 }, /gradClip: expected a finite number ≥ 0 \(0 = off\), got -1/],
  ];
  for (const [opts, re] of bad) assert.throws(() => resolveOptimizerOptions(opts, 10), re);
});
