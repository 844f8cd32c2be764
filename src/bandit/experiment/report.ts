/**
 * Turns job results into the experiment report: per-study tables and SVG plots, and each of the
 * paper's claims beside the measured verdict (judged in claims.ts by the shared verdict engine).
 */
import { meanCI95 } from '../../math/stats.js';
import { pairedDifferences } from '../../math/verdicts.js';
import { DASHES, MARKERS, linePlot, type Series } from '../../report/svg.js';
import { mdTable, fmt, fmtCI, fmtRange } from '../../report/markdown.js';
import type { ExperimentConfig, FrontierStudy, GridStudy } from './config.js';
import type { JobResult } from './jobs.js';
import { checkClaim, slopeOf, type ClaimVerdict } from './claims.js';
import { labSection } from './lab-studies.js';

export type { ClaimVerdict };

export interface ReportFiles {
  markdown: string;
  svgs: { name: string; content: string }[];
  verdicts: ClaimVerdict[];
}

type Key = string;
const cellKey = (study: string, coverage: string, run: string, x: number): Key =>
  `${study}|${coverage}|${run}|${x}`;

function groupBy(results: JobResult[], x: (r: JobResult) => number): Map<Key, JobResult[]> {
  const m = new Map<Key, JobResult[]>();
  for (const r of results) {
    const k = cellKey(r.study, r.coverage, r.run, x(r));
    const list = m.get(k) ?? [];
    list.push(r);
    m.set(k, list);
  }
  for (const list of m.values()) list.sort((a, b) => a.seedIndex - b.seedIndex);
  return m;
}

const label = (cfg: ExperimentConfig, run: string) => cfg.algorithms[run]?.label ?? run;

export function buildReport(
  cfg: ExperimentConfig,
  results: JobResult[],
  meta: { command: string; seconds: number; envSummary: string },
): ReportFiles {
  const svgs: ReportFiles['svgs'] = [];
  const verdicts = cfg.claims.map((c) => checkClaim(cfg, c, results));
  const out = [
    ...headerSection(cfg, results, meta),
    ...claimsSection(verdicts),
    ...cfg.studies.flatMap((study) => studySection(cfg, study, results, svgs)),
    ...algorithmsSection(cfg),
  ];
  return { markdown: out.join('\n'), svgs, verdicts };
}

/** Title, how to reproduce, the environment and the metric. */
function headerSection(
  cfg: ExperimentConfig,
  results: JobResult[],
  meta: { command: string; seconds: number; envSummary: string },
): string[] {
  return [
    `# Bandit lab report: ${cfg.name}`,
    '',
    `Reproduce with \`${meta.command}\`. ${results.length} runs, ${cfg.seeds} seeds per cell${seedOverrides(cfg)}, ` +
      `${fmt(meta.seconds, 3)} s of wall time.`,
    '',
    `Environment: ${meta.envSummary}. Metric: the paper's gap J(π*) − J(π̂) + η·E_x KL(π*‖π̂) (lower is better), ` +
      `exact (no sampling error in evaluation). Intervals are 95% Student-t over seeds.`,
    '',
  ];
}

/** ", except 20 in study x" for studies with their own seed count. */
function seedOverrides(cfg: ExperimentConfig): string {
  const own = cfg.studies.filter((s) => s.kind === 'grid' && s.seeds !== undefined && s.seeds !== cfg.seeds);
  return own.length
    ? ` (except ${own.map((s) => `${s.kind === 'grid' ? s.seeds : ''} in ${s.name}`).join(', ')})`
    : '';
}

/** The table of the paper's claims with our verdicts (empty without claims). */
function claimsSection(verdicts: (ClaimVerdict & { note?: string })[]): string[] {
  if (!verdicts.length) return [];
  return [
    "## The paper's claims against our measurements",
    '',
    mdTable(
      ['claim', 'source', 'verdict', 'evidence'],
      verdicts.map((v) => [
        v.text,
        v.source,
        `**${v.verdict}**`,
        v.note ? `${v.evidence}. *${v.note}*` : v.evidence,
      ]),
      ['l', 'l', 'l', 'l'],
    ),
    '',
  ];
}

