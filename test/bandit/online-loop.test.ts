import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/math/rng.js';
import type { BanditEnv, PairData } from '../../src/bandit/env.js';
import { emptyPairs } from '../../src/bandit/env.js';
import { behaviourPolicy, generateEnv } from '../../src/bandit/generate.js';
import { PreferenceOracle, samplePairs } from '../../src/bandit/oracle.js';
import { ENHANCER_NAMES } from '../../src/bandit/algorithms/enhancers.js';
import {
  batchSizes,
  hybrid,
  online,
  onlineAlgorithms,
  onlineDefaults,
} from '../../src/bandit/algorithms/online.js';
import type { IterationRecord } from '../../src/bandit/algorithms/types.js';

function smallEnv(seed: number): BanditEnv {
  return generateEnv({ d: 3, K: 6, nContexts: 15, normB: 2, refTemperature: 1, eta: 0.5, seed });
}

function oracleFor(env: BanditEnv, seed: number | string): PreferenceOracle {
  return new PreferenceOracle(env, env.thetaStar as Float64Array, new Rng(`oracle-${seed}`));
}

function offlineSet(env: BanditEnv, n: number, seed: number): PairData {
  const beh = behaviourPolicy(env, 'good');
  return samplePairs(env, beh, beh, n, oracleFor(env, `off-${seed}`), new Rng(`off-${seed}`), {
    dropTies: true,
  });
}

test('registry entries: names, settings, defaults', () => {
  assert.deepEqual(
    onlineAlgorithms.map((a) => [a.name, a.setting]),
    [
      ['gshf-online', 'online'],
      ['gshf-hybrid', 'hybrid'],
    ],
  );
  assert.equal(onlineDefaults.enhancer, 'uncertainty');
  assert.equal(onlineDefaults.selection, 'validation');
  assert.equal(onlineDefaults.validationQueries, 200);
});

test('online label accounting: labelsUsed = T·m exactly for every enhancer; validation counted separately', () => {
  const T = 4;
  const m = 25;
  const q = 30;
  for (const enhancer of ENHANCER_NAMES) {
    const env = smallEnv(1);
    const oracle = oracleFor(env, enhancer);
    const records: IterationRecord[] = [];
    const res = online.run(
      {
        env,
        offline: emptyPairs(),
        oracle,
        rng: new Rng(`alg-${enhancer}`),
        onIteration: (r) => records.push(r),
      },
      { T, m, enhancer, validationQueries: q },
    );
    assert.equal(res.labelsUsed, T * m, enhancer);
    assert.equal(res.validationLabels, (T + 1) * q, enhancer);
    assert.equal(oracle.queries, res.labelsUsed + (res.validationLabels ?? 0), enhancer);
    assert.equal(res.diagnostics?.shortfall, 0);
    // Trace: T + 1 candidates, labels = labels each main agent was trained on.
    assert.equal(records.length, T + 1);
    assert.deepEqual(
      records.map((r) => r.labels),
      [0, 25, 50, 75, 100],
    );
    assert.deepEqual(
      records.map((r) => r.iteration),
      [1, 2, 3, 4, 5],
    );
    assert.equal(res.iterations?.length, T + 1);
    for (const r of res.iterations ?? [])
      assert.ok(r.validationScore !== undefined && r.validationScore >= 0 && r.validationScore <= 1);
    for (const r of records.slice(0, T)) assert.equal(r.diagnostics?.batchLabels, m);
    // The first main agent of a purely online run is π0 (θ_1 = 0).
    for (let a = 0; a < env.refLogprobs.length; a++)
      assert.ok(Math.abs(records[0].policy[a] - env.refLogprobs[a]) < 1e-12);
    const sel = (res.diagnostics?.selectedIteration ?? 0) - 1;
    assert.equal(res.policy, records[sel].policy);
  }
});

