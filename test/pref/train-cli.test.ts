/**
 * `gshf pref import → rm → dpo → score` end to end through the real binary (tiny model, few steps),
 * with their per-step metrics files; every DPO loss at step 1 against its closed form; flags
 * validated before any folder is written; precomputed reference log-probs give the same run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ByteTokenizer, GPT, PRESETS, loadCheckpoint, saveCheckpoint } from '../../src/nn/index.js';
import { RewardModel } from '../../src/pref/reward-model.js';
import { LOSS_TYPES } from '../../src/pref/losses.js';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function gshf(args: string[], cwd: string): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [main, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GSHF_QUIET: '1', GSHF_NO_NATIVE: '1' },
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
const ok = (r: { code: number; out: string; err: string }) => {
  assert.equal(r.code, 0, r.err);
  return r;
};
const metrics = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);

const HH = [
  ['Review of mug:', ' Love it! Great value.', ' Broken on day one.'],
  ['Review of lamp:', ' Works well.', ' Awful, it died.'],
  ['Review of tent:', ' Superb. Fun to use.', ' Worst ever.'],
  ['Review of kettle:', ' Perfect, good buy.', ' Horrible quality.'],
].map(([p, c, r]) => ({
  chosen: `\n\nHuman: ${p}\n\nAssistant:${c}`,
  rejected: `\n\nHuman: ${p}\n\nAssistant:${r}`,
}));

const RM_KEYS = [
  'step',
  'epoch',
  'learning_rate',
  'grad_norm',
  'loss',
  'accuracy',
  'margin',
  'mean_reward',
  'min_reward',
  'max_reward',
];
const DPO_KEYS = [
  'step',
  'epoch',
  'learning_rate',
  'grad_norm',
  'loss',
  'rewards/chosen',
  'rewards/rejected',
  'rewards/accuracies',
  'rewards/margins',
  'logps/chosen',
  'logps/rejected',
];

test('pref import (HH-RLHF) → pref rm → pref score → pref dpo, with TRL-named per-step metrics', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-train-'));
  try {
    // A tiny untrained LM as the SFT checkpoint (the commands do not care how it was trained).
    saveCheckpoint(join(dir, 'sft'), new GPT({ ...PRESETS.tiny, blockSize: 64 }, 1), new ByteTokenizer());
    writeFileSync(join(dir, 'hh.jsonl'), HH.map((r) => JSON.stringify(r) + '\n').join(''));
    assert.match(
      ok(gshf(['pref', 'import', '--in', 'hh.jsonl', '--out', 'pairs.jsonl'], dir)).out,
      /imported 4 pairs \(hh-rlhf layout\)/,
    );

    // Reward model: 2 epochs × 2 steps of 2 pairs.
    ok(
      gshf(
        [
          'pref',
          'rm',
          '--data',
          'pairs.jsonl',
          '--init',
          'sft',
          '--out',
          'rm',
          '--epochs',
          '2',
          '--batch',
          '2',
          '--lr',
          '0.01',
        ],
        dir,
      ),
    );
    const rm = metrics(join(dir, 'rm/metrics.jsonl'));
    assert.deepEqual(
      rm.map((m) => m.step),
      [1, 2, 3, 4],
    );
    assert.deepEqual(
      rm.map((m) => m.epoch),
      [1, 1, 2, 2],
    );
    for (const m of rm) {
      assert.deepEqual(Object.keys(m), RM_KEYS);
      assert.ok(m.min_reward <= m.mean_reward && m.mean_reward <= m.max_reward);
      assert.ok([0, 0.5, 1].includes(m.accuracy) && m.loss > 0);
    }
    assert.match(readFileSync(join(dir, 'rm/training.svg'), 'utf8'), /^<svg[^]*loss[^]*accuracy[^]*margin/);

    // Scores from the CLI equal the library's on the saved model.
    const pr = [
      { prompt: 'Review of mug:', response: ' Love it!' },
      { prompt: 'Review of mug:', response: ' Broken.' },
    ];
    writeFileSync(join(dir, 'pr.jsonl'), pr.map((r) => JSON.stringify(r) + '\n').join(''));
    ok(gshf(['pref', 'score', '--model', 'rm', '--in', 'pr.jsonl', '--out', 'scores.jsonl'], dir));
    const want = RewardModel.load(join(dir, 'rm')).score(
      pr.map((r) => r.prompt),
      pr.map((r) => r.response),
    );
    // (float32 kernels: the test process may use the native ones, the CLI child the TypeScript ones)
    const got = metrics(join(dir, 'scores.jsonl')) as unknown as {
      prompt: string;
      response: string;
      score: number;
    }[];
    assert.deepEqual(
      got.map((g) => [g.prompt, g.response]),
      pr.map((r) => [r.prompt, r.response]),
    );
    got.forEach((g, i) => assert.ok(Math.abs(g.score - want[i]) < 1e-6, `${g.score} vs ${want[i]}`));

    // Ensemble of 2: members in member-<k>, metrics tagged by member, score = member mean.
    ok(
      gshf(
        [
          'pref',
          'rm',
          '--data',
          'pairs.jsonl',
          '--out',
          'ens',
          '--k',
          '2',
          '--max-steps',
          '1',
          '--batch',
          '4',
        ],
        dir,
      ),
    );
    assert.deepEqual(
      metrics(join(dir, 'ens/metrics.jsonl')).map((m) => [m.member, m.step]),
      [
        [0, 1],
        [1, 1],
      ],
    );
    const ens = metrics(join(dir, 'ens/metrics.jsonl'));
    assert.ok(
      ens.every((m) => Math.abs(m.loss - Math.LN2) < 0.05),
      'fresh heads: loss ≈ ln 2',
    );
    const es = JSON.parse(
      ok(gshf(['pref', 'score', '--model', 'ens', '--in', 'pr.jsonl'], dir)).out.split('\n')[0],
    ) as {
      score: number;
      std: number;
      members: number[];
    };
    assert.equal(es.members.length, 2);
    assert.ok(Math.abs(es.score - (es.members[0] + es.members[1]) / 2) < 1e-12);
    assert.ok(Math.abs(es.std - Math.abs(es.members[0] - es.members[1]) / 2) < 1e-12);

    // DPO straight from the HH file (layout detected), reference = --init.
    ok(
      gshf(
        [
          'pref',
          'dpo',
          '--data',
          'hh.jsonl',
          '--init',
          'sft',
          '--out',
          'm1',
          '--epochs',
          '2',
          '--batch',
          '2',
          '--lr',
          '0.01',
        ],
        dir,
      ),
    );
    const d1 = metrics(join(dir, 'm1/metrics.jsonl'));
    assert.deepEqual(
      d1.map((m) => m.step),
      [1, 2, 3, 4],
    );
    for (const m of d1) assert.deepEqual(Object.keys(m), DPO_KEYS);
    // Step 1: policy == reference, so delta = 0: loss ln 2, zero implicit rewards (TRL's signature).
    assert.ok(Math.abs(d1[0].loss - Math.LN2) < 1e-6, String(d1[0].loss));
    assert.ok(Math.abs(d1[0]['rewards/chosen']) < 1e-6 && Math.abs(d1[0]['rewards/margins']) < 1e-6);
    assert.ok(d1[0]['logps/chosen'] < -10, 'summed log-probs of ~15-byte responses');
    assert.ok(Math.abs(d1[3].loss - Math.LN2) > 1e-4, 'the policy moved');
    const before = loadCheckpoint(join(dir, 'sft')).model.params;
    const after = loadCheckpoint(join(dir, 'm1')).model.params;
    assert.ok(after.some((v, i) => v !== before[i]));
    assert.equal(readFileSync(join(dir, 'm1/ref_logps.jsonl'), 'utf8').trim().split('\n').length, 4);

    // The same run from precomputed reference log-probs gives the same numbers.
    ok(
      gshf(
        [
          'pref',
          'dpo',
          '--data',
          'pairs.jsonl',
          '--init',
          'sft',
          '--ref-logps',
          'm1/ref_logps.jsonl',
          '--out',
          'm2',
          '--epochs',
          '2',
          '--batch',
          '2',
          '--lr',
          '0.01',
        ],
        dir,
      ),
    );
    assert.deepEqual(metrics(join(dir, 'm2/metrics.jsonl')), d1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pref dpo: every loss variant at step 1 equals its closed form at delta = 0', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-train-'));
  try {
    saveCheckpoint(join(dir, 'sft'), new GPT({ ...PRESETS.tiny, blockSize: 64 }, 2), new ByteTokenizer());
    writeFileSync(join(dir, 'hh.jsonl'), HH.map((r) => JSON.stringify(r) + '\n').join(''));
    ok(
      gshf(
        [
          'pref',
          'dpo',
          '--data',
          'hh.jsonl',
          '--init',
          'sft',
          '--out',
          'base',
          '--max-steps',
          '1',
          '--batch',
          '4',
        ],
        dir,
      ),
    );
    const beta = 0.1;
    const eps = 0.1;
    const closed: Record<string, number> = {
      sigmoid: Math.LN2,
      cdpo: Math.LN2, // (1−ε)·ln2 + ε·ln2
      robust: Math.LN2, // [(1−ε)·ln2 − ε·ln2] / (1 − 2ε)
      ipo: (1 / (2 * beta)) ** 2, // (0 − 1/(2β))²
      hinge: 1, // max(0, 1 − β·0)
      fdpo: Math.LN2, // default divergence reverse KL: f-DPO is DPO
      chipo: Math.LN2, // u = π/π_ref = 1 on both sides: β·φ(1) − β·φ(1) = 0
    };
    assert.deepEqual(Object.keys(closed).sort(), [...LOSS_TYPES].sort());
    for (const loss of LOSS_TYPES) {
      const smooth = loss === 'cdpo' || loss === 'robust' ? ['--label-smoothing', String(eps)] : [];
      ok(
        gshf(
          [
            'pref',
            'dpo',
            '--data',
            'hh.jsonl',
            '--init',
            'sft',
            '--ref-logps',
            'base/ref_logps.jsonl',
            '--out',
            loss,
            '--loss',
            loss,
            '--beta',
            String(beta),
            '--max-steps',
            '1',
            '--batch',
            '4',
            ...smooth,
          ],
          dir,
        ),
      );
      const [m] = metrics(join(dir, loss, 'metrics.jsonl'));
      assert.ok(Math.abs(m.loss - closed[loss]) < 1e-5, `${loss}: ${m.loss} vs ${closed[loss]}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pref rm / dpo: bad flags and inputs are refused before any folder is written; --force replaces', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-train-'));
  try {
    saveCheckpoint(join(dir, 'sft'), new GPT({ ...PRESETS.tiny, blockSize: 64 }, 3), new ByteTokenizer());
    writeFileSync(join(dir, 'hh.jsonl'), HH.map((r) => JSON.stringify(r) + '\n').join(''));
    const dpo = (...extra: string[]) =>
      gshf(
        ['pref', 'dpo', '--data', 'hh.jsonl', '--init', 'sft', '--out', 'out', '--max-steps', '1', ...extra],
        dir,
      );
    const refused: [string[], RegExp][] = [
      [['--beta', '-1'], /--beta: expected a number > 0, got "-1"/],
      [['--beta', 'x'], /--beta: expected a number > 0, got "x"/],
      [
        ['--loss', 'kto'],
        /--loss: expected one of sigmoid, cdpo, robust, ipo, hinge, fdpo, chipo, got "kto"/,
      ],
      [['--label-smoothing', '0.5'], /--label-smoothing: expected a number in \[0, 0\.5\), got 0\.5/],
      [['--loss', 'cdpo'], /--loss cdpo: needs --label-smoothing/],
      [['--epochs', '0'], /--epochs: expected an integer ≥ 1, got "0"/],
      [['--lr', '0'], /--lr: expected a number > 0, got "0"/],
      [
        ['--format', 'alpaca'],
        /--format: expected one of standard, conversational, implicit, hh-rlhf, ultrafeedback, got "alpaca"/,
      ],
      [['--format', 'standard'], /hh\.jsonl:1: field "prompt": required in the standard layout/],
      [['--ref', 'sft', '--ref-logps', 'x.jsonl'], /--ref and --ref-logps: give one/],
      [['--ref', 'nowhere'], /nowhere\/config\.json: cannot read checkpoint config/],
    ];
    for (const [flags, re] of refused) {
      const r = dpo(...flags);
      assert.equal(r.code, 1, flags.join(' '));
      assert.match(r.err, re);
      assert.ok(!existsSync(join(dir, 'out')), `${flags.join(' ')}: nothing written`);
    }
    writeFileSync(join(dir, 'short.jsonl'), '{"ref_chosen_logps":-1,"ref_rejected_logps":-2}\n');
    const short = dpo('--ref-logps', 'short.jsonl');
    assert.match(short.err, /short\.jsonl: 1 lines of reference log-probs for 4 pairs/);
    assert.ok(!existsSync(join(dir, 'out')));
    const rmBad = gshf(['pref', 'rm', '--data', 'hh.jsonl', '--out', 'out', '--k', '0'], dir);
    assert.match(rmBad.err, /--k: expected an integer ≥ 1, got "0"/);
    const rmPreset = gshf(['pref', 'rm', '--data', 'hh.jsonl', '--out', 'out', '--preset', 'huge'], dir);
    assert.match(rmPreset.err, /--preset: expected one of tiny, default, large, got "huge"/);
    assert.ok(!existsSync(join(dir, 'out')));

    ok(dpo());
    const again = dpo();
    assert.equal(again.code, 1);
    assert.match(again.err, /out: already exists; pass --force to replace it \(nothing was written\)/);
    ok(dpo('--force', '--loss', 'hinge'));
    assert.equal((loadCheckpoint(join(dir, 'out')).config.meta as { loss: string }).loss, 'hinge');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