/** One study: a grid (gap vs labels) or a frontier (reward vs KL). */
function studySection(
  cfg: ExperimentConfig,
  study: ExperimentConfig['studies'][number],
  results: JobResult[],
  svgs: ReportFiles['svgs'],
): string[] {
  const mine = results.filter((r) => r.study === study.name);
  const change = study.kind === 'grid' && (study.env || study.varyEnv) ? { ...study.env } : null;
  const vary =
    study.kind === 'grid' && study.varyEnv
      ? '; each seed draws its own environment (generator seed + seed index)'
      : '';
  return [
    `## ${study.title}`,
    '',
    ...(change
      ? [
          `Environment for this study: ${Object.entries(change)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')}${Object.keys(change).length ? ' ' : ''}(the rest as above${vary}).`,
          '',
        ]
      : []),
    ...(study.kind === 'lab'
      ? labSection(study, mine)
      : study.kind === 'frontier'
        ? frontierSection(cfg, study, mine, svgs)
        : gridSection(cfg, study, mine, svgs)),
  ];
}

/** Every algorithm instance with its options. */
function algorithmsSection(cfg: ExperimentConfig): string[] {
  return [
    '## Algorithms',
    '',
    mdTable(
      ['run', 'algorithm', 'options'],
      Object.entries(cfg.algorithms).map(([k, a]) => [
        label(cfg, k),
        `\`${a.algorithm}\``,
        `\`${JSON.stringify(a.options)}\``,
      ]),
      ['l', 'l', 'l'],
    ),
    '',
  ];
}

function gridSection(
  cfg: ExperimentConfig,
  study: GridStudy,
  results: JobResult[],
  svgs: ReportFiles['svgs'],
): string[] {
  const out: string[] = [];
  const cells = groupBy(results, (r) => r.budget);
  const coverages = Array.isArray(study.coverage) ? study.coverage : [study.coverage];
  for (const coverage of coverages) {
    const series: Series[] = [];
    const rows: (string | number)[][] = [];
    for (const [k, run] of study.runs.entries()) {
      const xs: number[] = [];
      const ys: number[] = [];
      const lo: number[] = [];
      const hi: number[] = [];
      for (const budget of study.budgets) {
        const list = cells.get(cellKey(study.name, coverage, run, budget));
        if (!list?.length) continue;
        const g = meanCI95(list.map((r) => r.gap));
        const labels = meanCI95(list.map((r) => r.labelsUsed));
        const validation = meanCI95(list.map((r) => r.validationLabels ?? 0));
        xs.push(labels.mean + validation.mean);
        ys.push(g.mean);
        lo.push(Math.max(g.lo, g.mean * 1e-3));
        hi.push(g.hi);
        rows.push([
          label(cfg, run),
          budget,
          fmt(labels.mean, 4),
          fmt(validation.mean, 4),
          fmtCI(g.mean, g.halfWidth),
          fmt(meanCI95(list.map((r) => r.suboptimality)).mean),
          fmt(meanCI95(list.map((r) => r.klStarToHat)).mean),
          fmt(meanCI95(list.map((r) => r.reward)).mean),
          fmt(meanCI95(list.map((r) => r.klToRef)).mean),
          fmt(meanCI95(list.map((r) => r.seconds)).mean * 1000, 3),
        ]);
      }
      // Distinct dash and marker per series, so runs with equal numbers stay visible on top of each other.
      series.push({
        label: label(cfg, run),
        x: xs,
        y: ys,
        lo,
        hi,
        dash: DASHES[k % DASHES.length],
        marker: MARKERS[k % MARKERS.length],
      });
    }
    const name = `${study.name}-${coverage}.svg`;
    // One budget gives one point per run: a table, no plot.
    if (study.budgets.length > 1)
      svgs.push({
        name,
        content: linePlot(series, {
          title: coverages.length > 1 ? `${study.title}: ${coverage} coverage` : study.title,
          xLabel: 'preference labels used (validation included)',
          yLabel: 'gap  J(π*) − J(π̂) + η·KL(π*‖π̂)',
          logX: true,
          logY: true,
        }),
      });
    if (coverages.length > 1) out.push(`### Offline coverage: ${coverage}`, '');
    if (study.budgets.length > 1) out.push(`![${study.title}](${name})`, '');
    out.push(
      mdTable(
        [
          'run',
          'budget',
          'labels',
          'validation labels',
          'gap (95% CI)',
          'J(π*)−J(π̂)',
          'KL(π*‖π̂)',
          'E r*',
          'KL(π‖π0)',
          'ms/run',
        ],
        rows,
      ),
      '',
    );
    if (study.baseline) out.push(...baselineTable(cfg, study, study.baseline, coverage, cells), '');
    // Log-log slopes, a quick read of the rate.
    const slopes = study.runs
      .map((run) => {
        const s = slopeOf(results, study.name, coverage, run);
        return s ? `${label(cfg, run)}: ${fmt(s.mean, 2)} (95% CI ${fmtRange(s.lo, s.hi, 2)})` : null;
      })
      .filter((x): x is string => x !== null);
    if (slopes.length && study.budgets.length > 2)
      out.push(`Log-log slope of gap vs labels (per-seed fits, 95% CI): ${slopes.join('; ')}.`, '');
  }
  return out;
}

