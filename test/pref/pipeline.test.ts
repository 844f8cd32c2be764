/**
 * The reproduce pipeline on the reduced config (examples/lm/reproduce-tiny.yaml): label accounting
 * (every method within the equal budget, counts read from the ledger), and crash safety — a run
 * killed (SIGKILL) right after a label, twice, then resumed, ends with the same numbers, the same
 * ledger and no duplicate query ids as an uninterrupted run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../../src/cli/config-file.js';
import { labelBudget, pipelineConfigSchema } from '../../src/pref/pipeline-config.js';
import type { ReproduceResults } from '../../src/pref/reproduce.js';

const here = fileURLToPath(new URL('.', import.meta.url));
// dist/test/pref → repo root
const root = resolve(here, '../../..');
const tinyConfig = join(root, 'examples/lm/reproduce-tiny.yaml');
const reproduceJs = join(root, 'dist/src/pref/reproduce.js');
const configFileJs = join(root, 'dist/src/cli/config-file.js');
const pipelineConfigJs = join(root, 'dist/src/pref/pipeline-config.js');
const crashHooksJs = join(root, 'dist/src/report/crash-hooks.js');

/** Runs the pipeline in a child process (so it can be SIGKILLed); returns its exit status/signal. */
function runChild(
  out: string,
  resume: boolean,
  crashAfter?: number,
): { status: number | null; signal: NodeJS.Signals | null; stderr: string } {
  const script = `
    import { reproduce } from ${JSON.stringify(reproduceJs)};
    import { loadConfigFile } from ${JSON.stringify(configFileJs)};
    import { pipelineConfigSchema } from ${JSON.stringify(pipelineConfigJs)};
    import { crashHooksFromEnv } from ${JSON.stringify(crashHooksJs)};
    const cfg = loadConfigFile(${JSON.stringify(tinyConfig)}, pipelineConfigSchema);
    const hooks = crashHooksFromEnv();
    await reproduce(cfg, { outDir: ${JSON.stringify(out)}, resume: ${resume}, progress: false, log: () => {}, hooks });
  `;
  const env: NodeJS.ProcessEnv = { ...process.env, GSHF_QUIET: '1' };
  if (crashAfter !== undefined) env.GSHF_CRASH_AFTER_LABELS = String(crashAfter);
  else delete env.GSHF_CRASH_AFTER_LABELS;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env,
    encoding: 'utf8',
    timeout: 900_000, // the 2-core machine is shared: under load the tiny run takes minutes
  });
  return { status: r.status, signal: r.signal, stderr: r.stderr };
}

function results(dir: string): ReproduceResults {
  return JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as ReproduceResults;
}

interface LedgerLine {
  id: string;
  a_preferred: boolean;
  prompt: string;
  a: string;
  b: string;
}

