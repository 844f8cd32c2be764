/**
 * `gshf lm …`: the local language-model engine.
 *   sft     train (or continue training) a model on JSONL/text or the built-in review corpus
 *   sample  sample continuations of prompts from a checkpoint
 *   score   per-sequence summed log-probs of responses given prompts
 *   corpus  regenerate the built-in review corpus
 *   info    print a checkpoint's config and parameter count
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { Progress } from '../report/progress.js';
import { crashHooksFromEnv } from '../report/crash-hooks.js';
import { writeFileAtomic } from '../report/atomic.js';
import { int, num, oneOf } from './options.js';
import { GshfInputError } from '../math/errors.js';
import { readPreferenceFile } from '../pref/data.js';
import {
  BUILTIN_CORPUS_SIZE,
  builtinCorpusPath,
  corpusToJsonl,
  generateReviewCorpus,
  autoKernelThreads,
  initSftModel,
  kernelBackend,
  loadCheckpoint,
  PRESETS,
  type PresetName,
  readExamples,
  sampleText,
  runSft,
  scoreLogProbs,
  SFT_DEFAULTS,
  sftRunFinished,
} from '../nn/index.js';

interface SftCliOptions {
  data: string;
  out: string;
  preset: PresetName;
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
  checkpointEvery: number;
  resume: boolean;
  force: boolean;
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

  const D = SFT_DEFAULTS;
  lm.command('sft')
    .description(
      'Train a model on {"prompt","response"} / {"text"} JSONL, plain text, or the built-in review corpus; save a checkpoint (resumable).',
    )
    .requiredOption('--data <file>', 'JSONL/text file, or "builtin" for the review corpus')
    .requiredOption(
      '--out <dir>',
      'checkpoint directory to write (also holds metrics.jsonl and the resumable state)',
    )
    .option(
      '--preset <name>',
      `model size when starting fresh (${Object.keys(PRESETS).join(', ')})`,
      oneOf('preset', Object.keys(PRESETS) as PresetName[]),
      'default',
    )
    .option('--init <dir>', 'continue from this checkpoint instead of a fresh model')
    .option(
      '--tokenizer <file>',
      'HuggingFace tokenizer.json (BPE) instead of the byte tokenizer (fresh models only)',
    )
    .option('--steps <n>', 'optimizer steps', int('steps', { min: 1 }), D.steps)
    .option('--batch <n>', 'sequences per micro-batch', int('batch', { min: 1 }), D.batchSize)
    .option(
      '--accum <n>',
      'micro-batches per step (gradient accumulation)',
      int('accum', { min: 1 }),
      D.accumulation,
    )
    .option('--lr <x>', 'peak learning rate', num('lr', { above: 0 }), D.lr)
    .option('--warmup <n>', 'warmup steps (default: min(100, steps/10))', int('warmup', { min: 0 }))
    .option(
      '--weight-decay <x>',
      'AdamW decoupled weight decay',
      num('weight-decay', { min: 0 }),
      D.weightDecay,
    )
    .option('--clip <x>', 'global gradient-norm clip (0 = off)', num('clip', { min: 0 }), D.gradClip)
    .option(
      '--eval-every <n>',
      'validation every n steps (0 = only at the end)',
      int('eval-every', { min: 0 }),
      D.evalEvery,
    )
    .option(
      '--val-fraction <x>',
      'held-out fraction for validation (0 = no validation)',
      num('val-fraction', { min: 0, max: 0.5 }),
      D.valFraction,
    )
    .option('--seed <n>', 'seed (init, batches, split)', int('seed', { min: 0 }), D.seed)
    .option(
      '--checkpoint-every <n>',
      'save a resumable state every n steps (0 = off)',
      int('checkpoint-every', { min: 0 }),
      D.checkpointEvery,
    )
    .option('--resume', 'continue an interrupted run in --out from its saved state (same options)', false)
    .option('--force', 'overwrite a checkpoint already in --out', false)
    .action((o: SftCliOptions) => {
      if (o.resume && o.force) throw new GshfInputError('--resume and --force exclude each other');
      if (o.resume && sftRunFinished(o.out))
        return void process.stdout.write(
          `lm sft: ${o.out} holds a finished run (its checkpoint is complete): nothing to resume\n`,
        );
      if (o.init && o.tokenizer)
        throw new GshfInputError(
          '--tokenizer is only for fresh models: the --init checkpoint brings its own',
        );
      const { model, tokenizer } = initSftModel({
        init: o.init,
        preset: o.preset,
        tokenizer: o.tokenizer,
        seed: o.seed,
      });
      autoKernelThreads(model.numParams);
      const bar = new Progress('sft', o.steps);
      const hooks = crashHooksFromEnv();
      let lastVal = NaN;
      const res = runSft({
        data: o.data,
        out: o.out,
        model,
        tokenizer,
        source: o.init ? { init: o.init } : { preset: o.preset, tokenizer: o.tokenizer ?? 'byte' },
        steps: o.steps,
        batchSize: o.batch,
        accumulation: o.accum,
        lr: o.lr,
        warmupSteps: o.warmup,
        weightDecay: o.weightDecay,
        gradClip: o.clip,
        evalEvery: o.evalEvery,
        valFraction: o.valFraction,
        seed: o.seed,
        checkpointEvery: o.checkpointEvery,
        resume: o.resume,
        force: o.force,
        log: (l) => process.stderr.write(`lm sft: ${l}\n`),
        onProgress: (p) => {
          if (p.val_loss !== undefined) lastVal = p.val_loss;
          bar.tick(
            1,
            `loss ${p.loss.toFixed(3)}${Number.isFinite(lastVal) ? ` val ${lastVal.toFixed(3)}` : ''} lr ${p.lr.toExponential(1)}`,
          );
          hooks.afterSftStep?.(p.step);
        },
        onStart: (s) => {
          if (s.resumedFrom > 0) bar.tick(s.resumedFrom, `resumed at step ${s.resumedFrom}`);
          process.stderr.write(
            `lm sft: ${model.numParams.toLocaleString('en-US')} params, ${s.trainSequences} train / ${s.valSequences} val sequences, kernels: ${kernelBackend()}\n`,
          );
        },
      });
      const val = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : 'n/a');
      bar.finish(`loss ${res.finalTrainLoss.toFixed(3)} val ${val(res.valLoss)}`);
      process.stdout.write(
        (res.valSequences > 0
          ? `val loss ${val(res.initialValLoss)} → ${val(res.valLoss)} nats/token`
          : 'no validation set (--val-fraction 0)') +
          ` (train ${res.finalTrainLoss.toFixed(4)}), ` +
          `${res.seconds.toFixed(1)} s, ${Math.round(res.tokensPerSec)} tok/s` +
          (res.resumedFrom > 0 ? `, resumed from step ${res.resumedFrom}` : '') +
          `; checkpoint: ${o.out}\n`,
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
    .option('-n, --n <n>', 'samples per prompt', int('n', { min: 1 }), 1)
    .option('--temperature <x>', 'temperature (0 = greedy)', num('temperature', { min: 0 }), 1)
    .option('--top-k <n>', 'keep the k most likely tokens (0 = off)', int('top-k', { min: 0 }), 0)
    .option('--top-p <x>', 'nucleus sampling mass (1 = off)', num('top-p', { above: 0, max: 1 }), 1)
    .option('--max-tokens <n>', 'max new tokens (default: fill the context)', int('max-tokens', { min: 1 }))
    .option('--seed <n>', 'seed', int('seed', { min: 0 }), 0)
    .option('--json', 'print one JSON object per sample', false)
    .action((o: SampleCliOptions) => {
      if (o.prompt.length === 0)
        throw new GshfInputError(
          'lm sample: give at least one --prompt (repeatable); --prompt "" samples from the empty prompt',
        );
      const { model, tokenizer } = loadCheckpoint(o.model);
      autoKernelThreads(model.numParams);
      const prompts = o.prompt;
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
      'Summed log-prob of each response given its prompt ({"prompt","response"} JSONL), or of both responses of each preference pair ({"prompt","chosen","rejected"}, any pref import layout); prints JSONL.',
    )
    .requiredOption('--model <dir>', 'checkpoint directory')
    .requiredOption('--data <file>', 'JSONL with prompt/response, or preference pairs')
    .option('--batch <n>', 'batch size', int('batch', { min: 1 }), 32)
    .option('--no-eos', 'do not score the EOS token after the response')
    .option('--out <file>', 'write JSONL here instead of stdout')
    .option(
      '--truncate <side>',
      'cut pairs longer than the context: "left" drops the oldest tokens, "right" the newest (default: refuse)',
      oneOf('truncate', ['left', 'right'] as const),
    )
    .action(
      (o: {
        model: string;
        data: string;
        batch: number;
        eos: boolean;
        out?: string;
        truncate?: 'left' | 'right';
      }) => {
        const { model, tokenizer } = loadCheckpoint(o.model);
        autoKernelThreads(model.numParams);
        if (isPreferenceFile(o.data)) return scorePreferencePairs(model, tokenizer, o);
        const ex = readExamples(o.data);
        const pairs = ex.map((e, i) => {
          const where = `${o.data}:${e.line ?? i + 1}`;
          if (e.kind !== 'pair') throw new Error(`${where}: scoring needs {"prompt","response"}`);
          return { prompt: e.prompt, response: e.response, where };
        });
        const scores = scoreLogProbs(model, tokenizer, pairs, {
          batchSize: o.batch,
          includeEos: o.eos,
          truncate: o.truncate ?? 'error',
        });
        const lines = scores.map((s, i) =>
          JSON.stringify({
            prompt: pairs[i].prompt,
            response: pairs[i].response,
            logprob: s.logProb,
            tokens: s.tokens,
            ...(o.truncate ? { truncated: s.truncated } : {}),
          }),
        );
        const text = lines.join('\n') + '\n';
        if (o.out) {
          mkdirSync(dirname(o.out), { recursive: true });
          writeFileAtomic(o.out, text);
        } else process.stdout.write(text);
        const tot = scores.reduce((a, s) => a + s.logProb, 0);
        const ntok = scores.reduce((a, s) => a + s.tokens, 0);
        const cut = scores.filter((s) => s.truncated > 0).length;
        process.stderr.write(
          `scored ${scores.length} responses: mean logprob ${(tot / scores.length).toFixed(3)}, ${(-tot / ntok).toFixed(4)} nats/token` +
            (o.truncate
              ? `; --truncate ${o.truncate}: ${cut} of ${scores.length} pairs cut to the context of ${model.config.blockSize}`
              : '') +
            '\n',
        );
      },
    );

  lm.command('corpus')
    .description('Write the built-in review corpus (seeded template generator) as JSONL.')
    .option('--out <file>', 'output file (default: the built-in corpus path)')
    .option('--n <n>', 'examples', int('n', { min: 1 }), BUILTIN_CORPUS_SIZE)
    .option('--seed <s>', 'generator seed', 'gshf-reviews-v1')
    .action((o: { out?: string; n: number; seed: string }) => {
      const out = o.out ?? builtinCorpusPath();
      mkdirSync(dirname(out), { recursive: true });
      writeFileAtomic(out, corpusToJsonl(generateReviewCorpus(o.n, o.seed)));
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

/** True when the first row of a JSONL file is a preference pair (has "chosen"), not prompt/response. */
function isPreferenceFile(path: string): boolean {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return false; // readExamples reports the error, naming the file
  }
  const first = text.split('\n').find((l) => l.trim() !== '');
  try {
    const row: unknown = first === undefined ? null : JSON.parse(first);
    return typeof row === 'object' && row !== null && 'chosen' in row;
  } catch {
    return false;
  }
}

