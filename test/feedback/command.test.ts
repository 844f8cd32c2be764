import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandLabelSource, commandSourceSchema } from '../../src/feedback/command.js';
import type { LabelQuery } from '../../src/feedback/types.js';
import { loopConfigSchema, resolveConfigPaths } from '../../src/loop/config.js';
import { stderrSummary } from '../../src/math/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'gshf-cmd-'));
/** The labeller: prefers the longer response, skips ids ending in "skip", echoes its mode as detail. */
const script = join(dir, 'labeller.mjs');
writeFileSync(
  script,
  `import { createInterface } from 'node:readline';
const mode = process.argv[2] ?? 'ok';
if (mode === 'sleep') setTimeout(() => {}, 60000);
if (mode === 'fail') { process.stderr.write('model not found\\n'); process.exit(3); }
const rl = createInterface({ input: process.stdin });
let n = 0;
for await (const line of rl) {
  const q = JSON.parse(line);
  n++;
  if (mode === 'garbage' && n === 2) { console.log('not json'); continue; }
  if (q.id.endsWith('skip')) continue;
  console.log(JSON.stringify({ id: q.id, verdict: q.a.length >= q.b.length ? 'a' : 'b', mode }));
}
`,
);

const qs: LabelQuery[] = [
  { id: 'it1/p0', prompt: 'P', a: 'long answer', b: 'short' },
  { id: 'it1/p1', prompt: 'P', a: 'x', b: 'yy' },
  { id: 'it1/skip', prompt: 'P', a: 'x', b: 'y' },
];

const src = (mode: string, timeoutSeconds = 30) =>
  new CommandLabelSource(
    commandSourceSchema.parse({ kind: 'command', command: [process.execPath, script, mode], timeoutSeconds }),
  );

test('command source: JSONL in, JSONL out; a subset may be answered; extra keys are detail', async () => {
  const ans = await src('ok').label(qs);
  assert.deepEqual(
    ans.map((a) => [a.id, a.verdict]),
    [
      ['it1/p0', 'a'],
      ['it1/p1', 'b'],
    ],
  );
  assert.deepEqual(ans[0].detail, { mode: 'ok' });
  assert.match(ans[0].source, /^command:.*labeller\.mjs ok$/);
  // A shell command line works too.
  const sh = new CommandLabelSource(
    commandSourceSchema.parse({ kind: 'command', command: `"${process.execPath}" "${script}" ok` }),
  );
  assert.equal((await sh.label(qs)).length, 2);
});

test('command source: non-zero exit, malformed line and timeout are one clear line naming the command', async () => {
  await assert.rejects(
    src('fail').label(qs),
    /command:.*labeller\.mjs fail: exited with code 3 \(cwd [^)]+\); stderr: model not found/,
  );
  await assert.rejects(
    src('garbage').label(qs),
    /command:.*labeller\.mjs garbage: stdout line 2: not JSON: "not json"/,
  );
  await assert.rejects(src('sleep', 0.3).label(qs), /labeller\.mjs sleep: timed out after 0\.3 s \(killed\)/);
  const missing = new CommandLabelSource(
    commandSourceSchema.parse({ kind: 'command', command: ['/nonexistent/labeller'] }),
  );
  await assert.rejects(missing.label(qs), /command:\/nonexistent\/labeller: cannot start/);
});

test('command source config: unknown keys are rejected', () => {
  const r = commandSourceSchema.safeParse({ kind: 'command', command: 'x', timeout: 3 });
  assert.equal(r.success, false);
  assert.match(JSON.stringify(r.error?.issues), /timeout/);
});

test("command source: a wrong script path names Node's real error, not its version line", async () => {
  const wrong = new CommandLabelSource(
    commandSourceSchema.parse({
      kind: 'command',
      command: `"${process.execPath}" no-such-labeller.mjs`,
      cwd: dir,
    }),
  );
  await assert.rejects(wrong.label(qs), (e: Error) => {
    assert.match(
      e.message,
      /exited with code 1 \(cwd .*gshf-cmd-[^)]*\); stderr: Error: Cannot find module '.*no-such-labeller\.mjs'/,
    );
    assert.doesNotMatch(e.message, /Node\.js v\d/);
    return true;
  });
});

test("loop config: a command label source runs in the config file's folder unless it names a cwd", () => {
  const cfg = (labels: Record<string, unknown>) =>
    loopConfigSchema.parse({
      prompts: { path: 'p.jsonl', perIteration: 2 },
      iterations: 1,
      budget: 4,
      labels,
      policy: { kind: 'local', model: 'm' },
    });
  const base = resolveConfigPaths(cfg({ kind: 'command', command: 'node label.mjs' }), '/cfg/dir');
  assert.equal((base.labels as { cwd?: string }).cwd, '/cfg/dir');
  const own = resolveConfigPaths(
    cfg({ kind: 'command', command: 'node label.mjs', cwd: 'tools' }),
    '/cfg/dir',
  );
  assert.equal((own.labels as { cwd?: string }).cwd, '/cfg/dir/tools');
  assert.equal(base.prompts.path, '/cfg/dir/p.jsonl');
});

test('stderrSummary: the error line, wherever the program put it', () => {
  assert.equal(
    stderrSummary("node:internal\n  at x\nError: Cannot find module '/a.mjs'\n  at y\n\nNode.js v20.20.2\n"),
    "Error: Cannot find module '/a.mjs'",
  );
  assert.equal(
    stderrSummary('Traceback (most recent call last):\n  File "t.py"\nValueError: bad beta\n'),
    'ValueError: bad beta',
  );
  assert.equal(stderrSummary('just a warning\nlast words\n'), 'last words');
  assert.equal(stderrSummary(''), '');
});
