import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsyncLabelLedger } from '../../src/feedback/ledger.js';
import {
  LabelSourceError,
  type AsyncLabelSource,
  type LabelQuery,
  type Verdict,
} from '../../src/feedback/types.js';
import { LabelLedger } from '../../src/pref/labels.js';

/** Prefers the longer response ('tie' on equal length); counts the queries it was asked. */
class Longer implements AsyncLabelSource {
  readonly name = 'longer';
  asked: string[] = [];
  failOnCall = Infinity;
  calls = 0;
  async label(qs: readonly LabelQuery[]) {
    if (++this.calls >= this.failOnCall) {
      // Fails after answering the first query of the batch (paid): the ledger must keep it.
      const first = { id: qs[0].id, verdict: 'a' as Verdict, source: this.name };
      this.asked.push(qs[0].id);
      throw new LabelSourceError(this.name, 'endpoint down', [first]);
    }
    this.asked.push(...qs.map((q) => q.id));
    return qs.map((q) => ({
      id: q.id,
      verdict: (q.a.length > q.b.length ? 'a' : q.a.length < q.b.length ? 'b' : 'tie') as Verdict,
      source: this.name,
      detail: { la: q.a.length },
    }));
  }
}

const q = (id: string, a: string, b: string): LabelQuery => ({ id, prompt: 'P', a, b });

function tmp(): string {
  return join(mkdtempSync(join(tmpdir(), 'gshf-aledger-')), 'labels.jsonl');
}

test('AsyncLabelLedger: pays each id once, replays free across instances, keeps verdicts and detail', async () => {
  const path = tmp();
  const src = new Longer();
  const led = new AsyncLabelLedger(src, path, { fsync: false });
  const ans = await led.label([q('it1/p0', 'aaa', 'b'), q('it1/p1', 'a', 'bb'), q('it1/p2', 'x', 'y')]);
  assert.deepEqual(
    ans.map((a) => a.verdict),
    ['a', 'b', 'tie'],
  );
  assert.deepEqual(ans[0].detail, { la: 3 });
  const again = await led.label([q('it1/p1', 'a', 'bb'), q('it2/p0', 'cc', 'c')]);
  assert.deepEqual(
    again.map((a) => [a.id, a.verdict]),
    [
      ['it1/p1', 'b'],
      ['it2/p0', 'a'],
    ],
  );
  assert.deepEqual(src.asked, ['it1/p0', 'it1/p1', 'it1/p2', 'it2/p0']);
  assert.equal(led.labelsUsed, 4);
  assert.equal(led.replays, 1);
  assert.equal(led.labelsBy('it1'), 3);
  await led.close();
  // A new process: everything from the file, nothing asked.
  const src2 = new Longer();
  const led2 = new AsyncLabelLedger(src2, path);
  const r = await led2.label([q('it1/p2', 'x', 'y'), q('it1/p0', 'aaa', 'b')]);
  assert.deepEqual(
    r.map((a) => a.verdict),
    ['tie', 'a'],
  );
  assert.equal(src2.calls, 0);
  // The same id with other texts is a determinism bug.
  await assert.rejects(
    led2.label([q('it1/p0', 'aaa', 'DIFFERENT')]),
    /it1\/p0.*recorded with b "b".*asked again with b "DIFFERENT"/,
  );
});

test("AsyncLabelLedger: answers of earlier chunks and a failing call's partial answers stay; the retry pays nothing twice", async () => {
  const path = tmp();
  const src = new Longer();
  src.failOnCall = 3;
  const led = new AsyncLabelLedger(src, path, { fsync: false, chunk: 2 });
  const qs = ['a', 'bb', 'ccc', 'dddd', 'eeeee'].map((t, i) => q(`p${i}`, t, 'zz'));
  await assert.rejects(
    led.label(qs),
    (e: Error) => e instanceof LabelSourceError && /longer: endpoint down/.test(e.message),
  );
  // Two full chunks, plus the partial answer of the third call.
  assert.equal(readFileSync(path, 'utf8').trim().split('\n').length, 5);
  const src2 = new Longer();
  const led2 = new AsyncLabelLedger(src2, path, { fsync: false, chunk: 2 });
  const ans = await led2.label(qs);
  assert.equal(ans.length, 5);
  assert.deepEqual(src2.asked, []);
});

test('AsyncLabelLedger: a torn last line is cut; a source answering an unknown id or a bad verdict is an error', async () => {
  const path = tmp();
  const led = new AsyncLabelLedger(new Longer(), path, { fsync: false });
  await led.label([q('p0', 'aa', 'b'), q('p1', 'a', 'bb')]);
  await led.close();
  const good = readFileSync(path, 'utf8');
  appendFileSync(path, '{"id":"p2","prompt":"P","a":"x'); // killed mid-append
  const led2 = new AsyncLabelLedger(new Longer(), path, { fsync: false });
  assert.ok(led2.tornBytes > 0);
  assert.equal(readFileSync(path, 'utf8'), good);
  assert.equal(led2.labelsUsed, 2);
  await led2.close();

  const liar: AsyncLabelSource = {
    name: 'liar',
    label: async () => [{ id: 'nope', verdict: 'a', source: 'liar' }],
  };
  await assert.rejects(
    new AsyncLabelLedger(liar, tmp()).label([q('p0', 'a', 'b')]),
    /liar: answered an unknown query id "nope"/,
  );
  const bad: AsyncLabelSource = {
    name: 'bad',
    label: async (qs) => [{ id: qs[0].id, verdict: 'maybe' as Verdict, source: 'bad' }],
  };
  await assert.rejects(
    new AsyncLabelLedger(bad, tmp()).label([q('p0', 'a', 'b')]),
    /bad: query p0: invalid verdict "maybe"/,
  );
});

test('one file format: the sync ledger reads async records and vice versa', async () => {
  const path = tmp();
  const sync = new LabelLedger({ name: 'first', compare: (_p, a, b) => a < b }, path, { fsync: false });
  sync.compare('P', 'a', 'b', 'old/p0');
  sync.close();
  const led = new AsyncLabelLedger(new Longer(), path, { fsync: false });
  const ans = await led.label([q('old/p0', 'a', 'b'), q('new/p0', 'aaa', 'b')]);
  assert.deepEqual(
    ans.map((a) => [a.verdict, a.source]),
    [
      ['a', 'first'],
      ['a', 'longer'],
    ],
  );
  await led.close();
  const back = new LabelLedger({ name: 'never', compare: () => assert.fail('must replay') }, path);
  assert.equal(back.compare('P', 'aaa', 'b', 'new/p0'), true);
  assert.equal(back.get('new/p0')?.verdict, 'a');
  // A line that is neither a record nor the last line is an error naming the line.
  writeFileSync(path, readFileSync(path, 'utf8') + '{"id":1}\n{"id":"x"}\n');
  assert.throws(() => new LabelLedger(back.source, path), /labels\.jsonl:3: not a label record/);
});
