/**
 * Hugging Face causal-LM folders in and out: config.json (see ./config.ts), model.safetensors or a
 * sharded model.safetensors.index.json (F32 / F16 / BF16, computed in float32), tokenizer.json,
 * tokenizer_config.json (special tokens, chat template) and generation_config.json. Writing produces
 * the same layout (float32 weights), loadable by transformers / vLLM / TRL without conversion.
 *
 * Tensor names: the Llama block already uses Hugging Face names. GPT-2 is mapped onto the GPT-2
 * block: HF stores its attention/MLP matrices as Conv1D, i.e. [in, out], the engine as [out, in],
 * so those four matrices per layer are transposed on the way in and out.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GshfInputError, ioError } from '../../math/errors.js';
import { writeFileAtomic } from '../../report/atomic.js';
import { readJsonFile } from '../../report/jsonl.js';
import type { CheckpointConfig, LoadedCheckpoint } from '../checkpoint-config.js';
import type { GPTConfig } from '../config.js';
import { GPT, type HFOrigin, type TensorInfo } from '../model.js';
import {
  checkFinite,
  decodeTensorF32,
  encodeSafetensors,
  parseSafetensorsHeader,
  SAFETENSORS_DTYPE_BYTES,
  type SafetensorEntry,
} from '../safetensors.js';
import { loadTokenizer, type SpecialTokenNames, type Tokenizer } from '../tokenizer.js';
import { gptConfigFromHF, hfFamily, type HFConfigOptions, type HFFamily } from './config.js';

export const HF_CONFIG = 'config.json';
export const HF_WEIGHTS = 'model.safetensors';
export const HF_INDEX = 'model.safetensors.index.json';
export const HF_TOKENIZER = 'tokenizer.json';
export const HF_TOKENIZER_CONFIG = 'tokenizer_config.json';
export const HF_GENERATION_CONFIG = 'generation_config.json';
/** gshf's own metadata next to a written HF folder (config.json stays pure Hugging Face). */
export const HF_GSHF_META = 'gshf.json';
/** Files copied verbatim from the source folder when writing (tokenizer and generation settings). */
const PASSTHROUGH = [
  HF_TOKENIZER,
  HF_TOKENIZER_CONFIG,
  HF_GENERATION_CONFIG,
  'special_tokens_map.json',
  'vocab.json',
  'merges.txt',
];

/** True when `dir/config.json` is a Hugging Face config (has model_type, is not a gshf checkpoint). */
export function isHFFolder(dir: string): boolean {
  const file = join(dir, HF_CONFIG);
  if (!existsSync(file)) return false;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
  return typeof raw === 'object' && raw !== null && 'model_type' in raw && !('format' in raw);
}

/** One stored tensor: its header entry and the bytes of the file holding it. */
interface StoredTensor {
  entry: SafetensorEntry;
  buf: Uint8Array;
  dataStart: number;
  file: string;
}

/** Every tensor of model.safetensors, or of all shards listed by model.safetensors.index.json. */
export function openHFWeights(dir: string): Map<string, StoredTensor> {
  const index = join(dir, HF_INDEX);
  let files: string[];
  if (existsSync(join(dir, HF_WEIGHTS))) files = [HF_WEIGHTS];
  else if (existsSync(index)) {
    const raw = readJsonFile(index) as { weight_map?: unknown };
    const wm = raw?.weight_map;
    if (typeof wm !== 'object' || wm === null || Array.isArray(wm))
      throw new GshfInputError(`${index}: weight_map: expected an object {tensor: file}`);
    files = [...new Set(Object.values(wm as Record<string, unknown>).map(String))];
  } else
    throw new GshfInputError(`${dir}: no ${HF_WEIGHTS} or ${HF_INDEX} (only safetensors weights are read)`);
  const out = new Map<string, StoredTensor>();
  for (const f of files) {
    const file = join(dir, f);
    let buf: Buffer;
    try {
      buf = readFileSync(file);
    } catch (e) {
      throw ioError(e, file, 'read the weights');
    }
    const { entries, dataStart } = parseSafetensorsHeader(buf, file);
    for (const [name, entry] of entries) out.set(name, { entry, buf, dataStart, file });
  }
  return out;
}

