/**
 * Lab studies: the extension point of `gshf bandit run` for experiments that are not "an algorithm
 * on offline data + a scalar BT oracle" (ties, rankings, several reward dimensions, annotators…).
 *
 * A config study `{kind: lab, name, title, study: <registered name>, options}` expands into one job
 * per (arm, seed). A registered `LabStudy` declares its options (a strict zod schema), its arms and
 * its metrics, and runs one arm on one seed. Arms of the same seed index receive the same `dataRng`
 * stream (`lab-data/<study name>/<seed>`), so data drawn from it first are identical across arms and
 * their differences are paired; `armRng` is the arm's own stream. Every arm returns a policy (its
 * gap under the environment's θ* fills the usual result fields) and named metrics; `lab` claims
 * compare one metric between two arms with the shared verdict engine.
 */
import { GshfInputError, didYouMean } from '../../math/errors.js';
import { Rng } from '../../math/rng.js';
import { meanCI95 } from '../../math/stats.js';
import { equivalence, nonInferiority, superiority } from '../../math/verdicts.js';
import { fmtCI, mdTable } from '../../report/markdown.js';
import type { BanditEnv } from '../env.js';
import type { ClaimSpec, ExperimentConfig, LabStudySpec } from './config.js';
import { multiLabStudies } from '../multi/studies.js';
import type { LabArmResult, LabMetric, LabStudy, LabStudyContext } from './lab-study-types.js';

export type { LabArmResult, LabMetric, LabStudy, LabStudyContext };

/** A lab job's identity (jobs.ts adds the fields every job carries). */
export interface LabJob {
  key: string;
  study: string;
  run: string;
  seedIndex: number;
}

