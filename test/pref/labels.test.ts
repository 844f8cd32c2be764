import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabelLedger, RewardModelLabelSource, idUnder, labelQueryFile } from '../../src/pref/labels.js';
import { GoldOracle } from '../../src/pref/gold.js';
import type { LabelSource } from '../../src/pref/types.js';

/** A source that counts calls and prefers the longer response. */
class Counting implements LabelSource {
  readonly name = 'counting';
  calls = 0;
  compare(_p: string, a: string, b: string): boolean {
    this.calls++;
    return a.length >= b.length;
  }
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'gshf-labels-'));
}

test('RewardModelLabelSource: higher score wins; ties seeded by queryId or go to a', () => {
  const len = (_p: string, r: string) => r.length;
  const rm = new RewardModelLabelSource(len, { seed: 3 });
  assert.equal(rm.name, 'reward-model');
  assert.equal(rm.compare('p', 'aaa', 'b', 'q'), true);
  assert.equal(rm.compare('p', 'a', 'bbb', 'q'), false);
  const ties = Array.from({ length: 64 }, (_, i) => rm.compare('p', 'x', 'y', `t${i}`));
  assert.ok(ties.some((t) => t) && ties.some((t) => !t), 'random ties give both answers');
  assert.deepEqual(
    Array.from({ length: 64 }, (_, i) =>
      new RewardModelLabelSource(len, { seed: 3 }).compare('p', 'x', 'y', `t${i}`),
    ),
    ties,
  );
  const first = new RewardModelLabelSource(len, { ties: 'first' });
  assert.equal(first.compare('p', 'x', 'y', 'q'), true);
  assert.throws(() => new RewardModelLabelSource(() => NaN).compare('p', 'a', 'b', 'q'), /NaN/);
});

test('idUnder: hierarchical prefixes', () => {
  assert.ok(idUnder('s0/dpo/it1/p3', 's0/dpo/it1'));
  assert.ok(idUnder('s0/dpo/it1/p3', 's0/dpo/it1/'));
  assert.ok(!idUnder('s0/dpo/it10/p3', 's0/dpo/it1'));
  assert.ok(idUnder('s0/dpo/it1', 's0/dpo/it1'));
  assert.ok(idUnder('anything', ''));
});

