/** Every shipped examples/loop config validates against the loop schema. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile } from '../../src/cli/config-file.js';
import { LABEL_SOURCE_KINDS, createLabelSource } from '../../src/feedback/registry.js';
import { loopConfigSchema } from '../../src/loop/config.js';

const dir = 'examples/loop';

test('examples/loop: each config loads; together they cover every label source and both backends', async () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  const kinds = new Set<string>();
  const policies = new Set<string>();
  for (const f of files) {
    const path = join(dir, f);
    const cfg = loadConfigFile(path, loopConfigSchema);
    kinds.add(cfg.labels.kind);
    for (const s of Object.values(cfg.labelSources ?? {})) kinds.add(s.kind);
    policies.add(cfg.policy.kind);
    if (cfg.policy.kind !== 'local') assert.ok(cfg.trainer, `${f}: remote generation needs a trainer`);
  }
  assert.deepEqual([...kinds].sort(), [...LABEL_SOURCE_KINDS].sort());
  assert.deepEqual([...policies].sort(), ['local', 'openai']);
  // The noiseless oracle of the local example answers through the registry: r* = AFINN/5, so
  // "great great great" (3·3/5 = 1.8) beats "awful" (−3/5) at temperature 0.
  const local = loadConfigFile(join(dir, 'local-oracle.yaml'), loopConfigSchema);
  const src = await createLabelSource(local.labelSources!.noiseless, { seed: '0', env: {} });
  const ans = await src.label([
    { id: 'q0', prompt: 'Review:', a: ' great great great', b: ' awful' },
    { id: 'q1', prompt: 'Review:', a: ' awful', b: ' great' },
  ]);
  assert.deepEqual(
    ans.map((a) => a.verdict),
    ['a', 'b'],
  );
});
