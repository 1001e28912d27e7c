"""Hand-built graphs for operator signatures of opsets 18-21.

Debian's onnx 1.12 test data stops at opset 17 and torch 1.13 exports up to
17, so these signatures are written directly: Reduce* axes as an input,
Split num_outputs, Pad axes, Resize antialias, GroupNormalization, Gelu,
Col2Im, and int4/uint4 tensors (data types 22 and 21, packed two per byte,
low nibble first). Each graph carries weights, so the compression stages
have something to do.
"""
import zlib

import numpy as np
from onnx import TensorProto, helper, numpy_helper

INT4, UINT4 = 22, 21
IR_VERSION = {18: 8, 19: 9, 20: 9, 21: 10}


def weight(name, *shape):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return numpy_helper.from_array((rng.standard_normal(shape) * 0.3).astype(np.float32), name)


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def floats(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.float32), name)


def packed4(name, codes, data_type):
    """A 4-bit tensor: codes (int array) packed two per byte, low nibble first."""
    flat = (np.asarray(codes).reshape(-1) & 0xF).astype(np.uint8)
    if flat.size % 2:
        flat = np.append(flat, 0)
    t = TensorProto()
    t.name, t.data_type = name, data_type
    t.dims.extend(np.asarray(codes).shape)
    t.raw_data = (flat[0::2] | (flat[1::2] << 4)).tobytes()
    return t


def value(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def reduce_axes():
    nodes = [
        helper.make_node("ReduceMean", ["x", "axes_2"], ["mean"], keepdims=1),
        helper.make_node("Sub", ["x", "mean"], ["centred"]),
        helper.make_node("ReduceSum", ["centred", "axes_1"], ["summed"], keepdims=0),
        helper.make_node("MatMul", ["summed", "w"], ["y"]),
        helper.make_node("ReduceMax", ["y", "axes_last"], ["peak"], keepdims=1),
    ]
    inits = [ints("axes_2", [2]), ints("axes_1", [1]), ints("axes_last", [-1]), weight("w", 16, 16)]
    return nodes, inits, [value("x", [2, 8, 16])], [value("y", [2, 16]), value("peak", [2, 1])]


def split():
    nodes = [
        helper.make_node("Split", ["x"], ["a", "b", "c"], axis=2, num_outputs=3),
        helper.make_node("MatMul", ["a", "w"], ["y"]),
    ]
    outs = [value("y", [2, 8, 8]), value("b", [2, 8, 6]), value("c", [2, 8, 4])]
    return nodes, [weight("w", 6, 8)], [value("x", [2, 8, 16])], outs


def pad_axes():
    nodes = [
        helper.make_node("Pad", ["x", "pads", "fill", "axes"], ["padded"], mode="constant"),
        helper.make_node("Conv", ["padded", "w"], ["y"], kernel_shape=[3, 3]),
    ]
    inits = [ints("pads", [1, 2, 1, 2]), floats("fill", 0.5), ints("axes", [2, 3]),
             weight("w", 4, 4, 3, 3)]
    return nodes, inits, [value("x", [1, 4, 8, 8])], [value("y", [1, 4, 8, 10])]


def resize_antialias():
    nodes = [
        helper.make_node("Resize", ["x", "", "scales"], ["linear"], mode="linear", antialias=1),
        helper.make_node("Resize", ["x", "", "scales"], ["cubic"], mode="cubic", antialias=1),
        helper.make_node("Conv", ["linear", "w"], ["y"], kernel_shape=[1, 1]),
    ]
    inits = [floats("scales", [1, 1, 0.5, 0.5]), weight("w", 4, 4, 1, 1)]
    return nodes, inits, [value("x", [1, 4, 16, 16])], [value("y", [1, 4, 8, 8]),
                                                         value("cubic", [1, 4, 8, 8])]


def group_norm():
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("GroupNormalization", ["c", "scale", "bias"], ["y"], num_groups=4,
                         epsilon=1e-5),
    ]
    # Opset 18's scale and bias are per group (opset 21 made them per channel).
    inits = [weight("w", 8, 8, 3, 3), weight("b", 8), floats("scale", [1.0, 0.5, 2.0, 1.5]),
             floats("bias", [0.0, 0.1, -0.1, 0.2])]
    return nodes, inits, [value("x", [1, 8, 6, 6])], [value("y", [1, 8, 6, 6])]


def gelu():
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"]),
        helper.make_node("Gelu", ["h"], ["g"]),
        helper.make_node("MatMul", ["g", "w2"], ["h2"]),
        helper.make_node("Gelu", ["h2"], ["y"], approximate="tanh"),
    ]
    return nodes, [weight("w1", 16, 32), weight("w2", 32, 16)], [value("x", [2, 8, 16])], \
        [value("y", [2, 8, 16])]


def col2im():
    nodes = [
        helper.make_node("Col2Im", ["x", "image", "block"], ["img"]),
        helper.make_node("Conv", ["img", "w"], ["y"], kernel_shape=[1, 1]),
    ]
    inits = [ints("image", [4, 4]), ints("block", [2, 2]), weight("w", 4, 2, 1, 1)]
    return nodes, inits, [value("x", [1, 8, 9])], [value("y", [1, 4, 4, 4])]


def int4():
    rng = np.random.default_rng(4)
    signed = rng.integers(-8, 8, size=(32, 16))
    unsigned = rng.integers(0, 16, size=(32, 16))
    scale = (rng.uniform(0.01, 0.05, size=(2, 16))).astype(np.float32)
    nodes = [
        helper.make_node("DequantizeLinear", ["wq", "ws"], ["w"], axis=0, block_size=16),
        helper.make_node("DequantizeLinear", ["uq", "us", "uz"], ["u"], axis=0, block_size=16),
        helper.make_node("MatMul", ["x", "w"], ["y"]),
        helper.make_node("MatMul", ["x", "u"], ["z"]),
    ]
    inits = [packed4("wq", signed, INT4), numpy_helper.from_array(scale, "ws"),
             packed4("uq", unsigned, UINT4), numpy_helper.from_array(scale * 0.5, "us"),
             packed4("uz", np.full((2, 16), 8), UINT4)]
    return nodes, inits, [value("x", [2, 8, 32])], [value("y", [2, 8, 16]), value("z", [2, 8, 16])]


BUILDERS = {
    "op18_reduce_axes": reduce_axes, "op18_split": split, "op18_pad_axes": pad_axes,
    "op18_resize_antialias": resize_antialias, "op18_groupnorm": group_norm, "op20_gelu": gelu,
    "op18_col2im": col2im, "op21_int4": int4,
}


def build(name, opset):
    nodes, inits, inputs, outputs = BUILDERS[name]()
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="pare-zoo")
    model.ir_version = IR_VERSION[opset]
    return model
