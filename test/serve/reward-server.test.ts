/** `gshf pref serve-rm`: OpenRLHF's POST /get_reward over a gshf reward model, on loopback. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { splitQueries } from '../../src/serve/reward-server.js';
import { startRm, tinyRm } from './helpers.js';

const rm = tinyRm();
let app: FastifyInstance;
let url: string;

before(async () => {
  ({ app, url } = await startRm(rm));
});
after(async () => {
  await app.close();
});

const post = (body: unknown) =>
  fetch(`${url}/get_reward`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

test('rewards equal in-process scoring, with and without the prompts field', async () => {
  const prompts = ['The soup was', 'I think', ''];
  const responses = [' great.', ' it broke', 'ok'];
  const expected = Array.from(rm.score(prompts, responses));
  const query = prompts.map((p, i) => p + responses[i]);
  const withPrompts = (await (await post({ query, prompts })).json()) as {
    rewards: number[];
    scores: number[];
  };
  assert.deepEqual(withPrompts.rewards, expected);
  assert.deepEqual(withPrompts.scores, expected);
  // Without prompts the whole query is the response to an empty prompt: same bytes, same tokens.
  const bare = (await (await post({ query, labels: null })).json()) as { rewards: number[] };
  assert.deepEqual(bare.rewards, Array.from(rm.score(['', '', ''], query)));
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(bare.rewards[i] - expected[i]) < 1e-5);
  const empty = (await (await post({ query: [] })).json()) as { rewards: number[] };
  assert.deepEqual(empty.rewards, []);
});

test('bad input: 400 naming the field', async () => {
  let r = await post({ querys: ['a'] });
  assert.equal(r.status, 400);
  let e = (await r.json()) as { error: { message: string; param: string } };
  assert.equal(e.error.param, 'querys');
  assert.match(e.error.message, /did you mean "query"/);
  r = await post({ query: ['ab'], prompts: ['x'] });
  assert.equal(r.status, 400);
  e = (await r.json()) as typeof e;
  assert.equal(e.error.param, 'prompts[0]');
  r = await post({ query: [1] });
  assert.equal(r.status, 400);
  assert.throws(() => splitQueries(['a', 'b'], ['a']), /prompts has 1 entries but query has 2/);
});
