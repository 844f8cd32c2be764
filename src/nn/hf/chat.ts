/**
 * Hugging Face chat templates: the Jinja `chat_template` of a folder's tokenizer_config.json,
 * rendered with @huggingface/jinja (the renderer transformers.js uses) with the variables
 * transformers passes: `messages`, `add_generation_prompt`, `bos_token`, `eos_token`.
 */
import { Template } from '@huggingface/jinja';
import { GshfInputError } from '../../math/errors.js';
import { readHFTokenizerConfig } from './folder.js';

export interface ChatTurn {
  readonly role: string;
  readonly content: string;
}

/** A compiled chat template: messages → the prompt text the model continues. */
export type ChatRenderer = (messages: readonly ChatTurn[], addGenerationPrompt?: boolean) => string;

/** Compiles `source`; `where` names the file for parse errors. */
export function compileChatTemplate(
  source: string,
  vars: { bosToken?: string; eosToken?: string } = {},
  where = 'chat_template',
): ChatRenderer {
  let tpl: Template;
  try {
    tpl = new Template(source);
  } catch (e) {
    throw new GshfInputError(`${where}: cannot parse the Jinja template (${(e as Error).message})`);
  }
  return (messages, addGenerationPrompt = true) => {
    try {
      return tpl.render({
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        add_generation_prompt: addGenerationPrompt,
        bos_token: vars.bosToken ?? '',
        eos_token: vars.eosToken ?? '',
      });
    } catch (e) {
      throw new GshfInputError(`${where}: rendering failed (${(e as Error).message})`);
    }
  };
}

/** The folder's chat template (tokenizer_config.json), or null when it has none. */
export function hfChatRenderer(dir: string): ChatRenderer | null {
  const tc = readHFTokenizerConfig(dir);
  if (tc.chatTemplate === undefined) return null;
  return compileChatTemplate(
    tc.chatTemplate,
    { bosToken: tc.specials.bos, eosToken: tc.specials.eos },
    `${dir}/tokenizer_config.json: chat_template`,
  );
}
