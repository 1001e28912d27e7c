#!/usr/bin/python3
"""Cross-checks pare's executor against ONNX Runtime on real models.

For each model: seeded random inputs (numpy) are written as .npy, run through
`pare run` and through onnxruntime-node (scripts/ort/run.js), and every output
is compared: max |pare - ort| must be within rtol * |ort| + atol * max|ort|.

usage: crosscheck.py PARE_BINARY MODELS_DIR [--make-model PARE_MAKE_MODEL]
Exits 77 (skipped) when onnxruntime-node or the models are missing.
"""
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ORT_MODULES = pathlib.Path(os.environ.get("PARE_CACHE", pathlib.Path.home() / ".cache/pare")) / "ort/node_modules"
# The ONNX backend suite's rtol (1e-3): deep float32 CNNs such as PP-OCR det accumulate
# ~1e-4 relative noise in large logits, which a sigmoid turns into ~1e-3 on tiny outputs.
RTOL, ATOL = 1e-3, 1e-5

# model file, {input name: (kind, shape)}. "document" inputs are synthetic
# page images (dark text bars on white, normalized to [-1, 1] as PP-OCR
# expects): uniform noise drives the detector into sigmoid underflow, where
# outputs are ~1e-13 and even ONNX Runtime's own optimization levels differ
# by 300% relatively.
CASES = [
    ("ppocr/ch_PP-OCRv4_det_infer.onnx", {"x": ("document", (1, 3, 320, 320))}),
    ("ppocr/ch_PP-OCRv4_rec_infer.onnx", {"x": ("document", (1, 3, 48, 320))}),
    ("ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx", {"x": ("document", (1, 3, 48, 192))}),
]


