/**
 * The label router at equal cost against single-source baselines, on the miniature's LM: a small
 * byte-level GPT π0 trained on the built-in review corpus, `gshf loop` with the local backend, the
 * gold AFINN reward r* as the truth. Three label sources with costs: the loop's own linear RM (free),
 * a noisy judge (the gold BT oracle at a high temperature: cheap) and a careful human (the gold
 * oracle at a low temperature: expensive). Arms, each at the same budget in cost units:
 *   human-only   every label from the human (budget / cost labels);
 *   judge-only   every label from the judge;
 *   router       the most uncertain pairs (‖φ_a − φ_b‖ in Σ⁻¹ of the linear RM) to the human, the
 *                next to the judge, the rest to the RM itself; ties and contradictions escalate.
 * Per run: cost spent, labels per tier, the labels' agreement with r* (non-tie labels whose verdict
 * is the sign of r*(a) − r*(b), pairs with r*(a) ≠ r*(b)), and the policy gain in gold r* over π0 on
 * held-out prompts. Verdicts (the shared verdict engine, paired by seed): the router against each
 * baseline on gain and on agreement.
 *
 *   node dist/bench/loop/router-study.js [--out runs/router-study] [--seeds 6] [--pi0 DIR]
 * writes <out>/report.md (+ results.json); the committed copy is docs/router-report/report.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loopConfigSchema, type LoopConfig } from '../../src/loop/config.js';
import { runLoop } from '../../src/loop/driver.js';
import { goldReward } from '../../src/pref/gold.js';
import { superiority, nonInferiority, type Judgement } from '../../src/math/verdicts.js';
import { meanCI95 } from '../../src/math/stats.js';

const repo = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const COSTS = { rm: 0, judge: 1, human: 4 };
const BUDGET = 64; // cost units per run
const JUDGE_T = 0.5; // BT temperature of the noisy judge on r* (r* ≈ AFINN/5 per word)
const HUMAN_T = 0.1;

interface Args {
  out: string;
  seeds: number;
  pi0?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { out: 'runs/router-study', seeds: 6 };
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1];
    if (argv[i] === '--out') a.out = v;
    else if (argv[i] === '--seeds') a.seeds = Number(v);
    else if (argv[i] === '--pi0') a.pi0 = v;
    else throw new Error(`router-study: unknown argument ${argv[i]} (--out DIR, --seeds N, --pi0 DIR)`);
    if (v === undefined) throw new Error(`router-study: ${argv[i]} needs a value`);
  }
  if (!Number.isInteger(a.seeds) || a.seeds < 2)
    throw new Error('router-study: --seeds must be an integer ≥ 2');
  return a;
}

/** π0: a tiny byte-level GPT, 4000 SFT steps on the built-in corpus (a minute or two on 2 cores). */
function ensurePi0(args: Args): string {
  const dir = resolve(args.pi0 ?? join(args.out, 'pi0'));
  if (existsSync(join(dir, 'config.json'))) return dir;
  const r = spawnSync(
    process.execPath,
    [
      join(repo, 'dist/src/cli/main.js'),
      'lm',
      'sft',
      '--data',
      'builtin',
      '--preset',
      'tiny',
      '--steps',
      '4000',
      '--seed',
      '1',
      '--out',
      dir,
    ],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) throw new Error('router-study: SFT of π0 failed');
  return dir;
}

const human = { kind: 'oracle', temperature: HUMAN_T, seed: 'human' };
const judge = { kind: 'oracle', temperature: JUDGE_T, seed: 'judge' };
const ARMS: Record<string, Record<string, unknown>> = {
  'human-only': {
    kind: 'router',
    budget: BUDGET,
    tiers: [{ name: 'human', cost: COSTS.human, source: human }],
  },
  'judge-only': {
    kind: 'router',
    budget: BUDGET,
    tiers: [{ name: 'judge', cost: COSTS.judge, source: judge }],
  },
  router: {
    kind: 'router',
    budget: BUDGET,
    tiers: [
      { name: 'rm', cost: COSTS.rm, source: 'self' },
      { name: 'judge', cost: COSTS.judge, share: 0.6, source: judge },
      { name: 'human', cost: COSTS.human, share: 0.15, source: human },
    ],
  },
};

