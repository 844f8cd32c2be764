/**
 * The example PyTorch DPO trainer (examples/loop/torch_dpo_trainer.py) as `gshf loop`'s external
 * trainer: its DPO loss equals gshf's `pref dpo` step-1 loss on the same batch to 1e-5, it writes a
 * checkpoint gshf loads, and a loop that uses it (generation from `gshf lm serve`, labels from a
 * command) is killed with SIGKILL mid-iteration and resumed to the same rows and ledger.
 * Skips when no python with torch is found, unless GSHF_EXPECT_TORCH=1 (scripts/test.sh sets it
 * and GSHF_PYTHON when Debian's python3-torch is installed): then it fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ByteTokenizer, GPT, loadCheckpoint, saveCheckpoint } from '../../src/nn/index.js';
import { freePort, ledgerRows, loopRows, promptsFile, tinyPi0 } from './helpers.js';
import { torchPython } from '../helpers/torch-ref.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const TRAINER = resolve('examples/loop/torch_dpo_trainer.py');
const RESTART = resolve('examples/loop/restart-lm-serve.sh');

/** A labeller for the command source that never ties: prefers the response that sorts first. */
function labeller(dir: string): string {
  const path = join(dir, 'label-first.mjs');
  writeFileSync(
    path,
    `import { createInterface } from 'node:readline';
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const q = JSON.parse(line);
  const verdict = q.a === q.b ? 'tie' : q.a < q.b ? 'a' : 'b';
  process.stdout.write(JSON.stringify({ id: q.id, verdict }) + '\\n');
}
`,
  );
  return path;
}

const python = torchPython();
const skip = python === null && process.env.GSHF_EXPECT_TORCH !== '1';

const PAIRS = [
  { prompt: 'The food was', chosen: ' great, café!', rejected: ' bad' },
  {
    prompt: 'A very long prompt that will surely be cut at the left side of it',
    chosen: ' yes indeed',
    rejected: ' no',
  },
  { prompt: 'Hi', chosen: ' hello there', rejected: ' go away now' },
  { prompt: 'Lone \ud800 surrogate', chosen: ' ok', rejected: ' not ok at all' },
];

