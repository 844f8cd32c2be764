/**
 * The package's install hook (native/install.mjs) never fails an install: without a compiler or the
 * OpenBLAS headers it says in one line that the pure-TypeScript kernels will run and how to build the
 * addon. (That it builds the addon when both are present is checked on the installed package in
 * pack.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const hook = fileURLToPath(new URL('../../../native/install.mjs', import.meta.url));

function runHook(env: NodeJS.ProcessEnv): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [hook], { encoding: 'utf8', env });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('install hook without a C compiler: exit 0, one line naming the fallback and the fix', () => {
  const bin = mkdtempSync(join(tmpdir(), 'gshf-hook-'));
  try {
    for (const tool of ['sh', 'bash']) symlinkSync(`/bin/${tool}`, join(bin, tool));
    const r = runHook({ PATH: bin, GSHF_NO_NATIVE: '' });
    assert.equal(r.status, 0);
    assert.equal(r.out.trim().split('\n').length, 1, r.out);
    assert.match(
      r.out,
      /^gshf: native addon not built \('cc' not found\): the pure-TypeScript kernels will run/,
    );
    assert.match(r.out, /npm rebuild gshf/);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

test('install hook without OpenBLAS headers: exit 0 and says so', () => {
  const r = runHook({ ...process.env, GSHF_NO_NATIVE: '', GSHF_BLAS_INCLUDE: '/nonexistent-openblas' });
  assert.equal(r.status, 0);
  assert.match(r.out, /^gshf: native addon not built \(OpenBLAS headers, cblas\.h, not found\)/);
});

test('install hook with GSHF_NO_NATIVE=1 (scripts/install.sh builds the addon itself): silent', () => {
  const r = runHook({ ...process.env, GSHF_NO_NATIVE: '1' });
  assert.equal(r.status, 0);
  assert.equal(r.out, '');
});
