#!/usr/bin/python3
"""Builds pare's model zoo: seeded exports of the architectures users bring.

Every model is made here from Debian's python3-torch and python3-torchvision
(torch.onnx.export, as a user's exporter would) or, for the operator
signatures of opsets 18-21 that the exporter cannot write, by onnx.helper.
Nothing is downloaded. The catalog (names, opsets, inputs) is
scripts/models/zoo_catalog.py.

usage: zoo.py OUT_DIR [--only NAME ...] [--lm-weights PT]
  -> OUT_DIR/NAME/model.onnx (+ model.onnx.data for external data), OUT_DIR/zoo.json
Skips models whose folder already holds the same build stamp.
"""
import argparse
import hashlib
import json
import os
import pathlib
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import zoo_catalog  # noqa: E402


def vision_module(name):
    import torchvision.models as tvm
    from torchvision.models import convnext, efficientnet, regnet, resnet, swin_transformer
    from torchvision.models import vision_transformer
    from torchvision.models.segmentation import deeplabv3

    if name == "resnet":
        return resnet.ResNet(resnet.BasicBlock, [1, 1, 1, 1], num_classes=100)
    if name == "mobilenet_v3":
        return tvm.mobilenet_v3_small(width_mult=0.5, num_classes=100)
    if name == "mobilenet_v2":
        return tvm.mobilenet_v2(width_mult=0.35, num_classes=100)
    if name == "efficientnet":
        setting, last = efficientnet._efficientnet_conf("efficientnet_b0", width_mult=0.25,
                                                        depth_mult=0.25)
        return efficientnet.EfficientNet(setting, 0.2, last_channel=last, num_classes=100)
    if name == "regnet":
        params = regnet.BlockParams.from_init_params(depth=6, w_0=16, w_a=8.0, w_m=2.0,
                                                     group_width=8)
        return regnet.RegNet(params, num_classes=100)
    if name == "shufflenet":
        return tvm.shufflenet_v2_x0_5(num_classes=100)
    if name == "squeezenet":
        return tvm.squeezenet1_1(num_classes=100)
    if name == "densenet":
        return tvm.DenseNet(growth_rate=8, block_config=(2, 2, 2), num_init_features=16,
                            num_classes=100)
    if name in ("convnext", "convnext_ext"):
        cfg = convnext.CNBlockConfig
        return convnext.ConvNeXt([cfg(16, 32, 1), cfg(32, None, 1)], num_classes=100)
    if name == "vit":
        return vision_transformer.VisionTransformer(image_size=32, patch_size=8, num_layers=2,
                                                    num_heads=2, hidden_dim=64, mlp_dim=128,
                                                    num_classes=100)
    if name == "swin":
        return swin_transformer.SwinTransformer(patch_size=[4, 4], embed_dim=16, depths=[2, 2],
                                                num_heads=[2, 4], window_size=[4, 4],
                                                num_classes=100)
    if name == "deeplab":
        backbone = tvm.mobilenet_v3_large(width_mult=0.5, dilated=True)
        return deeplabv3._deeplabv3_mobilenetv3(backbone, num_classes=8, aux=False)
    if name == "mnasnet":
        return tvm.mnasnet0_5(num_classes=100)
    if name == "resnet_fp16":
        return vision_module("resnet")
    raise KeyError(name)


def export_torch(module, example, path, opset, inputs, outputs, axes=None):
    import torch
    module.eval()
    # Not under no_grad: torch 1.13's nn.MultiheadAttention then takes a fused
    # fast path that the exporter cannot write (ViT).
    torch.onnx.export(module, example, str(path), opset_version=opset, input_names=inputs,
                      output_names=outputs, dynamic_axes=axes or {}, do_constant_folding=True)


