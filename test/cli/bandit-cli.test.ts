import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const main = join(root, 'dist/src/cli/main.js');

function gshf(...args: string[]) {
  const r = spawnSync(process.execPath, [main, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GSHF_QUIET: '1' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'gshf-cli-'));
const envFile = join(dir, 'env.json');
const pairsFile = join(dir, 'pairs.jsonl');

test('generate → fit → evaluate: θ_MLE close to θ*, and Gibbs(θ*) has zero gap', () => {
  const g = gshf(
    'bandit',
    'generate',
    '--out',
    envFile,
    '--d',
    '3',
    '--K',
    '5',
    '--contexts',
    '20',
    '--B',
    '2',
    '--eta',
    '0.5',
    '--seed',
    '3',
    '--pairs',
    pairsFile,
    '--n',
    '20000',
  );
  assert.equal(g.code, 0, g.err);
  const env = JSON.parse(readFileSync(envFile, 'utf8')) as { theta_star: number[] };
  const f = gshf('bandit', 'fit', '--env', envFile, '--pairs', pairsFile, '--lambda', '1', '--json');
  assert.equal(f.code, 0, f.err);
  const fit = JSON.parse(f.out) as { theta: number[]; converged: boolean; n_pairs: number };
  assert.equal(fit.converged, true);
  assert.ok(fit.n_pairs > 15000);
  // BT identifies θ only along feature differences; with 20k pairs the error is small.
  const err = Math.hypot(...fit.theta.map((t, i) => t - env.theta_star[i]));
  assert.ok(err < 0.25, `‖θ̂ − θ*‖ = ${err}`);

  const thetaFile = join(dir, 'theta.json');
  writeFileSync(thetaFile, f.out);
  const e = gshf('bandit', 'evaluate', '--env', envFile, '--theta', thetaFile, '--json');
  assert.equal(e.code, 0, e.err);
  const ev = JSON.parse(e.out) as {
    gap: { gap: number };
    kl_to_ref: number;
    per_context: { probs: number[] }[];
  };
  assert.ok(ev.gap.gap > 0 && ev.gap.gap < 0.05, `gap ${ev.gap.gap}`);
  assert.equal(ev.per_context.length, 20);
  assert.ok(Math.abs(ev.per_context[0].probs.reduce((a, b) => a + b, 0) - 1) < 1e-12);

  const star = gshf(
    'bandit',
    'evaluate',
    '--env',
    envFile,
    '--theta',
    JSON.stringify(env.theta_star),
    '--json',
  );
  const evStar = JSON.parse(star.out) as { gap: { gap: number } };
  assert.ok(Math.abs(evStar.gap.gap) < 1e-12);
});

test('evaluate a policy file: π0 itself has KL 0 and the gap equals J(π*) − J(π0) + η·KL(π*‖π0)', () => {
  const env = JSON.parse(readFileSync(envFile, 'utf8')) as { contexts: { ref_logprobs: number[] }[] };
  const policyFile = join(dir, 'pi0.json');
  writeFileSync(policyFile, JSON.stringify({ logprobs: env.contexts.map((c) => c.ref_logprobs) }));
  const e = gshf('bandit', 'evaluate', '--env', envFile, '--policy', policyFile, '--json');
  assert.equal(e.code, 0, e.err);
  const ev = JSON.parse(e.out) as {
    kl_to_ref: number;
    J: number;
    gap: { gap: number; J_star: number; kl_star_to_hat: number };
    eta: number;
  };
  assert.ok(Math.abs(ev.kl_to_ref) < 1e-12);
  assert.ok(Math.abs(ev.gap.gap - (ev.gap.J_star - ev.J + ev.eta * ev.gap.kl_star_to_hat)) < 1e-12);
});

test('bad inputs fail with one clear line naming the file and field', () => {
  const badPairs = join(dir, 'bad.jsonl');
  writeFileSync(
    badPairs,
    '{"context": 0, "chosen": 1, "rejected": 2}\n{"context": 0, "chosen": 99, "rejected": 2}\n',
  );
  const f = gshf('bandit', 'fit', '--env', envFile, '--pairs', badPairs, '--json');
  assert.equal(f.code, 1);
  assert.match(f.err, /bad\.jsonl/);
  assert.match(f.err, /line 2/);
  assert.match(f.err, /chosen/);
  const t = gshf('bandit', 'evaluate', '--env', envFile, '--theta', '[1, 2]');
  assert.equal(t.code, 1);
  assert.match(t.err, /theta.*length 2.*d=3/);
  const both = gshf('bandit', 'evaluate', '--env', envFile);
  assert.match(both.err, /exactly one of --theta or --policy/);
  const lam = gshf('bandit', 'fit', '--env', envFile, '--pairs', pairsFile, '--lambda', 'abc');
  assert.match(lam.err, /--lambda: expected a number/);
  const cfg = join(dir, 'bad.yaml');
  writeFileSync(
    cfg,
    'name: x\nseeds: 2\nenv: {source: generate, d: 2, K: 3, nContexts: 5, normB: 1, eta: -1}\nalgorithms: {}\nstudies: []\n',
  );
  const r = gshf('bandit', 'run', cfg, '--out', join(dir, 'never'));
  assert.equal(r.code, 1);
  assert.match(r.err, /bad\.yaml:3: field "env\.eta"/);
});

test('bandit run: report written; a killed run resumed with --resume gives identical results', () => {
  const cfg = join(dir, 'small.yaml');
  writeFileSync(
    cfg,
    [
      'name: small',
      'seed: 5',
      'seeds: 3',
      'workers: 2',
      'env: {source: generate, d: 3, K: 6, nContexts: 30, normB: 2, eta: 0.5, seed: 2}',
      'algorithms:',
      '  mle: {algorithm: mle-gibbs}',
      '  online: {algorithm: gshf-online, options: {enhancer: best-worst, T: 3}}',
      'studies:',
      '  - {name: s, title: S, budgets: [60, 240], runs: [mle, online]}',
      'claims:',
      '  - {kind: lower-gap, text: "online beats mle", study: s, better: online, than: mle}',
    ].join('\n'),
  );
  const full = join(dir, 'full');
  const a = gshf('bandit', 'run', cfg, '--out', full);
  assert.equal(a.code, 0, a.err);
  const report = readFileSync(join(full, 'report.md'), 'utf8');
  assert.match(report, /online beats mle/);
  assert.ok(existsSync(join(full, 's-good.svg')));
  const results = readFileSync(join(full, 'results.json'), 'utf8');
  assert.equal((JSON.parse(results) as unknown[]).length, 12);

  // Simulate a crash: keep 5 finished jobs and half of a sixth line, then resume.
  const part = join(dir, 'part');
  const b = gshf('bandit', 'run', cfg, '--out', part);
  assert.equal(b.code, 0, b.err);
  const lines = readFileSync(join(part, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean);
  writeFileSync(join(part, 'metrics.jsonl'), lines.slice(0, 5).join('\n') + '\n' + lines[5].slice(0, 20));
  const again = gshf('bandit', 'run', cfg, '--out', part);
  assert.equal(again.code, 1);
  assert.match(again.err, /already holds a run: pass --resume/);
  const c = gshf('bandit', 'run', cfg, '--out', part, '--resume');
  assert.equal(c.code, 0, c.err);
  const norm = (s: string) => (JSON.parse(s) as { seconds: number }[]).map((r) => ({ ...r, seconds: 0 }));
  assert.deepEqual(norm(readFileSync(join(part, 'results.json'), 'utf8')), norm(results));
});

test('the reference algorithm returns π0 and its gap matches evaluate on π0', async () => {
  const { getAlgorithm } = await import('../../src/bandit/algorithms/index.js');
  const { readEnvFile } = await import('../../src/bandit/files.js');
  const { emptyPairs } = await import('../../src/bandit/env.js');
  const { Rng } = await import('../../src/math/rng.js');
  const env = readEnvFile(envFile);
  const r = getAlgorithm('reference').run({ env, offline: emptyPairs(), oracle: null, rng: new Rng(1) }, {});
  assert.deepEqual(Array.from(r.policy), Array.from(env.refLogprobs));
  assert.equal(r.labelsUsed, 0);
  assert.throws(
    () =>
      getAlgorithm('reference').run({ env, offline: emptyPairs(), oracle: null, rng: new Rng(1) }, { x: 1 }),
    /takes no options/,
  );
});
