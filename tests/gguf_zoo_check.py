#!/usr/bin/python3
"""GGUF export of the zoo's Hugging Face-style decoders, checked in llama.cpp.

Each decoder in the model zoo (scripts/models/zoo_decoders.py: Llama with
and without past_key_values, Qwen2, Gemma, Phi-3; cos/sin computed from
inv_freq and position_ids, attention_mask, present outputs) is exported by
`pare convert --format gguf --type f32`, loaded by llama.cpp through
node-llama-cpp, and its next-token logits on random token chunks compared
with pare's executor on the ONNX model: mean KL below 1e-4 and every
logit within 0.05.

Prints one line per model and a JSON summary on the last line.
Exits 77 (skipped) when node-llama-cpp or the zoo is missing.

usage: gguf_zoo_check.py PARE_BINARY ZOO_DIR [MODEL ...]
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import onnx

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = pathlib.Path(os.environ.get("PARE_CACHE", pathlib.Path.home() / ".cache/pare"))
LLAMA_MODULES = CACHE / "llama/node_modules"
DECODERS = ("llama_trained", "llama_past", "llama_fp16", "qwen2", "qwen3", "gemma", "phi3")
# KL alone misses a scale error on a peaked random model (Gemma's eps read
# as 1.0 gave KL 4e-13 and logits 1% small), so logits must agree too.
SEQ, CHUNKS, KL_LIMIT, LOGIT_LIMIT = 32, 4, 1e-4, 0.05


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def kl(ref, cand):
    p, q = log_softmax(ref), log_softmax(cand)
    return float((np.exp(p) * (p - q)).sum(-1).mean())


def pare_logits(pare, model_path, chunks, work):
    """pare's executor on the ONNX decoder, a first call per chunk (no past)."""
    model = onnx.load(str(model_path), load_external_data=False)
    rows = []
    for chunk in chunks:
        feeds = []
        for inp in model.graph.input:
            dims = [d.dim_value if d.dim_value else None for d in inp.type.tensor_type.shape.dim]
            if inp.name == "input_ids":
                value = np.array([chunk], dtype=np.int64)
            elif inp.name == "attention_mask":
                value = np.ones((1, len(chunk)), dtype=np.int64)
            elif inp.name == "position_ids":
                value = np.arange(len(chunk), dtype=np.int64)[None]
            else:  # past_key_values.N.key/value: empty on a first call
                value = np.zeros((1, dims[1], 0, dims[3]), dtype=np.float32)
            path = work / f"{inp.name}.npy"
            np.save(path, value)
            feeds += ["--input", f"{inp.name}={path}"]
        subprocess.run([pare, "run", model_path, *feeds, "--output-dir", work / "out"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        rows.append(np.load(work / "out/logits.npy")[0])
    return np.stack(rows).astype(np.float64)


def llama_logits(gguf, chunks, work):
    (work / "chunks.json").write_text(json.dumps(chunks))
    env = dict(os.environ, NODE_PATH=str(LLAMA_MODULES))
    r = subprocess.run(["node", ROOT / "scripts/gguf/llama_logits.mjs", gguf, work / "chunks.json",
                        work / "l.f32"], capture_output=True, text=True, env=env)
    if r.returncode:
        raise RuntimeError(f"node-llama-cpp failed on {gguf}: {r.stderr[-1500:]}")
    vocab = json.loads(r.stdout)["vocab"]
    logits = np.fromfile(work / "l.f32", np.float32).reshape(len(chunks), len(chunks[0]), vocab)
    return logits.astype(np.float64)


def check(pare, zoo, name, work):
    model = zoo / name / "model.onnx"
    gguf = work / f"{name}.gguf"
    r = subprocess.run([pare, "convert", model, "--format", "gguf", "--type", "f32", "-o", gguf,
                        "--force"], capture_output=True, text=True)
    if r.returncode:
        return {"model": name, "ok": False, "error": r.stderr.strip()}
    rng = np.random.default_rng(0)
    chunks = rng.integers(0, 256, (CHUNKS, SEQ)).tolist()
    ref = pare_logits(pare, model, chunks, work)
    got = llama_logits(gguf, chunks, work)
    mean_kl = kl(ref, got)
    max_abs = float(np.abs(ref - got).max())
    return {"model": name, "ok": mean_kl < KL_LIMIT and max_abs < LOGIT_LIMIT, "mean_kl": mean_kl,
            "max_abs": max_abs}


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    pare, zoo = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    names = sys.argv[3:] or DECODERS
    if not (LLAMA_MODULES / "node-llama-cpp").exists():
        print("skipped: node-llama-cpp missing (scripts/gguf/fetch.sh)")
        return 77
    missing = [n for n in names if not (zoo / n / "model.onnx").exists()]
    if missing:
        print(f"skipped: zoo models missing: {missing} (scripts/models/make_zoo.sh)")
        return 77
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            work = pathlib.Path(tmp) / name
            work.mkdir()
            res = check(pare, zoo, name, work)
            results.append(res)
            if "error" in res:
                print(f"FAIL {name}: {res['error']}", flush=True)
            else:
                print(f"{'ok  ' if res['ok'] else 'FAIL'} {name}: F32 GGUF in llama.cpp, mean KL "
                      f"{res['mean_kl']:.2e} against pare on the ONNX model (max |logit diff| "
                      f"{res['max_abs']:.2e})", flush=True)
    print(json.dumps(results))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
