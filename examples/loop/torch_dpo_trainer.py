#!/usr/bin/env python3
"""An external DPO trainer for `gshf loop` in PyTorch (CPU, or a GPU when one is present).

It is the shape of what a user runs on a GPU box: it reads the iteration's exported TRL-layout pairs
(JSONL rows {"prompt", "chosen", "rejected"}, strings), the policy to start from and the reference
policy (gshf checkpoint folders: config.json + model.safetensors), trains with the DPO loss, and
writes the new policy back as a gshf checkpoint that `gshf lm serve`, `gshf lm sample` and the loop
load as they load their own.

    python3 examples/loop/torch_dpo_trainer.py --pairs {pairs} --init {init} --ref {ref} \
        --out {out} --beta {eta} --seed {iteration}

(the placeholders are the loop's `trainer.command` ones; examples/loop/openai-torch-trainer.yaml).

The maths is gshf's own (docs/pref-training.md): a sequence is [BOS] prompt response [EOS] cut to the
context (the prompt loses its oldest tokens first), log π(y|x) is the sum of the response tokens'
log-probs (EOS included), and the loss is −log σ(β·((log π − log π_ref)(chosen) − (same)(rejected))),
averaged over a batch. `--loss-only` prints that loss over all pairs at the --init weights and exits:
it equals gshf's `pref dpo` step-1 loss on the same batch to 1e-5 (test/loop/torch-trainer.test.ts).

Supported: gshf-lm checkpoints (format 1) with the LM head and the byte-level tokenizer. Other
tokenizers are refused with a message (this example has no BPE encoder of its own).
Only the Python standard library and torch are needed.
"""
import argparse
import json
import math
import os
import re
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

BOS, EOS, PAD = 256, 257, 258
MODEL_KEYS = {"vocabSize", "blockSize", "nLayer", "nHead", "nEmbd", "tiedHead", "head", "layerNormEps"}


def fail(msg):
    print(f"torch_dpo_trainer: {msg}", file=sys.stderr)
    sys.exit(2)


# --- checkpoints -------------------------------------------------------------------------------


def read_safetensors(path):
    """{name: float32 tensor} from a safetensors file (F32 only, as gshf writes it)."""
    with open(path, "rb") as f:
        data = f.read()
    (hlen,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + hlen])
    base = 8 + hlen
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] != "F32":
            fail(f"{path}: tensor {name} has dtype {e['dtype']}, expected F32")
        a, b = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[base + a : base + b]), dtype=torch.float32)
        out[name] = t.reshape(e["shape"]) if e["shape"] else t.reshape(())
    return out


def write_safetensors(path, tensors, metadata):
    """Writes {name: tensor} as F32 safetensors (header padded to 8 bytes), atomically."""
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        b = t.detach().to("cpu", torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":"))
    h += " " * ((8 - (8 + len(h.encode())) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h.encode())))
        f.write(h.encode())
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(folder):
    cfg_path = os.path.join(folder, "config.json")
    try:
        with open(cfg_path) as f:
            cfg = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{cfg_path}: {e}")
    if cfg.get("format") != "gshf-lm" or cfg.get("version") != 1:
        fail(f"{cfg_path}: not a gshf-lm checkpoint (format {cfg.get('format')!r}, version {cfg.get('version')!r})")
    model = cfg["model"]
    unknown = set(model) - MODEL_KEYS
    if unknown:
        fail(f"{cfg_path}: field model.{sorted(unknown)[0]} is unknown to this trainer")
    if model.get("head", "lm") != "lm":
        fail(f"{cfg_path}: field model.head is {model.get('head')!r}; DPO needs an 'lm' head")
    if cfg["tokenizer"].get("type") != "byte":
        fail(f"{cfg_path}: field tokenizer.type is {cfg['tokenizer'].get('type')!r}; this example encodes bytes only")
    return cfg, read_safetensors(os.path.join(folder, "model.safetensors"))


# --- the model: gshf's GPT (src/nn/model.ts), tensor for tensor ---------------------------------


