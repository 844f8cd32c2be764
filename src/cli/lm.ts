/**
 * `gshf lm …`: the local language-model engine.
 *   sft     train (or continue training) a model on JSONL/text or the built-in review corpus
 *   sample  sample continuations of prompts from a checkpoint
 *   score   per-sequence summed log-probs of responses given prompts
 *   corpus  regenerate the built-in review corpus
 *   info    print a checkpoint's config and parameter count
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { Progress } from '../report/progress.js';
import {
  loadTokenizer,
  ByteTokenizer,
  BUILTIN_CORPUS_SIZE,
  builtinCorpusPath,
  corpusToJsonl,
  encodeExamples,
  generateReviewCorpus,
  autoKernelThreads,
  GPT,
  kernelBackend,
  loadCheckpoint,
  PRESETS,
  type PresetName,
  readExamples,
  sampleText,
  saveCheckpoint,
  scoreLogProbs,
  splitTrainVal,
  trainSft,
  type Tokenizer,
} from '../nn/index.js';

function num(name: string, min?: number, max?: number) {
  return (v: string): number => {
    const x = Number(v);
    if (!Number.isFinite(x) || (min !== undefined && x < min) || (max !== undefined && x > max)) {
      throw new Error(
        `--${name}: expected a number${min !== undefined ? ` ≥ ${min}` : ''}${max !== undefined ? ` and ≤ ${max}` : ''}, got "${v}"`,
      );
    }
    return x;
  };
}
function int(name: string, min = 0) {
  return (v: string): number => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < min)
      throw new Error(`--${name}: expected an integer ≥ ${min}, got "${v}"`);
    return x;
  };
}

interface SftCliOptions {
  data: string;
  out: string;
  preset: string;
  init?: string;
  tokenizer?: string;
  steps: number;
  batch: number;
  accum: number;
  lr: number;
  warmup?: number;
  weightDecay: number;
  clip: number;
  evalEvery: number;
  valFraction: number;
  seed: number;
}

interface SampleCliOptions {
  model: string;
  prompt: string[];
  n: number;
  temperature: number;
  topK: number;
  topP: number;
  maxTokens?: number;
  seed: number;
  json: boolean;
}

export function registerLmCommands(program: Command): void {
  const lm = program
    .command('lm')
    .description('Local GPT-style language models: SFT, sampling, log-prob scoring (float32, CPU).');

  lm.command('sft')
    .description(
      'Train a model on {"prompt","response"} / {"text"} JSONL, plain text, or the built-in review corpus; save a checkpoint.',
    )
    .requiredOption('--data <file>', 'JSONL/text file, or "builtin" for the review corpus')
    .requiredOption('--out <dir>', 'checkpoint directory to write')
    .option(
      '--preset <name>',
      `model size when starting fresh (${Object.keys(PRESETS).join(', ')})`,
      'default',
    )
    .option('--init <dir>', 'continue from this checkpoint instead of a fresh model')
    .option(
      '--tokenizer <file>',
      'HuggingFace tokenizer.json (BPE) instead of the byte tokenizer (fresh models only)',
    )
    .option('--steps <n>', 'optimizer steps', int('steps', 1), 2000)
    .option('--batch <n>', 'sequences per micro-batch', int('batch', 1), 16)
    .option('--accum <n>', 'micro-batches per step (gradient accumulation)', int('accum', 1), 1)
    .option('--lr <x>', 'peak learning rate', num('lr', 0), 2e-3)
    .option('--warmup <n>', 'warmup steps (default: min(100, steps/10))', int('warmup', 0))
    .option('--weight-decay <x>', 'AdamW decoupled weight decay', num('weight-decay', 0), 0.1)
    .option('--clip <x>', 'global gradient-norm clip (0 = off)', num('clip', 0), 1)
    .option('--eval-every <n>', 'validation every n steps (0 = only at the end)', int('eval-every', 0), 250)
    .option('--val-fraction <x>', 'held-out fraction for validation', num('val-fraction', 0, 0.5), 0.05)
    .option('--seed <n>', 'seed (init, batches, split)', int('seed', 0), 0)
    .action((o: SftCliOptions) => {
      let model: GPT;
      let tok: Tokenizer;
      if (o.init) {
        const ck = loadCheckpoint(o.init);
        model = ck.model;
        tok = ck.tokenizer;
      } else {
        if (!(o.preset in PRESETS))
          throw new Error(
            `--preset: unknown preset "${o.preset}" (choose ${Object.keys(PRESETS).join(', ')})`,
          );
        tok = o.tokenizer ? loadTokenizer(o.tokenizer) : new ByteTokenizer();
        const base = PRESETS[o.preset as PresetName];
        model = new GPT({ ...base, vocabSize: o.tokenizer ? tok.vocabSize : base.vocabSize }, o.seed);
      }
      autoKernelThreads(model.numParams);
      const dataPath = o.data === 'builtin' ? builtinCorpusPath() : o.data;
      const examples = readExamples(dataPath);
      const seqs = encodeExamples(tok, examples, model.config.blockSize);
      const { train, val } = splitTrainVal(seqs, o.valFraction, o.seed);
      process.stderr.write(
        `lm sft: ${model.numParams.toLocaleString('en-US')} params, ${train.length} train / ${val.length} val sequences, kernels: ${kernelBackend()}\n`,
      );
      const bar = new Progress('sft', o.steps);
      let lastVal = NaN;
      const res = trainSft(model, train, val, tok.pad, {
        steps: o.steps,
        batchSize: o.batch,
        accumulation: o.accum,
        lr: o.lr,
        warmupSteps: o.warmup,
        weightDecay: o.weightDecay,
        gradClip: o.clip,
        evalEvery: o.evalEvery,
        seed: o.seed,
        onProgress: (p) => {
          if (p.valLoss !== undefined) lastVal = p.valLoss;
          bar.tick(
            1,
            `loss ${p.loss.toFixed(3)}${Number.isFinite(lastVal) ? ` val ${lastVal.toFixed(3)}` : ''} lr ${p.lr.toExponential(1)}`,
          );
        },
      });
      bar.finish(`loss ${res.finalTrainLoss.toFixed(3)} val ${res.valLoss.toFixed(3)}`);
      saveCheckpoint(o.out, model, tok, {
        data: o.data,
        steps: o.steps,
        batch: o.batch,
        lr: o.lr,
        seed: o.seed,
        trainLoss: res.finalTrainLoss,
        valLoss: res.valLoss,
        initialValLoss: res.initialValLoss,
        seconds: Number(res.seconds.toFixed(1)),
        kernels: kernelBackend(),
      });
      process.stdout.write(
        `val loss ${res.initialValLoss.toFixed(4)} → ${res.valLoss.toFixed(4)} nats/token (train ${res.finalTrainLoss.toFixed(4)}), ` +
          `${res.seconds.toFixed(1)} s, ${Math.round(res.tokensPerSec)} tok/s; checkpoint: ${o.out}\n`,
      );
    });

  lm.command('sample')
    .description('Sample continuations of one or more prompts (KV cache, batched).')
    .requiredOption('--model <dir>', 'checkpoint directory')
    .option(
      '--prompt <text>',
      'prompt (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('-n, --n <n>', 'samples per prompt', int('n', 1), 1)
    .option('--temperature <x>', 'temperature (0 = greedy)', num('temperature', 0), 1)
    .option('--top-k <n>', 'keep the k most likely tokens (0 = off)', int('top-k', 0), 0)
    .option('--top-p <x>', 'nucleus sampling mass (1 = off)', num('top-p', 0, 1), 1)
    .option('--max-tokens <n>', 'max new tokens (default: fill the context)', int('max-tokens', 1))
    .option('--seed <n>', 'seed', int('seed', 0), 0)
    .option('--json', 'print one JSON object per sample', false)
    .action((o: SampleCliOptions) => {
      const { model, tokenizer } = loadCheckpoint(o.model);
      autoKernelThreads(model.numParams);
      const prompts = o.prompt.length ? o.prompt : [''];
      const res = sampleText(model, tokenizer, prompts, {
        n: o.n,
        temperature: o.temperature,
        topK: o.topK,
        topP: o.topP,
        maxTokens: o.maxTokens,
        seed: o.seed,
      });
      for (const row of res) {
        for (const s of row) {
          if (o.json)
            process.stdout.write(
              JSON.stringify({ prompt: s.prompt, index: s.index, response: s.text, finish: s.finish }) + '\n',
            );
          else process.stdout.write(`${s.prompt}${s.text}${s.finish === 'stop' ? '' : ' […]'}\n`);
        }
      }
    });

  lm.command('score')
    .description(
      'Summed log-prob of each response given its prompt ({"prompt","response"} JSONL); prints JSONL.',
    )
    .requiredOption('--model <dir>', 'checkpoint directory')
    .requiredOption('--data <file>', 'JSONL with prompt/response')
    .option('--batch <n>', 'batch size', int('batch', 1), 32)
    .option('--no-eos', 'do not score the EOS token after the response')
    .option('--out <file>', 'write JSONL here instead of stdout')
    .action((o: { model: string; data: string; batch: number; eos: boolean; out?: string }) => {
      const { model, tokenizer } = loadCheckpoint(o.model);
      autoKernelThreads(model.numParams);
      const ex = readExamples(o.data);
      const pairs = ex.map((e, i) => {
        if (e.kind !== 'pair')
          throw new Error(`${o.data}: example ${i + 1}: scoring needs {"prompt","response"}`);
        return { prompt: e.prompt, response: e.response };
      });
      const scores = scoreLogProbs(model, tokenizer, pairs, { batchSize: o.batch, includeEos: o.eos });
      const lines = scores.map((s, i) =>
        JSON.stringify({
          prompt: pairs[i].prompt,
          response: pairs[i].response,
          logprob: s.logProb,
          tokens: s.tokens,
        }),
      );
      const text = lines.join('\n') + '\n';
      if (o.out) {
        mkdirSync(dirname(o.out), { recursive: true });
        writeFileSync(o.out, text);
      } else process.stdout.write(text);
      const tot = scores.reduce((a, s) => a + s.logProb, 0);
      const ntok = scores.reduce((a, s) => a + s.tokens, 0);
      process.stderr.write(
        `scored ${scores.length} responses: mean logprob ${(tot / scores.length).toFixed(3)}, ${(-tot / ntok).toFixed(4)} nats/token\n`,
      );
    });

  lm.command('corpus')
    .description('Write the built-in review corpus (seeded template generator) as JSONL.')
    .option('--out <file>', 'output file (default: the built-in corpus path)')
    .option('--n <n>', 'examples', int('n', 1), BUILTIN_CORPUS_SIZE)
    .option('--seed <s>', 'generator seed', 'gshf-reviews-v1')
    .action((o: { out?: string; n: number; seed: string }) => {
      const out = o.out ?? builtinCorpusPath();
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, corpusToJsonl(generateReviewCorpus(o.n, o.seed)));
      process.stdout.write(`wrote ${o.n} reviews to ${out}\n`);
    });

  lm.command('info')
    .description("Print a checkpoint's config, parameter count and training metadata.")
    .requiredOption('--model <dir>', 'checkpoint directory')
    .action((o: { model: string }) => {
      const { model, config } = loadCheckpoint(o.model);
      process.stdout.write(JSON.stringify({ params: model.numParams, ...config }, null, 2) + '\n');
    });
}
