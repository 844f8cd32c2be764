import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LabelQuery } from '../../src/iterate/labels.js';
import type { PolicyBackend, PolicySample, TrainRequest } from '../../src/iterate/policy.js';
import {
  runIteration,
  syncLedgerView,
  withinBudget,
  type IterationInput,
  type PairSelector,
  type RewardScorer,
} from '../../src/iterate/iteration.js';

/**
 * A backend whose "policy" is a string tag: sampling returns `${tag}:${prompt}:${j}` repeated to
 * lengths j+1, training returns the tag `it${iteration}` and records what it was asked.
 */
class FakeBackend implements PolicyBackend {
  readonly name = 'fake';
  readonly initial = 'pi0';
  trains: TrainRequest[] = [];
  samples = 0;
  async sample(policy: string, prompts: readonly string[], n: number): Promise<PolicySample[][]> {
    this.samples++;
    return prompts.map((p) =>
      Array.from({ length: n }, (_, j) => ({ text: `${policy}:${p}:${'x'.repeat(j + 1)}` })),
    );
  }
  async train(req: TrainRequest) {
    this.trains.push(req);
    return { policy: `it${req.iteration}`, summary: { pairs: req.pairs.length } };
  }
}

/** RM = response length; the prompt "flat" gets equal scores (no pair). */
const lengthRm: RewardScorer = {
  score: async (prompts, samples) =>
    samples.map((row, i) => ({ mean: row.map((s) => (prompts[i] === 'flat' ? 0 : s.text.length)) })),
};

const bestWorst: PairSelector = (_texts, sc) => {
  let hi = 0;
  let lo = 0;
  sc.mean.forEach((v, i) => {
    if (v > sc.mean[hi]) hi = i;
    if (v < sc.mean[lo]) lo = i;
  });
  return sc.mean[hi] > sc.mean[lo] ? { a: hi, b: lo, priority: sc.mean[hi] - sc.mean[lo] } : null;
};

function input(over: Partial<IterationInput> = {}): IterationInput {
  return {
    iteration: 1,
    prompts: ['u', 'v', 'flat', 'w'],
    idPrefix: 'it1',
    n: 3,
    seed: 's',
    schedule: 'warm',
    policy: 'pi0',
    history: [],
    out: '/nonexistent',
    ...over,
  };
}

test('runIteration: best-vs-worst pairs, labels by the source, warm start trains π_{t−1} on D_t', async () => {
  const be = new FakeBackend();
  const asked: string[] = [];
  // The labeller prefers the SHORTER response for prompt v (against the RM), longer otherwise.
  const ledger = syncLedgerView('test', (p, a, b, id) => {
    asked.push(id);
    return p === 'v' ? a.length < b.length : a.length > b.length;
  });
  const prev = { id: 'it0/p0', prompt: 'old', chosen: { text: 'c' }, rejected: { text: 'r' } };
  const res = await runIteration(input({ policy: 'pol', history: [prev] }), {
    backend: be,
    rewardModel: lengthRm,
    select: bestWorst,
    ledger,
  });
  assert.deepEqual(asked, ['it1/p0', 'it1/p1', 'it1/p3']);
  assert.equal(res.selection.noPair, 1);
  assert.equal(res.selection.labelled, 3);
  assert.equal(res.pairs[0].chosen.text, 'pol:u:xxx');
  assert.equal(res.pairs[0].rejected.text, 'pol:u:x');
  assert.equal(res.pairs[1].chosen.text, 'pol:v:x'); // the labeller overrules the RM
  assert.equal(be.trains.length, 1);
  assert.equal(be.trains[0].init, 'pol');
  assert.equal(be.trains[0].ref, 'pi0');
  assert.equal(be.trains[0].pairs.length, 3); // warm: D_t only
  assert.equal(res.policy, 'it1');
  // RM mean over the 3 scored prompts' rows: lengths of "pol:u:x…" are 7,8,9 → mean 8; flat 0.
  assert.equal(res.rmSampleMean, (8 + 8 + 0 + 8) / 4);
  assert.equal(res.rmBestOfN, (9 + 9 + 0 + 9) / 4);
});

