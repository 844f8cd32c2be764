/**
 * Hugging Face folders without PyTorch: config.json validation (refusals name file and key),
 * f16/bf16 decoding, write → reload round trips, and KV-cache decoding of the Llama block.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/math/rng.js';
import { loadCheckpoint, readCheckpointConfig, saveCheckpoint } from '../../src/nn/checkpoint.js';
import { gptConfigFromHF } from '../../src/nn/hf/config.js';
import { isHFFolder, loadHFTokenizer } from '../../src/nn/hf/folder.js';
import { GPT } from '../../src/nn/model.js';
import { decodeTensorF32 } from '../../src/nn/safetensors.js';
import { ropeInvFreq } from '../../src/nn/llama.js';
import { generate } from '../../src/nn/sample.js';

const TOKENIZER = fileURLToPath(
  new URL('../../../test/nn/fixtures/tiny-bpe-tokenizer.json', import.meta.url),
);
const root = mkdtempSync(join(tmpdir(), 'gshf-hf-folder-'));
after(() => rmSync(root, { recursive: true, force: true }));

const LLAMA = {
  model_type: 'llama',
  vocab_size: 300,
  hidden_size: 24,
  intermediate_size: 40,
  num_hidden_layers: 2,
  num_attention_heads: 6,
  num_key_value_heads: 2,
  max_position_embeddings: 32,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  hidden_act: 'silu',
  tie_word_embeddings: false,
};

function refusal(raw: Record<string, unknown>, re: RegExp): void {
  assert.throws(() => gptConfigFromHF(raw, 'm/config.json'), re);
}

describe('HF config.json', () => {
  it('maps the Llama family onto the Llama block (GQA, head_dim, biases, q/k norm)', () => {
    const c = gptConfigFromHF(LLAMA, 'config.json');
    assert.deepEqual(
      [c.nLayer, c.nHead, c.nEmbd, c.blockSize, c.tiedHead, c.llama?.nKVHead, c.llama?.headDim],
      [2, 6, 24, 32, false, 2, 4],
    );
    const q2 = gptConfigFromHF({ ...LLAMA, model_type: 'qwen2', tie_word_embeddings: true }, 'config.json');
    assert.deepEqual([q2.llama?.qkvBias, q2.llama?.oBias, q2.tiedHead], [true, false, true]);
    const q3 = gptConfigFromHF({ ...LLAMA, model_type: 'qwen3', head_dim: 8 }, 'config.json');
    assert.deepEqual([q3.llama?.qkNorm, q3.llama?.headDim, q3.llama?.qkvBias], [true, 8, false]);
    const big = gptConfigFromHF({ ...LLAMA, max_position_embeddings: 131072 }, 'config.json');
    assert.equal(big.blockSize, 1024, 'the context is capped (default 1024)');
    const win = gptConfigFromHF({ ...LLAMA, model_type: 'mistral', sliding_window: 16 }, 'config.json');
    assert.equal(win.blockSize, 16, 'a sliding window caps the context so attention stays exact');
  });

  it('refuses unknown architectures and keys, naming the file and the nearest key', () => {
    refusal({ ...LLAMA, model_type: 'gpt_neox' }, /m\/config\.json: model_type: "gpt_neox" is not supported/);
    refusal({ ...LLAMA, model_type: 'qwen' }, /did you mean "qwen2"/);
    refusal(
      { ...LLAMA, rope_scalling: null },
      /m\/config\.json: unknown key "rope_scalling".*did you mean "rope_scaling"/,
    );
    refusal({ ...LLAMA, hidden_act: 'gelu' }, /m\/config\.json: hidden_act: expected "silu"/);
    refusal(
      { ...LLAMA, rope_scaling: { rope_type: 'yarn', factor: 4 } },
      /rope_scaling.rope_type: "yarn" is not supported/,
    );
    refusal(
      { ...LLAMA, rope_scaling: { rope_type: 'linear', factor: 2, foo: 1 } },
      /rope_scaling: unknown key "foo"/,
    );
    refusal({ ...LLAMA, rope_interleaved: true }, /rope_interleaved: expected false/);
    refusal(
      { ...LLAMA, num_attention_heads: 5, num_key_value_heads: 5 },
      /num_attention_heads: expected a divisor of hidden_size \(24\)/,
    );
    refusal(
      { ...LLAMA, num_key_value_heads: 4 },
      /num_key_value_heads: expected a divisor of num_attention_heads \(6\), got 4/,
    );
    refusal(
      {
        model_type: 'gpt2',
        vocab_size: 10,
        n_positions: 8,
        n_embd: 8,
        n_layer: 1,
        n_head: 2,
        activation_function: 'relu',
      },
      /activation_function/,
    );
    refusal(
      { model_type: 'gpt2', vocab_size: 10, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2, n_inner: 12 },
      /n_inner: expected null or 4·n_embd = 32/,
    );
  });

  it('llama3 RoPE scaling: long wavelengths ÷ factor, short kept, blend in between (hand-computed)', () => {
    const s = {
      type: 'llama3' as const,
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 64,
    };
    const base = ropeInvFreq(8, 10000, null); // 1, 0.1, 0.01, 0.001
    const inv = ropeInvFreq(8, 10000, s);
    // wavelengths 2π/f: 6.28 (< 16: kept), 62.8 (between 16 and 64: blended), 628 and 6283 (> 64: ÷ 8)
    assert.equal(inv[0], base[0]);
    const smooth = (64 / ((2 * Math.PI) / base[1]) - 1) / (4 - 1);
    assert.ok(Math.abs(inv[1] - ((1 - smooth) * base[1]) / 8 - smooth * base[1]) < 1e-15);
    assert.ok(Math.abs(inv[2] - base[2] / 8) < 1e-18 && Math.abs(inv[3] - base[3] / 8) < 1e-18);
  });
});

describe('safetensors dtypes', () => {
  it('decodes f16 and bf16 bit patterns exactly', () => {
    const f16 = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555, 0x8000]).buffer);
    const out = new Float32Array(6);
    decodeTensorF32(f16, 0, 6, 'F16', out, 0, 't');
    assert.deepEqual([...out], [1, -2, 65504, 2 ** -24, Math.fround(0.333251953125), -0]);
    const bf = new Uint8Array(new Uint16Array([0x3f80, 0xc040, 0x3eab]).buffer);
    decodeTensorF32(bf, 0, 3, 'BF16', out, 0, 't');
    assert.deepEqual([...out.subarray(0, 3)], [1, -3, Math.fround(0.333984375)]);
    assert.throws(
      () => decodeTensorF32(bf, 0, 1, 'I8', out, 0, 'x.safetensors: tensor "w"'),
      /tensor "w": dtype I8 is not supported/,
    );
  });
});

/** A random Llama-block model marked as coming from an HF folder (tokenizer copied there). */
function hfModel(raw: Record<string, unknown>, dir: string, seed = 3): GPT {
  const m = new GPT(gptConfigFromHF(raw, 'config.json'), seed);
  const rng = new Rng(seed);
  for (let i = 0; i < m.numParams; i++) m.params[i] += 0.1 * rng.normal();
  copyFileSync(TOKENIZER, join(dir, 'tokenizer.json'));
  m.hf = { family: String(raw.model_type), config: raw, dir };
  return m;
}

