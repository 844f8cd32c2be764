/** Public routes: the pages, their static files, /openapi.json and /healthz. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AnnotateContext } from '../context.js';
import { openApiDocument } from '../openapi.js';
import { loadStaticAssets } from '../pages.js';
import { HttpError } from '../validate.js';

export function registerPageRoutes(app: FastifyInstance, ctx: AnnotateContext): void {
  const assets = loadStaticAssets();
  const sendAsset = (reply: FastifyReply, file: string) => {
    const a = assets.get(file);
    if (a === undefined) throw new HttpError(404, 'not_found', `no static file ${JSON.stringify(file)}`);
    return reply.header('cache-control', 'no-cache').type(a.type).send(a.body);
  };
  const config = { access: 'public' as const };
  for (const [route, file] of [
    ['/login', 'login.html'],
    ['/annotate', 'annotate.html'],
    ['/admin', 'admin.html'],
  ] as const) {
    app.get(route, { config }, (_req, reply) => sendAsset(reply, file));
  }
  app.get('/', { config }, (_req, reply) => reply.redirect('/annotate'));
  app.get('/static/:file', { config }, (req, reply) =>
    sendAsset(reply, String((req.params as { file: string }).file)),
  );
  app.get('/favicon.ico', { config }, (_req, reply) => reply.code(204).send());
  app.get('/openapi.json', { config }, () => openApiDocument());
  app.get('/healthz', { config }, () => ({ ok: true, store: ctx.store.kind }));
}
