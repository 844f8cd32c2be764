/**
 * `gshf bandit …`: the exact KL-regularised bandit lab.
 *   run       sweep algorithms × budgets × seeds from a config, write a report
 *   generate  write a generated environment (and optionally labelled pairs) to files
 *   fit       ridge BT-MLE from an env file and a pairs file
 *   evaluate  exact J, KL to π0 and the paper's gap for a θ or an explicit policy
 * `fit --json` and `evaluate --json` are a documented, scriptable interface (docs/cli.md).
 */
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfigFile } from './config-file.js';
import { int, num, oneOf } from './options.js';
import { experimentConfigSchema } from '../bandit/experiment/config.js';
import { runExperiment, rebuildReport, mergeShards } from '../bandit/experiment/run.js';
import { parseShard, type Shard } from '../bandit/experiment/shard.js';
import { readEnvFile, readPairsFile, writeEnvFile, writePairsFile } from '../bandit/files.js';
import {
  generateEnv,
  behaviourPolicy,
  estimateEnvBytes,
  formatBytes,
  MAX_ENV_BYTES,
  MAX_REWARD_OVER_ETA,
  type Coverage,
} from '../bandit/generate.js';
import { GshfInputError, GshfNumericError } from '../math/errors.js';
import { fitMLE } from '../bandit/mle.js';
import { evaluatePolicy, readPolicy, readTheta } from '../bandit/evaluate.js';
import { PreferenceOracle, sampleDistinctPairs } from '../bandit/oracle.js';
import { gibbsOfTheta } from '../bandit/policy.js';
import { Rng } from '../math/rng.js';
import { algorithmNames, getAlgorithm } from '../bandit/algorithms/index.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The shipped default experiment (examples/bandit/default.yaml), resolved from the package root. */
export const DEFAULT_BANDIT_CONFIG = resolve(here, '../../../examples/bandit/default.yaml');

/** Largest JSON text we build in one string (V8 strings stop near 2^29 characters). */
const MAX_JSON_BYTES = 5e8;

/** Refuses sizes and scales `generate` cannot produce, before allocating anything. */
function checkGenerateFlags(o: { d: number; K: number; contexts: number; B: number; eta: number }): void {
  const flags = `--K ${o.K} × --contexts ${o.contexts} × --d ${o.d}`;
  const size = estimateEnvBytes({ d: o.d, K: o.K, nContexts: o.contexts });
  if (size.json > MAX_JSON_BYTES || size.memory > MAX_ENV_BYTES)
    throw new GshfInputError(
      `${flags}: the environment would need ≈ ${formatBytes(size.memory)} of memory and ≈ ${formatBytes(size.json)} as JSON (limits ${formatBytes(MAX_ENV_BYTES)} and ${formatBytes(MAX_JSON_BYTES)}); use fewer contexts or actions`,
    );
  if (!(o.B / o.eta <= MAX_REWARD_OVER_ETA))
    throw new GshfInputError(
      `--B ${o.B} with --eta ${o.eta}: ‖θ*‖/η = ${o.B / o.eta} overflows float64 arithmetic (must be ≤ ${MAX_REWARD_OVER_ETA})`,
    );
}

