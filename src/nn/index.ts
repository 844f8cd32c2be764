/**
 * Public API of the local LM engine (see src/nn/README.md). Keep stable: bench/lm and the
 * preference-learning layer build on these names.
 */
export { GPTConfigSchema, PRESETS, BYTE_VOCAB_SIZE, parseGPTConfig } from './config.js';
export type { GPTConfig, GPTConfigInput, PresetName } from './config.js';
export { GPT, KVCache } from './model.js';
export type { TensorInfo, TokenBatch, SeqBatch, RewardBatch, LogProbResult } from './model.js';
export { ByteTokenizer, BPETokenizer, tokenizerFromSpec, loadTokenizer } from './tokenizer.js';
export type { TokenizerEngine } from './tokenizer.js';
export { HFTokenizer, TokenizerFeatureError, rustRegexToJs } from './tokenizer-json.js';
export type { Tokenizer, TokenizerSpec } from './tokenizer.js';
export {
  encodePair,
  encodePairIds,
  encodeDocument,
  encodeExamples,
  makeBatch,
  readExamples,
} from './data.js';
export type { EncodedSeq, JsonlExample, TextExample } from './data.js';
export { AdamW, clipGradNorm, gradNorm, learningRate } from './optim.js';
export type { AdamWOptions, ScheduleOptions } from './optim.js';
export { generate, sampleText, scoreLogProbs, scoreEncoded, topKFilter, topPFilter } from './sample.js';
export type { SampleOptions, Sample, TextSample, ScoreResult, FinishReason } from './sample.js';
export {
  saveCheckpoint,
  loadCheckpoint,
  readCheckpointConfig,
  encodeSafetensors,
  parseSafetensorsHeader,
  WEIGHTS_FILE,
  CONFIG_FILE,
} from './checkpoint.js';
export type { CheckpointConfig, LoadOptions, LoadedCheckpoint, SafetensorEntry } from './checkpoint.js';
export { trainSft, evaluateLoss, splitTrainVal } from './sft.js';
export type { SftOptions, SftProgress, SftResult } from './sft.js';
export {
  generateReviewCorpus,
  corpusToJsonl,
  builtinCorpusPath,
  makeReview,
  PRODUCTS,
  BUILTIN_CORPUS_SIZE,
} from './corpus.js';
export type { ReviewExample, ReviewStyle } from './corpus.js';
export { kernelBackend, setUseNative, setKernelThreads, autoKernelThreads } from './kernels.js';
export * as kernels from './kernels.js';
