/**
 * `gshf serve`: the preference-annotation service (see docs/annotation-service.md), and
 * `gshf serve token add --annotator NAME`: a new annotator token, printed once.
 */
import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { addAnnotatorToken, startAnnotateServer } from '../serve/annotate/server.js';
import { parseDbUrl } from '../store/types.js';

const DEFAULT_DB = 'sqlite:gshf-annotate.db';

const Port = z.coerce.number().int().min(0).max(65535);
const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_", "-" (≤ 64)');

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
    .action(
      async (o: { db: string; host: string; port: string; adminTokenEnv: string; rateLimit: string }) => {
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

  serve
    .command('token')
    .description('Annotator tokens')
    .command('add')
    .description('Create an annotator and print their token (once; it is stored hashed)')
    .requiredOption('--annotator <name>', 'annotator name (unique)')
    .addHelpText(
      'after',
      '\nThe store is the one given to `gshf serve --db` (e.g. gshf serve --db sqlite:x.db token add …).',
    )
    .action(async (o: { annotator: string }, cmd: Command) => {
      const name = checked(Name, o.annotator, '--annotator');
      const db = String(cmd.optsWithGlobals().db ?? DEFAULT_DB);
      parseDbUrl(db);
      const token = await addAnnotatorToken(db, name);
      process.stdout.write(`${token}\n`);
      process.stderr.write(`annotator "${name}" created; give them this token (it is not shown again)\n`);
    });
}
