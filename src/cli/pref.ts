/**
 * `gshf lm reproduce` (added to the existing `lm` group) and the `gshf pref …` group:
 *   lm reproduce   SFT → RM → offline DPO, RSO, multi-step RSO, iterative DPO (both schedules),
 *                  uncertainty enhancer, hybrid → report (resumable run folder)
 *   pref import    TRL preference JSONL (standard or conversational) → gshf pairs JSONL
 *   pref export    gshf pairs JSONL, or the pairs a reproduce stage collected → TRL JSONL
 *   pref label     label {"prompt","a","b"} JSONL with the gold Bradley–Terry oracle (ledgered)
 *   pref gold      gold reward r* of {"prompt","response"} JSONL
 *   pref report    rebuild report.md / SVGs of a finished reproduce run folder
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfigFile } from './config-file.js';
import { pipelineConfigSchema, type PipelineConfig } from '../pref/pipeline-config.js';
import { reproduce, rebuildReport } from '../pref/reproduce.js';
import { crashHooksFromEnv } from '../report/crash-hooks.js';
import {
  readTrlJsonl,
  writeTrlJsonl,
  readPromptResponses,
  readPairsFile,
  readStagePairs,
  type ScoredPair,
  type TrlFormat,
} from '../pref/data.js';
import { GoldOracle, goldReward } from '../pref/gold.js';
import { LabelLedger, labelQueryFile } from '../pref/labels.js';
import { num, path } from './options.js';
import type { PreferencePair } from '../pref/types.js';
import { registerPrefTrainCommands } from './pref-train.js';
import { acceptedLayouts, PAIR_LAYOUTS, type PairLayout } from '../pref/layouts.js';

function int(name: string, min = 0) {
  return (v: string): number => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < min)
      throw new Error(`--${name}: expected an integer ≥ ${min}, got "${v}"`);
    return x;
  };
}

/** The shipped default config, resolved relative to the package root (works from src and dist). */
export function defaultReproduceConfig(): string {
  for (const up of ['../..', '../../..']) {
    const p = resolve(dirname(new URL(import.meta.url).pathname), up, 'examples/lm/reproduce.yaml');
    if (existsSync(p)) return p;
  }
  return 'examples/lm/reproduce.yaml';
}

function writeJsonl(path: string, rows: readonly object[]): void {
  mkdirSync(dirname(resolve(path)), { recursive: true });
  writeFileSync(path, rows.map((r) => JSON.stringify(r) + '\n').join(''));
}

interface ReproduceCli {
  config?: string;
  out: string;
  resume: boolean;
  seeds?: number;
}