describe('HF folder round trip', () => {
  for (const raw of [
    LLAMA,
    { ...LLAMA, model_type: 'qwen3', head_dim: 6, tie_word_embeddings: true },
    {
      model_type: 'gpt2',
      vocab_size: 300,
      n_positions: 16,
      n_embd: 16,
      n_layer: 2,
      n_head: 2,
      tie_word_embeddings: false,
    },
  ])
    it(`${String(raw.model_type)}: written folder reloads bit-exact with the same logits`, () => {
      const src = mkdtempSync(join(root, 'src-'));
      const m = hfModel(raw, src);
      const out = join(root, `out-${String(raw.model_type)}`);
      saveCheckpoint(out, m, loadHFTokenizer(src), { stage: 'test' });
      assert.ok(isHFFolder(out));
      for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'gshf.json'])
        assert.ok(existsSync(join(out, f)), f);
      const written = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(written.torch_dtype, 'float32');
      assert.deepEqual(readCheckpointConfig(out).meta.stage, 'test');
      const back = loadCheckpoint(out).model;
      assert.deepEqual(back.params, m.params);
      const toks = Int32Array.from([1, 5, 9, 200, 7, 3]);
      assert.deepEqual(back.forwardLogits(toks, 1, 6), m.forwardLogits(toks, 1, 6));
    });

  it('refuses a folder whose weights do not fit its config, naming file and tensor', () => {
    const src = mkdtempSync(join(root, 'bad-'));
    const m = hfModel(LLAMA, src);
    const out = join(root, 'bad-out');
    saveCheckpoint(out, m, loadHFTokenizer(src));
    writeFileSync(join(out, 'config.json'), JSON.stringify({ ...LLAMA, intermediate_size: 41 }));
    assert.throws(
      () => loadCheckpoint(out),
      /model\.safetensors: tensor "model\.layers\.0\.mlp\.gate_proj\.weight": shape \[40, 24\] does not match config\.json \(expected \[41, 24\]\)/,
    );
    writeFileSync(join(out, 'config.json'), JSON.stringify({ ...LLAMA, num_hidden_layers: 1 }));
    assert.throws(() => loadCheckpoint(out), /tensor "model\.layers\.1\..*" has no place in the model/);
  });
});

describe('Llama block KV-cache decoding', () => {
  it('prefill + decode steps give the full forward logits (GQA, q/k norm, biases)', () => {
    const dir = mkdtempSync(join(root, 'kv-'));
    const m = hfModel({ ...LLAMA, model_type: 'qwen3', head_dim: 6, attention_bias: true }, dir);
    const T = 10;
    const toks = Int32Array.from({ length: T }, (_, i) => (i * 37 + 11) % 300);
    const full = m.forwardLogits(toks, 1, T).slice();
    const V = m.config.vocabSize;
    const cache = m.createKVCache(3);
    const first = m.prefill(cache, 1, toks.subarray(0, 4));
    let worst = 0;
    for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(first[v] - full[3 * V + v]));
    m.copyCacheSlot(cache, 1, 2);
    for (let t = 4; t < T; t++) {
      const lg = m.decodeStep(cache, [2, 1], [toks[t], toks[t]]);
      for (let v = 0; v < V; v++) {
        worst = Math.max(worst, Math.abs(lg[v] - full[t * V + v]), Math.abs(lg[V + v] - full[t * V + v]));
      }
    }
    assert.ok(worst < 1e-5, `cached vs full forward: ${worst}`);
  });

  it('generate() samples from an HF-layout model (greedy equals argmax of the full forward)', () => {
    const dir = mkdtempSync(join(root, 'gen-'));
    const m = hfModel(LLAMA, dir);
    const [[s]] = generate(m, [[1, 2, 3]], { n: 1, temperature: 0, maxTokens: 4, seed: 1 });
    const seq = [1, 2, 3, ...s.tokens.slice(0, 3)];
    const lg = m.forwardLogits(Int32Array.from(seq), 1, seq.length);
    const V = m.config.vocabSize;
    for (let i = 0; i < 3; i++) {
      const row = lg.subarray((2 + i) * V, (3 + i) * V);
      assert.equal(s.tokens[i], row.indexOf(Math.max(...row)));
    }
  });
});