test('hybrid label accounting: labelsUsed = offline pairs + T·m; online ignores the offline set', () => {
  const env = smallEnv(2);
  const off = offlineSet(env, 120, 2);
  const nOff = off.context.length;
  const T = 3;
  const m = 40;
  const records: IterationRecord[] = [];
  const oracle = oracleFor(env, 'h');
  const res = hybrid.run(
    { env, offline: off, oracle, rng: new Rng('h'), onIteration: (r) => records.push(r) },
    { T, m, enhancer: 'symmetric', validationQueries: 20 },
  );
  assert.equal(res.labelsUsed, nOff + T * m);
  assert.equal(res.validationLabels, (T + 1) * 20);
  assert.equal(oracle.queries, T * m + (T + 1) * 20);
  assert.deepEqual(
    records.map((r) => r.labels),
    [nOff, nOff + 40, nOff + 80, nOff + 120],
  );
  assert.equal(res.diagnostics?.offlinePairs, nOff);
  // Hybrid's first main agent already uses the offline data, so it is not π0.
  let diff = 0;
  for (let a = 0; a < env.refLogprobs.length; a++)
    diff = Math.max(diff, Math.abs(records[0].policy[a] - env.refLogprobs[a]));
  assert.ok(diff > 1e-3);

  const oracle2 = oracleFor(env, 'o');
  const res2 = online.run(
    { env, offline: off, oracle: oracle2, rng: new Rng('o') },
    { T, m, enhancer: 'symmetric', selection: 'last' },
  );
  assert.equal(res2.labelsUsed, T * m);
  assert.equal(res2.diagnostics?.offlinePairs, 0);
});

test('onlineBudget splits exactly over T batches', () => {
  assert.deepEqual(batchSizes({ T: 3, m: 1, onlineBudget: 10 }), [4, 3, 3]);
  assert.deepEqual(batchSizes({ T: 4, m: 7, onlineBudget: null }), [7, 7, 7, 7]);
  const env = smallEnv(3);
  const oracle = oracleFor(env, 'b');
  const res = online.run(
    { env, offline: emptyPairs(), oracle, rng: new Rng('b') },
    { T: 3, onlineBudget: 101, enhancer: 'best-worst', selection: 'last' },
  );
  assert.equal(res.labelsUsed, 101);
  assert.equal(res.validationLabels, 0);
  assert.equal(oracle.queries, 101);
  // Budget 0 (e.g. a hybrid run whose whole budget is offline): no online queries at all.
  const off = offlineSet(env, 50, 3);
  const oracle0 = oracleFor(env, 'b0');
  const res0 = hybrid.run(
    { env, offline: off, oracle: oracle0, rng: new Rng('b0') },
    { T: 3, onlineBudget: 0, selection: 'last' },
  );
  assert.equal(res0.labelsUsed, off.context.length);
  assert.equal(oracle0.queries, 0);
});

test("selection 'last' returns π_{T+1}^1 and the training trajectory does not depend on the selection rule", () => {
  const env = smallEnv(4);
  const run = (
    selection: 'last' | 'validation',
  ): { res: ReturnType<typeof online.run>; recs: IterationRecord[] } => {
    const recs: IterationRecord[] = [];
    const res = online.run(
      {
        env,
        offline: emptyPairs(),
        oracle: oracleFor(env, 'same'),
        rng: new Rng('same'),
        onIteration: (r) => recs.push(r),
      },
      { T: 3, m: 30, enhancer: 'uncertainty', selection },
    );
    return { res, recs };
  };
  const a = run('last');
  const b = run('validation');
  assert.equal(a.res.validationLabels, 0);
  assert.equal(a.res.policy, a.recs[a.recs.length - 1].policy);
  assert.equal(a.res.diagnostics?.selectedIteration, 4);
  assert.equal(a.recs.length, b.recs.length);
  for (let i = 0; i < a.recs.length; i++) assert.deepEqual(a.recs[i].policy, b.recs[i].policy);
});

