/**
 * `gshf loop <config> [--out DIR] [--resume] [--labels NAME]`: online iterative GSHF on your prompts
 * (src/loop). The config is validated entirely (file, line, field) before anything is written.
 */
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfigFile } from './config-file.js';
import { loopConfigSchema, pickLabelSource, resolveConfigPaths } from '../loop/config.js';
import { runLoop } from '../loop/driver.js';
import { crashHooksFromEnv } from '../report/crash-hooks.js';

export function registerLoopCommand(program: Command): void {
  program
    .command('loop')
    .description('Online iterative preference learning (GSHF) on your prompts: sample, label, DPO, repeat.')
    .argument('<config>', 'loop config (YAML or JSON), see docs/loop.md and examples/loop/')
    .option('--out <dir>', 'run folder', 'runs/loop')
    .option('--resume', 'continue the run in --out (no label is paid twice)')
    .option('--labels <name>', 'label source: a key of labelSources in the config, or a kind (e.g. oracle)')
    .action(async (path: string, o: { out: string; resume?: boolean; labels?: string }) => {
      let cfg = resolveConfigPaths(loadConfigFile(path, loopConfigSchema), dirname(resolve(path)));
      if (o.labels) cfg = pickLabelSource(cfg, o.labels, path);
      const res = await runLoop(cfg, { out: o.out, resume: o.resume ?? false, hooks: crashHooksFromEnv() });
      const last = res.rows[res.rows.length - 1];
      process.stdout.write(
        `${res.out}: ${last.iteration} iterations, ${res.labelsUsed}/${cfg.budget} labels` +
          `${res.stoppedBy === 'budget' ? ' (budget reached)' : ''}; report ${res.out}/report.md\n`,
      );
    });
}
