import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkClaim } from '../../src/bandit/experiment/claims.js';
import { experimentConfigSchema, type ClaimSpec } from '../../src/bandit/experiment/config.js';
import type { JobResult } from '../../src/bandit/experiment/jobs.js';

const cfg = experimentConfigSchema.parse({
  env: { source: 'generate', d: 2, K: 3, nContexts: 2, normB: 1, eta: 1 },
  algorithms: { a: { algorithm: 'mle-gibbs' }, b: { algorithm: 'mle-gibbs' } },
  studies: [
    { name: 'g', title: 'grid', budgets: [100, 400], runs: ['a', 'b'] },
    { name: 'f', kind: 'frontier', title: 'frontier', budget: 100, etas: [1, 2], runs: ['a', 'b'] },
  ],
});

function row(p: Partial<JobResult> & Pick<JobResult, 'run' | 'seedIndex'>): JobResult {
  return {
    key: `${p.study ?? 'g'}/${p.run}/${p.budget ?? 100}/${p.eta ?? 1}/${p.seedIndex}`,
    study: 'g',
    algorithm: 'mle-gibbs',
    setting: 'offline',
    coverage: 'good',
    budget: 100,
    eta: 1,
    gap: 1,
    suboptimality: 0,
    klStarToHat: 0,
    reward: 0,
    klToRef: 0,
    labelsUsed: p.budget ?? 100,
    validationLabels: 0,
    seconds: 0,
    ...p,
  };
}

const claim = (c: Record<string, unknown>): ClaimSpec =>
  experimentConfigSchema.shape.claims.parse([{ text: 't', study: 'g', ...c }])[0];

// Gap of `b` minus gap of `a` per seed: `diffs`; for n = 3 and diffs m−s, m, m+s the interval is
// m ± 2.484·s (t_{0.975,2}/√3 = 2.484138).
function pair(diffs: number[]): JobResult[] {
  return diffs.flatMap((d, s) => [
    row({ run: 'a', seedIndex: s, gap: 1 }),
    row({ run: 'b', seedIndex: s, gap: 1 + d }),
  ]);
}

test('lower-gap: each outcome of the ported rule, and equivalence only with a margin', () => {
  const c = claim({ kind: 'lower-gap', better: 'a', than: 'b', budget: 100 });
  assert.equal(checkClaim(cfg, c, pair([0.9, 1, 1.1])).verdict, 'supported');
  assert.equal(checkClaim(cfg, c, pair([-0.9, -1, -1.1])).verdict, 'contradicted');
  const flat = pair([-0.01, 0, 0.01]); // 0 ± 0.0248
  const j = checkClaim(cfg, c, flat);
  assert.equal(j.verdict, 'inconclusive');
  assert.match(j.evidence, /no number of seeds would decide it/);
  const withMargin = claim({ kind: 'lower-gap', better: 'a', than: 'b', budget: 100, margin: 0.03 });
  assert.equal(checkClaim(cfg, withMargin, flat).verdict, 'equivalent');
  // 0.1 ± 0.248: excluding 0 needs the half-width below 0.1 with sd 0.1 → 7 seeds (2.446912·0.1/√7 = 0.0925).
  const u = checkClaim(cfg, c, pair([0, 0.1, 0.2]));
  assert.equal(u.verdict, 'inconclusive');
  assert.match(u.evidence, /7 seeds would decide it/);
  assert.equal(checkClaim(cfg, c, pair([1])).verdict, 'no data');
});

test('slope bound: per-seed log-log slopes against an absolute bound', () => {
  // Seed s: gap = 4·n^(−k_s) at n = 100, 400, with k = 0.9, 1, 1.1 → slopes −0.9, −1, −1.1.
  const rows = [0.9, 1, 1.1].flatMap((k, s) =>
    [100, 400].map((n) => row({ run: 'a', seedIndex: s, budget: n, labelsUsed: n, gap: 4 * n ** -k })),
  );
  const c = (max: number) => claim({ kind: 'slope', run: 'a', max });
  assert.equal(checkClaim(cfg, c(-0.5), rows).verdict, 'supported'); // [−1.248, −0.752]
  assert.equal(checkClaim(cfg, c(-1), rows).verdict, 'inconclusive');
  assert.equal(checkClaim(cfg, c(-1.5), rows).verdict, 'contradicted');
});

test('frontier dominance: per-seed matched-KL margins with an interval at each point', () => {
  // Both runs at η = 1, 2 with KL 1, 2 (per seed); a's reward is b's + 0.5 (± seed noise).
  const rows = [0, 1, 2].flatMap((s) =>
    [1, 2].flatMap((eta) => [
      row({ study: 'f', run: 'a', seedIndex: s, eta, klToRef: eta, reward: eta + 0.5 + 0.01 * s }),
      row({ study: 'f', run: 'b', seedIndex: s, eta, klToRef: eta, reward: eta }),
    ]),
  );
  const c = claim({ kind: 'frontier-dominates', study: 'f', better: 'a', than: 'b' });
  const j = checkClaim(cfg, c, rows);
  assert.equal(j.verdict, 'supported');
  assert.match(j.evidence, /at 4\/4 matched-KL points, below at 0/);
  const rev = checkClaim(
    cfg,
    claim({ kind: 'frontier-dominates', study: 'f', better: 'b', than: 'a' }),
    rows,
  );
  assert.equal(rev.verdict, 'contradicted');
});

