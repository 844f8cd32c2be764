/**
 * `gshf serve`: the preference-annotation service (see docs/annotation-service.md), and the
 * annotator token commands: `gshf serve token add|rotate|revoke --annotator NAME` (add and rotate
 * print the token once; revoke takes effect at once on a running server).
 */
import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { requestLogTo } from '../serve/annotate/request-log.js';
import {
  addAnnotatorToken,
  revokeAnnotatorToken,
  rotateAnnotatorTokenIn,
  startAnnotateServer,
} from '../serve/annotate/server.js';
import { parseDbUrl } from '../store/types.js';

const DEFAULT_DB = 'sqlite:gshf-annotate.db';

const Port = z.coerce.number().int().min(0).max(65535);
const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_", "-" (≤ 64)');

const IsoTime = z
  .string()
  .refine((v) => Number.isFinite(Date.parse(v)), 'not an ISO 8601 date/time')
  .transform((v) => Date.parse(v));

function checked<T>(schema: z.ZodType<T>, value: unknown, flag: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`${flag} ${JSON.stringify(value)}: ${r.error.issues[0].message}`);
  return r.data;
}

export function registerServeAnnotateCommands(program: Command): void {
  const serve = program
    .command('serve')
    .description('Run the preference-annotation service (annotator and admin pages, JSON API, /openapi.json)')
    .option('--db <db>', 'store: sqlite:PATH or postgres://…', DEFAULT_DB)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0 = any free port)', '8787')
    .option('--admin-token-env <name>', 'env var holding the admin token (≥ 16 chars)', 'GSHF_ADMIN_TOKEN')
    .option('--rate-limit <n>', 'requests per minute per client', '1200')
    .option(
      '--request-log <path>',
      'request log (JSON lines; every 5xx with its request id): a file, or - for stderr',
      '-',
    )
    .option('--no-request-log', 'do not write the request log')
    .action(
      async (o: {
        db: string;
        host: string;
        port: string;
        adminTokenEnv: string;
        rateLimit: string;
        requestLog: string | false;
      }) => {
        parseDbUrl(o.db);
        const port = checked(Port, o.port, '--port');
        const rateLimitPerMinute = checked(z.coerce.number().int().min(1), o.rateLimit, '--rate-limit');
        let adminToken = process.env[o.adminTokenEnv];
        if (adminToken === undefined || adminToken === '') {
          adminToken = randomBytes(24).toString('base64url');
          process.stdout.write(
            `${o.adminTokenEnv} is not set; admin token for this run (shown once): ${adminToken}\n`,
          );
        }
        const srv = await startAnnotateServer({
          db: o.db,
          host: o.host,
          port,
          adminToken,
          rateLimitPerMinute,
          requestLog: o.requestLog === false ? undefined : requestLogTo(o.requestLog),
        });
        process.stdout.write(`annotation service on ${srv.url} (store: ${srv.store.kind})\n`);
        process.stdout.write(
          `  annotators: ${srv.url}/annotate   admin: ${srv.url}/admin   API: ${srv.url}/openapi.json\n`,
        );
        const stop = () => {
          srv.close().then(
            () => process.exit(0),
            () => process.exit(1),
          );
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      },
    );

  const token = serve
    .command('token')
    .description('Annotator tokens (in the store given to `gshf serve --db`)');
  const dbOf = (cmd: Command) => {
    const db = String(cmd.optsWithGlobals().db ?? DEFAULT_DB);
    parseDbUrl(db);
    return db;
  };
  const storeHelp =
    '\nThe store is the one given to `gshf serve --db` (e.g. gshf serve --db sqlite:x.db token add …).';
  token
    .command('add')
    .description('Create an annotator and print their token (once; it is stored hashed)')
    .requiredOption('--annotator <name>', 'annotator name (unique)')
    .option('--expires <iso-date>', 'the token stops working at this time (ISO 8601, e.g. 2027-01-31)')
    .addHelpText('after', storeHelp)
    .action(async (o: { annotator: string; expires?: string }, cmd: Command) => {
      const name = checked(Name, o.annotator, '--annotator');
      const expiresAt = o.expires === undefined ? null : checked(IsoTime, o.expires, '--expires');
      const t = await addAnnotatorToken(dbOf(cmd), name, expiresAt);
      process.stdout.write(`${t}\n`);
      process.stderr.write(`annotator "${name}" created; give them this token (it is not shown again)\n`);
    });
  token
    .command('rotate')
    .description(
      'Replace an annotator token (the old token and its sessions stop working); print the new one once',
    )
    .requiredOption('--annotator <name>', 'annotator name')
    .addHelpText('after', storeHelp)
    .action(async (o: { annotator: string }, cmd: Command) => {
      const name = checked(Name, o.annotator, '--annotator');
      process.stdout.write(`${await rotateAnnotatorTokenIn(dbOf(cmd), name)}\n`);
      process.stderr.write(`annotator "${name}": new token above; the old one no longer works\n`);
    });
  token
    .command('revoke')
    .description('Revoke an annotator token: refused at once, on a running server too; their sessions end')
    .requiredOption('--annotator <name>', 'annotator name')
    .addHelpText('after', storeHelp)
    .action(async (o: { annotator: string }, cmd: Command) => {
      const name = checked(Name, o.annotator, '--annotator');
      await revokeAnnotatorToken(dbOf(cmd), name);
      process.stdout.write(`annotator "${name}": token revoked\n`);
    });
}
