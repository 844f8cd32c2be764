/**
 * Turns job results into the experiment report: per-study tables and SVG plots, and each of the
 * paper's claims beside the measured verdict. Verdicts use paired per-seed differences (runs that
 * share a seed index share their offline data), with 95% Student-t intervals:
 *   supported     — the interval lies entirely on the claimed side,
 *   contradicted  — it lies entirely on the other side,
 *   inconclusive  — it contains zero.
 */
import { meanCI95, linearFit, interpolate as interpolateCurve } from '../../math/stats.js';
import { linePlot, type Series } from '../../report/svg.js';
import { mdTable, fmt, fmtCI, fmtRange } from '../../report/markdown.js';
import type { ClaimSpec, ExperimentConfig, FrontierStudy, GridStudy } from './config.js';
import type { JobResult } from './jobs.js';

export interface ReportFiles {
  markdown: string;
  svgs: { name: string; content: string }[];
  verdicts: ClaimVerdict[];
}

export interface ClaimVerdict {
  text: string;
  source: string;
  verdict: 'supported' | 'contradicted' | 'inconclusive' | 'mixed' | 'no data';
  evidence: string;
  note?: string;
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
  const out: string[] = [];
  out.push(`# Bandit lab report: ${cfg.name}`, '');
  out.push(
    `Reproduce with \`${meta.command}\`. ${results.length} runs, ${cfg.seeds} seeds per cell, ` +
      `${fmt(meta.seconds, 3)} s of wall time.`,
    '',
    `Environment: ${meta.envSummary}. Metric: the paper's gap J(π*) − J(π̂) + η·E_x KL(π*‖π̂) (lower is better), ` +
      `exact (no sampling error in evaluation). Intervals are 95% Student-t over seeds.`,
    '',
  );

  const verdicts = cfg.claims.map((c) => ({
    ...checkClaim(cfg, c, results),
    ...(c.note ? { note: c.note } : {}),
  }));
  if (verdicts.length) {
    out.push("## The paper's claims against our measurements", '');
    out.push(
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
    );
  }

  for (const study of cfg.studies) {
    out.push(`## ${study.title}`, '');
    const mine = results.filter((r) => r.study === study.name);
    if (study.kind === 'frontier') out.push(...frontierSection(cfg, study, mine, svgs));
    else out.push(...gridSection(cfg, study, mine, svgs));
  }

