#!/usr/bin/env python3
"""numpy side of the bandit-lab benchmark (see bench/bandit/README.md).

Reads bench/out/bandit.data/manifest.json (written by gen.ts) and the raw little-endian arrays with
np.fromfile, then times, with the same rule as common.ts (1 warm-up, >= 5 timed runs, up to 30 while
the timed total is < 0.5 s, median):

  fit   ridge Bradley-Terry MLE, L(t) = sum softplus(-<t, dphi_i>) + lam/2 |t|^2, Newton from t = 0 with
        Armijo backtracking (c = 1e-4, halving), stop when |grad|_2 <= tol * max(1, n) -- the same rule,
        start and line search as gshf's fitMLE. Timed including and excluding the construction of
        dphi = F3[ctx, chosen] - F3[ctx, rejected] (fancy indexing).
  eval  the Gibbs policy of theta_hat (log-sum-exp per context), J(pi_hat) under r*, KL(pi_hat || pi0),
        and the gap J(pi*) - J(pi_hat) + eta * E_x KL(pi* || pi_hat), vectorised over (C, K, d).

Usage: python3 bench/bandit/bench_numpy.py [--out bench/out/bandit.numpy.json] [--only fit|evaluate] [--d D]
Run it with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (run.sh does) so OpenBLAS picks its own kernel.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT_DIR = os.path.abspath(os.environ.get("BANDIT_BENCH_OUT", os.path.join(ROOT, "bench", "out")))
DATA_DIR = os.path.join(OUT_DIR, "bandit.data")

MIN_REPS, MAX_REPS, TARGET_S = 5, 30, 0.5
CASE_BUDGET_S = float(os.environ.get("BANDIT_CASE_BUDGET_S", "120"))  # same rule as common.ts


def projected_seconds(prev_ms, prev_n, n):
    return prev_ms * (n / prev_n) * (1 + MIN_REPS) * 2 / 1e3


def time_it(fn):
    last = fn()  # warm-up
    runs = []
    while len(runs) < MIN_REPS or (len(runs) < MAX_REPS and sum(runs) < TARGET_S * 1e3):
        t0 = time.perf_counter()
        last = fn()
        runs.append((time.perf_counter() - t0) * 1e3)
    return {"ms": statistics.median(runs), "min_ms": min(runs), "runs_ms": runs, "warmup": 1}, last


def load(entry):
    dtype = {"float64": "<f8", "int32": "<i4"}[entry["dtype"]]
    a = np.fromfile(os.path.join(DATA_DIR, entry["file"]), dtype=dtype)
    return a.reshape(entry["shape"])


# ---------------------------------------------------------------- fit


def softplus(x):
    return np.logaddexp(0.0, x)


def fit_bt(dphi, lam, tol, max_iter=100):
    """Ridge BT-MLE by Newton + Armijo backtracking from theta = 0 (what a numpy user would write)."""
    n, d = dphi.shape
    gtol = tol * max(1, n)
    theta = np.zeros(d)
    z = dphi @ theta
    sp = softplus(-z)
    it = 0
    while True:
        s = 0.5 * (1.0 + np.tanh(0.5 * z))  # sigma(z), overflow-free
        grad = lam * theta - dphi.T @ (1.0 - s)
        gnorm = np.linalg.norm(grad)
        if gnorm <= gtol or it >= max_iter:
            break
        w = s * (1.0 - s)
        H = (dphi * w[:, None]).T @ dphi
        H[np.diag_indices_from(H)] += lam
        step = np.linalg.solve(H, -grad)
        slope = grad @ step
        if not (-slope > 0):
            break
        t, n2 = 1.0, theta @ theta
        for _ in range(60):
            trial = theta + t * step
            zt = dphi @ trial
            spt = softplus(-zt)
            # per-pair differences, as gshf does (exact near the optimum)
            delta = np.sum(spt - sp) + 0.5 * lam * (trial @ trial - n2)
            if delta <= 1e-4 * t * slope:
                theta, z, sp = trial, zt, spt
                break
            t *= 0.5
        else:
            it += 1
            break
        it += 1
    return theta, it, float(gnorm)


def bench_fit(s):
    a = s["arrays"]
    K, d = s["K"], s["d"]
    F3 = load(a["features"]).reshape(s["nContexts"], K, d)
    ctx_all, ch_all, rj_all = load(a["context"]), load(a["chosen"]), load(a["rejected"])
    rows = []
    prev = None
    for n in s["n"]:
        if prev and projected_seconds(prev[1], prev[0], n) > CASE_BUDGET_S:
            print(f"numpy fit d={d} n={n}: skipped, projected {projected_seconds(prev[1], prev[0], n):.0f} s > budget "
                  f"{CASE_BUDGET_S:.0f} s", file=sys.stderr, flush=True)
            continue
        ctx, ch, rj = ctx_all[:n], ch_all[:n], rj_all[:n]
        lam, tol = s["lambda"], s["tol"]

        def build():
            return F3[ctx, ch] - F3[ctx, rj]

        incl, _ = time_it(lambda: fit_bt(build(), lam, tol))
        dphi_only, dphi = time_it(build)
        excl, (theta, it, gnorm) = time_it(lambda: fit_bt(dphi, lam, tol))
        prev = (n, max(incl["ms"], excl["ms"]))
        rows.append({"d": d, "n": n, "incl_dphi": incl, "excl_dphi": excl, "dphi_only": dphi_only,
                     "theta": theta.tolist(), "iterations": it, "gradNorm": gnorm})
        print(f"numpy fit d={d} n={n}: incl {incl['ms']:.2f} ms, excl {excl['ms']:.2f} ms, {it} it, "
              f"|g|={gnorm:.2e}", file=sys.stderr, flush=True)
        del dphi
    return rows


# ---------------------------------------------------------------- evaluate


def log_softmax(logits):
    m = logits.max(axis=1, keepdims=True)
    return logits - (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))


def evaluate(F2, C, K, logpi0, w, eta, theta_hat, theta_star):
    # One pass over the features for both reward vectors: (C*K, d) @ (d, 2).
    R = (F2 @ np.column_stack((theta_hat, theta_star))).reshape(C, K, 2)
    r_hat, r_star = R[..., 0], R[..., 1]
    logp_hat = log_softmax(logpi0 + r_hat / eta)
    logp_star = log_softmax(logpi0 + r_star / eta)
    p_hat, p_star = np.exp(logp_hat), np.exp(logp_star)
    kl_hat = np.sum(p_hat * (logp_hat - logpi0), axis=1)  # KL(pi_hat || pi0) per context
    kl_star = np.sum(p_star * (logp_star - logpi0), axis=1)
    j_hat = w @ (np.sum(p_hat * r_star, axis=1) - eta * kl_hat)
    j_star = w @ (np.sum(p_star * r_star, axis=1) - eta * kl_star)
    kl_star_hat = w @ np.sum(p_star * (logp_star - logp_hat), axis=1)
    sub = max(0.0, j_star - j_hat)
    return {"J": float(j_hat), "klRef": float(w @ kl_hat), "gap": float(sub + eta * kl_star_hat),
            "suboptimality": float(sub), "klStarToHat": float(kl_star_hat), "jStar": float(j_star)}


def bench_eval(s):
    a = s["arrays"]
    C, K, d, eta = s["C"], s["K"], s["d"], s["eta"]
    F2 = load(a["features"]).reshape(C * K, d)
    logpi0 = load(a["refLogprobs"]).reshape(C, K)
    w = load(a["weights"])
    th, ts = load(a["thetaHat"]), load(a["thetaStar"])
    timing, res = time_it(lambda: evaluate(F2, C, K, logpi0, w, eta, th, ts))
    print(f"numpy eval d={d} C={C}: {timing['ms']:.2f} ms", file=sys.stderr, flush=True)
    return dict(d=d, C=C, K=K, timing=timing, **res)


def blas_info():
    info = {}
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        info = {"name": blas.get("name"), "version": blas.get("version"), "config": blas.get("openblas configuration")}
    except TypeError:  # numpy < 1.25 has no mode=
        info = {"name": "unknown (numpy < 1.25)"}
    try:
        import threadpoolctl  # noqa: F401

        info["threadpoolctl"] = threadpoolctl.threadpool_info()
    except ImportError:
        info["threadpoolctl"] = None
    return info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(OUT_DIR, "bandit.numpy.json"))
    ap.add_argument("--only", default="all")
    ap.add_argument("--d", type=int, default=None)
    args = ap.parse_args()
    with open(os.path.join(DATA_DIR, "manifest.json")) as f:
        m = json.load(f)
    meta = {"side": "numpy", "python": platform.python_version(), "executable": sys.executable,
            "numpy": np.__version__, "blas": blas_info(),
            "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                                                   "OMP_NUM_THREADS")},
            "openblas_default_threads": "nproc (%d) unless OPENBLAS_NUM_THREADS is set" % os.cpu_count()}
    meta["nice"] = os.nice(0)
    meta["loadavg_start"] = list(os.getloadavg())
    pick = lambda s: args.d is None or s["d"] == args.d  # noqa: E731
    fit = [r for s in m["fit"] if pick(s) for r in bench_fit(s)] if args.only in ("all", "fit") else []
    ev = [bench_eval(s) for s in m["evaluate"] if pick(s)] if args.only in ("all", "evaluate") else []
    meta["loadavg_end"] = list(os.getloadavg())
    with open(args.out, "w") as f:
        json.dump({"meta": meta, "fit": fit, "evaluate": ev}, f, indent=1)
    print(f"numpy: wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
