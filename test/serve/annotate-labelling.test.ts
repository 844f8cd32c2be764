// Labelling features on SQLite and PostgreSQL: rankings of K responses and rating scales (shown
// order mapped back, validated, exported), undo within the lease, the per-annotator remaining
// count, completed-only export, the explorer's filters, uploads (JSONL, CSV, Parquet) and the
// small-sample caveats. Every test builds its own app and store.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { staticDir } from '../../src/serve/annotate/pages.js';
import { ADMIN, appFixture, isJsonError, type AppFixture } from './annotate-app.js';
import { STORE_KINDS } from './annotate-stores.js';

const lease = async (f: AppFixture, who: string, project: string) =>
  (await f.as(who, 'POST', `/api/projects/${project}/next`)).json() as {
    task: Record<string, unknown> & { id: number };
    progress: { done: number; remaining: number };
  };
const answer = (f: AppFixture, who: string, project: string, id: number, body: unknown) =>
  f.as(who, 'POST', `/api/projects/${project}/tasks/${id}/annotations`, body);
const jsonl = (body: string) =>
  body
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

for (const kind of STORE_KINDS) {
  describe(`annotation labelling: ${kind}`, () => {
    test('a ranking is given in the shown order and stored as response indices, best first', async (t) => {
      const f = await appFixture(t, { kind, projects: false });
      if (!f) return;
      await f.admin('POST', '/api/projects', { name: 'rk', k: 2 });
      const responses = ['zero', 'one', 'two', 'three'];
      const push = await f.admin('POST', '/api/projects/rk/tasks', {
        tasks: [
          { id: 'r1', kind: 'ranking', prompt: 'order these', responses, metadata: { source: 'unit' } },
        ],
      });
      assert.equal(push.statusCode, 200, push.body);
      const byWho: Record<string, number[]> = {};
      for (const who of ['alice', 'bob']) {
        const l = await lease(f, who, 'rk');
        const shown = l.task.responses as string[];
        assert.deepEqual([...shown].sort(), [...responses].sort());
        assert.deepEqual(l.task.metadata, { source: 'unit' });
        // Best first: the shown position of "two", then "zero", then "three", then "one".
        const want = ['two', 'zero', 'three', 'one'];
        const positions = want.map((w) => shown.indexOf(w));
        isJsonError(await answer(f, who, 'rk', l.task.id, { ranking: [0, 0, 1, 2] }), 400, 'bad_request');
        isJsonError(await answer(f, who, 'rk', l.task.id, { choice: 'left' }), 400);
        const ok = await answer(f, who, 'rk', l.task.id, {
          ranking: positions,
          idempotency_key: `rk-${who}-key`,
        });
        assert.equal(ok.statusCode, 201, ok.body);
        const replay = await answer(f, who, 'rk', l.task.id, {
          ranking: positions,
          idempotency_key: `rk-${who}-key`,
        });
        assert.equal(replay.statusCode, 200);
        byWho[who] = want.map((w) => responses.indexOf(w));
      }
      const lines = jsonl((await f.admin('GET', '/api/projects/rk/export.jsonl?kind=ranking')).body);
      assert.deepEqual(lines, [
        {
          id: 'r1',
          prompt: 'order these',
          responses,
          rankings: [byWho.alice, byWho.bob],
          annotators: ['alice', 'bob'],
          metadata: { source: 'unit' },
        },
      ]);
      assert.deepEqual(byWho.alice, [2, 0, 3, 1]);
      // Rankings are not pair votes: the TRL export and the loop's vote counts leave them out.
      assert.equal((await f.admin('GET', '/api/projects/rk/export.jsonl')).body, '');
      const votes = (await f.admin('POST', '/api/projects/rk/votes', { ids: ['r1'] })).json();
      assert.deepEqual(votes.tasks[0].votes, { a: 0, b: 0, tie: 0, 'both-bad': 0 });
    });

    test('ratings: one integer per dimension on the stated scale; export lists them', async (t) => {
      const f = await appFixture(t, { kind, projects: false });
      if (!f) return;
      await f.admin('POST', '/api/projects', { name: 'rt', k: 1 });
      const scale = { dimensions: ['helpful', 'harmless'], min: 1, max: 7 };
      await f.admin('POST', '/api/projects/rt/tasks', {
        tasks: [
          { id: 's1', kind: 'rating', prompt: 'p', responses: ['the answer'], scale },
          { id: 's2', kind: 'rating', prompt: 'q', responses: ['default scale'] },
        ],
      });
      const l = await lease(f, 'alice', 'rt');
      assert.deepEqual([l.task.response, l.task.scale], ['the answer', scale]);
      const bad: [unknown, RegExp][] = [
        [{ ratings: { helpful: 8, harmless: 1 } }, /ratings\.helpful: 8 is not an integer in \[1, 7\]/],
        [{ ratings: { helpful: 3 } }, /one integer for each of helpful, harmless/],
        [{ ratings: { helpful: 3, harmless: 2, funny: 1 } }, /unknown: funny/],
        [{ ranking: [0, 1] }, /ranking: task s1 is a rating task/],
      ];
      for (const [body, re] of bad) {
        const r = await answer(f, 'alice', 'rt', l.task.id, body);
        isJsonError(r, 400);
        assert.match(r.json().message, re);
      }
      assert.equal(
        (await answer(f, 'alice', 'rt', l.task.id, { ratings: { harmless: 7, helpful: 5 } })).statusCode,
        201,
      );
      const l2 = await lease(f, 'alice', 'rt');
      assert.deepEqual(l2.task.scale, { dimensions: ['quality'], min: 1, max: 5 });
      assert.equal((await answer(f, 'alice', 'rt', l2.task.id, { choice: 'skip' })).statusCode, 201);
      const lines = jsonl((await f.admin('GET', '/api/projects/rt/export.jsonl?kind=rating')).body);
      assert.deepEqual(lines, [
        {
          id: 's1',
          prompt: 'p',
          response: 'the answer',
          scale,
          ratings: [{ harmless: 7, helpful: 5 }],
          annotators: ['alice'],
          metadata: {},
        },
      ]);
    });

    test('undo withdraws the last answer while its lease runs; the task comes back first', async (t) => {
      let clock = 1_800_000_000_000;
      const f = await appFixture(t, { kind, app: { now: () => clock } });
      if (!f) return;
      isJsonError(await f.as('alice', 'POST', '/api/projects/pair/undo'), 409, 'nothing_to_undo');
      const first = await lease(f, 'alice', 'pair');
      assert.deepEqual(first.progress, { done: 0, remaining: 2 });
      assert.equal((await answer(f, 'alice', 'pair', first.task.id, { choice: 'left' })).statusCode, 201);
      const second = await lease(f, 'alice', 'pair');
      assert.notEqual(second.task.id, first.task.id);
      assert.deepEqual(second.progress, { done: 1, remaining: 1 });
      const u = await f.as('alice', 'POST', '/api/projects/pair/undo');
      assert.equal(u.statusCode, 200, u.body);
      assert.deepEqual([u.json().task_id, u.json().progress], [first.task.id, { done: 0, remaining: 2 }]);
      const again = await lease(f, 'alice', 'pair');
      assert.equal(again.task.id, first.task.id); // its lease is the oldest open one
      const p = (await f.store.getProject('pair'))!;
      assert.equal((await f.store.annotations(p.id, null)).length, 0);
      assert.deepEqual(
        (await f.store.taskVotes(p.id, ['q1'])).map((v) => v.votes.a + v.votes.b),
        [0],
      );
      // Answer differently, then let the lease run out: undo is refused.
      assert.equal((await answer(f, 'alice', 'pair', first.task.id, { choice: 'tie' })).statusCode, 201);
      clock += 601_000;
      isJsonError(await f.as('alice', 'POST', '/api/projects/pair/undo'), 409, 'lease_expired');
      assert.deepEqual(
        (await f.store.annotations(p.id, null)).map((r) => r.verdict),
        ['tie'],
      );
    });

    test('remaining counts what is left for this annotator, not the whole project', async (t) => {
      const f = await appFixture(t, { kind });
      if (!f) return;
      // solo: k = 1, tasks q1 (priority 2) and q2.
      const a = await lease(f, 'alice', 'solo'); // alice holds q1
      assert.deepEqual(a.progress, { done: 0, remaining: 2 });
      const b = await lease(f, 'bob', 'solo'); // bob holds q2; q1 is full for him
      assert.deepEqual(b.progress, { done: 0, remaining: 1 });
      await answer(f, 'bob', 'solo', b.task.id, { choice: 'right' });
      const b2 = await lease(f, 'bob', 'solo');
      assert.deepEqual([b2.task, b2.progress], [null, { done: 1, remaining: 0 }]);
      const a2 = await lease(f, 'alice', 'solo'); // still her open lease on q1; q2 is complete
      assert.deepEqual([a2.task.id, a2.progress], [a.task.id, { done: 0, remaining: 1 }]);
    });

    test('export holds completed tasks only unless all=1', async (t) => {
      const f = await appFixture(t, { kind });
      if (!f) return;
      const l = await lease(f, 'alice', 'pair'); // k = 2: one vote is not complete
      const left = l.task.left;
      await answer(f, 'alice', 'pair', l.task.id, { choice: 'left' });
      assert.equal((await f.admin('GET', '/api/projects/pair/export.jsonl')).body, '');
      const all = jsonl((await f.admin('GET', '/api/projects/pair/export.jsonl?all=1')).body);
      assert.equal(all.length, 1);
      assert.equal(all[0].chosen, left);
      const m = await lease(f, 'bob', 'pair');
      assert.equal(m.task.id, l.task.id);
      await answer(f, 'bob', 'pair', m.task.id, { choice: m.task.left === left ? 'left' : 'right' });
      const done = jsonl((await f.admin('GET', '/api/projects/pair/export.jsonl')).body);
      assert.deepEqual(
        done.map((x) => [x.id, x.chosen]),
        [['q1', left]],
      );
      isJsonError(await f.admin('GET', '/api/projects/pair/export.jsonl?kind=chess'), 400);
    });

    test('the explorer filters by status, annotator, agreement and gold', async (t) => {
      const f = await appFixture(t, { kind, projects: false });
      if (!f) return;
      await f.admin('POST', '/api/projects', { name: 'ex', k: 2 });
      await f.admin('POST', '/api/projects/ex/tasks', {
        tasks: [
          { id: 'agree', prompt: 'p', a: 'x', b: 'y', priority: 4 },
          { id: 'split', prompt: 'p', a: 'x', b: 'y', priority: 3 },
          { id: 'gold', prompt: 'p', a: 'x', b: 'y', priority: 2, gold: 'a' },
          { id: 'open', prompt: 'p', a: 'x', b: 'y', priority: 1 },
        ],
      });
      const plan: Record<string, Record<string, string>> = {
        alice: { agree: 'tie', split: 'tie', gold: 'tie' },
        bob: { agree: 'tie', split: 'both-bad', gold: 'tie' },
      };
      for (const who of ['alice', 'bob']) {
        for (let i = 0; i < 3; i++) {
          const l = await lease(f, who, 'ex');
          const ext = (await f.store.tasksWithAnnotations((await f.store.getProject('ex'))!.id)).find(
            (x) => x.task.id === l.task.id,
          )!.task.extId;
          await answer(f, who, 'ex', l.task.id, { choice: plan[who][ext] });
        }
      }
      const ids = async (q: string) => {
        const r = await f.admin('GET', `/api/projects/ex/explore?${q}`);
        assert.equal(r.statusCode, 200, r.body);
        return (r.json().tasks as { id: string }[]).map((x) => x.id);
      };
      assert.deepEqual(await ids(''), ['agree', 'split', 'gold', 'open']);
      assert.deepEqual(await ids('status=complete'), ['agree', 'split']);
      assert.deepEqual(await ids('status=pending'), ['open']);
      assert.deepEqual(await ids('gold=only'), ['gold']);
      assert.deepEqual(await ids('agreement=split'), ['split']);
      assert.deepEqual(await ids('agreement=unanimous&gold=none'), ['agree']);
      assert.deepEqual(await ids('agreement=unlabelled'), ['open']);
      assert.deepEqual(await ids('annotator=bob&agreement=split'), ['split']);
      assert.deepEqual(await ids('limit=2&offset=1'), ['split', 'gold']);
      const one = (await f.admin('GET', '/api/projects/ex/explore?agreement=split')).json().tasks[0];
      assert.deepEqual(
        one.annotations.map((a: { annotator: string; verdict: string }) => [a.annotator, a.verdict]),
        [
          ['alice', 'tie'],
          ['bob', 'both-bad'],
        ],
      );
      isJsonError(await f.admin('GET', '/api/projects/ex/explore?status=done'), 400);
      isJsonError(await f.as('alice', 'GET', '/api/projects/ex/explore'), 403);
    });

    test('upload from the page: JSONL, CSV and Parquet give the same tasks; re-upload is a no-op', async (t) => {
      const f = await appFixture(t, { kind, projects: false });
      if (!f) return;
      const up = (project: string, format: string, file: Buffer | string) =>
        f.app.inject({
          method: 'POST',
          url: `/api/projects/${project}/upload?format=${format}`,
          headers: { 'content-type': 'application/octet-stream' },
          payload: file,
        });
      const adminUp = (project: string, format: string, file: Buffer | string) =>
        f.app.inject({
          method: 'POST',
          url: `/api/projects/${project}/upload?format=${format}`,
          headers: {
            authorization: `Bearer ${ADMIN}`,
            'content-type': 'application/octet-stream',
          },
          payload: file,
        });
      for (const p of ['j', 'c', 'q']) await f.admin('POST', '/api/projects', { name: p, k: 1 });
      const jsonlFile =
        JSON.stringify({
          id: 't1',
          prompt: 'say "hi", please',
          a: 'hi',
          b: 'hello\nthere',
          priority: 2,
          metadata: { lang: 'en' },
        }) +
        '\n' +
        JSON.stringify({ id: 't2', kind: 'ranking', prompt: 'rank', responses: ['x', 'y', 'z'] }) +
        '\n';
      const csvFile =
        'id,kind,prompt,a,b,priority,response_1,response_2,response_3,meta_lang\r\n' +
        't1,pair,"say ""hi"", please",hi,"hello\nthere",2,,,,en\r\n' +
        't2,ranking,rank,,,,x,y,z,\r\n';
      const pq = Buffer.from(
        parquetWriteBuffer({
          columnData: [
            { name: 'id', data: ['t1', 't2'], type: 'STRING' },
            { name: 'kind', data: ['pair', 'ranking'], type: 'STRING' },
            { name: 'prompt', data: ['say "hi", please', 'rank'], type: 'STRING' },
            { name: 'a', data: ['hi', null], type: 'STRING' },
            { name: 'b', data: ['hello\nthere', null], type: 'STRING' },
            { name: 'priority', data: [2, 0], type: 'DOUBLE' },
            { name: 'response_1', data: [null, 'x'], type: 'STRING' },
            { name: 'response_2', data: [null, 'y'], type: 'STRING' },
            { name: 'response_3', data: [null, 'z'], type: 'STRING' },
            { name: 'meta_lang', data: ['en', null], type: 'STRING' },
          ],
        }),
      );
      isJsonError(await up('j', 'jsonl', jsonlFile), 401);
      for (const [p, format, file] of [
        ['j', 'jsonl', jsonlFile],
        ['c', 'csv', csvFile],
        ['q', 'parquet', pq],
      ] as const) {
        const r = await adminUp(p, format, file);
        assert.equal(r.statusCode, 200, `${format}: ${r.body}`);
        assert.deepEqual(r.json(), { inserted: 2, existing: 0, records: 2 });
        assert.deepEqual((await adminUp(p, format, file)).json(), { inserted: 0, existing: 2, records: 2 });
      }
      const content = async (p: string) =>
        (await f.store.tasksWithAnnotations((await f.store.getProject(p))!.id)).map(({ task }) => [
          task.extId,
          task.kind,
          task.prompt,
          task.a,
          task.b,
          task.responses,
          task.priority,
          task.metadata,
        ]);
      const want = await content('j');
      assert.deepEqual(want[0], [
        't1',
        'pair',
        'say "hi", please',
        'hi',
        'hello\nthere',
        null,
        2,
        { lang: 'en' },
      ]);
      assert.deepEqual(await content('c'), want);
      assert.deepEqual(await content('q'), want);
      // Errors name the record; nothing is written.
      let r = await adminUp('c', 'csv', 'id,prompt,a,b\nz1,p,a\n');
      isJsonError(r, 400);
      assert.match(r.json().message, /file line 2: invalid CSV \(expect 4, got 3 on line 2\)/);
      r = await adminUp('j', 'jsonl', '{"id": "z", "prompt": "p", "a": "x"}\n');
      assert.match(r.json().message, /file line 1\.b: a pair task needs a and b/);
      r = await adminUp('q', 'parquet', Buffer.from('not parquet at all'));
      assert.match(r.json().message, /not a readable Parquet file/);
      assert.equal((await f.store.queueCounts((await f.store.getProject('c'))!.id, 0)).tasks, 2);
    });

    test('agreement statistics carry their sample size and a caveat when it is small', async (t) => {
      const f = await appFixture(t, { kind });
      if (!f) return;
      for (const [who, choice] of [
        ['alice', 'tie'],
        ['bob', 'both-bad'],
      ]) {
        const l = await lease(f, who, 'pair');
        await answer(f, who, 'pair', l.task.id, { choice });
      }
      const s = (await f.admin('GET', '/api/projects/pair/stats')).json().agreement;
      assert.deepEqual([s.cohen.length, s.cohen[0].items, s.cohen[0].small_sample], [1, 1, true]);
      assert.equal(s.fleiss_items, 1);
      assert.equal(s.small_sample.fleiss, true);
      assert.ok(
        s.caveats.some((c: string) => /Cohen κ alice \/ bob over 1 task: too few/.test(c)),
        s.caveats,
      );
      assert.ok(s.caveats.some((c: string) => /Fleiss κ over 1 task/.test(c)));
    });
  });
}

