/**
 * Child-process entry of `runSeedsInWorkers` (./seed-workers.ts): receives seeds one at a time and
 * runs each with its own part ledger; reports stages for the parent's progress bar.
 */
import { pipelineConfigSchema } from './pipeline-config.js';
import { seedContext, runSeed, type Collected } from './reproduce.js';
import { initPart, type FromWorker, type ToWorker } from './seed-workers.js';
import { seedTag } from './methods/common.js';
import { crashHooksFromEnv } from '../report/crash-hooks.js';

const send = (m: FromWorker): void => {
  process.send?.(m);
};

const arg = JSON.parse(process.argv[2] ?? '{}') as { cfg: unknown; outDir: string };
const cfg = pipelineConfigSchema.parse(arg.cfg);
const onStage = (id: string, skipped: boolean): void => send({ type: 'stage', id, skipped });
// A process entry: the crash hooks of the tests come from the environment, as in the CLI.
const hooks = crashHooksFromEnv();

let stopping = false;
process.on('message', (m: ToWorker) => {
  void handle(m);
});
// The parent died (IPC closed without a stop): do not keep running seeds nobody will collect.
process.on('disconnect', () => {
  if (!stopping) process.exit(1);
});

async function handle(m: ToWorker): Promise<void> {
  if (m.type === 'stop') {
    stopping = true;
    process.disconnect?.();
    return;
  }
  try {
    const ledgerPath = initPart(arg.outDir, seedTag(m.seed));
    const ctx = seedContext(cfg, arg.outDir, ledgerPath, onStage, hooks);
    const acc: Collected = { rows: [], selections: [], pools: [], rms: [] };
    await runSeed(ctx, acc, m.seed);
    ctx.ledger.close();
    send({ type: 'done', seed: m.seed });
  } catch (e) {
    send({ type: 'error', message: `seed ${m.seed}: ${(e as Error).stack ?? String(e)}` });
    process.exitCode = 1;
    stopping = true;
    process.disconnect?.();
  }
}
send({ type: 'ready' });
