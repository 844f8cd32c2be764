import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KL_WARN_NATS, loopWarnings } from '../../src/loop/report.js';
import type { LoopMetrics } from '../../src/loop/run-folder.js';

const row = (iteration: number, kl: number | null, gold: number | null): LoopMetrics => ({
  iteration,
  policy: `it${iteration}`,
  labels_used: iteration * 8,
  budget: 100,
  selection: null,
  rm_sample_mean: null,
  rm_best_of_n: null,
  train: null,
  refit: null,
  eval: { rm_reward: 0, kl, gold, length_chars: 10, length_tokens: 10 },
  budget_reached: false,
  timing: {},
});

test('loop warnings: KL up and gold down (the case once seen: KL 6.74, gold 0.081 → 0.063)', () => {
  const w = loopWarnings([row(0, 0, 0.081), row(1, 2.1, 0.09), row(2, 6.74, 0.063)]);
  assert.equal(w.length, 1);
  assert.match(w[0], /gold reward fell from 0\.081 \(π0\) to 0\.063 while KL\(π_t ‖ π0\) grew to 6\.74 nats/);
  assert.match(w[0], /best gold was 0\.09 at iteration 1/);
});

test('loop warnings: a large KL alone warns; a healthy run and a gold dip at small KL do not', () => {
  const far = loopWarnings([row(0, 0, null), row(1, KL_WARN_NATS + 1, null)]);
  assert.equal(far.length, 1);
  assert.match(far[0], /KL\(π_t ‖ π0\) reached 6 nats/);
  assert.deepEqual(loopWarnings([row(0, 0, 0.08), row(1, 0.9, 0.12), row(2, 1.6, 0.15)]), []);
  assert.deepEqual(loopWarnings([row(0, 0, 0.08), row(1, 0.4, 0.07)]), []); // gold noise near π0
  assert.deepEqual(loopWarnings([row(0, 0, 0.08)]), []);
});
