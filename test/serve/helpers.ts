/** Shared fixtures for the HTTP tests: tiny byte-level models and loopback servers on port 0. */
import type { FastifyInstance } from 'fastify';
import { ByteTokenizer } from '../../src/nn/tokenizer.js';
import { GPT } from '../../src/nn/model.js';
import { randomModel } from '../nn/helpers.js';
import { RewardModel } from '../../src/pref/reward-model.js';
import { createOpenAIServer, type OpenAIServerOptions } from '../../src/serve/openai-server.js';
import { createRewardServer } from '../../src/serve/reward-server.js';

export const LM_CFG = { vocabSize: 259, blockSize: 48, nLayer: 1, nHead: 2, nEmbd: 16 };

/** A small byte-level LM with random weights (deterministic in `seed`). */
export function tinyLm(seed = 3): { model: GPT; tokenizer: ByteTokenizer } {
  return { model: randomModel(LM_CFG, seed), tokenizer: new ByteTokenizer() };
}

/** A small byte-level reward model with random weights. */
export function tinyRm(seed = 5): RewardModel {
  const m = randomModel({ ...LM_CFG, head: 'scalar' }, seed);
  return new RewardModel(m, new ByteTokenizer());
}

/** Starts `app` on 127.0.0.1 at a free port; returns its base URL. */
export async function listenLoopback(app: FastifyInstance): Promise<string> {
  return app.listen({ host: '127.0.0.1', port: 0 });
}

export async function startLm(
  extra: Partial<OpenAIServerOptions> = {},
): Promise<{ app: FastifyInstance; url: string; model: GPT; tokenizer: ByteTokenizer }> {
  const { model, tokenizer } = tinyLm();
  const app = createOpenAIServer({ model, tokenizer, modelName: 'tiny', ...extra });
  return { app, url: await listenLoopback(app), model, tokenizer };
}

export async function startRm(rm: RewardModel = tinyRm()): Promise<{ app: FastifyInstance; url: string }> {
  const app = createRewardServer({ rm });
  return { app, url: await listenLoopback(app) };
}
