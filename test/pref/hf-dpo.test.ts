/**
 * DPO on a Hugging Face folder: `runDpo` trains a Llama-family model loaded from the HF layout and
 * writes the same layout back; the written folder reloads in the PyTorch reference
 * (test/nn/ref/hf_ref.py) with the logits of gshf's trained policy (to 1e-4 relative), and in gshf
 * bit-exact.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadCheckpoint } from '../../src/nn/checkpoint.js';
import { runDpo } from '../../src/pref/train-run.js';
import { makeHFFolder, PARITY_MODELS, readAllF32, relErr } from '../nn/hf-helpers.js';
import { runTorchRef, torchSkip } from '../helpers/torch-ref.js';

const skip = torchSkip();
const root = mkdtempSync(join(tmpdir(), 'gshf-hf-dpo-'));
after(() => rmSync(root, { recursive: true, force: true }));

const PAIRS = [
  { prompt: 'The food was', chosen: ' great and fresh', rejected: ' cold' },
  { prompt: 'Service:', chosen: ' quick, kind', rejected: ' slow' },
  { prompt: 'I would', chosen: ' come back', rejected: ' not return' },
  { prompt: 'Price', chosen: ' fair', rejected: ' too high for this' },
];

describe('DPO on a Hugging Face folder', { skip }, () => {
  it('the folder gshf writes after DPO steps reloads in PyTorch with the same logits', () => {
    const src = mkdtempSync(join(root, 'init-'));
    const m = PARITY_MODELS['llama (GQA, untied, llama3 RoPE scaling, bf16, 2 shards)'];
    makeHFFolder(src, m.config, m.dtype, m.shards);
    const before = loadCheckpoint(src).model.params.slice();
    const out = join(root, 'dpo');
    const r = runDpo({
      pairs: PAIRS,
      dataName: 'pairs',
      out,
      init: src,
      batchSize: 2,
      lr: 1e-2,
      maxSteps: 2,
    });
    assert.equal(r.steps, 2);
    const written = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual([written.model_type, written.torch_dtype], ['llama', 'float32']);
    const policy = loadCheckpoint(out).model;
    let moved = 0;
    for (let i = 0; i < before.length; i++) moved = Math.max(moved, Math.abs(policy.params[i] - before[i]));
    assert.ok(moved > 1e-3, `DPO changed the weights (max change ${moved})`);
    // the PyTorch reference reads the written folder; compare its logits with gshf's
    const B = 2;
    const T = 8;
    const tokens = Array.from({ length: B * T }, (_, i) => (i * 31 + 5) % 300);
    const inputs = { B, T, tokens, mask: tokens.map(() => 1), weights: [1, 1] };
    writeFileSync(join(root, 'inputs.json'), JSON.stringify(inputs));
    runTorchRef(['run', out, join(root, 'inputs.json'), join(root, 'ref.safetensors')]);
    const ref = readAllF32(join(root, 'ref.safetensors')).get('logits') as Float32Array;
    const ours = policy.forwardLogits(Int32Array.from(tokens), B, T);
    const e = relErr(ours, ref);
    assert.ok(e < 1e-4, `logits of the written checkpoint: relative error ${e}`);
  });
});
