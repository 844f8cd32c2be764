/** Preference losses against their formulas (TRL definitions), derivatives vs finite differences. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/math/rng.js';
import {
  LOSS_TYPES,
  cdpoLoss,
  dpoMetrics,
  hingeLoss,
  ipoLoss,
  pessimisticOffset,
  pessimisticOffsets,
  preferenceLoss,
  robustLoss,
  sigmoidLoss,
  type LossOptions,
  type LossType,
  type PairLogProbs,
} from '../../src/pref/losses.js';

const close = (a: number, b: number, tol = 1e-9, msg = ''): void =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${msg} ${a} vs ${b}`);

/** A pair with Δ = d (all of it on the chosen side) and given token counts. */
const pairWithDelta = (d: number, nc = 1, nr = 1): PairLogProbs => ({
  policyChosen: -10 + d,
  policyRejected: -12,
  refChosen: -10,
  refRejected: -12,
  chosenTokens: nc,
  rejectedTokens: nr,
});

test('sigmoid: ln 2 at initialisation (policy = reference), zero implicit rewards', () => {
  const p: PairLogProbs = {
    policyChosen: -31.5,
    policyRejected: -40.25,
    refChosen: -31.5,
    refRejected: -40.25,
  };
  const l = sigmoidLoss(p, { beta: 0.1 });
  close(l.loss, Math.LN2);
  close(l.dChosen, -0.05); // −β·σ(0)
  close(l.dRejected, 0.05);
  const m = dpoMetrics([p], 0.1, [l.loss]);
  assert.equal(m['rewards/chosen'], 0);
  assert.equal(m['rewards/margins'], 0);
  assert.equal(m['rewards/accuracies'], 0); // tie counts as wrong
  close(m.loss, Math.LN2);
});

test('sigmoid is softplus(−βΔ) and stays finite for huge margins', () => {
  close(sigmoidLoss(pairWithDelta(4), { beta: 0.5 }).loss, Math.log1p(Math.exp(-2)));
  const big = sigmoidLoss(pairWithDelta(-1e4), { beta: 1 });
  close(big.loss, 1e4);
  close(big.dChosen, -1);
  assert.equal(sigmoidLoss(pairWithDelta(1e4), { beta: 1 }).loss, 0);
});

test('cDPO and robust DPO at a hand-computed point (β = 0.5, Δ = 2 → z = 1, ε = 0.1)', () => {
  const o: LossOptions = { beta: 0.5, labelSmoothing: 0.1 };
  const sp = (z: number): number => Math.log1p(Math.exp(z)); // softplus
  // cDPO: 0.9·softplus(−1) + 0.1·softplus(1)
  close(cdpoLoss(pairWithDelta(2), o).loss, 0.9 * sp(-1) + 0.1 * sp(1));
  close(cdpoLoss(pairWithDelta(2), o).loss, 0.41326169, 1e-7);
  // rDPO: [0.9·softplus(−1) − 0.1·softplus(1)] / 0.8
  close(robustLoss(pairWithDelta(2), o).loss, (0.9 * sp(-1) - 0.1 * sp(1)) / 0.8);
  close(robustLoss(pairWithDelta(2), o).loss, 0.18826169, 1e-7);
  // ε = 0 reduces both to DPO
  for (const f of [cdpoLoss, robustLoss])
    close(f(pairWithDelta(2), { beta: 0.5 }).loss, sigmoidLoss(pairWithDelta(2), { beta: 0.5 }).loss);
});