test('LabelLedger: counts unique labels, replays for free, per-prefix counts, persists', () => {
  const dir = tmp();
  try {
    const path = join(dir, 'labels.jsonl');
    const src = new Counting();
    const led = new LabelLedger(src, path);
    assert.equal(led.compare('P', 'long', 'x', 's0/iter/it1/p0'), true);
    assert.equal(led.compare('P', 'x', 'long', 's0/iter/it1/p1'), false);
    assert.equal(led.compare('P', 'aa', 'b', 's0/iter/it2/p0'), true);
    assert.equal(led.compare('P', 'aa', 'b', 's0/offline/p0'), true);
    assert.equal(led.compare('P', 'long', 'x', 's0/iter/it1/p0'), true); // replay
    assert.equal(src.calls, 4);
    assert.equal(led.labelsUsed, 4);
    assert.equal(led.labelsAskedThisSession, 4);
    assert.equal(led.replays, 1);
    assert.equal(led.labelsBy('s0/iter'), 3);
    assert.equal(led.labelsBy('s0/iter/it1'), 2);
    assert.equal(led.labelsBy('s0/offline'), 1);
    led.close();
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 4);
    assert.deepEqual(Object.keys(lines[0]).sort(), ['a', 'a_preferred', 'b', 'id', 'prompt', 'source', 't']);
    assert.equal(lines[0].source, 'counting');
    // resume: a new ledger on the same file answers recorded queries without asking the source
    const src2 = new Counting();
    const led2 = new LabelLedger(src2, path);
    assert.equal(led2.labelsUsed, 4);
    assert.equal(led2.compare('P', 'x', 'long', 's0/iter/it1/p1'), false);
    assert.equal(src2.calls, 0);
    assert.equal(led2.compare('P', 'new', 'x', 's0/iter/it2/p1'), true);
    assert.equal(src2.calls, 1);
    assert.equal(led2.labelsUsed, 5);
    assert.equal(led2.labelsAskedThisSession, 1);
    led2.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('LabelLedger: a torn last line (crash mid-append) is dropped and truncated; later appends are clean', () => {
  const dir = tmp();
  try {
    const path = join(dir, 'labels.jsonl');
    const led = new LabelLedger(new Counting(), path, { fsync: false });
    led.compare('P', 'aa', 'b', 'q0');
    led.compare('P', 'aa', 'b', 'q1');
    led.close();
    appendFileSync(path, '{"id":"q2","prompt":"P","a":"é'); // torn, with a multi-byte char
    const src = new Counting();
    const led2 = new LabelLedger(src, path, { fsync: false });
    assert.ok(led2.tornBytes > 0);
    assert.equal(led2.labelsUsed, 2);
    led2.compare('P', 'aa', 'b', 'q2'); // asked again: the torn label was never returned to anyone
    assert.equal(src.calls, 1);
    led2.close();
    const lines = readFileSync(path, 'utf8').split('\n');
    assert.equal(lines.length, 4); // 3 records + final empty string
    for (const l of lines.slice(0, 3)) JSON.parse(l);
    // a complete record missing only its newline is kept
    const rec = JSON.stringify({
      id: 'q3',
      prompt: 'P',
      a: 'x',
      b: 'y',
      a_preferred: false,
      source: 's',
      t: 'now',
    });
    appendFileSync(path, rec);
    const led3 = new LabelLedger(new Counting(), path, { fsync: false });
    assert.equal(led3.labelsUsed, 4);
    assert.equal(led3.compare('P', 'x', 'y', 'q3'), false);
    led3.close();
    assert.ok(readFileSync(path, 'utf8').endsWith(rec + '\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('LabelLedger: same queryId with different texts throws; a corrupt middle line throws with its line number', () => {
  const dir = tmp();
  try {
    const path = join(dir, 'labels.jsonl');
    const led = new LabelLedger(new Counting(), path, { fsync: false });
    led.compare('P', 'aa', 'b', 'q0');
    assert.throws(
      () => led.compare('P', 'aa', 'c', 'q0'),
      /query "q0" was recorded with b "b" but is asked again with b "c"/,
    );
    assert.throws(() => led.compare('Q', 'aa', 'b', 'q0'), /with prompt/);
    led.close();
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, 'garbage\n' + readFileSync(path, 'utf8'));
    assert.throws(() => new LabelLedger(new Counting(), bad), /bad\.jsonl:1: invalid JSON/);
    writeFileSync(bad, '{"id":"x"}\n');
    assert.throws(() => new LabelLedger(new Counting(), bad), /:1: not a label record/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('LabelLedger: SIGKILL mid-run, then resume: no lost or duplicated labels, same answers', async () => {
  const dir = tmp();
  try {
    const path = join(dir, 'labels.jsonl');
    const N = 3000;
    const labelsUrl = new URL('../../src/pref/labels.js', import.meta.url).href;
    const goldUrl = new URL('../../src/pref/gold.js', import.meta.url).href;
    const script = join(dir, 'child.mjs');
    writeFileSync(
      script,
      `import { LabelLedger } from ${JSON.stringify(labelsUrl)};
import { GoldOracle } from ${JSON.stringify(goldUrl)};
const led = new LabelLedger(new GoldOracle({ seed: 5 }), ${JSON.stringify(path)});
for (let i = 0; i < ${N}; i++) led.compare('P', 'good ' + i, 'bad ' + i, 'seed0/m/it' + (i % 3) + '/p' + i);
`,
    );
    const child = spawn(process.execPath, [script], { stdio: 'ignore' });
    // Kill once some labels are on disk (or let it finish if the machine is fast).
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const n = existsSync(path) ? readFileSync(path, 'utf8').split('\n').length - 1 : 0;
        if (n >= 50) {
          clearInterval(timer);
          child.kill('SIGKILL');
        }
      }, 2);
      child.on('exit', () => {
        clearInterval(timer);
        resolve();
      });
    });
    const oracle = new GoldOracle({ seed: 5 });
    const src = new Counting();
    const counting: LabelSource = {
      name: oracle.name,
      compare: (p, a, b, id) => {
        src.calls++;
        return oracle.compare(p, a, b, id);
      },
    };
    const led = new LabelLedger(counting, path, { fsync: false });
    const before = led.labelsUsed;
    assert.ok(before >= 50, `child wrote ${before} labels before the kill`);
    for (let i = 0; i < N; i++) {
      const id = 'seed0/m/it' + (i % 3) + '/p' + i;
      assert.equal(
        led.compare('P', 'good ' + i, 'bad ' + i, id),
        oracle.compare('P', 'good ' + i, 'bad ' + i, id),
      );
    }
    assert.equal(src.calls, N - before);
    assert.equal(led.labelsUsed, N);
    led.close();
    const ids = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: string }).id);
    assert.equal(ids.length, N);
    assert.equal(new Set(ids).size, N);
    assert.equal(new LabelLedger(counting, path).labelsBy('seed0/m/it1'), N / 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('labelQueryFile: pairs in file order through the ledger; default ids line<N>; strict fields', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-labelq-'));
  try {
    const q = join(dir, 'q.jsonl');
    writeFileSync(
      q,
      '{"prompt":"p","a":"long answer","b":"short"}\n\n{"prompt":"p2","a":"x","b":"yyy","id":"k"}\n',
    );
    let asked = 0;
    const longer = {
      name: 'longer',
      compare: (_p: string, a: string, b: string) => (asked++, a.length > b.length),
    };
    const ledger = new LabelLedger(longer, join(dir, 'l.jsonl'), { fsync: false });
    assert.deepEqual(labelQueryFile(q, ledger), [
      { prompt: 'p', chosen: 'long answer', rejected: 'short' },
      { prompt: 'p2', chosen: 'yyy', rejected: 'x' },
    ]);
    assert.deepEqual(
      ledger.entries().map((r) => r.id),
      ['line1', 'k'],
    );
    labelQueryFile(q, ledger); // a rerun replays: no new question
    assert.equal(asked, 2);
    assert.equal(ledger.replays, 2);
    ledger.close();
    writeFileSync(q, '{"prompt":"p","a":"x","bb":"y"}\n');
    assert.throws(() => labelQueryFile(q, ledger), /q\.jsonl:1: unknown key "bb".*"b"/);
    writeFileSync(q, '{"prompt":"p","a":"x","b":3}\n');
    assert.throws(() => labelQueryFile(q, ledger), /q\.jsonl:1: expected a string.*field "b"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
