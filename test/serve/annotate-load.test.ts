// Bounded versions of the load test (bench/serve/annotate-load.ts) on loopback, against a real
// `gshf serve` child process, for SQLite and PostgreSQL: concurrent annotators, 0 lost, 0
// duplicated; 200 concurrent annotators for GSHF_LOAD_SECONDS (default 5; the benchmark in
// BENCHMARKS.md runs the same code for 60 s) with exactly-once checked, not timed; and SIGKILL of
// the server under load, restart: every 2xx submission is there once.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAnnotators, setupLoad, spawnServer, verifyAcks } from '../../bench/serve/annotate-load.js';
import { startPgCluster } from '../helpers/pg-cluster.js';

async function withDb(
  kind: 'sqlite' | 'postgres',
  fn: (db: string) => Promise<void>,
  skip: (m: string) => void,
) {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-loadtest-'));
  const cluster = kind === 'postgres' ? await startPgCluster({ fsync: false }) : undefined;
  try {
    if (kind === 'postgres' && cluster === undefined) return skip('PostgreSQL is not installed');
    await fn(kind === 'sqlite' ? `sqlite:${join(dir, 'a.db')}` : (cluster?.url as string));
  } finally {
    cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`annotation service under load: ${kind}`, { timeout: 900_000 }, () => {
    test('8 concurrent annotators drain 40 tasks × k=2: 80 submissions, 0 lost, 0 duplicated', async (t) => {
      await withDb(
        kind,
        async (db) => {
          const srv = await spawnServer(db);
          try {
            const tokens = await setupLoad(srv.url, { project: 'lt', annotators: 8, tasks: 40, k: 2 });
            const r = await runAnnotators(srv.url, 'lt', tokens);
            assert.equal(r.errors, 0);
            assert.equal(r.acks.length, 80); // every task got exactly k = 2 annotations
            assert.ok(r.replays > 0);
            assert.equal(r.replayMismatches, 0); // replays answered with the first id, 200
            assert.deepEqual(await verifyAcks(srv.url, 'lt', r.acks), { labels: 80, lost: 0, duplicated: 0 });
            const perTask = new Map<number, Set<number>>();
            for (const a of r.acks)
              perTask.set(a.taskId, (perTask.get(a.taskId) ?? new Set()).add(a.annotator));
            assert.equal(perTask.size, 40);
            for (const who of perTask.values()) assert.equal(who.size, 2); // two different people per task
          } finally {
            await srv.stop();
          }
        },
        (m) => t.skip(m),
      );
    });

    test('200 concurrent annotators for a fixed time: every acknowledged submission once, no errors', async (t) => {
      const seconds = Number(process.env.GSHF_LOAD_SECONDS ?? '5');
      await withDb(
        kind,
        async (db) => {
          const srv = await spawnServer(db);
          try {
            const tokens = await setupLoad(srv.url, { project: 'many', annotators: 200, tasks: 4000, k: 2 });
            const r = await runAnnotators(srv.url, 'many', tokens, { seconds });
            assert.equal(r.errors, 0);
            assert.ok(r.acks.length > 0);
            assert.equal(r.replayMismatches, 0);
            assert.deepEqual(await verifyAcks(srv.url, 'many', r.acks), {
              labels: r.acks.length,
              lost: 0,
              duplicated: 0,
            });
            const perTask = new Map<number, Set<number>>();
            for (const a of r.acks)
              perTask.set(a.taskId, (perTask.get(a.taskId) ?? new Set()).add(a.annotator));
            for (const who of perTask.values()) assert.ok(who.size <= 2); // never more than k people per task
            assert.equal(
              [...perTask.values()].reduce((n, w) => n + w.size, 0),
              r.acks.length,
            ); // nobody answered one task twice
          } finally {
            await srv.stop();
          }
        },
        (m) => t.skip(m),
      );
    });

    test('SIGKILL under load, restart: every acknowledged submission is there, none twice', async (t) => {
      await withDb(
        kind,
        async (db) => {
          const srv = await spawnServer(db);
          let r;
          try {
            const tokens = await setupLoad(srv.url, { project: 'kill', annotators: 6, tasks: 100, k: 2 });
            r = await runAnnotators(srv.url, 'kill', tokens, {
              stopAfterAcks: 40,
              onStop: () => srv.child.kill('SIGKILL'),
            });
          } finally {
            await srv.stop();
          }
          assert.equal(srv.child.signalCode, 'SIGKILL');
          assert.ok(r.acks.length >= 40);
          const again = await spawnServer(db);
          try {
            const v = await verifyAcks(again.url, 'kill', r.acks);
            assert.equal(v.lost, 0);
            assert.equal(v.duplicated, 0);
            // In-flight submissions may have committed without their reply arriving: at most one per annotator.
            assert.ok(
              v.labels >= r.acks.length && v.labels <= r.acks.length + 6,
              `${v.labels} vs ${r.acks.length}`,
            );
          } finally {
            await again.stop();
          }
        },
        (m) => t.skip(m),
      );
    });
  });
}
