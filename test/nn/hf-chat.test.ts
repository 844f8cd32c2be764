/** Chat templates from tokenizer_config.json, rendered with @huggingface/jinja (hand-written expectations). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { compileChatTemplate, hfChatRenderer } from '../../src/nn/hf/chat.js';

// SmolLM2-Instruct's / Qwen2's ChatML template (as in their tokenizer_config.json, system prompt elided)
const CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
// Llama-3-style: bos first, role headers
const LLAMA3 =
  "{{ bos_token }}{% for m in messages %}{{ '<|start_header_id|>' + m.role + '<|end_header_id|>\\n\\n' + m.content | trim + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

const root = mkdtempSync(join(tmpdir(), 'gshf-hf-chat-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('HF chat templates', () => {
  const msgs = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hi!' },
  ];
  it('ChatML renders role blocks and the generation prompt', () => {
    const r = compileChatTemplate(CHATML);
    assert.equal(
      r(msgs),
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n',
    );
    assert.equal(
      r(msgs, false),
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n',
    );
  });

  it("a folder's tokenizer_config.json supplies the template and bos_token", () => {
    writeFileSync(
      join(root, 'tokenizer_config.json'),
      JSON.stringify({
        bos_token: '<|begin_of_text|>',
        eos_token: { content: '<|eot_id|>' },
        chat_template: LLAMA3,
      }),
    );
    const r = hfChatRenderer(root);
    assert.ok(r);
    assert.equal(
      r([{ role: 'user', content: ' Hi! ' }]),
      '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
  });

  it('no template → null; a broken one is refused naming the file', () => {
    const d = mkdtempSync(join(root, 'none-'));
    assert.equal(hfChatRenderer(d), null);
    writeFileSync(
      join(d, 'tokenizer_config.json'),
      JSON.stringify({ chat_template: '{% for m in messages %}' }),
    );
    assert.throws(
      () => hfChatRenderer(d)?.([]),
      /tokenizer_config\.json: chat_template: (cannot parse|rendering failed)/,
    );
  });
});
