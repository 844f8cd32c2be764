/**
 * The annotation service (fastify): JSON API under /api, the annotator and admin pages, and
 * /openapi.json. Every input is validated before the store is called; every failure is a JSON
 * `{error, message}` with a 4xx/5xx status; the process never crashes on input.
 * Auth: `Authorization: Bearer <token>` (API clients) or the HttpOnly SameSite=Strict session cookie
 * set by POST /api/login (browsers), which must carry the session's CSRF token in `x-csrf-token` on
 * every state-changing request.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import { randomInt } from 'node:crypto';
import { majorityVerdict } from '../../feedback/agreement.js';
import type { Verdict } from '../../feedback/types.js';
import type { AnnotationRow, AnnotationStore, Project } from '../../store/types.js';
import { Authenticator, newAnnotatorToken, randomToken, sha256, type Principal } from './auth.js';
import { openApiDocument } from './openapi.js';
import { loadStaticAssets } from './pages.js';
import {
  AnnotationsQuery,
  CreateAnnotatorBody,
  CreateProjectBody,
  LabelsQuery,
  LoginBody,
  ProjectName,
  PushTasksBody,
  SubmitBody,
  TaskIdParam,
  VotesBody,
} from './schemas.js';
import { projectStats, throughputPlot } from './stats.js';
import { HttpError, parseInput } from './validate.js';

export interface AnnotateAppOptions {
  store: AnnotationStore;
  adminToken: string;
  /** Requests per minute per client (token, session or IP). Default 1200. */
  rateLimitPerMinute?: number;
  /** Login attempts per minute per IP. Default 30. */
  loginPerMinute?: number;
  /** Session lifetime. Default 12 h. */
  sessionMs?: number;
  /** Clock (tests). */
  now?: () => number;
  logger?: boolean;
}

