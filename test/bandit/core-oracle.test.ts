import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dropTies } from '../../src/bandit/env.js';
import { generateEnv } from '../../src/bandit/generate.js';
import { PreferenceOracle, samplePairs } from '../../src/bandit/oracle.js';
import { rewardsOf, uniformPolicy } from '../../src/bandit/policy.js';
import { Rng } from '../../src/math/rng.js';
import { sigmoid } from '../../src/math/special.js';

const env = generateEnv({ d: 4, K: 6, nContexts: 5, normB: 2, refTemperature: 1, eta: 0.5, seed: 31 });
const r = rewardsOf(env, env.thetaStar!);

function within4se(freq: number, p: number, n: number, what: string): void {
  const se = Math.sqrt((p * (1 - p)) / n);
  assert.ok(Math.abs(freq - p) < 4 * se, `${what}: empirical ${freq}, expected ${p} (4 s.e. = ${4 * se})`);
}

test('oracle preference frequency ≈ σ(Δr / temperature) within 4 s.e.', () => {
  for (const temperature of [1, 0.25, 4]) {
    const oracle = new PreferenceOracle(env, env.thetaStar!, new Rng(`o${temperature}`), temperature);
    for (const [c, a1, a2] of [
      [0, 0, 1],
      [2, 3, 5],
      [4, 1, 4],
    ]) {
      const n = 20000;
      let wins = 0;
      for (let i = 0; i < n; i++) if (oracle.prefers(c, a1, a2)) wins++;
      const p = sigmoid((r[c * 6 + a1] - r[c * 6 + a2]) / temperature);
      within4se(wins / n, p, n, `T=${temperature} (${c}: ${a1} vs ${a2})`);
      assert.ok(Math.abs(oracle.probability(c, a1, a2) - p) < 1e-15);
    }
    assert.equal(oracle.queries, 3 * 20000);
  }
});

test('label returns the pair ordered by the preference, and counts queries', () => {
  const oracle = new PreferenceOracle(env, env.thetaStar!, new Rng(1));
  let first = 0;
  for (let i = 0; i < 1000; i++) {
    const l = oracle.label(1, 2, 4);
    assert.ok((l.chosen === 2 && l.rejected === 4) || (l.chosen === 4 && l.rejected === 2));
    if (l.chosen === 2) first++;
  }
  assert.equal(oracle.queries, 1000);
  within4se(first / 1000, sigmoid(r[8] - r[10]), 1000, 'label');
  assert.throws(() => new PreferenceOracle(env, env.thetaStar!, new Rng(1), 0), /temperature/);
});

test('samplePairs: contexts ~ d0, actions ~ π1 × π2, labels ~ BT', () => {
  const n = 60000;
  const pi1 = env.refLogprobs;
  const pi2 = uniformPolicy(env);
  const oracle = new PreferenceOracle(env, env.thetaStar!, new Rng(5));
  const pairs = samplePairs(env, pi1, pi2, n, oracle, new Rng(6));
  assert.equal(pairs.context.length, n);
  assert.equal(oracle.queries, n);
  const ctx = new Array<number>(5).fill(0);
  for (const c of pairs.context) ctx[c]++;
  ctx.forEach((k, c) => within4se(k / n, 0.2, n, `context ${c}`));
  // Each action appears in a pair with probability π1(a) + π2(a) − π1(a)π2(a); check via the
  // pair's unordered set counts in context 0 (n/5 pairs).
  let n0 = 0;
  const seen = new Array<number>(6).fill(0);
  let higherChosen = 0;
  let expectedHigher = 0;
  for (let i = 0; i < n; i++) {
    const c = pairs.context[i];
    const w = pairs.chosen[i];
    const l = pairs.rejected[i];
    const rw = r[c * 6 + w];
    const rl = r[c * 6 + l];
    if (w !== l) {
      if (rw > rl) higherChosen++;
      expectedHigher += sigmoid(Math.abs(rw - rl));
    }
    if (c !== 0) continue;
    n0++;
    seen[w]++;
    if (l !== w) seen[l]++;
  }
  for (let a = 0; a < 6; a++) {
    const p1 = Math.exp(pi1[a]);
    const p2 = 1 / 6;
    within4se(seen[a] / n0, p1 + p2 - p1 * p2, n0, `action ${a} in context 0`);
  }
  // The higher-reward action wins with the BT probability on average.
  const nonTies = pairs.chosen.filter((w, i) => w !== pairs.rejected[i]).length;
  within4se(higherChosen / nonTies, expectedHigher / nonTies, nonTies, 'BT labels');
});

test('ties: kept by default (matching E[ΔφΔφᵀ]), dropped on request; dropTies removes them', () => {
  const oracle = new PreferenceOracle(env, env.thetaStar!, new Rng(8));
  const u = uniformPolicy(env);
  const n = 30000;
  const all = samplePairs(env, u, u, n, oracle, new Rng(9));
  const ties = all.chosen.filter((w, i) => w === all.rejected[i]).length;
  within4se(ties / n, 1 / 6, n, 'tie rate under uniform × uniform');
  const noTies = dropTies(all);
  assert.equal(noTies.context.length, n - ties);
  assert.ok(noTies.chosen.every((w, i) => w !== noTies.rejected[i]));
  const dropped = samplePairs(
    env,
    u,
    u,
    n,
    new PreferenceOracle(env, env.thetaStar!, new Rng(8)),
    new Rng(9),
    { dropTies: true },
  );
  // Same draws (ties skip the oracle, so only the labels' coin flips may differ).
  assert.deepEqual(Array.from(dropped.context), Array.from(noTies.context));
  const key = (p: typeof all, i: number) =>
    Math.min(p.chosen[i], p.rejected[i]) * 10 + Math.max(p.chosen[i], p.rejected[i]);
  for (let i = 0; i < noTies.context.length; i++) assert.equal(key(dropped, i), key(noTies, i));
});

test('samplePairs is reproducible from the seeds', () => {
  const mk = () =>
    samplePairs(
      env,
      env.refLogprobs,
      env.refLogprobs,
      500,
      new PreferenceOracle(env, env.thetaStar!, new Rng(1)),
      new Rng(2),
    );
  const a = mk();
  const b = mk();
  assert.deepEqual(Array.from(a.chosen), Array.from(b.chosen));
  assert.deepEqual(Array.from(a.context), Array.from(b.context));
});
