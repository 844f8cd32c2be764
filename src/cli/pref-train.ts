/**
 * `gshf pref rm | dpo | score | prompts`: training on your own pairs, with TRL's vocabulary.
 *   rm       Bradley–Terry reward model (or ensemble, --k) → checkpoint folder
 *   dpo      DPO-family policy training (every loss of src/pref/losses.ts) → checkpoint folder
 *   score    reward-model scores of {"prompt","response"} JSONL → JSONL
 *   prompts  a prompt-only set (JSONL, text, Parquet) → prompts JSONL for the loop
 * Every flag is validated and every input read before the output folder is written; an existing
 * folder is refused unless --force. The `loop` helper calls `gshf pref dpo` as its external trainer,
 * so these flags are a stable interface (docs/pref-data.md §4).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { Progress } from '../report/progress.js';
import { int, num, oneOf } from './options.js';
import { readPreferenceFile, readPromptResponses, type ChatTemplate } from '../pref/data.js';
import { PAIR_LAYOUTS, type PairLayout } from '../pref/layouts.js';
import { LOSS_TYPES, type LossType } from '../pref/losses.js';
import { readPromptFile } from '../pref/prompts.js';
import { PRESETS, type PresetName } from '../nn/index.js';
import { loadRewardModels, runDpo, runRewardModel, scoreRows, type RunResult } from '../pref/train-run.js';

interface DataFlags {
  data: string;
  format?: PairLayout;
  template: ChatTemplate;
  lenient: boolean;
}

function readPairs(o: DataFlags) {
  const imp = readPreferenceFile(o.data, { layout: o.format, template: o.template, lenient: o.lenient });
  for (const w of imp.warnings) process.stderr.write(`warning: ${w}\n`);
  process.stderr.write(`${o.data}: ${imp.pairs.length} pairs (${imp.layout} layout)\n`);
  return imp.pairs;
}

function addDataFlags(c: Command): Command {
  return c
    .requiredOption(
      '--data <file>',
      'preference pairs JSONL in any accepted layout (see `gshf pref import --help`)',
    )
    .option(
      '--format <layout>',
      `force the layout: ${PAIR_LAYOUTS.join(' | ')}`,
      oneOf('format', PAIR_LAYOUTS),
    )
    .option(
      '--template <t>',
      'conversational prompt → text: content | roles',
      oneOf('template', ['content', 'roles'] as const),
      'content',
    )
    .option('--lenient', 'ignore unknown fields and drop chosen == rejected rows (with warnings)', false);
}

function report(kind: string, r: RunResult, keys: string[]): void {
  const last = keys.map((k) => `${k} ${r.last[k]?.toFixed(4)}`).join(', ');
  process.stdout.write(
    `${kind}: ${r.steps} steps → ${r.out} (metrics.jsonl, training.svg); last step: ${last}\n`,
  );
}

function progress(label: string) {
  let bar: Progress | null = null;
  return (done: number, total: number, rec: Record<string, number>) => {
    bar ??= new Progress(label, total);
    bar.tick(1, `loss ${rec.loss.toFixed(4)}`);
    if (done === total) bar.finish();
  };
}

interface RmFlags extends DataFlags {
  out: string;
  force: boolean;
  init?: string;
  preset: string;
  tokenizer?: string;
  k: number;
  bootstrap: boolean;
  epochs: number;
  batch: number;
  lr: number;
  maxSteps?: number;
  seed: number;
  useMargins: boolean;
  centerRewards: number;
}

interface DpoFlags extends DataFlags {
  out: string;
  force: boolean;
  init: string;
  ref?: string;
  refLogps?: string;
  loss: LossType;
  beta: number;
  labelSmoothing: number;
  epochs: number;
  batch: number;
  lr: number;
  maxSteps?: number;
  seed: number;
}

export function registerPrefTrainCommands(pref: Command): void {
  addDataFlags(
    pref
      .command('rm')
      .description(
        'Train a Bradley–Terry reward model (TRL RewardTrainer) or an ensemble (--k) on your pairs → checkpoint folder with metrics.jsonl and training.svg.',
      ),
  )
    .requiredOption('--out <dir>', 'checkpoint folder to create (refused if it exists, unless --force)')
    .option('--force', 'replace an existing --out folder', false)
    .option('--init <dir>', 'start from this LM checkpoint (trunk copied, fresh scalar head)')
    .option('--preset <name>', `from scratch: ${Object.keys(PRESETS).join(' | ')}`, 'tiny')
    .option('--tokenizer <file>', 'from scratch: a tokenizer.json (default: bytes)')
    .option('--k <n>', 'ensemble size (1 = one model)', int('k', { min: 1 }), 1)
    .option('--no-bootstrap', 'ensemble members see the same pairs (only seeds differ)')
    .option('--epochs <n>', 'passes over the pairs', int('epochs', { min: 1 }), 1)
    .option('--batch <n>', 'pairs per step', int('batch', { min: 1 }), 16)
    .option('--lr <x>', 'peak learning rate', num('lr', { above: 0 }), 1e-3)
    .option('--max-steps <n>', 'stop after this many steps (per member)', int('max-steps', { min: 1 }))
    .option('--seed <n>', 'seed (head init, shuffling, bootstrap)', int('seed', { min: 0 }), 0)
    .option('--use-margins', 'use each pair\'s "margin": L = −log σ(Δr − margin)', false)
    .option('--center-rewards <c>', 'TRL center_rewards_coefficient', num('center-rewards', { min: 0 }), 0)
    .action((o: RmFlags) => {
      if (!o.init && !(o.preset in PRESETS))
        throw new Error(`--preset: expected one of ${Object.keys(PRESETS).join(', ')}, got "${o.preset}"`);
      if (o.init && o.tokenizer)
        throw new Error('--tokenizer: only with --preset (an --init checkpoint has its own)');
      const pairs = readPairs(o);
      const r = runRewardModel({
        pairs,
        dataName: o.data,
        out: o.out,
        force: o.force,
        source: o.init ? { init: o.init } : { preset: o.preset as PresetName, tokenizer: o.tokenizer },
        k: o.k,
        bootstrap: o.bootstrap,
        epochs: o.epochs,
        batchSize: o.batch,
        lr: o.lr,
        maxSteps: o.maxSteps,
        seed: o.seed,
        useMargins: o.useMargins,
        centerRewards: o.centerRewards,
        onStep: progress('pref rm'),
        onWarn: (w) => process.stderr.write(`warning: ${w}\n`),
      });
      report('pref rm', r, ['loss', 'accuracy', 'margin']);
    });

  addDataFlags(
    pref
      .command('dpo')
      .description(
        'DPO on your pairs (TRL DPOTrainer vocabulary): policy from --init, reference from --ref (default: --init) or precomputed log-probs → checkpoint folder with metrics.jsonl, training.svg, ref_logps.jsonl.',
      ),
  )
    .requiredOption('--init <dir>', 'policy LM checkpoint to start from')
    .requiredOption('--out <dir>', 'checkpoint folder to create (refused if it exists, unless --force)')
    .option('--force', 'replace an existing --out folder', false)
    .option('--ref <dir>', 'reference LM checkpoint (default: --init)')
    .option(
      '--ref-logps <file>',
      'precomputed reference log-probs JSONL ({"ref_chosen_logps","ref_rejected_logps"} per pair, e.g. an earlier run\'s ref_logps.jsonl)',
    )
    .option('--loss <type>', `loss: ${LOSS_TYPES.join(' | ')}`, oneOf('loss', LOSS_TYPES), 'sigmoid')
    .option('--beta <x>', 'β (KL strength; IPO: τ)', num('beta', { above: 0 }), 0.1)
    .option(
      '--label-smoothing <eps>',
      'ε for cdpo / robust, in [0, 0.5)',
      num('label-smoothing', { min: 0, max: 0.5 }),
      0,
    )
    .option('--epochs <n>', 'passes over the pairs', int('epochs', { min: 1 }), 1)
    .option('--batch <n>', 'pairs per step', int('batch', { min: 1 }), 16)
    .option('--lr <x>', 'peak learning rate', num('lr', { above: 0 }), 5e-4)
    .option('--max-steps <n>', 'stop after this many steps', int('max-steps', { min: 1 }))
    .option('--seed <n>', 'seed (shuffling)', int('seed', { min: 0 }), 0)
    .action((o: DpoFlags) => {
      if (o.ref && o.refLogps)
        throw new Error('--ref and --ref-logps: give one (the log-probs replace the model)');
      const pairs = readPairs(o);
      const r = runDpo({
        pairs,
        dataName: o.data,
        out: o.out,
        force: o.force,
        init: o.init,
        ref: o.ref,
        refLogps: o.refLogps,
        loss: o.loss,
        beta: o.beta,
        labelSmoothing: o.labelSmoothing,
        epochs: o.epochs,
        batchSize: o.batch,
        lr: o.lr,
        maxSteps: o.maxSteps,
        seed: o.seed,
        onStep: progress('pref dpo'),
        onWarn: (w) => process.stderr.write(`warning: ${w}\n`),
      });
      report('pref dpo', r, ['loss', 'rewards/accuracies', 'rewards/margins']);
    });

  pref
    .command('score')
    .description(
      'Reward-model scores of {"prompt","response"} JSONL → JSONL {"prompt","response","score"} (ensembles add "std" and "members").',
    )
    .requiredOption('--model <dir>', 'a `gshf pref rm` folder (one model or an ensemble)')
    .requiredOption('--in <file>', 'JSONL with prompt, response')
    .option('--out <file>', 'JSONL to write (default: stdout)')
    .action((o: { model: string; in: string; out?: string }) => {
      const rows = readPromptResponses(o.in);
      const models = loadRewardModels(o.model);
      const text = scoreRows(models, rows)
        .map((r) => JSON.stringify(r) + '\n')
        .join('');
      if (!o.out) return void process.stdout.write(text);
      mkdirSync(dirname(resolve(o.out)), { recursive: true });
      writeFileSync(o.out, text);
      process.stderr.write(`scored ${rows.length} responses with ${models.length} model(s) → ${o.out}\n`);
    });

  pref
    .command('prompts')
    .description(
      'A prompt-only set (JSONL with "prompt" strings or messages, .json array, plain text, or Parquet with a "prompt" column) → prompts JSONL {"prompt"} (distinct, in order).',
    )
    .requiredOption('--in <file>', 'prompts file (.jsonl, .json, .txt, .parquet)')
    .requiredOption('--out <file>', 'prompts JSONL to write')
    .option(
      '--template <t>',
      'message prompts → text: content | roles',
      oneOf('template', ['content', 'roles'] as const),
      'content',
    )
    .action(async (o: { in: string; out: string; template: ChatTemplate }) => {
      const prompts = await readPromptFile(o.in, o.template);
      mkdirSync(dirname(resolve(o.out)), { recursive: true });
      writeFileSync(o.out, prompts.map((p) => JSON.stringify({ prompt: p }) + '\n').join(''));
      process.stdout.write(`${prompts.length} distinct prompts → ${o.out}\n`);
    });
}
