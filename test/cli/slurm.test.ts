/**
 * docs/scale-out.md's Slurm section, run for real: a one-node Slurm cluster on loopback
 * (test/helpers/slurm-cluster.sh), the page's job script and submit commands copied out of the page
 * verbatim, and the merged result compared with a single-machine run of the same sweep.
 * Skips when Slurm or munge is not installed, unless GSHF_EXPECT_SLURM=1 (scripts/test.sh sets it
 * when they are): then it fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const cluster = join(root, 'test/helpers/slurm-cluster.sh');
const have = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const installed = ['slurmctld', 'slurmd', 'sbatch', 'munged'].every(have);
const expected = process.env.GSHF_EXPECT_SLURM === '1';

/** The fenced ```sh blocks of a Markdown page. */
function shBlocks(md: string): string[] {
  return [...md.matchAll(/```sh\n([^]*?)```/g)].map((m) => m[1]);
}

/** The sweep: 18 jobs, so each of the page's 16 array tasks has work. */
const sweep = [
  'name: sweep',
  'seed: 5',
  'seeds: 3',
  'env: {source: generate, d: 3, K: 5, nContexts: 20, normB: 2, eta: 0.5, seed: 2}',
  'algorithms:',
  '  mle: {algorithm: mle-gibbs}',
  '  online: {algorithm: gshf-online, options: {enhancer: best-worst, T: 2}}',
  'studies:',
  '  - {name: s, title: S, budgets: [40, 120], runs: [mle, online]}',
  '  - {name: f, title: F, kind: frontier, budget: 60, etas: [0.25, 1], runs: [mle]}',
].join('\n');

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

test(
  'Slurm: the scale-out page’s array job + dependent merge equal one machine',
  { skip: !installed && !expected },
  () => {
    assert.ok(installed, 'GSHF_EXPECT_SLURM=1 but slurmctld/slurmd/sbatch/munged are not all installed');
    const blocks = shBlocks(readFileSync(join(root, 'docs/scale-out.md'), 'utf8'));
    const script = blocks.find((b) => b.includes('# sweep.sbatch'));
    const submit = blocks.find((b) => b.includes('ARRAY=$(sbatch'));
    assert.ok(script && submit, 'docs/scale-out.md has the job script and the submit commands');

    const dir = mkdtempSync(join(tmpdir(), 'gshf-slurm-'));
    const state = join(dir, 'cluster');
    const work = join(dir, 'checkout');
    try {
      // A "checkout" as the page assumes: dist/ (linked to ours), sweep.yaml, the job script.
      mkdirSync(work);
      symlinkSync(join(root, 'dist'), join(work, 'dist'), 'dir');
      writeFileSync(join(work, 'sweep.yaml'), sweep);
      writeFileSync(join(work, 'sweep.sbatch'), script);

      const started = run('bash', [cluster, 'start', state, '8'], dir);
      assert.equal(started.code, 0, started.out);
      const env = { ...process.env, SLURM_CONF: join(state, 'slurm.conf'), GSHF_QUIET: '1' };

      // The page's submit commands, verbatim; the last line prints the merge job's id.
      const sub = run('bash', ['-euo', 'pipefail', '-c', submit], work, env);
      assert.equal(sub.code, 0, sub.out);
      const mergeJob = sub.out.trim().split('\n').pop() ?? '';
      assert.match(mergeJob, /^\d+$/, sub.out);
      waitForJobs(env, work);
      const mergeLog = readFileSync(join(work, 'logs/merge.out'), 'utf8');
      assert.match(mergeLog, /report: .*runs\/sweep\/report\.md/, mergeLog);

      const single = run(
        process.execPath,
        [join(root, 'dist/src/cli/main.js'), 'bandit', 'run', 'sweep.yaml', '--out', 'runs/single'],
        work,
        env,
      );
      assert.equal(single.code, 0, single.out);
      const norm = (p: string) =>
        (JSON.parse(readFileSync(join(work, p), 'utf8')) as { seconds: number }[]).map((r) => ({
          ...r,
          seconds: 0,
        }));
      const want = norm('runs/single/results.json');
      assert.equal(want.length, 18);
      assert.deepEqual(norm('runs/sweep/results.json'), want);
      // One log per array task (logs/%A_%a.out), each shard's run folder merged.
      const taskLogs = readdirSync(join(work, 'logs')).filter((f) => /^\d+_\d+\.out$/.test(f));
      assert.equal(taskLogs.length, 16, taskLogs.join(' '));
    } finally {
      run('bash', [cluster, 'stop', state], dir);
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

/** Polls squeue until the queue is empty (bounded by the test's own timeout of 4 minutes). */
function waitForJobs(env: NodeJS.ProcessEnv, cwd: string): void {
  const until = Date.now() + 240_000;
  for (;;) {
    const q = run('squeue', ['-h', '-o', '%i %T'], cwd, env);
    assert.equal(q.code, 0, q.out);
    if (q.out.trim() === '') return;
    assert.ok(Date.now() < until, `jobs still queued after 240 s:\n${q.out}`);
    spawnSync('sleep', ['1']);
  }
}
