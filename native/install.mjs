#!/usr/bin/env node
// The package's own install hook (`npm install gshf` runs it): builds the optional native addon when
// a C compiler, make, python3 and the OpenBLAS headers are present, and says in one line which
// kernels will run. It never fails the install: without the addon the library runs on its
// pure-TypeScript kernels. GSHF_NO_NATIVE=1 skips it (scripts/install.sh builds the addon itself).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const say = (line) => console.log(`gshf: ${line}`);
const fallback = 'the pure-TypeScript kernels will run (correct, slower)';
const howTo =
  'to build it, install a C compiler, make, python3 and libopenblas-dev (Debian) and run `npm rebuild gshf`';

function missingTool() {
  for (const tool of ['cc', 'make', 'python3']) {
    const r = spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    if (r.status !== 0) return tool;
  }
  return null;
}

function main() {
  if (process.env.GSHF_NO_NATIVE === '1') return;
  const tool = missingTool();
  if (tool) return say(`native addon not built ('${tool}' not found): ${fallback}; ${howTo}`);
  const inc = spawnSync('sh', [join(here, 'blas-config.sh'), 'include'], { encoding: 'utf8' });
  if (!existsSync(join((inc.stdout ?? '').trim(), 'cblas.h')))
    return say(`native addon not built (OpenBLAS headers, cblas.h, not found): ${fallback}; ${howTo}`);
  const r = spawnSync('bash', [join(here, 'build.sh')], { encoding: 'utf8' });
  const log = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const built = /\[native\] built (.*)$/m.exec(log);
  if (r.status === 0 && built) return say(`native kernels built: ${built[1]}`);
  const why = log.trim().split('\n').filter((l) => /error/i.test(l)).pop() ?? `exit ${r.status}`;
  say(`native addon not built (${why.slice(0, 200)}): ${fallback}; ${howTo}`);
}

main();
