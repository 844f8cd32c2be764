/**
 * docs/scale-out.md's Kubernetes Indexed Job, validated against the Kubernetes API schema
 * (kubernetes-models' batch/v1 Job, generated from the Kubernetes OpenAPI spec): the page's manifest
 * passes, and the same manifest with a misspelt enum value or a wrongly typed field fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { Job } from 'kubernetes-models/batch/v1';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function manifest(): Record<string, unknown> {
  const md = readFileSync(join(root, 'docs/scale-out.md'), 'utf8');
  const m = /## Kubernetes[^]*?```yaml\n([^]*?)```/.exec(md);
  assert.ok(m, 'docs/scale-out.md has a Kubernetes manifest');
  return YAML.parse(m[1]) as Record<string, unknown>;
}

test('the scale-out Kubernetes Job validates against the batch/v1 Job schema', () => {
  const job = new Job(manifest() as ConstructorParameters<typeof Job>[0]);
  job.validate();
  assert.equal(job.spec?.completionMode, 'Indexed');
  assert.equal(job.spec?.completions, 16);
  const args = job.spec?.template.spec?.containers[0].args?.join(' ') ?? '';
  assert.match(args, /--shard "\$JOB_COMPLETION_INDEX\/16"/);
});

test('the schema check can fail: a misspelt completionMode and a mistyped cpu request are refused', () => {
  const bad = manifest() as {
    spec: {
      completionMode: string;
      template: { spec: { containers: { resources: { requests: { cpu: unknown } } }[] } };
    };
  };
  bad.spec.completionMode = 'Indexd';
  bad.spec.template.spec.containers[0].resources.requests.cpu = { cores: 8 };
  assert.throws(
    () => new Job(bad as unknown as ConstructorParameters<typeof Job>[0]).validate(),
    (e: Error) =>
      /completionMode must be equal to one of the allowed values/.test(e.message) &&
      /requests\/cpu/.test(e.message),
  );
});
