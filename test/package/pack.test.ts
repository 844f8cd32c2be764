/**
 * The package as a user gets it: `npm pack`, install the tarball into a scratch project in a temp
 * folder, import it BY NAME from ESM and compile the README's library example with `tsc --strict`.
 * Offline: the scratch project's `overrides` point gshf's dependencies at this repo's node_modules
 * (what `npm ci` installed), so a clean CI machine needs no network (see `install`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/math/rng.js';
import { algorithmNames } from '../../src/bandit/index.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function sh(cmd: string, args: string[], cwd: string): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

const deps = (): string[] =>
  Object.keys(
    (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { dependencies: Record<string, string> })
      .dependencies,
  );

/**
 * A scratch project whose `overrides` resolve each of gshf's dependencies to this repo's installed
 * copy (`file:` links), so `npm install --offline <tarball>` needs neither the network nor registry
 * metadata in the npm cache (which `npm ci` does not store). If npm still fails, the tarball is
 * unpacked and the dependencies linked by hand, and the reason is printed.
 */
function install(app: string, tarball: string): string {
  const overrides = Object.fromEntries(deps().map((d) => [d, `file:${join(repo, 'node_modules', d)}`]));
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'app', private: true, type: 'module', overrides }),
  );
  const r = sh(npm, ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], app);
  if (r.ok) return 'npm install --offline';
  const dest = join(app, 'node_modules', 'gshf');
  mkdirSync(dest, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', dest, '--strip-components=1']);
  for (const d of deps()) {
    const link = join(app, 'node_modules', d);
    mkdirSync(join(link, '..'), { recursive: true });
    if (!existsSync(link)) symlinkSync(join(repo, 'node_modules', d), link, 'dir');
  }
  return `unpacked + linked dependencies (npm install --offline failed: ${r.out.split('\n').find((l) => /ERR/.test(l)) ?? r.out.slice(0, 200)})`;
}

/** The README's fenced example between the library-example markers. */
function readmeExample(): string {
  const md = readFileSync(join(repo, 'README.md'), 'utf8');
  const m = /<!-- library-example:start -->\s*```ts\n([^]*?)```\s*<!-- library-example:end -->/.exec(md);
  assert.ok(m, 'README.md has a library example between the markers');
  return m[1];
}

test('npm pack → install into a scratch project → import by name (ESM, subpaths, tsc --strict)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'gshf-pack-'));
  try {
    const packed = sh(npm, ['pack', '--ignore-scripts', '--pack-destination', tmp], repo);
    assert.ok(packed.ok, packed.out);
    const tarball = join(tmp, readdirSync(tmp).find((f) => f.endsWith('.tgz')) ?? 'missing.tgz');
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    assert.ok(files.includes('package/dist/src/index.js') && files.includes('package/dist/src/index.d.ts'));
    assert.ok(
      files.includes('package/native/src/gshf_native.c') ||
        files.some((f) => f.startsWith('package/native/src/')),
    );
    assert.ok(!files.some((f) => f.startsWith('package/dist/test/')), 'tests are not shipped');
    const app = join(tmp, 'app');
    mkdirSync(app);
    const how = install(app, tarball);
    assert.equal(how, 'npm install --offline');

    // ESM by name: the main API and every subpath; values computed by the package equal ours.
    const esm = sh(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { Rng, algorithmNames, getAlgorithm, runExperiment, GPT, RewardModel, readPreferenceFile } from 'gshf';
         import * as bandit from 'gshf/bandit'; import * as nn from 'gshf/nn'; import * as pref from 'gshf/pref';
         import * as math from 'gshf/math'; import * as report from 'gshf/report'; import * as feedback from 'gshf/feedback';
         console.log(JSON.stringify({
           u: new Rng(11).uniform(), names: algorithmNames(), dpo: getAlgorithm('dpo').name,
           fns: [runExperiment, GPT, RewardModel, readPreferenceFile, bandit.runExperiment, nn.loadTokenizer,
                 pref.trainDpo, math.Rng, report.linePlot].map((f) => typeof f),
           verdicts: feedback.VERDICTS,
         }));`,
      ],
      app,
    );
    assert.ok(esm.ok, esm.out);
    const got = JSON.parse(esm.out.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
    assert.equal(got.u, new Rng(11).uniform());
    assert.deepEqual(got.names, algorithmNames());
    assert.equal(got.dpo, 'dpo');
    assert.deepEqual(got.fns, Array(9).fill('function'));
    assert.deepEqual(got.verdicts, ['a', 'b', 'tie', 'both-bad']);
    // Deep paths outside the exports map are closed.
    const deep = sh(
      process.execPath,
      ['--input-type=module', '-e', "import 'gshf/dist/src/cli/pref.js'"],
      app,
    );
    assert.ok(!deep.ok && /ERR_PACKAGE_PATH_NOT_EXPORTED/.test(deep.out), deep.out);

    // TypeScript, strict, NodeNext: the README example compiles against the shipped typings and runs.
    writeFileSync(join(app, 'example.ts'), readmeExample());
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          // Our .d.ts files come from our own `tsc --declaration` build; checking them (and zod's)
          // again here costs ~4× the time and tests nothing new about the package.
          skipLibCheck: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          outDir: 'out',
          typeRoots: [join(repo, 'node_modules/@types')],
          types: ['node'],
        },
        files: ['example.ts'],
      }),
    );
    const tsc = sh(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', app], app);
    assert.ok(tsc.ok, tsc.out);
    const run = sh(process.execPath, [join(app, 'out/example.js')], app);
    assert.ok(run.ok, run.out);
    const lines = run.out.trim().split('\n');
    assert.equal(lines[0], `uniform ${new Rng(7).uniform().toFixed(6)}`);
    assert.equal(lines[1], `algorithms ${algorithmNames().length}`);
    // HH prompt = everything through the last "\n\nAssistant:" (8 + 14 + 12 = 34 chars); the response keeps its space.
    assert.equal(lines[2], 'hh-rlhf " An apple." 34');
    // The HumanLabelSource the annotation-service docs use is exported from gshf/feedback.
    const human = sh(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import { HumanLabelSource } from 'gshf/feedback'; console.log(typeof HumanLabelSource)",
      ],
      app,
    );
    assert.equal(human.out.trim(), 'function', human.out);
    installHookBuildsTheAddon(app);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

/**
 * `npm install gshf` runs the package's install hook (native/install.mjs; the install above passed
 * --ignore-scripts so it can run offline and quickly): with a compiler and OpenBLAS present it builds
 * the addon inside the installed package, which the library then loads by itself.
 */
function installHookBuildsTheAddon(app: string): void {
  if (process.env.GSHF_EXPECT_NATIVE !== '1') return; // no compiler / OpenBLAS: see install-hook.test.ts
  const pkg = join(app, 'node_modules', 'gshf');
  const hook = spawnSync(process.execPath, ['native/install.mjs'], {
    cwd: pkg,
    encoding: 'utf8',
    env: { ...process.env, GSHF_NO_NATIVE: '' },
  });
  assert.equal(hook.status, 0, hook.stderr);
  assert.match(hook.stdout, /^gshf: native kernels built: /m, hook.stdout);
  assert.ok(existsSync(join(pkg, 'native/build/Release/gshf_native.node')));
  const backend = sh(
    process.execPath,
    ['--input-type=module', '-e', "import { kernelBackend } from 'gshf/nn'; console.log(kernelBackend())"],
    app,
  );
  assert.match(backend.out.trim(), /^native \(/, backend.out);
}