/** Source of one engine tensor in the HF file: candidate names and whether it is a Conv1D (transposed). */
interface TensorSource {
  names: string[];
  transpose: boolean;
}

const GPT2_CONV1D = /\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;

/** Where the HF file keeps engine tensor `t` (its name in HF's layout). */
function hfSourceOf(t: TensorInfo, family: HFFamily): TensorSource {
  if (t.name === 'score_head.weight') return { names: ['score.weight'], transpose: false };
  if (t.name === 'score_head.bias') return { names: ['score.bias'], transpose: false };
  if (family !== 'gpt2' || t.name === 'lm_head.weight') return { names: [t.name], transpose: false };
  const bare = t.name.replace(/^transformer\./, '');
  return { names: [t.name, bare], transpose: GPT2_CONV1D.test(t.name) };
}

/** Stored tensors that carry no parameters (causal-mask buffers, cached RoPE frequencies). */
const IGNORED = /(\.attn\.(masked_)?bias|rotary_emb\.inv_freq)$/;

/** Copies src [rows, cols] transposed into dst [cols, rows]. */
function transposeInto(src: Float32Array, dst: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
}

/** Reads one engine tensor from the stored files (dtype → float32, Conv1D transposed). */
function readInto(model: GPT, t: TensorInfo, s: StoredTensor, name: string, transpose: boolean): void {
  const what = `${s.file}: tensor "${name}"`;
  const want = transpose ? [t.shape[1], t.shape[0]] : t.shape;
  const shape = s.entry.shape;
  if (shape.length !== want.length || shape.some((d, i) => d !== want[i]))
    throw new GshfInputError(
      `${what}: shape [${shape.join(', ')}] does not match config.json (expected [${want.join(', ')}])`,
    );
  const bytes = SAFETENSORS_DTYPE_BYTES[s.entry.dtype];
  if (bytes === undefined)
    throw new GshfInputError(`${what}: dtype ${s.entry.dtype} is not supported (F32, F16, BF16 or F64)`);
  const [a, b] = s.entry.data_offsets;
  if (b - a !== t.size * bytes)
    throw new GshfInputError(`${what}: data_offsets span ${b - a} bytes, expected ${t.size * bytes}`);
  const dst = model.params.subarray(t.offset, t.offset + t.size);
  if (!transpose) decodeTensorF32(s.buf, s.dataStart + a, t.size, s.entry.dtype, dst, 0, what);
  else {
    const tmp = new Float32Array(t.size);
    decodeTensorF32(s.buf, s.dataStart + a, t.size, s.entry.dtype, tmp, 0, what);
    transposeInto(tmp, dst, want[0], want[1]);
  }
  checkFinite(dst, what);
}

/** Loads every engine tensor; refuses missing ones and stored tensors the model has no place for. */
function loadWeights(model: GPT, dir: string, family: HFFamily, freshScoreHead: boolean): void {
  const stored = openHFWeights(dir);
  const used = new Set<string>();
  for (const t of model.tensors) {
    const src = hfSourceOf(t, family);
    const name = src.names.find((n) => stored.has(n));
    if (name === undefined) {
      if (freshScoreHead && t.name.startsWith('score_head.')) continue;
      throw new GshfInputError(
        `${dir}: missing tensor "${src.names[0]}" (expected shape [${t.shape.join(', ')}] from ${HF_CONFIG})`,
      );
    }
    readInto(model, t, stored.get(name) as StoredTensor, name, src.transpose);
    used.add(name);
  }
  const tiedCopy = (n: string): boolean => model.config.tiedHead && n === 'lm_head.weight';
  const headless = (n: string): boolean => model.config.head === 'scalar' && n === 'lm_head.weight';
  for (const [n, s] of stored)
    if (!used.has(n) && !IGNORED.test(n) && !tiedCopy(n) && !headless(n) && !n.startsWith('score.'))
      throw new GshfInputError(
        `${s.file}: tensor "${n}" has no place in the model described by ${HF_CONFIG} (a different architecture?)`,
      );
}

