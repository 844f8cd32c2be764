import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/math/rng.js';
import { annotatorReliabilities, type AnnotationExportRecord } from '../../src/bandit/multi/agreement.js';

/** Items with 3 responses of hidden quality; each annotator ranks every item by noisy quality·s. */
function simulatedExport(
  reliability: Record<string, number>,
  items: number,
  seed: number,
): AnnotationExportRecord[] {
  const rng = new Rng(seed);
  const out: AnnotationExportRecord[] = [];
  for (let i = 0; i < items; i++) {
    const quality = [0, 1, 2].map(() => 1.5 * rng.normal());
    for (const [annotator, s] of Object.entries(reliability)) {
      // Plackett–Luce at temperature 1/s by Gumbel-max.
      const keys = quality.map((q, a) => ({ a, k: s * q - Math.log(-Math.log(1 - rng.uniform())) }));
      keys.sort((x, y) => y.k - x.k);
      const ranking = keys.map((k) => k.a);
      const ratings = { helpful: quality.map((q) => Math.round(s * q + rng.normal())) };
      out.push({ item: `task-${i}`, annotator, ranking, ratings });
    }
  }
  return out;
}

test('annotator reliabilities from an export: honest ones > 0.7, random ≈ 0, adversarial < 0', () => {
  const truth = { ann: 1, bob: 1, cy: 1, dee: 1, eve: -1, fay: 0 };
  const report = annotatorReliabilities(simulatedExport(truth, 60, 1), 'ranking');
  assert.ok(report.converged);
  assert.equal(report.items, 60);
  assert.equal(report.comparisons, 60 * 6 * 3);
  const s = Object.fromEntries(report.annotators.map((a) => [a.annotator, a.reliability]));
  // With 6 annotators per item the per-item rewards are fitted to the same labels, which inflates the
  // honest reliabilities (an incidental-parameter bias): their sign and size class are what is reliable.
  for (const name of ['ann', 'bob', 'cy', 'dee'])
    assert.ok(s[name] > 0.7 && s[name] < 2.5, `${name}: ${s[name]}`);
  assert.ok(s.eve < -0.5, `eve: ${s.eve}`);
  assert.ok(Math.abs(s.fay) < 0.35, `fay: ${s.fay}`);
  const rated = annotatorReliabilities(simulatedExport(truth, 60, 2), 'helpful');
  const r = Object.fromEntries(rated.annotators.map((a) => [a.annotator, a.reliability]));
  assert.ok(r.eve < 0 && r.ann > 0.5, `ratings: ${JSON.stringify(r)}`);
});

test('export parsing: rankings give all their pairs, equal ratings give none, bad records are refused', () => {
  const recs: AnnotationExportRecord[] = [
    { item: 'a', annotator: 'x', ranking: [2, 0, 1], ratings: { safe: [3, 3, 1] } },
    { item: 'a', annotator: 'y', ranking: [0, 2] },
  ];
  assert.equal(annotatorReliabilities(recs, 'ranking').comparisons, 3 + 1);
  assert.equal(annotatorReliabilities(recs, 'safe').comparisons, 2);
  assert.throws(() => annotatorReliabilities([{ item: 'a', annotator: 'x', ranking: [1, 1] }]), /distinct/);
  assert.throws(
    () => annotatorReliabilities([{ item: 'a', annotator: 'x', ratings: { safe: [1.5, 2] } }], 'safe'),
    /integers/,
  );
});
