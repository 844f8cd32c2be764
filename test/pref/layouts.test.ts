import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { parseTrlJsonl } from '../../src/pref/data.js';
import { detectLayout, extractStringPrompt, splitHh } from '../../src/pref/layouts.js';
import { readPromptFile, readPrompts } from '../../src/pref/prompts.js';

const jsonl = (...rows: object[]) => rows.map((r) => JSON.stringify(r) + '\n').join('');
const user = (content: string) => ({ role: 'user', content });
const asst = (content: string) => ({ role: 'assistant', content });

function withTmp(f: (dir: string) => Promise<void> | void): Promise<void> | void {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-layouts-'));
  const done = () => rmSync(dir, { recursive: true, force: true });
  try {
    const r = f(dir);
    if (r instanceof Promise) return r.finally(done);
    done();
  } catch (e) {
    done();
    throw e;
  }
}

test('standard layout: explicit string prompt', () => {
  const r = parseTrlJsonl(jsonl({ prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' }), 's.jsonl');
  assert.equal(r.layout, 'standard');
  assert.equal(r.format, 'standard');
  assert.deepEqual(r.pairs, [{ prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' }]);
});

test('conversational layout: explicit prompt messages, and implicit (shared leading messages, TRL)', () => {
  const r = parseTrlJsonl(
    jsonl(
      {
        prompt: [user('What color is the sky?')],
        chosen: [asst('It is blue.')],
        rejected: [asst('It is green.')],
      },
      {
        chosen: [user('Where is the sun?'), asst('In the sky.')],
        rejected: [user('Where is the sun?'), asst('In the sea.')],
      },
    ),
    'c.jsonl',
    { template: 'roles' },
  );
  assert.equal(r.layout, 'conversational');
  assert.deepEqual(r.pairs, [
    { prompt: 'user: What color is the sky?\nassistant:', chosen: 'It is blue.', rejected: 'It is green.' },
    { prompt: 'user: Where is the sun?\nassistant:', chosen: 'In the sky.', rejected: 'In the sea.' },
  ]);
});

test("implicit layout: TRL's extract_prompt rule on strings, character for character", () => {
  // TRL's docstring example: the space before the first difference goes to the completions.
  assert.deepEqual(extractStringPrompt('The sky is blue.', 'The sky is green.'), {
    prompt: 'The sky is',
    chosen: ' blue.',
    rejected: ' green.',
  });
  // No space before the difference: the prompt ends right there, mid-word ("I lo"), as in TRL.
  assert.deepEqual(extractStringPrompt('I love it', 'I loathe it'), {
    prompt: 'I lo',
    chosen: 've it',
    rejected: 'athe it',
  });
  // One string is a prefix of the other: TRL's loop ends without break at index min−1.
  assert.deepEqual(extractStringPrompt('abc', 'abcd'), { prompt: 'ab', chosen: 'c', rejected: 'cd' });
  // Code points, not UTF-16 units (Python indexes code points): 🤗 is one character.
  assert.deepEqual(extractStringPrompt('🤗 a', '🤗 b'), { prompt: '🤗', chosen: ' a', rejected: ' b' });
  assert.equal(extractStringPrompt('x', 'y'), null);
  const r = parseTrlJsonl(jsonl({ chosen: 'The sky is blue.', rejected: 'The sky is green.' }), 'i.jsonl');
  assert.equal(r.layout, 'implicit');
  assert.deepEqual(r.pairs, [{ prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' }]);
  assert.throws(
    () => parseTrlJsonl(jsonl({ chosen: 'Yes.', rejected: 'No.' }), 'i.jsonl'),
    /^GshfInputError: i\.jsonl:1: field "chosen": no "prompt" and chosen\/rejected share no prefix/,
  );
});

test('hh-rlhf layout: prompt = everything through the last "\\n\\nAssistant:", single and multi-turn', () => {
  const one = {
    chosen: '\n\nHuman: What is 2+2?\n\nAssistant: 4.',
    rejected: '\n\nHuman: What is 2+2?\n\nAssistant: 5.',
  };
  const multi = {
    chosen:
      '\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Tell me a joke.\n\nAssistant: Why did the chicken cross the road?',
    rejected: '\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Tell me a joke.\n\nAssistant: No.',
  };
  const r = parseTrlJsonl(jsonl(one, multi), 'hh.jsonl');
  assert.equal(r.layout, 'hh-rlhf');
  assert.deepEqual(r.pairs, [
    { prompt: '\n\nHuman: What is 2+2?\n\nAssistant:', chosen: ' 4.', rejected: ' 5.' },
    {
      prompt: '\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Tell me a joke.\n\nAssistant:',
      chosen: ' Why did the chicken cross the road?',
      rejected: ' No.',
    },
  ]);
  // Both responses start "Why": TRL's character rule would eat into them; the HH rule does not.
  assert.deepEqual(splitHh('\n\nHuman: Q\n\nAssistant: Why yes', '\n\nHuman: Q\n\nAssistant: Why no'), {
    prompt: '\n\nHuman: Q\n\nAssistant:',
    chosen: ' Why yes',
    rejected: ' Why no',
  });
  assert.throws(
    () =>
      parseTrlJsonl(
        jsonl(one, { chosen: '\n\nHuman: A\n\nAssistant: x', rejected: '\n\nHuman: B\n\nAssistant: y' }),
        'hh.jsonl',
      ),
    /hh\.jsonl:2: field "rejected": expected the same conversation as "chosen" up to its last/,
  );
  assert.throws(
    () => parseTrlJsonl(jsonl(one, { chosen: '\n\nHuman: A', rejected: '\n\nHuman: A' }), 'hh.jsonl'),
    /:2: field "chosen": expected a "\\n\\nAssistant:" turn/,
  );
});

test('ultrafeedback layout: string prompt + message lists; extra fields kept or ignored, never fatal', () => {
  const row = {
    prompt: 'Name a fruit.',
    prompt_id: 'abc123',
    chosen: [user('Name a fruit.'), asst('An apple.')],
    rejected: [user('Name a fruit.'), asst('A chair.')],
    messages: [user('Name a fruit.'), asst('An apple.')],
    score_chosen: 8.5,
    score_rejected: 2,
  };
  const r = parseTrlJsonl(jsonl(row, { ...row, score_chosen: 'n/a', score_rejected: null }), 'uf.jsonl');
  assert.equal(r.layout, 'ultrafeedback');
  assert.equal(r.format, 'conversational');
  assert.deepEqual(r.pairs, [
    {
      prompt: 'Name a fruit.',
      chosen: 'An apple.',
      rejected: 'A chair.',
      score_chosen: 8.5,
      score_rejected: 2,
    },
    { prompt: 'Name a fruit.', chosen: 'An apple.', rejected: 'A chair.' },
  ]);
  assert.deepEqual(r.warnings, ['uf.jsonl:2: ignored field "score_chosen" (not a finite number: "n/a")']);
  // completions holding only the answer keep the string prompt
  const bare = parseTrlJsonl(
    jsonl({ prompt: 'Q?', chosen: [asst('Yes.')], rejected: [asst('No.')] }),
    'uf.jsonl',
  );
  assert.deepEqual(bare.pairs, [{ prompt: 'Q?', chosen: 'Yes.', rejected: 'No.' }]);
});

test('layout detection, forcing a layout, and the unknown-layout message', () => {
  assert.equal(detectLayout({ prompt: 'p', chosen: 'a', rejected: 'b' }), 'standard');
  assert.equal(detectLayout({ chosen: '\n\nHuman: x\n\nAssistant: a', rejected: 'b' }), 'hh-rlhf');
  assert.equal(detectLayout({ chosen: 'a', rejected: 'b' }), 'implicit');
  assert.equal(detectLayout({ chosen: [asst('a')], rejected: [asst('b')] }), 'conversational');
  assert.equal(detectLayout({ prompt: 'p', chosen: [asst('a')], rejected: [asst('b')] }), 'ultrafeedback');
  assert.equal(detectLayout({ question: 'q' }), null);
  // An HH file forced to 'implicit' uses TRL's character rule instead (and keeps the shared "Why").
  const hh = jsonl({
    chosen: '\n\nHuman: Q\n\nAssistant: Why yes',
    rejected: '\n\nHuman: Q\n\nAssistant: Why no',
  });
  assert.equal(
    parseTrlJsonl(hh, 'f', { layout: 'implicit' }).pairs[0].prompt,
    '\n\nHuman: Q\n\nAssistant: Why',
  );
  assert.throws(
    () => parseTrlJsonl(hh, 'f', { layout: 'standard' }),
    /f:1: field "prompt": required in the standard layout/,
  );
  assert.throws(
    () => parseTrlJsonl(jsonl({ question: 'q', answer: 'a' }), 'qa.jsonl'),
    (e: Error) =>
      /qa\.jsonl:1: unknown preference layout \(keys "question", "answer"/.test(e.message) &&
      ['standard', 'conversational', 'implicit', 'hh-rlhf', 'ultrafeedback'].every((l) =>
        e.message.includes(`\n  ${l}: `),
      ),
  );
});

test('prompt-only sets: JSONL strings or messages, uppercase .JSONL, plain text, Parquet', async () => {
  await withTmp(async (dir) => {
    const j = join(dir, 'P.JSONL');
    writeFileSync(j, jsonl({ prompt: 'A' }, { prompt: [user('B'), user('C')] }, { prompt: 'A', id: 3 }));
    assert.deepEqual(readPrompts(j), ['A', 'B\nC']);
    assert.deepEqual(await readPromptFile(j, 'roles'), ['A', 'user: B\nuser: C\nassistant:']);
    writeFileSync(j, jsonl({ prompt: 'A' }, { prompt: [] }));
    assert.throws(
      () => readPrompts(j),
      /P\.JSONL:2: field "prompt": expected a non-empty string or a list of messages, got \[\]/,
    );
    const t = join(dir, 'p.txt');
    writeFileSync(t, 'x\n\ny\n');
    assert.deepEqual(await readPromptFile(t), ['x', 'y']);

    const pq = join(dir, 'prompts.parquet');
    writeFileSync(
      pq,
      Buffer.from(
        parquetWriteBuffer({
          columnData: [
            { name: 'prompt', data: ['Review of mug:', 'Review of lamp:', 'Review of mug:'], type: 'STRING' },
            { name: 'prompt_id', data: ['a', 'b', 'c'], type: 'STRING' },
          ],
        }),
      ),
    );
    assert.deepEqual(await readPromptFile(pq), ['Review of mug:', 'Review of lamp:']);
    const pm = join(dir, 'messages.PARQUET');
    writeFileSync(
      pm,
      Buffer.from(
        parquetWriteBuffer({
          columnData: [{ name: 'prompt', data: [[user('Hi')], [user('Yo'), asst('?')]], type: 'JSON' }],
        }),
      ),
    );
    assert.deepEqual(await readPromptFile(pm, 'roles'), [
      'user: Hi\nassistant:',
      'user: Yo\nassistant: ?\nassistant:',
    ]);
    const nop = join(dir, 'noprompt.parquet');
    writeFileSync(
      nop,
      Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'text', data: ['x'], type: 'STRING' }] })),
    );
    await assert.rejects(readPromptFile(nop), /noprompt\.parquet: no "prompt" column \(columns: "text"\)/);
    const bad = join(dir, 'bad.parquet');
    writeFileSync(bad, 'not parquet');
    await assert.rejects(readPromptFile(bad), /bad\.parquet: cannot read Parquet/);
  });
});
