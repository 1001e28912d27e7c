#!/usr/bin/python3
"""int8 PP-OCR recipes measured as a user would: in ONNX Runtime, on the task.

Each model is calibrated on rendered images (scripts/bench/ocr_samples.py,
seed 1) and measured on held-out ones (seed 2), both run in ONNX Runtime:
  rec: character accuracy (1 - edit distance / characters, summed over lines)
       and exact-line accuracy of the CTC-decoded text against the rendered
       truth, for the float model and each recipe;
  det: SQNR of the probability map against the float model's;
  cls: top-1 agreement with the float model.
With --time, each quantized model and the float one are timed in ONNX
Runtime at 1 and 2 threads (median of --repeat runs) and the node types of
ONNX Runtime's optimized graph are counted (which fusions happened).

usage: scripts/bench/int8_ocr.py [--models rec,det,cls] [--eval N] [--time]
                                 [--repeat N] [--work DIR] [--reuse] [LABEL=OPTIONS ...]
  LABEL=OPTIONS: a recipe, `pare quantize` options after --calib, e.g.
  "minmax=" or "mse=--method mse"; default: the recipes of docs/benchmarks.md.
  (after scripts/build.sh, scripts/fetch_models.sh, scripts/ort/fetch.sh;
  needs Debian's imagemagick and fonts-liberation)
"""
import argparse
import collections
import json
import os
import pathlib
import shlex
import subprocess
import tempfile

import numpy as np
import onnx

ROOT = pathlib.Path(__file__).resolve().parents[2]
CACHE = pathlib.Path(os.environ.get("PARE_CACHE", pathlib.Path.home() / ".cache/pare"))
MODELS = CACHE / "models/ppocr"
FILES = {"det": "ch_PP-OCRv4_det_infer", "rec": "ch_PP-OCRv4_rec_infer", "cls": "ch_ppocr_mobile_v2.0_cls_infer"}
PARE = pathlib.Path(os.environ.get("PARE_BIN", ROOT / "build/cli/pare"))
ORT_RUN = ROOT / "scripts/ort/run.js"
ORT_ENV = dict(os.environ, NODE_PATH=str(CACHE / "ort/node_modules"))
DEFAULT_RECIPES = ["minmax=", "integer=--integer-graph"]


def samples(kind, count, seed, out):
    if not (out / f"test_data_set_{count - 1}").exists():
        subprocess.run(["/usr/bin/python3", str(ROOT / "scripts/bench/ocr_samples.py"), kind, str(count), str(seed),
                        str(out)], check=True, stdout=subprocess.DEVNULL)
    return out


def ort_outputs(model, data, out):
    subprocess.run(["node", str(ORT_RUN), str(model), str(out), "--each", str(data)], check=True, env=ORT_ENV)
    sets = sorted((p for p in out.iterdir() if p.name.startswith("test_data_set_")),
                  key=lambda p: int(p.name.rsplit("_", 1)[1]))
    return [np.load(next(s.glob("*.npy"))) for s in sets]


def labels(data):
    sets = sorted(data.glob("test_data_set_*"), key=lambda p: int(p.name.rsplit("_", 1)[1]))
    return [(s / "label.txt").read_text().rstrip("\n") for s in sets]


def ctc_decode(probs, keys):
    ids = probs.reshape(probs.shape[-2], probs.shape[-1]).argmax(axis=1)
    text, last = [], 0
    for i in ids:
        if i != last and i != 0:
            text.append(keys[i - 1] if i - 1 < len(keys) else " ")
        last = i
    return "".join(text)


def edit_distance(a, b):
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def rec_scores(outputs, truth):
    keys = (MODELS / "ppocr_keys_v1.txt").read_text().split("\n")
    keys = [k for k in keys if k] + [" "]
    texts = [ctc_decode(o, keys).strip() for o in outputs]  # a margin reads as a space
    errors = sum(edit_distance(t, g) for t, g in zip(texts, truth))
    chars = sum(len(g) for g in truth)
    exact = sum(t == g for t, g in zip(texts, truth)) / len(truth)
    return {"char_accuracy": 1 - errors / chars, "exact": exact}


