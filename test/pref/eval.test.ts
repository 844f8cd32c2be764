import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  describeScores,
  distinctN,
  evalSummary,
  goldRewardCI,
  klEstimate,
  meanLengthChars,
  meanLengthTokens,
  whitespaceTokens,
  winRate,
} from '../../src/pref/eval.js';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);
const sig = (z: number) => 1 / (1 + Math.exp(-z));

test('goldRewardCI: mean and t-interval (n=4, t_{0.975,3} = 3.182446)', () => {
  const ci = goldRewardCI([1, 2, 3, 4]);
  close(ci.mean, 2.5);
  // sd = sqrt(5/3); hw = 3.182446305284263 * sd / 2
  close(ci.halfWidth, (3.182446305284263 * Math.sqrt(5 / 3)) / 2, 1e-9);
});

test('klEstimate: k1 mean of log-ratios (may be negative), k3 = mean((ρ−1) − log ρ) ≥ 0', () => {
  const kl = klEstimate([-1, -2, -3], [-2, -2, -2.5]);
  // log π − log π0 = 1, 0, −0.5
  close(kl.k1, 0.5 / 3);
  const k3 = (Math.exp(-1) - 1 + 1 + 0 + (Math.exp(0.5) - 1 - 0.5)) / 3;
  close(kl.k3, k3);
  assert.equal(kl.n, 3);
  const neg = klEstimate([-3], [-1]);
  close(neg.k1, -2);
  assert.ok(neg.k3 > 0);
  close(neg.k3, Math.exp(2) - 1 - 2);
  close(klEstimate([-1, -2], [-1, -2]).k3, 0);
  assert.throws(() => klEstimate([1], []), /length mismatch/);
});

test('winRate: expected BT win probability, ties ½', () => {
  const w = winRate([1, 0, 2], [0, 0, 4], 1);
  close(w.mean, (sig(1) + 0.5 + sig(-2)) / 3);
  close(winRate([1, 0, 2], [0, 0, 4], 2).mean, (sig(0.5) + 0.5 + sig(-1)) / 3);
  close(winRate([1, 0, 2], [0, 0, 4], 0).mean, 0.5);
  assert.throws(() => winRate([1], [1, 2]), /length mismatch/);
});

test('distinct-n and lengths by hand', () => {
  const rs = ['good good  great', 'great good', ''];
  assert.deepEqual(whitespaceTokens(' a  b\tc\n'), ['a', 'b', 'c']);
  // unigrams: good good great great good → 5 total, 2 unique
  close(distinctN(rs, 1), 2 / 5);
  // bigrams: (good good) (good great) (great good) → 3 total, 3 unique
  close(distinctN(rs, 2), 1);
  close(distinctN(['a b a b'], 2), 2 / 3);
  assert.equal(distinctN([''], 1), 0);
  assert.equal(distinctN(['Good', 'good'], 1), 1); // case-sensitive
  close(meanLengthChars(['ab', 'abcd']), 3);
  close(meanLengthTokens(['ab', 'é']), 2); // UTF-8 bytes: 2 and 2
  close(meanLengthTokens(['ab', 'é'], [5, 7]), 6);
  assert.ok(Number.isNaN(meanLengthChars([])));
});

test('evalSummary: one row with every metric', () => {
  const row = evalSummary({
    responses: ['good good', 'bad'],
    gold: [1.2, -0.6],
    logpPolicy: [-2, -4],
    logpRef: [-3, -4],
    refGold: [0, -0.6],
  });
  assert.deepEqual(Object.keys(row).sort(), [
    'distinct_1',
    'distinct_2',
    'gold_reward',
    'gold_reward_ci',
    'kl',
    'kl_k3',
    'length_chars',
    'length_tokens',
    'n',
    'win_rate',
    'win_rate_ci',
  ]);
  close(row.gold_reward, 0.3);
  close(row.kl, 0.5);
  close(row.kl_k3, (Math.exp(-1) - 1 + 1) / 2);
  close(row.win_rate, (sig(1.2) + 0.5) / 2);
  close(row.length_chars, 6);
  close(row.length_tokens, 6);
  close(row.distinct_1, 2 / 3);
  close(row.distinct_2, 1);
  assert.equal(row.n, 2);
  assert.ok(row.gold_reward_ci > 0 && row.win_rate_ci > 0);
  assert.throws(
    () => evalSummary({ responses: ['a'], gold: [1, 2], logpPolicy: [0], logpRef: [0], refGold: [0] }),
    /1 responses but 2 values in "gold"/,
  );
});

test('describeScores: quantiles (type 7), mean, sd', () => {
  const d = describeScores([4, 1, 3, 2, 5]);
  assert.deepEqual(
    { n: d.n, min: d.min, q25: d.q25, median: d.median, q75: d.q75, max: d.max, mean: d.mean },
    { n: 5, min: 1, q25: 2, median: 3, q75: 4, max: 5, mean: 3 },
  );
  close(d.q05, 1.2);
  close(d.q95, 4.8);
  close(d.sd, Math.sqrt(2.5));
  assert.ok(Number.isNaN(describeScores([]).min));
});
