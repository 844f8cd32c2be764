import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  fastExp,
  incompleteBeta,
  logNormalizeInPlace,
  logGamma,
  logSigmoid,
  logSumExp,
  sigmoid,
  softplus,
} from '../../src/math/special.js';

function close(actual: number, expected: number, rel = 1e-14, abs = 0): void {
  const tol = Math.max(abs, rel * Math.abs(expected));
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `expected ${expected}, got ${actual} (|diff| = ${Math.abs(actual - expected)})`,
  );
}

test('logSumExp at ±800 matches closed forms (no overflow/underflow)', () => {
  close(logSumExp([800, 800]), 800 + Math.LN2);
  close(logSumExp([-800, -800]), -800 + Math.LN2);
  close(logSumExp([800, -800]), 800); // e^{-1600} is far below rounding
  close(logSumExp([1000, 999]), 1000 + Math.log1p(Math.exp(-1))); // naive exp(1000) = Infinity
  close(logSumExp([0, Math.log(2), Math.log(3)]), Math.log(6));
});

test('logSumExp handles -Infinity entries, empty sums and offsets', () => {
  assert.equal(logSumExp([-Infinity, 0]), 0);
  assert.equal(logSumExp([-Infinity, -Infinity]), -Infinity);
  assert.equal(logSumExp([]), -Infinity);
  assert.equal(logSumExp([1, Infinity]), Infinity);
  // offset/len select a slice: log(e^1 + e^2)
  close(logSumExp([50, 1, 2, 90], 1, 2), Math.log(Math.E + Math.E ** 2));
});

test('softplus at extreme values', () => {
  close(softplus(800), 800);
  close(softplus(1000), 1000);
  assert.equal(softplus(-800), 0); // e^{-800} underflows; log1p keeps it exact (no -0/NaN)
  close(softplus(-700), Math.exp(-700), 1e-13); // representable: relative accuracy, not just absolute
  close(softplus(0), Math.LN2);
  close(softplus(30), 30 + Math.exp(-30), 1e-15);
  close(softplus(-30), Math.exp(-30) - Math.exp(-60) / 2, 1e-14);
});

test('logSigmoid(z) = −softplus(−z) and its limits', () => {
  close(logSigmoid(-800), -800);
  close(logSigmoid(-1000), -1000);
  assert.ok(logSigmoid(800) === 0); // −0 is fine
  close(logSigmoid(700), -Math.exp(-700), 1e-13);
  close(logSigmoid(0), -Math.LN2);
  for (const z of [-50, -3.3, -1e-9, 0, 2.5, 17, 600]) close(logSigmoid(z), -softplus(-z), 1e-15, 1e-300);
});

test('sigmoid symmetry σ(−z) = 1 − σ(z) and extremes', () => {
  for (const z of [0, 1e-12, 0.3, 1, 5, 20, 36]) {
    // σ(z) + σ(−z) = 1 to one ulp, and the small side keeps full relative accuracy.
    assert.ok(Math.abs(sigmoid(z) + sigmoid(-z) - 1) <= 2.3e-16, `z = ${z}`);
    close(sigmoid(-z), Math.exp(-z) / (1 + Math.exp(-z)), 1e-15);
  }
  assert.equal(sigmoid(0), 0.5);
  assert.equal(sigmoid(800), 1);
  assert.equal(sigmoid(-800), 0);
  close(sigmoid(-700), Math.exp(-700), 1e-13); // computed as e^z/(1+e^z), no catastrophic 1 − 1
  for (const z of [-1000, 1000]) assert.ok(Number.isFinite(sigmoid(z)) && Number.isFinite(logSigmoid(z)));
  close(Math.log(sigmoid(-40)), logSigmoid(-40), 1e-14);
});

test('logGamma and the incomplete beta at known values', () => {
  close(logGamma(5), Math.log(24), 1e-14);
  close(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-14);
  close(logGamma(100), 359.1342053695754, 1e-14);
  close(incompleteBeta(0.5, 3, 3), 0.5, 1e-14);
  // I_x(1, b) = 1 − (1 − x)^b
  close(incompleteBeta(0.3, 1, 4), 1 - 0.7 ** 4, 1e-13);
  close(incompleteBeta(0.9, 1, 4), 1 - 0.1 ** 4, 1e-13);
});

test('logNormalizeInPlace normalises a slice and returns the log normaliser', () => {
  const x = Float64Array.from([9, 800, 801, 9]);
  const z = logNormalizeInPlace(x, 1, 2);
  close(z, 801 + Math.log1p(Math.exp(-1)));
  close(Math.exp(x[1]) + Math.exp(x[2]), 1, 1e-13); // ulp(800) ≈ 1e-13 limits this
  assert.equal(x[0], 9);
  assert.equal(x[3], 9);
  assert.throws(() => logNormalizeInPlace(Float64Array.from([-Infinity, -Infinity])), /log normaliser/);
});

test('fastExp matches Math.exp to a few ulp and defers outside (−708, 709)', () => {
  let worst = 0;
  for (let i = 0; i <= 200000; i++) {
    const x = -708 + (i / 200000) * 1416.9;
    const e = Math.abs(fastExp(x) / Math.exp(x) - 1);
    if (e > worst) worst = e;
  }
  for (let i = -2000; i <= 2000; i++) {
    const x = i * 1e-3;
    worst = Math.max(worst, Math.abs(fastExp(x) / Math.exp(x) - 1));
  }
  assert.ok(worst <= 1e-15, `max relative error ${worst}`);
  assert.equal(fastExp(0), 1);
  assert.equal(fastExp(-Infinity), 0);
  assert.equal(fastExp(Infinity), Infinity);
  assert.ok(Number.isNaN(fastExp(NaN)));
  assert.equal(fastExp(-720), Math.exp(-720));
  assert.equal(fastExp(710), Math.exp(710));
});
