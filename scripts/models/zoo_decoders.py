"""Decoders written the way Hugging Face transformers writes them.

Llama/Mistral, Qwen2, Qwen3, Gemma and Phi-3 share one module with switches for
what differs between them, so the exported graphs differ only where the real
architectures do: rotary cos/sin computed from `inv_freq` and `position_ids`,
the causal mask built from `attention_mask`, `past_key_values.N.key/value` in
and `present.N.key/value` out, as Optimum exports them.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, dim, offset, eps=1e-6):
        super().__init__()
        self.eps, self.offset = eps, offset  # Gemma scales by (1 + w), w initialised at 0
        self.weight = nn.Parameter(torch.zeros(dim) if offset else torch.ones(dim))

    def forward(self, x):
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return x * (1.0 + self.weight) if self.offset else x * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def repeat_kv(x, groups):
    if groups == 1:
        return x
    b, kv, t, d = x.shape
    return x[:, :, None, :, :].expand(b, kv, groups, t, d).reshape(b, kv * groups, t, d)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads, self.kv_heads = c["heads"], c["kv_heads"]
        self.head_dim = c["dim"] // c["heads"]
        self.fused = c["family"] == "phi3"
        q, kv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        if self.fused:
            self.qkv_proj = nn.Linear(c["dim"], q + 2 * kv, bias=False)
        else:
            bias = c["family"] == "qwen2"
            self.q_proj = nn.Linear(c["dim"], q, bias=bias)
            self.k_proj = nn.Linear(c["dim"], kv, bias=bias)
            self.v_proj = nn.Linear(c["dim"], kv, bias=bias)
        self.o_proj = nn.Linear(q, c["dim"], bias=False)
        self.qk_norm = c["family"] == "qwen3"  # RMSNorm of each head of q and k
        if self.qk_norm:
            self.q_norm = RMSNorm(self.head_dim, False)
            self.k_norm = RMSNorm(self.head_dim, False)

    def forward(self, x, cos, sin, mask, past):
        b, t, _ = x.shape
        if self.fused:
            q_size, kv_size = self.heads * self.head_dim, self.kv_heads * self.head_dim
            qkv = self.qkv_proj(x)
            q = qkv[..., :q_size]
            k = qkv[..., q_size:q_size + kv_size]
            v = qkv[..., q_size + kv_size:]
        else:
            q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        q = q.view(b, t, self.heads, self.head_dim)
        k = k.view(b, t, self.kv_heads, self.head_dim)
        if self.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        v = v.view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat((past[0], k), dim=2)
            v = torch.cat((past[1], v), dim=2)
        present = (k, v)
        groups = self.heads // self.kv_heads
        k, v = repeat_kv(k, groups), repeat_kv(v, groups)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim) + mask
        probs = F.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, -1)
        return self.o_proj(out), present


class Mlp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.family = c["family"]
        if self.family == "phi3":
            self.gate_up_proj = nn.Linear(c["dim"], 2 * c["hidden"], bias=False)
        else:
            self.gate_proj = nn.Linear(c["dim"], c["hidden"], bias=False)
            self.up_proj = nn.Linear(c["dim"], c["hidden"], bias=False)
        self.down_proj = nn.Linear(c["hidden"], c["dim"], bias=False)

    def forward(self, x):
        if self.family == "phi3":
            gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        else:
            gate, up = self.gate_proj(x), self.up_proj(x)
        act = F.gelu(gate, approximate="tanh") if self.family == "gemma" else F.silu(gate)
        return self.down_proj(act * up)


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        offset = c["family"] == "gemma"
        self.input_layernorm = RMSNorm(c["dim"], offset)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c["dim"], offset)
        self.mlp = Mlp(c)

    def forward(self, x, cos, sin, mask, past):
        h, present = self.self_attn(self.input_layernorm(x), cos, sin, mask, past)
        x = x + h
        return x + self.mlp(self.post_attention_layernorm(x)), present


class Decoder(nn.Module):
    """input_ids, attention_mask, position_ids[, past...] -> logits, present..."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c["vocab"], c["dim"])
        self.layers = nn.ModuleList(Layer(c) for _ in range(c["layers"]))
        self.norm = RMSNorm(c["dim"], c["family"] == "gemma")
        self.tied = c["family"] == "gemma"
        if not self.tied:
            self.lm_head = nn.Linear(c["dim"], c["vocab"], bias=False)
        head_dim = c["dim"] // c["heads"]
        inv_freq = 1.0 / (c.get("rope_theta", 10000.0) **
                          (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def rotary(self, position_ids):
        freqs = position_ids[:, :, None].float() * self.inv_freq[None, None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos()[:, None], emb.sin()[:, None]

    def causal_mask(self, attention_mask, t):
        total = attention_mask.shape[1]
        past = total - t
        q_pos = torch.arange(t, device=attention_mask.device)[:, None] + past
        k_pos = torch.arange(total, device=attention_mask.device)[None, :]
        blocked = (k_pos > q_pos)[None, None] | (attention_mask[:, None, None, :] == 0)
        return torch.where(blocked, torch.tensor(torch.finfo(torch.float32).min), torch.tensor(0.0))

    def forward(self, input_ids, attention_mask, position_ids, *past_flat):
        x = self.embed_tokens(input_ids)
        if self.c["family"] == "gemma":
            x = x * torch.tensor(math.sqrt(self.c["dim"]), dtype=x.dtype)
        cos, sin = self.rotary(position_ids)
        mask = self.causal_mask(attention_mask, input_ids.shape[1])
        presents = []
        for i, layer in enumerate(self.layers):
            past = (past_flat[2 * i], past_flat[2 * i + 1]) if past_flat else None
            x, present = layer(x, cos, sin, mask, past)
            presents.extend(present)
        x = self.norm(x)
        logits = x @ self.embed_tokens.weight.t() if self.tied else self.lm_head(x)
        return (logits, *presents)


def load_trained_lm(model, state):
    """Copies pare's trained ByteLlama (scripts/models/train_lm.py) into the HF layout."""
    mapping = {"embed.weight": "embed_tokens.weight", "norm.weight": "norm.weight",
               "head.weight": "lm_head.weight"}
    names = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
             "q_proj": "self_attn.q_proj", "k_proj": "self_attn.k_proj",
             "v_proj": "self_attn.v_proj", "o_proj": "self_attn.o_proj",
             "gate_proj": "mlp.gate_proj", "up_proj": "mlp.up_proj", "down_proj": "mlp.down_proj"}
    converted = {}
    for key, value in state.items():
        if key in mapping:
            converted[mapping[key]] = value
            continue
        _, layer, part, leaf = key.split(".")
        converted[f"layers.{layer}.{names[part]}.{leaf}"] = value
    model.load_state_dict(converted, strict=True)


def export(model, path, opset, seq, past_len=0):
    c = model.c
    head_dim = c["dim"] // c["heads"]
    ids = torch.randint(0, c["vocab"], (1, seq))
    mask = torch.ones(1, past_len + seq, dtype=torch.long)
    pos = torch.arange(past_len, past_len + seq)[None]
    args = [ids, mask, pos]
    inputs = ["input_ids", "attention_mask", "position_ids"]
    outputs = ["logits"]
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"},
            "logits": {0: "batch_size", 1: "sequence_length"}}
    for i in range(c["layers"]):
        for kind in ("key", "value"):
            if past_len:
                name = f"past_key_values.{i}.{kind}"
                args.append(torch.randn(1, c["kv_heads"], past_len, head_dim))
                inputs.append(name)
                axes[name] = {0: "batch_size", 2: "past_sequence_length"}
            outputs.append(f"present.{i}.{kind}")
            axes[outputs[-1]] = {0: "batch_size", 2: "total_sequence_length"}
    torch.onnx.export(model, tuple(args), path, opset_version=opset, input_names=inputs,
                      output_names=outputs, dynamic_axes=axes, do_constant_folding=True)
