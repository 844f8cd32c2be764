// The same suite against both stores: SQLite (always) and PostgreSQL (a throwaway cluster; skipped
// only when PostgreSQL is not installed and GSHF_EXPECT_PG is not 1).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type AnnotationStore, type NewTask } from '../../src/store/index.js';
import { startPgCluster, type PgCluster } from '../helpers/pg-cluster.js';

const T0 = 1_700_000_000_000;
const task = (extId: string, priority = 0, gold: NewTask['gold'] = null): NewTask => ({
  extId,
  prompt: `prompt ${extId}`,
  a: `a ${extId}`,
  b: `b ${extId}`,
  priority,
  gold,
});

async function annotators(s: AnnotationStore, names: string[]): Promise<number[]> {
  const ids: number[] = [];
  for (const n of names) {
    const a = await s.createAnnotator(
      { name: n, tokenId: `tok${n}`.padEnd(12, '0'), salt: '00', hash: '00' },
      T0,
    );
    assert.notEqual(a, 'exists');
    if (a !== 'exists') ids.push(a.id);
  }
  return ids;
}

function suite(kind: string, open: () => Promise<{ db: string; cleanup: () => void } | undefined>) {
  describe(`annotation store: ${kind}`, () => {
    let db: string | undefined;
    let cleanup = () => {};
    let s: AnnotationStore;
    before(async () => {
      const o = await open();
      if (o === undefined) return;
      db = o.db;
      cleanup = o.cleanup;
      s = await openStore(db);
    });
    after(async () => {
      if (s) await s.close();
      cleanup();
    });
    const t = (name: string, fn: () => Promise<void>) =>
      test(name, async (ctx) => {
        if (db === undefined) return ctx.skip('PostgreSQL is not installed');
        await fn();
      });

    t('migrations are idempotent: reopening keeps the data', async () => {
      const p = await s.createProject({ name: 'reopen', description: 'd', k: 2, leaseSeconds: 60 }, T0);
      assert.notEqual(p, 'exists');
      assert.equal(
        await s.createProject({ name: 'reopen', description: 'd', k: 2, leaseSeconds: 60 }, T0),
        'exists',
      );
      const again = await openStore(db as string);
      assert.equal((await again.getProject('reopen'))?.k, 2);
      await again.close();
    });

    t('push is idempotent; a conflicting batch writes nothing', async () => {
      const p = await s.createProject({ name: 'push', description: '', k: 1, leaseSeconds: 60 }, T0);
      assert.ok(p !== 'exists');
      assert.deepEqual(await s.pushTasks(p.id, [task('x'), task('y')], T0), { inserted: 2, existing: 0 });
      assert.deepEqual(await s.pushTasks(p.id, [task('x'), task('z')], T0), { inserted: 1, existing: 1 });
      const changed = { ...task('y'), a: 'other' };
      assert.deepEqual(await s.pushTasks(p.id, [task('w'), changed], T0), { conflict: 'y' });
      assert.equal((await s.queueCounts(p.id, T0)).tasks, 3); // w not written
    });

    t('queue: priority order, k cap, lease expiry re-issues, nobody sees a task twice', async () => {
      const p = await s.createProject({ name: 'queue', description: '', k: 1, leaseSeconds: 60 }, T0);
      assert.ok(p !== 'exists');
      const [A, B, C] = await annotators(s, ['qa', 'qb', 'qc']);
      await s.pushTasks(p.id, [task('low', 1), task('high', 2)], T0);
      const la = await s.nextTask(p.id, A, T0, 60_000, false);
      assert.equal(la?.task.extId, 'high');
      assert.equal((await s.nextTask(p.id, A, T0 + 1, 60_000, true))?.task.extId, 'high'); // same open lease
      assert.equal((await s.nextTask(p.id, B, T0 + 30_000, 60_000, false))?.task.extId, 'low');
      assert.equal(await s.nextTask(p.id, C, T0 + 30_000, 60_000, false), undefined); // k = 1, both leased
      // A's lease expires: the task is re-issued to C; A's late submit is refused.
      const late = T0 + 61_000;
      const lc = await s.nextTask(p.id, C, late, 60_000, true);
      assert.equal(lc?.task.extId, 'high');
      const sub = { projectId: p.id, taskId: lc!.task.id, rationale: '', idempotencyKey: null, now: late };
      assert.deepEqual(await s.submit({ ...sub, annotatorId: A, choice: 'left' }), { kind: 'lease-expired' });
      const r = await s.submit({ ...sub, annotatorId: C, choice: 'left' });
      assert.equal(r.kind, 'created');
      assert.equal(r.kind === 'created' && r.verdict, 'b'); // shown swapped: left was b
      // A is never offered "high" again (shown once), and "low" is leased to B.
      assert.equal(await s.nextTask(p.id, A, late, 60_000, false), undefined);
      const counts = await s.queueCounts(p.id, late);
      assert.deepEqual([counts.complete, counts.pending, counts.leased], [1, 1, 1]);
    });

    t('skip does not count towards k and is not offered again to the same person', async () => {
      const p = await s.createProject({ name: 'skip', description: '', k: 1, leaseSeconds: 60 }, T0);
      assert.ok(p !== 'exists');
      const [A, B] = await annotators(s, ['sa', 'sb']);
      await s.pushTasks(p.id, [task('only')], T0);
      const l = await s.nextTask(p.id, A, T0, 60_000, false);
      const base = { projectId: p.id, taskId: l!.task.id, rationale: '', idempotencyKey: null, now: T0 };
      assert.equal((await s.submit({ ...base, annotatorId: A, choice: 'skip' })).kind, 'created');
      assert.equal(await s.nextTask(p.id, A, T0, 60_000, false), undefined);
      assert.equal((await s.nextTask(p.id, B, T0, 60_000, false))?.task.extId, 'only');
      assert.deepEqual(await s.labelsSince(p.id, 0, 10), []); // skips are not labels
      assert.deepEqual([await s.countAnnotations(p.id, A), await s.countAnnotations(p.id, B)], [1, 0]);
    });

    t('submissions are idempotent: replays return the first id and count once', async () => {
      const p = await s.createProject({ name: 'idem', description: '', k: 2, leaseSeconds: 60 }, T0);
      assert.ok(p !== 'exists');
      const [A] = await annotators(s, ['ia']);
      await s.pushTasks(p.id, [task('t1', 2), task('t2', 1)], T0);
      const l1 = await s.nextTask(p.id, A, T0, 60_000, false);
      const base = { projectId: p.id, annotatorId: A, rationale: 'r', now: T0 };
      const first = await s.submit({
        ...base,
        taskId: l1!.task.id,
        choice: 'right',
        idempotencyKey: 'key-00001',
      });
      assert.equal(first.kind, 'created');
      const again = await s.submit({
        ...base,
        taskId: l1!.task.id,
        choice: 'right',
        idempotencyKey: 'key-00001',
      });
      assert.equal(again.kind, 'replayed');
      assert.equal(
        again.kind === 'replayed' && first.kind === 'created' && again.annotationId,
        first.kind === 'created' && first.annotationId,
      );
      const noKey = await s.submit({ ...base, taskId: l1!.task.id, choice: 'right', idempotencyKey: null });
      assert.equal(noKey.kind, 'replayed');
      const changed = await s.submit({
        ...base,
        taskId: l1!.task.id,
        choice: 'left',
        idempotencyKey: 'key-00002',
      });
      assert.equal(changed.kind, 'already-annotated');
      const l2 = await s.nextTask(p.id, A, T0, 60_000, false);
      const reused = await s.submit({
        ...base,
        taskId: l2!.task.id,
        choice: 'left',
        idempotencyKey: 'key-00001',
      });
      assert.equal(reused.kind, 'key-reused');
      assert.equal(
        (await s.submit({ ...base, taskId: 999_999, choice: 'left', idempotencyKey: null })).kind,
        'unknown-task',
      );
      const labels = await s.labelsSince(p.id, 0, 100);
      assert.equal(labels.length, 1);
      assert.equal(labels[0].verdict, 'b');
      assert.equal(labels[0].rationale, 'r');
      const votes = await s.taskVotes(p.id, ['t1', 't2', 'nope']);
      assert.deepEqual(votes, [
        { extId: 't1', votes: { a: 0, b: 1, tie: 0, 'both-bad': 0 }, k: 2 },
        { extId: 't2', votes: { a: 0, b: 0, tie: 0, 'both-bad': 0 }, k: 2 },
      ]);
    });

    t('a task needs a lease; gold tasks go to everyone; the label cursor is monotone', async () => {
      const p = await s.createProject({ name: 'gold', description: '', k: 1, leaseSeconds: 60 }, T0);
      assert.ok(p !== 'exists');
      const [A, B] = await annotators(s, ['ga', 'gb']);
      await s.pushTasks(p.id, [task('g', 5, 'a')], T0);
      const la = await s.nextTask(p.id, A, T0, 60_000, false);
      const base = { projectId: p.id, taskId: la!.task.id, rationale: '', idempotencyKey: null, now: T0 };
      assert.deepEqual(await s.submit({ ...base, annotatorId: B, choice: 'left' }), { kind: 'no-lease' });
      await s.submit({ ...base, annotatorId: A, choice: 'left' });
      const lb = await s.nextTask(p.id, B, T0, 60_000, true); // k reached, but gold goes to everyone
      assert.equal(lb?.task.extId, 'g');
      await s.submit({ ...base, annotatorId: B, choice: 'left' }); // swapped: left = b (wrong)
      const all = await s.labelsSince(p.id, 0, 10);
      assert.deepEqual(
        all.map((r) => [r.annotator, r.verdict, r.gold]),
        [
          ['ga', 'a', 'a'],
          ['gb', 'b', 'a'],
        ],
      );
      assert.ok(all[0].id < all[1].id);
      assert.deepEqual(
        (await s.labelsSince(p.id, all[0].id, 10)).map((r) => r.annotator),
        ['gb'],
      );
      assert.equal((await s.queueCounts(p.id, T0)).gold, 1);
    });
  });
}

suite('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-store-'));
  return { db: `sqlite:${join(dir, 'a.db')}`, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
});

let cluster: PgCluster | undefined;
suite('postgres', async () => {
  cluster = await startPgCluster({ fsync: false });
  if (cluster === undefined) return undefined;
  const c = cluster;
  return { db: c.url, cleanup: () => c.stop() };
});
