/**
 * CLI wiring of the pipeline layer: `lm reproduce` lands in the existing `lm` group, `pref import`
 * / `pref export` round-trip TRL JSONL, `pref label` labels through a ledger (a rerun replays), the
 * config schema rejects bad configs with a field path, and the budget formula.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerLmCommands } from '../../src/cli/lm.js';
import { registerPrefCommands } from '../../src/cli/pref.js';
import { parseConfigText } from '../../src/cli/config-file.js';
import { labelBudget, pipelineConfigSchema } from '../../src/pref/pipeline-config.js';
import { generatedPrompts, plannedStages } from '../../src/pref/reproduce.js';

async function run(args: string[]): Promise<string> {
  const program = new Command();
  program.exitOverride();
  registerLmCommands(program);
  registerPrefCommands(program);
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  const errWrite = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array): boolean => {
    out += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((): boolean => true) as typeof process.stderr.write;
  try {
    await program.parseAsync(['node', 'gshf', ...args]);
  } finally {
    process.stdout.write = write;
    process.stderr.write = errWrite;
  }
  return out;
}

test('registerPrefCommands adds reproduce to the existing lm group and a pref group', () => {
  const program = new Command();
  registerLmCommands(program);
  registerPrefCommands(program);
  const lm = program.commands.filter((c) => c.name() === 'lm');
  assert.equal(lm.length, 1, 'no second lm group');
  const sub = lm[0].commands.map((c) => c.name());
  assert.ok(sub.includes('sft') && sub.includes('reproduce'), sub.join(','));
  const reproduce = lm[0].commands.find((c) => c.name() === 'reproduce');
  const flags = reproduce?.options.map((o) => o.long) ?? [];
  for (const f of ['--config', '--out', '--resume', '--seeds']) assert.ok(flags.includes(f), f);
  const pref = program.commands.find((c) => c.name() === 'pref');
  assert.deepEqual(pref?.commands.map((c) => c.name()).sort(), [
    'dpo',
    'export',
    'gold',
    'import',
    'label',
    'prompts',
    'report',
    'rm',
    'score',
  ]);
});

test('pref import → export round-trips TRL JSONL (standard and conversational)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-prefcli-'));
  try {
    const trl = join(dir, 'trl.jsonl');
    const rows = [
      { prompt: 'Review of mug:', chosen: ' Love it!', rejected: ' Awful.' },
      { prompt: 'Review of lamp:', chosen: ' Good value.', rejected: ' Not good.' },
    ];
    writeFileSync(trl, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const pairs = join(dir, 'pairs.jsonl');
    assert.match(
      await run(['pref', 'import', '--in', trl, '--out', pairs]),
      /imported 2 pairs \(standard layout\)/,
    );
    const back = join(dir, 'back.jsonl');
    await run(['pref', 'export', '--in', pairs, '--out', back]);
    assert.deepEqual(
      readFileSync(back, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
      rows,
    );
    const conv = join(dir, 'conv.jsonl');
    await run([
      'pref',
      'export',
      '--in',
      pairs,
      '--out',
      conv,
      '--format',
      'conversational',
      '--gold-scores',
    ]);
    const c = JSON.parse(readFileSync(conv, 'utf8').split('\n')[0]) as {
      prompt: { role: string; content: string }[];
      score_chosen: number;
      score_rejected: number;
    };
    assert.equal(c.prompt[0].content, 'Review of mug:');
    assert.ok(c.score_chosen > c.score_rejected);
    const again = join(dir, 'again.jsonl');
    await run(['pref', 'import', '--in', conv, '--out', again]);
    assert.equal(
      readFileSync(again, 'utf8').split('\n')[0],
      readFileSync(pairs, 'utf8')
        .split('\n')[0]
        .replace(/,"margin":[^}]*/, ''),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pref label: every answer goes through the ledger; a rerun replays it for free', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-prefcli-'));
  try {
    const q = join(dir, 'q.jsonl');
    writeFileSync(
      q,
      [
        { prompt: 'Review of mug:', a: ' Awful.', b: ' Love it! Perfect.' },
        { prompt: 'Review of pan:', a: ' Good.', b: ' Bad.', id: 'x1' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const out = join(dir, 'p.jsonl');
    const ledger = join(dir, 'ledger.jsonl');
    assert.match(
      await run(['pref', 'label', '--in', q, '--out', out, '--ledger', ledger, '--temperature', '0']),
      /2 new labels, 0 replayed/,
    );
    assert.match(
      await run(['pref', 'label', '--in', q, '--out', out, '--ledger', ledger, '--temperature', '0']),
      /0 new labels, 2 replayed/,
    );
    const first = JSON.parse(readFileSync(out, 'utf8').split('\n')[0]) as { chosen: string };
    assert.equal(first.chosen, ' Love it! Perfect.', 'temperature 0 prefers the higher r*');
    assert.equal(readFileSync(ledger, 'utf8').trim().split('\n').length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pipeline config: defaults, budget, validation errors name the field', () => {
  const cfg = parseConfigText('{}', 'empty.yaml', pipelineConfigSchema);
  assert.equal(
    labelBudget(cfg),
    cfg.labels.rmSeed + cfg.methods.iterative.iterations * cfg.labels.perIteration,
  );
  assert.ok(plannedStages(cfg) > 10);
  assert.throws(
    () =>
      parseConfigText('methods:\n  multiStepRso: { etas: [0.1, 0.3] }\n', 'bad.yaml', pipelineConfigSchema),
    /multiStepRso\.etas\.1.*decreasing/,
  );
  assert.throws(
    () => parseConfigText('labels: { rmSeed: many }\n', 'bad.yaml', pipelineConfigSchema),
    /bad\.yaml:1: field "labels\.rmSeed"/,
  );
  const pool = generatedPrompts(['red']);
  assert.equal(new Set(pool).size, pool.length);
  assert.ok(pool.includes('Review of red mug:') && pool.includes('Review of mug:'));
});
