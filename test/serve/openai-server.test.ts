/**
 * `gshf lm serve` through the official `openai` npm client on loopback: models, completions, chat,
 * streaming, n, seed reproducibility, log-probs equal to src/nn's scoring, and OpenAI-shaped 4xx.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import type { FastifyInstance } from 'fastify';
import { encodePairIds } from '../../src/nn/data.js';
import { generate, scoreEncoded } from '../../src/nn/sample.js';
import type { GPT } from '../../src/nn/model.js';
import type { ByteTokenizer } from '../../src/nn/tokenizer.js';
import { applyChatTemplate } from '../../src/serve/openai-schemas.js';
import { startLm } from './helpers.js';
import { compileChatTemplate } from '../../src/nn/hf/chat.js';

let app: FastifyInstance;
let url: string;
let model: GPT;
let tok: ByteTokenizer;
let client: OpenAI;

before(async () => {
  ({ app, url, model, tokenizer: tok } = await startLm());
  client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20_000 });
});
after(async () => {
  await app.close();
});

test('models lists the served model', async () => {
  const list = await client.models.list();
  assert.deepEqual(
    list.data.map((m) => m.id),
    ['tiny'],
  );
  const one = await client.models.retrieve('tiny');
  assert.equal(one.owned_by, 'gshf');
});

test('completions: n choices equal the in-process sampler with the same seed; usage counts tokens', async () => {
  const prompt = 'the food was';
  const r = await client.completions.create({
    model: 'tiny',
    prompt,
    n: 3,
    max_tokens: 6,
    seed: 11,
    temperature: 0.9,
  });
  const ids = [tok.bos, ...tok.encode(prompt)];
  const local = generate(model, [ids], {
    n: 3,
    maxTokens: 6,
    seed: 11,
    temperature: 0.9,
    stop: [tok.eos],
  })[0];
  assert.equal(r.choices.length, 3);
  r.choices.forEach((c, j) => {
    assert.equal(c.index, j);
    assert.equal(c.text, tok.decode(local[j].tokens));
    assert.equal(c.finish_reason, local[j].finish === 'stop' ? 'stop' : 'length');
  });
  const completion = local.reduce((a, s) => a + s.tokens.length, 0);
  assert.deepEqual(r.usage, {
    prompt_tokens: ids.length,
    completion_tokens: completion,
    total_tokens: ids.length + completion,
  });
});

test('seed reproducibility: same seed → same texts; a different seed → different texts', async () => {
  const ask = (seed: number) =>
    client.completions.create({ model: 'tiny', prompt: 'x', n: 2, max_tokens: 12, seed, temperature: 1 });
  const [a, b, c] = await Promise.all([ask(5), ask(5), ask(6)]);
  assert.deepEqual(
    a.choices.map((x) => x.text),
    b.choices.map((x) => x.text),
  );
  assert.notDeepEqual(
    a.choices.map((x) => x.text),
    c.choices.map((x) => x.text),
  );
});

test('completions logprobs: per-token values sum to src/nn scoring of the same tokens; top-k sorted', async () => {
  const prompt = 'good';
  const r = await client.completions.create({ model: 'tiny', prompt, max_tokens: 10, seed: 2, logprobs: 3 });
  const ids = [tok.bos, ...tok.encode(prompt)];
  const sampled = generate(model, [ids], { maxTokens: 10, seed: 2, stop: [tok.eos] })[0][0].tokens;
  const lp = r.choices[0].logprobs;
  assert.ok(lp);
  assert.equal(lp.token_logprobs?.length, sampled.length);
  const sum = (lp.token_logprobs ?? []).reduce((a, x) => a + x, 0);
  const scored = scoreEncoded(
    model,
    [encodePairIds(tok, ids.slice(1), sampled, model.config.blockSize, false)],
    tok.pad,
  )[0];
  assert.ok(Math.abs(sum - scored.logProb) < 1e-4, `${sum} vs ${scored.logProb}`);
  for (const top of lp.top_logprobs ?? []) {
    const vals = Object.values(top);
    assert.ok(vals.length >= 1 && vals.length <= 3);
    for (let i = 1; i < vals.length; i++) assert.ok(vals[i - 1] >= vals[i]);
  }
});

test('chat: role-lines template, logprobs with top_logprobs, n', async () => {
  const messages = [
    { role: 'system' as const, content: 'be kind' },
    { role: 'user' as const, content: 'hi' },
  ];
  const r = await client.chat.completions.create({
    model: 'tiny',
    messages,
    n: 2,
    max_tokens: 5,
    seed: 4,
    logprobs: true,
    top_logprobs: 2,
  });
  const text = applyChatTemplate(messages, 'role-lines');
  assert.equal(text, 'system: be kind\nuser: hi\nassistant: ');
  const ids = [tok.bos, ...tok.encode(text)];
  const local = generate(model, [ids], { n: 2, maxTokens: 5, seed: 4, stop: [tok.eos] })[0];
  assert.equal(r.choices.length, 2);
  r.choices.forEach((c, j) => {
    assert.equal(c.message.role, 'assistant');
    assert.equal(c.message.content, tok.decode(local[j].tokens));
    const content = c.logprobs?.content ?? [];
    assert.equal(content.length, local[j].tokens.length);
    content.forEach((t, k) => {
      assert.deepEqual(t.bytes, [local[j].tokens[k]]);
      assert.equal(t.top_logprobs.length, 2);
      assert.ok(t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob);
      assert.ok(t.logprob <= t.top_logprobs[0].logprob + 1e-12 && t.logprob < 0);
    });
  });
});

test('streaming completions: deltas concatenate to the non-streamed text; usage chunk; [DONE]', async () => {
  const body = { model: 'tiny', prompt: 'abc', n: 2, max_tokens: 9, seed: 8 };
  const whole = await client.completions.create(body);
  const stream = await client.completions.create({
    ...body,
    stream: true,
    stream_options: { include_usage: true },
  });
  const texts = ['', ''];
  const finish: (string | null)[] = [null, null];
  let usage: unknown = null;
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      texts[c.index] += c.text;
      if (c.finish_reason) finish[c.index] = c.finish_reason;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  assert.deepEqual(
    texts,
    whole.choices.map((c) => c.text),
  );
  assert.deepEqual(
    finish,
    whole.choices.map((c) => c.finish_reason),
  );
  assert.deepEqual(usage, whole.usage);
});

test('streaming chat: a stop string cuts the text exactly where the non-streamed answer does', async () => {
  const base = {
    model: 'tiny',
    messages: [{ role: 'user' as const, content: 'q' }],
    max_tokens: 30,
    seed: 9,
  };
  const free = await client.chat.completions.create(base);
  const full = free.choices[0].message.content ?? '';
  assert.ok(full.length >= 4, `need a longer sample, got ${JSON.stringify(full)}`);
  const stop = full.slice(2, 4); // a stop string that certainly occurs
  const cut = full.slice(0, full.indexOf(stop));
  const stopped = await client.chat.completions.create({ ...base, stop: [stop] });
  assert.equal(stopped.choices[0].message.content, cut);
  assert.equal(stopped.choices[0].finish_reason, 'stop');
  let streamed = '';
  let role = '';
  const s = await client.chat.completions.create({ ...base, stop: [stop], stream: true });
  for await (const chunk of s) {
    const d = chunk.choices[0]?.delta;
    if (d?.role) role = d.role;
    streamed += d?.content ?? '';
  }
  assert.equal(role, 'assistant');
  assert.equal(streamed, cut);
});

test('errors: unknown field names it (with a suggestion), bad values are 400, unknown model 404', async () => {
  const post = (path: string, body: unknown) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  let r = await post('/v1/completions', { model: 'tiny', prompt: 'a', max_tokenz: 3 });
  assert.equal(r.status, 400);
  let e = (await r.json()) as { error: { message: string; param: string; type: string } };
  assert.equal(e.error.param, 'max_tokenz');
  assert.equal(e.error.type, 'invalid_request_error');
  assert.match(e.error.message, /max_tokenz.*did you mean "max_tokens"/);
  r = await post('/v1/chat/completions', {
    model: 'tiny',
    messages: [{ role: 'user', content: 'a' }],
    temperature: -1,
  });
  assert.equal(r.status, 400);
  e = (await r.json()) as typeof e;
  assert.equal(e.error.param, 'temperature');
  r = await post('/v1/chat/completions', {
    model: 'tiny',
    messages: [{ role: 'user', content: 'a', tool_calls: [] }],
  });
  e = (await r.json()) as typeof e;
  assert.equal(r.status, 400);
  assert.equal(e.error.param, 'messages[0].tool_calls');
  r = await post('/v1/completions', { model: 'other', prompt: 'a' });
  assert.equal(r.status, 404);
  r = await post('/v1/completions', { model: 'tiny', prompt: 'a'.repeat(60) });
  assert.equal(r.status, 400);
  e = (await r.json()) as typeof e;
  assert.match(e.error.message, /context/);
  r = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"model":',
  });
  assert.equal(r.status, 400);
  r = await fetch(`${url}/v1/nope`);
  assert.equal(r.status, 404);
  // Fields real clients send at neutral values are tolerated.
  r = await post('/v1/completions', {
    model: 'tiny',
    prompt: 'a',
    max_tokens: 1,
    user: 'u',
    presence_penalty: 0,
    logit_bias: {},
  });
  assert.equal(r.status, 200);
  // Through the client: a typed error with the status.
  await assert.rejects(
    client.completions.create({ model: 'tiny', prompt: 'a', n: 0 }),
    (err: unknown) => err instanceof OpenAI.BadRequestError && err.status === 400,
  );
});

test('API key: required when configured, compared exactly', async () => {
  const keyed = await startLm({ apiKey: 's3cret' });
  try {
    const good = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: 's3cret', maxRetries: 0 });
    const bad = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: 's3cre', maxRetries: 0 });
    assert.equal((await good.models.list()).data[0].id, 'tiny');
    await assert.rejects(bad.models.list(), (err: unknown) => err instanceof OpenAI.AuthenticationError);
    assert.equal((await fetch(`${keyed.url}/health`)).status, 200);
  } finally {
    await keyed.app.close();
  }
});

test("chat: a model's own template (renderChat, e.g. a Hugging Face chat_template) replaces the built-in one", async () => {
  const render = compileChatTemplate(
    "{% for m in messages %}{{ '<' + m.role + '>' + m.content }}{% endfor %}{% if add_generation_prompt %}{{ '<assistant>' }}{% endif %}",
  );
  const own = await startLm({ renderChat: (m) => render(m) });
  try {
    const res = await fetch(`${own.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'tiny',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 4,
        seed: 2,
      }),
    });
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    const ids = [own.tokenizer.bos, ...own.tokenizer.encode('<user>hi<assistant>')];
    const local = generate(own.model, [ids], { n: 1, maxTokens: 4, seed: 2, stop: [own.tokenizer.eos] })[0];
    assert.equal(body.choices[0].message.content, own.tokenizer.decode(local[0].tokens));
  } finally {
    await own.app.close();
  }
});