test('robust DPO sign: always pushes the margin up, while cDPO has a stationary point at z = log((1−ε)/ε)', () => {
  const o: LossOptions = { beta: 1, labelSmoothing: 0.2 };
  const zStar = Math.log(0.8 / 0.2);
  close(cdpoLoss(pairWithDelta(zStar), o).dChosen, 0, 1e-12);
  assert.ok(cdpoLoss(pairWithDelta(zStar + 1), o).dChosen > 0); // beyond it cDPO pulls back
  for (const d of [-5, 0, zStar, zStar + 1, 20]) {
    const r = robustLoss(pairWithDelta(d), o);
    assert.ok(r.dChosen < 0 && r.dRejected > 0, `robust at Δ=${d}: ${r.dChosen}`);
  }
  // the + sign makes rDPO lower than DPO at a positive margin (the −ε·softplus(z) term), and the
  // 1/(1−2ε) scaling makes its slope steeper than DPO's
  assert.ok(robustLoss(pairWithDelta(1), o).loss < sigmoidLoss(pairWithDelta(1), o).loss);
  assert.ok(
    Math.abs(robustLoss(pairWithDelta(1), o).dChosen) > Math.abs(sigmoidLoss(pairWithDelta(1), o).dChosen),
  );
  assert.throws(() => robustLoss(pairWithDelta(1), { beta: 1, labelSmoothing: 0.5 }), /labelSmoothing/);
});

test('IPO: minimum 0 at Δ = 1/(2β), per-token normalised by default, summed on request', () => {
  const beta = 0.25; // target 2
  // normalised: log-ratios divided by token counts (chosen 4 tokens, rejected 2)
  const p: PairLogProbs = {
    policyChosen: -20 + 4 * 3,
    policyRejected: -10 + 2 * 1,
    refChosen: -20,
    refRejected: -10,
    chosenTokens: 4,
    rejectedTokens: 2,
  };
  // per-token log-ratios 3 and 1 → Δ_avg = 2 = 1/(2β)
  const l = ipoLoss(p, { beta });
  close(l.loss, 0, 1e-12);
  close(l.dChosen, 0, 1e-12);
  // summed: Δ = 12 − 2 = 10 → (10 − 2)² = 64
  const s = ipoLoss(p, { beta, ipoNormalize: false });
  close(s.loss, 64);
  close(s.dChosen, 16);
  close(s.dRejected, -16);
  // moving away on either side increases the loss
  assert.ok(ipoLoss({ ...p, policyChosen: p.policyChosen + 0.4 }, { beta }).loss > 0);
  assert.ok(ipoLoss({ ...p, policyChosen: p.policyChosen - 0.4 }, { beta }).loss > 0);
});

test('hinge: max(0, 1 − βΔ) with the kink at βΔ = 1', () => {
  const o: LossOptions = { beta: 0.5 };
  close(hingeLoss(pairWithDelta(0), o).loss, 1);
  close(hingeLoss(pairWithDelta(1.9), o).loss, 0.05);
  assert.equal(hingeLoss(pairWithDelta(2), o).loss, 0);
  assert.equal(hingeLoss(pairWithDelta(2.1), o).loss, 0);
  assert.equal(hingeLoss(pairWithDelta(1.9), o).dChosen, -0.5);
  assert.equal(hingeLoss(pairWithDelta(1.9), o).dRejected, 0.5);
  assert.equal(hingeLoss(pairWithDelta(2.1), o).dChosen, 0);
});

test('NLL term adds α·(−logπ(c)/|c|) and its derivative', () => {
  const p = { ...pairWithDelta(1), chosenTokens: 8 };
  const base = preferenceLoss('sigmoid', p, { beta: 0.1 });
  const with_ = preferenceLoss('sigmoid', p, { beta: 0.1, nllAlpha: 0.5 });
  close(with_.loss - base.loss, (0.5 * -p.policyChosen) / 8);
  close(with_.dChosen - base.dChosen, -0.5 / 8);
  close(with_.dRejected, base.dRejected);
});

test('pessimistic offset: a more uncertain chosen response lowers the fitted preference for it', () => {
  const beta = 0.5;
  // Γ_w > Γ_l → positive offset inside the link → smaller push on Δ (sigmoid) and a smaller IPO target
  const off = pessimisticOffset(2, 1, 0.5);
  assert.equal(off, 0.5);
  const plain = sigmoidLoss(pairWithDelta(0), { beta });
  const pess = sigmoidLoss(pairWithDelta(0), { beta }, off);
  assert.ok(Math.abs(pess.dChosen) < Math.abs(plain.dChosen));
  close(pess.loss, Math.log1p(Math.exp(-off)));
  // IPO minimiser moves from 1/(2β) = 1 to (1/2 − offset)/β = 0
  close(ipoLoss(pairWithDelta(0), { beta, ipoNormalize: false }, off).loss, 0, 1e-12);
  // the other way round (rejected more uncertain) pushes Δ further up
  const neg = pessimisticOffset(1, 2, 0.5);
  assert.ok(Math.abs(sigmoidLoss(pairWithDelta(0), { beta }, neg).dChosen) > Math.abs(plain.dChosen));
  assert.deepEqual(Array.from(pessimisticOffsets([2, 1], [1, 3], 0.5)), [0.5, -1]);
});

