/** The http-rm label source against `gshf pref serve-rm` and against misbehaving fake servers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpRmSource, httpRmSourceSchema, parseRewards } from '../../src/feedback/http-rm.js';
import { LabelSourceError, type LabelQuery } from '../../src/feedback/types.js';
import { deadUrl, fakeServer } from '../net/fake-server.js';
import { startRm, tinyRm } from '../serve/helpers.js';

const QUERIES: LabelQuery[] = [
  { id: 'it1/p0', prompt: 'The tea was', a: ' lovely and warm', b: ' cold' },
  { id: 'it1/p1', prompt: 'Service:', a: ' slow', b: ' quick, friendly' },
  { id: 'it1/p2', prompt: 'x', a: 'same', b: 'same' },
];

test('verdicts follow in-process rewards; identical responses tie; batches split requests', async () => {
  const rm = tinyRm();
  const { app, url } = await startRm(rm);
  try {
    const src = new HttpRmSource({ kind: 'http-rm', url: `${url}/get_reward`, batch_size: 2 });
    const answers = await src.label(QUERIES);
    assert.deepEqual(
      answers.map((a) => a.id),
      QUERIES.map((q) => q.id),
    );
    // In-process scores of exactly the server's batches (same padding, so the same float32 rounding).
    const scoreBatch = (qs: LabelQuery[]) =>
      Array.from(
        rm.score(
          qs.flatMap((q) => [q.prompt, q.prompt]),
          qs.flatMap((q) => [q.a, q.b]),
        ),
      );
    const r = scoreBatch(QUERIES.slice(0, 2));
    QUERIES.slice(0, 2).forEach((q, i) => {
      const [ra, rb] = [r[2 * i], r[2 * i + 1]];
      assert.deepEqual(answers[i].detail, { reward_a: ra, reward_b: rb });
      assert.equal(answers[i].verdict, ra === rb ? 'tie' : ra > rb ? 'a' : 'b');
      assert.equal(answers[i].source, `http-rm:${url}/get_reward`);
    });
    // Identical responses: a tie, never sent (float32 batch rounding could otherwise split them).
    assert.deepEqual(answers[2].detail, { identical: true });
    assert.equal(answers[2].verdict, 'tie');
  } finally {
    await app.close();
  }
});

test('tie_margin turns close rewards into ties', async () => {
  const s = await fakeServer(() => ({ body: JSON.stringify({ rewards: [1.0, 0.95, 2, 0] }) }));
  try {
    const src = new HttpRmSource({ kind: 'http-rm', url: s.url, tie_margin: 0.1 });
    const a = await src.label(QUERIES.slice(0, 2));
    assert.deepEqual(
      a.map((x) => x.verdict),
      ['tie', 'a'],
    );
    assert.deepEqual(s.requests[0], {
      query: ['The tea was lovely and warm', 'The tea was cold', 'Service: slow', 'Service: quick, friendly'],
      prompts: ['The tea was', 'The tea was', 'Service:', 'Service:'],
    });
  } finally {
    await s.close();
  }
});

test('wrong number of rewards: retried, then one LabelSourceError line; earlier batches kept as partial', async () => {
  let calls = 0;
  const s = await fakeServer((body) => {
    calls++;
    const n = (body as { query: string[] }).query.length;
    // First batch fine; every later request answers one reward short.
    return {
      body: JSON.stringify({ rewards: Array.from({ length: calls === 1 ? n : n - 1 }, (_, i) => i) }),
    };
  });
  try {
    const src = new HttpRmSource({ kind: 'http-rm', url: s.url, batch_size: 1, retries: 2, backoff_ms: 1 });
    await assert.rejects(src.label(QUERIES), (e: unknown) => {
      assert.ok(e instanceof LabelSourceError);
      assert.equal(
        e.message,
        `http-rm:${s.url}: POST ${s.url}: wrong shape: "rewards" has 1 numbers, expected 2 (after 3 attempts)`,
      );
      assert.deepEqual(
        e.partial.map((a) => a.id),
        ['it1/p0', 'it1/p2'], // p2 (identical responses) needs no request
      );
      return true;
    });
    assert.equal(s.requests.length, 1 + 3);
  } finally {
    await s.close();
  }
});

test('down, 5xx and malformed answers end in one clear error', async () => {
  const down = new HttpRmSource({
    kind: 'http-rm',
    url: `${await deadUrl()}/get_reward`,
    retries: 1,
    backoff_ms: 1,
  });
  await assert.rejects(down.label(QUERIES), /cannot connect \(ECONNREFUSED\) \(after 2 attempts\)$/);
  const bad = await fakeServer((_b, k) =>
    k === 0 ? { status: 502, body: 'bad gateway' } : { body: 'not json' },
  );
  try {
    const src = new HttpRmSource({ kind: 'http-rm', url: bad.url, retries: 1, backoff_ms: 1 });
    await assert.rejects(src.label(QUERIES), /malformed JSON "not json" \(after 2 attempts\)$/);
    assert.equal(bad.requests.length, 2);
  } finally {
    await bad.close();
  }
});

test('config: unknown keys rejected; API key read from the environment and sent as a bearer token', async () => {
  const r = httpRmSourceSchema.safeParse({ kind: 'http-rm', url: 'http://h/get_reward', timeout: 5 });
  assert.equal(r.success, false);
  assert.equal(r.error?.issues[0].code, 'unrecognized_keys');
  assert.throws(
    () =>
      new HttpRmSource({ kind: 'http-rm', url: 'http://h/get_reward', api_key_env: 'GSHF_TEST_UNSET_KEY' }),
    /GSHF_TEST_UNSET_KEY is not set/,
  );
  assert.throws(() => parseRewards({ rewards: [1, 'x'] }, 2), /rewards\[1\] is "x"/);
  const s = await fakeServer(() => ({ body: JSON.stringify({ rewards: [0, 1] }) }));
  process.env.GSHF_TEST_RM_KEY = 'k-123';
  try {
    const src = new HttpRmSource({ kind: 'http-rm', url: s.url, api_key_env: 'GSHF_TEST_RM_KEY' });
    assert.equal((await src.label(QUERIES.slice(0, 1)))[0].verdict, 'b');
    assert.equal(s.headers[0].authorization, 'Bearer k-123');
  } finally {
    delete process.env.GSHF_TEST_RM_KEY;
    await s.close();
  }
});
