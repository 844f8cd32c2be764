import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initPart, mergeParts, partPath } from '../../src/pref/seed-workers.js';

const rec = (id: string): string =>
  JSON.stringify({ id, prompt: 'p', a: 'x', b: 'y', a_preferred: true, source: 's', t: '' });

test('part ledgers: a seed part starts with that seed’s labels; merging appends only new ids, drops a torn line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-parts-'));
  try {
    writeFileSync(
      join(dir, 'labels.jsonl'),
      [rec('seed0/pool/rest/p0'), rec('seed1/pool/rest/p0')].join('\n') + '\n',
    );
    const p0 = initPart(dir, 'seed0');
    assert.equal(p0, partPath(dir, 'seed0'));
    assert.deepEqual(
      readFileSync(p0, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
      ['seed0/pool/rest/p0'],
    );
    // The worker adds two labels, the second torn by a kill mid-write.
    writeFileSync(
      p0,
      readFileSync(p0, 'utf8') + rec('seed0/x/it1/p3') + '\n' + rec('seed0/x/it1/p4').slice(0, 20),
    );
    initPart(dir, 'seed2'); // empty part
    assert.equal(mergeParts(dir), 1);
    const ids = readFileSync(join(dir, 'labels.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).id);
    assert.deepEqual(ids, ['seed0/pool/rest/p0', 'seed1/pool/rest/p0', 'seed0/x/it1/p3']);
    assert.equal(existsSync(join(dir, 'ledger-parts')), false);
    assert.equal(mergeParts(dir), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
