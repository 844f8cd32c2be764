/**
 * What the route modules share: the store, the authenticator and throttle, the clock, and the
 * guards that turn the authenticated principal (set by the auth hook in app.ts) into a role check.
 * Each route declares who may call it in `config.access`; the auth hook decides on that (the route
 * fastify matched after decoding the path), never on the raw URL.
 */
import type { FastifyRequest } from 'fastify';
import type { AnnotationStore, Project } from '../../store/types.js';
import type { AuthThrottle, Authenticator, Principal } from './auth.js';
import { ProjectName } from './schemas.js';
import { HttpError, parseInput } from './validate.js';

/**
 * `public`: pages, docs, health; `login`: authenticates itself; `any`: any valid credential;
 * `admin` / `annotator`: that role only. A route without `access` is `any`.
 */
export type Access = 'public' | 'login' | 'any' | 'admin' | 'annotator';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

export interface AnnotateContext {
  store: AnnotationStore;
  auth: Authenticator;
  throttle: AuthThrottle;
  now: () => number;
  sessionMs: number;
  loginPerMinute: number;
}

export const SESSION_COOKIE = 'gshf_session';

export function principal(req: FastifyRequest): Principal {
  if (!req.principal) throw new HttpError(401, 'unauthorized', 'not authenticated');
  return req.principal;
}

/** The calling annotator (the auth hook has checked the role for `access: 'annotator'` routes). */
export function annotatorOf(req: FastifyRequest): Principal & { annotatorId: number } {
  const p = principal(req);
  if (p.annotatorId === null)
    throw new HttpError(403, 'forbidden', 'this route is for annotators (log in with an annotator token)');
  return p as Principal & { annotatorId: number };
}

/** The project named in the path, or 404. */
export async function projectOf(ctx: AnnotateContext, req: FastifyRequest): Promise<Project> {
  const name = parseInput(ProjectName, (req.params as { project?: unknown }).project, 'path.project');
  const p = await ctx.store.getProject(name);
  if (p === undefined) throw new HttpError(404, 'unknown_project', `no project "${name}"`);
  return p;
}

/** Checks that the principal may call a route with this access level. */
export function checkRole(p: Principal, access: Access): void {
  if (access === 'admin' && p.role !== 'admin')
    throw new HttpError(403, 'forbidden', 'this route is for the admin only');
  if (access === 'annotator' && p.annotatorId === null)
    throw new HttpError(403, 'forbidden', 'this route is for annotators (log in with an annotator token)');
}

/** Refuses an attempt whose address or token is over its failure budget, before any hashing. */
export function throttled(ctx: AnnotateContext, keys: readonly string[]): void {
  const wait = ctx.throttle.retryAfter(keys, ctx.now());
  if (wait > 0) {
    const s = Math.ceil(wait / 1000);
    throw new HttpError(429, 'auth_throttled', `too many failed authentications; retry in ${s} s`, s);
  }
}