test('runIteration: retrain trains π0 on history + D_t; ties and unanswered are not trained on', async () => {
  const be = new FakeBackend();
  const ledger = {
    name: 'partial',
    has: () => false,
    label: async (qs: readonly LabelQuery[]) => [
      { id: qs[0].id, verdict: 'tie' as const, source: 'x' },
      { id: qs[1].id, verdict: 'b' as const, source: 'x' },
    ],
  };
  const prev = { id: 'it0/p0', prompt: 'old', chosen: { text: 'c' }, rejected: { text: 'r' } };
  const res = await runIteration(input({ schedule: 'retrain', policy: 'pol', history: [prev] }), {
    backend: be,
    rewardModel: lengthRm,
    select: bestWorst,
    ledger,
    refit: async (all) => ({ refitPairs: all.length }),
    evaluate: async (pol) => ({ evaluated: pol }),
  });
  assert.deepEqual(
    { t: res.selection.ties, l: res.selection.labelled, u: res.selection.unanswered },
    { t: 1, l: 1, u: 1 },
  );
  assert.equal(res.pairs[0].chosen.text, 'pol:v:x'); // verdict b = the RM's loser
  assert.equal(be.trains[0].init, 'pi0');
  assert.equal(be.trains[0].pairs.length, 2);
  assert.deepEqual(res.refit, { refitPairs: 2 });
  assert.deepEqual(res.eval, { evaluated: 'it1' });
});

test('runIteration: no labelled pair under warm start keeps π_{t−1} and skips training', async () => {
  const be = new FakeBackend();
  const ledger = { name: 'mute', has: () => false, label: async () => [] };
  const res = await runIteration(input({ policy: 'pol' }), {
    backend: be,
    rewardModel: lengthRm,
    select: bestWorst,
    ledger,
  });
  assert.equal(be.trains.length, 0);
  assert.equal(res.policy, 'pol');
  assert.equal(res.train, null);
  assert.equal(res.selection.unanswered, 3);
});

test('withinBudget: paid ids are free; the rest by priority, in query order; resume asks the same set', () => {
  const qs: LabelQuery[] = [1, 5, 3, 5, 2].map((p, i) => ({
    id: `q${i}`,
    prompt: '',
    a: '',
    b: '',
    priority: p,
  }));
  const none = { has: () => false };
  const r = withinBudget(qs, none, { limit: 3, used: () => 0 });
  assert.deepEqual(
    r.asked.map((q) => q.id),
    ['q1', 'q2', 'q3'],
  );
  assert.equal(r.overBudget, 2);
  // Crash after q1 and q3 were paid: 1 label left; the same set comes out.
  const paid = new Set(['q1', 'q3']);
  const r2 = withinBudget(qs, { has: (id) => paid.has(id) }, { limit: 3, used: () => 2 });
  assert.deepEqual(
    r2.asked.map((q) => q.id),
    ['q1', 'q2', 'q3'],
  );
  // Over-spent budget (never negative) and no budget at all.
  assert.deepEqual(withinBudget(qs, none, { limit: 1, used: () => 4 }).asked, []);
  assert.equal(withinBudget(qs, none).asked.length, 5);
});

test('runIteration: the budget caps the labels paid in an iteration', async () => {
  const be = new FakeBackend();
  let paid = 0;
  const ledger = syncLedgerView('count', () => {
    paid++;
    return true;
  });
  const res = await runIteration(input(), {
    backend: be,
    rewardModel: lengthRm,
    select: bestWorst,
    ledger,
    budget: { limit: 2, used: () => 0 },
  });
  assert.equal(paid, 2);
  assert.equal(res.selection.overBudget, 1);
  assert.equal(res.budgetReached, true);
  assert.equal(res.pairs.length, 2);
});
