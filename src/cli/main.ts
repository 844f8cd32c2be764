#!/usr/bin/env node
/**
 * `gshf` entry point: wires the subcommand groups. Each group lives in its own file and only
 * parses, validates and calls the layers below (see src/cli/README.md).
 */
import { Command } from 'commander';
import { registerBanditCommands } from './bandit.js';
import { registerLmCommands } from './lm.js';
import { registerLoopCommand } from './loop.js';
import { registerPrefCommands } from './pref.js';
import { describeError } from './errors.js';
import { registerServeCommands } from './serve.js';
import { registerServeAnnotateCommands } from './serve-annotate.js';
import { nativeFallbackNotice } from '../native/index.js';

const program = new Command();
program
  .name('gshf')
  .description('Iterative preference learning from human feedback under a KL constraint (GSHF).')
  .version('0.1.0')
  .showHelpAfterError()
  .hook('preAction', () => {
    const notice = process.env.GSHF_QUIET ? null : nativeFallbackNotice();
    if (notice) process.stderr.write(`gshf: ${notice}\n`);
  });

registerBanditCommands(program);
registerLmCommands(program);
registerPrefCommands(program); // adds `lm reproduce` to the lm group, and the `pref` group
registerServeCommands(program); // adds `lm serve` and `pref serve-rm`
registerLoopCommand(program);
registerServeAnnotateCommands(program); // `gshf serve` (annotation service) and `gshf serve token add`

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`gshf: ${describeError(err)}\n`);
  if (process.env.GSHF_DEBUG && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
  process.exit(1);
});