  out.push('## Algorithms', '');
  out.push(
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
  );
  return { markdown: out.join('\n'), svgs, verdicts };
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
    for (const run of study.runs) {
      const xs: number[] = [];
      const ys: number[] = [];
      const lo: number[] = [];
      const hi: number[] = [];
      for (const budget of study.budgets) {
        const list = cells.get(cellKey(study.name, coverage, run, budget));
        if (!list?.length) continue;
        const g = meanCI95(list.map((r) => r.gap));
        const labels = meanCI95(list.map((r) => r.labelsUsed));
        xs.push(labels.mean);
        ys.push(g.mean);
        lo.push(Math.max(g.lo, g.mean * 1e-3));
        hi.push(g.hi);
        rows.push([
          label(cfg, run),
          budget,
          fmt(labels.mean, 4),
          fmtCI(g.mean, g.halfWidth),
          fmt(meanCI95(list.map((r) => r.suboptimality)).mean),
          fmt(meanCI95(list.map((r) => r.klStarToHat)).mean),
          fmt(meanCI95(list.map((r) => r.reward)).mean),
          fmt(meanCI95(list.map((r) => r.klToRef)).mean),
          fmt(meanCI95(list.map((r) => r.seconds)).mean * 1000, 3),
        ]);
      }
      series.push({ label: label(cfg, run), x: xs, y: ys, lo, hi });
    }
    const name = `${study.name}-${coverage}.svg`;
    svgs.push({
      name,
      content: linePlot(series, {
        title: coverages.length > 1 ? `${study.title}: ${coverage} coverage` : study.title,
        xLabel: 'preference labels used',
        yLabel: 'gap  J(π*) − J(π̂) + η·KL(π*‖π̂)',
        logX: true,
        logY: true,
      }),
    });
    if (coverages.length > 1) out.push(`### Offline coverage: ${coverage}`, '');
    out.push(`![${study.title}](${name})`, '');
    out.push(
      mdTable(
        ['run', 'budget', 'labels', 'gap (95% CI)', 'J(π*)−J(π̂)', 'KL(π*‖π̂)', 'E r*', 'KL(π‖π0)', 'ms/run'],
        rows,
      ),
      '',
    );
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

function frontierSection(
  cfg: ExperimentConfig,
  study: FrontierStudy,
  results: JobResult[],
  svgs: ReportFiles['svgs'],
): string[] {
  const out: string[] = [];
  const cells = groupBy(results, (r) => r.eta);
  const series: Series[] = [];
  const rows: (string | number)[][] = [];
  for (const run of study.runs) {
    const xs: number[] = [];
    const ys: number[] = [];
    for (const eta of study.etas) {
      const list = cells.get(cellKey(study.name, study.coverage, run, eta));
      if (!list?.length) continue;
      const k = meanCI95(list.map((r) => r.klToRef));
      const rw = meanCI95(list.map((r) => r.reward));
      xs.push(k.mean);
      ys.push(rw.mean);
      rows.push([
        label(cfg, run),
        eta,
        fmtCI(k.mean, k.halfWidth),
        fmtCI(rw.mean, rw.halfWidth),
        fmt(meanCI95(list.map((r) => r.gap)).mean),
      ]);
    }
    const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
    series.push({ label: label(cfg, run), x: order.map((i) => xs[i]), y: order.map((i) => ys[i]) });
  }
  const name = `${study.name}.svg`;
  svgs.push({
    name,
    content: linePlot(series, { title: study.title, xLabel: 'KL(π‖π0)', yLabel: 'true reward E r*(x,a)' }),
  });
  out.push(`![${study.title}](${name})`, '');
  out.push(mdTable(['run', 'target η', 'KL(π‖π0)', 'E r*', 'gap at that η'], rows), '');
  return out;
}

/** Per-seed log-log slope of gap vs labels, summarised with a 95% CI. */
function slopeOf(results: JobResult[], study: string, coverage: string | undefined, run: string) {
  const bySeed = new Map<number, JobResult[]>();
  for (const r of results) {
    if (r.study !== study || r.run !== run || (coverage && r.coverage !== coverage)) continue;
    const l = bySeed.get(r.seedIndex) ?? [];
    l.push(r);
    bySeed.set(r.seedIndex, l);
  }
  const slopes: number[] = [];
  for (const list of bySeed.values()) {
    const pts = list.filter((r) => r.gap > 0 && r.labelsUsed > 0);
    if (pts.length < 2) continue;
    slopes.push(
      linearFit(
        pts.map((r) => Math.log(r.labelsUsed)),
        pts.map((r) => Math.log(r.gap)),
      ).slope,
    );
  }
  return slopes.length ? meanCI95(slopes) : null;
}

function checkClaim(cfg: ExperimentConfig, claim: ClaimSpec, results: JobResult[]): ClaimVerdict {
  const base = { text: claim.text, source: claim.source };
  const study = cfg.studies.find((s) => s.name === claim.study);
  const mine = results.filter((r) => r.study === claim.study);
  if (!study || mine.length === 0) return { ...base, verdict: 'no data', evidence: 'study not run' };

  if (claim.kind === 'lower-gap') {
    if (study.kind !== 'grid')
      return { ...base, verdict: 'no data', evidence: 'lower-gap claims need a grid study' };
    const budget = claim.budget ?? Math.max(...study.budgets);
    const coverage = claim.coverage ?? (Array.isArray(study.coverage) ? study.coverage[0] : study.coverage);
    const pick = (run: string) =>
      new Map(
        mine
          .filter((r) => r.run === run && r.budget === budget && r.coverage === coverage)
          .map((r) => [r.seedIndex, r.gap]),
      );
    const a = pick(claim.better);
    const b = pick(claim.than);
    const diffs = [...a.keys()]
      .filter((s) => b.has(s))
      .map((s) => (b.get(s) as number) - (a.get(s) as number));
    if (diffs.length < 2) return { ...base, verdict: 'no data', evidence: 'fewer than 2 paired seeds' };
    const d = meanCI95(diffs);
    const ga = meanCI95([...a.values()]);
    const gb = meanCI95([...b.values()]);
    const verdict = d.lo > 0 ? 'supported' : d.hi < 0 ? 'contradicted' : 'inconclusive';
    return {
      ...base,
      verdict,
      evidence:
        `at ${budget} labels, ${coverage} coverage: gap ${label(cfg, claim.better)} ${fmtCI(ga.mean, ga.halfWidth)} vs ` +
        `${label(cfg, claim.than)} ${fmtCI(gb.mean, gb.halfWidth)}; paired difference ${fmtCI(d.mean, d.halfWidth)} (n=${diffs.length})`,
    };
  }
  if (claim.kind === 'slope') {
    const s = slopeOf(mine, claim.study, claim.coverage, claim.run);
    if (!s) return { ...base, verdict: 'no data', evidence: 'not enough budgets' };
    // The whole interval must sit on one side; an interval straddling the bound is inconclusive.
    const lower = claim.min ?? -Infinity;
    const verdict =
      s.hi <= claim.max && s.lo >= lower
        ? 'supported'
        : s.lo > claim.max || s.hi < lower
          ? 'contradicted'
          : 'inconclusive';
    const range = claim.min === undefined ? `≤ ${claim.max}` : `in [${claim.min}, ${claim.max}]`;
    return {
      ...base,
      verdict,
      evidence: `log-log slope of gap vs labels for ${label(cfg, claim.run)}: ${fmt(s.mean, 3)} (95% CI ${fmtRange(s.lo, s.hi)}, ${s.n} seeds); claimed ${range}`,
    };
  }
  // frontier-dominates: compare the better run's reward with the other's frontier interpolated at the same KL.
  const curve = (run: string) => {
    const byEta = new Map<number, JobResult[]>();
    for (const r of mine.filter((r) => r.run === run)) byEta.set(r.eta, [...(byEta.get(r.eta) ?? []), r]);
    return [...byEta.values()]
      .map((l) => ({
        kl: meanCI95(l.map((r) => r.klToRef)).mean,
        reward: meanCI95(l.map((r) => r.reward)).mean,
      }))
      .sort((p, q) => p.kl - q.kl);
  };
  const better = curve(claim.better);
  const than = curve(claim.than);
  // Compare in both directions: each point of one curve against the other curve interpolated at
  // the same KL (only where the KL ranges overlap).
  const margins: number[] = [];
  for (const p of better) {
    const r = interpolate(than, p.kl);
    if (r !== null) margins.push(p.reward - r);
  }
  for (const p of than) {
    const r = interpolate(better, p.kl);
    if (r !== null) margins.push(r - p.reward);
  }
  if (margins.length === 0)
    return { ...base, verdict: 'no data', evidence: 'the two frontiers do not overlap in KL' };
  const above = margins.filter((m) => m > 0).length;
  const verdict = above === margins.length ? 'supported' : above === 0 ? 'contradicted' : 'mixed';
  return {
    ...base,
    verdict,
    evidence:
      `${label(cfg, claim.better)} above ${label(cfg, claim.than)} at ${above}/${margins.length} matched-KL points; ` +
      `reward margins ${margins.map((m) => fmt(m, 2)).join(', ')}`,
  };
}

function interpolate(curve: { kl: number; reward: number }[], kl: number): number | null {
  return interpolateCurve(
    curve,
    kl,
    (p) => p.kl,
    (p) => p.reward,
  );
}
