/**
 * The `router` label source: several label sources with a cost per label (a reward model free, a
 * judge cheap, a human expensive) under one budget in cost units. Each pair goes where its
 * uncertainty says it should: the reward model's uncertainty about r(a) − r(b) (‖φ_a − φ_b‖ in
 * Σ⁻¹ for the loop's linear RM, an ensemble's spread), which the loop puts on every query.
 *
 * Per batch (the queries the ledger does not hold yet):
 *   1. sort by uncertainty, most uncertain first (a query without one counts as most uncertain);
 *   2. walk the tiers from the most expensive to the cheapest: each takes the most uncertain
 *      queries left, at most `share` of the batch and as many as the remaining budget pays for;
 *      the cheapest tier takes the rest (as far as the budget pays);
 *   3. escalate (`escalate: true`): an answer that is a tie, or that contradicts the reward model's
 *      own preference (slot a is its favourite when its margin is > 0), is asked again one tier up
 *      while the budget lasts; the most expensive answer obtained is the label.
 * The `self` tier is the loop's reward model itself: it answers "a" where it is sure, i.e. its margin
 * exceeds `confidence` × its uncertainty (no answer otherwise, so those queries escalate).
 * Each answer's `detail` records `route` (the tier that gave it), `cost` (everything spent on the
 * query), `asked` (the tiers in order) with their verdicts, `uncertainty` and `margin`; the ledger
 * keeps it, and `restore` recounts the spent budget from it on resume.
 */
import { z } from 'zod';
import {
  LabelSourceError,
  type AsyncLabelSource,
  type LabelAnswer,
  type LabelOptions,
  type LabelQuery,
  type Verdict,
} from './types.js';

/** The router's config, with `source` validated by the label-source schema passed in (no import cycle). */
export function routerSourceSchema(source: z.ZodType) {
  const tier = z
    .object({
      name: z.string().min(1),
      /** Cost units per label asked of this tier (0 = free). */
      cost: z.number().min(0),
      /** At most this fraction of each batch starts at this tier (the cheapest tier takes the rest). */
      share: z.number().min(0).max(1).default(1),
      /** A label-source config, or "self": the loop's reward model (its margin's sign). */
      source: z.union([z.literal('self'), source]),
    })
    .strict();
  return z
    .object({
      kind: z.literal('router'),
      /** Total cost units the router may spend over the run. */
      budget: z.number().positive(),
      /** From the cheapest to the most expensive (costs must not decrease). */
      tiers: z.array(tier).min(1),
      escalate: z.boolean().default(true),
      /**
       * The `self` tier answers only where the reward model is sure: margin > confidence ×
       * uncertainty (its lower confidence bound on r(a) − r(b) is positive); elsewhere it escalates.
       */
      confidence: z.number().min(0).default(1),
    })
    .strict()
    .superRefine((c, ctx) => {
      const names = new Set<string>();
      c.tiers.forEach((t, i) => {
        if (names.has(t.name))
          ctx.addIssue({
            code: 'custom',
            path: ['tiers', i, 'name'],
            message: `duplicate tier name "${t.name}"`,
          });
        names.add(t.name);
        if (i > 0 && t.cost < c.tiers[i - 1].cost)
          ctx.addIssue({
            code: 'custom',
            path: ['tiers', i, 'cost'],
            message: `tiers go from the cheapest to the most expensive: ${t.cost} < ${c.tiers[i - 1].cost} of "${c.tiers[i - 1].name}"`,
          });
      });
    });
}

/** One tier as the router runs it: its source already built ("self" = the loop's reward model). */
export interface RouterTier {
  name: string;
  cost: number;
  share: number;
  source: AsyncLabelSource | 'self';
}

export interface RouterOptions {
  budget: number;
  escalate: boolean;
  /** The self tier answers where margin > confidence × uncertainty (default 1). */
  confidence?: number;
}

/** What the router decided for one query (kept in the answer's detail). */
interface Trail {
  asked: { tier: string; verdict: Verdict | null }[];
  cost: number;
}

export class RouterLabelSource implements AsyncLabelSource {
  readonly name: string;
  private spent = 0;

  constructor(
    private readonly tiers: readonly RouterTier[],
    private readonly opts: RouterOptions,
  ) {
    if (tiers.length === 0) throw new RangeError('router: needs at least one tier');
    this.name = `router:${tiers.map((t) => t.name).join('>')}`;
  }

  /** Cost units spent so far (this session and, after `restore`, before it). */
  get costSpent(): number {
    return this.spent;
  }

