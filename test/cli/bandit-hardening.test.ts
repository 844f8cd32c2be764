/**
 * Regression tests of the bandit CLI's hardening: concurrent runs on one folder, torn metrics lines,
 * validation before writing, read-only output folders, corrupt run-folder files, config typos.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const main = join(root, 'dist/src/cli/main.js');

function gshf(args: string[], opts: { uid?: number } = {}) {
  const r = spawnSync(process.execPath, [main, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GSHF_QUIET: '1' },
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'gshf-hard-'));
chmodSync(dir, 0o755);
const cfg = join(dir, 'tiny.yaml');
const tinyLines = [
  'name: tiny',
  'seeds: 2',
  'workers: 1',
  'env: {source: generate, d: 2, K: 4, nContexts: 10, normB: 1, eta: 0.5, seed: 1}',
  'algorithms:',
  '  mle: {algorithm: mle-gibbs}',
  '  ref: {algorithm: reference}',
  'studies:',
  '  - {name: s, title: S, budgets: [20, 40], runs: [mle, ref]}',
];
writeFileSync(cfg, tinyLines.join('\n') + '\n');
const N_JOBS = 8; // 2 runs × 2 budgets × 2 seeds

const metricLines = (out: string) =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean);

test('two `bandit run --resume` on one --out: the second is refused while the first runs', async () => {
  const out = join(dir, 'concurrent');
  const first = spawn(process.execPath, [main, 'bandit', 'run', cfg, '--out', out, '--resume'], {
    env: { ...process.env, GSHF_QUIET: '1' },
    stdio: 'ignore',
  });
  // Wait until the first process holds the lock, then freeze it so it is surely still running.
  while (!existsSync(join(out, '.lock'))) await new Promise((r) => setTimeout(r, 5));
  first.kill('SIGSTOP');
  try {
    const second = gshf(['bandit', 'run', cfg, '--out', out, '--resume']);
    assert.equal(second.code, 1);
    assert.match(
      second.err,
      new RegExp(
        `^gshf: ${out} is in use by gshf pid ${first.pid} \\(started .*\\); wait for it or remove ${out}/.lock if that process is gone\\n$`,
      ),
    );
  } finally {
    first.kill('SIGCONT');
  }
  const [code] = (await once(first, 'exit')) as [number];
  assert.equal(code, 0);
  assert.equal(metricLines(out).length, N_JOBS, 'every job ran exactly once');
  assert.equal(existsSync(join(out, '.lock')), false, 'released at exit');
  const third = gshf(['bandit', 'run', cfg, '--out', out, '--resume']);
  assert.equal(third.code, 0, third.err);
  assert.equal(metricLines(out).length, N_JOBS);
});

test('a torn metrics.jsonl line: report refuses with the line; --resume truncates it and says so', () => {
  const out = join(dir, 'torn');
  assert.equal(gshf(['bandit', 'run', cfg, '--out', out]).code, 0);
  const lines = metricLines(out);
  const fragment = lines[7].slice(0, 30);
  writeFileSync(join(out, 'metrics.jsonl'), lines.slice(0, 7).join('\n') + '\n' + fragment);
  const rep = gshf(['bandit', 'report', out]);
  assert.equal(rep.code, 1);
  assert.match(rep.err, new RegExp(`^gshf: ${out}/metrics.jsonl:8: incomplete last line \\(30 bytes`));
  assert.match(rep.err, /--resume\) to remove it/);
  const res = gshf(['bandit', 'run', cfg, '--out', out, '--resume']);
  assert.equal(res.code, 0, res.err);
  assert.match(res.err, /metrics\.jsonl:8: removed an incomplete last line \(30 bytes/);
  assert.match(res.err, /resuming: 7 of 8 runs/);
  const after = metricLines(out);
  assert.equal(after.length, N_JOBS);
  for (const l of after) JSON.parse(l); // no line glued onto the fragment
  // A report from a run that has fewer records than jobs says how many are missing.
  writeFileSync(join(out, 'metrics.jsonl'), after.slice(0, 6).join('\n') + '\n');
  const partial = gshf(['bandit', 'report', out]);
  assert.equal(partial.code, 0, partial.err);
  assert.match(partial.err, /6 of 8 runs recorded \(2 missing/);
});

test('algorithm-option errors surface before the run folder exists; the corrected rerun works', () => {
  const bad = join(dir, 'bad-option.yaml');
  writeFileSync(
    bad,
    tinyLines.join('\n').replace('{algorithm: mle-gibbs}', '{algorithm: mle-gibbs, options: {lamda: 2}}'),
  );
  const out = join(dir, 'bad-option-run');
  const r = gshf(['bandit', 'run', bad, '--out', out]);
  assert.equal(r.code, 1);
  assert.equal(
    r.err,
    `gshf: ${bad}: mle-gibbs: unknown option "lamda"; did you mean "lambda"? (field "algorithms.mle.options")\n`,
  );
  assert.equal(existsSync(out), false, 'nothing written');
  assert.equal(gshf(['bandit', 'run', cfg, '--out', out]).code, 0);
});

test('config typos in nested objects name the key path and suggest the nearest key', () => {
  const typo = join(dir, 'typo.yaml');
  writeFileSync(
    typo,
    tinyLines
      .join('\n')
      .replace('seed: 1}', 'seeed: 1}')
      .replace('runs: [mle, ref]}', 'runs: [mle, ref], coverrage: poor}'),
  );
  const r = gshf(['bandit', 'run', typo, '--out', join(dir, 'never')]);
  assert.equal(r.code, 1);
  assert.equal(
    r.err,
    `gshf: ${typo}:4: field "env.seeed": unknown key; did you mean "seed"?\n` +
      `${typo}:9: field "studies.0.coverrage": unknown key; did you mean "coverage"?\n`,
  );
  const dup = join(dir, 'dup.json');
  writeFileSync(dup, '{"name": "a",\n "seeds": 2,\n "seeds": 3}');
  const d = gshf(['bandit', 'run', dup, '--out', join(dir, 'never')]);
  assert.equal(d.code, 1);
  assert.match(d.err, /dup\.json:3:2: duplicate key "seeds"/);
});

test('a corrupt run-folder config.json is named; a read-only --out is EACCES, not ENOENT', () => {
  const out = join(dir, 'corrupt');
  assert.equal(gshf(['bandit', 'run', cfg, '--out', out]).code, 0);
  writeFileSync(join(out, 'config.json'), '{"name": "tiny", "seeds": }');
  const rep = gshf(['bandit', 'report', out]);
  assert.equal(rep.code, 1);
  assert.match(
    rep.err,
    new RegExp(`^gshf: ${out}/config.json:1: invalid JSON \\(expected a value, got '}'\\)`),
  );
  writeFileSync(join(out, 'config.json'), '{"name": "tiny", "seeds": "two"}');
  assert.match(
    gshf(['bandit', 'report', out]).err,
    /config\.json: not a valid bandit run config: .*\(field "seeds"\)/,
  );

  const ro = join(dir, 'readonly');
  mkdirSync(ro);
  chmodSync(ro, 0o555);
  // root ignores permissions: run the CLI as "nobody" then.
  const asUser = process.getuid?.() === 0 ? { uid: 65534 } : {};
  const r = gshf(['bandit', 'run', cfg, '--out', join(ro, 'x')], asUser);
  assert.equal(r.code, 1);
  assert.equal(r.err, `gshf: ${join(ro, 'x')}: cannot create the run folder: permission denied (EACCES)\n`);
  const g = gshf(['bandit', 'generate', '--out', join(ro, 'env.json')], asUser);
  assert.equal(g.code, 1);
  assert.match(g.err, new RegExp(`^gshf: ${ro}/env.json: cannot open: permission denied \\(EACCES\\)\\n$`));
});

test('generate: exactly --n pairs, or says why not; refuses sizes and scales before allocating', () => {
  const env = join(dir, 'adv.json');
  const pairs = join(dir, 'adv.jsonl');
  // Adversarial coverage concentrates on few actions: 500 draws gave ~230 non-tied pairs before.
  const a = gshf([
    'bandit',
    'generate',
    '--out',
    env,
    '--coverage',
    'adversarial',
    '--pairs',
    pairs,
    '--n',
    '500',
  ]);
  assert.equal(a.code, 0, a.err);
  assert.equal(readFileSync(pairs, 'utf8').split('\n').filter(Boolean).length, 500);
  assert.equal(a.err, '');
  const big = gshf([
    'bandit',
    'generate',
    '--out',
    join(dir, 'big.json'),
    '--K',
    '100000',
    '--contexts',
    '200',
  ]);
  assert.equal(big.code, 1);
  assert.equal(
    big.err,
    'gshf: --K 100000 × --contexts 200 × --d 8: the environment would need ≈ 1.9 GB of memory and ≈ 3.6 GB as JSON (limits 2.1 GB and 500.0 MB); use fewer contexts or actions\n',
  );
  assert.equal(existsSync(join(dir, 'big.json')), false);
  const b = gshf(['bandit', 'generate', '--out', join(dir, 'b.json'), '--B', '1e308']);
  assert.equal(b.code, 1);
  assert.match(b.err, /^gshf: --B 1e\+308 with --eta 0\.5: ‖θ\*‖\/η = Infinity overflows float64/);
  assert.equal(existsSync(join(dir, 'b.json')), false, 'validated before writing');
});

test('fit --lambda 0 on separable pairs reports divergence instead of converged: true', () => {
  const env = join(dir, 'sep.json');
  const pairs = join(dir, 'sep.jsonl');
  const g = gshf([
    'bandit',
    'generate',
    '--out',
    env,
    '--d',
    '3',
    '--K',
    '4',
    '--contexts',
    '3',
    '--B',
    '5',
    '--pairs',
    pairs,
    '--n',
    '5',
  ]);
  assert.equal(g.code, 0, g.err);
  const f = gshf(['bandit', 'fit', '--env', env, '--pairs', pairs, '--lambda', '0', '--json']);
  assert.equal(f.code, 1);
  assert.match(f.err, /--lambda 0 on separable pairs .* the Bradley–Terry MLE is at infinity/);
  const ok = gshf(['bandit', 'fit', '--env', env, '--pairs', pairs, '--lambda', '1', '--json']);
  assert.equal((JSON.parse(ok.out) as { converged: boolean }).converged, true);
  // Overflowing θ and duplicate keys in θ files name the file.
  const th = join(dir, 'theta.json');
  writeFileSync(th, '[1e308, 1e308, 1e308]');
  assert.match(
    gshf(['bandit', 'evaluate', '--env', env, '--theta', th]).err,
    new RegExp(`^gshf: ${th}: field "theta": .*overflow`),
  );
  writeFileSync(th, '{"theta": [1, 2, 3],\n "theta": [0, 0, 0]}');
  assert.match(
    gshf(['bandit', 'evaluate', '--env', env, '--theta', th]).err,
    new RegExp(`${th}:2: duplicate key "theta"`),
  );
});
