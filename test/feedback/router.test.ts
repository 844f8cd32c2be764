import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RouterLabelSource, routerSourceSchema, type RouterTier } from '../../src/feedback/router.js';
import { AsyncLabelLedger } from '../../src/feedback/ledger.js';
import { labelSourceSchema, createLabelSource } from '../../src/feedback/registry.js';
import { parseConfigText } from '../../src/cli/config-file.js';
import { loopConfigSchema, resolveConfigPaths } from '../../src/loop/config.js';
import type { AsyncLabelSource, LabelQuery, Verdict } from '../../src/feedback/types.js';

/** A scripted source: answers `verdicts[id]` (default 'a'), records what it was asked. */
function scripted(
  name: string,
  verdicts: Record<string, Verdict> = {},
): AsyncLabelSource & { asked: string[] } {
  const asked: string[] = [];
  return {
    name,
    asked,
    label: async (qs) => {
      asked.push(...qs.map((q) => q.id));
      return qs.map((q) => ({ id: q.id, verdict: verdicts[q.id] ?? 'a', source: name }));
    },
  };
}

/** Ten queries q1..q10 with uncertainty 1..10 and RM margin 0.5. */
const queries: LabelQuery[] = Array.from({ length: 10 }, (_, k) => ({
  id: `q${k + 1}`,
  prompt: 'P',
  a: `a${k}`,
  b: `b${k}`,
  uncertainty: k + 1,
  margin: 0.5,
}));

function tiers(judge: AsyncLabelSource, human: AsyncLabelSource): RouterTier[] {
  return [
    { name: 'rm', cost: 0, share: 1, source: 'self' },
    { name: 'judge', cost: 1, share: 0.3, source: judge },
    { name: 'human', cost: 5, share: 0.2, source: human },
  ];
}

test('router: the most uncertain pairs go to the expensive tiers, by share, the rest to the free RM', async () => {
  const judge = scripted('judge');
  const human = scripted('human');
  const r = new RouterLabelSource(tiers(judge, human), { budget: 100, escalate: true, confidence: 0 });
  const ans = await r.label(queries);
  assert.deepEqual(human.asked, ['q10', 'q9']);
  assert.deepEqual(judge.asked, ['q8', 'q7', 'q6']);
  assert.equal(ans.length, 10);
  const route = Object.fromEntries(ans.map((a) => [a.id, a.detail?.route]));
  assert.deepEqual(
    ['q1', 'q5', 'q6', 'q8', 'q9', 'q10'].map((id) => route[id]),
    ['rm', 'rm', 'judge', 'judge', 'human', 'human'],
  );
  assert.equal(r.costSpent, 2 * 5 + 3 * 1);
  assert.equal(ans.find((a) => a.id === 'q10')?.detail?.cost, 5);
  assert.equal(ans.find((a) => a.id === 'q1')?.source, 'router:rm>judge>human/rm');
  assert.deepEqual(ans.find((a) => a.id === 'q1')?.detail, {
    route: 'rm',
    cost: 0,
    asked: [{ tier: 'rm', verdict: 'a' }],
    uncertainty: 1,
    margin: 0.5,
  });
});

test('router: a tie or an answer against the RM escalates one tier up; the expensive answer wins', async () => {
  const judge = scripted('judge', { q8: 'tie', q7: 'b', q6: 'a' });
  const human = scripted('human', { q8: 'b', q7: 'a' });
  const r = new RouterLabelSource(tiers(judge, human), { budget: 100, escalate: true, confidence: 0 });
  const ans = new Map((await r.label(queries)).map((a) => [a.id, a]));
  assert.deepEqual(human.asked, ['q10', 'q9', 'q8', 'q7']);
  assert.equal(ans.get('q8')?.verdict, 'b');
  assert.equal(ans.get('q7')?.verdict, 'a');
  assert.equal(ans.get('q6')?.verdict, 'a');
  assert.deepEqual(ans.get('q8')?.detail?.asked, [
    { tier: 'judge', verdict: 'tie' },
    { tier: 'human', verdict: 'b' },
  ]);
  assert.equal(ans.get('q8')?.detail?.cost, 6);
  assert.equal(r.costSpent, 2 * 5 + 3 * 1 + 2 * 5);
  // Without escalation the judge's answers stand.
  const flat = new RouterLabelSource(tiers(scripted('j', { q8: 'tie' }), scripted('h')), {
    budget: 100,
    escalate: false,
  });
  assert.equal((await flat.label(queries)).find((a) => a.id === 'q8')?.verdict, 'tie');
});

