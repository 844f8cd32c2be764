/**
 * The paper's claims judged against the measured numbers of a bandit experiment. Every rule is
 * one of the shared verdict engine's (src/math/verdicts.ts) on per-seed paired numbers: runs that
 * share a seed index share their offline data, so differences between runs are paired.
 */
import { meanCI95, linearFit, interpolate } from '../../math/stats.js';
import {
  dominancePointwise,
  superiority,
  withinBounds,
  type Judgement,
  type Verdict,
} from '../../math/verdicts.js';
import { fmt, fmtCI, fmtRange } from '../../report/markdown.js';
import type { ClaimSpec, ExperimentConfig } from './config.js';
import type { JobResult } from './jobs.js';
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

export function checkClaim(cfg: ExperimentConfig, claim: ClaimSpec, results: JobResult[]): ClaimVerdict {
  const base = { text: claim.text, source: claim.source, ...(claim.note ? { note: claim.note } : {}) };
  const study = cfg.studies.find((s) => s.name === claim.study);
  const mine = results.filter((r) => r.study === claim.study);
  if (!study || mine.length === 0) return { ...base, verdict: 'no data', evidence: 'study not run' };
  if (claim.kind === 'lower-gap') {
    if (study.kind !== 'grid')
      return { ...base, verdict: 'no data', evidence: 'lower-gap claims need a grid study' };
    const budget = claim.budget ?? Math.max(...study.budgets);
    const coverage = claim.coverage ?? (Array.isArray(study.coverage) ? study.coverage[0] : study.coverage);
    return { ...base, ...lowerGap(cfg, claim, mine, budget, coverage) };
  }
  if (claim.kind === 'slope') return { ...base, ...slopeBound(cfg, claim, mine) };
  if (claim.kind === 'lab') return { ...base, ...checkLabClaim(cfg, claim, mine) };
  return { ...base, ...frontierDominates(cfg, claim, mine) };
}

/** "better has a lower gap than `than`" at one budget: superiority of the paired gap differences. */
function lowerGap(
  cfg: ExperimentConfig,
  claim: Extract<ClaimSpec, { kind: 'lower-gap' }>,
  mine: JobResult[],
  budget: number,
  coverage: string,
): ClaimBody {
  const pick = (run: string) =>
    new Map(
      mine
        .filter((r) => r.run === run && r.budget === budget && r.coverage === coverage)
        .map((r) => [r.seedIndex, r.gap]),
    );
  const a = pick(claim.better);
  const b = pick(claim.than);
  const diffs = [...a.keys()].filter((s) => b.has(s)).map((s) => (b.get(s) as number) - (a.get(s) as number));
  if (diffs.length < 2) return { verdict: 'no data', evidence: 'fewer than 2 paired seeds' };
  const j = superiority(diffs, claim.margin ?? 0);
  const d = meanCI95(diffs);
  const ga = meanCI95([...a.values()]);
  const gb = meanCI95([...b.values()]);
  return {
    verdict: j.verdict,
    evidence:
      `at ${budget} labels, ${coverage} coverage: gap ${label(cfg, claim.better)} ${fmtCI(ga.mean, ga.halfWidth)} vs ` +
      `${label(cfg, claim.than)} ${fmtCI(gb.mean, gb.halfWidth)}; paired difference ${fmtCI(d.mean, d.halfWidth)} (n=${diffs.length})` +
      (claim.margin ? `; equivalence margin ±${claim.margin}` : '') +
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