test('every loss: derivatives match central finite differences (with offsets, smoothing, NLL)', () => {
  const rng = new Rng(7);
  const h = 1e-6;
  for (const type of LOSS_TYPES as readonly LossType[]) {
    for (let trial = 0; trial < 40; trial++) {
      const p: PairLogProbs = {
        policyChosen: -30 + 10 * rng.normal(),
        policyRejected: -30 + 10 * rng.normal(),
        refChosen: -30 + 10 * rng.normal(),
        refRejected: -30 + 10 * rng.normal(),
        chosenTokens: 1 + rng.int(20),
        rejectedTokens: 1 + rng.int(20),
      };
      const o: LossOptions = {
        beta: 0.05 + rng.uniform(),
        labelSmoothing: 0.4 * rng.uniform(),
        nllAlpha: trial % 2 ? 0.3 : 0,
        ipoNormalize: trial % 3 !== 0,
      };
      const off = rng.normal();
      const an = preferenceLoss(type, p, o, off);
      const f = (dc: number, dr: number): number =>
        preferenceLoss(
          type,
          { ...p, policyChosen: p.policyChosen + dc, policyRejected: p.policyRejected + dr },
          o,
          off,
        ).loss;
      // hinge: skip points within h of the kink
      if (type === 'hinge') {
        const z = o.beta * (p.policyChosen - p.refChosen - p.policyRejected + p.refRejected) + off;
        if (Math.abs(z - 1) < 1e-3) continue;
      }
      // f-DPO / χPO grow like e^{|log-ratio|}: where the loss is so large that its rounding error
      // (|L|·1e-16) swamps a step of h, central differences cannot resolve the derivative.
      if (Math.abs(an.loss) * 1e-16 > 1e-4 * h) continue;
      const fdC = (f(h, 0) - f(-h, 0)) / (2 * h);
      const fdR = (f(0, h) - f(0, -h)) / (2 * h);
      assert.ok(
        Math.abs(fdC - an.dChosen) < 1e-5 * Math.max(1, Math.abs(fdC)),
        `${type} dChosen fd ${fdC} vs ${an.dChosen}`,
      );
      assert.ok(
        Math.abs(fdR - an.dRejected) < 1e-5 * Math.max(1, Math.abs(fdR)),
        `${type} dRejected fd ${fdR} vs ${an.dRejected}`,
      );
    }
  }
});

test('metrics: TRL names, β·log-ratio rewards, strict accuracy, summed logps', () => {
  const pairs: PairLogProbs[] = [
    { policyChosen: -10, policyRejected: -20, refChosen: -12, refRejected: -19 }, // rc 0.2, rr −0.1
    { policyChosen: -15, policyRejected: -15, refChosen: -15, refRejected: -15 }, // tie → wrong
  ];
  const m = dpoMetrics(pairs, 0.1, [0.5, 0.7]);
  close(m['rewards/chosen'], 0.1);
  close(m['rewards/rejected'], -0.05);
  close(m['rewards/margins'], 0.15);
  assert.equal(m['rewards/accuracies'], 0.5);
  close(m['logps/chosen'], -12.5);
  close(m['logps/rejected'], -17.5);
  close(m.loss, 0.6);
  assert.deepEqual(Object.keys(m).sort(), [
    'logps/chosen',
    'logps/rejected',
    'loss',
    'rewards/accuracies',
    'rewards/chosen',
    'rewards/margins',
    'rewards/rejected',
  ]);
});

test('invalid options fail clearly', () => {
  assert.throws(() => sigmoidLoss(pairWithDelta(0), { beta: 0 }), /beta/);
  assert.throws(() => preferenceLoss('nope' as LossType, pairWithDelta(0), { beta: 1 }), /unknown loss type/);
});
