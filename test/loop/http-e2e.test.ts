/**
 * The must-show: the whole loop over loopback HTTP. The policy is served by `gshf lm serve` (openai
 * backend), rewards by `gshf pref serve-rm` (http-rm label source), training by `gshf pref dpo` as
 * the external trainer command, and examples/loop/restart-lm-serve.sh points generation at the
 * model it produced. Killed with SIGKILL mid-iteration and resumed: the same final numbers, no
 * label paid twice. Tiny models, 2 iterations, 3 prompts each; ports are free loopback ports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../../src/nn/index.js';
import { RewardModel, rewardModelFromLM } from '../../src/pref/reward-model.js';
import {
  freePort,
  ledgerRows as ledger,
  loopRows as rows,
  promptsFile,
  tinyPi0,
  waitFor,
} from './helpers.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const RESTART = resolve('examples/loop/restart-lm-serve.sh');

test('loop over loopback HTTP: lm serve + serve-rm + pref dpo trainer, SIGKILL mid-iteration, resume', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-loop-http-'));
  const pi0 = tinyPi0(dir);
  const { model, tokenizer } = loadCheckpoint(pi0);
  new RewardModel(rewardModelFromLM(model, 'rm'), tokenizer).save(join(dir, 'rm'));
  const [pPort, rPort] = [await freePort(), await freePort()];
  const env = {
    ...process.env,
    PORT: String(pPort),
    PIDFILE: join(dir, 'lm-serve.pid'),
    GSHF: `${process.execPath} ${CLI}`,
  };
  let rmServer: ChildProcess | null = null;
  const restartPolicyServer = (ckpt: string) => {
    const r = spawnSync('sh', [RESTART, ckpt], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  try {
    rmServer = spawn(
      process.execPath,
      [CLI, 'pref', 'serve-rm', '--model', join(dir, 'rm'), '--port', String(rPort)],
      { stdio: 'ignore' },
    );
    await waitFor(`http://127.0.0.1:${rPort}/get_reward`, { query: ['x'] });
    const cfg = {
      seed: 5,
      prompts: { path: promptsFile(dir), perIteration: 3, eval: 2 },
      iterations: 2,
      n: 3,
      budget: 100,
      labels: { kind: 'http-rm', url: `http://127.0.0.1:${rPort}/get_reward`, retries: 1 },
      ledger: { chunk: 1, fsync: true },
      policy: {
        kind: 'openai',
        endpoints: [`http://127.0.0.1:${pPort}/v1`],
        model: 'policy',
        max_tokens: 8,
        retries: 1,
        logprobs: false,
      },
      trainer: {
        initial: pi0,
        command: `"${process.execPath}" "${CLI}" pref dpo --data {pairs} --init {init} --ref {ref} --beta {eta} --out {out} --force --seed {iteration} --batch 4 --lr 0.001`,
        after: `sh "${RESTART}" {policy}`,
        generationModel: 'policy',
        timeoutSeconds: 120,
      },
      rewardModel: { kind: 'linear', dim: 16, lambda: 1 },
      eval: { samplesPerPrompt: 2 },
    };
    const cfgPath = join(dir, 'loop.json');
    writeFileSync(cfgPath, JSON.stringify(cfg, null, 2));
    const loop = (out: string, extra: string[] = [], hook: Record<string, string> = {}) =>
      spawnSync(process.execPath, [CLI, 'loop', cfgPath, '--out', out, ...extra], {
        env: { ...env, ...hook },
        encoding: 'utf8',
      });

    // Uninterrupted reference run (the policy server starts on π0).
    restartPolicyServer(pi0);
    const ref = join(dir, 'ref');
    const ok = loop(ref);
    assert.equal(ok.status, 0, ok.stderr);
    const want = rows(ref);
    assert.equal(want.length, 3);
    assert.equal(want[2].labels_used, 6);
    assert.ok(existsSync(join(ref, 'iterations/it2/policy/config.json')), 'gshf pref dpo wrote π_2');
    assert.equal(want[1].train?.pairs, want[1].selection?.labelled);

    // Killed after the 4th paid label (mid-iteration 2, after π_1 is served), then resumed.
    restartPolicyServer(pi0);
    const out = join(dir, 'crash');
    const killed = loop(out, [], { GSHF_CRASH_AFTER_LABELS: '4' });
    assert.equal(killed.signal, 'SIGKILL', killed.stderr);
    assert.equal(ledger(out).length, 4);
    const resumed = loop(out, ['--resume']);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.deepEqual(rows(out), want);
    const got = ledger(out);
    assert.equal(new Set(got.map((r) => r.id)).size, got.length, 'an id paid twice');
    assert.deepEqual(
      got.map((r) => [r.id, r.prompt, r.a, r.b, r.verdict]),
      ledger(ref).map((r) => [r.id, r.prompt, r.a, r.b, r.verdict]),
    );
  } finally {
    rmServer?.kill('SIGKILL');
    const pidFile = join(dir, 'lm-serve.pid');
    if (existsSync(pidFile)) {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});
