/** The LLM-judge label source: both orders, strict parsing, retries, and the wire to `gshf lm serve`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  combineOrders,
  fillTemplate,
  JudgeSource,
  judgeSourceSchema,
  parseJudgeAnswer,
} from '../../src/feedback/judge.js';
import { LabelSourceError, type LabelQuery } from '../../src/feedback/types.js';
import { generate } from '../../src/nn/sample.js';
import { createOpenAIServer } from '../../src/serve/openai-server.js';
import { fakeServer } from '../net/fake-server.js';
import { listenLoopback, tinyLm } from '../serve/helpers.js';

const QUERIES: LabelQuery[] = [
  { id: 'q0', prompt: 'Rate the soup', a: 'warm and rich', b: 'ok' },
  { id: 'q1', prompt: 'Rate the tea', a: 'fine', b: 'fragrant, hot, lovely' },
  { id: 'q2', prompt: 'Rate the bread', a: 'stale', b: 'fresh' },
];

type ChatBody = { messages: { role: string; content: string }[]; seed: number };
const chatReply = (content: string) =>
  JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] });
/** The two responses as shown by the default template. */
const shown = (body: unknown): { A: string; B: string } => {
  const text = (body as ChatBody).messages.at(-1)?.content ?? '';
  const m = /Response A:\n([\s\S]*)\n\nResponse B:\n([\s\S]*)\n\nWhich/.exec(text);
  assert.ok(m, `unexpected judge prompt: ${text}`);
  return { A: m[1], B: m[2] };
};

test('pure helpers: strict parsing, order combination, one-pass template filling', () => {
  assert.equal(parseJudgeAnswer(' A\n'), 'A');
  assert.equal(parseJudgeAnswer('B.'), 'B');
  for (const bad of ['a', 'A or B', 'Answer: A', '', 'AB', 'B..'])
    assert.equal(parseJudgeAnswer(bad), null, bad);
  assert.equal(combineOrders('A', 'B'), 'a'); // a first, then a second: a both times
  assert.equal(combineOrders('B', 'A'), 'b');
  assert.equal(combineOrders('A', 'A'), 'tie'); // position bias
  assert.equal(combineOrders('B', 'B'), 'tie');
  assert.equal(combineOrders(null, 'B'), 'tie');
  assert.equal(fillTemplate('[{prompt}] A={a} B={b}', 'p', 'x{b}', '{prompt}'), '[p] A=x{b} B={prompt}');
  assert.equal(
    judgeSourceSchema.safeParse({ kind: 'judge', url: 'http://h/v1', model: 'm', template: '{a} {b}' })
      .success,
    false,
  );
  assert.equal(
    judgeSourceSchema.safeParse({ kind: 'judge', url: 'http://h/v1', model: 'm', temprature: 0 }).success,
    false,
  );
});

test('a position-biased judge that always says "A" yields only ties', async () => {
  const s = await fakeServer(() => ({ body: chatReply('A') }));
  try {
    const judge = new JudgeSource({ kind: 'judge', url: `${s.url}/v1`, model: 'j' });
    const answers = await judge.label(QUERIES);
    assert.deepEqual(
      answers.map((a) => a.verdict),
      ['tie', 'tie', 'tie'],
    );
    assert.equal(s.requests.length, 6); // both orders per pair
    const bodies = s.requests.map(shown);
    for (const q of QUERIES) {
      assert.ok(bodies.some((b) => b.A === q.a && b.B === q.b));
      assert.ok(bodies.some((b) => b.A === q.b && b.B === q.a));
    }
  } finally {
    await s.close();
  }
});

test('a consistent judge (prefers the longer response) gives that verdict from both orders', async () => {
  const s = await fakeServer((body) => {
    const { A, B } = shown(body);
    return { body: chatReply(A.length > B.length ? 'A' : 'B.') };
  });
  try {
    const judge = new JudgeSource({ kind: 'judge', url: `${s.url}/v1/`, model: 'j' });
    const answers = await judge.label(QUERIES);
    assert.deepEqual(
      answers.map((a) => a.verdict),
      ['a', 'b', 'tie'], // q2: "stale" and "fresh" are equally long, so it says "B" in both orders
    );
  } finally {
    await s.close();
  }
});