function ledgerLines(dir: string): LedgerLine[] {
  return readFileSync(join(dir, 'labels.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as LedgerLine);
}

/** The numbers of the report: every evaluated policy's metrics and every selection, timing excluded. */
function numbers(r: ReproduceResults): string {
  const rows = r.rows.map((x) => ({
    m: x.method,
    s: x.seed,
    e: x.eta,
    i: x.iteration,
    l: x.labelsUsed,
    ev: { ...x.eval },
    tr: { ...x.train, seconds: 0 },
    ex: x.extra,
  }));
  const sels = r.selections.map((s) => ({
    m: s.method,
    s: s.seed,
    e: s.eta,
    sel: s.selected,
    v: s.validation,
    l: s.labelsUsed,
  }));
  return JSON.stringify({
    rows,
    sels,
    pool: r.pool,
    rms: r.rms.map((x) => ({ ...x, seconds: 0 })),
    ledger: r.ledger,
  });
}

const cfg = loadConfigFile(tinyConfig, pipelineConfigSchema);
const work = mkdtempSync(join(tmpdir(), 'gshf-pipeline-'));
const clean = join(work, 'clean');
const crashed = join(work, 'crashed');

test('reproduce (tiny config): uninterrupted run, label accounting within the equal budget', () => {
  const r = runChild(clean, false);
  assert.equal(r.status, 0, r.stderr);
  const res = results(clean);
  const B = labelBudget(cfg);
  assert.equal(res.budget, B);
  // Every evaluated policy row stayed within budget; the offline methods used exactly their pool labels.
  const lines = ledgerLines(clean);
  const byPrefix = (p: string): number => lines.filter((l) => l.id === p || l.id.startsWith(p + '/')).length;
  for (const row of res.rows)
    assert.ok(row.labelsUsed <= B, `${row.method} seed ${row.seed} η ${row.eta}: ${row.labelsUsed} > ${B}`);
  for (let s = 0; s < cfg.seeds; s++) {
    const pool = byPrefix(`seed${s}/pool`);
    const seedPart = byPrefix(`seed${s}/pool/seed`);
    assert.ok(pool <= B && pool > B / 2, `pool labels ${pool}`);
    const off = res.rows.find((x) => x.method === 'offline-dpo' && x.seed === s && x.eta === cfg.dpo.eta);
    const rso = res.rows.find((x) => x.method === 'rso' && x.seed === s && x.eta === cfg.dpo.eta);
    assert.equal(off?.labelsUsed, pool);
    assert.equal(rso?.labelsUsed, pool, 'RSO pays for the labels of its reward model');
    for (const key of ['iterative-dpo-warm', 'iterative-dpo-retrain', 'uncertainty', 'hybrid']) {
      const sel = res.selections.find((x) => x.method === key && x.seed === s && x.eta === cfg.dpo.eta);
      assert.ok(sel, key);
      const online = byPrefix(`seed${s}/${key}`);
      assert.equal(sel.labelsUsed, seedPart + online, `${key}: RM seed labels + online labels`);
      assert.ok(online <= cfg.methods.iterative.iterations * cfg.labels.perIteration);
      // Per iteration: at most m new labels, and each new pair carries exactly one ledger id of that iteration.
      for (let t = 1; t <= cfg.methods.iterative.iterations; t++) {
        const n = byPrefix(`seed${s}/${key}/it${t}`);
        assert.ok(n <= cfg.labels.perIteration, `${key} it${t}: ${n}`);
        const row = res.rows.find(
          (x) => x.method === key && x.seed === s && x.eta === cfg.dpo.eta && x.iteration === t,
        );
        assert.equal(row?.extra?.newPairs, n, `${key} it${t}: pairs = labels`);
      }
    }
  }
  // The report exists with the method table and the claims.
  const md = readFileSync(join(clean, 'report.md'), 'utf8');
  assert.match(md, /## The paper's claims against our measurements/);
  assert.match(md, /\| offline DPO \|/);
  assert.ok(existsSync(join(clean, 'reward-kl.svg')));
  assert.equal(res.ledger.duplicateIds, 0);
});

test('reproduce (tiny config): killed twice mid-run, then --resume: same numbers, same ledger, no duplicate labels', () => {
  // First crash in the middle of seed 0's online iterations, the second in seed 1's pool.
  const first = runChild(crashed, false, 70);
  assert.equal(first.signal, 'SIGKILL', `expected a SIGKILL, got status ${first.status}: ${first.stderr}`);
  const afterFirst = ledgerLines(crashed).length;
  assert.equal(afterFirst, 70, 'the 70th label is on disk when the process dies');
  const refused = runChild(crashed, false);
  assert.notEqual(refused.status, 0, 'a second run without --resume is refused');
  const second = runChild(crashed, true, 60);
  assert.equal(second.signal, 'SIGKILL', second.stderr);
  assert.equal(
    ledgerLines(crashed).length,
    afterFirst + 60,
    'resumed labels replay for free; only new ones are appended',
  );
  const last = runChild(crashed, true);
  assert.equal(last.status, 0, last.stderr);

  const a = ledgerLines(clean);
  const b = ledgerLines(crashed);
  assert.equal(b.length, a.length, 'same ledger size');
  assert.equal(new Set(b.map((l) => l.id)).size, b.length, 'no duplicate query ids');
  const key = (l: LedgerLine) => JSON.stringify([l.id, l.prompt, l.a, l.b, l.a_preferred]);
  assert.deepEqual(b.map(key).sort(), a.map(key).sort(), 'the same queries with the same answers');
  assert.equal(numbers(results(crashed)), numbers(results(clean)), 'same final numbers');
  rmSync(work, { recursive: true, force: true });
});
