import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { experimentConfigSchema } from '../../src/bandit/experiment/config.js';
import { expandJobs, runJob, type JobResult } from '../../src/bandit/experiment/jobs.js';
import { checkLabClaim, checkLabStudies, registerLabStudy } from '../../src/bandit/experiment/lab-studies.js';
import { buildReport } from '../../src/bandit/experiment/report.js';
import { uniformPolicy } from '../../src/bandit/policy.js';
import { GshfInputError } from '../../src/math/errors.js';

// A study whose arms report the first draw of the shared data stream and of their own stream.
registerLabStudy({
  name: 'test-draws',
  description: 'Test study.',
  options: z.object({ offset: z.number().default(0) }).strict(),
  arms: () => ['a', 'b'],
  metrics: [
    { name: 'data', lowerIsBetter: true, description: 'first shared draw' },
    { name: 'own', lowerIsBetter: true, description: 'first own draw' },
  ],
  runArm(ctx, arm) {
    return {
      policy: uniformPolicy(ctx.env),
      labelsUsed: 3,
      metrics: {
        data: ctx.dataRng.uniform() + ctx.options.offset,
        own: ctx.armRng.uniform() + (arm === 'a' ? 0 : 1),
      },
    };
  },
});

const base = {
  seeds: 3,
  env: { source: 'generate', d: 2, K: 3, nContexts: 2, normB: 1, eta: 0.5 },
  algorithms: {},
};

test('lab studies: one job per arm × seed (per-study seeds), arms share the data stream, runs are deterministic', () => {
  const cfg = experimentConfigSchema.parse({
    ...base,
    studies: [
      { kind: 'lab', name: 'draws', title: 'Draws', study: 'test-draws', options: { offset: 2 }, seeds: 4 },
    ],
  });
  checkLabStudies(cfg);
  const jobs = expandJobs(cfg);
  assert.deepEqual(
    jobs.map((j) => j.key),
    ['a', 'b'].flatMap((arm) => [0, 1, 2, 3].map((s) => `draws/${arm}/s=${s}`)),
  );
  const results = jobs.map((j) => runJob(cfg, j));
  for (let s = 0; s < 4; s++) {
    const [ra, rb] = [results[s], results[4 + s]];
    assert.equal(ra.metrics!.data, rb.metrics!.data, 'paired data');
    assert.ok(ra.metrics!.data >= 2 && ra.metrics!.data < 3, 'options reach the arm');
    assert.notEqual(ra.metrics!.own, rb.metrics!.own - 1, 'arms have their own streams');
  }
  assert.notEqual(results[0].metrics!.data, results[1].metrics!.data, 'seeds differ');
  const again = runJob(cfg, jobs[5]);
  assert.deepEqual({ ...again, seconds: 0 }, { ...results[5], seconds: 0 });
  const report = buildReport(cfg, results, { command: 'x', seconds: 1, envSummary: 'e' });
  assert.match(report.markdown, /\| a \| 4 \| 3 ± 0 \|/);
});

test('lab studies: unknown study, bad options and claims on unknown arms or metrics fail early, naming the field', () => {
  const bad =
    (studies: unknown[], claims: unknown[] = []) =>
    () =>
      checkLabStudies(experimentConfigSchema.parse({ ...base, studies, claims }), 'cfg.yaml');
  const study = { kind: 'lab', name: 'draws', title: 'D', study: 'test-draws' };
  assert.throws(bad([{ ...study, study: 'test-draw' }]), (e: unknown) => {
    assert.ok(e instanceof GshfInputError);
    assert.match(e.message, /studies\.0\.study/);
    assert.match(e.message, /test-draws/);
    return true;
  });
  assert.throws(bad([{ ...study, options: { ofset: 1 } }]), /studies\.0\.options/);
  const claim = { kind: 'lab', text: 't', study: 'draws', metric: 'data', better: 'a', than: 'b' };
  assert.throws(bad([study], [{ ...claim, than: 'c' }]), /claims\.0\.than/);
  assert.throws(bad([study], [{ ...claim, metric: 'dta' }]), /did you mean "data".*claims\.0\.metric/);
  assert.doesNotThrow(bad([study], [claim]));
});

test('lab claims: paired per-seed differences oriented by the metric direction, judged by the chosen rule', () => {
  const cfg = experimentConfigSchema.parse({
    ...base,
    studies: [{ kind: 'lab', name: 'draws', title: 'D', study: 'test-draws' }],
  });
  const res = (run: string, seedIndex: number, own: number) =>
    ({ study: 'draws', run, seedIndex, metrics: { own, data: 0 } }) as unknown as JobResult;
  // a is lower (better) than b by 1 ± 0.1 on every seed.
  const results = [0, 1, 2, 3, 4].flatMap((s) => [res('a', s, s), res('b', s, s + 1 + 0.1 * (s % 2))]);
  const claim = {
    kind: 'lab' as const,
    text: '',
    source: '',
    study: 'draws',
    metric: 'own',
    better: 'a',
    than: 'b',
    rule: 'superiority' as const,
  };
  assert.equal(checkLabClaim(cfg, claim, results).verdict, 'supported');
  assert.equal(checkLabClaim(cfg, { ...claim, better: 'b', than: 'a' }, results).verdict, 'contradicted');
  assert.equal(
    checkLabClaim(cfg, { ...claim, rule: 'equivalence', margin: 2 }, results).verdict,
    'supported',
  );
  assert.equal(
    checkLabClaim(cfg, { ...claim, rule: 'non-inferiority', better: 'b', than: 'a', margin: 0.5 }, results)
      .verdict,
    'contradicted',
  );
  assert.equal(checkLabClaim(cfg, { ...claim, metric: 'data' }, results.slice(0, 2)).verdict, 'no data');
});