export function registerPrefCommands(program: Command): void {
  const lm =
    program.commands.find((c) => c.name() === 'lm') ??
    program.command('lm').description('Local GPT-style language models.');
  lm.command('reproduce')
    .description(
      "Reproduce the paper's comparison in miniature: SFT π0 → reward models → offline DPO, RSO, multi-step RSO, iterative DPO, enhancer, hybrid → report.",
    )
    .option('--config <file>', 'pipeline config (YAML/JSON); default: the shipped examples/lm/reproduce.yaml')
    .option('--out <dir>', 'run folder (holds all state; resumable)', 'runs/lm-reproduce')
    .option(
      '--resume',
      'continue the run in --out (stages already done are skipped; labels replay from the ledger)',
      false,
    )
    .option('--seeds <n>', 'override the number of preference seeds', int('seeds', 1))
    .action(async (o: ReproduceCli) => {
      const path = o.config ?? defaultReproduceConfig();
      let cfg: PipelineConfig = loadConfigFile(path, pipelineConfigSchema);
      if (o.seeds !== undefined) {
        cfg = pipelineConfigSchema.parse({
          ...cfg,
          seeds: o.seeds,
          frontier: {
            ...cfg.frontier,
            seeds: Math.min(cfg.frontier.seeds, o.seeds),
            ...(cfg.frontier.rsoSeeds !== undefined
              ? { rsoSeeds: Math.min(cfg.frontier.rsoSeeds, o.seeds) }
              : {}),
          },
        });
      }
      const command = `gshf lm reproduce${o.config ? ` --config ${o.config}` : ''} --out ${o.out}${o.seeds !== undefined ? ` --seeds ${o.seeds}` : ''}`;
      const res = await reproduce(cfg, {
        outDir: o.out,
        resume: o.resume,
        command,
        hooks: crashHooksFromEnv(),
      });
      process.stdout.write(
        `${res.stagesRun} stages run, ${res.stagesSkipped} skipped (resumed), ${res.results.ledger.labels} labels in the ledger, ` +
          `${res.wallSeconds.toFixed(1)} s; report: ${res.reportPath}\n`,
      );
    });

  const pref = program
    .command('pref')
    .description('Preference data: TRL JSONL import/export, gold-oracle labelling, gold reward, reports.');

  registerPrefTrainCommands(pref); // rm, dpo, score, prompts (src/cli/pref-train.ts)

  pref
    .command('import')
    .description(
      `Preference JSONL in any of these layouts (detected per file) → gshf pairs JSONL {"prompt","chosen","rejected"}:\n${acceptedLayouts()}`,
    )
    .requiredOption('--in <file>', 'TRL JSONL')
    .requiredOption('--out <file>', 'gshf pairs JSONL to write')
    .option('--lenient', 'ignore unknown fields and drop chosen == rejected rows (with warnings)', false)
    .option('--template <t>', 'conversational prompt → text: content | roles', 'content')
    .option(
      '--format <layout>',
      `force the layout (default: detected from the first row): ${PAIR_LAYOUTS.join(' | ')}`,
    )
    .action((o: { in: string; out: string; lenient: boolean; template: string; format?: string }) => {
      if (o.template !== 'content' && o.template !== 'roles')
        throw new Error(`--template: expected content or roles, got "${o.template}"`);
      if (o.format !== undefined && !PAIR_LAYOUTS.includes(o.format as PairLayout))
        throw new Error(`--format: expected one of ${PAIR_LAYOUTS.join(', ')}, got "${o.format}"`);
      const imp = readTrlJsonl(o.in, {
        lenient: o.lenient,
        template: o.template,
        layout: o.format as PairLayout | undefined,
      });
      for (const w of imp.warnings) process.stderr.write(`warning: ${w}\n`);
      writeJsonl(
        o.out,
        imp.pairs.map((p) => ({
          prompt: p.prompt,
          chosen: p.chosen,
          rejected: p.rejected,
          ...(p.margin !== undefined ? { margin: p.margin } : {}),
        })),
      );
      process.stdout.write(`imported ${imp.pairs.length} pairs (${imp.layout} layout) → ${o.out}\n`);
    });

  pref
    .command('export')
    .description('gshf pairs JSONL, or the pairs of a reproduce stage (--run DIR --stage ID), → TRL JSONL.')
    .option('--in <file>', 'gshf pairs JSONL')
    .option('--run <dir>', 'a reproduce run folder')
    .option('--stage <id>', 'stage id inside --run, e.g. seed0/iterative-dpo-warm/it1 or seed0/pool')
    .requiredOption('--out <file>', 'TRL JSONL to write')
    .option('--format <f>', 'standard | conversational', 'standard')
    .option('--gold-scores', 'add score_chosen / score_rejected = gold reward r*', false)
    .action(
      (o: {
        in?: string;
        run?: string;
        stage?: string;
        out: string;
        format: string;
        goldScores: boolean;
      }) => {
        if (o.format !== 'standard' && o.format !== 'conversational')
          throw new Error(`--format: expected standard or conversational, got "${o.format}"`);
        let pairs: ScoredPair[];
        if (o.in) pairs = readPairsFile(o.in);
        else if (o.run && o.stage) pairs = readStagePairs(o.run, o.stage);
        else throw new Error('give --in <pairs.jsonl>, or --run <dir> and --stage <id>');
        const scored: ScoredPair[] = pairs.map((p) =>
          o.goldScores
            ? {
                ...p,
                score_chosen: goldReward(p.prompt, p.chosen),
                score_rejected: goldReward(p.prompt, p.rejected),
              }
            : p,
        );
        mkdirSync(dirname(resolve(o.out)), { recursive: true });
        writeTrlJsonl(o.out, scored, { format: o.format as TrlFormat });
        process.stdout.write(`exported ${pairs.length} pairs (${o.format}) → ${o.out}\n`);
      },
    );

  pref
    .command('label')
    .description(
      'Label {"prompt","a","b"} JSONL with the gold Bradley–Terry oracle; writes gshf pairs. Every answer is recorded in a ledger (replayed for free on a rerun).',
    )
    .requiredOption(
      '--in <file>',
      'JSONL with prompt, a, b (and optional id)',
      path('in', { mustExist: true }),
    )
    .requiredOption('--out <file>', 'gshf pairs JSONL to write')
    .option('--ledger <file>', 'label ledger (default: <out>.ledger.jsonl)')
    .option(
      '--temperature <x>',
      'BT temperature (0 = always the higher r*)',
      num('temperature', { min: 0 }),
      1,
    )
    .option('--seed <s>', 'oracle noise seed', '1')
    .action((o: { in: string; out: string; ledger?: string; temperature: number; seed: string }) => {
      const ledger = new LabelLedger(
        new GoldOracle({ seed: o.seed, temperature: o.temperature }),
        o.ledger ?? `${o.out}.ledger.jsonl`,
      );
      const rows: PreferencePair[] = labelQueryFile(o.in, ledger);
      ledger.close();
      writeJsonl(o.out, rows);
      process.stdout.write(
        `labelled ${rows.length} pairs (${ledger.labelsAskedThisSession} new labels, ${ledger.replays} replayed) → ${o.out}\n`,
      );
    });

  pref
    .command('gold')
    .description(
      'Gold reward r* (AFINN sum / 5) of each {"prompt","response"} line; prints JSONL and the mean.',
    )
    .requiredOption('--in <file>', 'JSONL with prompt, response')
    .action((o: { in: string }) => {
      const rows = readPromptResponses(o.in);
      let s = 0;
      for (const r of rows) {
        const g = goldReward(r.prompt, r.response);
        s += g;
        process.stdout.write(JSON.stringify({ prompt: r.prompt, response: r.response, gold: g }) + '\n');
      }
      process.stderr.write(`${rows.length} responses, mean r* ${(s / rows.length).toFixed(4)}\n`);
    });

  pref
    .command('report')
    .description(
      'Rebuild report.md and the SVGs of a finished `gshf lm reproduce` run folder (e.g. after editing claim notes).',
    )
    .requiredOption('--run <dir>', 'run folder')
    .option(
      '--notes-from <config>',
      'take the claim notes (claimNotes) from this pipeline config, e.g. the shipped one',
    )
    .action((o: { run: string; notesFrom?: string }) => {
      const notes = o.notesFrom ? loadConfigFile(o.notesFrom, pipelineConfigSchema).claimNotes : undefined;
      process.stdout.write(`report: ${rebuildReport(o.run, notes)}\n`);
    });
}
