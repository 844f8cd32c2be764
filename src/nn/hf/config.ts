/**
 * A Hugging Face causal-LM `config.json` → the engine's `GPTConfig`. Supported: GPT-2 (mapped onto
 * the GPT-2 block) and the Llama family — `llama` (Llama 3.x, SmolLM2), `mistral`, `qwen2` (Qwen2 /
 * 2.5: q/k/v bias), `qwen3` (q/k RMSNorm). Every key of the file is either read, known not to
 * change the forward pass (dropout, token ids, bookkeeping), or refused: an unknown key, or a known
 * one with a value the engine does not implement, is an error naming the file, the key and (for
 * unknown keys) the nearest known one.
 */
import { didYouMean, GshfInputError, showValue } from '../../math/errors.js';
import { type GPTConfig, parseGPTConfig, type RopeScaling } from '../config.js';

export type HFFamily = 'gpt2' | 'llama' | 'mistral' | 'qwen2' | 'qwen3';
export const HF_FAMILIES: readonly HFFamily[] = ['gpt2', 'llama', 'mistral', 'qwen2', 'qwen3'];

/** Keys of any PretrainedConfig that leave the forward pass unchanged. */
const INERT_COMMON = [
  '_name_or_path',
  'architectures',
  'model_type',
  'torch_dtype',
  'dtype',
  'transformers_version',
  'bos_token_id',
  'eos_token_id',
  'pad_token_id',
  'sep_token_id',
  'decoder_start_token_id',
  'initializer_range',
  'use_cache',
  'attention_dropout',
  'output_attentions',
  'output_hidden_states',
  'return_dict',
  'torchscript',
  'id2label',
  'label2id',
  'problem_type',
  'tokenizer_class',
  'task_specific_params',
  'finetuning_task',
  'prefix',
  'max_length',
  'min_length',
  'do_sample',
  'early_stopping',
  'num_beams',
  'temperature',
  'top_k',
  'top_p',
  'repetition_penalty',
  'length_penalty',
  'no_repeat_ngram_size',
  'num_return_sequences',
  'chunk_size_feed_forward',
  'is_encoder_decoder',
  'is_decoder',
  'pruned_heads',
  'tie_encoder_decoder',
  'use_bfloat16',
  'num_labels',
  'cross_attention_hidden_size',
];

const INERT_GPT2 = [
  'attn_pdrop',
  'embd_pdrop',
  'resid_pdrop',
  'summary_activation',
  'summary_first_dropout',
  'summary_proj_to_labels',
  'summary_type',
  'summary_use_proj',
  'n_ctx',
  'reorder_and_upcast_attn',
  'gradient_checkpointing',
];

const INERT_LLAMA = [
  'pretraining_tp',
  'is_llama_config',
  'mlp_dropout',
  'embd_pdrop',
  'resid_pdrop',
  'max_window_layers',
];

/** Where a value came from, for messages. */
interface Src {
  readonly file: string;
  readonly raw: Record<string, unknown>;
}

function bad(src: Src, key: string, want: string): never {
  throw new GshfInputError(`${src.file}: ${key}: expected ${want}, got ${showValue(src.raw[key])}`);
}

function int(src: Src, key: string, dflt?: number): number {
  const v = src.raw[key] ?? dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) bad(src, key, 'a positive integer');
  return v;
}

function num(src: Src, key: string, dflt?: number): number {
  const v = src.raw[key] ?? dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) bad(src, key, 'a positive number');
  return v;
}

function bool(src: Src, key: string, dflt: boolean): boolean {
  const v = src.raw[key] ?? dflt;
  if (typeof v !== 'boolean') bad(src, key, 'true or false');
  return v;
}

/** Refuses a key whose value changes the maths away from what the engine computes. */
function requireValue(src: Src, key: string, ok: (v: unknown) => boolean, want: string): void {
  if (key in src.raw && !ok(src.raw[key])) bad(src, key, want);
}

