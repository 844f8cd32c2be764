import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinearRewardModel, WordFeatures, thompsonPair } from '../../src/pref/linear-rm.js';
import { addOuterProducts, inverseSPD, scaledIdentity } from '../../src/math/linalg.js';
import { Rng } from '../../src/math/rng.js';

const f = new WordFeatures(['good', 'bad', 'great']);
const pairs = [
  { chosen: 'good', rejected: 'bad' },
  { chosen: 'good good', rejected: 'bad' },
  { chosen: 'great', rejected: 'good' },
  { chosen: 'good', rejected: 'bad bad' },
];
const m = LinearRewardModel.fit(f, pairs, 1);

test('LinearRewardModel.drawTheta: the draws have mean θ̂ and covariance ν²Σ⁻¹ (5-SE bounds)', () => {
  const d = f.d;
  const nu = 0.5;
  // Σ = λI + Σ ΔφΔφᵀ built here independently of the model.
  const sigma = addOuterProducts(
    pairs.length,
    d,
    LinearRewardModel.diffs(f, pairs),
    null,
    scaledIdentity(d, 1),
  );
  const cov = inverseSPD(sigma, d).map((v) => nu * nu * v);
  const rng = new Rng(2);
  const n = 40_000;
  const s1 = new Float64Array(d);
  const s2 = new Float64Array(d);
  for (let t = 0; t < n; t++) {
    const th = m.drawTheta(rng, nu);
    for (let j = 0; j < d; j++) {
      s1[j] += th[j];
      s2[j] += (th[j] - m.theta[j]) ** 2;
    }
  }
  for (let j = 0; j < d; j++) {
    const v = cov[j * d + j];
    assert.ok(Math.abs(s1[j] / n - m.theta[j]) < 5 * Math.sqrt(v / n), `mean ${j}`);
    assert.ok(Math.abs(s2[j] / n - v) < 5 * Math.sqrt((2 * v * v) / n), `var ${j}`);
  }
});

test('thompsonPair: ν → 0 is best-vs-worst under θ̂; ν > 0 varies the pair; ties give null', () => {
  const texts = ['good', 'bad', 'great', 'good bad'];
  const scores = texts.map((t) => m.score(t));
  const hi = scores.indexOf(Math.max(...scores));
  const lo = scores.indexOf(Math.min(...scores));
  assert.deepEqual(thompsonPair(m, texts, new Rng(1), 1e-12), { i: hi, j: lo });
  const rng = new Rng(3);
  const seen = new Set<string>();
  for (let t = 0; t < 200; t++) {
    const p = thompsonPair(m, texts, rng, 3);
    if (p) seen.add(`${p.i},${p.j}`);
  }
  assert.ok(seen.size >= 2, `posterior draws give different pairs: ${[...seen].join(' ')}`);
  assert.equal(thompsonPair(m, ['good', 'good'], new Rng(1), 1), null);
  assert.throws(() => thompsonPair(m, texts, new Rng(1), -1), /nu must be ≥ 0/);
});