test('unparseable answers are asked again, then count as a tie (default) or fail (on_unparseable: error)', async () => {
  const s = await fakeServer(() => ({ body: chatReply('Both are fine') }));
  try {
    const judge = new JudgeSource({ kind: 'judge', url: `${s.url}/v1`, model: 'j', parse_retries: 2 });
    const [a] = await judge.label(QUERIES.slice(0, 1));
    assert.equal(a.verdict, 'tie');
    assert.deepEqual(a.detail?.replies_ab, ['Both are fine', 'Both are fine', 'Both are fine']);
    assert.equal(s.requests.length, 6);
    const seeds = new Set(s.requests.map((b) => (b as ChatBody).seed));
    assert.equal(seeds.size, 6); // every ask has its own seed
    const strict = new JudgeSource({
      kind: 'judge',
      url: `${s.url}/v1`,
      model: 'j',
      parse_retries: 1,
      on_unparseable: 'error',
    });
    await assert.rejects(strict.label(QUERIES.slice(0, 1)), (e: unknown) => {
      assert.ok(e instanceof LabelSourceError);
      assert.match(e.message, /^judge:.*: query q0: no "A"\/"B" answer in 2 asks \(last: "Both are fine"\)$/);
      return true;
    });
  } finally {
    await s.close();
  }
});

test('over gshf lm serve (chat, plain template): the judge sees exactly the in-process greedy reply', async () => {
  const { model, tokenizer } = tinyLm();
  const app = createOpenAIServer({ model, tokenizer, modelName: 'judge', chatTemplate: 'plain' });
  const url = await listenLoopback(app);
  try {
    const template = '{prompt}|{a}|{b}:';
    const judge = new JudgeSource({
      kind: 'judge',
      url: `${url}/v1`,
      model: 'judge',
      template,
      max_tokens: 3,
      parse_retries: 0,
    });
    const q = QUERIES[2];
    const [a] = await judge.label([q]);
    const greedy = (text: string) =>
      tokenizer.decode(
        generate(model, [[tokenizer.bos, ...tokenizer.encode(text)]], {
          temperature: 0,
          maxTokens: 3,
          stop: [tokenizer.eos],
        })[0][0].tokens,
      );
    const ab = greedy(fillTemplate(template, q.prompt, q.a, q.b));
    const ba = greedy(fillTemplate(template, q.prompt, q.b, q.a));
    assert.deepEqual(a.detail?.replies_ab, [ab]);
    assert.deepEqual(a.detail?.replies_ba, [ba]);
    assert.equal(a.verdict, combineOrders(parseJudgeAnswer(ab), parseJudgeAnswer(ba)));
  } finally {
    await app.close();
  }
});

test('a failing pair stops new asks; pairs already in flight finish and are kept as partial answers', async () => {
  const s = await fakeServer((body) => {
    const text = (body as ChatBody).messages.at(-1)?.content ?? '';
    if (text.includes('tea')) return { body: chatReply('no idea') };
    return { body: chatReply('A'), delayMs: 150 }; // slower than the failure
  });
  try {
    const judge = new JudgeSource({
      kind: 'judge',
      url: `${s.url}/v1`,
      model: 'j',
      concurrency: 2,
      parse_retries: 0,
      on_unparseable: 'error',
    });
    await assert.rejects(judge.label(QUERIES), (e: unknown) => {
      assert.ok(e instanceof LabelSourceError);
      assert.match(e.message, /query q1/);
      assert.deepEqual(
        e.partial.map((a) => [a.id, a.verdict]),
        [['q0', 'tie']],
      );
      return true;
    });
    assert.equal(s.requests.length, 4); // q2 was never asked
  } finally {
    await s.close();
  }
});