class GPT(nn.Module):
    """Token + position embeddings, pre-LN blocks (causal attention, GELU(tanh) MLP), final LN, LM head."""

    def __init__(self, m):
        super().__init__()
        self.m = m
        self.params = nn.ParameterDict()

    def load(self, tensors):
        for name, t in tensors.items():
            self.params[name.replace(".", "__")] = nn.Parameter(t.clone())
        return self

    def p(self, name):
        return self.params[name.replace(".", "__")]

    def state(self):
        return {k.replace("__", "."): v for k, v in self.params.items()}

    def forward(self, ids):  # ids [B, T] → logits [B, T, V]
        m, B, T = self.m, ids.shape[0], ids.shape[1]
        C, nh = m["nEmbd"], m["nHead"]
        hs, eps = C // nh, m.get("layerNormEps", 1e-5)
        x = self.p("transformer.wte.weight")[ids] + self.p("transformer.wpe.weight")[:T]
        mask = torch.ones(T, T, dtype=torch.bool, device=ids.device).triu(1)
        for l in range(m["nLayer"]):
            h = f"transformer.h.{l}."
            a = F.layer_norm(x, (C,), self.p(h + "ln_1.weight"), self.p(h + "ln_1.bias"), eps)
            q, k, v = F.linear(a, self.p(h + "attn.c_attn.weight"), self.p(h + "attn.c_attn.bias")).split(C, dim=2)
            q, k, v = (t.view(B, T, nh, hs).transpose(1, 2) for t in (q, k, v))
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
            att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
            y = (att @ v).transpose(1, 2).reshape(B, T, C)
            x = x + F.linear(y, self.p(h + "attn.c_proj.weight"), self.p(h + "attn.c_proj.bias"))
            a = F.layer_norm(x, (C,), self.p(h + "ln_2.weight"), self.p(h + "ln_2.bias"), eps)
            a = F.gelu(F.linear(a, self.p(h + "mlp.c_fc.weight"), self.p(h + "mlp.c_fc.bias")), approximate="tanh")
            x = x + F.linear(a, self.p(h + "mlp.c_proj.weight"), self.p(h + "mlp.c_proj.bias"))
        x = F.layer_norm(x, (C,), self.p("transformer.ln_f.weight"), self.p("transformer.ln_f.bias"), eps)
        head = self.p("transformer.wte.weight") if m.get("tiedHead") else self.p("lm_head.weight")
        return F.linear(x, head)


# --- data ----------------------------------------------------------------------------------------

LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def utf8(s):
    """Bytes as JavaScript's TextEncoder gives them (a lone surrogate becomes U+FFFD)."""
    return list(LONE_SURROGATE.sub("\ufffd", s).encode("utf-8"))


def encode_pair(prompt, response, block):
    """[BOS] prompt response [EOS] cut to `block` (gshf's encodePairIds) → (ids, response start)."""
    p, r = utf8(prompt), utf8(response) + [EOS]
    if 1 + len(p) >= block:
        p = p[max(0, len(p) - (block - 2)) :]
    ids = ([BOS] + p + r)[:block]
    return ids, 1 + len(p)


