#!/usr/bin/env python3
"""PyTorch reference for gshf's Hugging Face model support (test/nn/hf-parity.test.ts runs it).

`transformers` is not available on Debian, so this file carries minimal re-implementations of the
forward passes of GPT2LMHeadModel and LlamaForCausalLM / Qwen2ForCausalLM / Qwen3ForCausalLM /
MistralForCausalLM, written to follow Hugging Face's modelling code (same parameter names and
shapes, Conv1D for GPT-2, RMSNorm in float32, rotate-half RoPE with the llama3 / linear rescaling of
the inverse frequencies, repeat_kv for grouped-query attention, Qwen3's per-head q/k norm). Safetensors
files are read and written by hand (the `safetensors` package is not installed either).

Commands (all I/O in files, one JSON line on stdout):
  make <dir> <spec.json>          random checkpoint folder in the HF layout (config.json,
                                  model.safetensors, tokenizer.json copied from spec["tokenizer"])
  run <dir> <inputs.json> <out>   logits, per-token log-probs and the gradient of
                                  L = sum_b w_b * sum_t mask[b,t] * logp[b,t] for every parameter,
                                  written to <out> (safetensors, float32)
"""
import json
import math
import shutil
import struct
import sys

import torch

torch.set_num_threads(1)

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
NAMES = {v: k for k, v in DTYPES.items()}


# ---------------------------------------------------------------- safetensors


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[base + a : base + b]), dtype=DTYPES[e["dtype"]])
        out[name] = t.reshape(e["shape"]).clone()
    return out


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------- GPT-2 (modeling_gpt2.py)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def conv1d(x, w, b):
    # transformers.pytorch_utils.Conv1D: weight [in, out]
    return torch.addmm(b, x.reshape(-1, x.shape[-1]), w).reshape(*x.shape[:-1], w.shape[1])


def gpt2_forward(cfg, p, ids):
    B, T = ids.shape
    C, H = cfg["n_embd"], cfg["n_head"]
    hd = C // H
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    pre = "transformer." if "transformer.wte.weight" in p else ""
    x = p[pre + "wte.weight"][ids] + p[pre + "wpe.weight"][torch.arange(T)]
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for l in range(cfg["n_layer"]):
        h = f"{pre}h.{l}."
        a = torch.nn.functional.layer_norm(x, (C,), p[h + "ln_1.weight"], p[h + "ln_1.bias"], eps)
        q, k, v = conv1d(a, p[h + "attn.c_attn.weight"], p[h + "attn.c_attn.bias"]).split(C, dim=2)
        q, k, v = (t.view(B, T, H, hd).transpose(1, 2) for t in (q, k, v))
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
        w = torch.where(mask, w, torch.tensor(torch.finfo(w.dtype).min))
        y = torch.matmul(torch.softmax(w, dim=-1), v).transpose(1, 2).reshape(B, T, C)
        x = x + conv1d(y, p[h + "attn.c_proj.weight"], p[h + "attn.c_proj.bias"])
        a = torch.nn.functional.layer_norm(x, (C,), p[h + "ln_2.weight"], p[h + "ln_2.bias"], eps)
        m = gelu_new(conv1d(a, p[h + "mlp.c_fc.weight"], p[h + "mlp.c_fc.bias"]))
        x = x + conv1d(m, p[h + "mlp.c_proj.weight"], p[h + "mlp.c_proj.bias"])
    x = torch.nn.functional.layer_norm(x, (C,), p[pre + "ln_f.weight"], p[pre + "ln_f.bias"], eps)
    head = p["lm_head.weight"] if "lm_head.weight" in p and not cfg.get("tie_word_embeddings", True) else p[pre + "wte.weight"]
    return x @ head.t()


# ---------------------------------------------------------------- Llama family (modeling_llama.py, qwen2/3, mistral)


def rms_norm(x, w, eps):
    # LlamaRMSNorm / Qwen2RMSNorm: float32 variance, weight * normalised
    x32 = x.to(torch.float32)
    var = x32.pow(2).mean(-1, keepdim=True)
    return w * (x32 * torch.rsqrt(var + eps)).to(x.dtype)


