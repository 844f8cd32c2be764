import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  linearFit,
  mean,
  meanCI95,
  quantile,
  std,
  tCdf,
  tQuantile,
  variance,
  interpolate,
} from '../../src/math/stats.js';

test('Student-t quantiles match tables', () => {
  const table: [number, number, number][] = [
    [0.975, 1, 12.706204736],
    [0.975, 4, 2.776445105],
    [0.975, 9, 2.262157163],
    [0.975, 29, 2.045229642],
    [0.95, 10, 1.812461123],
    [0.995, 5, 4.032142984],
    [0.975, 1e7, 1.959964],
  ];
  for (const [p, nu, t] of table)
    assert.ok(Math.abs(tQuantile(p, nu) - t) < 2e-6, `t_{${p},${nu}} = ${tQuantile(p, nu)}, table ${t}`);
  assert.ok(Math.abs(tQuantile(0.025, 4) + 2.776445105) < 1e-8);
  assert.equal(tQuantile(0.5, 3), 0);
});

test('t CDF: symmetry and a closed form (ν = 1 is Cauchy, ν = 2 has a closed form)', () => {
  for (const t of [-3, -0.5, 0, 0.7, 4]) {
    assert.ok(Math.abs(tCdf(t, 1) - (0.5 + Math.atan(t) / Math.PI)) < 1e-13);
    assert.ok(Math.abs(tCdf(t, 2) - (0.5 + t / (2 * Math.sqrt(2 + t * t)))) < 1e-13);
    assert.ok(Math.abs(tCdf(-t, 7) - (1 - tCdf(t, 7))) < 1e-14);
  }
});

test('mean, variance, std', () => {
  assert.equal(mean([1, 2, 3, 4, 5]), 3);
  assert.equal(variance([1, 2, 3, 4, 5]), 2.5);
  assert.equal(std([2, 4, 4, 4, 5, 5, 7, 9]), Math.sqrt(32 / 7));
  assert.ok(Number.isNaN(variance([1])));
});

test('95% CI of a known sample', () => {
  const ci = meanCI95([1, 2, 3, 4, 5]);
  // se = √2.5/√5 = √0.5; half-width = t_{0.975,4}·√0.5 = 2.776445105·0.70710678
  assert.equal(ci.mean, 3);
  assert.equal(ci.n, 5);
  assert.ok(Math.abs(ci.halfWidth - 1.963243) < 1e-6, String(ci.halfWidth));
  assert.ok(Math.abs(ci.lo - (3 - 1.963243)) < 1e-6 && Math.abs(ci.hi - (3 + 1.963243)) < 1e-6);
  const one = meanCI95([4]);
  assert.equal(one.mean, 4);
  assert.equal(one.halfWidth, Infinity);
});

test('quantile interpolates like numpy (type 7)', () => {
  assert.equal(quantile([4, 1, 3, 2], 0.5), 2.5);
  assert.equal(quantile([4, 1, 3, 2], 0.25), 1.75);
  assert.equal(quantile([4, 1, 3, 2], 0), 1);
  assert.equal(quantile([4, 1, 3, 2], 1), 4);
  assert.equal(quantile([10, 20, 30, 40, 50], 0.9), 46);
});

test('linearFit: exact line and a log-log power law', () => {
  const f = linearFit([0, 1, 2, 3], [1, 3, 5, 7]);
  assert.ok(Math.abs(f.slope - 2) < 1e-14 && Math.abs(f.intercept - 1) < 1e-14 && Math.abs(f.r2 - 1) < 1e-14);
  const ns = [100, 400, 1600, 6400];
  const ys = ns.map((n) => 3 * n ** -0.5);
  const g = linearFit(ns.map(Math.log), ys.map(Math.log));
  assert.ok(Math.abs(g.slope + 0.5) < 1e-12, String(g.slope));
  assert.ok(Math.abs(Math.exp(g.intercept) - 3) < 1e-10);
  const noisy = linearFit([1, 2, 3, 4], [1, 3, 2, 4]);
  assert.ok(noisy.r2 > 0 && noisy.r2 < 1);
});

test('interpolate: linear between points, null outside the range, first y at repeated x', () => {
  const pts = [
    { kl: 0, r: 1 },
    { kl: 2, r: 3 },
    { kl: 2, r: 10 },
    { kl: 4, r: 0 },
  ];
  const at = (x: number) =>
    interpolate(
      pts,
      x,
      (p) => p.kl,
      (p) => p.r,
    );
  assert.equal(at(1), 2);
  assert.equal(at(2), 3);
  assert.equal(at(3), 5);
  assert.equal(at(4), 0);
  assert.equal(at(-0.1), null);
  assert.equal(at(4.1), null);
  assert.equal(at(NaN), null);
});