test('guidelines Markdown is parsed into safe nodes: no HTML, no javascript: links', () => {
  const ctx = { window: {} as Record<string, unknown> };
  vm.runInNewContext(readFileSync(join(staticDir(), 'markdown.js'), 'utf8'), ctx);
  const md = ctx.window.gshfMarkdown as { parse(s: string): unknown };
  assert.deepEqual(
    JSON.parse(
      JSON.stringify(
        md.parse(
          '## Rules\nPrefer **short** answers.\n\n- be *kind*\n- see [docs](https://x.org)\n<img src=x onerror=alert(1)>\n[x](javascript:alert(1))',
        ),
      ),
    ),
    [
      { t: 'h', level: 4, c: [{ t: 'text', v: 'Rules' }] },
      {
        t: 'p',
        c: [
          { t: 'text', v: 'Prefer ' },
          { t: 'strong', c: [{ t: 'text', v: 'short' }] },
          { t: 'text', v: ' answers.' },
        ],
      },
      {
        t: 'ul',
        items: [
          [
            { t: 'text', v: 'be ' },
            { t: 'em', c: [{ t: 'text', v: 'kind' }] },
          ],
          [
            { t: 'text', v: 'see ' },
            { t: 'a', href: 'https://x.org', c: [{ t: 'text', v: 'docs' }] },
          ],
        ],
      },
      {
        t: 'p',
        c: [
          { t: 'text', v: '<img src=x onerror=alert(1)> ' },
          { t: 'text', v: '[x](javascript:alert(1)' },
          { t: 'text', v: ')' },
        ],
      },
    ],
  );
});