function checkKeys(src: Src, known: readonly string[]): void {
  for (const k of Object.keys(src.raw))
    if (!known.includes(k))
      throw new GshfInputError(
        `${src.file}: unknown key "${k}" for model_type "${String(src.raw.model_type)}"; the engine refuses keys it does not know, as they may change the model's maths${didYouMean(k, known)}`,
      );
}

export interface HFConfigOptions {
  /**
   * Longest context the engine allocates for (rotary table, KV cache), capping
   * max_position_embeddings of Llama-family models (default 1024). GPT-2 always uses n_positions
   * (its position table has that many rows).
   */
  maxContext?: number;
  head?: GPTConfig['head'];
}

export const DEFAULT_HF_MAX_CONTEXT = 1024;

/** Reads the `model_type` and refuses unsupported architectures, naming the file and field. */
export function hfFamily(raw: Record<string, unknown>, file: string): HFFamily {
  const t = raw.model_type;
  if (typeof t !== 'string')
    throw new GshfInputError(
      `${file}: model_type: missing (a Hugging Face config.json names its architecture)`,
    );
  if (!(HF_FAMILIES as readonly string[]).includes(t))
    throw new GshfInputError(
      `${file}: model_type: "${t}" is not supported (supported: ${HF_FAMILIES.join(', ')})${didYouMean(t, HF_FAMILIES)}`,
    );
  return t as HFFamily;
}

/** HF GPT-2 config → the GPT-2 block. */
function gpt2Config(src: Src, head: GPTConfig['head']): GPTConfig {
  checkKeys(src, [
    ...INERT_COMMON,
    ...INERT_GPT2,
    'vocab_size',
    'n_positions',
    'n_embd',
    'n_layer',
    'n_head',
    'n_inner',
    'layer_norm_epsilon',
    'activation_function',
    'tie_word_embeddings',
    'scale_attn_weights',
    'scale_attn_by_inverse_layer_idx',
    'add_cross_attention',
  ]);
  const C = int(src, 'n_embd');
  requireValue(src, 'n_inner', (v) => v === null || v === 4 * C, `null or 4·n_embd = ${4 * C}`);
  requireValue(
    src,
    'activation_function',
    (v) => v === 'gelu_new' || v === 'gelu_pytorch_tanh',
    '"gelu_new" or "gelu_pytorch_tanh" (the tanh GELU the engine computes)',
  );
  requireValue(src, 'scale_attn_weights', (v) => v === true, 'true');
  requireValue(src, 'scale_attn_by_inverse_layer_idx', (v) => v === false, 'false');
  requireValue(src, 'add_cross_attention', (v) => v === false, 'false');
  return parseGPTConfig(
    {
      vocabSize: int(src, 'vocab_size'),
      blockSize: int(src, 'n_positions'),
      nLayer: int(src, 'n_layer'),
      nHead: int(src, 'n_head'),
      nEmbd: C,
      tiedHead: bool(src, 'tie_word_embeddings', true),
      head,
      layerNormEps: num(src, 'layer_norm_epsilon', 1e-5),
    },
    src.file,
  );
}

/** rope_scaling → RopeScaling (null for none / "default"); other schemes are refused. */
function ropeScaling(src: Src): RopeScaling | null {
  const v = src.raw.rope_scaling;
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) bad(src, 'rope_scaling', 'an object or null');
  const r = v as Record<string, unknown>;
  const type = r.rope_type ?? r.type;
  const sub: Src = { file: `${src.file}: rope_scaling`, raw: r };
  const keys = (extra: string[]): void => checkKeys(sub, ['rope_type', 'type', ...extra]);
  if (type === 'default') {
    keys([]);
    return null;
  }
  if (type === 'linear') {
    keys(['factor']);
    return { type: 'linear', factor: num(sub, 'factor') };
  }
  if (type === 'llama3') {
    keys(['factor', 'low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings']);
    return {
      type: 'llama3',
      factor: num(sub, 'factor'),
      lowFreqFactor: num(sub, 'low_freq_factor'),
      highFreqFactor: num(sub, 'high_freq_factor'),
      originalMaxPositionEmbeddings: int(sub, 'original_max_position_embeddings'),
    };
  }
  throw new GshfInputError(
    `${src.file}: rope_scaling.rope_type: ${showValue(type)} is not supported (supported: default, linear, llama3)`,
  );
}

