/**
 * Hugging Face checkpoints against the PyTorch reference (test/nn/ref/hf_ref.py): random folders in
 * the HF layout are written by Python, loaded by gshf, and the logits, per-token log-probs and the
 * gradient of every parameter (of L = Σ_b w_b Σ_t mask·log p) must equal PyTorch's to 1e-4 relative.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Rng } from '../../src/math/rng.js';
import { loadCheckpoint } from '../../src/nn/checkpoint.js';
import { hfTensors } from '../../src/nn/hf/folder.js';
import type { HFFamily } from '../../src/nn/hf/config.js';
import type { GPT } from '../../src/nn/model.js';
import { runTorchRef, torchSkip } from '../helpers/torch-ref.js';
import { makeHFFolder, PARITY_MODELS, readAllF32, relErr } from './hf-helpers.js';

const skip = torchSkip();
const root = mkdtempSync(join(tmpdir(), 'gshf-hf-parity-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Inputs {
  B: number;
  T: number;
  tokens: number[];
  mask: number[];
  weights: number[];
}

function inputs(V: number, seed: number): Inputs {
  const rng = new Rng(seed);
  const B = 3;
  const T = 9;
  const tokens: number[] = [];
  const mask: number[] = [];
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      tokens.push(rng.int(V));
      mask.push(t >= 2 && t < T - b ? 1 : 0); // a prompt, then right padding of b tokens
    }
  return { B, T, tokens, mask, weights: [0.7, -1.3, 0.4] };
}

/** gshf's logits, per-token log-probs and gradients (HF names) for `inp`. */
function gshfRun(model: GPT, family: HFFamily, inp: Inputs): Map<string, Float32Array> {
  const tokens = Int32Array.from(inp.tokens);
  const mask = Float32Array.from(inp.mask);
  const out = new Map<string, Float32Array>();
  out.set('logits', model.forwardLogits(tokens, inp.B, inp.T).slice());
  model.zeroGrad();
  const lp = model.tokenLogProbs({ B: inp.B, T: inp.T, tokens, mask });
  out.set('token_logprobs', lp.tokenLogProbs);
  model.backwardSeqLogProbs(inp.weights);
  for (const t of hfTensors(model, family, model.grads)) out.set('grad.' + t.name, t.data);
  return out;
}

/** Asserts gshf equals the reference on every output; returns the worst relative error. */
export function assertParity(dir: string, model: GPT, family: HFFamily, seed = 7): number {
  const inp = inputs(model.config.vocabSize, seed);
  writeFileSync(join(dir, 'inputs.json'), JSON.stringify(inp));
  runTorchRef(['run', dir, join(dir, 'inputs.json'), join(dir, 'ref.safetensors')]);
  const ref = readAllF32(join(dir, 'ref.safetensors'));
  const ours = gshfRun(model, family, inp);
  let worst = 0;
  let checked = 0;
  for (const [name, mine] of ours) {
    const theirs = ref.get(name) ?? ref.get(name.replace('grad.transformer.', 'grad.'));
    assert.ok(theirs, `the reference has no ${name}`);
    const e = relErr(mine, theirs);
    assert.ok(e <= 1e-4, `${name}: relative error ${e.toExponential(2)} > 1e-4`);
    worst = Math.max(worst, e);
    checked++;
  }
  const refGrads = [...ref.keys()].filter((k) => k.startsWith('grad.')).length;
  assert.equal(checked - 2, refGrads, 'every reference gradient is compared');
  return worst;
}

describe('Hugging Face checkpoints equal the PyTorch reference', { skip }, () => {
  for (const [label, m] of Object.entries(PARITY_MODELS)) {
    it(`${label}: logits, per-token log-probs and every gradient to 1e-4 relative`, (t) => {
      const dir = mkdtempSync(join(root, 'm-'));
      makeHFFolder(dir, m.config, m.dtype, m.shards);
      const { model } = loadCheckpoint(dir);
      const worst = assertParity(dir, model, m.config.model_type as HFFamily);
      t.diagnostic(`worst relative error ${worst.toExponential(2)}`);
      assert.ok(worst < 1e-4);
    });
  }
});
