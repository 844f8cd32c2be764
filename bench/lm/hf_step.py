#!/usr/bin/env python3
"""PyTorch side of bench/lm/hf-step.ts: a DPO-shaped training step (forward of 2·pairs sequences,
per-sequence summed log-probs, backward of their weighted sum, AdamW) and batch scoring, on a
Hugging Face folder, with the reference model of test/nn/ref/hf_ref.py.
Usage: OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/lm/hf_step.py <folder> <B> <T> <reps>  → JSON."""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "test", "nn", "ref"))
import hf_ref  # noqa: E402

torch.set_num_threads(1)
folder, B, T, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cfg, p = hf_ref.load_folder(folder)
g = torch.Generator().manual_seed(0)
ids = torch.randint(0, 269, (B, T), generator=g)
params = list(p.values())
for t in params:
    t.requires_grad_(True)
opt = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.0)
w = torch.ones(B)


def step():
    logits = hf_ref.forward(cfg, p, ids)
    lp = torch.log_softmax(logits, -1)[:, :-1].gather(-1, ids[:, 1:, None])[..., 0].sum(-1)
    (w * lp).sum().backward()
    opt.step()
    opt.zero_grad(set_to_none=False)


def score():
    with torch.no_grad():
        logits = hf_ref.forward(cfg, p, ids)
        torch.log_softmax(logits, -1)[:, :-1].gather(-1, ids[:, 1:, None])[..., 0].sum(-1)


out = {}
for name, fn in (("step", step), ("score", score)):
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    out[name + "_s"] = statistics.median(ts)
    out[name + "_tok_s"] = B * T / statistics.median(ts)
print(json.dumps(out))