/** Token string of a tokenizer_config.json entry ("<s>" or {content: "<s>"}), if any. */
function tokenString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string')
    return (v as { content: string }).content;
  return undefined;
}

/** What a folder's tokenizer_config.json says beyond tokenizer.json. */
export interface HFTokenizerConfig {
  specials: SpecialTokenNames;
  /** Jinja chat template (the default one when the file lists several), if any. */
  chatTemplate?: string;
  /** The raw file (for template variables such as bos_token). */
  raw: Record<string, unknown>;
}

/** Reads tokenizer_config.json (absent: no overrides, no template). */
export function readHFTokenizerConfig(dir: string): HFTokenizerConfig {
  const file = join(dir, HF_TOKENIZER_CONFIG);
  if (!existsSync(file)) return { specials: {}, raw: {} };
  const raw = readJsonFile(file);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new GshfInputError(`${file}: expected a JSON object`);
  const r = raw as Record<string, unknown>;
  let tpl = r.chat_template;
  if (Array.isArray(tpl)) {
    const named = tpl as { name?: unknown; template?: unknown }[];
    tpl = (named.find((t) => t.name === 'default') ?? named[0])?.template;
  }
  if (tpl !== undefined && typeof tpl !== 'string')
    throw new GshfInputError(`${file}: chat_template: expected a string or a list of {name, template}`);
  const specials: SpecialTokenNames = {
    bos: tokenString(r.bos_token),
    eos: tokenString(r.eos_token),
    pad: tokenString(r.pad_token),
  };
  return { specials, chatTemplate: tpl, raw: r };
}

/** The folder's tokenizer.json with tokenizer_config.json's special tokens. */
export function loadHFTokenizer(dir: string): Tokenizer {
  const file = join(dir, HF_TOKENIZER);
  if (!existsSync(file))
    throw new GshfInputError(`${dir}: no ${HF_TOKENIZER} (the engine reads the fast-tokenizer file only)`);
  return loadTokenizer(file, 'auto', readHFTokenizerConfig(dir).specials);
}

export interface HFLoadOptions extends HFConfigOptions {
  seed?: number | string;
}

/** The engine config a folder describes (validated; errors name the file and key). */
export function readHFConfig(
  dir: string,
  opts: HFConfigOptions = {},
): { config: GPTConfig; raw: Record<string, unknown>; family: HFFamily } {
  const file = join(dir, HF_CONFIG);
  const raw = readJsonFile(file) as Record<string, unknown>;
  const config = gptConfigFromHF(raw, file, opts);
  return { config, raw, family: hfFamily(raw, file) };
}

/** gshf.json's meta of a folder gshf wrote (empty for a folder from elsewhere). */
function readGshfMeta(dir: string): Record<string, unknown> {
  const file = join(dir, HF_GSHF_META);
  if (!existsSync(file)) return {};
  const raw = readJsonFile(file);
  return typeof raw === 'object' && raw !== null
    ? ((raw as { meta?: Record<string, unknown> }).meta ?? {})
    : {};
}

/** The checkpoint config gshf reports for an HF folder (the model config plus the folder's files). */
export function hfCheckpointConfig(dir: string, opts: HFConfigOptions = {}): CheckpointConfig {
  const { config, family } = readHFConfig(dir, opts);
  return {
    format: 'gshf-lm',
    version: 1,
    model: config,
    tokenizer: { type: 'bpe', file: HF_TOKENIZER },
    meta: { ...readGshfMeta(dir), source: 'huggingface', family },
  };
}

