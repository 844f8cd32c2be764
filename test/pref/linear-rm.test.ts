import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LinearRewardModel,
  WordFeatures,
  agreement,
  mostUncertainPair,
  textWords,
  vocabularyShare,
} from '../../src/pref/linear-rm.js';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('WordFeatures: vocabulary by count, counts per word, one OOV counter', () => {
  const f = WordFeatures.fromTexts(['Good good. Bad!', 'good day'], 1);
  assert.deepEqual(f.vocab, ['good', 'bad', 'day']);
  assert.equal(f.d, 4);
  assert.deepEqual(Array.from(f.phi('GOOD, good zzz day')), [2, 0, 1, 1]);
  assert.deepEqual(WordFeatures.fromTexts(['a a b'], 2).vocab, ['a']);
  assert.deepEqual(textWords("Don't 2x"), ['don', 't', 'x']);
  close(vocabularyShare(f, ['good zzz', 'bad qq']), 0.5);
});

test('LinearRewardModel.fit: one pair, closed form of the ridge BT-MLE and of Σ', () => {
  // Δφ = (1, −1, 0, 0) for "good" ≻ "bad". θ = t·Δφ/2·... : the minimiser of softplus(−θ·Δφ) + λ/2‖θ‖²
  // lies along Δφ: θ = c·Δφ with ‖Δφ‖² = 2, so c solves σ(−2c)·2 = λ·2c·… → 2σ(−2c) = 2λc.
  const f = new WordFeatures(['good', 'bad']);
  const lambda = 1;
  const m = LinearRewardModel.fit(f, [{ chosen: 'good', rejected: 'bad' }], lambda);
  const c = m.theta[0];
  close(m.theta[1], -c);
  close(m.theta[2], 0);
  // Stationarity: ∂/∂θ0 [softplus(−2c)] = −σ(−2c) and λθ0 = c → σ(−2c) = c.
  close(1 / (1 + Math.exp(2 * c)), c, 1e-8);
  close(m.score('good good') - m.score('bad'), 3 * c, 1e-12);
  // Σ = I + ΔφΔφᵀ; for v = Δφ: vᵀΣ⁻¹v = 2/(1+2) (Sherman–Morrison), so ‖φ(good) − φ(bad)‖ = √(2/3).
  close(m.pairUncertainty('good', 'bad'), Math.sqrt(2 / 3));
  // Unseen direction (OOV): Σ⁻¹ = 1 there.
  close(m.gamma('zzz'), 1);
});

test('mostUncertainPair: picks the pair whose difference the data covers least; slot a = higher score', () => {
  const f = new WordFeatures(['good', 'bad', 'great']);
  const pairs = Array.from({ length: 20 }, () => ({ chosen: 'good', rejected: 'bad' }));
  const m = LinearRewardModel.fit(f, pairs, 1);
  // good–bad is well covered; "great" was never seen, so pairs with it are the uncertain ones.
  const p = mostUncertainPair(m, ['good', 'bad', 'great']);
  assert.ok(p);
  assert.ok(p.i === 2 || p.j === 2, `picked ${p.i},${p.j}`);
  assert.ok(m.score(['good', 'bad', 'great'][p.i]) >= m.score(['good', 'bad', 'great'][p.j]));
  assert.equal(mostUncertainPair(m, ['same', 'same']), null);
});

test('agreement: share of non-tied pairs ordered like r*; a zero margin is a miss', () => {
  const pairs = [
    { a: 'x', b: 'y', goldA: 1, goldB: 0 },
    { a: 'y', b: 'x', goldA: 0, goldB: 1 },
    { a: 'x', b: 'x', goldA: 1, goldB: 1 },
    { a: 'y', b: 'z', goldA: 0, goldB: 2 },
  ];
  const score = (t: string): number => (t === 'x' ? 1 : 0);
  // pair 0 and 1 right, pair 2 an r* tie (skipped), pair 3 scored equal (miss): 2 of 3
  const r = agreement(pairs, (i) => score(pairs[i].a) - score(pairs[i].b));
  assert.equal(r.pairs, 3);
  close(r.agreement, 2 / 3);
});