/** What reports and claims read of a lab job's result. */
export interface LabResult {
  run: string;
  seedIndex: number;
  labelsUsed: number;
  metrics?: Record<string, number>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- heterogeneous registry; each entry parses its own options
type AnyLabStudy = LabStudy<any>;

const registry = new Map<string, AnyLabStudy>();

/** Adds a lab study (tests and extensions); a name may be registered once. */
export function registerLabStudy<O>(study: LabStudy<O>): void {
  if (registry.has(study.name)) throw new Error(`lab study "${study.name}" is already registered`);
  registry.set(study.name, study as AnyLabStudy);
}

for (const s of multiLabStudies) registerLabStudy(s as AnyLabStudy);

export function labStudyNames(): string[] {
  return [...registry.keys()];
}

export function getLabStudy(name: string): AnyLabStudy {
  const s = registry.get(name);
  if (!s)
    throw new Error(
      `unknown lab study "${name}"${didYouMean(name, registry.keys())} (known: ${labStudyNames().join(', ')})`,
    );
  return s;
}

function parseOptions(study: AnyLabStudy, spec: LabStudySpec, source?: string, index?: number): unknown {
  const r = study.options.safeParse(spec.options);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new GshfInputError(`lab study "${spec.study}": ${issue.message}`, {
    file: source,
    field: `studies.${index ?? '?'}.options${issue.path.length ? '.' + issue.path.join('.') : ''}`,
  });
}

/** The arms of a lab study spec (its options parsed). */
export function labArms(spec: LabStudySpec): string[] {
  const study = getLabStudy(spec.study);
  return study.arms(parseOptions(study, spec));
}

/** Fails early on unknown lab studies, bad options, and lab claims naming unknown arms or metrics. */
export function checkLabStudies(cfg: ExperimentConfig, source?: string): void {
  cfg.studies.forEach((s, i) => {
    if (s.kind !== 'lab') return;
    let study;
    try {
      study = getLabStudy(s.study);
    } catch (e) {
      throw new GshfInputError((e as Error).message, { file: source, field: `studies.${i}.study` });
    }
    parseOptions(study, s, source, i);
  });
  cfg.claims.forEach((c, i) => {
    if (c.kind !== 'lab') return;
    const spec = cfg.studies.find((s) => s.name === c.study);
    if (!spec || spec.kind !== 'lab')
      throw new GshfInputError(`claim on "${c.study}": lab claims need a lab study`, {
        file: source,
        field: `claims.${i}.study`,
      });
    const arms = labArms(spec);
    for (const [field, arm] of [
      ['better', c.better],
      ['than', c.than],
    ] as const)
      if (!arms.includes(arm))
        throw new GshfInputError(
          `arm "${arm}" is not in lab study "${c.study}"${didYouMean(arm, arms)} (arms: ${arms.join(', ')})`,
          {
            file: source,
            field: `claims.${i}.${field}`,
          },
        );
    const metrics = getLabStudy(spec.study).metrics.map((m: LabMetric) => m.name);
    if (!metrics.includes(c.metric))
      throw new GshfInputError(
        `metric "${c.metric}" is not reported by "${spec.study}"${didYouMean(c.metric, metrics)}`,
        {
          file: source,
          field: `claims.${i}.metric`,
        },
      );
  });
}

/** One job per (arm, seed). */
export function expandLabJobs(spec: LabStudySpec, seeds: number): LabJob[] {
  const jobs: LabJob[] = [];
  for (const arm of labArms(spec))
    for (let s = 0; s < seeds; s++)
      jobs.push({ key: `${spec.name}/${arm}/s=${s}`, study: spec.name, run: arm, seedIndex: s });
  return jobs;
}

/** Runs one lab job's arm; deterministic given (cfg, job). */
export function runLabJob(
  cfg: ExperimentConfig,
  job: LabJob,
  env: BanditEnv,
): LabArmResult & { algorithm: string; seconds: number } {
  const spec = cfg.studies.find((s) => s.name === job.study);
  if (!spec || spec.kind !== 'lab') throw new Error(`runLabJob: "${job.study}" is not a lab study`);
  const study = getLabStudy(spec.study);
  const root = new Rng(cfg.seed);
  const ctx: LabStudyContext<unknown> = {
    env,
    options: parseOptions(study, spec),
    dataRng: root.fork(`lab-data/${spec.name}/${job.seedIndex}`),
    armRng: root.fork(`lab-arm/${job.key}`),
    seedIndex: job.seedIndex,
    oracleTemperature: cfg.oracleTemperature,
  };
  const t0 = performance.now();
  const out = study.runArm(ctx, job.run);
  return { ...out, algorithm: `lab:${spec.study}`, seconds: (performance.now() - t0) / 1000 };
}

/** The report section of a lab study: every arm's metrics (mean ± 95% CI over seeds). */
export function labSection(spec: LabStudySpec, results: LabResult[]): string[] {
  const study = getLabStudy(spec.study);
  const metrics: readonly LabMetric[] = study.metrics;
  const rows = labArms(spec).map((arm) => {
    const mine = results.filter((r) => r.run === arm);
    const cell = (xs: number[]) =>
      xs.length ? (({ mean, halfWidth }) => fmtCI(mean, halfWidth))(meanCI95(xs)) : '—';
    return [
      arm,
      String(mine.length),
      cell(mine.map((r) => r.labelsUsed)),
      ...metrics.map((m) => cell(mine.map((r) => r.metrics?.[m.name] ?? NaN).filter(Number.isFinite))),
    ];
  });
  return [
    `${study.description} Options: \`${JSON.stringify(spec.options)}\`.`,
    '',
    mdTable(
      ['arm', 'seeds', 'labels', ...metrics.map((m) => `${m.name} (${m.lowerIsBetter ? '↓' : '↑'})`)],
      rows,
    ),
    '',
    ...metrics.map((m) => `- **${m.name}**: ${m.description}`),
    '',
  ];
}

type LabClaim = Extract<ClaimSpec, { kind: 'lab' }>;

/** A lab claim: `better` vs `than` on one metric, paired by seed, judged by the claim's rule. */
export function checkLabClaim(
  cfg: ExperimentConfig,
  claim: LabClaim,
  mine: LabResult[],
): { verdict: ReturnType<typeof superiority>['verdict']; evidence: string } {
  const spec = cfg.studies.find((s) => s.name === claim.study);
  if (!spec || spec.kind !== 'lab') return { verdict: 'no data', evidence: 'lab claims need a lab study' };
  const metric = getLabStudy(spec.study).metrics.find((m: LabMetric) => m.name === claim.metric);
  if (!metric) return { verdict: 'no data', evidence: `unknown metric ${claim.metric}` };
  const pick = (arm: string) =>
    new Map(
      mine
        .filter((r) => r.run === arm && Number.isFinite(r.metrics?.[claim.metric]))
        .map((r) => [r.seedIndex, r.metrics![claim.metric]]),
    );
  const a = pick(claim.better);
  const b = pick(claim.than);
  const sign = metric.lowerIsBetter ? -1 : 1;
  const diffs = [...a.keys()].filter((s) => b.has(s)).map((s) => sign * (a.get(s)! - b.get(s)!));
  if (diffs.length < 2) return { verdict: 'no data', evidence: 'fewer than 2 paired seeds' };
  const margin = claim.margin ?? 0;
  const rule = claim.rule;
  const j =
    rule === 'equivalence'
      ? equivalence(diffs, margin)
      : rule === 'non-inferiority'
        ? nonInferiority(diffs, margin)
        : superiority(diffs, margin);
  const ca = meanCI95([...a.values()]);
  const cb = meanCI95([...b.values()]);
  const d = meanCI95(diffs);
  return {
    verdict: j.verdict,
    evidence:
      `${rule} on ${claim.metric} (${metric.lowerIsBetter ? 'lower' : 'higher'} is better): ${claim.better} ${fmtCI(ca.mean, ca.halfWidth)} vs ` +
      `${claim.than} ${fmtCI(cb.mean, cb.halfWidth)}; paired advantage ${fmtCI(d.mean, d.halfWidth)} (n=${diffs.length})` +
      (margin ? `; margin ±${margin}` : '') +
      (j.verdict === 'inconclusive' && j.seedsToDecide !== undefined && Number.isFinite(j.seedsToDecide)
        ? `; at this mean and spread ${j.seedsToDecide} seeds would decide it`
        : ''),
  };
}
