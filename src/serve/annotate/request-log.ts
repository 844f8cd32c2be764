/**
 * The request log: one JSON line per request with a request id (also sent as `x-request-id`, and in
 * the body of every 5xx), method, path without the query, matched route, status and time. A 5xx
 * line also carries the error's name and message. Headers, bodies and query strings are never
 * written, so tokens, cookies and CSRF values cannot reach the log.
 */
import type { FastifyInstance } from 'fastify';
import { createWriteStream } from 'node:fs';

export interface RequestLogEntry {
  time: string;
  id: string;
  method: string;
  path: string;
  route: string | null;
  status: number;
  ms: number;
  error?: string;
}

export type RequestLogSink = (entry: RequestLogEntry) => void;

declare module 'fastify' {
  interface FastifyRequest {
    failure?: string;
  }
}

/** A sink writing JSON lines to a file (`-` = stderr). The file is created 0600. */
export function requestLogTo(path: string): RequestLogSink {
  const out = path === '-' ? process.stderr : createWriteStream(path, { flags: 'a', mode: 0o600 });
  return (e) => void out.write(JSON.stringify(e) + '\n');
}

export function installRequestLog(app: FastifyInstance, sink: RequestLogSink | undefined): void {
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  if (sink === undefined) return;
  app.addHook('onResponse', async (req, reply) => {
    const entry: RequestLogEntry = {
      time: new Date().toISOString(),
      id: String(req.id),
      method: req.method,
      path: req.url.split('?')[0].slice(0, 300),
      route: req.routeOptions.url ?? null,
      status: reply.statusCode,
      ms: +reply.elapsedTime.toFixed(1),
    };
    if (reply.statusCode >= 500) entry.error = (req.failure ?? 'unknown error').slice(0, 500);
    sink(entry);
  });
}
