import type { Command } from 'commander';

/** `gshf bandit …`: the exact KL-regularised bandit lab. */
export function registerBanditCommands(program: Command): void {
  const bandit = program.command('bandit').description('The exact KL-regularised contextual bandit lab.');
  bandit
    .command('run')
    .description('Run a sweep of algorithms × sample sizes × seeds from a config and write a report.')
    .argument('[config]', 'JSON or YAML experiment config (default: built-in)')
    .action(() => {
      throw new Error('not implemented yet');
    });
}
