"""The model zoo's catalog: every model, its opset, storage and inputs.

Kept free of torch so that CMake (configure time) and the matrix test can
read it on machines where torch is not installed. scripts/models/zoo.py
builds the models; tests/zoo/matrix.py runs the stages over them.

Input specs: {name: (kind, shape)} where kind is
  "image"        float32 uniform in [-1, 1]
  "float"        float32 normal(0, 1)
  "tokens:V"     int64 token ids in [0, V)
  "ones"         int64 ones (attention masks)
  "positions:P"  int64 positions P, P+1, ... along the last axis
"""

VISION = "vision"
SEQUENCE = "sequence"
DECODER = "decoder"
SIGNATURE = "signature"  # hand-built graphs of opset 18-21 operator signatures


def _image(size=64):
    return {"input": ("image", (1, 3, size, size))}


def _decoder_inputs(vocab, seq, layers=0, kv_heads=0, head_dim=0, past=0):
    spec = {
        "input_ids": (f"tokens:{vocab}", (1, seq)),
        "attention_mask": ("ones", (1, past + seq)),
        "position_ids": (f"positions:{past}", (1, seq)),
    }
    for i in range(layers):
        for kind in ("key", "value"):
            spec[f"past_key_values.{i}.{kind}"] = ("float", (1, kv_heads, past, head_dim))
    return spec


