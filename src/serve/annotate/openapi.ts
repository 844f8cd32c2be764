/** The OpenAPI 3.1 description served at /openapi.json (request bodies generated from the zod schemas). */
import { z } from 'zod';
import {
  CreateAnnotatorBody,
  CreateProjectBody,
  LoginBody,
  PushTasksBody,
  SubmitBody,
  VotesBody,
} from './schemas.js';

const json = (schema: z.ZodType) => ({
  required: true,
  content: { 'application/json': { schema: z.toJSONSchema(schema, { io: 'input' }) } },
});
const ok = (description: string) => ({ description });
const errors = {
  '400': ok('invalid input: {error, message} naming the field'),
  '401': ok('missing or wrong token / session'),
  '403': ok('wrong role, or missing CSRF token on a cookie session'),
  '404': ok('unknown project or task'),
  '429': ok('rate limited'),
};
const project = { name: 'project', in: 'path', required: true, schema: { type: 'string' } };
const admin = [{ bearer: [] }, { session: [] }];

export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'gshf annotation service',
      version: '1',
      description:
        'Preference annotation: the admin pushes pairs, annotators label them (k per pair), the loop pulls labels. ' +
        'Verdicts are always in the pushed a/b order. Cookie sessions need x-csrf-token on POST.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        session: { type: 'apiKey', in: 'cookie', name: 'gshf_session' },
      },
    },
    paths: {
      '/api/login': {
        post: {
          summary: 'Start a browser session (sets an HttpOnly cookie; returns the CSRF token)',
          requestBody: json(LoginBody),
          responses: { '200': ok('{name, role, csrf}'), ...errors },
        },
      },
      '/api/me': {
        get: {
          summary: 'Who am I',
          security: admin,
          responses: { '200': ok('{name, role, csrf}'), ...errors },
        },
      },
      '/api/projects': {
        get: { summary: 'List projects', security: admin, responses: { '200': ok('{projects}'), ...errors } },
        post: {
          summary: 'Create a project (admin)',
          security: admin,
          requestBody: json(CreateProjectBody),
          responses: { '201': ok('the project'), '409': ok('exists'), ...errors },
        },
      },
      '/api/annotators': {
        get: {
          summary: 'List annotators (admin)',
          security: admin,
          responses: { '200': ok('{annotators}'), ...errors },
        },
        post: {
          summary: 'Create an annotator and its token, shown once (admin)',
          security: admin,
          requestBody: json(CreateAnnotatorBody),
          responses: { '201': ok('{name, token}'), '409': ok('exists'), ...errors },
        },
      },
      '/api/projects/{project}/tasks': {
        post: {
          summary:
            'Push tasks (admin); idempotent per id; priority = enhancer uncertainty (higher first); gold = known answer',
          security: admin,
          parameters: [project],
          requestBody: json(PushTasksBody),
          responses: {
            '200': ok('{inserted, existing}'),
            '409': ok('an id exists with different content; nothing written'),
            '413': ok('body too large'),
            ...errors,
          },
        },
      },
      '/api/projects/{project}/next': {
        post: {
          summary:
            'Lease the next task (annotator); the same open lease is returned until answered or expired',
          security: admin,
          parameters: [project],
          responses: {
            '200': ok('{task: {id, prompt, left, right, lease_expires_at} | null, progress}'),
            ...errors,
          },
        },
      },
      '/api/projects/{project}/tasks/{task}/annotations': {
        post: {
          summary:
            'Submit an answer for a leased task (annotator); idempotent per idempotency_key and per task',
          security: admin,
          parameters: [project, { name: 'task', in: 'path', required: true, schema: { type: 'integer' } }],
          requestBody: json(SubmitBody),
          responses: {
            '201': ok('recorded'),
            '200': ok('a replay of a recorded answer (not counted twice)'),
            '409': ok('no lease, lease expired, already annotated, key reused'),
            ...errors,
          },
        },
      },
      '/api/projects/{project}/annotations': {
        get: {
          summary: 'Annotations: annotators see only their own; the admin sees all (?annotator=)',
          security: admin,
          parameters: [project],
          responses: { '200': ok('{annotations}'), ...errors },
        },
      },
      '/api/projects/{project}/votes': {
        post: {
          summary: 'Vote counts and majority per task id (admin; used by the loop)',
          security: admin,
          parameters: [project],
          requestBody: json(VotesBody),
          responses: { '200': ok('{k, tasks: [{id, votes, n, majority}]}'), ...errors },
        },
      },
      '/api/projects/{project}/labels': {
        get: {
          summary: 'Labels since a cursor (admin), ascending; skips excluded',
          security: admin,
          parameters: [
            project,
            { name: 'since', in: 'query', schema: { type: 'integer', minimum: 0 } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 10000 } },
          ],
          responses: { '200': ok('{labels, next_cursor}'), ...errors },
        },
      },
      '/api/projects/{project}/export.jsonl': {
        get: {
          summary:
            'TRL preference JSONL {prompt, chosen, rejected} by majority (admin; ties, both-bad and gold omitted)',
          security: admin,
          parameters: [project],
          responses: { '200': ok('JSONL'), ...errors },
        },
      },
      '/api/projects/{project}/stats': {
        get: {
          summary: 'Queue, throughput, per-annotator counts, gold accuracy, agreement (admin)',
          security: admin,
          parameters: [project],
          responses: { '200': ok('stats'), ...errors },
        },
      },
      '/api/projects/{project}/plot.svg': {
        get: {
          summary: 'Labels over time (admin, SVG)',
          security: admin,
          parameters: [project],
          responses: { '200': ok('SVG'), ...errors },
        },
      },
    },
  };
}
