/**
 * Annotator routes: lease the next task (shown in a random order per annotator), submit an answer
 * (pair choice, ranking or ratings; idempotent), undo the last answer within its lease, and read
 * one's own annotations (the admin reads everyone's).
 */
import type { FastifyInstance } from 'fastify';
import { randomInt } from 'node:crypto';
import type { Choice, Lease, SubmitResult } from '../../../store/types.js';
import { annotatorOf, principal, projectOf, type AnnotateContext } from '../context.js';
import { AnnotationsQuery, SubmitBody, TaskIdParam } from '../schemas.js';
import { HttpError, parseInput } from '../validate.js';
import { annotationJson } from './shapes.js';

const annotator = { access: 'annotator' as const };

/** A uniformly random permutation of 0..n-1 (Fisher–Yates on crypto randomness). */
export function randomPermutation(n: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** What the page shows for a lease: the task in the order this annotator sees it. */
export function leaseJson(lease: Lease) {
  const t = lease.task;
  const common = {
    id: t.id,
    kind: t.kind,
    prompt: t.prompt,
    metadata: t.metadata,
    lease_expires_at: lease.expiresAt,
  };
  if (t.kind === 'ranking') {
    const order = lease.order ?? (t.responses ?? []).map((_, i) => i);
    return { ...common, responses: order.map((i) => (t.responses ?? [])[i]) };
  }
  if (t.kind === 'rating') return { ...common, response: (t.responses ?? [''])[0], scale: t.scale };
  const [left, right] = lease.swapped ? [t.b, t.a] : [t.a, t.b];
  return { ...common, left, right };
}

export function registerAnnotatorRoutes(app: FastifyInstance, ctx: AnnotateContext): void {
  const progress = async (projectId: number, annotatorId: number) => ({
    done: await ctx.store.countAnnotations(projectId, annotatorId),
    remaining: await ctx.store.remainingFor(projectId, annotatorId, ctx.now()),
  });
  app.post('/api/projects/:project/next', { config: annotator }, async (req) => {
    const me = annotatorOf(req);
    const p = await projectOf(ctx, req);
    if (req.body !== undefined && req.body !== null && Object.keys(req.body as object).length > 0) {
      throw new HttpError(400, 'bad_request', 'body: this route takes no body');
    }
    const now = ctx.now();
    const lease = await ctx.store.nextTask(
      p.id,
      me.annotatorId,
      now,
      p.leaseSeconds * 1000,
      randomInt(2) === 1,
      randomPermutation,
    );
    return {
      task: lease === undefined ? null : leaseJson(lease),
      progress: await progress(p.id, me.annotatorId),
    };
  });
  app.post('/api/projects/:project/tasks/:task/annotations', { config: annotator }, async (req, reply) => {
    const me = annotatorOf(req);
    const p = await projectOf(ctx, req);
    const taskId = parseInput(TaskIdParam, (req.params as { task: string }).task, 'path.task');
    const b = parseInput(SubmitBody, req.body, 'body');
    const headerKey = req.headers['idempotency-key'];
    const key =
      b.idempotency_key ??
      (typeof headerKey === 'string' && headerKey.length >= 8 && headerKey.length <= 128 ? headerKey : null);
    const r = await ctx.store.submit({
      projectId: p.id,
      taskId,
      annotatorId: me.annotatorId,
      choice: (b.choice ?? 'skip') as Choice,
      ranking: b.ranking,
      ratings: b.ratings,
      rationale: b.rationale,
      idempotencyKey: key,
      now: ctx.now(),
    });
    if ('annotationId' in r) {
      return reply
        .code(r.kind === 'created' ? 201 : 200)
        .send({ id: r.annotationId, verdict_recorded: true, replayed: r.kind === 'replayed' });
    }
    throw submitError(r, taskId, p.name);
  });
  app.post('/api/projects/:project/undo', { config: annotator }, async (req) => {
    const me = annotatorOf(req);
    const p = await projectOf(ctx, req);
    const r = await ctx.store.undoLast(p.id, me.annotatorId, ctx.now());
    if (r.kind === 'nothing')
      throw new HttpError(409, 'nothing_to_undo', 'you have no answer in this project to undo');
    if (r.kind !== 'undone')
      throw new HttpError(
        409,
        'lease_expired',
        'the lease of your last answer has run out: it can no longer be undone',
      );
    return {
      undone: true,
      task_id: r.taskId,
      annotation_id: r.annotationId,
      progress: await progress(p.id, me.annotatorId),
    };
  });
  app.get('/api/projects/:project/annotations', async (req) => {
    const me = principal(req);
    const p = await projectOf(ctx, req);
    const q = parseInput(AnnotationsQuery, req.query, 'query');
    if (me.role !== 'admin' && q.annotator !== undefined && q.annotator !== me.name) {
      throw new HttpError(403, 'forbidden', 'annotators see only their own annotations');
    }
    let rows = await ctx.store.annotations(p.id, me.role === 'admin' ? null : me.annotatorId);
    if (me.role === 'admin' && q.annotator !== undefined)
      rows = rows.filter((r) => r.annotator === q.annotator);
    return { annotations: rows.map(annotationJson) };
  });
}

function submitError(
  r: Exclude<SubmitResult, { kind: 'created' | 'replayed' }>,
  taskId: number,
  project: string,
): HttpError {
  switch (r.kind) {
    case 'bad-answer':
      return new HttpError(400, 'bad_request', `body.${r.message}`);
    case 'unknown-task':
      return new HttpError(404, 'unknown_task', `no task ${taskId} in project "${project}"`);
    case 'no-lease':
      return new HttpError(
        409,
        'no_lease',
        `task ${taskId} is not leased to you: ask /next for a task first`,
      );
    case 'lease-expired':
      return new HttpError(
        409,
        'lease_expired',
        `your lease on task ${taskId} expired; ask /next for a new task`,
      );
    case 'already-annotated':
      return new HttpError(
        409,
        'already_annotated',
        `you already annotated task ${taskId} with a different answer`,
      );
    case 'key-reused':
      return new HttpError(
        409,
        'idempotency_key_reused',
        'this idempotency key was used for a different submission',
      );
  }
}
