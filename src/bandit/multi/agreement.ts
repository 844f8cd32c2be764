/**
 * Annotator reliabilities from an annotation service's export, for an agreement page: the
 * per-annotator BT temperature model of annotators.ts fitted on tabular rewards (one free reward
 * per (item, response), no features), so it needs nothing but the labels.
 *
 * Export records (one per annotation):
 *   { item: string, annotator: string, ranking?: number[], ratings?: { [dimension]: number[] } }
 *   - ranking: response indices of the item, best first (a pair is a ranking of two);
 *   - ratings: per dimension, one integer per response (index = response index).
 * A ranking is broken into all its pairs (a composite likelihood; with Plackett–Luce rankings full
 * breaking keeps the estimate consistent); ratings become, per dimension, the pairs of responses
 * the same annotator rated differently on the same item (equal ratings give no pair).
 */
import { GshfInputError } from '../../math/errors.js';
import type { BanditEnv } from '../env.js';
import { fitAnnotatorModel } from './annotators.js';

export interface AnnotationExportRecord {
  item: string;
  annotator: string;
  ranking?: number[];
  ratings?: Record<string, number[]>;
}

export interface AnnotatorReliability {
  annotator: string;
  /** Pairwise comparisons this annotator contributed. */
  comparisons: number;
  /** s_j: 1 = the median annotator, 0 = random, < 0 = systematically reversed. */
  reliability: number;
}

export interface ReliabilityReport {
  /** 'ranking' for rankings, else the rating dimension. */
  dimension: string;
  items: number;
  comparisons: number;
  annotators: AnnotatorReliability[];
  /** Rounds of the alternating fit and whether it converged. */
  rounds?: number;
  converged?: boolean;
}

/** At most this many (item, response) rewards: the fit is a dense Newton solve in that dimension. */
export const MAX_TABULAR_RESPONSES = 400;

interface Comparison {
  item: string;
  annotator: string;
  winner: number;
  loser: number;
}

function comparisons(records: AnnotationExportRecord[], dimension: string): Comparison[] {
  const out: Comparison[] = [];
  records.forEach((r, i) => {
    if (typeof r.item !== 'string' || typeof r.annotator !== 'string')
      throw new GshfInputError(`annotation record ${i}: item and annotator must be strings`);
    const push = (winner: number, loser: number) =>
      out.push({ item: r.item, annotator: r.annotator, winner, loser });
    if (dimension === 'ranking' && r.ranking) {
      const rk = r.ranking;
      if (rk.some((a) => !Number.isInteger(a) || a < 0) || new Set(rk).size !== rk.length)
        throw new GshfInputError(`annotation record ${i}: ranking must list distinct response indices ≥ 0`);
      for (let a = 0; a < rk.length; a++) for (let b = a + 1; b < rk.length; b++) push(rk[a], rk[b]);
    }
    const scores = dimension === 'ranking' ? undefined : r.ratings?.[dimension];
    if (scores) {
      if (scores.some((v) => !Number.isInteger(v)))
        throw new GshfInputError(`annotation record ${i}: ratings.${dimension} must be integers`);
      for (let a = 0; a < scores.length; a++)
        for (let b = a + 1; b < scores.length; b++)
          if (scores[a] !== scores[b]) push(scores[a] > scores[b] ? a : b, scores[a] > scores[b] ? b : a);
    }
  });
  return out;
}

/**
 * Fits the reliability model to one dimension of an export ('ranking' or a rating dimension).
 * λ is the ridge of the tabular rewards (default 1: items seen by few annotators stay near 0).
 */
export function annotatorReliabilities(
  records: AnnotationExportRecord[],
  dimension = 'ranking',
  lambda = 1,
): ReliabilityReport {
  const cmp = comparisons(records, dimension);
  const responses = new Map<string, number>();
  const key = (item: string, a: number) => `${item}\u0000${a}`;
  for (const c of cmp)
    for (const a of [c.winner, c.loser])
      if (!responses.has(key(c.item, a))) responses.set(key(c.item, a), responses.size);
  const d = responses.size;
  if (d > MAX_TABULAR_RESPONSES)
    throw new GshfInputError(
      `annotatorReliabilities: ${d} (item, response) pairs > ${MAX_TABULAR_RESPONSES}; fit a sample of items`,
    );
  const names = [...new Set(cmp.map((c) => c.annotator))].sort();
  const report: ReliabilityReport = {
    dimension,
    items: new Set(cmp.map((c) => c.item)).size,
    comparisons: cmp.length,
    annotators: [],
  };
  if (cmp.length === 0 || d < 2) return report;
  // One context per comparison with its two responses as actions, one-hot features: r = θ[response].
  const features = new Float64Array(2 * cmp.length * d);
  cmp.forEach((c, i) => {
    features[2 * i * d + (responses.get(key(c.item, c.winner)) as number)] = 1;
    features[(2 * i + 1) * d + (responses.get(key(c.item, c.loser)) as number)] = 1;
  });
  const env: BanditEnv = {
    name: 'annotation-export',
    eta: 1,
    d,
    nContexts: cmp.length,
    offsets: Int32Array.from({ length: cmp.length + 1 }, (_, i) => 2 * i),
    features,
    refLogprobs: new Float64Array(2 * cmp.length).fill(Math.log(0.5)),
    weights: new Float64Array(cmp.length).fill(1 / cmp.length),
    thetaStar: null,
  };
  const data = {
    context: Int32Array.from(cmp, (_, i) => i),
    chosen: new Int32Array(cmp.length),
    rejected: new Int32Array(cmp.length).fill(1),
    annotator: Int32Array.from(cmp, (c) => names.indexOf(c.annotator)),
  };
  const fit = fitAnnotatorModel(env, data, names.length, { lambda });
  report.rounds = fit.rounds;
  report.converged = fit.converged;
  report.annotators = names.map((annotator, j) => ({
    annotator,
    comparisons: fit.labels[j],
    reliability: fit.reliability[j],
  }));
  return report;
}
