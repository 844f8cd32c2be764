/**
 * Admin routes: projects (create, guidelines), annotators and their tokens (create, rotate, revoke,
 * expiry: effective at once, sessions included), and tasks (push as JSON, upload JSONL/CSV/Parquet).
 */
import type { FastifyInstance } from 'fastify';
import { newAnnotatorToken } from '../auth.js';
import { projectOf, type AnnotateContext } from '../context.js';
import {
  AnnotatorAccessBody,
  AnnotatorName,
  CreateAnnotatorBody,
  CreateProjectBody,
  PushTasksBody,
  UpdateProjectBody,
  UploadQuery,
  type TaskInputValue,
} from '../schemas.js';
import { parseUpload } from '../upload.js';
import { HttpError, parseInput } from '../validate.js';
import { annotatorJson, projectJson, toNewTask } from './shapes.js';

const PUSH_BODY_LIMIT = 32 * 1024 * 1024;
const admin = { access: 'admin' as const };

export function registerAdminRoutes(app: FastifyInstance, ctx: AnnotateContext): void {
  registerProjectRoutes(app, ctx);
  registerAnnotatorRoutes(app, ctx);
  registerTaskRoutes(app, ctx);
}

function registerProjectRoutes(app: FastifyInstance, ctx: AnnotateContext): void {
  app.get('/api/projects', async () => ({ projects: (await ctx.store.listProjects()).map(projectJson) }));
  app.post('/api/projects', { config: admin }, async (req, reply) => {
    const b = parseInput(CreateProjectBody, req.body, 'body');
    const p = await ctx.store.createProject(
      {
        name: b.name,
        description: b.description,
        guidelines: b.guidelines,
        k: b.k,
        leaseSeconds: b.lease_seconds,
      },
      ctx.now(),
    );
    if (p === 'exists') throw new HttpError(409, 'project_exists', `project "${b.name}" exists`);
    return reply.code(201).send(projectJson(p));
  });
  app.patch('/api/projects/:project', { config: admin }, async (req) => {
    const p = await projectOf(ctx, req);
    const b = parseInput(UpdateProjectBody, req.body, 'body');
    const updated = await ctx.store.updateProject(p.name, b);
    return projectJson(updated ?? p);
  });
}

function registerAnnotatorRoutes(app: FastifyInstance, ctx: AnnotateContext): void {
  const named = async (params: unknown) => {
    const name = parseInput(AnnotatorName, (params as { name?: unknown }).name, 'path.name');
    return name;
  };
  const notFound = (name: string) => new HttpError(404, 'unknown_annotator', `no annotator "${name}"`);
  app.get('/api/annotators', { config: admin }, async () => ({
    annotators: (await ctx.store.listAnnotators()).map((a) => annotatorJson(a, ctx.now())),
  }));
  app.post('/api/annotators', { config: admin }, async (req, reply) => {
    const b = parseInput(CreateAnnotatorBody, req.body, 'body');
    const { row, token } = await newAnnotatorToken(b.name);
    const a = await ctx.store.createAnnotator({ ...row, expiresAt: b.expires_at }, ctx.now());
    if (a === 'exists') throw new HttpError(409, 'annotator_exists', `annotator "${b.name}" exists`);
    return reply.code(201).send({
      ...annotatorJson(a, ctx.now()),
      token,
      note: 'the token is shown once; it is stored hashed',
    });
  });
  app.post('/api/annotators/:name/revoke', { config: admin }, async (req) => {
    const name = await named(req.params);
    const a = await ctx.store.setAnnotatorAccess(name, { revokedAt: ctx.now() });
    if (a === undefined) throw notFound(name);
    return annotatorJson(a, ctx.now());
  });
  app.patch('/api/annotators/:name', { config: admin }, async (req) => {
    const name = await named(req.params);
    const b = parseInput(AnnotatorAccessBody, req.body, 'body');
    const a = await ctx.store.setAnnotatorAccess(name, { expiresAt: b.expires_at });
    if (a === undefined) throw notFound(name);
    return annotatorJson(a, ctx.now());
  });
  app.post('/api/annotators/:name/token', { config: admin }, async (req) => {
    const name = await named(req.params);
    const { row, token } = await newAnnotatorToken(name);
    const a = await ctx.store.rotateAnnotatorToken(name, row);
    if (a === undefined) throw notFound(name);
    return { ...annotatorJson(a, ctx.now()), token, note: 'the old token and its sessions no longer work' };
  });
}

function registerTaskRoutes(app: FastifyInstance, ctx: AnnotateContext): void {
  const push = async (
    projectId: number,
    projectName: string,
    tasks: readonly TaskInputValue[],
    where: string,
  ) => {
    const seen = new Set<string>();
    for (const [i, t] of tasks.entries()) {
      if (seen.has(t.id))
        throw new HttpError(400, 'bad_request', `${where}.${i}.id: duplicate id "${t.id}" in this request`);
      seen.add(t.id);
    }
    const r = await ctx.store.pushTasks(projectId, tasks.map(toNewTask), ctx.now());
    if ('conflict' in r)
      throw new HttpError(
        409,
        'task_conflict',
        `task "${r.conflict}" exists in "${projectName}" with different content; nothing was written`,
      );
    return r;
  };
  app.post('/api/projects/:project/tasks', { config: admin, bodyLimit: PUSH_BODY_LIMIT }, async (req) => {
    const p = await projectOf(ctx, req);
    const b = parseInput(PushTasksBody, req.body, 'body');
    return push(p.id, p.name, b.tasks, 'body.tasks');
  });
  app.post('/api/projects/:project/upload', { config: admin, bodyLimit: PUSH_BODY_LIMIT }, async (req) => {
    const p = await projectOf(ctx, req);
    const q = parseInput(UploadQuery, req.query, 'query');
    if (!Buffer.isBuffer(req.body))
      throw new HttpError(415, 'unsupported_media_type', 'send the file as application/octet-stream');
    const tasks = await parseUpload(req.body, q.format);
    return { ...(await push(p.id, p.name, tasks, 'file.records')), records: tasks.length };
  });
}
