/**
 * When the native addon is built, its kernels must agree with the pure-TS path (float32 rounding
 * differences only). Skipped when the addon is missing or GSHF_NO_NATIVE=1, unless
 * GSHF_EXPECT_NATIVE=1 (scripts/test.sh sets it when the addon was built): then it fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/math/rng.js';
import { loadNativeAddon, withBackend } from '../../src/native/index.js';
import { generate } from '../../src/nn/sample.js';
import { randomBatch, randomModel } from './helpers.js';

const available = process.env.GSHF_NO_NATIVE !== '1' && loadNativeAddon() !== null;
const expected = process.env.GSHF_EXPECT_NATIVE === '1';

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(a[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  return diff / (scale || 1);
}

// T = 16 runs the native attention in 2 causal row blocks; T = 67 in 4 uneven ones (16, 17, 16, 18
// rows) with 3 heads, T = 9 in one.
for (const [T, nHead, nEmbd] of [
  [16, 4, 32],
  [67, 3, 24],
  [9, 2, 16],
] as const)
  test(
    `native kernels match the TS path: loss, logits and every gradient (T = ${T}, ${nHead} heads)`,
    { skip: !available && !expected && 'native addon not available' },
    () => {
      assert.ok(available, 'GSHF_EXPECT_NATIVE=1 but the native addon is not available');
      const cfg = { vocabSize: 50, blockSize: T, nLayer: 2, nHead, nEmbd };
      const model = randomModel(cfg, 5);
      const batch = randomBatch(new Rng(6), 5, T, 50, 3);
      const run = (useNative: boolean): { loss: number; logits: Float32Array; grads: Float32Array } => {
        return withBackend(useNative ? 'native' : 'ts', () => {
          model.zeroGrad();
          const loss = model.lmLoss(batch);
          const logits = model.forwardLogits(batch.tokens, batch.B, batch.T).slice();
          model.lmLoss(batch);
          model.backwardLmLoss();
          return { loss, logits, grads: model.grads.slice() };
        });
      };
      {
        const ts = run(false);
        const nat = run(true);
        assert.ok(Math.abs(ts.loss - nat.loss) < 1e-5 * Math.abs(ts.loss), `loss ${ts.loss} vs ${nat.loss}`);
        assert.ok(maxRelDiff(ts.logits, nat.logits) < 1e-5, 'logits');
        for (const t of model.tensors) {
          const d = maxRelDiff(
            ts.grads.subarray(t.offset, t.offset + t.size),
            nat.grads.subarray(t.offset, t.offset + t.size),
          );
          assert.ok(d < 1e-4, `${t.name}: max rel diff ${d}`);
        }
        // KV-cache sampling agrees with the no-cache path under native kernels too (greedy)
        const a = generate(model, [[1, 2, 3]], { temperature: 0, seed: 1 });
        const b = generate(model, [[1, 2, 3]], { temperature: 0, seed: 1, kvCache: false });
        assert.deepEqual(a, b);
      }
    },
  );
