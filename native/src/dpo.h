/* Tabular DPO's optimiser loop (src/bandit/algorithms/dpo.ts, trainDpoTabular) in C. */
#ifndef GSHF_DPO_H
#define GSHF_DPO_H
#include <stdint.h>

/*
 * `steps` full-batch steps on the mean DPO loss over n pairs (flat action indices win[i], lose[i];
 * refDiff[i] = ref[win] − ref[lose]): per step, grad = Σ_i ∓(eta·σ(−h_i))/n with
 * h_i = eta·((p[win] − p[lose]) − refDiff[i]), then Adam (adam = 1; β1 = 0.9, β2 = 0.999, ε = 1e-8,
 * bias corrections c1[t], c2[t] given) or GD with learning rate lr[t], t = 0..steps−1.
 * g, m, v: P-long scratch (m, v zeroed by the caller). Same operations, in the same order, as the
 * TypeScript loop.
 */
void gshf_dpo_tabular_train(const int32_t *win, const int32_t *lose, const double *refDiff, int64_t n, double eta,
                            double *p, double *g, double *m, double *v, int64_t P, int64_t steps, const double *lr,
                            const double *c1, const double *c2, int adam);
#endif
