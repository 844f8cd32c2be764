/**
 * The paper's claims judged against the measured numbers of a bandit experiment. Every rule is
 * one of the shared verdict engine's (src/math/verdicts.ts) on per-seed paired numbers: runs that
 * share a seed index share their offline data, so differences between runs are paired.
 */
import { meanCI95, linearFit, interpolate } from '../../math/stats.js';
import {
  dominancePointwise,
  equivalence,
  fitDifferences,
  nonInferiority,
  slopeAndLevel,
  superiority,
  withinBounds,
  type Judgement,
  type SeedCurve,
  type Verdict,
} from '../../math/verdicts.js';
import { fmt, fmtCI, fmtRange } from '../../report/markdown.js';
import type { ClaimSpec, ExperimentConfig } from './config.js';
import { studyEnvSpec, type JobResult } from './jobs.js';
import { checkLabClaim } from './lab-studies.js';

export interface ClaimVerdict {
  text: string;
  source: string;
  verdict: Verdict;
  evidence: string;
  note?: string;
}

type ClaimBody = Pick<ClaimVerdict, 'verdict' | 'evidence'>;

const label = (cfg: ExperimentConfig, run: string) => cfg.algorithms[run]?.label ?? run;

/** Per-seed log-log slope of gap vs labels, summarised with a 95% CI (null without 2 points per seed). */
export function slopeOf(results: JobResult[], study: string, coverage: string | undefined, run: string) {
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
  return slopes.length ? { ...meanCI95(slopes), slopes } : null;
}

/** "n more seeds would decide" for an inconclusive judgement (nothing otherwise). */
export function decideText(j: Pick<Judgement, 'verdict' | 'seedsToDecide' | 'n'>): string {
  if (j.verdict !== 'inconclusive' || j.seedsToDecide === undefined) return '';
  return Number.isFinite(j.seedsToDecide)
    ? `; at this mean and spread ${j.seedsToDecide} seeds would decide it`
    : '; no number of seeds would decide it at this mean (it sits on the boundary)';
}

type Rule = 'superiority' | 'non-inferiority' | 'equivalence';

/** The verdict engine's rule by name. */
export function judge(rule: Rule, diffs: readonly number[], margin: number): Judgement {
  if (rule === 'superiority') return superiority(diffs, margin);
  if (rule === 'non-inferiority') return nonInferiority(diffs, margin);
  return equivalence(diffs, margin);
}

const ruleText = (rule: Rule, margin: number) =>
  rule === 'superiority'
    ? margin
      ? `; equivalence margin ±${margin}`
      : ''
    : rule === 'non-inferiority'
      ? `; non-inferiority margin −${margin}`
      : `; equivalence margin ±${margin}`;

export function checkClaim(cfg: ExperimentConfig, claim: ClaimSpec, results: JobResult[]): ClaimVerdict {
  const base = { text: claim.text, source: claim.source, ...(claim.note ? { note: claim.note } : {}) };
  if (claim.kind === 'sweep') return { ...base, ...sweep(cfg, claim, results) };
  const study = cfg.studies.find((s) => s.name === claim.study);
  const mine = results.filter((r) => r.study === claim.study);
  if (!study || mine.length === 0) return { ...base, verdict: 'no data', evidence: 'study not run' };
  if (claim.kind === 'slope') return { ...base, ...slopeBound(cfg, claim, mine) };
  if (claim.kind === 'lab') return { ...base, ...checkLabClaim(cfg, claim, mine) };
  if (claim.kind === 'frontier-dominates') return { ...base, ...frontierDominates(cfg, claim, mine) };
  if (study.kind !== 'grid')
    return { ...base, verdict: 'no data', evidence: `${claim.kind} claims need a grid study` };
  const coverage = claim.coverage ?? (Array.isArray(study.coverage) ? study.coverage[0] : study.coverage);
  const inCell = mine.filter((r) => r.coverage === coverage);
  if (claim.kind === 'fit') return { ...base, ...fitClaim(cfg, claim, inCell, coverage) };
  const budget = claim.budget ?? Math.max(...study.budgets);
  return { ...base, ...lowerGap(cfg, claim, inCell, budget, coverage) };
}