function loopConfig(pi0: string, labels: Record<string, unknown>, seed: number): LoopConfig {
  return loopConfigSchema.parse({
    seed,
    prompts: { path: join(repo, 'examples/loop/prompts.jsonl'), perIteration: 16, eval: 12 },
    iterations: 4,
    n: 4,
    budget: 1000, // labels; the router's cost budget is the binding one
    labels,
    ledger: { fsync: false },
    policy: {
      kind: 'local',
      model: pi0,
      sampling: { temperature: 1, maxTokens: 24 },
      dpo: { eta: 0.1, epochs: 2, batch: 8, lr: 5e-4 },
    },
    rewardModel: { kind: 'linear', dim: 64, lambda: 1 },
    eval: { samplesPerPrompt: 8 },
  });
}

interface RunResult {
  arm: string;
  seed: number;
  cost: number;
  labels: Record<string, number>;
  agreement: number;
  gain: number;
  gold0: number;
  goldT: number;
}

interface LedgerLine {
  prompt: string;
  a: string;
  b: string;
  verdict?: string;
  detail?: { route?: string; cost?: number };
}

function measure(arm: string, seed: number, out: string): RunResult {
  const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { eval: { gold: number | null } });
  const ledger = readFileSync(join(out, 'labels.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LedgerLine);
  const labels: Record<string, number> = {};
  let cost = 0;
  let agree = 0;
  let judged = 0;
  for (const r of ledger) {
    const route = r.detail?.route ?? '?';
    labels[route] = (labels[route] ?? 0) + 1;
    cost += r.detail?.cost ?? 0;
    const d = goldReward(r.prompt, r.a) - goldReward(r.prompt, r.b);
    if (d === 0 || (r.verdict !== 'a' && r.verdict !== 'b')) continue;
    judged++;
    if ((r.verdict === 'a') === d > 0) agree++;
  }
  const gold0 = rows[0].eval.gold ?? NaN;
  const goldT = rows[rows.length - 1].eval.gold ?? NaN;
  return {
    arm,
    seed,
    cost,
    labels,
    agreement: judged ? agree / judged : NaN,
    gain: goldT - gold0,
    gold0,
    goldT,
  };
}

async function runArm(arm: string, seed: number, pi0: string, root: string): Promise<RunResult> {
  const out = join(root, arm, `seed${seed}`);
  if (!existsSync(join(out, 'metrics.jsonl')) || !existsSync(join(out, 'report.md'))) {
    const cfg = loopConfig(pi0, ARMS[arm], seed);
    await runLoop(cfg, { out, resume: existsSync(out), log: () => {} });
  }
  return measure(arm, seed, out);
}

const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '—');
const ci = (xs: number[], d = 3) => {
  const c = meanCI95(xs);
  return xs.length > 1 ? `${f(c.mean, d)} [${f(c.lo, d)}, ${f(c.hi, d)}]` : f(c.mean, d);
};
const verdictCell = (j: Judgement) => `**${j.verdict}** ${f(j.mean)} [${f(j.lo)}, ${f(j.hi)}]`;

