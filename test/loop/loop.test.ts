/**
 * `gshf loop` end to end on a tiny untrained π0 (local backend) with the gold oracle as the label
 * source: labels equal the oracle's own answers, budget enforcement, config validation before any
 * write, and --resume after SIGKILL at several points ends with the same numbers and ledger.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../../src/cli/config-file.js';
import { loopConfigSchema, resolveConfigPaths } from '../../src/loop/config.js';
import { runLoop } from '../../src/loop/driver.js';
import type { LoopMetrics } from '../../src/loop/run-folder.js';
import { GoldOracle, goldReward } from '../../src/pref/gold.js';
import { loopConfig } from './helpers.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'gshf-loop-'));
}

function load(path: string) {
  return resolveConfigPaths(loadConfigFile(path, loopConfigSchema), join(path, '..'));
}

interface Rec {
  id: string;
  prompt: string;
  a: string;
  b: string;
  verdict: string;
  source: string;
}

function ledger(out: string): Rec[] {
  return readFileSync(join(out, 'labels.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Rec);
}

function metrics(out: string): LoopMetrics[] {
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as LoopMetrics);
}

/** The deterministic part of the rows: everything but wall-clock timing and run-folder paths. */
function numbers(rows: LoopMetrics[]) {
  return rows.map((r) => ({ ...r, timing: undefined, policy: r.policy.replace(/^.*\/iterations\//, '') }));
}

const quiet = { log: () => {} };

test('loop (local + oracle): labels are the oracle, DPO trains on them, RM refits on all, eval is recomputable', async () => {
  const dir = tmp();
  const cfg = load(loopConfig(dir));
  const out = join(dir, 'run');
  const res = await runLoop(cfg, { out, ...quiet });
  assert.equal(res.rows.length, 3);
  assert.equal(res.stoppedBy, 'iterations');
  const recs = ledger(out);
  assert.equal(recs.length, 8);
  assert.equal(new Set(recs.map((r) => r.id)).size, 8);
  assert.deepEqual(
    recs.map((r) => r.id.split('/')[0]),
    ['it1', 'it1', 'it1', 'it1', 'it2', 'it2', 'it2', 'it2'],
  );
  // Every verdict is the gold BT oracle's answer for that id and those texts.
  const oracle = new GoldOracle({ seed: '3/oracle', temperature: 1 });
  for (const r of recs) assert.equal(r.verdict, oracle.compare(r.prompt, r.a, r.b, r.id) ? 'a' : 'b', r.id);
  const [r0, r1, r2] = res.rows;
  assert.equal(r0.eval.kl, 0); // π0 against itself
  assert.equal(r1.train?.pairs, 4); // warm: D_1
  assert.equal(r2.train?.pairs, 4); // warm: D_2 only
  assert.equal(r1.refit?.rm_pairs, 4);
  assert.equal(r2.refit?.rm_pairs, 8); // the RM sees every label so far
  assert.equal(r2.labels_used, 8);
  assert.notEqual(r1.eval.kl, 0);
  // Gold on the stored eval samples, recomputed.
  const ev = JSON.parse(readFileSync(join(out, 'iterations/it2/eval-samples.json'), 'utf8')) as {
    prompts: string[];
    texts: string[];
  };
  assert.equal(ev.texts.length, 2 * 2);
  const gold = ev.texts.reduce((a, t, i) => a + goldReward(ev.prompts[i], t), 0) / ev.texts.length;
  assert.equal(r2.eval.gold, gold);
  assert.equal(metrics(out).length, 3);
  assert.match(readFileSync(join(out, 'report.md'), 'utf8'), /\| 2 \| 8 \| 4 \|/);
  assert.ok(existsSync(join(out, 'reward.svg')) && existsSync(join(out, 'kl.svg')));

  // Retrain schedule: π_2 is trained from π0 on D_1 ∪ D_2.
  const cfg2 = load(loopConfig(join(dir, 'retrain'), { schedule: 'retrain', enhancer: 'uncertainty' }));
  const res2 = await runLoop(cfg2, { out: join(dir, 'run-retrain'), ...quiet });
  assert.equal(res2.rows[2].train?.pairs, 8);
});

test('loop: the label budget is never exceeded and the loop stops cleanly', async () => {
  const dir = tmp();
  // 4 prompts per iteration, budget 6: iteration 2 can pay only 2 labels, then the loop stops.
  const res = await runLoop(load(loopConfig(dir, { budget: 6, iterations: 4 })), {
    out: join(dir, 'a'),
    ...quiet,
  });
  assert.equal(res.stoppedBy, 'budget');
  assert.equal(res.rows.length, 3);
  assert.equal(res.labelsUsed, 6);
  assert.equal(ledger(join(dir, 'a')).length, 6);
  const s2 = res.rows[2].selection!;
  assert.deepEqual([s2.asked, s2.overBudget, s2.paid], [2, 2, 2]);
  assert.equal(res.rows[2].budget_reached, true);
  // Budget 4 = exactly one iteration: iteration 2 never starts.
  const logs: string[] = [];
  const res4 = await runLoop(load(loopConfig(join(dir, 'b'), { budget: 4, iterations: 3 })), {
    out: join(dir, 'b-run'),
    log: (l) => logs.push(l),
  });
  assert.equal(res4.rows.length, 2);
  assert.equal(res4.labelsUsed, 4);
  assert.ok(
    logs.some((l) => /label budget reached \(4\/4\): stopping before iteration 2/.test(l)),
    logs.join('\n'),
  );
  assert.ok(!existsSync(join(dir, 'b-run/iterations/it2')));
});

test('loop config: errors name file, line and field, and nothing is written', () => {
  const dir = tmp();
  const path = join(dir, 'bad.yaml');
  writeFileSync(
    path,
    [
      'prompts:',
      '  path: p.jsonl',
      '  perIteration: 4',
      'iterations: 2',
      'budget: -3',
      'labels:',
      '  kind: judg',
      'policy:',
      '  kind: local',
      '  model: pi0',
      '  sampling: { temprature: 1 }',
      '',
    ].join('\n'),
  );
  const r = spawnSync(process.execPath, [CLI, 'loop', path, '--out', join(dir, 'out')], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad\.yaml:5: field "budget": Too small/);
  assert.match(
    r.stderr,
    /bad\.yaml:7: field "labels\.kind": unknown label source kind "judg" \(kinds: oracle, /,
  );
  assert.match(r.stderr, /bad\.yaml:11: field "policy\.sampling\.temprature": unknown key/);
  assert.ok(!existsSync(join(dir, 'out')), 'nothing written');
  // A prompts file too small for eval + one iteration is caught before the run folder exists.
  const small = loopConfig(join(dir, 'small'), {
    prompts: { path: join(dir, 'small/prompts.jsonl'), perIteration: 7, eval: 2 },
  });
  const r2 = spawnSync(process.execPath, [CLI, 'loop', small, '--out', join(dir, 'out2')], {
    encoding: 'utf8',
  });
  assert.match(
    r2.stderr,
    /8 distinct prompts, but prompts\.eval \(2\) \+ prompts\.perIteration \(7\) need 9/,
  );
  assert.ok(!existsSync(join(dir, 'out2')));
});

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, 'loop', ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
}

test('loop --resume after SIGKILL (mid-labelling, after training, after sampling): same numbers, no label paid twice', () => {
  const dir = tmp();
  const cfgPath = loopConfig(dir, { iterations: 3, ledger: { fsync: true, chunk: 1 } });
  const ref = join(dir, 'ref');
  const ok = cli([cfgPath, '--out', ref]);
  assert.equal(ok.status, 0, ok.stderr);
  const want = numbers(metrics(ref));
  const wantLedger = ledger(ref).map((r) => [r.id, r.prompt, r.a, r.b, r.verdict]);
  assert.equal(wantLedger.length, 12);

  const crashes: [string, Record<string, string>, number][] = [
    ['labels', { GSHF_CRASH_AFTER_LABELS: '6' }, 6], // mid-iteration 2, between two paid labels
    ['train', { GSHF_CRASH_AFTER_STEP: 'it2/train' }, 8], // after π_2 is trained, before the RM refit
    ['sample', { GSHF_CRASH_AFTER_STEP: 'it3/sample' }, 8], // after sampling, before any label of it3
  ];
  for (const [name, env, paidAtCrash] of crashes) {
    const out = join(dir, `crash-${name}`);
    const killed = cli([cfgPath, '--out', out], env);
    assert.equal(killed.signal, 'SIGKILL', `${name}: ${killed.stderr}`);
    assert.equal(ledger(out).length, paidAtCrash, name);
    const again = cli([cfgPath, '--out', out]);
    assert.match(again.stderr, /already holds a run: pass --resume/);
    const resumed = cli([cfgPath, '--out', out, '--resume']);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`resuming: ${paidAtCrash} labels already in the ledger`));
    assert.deepEqual(numbers(metrics(out)), want, name);
    const got = ledger(out);
    assert.equal(new Set(got.map((r) => r.id)).size, got.length, `${name}: an id paid twice`);
    assert.deepEqual(
      got.map((r) => [r.id, r.prompt, r.a, r.b, r.verdict]),
      wantLedger,
      name,
    );
  }
});