def build_vision(name, m, path):
    import torch

    class Plain(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            y = self.inner(x)
            return y["out"] if isinstance(y, dict) else y

    shape = m["inputs"]["input"][1]
    export_torch(Plain(vision_module(name)), torch.rand(*shape) * 2 - 1, path, m["opset"],
                 ["input"], ["output"], {"input": {0: "batch"}, "output": {0: "batch"}})


def build_sequence(name, m, path):
    import torch
    import zoo_sequence
    base = name.replace("_fp16", "")
    module = zoo_sequence.build(base)
    example = tuple(example_input(kind, shape) for kind, shape in m["inputs"].values())
    names = list(m["inputs"])
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes["output"] = {0: "batch", 1: "sequence"}
    export_torch(module, example, path, m["opset"], names, ["output"], axes)


def build_decoder(name, m, path, lm_weights):
    import torch
    import zoo_decoders
    base = "llama_trained" if name == "llama_fp16" else name
    configs = {
        "llama_trained": dict(family="llama", vocab=256, dim=128, layers=2, heads=4, kv_heads=2,
                              hidden=352),
        "llama_past": dict(family="llama", vocab=256, dim=64, layers=2, heads=4, kv_heads=2,
                           hidden=160),
        "qwen2": dict(family="qwen2", vocab=256, dim=64, layers=2, heads=4, kv_heads=2,
                      hidden=160, rope_theta=1000000.0),
        "qwen3": dict(family="qwen3", vocab=256, dim=64, layers=2, heads=4, kv_heads=2,
                      hidden=160, rope_theta=1000000.0),
        "gemma": dict(family="gemma", vocab=256, dim=64, layers=2, heads=4, kv_heads=1,
                      hidden=160),
        "phi3": dict(family="phi3", vocab=256, dim=64, layers=2, heads=4, kv_heads=4, hidden=160),
    }
    c = configs[base]
    model = zoo_decoders.Decoder(c)
    if base == "llama_trained":
        if not lm_weights or not os.path.exists(lm_weights):
            raise SystemExit(f"zoo: {name} needs --lm-weights (pare-lm-small/weights.pt)")
        zoo_decoders.load_trained_lm(model, torch.load(lm_weights))
    elif c["family"] in ("gemma", "qwen3"):
        # Norms start at w = 0 (Gemma's 1 + w) or 1: give them something to carry.
        with torch.no_grad():
            for p in model.parameters():
                if p.dim() == 1:
                    p.normal_(0.0 if c["family"] == "gemma" else 1.0, 0.1)
    model.eval()
    seq = m["inputs"]["input_ids"][1][1]
    past = m["inputs"]["attention_mask"][1][1] - seq
    with torch.no_grad():
        zoo_decoders.export(model, str(path), m["opset"], seq, past)


def example_input(kind, shape):
    import torch
    if kind.startswith("tokens:"):
        return torch.randint(0, int(kind.split(":")[1]), shape)
    if kind == "ones":
        return torch.ones(shape, dtype=torch.long)
    return torch.randn(shape)


def build_signature(name, m, path):
    import zoo_signatures
    model = zoo_signatures.build(name, m["opset"])
    onnx.save(model, str(path))


def save_external(path):
    model = onnx.load(str(path))
    data = path.name + ".data"
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
              location=data, size_threshold=256)


def build_one(name, out, lm_weights):
    import torch
    import zoo_float16
    torch.manual_seed(0)
    np.random.seed(0)
    m = zoo_catalog.MODELS[name]
    folder = out / name
    tmp = out / (name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    path = tmp / "model.onnx"
    family = m["family"]
    if family == zoo_catalog.VISION:
        build_vision(name.replace("_ext", ""), m, path)
    elif family == zoo_catalog.SEQUENCE:
        build_sequence(name, m, path)
    elif family == zoo_catalog.DECODER:
        build_decoder(name, m, path, lm_weights)
    else:
        build_signature(name, m, path)
    if m["dtype"] == "float16":
        onnx.save(zoo_float16.convert(onnx.load(str(path))), str(path))
    if m["external"]:
        save_external(path)
    if m["opset"] <= 17:  # Debian's onnx 1.12 knows operator schemas up to opset 17
        onnx.checker.check_model(str(path))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


def stamp(name):
    h = hashlib.sha256()
    for f in sorted(HERE.glob("zoo*.py")):
        h.update(f.read_bytes())
    h.update(name.encode())
    return h.hexdigest()[:16]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("out_dir", nargs="?")
    p.add_argument("--only", nargs="*", default=None)
    p.add_argument("--lm-weights", help="pare-lm-small/weights.pt for llama_trained")
    p.add_argument("--list", action="store_true", help="print the model names (for CMake)")
    a = p.parse_args()
    if a.list:
        print(";".join(zoo_catalog.names()))
        return
    if not a.out_dir:
        p.error("OUT_DIR is required")
    out = pathlib.Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
    built = 0
    requested = a.only or zoo_catalog.names()
    for name in requested:
        s = stamp(name)
        marker = out / name / ".stamp"
        if marker.exists() and marker.read_text() == s:
            continue
        build_one(name, out, a.lm_weights)
        marker.write_text(s)
        built += 1
        print(f"zoo: built {name}", flush=True)
    catalog = {n: {k: v for k, v in m.items()} for n, m in zoo_catalog.MODELS.items()}
    (out / "zoo.json").write_text(json.dumps(catalog, indent=1))
    print(f"zoo: {built} built, {len(requested) - built} cached in {out}")


if __name__ == "__main__":
    main()
