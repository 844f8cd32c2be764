/**
 * report.md of a `gshf loop` run: per-iteration table (labels, pairs, training, RM refit, eval:
 * reward under the RM of that iteration and under the final RM, KL to π0, length, gold reward when
 * the oracle labels) and SVG plots against iteration and against labels used.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../report/atomic.js';
import { fmt, mdTable } from '../report/markdown.js';
import { linePlot, type Series } from '../report/svg.js';
import type { LoopConfig } from './config.js';
import { finalRmRewards, type LoopMetrics } from './run-folder.js';

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : NaN;
}

function cell(v: unknown): string {
  const x = num(v);
  return Number.isNaN(x) ? '–' : fmt(x);
}

/** KL(π_t ‖ π0) in nats above which the report warns even without a gold reward to compare. */
export const KL_WARN_NATS = 5;

/**
 * Warnings a person should read before trusting the run: the policy drifting far from π0 (KL above
 * {@link KL_WARN_NATS}), and above all the gold reward falling below π0's while the policy moves
 * away (the reward model is being over-optimised: it pays for something r* does not).
 */
export function loopWarnings(rows: readonly LoopMetrics[]): string[] {
  const out: string[] = [];
  const first = rows[0];
  const last = rows[rows.length - 1];
  if (!first || !last || last === first) return out;
  const kl = num(last.eval.kl);
  const [g0, gT] = [num(first.eval.gold), num(last.eval.gold)];
  const peak = rows.reduce((best, r) => (num(r.eval.gold) > num(best.eval.gold) ? r : best), first);
  if (gT < g0 && kl > 1)
    out.push(
      `the gold reward fell from ${fmt(g0)} (π0) to ${fmt(gT)} while KL(π_t ‖ π0) grew to ${fmt(kl)} nats: ` +
        'the policy is over-optimising the reward model. Lower the DPO learning rate or epochs, raise η, or ' +
        `stop earlier (the best gold was ${fmt(num(peak.eval.gold))} at iteration ${peak.iteration}).`,
    );
  else if (kl > KL_WARN_NATS)
    out.push(
      `KL(π_t ‖ π0) reached ${fmt(kl)} nats: the policy is far from π0, where the reward model has seen ` +
        'little data; check samples before trusting its rewards (lower the learning rate or epochs, or raise η).',
    );
  return out;
}

export function writeLoopReport(out: string, cfg: LoopConfig, rows: readonly LoopMetrics[]): void {
  const finalRm = finalRmRewards(out, rows);
  const its = rows.map((r) => r.iteration);
  const plots: { file: string; series: Series[]; title: string; y: string }[] = [];
  const series = (label: string, ys: number[]): Series[] =>
    ys.some((y) => !Number.isNaN(y)) ? [{ label, x: its, y: ys }] : [];
  plots.push({
    file: 'reward.svg',
    title: 'Eval reward by iteration',
    y: 'mean reward',
    series: [
      ...series('final RM', finalRm.map(num)),
      ...series(
        "that iteration's RM",
        rows.map((r) => num(r.eval.rm_reward)),
      ),
      ...series(
        'gold r* (oracle)',
        rows.map((r) => num(r.eval.gold)),
      ),
    ],
  });
  plots.push({
    file: 'kl.svg',
    title: 'KL(π_t ‖ π0) by iteration (k1 estimate on eval samples)',
    y: 'KL (nats)',
    series: series(
      'KL',
      rows.map((r) => num(r.eval.kl)),
    ),
  });
  plots.push({
    file: 'length.svg',
    title: 'Response length by iteration',
    y: 'characters',
    series: series(
      'length',
      rows.map((r) => num(r.eval.length_chars)),
    ),
  });
  const shown = plots.filter((p) => p.series.length > 0);
  for (const p of shown)
    writeFileAtomic(
      join(out, p.file),
      linePlot(p.series, { title: p.title, xLabel: 'iteration', yLabel: p.y }),
    );

  const table = mdTable(
    [
      'iteration',
      'labels used',
      'pairs',
      'DPO loss',
      'RM acc',
      'eval RM (final)',
      'eval RM (own)',
      'KL',
      'length',
      'gold',
    ],
    rows.map((r, i) => [
      r.iteration,
      r.labels_used,
      r.selection ? r.selection.labelled : '–',
      cell(r.train?.loss),
      cell(r.refit?.rm_accuracy),
      cell(finalRm[i]),
      cell(r.eval.rm_reward),
      cell(r.eval.kl),
      cell(r.eval.length_chars),
      cell(r.eval.gold),
    ]),
  );
  const last = rows[rows.length - 1];
  const warnings = loopWarnings(rows);
  const text = [
    '# gshf loop report',
    '',
    ...warnings.map((w) => `> **Warning:** ${w}\n`),
    `Policy backend \`${cfg.policy.kind}\`, label source \`${cfg.labels.kind}\`, enhancer \`${cfg.enhancer}\`, ` +
      `schedule \`${cfg.schedule}\`, n = ${cfg.n}, ${cfg.prompts.perIteration} prompts per iteration, ` +
      `${last.iteration} of ${cfg.iterations} iterations run, ${last.labels_used} of ${cfg.budget} labels used` +
      (last.budget_reached ? ' (budget reached: the loop stopped)' : '') +
      '.',
    '',
    'Iteration 0 is π0. "eval RM (final)" scores every iteration\'s eval samples with the last reward model ' +
      '(one yardstick); "own" uses the reward model of that iteration. KL is the k1 estimate ' +
      'mean(log π_t − log π0) on samples of π_t (– when the backend gives no log-probs). Gold is the ' +
      "oracle's reward r* (when the `oracle` answers labels, directly or as a router tier).",
    '',
    table,
    '',
    ...shown.map((p) => `![${p.title}](${p.file})`),
    '',
  ].join('\n');
  writeFileAtomic(join(out, 'report.md'), text);
}
