/**
 * Regressions of the first hour of a new user: each case once surprised someone following the
 * README. Built CLI as a real process where the CLI is the surface, library calls elsewhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ByteTokenizer, GPT, saveCheckpoint } from '../../src/nn/index.js';
import { pairsToTrlRows } from '../../src/pref/data.js';
import { algorithmNames } from '../../src/bandit/index.js';
import { parseConfigText } from '../../src/cli/config-file.js';
import { loopConfigSchema } from '../../src/loop/config.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const gshf = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GSHF_QUIET: '1' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

const dir = mkdtempSync(join(tmpdir(), 'gshf-first-hour-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const model = join(dir, 'pi0');
saveCheckpoint(
  model,
  new GPT({ vocabSize: 259, blockSize: 48, nLayer: 1, nHead: 2, nEmbd: 16 }, 3),
  new ByteTokenizer(),
);

test('lm sample without --prompt is refused, naming the way to sample from the empty prompt', () => {
  const r = gshf('lm', 'sample', '--model', model, '--max-tokens', '2');
  assert.equal(r.code, 1);
  assert.match(r.err, /give at least one --prompt .*--prompt "" samples from the empty prompt/);
  const empty = gshf('lm', 'sample', '--model', model, '--prompt', '', '--max-tokens', '2', '--json');
  assert.equal(empty.code, 0, empty.err);
  assert.equal(JSON.parse(empty.out.trim()).prompt, '');
});

test('lm score on a preference file scores both responses; the margin is their difference', () => {
  const pairs = join(dir, 'pairs.jsonl');
  writeFileSync(
    pairs,
    [
      { prompt: 'Review:', chosen: ' good', rejected: ' bad bad' },
      { prompt: 'Hi', chosen: ' yes', rejected: ' no' },
    ]
      .map((p) => JSON.stringify(p) + '\n')
      .join(''),
  );
  const r = gshf('lm', 'score', '--model', model, '--data', pairs);
  assert.equal(r.code, 0, r.err);
  const rows = r.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);
  assert.equal(rows.length, 2);
  // The same responses scored as prompt/response rows give the same numbers.
  const single = join(dir, 'single.jsonl');
  writeFileSync(
    single,
    [' good', ' bad bad'].map((response) => JSON.stringify({ prompt: 'Review:', response }) + '\n').join(''),
  );
  const s = gshf('lm', 'score', '--model', model, '--data', single);
  const [c, rj] = s.out
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { logprob: number }).logprob);
  assert.equal(rows[0].chosen_logprob, c);
  assert.equal(rows[0].rejected_logprob, rj);
  assert.equal(rows[0].margin, c - rj);
  assert.equal(rows[0].chosen_tokens, 6); // " good" + EOS
  assert.match(r.err, /scored 2 preference pairs .* in \d of 2/);
});

test('bandit algorithms prints each name with a description; --names the bare list', () => {
  const r = gshf('bandit', 'algorithms');
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n').filter((l) => /^\S/.test(l) && !l.startsWith('Options'));
  assert.equal(lines.length, algorithmNames().length);
  for (const l of lines) assert.match(l, /^[\w-]+ {2,}\S.{10,}/, l);
  assert.ok(
    lines.every((l) => l.length <= 120),
    'fits a terminal',
  );
  assert.deepEqual(gshf('bandit', 'algorithms', '--names').out.trim().split('\n'), algorithmNames());
});

test('a label-source typo in a loop config: did-you-mean, and a missing field said plainly', () => {
  const yaml = [
    'prompts: {path: p.jsonl, perIteration: 2}',
    'iterations: 1',
    'budget: 4',
    'labels: {kind: judge, url: "http://127.0.0.1:1/v1", modle: x}',
    'policy: {kind: local, model: pi0}',
  ].join('\n');
  assert.throws(
    () => parseConfigText(yaml, 'loop.yaml', loopConfigSchema),
    (e: Error) => {
      assert.match(e.message, /loop\.yaml:4: field "labels\.modle": unknown key; did you mean "model"\?/);
      assert.match(
        e.message,
        /loop\.yaml:4: field "labels\.model": required field missing \(expected string\)/,
      );
      assert.doesNotMatch(e.message, /Invalid input/);
      return true;
    },
  );
});

test('pref export --format conversational: an HH transcript prompt becomes its turns, markers gone', () => {
  const [row] = pairsToTrlRows(
    [
      {
        prompt: '\n\nHuman: What is 2+2?\n\nAssistant: 4.\n\nHuman: And 3+3?\n\nAssistant:',
        chosen: ' 6.',
        rejected: ' 7.',
      },
    ],
    { format: 'conversational' },
  );
  assert.deepEqual(row, {
    prompt: [
      { role: 'user', content: 'What is 2+2?' },
      { role: 'assistant', content: '4.' },
      { role: 'user', content: 'And 3+3?' },
    ],
    chosen: [{ role: 'assistant', content: '6.' }],
    rejected: [{ role: 'assistant', content: '7.' }],
  });
  // A plain prompt is one user message, verbatim (round-trips through pref import).
  const [plain] = pairsToTrlRows([{ prompt: 'Q: x', chosen: ' a', rejected: ' b' }], {
    format: 'conversational',
  });
  assert.deepEqual(plain.prompt, [{ role: 'user', content: 'Q: x' }]);
  assert.deepEqual(plain.chosen, [{ role: 'assistant', content: ' a' }]);
});

test('CSV import: preference pairs and prompts, RFC 4180 quoting, errors naming the line', async () => {
  const { readPreferenceFile } = await import('../../src/pref/data.js');
  const { readPrompts } = await import('../../src/pref/prompts.js');
  const pairs = join(dir, 'pairs.csv');
  writeFileSync(
    pairs,
    'prompt,chosen,rejected,score_chosen\n"Q: a, b?"," yes, ""quoted""", no,1.5\nHi," multi\nline",x,\n',
  );
  const imp = readPreferenceFile(pairs);
  assert.equal(imp.layout, 'standard');
  assert.deepEqual(imp.pairs, [
    { prompt: 'Q: a, b?', chosen: ' yes, "quoted"', rejected: ' no', score_chosen: 1.5 },
    { prompt: 'Hi', chosen: ' multi\nline', rejected: 'x' },
  ]);
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'prompt,chosen,rejected\na,b,c\nd,e\n');
  assert.throws(() => readPreferenceFile(bad), /bad\.csv:3: invalid CSV/);
  const prompts = join(dir, 'prompts.csv');
  writeFileSync(prompts, '\uFEFFprompt,source\nhello,x\n"a, b",y\nhello,z\n');
  assert.deepEqual(readPrompts(prompts), ['hello', 'a, b']);
  const noCol = join(dir, 'nocol.csv');
  writeFileSync(noCol, 'text\nhello\n');
  assert.throws(
    () => readPrompts(noCol),
    /nocol\.csv:1: a prompts CSV needs a "prompt" column \(columns: text\)/,
  );
});

test('bandit generate --out into a folder that does not exist yet creates it', () => {
  const env = join(dir, 'new', 'sub', 'env.json');
  const pairs = join(dir, 'new', 'other', 'pairs.jsonl');
  const r = gshf(
    'bandit',
    'generate',
    '--out',
    env,
    '--pairs',
    pairs,
    '--n',
    '20',
    '--contexts',
    '5',
    '--K',
    '4',
    '--d',
    '2',
  );
  assert.equal(r.code, 0, r.err);
  const fit = gshf('bandit', 'fit', '--env', env, '--pairs', pairs, '--json');
  assert.equal(fit.code, 0, fit.err);
  assert.equal((JSON.parse(fit.out) as { n_pairs: number }).n_pairs, 20);
});

test('lm sft --resume on a run that already finished says so and succeeds (README: the resume line after the run)', () => {
  const out = join(dir, 'sft-done');
  const first = gshf(
    'lm',
    'sft',
    '--data',
    'builtin',
    '--preset',
    'tiny',
    '--steps',
    '2',
    '--out',
    out,
    '--val-fraction',
    '0',
  );
  assert.equal(first.code, 0, first.err);
  const again = gshf(
    'lm',
    'sft',
    '--data',
    'builtin',
    '--preset',
    'tiny',
    '--steps',
    '2',
    '--out',
    out,
    '--val-fraction',
    '0',
    '--resume',
  );
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /holds a finished run \(its checkpoint is complete\): nothing to resume/);
  const none = gshf(
    'lm',
    'sft',
    '--data',
    'builtin',
    '--preset',
    'tiny',
    '--steps',
    '2',
    '--out',
    join(dir, 'never'),
    '--resume',
  );
  assert.equal(none.code, 1);
  assert.match(none.err, /no sft-state\.safetensors to resume from/);
});
