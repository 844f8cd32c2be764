import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkClaim } from '../../src/bandit/experiment/claims.js';
import { experimentConfigSchema, type ClaimSpec } from '../../src/bandit/experiment/config.js';
import { expandJobs, runJob, type JobResult } from '../../src/bandit/experiment/jobs.js';
import { mleF } from '../../src/bandit/algorithms/f-regularised.js';
import { mleGibbs } from '../../src/bandit/algorithms/offline-mle.js';
import { generateEnv, behaviourPolicy } from '../../src/bandit/generate.js';
import { PreferenceOracle, samplePairs } from '../../src/bandit/oracle.js';
import { rewardsOf } from '../../src/bandit/policy.js';
import { fOptimal, getDivergence } from '../../src/bandit/divergences/index.js';
import { Rng } from '../../src/math/rng.js';

const base = {
  env: { source: 'generate', d: 3, K: 5, nContexts: 12, normB: 2, eta: 0.5, seed: 4 },
  seeds: 2,
  algorithms: {
    a: { algorithm: 'mle-f', options: { divergence: 'chi2' } },
    b: { algorithm: 'mle-f', options: { divergence: 'reverse-kl' } },
  },
  studies: [
    {
      name: 'f',
      kind: 'frontier',
      title: 'frontier',
      budget: 60,
      etas: [0.5, 1],
      runs: ['a', 'b'],
      divergences: ['chi2', 'forward-kl'],
    },
  ],
};

test('mle-f: reverse KL is mle-gibbs exactly; χ² is the f-optimum of the same MLE reward', () => {
  const env = generateEnv({ d: 4, K: 6, nContexts: 15, normB: 2, refTemperature: 1, eta: 0.4, seed: 9 });
  const rng = new Rng(3);
  const beh = behaviourPolicy(env, 'good');
  const oracle = new PreferenceOracle(env, env.thetaStar as Float64Array, rng.fork('o'));
  const offline = samplePairs(env, beh, beh, 200, oracle, rng.fork('p'));
  const ctx = { env, offline, oracle: null, rng: new Rng(1) };
  const g = mleGibbs.run(ctx, {});
  const r = mleF.run(ctx, { divergence: 'reverse-kl' });
  assert.deepEqual(Array.from(r.policy), Array.from(g.policy));
  const c = mleF.run(ctx, { divergence: 'chi2' });
  const expect = fOptimal(env, rewardsOf(env, c.thetaHat as Float64Array), getDivergence('chi2'));
  assert.deepEqual(Array.from(c.policy), Array.from(expect));
  assert.deepEqual(c.regulariser, { divergence: 'chi2', alpha: 0.5 });
  assert.equal(c.labelsUsed, 200);
  assert.throws(() => mleF.run(ctx, { divergence: 'kl' as never }), /divergence must be one of/);
  assert.throws(() => mleF.run(ctx, { divergence: 'alpha', alpha: 1 }), /alpha must be a number in \(0, 1\)/);
});

test('runner: a frontier with divergences measures D_f(π̂‖π0) for every run and each run’s own gap', () => {
  const cfg = experimentConfigSchema.parse(base);
  const results = expandJobs(cfg).map((j) => runJob(cfg, j));
  assert.equal(results.length, 8);
  for (const r of results) {
    assert.ok(r.divergences && r.own, r.key);
    assert.ok(r.divergences.chi2 > 0 && r.divergences['forward-kl'] > 0, r.key);
    if (r.run === 'a') {
      // χ²'s own divergence measured twice: through the run's regulariser and the study's list.
      assert.equal(r.own.divergence, getDivergence('chi2').label);
      assert.ok(Math.abs(r.own.toRef - r.divergences.chi2) <= 1e-14, r.key);
    } else {
      // Reverse KL: the gap under its own divergence is the paper's gap.
      assert.ok(Math.abs(r.own.gap - r.gap) <= 1e-12, `${r.own.gap} vs ${r.gap}`);
      assert.ok(Math.abs(r.own.toRef - r.klToRef) <= 1e-12);
    }
  }
  // A claim on an axis the study does not measure is refused when the config is parsed.
  const bad = experimentConfigSchema.safeParse({
    ...base,
    claims: [{ kind: 'frontier-dominates', text: 't', study: 'f', better: 'a', than: 'b', axis: 'js' }],
  });
  assert.equal(bad.success, false);
  assert.match(JSON.stringify(bad.error?.issues), /axis \\"js\\" is not measured by study \\"f\\"/);
});

test('frontier dominance on a divergence axis: judged at matched D_f, independent of the KL axis', () => {
  const cfg = experimentConfigSchema.parse(base);
  const claim = (c: Record<string, unknown>): ClaimSpec =>
    experimentConfigSchema.shape.claims.parse([{ text: 't', study: 'f', ...c }])[0];
  const row = (run: string, s: number, eta: number, kl: number, chi2: number, reward: number): JobResult => ({
    key: `${run}/${eta}/${s}`,
    study: 'f',
    run,
    algorithm: 'mle-f',
    setting: 'offline',
    coverage: 'good',
    budget: 60,
    seedIndex: s,
    eta,
    gap: 1,
    suboptimality: 0,
    klStarToHat: 0,
    reward,
    klToRef: kl,
    labelsUsed: 60,
    validationLabels: 0,
    seconds: 0,
    divergences: { chi2 },
  });
  // a sits below b at equal KL but above it at equal χ² (a is cheaper in χ² for the same reward).
  const rows = [0, 1, 2].flatMap((s) =>
    [1, 2].flatMap((eta) => [
      row('a', s, eta, eta, 0.5 * eta, eta - 0.3 - 0.01 * s),
      row('b', s, eta, eta, eta, eta),
    ]),
  );
  const onChi2 = checkClaim(
    cfg,
    claim({ kind: 'frontier-dominates', better: 'a', than: 'b', axis: 'chi2' }),
    rows,
  );
  // Matched χ²: only a's point at χ² = 1 (η = 2, reward 1.7 − 0.01s) meets b's curve (reward 1) and
  // b's point at χ² = 1 meets a's curve (1.7 − 0.01s): both margins ≈ +0.69 > 0.
  assert.equal(onChi2.verdict, 'supported');
  assert.match(onChi2.evidence, /matched-D_chi2 points/);
  const onKl = checkClaim(cfg, claim({ kind: 'frontier-dominates', better: 'a', than: 'b' }), rows);
  assert.equal(onKl.verdict, 'contradicted');
});