/** Labels per run including validation labels: "equal labels" claims print both arms'. */
function labelsText(cfg: ExperimentConfig, rows: JobResult[], runs: string[]): string {
  const total = (run: string) =>
    meanCI95(rows.filter((r) => r.run === run).map((r) => r.labelsUsed + (r.validationLabels ?? 0))).mean;
  return `labels per run, validation included: ${runs.map((run) => `${label(cfg, run)} ${fmt(total(run), 4)}`).join(', ')}`;
}

/** "better has a lower gap than `than`" at one budget: paired gap (or log-gap) differences. */
function lowerGap(
  cfg: ExperimentConfig,
  claim: Extract<ClaimSpec, { kind: 'lower-gap' }>,
  mine: JobResult[],
  budget: number,
  coverage: string,
): ClaimBody {
  const atBudget = mine.filter((r) => r.budget === budget);
  const value = (g: number) => (claim.scale === 'log' ? Math.log(g) : g);
  const pick = (run: string) =>
    new Map(atBudget.filter((r) => r.run === run).map((r) => [r.seedIndex, r.gap]));
  const a = pick(claim.better);
  const b = pick(claim.than);
  const diffs = [...a.keys()]
    .filter((s) => b.has(s))
    .map((s) => value(b.get(s) as number) - value(a.get(s) as number));
  if (diffs.length < 2) return { verdict: 'no data', evidence: 'fewer than 2 paired seeds' };
  const margin = claim.margin ?? 0;
  const j = judge(claim.rule, diffs, margin);
  const d = meanCI95(diffs);
  const ga = meanCI95([...a.values()]);
  const gb = meanCI95([...b.values()]);
  return {
    verdict: j.verdict,
    evidence:
      `at ${budget} labels, ${coverage} coverage: gap ${label(cfg, claim.better)} ${fmtCI(ga.mean, ga.halfWidth)} vs ` +
      `${label(cfg, claim.than)} ${fmtCI(gb.mean, gb.halfWidth)}; paired ${claim.scale === 'log' ? 'log-ratio' : 'difference'} ${fmtCI(d.mean, d.halfWidth)} (n=${diffs.length})` +
      ruleText(claim.rule, margin) +
      `; ${labelsText(cfg, atBudget, [claim.better, claim.than])}` +
      decideText(j),
  };
}

/** Per-seed curves (log labels, log gap) of one run, in seed order. */
function seedCurves(rows: JobResult[], run: string): Map<number, SeedCurve> {
  const out = new Map<number, { x: number[]; y: number[] }>();
  for (const r of rows) {
    if (r.run !== run || !(r.gap > 0) || !(r.labelsUsed > 0)) continue;
    const c = out.get(r.seedIndex) ?? { x: [], y: [] };
    c.x.push(Math.log(r.labelsUsed + (r.validationLabels ?? 0)));
    c.y.push(Math.log(r.gap));
    out.set(r.seedIndex, c);
  }
  return out;
}