function report(results: RunResult[], seeds: number, seconds: number): string {
  const arms = Object.keys(ARMS);
  const by = (arm: string) => results.filter((r) => r.arm === arm).sort((a, b) => a.seed - b.seed);
  const table = arms.map((arm) => {
    const rs = by(arm);
    const tiers = [...new Set(rs.flatMap((r) => Object.keys(r.labels)))].sort();
    const mix = tiers
      .map((t) => `${t} ${f(rs.reduce((s, r) => s + (r.labels[t] ?? 0), 0) / rs.length, 1)}`)
      .join(', ');
    return `| ${arm} | ${f(rs.reduce((s, r) => s + r.cost, 0) / rs.length, 1)} | ${mix} | ${ci(rs.map((r) => r.agreement))} | ${ci(rs.map((r) => r.gain))} |`;
  });
  const diff = (a: string, b: string, key: 'gain' | 'agreement') =>
    by(a).map((r, i) => r[key] - by(b)[i][key]);
  const claims = [
    [
      'router vs human-only: policy gain (superiority, margin 0.01)',
      superiority(diff('router', 'human-only', 'gain'), 0.01),
    ],
    [
      'router vs judge-only: policy gain (superiority, margin 0.01)',
      superiority(diff('router', 'judge-only', 'gain'), 0.01),
    ],
    [
      'router vs judge-only: label agreement with r* (superiority, margin 0.02)',
      superiority(diff('router', 'judge-only', 'agreement'), 0.02),
    ],
    [
      'router vs human-only: label agreement, non-inferior within 0.05',
      nonInferiority(diff('router', 'human-only', 'agreement'), 0.05),
    ],
  ] as const;
  return [
    '# The label router at equal cost',
    '',
    `Generated by \`node dist/bench/loop/router-study.js --seeds ${seeds}\` in ${Math.round(seconds)} s (the whole study).`,
    '',
    `Each run: \`gshf loop\` with the local backend on a tiny byte-level GPT π0 (4000 SFT steps on the built-in review`,
    `corpus), 4 iterations × 16 prompts × 4 samples, best-vs-worst pairs, warm-start DPO (η = 0.1), a linear BT reward`,
    `model (64 hashed word features); budget **${BUDGET} cost units** per run. Costs: the loop's own RM ${COSTS.rm}, a`,
    `noisy judge ${COSTS.judge} (the gold BT oracle at temperature ${JUDGE_T}), a careful human ${COSTS.human} (temperature ${HUMAN_T}).`,
    `The router sends the 15% most uncertain pairs of a batch (‖φ_a − φ_b‖ in Σ⁻¹) to the human, the next 60% to the`,
    'judge and the rest to the RM, which answers only where its margin exceeds its uncertainty; a tie, an answer',
    'against the RM or an RM without a sure answer escalates one tier while the budget lasts.',
    `${seeds} seeds per arm; intervals are 95% t-intervals over seeds; differences are paired by seed.`,
    '',
    '| arm | cost spent | labels per tier (mean) | label agreement with r* | policy gain in gold r* |',
    '|---|---|---|---|---|',
    ...table,
    '',
    '## Verdicts',
    '',
    '| claim | verdict, mean difference [95% CI] |',
    '|---|---|',
    ...claims.map(
      ([text, j]) =>
        `| ${text} | ${verdictCell(j)}${j.seedsToDecide ? ` (≈${j.seedsToDecide} seeds would decide)` : ''} |`,
    ),
    '',
    'Reading: "agreement" counts the labels a run trained on (the ones it paid for, ties excluded) against the',
    'sign of r*; "gain" is the final policy\'s mean gold reward on 12 held-out prompts (8 samples each) minus π0\'s. The RM tier',
    'labels pairs the RM is already sure of, so its labels agree with r* as often as the RM does; its value is',
    'the budget it leaves for the pairs where a label teaches the most.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  mkdirSync(args.out, { recursive: true });
  const pi0 = ensurePi0(args);
  const results: RunResult[] = [];
  for (let seed = 0; seed < args.seeds; seed++)
    for (const arm of Object.keys(ARMS)) {
      const r = await runArm(arm, seed, pi0, args.out);
      results.push(r);
      process.stderr.write(
        `${arm} seed ${seed}: cost ${r.cost}, agreement ${f(r.agreement)}, gain ${f(r.gain)}\n`,
      );
    }
  const seconds = (performance.now() - t0) / 1000;
  writeFileSync(join(args.out, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(args.out, 'report.md'), report(results, args.seeds, seconds));
  process.stderr.write(`report: ${join(args.out, 'report.md')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`router-study: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