def scores(kind, outputs, reference, truth):
    if kind == "rec":
        return rec_scores(outputs, truth)
    if kind == "det":
        ref = np.concatenate([r.ravel() for r in reference]).astype(np.float64)
        got = np.concatenate([o.ravel() for o in outputs]).astype(np.float64)
        return {"sqnr_db": 10 * np.log10((ref ** 2).sum() / max(((ref - got) ** 2).sum(), 1e-30))}
    agree = np.mean([o.ravel().argmax() == r.ravel().argmax() for o, r in zip(outputs, reference)])
    return {"top1_agreement": float(agree)}


def describe(kind, s):
    if kind == "rec":
        return f"char {100 * s['char_accuracy']:.1f}%, exact {100 * s['exact']:.1f}%"
    if kind == "det":
        return f"SQNR {s['sqnr_db']:.1f} dB"
    return f"top-1 agreement {100 * s['top1_agreement']:.1f}%"


def ort_time(model, data, threads, repeat):
    x = next((data / "test_data_set_0").glob("*.npy"))
    out = subprocess.run(["node", str(ORT_RUN), str(model), "-", f"x={x}", "--repeat", str(repeat), "--threads",
                          str(threads)], check=True, capture_output=True, text=True, env=ORT_ENV).stdout
    return json.loads(out.strip().splitlines()[-1])["median_ms"]


def fused_types(model, work):
    optimized = work / (model.stem + ".ort.onnx")
    subprocess.run(["node", str(ORT_RUN), str(model), "-", "--optimized", str(optimized)], env=ORT_ENV, check=True)
    graph = onnx.load(str(optimized), load_external_data=False).graph
    counts = collections.Counter(n.op_type for n in graph.node)
    return ", ".join(f"{op} {c}" for op, c in counts.most_common())


def quantize(kind, model, calib, options, out, reuse=False):
    if reuse and out.exists():
        return out
    subprocess.run([str(PARE), "quantize", str(model), "-o", str(out), "--calib", str(calib), "--force"]
                   + shlex.split(options), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="rec,det,cls")
    ap.add_argument("--calib", type=int, default=32)
    ap.add_argument("--eval", type=int, default=60)
    ap.add_argument("--time", action="store_true")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--work", type=pathlib.Path)
    ap.add_argument("--reuse", action="store_true", help="keep quantized models already in --work")
    ap.add_argument("recipes", nargs="*", default=DEFAULT_RECIPES)
    a = ap.parse_args()
    work = a.work or pathlib.Path(tempfile.mkdtemp())
    for kind in a.models.split(","):
        model = MODELS / f"{FILES[kind]}.onnx"
        style = "rec-text" if kind == "rec" else kind  # lines whose every character shows
        calib = samples(style, a.calib, 1, work / kind / "calib")
        held = samples(style, a.eval, 2, work / kind / f"eval{a.eval}")
        reference = ort_outputs(model, held, work / kind / "float_out")
        truth = labels(held)
        rows = [("float", model, scores(kind, reference, reference, truth))]
        for recipe in a.recipes:
            label, options = recipe.split("=", 1)
            q = quantize(kind, model, calib, options, work / kind / f"{label.replace(' ', '_')}.onnx", a.reuse)
            rows.append((label, q, scores(kind, ort_outputs(q, held, work / kind / f"{label}_out"), reference, truth)))
        for label, path, s in rows:
            line = f"| {kind} | {label} | {describe(kind, s)} |"
            if a.time:
                times = [ort_time(path, held, t, a.repeat) for t in (1, 2)]
                line += f" {times[0]:.2f} ms | {times[1]:.2f} ms | {fused_types(path, work / kind)} |"
            print(line, flush=True)


if __name__ == "__main__":
    main()
