/**
 * The one SFT entry point (`gshf lm sft` and the reproduce pipeline's π0 stage): start a model
 * (fresh preset / config, or a checkpoint), read and split the data, train with SFT_DEFAULTS, write
 * per-step metrics to the checkpoint folder's metrics.jsonl, save a resumable state every
 * `checkpointEvery` steps (weights, AdamW moments, sampler RNG, step: one file, written atomically)
 * and the final checkpoint. `resume: true` continues from the saved state and ends with the same
 * weights and metrics as an uninterrupted run.
 *
 * Crash tests kill the process from `onProgress` (called right after a step's metrics line, before
 * that step's state save, if any), like an out-of-memory kill or a power cut.
 */
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { acquireRunLock } from '../report/lock.js';
import { writeFileAtomic } from '../report/atomic.js';
import { readJsonl } from '../report/jsonl.js';
import { ioError } from '../math/errors.js';
import { join } from 'node:path';
import { builtinCorpusPath } from './corpus.js';
import { encodeExamples, readExamples, type EncodedSeq } from './data.js';
import { PRESETS, type GPTConfigInput, type PresetName } from './config.js';
import {
  checkFinite,
  CONFIG_FILE,
  encodeSafetensors,
  loadCheckpoint,
  parseSafetensorsHeader,
  saveCheckpoint,
  WEIGHTS_FILE,
} from './checkpoint.js';
import { GPT } from './model.js';
import { resolveOptimizerOptions, type OptimizerOptions, type ResolvedOptimizerOptions } from './optim.js';
import {
  SFT_DEFAULTS,
  sftWarmup,
  splitTrainVal,
  trainSft,
  type SftProgress,
  type SftResult,
  type SftState,
} from './sft.js';
import { ByteTokenizer, loadTokenizer, type Tokenizer } from './tokenizer.js';
import { kernelBackend } from './kernels.js';
import { GshfInputError } from '../math/errors.js';

/** The resumable state file inside an SFT checkpoint folder (deleted when the run finishes). */
export const SFT_STATE_FILE = 'sft-state.safetensors';
export const SFT_METRICS_FILE = 'metrics.jsonl';

// ---------------------------------------------------------------------------------------------
// Model and data

export interface SftModelSpec {
  /** Continue from this checkpoint folder (its tokenizer comes along). */
  init?: string;
  /** Fresh model: a preset name or a full config (ignored with init). Default 'default'. */
  preset?: PresetName | GPTConfigInput;
  /** HF tokenizer.json for a fresh model (default: the byte tokenizer). */
  tokenizer?: string;
  /** Initialisation seed of a fresh model. */
  seed?: number | string;
}

/** The starting model and tokenizer of an SFT run. */
export function initSftModel(spec: SftModelSpec): { model: GPT; tokenizer: Tokenizer } {
  if (spec.init) {
    if (spec.tokenizer)
      throw new GshfInputError('a tokenizer is only for fresh models: a checkpoint (init) brings its own');
    const ck = loadCheckpoint(spec.init);
    return { model: ck.model, tokenizer: ck.tokenizer };
  }
  const preset = spec.preset ?? 'default';
  let base: GPTConfigInput;
  if (typeof preset === 'string') {
    if (!(preset in PRESETS))
      throw new GshfInputError(`unknown preset "${preset}" (choose ${Object.keys(PRESETS).join(', ')})`);
    base = PRESETS[preset];
  } else base = preset;
  const tokenizer = spec.tokenizer ? loadTokenizer(spec.tokenizer) : new ByteTokenizer();
  const vocabSize = spec.tokenizer ? tokenizer.vocabSize : base.vocabSize;
  return { model: new GPT({ ...base, vocabSize }, spec.seed ?? SFT_DEFAULTS.seed), tokenizer };
}

