/**
 * Seeded template generator for the built-in review corpus: prompts "Review of <product>:" with short
 * reviews spanning five sentiment levels (very negative … very positive, built from words a lexicon
 * scorer such as AFINN scores) and several quality styles (terse, plain, rambling, repetitive,
 * typo'd, shouty), so that a gold sentiment scorer spreads the samples of a model trained on it.
 * Responses are kept short because the default model's context is 64 bytes.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../math/rng.js';

export type ReviewStyle = 'terse' | 'plain' | 'rambling' | 'repetitive' | 'typo' | 'shouty';

export interface ReviewExample {
  prompt: string;
  response: string;
  /** −2 (very negative) … +2 (very positive): the level the template was drawn from. */
  sentiment: number;
  style: ReviewStyle;
}

export const PRODUCTS: readonly string[] = [
  'mug',
  'lamp',
  'kettle',
  'toaster',
  'blender',
  'backpack',
  'headphones',
  'keyboard',
  'mouse',
  'chair',
  'desk',
  'umbrella',
  'jacket',
  'sneakers',
  'watch',
  'camera',
  'speaker',
  'charger',
  'pillow',
  'blanket',
  'tent',
  'bike',
  'book',
  'pan',
  'knife',
  'fan',
  'heater',
  'drill',
  'printer',
  'router',
  'tablet',
  'jeans',
  'hat',
  'scarf',
  'socks',
  'soap',
  'coffee',
  'tea',
  'wallet',
  'candle',
  'rug',
  'clock',
  'radio',
  'phone',
  'sofa',
  'bottle',
  'gloves',
  'boots',
];

const PHRASES: Record<number, readonly string[]> = {
  [-2]: [
    'Awful.',
    'Terrible.',
    'Worst purchase ever.',
    'I hate it.',
    'Horrible quality.',
    'Total garbage.',
    'Useless junk.',
    'Broken on day one.',
    'Disgusting.',
    'A disaster.',
    'Pathetic.',
    'Worst ever.',
    'Awful, avoid it.',
    'Terrible, just terrible.',
  ],
  [-1]: [
    'Disappointing.',
    'Poor quality.',
    'Not good.',
    'Kind of bad.',
    'A bit flimsy.',
    'Sadly it failed.',
    'Not worth it.',
    'Annoying to use.',
    'Pretty weak.',
    'Bad fit.',
    'Too noisy.',
    'Slightly broken.',
    'I regret it.',
    'Poor value.',
  ],
  [0]: [
    'It is okay.',
    'Does the job.',
    'Average.',
    'Works, nothing special.',
    'Fine I guess.',
    'Some good, some bad.',
    'Mixed feelings.',
    'It exists.',
    'Nothing to say.',
    'Ordinary.',
    'As described.',
    'Plain.',
  ],
  [1]: [
    'Good value.',
    'Works well.',
    'Nice design.',
    'Pretty good.',
    'Happy with it.',
    'I like it.',
    'Solid and useful.',
    'Good buy.',
    'Nice and clean.',
    'Glad I got it.',
    'Fun to use.',
    'Good quality.',
  ],
  [2]: [
    'Amazing!',
    'Love it!',
    'Excellent.',
    'Perfect.',
    'Fantastic quality!',
    'Best buy ever!',
    'Superb.',
    'Awesome, love it!',
    'Outstanding!',
    'Brilliant.',
    'Wonderful!',
    'Perfect, I love it.',
    'Excellent value!',
  ],
};

const DETAILS: readonly string[] = [
  'Arrived Tuesday.',
  'It is blue.',
  'Got it for my son.',
  'Used it twice.',
  'Box was big.',
  'Bought two.',
  'Came early.',
  'It is small.',
  'For the office.',
  'A gift.',
  'Heavy.',
  'Red one.',
];

const FILLERS: readonly string[] = [
  'So, um,',
  'Well,',
  'Honestly,',
  'I mean,',
  'Okay so',
  'Anyway,',
  'Like,',
];

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)];
}

