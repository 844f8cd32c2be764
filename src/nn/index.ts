/**
 * Public API of the local LM engine (see src/nn/README.md). Keep stable: bench/lm and the
 * preference-learning layer build on these names.
 */
export { GPTConfigSchema, PRESETS, BYTE_VOCAB_SIZE, parseGPTConfig } from './config.js';
export type { GPTConfig, GPTConfigInput, LlamaBlock, PresetName, RopeScaling } from './config.js';
export { GPT, KVCache } from './model.js';
export type { HFOrigin, TensorInfo, TokenBatch, SeqBatch, RewardBatch, LogProbResult } from './model.js';
export { gptConfigFromHF, DEFAULT_HF_MAX_CONTEXT, HF_FAMILIES } from './hf/config.js';
export type { HFFamily, HFConfigOptions } from './hf/config.js';
export {
  isHFFolder,
  loadHFCheckpoint,
  loadHFTokenizer,
  readHFTokenizerConfig,
  saveHFCheckpoint,
  hfTensors,
} from './hf/folder.js';
export type { HFTokenizerConfig, HFLoadOptions } from './hf/folder.js';
export { compileChatTemplate, hfChatRenderer } from './hf/chat.js';
export type { ChatRenderer, ChatTurn } from './hf/chat.js';
export { ByteTokenizer, BPETokenizer, tokenizerFromSpec, loadTokenizer } from './tokenizer.js';
export type { TokenizerEngine } from './tokenizer.js';
export { HFTokenizer, TokenizerFeatureError, rustRegexToJs } from './tokenizer-json.js';
export type { Tokenizer, TokenizerSpec } from './tokenizer.js';
export { trainBpe, BPE_SPECIALS } from './bpe-train.js';
export type { BpeTrainOptions } from './bpe-train.js';
export {
  encodePair,
  encodePairIds,
  encodeDocument,
  encodeExamples,
  fitPairIds,
  makeBatch,
  readExamples,
  TRUNCATE_MODES,
} from './data.js';
export type { EncodedSeq, FittedSeq, JsonlExample, TextExample, TruncateMode } from './data.js';
export {
  AdamW,
  clipGradNorm,
  createOptimizer,
  gradNorm,
  learningRate,
  OPTIMIZER_DEFAULTS,
  resolveOptimizerOptions,
} from './optim.js';
export type {
  AdamWOptions,
  Optimizer,
  OptimizerOptions,
  ResolvedOptimizerOptions,
  ScheduleOptions,
} from './optim.js';
export {
  checkSampleOptions,
  generate,
  sampleText,
  scoreLogProbs,
  scoreEncoded,
  topKFilter,
  topPFilter,
} from './sample.js';
export type {
  SampleOptions,
  Sample,
  TextSample,
  ScoreOptions,
  ScorePair,
  ScoreResult,
  FinishReason,
} from './sample.js';
export {
  saveCheckpoint,
  loadCheckpoint,
  checkFinite,
  readCheckpointConfig,
  encodeSafetensors,
  parseSafetensorsHeader,
  WEIGHTS_FILE,
  CONFIG_FILE,
} from './checkpoint.js';
export type { CheckpointConfig, LoadOptions, LoadedCheckpoint, SafetensorEntry } from './checkpoint.js';
export { trainSft, evaluateLoss, splitTrainVal, SFT_DEFAULTS, sftWarmup } from './sft.js';
export { runSteps, runEpochs, epochBatches } from './train-loop.js';
export type {
  TrainableModel,
  ParamTensor,
  StepMetrics,
  LoopState,
  LoopResumeOptions,
  EpochTrainOptions,
  RunStepsOptions,
  RunStepsResult,
  EpochBatch,
} from './train-loop.js';
export type { SftOptions, SftProgress, SftResult, SftState } from './sft.js';
export {
  initSftModel,
  prepareSftData,
  runSft,
  sftRunFinished,
  SFT_METRICS_FILE,
  SFT_STATE_FILE,
} from './sft-run.js';
export type { SftModelSpec, SftRunOptions, SftRunResult } from './sft-run.js';
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
// The kernel registry's one backend switch (it reaches the bandit lab too) and its tracer.
export { setBackend, withBackend, kernelBackendName, traceKernels } from '../native/index.js';
export type { KernelBackend, KernelBackendChoice, KernelName, KernelDispatch } from '../native/index.js';
export * as kernels from './kernels.js';