  restore(answers: readonly LabelAnswer[]): void {
    this.spent = answers.reduce((s, a) => s + (typeof a.detail?.cost === 'number' ? a.detail.cost : 0), 0);
  }

  async label(queries: readonly LabelQuery[], opts: LabelOptions = {}): Promise<LabelAnswer[]> {
    // --- phase 1: assign each query its first tier
    const start = this.assign(queries);
    // --- phase 2: ask tier by tier, escalating ties and contradictions while the budget lasts
    const trails = new Map<string, Trail>(queries.map((q) => [q.id, { asked: [], cost: 0 }]));
    const final = new Map<string, { verdict: Verdict; tier: number }>();
    const pending = new Map<number, LabelQuery[]>();
    for (const [q, t] of start) pending.set(t, [...(pending.get(t) ?? []), q]);
    for (let t = 0; t < this.tiers.length; t++) {
      const batch = pending.get(t) ?? [];
      if (batch.length === 0 || opts.signal?.aborted) continue;
      const verdicts = await this.ask(t, batch, opts);
      const next: LabelQuery[] = [];
      for (const q of batch) {
        const v = verdicts.get(q.id) ?? null;
        const trail = trails.get(q.id)!;
        trail.asked.push({ tier: this.tiers[t].name, verdict: v });
        trail.cost += this.tiers[t].cost;
        if (v !== null) final.set(q.id, { verdict: v, tier: t });
        if (this.wantsEscalation(q, v) && t + 1 < this.tiers.length && this.affords(t + 1)) {
          this.spent += this.tiers[t + 1].cost;
          next.push(q);
        }
      }
      if (next.length > 0) pending.set(t + 1, [...(pending.get(t + 1) ?? []), ...next]);
    }
    // --- phase 3: one answer per query that got a verdict, with its trail
    return queries.flatMap((q): LabelAnswer[] => {
      const f = final.get(q.id);
      if (!f) return [];
      const trail = trails.get(q.id)!;
      const detail: Record<string, unknown> = {
        route: this.tiers[f.tier].name,
        cost: trail.cost,
        asked: trail.asked,
      };
      if (q.uncertainty !== undefined) detail.uncertainty = q.uncertainty;
      if (q.margin !== undefined) detail.margin = q.margin;
      return [{ id: q.id, verdict: f.verdict, source: `${this.name}/${this.tiers[f.tier].name}`, detail }];
    });
  }

  /** Phase 1: most uncertain first; expensive tiers take their share while the budget pays. */
  private assign(queries: readonly LabelQuery[]): Map<LabelQuery, number> {
    const order = queries
      .map((q, i) => ({ q, i, u: q.uncertainty ?? Infinity }))
      .sort((x, y) => y.u - x.u || x.i - y.i);
    const out = new Map<LabelQuery, number>();
    let next = 0;
    for (let t = this.tiers.length - 1; t >= 0 && next < order.length; t--) {
      const cap = t === 0 ? order.length : Math.round(this.tiers[t].share * queries.length);
      for (let k = 0; k < cap && next < order.length && this.affords(t); k++) {
        this.spent += this.tiers[t].cost;
        out.set(order[next++].q, t);
      }
    }
    return out; // queries left out: the budget pays for none of the tiers
  }

  private affords(t: number): boolean {
    return this.spent + this.tiers[t].cost <= this.opts.budget + 1e-9;
  }

  /** A tie, no answer, or an answer against the reward model's own favourite (slot a). */
  private wantsEscalation(q: LabelQuery, v: Verdict | null): boolean {
    if (!this.opts.escalate) return false;
    if (v === null || v === 'tie') return true;
    return (q.margin ?? 0) > 0 && v === 'b';
  }

  /** Asks tier t; returns verdicts by id. A tier's failure fails the call, naming the tier. */
  private async ask(t: number, batch: LabelQuery[], opts: LabelOptions): Promise<Map<string, Verdict>> {
    const tier = this.tiers[t];
    const out = new Map<string, Verdict>();
    if (tier.source === 'self') {
      const z = this.opts.confidence ?? 1;
      for (const q of batch) if ((q.margin ?? 0) > z * (q.uncertainty ?? 0)) out.set(q.id, 'a');
      return out;
    }
    try {
      for (const a of await tier.source.label(batch, opts)) out.set(a.id, a.verdict);
    } catch (e) {
      throw new LabelSourceError(
        this.name,
        `tier "${tier.name}": ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    return out;
  }

  async close(): Promise<void> {
    for (const t of this.tiers) if (t.source !== 'self') await t.source.close?.();
  }
}
