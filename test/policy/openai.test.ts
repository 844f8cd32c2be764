/** OpenAI-compatible generation against `gshf lm serve` replicas and misbehaving fake servers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { hashString } from '../../src/math/rng.js';
import { encodePairIds } from '../../src/nn/data.js';
import { generate, scoreEncoded } from '../../src/nn/sample.js';
import { OpenAIGenerator, openaiPolicySchema, parseChoices } from '../../src/policy/openai.js';
import { applyChatTemplate } from '../../src/serve/openai-schemas.js';
import { createOpenAIServer } from '../../src/serve/openai-server.js';
import { deadUrl, fakeServer } from '../net/fake-server.js';
import { listenLoopback, tinyLm } from '../serve/helpers.js';

const { model, tokenizer: tok } = tinyLm();

/** A `gshf lm serve` replica that counts the generation requests it receives. */
async function replica(): Promise<{ app: FastifyInstance; url: string; hits: () => number }> {
  const app = createOpenAIServer({ model, tokenizer: tok, modelName: 'pi' });
  let hits = 0;
  app.addHook('onRequest', async (req) => {
    if (req.url.endsWith('completions')) hits++;
  });
  return { app, url: `${await listenLoopback(app)}/v1`, hits: () => hits };
}

/** What the server samples for one request: seed = hash(key) as the client derives it. */
function local(promptText: string, n: number, seedKey: string, maxTokens: number) {
  const ids = [tok.bos, ...tok.encode(promptText)];
  const seed = hashString(seedKey) & 0x7fffffff;
  return generate(model, [ids], { n, maxTokens, seed, stop: [tok.eos] })[0].map((s) => ({
    text: tok.decode(s.tokens),
    logprob: scoreEncoded(
      model,
      [encodePairIds(tok, ids.slice(1), s.tokens, model.config.blockSize, false)],
      tok.pad,
    )[0].logProb,
    stop: s.finish === 'stop',
  }));
}

test('completions over two replicas: round-robin, n split into chunks, samples and log-probs as in-process', async () => {
  const [r1, r2] = [await replica(), await replica()];
  try {
    const gen = new OpenAIGenerator({
      backend: 'openai',
      endpoints: [r1.url, r2.url],
      model: 'pi',
      max_tokens: 8,
      max_n_per_request: 2,
      concurrency: 3,
    });
    const prompts = ['good', 'bad', 'meh'];
    const out = await gen.generate(prompts, 3, { seed: 'it1' });
    assert.equal(r1.hits() + r2.hits(), 6); // 3 prompts × ⌈3/2⌉ requests
    assert.equal(r1.hits(), 3);
    prompts.forEach((p, i) => {
      const want = [...local(p, 2, `it1/${i}/0`, 8), ...local(p, 1, `it1/${i}/1`, 8)];
      assert.equal(out[i].length, 3);
      out[i].forEach((s, j) => {
        assert.equal(s.text, want[j].text);
        assert.equal(s.stop, want[j].stop);
        assert.ok(s.logprob !== undefined && Math.abs(s.logprob - want[j].logprob) < 1e-4);
      });
    });
  } finally {
    await r1.app.close();
    await r2.app.close();
  }
});

test('chat mode: the prompt is one user message (the server applies its template)', async () => {
  const r = await replica();
  try {
    const gen = new OpenAIGenerator({
      backend: 'openai',
      endpoints: [r.url],
      model: 'pi',
      mode: 'chat',
      max_tokens: 6,
      logprobs: false,
    });
    const [[s]] = await gen.generate(['hi'], 1, { seed: 'c' });
    const text = applyChatTemplate([{ role: 'user', content: 'hi' }], 'role-lines');
    assert.equal(s.text, local(text, 1, 'c/0/0', 6)[0].text);
    assert.equal(s.logprob, undefined);
  } finally {
    await r.app.close();
  }
});

test('one replica down: retries move on to the other, nothing is lost', async () => {
  const r = await replica();
  try {
    const gen = new OpenAIGenerator({
      backend: 'openai',
      endpoints: [await deadUrl(), r.url],
      model: 'pi',
      max_tokens: 4,
      backoff_ms: 1,
    });
    const out = await gen.generate(['a', 'b', 'c', 'd'], 1, { seed: 's' });
    assert.deepEqual(
      out.map((row) => row[0].text),
      ['a', 'b', 'c', 'd'].map((p, i) => local(p, 1, `s/${i}/0`, 4)[0].text),
    );
  } finally {
    await r.app.close();
  }
});

test('wrong number of choices: retried, then one error line naming the endpoint', async () => {
  const s = await fakeServer(() => ({
    body: JSON.stringify({ choices: [{ index: 0, text: 'x', finish_reason: 'stop' }] }),
  }));
  try {
    const gen = new OpenAIGenerator({
      backend: 'openai',
      endpoints: [`${s.url}/v1`],
      model: 'm',
      retries: 2,
      backoff_ms: 1,
    });
    await assert.rejects(gen.generate(['p'], 2, { seed: 's' }), (e: unknown) => {
      assert.equal(
        (e as Error).message,
        `POST ${s.url}/v1/completions: wrong shape: 1 choices, expected n = 2 (after 3 attempts)`,
      );
      return true;
    });
    assert.equal(s.requests.length, 3);
  } finally {
    await s.close();
  }
  assert.throws(() => parseChoices({ choices: [{ index: 1, text: 'a' }] }, 1, 'completions'), /index 1/);
  assert.equal(
    openaiPolicySchema.safeParse({ backend: 'openai', endpoints: ['http://h/v1'], model: 'm', concurency: 2 })
      .success,
    false,
  );
});