def read_pairs(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as e:
                fail(f"{path}:{n}: not JSON ({e})")
            for key in ("prompt", "chosen", "rejected"):
                if not isinstance(row.get(key), str):
                    fail(f"{path}:{n}: field {key!r} must be a string (TRL standard layout)")
            rows.append(row)
    if not rows:
        fail(f"{path}: no pairs")
    return rows


def batch_tensors(seqs, device):
    """Right-padded ids [B, T] and a mask [B, T−1] of the positions whose next token is a response token."""
    T = max(len(ids) for ids, _ in seqs)
    ids = torch.full((len(seqs), T), PAD, dtype=torch.long)
    mask = torch.zeros(len(seqs), T - 1)
    for b, (s, start) in enumerate(seqs):
        ids[b, : len(s)] = torch.tensor(s)
        mask[b, start - 1 : len(s) - 1] = 1.0
    return ids.to(device), mask.to(device)


def seq_logps(model, ids, mask):
    """Σ over response tokens of log π(token | prefix), per sequence [B]."""
    logp = model(ids)[:, :-1].log_softmax(dim=-1)
    tok = logp.gather(2, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    return (tok * mask).sum(dim=1)


def dpo_loss(policy, ref_lp, chosen, rejected, beta):
    pc, pr = seq_logps(policy, *chosen), seq_logps(policy, *rejected)
    margin = beta * ((pc - ref_lp[0]) - (pr - ref_lp[1]))
    return -F.logsigmoid(margin).mean(), margin


# --- training ------------------------------------------------------------------------------------


def parse_args(argv):
    ap = argparse.ArgumentParser(description="DPO trainer for gshf loop (PyTorch)")
    ap.add_argument("--pairs", required=True, help="TRL JSONL pairs (the loop's {pairs})")
    ap.add_argument("--init", required=True, help="policy to start from (gshf checkpoint folder)")
    ap.add_argument("--ref", required=True, help="reference policy π0 (gshf checkpoint folder)")
    ap.add_argument("--out", help="folder to write the trained policy to (required unless --loss-only)")
    ap.add_argument("--beta", type=float, default=0.1, help="DPO β (the loop's η)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=4, help="pairs per step")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto", help="auto (cuda when present), cpu or cuda")
    ap.add_argument("--loss-only", action="store_true", help="print the DPO loss over all pairs at --init and exit")
    a = ap.parse_args(argv)
    if a.beta <= 0 or a.lr <= 0 or a.epochs < 1 or a.batch < 1:
        fail("--beta and --lr must be > 0, --epochs and --batch ≥ 1")
    if not a.loss_only and not a.out:
        fail("--out is required (or pass --loss-only)")
    return a


def main(argv):
    a = parse_args(argv)
    device = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available() else ("cpu" if a.device == "auto" else a.device))
    torch.manual_seed(a.seed)
    init_cfg, init_w = load_checkpoint(a.init)
    ref_cfg, ref_w = load_checkpoint(a.ref)
    if init_cfg["model"] != ref_cfg["model"]:
        fail(f"{a.init} and {a.ref} have different model configs")
    block = init_cfg["model"]["blockSize"]
    pairs = read_pairs(a.pairs)
    chosen = [encode_pair(r["prompt"], r["chosen"], block) for r in pairs]
    rejected = [encode_pair(r["prompt"], r["rejected"], block) for r in pairs]
    policy = GPT(init_cfg["model"]).load(init_w).to(device)
    ref = GPT(ref_cfg["model"]).load(ref_w).to(device)
    with torch.no_grad():
        ref_c = seq_logps(ref, *batch_tensors(chosen, device))
        ref_r = seq_logps(ref, *batch_tensors(rejected, device))

    if a.loss_only:
        with torch.no_grad():
            loss, margin = dpo_loss(policy, (ref_c, ref_r), batch_tensors(chosen, device), batch_tensors(rejected, device), a.beta)
        logps = seq_logps(policy, *batch_tensors(chosen, device)).mean().item()
        print(json.dumps({"loss": loss.item(), "pairs": len(pairs), "margin_mean": margin.mean().item(), "logps_chosen_mean": logps}))
        return

    opt = torch.optim.AdamW(policy.parameters(), lr=a.lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(a.seed)
    step = 0
    for epoch in range(a.epochs):
        order = torch.randperm(len(pairs), generator=gen).tolist()
        for s in range(0, len(order), a.batch):
            idx = order[s : s + a.batch]
            loss, margin = dpo_loss(
                policy,
                (ref_c[idx], ref_r[idx]),
                batch_tensors([chosen[i] for i in idx], device),
                batch_tensors([rejected[i] for i in idx], device),
                a.beta,
            )
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
            opt.step()
            step += 1
            acc = (margin > 0).float().mean().item()
            print(json.dumps({"step": step, "epoch": epoch + 1, "loss": loss.item(), "accuracy": acc}), file=sys.stderr)

    os.makedirs(a.out, exist_ok=True)
    meta = {"trainer": "examples/loop/torch_dpo_trainer.py", "beta": str(a.beta), "steps": str(step), "device": str(device)}
    write_safetensors(os.path.join(a.out, "model.safetensors"), policy.state(), meta)
    cfg = dict(init_cfg)
    cfg["meta"] = {**init_cfg.get("meta", {}), "trainer": meta}
    tmp = os.path.join(a.out, "config.json.tmp")
    with open(tmp, "w") as f:
        json.dump(cfg, f, indent=2)
    os.replace(tmp, os.path.join(a.out, "config.json"))


if __name__ == "__main__":
    main(sys.argv[1:])
