#!/usr/bin/python3
"""Writes a synthetic Llama-shaped decoder with random float16 weights and
external data, for scale tests (quantizing, converting and fitting models
larger than RAM-friendly sizes). Tensors are generated and written one at a
time, so this script's memory stays at about one tensor.

Shape (defaults): vocabulary 32000, width 4096, 34 blocks of RMSNorm,
q/k/v/o projections (32 heads), softmax attention, RMSNorm, SwiGLU MLP
(11008), then a final RMSNorm and an untied output head: 7.1 billion
parameters, 14.3 GB. With --kv-heads below --heads, attention is
grouped-query: k and v project to kv_heads x head_dim and each serves
heads / kv_heads query heads (by MatMul broadcasting). Llama-3-8B's shape:
--vocab 128256 --layers 32 --kv-heads 8 --hidden 14336 (8.03B, 16.1 GB).
With --rope-base, queries and keys get rotary embedding (rotate-half, as
Hugging Face exports it, from cos/sin tables of --context positions) and
attention a causal mask: a complete Llama, which GGUF export and llama.cpp
accept. --float32 writes float32 weights (pare's executor runs those).
Without --rope-base, for scale tests only, there is neither. Input
`tokens` int64 [1, S]; output `logits` float16 (float32 with --float32).
With --kv-cache (needs --rope-base), as decoders exported for generation:
per block, inputs past.N.key and past.N.value [1, kv_heads, 1, P, head_dim]
are concatenated before the new keys and values (outputs present.N.key and
present.N.value), and the rotary tables and mask start at position P.
With --tied-head, the head multiplies by the embedding table transposed
instead of its own weight.

  /usr/bin/python3 scripts/models/make_synthetic_llama.py OUT_DIR [--layers 34 --dim 4096 ...]
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper

ALIGN = 4096


class Writer:
    def __init__(self, folder, data_name):
        self.data_name = data_name
        self.data = open(os.path.join(folder, data_name), 'wb')
        self.initializers = []
        self.parameters = 0

    def add(self, name, array):
        offset = (self.data.tell() + ALIGN - 1) // ALIGN * ALIGN
        self.data.seek(offset)
        self.data.write(array.tobytes())
        t = TensorProto()
        t.name = name
        t.data_type = {np.dtype(np.float16): TensorProto.FLOAT16,
                       np.dtype(np.float32): TensorProto.FLOAT}[array.dtype]
        t.dims.extend(array.shape)
        t.data_location = TensorProto.EXTERNAL
        for key, value in (('location', self.data_name), ('offset', str(offset)),
                           ('length', str(array.nbytes))):
            entry = t.external_data.add()
            entry.key, entry.value = key, value
        self.initializers.append(t)
        self.parameters += array.size
        return name


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('out_dir')
    p.add_argument('--vocab', type=int, default=32000)
    p.add_argument('--dim', type=int, default=4096)
    p.add_argument('--layers', type=int, default=34)
    p.add_argument('--heads', type=int, default=32)
    p.add_argument('--kv-heads', type=int, default=0, help='default: --heads')
    p.add_argument('--hidden', type=int, default=11008)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--rope-base', type=float, default=0.0, help='rotary embedding and a causal mask')
    p.add_argument('--context', type=int, default=2048, help='positions of the rotary tables')
    p.add_argument('--float32', action='store_true', help='float32 weights instead of float16')
    p.add_argument('--kv-cache', action='store_true', help='past key/value inputs, present outputs')
    p.add_argument('--tied-head', action='store_true', help='the head multiplies by the embedding table')
    a = p.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    if a.kv_cache and not a.rope_base:
        p.error('--kv-cache needs --rope-base')
    w = Writer(a.out_dir, 'model.onnx.data')
    d, hd = a.dim, a.dim // a.heads
    kvh = a.kv_heads or a.heads
    group = a.heads // kvh

    dtype = np.float32 if a.float32 else np.float16
    onnx_type = TensorProto.FLOAT if a.float32 else TensorProto.FLOAT16

    def weight(name, shape):
        values = rng.standard_normal(shape, dtype=np.float32) * 0.02
        return w.add(name, values.astype(dtype))

    def ones(name, n):
        return w.add(name, np.ones(n, dtype))

    nodes = []

    def node(op, inputs, output, **attrs):
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    consts = [helper.make_tensor('eps', onnx_type, [], [1e-5]),
              helper.make_tensor('attn_scale', onnx_type, [], [1.0 / np.sqrt(hd)]),
              helper.make_tensor('q_shape', TensorProto.INT64, [5], [0, 0, kvh, group, hd]),
              helper.make_tensor('kv_shape', TensorProto.INT64, [5], [0, 0, kvh, 1, hd]),
              helper.make_tensor('merge_shape', TensorProto.INT64, [3], [0, 0, d])]

    def rms_norm(x, gamma, prefix):
        sq = node('Mul', [x, x], prefix + '.sq')
        mean = node('ReduceMean', [sq], prefix + '.mean', axes=[-1])
        root = node('Sqrt', [node('Add', [mean, 'eps'], prefix + '.eps')], prefix + '.root')
        return node('Mul', [node('Div', [x, root], prefix + '.div'), gamma], prefix + '.out')

    embed = weight('embed.weight', (a.vocab, d))
    x = node('Gather', [embed, 'tokens'], 'h0')
    if a.rope_base:
        # cos/sin [context, hd] (rotate-half layout: the hd/2 angles twice) and a
        # causal mask [context, context], all cut to the sequence length.
        inv = a.rope_base ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)
        angles = np.outer(np.arange(a.context), inv)
        angles = np.concatenate([angles, angles], axis=1)
        w.add('rope.cos', np.cos(angles).astype(dtype))
        w.add('rope.sin', np.sin(angles).astype(dtype))
        w.add('causal_mask', np.triu(np.full((a.context, a.context), -np.inf), 1).astype(dtype))
        consts += [helper.make_tensor('zero', TensorProto.INT64, [1], [0]),
                   helper.make_tensor('one', TensorProto.INT64, [1], [1]),
                   helper.make_tensor('two', TensorProto.INT64, [1], [2]),
                   helper.make_tensor('zeros2', TensorProto.INT64, [2], [0, 0]),
                   helper.make_tensor('axes01', TensorProto.INT64, [2], [0, 1]),
                   helper.make_tensor('half', TensorProto.INT64, [1], [hd // 2]),
                   helper.make_tensor('full', TensorProto.INT64, [1], [hd]),
                   helper.make_tensor('last', TensorProto.INT64, [1], [-1])]
        seq = node('Slice', [node('Shape', ['tokens'], 'tokens.shape'), 'one', 'two'], 'seq_len')
        start, end = 'zero', seq
        if a.kv_cache:  # positions past_len .. past_len + seq
            consts += [helper.make_tensor('three', TensorProto.INT64, [1], [3]),
                       helper.make_tensor('four', TensorProto.INT64, [1], [4])]
            start = node('Slice', [node('Shape', ['past.0.key'], 'past.shape'), 'three', 'four'], 'past_len')
            end = node('Add', [start, seq], 'total_len')
        cos = node('Slice', ['rope.cos', start, end, 'zero'], 'rope.cos.cut')
        sin = node('Slice', ['rope.sin', start, end, 'zero'], 'rope.sin.cut')
        mask = node('Slice', ['causal_mask', node('Concat', [start, 'zero'], 'mask.starts', axis=0),
                              node('Concat', [end, end], 'mask.ends', axis=0), 'axes01'], 'mask')

    def rotary(v, prefix):  # v * cos + rotate_half(v) * sin, on the last axis
        first = node('Slice', [v, 'zero', 'half', 'last'], prefix + '.first')
        second = node('Slice', [v, 'half', 'full', 'last'], prefix + '.second')
        rotated = node('Concat', [node('Neg', [second], prefix + '.neg'), first],
                       prefix + '.rotated', axis=-1)
        return node('Add', [node('Mul', [v, cos], prefix + '.cos'),
                            node('Mul', [rotated, sin], prefix + '.sin')], prefix + '.rope')
    cache_inputs, cache_outputs = [], []
    for l in range(a.layers):
        b = f'layers.{l}'
        n = rms_norm(x, ones(f'{b}.attn_norm.weight', d), f'{b}.attn_norm')
        heads = {}
        # [1, S, kv_heads, group, hd] -> q [1, kvh, group, S, hd], k and v
        # [1, kvh, 1, S, hd]: the size-1 group axis of k and v broadcasts.
        for proj, width, shape in (('q', d, 'q_shape'), ('k', kvh * hd, 'kv_shape'),
                                   ('v', kvh * hd, 'kv_shape')):
            y = node('MatMul', [n, weight(f'{b}.{proj}_proj.weight', (d, width))], f'{b}.{proj}')
            y = node('Reshape', [y, shape], f'{b}.{proj}.heads')
            heads[proj] = node('Transpose', [y], f'{b}.{proj}.t', perm=[0, 2, 3, 1, 4])
            if a.rope_base and proj != 'v':
                heads[proj] = rotary(heads[proj], f'{b}.{proj}')
        if a.kv_cache:
            for proj, io in (('k', 'key'), ('v', 'value')):
                cache_inputs.append(f'past.{l}.{io}')
                heads[proj] = node('Concat', [f'past.{l}.{io}', heads[proj]], f'present.{l}.{io}', axis=3)
                cache_outputs.append(heads[proj])
        keys = node('Transpose', [heads['k']], f'{b}.k.keys', perm=[0, 1, 2, 4, 3])
        scores = node('MatMul', [heads['q'], keys], f'{b}.scores')
        scaled = node('Mul', [scores, 'attn_scale'], f'{b}.scaled')
        if a.rope_base:
            scaled = node('Add', [scaled, mask], f'{b}.masked')
        probs = node('Softmax', [scaled], f'{b}.probs', axis=-1)
        ctx = node('MatMul', [probs, heads['v']], f'{b}.ctx')
        ctx = node('Reshape', [node('Transpose', [ctx], f'{b}.ctx.t', perm=[0, 3, 1, 2, 4]),
                               'merge_shape'], f'{b}.ctx.merged')
        attn = node('MatMul', [ctx, weight(f'{b}.o_proj.weight', (d, d))], f'{b}.attn')
        x = node('Add', [x, attn], f'{b}.res1')
        n = rms_norm(x, ones(f'{b}.ffn_norm.weight', d), f'{b}.ffn_norm')
        gate = node('MatMul', [n, weight(f'{b}.gate_proj.weight', (d, a.hidden))], f'{b}.gate')
        up = node('MatMul', [n, weight(f'{b}.up_proj.weight', (d, a.hidden))], f'{b}.up')
        silu = node('Mul', [gate, node('Sigmoid', [gate], f'{b}.sig')], f'{b}.silu')
        down = node('MatMul', [node('Mul', [silu, up], f'{b}.mix'),
                               weight(f'{b}.down_proj.weight', (a.hidden, d))], f'{b}.down')
        x = node('Add', [x, down], f'h{l + 1}')
        print(f'layer {l + 1}/{a.layers}: {w.parameters / 1e9:.2f}B parameters', flush=True)
    n = rms_norm(x, ones('norm.weight', d), 'final_norm')
    head = node('Transpose', [embed], 'lm_head.tied', perm=[1, 0]) if a.tied_head else \
        weight('lm_head.weight', (d, a.vocab))
    node('MatMul', [n, head], 'logits')
    w.data.close()
    cache_shape = [1, kvh, 1, 'past', hd]
    graph = helper.make_graph(
        nodes, 'synthetic_llama',
        [helper.make_tensor_value_info('tokens', TensorProto.INT64, [1, 'sequence'])] +
        [helper.make_tensor_value_info(n, onnx_type, cache_shape) for n in cache_inputs],
        [helper.make_tensor_value_info('logits', onnx_type, [1, 'sequence', a.vocab])] +
        [helper.make_tensor_value_info(n, onnx_type, [1, kvh, 1, 'total', hd]) for n in cache_outputs],
        initializer=w.initializers)
    for c in consts:
        graph.initializer.append(c)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)],
                              producer_name='pare make_synthetic_llama.py')
    model.ir_version = 8
    with open(os.path.join(a.out_dir, 'model.onnx'), 'wb') as f:
        f.write(model.SerializeToString())
    print(f'{w.parameters} parameters ({w.parameters / 1e9:.2f}B) in {a.out_dir}')


if __name__ == '__main__':
    main()