/**
 * `lm score` on a preference file (any layout `pref import` reads): both responses of each pair
 * are scored, one JSONL row per pair with their log-probs and the margin chosen − rejected.
 */
function scorePreferencePairs(
  model: ReturnType<typeof loadCheckpoint>['model'],
  tokenizer: ReturnType<typeof loadCheckpoint>['tokenizer'],
  o: { data: string; batch: number; eos: boolean; out?: string; truncate?: 'left' | 'right' },
): void {
  const { pairs } = readPreferenceFile(o.data);
  const opts = { batchSize: o.batch, includeEos: o.eos, truncate: o.truncate ?? ('error' as const) };
  const side = (k: 'chosen' | 'rejected') =>
    scoreLogProbs(
      model,
      tokenizer,
      pairs.map((p, i) => ({ prompt: p.prompt, response: p[k], where: `${o.data}: pair ${i + 1} (${k})` })),
      opts,
    );
  const [c, r] = [side('chosen'), side('rejected')];
  const text = pairs
    .map((p, i) =>
      JSON.stringify({
        prompt: p.prompt,
        chosen_logprob: c[i].logProb,
        rejected_logprob: r[i].logProb,
        margin: c[i].logProb - r[i].logProb,
        chosen_tokens: c[i].tokens,
        rejected_tokens: r[i].tokens,
        ...(o.truncate ? { truncated: c[i].truncated + r[i].truncated } : {}),
      }),
    )
    .join('\n');
  if (o.out) {
    mkdirSync(dirname(o.out), { recursive: true });
    writeFileAtomic(o.out, text + '\n');
  } else process.stdout.write(text + '\n');
  const prefers = c.filter((s, i) => s.logProb > r[i].logProb).length;
  process.stderr.write(
    `scored ${pairs.length} preference pairs (chosen and rejected): the model gives the chosen response the higher log-prob in ${prefers} of ${pairs.length}\n`,
  );
}
