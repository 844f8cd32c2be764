/** Shared by the Hugging Face tests: the parity model configs, folder creation, tensor readers. */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeTensorF32, parseSafetensorsHeader } from '../../src/nn/safetensors.js';
import { runTorchRef } from '../helpers/torch-ref.js';

export const TOKENIZER = fileURLToPath(
  new URL('../../../test/nn/fixtures/tiny-bpe-tokenizer.json', import.meta.url),
);

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