/** Rates (slopes) and levels of two runs' per-seed log-log lines, judged on their paired differences. */
function fitClaim(
  cfg: ExperimentConfig,
  claim: Extract<ClaimSpec, { kind: 'fit' }>,
  mine: JobResult[],
  coverage: string,
): ClaimBody {
  const a = seedCurves(mine, claim.better);
  const b = seedCurves(mine, claim.than);
  const seeds = [...a.keys()].filter((s) => b.has(s)).sort((p, q) => p - q);
  const budgets = [...new Set(mine.filter((r) => r.run === claim.better).map((r) => r.budget))].sort(
    (p, q) => p - q,
  );
  if (seeds.length < 2 || budgets.length < 2)
    return { verdict: 'no data', evidence: 'fewer than 2 paired seeds or 2 budgets' };
  const xRef = budgets.reduce((acc, n) => acc + Math.log(n), 0) / budgets.length;
  // than − better: positive when `better` falls faster (more negative slope) or sits lower.
  const diff = fitDifferences(
    seeds.map((s) => b.get(s) as SeedCurve),
    seeds.map((s) => a.get(s) as SeedCurve),
    xRef,
  );
  const diffs = claim.quantity === 'slope' ? diff.slope : diff.level;
  const margin = claim.margin ?? 0;
  const j = judge(claim.rule, diffs, margin);
  const slopes = (c: Map<number, SeedCurve>) =>
    meanCI95(seeds.map((s) => slopeAndLevel(c.get(s) as SeedCurve, xRef).slope));
  const sa = slopes(a);
  const sb = slopes(b);
  const what =
    claim.quantity === 'slope'
      ? `rate exponents (log-log slope of gap vs labels) ${label(cfg, claim.better)} ${fmtCI(sa.mean, sa.halfWidth)} vs ${label(cfg, claim.than)} ${fmtCI(sb.mean, sb.halfWidth)}; paired difference (${label(cfg, claim.than)} − ${label(cfg, claim.better)})`
      : `fitted log-gap at ${fmt(Math.exp(xRef), 3)} labels (geometric mean of ${budgets.join('/')}); paired log-ratio ${label(cfg, claim.than)} / ${label(cfg, claim.better)}`;
  return {
    verdict: j.verdict,
    evidence:
      `${coverage} coverage, ${budgets.length} budgets: ${what} ${fmt(j.mean, 3)} (95% CI ${fmtRange(j.lo, j.hi)}, n=${j.n})` +
      ruleText(claim.rule, margin) +
      `; ${labelsText(
        cfg,
        mine.filter((r) => r.budget === budgets[budgets.length - 1]),
        [claim.better, claim.than],
      )} at ${budgets[budgets.length - 1]}` +
      decideText(j),
  };
}

/** One run's gap at one budget across studies that differ in d or K: per-seed slope of log gap vs log param. */
function sweep(
  cfg: ExperimentConfig,
  claim: Extract<ClaimSpec, { kind: 'sweep' }>,
  results: JobResult[],
): ClaimBody {
  const points = claim.studies.map((name) => {
    const spec = studyEnvSpec(cfg, name);
    const value = spec.source === 'generate' ? spec[claim.param] : NaN;
    const rows = results.filter(
      (r) =>
        r.study === name &&
        r.run === claim.run &&
        r.budget === claim.budget &&
        (!claim.coverage || r.coverage === claim.coverage),
    );
    return { name, value, gaps: new Map(rows.map((r) => [r.seedIndex, r.gap])) };
  });
  if (points.some((p) => !Number.isFinite(p.value)))
    return {
      verdict: 'no data',
      evidence: `the swept studies need generated environments with ${claim.param} set`,
    };
  const seeds = [...points[0].gaps.keys()].filter((s) =>
    points.every((p) => p.gaps.has(s) && (p.gaps.get(s) as number) > 0),
  );
  if (seeds.length < 2)
    return { verdict: 'no data', evidence: 'fewer than 2 seeds run in every swept study' };
  const x = points.map((p) => Math.log(p.value));
  const slopes = seeds.map(
    (s) =>
      linearFit(
        x,
        points.map((p) => Math.log(p.gaps.get(s) as number)),
      ).slope,
  );
  const margin = claim.margin ?? 0;
  const j = claim.expect === 'flat' ? equivalence(slopes, margin) : superiority(slopes, margin);
  const means = points.map((p) => {
    const g = meanCI95(seeds.map((s) => p.gaps.get(s) as number));
    return `${claim.param}=${p.value}: ${fmtCI(g.mean, g.halfWidth)}`;
  });
  return {
    verdict: j.verdict,
    evidence:
      `${label(cfg, claim.run)} at ${claim.budget} labels: gap ${means.join(', ')}; per-seed slope of log gap vs log ${claim.param} ` +
      `${fmt(j.mean, 3)} (95% CI ${fmtRange(j.lo, j.hi)}, n=${j.n})` +
      (claim.expect === 'flat' ? `; equivalence margin ±${margin}` : ruleText('superiority', margin)) +
      decideText(j),
  };
}

