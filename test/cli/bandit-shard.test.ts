import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseShard, shardJobs } from '../../src/bandit/experiment/shard.js';
import { expandJobs } from '../../src/bandit/experiment/jobs.js';
import { experimentConfigSchema } from '../../src/bandit/experiment/config.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const main = join(root, 'dist/src/cli/main.js');

function gshf(...args: string[]) {
  const r = spawnSync(process.execPath, [main, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GSHF_QUIET: '1' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'gshf-shard-'));
const configLines = (seed: number) => [
  'name: tiny',
  `seed: ${seed}`,
  'seeds: 3',
  'workers: 1',
  'env: {source: generate, d: 3, K: 5, nContexts: 20, normB: 2, eta: 0.5, seed: 2}',
  'algorithms:',
  '  mle: {algorithm: mle-gibbs}',
  '  online: {algorithm: gshf-online, options: {enhancer: best-worst, T: 2}}',
  'studies:',
  '  - {name: s, title: S, budgets: [40, 120], runs: [mle, online]}',
  '  - {name: f, title: F, kind: frontier, budget: 60, etas: [0.25, 1], runs: [mle]}',
  'claims:',
  '  - {kind: lower-gap, text: "online beats mle", study: s, better: online, than: mle}',
];
const cfgPath = join(dir, 'tiny.yaml');
writeFileSync(cfgPath, configLines(5).join('\n'));

test('parseShard: 0-based i/N; bad values name the flag and the value', () => {
  assert.deepEqual(parseShard('0/2'), { index: 0, count: 2 });
  assert.deepEqual(parseShard(' 3 / 4 '), { index: 3, count: 4 });
  assert.throws(() => parseShard('2/2'), /--shard: expected 0 ≤ i < N in i\/N, got "2\/2"/);
  assert.throws(() => parseShard('1/0'), /0 ≤ i < N/);
  assert.throws(() => parseShard('a/3'), /--shard: expected i\/N .*got "a\/3"/);
});

test('shardJobs: the N shards partition the jobs (each job in exactly one), sizes differ by ≤ 1', () => {
  const cfg = experimentConfigSchema.parse({
    env: { source: 'generate', d: 2, K: 3, nContexts: 4, normB: 1, eta: 1 },
    seeds: 4,
    algorithms: { a: { algorithm: 'mle-gibbs' } },
    studies: [{ name: 's', title: 'S', budgets: [10, 20, 30], runs: ['a'] }],
  });
  const jobs = expandJobs(cfg); // 3 budgets × 4 seeds = 12 jobs
  assert.equal(jobs.length, 12);
  for (const N of [1, 2, 5, 12, 13]) {
    const parts = Array.from({ length: N }, (_, i) => shardJobs(jobs, { index: i, count: N }));
    const keys = parts.flat().map((j) => j.key);
    assert.equal(keys.length, 12, `N=${N}`);
    assert.equal(new Set(keys).size, 12, `N=${N}`);
    const sizes = parts.map((p) => p.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `N=${N}: ${sizes.join(',')}`);
  }
});

test('bandit run --shard 0/2 and 1/2, merged, equal the unsharded run', () => {
  const full = join(dir, 'full');
  const a = gshf('bandit', 'run', cfgPath, '--out', full);
  assert.equal(a.code, 0, a.err);
  const s0 = join(dir, 's0');
  const s1 = join(dir, 's1');
  const r0 = gshf('bandit', 'run', cfgPath, '--shard', '0/2', '--out', s0);
  assert.equal(r0.code, 0, r0.err);
  assert.match(r0.out, /shard 0\/2: 9 runs in .*s0/);
  assert.ok(!existsSync(join(s0, 'report.md')), 'a shard writes no report of its own');
  const r1 = gshf('bandit', 'run', cfgPath, '--shard', '1/2', '--out', s1);
  assert.equal(r1.code, 0, r1.err);

  const merged = join(dir, 'merged');
  const m = gshf('bandit', 'merge', merged, s1, s0); // order of the folders does not matter
  assert.equal(m.code, 0, m.err);
  assert.match(m.out, /report: .*merged\/report\.md/);

  // Same jobs, same order, same numbers; only the per-job wall-clock `seconds` differs.
  const norm = (p: string) =>
    (JSON.parse(readFileSync(p, 'utf8')) as { seconds: number }[]).map((r) => ({ ...r, seconds: 0 }));
  const want = norm(join(full, 'results.json'));
  assert.equal(want.length, 18); // 2 budgets × 2 runs × 3 seeds + 2 η × 1 run × 3 seeds
  assert.deepEqual(norm(join(merged, 'results.json')), want);
  const lines = (p: string) =>
    readFileSync(p, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => ({ ...(JSON.parse(l) as object), seconds: 0 }));
  assert.deepEqual(lines(join(merged, 'metrics.jsonl')), want);
  assert.equal(
    readFileSync(join(merged, 'config.json'), 'utf8'),
    readFileSync(join(full, 'config.json'), 'utf8'),
  );
  // The plots and the claims table depend only on the numbers: byte-equal.
  for (const svg of ['s-good.svg', 'f.svg'])
    assert.equal(readFileSync(join(merged, svg), 'utf8'), readFileSync(join(full, svg), 'utf8'), svg);
  const claims = (p: string) =>
    readFileSync(p, 'utf8')
      .split('\n')
      .filter((l) => l.includes('online beats mle'));
  assert.deepEqual(claims(join(merged, 'report.md')), claims(join(full, 'report.md')));
  assert.equal(claims(join(full, 'report.md')).length, 1);

  // Refusals, each naming the folder, and nothing written.
  const out = (name: string) => join(dir, name);
  const missing = gshf('bandit', 'merge', out('m1'), s0);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /shard 1\/2 missing/);
  const s0copy = out('s0copy');
  cpSync(s0, s0copy, { recursive: true });
  const overlap = gshf('bandit', 'merge', out('m2'), s0, s0copy, s1);
  assert.equal(overlap.code, 1);
  assert.match(overlap.err, /s0copy: shard 0\/2 is also in .*s0 \(overlapping shards\)/);
  const other = out('other.yaml');
  writeFileSync(other, configLines(6).join('\n'));
  const o1 = out('o1');
  assert.equal(gshf('bandit', 'run', other, '--shard', '1/2', '--out', o1).code, 0);
  const diff = gshf('bandit', 'merge', out('m3'), s0, o1);
  assert.equal(diff.code, 1);
  assert.match(diff.err, /o1: its config\.json differs from .*s0's/);
  // An interrupted shard (one job lost) is refused until resumed.
  const ml = readFileSync(join(s0copy, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean);
  writeFileSync(join(s0copy, 'metrics.jsonl'), ml.slice(1).join('\n') + '\n');
  const torn = gshf('bandit', 'merge', out('m4'), s0copy, s1);
  assert.equal(torn.code, 1);
  assert.match(torn.err, /s0copy: shard 0\/2 is incomplete \(1 of 9 jobs missing/);
  const wrongResume = gshf('bandit', 'run', cfgPath, '--shard', '1/2', '--out', s0copy, '--resume');
  assert.equal(wrongResume.code, 1);
  assert.match(wrongResume.err, /--resume as shard 1\/2, but this folder holds shard 0\/2/);
  assert.equal(gshf('bandit', 'run', cfgPath, '--shard', '0/2', '--out', s0copy, '--resume').code, 0);
  assert.equal(gshf('bandit', 'merge', out('m5'), s0copy, s1).code, 0);
  assert.deepEqual(norm(join(out('m5'), 'results.json')), want);
  for (const name of ['m1', 'm2', 'm3', 'm4']) assert.ok(!existsSync(out(name)), `${name} was not created`);
  const rep = gshf('bandit', 'report', s0);
  assert.equal(rep.code, 1);
  assert.match(rep.err, /s0: holds shard 0\/2 of a sharded run; combine all shards/);
  const again = gshf('bandit', 'merge', merged, s0, s1);
  assert.equal(again.code, 1);
  assert.match(again.err, /merged already holds a run/);
});
