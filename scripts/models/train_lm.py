#!/usr/bin/python3
"""Trains pare's own Llama-style byte-level language model and exports it.

The model: byte tokens (vocabulary 256), RMSNorm, rotary attention
(rotate-half) with grouped-query heads, SwiGLU MLP, untied output head.
Trained with Debian's python3-torch on the English text of Debian's
`fortunes` package (the last 5% held out), exported to ONNX opset 17 with one
input `tokens` [1, T] (int64) and one output `logits` [1, T, 256].

Writes to OUT_DIR: model.onnx, heldout.tokens (the held-out bytes as
whitespace-separated integers, for `pare evaluate --task lm --tokens`),
calib.tokens (training bytes for calibration) and train.json (the
configuration and the loss curve).

  /usr/bin/python3 scripts/models/train_lm.py OUT_DIR [--dim 256 --layers 4 --steps 1500]
"""
import argparse
import glob
import json
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def corpus():
    files = sorted(f for f in glob.glob('/usr/share/games/fortunes/*')
                   if '.' not in os.path.basename(f) and os.path.isfile(f))
    if not files:
        raise SystemExit('no text in /usr/share/games/fortunes (install the fortunes package)')
    data = b''.join(open(f, 'rb').read() for f in files)
    return torch.tensor(list(data), dtype=torch.long)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class Block(nn.Module):
    def __init__(self, dim, heads, kv_heads, hidden):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, dim // heads
        self.attn_norm = RMSNorm(dim)
        self.q_proj = nn.Linear(dim, dim, bias=False)
        self.k_proj = nn.Linear(dim, kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(dim, kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(dim, dim, bias=False)
        self.ffn_norm = RMSNorm(dim)
        self.gate_proj = nn.Linear(dim, hidden, bias=False)
        self.up_proj = nn.Linear(dim, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, dim, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        h = self.attn_norm(x)
        q = self.q_proj(h).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(h).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(h).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        group = self.heads // self.kv_heads
        k = k[:, :, None].expand(b, self.kv_heads, group, t, self.head_dim).reshape(
            b, self.heads, t, self.head_dim)
        v = v[:, :, None].expand(b, self.kv_heads, group, t, self.head_dim).reshape(
            b, self.heads, t, self.head_dim)
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim) + mask
        attn = torch.softmax(scores, dim=-1) @ v
        x = x + self.o_proj(attn.transpose(1, 2).reshape(b, t, -1))
        h = self.ffn_norm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class ByteLlama(nn.Module):
    def __init__(self, dim, layers, heads, kv_heads, hidden, context, rope_base=10000.0):
        super().__init__()
        self.embed = nn.Embedding(256, dim)
        self.blocks = nn.ModuleList(Block(dim, heads, kv_heads, hidden) for _ in range(layers))
        self.norm = RMSNorm(dim)
        self.head = nn.Linear(dim, 256, bias=False)
        head_dim = dim // heads
        inv = 1.0 / rope_base ** (torch.arange(0, head_dim, 2).float() / head_dim)
        angles = torch.outer(torch.arange(context).float(), inv)
        angles = torch.cat([angles, angles], dim=-1)
        self.register_buffer('cos', angles.cos(), persistent=False)
        self.register_buffer('sin', angles.sin(), persistent=False)
        causal = torch.full((context, context), float('-inf')).triu(1)
        self.register_buffer('mask', causal, persistent=False)

    def forward(self, tokens):
        t = tokens.shape[1]
        x = self.embed(tokens)
        cos, sin, mask = self.cos[:t], self.sin[:t], self.mask[:t, :t]
        for block in self.blocks:
            x = block(x, cos, sin, mask)
        return self.head(self.norm(x))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('out_dir')
    p.add_argument('--dim', type=int, default=256)
    p.add_argument('--layers', type=int, default=4)
    p.add_argument('--heads', type=int, default=4)
    p.add_argument('--kv-heads', type=int, default=2)
    p.add_argument('--hidden', type=int, default=704)
    p.add_argument('--context', type=int, default=128)
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--steps', type=int, default=1500)
    p.add_argument('--lr', type=float, default=3e-3)
    p.add_argument('--seed', type=int, default=0)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    data = corpus()
    split = int(len(data) * 0.95)
    train, heldout = data[:split], data[split:]
    model = ByteLlama(a.dim, a.layers, a.heads, a.kv_heads, a.hidden, a.context)
    params = sum(p.numel() for p in model.parameters())
    print(f'{params} parameters; {len(train)} training bytes, {len(heldout)} held out', flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.1, betas=(0.9, 0.95))
    warmup = max(a.steps // 20, 1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, 0.5 * (1 + math.cos(math.pi * s / a.steps))))
    curve, start = [], time.time()
    for step in range(a.steps):
        idx = torch.randint(0, len(train) - a.context - 1, (a.batch,))
        x = torch.stack([train[i:i + a.context] for i in idx])
        y = torch.stack([train[i + 1:i + a.context + 1] for i in idx])
        loss = F.cross_entropy(model(x).reshape(-1, 256), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 100 == 0 or step == a.steps - 1:
            curve.append([step, loss.item()])
            print(f'step {step} loss {loss.item():.3f} ({time.time() - start:.0f} s)', flush=True)
    model.eval()
    with torch.no_grad():
        chunks = heldout[:len(heldout) // a.context * a.context].view(-1, a.context + 0)
        losses = [F.cross_entropy(model(c[None, :-1]).reshape(-1, 256), c[1:]).item()
                  for c in chunks[:64]]
    heldout_loss = sum(losses) / len(losses)
    print(f'held-out loss {heldout_loss:.3f} nats/byte (perplexity {math.exp(heldout_loss):.2f})')
    os.makedirs(a.out_dir, exist_ok=True)
    tmp = os.path.join(a.out_dir, 'model.onnx.tmp')
    torch.onnx.export(model, torch.zeros(1, 16, dtype=torch.long), tmp, opset_version=17,
                      input_names=['tokens'], output_names=['logits'],
                      dynamic_axes={'tokens': {1: 'sequence'}, 'logits': {1: 'sequence'}})
    os.replace(tmp, os.path.join(a.out_dir, 'model.onnx'))
    # The state dict lets the model zoo carry these weights in other export forms.
    torch.save(model.state_dict(), os.path.join(a.out_dir, 'weights.pt'))
    with open(os.path.join(a.out_dir, 'heldout.tokens'), 'w') as f:
        f.write(' '.join(str(int(b)) for b in heldout) + '\n')
    with open(os.path.join(a.out_dir, 'calib.tokens'), 'w') as f:
        f.write(' '.join(str(int(b)) for b in train[:64 * a.context]) + '\n')
    config = dict(vars(a), parameters=params, heldout_loss=heldout_loss, curve=curve,
                  corpus='Debian package fortunes, /usr/share/games/fortunes',
                  seconds=time.time() - start)
    with open(os.path.join(a.out_dir, 'train.json'), 'w') as f:
        json.dump(config, f, indent=1)


if __name__ == '__main__':
    main()
