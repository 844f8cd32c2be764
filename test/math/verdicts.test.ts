import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  dominancePointwise,
  equivalence,
  fingerprint,
  fitDifferences,
  nonInferiority,
  noteStatus,
  pairedDifferences,
  seedsForHalfWidth,
  slopeAndLevel,
  superiority,
  trend,
  withinBounds,
} from '../../src/math/verdicts.js';

// For xs = [m−1, m, m+1] (n = 3): sd = 1, half-width = t_{0.975,2}/√3 = 4.302653/1.732051 = 2.484138.
const HW3 = 4.302652729749464 / Math.sqrt(3);
const around = (m: number): number[] => [m - 1, m, m + 1];
const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('superiority: supported above 0, contradicted below 0, inconclusive across 0', () => {
  const s = superiority(around(3), 0.5);
  assert.equal(s.verdict, 'supported');
  close(s.lo, 3 - HW3);
  assert.equal(superiority(around(-3), 0.5).verdict, 'contradicted');
  assert.equal(superiority(around(0.5), 0.5).verdict, 'inconclusive');
  assert.equal(superiority([1], 0.5).verdict, 'no data');
});

test('superiority: equivalent when the whole interval lies inside ±margin, not when it pokes out', () => {
  // differences 0.1·around(0): interval 0 ± 0.2484; margin 0.3 contains it, margin 0.2 does not.
  const d = around(0).map((x) => 0.1 * x);
  assert.equal(superiority(d, 0.3).verdict, 'equivalent');
  assert.equal(superiority(d, 0.2).verdict, 'inconclusive');
  // A significant but tiny effect is "supported" (superiority is checked first).
  assert.equal(superiority([0.01, 0.011, 0.012, 0.0105], 0.3).verdict, 'supported');
});

test('nonInferiority: lower end above −margin supports; upper end below −margin contradicts', () => {
  // interval −0.1 ± 0.2484 → [−0.348, 0.148]
  const d = around(-1).map((x) => 0.1 * x);
  assert.equal(nonInferiority(d, 0.4).verdict, 'supported');
  assert.equal(nonInferiority(d, 0.3).verdict, 'inconclusive');
  // interval −1 ± 0.2484 → [−1.248, −0.752]: worse by more than 0.5
  assert.equal(
    nonInferiority(
      around(-10).map((x) => 0.1 * x),
      0.5,
    ).verdict,
    'contradicted',
  );
  assert.throws(() => nonInferiority(d, -0.1), /margin/);
  assert.throws(() => nonInferiority(d, NaN), /margin/);
  // margin 0: the plain one-sided test (interval [−0.348, 0.148] straddles 0 → inconclusive).
  assert.equal(nonInferiority(d, 0).verdict, 'inconclusive');
  assert.equal(nonInferiority(around(3), 0).verdict, 'supported');
});

test('dominancePointwise: needs every point significantly above; one point significantly below contradicts', () => {
  const up = around(3);
  const flat = around(0).map((x) => 0.01 * x);
  const r = dominancePointwise([up, up], 0.1);
  assert.equal(r.verdict, 'supported');
  assert.equal(r.above, 2);
  assert.equal(dominancePointwise([up, around(0)], 0.1).verdict, 'inconclusive');
  assert.equal(dominancePointwise([up, around(-3)], 0.1).verdict, 'contradicted');
  assert.equal(dominancePointwise([flat, flat], 0.1).verdict, 'equivalent');
  assert.equal(dominancePointwise([[1]], 0.1).verdict, 'no data');
});

test('trend: per-seed least-squares slopes (hand-computed), not last minus first', () => {
  const x = [0, 1, 2, 3];
  // Seed slopes: y = 2x → 2; y = [0, 3, 3, 3] → slope 0.9; y = [1, 2, 4, 5] → 1.4
  const t = trend(
    x,
    [
      [0, 2, 4, 6],
      [0, 3, 3, 3],
      [1, 2, 4, 5],
    ],
    0.1,
  );
  close(t.slopes[0], 2);
  close(t.slopes[1], 0.9);
  close(t.slopes[2], 1.4);
  assert.equal(t.verdict, 'supported');
  // Growth in iteration 1 then flat: last − first is large, but the slope over iterations 1..3 is ~0.
  const flatAfter = trend(
    [1, 2, 3],
    [
      [5, 5.01, 4.99],
      [6, 6, 6.01],
      [4, 3.99, 4],
    ],
    0.1,
  );
  assert.equal(flatAfter.verdict, 'equivalent');
});

test('claim notes: a note pinned to a fingerprint is current until the numbers change', () => {
  const fp = fingerprint([0.463, -0.0974, 4]);
  assert.match(fp, /^[0-9a-f]{10}$/);
  // Rounding to 3 significant digits: noise below it keeps the note current.
  assert.equal(fingerprint([0.46301, -0.09741, 4]), fp);
  assert.notEqual(fingerprint([0.47, -0.0974, 4]), fp);
  assert.deepEqual(noteStatus({ text: 'ours', fingerprint: fp }, fp), { status: 'current', text: 'ours' });
  assert.equal(noteStatus({ text: 'ours', fingerprint: fp }, fingerprint([0.5, -0.1, 4])).status, 'stale');
  assert.equal(noteStatus('plain', fp).status, 'unpinned');
});

