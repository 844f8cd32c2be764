/**
 * Checkpoints: a directory with `model.safetensors` (written by hand: 8-byte little-endian header
 * length, JSON header, raw little-endian F32 data) and `config.json` (model config, tokenizer spec,
 * free-form metadata), validated with zod. Loading is bit-exact; bad files fail naming file and field.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../report/atomic.js';
import { basename, join } from 'node:path';
import { formatZodIssues, type GPTConfig } from './config.js';
import { GPT } from './model.js';
import { type Tokenizer, type TokenizerSpec, tokenizerFromSpec } from './tokenizer.js';
import { GshfInputError, ioError } from '../math/errors.js';
import { CheckpointConfigSchema, type CheckpointConfig, type LoadedCheckpoint } from './checkpoint-config.js';

export type { CheckpointConfig, LoadedCheckpoint } from './checkpoint-config.js';
import { checkFinite, encodeSafetensors, parseSafetensorsHeader } from './safetensors.js';
import { hfCheckpointConfig, isHFFolder, loadHFCheckpoint, saveHFCheckpoint } from './hf/folder.js';

export { checkFinite, encodeSafetensors, parseSafetensorsHeader } from './safetensors.js';
export type { SafetensorEntry } from './safetensors.js';

export const WEIGHTS_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';

/** Writes a checkpoint directory. A BPE tokenizer's json is copied next to the weights. */
export function saveCheckpoint(
  dir: string,
  model: GPT,
  tokenizer: Tokenizer,
  meta: Record<string, unknown> = {},
): void {
  if (model.hf) {
    saveHFCheckpoint(dir, model, tokenizer, meta);
    return;
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw ioError(e, dir, 'create the checkpoint folder');
  }
  let spec: TokenizerSpec = tokenizer.spec;
  if (spec.type === 'bpe') {
    const dst = join(dir, 'tokenizer.json');
    if (spec.file !== dst && existsSync(spec.file)) copyFileSync(spec.file, dst);
    spec = { type: 'bpe', file: 'tokenizer.json' };
  }
  const tensors = model.tensors.map((t) => ({
    name: t.name,
    shape: t.shape,
    data: model.params.subarray(t.offset, t.offset + t.size),
  }));
  // Each file atomically (a reader never sees half a file); config.json last, so a folder with a
  // config.json has its weights.
  writeFileAtomic(join(dir, WEIGHTS_FILE), encodeSafetensors(tensors, { format: 'pt' }));
  const cfg: CheckpointConfig = { format: 'gshf-lm', version: 1, model: model.config, tokenizer: spec, meta };
  writeFileAtomic(join(dir, CONFIG_FILE), JSON.stringify(cfg, null, 2) + '\n');
}

/** Reads and validates a checkpoint's config.json. */
export function readCheckpointConfig(dir: string): CheckpointConfig {
  if (isHFFolder(dir)) return hfCheckpointConfig(dir);
  const file = join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new GshfInputError(
      `${file}: cannot read checkpoint config (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new GshfInputError(`${file}: invalid JSON (${(e as Error).message})`);
  }
  const r = CheckpointConfigSchema.safeParse(raw);
  if (!r.success)
    throw new GshfInputError(`${file}: invalid checkpoint config: ${formatZodIssues(r.error.issues)}`);
  return r.data;
}

export interface LoadOptions {
  /**
   * Load as a different head: e.g. 'scalar' builds a reward model from an LM checkpoint (the trunk is
   * copied, the score head initialised from `seed`; the LM head is dropped).
   */
  head?: GPTConfig['head'];
  seed?: number | string;
  /** Hugging Face Llama-family folders: the longest context to allocate for (default 1024). */
  maxContext?: number;
}

/** Loads weights into a fresh model; every expected tensor must be present with the right dtype/shape. */
export function loadCheckpoint(dir: string, opts: LoadOptions = {}): LoadedCheckpoint {
  if (isHFFolder(dir)) return loadHFCheckpoint(dir, opts);
  const config = readCheckpointConfig(dir);
  const srcHead = config.model.head;
  const modelCfg: GPTConfig = { ...config.model, head: opts.head ?? srcHead };
  const model = new GPT(modelCfg, opts.seed ?? 0);
  const file = join(dir, WEIGHTS_FILE);
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new GshfInputError(
      `${file}: cannot read weights (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  const { entries, dataStart } = parseSafetensorsHeader(buf, file);
  for (const t of model.tensors) {
    const e = entries.get(t.name);
    if (!e) {
      if (t.name.startsWith('score_head.') && srcHead !== 'scalar') continue; // fresh head, initialised below
      throw new GshfInputError(
        `${file}: missing tensor "${t.name}" (expected shape [${t.shape.join(', ')}])`,
      );
    }
    if (e.dtype !== 'F32')
      throw new GshfInputError(`${file}: tensor "${t.name}": dtype ${e.dtype}, expected F32`);
    if (e.shape.length !== t.shape.length || e.shape.some((d, i) => d !== t.shape[i])) {
      throw new GshfInputError(
        `${file}: tensor "${t.name}": shape [${e.shape.join(', ')}] does not match config.json (expected [${t.shape.join(', ')}])`,
      );
    }
    const [s, end] = e.data_offsets;
    if (end - s !== t.size * 4)
      throw new GshfInputError(
        `${file}: tensor "${t.name}": data_offsets span ${end - s} bytes, expected ${t.size * 4}`,
      );
    const src = dataStart + s;
    if (((buf.byteOffset + src) & 3) === 0) {
      model.params.set(new Float32Array(buf.buffer, buf.byteOffset + src, t.size), t.offset);
    } else {
      const dv = new DataView(buf.buffer, buf.byteOffset + src, t.size * 4);
      for (let i = 0; i < t.size; i++) model.params[t.offset + i] = dv.getFloat32(4 * i, true);
    }
    checkFinite(model.params.subarray(t.offset, t.offset + t.size), `${file}: tensor "${t.name}"`);
  }
  if (modelCfg.head === 'scalar' && srcHead !== 'scalar') model.initScoreHead(opts.seed ?? 0);
  const tokenizer = tokenizerFromSpec(config.tokenizer, dir);
  if (tokenizer.vocabSize > modelCfg.vocabSize) {
    throw new GshfInputError(
      `${join(dir, CONFIG_FILE)}: model.vocabSize ${modelCfg.vocabSize} is smaller than the tokenizer's ${tokenizer.vocabSize}`,
    );
  }
  return { model, tokenizer, config };
}

/** Name of a checkpoint for logs. */
export function checkpointName(dir: string): string {
  return basename(dir);
}
