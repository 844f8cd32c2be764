/**
 * The admin page's numbers, computed from a project's annotations: queue counts, throughput,
 * per-annotator counts, gold accuracy and agreement with others, and overall agreement
 * (pairwise agreement, Fleiss κ over tasks with exactly k labels, Cohen κ per annotator pair).
 * Agreement is over pair verdicts; rankings and ratings count as annotations. Every agreement
 * statistic carries its sample size, and one computed from fewer than MIN_ITEMS tasks (or pairs)
 * is flagged `small_sample` with a caveat in plain words: κ over one task is ±1 by construction.
 */
import { cohenKappa, fleissKappa, pairwiseAgreement } from '../../feedback/agreement.js';
import type { Verdict } from '../../feedback/types.js';
import { linePlot } from '../../report/svg.js';
import { PAIR_VERDICTS, type AnnotationRow, type Project, type QueueCounts } from '../../store/types.js';

/** Fewer tasks (or label pairs) than this: the statistic is shown with a small-sample caveat. */
export const MIN_ITEMS = 10;

export interface AnnotatorStats {
  name: string;
  annotations: number;
  skips: number;
  gold_answered: number;
  gold_correct: number;
  gold_accuracy: number | null;
  /** Fraction of other annotators' labels on the same tasks that equal this annotator's. */
  agreement_with_others: number | null;
}

export interface ProjectStats {
  project: string;
  k: number;
  queue: QueueCounts;
  throughput: { last_minute: number; last_hour: number; per_minute_last_hour: number };
  annotators: AnnotatorStats[];
  agreement: {
    pairwise: number | null;
    pairs: number;
    fleiss_kappa: number | null;
    fleiss_items: number;
    cohen: { a: string; b: string; kappa: number | null; items: number; small_sample: boolean }[];
    small_sample: { pairwise: boolean; fleiss: boolean };
    /** Plain-words warnings about statistics computed from too few tasks. */
    caveats: string[];
  };
}

const num = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function projectStats(
  project: Project,
  queue: QueueCounts,
  rows: readonly AnnotationRow[],
  now: number,
): ProjectStats {
  // Phase 1: labels per task (skips excluded).
  const labelled = rows.filter((r) => r.verdict !== 'skip');
  const pairs = rows.filter((r) => (PAIR_VERDICTS as readonly string[]).includes(r.verdict));
  const byTask = new Map<number, AnnotationRow[]>();
  for (const r of pairs) byTask.set(r.taskId, [...(byTask.get(r.taskId) ?? []), r]);
  const items = [...byTask.values()].map((rs) => rs.map((r) => r.verdict as Verdict));

  // Phase 2: per annotator.
  const names = [...new Set(rows.map((r) => r.annotator))].sort();
  const annotators = names.map((name): AnnotatorStats => {
    const mine = rows.filter((r) => r.annotator === name);
    const lab = mine.filter((r) => r.verdict !== 'skip');
    const gold = lab.filter((r) => r.gold !== null);
    const correct = gold.filter((r) => r.verdict === r.gold).length;
    let agree = 0;
    let total = 0;
    for (const r of pairs.filter((x) => x.annotator === name)) {
      for (const o of byTask.get(r.taskId) ?? []) {
        if (o.annotator === name) continue;
        total++;
        if (o.verdict === r.verdict) agree++;
      }
    }
    return {
      name,
      annotations: lab.length,
      skips: mine.length - lab.length,
      gold_answered: gold.length,
      gold_correct: correct,
      gold_accuracy: gold.length === 0 ? null : correct / gold.length,
      agreement_with_others: total === 0 ? null : agree / total,
    };
  });

  // Phase 3: overall agreement.
  const pw = pairwiseAgreement(items);
  const full = items.filter((l) => l.length === project.k);
  const cohen: ProjectStats['agreement']['cohen'] = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const both: [Verdict, Verdict][] = [];
      for (const rs of byTask.values()) {
        const x = rs.find((r) => r.annotator === names[i]);
        const y = rs.find((r) => r.annotator === names[j]);
        if (x && y) both.push([x.verdict as Verdict, y.verdict as Verdict]);
      }
      if (both.length > 0)
        cohen.push({
          a: names[i],
          b: names[j],
          kappa: num(cohenKappa(both)),
          items: both.length,
          small_sample: both.length < MIN_ITEMS,
        });
    }
  }
  const fleiss = full.length > 0 && project.k >= 2 ? num(fleissKappa(full)) : null;
  const caveats = smallSampleCaveats(pw.pairs, fleiss === null ? 0 : full.length, cohen);
  const since = (ms: number) => labelled.filter((r) => r.createdAt > now - ms).length;
  return {
    project: project.name,
    k: project.k,
    queue,
    throughput: {
      last_minute: since(60_000),
      last_hour: since(3_600_000),
      per_minute_last_hour: since(3_600_000) / 60,
    },
    annotators,
    agreement: {
      pairwise: num(pw.agreement),
      pairs: pw.pairs,
      fleiss_kappa: fleiss,
      fleiss_items: full.length,
      cohen,
      small_sample: { pairwise: pw.pairs < MIN_ITEMS, fleiss: full.length < MIN_ITEMS },
      caveats,
    },
  };
}

function smallSampleCaveats(
  pairs: number,
  fleissItems: number,
  cohen: readonly { a: string; b: string; items: number }[],
): string[] {
  const out: string[] = [];
  const tasks = (n: number) => `${n} task${n === 1 ? '' : 's'}`;
  if (pairs > 0 && pairs < MIN_ITEMS)
    out.push(`pairwise agreement rests on ${pairs} label pair${pairs === 1 ? '' : 's'}: too few to judge`);
  if (fleissItems > 0 && fleissItems < MIN_ITEMS)
    out.push(`Fleiss κ over ${tasks(fleissItems)}: too few to mean much (wait for ${MIN_ITEMS} or more)`);
  for (const c of cohen)
    if (c.items < MIN_ITEMS)
      out.push(
        `Cohen κ ${c.a} / ${c.b} over ${tasks(c.items)}: too few to mean much${
          c.items === 1 ? ' (over one task κ is ±1 or undefined by construction)' : ''
        }`,
      );
  return out;
}

/** Cumulative labels over time, overall and per annotator (SVG). */
export function throughputPlot(project: Project, rows: readonly AnnotationRow[]): string {
  const labelled = rows.filter((r) => r.verdict !== 'skip');
  const t0 = labelled.length > 0 ? labelled[0].createdAt : 0;
  const cumulative = (rs: readonly AnnotationRow[]) => ({
    x: [0, ...rs.map((r) => (r.createdAt - t0) / 60_000)],
    y: [0, ...rs.map((_, i) => i + 1)],
  });
  const names = [...new Set(labelled.map((r) => r.annotator))].sort().slice(0, 9);
  return linePlot(
    [
      { label: 'all annotators', ...cumulative(labelled) },
      ...names.map((n) => ({ label: n, ...cumulative(labelled.filter((r) => r.annotator === n)) })),
    ],
    { title: `${project.name}: labels over time`, xLabel: 'minutes since the first label', yLabel: 'labels' },
  );
}
