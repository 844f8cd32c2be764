/** The OpenAPI 3.1 description served at /openapi.json (request bodies generated from the zod schemas). */
import { z } from 'zod';
import {
  AnnotatorAccessBody,
  CreateAnnotatorBody,
  CreateProjectBody,
  LoginBody,
  PushTasksBody,
  SubmitBody,
  UpdateProjectBody,
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
  '429': ok('rate limited, or too many failed authentications from this address or for this token'),
};
const query = (name: string, schema: Record<string, unknown>, description?: string) => ({
  name,
  in: 'query',
  schema,
  ...(description ? { description } : {}),
});
const annotatorName = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };
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
      '/api/logout': {
        post: {
          summary: 'End this browser session',
          security: admin,
          responses: { '200': ok('{ok}'), ...errors },
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
          summary: 'Create an annotator and its token, shown once (admin); optional expires_at (ms)',
          security: admin,
          requestBody: json(CreateAnnotatorBody),
          responses: { '201': ok('{name, state, expires_at, token}'), '409': ok('exists'), ...errors },
        },
      },
      '/api/annotators/{name}': {
        patch: {
          summary: 'Set or clear the token expiry (admin); effective at once, sessions included',
          security: admin,
          parameters: [annotatorName],
          requestBody: json(AnnotatorAccessBody),
          responses: { '200': ok('the annotator'), ...errors },
        },
      },
      '/api/annotators/{name}/revoke': {
        post: {
          summary: 'Revoke the annotator token (admin); refused at once; their sessions end',
          security: admin,
          parameters: [annotatorName],
          responses: { '200': ok('the annotator, state revoked'), ...errors },
        },
      },
      '/api/annotators/{name}/token': {
        post: {
          summary:
            'Rotate the annotator token (admin): a new token shown once; the old one and its sessions end',
          security: admin,
          parameters: [annotatorName],
          responses: { '200': ok('{name, state, token}'), ...errors },
        },
      },
      '/api/projects/{project}': {
        patch: {
          summary: 'Change the description or the guidelines (Markdown, shown to annotators) (admin)',
          security: admin,
          parameters: [project],
          requestBody: json(UpdateProjectBody),
          responses: { '200': ok('the project'), ...errors },
        },
      },
      '/api/projects/{project}/upload': {
        post: {
          summary: 'Upload tasks as a file (admin): JSONL, CSV or Parquet; same rules as a push',
          security: admin,
          parameters: [project, query('format', { enum: ['jsonl', 'csv', 'parquet'] })],
          requestBody: {
            required: true,
            content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
          },
          responses: {
            '200': ok('{inserted, existing, records}'),
            '409': ok('conflict; nothing written'),
            ...errors,
          },
        },
      },
      '/api/projects/{project}/undo': {
        post: {
          summary: "Withdraw the annotator's last answer while its lease runs; the task comes back on /next",
          security: admin,
          parameters: [project],
          responses: {
            '200': ok('{undone, task_id, annotation_id, progress}'),
            '409': ok('nothing to undo, or the lease ran out'),
            ...errors,
          },
        },
      },
      '/api/projects/{project}/explore': {
        get: {
          summary: 'Tasks with their annotations, filtered (admin)',
          security: admin,
          parameters: [
            project,
            query('status', { enum: ['any', 'pending', 'complete'] }),
            query('gold', { enum: ['any', 'only', 'none'] }),
            query('annotator', { type: 'string' }),
            query('agreement', { enum: ['any', 'unanimous', 'split', 'unlabelled'] }),
            query('kind', { enum: ['any', 'pair', 'ranking', 'rating'] }),
            query('offset', { type: 'integer', minimum: 0 }),
            query('limit', { type: 'integer', minimum: 1, maximum: 500 }),
          ],
          responses: { '200': ok('{total, offset, tasks}'), ...errors },
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
            '200': ok(
              '{task: {id, kind, prompt, metadata, lease_expires_at, left+right | responses | response+scale} | null, progress: {done, remaining}}',
            ),
            ...errors,
          },
        },
      },
      '/api/projects/{project}/tasks/{task}/annotations': {
        post: {
          summary:
            'Submit an answer for a leased task (annotator): choice (pair, or skip), ranking (positions as shown, best first) or ratings; idempotent per idempotency_key and per task',
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
            'Export JSONL (admin): kind=pair gives TRL {prompt, chosen, rejected} by majority; kind=ranking / rating give rankings / ratings; complete tasks only unless all=1',
          security: admin,
          parameters: [
            project,
            query('kind', { enum: ['pair', 'ranking', 'rating'] }),
            query('all', { enum: ['0', '1', 'true', 'false'] }, 'include tasks below k answers'),
          ],
          responses: { '200': ok('JSONL'), ...errors },
        },
      },
      '/api/projects/{project}/stats': {
        get: {
          summary:
            'Queue, throughput, per-annotator counts, gold accuracy, agreement with sample sizes and small-sample caveats (admin)',
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
