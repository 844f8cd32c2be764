/** The scheduler: seedless jobs with equal parameters share one sampler call; seeded jobs run alone. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GenParams, GenResult, LmEngine } from '../../src/serve/engine.js';
import { Scheduler } from '../../src/serve/scheduler.js';

const P: GenParams = {
  n: 2,
  temperature: 1,
  topP: 1,
  topK: 0,
  maxTokens: 4,
  stop: [],
  seed: 1,
  logprobs: null,
};

/** An engine stand-in: choice text = "<first prompt token>/<sample>", one token per choice. */
function fakeEngine(calls: number[][][]): LmEngine {
  const run = (prompts: number[][], params: GenParams): GenResult => {
    calls.push(prompts);
    const choices = prompts.map((p, i) =>
      Array.from({ length: params.n }, (_, j) => ({
        prompt: i,
        sample: j,
        text: `${p[0]}/${j}`,
        tokens: [7],
        finish: 'stop' as const,
      })),
    );
    return { choices, promptTokens: prompts.flat().length, completionTokens: prompts.length * params.n };
  };
  return { run } as unknown as LmEngine;
}

test('merging: three seedless jobs → one call; the seeded one and a different-params one run alone', async () => {
  const calls: number[][][] = [];
  const s = new Scheduler(fakeEngine(calls), 10);
  const a = s.submit({ prompts: [[1], [2]], params: P, seeded: false });
  const b = s.submit({ prompts: [[3]], params: P, seeded: true });
  const c = s.submit({ prompts: [[4, 4]], params: P, seeded: false });
  const d = s.submit({ prompts: [[5]], params: { ...P, temperature: 0.5 }, seeded: false });
  const e = s.submit({ prompts: [[6]], params: P, seeded: false });
  assert.equal(s.load, 5);
  const [ra, rb, rc, rd, re] = await Promise.all([a, b, c, d, e]);
  assert.deepEqual(calls, [[[1], [2], [4, 4], [6]], [[3]], [[5]]]);
  assert.deepEqual(
    ra?.choices.map((row) => row.map((x) => [x.prompt, x.text])),
    [
      [
        [0, '1/0'],
        [0, '1/1'],
      ],
      [
        [1, '2/0'],
        [1, '2/1'],
      ],
    ],
  );
  assert.equal(rc?.choices[0][0].prompt, 0); // re-indexed to its own request
  assert.equal(rc?.promptTokens, 2);
  assert.equal(rc?.completionTokens, 2);
  assert.equal(re?.choices[0][1].text, '6/1');
  assert.ok(rb && rd);
  assert.equal(s.load, 0);
});

test('admission: beyond maxJobs submit refuses', async () => {
  const s = new Scheduler(fakeEngine([]), 2);
  const a = s.submit({ prompts: [[1]], params: P, seeded: true });
  const b = s.submit({ prompts: [[1]], params: P, seeded: true });
  assert.equal(s.submit({ prompts: [[1]], params: P, seeded: true }), null);
  await Promise.all([a, b]);
  assert.ok(s.submit({ prompts: [[1]], params: P, seeded: true }));
});