test('superiority with margin 0 never says equivalent', () => {
  const d = around(0).map((x) => 0.001 * x);
  assert.equal(superiority(d, 0).verdict, 'inconclusive');
  assert.equal(superiority(d, 0.01).verdict, 'equivalent');
});

test('equivalence (TOST on the 95% interval): one case of each outcome', () => {
  // 0.1·around(0): [−0.2484, 0.2484]
  const flat = around(0).map((x) => 0.1 * x);
  assert.equal(equivalence(flat, 0.3).verdict, 'supported');
  const j = equivalence(flat, 0.2);
  assert.equal(j.verdict, 'inconclusive');
  // Needs t_{0.975,n−1}·0.1/√n < 0.2: n = 3 gives 0.2484, n = 4 gives 3.182446·0.1/2 = 0.1591, so 4 seeds.
  assert.equal(j.seedsToDecide, 4);
  // 0.1·around(10): [0.7516, 1.2484], wholly beyond +0.5 → contradicted (the two differ).
  assert.equal(
    equivalence(
      around(10).map((x) => 0.1 * x),
      0.5,
    ).verdict,
    'contradicted',
  );
  assert.throws(() => equivalence(flat, 0), /margin > 0/);
  assert.equal(equivalence([1], 0.5).verdict, 'no data');
});

test('seedsForHalfWidth: smallest n with t_{0.975,n−1}·sd/√n below the target (hand-computed)', () => {
  // sd = 1, target 1: n = 6 gives 2.570582/√6 = 1.0494, n = 7 gives 2.446912/√7 = 0.9248.
  assert.equal(seedsForHalfWidth(1, 1), 7);
  // sd = 1, target 0.5: n = 18 gives 2.109816/√18 = 0.4973, n = 17 gives 2.119905/√17 = 0.5142.
  assert.equal(seedsForHalfWidth(1, 0.5), 18);
  assert.equal(seedsForHalfWidth(1, 0), Infinity);
  assert.equal(seedsForHalfWidth(0, 0.1), 2);
});

test('superiority: an inconclusive result says how many seeds would decide it', () => {
  // around(0.5): mean 0.5, sd 1, half-width 2.484 at n = 3; to exclude 0 it needs hw < 0.5 → 18 seeds
  // (see above); equivalence at margin 0.6 would need hw < 0.1, many more, so 18 is reported.
  const j = superiority(around(0.5), 0.6);
  assert.equal(j.verdict, 'inconclusive');
  assert.equal(j.seedsToDecide, 18);
  assert.equal(superiority(around(3), 0.6).seedsToDecide, undefined);
});

test('withinBounds: the absolute-bound rule (e.g. a rate exponent ≤ −0.5), each outcome', () => {
  // around(−3): [−5.484, −0.516]
  assert.equal(withinBounds(around(-3), { max: -0.5 }).verdict, 'supported');
  assert.equal(withinBounds(around(-3), { max: -1 }).verdict, 'inconclusive');
  assert.equal(withinBounds(around(3), { max: -0.5 }).verdict, 'contradicted');
  assert.equal(withinBounds(around(-3), { min: -2, max: -0.5 }).verdict, 'inconclusive');
  assert.equal(withinBounds(around(-3), { min: 0 }).verdict, 'contradicted');
});

test('fitDifferences: per-seed slope and level differences of least-squares lines (hand-computed)', () => {
  const x = [0, 1, 2];
  // y = 2x: slope 2, level at x = 1: 2. y = [1, 1, 1]: slope 0, level 1. y = [0, 0, 3]: slope 1.5,
  // intercept −0.5, level at 1: 1.
  assert.deepEqual(slopeAndLevel({ x, y: [0, 0, 3] }, 1), { slope: 1.5, level: 1 });
  const d = fitDifferences(
    [
      { x, y: [0, 2, 4] },
      { x, y: [0, 0, 3] },
      { x: [0], y: [5] },
    ],
    [
      { x, y: [1, 1, 1] },
      { x, y: [1, 1, 1] },
      { x, y: [1, 1, 1] },
    ],
    1,
  );
  assert.deepEqual(d.slope, [2, 1.5]);
  assert.deepEqual(d.level, [1, 0]);
  assert.throws(() => fitDifferences([{ x, y: x }], [], 0), /1 seeds vs 0/);
});

test('pairedDifferences: only seeds both hold, in seed order', () => {
  const a = new Map([
    [2, 5],
    [0, 1],
    [1, 3],
  ]);
  const b = new Map([
    [0, 0.5],
    [2, 1],
    [3, 9],
  ]);
  assert.deepEqual(pairedDifferences(a, b), [0.5, 4]);
});