/** Random character-level typos (swap, drop, double) in about a third of the words. */
function typos(rng: Rng, text: string): string {
  return text
    .split(' ')
    .map((w) => {
      if (w.length < 4 || !rng.bernoulli(0.4)) return w;
      const i = 1 + rng.int(w.length - 2);
      const kind = rng.int(3);
      if (kind === 0) return w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2);
      if (kind === 1) return w.slice(0, i) + w.slice(i + 1);
      return w.slice(0, i) + w[i] + w.slice(i);
    })
    .join(' ');
}

const STYLES: readonly ReviewStyle[] = [
  'terse',
  'plain',
  'plain',
  'rambling',
  'repetitive',
  'typo',
  'shouty',
];

/** One review for a product at a sentiment level and style. */
export function makeReview(rng: Rng, sentiment: number, style: ReviewStyle): string {
  const bank = PHRASES[sentiment];
  switch (style) {
    case 'terse':
      return pick(rng, bank).split(/[.,!]/)[0] + (sentiment >= 1 ? '!' : '.');
    case 'plain': {
      const a = pick(rng, bank);
      let b = pick(rng, bank);
      if (b === a) b = pick(rng, DETAILS);
      return rng.bernoulli(0.5) ? `${a} ${b}` : `${pick(rng, DETAILS)} ${a}`;
    }
    case 'rambling':
      return `${pick(rng, FILLERS)} ${pick(rng, DETAILS).toLowerCase()} ${pick(rng, bank).toLowerCase()}${rng.bernoulli(0.5) ? ' and yeah.' : ''}`;
    case 'repetitive': {
      const a = pick(rng, bank);
      return Array.from({ length: 2 + rng.int(2) }, () => a).join(' ');
    }
    case 'typo':
      return typos(rng, `${pick(rng, bank)} ${pick(rng, bank)}`);
    case 'shouty': {
      const a = pick(rng, bank)
        .toUpperCase()
        .replace(/[.!]+$/, '');
      return `${a}${sentiment >= 0 ? '!!!' : '!!'}`;
    }
  }
}

/**
 * Sentiment-neutral qualifiers (AFINN scores each 0) that multiply the 48 products into ~600
 * distinct prompts, so the preference pipeline can split prompts into disjoint iteration,
 * validation and test sets. '' keeps the plain "Review of <product>:" form.
 */
export const QUALIFIERS: readonly string[] = [
  '',
  'red',
  'blue',
  'pink',
  'tan',
  'used',
  'mini',
  'kids',
  'home',
  'camp',
  'desk',
  'car',
  'new',
];

/** Generates n examples deterministically from a seed (sentiment levels and styles roughly uniform). */
export function generateReviewCorpus(n: number, seed: number | string = 'gshf-reviews-v1'): ReviewExample[] {
  const rng = new Rng(seed);
  // Qualifiers come from their own stream so the responses are the same as without them.
  const qualifierRng = rng.fork('qualifiers');
  const out: ReviewExample[] = [];
  for (let i = 0; i < n; i++) {
    const qualifier = pick(qualifierRng, QUALIFIERS);
    const product = (qualifier ? qualifier + ' ' : '') + pick(rng, PRODUCTS);
    const sentiment = rng.int(5) - 2;
    const style = pick(rng, STYLES);
    out.push({
      prompt: `Review of ${product}:`,
      response: ' ' + makeReview(rng, sentiment, style),
      sentiment,
      style,
    });
  }
  return out;
}

/** Serialises examples as JSONL (one object per line). */
export function corpusToJsonl(examples: readonly ReviewExample[]): string {
  return examples.map((e) => JSON.stringify(e)).join('\n') + '\n';
}

/** Number of examples in the committed corpus file. */
export const BUILTIN_CORPUS_SIZE = 20_000;

/**
 * Path of the committed built-in corpus (data/corpus/reviews.jsonl), found relative to this module
 * both from src/ (ts-node style) and from dist/src/ (compiled).
 */
export function builtinCorpusPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../..', '../../..']) {
    const p = resolve(here, up, 'data/corpus/reviews.jsonl');
    if (existsSync(p)) return p;
  }
  return join(resolve(here, '../../..'), 'data/corpus/reviews.jsonl');
}
