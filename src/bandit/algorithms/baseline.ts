/**
 * `reference`: outputs π0 itself and uses no labels. The floor every method must clear; its gap is
 * J(π*) − J(π0) + η·KL(π*‖π0), the room there is to improve.
 */
import type { BanditAlgorithm } from './types.js';

export const referencePolicy: BanditAlgorithm<Record<string, never>> = {
  name: 'reference',
  setting: 'offline',
  description:
    'The reference policy π0 itself (no learning, no labels): the baseline every method must beat.',
  checkOptions(options) {
    const unknown = Object.keys(options ?? {});
    if (unknown.length) throw new Error(`reference: takes no options (got ${unknown.join(', ')})`);
  },
  run(ctx, options) {
    this.checkOptions?.(options, ctx.env.d);
    return { policy: Float64Array.from(ctx.env.refLogprobs), labelsUsed: 0 };
  },
};