test('router: the budget caps the expensive tiers; the RM escalates pairs it cannot order', async () => {
  const judge = scripted('judge');
  const human = scripted('human');
  const r = new RouterLabelSource(tiers(judge, human), { budget: 7, escalate: true, confidence: 0 });
  const noMargin = queries.map((q) => (q.id === 'q2' ? { ...q, margin: 0 } : q));
  const ans = await r.label(noMargin);
  assert.deepEqual(human.asked, ['q10']); // 5 of 7 units
  assert.deepEqual(judge.asked, ['q9', 'q8']); // the other 2 (its share of 3 is cut by the budget)
  assert.equal(r.costSpent, 7);
  // q2 has no RM preference and the budget cannot escalate it: unanswered, not guessed.
  assert.equal(ans.length, 9);
  assert.ok(!ans.some((a) => a.id === 'q2'));
});

test('router: restore recounts the spent budget from the ledger after a resume', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-router-'));
  try {
    const path = join(dir, 'labels.jsonl');
    const first = new RouterLabelSource(tiers(scripted('j'), scripted('h')), {
      budget: 20,
      escalate: true,
      confidence: 0,
    });
    await new AsyncLabelLedger(first, path, { fsync: false }).label(queries.slice(0, 5));
    assert.equal(first.costSpent, 5 + 2); // of 5 queries: 20 % → 1 human, 30 % → 2 (rounded) judges
    const again = new RouterLabelSource(tiers(scripted('j'), scripted('h')), {
      budget: 20,
      escalate: true,
      confidence: 0,
    });
    new AsyncLabelLedger(again, path, { fsync: false });
    assert.equal(again.costSpent, first.costSpent);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('router config: tiers cheapest first, unique names; nested sources are validated and built', async () => {
  const schema = routerSourceSchema(labelSourceSchema);
  const bad = schema.safeParse({
    kind: 'router',
    budget: 10,
    tiers: [
      { name: 'h', cost: 5, source: { kind: 'oracle' } },
      { name: 'h', cost: 1, source: 'self' },
    ],
  });
  assert.equal(bad.success, false);
  const msg = JSON.stringify(bad.error?.issues);
  assert.match(msg, /duplicate tier name \\"h\\"/);
  assert.match(msg, /from the cheapest to the most expensive: 1 < 5/);
  const yaml = [
    'prompts: {path: p.jsonl, perIteration: 2}',
    'iterations: 1',
    'budget: 4',
    'labels:',
    '  kind: router',
    '  budget: 30',
    '  tiers:',
    '    - {name: rm, cost: 0, source: self}',
    '    - {name: human, cost: 5, share: 0.25, source: {kind: command, command: "node l.mjs", timeoutSecs: 5}}',
    'policy: {kind: local, model: pi0}',
  ].join('\n');
  assert.throws(
    () => parseConfigText(yaml, 'loop.yaml', loopConfigSchema),
    /loop\.yaml:9: field "labels\.tiers\.1\.source\.timeoutSecs": unknown key; did you mean "timeoutSeconds"\?/,
  );
  const ok = resolveConfigPaths(
    parseConfigText(yaml.replace('timeoutSecs', 'timeoutSeconds'), 'loop.yaml', loopConfigSchema),
    '/cfg',
  );
  const human = (ok.labels as unknown as { tiers: { source: { cwd?: string } }[] }).tiers[1].source;
  assert.equal(human.cwd, '/cfg', 'a nested command source runs in the config folder too');
  const built = await createLabelSource(ok.labels, { seed: 's', env: {} });
  assert.equal(built.name, 'router:rm>human');
});

test('router: the RM tier answers only where its margin exceeds confidence × uncertainty', async () => {
  const judge = scripted('judge');
  const qs: LabelQuery[] = [
    { id: 'sure', prompt: 'P', a: 'x', b: 'y', margin: 3, uncertainty: 1 },
    { id: 'unsure', prompt: 'P', a: 'x', b: 'z', margin: 0.5, uncertainty: 1 },
  ];
  const tiersOf = (): RouterTier[] => [
    { name: 'rm', cost: 0, share: 1, source: 'self' },
    { name: 'judge', cost: 1, share: 0, source: judge },
  ];
  const ans = await new RouterLabelSource(tiersOf(), { budget: 10, escalate: true, confidence: 1 }).label(qs);
  assert.deepEqual(
    ans.map((a) => [a.id, a.detail?.route]),
    [
      ['sure', 'rm'],
      ['unsure', 'judge'],
    ],
  );
  assert.deepEqual(judge.asked, ['unsure']);
});
