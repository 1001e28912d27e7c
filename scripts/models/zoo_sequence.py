"""Sequence models of the zoo: recurrent nets, a BERT-style encoder, a GPT-2-style decoder.

Written with torch.nn the way their reference implementations are, so the
exports carry the same operator spellings: LSTM/GRU nodes, erf GELU and
LayerNorm in BERT, tanh GELU, a causal mask and a tied head in GPT-2.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Recurrent(nn.Module):
    def __init__(self, kind):
        super().__init__()
        if kind == "lstm":
            self.rnn = nn.LSTM(24, 32, num_layers=2, batch_first=True, bidirectional=True)
            self.head = nn.Linear(64, 10)
        else:
            self.rnn = nn.GRU(24, 32, batch_first=True)
            self.head = nn.Linear(32, 10)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y)


class SelfAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.query, self.key, self.value = (nn.Linear(dim, dim) for _ in range(3))
        self.out = nn.Linear(dim, dim)

    def split(self, x):
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x, mask):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim) + mask
        y = torch.softmax(scores, dim=-1) @ v
        return self.out(y.transpose(1, 2).reshape(x.shape))


class BertLayer(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.attention = SelfAttention(dim, heads)
        self.attention_norm = nn.LayerNorm(dim, eps=1e-12)
        self.intermediate = nn.Linear(dim, 4 * dim)
        self.output = nn.Linear(4 * dim, dim)
        self.output_norm = nn.LayerNorm(dim, eps=1e-12)

    def forward(self, x, mask):
        x = self.attention_norm(x + self.attention(x, mask))
        return self.output_norm(x + self.output(F.gelu(self.intermediate(x))))


class Bert(nn.Module):
    def __init__(self, vocab=512, dim=64, heads=4, layers=2, context=64):
        super().__init__()
        self.word = nn.Embedding(vocab, dim)
        self.position = nn.Embedding(context, dim)
        self.token_type = nn.Embedding(2, dim)
        self.norm = nn.LayerNorm(dim, eps=1e-12)
        self.layers = nn.ModuleList(BertLayer(dim, heads) for _ in range(layers))
        self.pooler = nn.Linear(dim, dim)
        self.register_buffer("position_ids", torch.arange(context)[None], persistent=False)

    def forward(self, input_ids, attention_mask):
        t = input_ids.shape[1]
        x = self.word(input_ids) + self.position(self.position_ids[:, :t])
        x = self.norm(x + self.token_type(torch.zeros_like(input_ids)))
        mask = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, mask)
        return torch.tanh(self.pooler(x))


class Gpt2Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.c_attn = nn.Linear(dim, 3 * dim)  # fused qkv, as GPT-2's Conv1D is
        self.c_proj = nn.Linear(dim, dim)
        self.c_fc, self.mlp_proj = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

    def forward(self, x, bias):
        b, t, d = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
        q, k, v = (y.view(b, t, self.heads, d // self.heads).transpose(1, 2) for y in (q, k, v))
        w = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads)
        w = torch.where(bias[:, :, :t, :t], w, torch.tensor(torch.finfo(w.dtype).min))
        y = (torch.softmax(w, dim=-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt2(nn.Module):
    def __init__(self, vocab=512, dim=64, heads=4, layers=2, context=64):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, dim), nn.Embedding(context, dim)
        self.h = nn.ModuleList(Gpt2Block(dim, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(dim)
        bias = torch.tril(torch.ones(context, context, dtype=torch.bool))[None, None]
        self.register_buffer("bias", bias, persistent=False)

    def forward(self, input_ids):
        t = input_ids.shape[1]
        x = self.wte(input_ids) + self.wpe(torch.arange(t)[None])
        for block in self.h:
            x = block(x, self.bias)
        return self.ln_f(x) @ self.wte.weight.t()


def build(name):
    if name in ("lstm", "gru"):
        return Recurrent(name)
    if name == "bert":
        return Bert()
    if name == "gpt2":
        return Gpt2()
    raise KeyError(name)
