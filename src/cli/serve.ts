/**
 * HTTP peers of the online loop, added to the existing groups:
 *   lm serve        an OpenAI-compatible server (/v1/models, /v1/completions, /v1/chat/completions)
 *   pref serve-rm   OpenRLHF's remote reward model contract (POST /get_reward)
 * See docs/serving.md. Both stop cleanly on SIGINT/SIGTERM.
 */
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import type { FastifyInstance } from 'fastify';
import { GshfInputError } from '../math/errors.js';
import { int, oneOf } from './options.js';
import {
  autoKernelThreads,
  hfChatRenderer,
  isHFFolder,
  loadCheckpoint,
  readCheckpointConfig,
} from '../nn/index.js';
import { RewardModel } from '../pref/reward-model.js';
import { createOpenAIServer } from '../serve/openai-server.js';
import { CHAT_TEMPLATES, type ChatTemplate } from '../serve/openai-schemas.js';
import { createRewardServer } from '../serve/reward-server.js';

/** The value of the environment variable named by --api-key-env (never printed); unset = error. */
function envSecret(flag: string, name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const v = process.env[name];
  if (v === undefined || v === '')
    throw new GshfInputError(`--${flag}: the environment variable ${name} is not set`);
  return v;
}

function group(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

async function listen(app: FastifyInstance, host: string, port: number, what: string): Promise<void> {
  const addr = await app.listen({ host, port });
  process.stdout.write(`${what} listening on ${addr}\n`);
  const stop = (): void => {
    void app.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

interface LmServeCli {
  model: string;
  host: string;
  port: number;
  maxConcurrency: number;
  apiKeyEnv?: string;
  modelName?: string;
  chatTemplate: ChatTemplate;
  log: boolean;
}

interface ServeRmCli {
  model: string;
  host: string;
  port: number;
  apiKeyEnv?: string;
  log: boolean;
}

export function registerServeCommands(program: Command): void {
  group(program, 'lm', 'Local GPT-style language models.')
    .command('serve')
    .description('Serve a checkpoint over an OpenAI-compatible HTTP API (completions, chat, SSE streaming).')
    .requiredOption('--model <dir>', 'checkpoint directory')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <n>', 'port (0 = any free port)', int('port', { min: 0, max: 65535 }), 8000)
    .option(
      '--max-concurrency <n>',
      'requests admitted at once (more get 429)',
      int('max-concurrency', { min: 1 }),
      64,
    )
    .option('--api-key-env <VAR>', 'require this environment variable’s value as the bearer key')
    .option('--model-name <name>', 'the model id clients send (default: the checkpoint folder name)')
    .option(
      '--chat-template <t>',
      `chat template: ${CHAT_TEMPLATES.join(' | ')}`,
      oneOf('chat-template', CHAT_TEMPLATES),
      'role-lines',
    )
    .option('--log', 'log every request (fastify logger, JSON lines on stdout)', false)
    .action(async (o: LmServeCli) => {
      const apiKey = envSecret('api-key-env', o.apiKeyEnv);
      const { model, tokenizer } = loadCheckpoint(o.model);
      autoKernelThreads(model.numParams);
      const modelName = o.modelName ?? basename(resolve(o.model));
      const app = createOpenAIServer({
        model,
        tokenizer,
        modelName,
        maxConcurrency: o.maxConcurrency,
        apiKey,
        chatTemplate: o.chatTemplate,
        renderChat: isHFFolder(o.model) ? (hfChatRenderer(o.model) ?? undefined) : undefined,
        logger: o.log,
      });
      await listen(app, o.host, o.port, `gshf lm serve: model "${modelName}" (OpenAI-compatible, /v1)`);
    });

  group(program, 'pref', 'Preference data.')
    .command('serve-rm')
    .description(
      "Serve a reward model over OpenRLHF's remote-RM contract: POST /get_reward {query} → {rewards}.",
    )
    .requiredOption('--model <dir>', 'reward-model checkpoint directory')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <n>', 'port (0 = any free port)', int('port', { min: 0, max: 65535 }), 5000)
    .option('--api-key-env <VAR>', 'require this environment variable’s value as the bearer key')
    .option('--log', 'log every request (fastify logger, JSON lines on stdout)', false)
    .action(async (o: ServeRmCli) => {
      const apiKey = envSecret('api-key-env', o.apiKeyEnv);
      if (readCheckpointConfig(o.model).model.head !== 'scalar')
        throw new GshfInputError(
          `--model ${o.model}: a language-model checkpoint, not a reward model (head must be 'scalar')`,
        );
      const rm = RewardModel.load(o.model);
      autoKernelThreads(rm.model.numParams);
      const app = createRewardServer({ rm, apiKey, logger: o.log });
      await listen(app, o.host, o.port, `gshf pref serve-rm: ${o.model} (POST /get_reward)`);
    });
}
