/**
 * DPO trained to its convergence criterion makes η the knob of KL: on a small config (the tiny π0,
 * 64 labelled π0 pairs, one seed), offline DPO at η = 0.1, 0.3, 1 reaches a KL(π‖π0) that falls as η
 * grows, and every run reports its optimisation state (epochs, final loss against the cdpo floor
 * H(ε), converged). With the old fixed short schedule the KL did not follow η.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../../src/cli/config-file.js';
import { pipelineConfigSchema, type PipelineConfigInput } from '../../src/pref/pipeline-config.js';
import { dpoLossFloor } from '../../src/pref/methods/common.js';
import { reproduce } from '../../src/pref/reproduce.js';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

test('dpoLossFloor: 0 for the sigmoid loss, the label entropy H(ε) for cdpo', () => {
  assert.equal(dpoLossFloor('sigmoid', 0), 0);
  const e = 0.1;
  assert.ok(Math.abs(dpoLossFloor('cdpo', e) - (-0.9 * Math.log(0.9) - 0.1 * Math.log(0.1))) < 1e-12);
  assert.ok(Math.abs(dpoLossFloor('cdpo', e) - 0.325083) < 1e-6);
});

test('offline DPO trained to convergence: KL(π‖π0) decreases as η increases (small config)', async () => {
  const tiny = loadConfigFile(join(root, 'examples/lm/reproduce-tiny.yaml'), pipelineConfigSchema);
  const input: PipelineConfigInput = {
    ...tiny,
    seeds: 1,
    workers: 1,
    labels: { rmSeed: 0, perIteration: 32 },
    dpo: { eta: 0.1, loss: 'cdpo', labelSmoothing: 0.1, lr: 1e-3, epochs: 40, batch: 8, tol: 0.05 },
    methods: {
      offlineDpo: {},
      rso: { enabled: false },
      multiStepRso: { enabled: false },
      iterative: { enabled: false, iterations: 2 },
      uncertainty: { enabled: false },
      hybrid: { enabled: false },
      proxy: { enabled: false },
      pessimisticDpo: { enabled: false },
    },
    frontier: { enabled: true, etas: [0.3, 1], seeds: 1, methods: ['offline-dpo'] },
    claimNotes: {},
  };
  const cfg = pipelineConfigSchema.parse(input);
  const out = mkdtempSync(join(tmpdir(), 'gshf-dpo-eta-'));
  try {
    const res = await reproduce(cfg, { outDir: out, progress: false, log: () => {} });
    const rows = res.results.rows.filter((r) => r.method === 'offline-dpo').sort((a, b) => a.eta - b.eta);
    assert.deepEqual(
      rows.map((r) => r.eta),
      [0.1, 0.3, 1],
    );
    const kl = rows.map((r) => r.eval.kl);
    const state = rows.map((r) => `η ${r.eta}: KL ${r.eval.kl}, ${r.train.epochs} epochs, gap ${r.train.gap}`);
    assert.ok(kl[0] > kl[1] && kl[1] > kl[2], state.join('; '));
    for (const r of rows) {
      assert.equal(r.train.converged, true, `η ${r.eta}: gap ${r.train.gap} after ${r.train.epochs} epochs`);
      assert.ok((r.train.gap ?? Infinity) <= 0.05);
      assert.ok(Math.abs((r.train.lossFloor ?? NaN) - dpoLossFloor('cdpo', 0.1)) < 1e-12);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
