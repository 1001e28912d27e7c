"""Float32 -> float16 conversion of an exported graph, as users' converters do it.

Weights (initializers and Constant nodes), Cast targets and ConstantOfShape
values become float16; graph inputs and outputs stay float32 behind Cast
nodes (onnxconverter-common's keep_io_types). Values beyond float16's range
are clamped to +-65504 so that masks built from finfo(float32).min stay
finite. Resize's roi and scales stay float32, as the operator requires.
"""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FP16_MAX = 65504.0
FLOAT32_ONLY_INPUTS = {"Resize": (1, 2), "Upsample": (1,)}


def to_half(tensor):
    array = numpy_helper.to_array(tensor)
    half = np.clip(array, -FP16_MAX, FP16_MAX).astype(np.float16)
    out = numpy_helper.from_array(half, tensor.name)
    return out


def float32_only_names(graph):
    names = set()
    for node in graph.node:
        for index in FLOAT32_ONLY_INPUTS.get(node.op_type, ()):
            if index < len(node.input) and node.input[index]:
                names.add(node.input[index])
    return names


def convert_graph(graph):
    keep = float32_only_names(graph)
    for i, init in enumerate(graph.initializer):
        if init.data_type == TensorProto.FLOAT and init.name not in keep:
            graph.initializer[i].CopyFrom(to_half(init))
    for node in graph.node:
        for attr in node.attribute:
            if node.op_type == "Constant" and attr.name == "value" and \
                    attr.t.data_type == TensorProto.FLOAT and node.output[0] not in keep:
                attr.t.CopyFrom(to_half(attr.t))
            if node.op_type == "ConstantOfShape" and attr.name == "value" and \
                    attr.t.data_type == TensorProto.FLOAT:
                attr.t.CopyFrom(to_half(attr.t))
            if node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT:
                attr.i = TensorProto.FLOAT16
            if attr.type == onnx.AttributeProto.GRAPH:
                convert_graph(attr.g)
    del graph.value_info[:]


def convert(model):
    graph = model.graph
    convert_graph(graph)
    casts = []
    for value in graph.input:
        if value.type.tensor_type.elem_type != TensorProto.FLOAT:
            continue
        half = value.name + "_fp16"
        for node in graph.node:
            for i, name in enumerate(node.input):
                if name == value.name:
                    node.input[i] = half
        casts.append(helper.make_node("Cast", [value.name], [half], to=TensorProto.FLOAT16))
    tails = []
    for value in graph.output:
        if value.type.tensor_type.elem_type != TensorProto.FLOAT:
            continue
        half = value.name + "_fp16"
        for node in graph.node:  # the producer and any reader inside the graph
            for i, name in enumerate(node.output):
                if name == value.name:
                    node.output[i] = half
            for i, name in enumerate(node.input):
                if name == value.name:
                    node.input[i] = half
        tails.append(helper.make_node("Cast", [half], [value.name], to=TensorProto.FLOAT))
    nodes = casts + list(graph.node) + tails
    del graph.node[:]
    graph.node.extend(nodes)
    return model
