/**
 * Hugging Face checkpoints against the PyTorch reference (test/nn/ref/hf_ref.py): random folders in
 * the HF layout are written by Python, loaded by gshf, and the logits, per-token log-probs and the
 * gradient of every parameter (of L = Σ_b w_b Σ_t mask·log p) must equal PyTorch's to 1e-4 relative.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/math/rng.js';
import { loadCheckpoint } from '../../src/nn/checkpoint.js';
import { hfTensors } from '../../src/nn/hf/folder.js';
import type { HFFamily } from '../../src/nn/hf/config.js';
import type { GPT } from '../../src/nn/model.js';
import { parseSafetensorsHeader, decodeTensorF32 } from '../../src/nn/safetensors.js';
import { runTorchRef, torchSkip } from '../helpers/torch-ref.js';

const TOKENIZER = fileURLToPath(
  new URL('../../../test/nn/fixtures/tiny-bpe-tokenizer.json', import.meta.url),
);
const skip = torchSkip();
const root = mkdtempSync(join(tmpdir(), 'gshf-hf-parity-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** The HF configs under test (small, random; vocab above the fixture tokenizer's 269 ids). */
export const PARITY_MODELS: Record<
  string,
  { config: Record<string, unknown>; dtype?: string; shards?: number }
> = {
  gpt2: {
    config: {
      model_type: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      vocab_size: 300,
      n_positions: 16,
      n_embd: 32,
      n_layer: 2,
      n_head: 4,
      n_inner: null,
      activation_function: 'gelu_new',
      layer_norm_epsilon: 1e-5,
      attn_pdrop: 0.1,
      embd_pdrop: 0.1,
      resid_pdrop: 0.1,
      bos_token_id: 268,
      eos_token_id: 268,
    },
  },
  'llama (GQA, untied, llama3 RoPE scaling, bf16, 2 shards)': {
    config: {
      model_type: 'llama',
      architectures: ['LlamaForCausalLM'],
      vocab_size: 300,
      hidden_size: 32,
      intermediate_size: 48,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 64,
      rms_norm_eps: 1e-5,
      rope_theta: 500000.0,
      rope_scaling: {
        rope_type: 'llama3',
        factor: 8.0,
        low_freq_factor: 1.0,
        high_freq_factor: 4.0,
        original_max_position_embeddings: 8,
      },
      hidden_act: 'silu',
      tie_word_embeddings: false,
      attention_bias: false,
      mlp_bias: false,
      pretraining_tp: 1,
      torch_dtype: 'bfloat16',
    },
    dtype: 'BF16',
    shards: 2,
  },
  'qwen2 (attention bias, tied, f16)': {
    config: {
      model_type: 'qwen2',
      architectures: ['Qwen2ForCausalLM'],
      vocab_size: 300,
      hidden_size: 32,
      intermediate_size: 40,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 32,
      rms_norm_eps: 1e-6,
      rope_theta: 1000000.0,
      hidden_act: 'silu',
      tie_word_embeddings: true,
      use_sliding_window: false,
      sliding_window: 32768,
      max_window_layers: 21,
      torch_dtype: 'float16',
    },
    dtype: 'F16',
  },
  'qwen3 (q/k norm, head_dim ≠ hidden/heads)': {
    config: {
      model_type: 'qwen3',
      architectures: ['Qwen3ForCausalLM'],
      vocab_size: 300,
      hidden_size: 32,
      intermediate_size: 40,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 12,
      max_position_embeddings: 32,
      rms_norm_eps: 1e-6,
      rope_theta: 1000000.0,
      hidden_act: 'silu',
      tie_word_embeddings: true,
      attention_bias: false,
    },
  },
  'mistral (MHA, untied)': {
    config: {
      model_type: 'mistral',
      architectures: ['MistralForCausalLM'],
      vocab_size: 300,
      hidden_size: 32,
      intermediate_size: 56,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 4,
      max_position_embeddings: 32,
      rms_norm_eps: 1e-5,
      rope_theta: 10000.0,
      hidden_act: 'silu',
      sliding_window: 4096,
      tie_word_embeddings: false,
    },
  },
};

/** Writes a random HF folder with the Python reference. */
export function makeHFFolder(
  dir: string,
  config: Record<string, unknown>,
  dtype = 'F32',
  shards = 1,
  seed = 1,
): void {
  const spec = join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify({ config, dtype, shards, seed, tokenizer: TOKENIZER }));
  runTorchRef(['make', dir, spec]);
  rmSync(spec);
}

/** Every float32 tensor of a safetensors file. */
export function readAllF32(file: string): Map<string, Float32Array> {
  const buf = readFileSync(file);
  const { entries, dataStart } = parseSafetensorsHeader(buf, file);
  const out = new Map<string, Float32Array>();
  for (const [name, e] of entries) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    decodeTensorF32(buf, dataStart + e.data_offsets[0], n, e.dtype, data, 0, name);
    out.set(name, data);
  }
  return out;
}

/** max|a − b| / max|b| (b the reference). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return m === 0 ? d : d / m;
}

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
