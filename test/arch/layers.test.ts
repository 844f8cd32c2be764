import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/test/arch/ → the repository root
const root = fileURLToPath(new URL('../../../', import.meta.url));
const require = createRequire(import.meta.url);
const { LAYERS } = require(join(root, 'scripts/layers.cjs')) as { LAYERS: Record<string, string[]> };

/** The import table of docs/ARCHITECTURE.md as { layer: allowed layers }. */
function docsTable(): Record<string, string[]> {
  const md = readFileSync(join(root, 'docs/ARCHITECTURE.md'), 'utf8');
  const start = md.indexOf('| layer | may import |');
  assert.ok(start >= 0, 'docs/ARCHITECTURE.md has no import table');
  const rows = md.slice(start).split('\n').slice(2);
  const out: Record<string, string[]> = {};
  const names = (cell: string): string[] => [...cell.matchAll(/`src\/([a-z]+)`/g)].map((m) => m[1]);
  for (const row of rows) {
    if (!row.startsWith('|')) break;
    const [, layers, may] = row.split('|').map((c) => c.trim());
    const allowed = may === 'everything' ? ['*'] : names(may);
    for (const l of names(layers)) out[l] = allowed;
  }
  return out;
}

const sorted = (t: Record<string, string[]>): Record<string, string[]> =>
  Object.fromEntries(
    Object.keys(t)
      .sort()
      .map((k) => [k, [...t[k]].sort()]),
  );

test('docs/ARCHITECTURE.md states the import table the lint rule enforces', () => {
  assert.deepEqual(sorted(docsTable()), sorted(LAYERS));
});

test('every folder of src/ has a row in the import table', () => {
  const src = join(root, 'src');
  const folders = readdirSync(src).filter((f) => statSync(join(src, f)).isDirectory());
  assert.deepEqual(folders.sort(), Object.keys(LAYERS).sort());
});

/** Runs the project's dependency-cruiser config over a throw-away tree of files. */
function cruise(files: Record<string, string>): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-layers-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const bin = join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
    const r = spawnSync(process.execPath, [bin, 'src', '--config', join(root, '.dependency-cruiser.cjs')], {
      cwd: dir,
      encoding: 'utf8',
    });
    return { status: r.status, out: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the lint rule passes a downward import and fails an upward one, naming the rule', () => {
  const ok = cruise({
    'src/pref/a.ts': "import { x } from '../math/b.js';\nexport const y = x;\n",
    'src/math/b.ts': 'export const x = 1;\n',
  });
  assert.equal(ok.status, 0, ok.out);
  const bad = cruise({
    'src/math/b.ts': "import { y } from '../pref/a.js';\nexport const x = y;\n",
    'src/pref/a.ts': 'export const y = 1;\n',
  });
  assert.notEqual(bad.status, 0);
  assert.match(bad.out, /error layer-math: src\/math\/b\.ts → src\/pref\/a\.ts/);
});

test('the lint rule fails an import cycle inside one layer, and a reach past src/nn/index.ts', () => {
  const cyc = cruise({
    'src/loop/a.ts': "import type { B } from './b.js';\nexport interface A { b?: B }\n",
    'src/loop/b.ts': "import type { A } from './a.js';\nexport interface B { a?: A }\n",
  });
  assert.notEqual(cyc.status, 0);
  assert.match(cyc.out, /error no-circular/);
  const past = cruise({
    'src/pref/a.ts': "import { x } from '../nn/model.js';\nexport const y = x;\n",
    'src/nn/model.ts': 'export const x = 1;\n',
    'src/nn/index.ts': "export { x } from './model.js';\n",
  });
  assert.notEqual(past.status, 0);
  assert.match(past.out, /error nn-through-index: src\/pref\/a\.ts → src\/nn\/model\.ts/);
});
