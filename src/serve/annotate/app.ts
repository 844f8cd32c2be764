/**
 * The annotation service (fastify): JSON API under /api, the annotator and admin pages, and
 * /openapi.json. Every input is validated before the store is called; every failure is a JSON
 * `{error, message}` with a 4xx/5xx status; the process never crashes on input.
 * Auth: `Authorization: Bearer <token>` (API clients) or the HttpOnly SameSite=Strict session cookie
 * set by POST /api/login (browsers), which must carry the session's CSRF token in `x-csrf-token` on
 * every state-changing request. Routes live in ./routes/ (one module per area); this file wires the
 * cross-cutting parts: errors, strict JSON, headers, limits, the request log and the auth hook.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import { randomUUID } from 'node:crypto';
import { GshfInputError } from '../../math/errors.js';
import { parseJsonStrict } from '../../math/json.js';
import { StoreInputError, type AnnotationStore } from '../../store/types.js';
import { Authenticator, AuthThrottle, sha256, type Principal, type ThrottleLimits } from './auth.js';
import { checkRole, SESSION_COOKIE, throttled, type AnnotateContext } from './context.js';
import { installRequestLog, type RequestLogSink } from './request-log.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerAnnotatorRoutes } from './routes/annotator.js';
import { registerPageRoutes } from './routes/pages.js';
import { registerResultRoutes } from './routes/results.js';
import { registerSessionRoutes } from './routes/session.js';
import { HttpError } from './validate.js';

export { SESSION_COOKIE } from './context.js';

export interface AnnotateAppOptions {
  store: AnnotationStore;
  adminToken: string;
  /** Requests per minute per client (token, session or IP). Default 1200. */
  rateLimitPerMinute?: number;
  /** Login attempts per minute per IP. Default 30. */
  loginPerMinute?: number;
  /** Failed-authentication limits per client address and per token. */
  authFailures?: ThrottleLimits;
  /** Session lifetime. Default 12 h. */
  sessionMs?: number;
  /** Clock (tests). */
  now?: () => number;
  /** Where request log lines go (none when absent). */
  requestLog?: RequestLogSink;
}

const BODY_LIMIT = 64 * 1024;
const ROUTES = new WeakMap<FastifyInstance, string[]>();

/** The routes an app built here registered, as `METHOD /path/:param` (for the OpenAPI check). */
export function routesOf(app: FastifyInstance): string[] {
  return [...(ROUTES.get(app) ?? [])];
}

export async function buildAnnotateApp(opts: AnnotateAppOptions): Promise<FastifyInstance> {
  const ctx: AnnotateContext = {
    store: opts.store,
    auth: new Authenticator(opts.store, opts.adminToken),
    throttle: new AuthThrottle(opts.authFailures),
    now: opts.now ?? Date.now,
    sessionMs: opts.sessionMs ?? 12 * 3600_000,
    loginPerMinute: opts.loginPerMinute ?? 30,
  };
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT,
    trustProxy: false,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
  });
  const routes: string[] = [];
  app.addHook('onRoute', (r) => {
    for (const m of [r.method].flat()) if (m !== 'HEAD') routes.push(`${m} ${r.url}`);
  });
  ROUTES.set(app, routes);
  installErrors(app);
  installStrictJson(app);
  installRequestLog(app, opts.requestLog);
  await installSecurity(app, opts.rateLimitPerMinute ?? 1200);
  installAuth(app, ctx);
  registerPageRoutes(app, ctx);
  registerSessionRoutes(app, ctx);
  registerAdminRoutes(app, ctx);
  registerAnnotatorRoutes(app, ctx);
  registerResultRoutes(app, ctx);
  return app;
}

function installErrors(app: FastifyInstance): void {
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (err instanceof HttpError) {
      if (err.retryAfterS !== undefined) reply.header('retry-after', err.retryAfterS);
      return reply.code(err.status).send({ error: err.code, message: err.message });
    }
    if (err instanceof StoreInputError)
      return reply.code(400).send({ error: 'bad_request', message: `body.${err.message}` });
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      req.failure = `${err.name}: ${err.message}`;
      return reply.code(500).send({
        error: 'internal',
        message: `internal error (logged on the server with request id ${req.id})`,
        request_id: req.id,
      });
    }
    return reply
      .code(status)
      .send({ error: (err.code ?? 'bad_request').toLowerCase(), message: err.message });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` }),
  );
}

/** JSON bodies through the project's strict reader (duplicate keys are errors); nothing else but uploads. */
function installStrictJson(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, parseJsonStrict(text, 'body'));
    } catch (e) {
      const msg = e instanceof GshfInputError ? e.message : 'invalid JSON';
      done(new HttpError(400, 'bad_request', msg), undefined);
    }
  });
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );
}

async function installSecurity(app: FastifyInstance, perMinute: number): Promise<void> {
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
    max: perMinute,
    timeWindow: 60_000,
    keyGenerator: (req) => {
      const bearer = req.headers.authorization;
      const sess = req.cookies?.[SESSION_COOKIE];
      return bearer ? `t:${sha256(bearer)}` : sess ? `s:${sha256(sess)}` : `ip:${req.ip}`;
    },
    errorResponseBuilder: (_req, c) => ({
      statusCode: 429,
      error: 'rate_limited',
      message: `rate limit: at most ${c.max} requests per minute; retry in ${Math.ceil(c.ttl / 1000)} s`,
    }),
  });
}

/**
 * The auth hook: decided by the matched route's `access` (fastify matched the decoded path), so a
 * percent-encoded or otherwise disguised URL gets the same check as the plain one. Unmatched URLs
 * fall through to the 404 handler.
 */
function installAuth(app: FastifyInstance, ctx: AnnotateContext): void {
  app.addHook('preHandler', async (req) => {
    if (req.routeOptions.url === undefined) return;
    const access = req.routeOptions.config.access ?? 'any';
    if (access === 'public' || access === 'login') return;
    req.principal = await authenticate(ctx, req);
    checkRole(req.principal, access);
  });
}

async function authenticate(ctx: AnnotateContext, req: FastifyRequest): Promise<Principal> {
  const now = ctx.now();
  const header = req.headers.authorization;
  if (header !== undefined) {
    const token = /^Bearer (\S{1,512})$/.exec(header)?.[1];
    const keys = ctx.throttle.keys(req.ip, token);
    if (token === undefined || !ctx.auth.knownGood(token)) throttled(ctx, keys);
    const p = token === undefined ? undefined : await ctx.auth.verify(token, now);
    if (p === undefined) {
      ctx.throttle.fail(keys, now);
      throw new HttpError(401, 'unauthorized', 'missing, wrong, revoked or expired bearer token');
    }
    return p;
  }
  const sid = req.cookies[SESSION_COOKIE];
  if (sid === undefined) throw new HttpError(401, 'unauthorized', 'log in first (no token and no session)');
  const s = await ctx.store.getSession(sha256(sid), now);
  if (s === undefined) throw new HttpError(401, 'unauthorized', 'session expired or unknown: log in again');
  if (req.method !== 'GET' && req.method !== 'HEAD' && req.headers['x-csrf-token'] !== s.csrf) {
    throw new HttpError(403, 'csrf', 'missing or wrong x-csrf-token header for this session');
  }
  const p = await ctx.auth.sessionPrincipal(s, now);
  if (p === undefined) {
    await ctx.store.deleteSession(sha256(sid));
    throw new HttpError(401, 'unauthorized', 'session ended: its token was rotated, revoked or expired');
  }
  return p;
}
