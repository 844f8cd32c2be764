import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  concatPairs,
  dropTies,
  emptyPairs,
  featureDiffs,
  flatIndex,
  nActions,
  slicePairs,
  totalActions,
  validateEnv,
  type PairData,
} from '../../src/bandit/env.js';
import { envFromJson } from '../../src/bandit/files.js';

const env = envFromJson({
  eta: 1,
  contexts: [
    {
      features: [
        [1, 0],
        [0, 1],
      ],
      ref_logprobs: [0, 0],
    },
    {
      features: [
        [2, 2],
        [-1, 0],
        [0, -3],
      ],
      ref_logprobs: [0, 0, 0],
    },
  ],
});

const p = (rows: [number, number, number][]): PairData => ({
  context: Int32Array.from(rows.map((r) => r[0])),
  chosen: Int32Array.from(rows.map((r) => r[1])),
  rejected: Int32Array.from(rows.map((r) => r[2])),
});

test('layout helpers', () => {
  assert.equal(totalActions(env), 5);
  assert.equal(nActions(env, 0), 2);
  assert.equal(nActions(env, 1), 3);
  assert.equal(flatIndex(env, 1, 2), 4);
});

test('featureDiffs uses local action indices within each context', () => {
  const D = featureDiffs(
    env,
    p([
      [0, 0, 1],
      [1, 0, 2],
      [1, 1, 0],
    ]),
  );
  assert.deepEqual(Array.from(D), [1, -1, 2, 5, -3, -2]);
});

test('concat, slice, dropTies, emptyPairs', () => {
  const a = p([
    [0, 0, 1],
    [1, 2, 2],
  ]);
  const b = p([[1, 1, 0]]);
  const c = concatPairs(a, b);
  assert.deepEqual(Array.from(c.context), [0, 1, 1]);
  assert.deepEqual(Array.from(c.chosen), [0, 2, 1]);
  const s = slicePairs(c, 1, 3);
  assert.deepEqual(Array.from(s.rejected), [2, 0]);
  s.rejected[0] = 9; // a copy, not a view
  assert.equal(c.rejected[1], 2);
  const t = dropTies(c);
  assert.deepEqual(Array.from(t.chosen), [0, 1]);
  assert.equal(concatPairs(emptyPairs(), b).context.length, 1);
});

test('validateEnv names the problem', () => {
  validateEnv(env);
  assert.throws(() => validateEnv({ ...env, eta: 0 }), /eta must be > 0/);
  assert.throws(() => validateEnv({ ...env, weights: Float64Array.from([0.5, 0.6]) }), /sum to 1.1/);
  assert.throws(() => validateEnv({ ...env, refLogprobs: new Float64Array(5) }), /π0 of context 0 sums to 2/);
  assert.throws(() => validateEnv({ ...env, features: new Float64Array(9) }), /features length 9/);
  assert.throws(() => validateEnv({ ...env, thetaStar: new Float64Array(3) }), /thetaStar has length 3/);
  const f = Float64Array.from(env.features);
  f[3] = NaN;
  assert.throws(() => validateEnv({ ...env, features: f }), /features\[3\] is NaN/);
});