export function registerBanditCommands(program: Command): void {
  const bandit = program
    .command('bandit')
    .description('The exact KL-regularised contextual bandit lab (float64, exact evaluation).');

  bandit
    .command('run')
    .description(
      'Run a sweep of algorithms × label budgets × seeds from a config; write metrics, a Markdown report and SVG plots.',
    )
    .argument('[config]', 'JSON or YAML experiment config', DEFAULT_BANDIT_CONFIG)
    .option('-o, --out <dir>', 'run folder (default: runs/<config name>)')
    .option('--resume', 'continue an interrupted run in the same folder', false)
    .option(
      '-w, --workers <n>',
      'worker threads (default: config, else CPU cores)',
      int('workers', { min: 1 }),
    )
    .option('--seeds <n>', 'override the number of seeds', int('seeds', { min: 1 }))
    .option(
      '--shard <i/N>',
      'run only shard i of N (0-based) into its own folder; combine the N folders with `bandit merge`',
      (v: string) => parseShard(v),
    )
    .action(
      async (
        configPath: string,
        opts: { out?: string; resume: boolean; workers?: number; seeds?: number; shard?: Shard },
      ) => {
        const cfg = loadConfigFile(configPath, experimentConfigSchema);
        if (opts.seeds) cfg.seeds = opts.seeds;
        const sharded = opts.shard && opts.shard.count > 1 ? opts.shard : undefined;
        const outDir =
          opts.out ??
          (sharded ? `runs/${cfg.name}.shard-${sharded.index}-of-${sharded.count}` : `runs/${cfg.name}`);
        const shown = configPath === DEFAULT_BANDIT_CONFIG ? 'examples/bandit/default.yaml' : configPath;
        const shardFlag = sharded ? ` --shard ${sharded.index}/${sharded.count}` : '';
        const summary = await runExperiment(cfg, {
          outDir,
          resume: opts.resume,
          workers: opts.workers,
          configPath: shown,
          command: `gshf bandit run ${shown}${shardFlag} --out ${outDir}${opts.seeds ? ` --seeds ${opts.seeds}` : ''}`,
          ...(sharded ? { shard: sharded } : {}),
        });
        if (summary.reportPath) process.stdout.write(`report: ${summary.reportPath}\n`);
        else
          process.stdout.write(
            `shard ${sharded?.index}/${sharded?.count}: ${summary.results.length} runs in ${outDir} (combine with \`gshf bandit merge\`)\n`,
          );
      },
    );

  bandit
    .command('report')
    .description('Rebuild report.md and the plots of a run folder from its config.json and metrics.jsonl.')
    .argument('<dir>', 'run folder')
    .action((dir: string) => {
      process.stdout.write(`report: ${rebuildReport(dir, `gshf bandit report ${dir}`)}\n`);
    });

  bandit
    .command('merge')
    .description(
      'Combine the folders of a sharded run (`bandit run --shard i/N`) into one run folder: the same results.json and report as one machine.',
    )
    .argument('<out>', 'run folder to write (must not hold a run)')
    .argument('<shards...>', 'the N shard folders, in any order')
    .action((out: string, shards: string[]) => {
      const summary = mergeShards(out, shards, `gshf bandit merge ${out} ${shards.join(' ')}`);
      process.stdout.write(`report: ${summary.reportPath}\n`);
    });

  bandit
    .command('generate')
    .description(
      'Write a generated environment (JSON) and, optionally, offline pairs labelled by its BT oracle (JSONL).',
    )
    .requiredOption('--out <file>', 'environment JSON to write')
    .option('--d <n>', 'feature dimension', int('d', { min: 1 }), 8)
    .option('--K <n>', 'actions per context', int('K', { min: 2 }), 16)
    .option('--contexts <n>', 'number of contexts', int('contexts', { min: 1 }), 100)
    .option('--B <x>', '‖θ*‖', num('B', { min: 0 }), 3)
    .option('--ref-temperature <x>', 'π0 temperature', num('ref-temperature', { above: 0 }), 1)
    .option('--eta <x>', 'KL coefficient η', num('eta', { above: 0 }), 0.5)
    .option('--seed <n>', 'seed', int('seed'), 0)
    .option('--pairs <file>', 'also write offline pairs (JSONL) here')
    .option('--n <n>', 'number of pairs', int('n', { min: 1 }), 1000)
    .option(
      '--coverage <c>',
      'behaviour policy of the pairs: good | poor | adversarial | tempting',
      oneOf('coverage', ['good', 'poor', 'adversarial', 'tempting'] as const),
      'good',
    )
    .action(
      (o: {
        out: string;
        d: number;
        K: number;
        contexts: number;
        B: number;
        refTemperature: number;
        eta: number;
        seed: number;
        pairs?: string;
        n: number;
        coverage: Coverage;
      }) => {
        checkGenerateFlags(o);
        const env = generateEnv({
          d: o.d,
          K: o.K,
          nContexts: o.contexts,
          normB: o.B,
          refTemperature: o.refTemperature,
          eta: o.eta,
          seed: o.seed,
        });
        writeEnvFile(o.out, env);
        process.stdout.write(`environment: ${o.out}\n`);
        if (o.pairs) {
          const rng = new Rng(o.seed).fork('pairs');
          const oracle = new PreferenceOracle(env, env.thetaStar as Float64Array, rng.fork('oracle'));
          const b = behaviourPolicy(env, o.coverage);
          const { pairs, draws, ties } = sampleDistinctPairs(env, b, o.n, oracle, rng);
          writePairsFile(o.pairs, pairs);
          process.stdout.write(`pairs: ${o.pairs}\n`);
          if (pairs.context.length < o.n)
            process.stderr.write(
              `gshf: wrote ${pairs.context.length} pairs, not --n ${o.n}: the ${o.coverage}-coverage behaviour policy drew the same action twice in ${ties} of ${draws} draws (a tie carries no preference and is not written); use --coverage good or more actions\n`,
            );
        }
      },
    );

  bandit
    .command('fit')
    .description('Ridge Bradley–Terry MLE θ from an environment and a pairs file.')
    .requiredOption('--env <file>', 'environment JSON (docs/bandit-file-formats.md)')
    .requiredOption('--pairs <file>', 'pairs JSONL: {"context","chosen","rejected"} per line')
    .option(
      '--lambda <x>',
      'ridge λ (> 0 keeps Newton well posed on separable data)',
      num('lambda', { min: 0 }),
      1,
    )
    .option('--norm-bound <B>', 'constrain ‖θ‖ ≤ B', num('norm-bound', { min: 0 }))
    .option('--json', 'print machine-readable JSON', false)
    .action((o: { env: string; pairs: string; lambda: number; normBound?: number; json: boolean }) => {
      const env = readEnvFile(o.env);
      const pairs = readPairsFile(o.pairs, env);
      const fit = fitMLE(env, pairs, {
        lambda: o.lambda,
        ...(o.normBound !== undefined ? { normBound: o.normBound } : {}),
      });
      if (fit.diverged)
        throw new GshfNumericError(
          `${o.pairs}: --lambda 0 on separable pairs (a θ orders all ${pairs.context.length} pairs correctly), so the Bradley–Terry MLE is at infinity: Newton stopped at ‖θ‖ = ${Math.hypot(...fit.theta).toPrecision(3)} and would keep growing; use --lambda > 0 or --norm-bound`,
        );
      const out = {
        theta: Array.from(fit.theta),
        n_pairs: pairs.context.length,
        lambda: o.lambda,
        norm_bound: o.normBound ?? null,
        neg_log_lik: fit.negLogLik,
        grad_norm: fit.gradNorm,
        iterations: fit.iterations,
        converged: fit.converged,
      };
      if (o.json) process.stdout.write(JSON.stringify(out) + '\n');
      else {
        process.stdout.write(
          `θ_MLE (${pairs.context.length} pairs, λ=${o.lambda}): [${out.theta.map((v) => v.toFixed(6)).join(', ')}]\n`,
        );
        process.stdout.write(
          `Newton iterations ${fit.iterations}, converged ${fit.converged}, ‖∇‖ ${fit.gradNorm.toExponential(2)}\n`,
        );
      }
    });

  bandit
    .command('evaluate')
    .description(
      "Exact J(π), KL(π‖π0) and the paper's gap for the Gibbs policy of θ, or for an explicit policy.",
    )
    .requiredOption('--env <file>', 'environment JSON')
    .option('--theta <file|json>', 'θ as a JSON array, or a file holding one (or the output of `fit --json`)')
    .option('--policy <file>', 'policy JSON: {"probs": [[K] per context]} or {"logprobs": [[K] per context]}')
    .option('--eta <x>', "η for the Gibbs policy of θ (default: the environment's)", num('eta', { above: 0 }))
    .option('--json', 'print machine-readable JSON', false)
    .action((o: { env: string; theta?: string; policy?: string; eta?: number; json: boolean }) => {
      const env = readEnvFile(o.env);
      if ((o.theta === undefined) === (o.policy === undefined))
        throw new Error('give exactly one of --theta or --policy');
      let logp: Float64Array;
      try {
        logp =
          o.theta !== undefined
            ? gibbsOfTheta(env, readTheta(o.theta, env.d), o.eta ?? env.eta)
            : readPolicy(o.policy as string, env);
      } catch (e) {
        // Name the input that overflowed, not the function that noticed it.
        if (e instanceof GshfNumericError && o.theta !== undefined)
          throw new GshfNumericError(`${o.theta}: field "theta": ${e.message}`);
        throw e;
      }
      const out = evaluatePolicy(env, logp);
      if (o.json) process.stdout.write(JSON.stringify(out) + '\n');
      else {
        for (const [k, v] of Object.entries(out))
          if (typeof v === 'number') process.stdout.write(`${k}: ${v}\n`);
        if (out.gap) for (const [k, v] of Object.entries(out.gap)) process.stdout.write(`gap.${k}: ${v}\n`);
      }
    });

  bandit
    .command('algorithms')
    .description('List the registered algorithms, each with its one-line description.')
    .option('--names', 'print the bare names only (one per line, for scripts)', false)
    .action((o: { names: boolean }) => {
      const names = algorithmNames();
      if (o.names) return void process.stdout.write(names.join('\n') + '\n');
      const width = Math.max(...names.map((n) => n.length));
      const max = 116 - width; // the line stays within 120 columns
      const summary = (d: string) => {
        const flat = d.replace(/\s+/g, ' ').trim();
        return flat.length <= max ? flat : flat.slice(0, flat.lastIndexOf(' ', max - 1)) + ' …';
      };
      process.stdout.write(
        names.map((n) => `${n.padEnd(width)}  ${summary(getAlgorithm(n).description)}`).join('\n') +
          '\n\nOptions and defaults: docs/bandit-algorithms-offline.md, docs/bandit-algorithms-online.md\n',
      );
    });
}