export const SESSION_COOKIE = 'gshf_session';
const BODY_LIMIT = 64 * 1024;
const PUSH_BODY_LIMIT = 32 * 1024 * 1024;

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export async function buildAnnotateApp(opts: AnnotateAppOptions): Promise<FastifyInstance> {
  const { store } = opts;
  const now = opts.now ?? Date.now;
  const auth = new Authenticator(store, opts.adminToken);
  const sessionMs = opts.sessionMs ?? 12 * 3600_000;
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: BODY_LIMIT, trustProxy: false });

  // ---- cross-cutting: errors, headers, limits ----
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof HttpError)
      return reply.code(err.status).send({ error: err.code, message: err.message });
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      app.log.error(err);
      return reply.code(500).send({ error: 'internal', message: 'internal error (logged on the server)' });
    }
    return reply
      .code(status)
      .send({ error: (err.code ?? 'bad_request').toLowerCase(), message: err.message });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` }),
  );
  app.removeContentTypeParser('text/plain'); // JSON only: anything else is a 415
  await app.register(cookie);
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
      },
    },
    crossOriginEmbedderPolicy: false,
  });
  await app.register(rateLimit, {
    max: opts.rateLimitPerMinute ?? 1200,
    timeWindow: 60_000,
    keyGenerator: (req) => {
      const bearer = req.headers.authorization;
      const sess = req.cookies?.[SESSION_COOKIE];
      return bearer ? `t:${sha256(bearer)}` : sess ? `s:${sha256(sess)}` : `ip:${req.ip}`;
    },
    errorResponseBuilder: (_req, ctx) => ({
      statusCode: 429,
      error: 'rate_limited',
      message: `rate limit: at most ${ctx.max} requests per minute; retry in ${Math.ceil(ctx.ttl / 1000)} s`,
    }),
  });

  // ---- authentication ----
  app.addHook('preHandler', async (req) => {
    if (!req.url.startsWith('/api/') || req.url.startsWith('/api/login')) return;
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer (\S{1,512})$/.exec(header);
      const p = m ? await auth.verify(m[1]) : undefined;
      if (!p) throw new HttpError(401, 'unauthorized', 'missing or wrong bearer token');
      req.principal = p;
      return;
    }
    const sid = req.cookies[SESSION_COOKIE];
    if (sid === undefined) throw new HttpError(401, 'unauthorized', 'log in first (no token and no session)');
    const s = await store.getSession(sha256(sid), now());
    if (s === undefined) throw new HttpError(401, 'unauthorized', 'session expired or unknown: log in again');
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.headers['x-csrf-token'] !== s.csrf) {
      throw new HttpError(403, 'csrf', 'missing or wrong x-csrf-token header for this session');
    }
    if (s.annotatorId === null) req.principal = { role: 'admin', annotatorId: null, name: 'admin' };
    else {
      const a = await store.annotatorById(s.annotatorId);
      if (a === undefined) throw new HttpError(401, 'unauthorized', 'annotator no longer exists');
      req.principal = { role: 'annotator', annotatorId: a.id, name: a.name };
    }
  });

  const principal = (req: FastifyRequest): Principal => {
    if (!req.principal) throw new HttpError(401, 'unauthorized', 'not authenticated');
    return req.principal;
  };
  const admin = (req: FastifyRequest): Principal => {
    const p = principal(req);
    if (p.role !== 'admin') throw new HttpError(403, 'forbidden', 'this route is for the admin only');
    return p;
  };
  const annotator = (req: FastifyRequest): Principal & { annotatorId: number } => {
    const p = principal(req);
    if (p.annotatorId === null)
      throw new HttpError(403, 'forbidden', 'this route is for annotators (log in with an annotator token)');
    return p as Principal & { annotatorId: number };
  };
  const project = async (req: FastifyRequest): Promise<Project> => {
    const name = parseInput(ProjectName, (req.params as { project?: unknown }).project, 'path.project');
    const p = await store.getProject(name);
    if (p === undefined) throw new HttpError(404, 'unknown_project', `no project "${name}"`);
    return p;
  };

  // ---- pages and docs ----
  const assets = loadStaticAssets();
  for (const [route, file] of [
    ['/login', 'login.html'],
    ['/annotate', 'annotate.html'],
    ['/admin', 'admin.html'],
  ] as const) {
    app.get(route, (_req, reply) => sendAsset(reply, file));
  }
  app.get('/', (_req, reply) => reply.redirect('/annotate'));
  app.get('/static/:file', (req, reply) => sendAsset(reply, String((req.params as { file: string }).file)));
  function sendAsset(reply: FastifyReply, file: string) {
    const a = assets.get(file);
    if (a === undefined) throw new HttpError(404, 'not_found', `no static file ${JSON.stringify(file)}`);
    return reply.header('cache-control', 'no-cache').type(a.type).send(a.body);
  }
  app.get('/favicon.ico', (_req, reply) => reply.code(204).send());
  app.get('/openapi.json', () => openApiDocument());
  app.get('/healthz', () => ({ ok: true, store: store.kind }));

  // ---- sessions ----
  app.post(
    '/api/login',
    {
      config: {
        rateLimit: {
          max: opts.loginPerMinute ?? 30,
          timeWindow: 60_000,
          keyGenerator: (r: FastifyRequest) => `login:${r.ip}`,
        },
      },
    },
    async (req, reply) => {
      const body = parseInput(LoginBody, req.body, 'body');
      const p = await auth.verify(body.token);
      if (!p) throw new HttpError(401, 'unauthorized', 'unknown token');
      const sid = randomToken();
      const csrf = randomToken();
      await store.createSession(sha256(sid), {
        annotatorId: p.annotatorId,
        csrf,
        expiresAt: now() + sessionMs,
      });
      reply.setCookie(SESSION_COOKIE, sid, {
        httpOnly: true,
        sameSite: 'strict',
        path: '/',
        secure: req.protocol === 'https',
        maxAge: Math.floor(sessionMs / 1000),
      });
      return { name: p.name, role: p.role, csrf };
    },
  );
  app.post('/api/logout', async (req, reply) => {
    const sid = req.cookies[SESSION_COOKIE];
    if (sid !== undefined) await store.deleteSession(sha256(sid));
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true };
  });
  app.get('/api/me', async (req) => {
    const p = principal(req);
    const sid = req.cookies[SESSION_COOKIE];
    const s =
      sid !== undefined && req.headers.authorization === undefined
        ? await store.getSession(sha256(sid), now())
        : undefined;
    return { name: p.name, role: p.role, csrf: s?.csrf ?? null };
  });

  // ---- admin: projects, annotators, tasks ----
  app.get('/api/projects', async (req) => {
    principal(req);
    return { projects: (await store.listProjects()).map(projectJson) };
  });
  app.post('/api/projects', async (req, reply) => {
    admin(req);
    const b = parseInput(CreateProjectBody, req.body, 'body');
    const p = await store.createProject(
      { name: b.name, description: b.description, k: b.k, leaseSeconds: b.lease_seconds },
      now(),
    );
    if (p === 'exists') throw new HttpError(409, 'project_exists', `project "${b.name}" exists`);
    return reply.code(201).send(projectJson(p));
  });
  app.get('/api/annotators', async (req) => {
    admin(req);
    return {
      annotators: (await store.listAnnotators()).map((a) => ({ name: a.name, created_at: a.createdAt })),
    };
  });
  app.post('/api/annotators', async (req, reply) => {
    admin(req);
    const b = parseInput(CreateAnnotatorBody, req.body, 'body');
    const { row, token } = newAnnotatorToken(b.name);
    const a = await store.createAnnotator(row, now());
    if (a === 'exists') throw new HttpError(409, 'annotator_exists', `annotator "${b.name}" exists`);
    return reply
      .code(201)
      .send({ name: a.name, token, note: 'the token is shown once; it is stored hashed' });
  });
  app.post('/api/projects/:project/tasks', { bodyLimit: PUSH_BODY_LIMIT }, async (req) => {
    admin(req);
    const p = await project(req);
    const b = parseInput(PushTasksBody, req.body, 'body');
    const seen = new Set<string>();
    for (const [i, t] of b.tasks.entries()) {
      if (seen.has(t.id))
        throw new HttpError(400, 'bad_request', `body.tasks.${i}.id: duplicate id "${t.id}" in this request`);
      seen.add(t.id);
    }
    const tasks = b.tasks.map((t) => ({
      extId: t.id,
      prompt: t.prompt,
      a: t.a,
      b: t.b,
      priority: t.priority,
      gold: t.gold as Verdict | null,
    }));
    const r = await store.pushTasks(p.id, tasks, now());
    if ('conflict' in r)
      throw new HttpError(
        409,
        'task_conflict',
        `task "${r.conflict}" exists with different content; nothing was written`,
      );
    return r;
  });
  app.post('/api/projects/:project/votes', async (req) => {
    admin(req);
    const p = await project(req);
    const b = parseInput(VotesBody, req.body, 'body');
    const votes = await store.taskVotes(p.id, b.ids);
    return {
      k: p.k,
      tasks: votes.map((v) => ({
        id: v.extId,
        votes: v.votes,
        n: sum(v.votes),
        majority: majorityVerdict(v.votes) ?? null,
      })),
    };
  });
  app.get('/api/projects/:project/labels', async (req) => {
    admin(req);
    const p = await project(req);
    const q = parseInput(LabelsQuery, req.query, 'query');
    const rows = await store.labelsSince(p.id, q.since, q.limit);
    return {
      labels: rows.map(annotationJson),
      next_cursor: rows.length > 0 ? rows[rows.length - 1].id : q.since,
    };
  });
  app.get('/api/projects/:project/export.jsonl', async (req, reply) => {
    admin(req);
    const p = await project(req);
    const lines: string[] = [];
    for (const { task, verdicts } of await store.tasksWithVerdicts(p.id)) {
      if (task.gold !== null) continue;
      const votes = { a: 0, b: 0, tie: 0, 'both-bad': 0 } as Record<Verdict, number>;
      for (const v of verdicts) votes[v]++;
      const m = majorityVerdict(votes);
      if (m !== 'a' && m !== 'b') continue;
      const [chosen, rejected] = m === 'a' ? [task.a, task.b] : [task.b, task.a];
      lines.push(JSON.stringify({ prompt: task.prompt, chosen, rejected, id: task.extId, votes }));
    }
    return reply
      .type('application/jsonl; charset=utf-8')
      .header('content-disposition', `attachment; filename="${p.name}.jsonl"`)
      .send(lines.map((l) => l + '\n').join(''));
  });
  app.get('/api/projects/:project/stats', async (req) => {
    admin(req);
    const p = await project(req);
    const [queue, rows] = await Promise.all([store.queueCounts(p.id, now()), store.annotations(p.id, null)]);
    return projectStats(p, queue, rows, now());
  });
  app.get('/api/projects/:project/plot.svg', async (req, reply) => {
    admin(req);
    const p = await project(req);
    return reply.type('image/svg+xml').send(throughputPlot(p, await store.annotations(p.id, null)));
  });

  // ---- annotators: next task, submit, own work ----
  app.post('/api/projects/:project/next', async (req) => {
    const me = annotator(req);
    const p = await project(req);
    if (req.body !== undefined && req.body !== null && Object.keys(req.body as object).length > 0) {
      throw new HttpError(400, 'bad_request', 'body: this route takes no body');
    }
    const lease = await store.nextTask(
      p.id,
      me.annotatorId,
      now(),
      p.leaseSeconds * 1000,
      randomInt(2) === 1,
    );
    const progress = {
      done: await store.countAnnotations(p.id, me.annotatorId),
      queue: (await store.queueCounts(p.id, now())).pending,
    };
    if (lease === undefined) return { task: null, progress };
    const [left, right] = lease.swapped ? [lease.task.b, lease.task.a] : [lease.task.a, lease.task.b];
    return {
      task: { id: lease.task.id, prompt: lease.task.prompt, left, right, lease_expires_at: lease.expiresAt },
      progress,
    };
  });
  app.post('/api/projects/:project/tasks/:task/annotations', async (req, reply) => {
    const me = annotator(req);
    const p = await project(req);
    const taskId = parseInput(TaskIdParam, (req.params as { task: string }).task, 'path.task');
    const b = parseInput(SubmitBody, req.body, 'body');
    const headerKey = req.headers['idempotency-key'];
    const key =
      b.idempotency_key ??
      (typeof headerKey === 'string' && headerKey.length >= 8 && headerKey.length <= 128 ? headerKey : null);
    const r = await store.submit({
      projectId: p.id,
      taskId,
      annotatorId: me.annotatorId,
      choice: b.choice as never,
      rationale: b.rationale,
      idempotencyKey: key,
      now: now(),
    });
    switch (r.kind) {
      case 'created':
      case 'replayed':
        return reply
          .code(r.kind === 'created' ? 201 : 200)
          .send({ id: r.annotationId, verdict_recorded: true, replayed: r.kind === 'replayed' });
      case 'unknown-task':
        throw new HttpError(404, 'unknown_task', `no task ${taskId} in project "${p.name}"`);
      case 'no-lease':
        throw new HttpError(
          409,
          'no_lease',
          `task ${taskId} is not leased to you: ask /next for a task first`,
        );
      case 'lease-expired':
        throw new HttpError(
          409,
          'lease_expired',
          `your lease on task ${taskId} expired; ask /next for a new task`,
        );
      case 'already-annotated':
        throw new HttpError(
          409,
          'already_annotated',
          `you already annotated task ${taskId} with a different answer`,
        );
      case 'key-reused':
        throw new HttpError(
          409,
          'idempotency_key_reused',
          'this idempotency key was used for a different submission',
        );
    }
  });
  app.get('/api/projects/:project/annotations', async (req) => {
    const me = principal(req);
    const p = await project(req);
    const q = parseInput(AnnotationsQuery, req.query, 'query');
    if (me.role !== 'admin' && q.annotator !== undefined && q.annotator !== me.name) {
      throw new HttpError(403, 'forbidden', 'annotators see only their own annotations');
    }
    let rows: AnnotationRow[];
    if (me.role === 'admin') {
      rows = await store.annotations(p.id, null);
      if (q.annotator !== undefined) rows = rows.filter((r) => r.annotator === q.annotator);
    } else rows = await store.annotations(p.id, me.annotatorId);
    return { annotations: rows.map(annotationJson) };
  });

  return app;
}

function sum(v: Record<Verdict, number>): number {
  return v.a + v.b + v.tie + v['both-bad'];
}

function projectJson(p: Project) {
  return {
    name: p.name,
    description: p.description,
    k: p.k,
    lease_seconds: p.leaseSeconds,
    created_at: p.createdAt,
  };
}

function annotationJson(r: AnnotationRow) {
  return {
    cursor: r.id,
    task_id: r.taskId,
    id: r.extId,
    annotator: r.annotator,
    verdict: r.verdict,
    shown_swapped: r.shownSwapped,
    rationale: r.rationale,
    gold: r.gold,
    created_at: r.createdAt,
  };
}