/** Reads `data` ("builtin" = the review corpus), encodes it and splits it into train/validation. */
export function prepareSftData(
  tok: Tokenizer,
  data: string,
  blockSize: number,
  valFraction: number,
  seed: number | string,
): { train: EncodedSeq[]; val: EncodedSeq[] } {
  const path = data === 'builtin' ? builtinCorpusPath() : data;
  const seqs = encodeExamples(tok, readExamples(path), blockSize);
  try {
    return splitTrainVal(seqs, valFraction, seed);
  } catch (e) {
    throw new GshfInputError(`${path}: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The entry point

export interface SftRunOptions extends OptimizerOptions {
  /** JSONL/text file, or "builtin". */
  data: string;
  /** Checkpoint folder: final weights + config.json, metrics.jsonl, the resumable state. */
  out: string;
  /** The starting model (see initSftModel); with resume it is overwritten by the saved state. */
  model: GPT;
  tokenizer: Tokenizer;
  /** Where the model came from (checked on resume): e.g. { preset } or { init }. */
  source?: Record<string, unknown>;
  steps?: number;
  batchSize?: number;
  accumulation?: number;
  evalEvery?: number;
  valFraction?: number;
  seed?: number;
  /** Steps between resumable state saves (0 = none). */
  checkpointEvery?: number;
  /** Continue the run in `out` from its saved state. */
  resume?: boolean;
  /** Replace a checkpoint already in `out`. */
  force?: boolean;
  /** Extra checkpoint metadata. */
  meta?: Record<string, unknown>;
  onProgress?: (p: SftProgress) => void;
  /** Called once the data is split and any saved state loaded, before the first step. */
  onStart?: (s: { resumedFrom: number; trainSequences: number; valSequences: number }) => void;
  log?: (line: string) => void;
  /** Stop after this many steps as if killed (tests): the state file stays, no checkpoint. */
  stopAfter?: number;
}

/** Everything that must match for a resume to continue the same run. */
interface SftFingerprint {
  data: string;
  steps: number;
  batchSize: number;
  accumulation: number;
  evalEvery: number;
  valFraction: number;
  seed: number;
  optimizer: ResolvedOptimizerOptions;
  model: GPT['config'];
  tokenizer: Tokenizer['spec'];
  source: Record<string, unknown>;
}

export interface SftRunResult extends SftResult {
  out: string;
  /** Step the run continued from (0 = fresh). */
  resumedFrom: number;
  trainSequences: number;
  valSequences: number;
  model: GPT;
}

/** Trains with SFT_DEFAULTS for anything not given; see the module comment. */
export function runSft(opts: SftRunOptions): SftRunResult {
  const log = opts.log ?? (() => {});
  // --- options and data (validated before anything is written)
  const fp = fingerprint(opts);
  const { train, val } = prepareSftData(
    opts.tokenizer,
    opts.data,
    opts.model.config.blockSize,
    fp.valFraction,
    fp.seed,
  );
  // The folder's lock (a second process on the same --out is refused), then the overwrite rules.
  const lock = acquireRunLock(opts.out, { log });
  try {
    return runLocked(opts, fp, train, val, log);
  } finally {
    lock.release();
  }
}

function runLocked(
  opts: SftRunOptions,
  fp: SftFingerprint,
  train: EncodedSeq[],
  val: EncodedSeq[],
  log: (line: string) => void,
): SftRunResult {
  const dir = prepareOutDir(opts.out, opts.resume ?? false, opts.force ?? false);

  // --- resume: the saved state, and the metrics lines up to it
  const statePath = join(opts.out, SFT_STATE_FILE);
  const metricsPath = join(opts.out, SFT_METRICS_FILE);
  let resume: SftState | undefined;
  if (opts.resume) {
    resume = loadSftState(statePath, fp);
    keepMetricsUpTo(metricsPath, resume.step, log);
    log(`resuming from step ${resume.step} of ${fp.steps} (${statePath})`);
  } else rmSync(metricsPath, { force: true });

  // --- train
  opts.onStart?.({ resumedFrom: resume?.step ?? 0, trainSequences: train.length, valSequences: val.length });
  const res = trainSft(opts.model, train, val, opts.tokenizer.pad, {
    ...fp.optimizer,
    steps: fp.steps,
    batchSize: fp.batchSize,
    accumulation: fp.accumulation,
    evalEvery: fp.evalEvery,
    seed: fp.seed,
    resume,
    checkpointEvery: opts.checkpointEvery ?? SFT_DEFAULTS.checkpointEvery,
    onCheckpoint: (st) => saveSftState(statePath, st, fp),
    stopAfter: opts.stopAfter,
    onProgress: (p) => {
      try {
        appendFileSync(metricsPath, JSON.stringify(metricRecord(p)) + '\n');
      } catch (e) {
        throw ioError(e, metricsPath, 'append to');
      }
      opts.onProgress?.(p);
    },
  });

  // --- final checkpoint (the state file goes once the weights are safely written)
  if (res.finished) {
    saveCheckpoint(dir, opts.model, opts.tokenizer, {
      data: opts.data,
      steps: fp.steps,
      batch: fp.batchSize,
      lr: fp.optimizer.lr,
      seed: fp.seed,
      trainLoss: res.finalTrainLoss,
      valLoss: Number.isFinite(res.valLoss) ? res.valLoss : null,
      initialValLoss: Number.isFinite(res.initialValLoss) ? res.initialValLoss : null,
      seconds: Number(res.seconds.toFixed(1)),
      kernels: kernelBackend(),
      ...(resume ? { resumedFrom: resume.step } : {}),
      ...opts.meta,
    });
    rmSync(statePath, { force: true });
  }
  return {
    ...res,
    out: opts.out,
    resumedFrom: resume?.step ?? 0,
    trainSequences: train.length,
    valSequences: val.length,
    model: opts.model,
  };
}

function fingerprint(opts: SftRunOptions): SftFingerprint {
  const steps = opts.steps ?? SFT_DEFAULTS.steps;
  const int = (k: string, v: number, min: number): number => {
    if (!(Number.isInteger(v) && v >= min))
      throw new GshfInputError(`SFT option ${k}: expected an integer ≥ ${min}, got ${v}`);
    return v;
  };
  int('steps', steps, 1);
  const valFraction = opts.valFraction ?? SFT_DEFAULTS.valFraction;
  if (!(valFraction >= 0 && valFraction <= 0.5))
    throw new GshfInputError(`SFT option valFraction: expected a number in [0, 0.5], got ${valFraction}`);
  if (opts.resume && opts.force) throw new GshfInputError('resume and force exclude each other');
  if (opts.stopAfter !== undefined) int('stopAfter', opts.stopAfter, 1);
  int('checkpointEvery', opts.checkpointEvery ?? SFT_DEFAULTS.checkpointEvery, 0);
  return {
    data: opts.data,
    steps,
    batchSize: int('batchSize', opts.batchSize ?? SFT_DEFAULTS.batchSize, 1),
    accumulation: int('accumulation', opts.accumulation ?? SFT_DEFAULTS.accumulation, 1),
    evalEvery: int('evalEvery', opts.evalEvery ?? SFT_DEFAULTS.evalEvery, 0),
    valFraction,
    seed: int('seed', opts.seed ?? SFT_DEFAULTS.seed, -(2 ** 53)),
    optimizer: resolveOptimizerOptions(opts, steps, { ...SFT_DEFAULTS, warmupSteps: sftWarmup(steps) }),
    model: opts.model.config,
    tokenizer: opts.tokenizer.spec,
    source: opts.source ?? {},
  };
}

/** True when `out` holds a finished run: a checkpoint and no resumable state (`--resume` has nothing to do). */
export function sftRunFinished(out: string): boolean {
  return existsSync(join(out, WEIGHTS_FILE)) && !existsSync(join(out, SFT_STATE_FILE));
}

/** The run's files in a checkpoint folder (tokenizer.json is left: a BPE --init may point at it). */
const RUN_FILES = [WEIGHTS_FILE, CONFIG_FILE, SFT_STATE_FILE, SFT_METRICS_FILE];

/** Refuses to overwrite a checkpoint unless asked (force wipes the run's files; resume keeps them). */
function prepareOutDir(out: string, resume: boolean, force: boolean): string {
  const present = RUN_FILES.filter((f) => existsSync(join(out, f)));
  if (resume) {
    if (existsSync(join(out, SFT_STATE_FILE))) return out;
    throw new GshfInputError(
      existsSync(join(out, WEIGHTS_FILE))
        ? `${out}: holds a finished checkpoint and no ${SFT_STATE_FILE}: nothing to resume`
        : `${out}: no ${SFT_STATE_FILE} to resume from (start the run without --resume)`,
    );
  }
  if (present.length > 0 && !force)
    throw new GshfInputError(
      `${out}: already holds ${present.join(', ')}: pass --force to overwrite it, or --resume to continue an interrupted run`,
    );
  for (const f of present) rmSync(join(out, f), { force: true });
  return out;
}

function metricRecord(p: SftProgress): Record<string, number> {
  return {
    step: p.step,
    loss: p.loss,
    lr: p.lr,
    grad_norm: p.grad_norm,
    ...(p.val_loss !== undefined ? { val_loss: p.val_loss } : {}),
    elapsed_seconds: Number(p.elapsed_seconds.toFixed(3)),
  };
}

/**
 * Keeps the metrics records of steps ≤ step (later ones are recomputed by the resumed run). A torn
 * last line (the record being written when the run was killed) is repaired and reported.
 */
function keepMetricsUpTo(path: string, step: number, log: (line: string) => void): void {
  const { records, repaired } = readJsonl(path, { missingOk: true, torn: 'repair' });
  if (repaired)
    log(
      `${path}:${repaired.line}: dropped a torn last line (${repaired.bytesDropped} bytes) left by the interrupted run`,
    );
  const kept = records.filter((r) => ((r.value as { step?: unknown }).step as number) <= step);
  if (kept.length !== step || kept.some((r, i) => (r.value as { step?: unknown }).step !== i + 1))
    throw new GshfInputError(
      `holds ${kept.length} records for steps 1..${step}, expected one per step (the saved state is at step ${step})`,
      { file: path },
    );
  writeFileAtomic(path, kept.map((r) => JSON.stringify(r.value) + '\n').join(''));
}

// ---------------------------------------------------------------------------------------------
// The state file: one safetensors file (params, AdamW m and v) with the rest in its metadata

function saveSftState(path: string, st: SftState, fp: SftFingerprint): void {
  const { params, adamM, adamV, ...scalars } = st;
  const meta = JSON.stringify({ ...scalars, fingerprint: fp });
  const bytes = encodeSafetensors(
    [
      { name: 'params', shape: [params.length], data: params },
      { name: 'adam.m', shape: [adamM.length], data: adamM },
      { name: 'adam.v', shape: [adamV.length], data: adamV },
    ],
    { 'gshf-sft-state': meta },
  );
  writeFileAtomic(path, bytes);
}

/** Reads a state file and checks it belongs to a run with the same fingerprint. */
function loadSftState(path: string, fp: SftFingerprint): SftState {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw ioError(e, path, 'read the SFT state');
  }
  const { entries, dataStart, metadata } = parseSafetensorsHeader(buf, path);
  let saved: Omit<SftState, 'params' | 'adamM' | 'adamV'> & { fingerprint: SftFingerprint };
  try {
    saved = JSON.parse(metadata['gshf-sft-state'] ?? '') as typeof saved;
  } catch {
    throw new GshfInputError(`${path}: not an SFT state file (no valid "gshf-sft-state" metadata)`);
  }
  checkSameRun(path, saved.fingerprint, fp);
  const tensor = (name: string): Float32Array => {
    const e = entries.get(name);
    const n = entries.get('params')?.shape[0] ?? 0;
    if (!e || e.dtype !== 'F32' || e.shape[0] !== n || e.data_offsets[1] - e.data_offsets[0] !== 4 * n)
      throw new GshfInputError(`${path}: tensor "${name}" is missing or malformed`);
    const out = new Float32Array(n);
    const dv = new DataView(buf.buffer, buf.byteOffset + dataStart + e.data_offsets[0], 4 * n);
    for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
    checkFinite(out, `${path}: tensor "${name}"`);
    return out;
  };
  return { ...saved, params: tensor('params'), adamM: tensor('adam.m'), adamV: tensor('adam.v') };
}

function checkSameRun(path: string, saved: SftFingerprint | undefined, now: SftFingerprint): void {
  if (!saved) throw new GshfInputError(`${path}: the state has no run fingerprint`);
  const flat = (o: unknown, pre: string, acc: Map<string, string>): Map<string, string> => {
    if (o !== null && typeof o === 'object' && !Array.isArray(o))
      for (const [k, v] of Object.entries(o)) flat(v, pre ? `${pre}.${k}` : k, acc);
    else acc.set(pre, JSON.stringify(o));
    return acc;
  };
  const a = flat(saved, '', new Map());
  const b = flat(now, '', new Map());
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    if (a.get(k) !== b.get(k))
      throw new GshfInputError(
        `${path}: --resume with different settings: ${k} is ${b.get(k) ?? '(unset)'} now but ${a.get(k) ?? '(unset)'} in the interrupted run; resume with the same options`,
      );
  }
}
