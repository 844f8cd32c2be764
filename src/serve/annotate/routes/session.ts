/** Browser sessions: log in with a token (bound to that credential), log out, who am I. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { randomToken, sha256 } from '../auth.js';
import { principal, SESSION_COOKIE, throttled, type AnnotateContext } from '../context.js';
import { LoginBody } from '../schemas.js';
import { HttpError, parseInput } from '../validate.js';

export function registerSessionRoutes(app: FastifyInstance, ctx: AnnotateContext): void {
  const loginLimit = {
    max: ctx.loginPerMinute,
    timeWindow: 60_000,
    keyGenerator: (r: FastifyRequest) => `login:${r.ip}`,
  };
  app.post('/api/login', { config: { access: 'login', rateLimit: loginLimit } }, async (req, reply) => {
    const body = parseInput(LoginBody, req.body, 'body');
    const now = ctx.now();
    const keys = ctx.throttle.keys(req.ip, body.token);
    throttled(ctx, keys);
    const p = await ctx.auth.verify(body.token, now);
    if (!p) {
      ctx.throttle.fail(keys, now);
      throw new HttpError(401, 'unauthorized', 'unknown, revoked or expired token');
    }
    const sid = randomToken();
    const csrf = randomToken();
    await ctx.store.createSession(sha256(sid), {
      annotatorId: p.annotatorId,
      credential: p.credential,
      csrf,
      expiresAt: now + ctx.sessionMs,
    });
    reply.setCookie(SESSION_COOKIE, sid, {
      httpOnly: true,
      sameSite: 'strict',
      path: '/',
      secure: req.protocol === 'https',
      maxAge: Math.floor(ctx.sessionMs / 1000),
    });
    return { name: p.name, role: p.role, csrf };
  });
  app.post('/api/logout', async (req, reply) => {
    const sid = req.cookies[SESSION_COOKIE];
    if (sid !== undefined) await ctx.store.deleteSession(sha256(sid));
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true };
  });
  app.get('/api/me', async (req) => {
    const p = principal(req);
    const sid = req.cookies[SESSION_COOKIE];
    const s =
      sid !== undefined && req.headers.authorization === undefined
        ? await ctx.store.getSession(sha256(sid), ctx.now())
        : undefined;
    return { name: p.name, role: p.role, csrf: s?.csrf ?? null };
  });
}