/** Paired gap reduction of every run against the study's baseline run, per budget (95% CI). */
function baselineTable(
  cfg: ExperimentConfig,
  study: GridStudy,
  baseline: string,
  coverage: string,
  cells: Map<Key, JobResult[]>,
): string[] {
  const others = study.runs.filter((r) => r !== baseline);
  const rows = others.map((run) => [
    label(cfg, run),
    ...study.budgets.map((budget) => {
      const gaps = (r: string) =>
        new Map((cells.get(cellKey(study.name, coverage, r, budget)) ?? []).map((x) => [x.seedIndex, x.gap]));
      const d = pairedDifferences(gaps(baseline), gaps(run));
      if (d.length < 2) return 'no data';
      const c = meanCI95(d);
      return `${fmt(c.mean, 2)} [${fmt(c.lo, 2)}, ${fmt(c.hi, 2)}]`;
    }),
  ]);
  return [
    `Gap reduction against ${label(cfg, baseline)} (paired per seed, ${coverage} coverage; positive = lower gap than ${label(cfg, baseline)}; 95% CI):`,
    '',
    mdTable(['run', ...study.budgets.map((b) => `${b} labels`)], rows),
  ];
}

function frontierSection(
  cfg: ExperimentConfig,
  study: FrontierStudy,
  results: JobResult[],
  svgs: ReportFiles['svgs'],
): string[] {
  const out = frontierOnAxis(cfg, study, results, svgs, 'kl');
  for (const axis of study.divergences ?? []) out.push(...frontierOnAxis(cfg, study, results, svgs, axis));
  return out;
}

/**
 * One frontier plot and table: true reward against KL(π‖π0) (axis 'kl') or against D_f(π‖π0) for
 * one of the study's `divergences`; there the last column is each run's gap under its own
 * divergence (JobResult.own) where it has one, else the paper's (reverse-KL) gap.
 */
function frontierOnAxis(
  cfg: ExperimentConfig,
  study: FrontierStudy,
  results: JobResult[],
  svgs: ReportFiles['svgs'],
  axis: string,
): string[] {
  const onKl = axis === 'kl';
  const x = (r: JobResult) => (onKl ? r.klToRef : (r.divergences?.[axis] ?? NaN));
  const xName = onKl ? 'KL(π‖π0)' : `D_${axis}(π‖π0)`;
  const cells = groupBy(results, (r) => r.eta);
  const series: Series[] = [];
  const rows: (string | number)[][] = [];
  for (const run of study.runs) {
    const xs: number[] = [];
    const ys: number[] = [];
    for (const eta of study.etas) {
      const list = cells.get(cellKey(study.name, study.coverage, run, eta));
      if (!list?.length) continue;
      const k = meanCI95(list.map(x));
      const rw = meanCI95(list.map((r) => r.reward));
      xs.push(k.mean);
      ys.push(rw.mean);
      const gap = (r: JobResult) => (!onKl && r.own ? r.own.gap : r.gap);
      // χ²'s optimum puts zero mass where π0 has some: its forward KL and its own gap are +∞.
      const inf = (v: number, s: string) => (v === Infinity ? '∞' : s);
      const g = meanCI95(list.map(gap)).mean;
      rows.push([
        label(cfg, run),
        eta,
        inf(k.mean, fmtCI(k.mean, k.halfWidth)),
        fmtCI(rw.mean, rw.halfWidth),
        inf(g, fmt(g)),
      ]);
    }
    const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
    series.push({ label: label(cfg, run), x: order.map((i) => xs[i]), y: order.map((i) => ys[i]) });
  }
  const name = onKl ? `${study.name}.svg` : `${study.name}-${axis}.svg`;
  const title = onKl ? study.title : `${study.title}: measured in ${xName}`;
  svgs.push({ name, content: linePlot(series, { title, xLabel: xName, yLabel: 'true reward E r*(x,a)' }) });
  const head = onKl ? [] : [`### The same frontier measured in ${xName}`, ''];
  const gapHead = onKl ? 'gap at that η' : 'gap under its own divergence at that η';
  return [
    ...head,
    `![${title}](${name})`,
    '',
    mdTable(['run', 'target η', xName, 'E r*', gapHead], rows),
    '',
  ];
}