/** Loads a Hugging Face causal-LM folder into the engine (weights in float32). */
export function loadHFCheckpoint(dir: string, opts: HFLoadOptions = {}): LoadedCheckpoint {
  const { config, raw, family } = readHFConfig(dir, opts);
  const model = new GPT(config, opts.seed ?? 0);
  const stored = raw.architectures;
  const scoreInFile =
    Array.isArray(stored) && stored.some((a) => String(a).endsWith('ForSequenceClassification'));
  loadWeights(model, dir, family, config.head === 'scalar' && !scoreInFile);
  if (config.head === 'scalar' && !scoreInFile) model.initScoreHead(opts.seed ?? 0);
  model.hf = { family, config: raw, dir } satisfies HFOrigin;
  const tokenizer = loadHFTokenizer(dir);
  if (tokenizer.vocabSize > config.vocabSize)
    throw new GshfInputError(
      `${join(dir, HF_CONFIG)}: vocab_size ${config.vocabSize} is smaller than the tokenizer's ${tokenizer.vocabSize}`,
    );
  return { model, tokenizer, config: hfCheckpointConfig(dir, opts) };
}

/**
 * HF name, shape and data of every engine tensor, read from `arena` (the parameters, or the
 * gradients: same layout), Conv1D matrices transposed back for GPT-2.
 */
export function hfTensors(
  model: GPT,
  family: HFFamily,
  arena: Float32Array = model.params,
): { name: string; shape: readonly number[]; data: Float32Array }[] {
  return model.tensors.map((t) => {
    const src = hfSourceOf(t, family);
    const data = arena.subarray(t.offset, t.offset + t.size);
    if (!src.transpose) return { name: src.names[0], shape: t.shape, data };
    const out = new Float32Array(t.size);
    transposeInto(data, out, t.shape[0], t.shape[1]);
    return { name: src.names[0], shape: [t.shape[1], t.shape[0]], data: out };
  });
}

/** config.json for the written weights: the source's keys, float32, the head's architecture. */
function writtenConfig(model: GPT, origin: HFOrigin): Record<string, unknown> {
  const out: Record<string, unknown> = { ...origin.config, torch_dtype: 'float32' };
  delete out.dtype;
  const arch = { gpt2: 'GPT2', llama: 'Llama', mistral: 'Mistral', qwen2: 'Qwen2', qwen3: 'Qwen3' }[
    origin.family
  ];
  if (model.config.head === 'scalar') {
    out.architectures = [`${arch}ForSequenceClassification`];
    out.num_labels = 1;
  } else out.architectures = [origin.family === 'gpt2' ? 'GPT2LMHeadModel' : `${arch}ForCausalLM`];
  return out;
}

/**
 * Writes `model` as a Hugging Face folder: model.safetensors (float32, HF names), config.json, the
 * source folder's tokenizer / generation files, and gshf.json with `meta`. Each file atomically,
 * config.json last.
 */
export function saveHFCheckpoint(
  dir: string,
  model: GPT,
  tokenizer: Tokenizer,
  meta: Record<string, unknown> = {},
): void {
  const origin = model.hf;
  if (!origin) throw new Error('saveHFCheckpoint: the model was not loaded from a Hugging Face folder');
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw ioError(e, dir, 'create the checkpoint folder');
  }
  for (const f of PASSTHROUGH) {
    const src = join(origin.dir, f);
    const dst = join(dir, f);
    if (existsSync(src) && src !== dst) copyFileSync(src, dst);
  }
  if (
    !existsSync(join(dir, HF_TOKENIZER)) &&
    tokenizer.spec.type === 'bpe' &&
    existsSync(tokenizer.spec.file)
  )
    copyFileSync(tokenizer.spec.file, join(dir, HF_TOKENIZER));
  writeFileAtomic(
    join(dir, HF_WEIGHTS),
    encodeSafetensors(hfTensors(model, origin.family as HFFamily), { format: 'pt' }),
  );
  writeFileAtomic(
    join(dir, HF_GSHF_META),
    JSON.stringify({ format: 'gshf-hf', version: 1, meta }, null, 2) + '\n',
  );
  writeFileAtomic(join(dir, HF_CONFIG), JSON.stringify(writtenConfig(model, origin), null, 2) + '\n');
  model.hf = { ...origin, dir };
}