def document(rng, shape):
    _, channels, height, width = shape
    page = np.ones((height, width), np.float32)
    for _ in range(max(1, height * width // 8000)):
        y = rng.integers(0, max(1, height - 14))
        x = rng.integers(0, max(1, width - 40))
        page[y:y + min(14, height // 3), x:x + rng.integers(20, max(21, width // 3))] = 0.1
    page += rng.normal(0, 0.05, page.shape).astype(np.float32)
    return np.repeat(((page - 0.5) / 0.5)[None, None], channels, axis=1).astype(np.float32)


def make_inputs(spec, work, seed):
    rng = np.random.default_rng(seed)
    args = []
    for name, (dtype, shape) in spec.items():
        if dtype == "int64":
            value = rng.integers(0, 256, size=shape, dtype=np.int64)
        elif dtype == "document":
            value = document(rng, shape)
        else:
            value = rng.uniform(-1, 1, size=shape).astype(dtype)
        path = work / f"in_{name}.npy"
        np.save(path, value)
        args.append(f"{name}={path}")
    return args


def compare(pare_dir, ort_dir):
    worst = []
    for ref_file in sorted(ort_dir.glob("*.npy")):
        ref = np.load(ref_file)
        got = np.load(pare_dir / ref_file.name)
        if got.shape != ref.shape or got.dtype != ref.dtype:
            return False, f"{ref_file.stem}: {got.dtype}{got.shape} vs {ref.dtype}{ref.shape}"
        diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
        scale = float(np.max(np.abs(ref))) if ref.size else 0.0
        bound = RTOL * np.abs(ref) + ATOL * scale
        ok = bool(np.all(diff <= bound))
        rel = float(np.max(diff / np.maximum(np.abs(ref), 1e-3 * max(scale, 1e-30))))
        worst.append(f"{ref_file.stem}: max abs diff {diff.max():.3g}, max rel {rel:.3g} "
                     f"(output max {scale:.3g})"
                     + ("" if ok else " EXCEEDS TOLERANCE"))
        if not ok:
            return False, "; ".join(worst)
    return True, "; ".join(worst)


def main():
    pare, models = sys.argv[1], pathlib.Path(sys.argv[2])
    cases = list(CASES)
    if "--make-model" in sys.argv:
        maker = sys.argv[sys.argv.index("--make-model") + 1]
        work = pathlib.Path(tempfile.mkdtemp())
        built = work / "mlp_lm.onnx"
        subprocess.run([maker, "--out", str(built), "--vocab", "256", "--dim", "64", "--layers", "3"], check=True)
        cases.append((str(built), {"tokens": ("int64", (2, 16))}))
        # int4 MatMulNBits: 3 tokens take the packed dot-product kernel, 2x16 the panel GEMM.
        int4 = work / "transformer_int4.onnx"
        subprocess.run([maker, "--out", str(int4), "--kind", "transformer", "--vocab", "256", "--dim", "128",
                        "--layers", "2", "--heads", "4", "--int4-block", "32"], check=True)
        cases.append((str(int4), {"tokens": ("int64", (1, 3))}))
        cases.append((str(int4), {"tokens": ("int64", (2, 16))}))
        # Dynamic int8 from pare's own quantizer: DynamicQuantizeLinear + MatMulInteger.
        floats, dyn = work / "transformer.onnx", work / "transformer_dynamic_int8.onnx"
        subprocess.run([maker, "--out", str(floats), "--kind", "transformer", "--vocab", "256", "--dim", "128",
                        "--layers", "2", "--heads", "4"], check=True)
        subprocess.run([pare, "quantize", str(floats), "-o", str(dyn), "--mode", "dynamic"], check=True,
                       stdout=subprocess.DEVNULL)
        cases.append((str(dyn), {"tokens": ("int64", (2, 16))}))
        # Weight-only int4/int8 from pare's quantizer, in both formats: MatMulNBits (symmetric,
        # packed integer zero points, HQQ's float zero points, 8 bits) and opset-21 block-wise
        # DequantizeLinear over int4/uint4 initializers.
        for label, args in [("nbits_rtn", []), ("nbits_asym", ["--asymmetric", "--block-size", "64"]),
                            ("nbits_hqq", ["--algorithm", "hqq"]), ("nbits_int8", ["--bits", "8"]),
                            ("dq_int4", ["--format", "qdq"]),
                            ("dq_uint4", ["--format", "qdq", "--asymmetric", "--block-size", "16"]),
                            ("nbits_awq", ["--algorithm", "awq", "--calib-random", "2"]),
                            ("nbits_gptq", ["--algorithm", "gptq", "--calib-random", "2"])]:
            out = work / f"transformer_{label}.onnx"
            subprocess.run([pare, "quantize", str(floats), "-o", str(out), "--mode", "weights"] + args,
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # ONNX Runtime fuses DequantizeLinear + MatMul into its MatMulNBits and by default
            # (accuracy level 4) quantizes the activations to int8 there: 1% off. Level 0
            # keeps them float, which is what the graph says.
            ort_args = ["--config", "session.qdq_matmulnbits_accuracy_level=0"] if "dq" in label else []
            cases.append((str(out), {"tokens": ("int64", (1, 16))}, ort_args))
        # pare's trained byte-level Llama-style LM (torch export, opset 17) and its GPTQ int4 form.
        lm = models / "pare-lm-small"
        if (lm / "model.onnx").exists():
            cases.append((str(lm / "model.onnx"), {"tokens": ("int64", (1, 32))}))
            gptq = work / "lm_gptq.onnx"
            subprocess.run([pare, "quantize", str(lm / "model.onnx"), "-o", str(gptq), "--mode", "weights",
                            "--algorithm", "gptq", "--calib-tokens", str(lm / "calib.tokens"), "--seq-len", "64",
                            "--max-calib", "4"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cases.append((str(gptq), {"tokens": ("int64", (1, 32))}))
            # Pruned by SparseGPT to 2:4, then that sparse model quantized by GPTQ to int4: the
            # composition a user ships.
            sparse, sparse_int4 = work / "lm_sparsegpt_2of4.onnx", work / "lm_sparsegpt_2of4_int4.onnx"
            calib = ["--calib-tokens", str(lm / "calib.tokens"), "--seq-len", "64", "--max-calib", "4"]
            subprocess.run([pare, "prune", str(lm / "model.onnx"), "-o", str(sparse), "--method", "sparsegpt",
                            "--pattern", "2:4"] + calib, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            subprocess.run([pare, "quantize", str(sparse), "-o", str(sparse_int4), "--mode", "weights",
                            "--algorithm", "gptq"] + calib, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            cases.append((str(sparse), {"tokens": ("int64", (1, 32))}))
            # The same sparse weights stored compactly: values + bitmask, decoded by BitShift,
            # CumSum, Gather and Where.
            compact = work / "lm_sparsegpt_2of4_compact.onnx"
            subprocess.run([pare, "prune", str(lm / "model.onnx"), "-o", str(compact), "--method", "sparsegpt",
                            "--pattern", "2:4", "--storage", "compact"] + calib, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cases.append((str(compact), {"tokens": ("int64", (1, 32))}))
            cases.append((str(sparse_int4), {"tokens": ("int64", (1, 32))}))
            # A fit plan's artifact: MatMulNBits at 4 bits with two block sizes, and
            # float16-stored weights cast back to float32, side by side in one graph.
            fit = work / "lm_fit"
            subprocess.run([pare, "fit", str(lm / "model.onnx"), "-o", str(fit), "--weight-budget", "600kB",
                            "--candidates", "f16,int4-g32,int4-g128", "--calib-tokens",
                            str(lm / "calib.tokens"), "--seq-len", "64", "--calib-samples", "2"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cases.append((str(fit / "model.onnx"), {"tokens": ("int64", (1, 32))}))
        # Static int8 in the QOperator form (QLinearConv on uint8 tensors) of the opset-9 cls
        # model: integer arithmetic in both runtimes, so they should agree closely.
        cls = models / "ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx"
        if cls.exists():
            qop = work / "cls_qoperator.onnx"
            subprocess.run([pare, "quantize", str(cls), "-o", str(qop), "--format", "qoperator",
                            "--calib-random", "4", "--dim", "p2o.DynamicDimension.0=1", "--dim",
                            "p2o.DynamicDimension.1=48", "--dim", "p2o.DynamicDimension.2=192"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cases.append((str(qop), {"x": ("document", (1, 3, 48, 192))}))
            # Half the channels of every prunable group removed: a smaller dense graph.
            cls_half = work / "cls_channels_50.onnx"
            subprocess.run([pare, "prune", str(cls), "-o", str(cls_half), "--method", "channels"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cases.append((str(cls_half), {"x": ("document", (1, 3, 48, 192))}))
        det = models / "ppocr/ch_PP-OCRv4_det_infer.onnx"
        if det.exists():
            # Calibrated channel pruning (least-squares reconstruction of the readers) on
            # synthetic pages: a quarter of every prunable group's channels removed.
            calib = work / "det_calib"
            for i in range(2):
                (calib / f"test_data_set_{i}").mkdir(parents=True)
                np.save(calib / f"test_data_set_{i}/x.npy", document(np.random.default_rng(100 + i), (1, 3, 320, 320)))
            det_pruned = work / "det_channels_25.onnx"
            subprocess.run([pare, "prune", str(det), "-o", str(det_pruned), "--method", "channels",
                            "--sparsity", "0.25", "--calib", str(calib)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cases.append((str(det_pruned), {"x": ("document", (1, 3, 320, 320))}))
    if not (ORT_MODULES / "onnxruntime-node").exists():
        print("onnxruntime-node not installed (scripts/ort/fetch.sh): skipped")
        sys.exit(77)
    failures = checked = 0
    for model, spec, *extra in cases:
        ort_args = extra[0] if extra else []
        path = pathlib.Path(model) if os.path.isabs(model) else models / model
        if not path.exists():
            print(f"FAIL {path}: missing (run scripts/fetch_models.sh)")
            failures += 1
            continue
        with tempfile.TemporaryDirectory() as tmp:
            work = pathlib.Path(tmp)
            inputs = make_inputs(spec, work, seed=7)
            subprocess.run([pare, "run", str(path), "--output-dir", str(work / "pare")]
                           + sum([["--input", a] for a in inputs], []), check=True,
                           stdout=subprocess.DEVNULL)
            subprocess.run(["node", str(HERE / "run.js"), str(path), str(work / "ort")] + inputs + ort_args,
                           check=True, env={**os.environ, "NODE_PATH": str(ORT_MODULES)})
            ok, detail = compare(work / "pare", work / "ort")
        checked += 1
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {path.name}: {detail}")
    if checked == 0:
        sys.exit(77)
    print(f"{checked - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