/** Attention window in effect (sliding_window when the family turns it on), or null for full causal. */
function slidingWindow(src: Src, family: HFFamily): number | null {
  const w = src.raw.sliding_window;
  if (w === undefined || w === null) return null;
  if (family === 'qwen2' || family === 'qwen3') {
    if (!bool(src, 'use_sliding_window', false)) return null;
  }
  if (family === 'llama') bad(src, 'sliding_window', 'null (Llama has no sliding window)');
  return int(src, 'sliding_window');
}

/** Llama-family config → the Llama block. */
function llamaConfig(src: Src, family: HFFamily, opts: HFConfigOptions): GPTConfig {
  checkKeys(src, [
    ...INERT_COMMON,
    ...INERT_LLAMA,
    'vocab_size',
    'hidden_size',
    'intermediate_size',
    'num_hidden_layers',
    'num_attention_heads',
    'num_key_value_heads',
    'head_dim',
    'max_position_embeddings',
    'rms_norm_eps',
    'rope_theta',
    'rope_scaling',
    'hidden_act',
    'tie_word_embeddings',
    'attention_bias',
    'mlp_bias',
    'sliding_window',
    'use_sliding_window',
    'layer_types',
    'rope_interleaved',
  ]);
  requireValue(src, 'hidden_act', (v) => v === 'silu', '"silu" (SwiGLU)');
  requireValue(src, 'rope_interleaved', (v) => v === false, 'false (the rotate-half RoPE layout)');
  requireValue(
    src,
    'layer_types',
    (v) => Array.isArray(v) && v.every((t) => t === 'full_attention'),
    'only "full_attention" layers',
  );
  const C = int(src, 'hidden_size');
  const nHead = int(src, 'num_attention_heads');
  const nKV = int(src, 'num_key_value_heads', nHead);
  if (nHead % nKV !== 0) bad(src, 'num_key_value_heads', `a divisor of num_attention_heads (${nHead})`);
  if ((src.raw.head_dim ?? null) === null && C % nHead !== 0)
    bad(src, 'num_attention_heads', `a divisor of hidden_size (${C}) when head_dim is not given`);
  const window = slidingWindow(src, family);
  const maxPos = int(src, 'max_position_embeddings', 2048);
  const blockSize = Math.min(maxPos, window ?? maxPos, opts.maxContext ?? DEFAULT_HF_MAX_CONTEXT);
  const attnBias = bool(src, 'attention_bias', false);
  return parseGPTConfig(
    {
      vocabSize: int(src, 'vocab_size'),
      blockSize,
      nLayer: int(src, 'num_hidden_layers'),
      nHead,
      nEmbd: C,
      tiedHead: bool(src, 'tie_word_embeddings', false),
      head: opts.head ?? 'lm',
      layerNormEps: num(src, 'rms_norm_eps', 1e-6),
      llama: {
        nKVHead: nKV,
        headDim: src.raw.head_dim === null ? C / nHead : int(src, 'head_dim', C / nHead),
        intermediateSize: int(src, 'intermediate_size'),
        ropeTheta: num(src, 'rope_theta', 10000),
        ropeScaling: ropeScaling(src),
        qkvBias: family === 'qwen2' || attnBias,
        oBias: family !== 'qwen2' && attnBias,
        mlpBias: family === 'llama' && bool(src, 'mlp_bias', false),
        qkNorm: family === 'qwen3',
      },
    },
    src.file,
  );
}

/** Validates a parsed HF config.json and maps it onto the engine's config. */
export function gptConfigFromHF(raw: unknown, file: string, opts: HFConfigOptions = {}): GPTConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new GshfInputError(`${file}: expected a JSON object`);
  const src: Src = { file, raw: raw as Record<string, unknown> };
  const family = hfFamily(src.raw, file);
  if (family === 'gpt2') return gpt2Config(src, opts.head ?? 'lm');
  return llamaConfig(src, family, opts);
}
