/** Admin routes that read results: votes (the loop), the label feed, export, explorer, stats, plot. */
import type { FastifyInstance } from 'fastify';
import { majorityVerdict } from '../../../feedback/agreement.js';
import type { TaskKind } from '../../../store/types.js';
import { projectOf, type AnnotateContext } from '../context.js';
import { explore, exportLines, type ExploreFilter } from '../export.js';
import { ExploreQuery, ExportQuery, LabelsQuery, VotesBody } from '../schemas.js';
import { projectStats, throughputPlot } from '../stats.js';
import { parseInput } from '../validate.js';
import { annotationJson } from './shapes.js';

const admin = { access: 'admin' as const };

export function registerResultRoutes(app: FastifyInstance, ctx: AnnotateContext): void {
  app.post('/api/projects/:project/votes', { config: admin }, async (req) => {
    const p = await projectOf(ctx, req);
    const b = parseInput(VotesBody, req.body, 'body');
    const votes = await ctx.store.taskVotes(p.id, b.ids);
    return {
      k: p.k,
      tasks: votes.map((v) => ({
        id: v.extId,
        votes: v.votes,
        n: v.votes.a + v.votes.b + v.votes.tie + v.votes['both-bad'],
        majority: majorityVerdict(v.votes) ?? null,
      })),
    };
  });
  app.get('/api/projects/:project/labels', { config: admin }, async (req) => {
    const p = await projectOf(ctx, req);
    const q = parseInput(LabelsQuery, req.query, 'query');
    const rows = await ctx.store.labelsSince(p.id, q.since, q.limit);
    return {
      labels: rows.map(annotationJson),
      next_cursor: rows.length > 0 ? rows[rows.length - 1].id : q.since,
    };
  });
  app.get('/api/projects/:project/export.jsonl', { config: admin }, async (req, reply) => {
    const p = await projectOf(ctx, req);
    const q = parseInput(ExportQuery, req.query, 'query');
    const lines = exportLines(await ctx.store.tasksWithAnnotations(p.id), {
      kind: q.kind as TaskKind,
      all: q.all,
      k: p.k,
    });
    const suffix = q.kind === 'pair' ? '' : `-${q.kind}`;
    return reply
      .type('application/jsonl; charset=utf-8')
      .header('content-disposition', `attachment; filename="${p.name}${suffix}.jsonl"`)
      .send(lines.map((l) => l + '\n').join(''));
  });
  app.get('/api/projects/:project/explore', { config: admin }, async (req) => {
    const p = await projectOf(ctx, req);
    const q = parseInput(ExploreQuery, req.query, 'query') as ExploreFilter;
    return explore(await ctx.store.tasksWithAnnotations(p.id), p.k, q);
  });
  app.get('/api/projects/:project/stats', { config: admin }, async (req) => {
    const p = await projectOf(ctx, req);
    const now = ctx.now();
    const [queue, rows] = await Promise.all([
      ctx.store.queueCounts(p.id, now),
      ctx.store.annotations(p.id, null),
    ]);
    return projectStats(p, queue, rows, now);
  });
  app.get('/api/projects/:project/plot.svg', { config: admin }, async (req, reply) => {
    const p = await projectOf(ctx, req);
    return reply.type('image/svg+xml').send(throughputPlot(p, await ctx.store.annotations(p.id, null)));
  });
}
