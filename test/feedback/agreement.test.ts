import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cohenKappa, fleissKappa, majorityVerdict, pairwiseAgreement } from '../../src/feedback/agreement.js';

const close = (x: number, y: number, tol = 1e-12) => assert.ok(Math.abs(x - y) <= tol, `${x} vs ${y}`);

test('pairwise agreement: hand-computed pooled fraction of agreeing pairs', () => {
  // Item 1: a a b → pairs (a,a) agree, (a,b) ×2 disagree → 1 of 3. Item 2: b b → 1 of 1. Item 3: one label, ignored.
  const r = pairwiseAgreement([['a', 'a', 'b'], ['b', 'b'], ['a']]);
  assert.equal(r.pairs, 4);
  close(r.agreement, 2 / 4);
  assert.ok(Number.isNaN(pairwiseAgreement([['a']]).agreement));
});

test("Cohen's kappa: 2×2 table by hand", () => {
  // yes/yes 20, yes/no 5, no/yes 10, no/no 15 (n = 50): po = 35/50 = 0.7;
  // rater 1 yes 25/50, rater 2 yes 30/50: pe = 0.5·0.6 + 0.5·0.4 = 0.5; κ = (0.7 − 0.5)/0.5 = 0.4.
  const pairs: [string, string][] = [
    ...Array.from({ length: 20 }, (): [string, string] => ['y', 'y']),
    ...Array.from({ length: 5 }, (): [string, string] => ['y', 'n']),
    ...Array.from({ length: 10 }, (): [string, string] => ['n', 'y']),
    ...Array.from({ length: 15 }, (): [string, string] => ['n', 'n']),
  ];
  close(cohenKappa(pairs), 0.4);
  close(
    cohenKappa([
      ['a', 'a'],
      ['b', 'b'],
    ]),
    1,
  ); // po = 1, pe = 1/2
  assert.ok(
    Number.isNaN(
      cohenKappa([
        ['a', 'a'],
        ['a', 'a'],
      ]),
    ),
  ); // pe = 1: undefined
});

test("Fleiss' kappa: small case by hand", () => {
  // 3 items, 3 raters. Item labels: [a a a], [a a b], [b b b].
  // P_i = Σ n_ic(n_ic−1)/(3·2): 1, (2·1)/6 = 1/3, 1 → P̄ = 7/9.
  // p_a = (3+2+0)/9 = 5/9, p_b = 4/9 → P̄e = 25/81 + 16/81 = 41/81.
  // κ = (7/9 − 41/81)/(1 − 41/81) = (63/81 − 41/81)/(40/81) = 22/40 = 0.55.
  close(
    fleissKappa([
      ['a', 'a', 'a'],
      ['a', 'a', 'b'],
      ['b', 'b', 'b'],
    ]),
    0.55,
  );
  // With two raters Fleiss' P̄ is po, and P̄e uses pooled marginals: [a a], [a b] → po = 1/2,
  // p_a = 3/4, p_b = 1/4 → P̄e = 10/16; κ = (1/2 − 5/8)/(3/8) = −1/3.
  close(
    fleissKappa([
      ['a', 'a'],
      ['a', 'b'],
    ]),
    -1 / 3,
  );
  assert.throws(() => fleissKappa([['a', 'a'], ['a']]), /same number/);
});

test('majority verdict: plurality, split top count → tie, no votes → undefined', () => {
  assert.equal(majorityVerdict({ a: 2, b: 1, tie: 0, 'both-bad': 0 }), 'a');
  assert.equal(majorityVerdict({ a: 0, b: 1, tie: 0, 'both-bad': 0 }), 'b');
  assert.equal(majorityVerdict({ a: 1, b: 1, tie: 0, 'both-bad': 1 }), 'tie');
  assert.equal(majorityVerdict({ a: 0, b: 0, tie: 0, 'both-bad': 2 }), 'both-bad');
  assert.equal(majorityVerdict({ a: 0, b: 0, tie: 0, 'both-bad': 0 }), undefined);
});
