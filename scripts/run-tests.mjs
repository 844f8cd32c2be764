#!/usr/bin/env node
// Runs every compiled test file under dist/test with node's built-in test runner.
// Node 20's `--test` takes no globs, so we find the files ourselves.
// Optional argument: a substring filter on the file path (e.g. `node scripts/run-tests.mjs bandit`).
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = 'dist/test';
if (!existsSync(root)) {
  console.error(`no compiled tests in ${root}: run \`npm run build\` first`);
  process.exit(1);
}
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.test.js')) files.push(p);
  }
};
walk(root);
const filter = process.argv[2];
const selected = filter ? files.filter((f) => f.includes(filter)) : files;
if (selected.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const reporter = process.stdout.isTTY ? 'spec' : 'spec';
const r = spawnSync(process.execPath, ['--test', `--test-reporter=${reporter}`, ...selected], {
  stdio: 'inherit',
  env: { ...process.env, GSHF_QUIET: '1' },
});
process.exit(r.status ?? 1);
