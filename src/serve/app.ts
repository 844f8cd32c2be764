/**
 * The fastify instance both servers start from: OpenAI-shaped errors for everything (bad JSON,
 * wrong media type, body too large, unknown URL, internal errors) and optional bearer-key auth on
 * every route but /health. The key is kept only as a SHA-256 digest and compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { ApiError } from './errors.js';

export interface AppOptions {
  /** The API key clients must present as `Authorization: Bearer <key>` (none = open). */
  apiKey?: string;
  /** Max request body in bytes (default 4 MiB). */
  bodyLimit?: number;
  /** fastify request logging to stdout (default off). */
  logger?: boolean;
}

export function createApp(opts: AppOptions): FastifyInstance {
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: opts.bodyLimit ?? 4 * 1024 * 1024 });
  installErrorHandlers(app);
  if (opts.apiKey) requireKey(app, opts.apiKey);
  return app;
}

function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    let api: ApiError;
    if (err instanceof ApiError) api = err;
    else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      api = new ApiError(
        415,
        'invalid_request_error',
        'Send the body as JSON (Content-Type: application/json).',
      );
    else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      api = new ApiError(413, 'invalid_request_error', 'The request body is too large.');
    else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)
      api = new ApiError(
        err.statusCode,
        'invalid_request_error',
        `We could not parse the JSON body of your request: ${err.message}`,
        null,
        'invalid_json',
      );
    else api = new ApiError(500, 'server_error', `Internal error: ${err.message}`);
    void reply.status(api.status).send(api.body());
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new ApiError(
      404,
      'not_found_error',
      `Unknown request URL: ${req.method} ${req.url}`,
      null,
      'unknown_url',
    );
    void reply.status(404).send(e.body());
  });
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

function requireKey(app: FastifyInstance, key: string): void {
  const want = digest(key);
  app.addHook('onRequest', async (req) => {
    if (req.url === '/health') return;
    const h = req.headers.authorization ?? '';
    const got = digest(h.startsWith('Bearer ') ? h.slice(7) : '');
    if (!timingSafeEqual(want, got))
      throw new ApiError(
        401,
        'authentication_error',
        'Incorrect or missing API key (send Authorization: Bearer <key>).',
        null,
        'invalid_api_key',
      );
  });
}