# name: dict(family, opset, dtype, external, inputs, note)
MODELS = {
    # Vision: torchvision architectures, shrunk where the constructor allows.
    "resnet": dict(family=VISION, opset=11, note="torchvision ResNet, BasicBlock [1,1,1,1]"),
    "mobilenet_v3": dict(family=VISION, opset=12,
                         note="torchvision mobilenet_v3_small(width_mult=0.5): SE, hardswish"),
    "mobilenet_v2": dict(family=VISION, opset=13,
                         note="torchvision mobilenet_v2(width_mult=0.35): inverted residual"),
    "efficientnet": dict(family=VISION, opset=13,
                         note="torchvision EfficientNet (width 0.25, depth 0.25): SE, SiLU"),
    "regnet": dict(family=VISION, opset=12, note="torchvision RegNet (group width 8): grouped conv"),
    "shufflenet": dict(family=VISION, opset=14, note="torchvision shufflenet_v2_x0_5: channel shuffle"),
    "squeezenet": dict(family=VISION, opset=11, note="torchvision squeezenet1_1: fire modules, concat"),
    "densenet": dict(family=VISION, opset=15, note="torchvision DenseNet (growth 8, blocks 2,2,2)"),
    "convnext": dict(family=VISION, opset=17,
                     note="torchvision ConvNeXt (2 stages): LayerNorm, permutes, depthwise 7x7"),
    "vit": dict(family=VISION, opset=16, inputs=_image(32),
                note="torchvision VisionTransformer (2 layers, 64 wide, patch 8)"),
    "swin": dict(family=VISION, opset=17, inputs=_image(32),
                 note="torchvision SwinTransformer (2 stages, window 4): window attention, roll"),
    "deeplab": dict(family=VISION, opset=14,
                    note="torchvision DeepLabV3 on a dilated mobilenet_v3_large(0.5): ASPP, Resize"),
    "mnasnet": dict(family=VISION, opset=16, note="torchvision mnasnet0_5"),
    "resnet_fp16": dict(family=VISION, opset=11, dtype="float16",
                        note="resnet with float16 weights, float32 inputs and outputs (Cast)"),
    "convnext_ext": dict(family=VISION, opset=17, external=True,
                         note="convnext with its weights in external data"),
    # Sequence models.
    "lstm": dict(family=SEQUENCE, opset=14, inputs={"input": ("float", (1, 12, 24))},
                 note="2-layer bidirectional torch.nn.LSTM and a Linear head"),
    "gru": dict(family=SEQUENCE, opset=12, inputs={"input": ("float", (1, 12, 24))},
                note="torch.nn.GRU and a Linear head"),
    "bert": dict(family=SEQUENCE, opset=15,
                 inputs={"input_ids": ("tokens:512", (1, 16)), "attention_mask": ("ones", (1, 16))},
                 note="BERT-style encoder (2 layers, 64 wide): erf GELU, padding mask"),
    "gpt2": dict(family=SEQUENCE, opset=13, external=True,
                 inputs={"input_ids": ("tokens:512", (1, 16))},
                 note="GPT-2-style decoder (2 layers, 64 wide): tanh GELU, tied head, external data"),
    "gpt2_fp16": dict(family=SEQUENCE, opset=13, dtype="float16",
                      inputs={"input_ids": ("tokens:512", (1, 16))},
                      note="gpt2 with float16 weights"),
    # Decoders in Hugging Face transformers' form, exported as Optimum does.
    "llama_trained": dict(family=DECODER, opset=14, inputs=_decoder_inputs(256, 16),
                          note="HF-style Llama carrying pare's trained small LM (pare-lm-small)"),
    "llama_past": dict(family=DECODER, opset=14, external=True,
                       inputs=_decoder_inputs(256, 4, layers=2, kv_heads=2, head_dim=16, past=5),
                       note="HF-style Llama/Mistral with past_key_values, GQA, external data"),
    "qwen2": dict(family=DECODER, opset=16, inputs=_decoder_inputs(256, 16),
                  note="HF-style Qwen2: q/k/v biases"),
    "qwen3": dict(family=DECODER, opset=17, inputs=_decoder_inputs(256, 16),
                  note="HF-style Qwen3: RMSNorm of q and k per head before RoPE"),
    "gemma": dict(family=DECODER, opset=17, inputs=_decoder_inputs(256, 16),
                  note="HF-style Gemma: (1+w) RMSNorm, GeGLU, scaled embeddings, tied head"),
    "phi3": dict(family=DECODER, opset=15, inputs=_decoder_inputs(256, 16),
                 note="HF-style Phi-3: fused qkv_proj and gate_up_proj"),
    "llama_fp16": dict(family=DECODER, opset=14, dtype="float16", external=True,
                       inputs=_decoder_inputs(256, 16),
                       note="llama_trained with float16 weights in external data"),
    # Operator signatures newer than the exporter (hand-built with onnx.helper).
    "op18_reduce_axes": dict(family=SIGNATURE, opset=18, inputs={"x": ("float", (2, 8, 16))},
                             note="ReduceMean/ReduceSum/ReduceMax with axes as an input"),
    "op18_split": dict(family=SIGNATURE, opset=18, inputs={"x": ("float", (2, 8, 16))},
                       note="Split with num_outputs"),
    "op18_pad_axes": dict(family=SIGNATURE, opset=18, inputs={"x": ("float", (1, 4, 8, 8))},
                          note="Pad with an axes input"),
    "op18_resize_antialias": dict(family=SIGNATURE, opset=18,
                                  inputs={"x": ("float", (1, 4, 16, 16))},
                                  note="Resize linear downscale with antialias=1"),
    "op18_groupnorm": dict(family=SIGNATURE, opset=18, inputs={"x": ("float", (1, 8, 6, 6))},
                           note="Conv then GroupNormalization"),
    "op20_gelu": dict(family=SIGNATURE, opset=20, inputs={"x": ("float", (2, 8, 16))},
                      note="Gelu (none and tanh) around a MatMul"),
    "op18_col2im": dict(family=SIGNATURE, opset=18, inputs={"x": ("float", (1, 8, 9))},
                        note="Col2Im"),
    "op21_int4": dict(family=SIGNATURE, opset=21, inputs={"x": ("float", (2, 8, 32))},
                      note="int4 and uint4 blocked DequantizeLinear weights feeding MatMul"),
}

for _name, _m in MODELS.items():
    _m.setdefault("dtype", "float32")
    _m.setdefault("external", False)
    _m.setdefault("inputs", _image())


def names():
    return list(MODELS)
