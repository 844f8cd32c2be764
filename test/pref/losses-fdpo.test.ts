import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chipoLoss,
  fdpoLoss,
  preferenceLoss,
  sigmoidLoss,
  type LossOptions,
  type PairLogProbs,
} from '../../src/pref/losses.js';

// Log-ratios s_w = 0.5, s_l = −0.8, β = 0.1.
const p: PairLogProbs = { policyChosen: -1, refChosen: -1.5, policyRejected: -2, refRejected: -1.2 };

function close(a: number, b: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
}

/** Central differences of the loss in the two policy log-probs. */
function fd(f: (q: PairLogProbs) => number, q: PairLogProbs): [number, number] {
  const h = 1e-6;
  const c =
    (f({ ...q, policyChosen: q.policyChosen + h }) - f({ ...q, policyChosen: q.policyChosen - h })) / (2 * h);
  const r =
    (f({ ...q, policyRejected: q.policyRejected + h }) - f({ ...q, policyRejected: q.policyRejected - h })) /
    (2 * h);
  return [c, r];
}

test('f-DPO at a hand-computed point: z = β·[f′(u_w) − f′(u_l)], loss = log(1 + e^{−z}), gradients by finite differences', () => {
  // z and the loss from the generators written in u directly (python, float64):
  //   reverse KL f′ = 1 + log u; forward KL −1/u; α = ½: 2(1 − u^{−½}); JS log(2u/(1+u)).
  const cases: { o: LossOptions; z: number; loss: number }[] = [
    { o: { beta: 0.1, divergence: 'reverse-kl' }, z: 0.13, loss: 0.6302581946816906 },
    { o: { beta: 0.1, divergence: 'forward-kl' }, z: 0.16190102687798347, loss: 0.6154695877064145 },
    { o: { beta: 0.1, divergence: 'alpha', alpha: 0.5 }, z: 0.1426047829139731, loss: 0.6243846535847742 },
    { o: { beta: 0.1, divergence: 'js' }, z: 0.06970236817676712, loss: 0.6589031760887655 },
    { o: { beta: 0.1, divergence: 'chi2-kl' }, z: 0.2499392306582907, loss: 0.5759660265791465 },
  ];
  for (const { o, loss } of cases) {
    const r = fdpoLoss(p, o);
    close(r.loss, loss, 1e-14, `${o.divergence} loss`);
    const [dc, dr] = fd((q) => fdpoLoss(q, o).loss, p);
    close(r.dChosen, dc, 1e-8, `${o.divergence} ∂/∂logπ(c)`);
    close(r.dRejected, dr, 1e-8, `${o.divergence} ∂/∂logπ(r)`);
    // Through the registry entry point too.
    close(preferenceLoss('fdpo', p, o).loss, loss, 1e-14, `${o.divergence} via preferenceLoss`);
  }
  // Reverse KL is DPO exactly (with the same offset).
  const a = fdpoLoss(p, { beta: 0.3 }, 0.2);
  const b = sigmoidLoss(p, { beta: 0.3 }, 0.2);
  close(a.loss, b.loss, 1e-15, 'reverse-KL f-DPO = DPO');
  close(a.dChosen, b.dChosen, 1e-15, 'dChosen');
  close(a.dRejected, b.dRejected, 1e-15, 'dRejected');
  // χ² alone clips actions: f-DPO does not hold there.
  assert.throws(() => fdpoLoss(p, { beta: 0.1, divergence: 'chi2' }), /f-DPO identity does not hold.*chipo/);
});

test('χPO: φ(u) = u + log u with the implicit rewards clipped to [−c, c] (zero gradient on the clipped side)', () => {
  const o = { beta: 0.1 };
  close(chipoLoss(p, o).loss, 0.5759660265791465, 1e-14, 'unclipped χPO = f-DPO(χ² + KL)');
  // c = 0.2: β·φ(u_w) = 0.2149 is clipped to 0.2, β·φ(u_l) = −0.0351 is not: z = 0.23506710358827787.
  const r = chipoLoss(p, { ...o, chipoClip: 0.2 });
  close(r.loss, 0.5825048524721755, 1e-14, 'clipped loss');
  assert.equal(Math.abs(r.dChosen), 0);
  const [, dr] = fd((q) => chipoLoss(q, { ...o, chipoClip: 0.2 }).loss, p);
  close(r.dRejected, dr, 1e-8, 'clipped ∂/∂logπ(r)');
  assert.throws(() => chipoLoss(p, { ...o, chipoClip: 0 }), /chipoClip must be > 0/);
});
