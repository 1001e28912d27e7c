#!/usr/bin/python3
"""pare's runtime vs ONNX Runtime: latency on the same models, inputs and
thread counts, in one run. Prints a markdown table of min/median latency and
the ratio pare/ORT (lower is better for pare).

usage: scripts/bench/runtime_vs_ort.py [--repeat N] [--int8] [--only TEXT]
  (after scripts/build.sh, scripts/fetch_models.sh and scripts/ort/fetch.sh)
  --int8   also PP-OCR models quantized by `pare quantize` (static int8 QDQ,
           the same with --integer-graph --method mse, and 16-bit activations
           with int8 weights), calibrated on 16 text
           images from scripts/bench/ocr_samples.py (needs ImageMagick)
  --only   run only the cases whose name contains TEXT
"""
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
CACHE = pathlib.Path(os.environ.get("PARE_CACHE", pathlib.Path.home() / ".cache/pare"))
PARE = ROOT / "build/cli/pare"
MAKE = ROOT / "build/tests/pare-make-model"
ORT_RUN = ROOT / "scripts/ort/run.js"


def built_models(work):
    specs = {
        "transformer-512x4 (float)": ["--kind", "transformer", "--dim", "512", "--layers", "4", "--heads", "8"],
        "transformer-512x4 (int4 MatMulNBits)": ["--kind", "transformer", "--dim", "512", "--layers", "4",
                                                 "--heads", "8", "--int4-block", "32"],
    }
    out = {}
    for name, args in specs.items():
        path = work / (re.sub(r"[^a-z0-9]+", "_", name) + ".onnx")
        subprocess.run([str(MAKE), "--out", str(path), "--vocab", "4096"] + args, check=True)
        out[name] = path
    return out


def cases(work):
    ppocr = CACHE / "models/ppocr"
    rng = np.random.default_rng(3)
    image = lambda shape: rng.uniform(-1, 1, size=shape).astype(np.float32)
    result = [
        ("PP-OCRv4 det 1x3x320x320", ppocr / "ch_PP-OCRv4_det_infer.onnx", {"x": image((1, 3, 320, 320))}),
        ("PP-OCRv4 rec 1x3x48x320", ppocr / "ch_PP-OCRv4_rec_infer.onnx", {"x": image((1, 3, 48, 320))}),
        ("PP-OCR cls 1x3x48x192", ppocr / "ch_ppocr_mobile_v2.0_cls_infer.onnx", {"x": image((1, 3, 48, 192))}),
    ]
    if "--int8" in sys.argv:
        result += quantized_cases(work, result[:3])
    for name, path in built_models(work).items():
        for tokens in (1, 64):
            result.append((f"{name}, {tokens} token(s)", path,
                           {"tokens": rng.integers(0, 4096, size=(1, tokens), dtype=np.int64)}))
    return result


def quantized_cases(work, float_cases):
    """PP-OCR models through `pare quantize`, as benchmark cases."""
    out = []
    for (name, model, feeds), kind in zip(float_cases, ("det", "rec", "cls")):
        calib = work / f"calib_{kind}"
        subprocess.run(["/usr/bin/python3", str(ROOT / "scripts/bench/ocr_samples.py"), kind, "16", "1",
                        str(calib)], check=True, stdout=subprocess.DEVNULL)
        for label, extra in (("int8 QDQ", []), ("int8 integer QDQ", ["--integer-graph", "--method", "mse"]),
                             ("A16W8 QDQ", ["--activation-type", "uint16"])):
            q = work / f"{kind}_{label.replace(' ', '_')}.onnx"
            subprocess.run([str(PARE), "quantize", str(model), "-o", str(q), "--calib", str(calib)] + extra,
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            out.append((f"{name} {label}", q, feeds))
    return out


def time_pare(model, inputs, threads, repeat):
    out = subprocess.run([str(PARE), "run", str(model), "--threads", str(threads), "--repeat", str(repeat)]
                         + sum([["--input", a] for a in inputs], []), check=True, capture_output=True,
                         text=True).stdout
    m = re.search(r"latency: min ([\d.]+) ms, median ([\d.]+) ms", out)
    return float(m.group(1)), float(m.group(2))


def time_ort(model, inputs, threads, repeat):
    env = {**os.environ, "NODE_PATH": str(CACHE / "ort/node_modules")}
    out = subprocess.run(["node", str(ORT_RUN), str(model), "-", "--threads", str(threads),
                          "--repeat", str(repeat)] + inputs, check=True, capture_output=True,
                         text=True, env=env).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return r["min_ms"], r["median_ms"]


def main():
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 20
    print(f"repeat {repeat} (after one warm-up); times in ms; ratio = pare median / ORT median\n")
    print("| model | threads | pare min | pare median | ORT min | ORT median | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else ""
        for name, model, feeds in cases(work):
            if only not in name:
                continue
            if not model.exists():
                print(f"| {name} | - | missing: run scripts/fetch_models.sh | | | | |")
                continue
            inputs = []
            for key, value in feeds.items():
                np.save(work / f"{key}.npy", value)
                inputs.append(f"{key}={work / (key + '.npy')}")
            for threads in (1, 2):
                pmin, pmed = time_pare(model, inputs, threads, repeat)
                omin, omed = time_ort(model, inputs, threads, repeat)
                print(f"| {name} | {threads} | {pmin:.2f} | {pmed:.2f} | {omin:.2f} | {omed:.2f} | "
                      f"{pmed / omed:.2f} |", flush=True)


if __name__ == "__main__":
    main()
