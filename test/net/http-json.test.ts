/** postJson: what is retried, how often, and the one error line at the end. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  backoffDelay,
  HttpJsonError,
  postJson,
  ShapeError,
  type RetryPolicy,
} from '../../src/net/http-json.js';
import { deadUrl, fakeServer } from './fake-server.js';

const FAST: RetryPolicy = { timeoutMs: 2000, retries: 3, backoffMs: 1, random: () => 0.5 };
const parseN = (json: unknown): number => {
  const n = (json as { n?: unknown }).n;
  if (typeof n !== 'number') throw new ShapeError('no number "n"');
  return n;
};

test('backoff: full jitter under min(cap, base·2^k)', () => {
  const p: RetryPolicy = { timeoutMs: 1, retries: 5, backoffMs: 100, maxBackoffMs: 1000, random: () => 0.5 };
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((k) => backoffDelay(k, p)),
    [50, 100, 200, 400, 500],
  );
  assert.equal(backoffDelay(3, { ...p, random: () => 0 }), 0);
});

test('5xx, 429 and malformed JSON are retried until an answer parses', async () => {
  const script = [
    { status: 503, body: '{"error":"busy"}' },
    { status: 429, body: '{}' },
    { body: '{"n": ' },
    { body: '{"m": 1}' }, // wrong shape
    { body: '{"n": 7}' },
  ];
  const s = await fakeServer((_b, k) => script[k]);
  try {
    const v = await postJson({ url: s.url, body: { q: 1 }, parse: parseN }, { ...FAST, retries: 4 });
    assert.equal(v, 7);
    assert.equal(s.requests.length, 5);
    assert.deepEqual(s.requests[0], { q: 1 });
  } finally {
    await s.close();
  }
});

test('retries exhausted: one line naming the endpoint, the attempts and the last answer', async () => {
  const s = await fakeServer(() => ({ status: 500, body: 'Internal\nServer   Error' }));
  try {
    await assert.rejects(postJson({ url: s.url, body: {}, parse: parseN }, FAST), (e: unknown) => {
      assert.ok(e instanceof HttpJsonError);
      assert.equal(e.message, `POST ${s.url}: HTTP 500 "Internal Server Error" (after 4 attempts)`);
      assert.equal(e.message.split('\n').length, 1);
      return true;
    });
    assert.equal(s.requests.length, 4);
  } finally {
    await s.close();
  }
});

test('a 400 is not retried', async () => {
  const s = await fakeServer(() => ({ status: 400, body: '{"error":{"message":"bad"}}' }));
  try {
    await assert.rejects(postJson({ url: s.url, body: {}, parse: parseN }, FAST), /HTTP 400/);
    assert.equal(s.requests.length, 1);
  } finally {
    await s.close();
  }
});

test('a server that is down: connection refused, retried, then one error', async () => {
  const url = await deadUrl();
  await assert.rejects(
    postJson({ url, body: {}, parse: parseN }, { ...FAST, retries: 2 }),
    (e: unknown) =>
      e instanceof HttpJsonError && /cannot connect \(ECONNREFUSED\) \(after 3 attempts\)$/.test(e.message),
  );
});

test('a slow server: each attempt times out, then one error; a later fast answer wins', async () => {
  const slow = await fakeServer((_b, k) =>
    k < 2 ? { body: '{"n": 1}', delayMs: 2000 } : { body: '{"n": 2}' },
  );
  try {
    const v = await postJson(
      { url: slow.url, body: {}, parse: parseN },
      { ...FAST, timeoutMs: 100, retries: 2 },
    );
    assert.equal(v, 2);
    assert.equal(slow.requests.length, 3);
  } finally {
    await slow.close();
  }
  const never = await fakeServer(() => ({ body: '{"n": 1}', delayMs: 2000 }));
  try {
    await assert.rejects(
      postJson({ url: never.url, body: {}, parse: parseN }, { ...FAST, timeoutMs: 80, retries: 1 }),
      /no answer within 80 ms \(after 2 attempts\)/,
    );
  } finally {
    await never.close();
  }
});

test('several endpoints: a retry moves to the next one', async () => {
  const down = await deadUrl();
  const up = await fakeServer(() => ({ body: '{"n": 3}' }));
  try {
    assert.equal(await postJson({ url: [down, up.url], body: {}, parse: parseN }, FAST), 3);
    assert.equal(up.requests.length, 1);
  } finally {
    await up.close();
  }
});
