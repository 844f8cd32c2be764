#!/usr/bin/env python3
"""numpy reference for the bandit-MLE Hessian kernel: H = X.T @ X for X of shape (n, d), float64.

Usage: OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/kernels/syrk_numpy.py [--n 1000000] [--d 32,128] [--reps 5]
Also times the weighted Gram sum_i w_i x_i x_i^T as (X * sqrt(w)[:, None]) then .T @ itself ("weighted_ms").
Prints JSON: per d, median ms (after one warm-up) and GFLOP/s counted as n*d*(d+1) (one triangle, the
work dsyrk does; a full gemm would be 2*n*d*d).
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", default="32,128")
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    out = {"engine": "numpy", "version": np.__version__,
           "blas": os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3"),
           "openblas_threads": int(os.environ["OPENBLAS_NUM_THREADS"]), "n": a.n, "results": {}}
    for d in [int(x) for x in a.d.split(",")]:
        X = rng.standard_normal((a.n, d))
        H = X.T @ X  # warm-up
        ts = []
        for _ in range(a.reps):
            t0 = time.perf_counter()
            H = X.T @ X
            ts.append(time.perf_counter() - t0)
        t = statistics.median(ts)
        out["results"][str(d)] = {"ms": t * 1e3, "gflops": a.n * d * (d + 1) / t / 1e9,
                                  "runs_ms": [x * 1e3 for x in ts], "trace": float(np.trace(H))}
        # weighted Gram (the logistic-MLE Hessian): sum_i w_i x_i x_i^T with w >= 0
        w = rng.random(a.n)
        tw = []
        for _ in range(a.reps):
            t0 = time.perf_counter()
            Xs = X * np.sqrt(w)[:, None]
            H = Xs.T @ Xs
            tw.append(time.perf_counter() - t0)
            del Xs
        out["results"][str(d)]["weighted_ms"] = statistics.median(tw) * 1e3
        del X, H
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
