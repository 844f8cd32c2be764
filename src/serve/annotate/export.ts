/**
 * Export and explorer views over a project's tasks and annotations (pure functions, unit-tested).
 * Export lines, one JSON object per task (documented in docs/annotation-service.md):
 *   pair    → TRL `{prompt, chosen, rejected, id, votes}` by majority (ties, both-bad, gold left out)
 *   ranking → `{id, prompt, responses, rankings, annotators, metadata}`; each ranking lists response
 *             indices (into `responses`), best first
 *   rating  → `{id, prompt, response, scale: {dimensions, min, max}, ratings, annotators, metadata}`;
 *             each rating has one integer per dimension in [min, max]
 * By default only complete tasks (k non-skip answers) are exported; `all` adds the others.
 */
import { majorityVerdict } from '../../feedback/agreement.js';
import type { Verdict } from '../../feedback/types.js';
import {
  PAIR_VERDICTS,
  type AnnotationRow,
  type TaskKind,
  type TaskWithAnnotations,
} from '../../store/types.js';

export interface ExportOptions {
  kind: TaskKind;
  all: boolean;
  k: number;
}

const answered = (rows: readonly AnnotationRow[]) => rows.filter((r) => r.verdict !== 'skip');

export function pairVotes(rows: readonly AnnotationRow[]): Record<Verdict, number> {
  const votes = { a: 0, b: 0, tie: 0, 'both-bad': 0 } as Record<Verdict, number>;
  for (const r of rows)
    if ((PAIR_VERDICTS as readonly string[]).includes(r.verdict)) votes[r.verdict as Verdict]++;
  return votes;
}

export function exportLines(items: readonly TaskWithAnnotations[], o: ExportOptions): string[] {
  const lines: string[] = [];
  for (const { task, annotations } of items) {
    if (task.kind !== o.kind || task.gold !== null) continue;
    const done = answered(annotations);
    if (!o.all && done.length < o.k) continue;
    if (task.kind === 'pair') {
      const votes = pairVotes(done);
      const m = majorityVerdict(votes);
      if (m !== 'a' && m !== 'b') continue;
      const [chosen, rejected] = m === 'a' ? [task.a, task.b] : [task.b, task.a];
      lines.push(JSON.stringify({ prompt: task.prompt, chosen, rejected, id: task.extId, votes }));
    } else if (done.length > 0) {
      const annotators = done.map((r) => r.annotator);
      const answers = done.map((r) => r.answer);
      lines.push(
        JSON.stringify(
          task.kind === 'ranking'
            ? {
                id: task.extId,
                prompt: task.prompt,
                responses: task.responses,
                rankings: answers.map((a) => (a && 'ranking' in a ? a.ranking : null)),
                annotators,
                metadata: task.metadata,
              }
            : {
                id: task.extId,
                prompt: task.prompt,
                response: (task.responses ?? [''])[0],
                scale: task.scale,
                ratings: answers.map((a) => (a && 'ratings' in a ? a.ratings : null)),
                annotators,
                metadata: task.metadata,
              },
        ),
      );
    }
  }
  return lines;
}

export interface ExploreFilter {
  status: 'any' | 'pending' | 'complete';
  gold: 'any' | 'only' | 'none';
  annotator?: string;
  agreement: 'any' | 'unanimous' | 'split' | 'unlabelled';
  kind: 'any' | TaskKind;
  offset: number;
  limit: number;
}

/** unanimous: ≥ 2 answers, all equal; split: ≥ 2 answers, not all equal; single: 1; unlabelled: 0. */
export function agreementOf(rows: readonly AnnotationRow[]): 'unanimous' | 'split' | 'single' | 'unlabelled' {
  const keys = answered(rows).map((r) => `${r.verdict}|${JSON.stringify(r.answer)}`);
  if (keys.length === 0) return 'unlabelled';
  if (keys.length === 1) return 'single';
  return keys.every((x) => x === keys[0]) ? 'unanimous' : 'split';
}

export function explore(items: readonly TaskWithAnnotations[], k: number, f: ExploreFilter) {
  const rows = items.filter(({ task, annotations }) => {
    const done = answered(annotations).length;
    const complete = task.gold === null && done >= k;
    if (f.status === 'pending' && (complete || task.gold !== null)) return false;
    if (f.status === 'complete' && !complete) return false;
    if (f.gold === 'only' && task.gold === null) return false;
    if (f.gold === 'none' && task.gold !== null) return false;
    if (f.kind !== 'any' && task.kind !== f.kind) return false;
    if (f.annotator !== undefined && !annotations.some((r) => r.annotator === f.annotator)) return false;
    const ag = agreementOf(annotations);
    if (f.agreement === 'unlabelled' && ag !== 'unlabelled') return false;
    if ((f.agreement === 'unanimous' || f.agreement === 'split') && ag !== f.agreement) return false;
    return true;
  });
  return {
    total: rows.length,
    offset: f.offset,
    tasks: rows.slice(f.offset, f.offset + f.limit).map(({ task, annotations }) => ({
      id: task.extId,
      task_id: task.id,
      kind: task.kind,
      prompt: task.prompt,
      gold: task.gold,
      metadata: task.metadata,
      answers: answered(annotations).length,
      k,
      status: task.gold !== null ? 'gold' : answered(annotations).length >= k ? 'complete' : 'pending',
      agreement: agreementOf(annotations),
      annotations: annotations.map((r) => ({
        annotator: r.annotator,
        verdict: r.verdict,
        ...(r.answer ?? {}),
        rationale: r.rationale,
        created_at: r.createdAt,
      })),
    })),
  };
}