test("validationScore 'objective': same validation labels, scores are J under the held-out reward, the best is selected", () => {
  const env = smallEnv(9);
  const T = 3;
  const q = 40;
  const runWith = (validationScore: 'win-rate' | 'objective'): ReturnType<typeof online.run> =>
    online.run(
      { env, offline: emptyPairs(), oracle: oracleFor(env, 'vs'), rng: new Rng('vs') },
      { T, m: 30, enhancer: 'symmetric', validationQueries: q, validationScore },
    );
  const w = runWith('win-rate');
  const j = runWith('objective');
  assert.equal(j.validationLabels, (T + 1) * q);
  assert.equal(j.labelsUsed, w.labelsUsed);
  const scores = (j.iterations ?? []).map((r) => r.validationScore as number);
  assert.equal(scores.length, T + 1);
  for (const sc of scores) assert.ok(Number.isFinite(sc));
  // J under any reward is ≤ max_π J = attained by one Gibbs policy; π0 (candidate 1) has J = E_π0 r.
  const sel = (j.diagnostics?.selectedIteration ?? 0) - 1;
  assert.equal(scores[sel], Math.max(...scores));
  assert.equal(j.diagnostics?.selectedValidationScore, scores[sel]);
  // Win rates are still reported for the selected candidate.
  const wr = j.diagnostics?.selectedWinRate ?? -1;
  assert.ok(wr >= 0 && wr <= 1);
  // Same training trajectory as the win-rate run.
  for (let i = 0; i <= T; i++) assert.deepEqual(j.iterations?.[i].policy, w.iterations?.[i].policy);
});

test('uncertainty enhancer inside the loop: the KL constraint holds at every iteration', () => {
  for (const seed of [5, 6, 7]) {
    const env = smallEnv(seed);
    const recs: IterationRecord[] = [];
    const res = online.run(
      {
        env,
        offline: emptyPairs(),
        oracle: oracleFor(env, seed),
        rng: new Rng(seed),
        onIteration: (r) => recs.push(r),
      },
      { T: 4, m: 50, enhancer: 'uncertainty', selection: 'last', beta: seed === 6 ? 3 : 1 },
    );
    assert.ok((res.diagnostics?.minEnhancerSlack ?? -1) >= 0);
    for (const r of recs.slice(0, 4)) {
      const g = r.diagnostics?.enhancerGamma ?? NaN;
      const k = r.diagnostics?.enhancerEtaKL ?? NaN;
      assert.ok(k <= g && g > 0, `seed ${seed} iteration ${r.iteration}: ηKL ${k}, Γ ${g}`);
    }
  }
});

test('an environment where every pair ties: the draw cap stops the loop and the shortfall is reported', () => {
  // One action per context: a1 = a2 always, so no proposal can be labelled.
  const env: BanditEnv = {
    name: 'single-action',
    eta: 1,
    d: 2,
    nContexts: 2,
    offsets: Int32Array.from([0, 1, 2]),
    features: Float64Array.from([1, 0, 0, 1]),
    refLogprobs: new Float64Array(2),
    weights: Float64Array.from([0.5, 0.5]),
    thetaStar: Float64Array.from([1, 1]),
  };
  const oracle = oracleFor(env, 'tie');
  const res = online.run(
    { env, offline: emptyPairs(), oracle, rng: new Rng(1) },
    { T: 2, m: 10, enhancer: 'symmetric', maxDrawFactor: 3, selection: 'last' },
  );
  assert.equal(res.labelsUsed, 0);
  assert.equal(oracle.queries, 0);
  assert.equal(res.diagnostics?.shortfall, 20);
  assert.equal(res.diagnostics?.totalDraws, 60);
});

test('option validation: unknown keys and bad values are rejected; an oracle is required', () => {
  const env = smallEnv(8);
  const ctx = { env, offline: emptyPairs(), oracle: oracleFor(env, 'v'), rng: new Rng(1) };
  assert.throws(
    () => online.run(ctx, { Tee: 3 } as unknown as Record<string, never>),
    /unknown option "Tee"/,
  );
  assert.throws(() => online.run(ctx, { enhancer: 'best' as never }), /enhancer/);
  assert.throws(() => online.run(ctx, { T: 0 }), /T/);
  assert.throws(() => online.run(ctx, { validationScore: 'gold' as never }), /validationScore/);
  assert.throws(
    () => online.run(ctx, { selection: 'validation', validationQueries: 0 }),
    /validationQueries/,
  );
  assert.throws(() => online.run(ctx, { n: 1 }), /n must/);
  assert.throws(() => online.run({ ...ctx, oracle: null }, {}), /oracle/);
});