test('torch trainer: DPO loss equals gshf pref dpo step 1 on the same batch (1e-5)', { skip }, () => {
  assert.ok(python, 'GSHF_EXPECT_TORCH=1 but no python with torch');
  const py3: string = python;
  const dir = mkdtempSync(join(tmpdir(), 'gshf-torch-dpo-'));
  try {
    // π_ref and a different π_init, so the margin (and the loss) is far from its ln 2 at init = ref.
    const ref = tinyPi0(dir);
    const init = join(dir, 'init');
    saveCheckpoint(
      init,
      new GPT({ vocabSize: 259, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 16 }, 8),
      new ByteTokenizer(),
    );
    const pairs = join(dir, 'pairs.jsonl');
    writeFileSync(pairs, PAIRS.map((p) => JSON.stringify(p) + '\n').join(''));
    for (const beta of [0.5, 2]) {
      const res = spawnSync(
        py3,
        [TRAINER, '--pairs', pairs, '--init', init, '--ref', ref, '--beta', String(beta), '--loss-only'],
        { encoding: 'utf8' },
      );
      assert.equal(res.status, 0, res.stderr);
      const torchLoss = JSON.parse(res.stdout) as {
        loss: number;
        pairs: number;
        logps_chosen_mean: number;
      };
      const out = join(dir, `gshf-${beta}`);
      const g = spawnSync(
        process.execPath,
        [
          CLI,
          'pref',
          'dpo',
          '--data',
          pairs,
          '--init',
          init,
          '--ref',
          ref,
          '--beta',
          String(beta),
          '--batch',
          String(PAIRS.length),
          '--out',
          out,
        ],
        { encoding: 'utf8', env: { ...process.env, GSHF_QUIET: '1' } },
      );
      assert.equal(g.status, 0, g.stderr);
      const step1 = JSON.parse(readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n')[0]) as {
        loss: number;
        'logps/chosen': number;
      };
      assert.equal(torchLoss.pairs, PAIRS.length);
      assert.ok(
        Math.abs(torchLoss.loss - Math.log(2)) > 0.01,
        `β=${beta}: loss ${torchLoss.loss} is too close to ln 2 to test anything`,
      );
      assert.ok(
        Math.abs(torchLoss.loss - step1.loss) <= 1e-5,
        `β=${beta}: torch ${torchLoss.loss} vs gshf ${step1.loss}`,
      );
      assert.ok(
        Math.abs(torchLoss.logps_chosen_mean - step1['logps/chosen']) <=
          1e-4 * Math.abs(step1['logps/chosen']),
      );
    }
    // Training writes a gshf checkpoint that gshf loads, with moved weights.
    const trained = join(dir, 'trained');
    const t = spawnSync(
      py3,
      [
        TRAINER,
        '--pairs',
        pairs,
        '--init',
        init,
        '--ref',
        ref,
        '--beta',
        '0.5',
        '--out',
        trained,
        '--epochs',
        '2',
        '--batch',
        '2',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(t.status, 0, t.stderr);
    assert.equal(t.stderr.trim().split('\n').length, 4, t.stderr); // 2 epochs × 2 batches, one JSON line each
    const back = loadCheckpoint(trained).model;
    const before = loadCheckpoint(init).model;
    assert.equal(back.numParams, before.numParams);
    assert.notDeepEqual(back.params, before.params);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'gshf loop with the torch trainer: SIGKILL mid-iteration, resume → same rows and ledger',
  { skip },
  async () => {
    assert.ok(python, 'GSHF_EXPECT_TORCH=1 but no python with torch');
    const dir = mkdtempSync(join(tmpdir(), 'gshf-loop-torch-'));
    const pidFile = join(dir, 'lm-serve.pid');
    const env = {
      ...process.env,
      PORT: String(await freePort()),
      PIDFILE: pidFile,
      GSHF: `${process.execPath} ${CLI}`,
      GSHF_QUIET: '1',
    };
    const restartPolicyServer = (ckpt: string) => {
      const r = spawnSync('sh', [RESTART, ckpt], { env, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    };
    try {
      const pi0 = tinyPi0(dir);
      const cfg = {
        seed: 3,
        prompts: { path: promptsFile(dir), perIteration: 3, eval: 2 },
        iterations: 2,
        n: 3,
        budget: 100,
        labels: { kind: 'command', command: `"${process.execPath}" "${labeller(dir)}"`, timeoutSeconds: 60 },
        ledger: { chunk: 1, fsync: true },
        policy: {
          kind: 'openai',
          endpoints: [`http://127.0.0.1:${env.PORT}/v1`],
          model: 'policy',
          max_tokens: 8,
          retries: 1,
          logprobs: false,
        },
        trainer: {
          initial: pi0,
          command: `"${python}" "${TRAINER}" --pairs {pairs} --init {init} --ref {ref} --beta {eta} --out {out} --seed {iteration} --batch 2`,
          after: `sh "${RESTART}" {policy}`,
          generationModel: 'policy',
          timeoutSeconds: 300,
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

      restartPolicyServer(pi0);
      const ref = join(dir, 'ref');
      const ok = loop(ref);
      assert.equal(ok.status, 0, ok.stderr);
      const want = loopRows(ref);
      assert.equal(want.length, 3);
      assert.ok(
        want[1].train !== null && want[2].train !== null && Number(want[2].train.pairs) > 0,
        JSON.stringify(want.map((r) => r.train)),
      );
      const it2 = JSON.parse(readFileSync(join(ref, 'iterations/it2/policy/config.json'), 'utf8')) as {
        meta: { trainer?: { trainer: string } };
      };
      assert.equal(
        it2.meta.trainer?.trainer,
        'examples/loop/torch_dpo_trainer.py',
        'π_2 was written by the torch trainer',
      );
      assert.ok(want[2].labels_used > 0);

      restartPolicyServer(pi0);
      const out = join(dir, 'crash');
      const killed = loop(out, [], { GSHF_CRASH_AFTER_LABELS: '4' });
      assert.equal(killed.signal, 'SIGKILL', killed.stderr);
      assert.equal(ledgerRows(out).length, 4);
      const resumed = loop(out, ['--resume']);
      assert.equal(resumed.status, 0, resumed.stderr);
      assert.deepEqual(loopRows(out), want);
      const got = ledgerRows(out);
      assert.equal(new Set(got.map((r) => r.id)).size, got.length, 'an id paid twice');
      assert.deepEqual(
        got.map((r) => [r.id, r.verdict]),
        ledgerRows(ref).map((r) => [r.id, r.verdict]),
      );
    } finally {
      if (existsSync(pidFile)) {
        try {
          process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
