#!/usr/bin/python3
"""Calibrated GGUF K-quant mixes: pare's GPTQ into the GGUF blocks against
llama.cpp's own quantizer with an importance matrix, measured in llama.cpp.

For a decoder ONNX model and its calibration and held-out token files:
  1. pare writes the F32 GGUF, and from the calibration tokens the
     importance matrix (`--write-imatrix`, llama.cpp's GGUF imatrix form);
  2. llama.cpp's quantizer (llama_model_quantize, scripts/gguf/llama_quantize.py)
     makes each mix from that F32 file, without and with the imatrix;
  3. pare makes each mix from the ONNX model: rounding to nearest, with
     that imatrix (`--imatrix`), and with GPTQ on the same calibration tokens;
  4. llama.cpp (node-llama-cpp) runs every file on held-out chunks, and the
     mean KL of each against the F32 file's logits is printed, with sizes.

Prints a Markdown table and a JSON line.

usage: gguf_calibrated.py PARE MODEL.onnx CALIB.tokens HELDOUT.tokens [--seq 128]
       [--calib-chunks 16] [--chunks 16] [--types q3_k_m,q4_k_m,q5_k_m,q6_k] [--check RATIO]
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import gguf_zoo_check as zoo  # noqa: E402  (llama.cpp logits, KL)

FTYPES = {"q3_k_m": 12, "q4_k_m": 15, "q5_k_m": 17, "q6_k": 18}


def run(*args):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"{' '.join(map(str, args))} failed: {r.stderr[-2000:]}")
    return r.stdout


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("pare")
    p.add_argument("model")
    p.add_argument("calib")
    p.add_argument("heldout")
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--calib-chunks", type=int, default=16)
    p.add_argument("--chunks", type=int, default=16)
    p.add_argument("--types", default="q3_k_m,q4_k_m,q5_k_m,q6_k")
    p.add_argument("--check", type=float, default=0,
                   help="exit 1 unless pare GPTQ's KL is at most this fraction of llama.cpp "
                        "imatrix's for every type (a ctest); exit 77 without node-llama-cpp")
    a = p.parse_args()
    inputs = (a.model, a.calib, a.heldout)
    if not (zoo.LLAMA_MODULES / "node-llama-cpp").exists() or not all(map(os.path.exists, inputs)):
        print("skipped: node-llama-cpp, the model or its token files missing")
        sys.exit(77)
    tokens = [int(t) for t in pathlib.Path(a.heldout).read_text().split()]
    chunks = [tokens[i * a.seq:(i + 1) * a.seq] for i in range(a.chunks)]
    calib = ["--calib-tokens", a.calib, "--seq-len", a.seq, "--max-calib", a.calib_chunks]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        w = pathlib.Path(tmp)
        f32, imatrix = w / "f32.gguf", w / "calib.imatrix"
        run(a.pare, "convert", a.model, "--format", "gguf", "--type", "f32", "-o", f32,
            *calib, "--write-imatrix", imatrix)
        ref = zoo.llama_logits(f32, chunks, w)
        for kind in a.types.split(","):
            files = {
                "llama.cpp": w / f"{kind}-llama.gguf",
                "llama.cpp imatrix": w / f"{kind}-llama-imatrix.gguf",
                "pare RTN": w / f"{kind}-pare-rtn.gguf",
                "pare imatrix": w / f"{kind}-pare-imatrix.gguf",
                "pare GPTQ": w / f"{kind}-pare-gptq.gguf",
            }
            q = [sys.executable, ROOT / "scripts/gguf/llama_quantize.py", f32]
            run(*q, files["llama.cpp"], FTYPES[kind])
            run(*q, files["llama.cpp imatrix"], FTYPES[kind], "--imatrix", imatrix)
            run(a.pare, "convert", a.model, "--format", "gguf", "--type", kind, "-o", files["pare RTN"])
            run(a.pare, "convert", a.model, "--format", "gguf", "--type", kind, "-o",
                files["pare imatrix"], "--imatrix", imatrix)
            run(a.pare, "convert", a.model, "--format", "gguf", "--type", kind, "-o",
                files["pare GPTQ"], *calib)
            row = {"type": kind}
            for label, path in files.items():
                row[label] = {"kl": zoo.kl(ref, zoo.llama_logits(path, chunks, w)),
                              "bytes": path.stat().st_size}
            rows.append(row)
            print(f"{kind}: " + ", ".join(f"{k} KL {v['kl']:.5f} ({v['bytes']} B)"
                                        for k, v in row.items() if k != "type"), flush=True)
    labels = ["llama.cpp", "llama.cpp imatrix", "pare RTN", "pare imatrix", "pare GPTQ"]
    print("\n| type | " + " | ".join(labels) + " | pare GPTQ / llama.cpp imatrix | bytes |")
    print("| --- |" + " --- |" * (len(labels) + 2))
    for r in rows:
        ratio = r["pare GPTQ"]["kl"] / r["llama.cpp imatrix"]["kl"]
        sizes = sorted({r[k]["bytes"] for k in labels})
        print(f"| {r['type'].upper()} | " + " | ".join(f"{r[k]['kl']:.5f}" for k in labels)
              + f" | {ratio:.2f} | {', '.join(map(str, sizes))} |")
    print(json.dumps(rows))
    if a.check:
        worst = max(r["pare GPTQ"]["kl"] / r["llama.cpp imatrix"]["kl"] for r in rows)
        print(f"{'ok  ' if worst <= a.check else 'FAIL'} pare GPTQ KL at most {worst:.2f} of "
              f"llama.cpp imatrix's (limit {a.check})")
        sys.exit(0 if worst <= a.check else 1)


if __name__ == "__main__":
    main()