const cfg2 = experimentConfigSchema.parse({
  env: { source: 'generate', d: 2, K: 3, nContexts: 2, normB: 1, eta: 1 },
  algorithms: { a: { algorithm: 'mle-gibbs' }, b: { algorithm: 'mle-gibbs' } },
  studies: [
    { name: 'g', title: 'grid', budgets: [100, 400], runs: ['a', 'b'] },
    { name: 'k2', title: 'K = 2', env: { K: 2 }, budgets: [100], runs: ['a'] },
    { name: 'k8', title: 'K = 8', env: { K: 8 }, budgets: [100], runs: ['a'] },
  ],
});

test('fit: rate and level differences between two runs, each outcome', () => {
  // Per seed s, run a: gap = n^(−1) · e^(0.01 s); run b: gap = 2·n^(−0.5). At n = 100, 400 the log-log
  // slopes are −1 and −0.5 exactly, so than − better = 0.5 on every seed (zero spread).
  const rows = [0, 1, 2].flatMap((s) =>
    [100, 400].flatMap((n) => [
      row({ run: 'a', seedIndex: s, budget: n, labelsUsed: n, gap: n ** -1 * Math.exp(0.01 * s) }),
      row({ run: 'b', seedIndex: s, budget: n, labelsUsed: n, gap: 2 * n ** -0.5 }),
    ]),
  );
  const c = (o: Record<string, unknown>) => claim({ kind: 'fit', better: 'a', than: 'b', ...o });
  assert.equal(checkClaim(cfg2, c({ quantity: 'slope' }), rows).verdict, 'supported');
  assert.equal(
    checkClaim(cfg2, c({ quantity: 'slope', than: 'a', better: 'b' }), rows).verdict,
    'contradicted',
  );
  // Level at the geometric mean 200: log(2·200^−0.5) − log(200^−1·e^(0.01 s)) = log 2 + 0.5·log 200 − 0.01 s
  // = 3.342 − 0.01 s: mean 3.332, clearly above 0.
  const lv = checkClaim(cfg2, c({ quantity: 'level' }), rows);
  assert.equal(lv.verdict, 'supported');
  assert.match(lv.evidence, /3\.33 \(95% CI/);
  // The same runs against themselves: slopes equal on every seed → equivalent within ±0.1.
  const same = checkClaim(cfg2, c({ quantity: 'slope', than: 'a', rule: 'equivalence', margin: 0.1 }), rows);
  assert.equal(same.verdict, 'supported');
  // Validation labels move the x axis: b spends 3n labels in total → its slope is unchanged (log 3 shift) but
  // its level at the same x falls by 0.5·log 3.
  const withVal = rows.map((r) => (r.run === 'b' ? { ...r, validationLabels: 2 * r.labelsUsed } : r));
  const lv2 = checkClaim(cfg2, c({ quantity: 'level' }), withVal);
  assert.match(lv2.evidence, /labels per run, validation included: a 400, b 1200 at 400/);
});

test('sweep: per-seed slope of log gap against log K across studies, flat or growing', () => {
  // gap ∝ K^p per seed: p = 0.5 ± 0.01 grows; p = ±0.01 is flat within ±0.1.
  const rows = (ps: number[]) =>
    ps.flatMap((p, s) =>
      [
        ['k2', 2],
        ['k8', 8],
      ].map(([study, K]) =>
        row({ study: study as string, run: 'a', seedIndex: s, gap: 0.1 * (K as number) ** p }),
      ),
    );
  const c = (expect: string, margin?: number) =>
    experimentConfigSchema.shape.claims.parse([
      { kind: 'sweep', text: 't', studies: ['k2', 'k8'], param: 'K', run: 'a', budget: 100, expect, margin },
    ])[0];
  const grows = checkClaim(cfg2, c('grows'), rows([0.49, 0.5, 0.51]));
  assert.equal(grows.verdict, 'supported');
  assert.match(grows.evidence, /K=2: .*K=8: .*slope of log gap vs log K 0\.5 /);
  assert.equal(checkClaim(cfg2, c('flat', 0.1), rows([-0.01, 0, 0.01])).verdict, 'supported');
  assert.equal(checkClaim(cfg2, c('flat', 0.1), rows([0.49, 0.5, 0.51])).verdict, 'contradicted');
  assert.throws(
    () =>
      experimentConfigSchema.parse({
        ...cfg2,
        claims: [
          {
            kind: 'sweep',
            text: 't',
            studies: ['k2', 'k8'],
            param: 'K',
            run: 'a',
            budget: 100,
            expect: 'flat',
          },
        ],
      }),
    /needs a margin/,
  );
});

test('lower-gap on the log scale with a non-inferiority rule', () => {
  // b's gap is 1.1× a's on every seed (log-ratio 0.0953, zero spread).
  const rows = [0, 1, 2].flatMap((s) => [
    row({ run: 'a', seedIndex: s, gap: 0.5 }),
    row({ run: 'b', seedIndex: s, gap: 0.55 }),
  ]);
  const c = (o: Record<string, unknown>) => claim({ kind: 'lower-gap', budget: 100, scale: 'log', ...o });
  assert.equal(checkClaim(cfg2, c({ better: 'a', than: 'b' }), rows).verdict, 'supported');
  assert.equal(
    checkClaim(cfg2, c({ better: 'b', than: 'a', rule: 'non-inferiority', margin: 0.2 }), rows).verdict,
    'supported',
  );
  assert.equal(
    checkClaim(cfg2, c({ better: 'b', than: 'a', rule: 'non-inferiority', margin: 0.05 }), rows).verdict,
    'contradicted',
  );
});

test('studyEnvSpec: a study changes d or K of the generated environment only', async () => {
  const { studyEnvSpec } = await import('../../src/bandit/experiment/jobs.js');
  assert.deepEqual(studyEnvSpec(cfg2, 'k8'), { ...cfg2.env, K: 8 });
  assert.equal(studyEnvSpec(cfg2, 'g'), cfg2.env);
});
