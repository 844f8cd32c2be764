/** The JSON shapes the API returns for stored rows, and API task input → store task. */
import type { Verdict } from '../../../feedback/types.js';
import type { AnnotationRow, Annotator, NewTask, Project, TaskKind } from '../../../store/types.js';
import type { TaskInputValue } from '../schemas.js';

export function projectJson(p: Project) {
  return {
    name: p.name,
    description: p.description,
    guidelines: p.guidelines,
    k: p.k,
    lease_seconds: p.leaseSeconds,
    created_at: p.createdAt,
  };
}

export function annotatorJson(a: Annotator, now: number) {
  const state =
    a.revokedAt !== null ? 'revoked' : a.expiresAt !== null && a.expiresAt <= now ? 'expired' : 'active';
  return { name: a.name, created_at: a.createdAt, revoked_at: a.revokedAt, expires_at: a.expiresAt, state };
}

export function annotationJson(r: AnnotationRow) {
  return {
    cursor: r.id,
    task_id: r.taskId,
    id: r.extId,
    annotator: r.annotator,
    verdict: r.verdict,
    ...(r.answer ?? {}),
    shown_swapped: r.shownSwapped,
    rationale: r.rationale,
    gold: r.gold,
    created_at: r.createdAt,
  };
}

export function toNewTask(t: TaskInputValue): NewTask {
  const kind = t.kind as TaskKind;
  return {
    extId: t.id,
    kind,
    prompt: t.prompt,
    a: t.a ?? '',
    b: t.b ?? '',
    responses: kind === 'pair' ? null : (t.responses ?? null),
    scale: kind === 'rating' ? (t.scale ?? { dimensions: ['quality'], min: 1, max: 5 }) : null,
    metadata: t.metadata,
    priority: t.priority,
    gold: t.gold as Verdict | null,
  };
}
