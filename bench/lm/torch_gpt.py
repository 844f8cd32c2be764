#!/usr/bin/env python3
"""PyTorch reference for the gshf LM-engine benchmark (bench/lm/run.sh runs it next to gshf-bench.ts).

Model: GPT-2 style, identical on both sides (src/nn/config.ts presets):
  small: vocab 259 (256 bytes + BOS/EOS/PAD), 4 layers, d_model 128, 4 heads, context 64, MLP 4x,
         GELU(tanh), pre-LN, biases, untied LM head (no bias); batch 16x64.
  large: same but d_model 256, 8 heads, context 128 (~3.8x the params); batch 8x128 (1024 tokens/step).

Measurements (medians over several timed repetitions after warm-up):
  train   forward + cross-entropy + backward + AdamW (decay on matrices/embeddings only), tokens/s
  score   forward + log-softmax + per-sequence summed log-probs, no grad, tokens/s
  sample  ctx-1 new tokens from a 1-token prompt with a hand-written KV cache, multinomial sampling,
          at batch 1 and 16, new tokens/s (all sequences counted)
FLOPs (same formula in gshf-bench.ts): P = total parameter count, L layers, T context, C d_model;
  forward FLOPs/token = 2P + 4*L*T*C (QK^T and AV over the full T x T square, as both engines compute it)
  train GFLOP/s = 3 * forward * tokens / t,  score GFLOP/s = forward * tokens / t.
  (P counts the embedding tables, which are lookups, not matmuls: 5% of P for small, 3% for large.)

Threads: OPENBLAS_NUM_THREADS=2 (set before torch loads OpenBLAS) and torch.set_num_threads(1), the
best setting measured in docs/engine-choice.md. Override with --torch-threads and the env var.

Usage: OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/lm/torch_gpt.py [--configs small,large] [--quick] [--check]
Prints one JSON object on stdout.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

VOCAB = 259
CONFIGS = {
    "small": dict(vocab=VOCAB, ctx=64, n_layer=4, n_head=4, d=128, batch=16, seq=64),
    "large": dict(vocab=VOCAB, ctx=128, n_layer=4, n_head=8, d=256, batch=8, seq=128),
    # ~10.9M parameters (the "big" model of docs/engine-choice.md)
    "big": dict(vocab=VOCAB, ctx=128, n_layer=6, n_head=6, d=384, batch=8, seq=128),
}


class Block(nn.Module):
    def __init__(self, d, n_head):
        super().__init__()
        self.n_head = n_head
        self.ln_1 = nn.LayerNorm(d, eps=1e-5)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=1e-5)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)

    def attn(self, x, cache=None, pos=0):
        B, T, C = x.shape
        nh, hd = self.n_head, C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, nh, hd).transpose(1, 2)
        k = k.view(B, T, nh, hd).transpose(1, 2)
        v = v.view(B, T, nh, hd).transpose(1, 2)
        if cache is None:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
            mask = torch.ones(T, T, dtype=torch.bool).triu(1)
            att = att.masked_fill(mask, float("-inf"))
        else:
            # KV cache: cache = (K, V) each [B, nh, ctx, hd]; write this step's keys/values at pos.
            K, V = cache
            K[:, :, pos : pos + T] = k
            V[:, :, pos : pos + T] = v
            k = K[:, :, : pos + T]
            v = V[:, :, : pos + T]
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
            if T > 1:
                mask = torch.ones(T, pos + T, dtype=torch.bool).triu(pos + 1)
                att = att.masked_fill(mask, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)

    def forward(self, x, cache=None, pos=0):
        x = x + self.attn(self.ln_1(x), cache, pos)
        x = x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))
        return x


class GPT(nn.Module):
    def __init__(self, vocab, ctx, n_layer, n_head, d, **_):
        super().__init__()
        self.ctx, self.n_layer, self.n_head, self.d = ctx, n_layer, n_head, d
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(ctx, d)
        self.h = nn.ModuleList([Block(d, n_head) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(d, eps=1e-5)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith(("c_proj.weight", "mlp_proj.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx, caches=None, pos=0):
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(pos, pos + T))
        for i, blk in enumerate(self.h):
            x = blk(x, None if caches is None else caches[i], pos)
        return self.lm_head(self.ln_f(x))

    def new_cache(self, B):
        hd = self.d // self.n_head
        return [
            (torch.zeros(B, self.n_head, self.ctx, hd), torch.zeros(B, self.n_head, self.ctx, hd))
            for _ in range(self.n_layer)
        ]


def make_optimizer(model):
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=3e-4, betas=(0.9, 0.95), eps=1e-8,
    )


def timed(fn, warmup, reps):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), ts


@torch.no_grad()
def sample(model, B, n_new, gen):
    caches = model.new_cache(B)
    tok = torch.zeros(B, 1, dtype=torch.long)  # 1-token prompt (id 0)
    out = [tok]
    for pos in range(n_new):
        logits = model(tok, caches, pos)[:, -1, :]
        probs = F.softmax(logits, dim=-1)
        tok = torch.multinomial(probs, 1, generator=gen)
        out.append(tok)
    return torch.cat(out, dim=1)


@torch.no_grad()
def check_kv_cache(model, seq):
    """KV-cache logits must equal the full causal forward."""
    idx = torch.randint(0, VOCAB, (2, seq))
    full = model(idx)
    caches = model.new_cache(2)
    steps = [model(idx[:, p : p + 1], caches, p) for p in range(seq)]
    err = (torch.cat(steps, dim=1) - full).abs().max().item()
    if err > 1e-4:
        raise SystemExit(f"KV-cache check failed: max |diff| = {err}")
    return err


def bench_config(name, cfg, quick, check):
    torch.manual_seed(0)
    model = GPT(**cfg)
    P = sum(p.numel() for p in model.parameters())
    B, T, L, C, ctx = cfg["batch"], cfg["seq"], cfg["n_layer"], cfg["d"], cfg["ctx"]
    fwd_flops_per_tok = 2 * P + 4 * L * T * C
    tokens = B * T
    idx = torch.randint(0, VOCAB, (B, T), generator=torch.Generator().manual_seed(1))
    res = {"params": P, "layers": L, "d_model": C, "heads": cfg["n_head"], "context": ctx, "vocab": cfg["vocab"],
           "batch": [B, T], "fwd_flops_per_token": fwd_flops_per_tok}
    if check:
        res["kv_cache_max_abs_err"] = check_kv_cache(model, ctx)

    opt = make_optimizer(model)
    model.train()

    def train_step():
        logits = model(idx)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, cfg["vocab"]), idx[:, 1:].reshape(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    reps = 3 if quick else (12 if name == "small" else 6)
    t, ts = timed(train_step, 2, reps)
    res["train"] = {"ms": t * 1e3, "tokens_per_s": tokens / t, "gflops": 3 * fwd_flops_per_tok * tokens / t / 1e9,
                    "runs_ms": [x * 1e3 for x in ts]}

    model.eval()

    @torch.no_grad()
    def score():
        logp = F.log_softmax(model(idx)[:, :-1], dim=-1)
        return logp.gather(-1, idx[:, 1:].unsqueeze(-1)).squeeze(-1).sum(dim=1)

    reps = 3 if quick else 12
    t, ts = timed(score, 2, reps)
    res["score"] = {"ms": t * 1e3, "tokens_per_s": tokens / t, "gflops": fwd_flops_per_tok * tokens / t / 1e9,
                    "runs_ms": [x * 1e3 for x in ts]}

    n_new = ctx - 1
    gen = torch.Generator().manual_seed(2)
    for Bs in (1, 16):
        reps = 2 if quick else 5
        t, ts = timed(lambda: sample(model, Bs, n_new, gen), 1, reps)
        res[f"sample_b{Bs}"] = {"ms": t * 1e3, "new_tokens": n_new, "tokens_per_s": Bs * n_new / t,
                                "runs_ms": [x * 1e3 for x in ts]}
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default="small,large")
    ap.add_argument("--torch-threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (smoke test)")
    ap.add_argument("--check", action="store_true", help="verify KV-cache logits equal the full forward")
    a = ap.parse_args()
    torch.set_num_threads(a.torch_threads)
    out = {
        "engine": "pytorch",
        "version": torch.__version__,
        "python": platform.python_version(),
        "threads": {"torch": torch.get_num_threads(), "openblas": int(os.environ.get("OPENBLAS_NUM_THREADS", "0"))},
        # Debian's torch links the generic libblas.so.3; update-alternatives decides which library that is.
        "blas": os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3"),
        "configs": {},
    }
    for name in a.configs.split(","):
        if name not in CONFIGS:
            raise SystemExit(f"unknown config {name!r}; choose from {sorted(CONFIGS)}")
        print(f"[torch] {name} ...", file=sys.stderr)
        out["configs"][name] = bench_config(name, CONFIGS[name], a.quick, a.check)
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