def inv_freq(cfg, hd):
    base = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (base ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    rs = cfg.get("rope_scaling")
    if not rs:
        return inv
    kind = rs.get("rope_type", rs.get("type"))
    if kind == "default":
        return inv
    if kind == "linear":
        return inv / rs["factor"]
    if kind == "llama3":  # modeling_rope_utils._compute_llama3_parameters
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wave, high_wave = old / lo, old / hi
        wavelen = 2 * math.pi / inv
        out = torch.where(wavelen > low_wave, inv / factor, inv)
        smooth = (old / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * out / factor + smooth * out
        medium = ~(wavelen < high_wave) * ~(wavelen > low_wave)
        return torch.where(medium, smoothed, out)
    raise SystemExit(f"rope_scaling {kind} not in the reference")


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def llama_forward(cfg, p, ids):
    fam = cfg["model_type"]
    B, T = ids.shape
    C, H = cfg["hidden_size"], cfg["num_attention_heads"]
    KVH = cfg.get("num_key_value_heads", H)
    hd = cfg.get("head_dim") or C // H
    eps = cfg.get("rms_norm_eps", 1e-6)
    inv = inv_freq(cfg, hd)
    freqs = torch.arange(T, dtype=torch.float32)[:, None] * inv[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    x = p["model.embed_tokens.weight"][ids]

    def lin(name, t):
        b = p.get(name + ".bias")
        return torch.nn.functional.linear(t, p[name + ".weight"], b)

    for l in range(cfg["num_hidden_layers"]):
        pre = f"model.layers.{l}."
        a = rms_norm(x, p[pre + "input_layernorm.weight"], eps)
        q = lin(pre + "self_attn.q_proj", a).view(B, T, H, hd)
        k = lin(pre + "self_attn.k_proj", a).view(B, T, KVH, hd)
        v = lin(pre + "self_attn.v_proj", a).view(B, T, KVH, hd)
        if fam == "qwen3":
            q = rms_norm(q, p[pre + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, p[pre + "self_attn.k_norm.weight"], eps)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KVH, dim=1)  # repeat_kv
        v = v.repeat_interleave(H // KVH, dim=1)
        w = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(hd)
        w = torch.where(mask, w, torch.tensor(torch.finfo(w.dtype).min))
        w = torch.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
        y = torch.matmul(w, v).transpose(1, 2).reshape(B, T, H * hd)
        x = x + lin(pre + "self_attn.o_proj", y)
        a = rms_norm(x, p[pre + "post_attention_layernorm.weight"], eps)
        g = lin(pre + "mlp.gate_proj", a)
        x = x + lin(pre + "mlp.down_proj", torch.nn.functional.silu(g) * lin(pre + "mlp.up_proj", a))
    x = rms_norm(x, p["model.norm.weight"], eps)
    head = p["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else p["lm_head.weight"]
    return x @ head.t()


def forward(cfg, p, ids):
    return gpt2_forward(cfg, p, ids) if cfg["model_type"] == "gpt2" else llama_forward(cfg, p, ids)


# ---------------------------------------------------------------- random checkpoints


def llama_shapes(cfg):
    fam = cfg["model_type"]
    C, H, V, I = cfg["hidden_size"], cfg["num_attention_heads"], cfg["vocab_size"], cfg["intermediate_size"]
    KVH = cfg.get("num_key_value_heads", H)
    hd = cfg.get("head_dim") or C // H
    bias_qkv = fam == "qwen2" or cfg.get("attention_bias", False)
    bias_o = fam != "qwen2" and cfg.get("attention_bias", False)
    bias_mlp = cfg.get("mlp_bias", False)
    s = {"model.embed_tokens.weight": [V, C], "model.norm.weight": [C]}
    for l in range(cfg["num_hidden_layers"]):
        pre = f"model.layers.{l}."
        s[pre + "input_layernorm.weight"] = [C]
        s[pre + "post_attention_layernorm.weight"] = [C]
        for n, o in (("q", H * hd), ("k", KVH * hd), ("v", KVH * hd)):
            s[pre + f"self_attn.{n}_proj.weight"] = [o, C]
            if bias_qkv:
                s[pre + f"self_attn.{n}_proj.bias"] = [o]
        s[pre + "self_attn.o_proj.weight"] = [C, H * hd]
        if bias_o:
            s[pre + "self_attn.o_proj.bias"] = [C]
        if fam == "qwen3":
            s[pre + "self_attn.q_norm.weight"] = [hd]
            s[pre + "self_attn.k_norm.weight"] = [hd]
        for n, sh in (("gate", [I, C]), ("up", [I, C]), ("down", [C, I])):
            s[pre + f"mlp.{n}_proj.weight"] = sh
            if bias_mlp:
                s[pre + f"mlp.{n}_proj.bias"] = [sh[0]]
    if not cfg.get("tie_word_embeddings", False):
        s["lm_head.weight"] = [V, C]
    return s


def gpt2_shapes(cfg):
    C, V = cfg["n_embd"], cfg["vocab_size"]
    s = {"wte.weight": [V, C], "wpe.weight": [cfg["n_positions"], C], "ln_f.weight": [C], "ln_f.bias": [C]}
    for l in range(cfg["n_layer"]):
        h = f"h.{l}."
        s.update({h + "ln_1.weight": [C], h + "ln_1.bias": [C], h + "ln_2.weight": [C], h + "ln_2.bias": [C]})
        s.update({h + "attn.c_attn.weight": [C, 3 * C], h + "attn.c_attn.bias": [3 * C]})
        s.update({h + "attn.c_proj.weight": [C, C], h + "attn.c_proj.bias": [C]})
        s.update({h + "mlp.c_fc.weight": [C, 4 * C], h + "mlp.c_fc.bias": [4 * C]})
        s.update({h + "mlp.c_proj.weight": [4 * C, C], h + "mlp.c_proj.bias": [C]})
    if not cfg.get("tie_word_embeddings", True):
        s["lm_head.weight"] = [V, C]
    return s


def make(folder, spec):
    cfg = spec["config"]
    g = torch.Generator().manual_seed(spec.get("seed", 0))
    shapes = gpt2_shapes(cfg) if cfg["model_type"] == "gpt2" else llama_shapes(cfg)
    tensors = {}
    for name, shape in shapes.items():
        if len(shape) == 1:  # norms around 1, biases around 0 (non-trivial so gradients see them)
            base = 1.0 if "norm" in name or "ln_" in name else 0.0
            t = base + 0.2 * torch.randn(shape, generator=g)
        else:
            t = spec.get("std", 0.2) * torch.randn(shape, generator=g)
        tensors[name] = t.to(DTYPES[spec.get("dtype", "F32")])
    if cfg["model_type"] == "gpt2":  # the causal-mask buffer older checkpoints carry
        n = cfg["n_positions"]
        tensors["h.0.attn.bias"] = torch.tril(torch.ones(n, n)).view(1, 1, n, n)
    shards = spec.get("shards", 1)
    if shards == 1:
        write_safetensors(f"{folder}/model.safetensors", tensors)
    else:
        names = list(tensors)
        weight_map = {}
        for i in range(shards):
            part = names[i::shards]
            fn = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
            write_safetensors(f"{folder}/{fn}", {n: tensors[n] for n in part})
            weight_map.update({n: fn for n in part})
        with open(f"{folder}/model.safetensors.index.json", "w") as f:
            json.dump({"metadata": {}, "weight_map": weight_map}, f)
    with open(f"{folder}/config.json", "w") as f:
        json.dump(cfg, f, indent=2)
    if spec.get("tokenizer"):
        shutil.copy(spec["tokenizer"], f"{folder}/tokenizer.json")
    if spec.get("tokenizer_config"):
        with open(f"{folder}/tokenizer_config.json", "w") as f:
            json.dump(spec["tokenizer_config"], f)
    print(json.dumps({"tensors": len(tensors)}))


def load_folder(folder):
    with open(f"{folder}/config.json") as f:
        cfg = json.load(f)
    try:
        with open(f"{folder}/model.safetensors.index.json") as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    except FileNotFoundError:
        files = ["model.safetensors"]
    p = {}
    for fn in files:
        p.update(read_safetensors(f"{folder}/{fn}"))
    p = {k: v.float() for k, v in p.items() if not k.endswith(".attn.bias") and not k.endswith(".attn.masked_bias")}
    return cfg, p


def run(folder, inputs_path, out_path):
    cfg, p = load_folder(folder)
    with open(inputs_path) as f:
        inp = json.load(f)
    B, T = inp["B"], inp["T"]
    ids = torch.tensor(inp["tokens"], dtype=torch.int64).view(B, T)
    mask = torch.tensor(inp["mask"], dtype=torch.float32).view(B, T)
    w = torch.tensor(inp["weights"], dtype=torch.float32)
    for t in p.values():
        t.requires_grad_(True)
    logits = forward(cfg, p, ids)
    logp = torch.log_softmax(logits.float(), dim=-1)
    tok = torch.zeros(B, T)
    tok[:, 1:] = logp[:, :-1].gather(-1, ids[:, 1:, None])[..., 0]
    tok = tok * (mask != 0)
    loss = (w[:, None] * mask * tok).sum()
    loss.backward()
    out = {"logits": logits.detach().reshape(B * T, -1), "token_logprobs": tok.detach().reshape(-1)}
    for k, v in p.items():
        out["grad." + k] = v.grad if v.grad is not None else torch.zeros_like(v)
    write_safetensors(out_path, out)
    print(json.dumps({"loss": float(loss)}))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "make":
        with open(sys.argv[3]) as f:
            make(sys.argv[2], json.load(f))
    elif cmd == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        raise SystemExit(f"unknown command {cmd}")
