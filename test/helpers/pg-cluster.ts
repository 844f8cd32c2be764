/**
 * A throwaway PostgreSQL cluster for tests and benchmarks: initdb into a temp dir, start on a free
 * loopback port (unix socket inside the temp dir), stop and delete afterwards. As root, the server
 * runs as the `postgres` user (PostgreSQL refuses to run as root). Returns undefined when the
 * binaries are missing, unless GSHF_EXPECT_PG=1 (set by scripts/test.sh when the install script
 * installed PostgreSQL), in which case it throws so CI fails instead of skipping.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface PgCluster {
  url: string;
  stop(): void;
}

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0], 'bin') : undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function postgresUid(): { uid: number; gid: number } | undefined {
  try {
    const out = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
    const gid = execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
    return { uid: Number(out), gid: Number(gid) };
  } catch {
    return undefined;
  }
}

export async function startPgCluster(opts: { fsync?: boolean } = {}): Promise<PgCluster | undefined> {
  const bin = binDir();
  if (bin === undefined) {
    if (process.env.GSHF_EXPECT_PG === '1')
      throw new Error('GSHF_EXPECT_PG=1 but PostgreSQL binaries are missing');
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'gshf-pg-'));
  const asRoot = userInfo().uid === 0;
  const pgUser = asRoot ? postgresUid() : undefined;
  if (asRoot && pgUser === undefined) throw new Error('running as root but there is no postgres user');
  if (pgUser) chownSync(dir, pgUser.uid, pgUser.gid);
  const run = (cmd: string, args: string[]) =>
    execFileSync(
      asRoot ? 'runuser' : join(bin, cmd),
      asRoot ? ['-u', 'postgres', '--', join(bin, cmd), ...args] : args,
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 60_000,
      },
    );
  const data = join(dir, 'data');
  const port = await freePort();
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'gshf', '-E', 'UTF8', '--no-sync', '--locale=C']);
  const settings = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${dir}`,
    '-c max_connections=100',
    ...(opts.fsync === false ? ['-c fsync=off', '-c synchronous_commit=off'] : []),
  ].join(' ');
  run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', settings, '-w', '-t', '60', 'start']);
  let stopped = false;
  return {
    url: `postgres://gshf@127.0.0.1:${port}/postgres`,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
