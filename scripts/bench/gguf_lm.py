#!/usr/bin/python3
"""GGUF exports of pare's trained byte-level LM run in llama.cpp (node-llama-cpp),
next to pare's executor on the ONNX models they came from: perplexity and
KL divergence against the float model on held-out text, for F32, F16, Q8_0,
llama.cpp-style Q4_0 and Q4_1 (round to nearest from float), pare's GPTQ
int4 (block 32, float16 scales) repacked to Q4_0 without loss, and pare's
asymmetric GPTQ and HQQ int4 repacked to Q4_1. Prints a Markdown table.

  /usr/bin/python3 scripts/bench/gguf_lm.py [small|base] [CHUNKS]
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
CACHE = pathlib.Path(os.environ.get("PARE_CACHE", pathlib.Path.home() / ".cache/pare"))
PARE = ROOT / "build/cli/pare"
SEQ = 128


def run(*args):
    subprocess.run([str(a) for a in args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def main():
    kind = sys.argv[1] if len(sys.argv) > 1 else "base"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    lm = CACHE / "models" / ("pare-lm-small" if kind == "small" else "pare-lm")
    tokens = [int(t) for t in (lm / "heldout.tokens").read_text().split()]
    chunks = [tokens[i * SEQ:(i + 1) * SEQ] for i in range(count)]
    nxt = np.array([c[1:] for c in chunks])
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        (work / "chunks.json").write_text(json.dumps(chunks))

        def pare_logits(model):
            rows = []
            for c in chunks:
                np.save(work / "c.npy", np.array([c], dtype=np.int64))
                run(PARE, "run", model, "--input", f"tokens={work / 'c.npy'}", "--output-dir", work / "out")
                rows.append(np.load(work / "out/logits.npy")[0])
            return np.stack(rows).astype(np.float64)

        def llama_logits(gguf):
            env = dict(os.environ, NODE_PATH=str(CACHE / "llama/node_modules"))
            r = subprocess.run(["node", ROOT / "scripts/gguf/llama_logits.mjs", gguf, work / "chunks.json",
                                work / "l.f32"], capture_output=True, text=True, env=env, check=True)
            vocab = json.loads(r.stdout)["vocab"]
            return np.fromfile(work / "l.f32", np.float32).reshape(count, SEQ, vocab).astype(np.float64)

        def export(model, t):
            out = work / f"{pathlib.Path(model).stem}-{t}.gguf"
            run(PARE, "convert", model, "--format", "gguf", "--type", t, "-o", out, "--force")
            return out

        def stats(logits):
            lp = log_softmax(logits)
            ppl = float(np.exp(-np.take_along_axis(lp[:, :-1], nxt[..., None], -1).mean()))
            p = log_softmax(ref)
            return ppl, float((np.exp(p) * (p - lp)).sum(-1).mean())

        ref = pare_logits(lm / "model.onnx")
        calib = ["--calib-tokens", lm / "calib.tokens", "--seq-len", "128", "--max-calib", "32"]
        rows = [("float ONNX", "pare", ref, lm / "model.onnx")]
        for t in ("f32", "f16", "q8_0", "q4_0", "q4_1"):
            path = export(lm / "model.onnx", t)
            rows.append((f"{t.upper()} of the float model", "llama.cpp", llama_logits(path), path))
        for name, t, args in (("GPTQ int4", "q4_0", ["--algorithm", "gptq"] + calib),
                              ("GPTQ int4 asymmetric", "q4_1", ["--algorithm", "gptq", "--asymmetric"] + calib),
                              ("HQQ int4", "q4_1", ["--algorithm", "hqq"])):
            onnx = work / f"{t}-{args[1]}.onnx"
            run(PARE, "quantize", lm / "model.onnx", "-o", onnx, "--mode", "weights", "--block-size", "32",
                "--scale-type", "fp16", "--head-bits", "4", *args)
            rows.append((f"{name} ONNX artifact", "pare", pare_logits(onnx), onnx))
            path = export(onnx, t)
            rows.append((f"{name} repacked to {t.upper()}", "llama.cpp", llama_logits(path), path))
        print(f"| model | runs in | size | perplexity | mean KL vs float | max abs logit diff vs float |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        for label, runner, logits, path in rows:
            ppl, kl = stats(logits)
            data = pathlib.Path(str(path) + ".data")  # ONNX external data
            size = pathlib.Path(path).stat().st_size + (data.stat().st_size if data.exists() else 0)
            print(f"| {label} | {runner} | {size / 1e6:.2f} MB | {ppl:.4f} | {kl:.5f} | "
                  f"{np.abs(logits - ref).max():.4f} |")


if __name__ == "__main__":
    main()