/** An absolute bound on the per-seed log-log rate exponent. */
function slopeBound(
  cfg: ExperimentConfig,
  claim: Extract<ClaimSpec, { kind: 'slope' }>,
  mine: JobResult[],
): ClaimBody {
  const s = slopeOf(mine, claim.study, claim.coverage, claim.run);
  if (!s) return { verdict: 'no data', evidence: 'not enough budgets' };
  const j = withinBounds(s.slopes, { min: claim.min, max: claim.max });
  const range = claim.min === undefined ? `≤ ${claim.max}` : `in [${claim.min}, ${claim.max}]`;
  return {
    verdict: j.verdict,
    evidence:
      `log-log slope of gap vs labels for ${label(cfg, claim.run)}: ${fmt(s.mean, 3)} (95% CI ${fmtRange(s.lo, s.hi)}, ${s.n} seeds); claimed ${range}` +
      decideText(j),
  };
}

/**
 * Frontier dominance: per seed, each point of one run's reward–KL curve against the other run's
 * curve interpolated at the same KL (both directions, only where the KL ranges overlap); at each
 * comparison point the per-seed margins get an interval (`dominancePointwise`).
 */
function frontierDominates(
  cfg: ExperimentConfig,
  claim: Extract<ClaimSpec, { kind: 'frontier-dominates' }>,
  mine: JobResult[],
): ClaimBody {
  const axisName = claim.axis === 'kl' ? 'KL' : `D_${claim.axis}`;
  const curve = (run: string, seed: number) =>
    mine
      .filter((r) => r.run === run && r.seedIndex === seed)
      .map((r) => ({
        eta: r.eta,
        kl: claim.axis === 'kl' ? r.klToRef : (r.divergences?.[claim.axis] ?? NaN),
        reward: r.reward,
      }))
      .filter((p) => Number.isFinite(p.kl))
      .sort((p, q) => p.kl - q.kl);
  const at = (c: { kl: number; reward: number }[], kl: number) =>
    interpolate(
      c,
      kl,
      (p) => p.kl,
      (p) => p.reward,
    );
  const byPoint = new Map<string, number[]>();
  const push = (k: string, m: number | null) => {
    if (m !== null) byPoint.set(k, [...(byPoint.get(k) ?? []), m]);
  };
  for (const seed of new Set(mine.map((r) => r.seedIndex))) {
    const better = curve(claim.better, seed);
    const than = curve(claim.than, seed);
    for (const p of better) {
      const r = at(than, p.kl);
      push(`${claim.better}@${p.eta}`, r === null ? null : p.reward - r);
    }
    for (const p of than) {
      const r = at(better, p.kl);
      push(`${claim.than}@${p.eta}`, r === null ? null : r - p.reward);
    }
  }
  const keys = [...byPoint.keys()].filter((k) => (byPoint.get(k) as number[]).length >= 2);
  const d = dominancePointwise(
    keys.map((k) => byPoint.get(k) as number[]),
    claim.margin ?? 0,
  );
  if (d.verdict === 'no data')
    return {
      verdict: 'no data',
      evidence: `the two frontiers do not overlap in ${axisName} on 2 or more seeds`,
    };
  const where = (k: string) => {
    const [run, eta] = k.split('@');
    return `${run === claim.better ? label(cfg, claim.better) : label(cfg, claim.than)} η=${eta}`;
  };
  return {
    verdict: d.verdict,
    evidence:
      `${label(cfg, claim.better)} significantly above ${label(cfg, claim.than)} at ${d.above}/${d.points.length} matched-${axisName} points, below at ${d.below}; ` +
      `per-seed reward margins (95% CI): ` +
      d.points
        .map((p, i) => `${where(keys[i])}: ${fmt(p.mean, 2)} [${fmt(p.lo, 2)}, ${fmt(p.hi, 2)}] (n=${p.n})`)
        .join('; '),
  };
}
